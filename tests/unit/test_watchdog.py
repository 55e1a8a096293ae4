"""The watchdog's and publisher's logic: what they write when, fed kubelet-shaped watch events.

The writer here records calls instead of sending them; the same Watchdog against a real
API server is exercised by the end-to-end suite.
"""

import asyncio
import copy
import json
import threading
from typing import Any

import kube as k
import pytest
from structlog.testing import capture_logs

from crashwatch.metrics import Metrics
from crashwatch.settings import Settings
from crashwatch.watch.operator import EVENT_FIELD_SELECTOR, NoDiffBase, kopf_settings
from crashwatch.watch.publisher import ANN_REASON, ANN_SUMMARY, ANNOTATIONS
from crashwatch.watch.store import Store
from crashwatch.watch.watchdog import LOG_READ_TRIES, START_GRACE_SECONDS, Watchdog

NOW = k.NOW.timestamp()


class Clock:
    def __init__(self) -> None:
        self.t = NOW

    def __call__(self) -> float:
        return self.t


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.in_flight: dict[tuple[str, str], int] = {}
        self.most_at_once = 0

    async def _enter(self, kind: str, name: str) -> None:
        n = self.in_flight[(kind, name)] = self.in_flight.get((kind, name), 0) + 1
        self.most_at_once = max(self.most_at_once, n)
        await asyncio.sleep(0)  # a real write yields: let others run meanwhile

    def _leave(self, kind: str, name: str) -> None:
        self.in_flight[(kind, name)] -= 1

    async def annotate(self, kind, namespace, name, annotations):
        await self._enter(kind, name)
        self.calls.append(("annotate", kind, name, dict(annotations)))
        self._leave(kind, name)
        return True

    async def post_event(self, kind, namespace, name, uid, reason, message, type_="Warning"):
        await self._enter(kind, name)
        self.calls.append(("event", kind, name, reason, message))
        self._leave(kind, name)
        return True

    def writes(self, kind: str | None = None) -> list[tuple[Any, ...]]:
        return [c for c in self.calls if kind is None or c[1] == kind]


def make(writer=None, clock=None, **kw) -> tuple[Watchdog, Any, Clock]:
    clock = clock or Clock()
    rec = writer or Recorder()
    d = Watchdog(Settings(), Store(Settings().watch, clock=clock), rec, Metrics(),
                 clock=clock, **kw)
    clock.t += START_GRACE_SECONDS + 1  # the start's grace is over: clears may go
    return d, rec, clock


@pytest.fixture
def dog():
    d, rec, _ = make()
    return d, rec


def _run(coro):
    return asyncio.run(coro)


def _crashing_pod(name="web-7d9c5b8f6d-x2x9k", owner=("ReplicaSet", "web-7d9c5b8f6d")):
    c = k.container()
    p = k.pod(name=name, containers=[c], owner=owner)
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, k.terminated("OOMKilled", 137))]
    return p


def _healthy(p):
    h = copy.deepcopy(p)
    h["status"]["containerStatuses"] = [k.running_status(p["spec"]["containers"][0])]
    return h


async def _add_and_drain(d, p):
    d.on_pod("ADDED", p)
    await d.drain()


def _gauge(d, *labels):
    return d.metrics.failing.labels(*labels)._value.get()


OOM_LABELS = ("shop", "Deployment", "web", "app", "CrashLoop.OOMKilled")


def test_healthy_pods_cause_no_writes_and_are_not_kept(dog):
    d, rec = dog

    async def go():
        for i in range(50):
            c = k.container()
            p = k.pod(name=f"web-7d9c5b8f6d-{i:05d}", containers=[c])
            p["status"]["containerStatuses"] = [k.running_status(c)]
            d.on_pod("MODIFIED", p)
        await d.drain()

    _run(go())
    assert rec.calls == []
    assert d.store.pods == {} and d.pods == {} and d.workloads == {}


def test_failing_pod_is_annotated_with_events_on_pod_and_owner_once(dog):
    d, rec = dog
    p = _crashing_pod()

    async def go():
        d.on_pod("ADDED", p)
        await d.drain()
        first = list(rec.calls)
        d.on_pod("MODIFIED", p)  # the same status again: nothing new to say
        await d.drain()
        return first

    first = _run(go())
    kinds = sorted((c[0], c[1]) for c in first)
    assert kinds == [("annotate", "Deployment"), ("annotate", "Pod"), ("event", "Deployment"),
                     ("event", "Pod")]
    assert rec.writes("Pod")[0][3][ANN_REASON] == "CrashLoop.OOMKilled"
    assert rec.calls == first


def test_recovery_removes_annotations_and_forgets_the_pod(dog):
    d, rec = dog
    p = _crashing_pod()

    async def go():
        d.on_pod("ADDED", p)
        await d.drain()
        rec.calls.clear()
        d.on_pod("MODIFIED", _healthy(p))
        await d.drain()

    _run(go())
    assert ("annotate", "Pod", p["metadata"]["name"], dict.fromkeys(ANNOTATIONS)) in rec.calls
    assert ("annotate", "Deployment", "web", dict.fromkeys(ANNOTATIONS)) in rec.calls
    assert not [c for c in rec.calls if c[0] == "event"]
    assert d.store.pods == {} and d.pods == {} and d.workloads == {}
    assert d.publisher.targets == {}


def test_a_deleted_pod_is_forgotten_without_writes_and_logged_as_deleted(dog):
    d, rec = dog
    p = _crashing_pod()

    async def go():
        d.on_pod("ADDED", p)
        await d.drain()
        rec.calls.clear()
        with capture_logs() as logs:
            d.on_pod("DELETED", p)
            await d.drain()
        return logs

    logs = _run(go())
    assert rec.writes("Pod") == []  # nothing to clean on a deleted pod
    assert ("annotate", "Deployment", "web", dict.fromkeys(ANNOTATIONS)) in rec.calls
    assert [e.get("why") for e in logs if e["event"] == "pod gone"] == ["deleted"]
    assert not [e for e in logs if e["event"] == "recovered" and e.get("kind") == "Pod"]
    assert _gauge(d, *OOM_LABELS) == 0


def test_event_upgrades_a_finding(dog):
    d, rec = dog
    c = k.container(name="hub", image="quay.io/x/hub:9.9")
    p = k.pod(containers=[c], phase="Pending")
    p["status"]["containerStatuses"] = [
        k.waiting_status(c, "ImagePullBackOff", 'Back-off pulling image "quay.io/x/hub:9.9"')]

    async def go():
        d.on_pod("ADDED", p)
        await d.drain()
        d.on_event(k.event(p, "Failed", 'Failed to pull image "quay.io/x/hub:9.9": rpc error: '
                           "code = NotFound desc = quay.io/x/hub:9.9: not found",
                           container_name="hub"))
        await d.drain()

    _run(go())
    reasons = [c[3][ANN_REASON] for c in rec.writes("Pod") if c[0] == "annotate"]
    assert reasons == ["Image.PullBackOff", "Image.NotFound"]


def test_malformed_pod_does_not_raise_and_is_counted_as_nothing(dog):
    d, rec = dog

    async def go():
        d.on_pod("ADDED", {"metadata": {"name": "x", "namespace": "y"}, "status": "garbage"})
        d.on_pod("ADDED", {"metadata": "garbage"})
        await d.drain()

    _run(go())
    assert rec.calls == []


def test_ignore_selector_skips_labelled_pods(dog):
    d, rec = dog
    p = _crashing_pod()
    p["metadata"]["labels"]["crashwatch.dev/ignore"] = "true"

    async def go():
        d.on_pod("ADDED", p)
        await d.drain()

    _run(go())
    assert rec.calls == []


def test_failing_gauge_drops_to_zero_on_recovery(dog):
    d, _ = dog
    p = _crashing_pod()

    async def go():
        d.on_pod("ADDED", p)
        await d.drain()
        before = _gauge(d, *OOM_LABELS)
        d.on_pod("MODIFIED", _healthy(p))
        await d.drain()
        return before, _gauge(d, *OOM_LABELS)

    assert _run(go()) == (1, 0)


class Flaky(Recorder):
    """Fails the first ``n`` writes, as an API server that is restarting does."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    async def annotate(self, kind, namespace, name, annotations):
        if self.n > 0:
            self.n -= 1
            return False
        return await super().annotate(kind, namespace, name, annotations)


def test_a_failed_write_is_retried_until_it_lands():
    d, rec, _ = make(Flaky(2))
    p = _crashing_pod()

    async def go():
        d.on_pod("ADDED", p)
        for _ in range(100):
            await asyncio.sleep(0.1)
            if rec.writes("Pod") and rec.writes("Deployment"):
                break
        await d.drain()

    _run(go())
    pod_writes = [c for c in rec.writes("Pod") if c[0] == "annotate"]
    assert len(pod_writes) == 1
    assert pod_writes[0][3][ANN_REASON] == "CrashLoop.OOMKilled"
    assert d.metrics.handler_errors.labels("publish")._value.get() == 2
    assert len([c for c in rec.calls if c[0] == "event"]) == 2  # pod and owner, once each


def _running_again_pod():
    """Crashed three times, the last 5 s ago; running and ready again."""
    c = k.container()
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.running_status(
        c, started_ago=5, restarts=3, last=k.terminated("Error", 1, finished_ago=5))]
    return p, c


WKEY = ("shop", "Deployment", "web")


def test_a_pod_running_again_after_crashes_is_looked_at_again_when_it_would_recover(dog):
    d, rec = dog
    p, _ = _running_again_pod()

    async def go():
        d.on_pod("MODIFIED", p)
        for _ in range(50):  # let the first reconcile run; leave the recovery check pending
            await asyncio.sleep(0.05)
            if d.pods and d.pods[(p["metadata"]["namespace"], p["metadata"]["name"])].findings:
                break
        await d.publisher.idle()
        handle = d._timers.get(WKEY)
        assert handle is not None, "no second look scheduled"
        delay = handle.when() - asyncio.get_running_loop().time()
        stable = d.settings.watch.stable_after_seconds
        assert stable < delay <= stable + 1.0
        handle.cancel()
        d._timers.clear()

    _run(go())
    assert any(call[0] == "annotate" for call in rec.calls)


def test_news_about_a_pod_is_not_held_up_by_a_later_scheduled_look(dog):
    d, rec = dog
    p, c = _running_again_pod()

    async def go():
        d.on_pod("MODIFIED", p)
        for _ in range(50):
            await asyncio.sleep(0.05)
            if WKEY in d._timers and d._timers[WKEY].when() - (
                    asyncio.get_running_loop().time()) > 1:
                break
        loop = asyncio.get_running_loop()
        assert d._timers[WKEY].when() - loop.time() > 1  # the recovery check
        d.on_pod("MODIFIED", _crashing_pod_like(p, c))
        assert d._timers[WKEY].when() - loop.time() <= 0.5  # the new crash, right away
        await d.drain()

    _run(go())
    reasons = [call[3][ANN_REASON] for call in rec.writes("Pod") if call[0] == "annotate"
               and call[3].get(ANN_REASON)]
    assert reasons[-1] == "CrashLoop.OOMKilled"


def _crashing_pod_like(p, c):
    q = copy.deepcopy(p)
    q["status"]["containerStatuses"] = [k.crashloop_status(c, q, k.terminated("OOMKilled", 137))]
    return q


def test_kopf_is_told_to_page_listings_and_filter_events_at_the_api_server():
    ks = kopf_settings(Settings())
    assert ks.watching.chunk_size == 500
    assert EVENT_FIELD_SELECTOR == "involvedObject.kind=Pod,source!=crashwatch"
    assert list(ks.watching.field_selectors.values()) == [EVENT_FIELD_SELECTOR]
    assert isinstance(ks.persistence.diffbase_storage, NoDiffBase)
    assert ks.posting.enabled is False


# -- the defects of issue #12 ---------------------------------------------------------------

def _workload(d, n_deployments: int, pods_per: int, *, restarts: int = 3):
    """Deployments with their ReplicaSets, and crash-looping pods written as a kubelet
    writes them: one status write per restart."""
    objs = []
    for i in range(n_deployments):
        name = f"svc{i:02d}"
        c = k.container()
        dep = k.deployment(name, [c], 1, replicas=pods_per, available=0)
        rs = k.replicaset(f"{name}-5f6d7c8b9", name, 1, [c], replicas=pods_per, available=0)
        pods = []
        for j in range(pods_per):
            p = k.pod(name=f"{name}-5f6d7c8b9-{j:05d}", containers=[c],
                      owner=("ReplicaSet", f"{name}-5f6d7c8b9"))
            pods.append(p)
        objs.append((dep, rs, c, pods))
    return objs


def test_500_failing_pods_in_25_deployments_cost_two_writes_per_pod_and_per_deployment():
    """Issue #12, defect 5: every owner update rescheduled all of its pods and owner writes
    had no guard for a write in flight (3,505 annotation patches on 25 Deployments)."""
    d, rec, _ = make()

    async def go():
        world = _workload(d, 25, 20)
        for dep, rs, _, _ in world:
            d.on_owner("Deployment", "ADDED", dep)
            d.on_owner("ReplicaSet", "ADDED", rs)
        for restart in range(1, 4):
            for dep, rs, c, pods in world:
                for p in pods:
                    p["status"]["containerStatuses"] = [k.crashloop_status(
                        c, p, k.terminated("Error", 1), restarts=restart)]
                    d.on_pod("MODIFIED", copy.deepcopy(p))
                # the controllers react: the ReplicaSet's and Deployment's status move
                rs["status"]["readyReplicas"] = 0
                rs["metadata"]["resourceVersion"] = str(restart)
                d.on_owner("ReplicaSet", "MODIFIED", copy.deepcopy(rs))
                dep["status"]["unavailableReplicas"] = 20 + restart
                d.on_owner("Deployment", "MODIFIED", copy.deepcopy(dep))
                await asyncio.sleep(0)
            await asyncio.sleep(0.2)
            # crashwatch's own annotations come back through the watch: no news
            for dep, *_ in world:
                echoed = copy.deepcopy(dep)
                written = [c[3] for c in rec.writes("Deployment") if c[0] == "annotate"
                           and c[2] == dep["metadata"]["name"]]
                if written:
                    echoed["metadata"]["annotations"].update(written[-1])
                    d.on_owner("Deployment", "MODIFIED", echoed)
        await d.drain()

    _run(go())
    assert len(rec.writes("Pod")) <= 2 * 500
    assert len(rec.writes("Deployment")) <= 2 * 25
    assert len([c for c in rec.writes("Pod") if c[0] == "annotate"]) == 500
    assert rec.most_at_once == 1  # never two writes at once to one object
    # one delay sample per pod diagnosis published
    assert d.metrics.registry.get_sample_value("crashwatch_diagnosis_delay_seconds_count") == 500


def test_the_regression_gauge_and_annotation_drop_when_the_bad_pods_go():
    """Issue #12, defect 6: after a rollback (the bad revision's pods deleted, the old
    revision running) the workload gauge stayed 1 and the annotation stayed."""
    d, rec, _ = make()
    good = k.container(image="registry.example.com/shop/web:1.4.2")
    bad = k.container(image="registry.example.com/shop/web:1.5.0")
    rs1 = k.replicaset("web-6c8f9d7b5", "web", 1, [good], available=1)
    rs2 = k.replicaset("web-7d9c5b8f6d", "web", 2, [bad], available=0)
    dep = k.deployment("web", [bad], 2, available=1)
    p = k.pod(containers=[bad])
    p["status"]["containerStatuses"] = [k.crashloop_status(bad, p, k.terminated("Error", 1))]
    labels = ("shop", "Deployment", "web", "Rollout.Regression")

    async def go():
        for kind, obj in (("Deployment", dep), ("ReplicaSet", rs1), ("ReplicaSet", rs2)):
            d.on_owner(kind, "ADDED", obj)
        d.on_pod("ADDED", p)
        await d.drain()
        during = d.metrics.workloads.labels(*labels)._value.get()
        # the rollback: the bad pod is deleted, the bad ReplicaSet scaled to 0
        d.on_pod("DELETED", p)
        rolled = copy.deepcopy(rs2)
        rolled["spec"]["replicas"] = 0
        d.on_owner("ReplicaSet", "MODIFIED", rolled)
        await d.drain()
        return during, d.metrics.workloads.labels(*labels)._value.get()

    assert _run(go()) == (1, 0)
    owner_annotations = [c[3] for c in rec.writes("Deployment") if c[0] == "annotate"]
    assert owner_annotations[0][ANN_REASON] == "Rollout.Regression"
    assert owner_annotations[-1] == dict.fromkeys(ANNOTATIONS)


def test_a_pod_deleted_during_a_watch_gap_is_forgotten_after_the_relist():
    """Issue #12, defect 1: a relist reports no DELETED for what vanished; the gauge stayed
    1 for as long as crashwatch ran."""
    exists: dict[tuple[str, str, str], bool] = {}
    checked: list[tuple[str, str, str]] = []

    async def verifier(kind, ns, name, uid):
        checked.append((kind, ns, name))
        return exists.get((kind, ns, name), True)

    d, rec, clock = make(verifier=verifier)
    gone = _crashing_pod(name="gone-5f6d7c8b9-aaaaa", owner=("ReplicaSet", "gone-5f6d7c8b9"))
    stays = _crashing_pod()
    gone_labels = ("shop", "Deployment", "gone", "app", "CrashLoop.OOMKilled")

    async def go():
        d.on_listing("pods", None, "started")
        d.on_pod(None, gone)
        d.on_pod(None, stays)
        d.on_listing("pods", None, "listed")
        await d.drain()
        await d.sweep()
        assert _gauge(d, *gone_labels) == 1 and checked == []
        clock.t += 60
        # the watch broke, the pod was deleted meanwhile; the relist shows the other one
        exists[("Pod", "shop", gone["metadata"]["name"])] = False
        d.on_listing("pods", None, "started")
        clock.t += 1
        d.on_pod(None, stays)
        d.on_listing("pods", None, "listed")
        await d.drain()
        rec.calls.clear()
        await d.sweep()
        await d.drain()

    _run(go())
    assert checked == [("Pod", "shop", gone["metadata"]["name"])]  # only what the relist missed
    assert _gauge(d, *gone_labels) == 0
    assert ("shop", gone["metadata"]["name"]) not in d.pods
    assert rec.writes("Pod") == []  # a deleted pod is not written to


def test_an_http_code_that_moves_in_a_summary_does_not_rewrite_the_annotation(dog):
    """Issue #12: a pod's annotation was rewritten 48 times in a minute because an HTTP code
    inside its summary changed."""
    d, rec = dog
    c = k.container(readinessProbe={"httpGet": {"path": "/ready", "port": 8080}})
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.running_status(c, ready=False)]

    async def go():
        for i in range(48):
            code = 503 if i % 2 else 500
            d.on_event(k.event(p, "Unhealthy", f"Readiness probe failed: HTTP probe failed "
                               f"with statuscode: {code}", container_name="app", count=i + 1,
                               last_ago=0))
            d.on_pod("MODIFIED", p)
            await d.drain()

    _run(go())
    assert len([c for c in rec.writes("Pod") if c[0] == "annotate"]) == 1


def test_thirty_failing_containers_fold_into_one_event_that_names_them(dog):
    d, rec = dog
    cs = [k.container(name=f"worker-{i:02d}") for i in range(30)]
    p = k.pod(containers=cs)
    p["status"]["containerStatuses"] = [
        k.crashloop_status(c, p, k.terminated("OOMKilled", 137)) for c in cs]

    async def go():
        d.on_pod("ADDED", p)
        await d.drain()

    _run(go())
    events = [c for c in rec.writes("Pod") if c[0] == "event"]
    assert len(events) == 1
    assert "30 containers" in events[0][4] and "worker-00" in events[0][4]
    assert _gauge(d, "shop", "Deployment", "web", "worker-29", "CrashLoop.OOMKilled") == 1


def test_a_restarted_crashwatch_neither_rewrites_nor_posts_again(dog):
    """What a pod already carries is what crashwatch said before it restarted."""
    d, rec = dog
    p = _crashing_pod()

    async def go():
        d.on_pod("ADDED", p)
        await d.drain()
        said = {c[2]: c[3] for c in rec.calls if c[0] == "annotate"}
        d2, rec2, _ = make()
        carried = copy.deepcopy(p)
        carried["metadata"]["annotations"] = said[p["metadata"]["name"]]
        dep = k.deployment("web", p["spec"]["containers"], 1)
        dep["metadata"]["annotations"].update(said["web"])
        d2.on_owner("Deployment", None, dep)
        d2.on_pod(None, carried)
        await d2.drain()
        return rec2

    rec2 = _run(go())
    assert rec2.calls == []


def test_a_standby_writes_nothing_until_it_leads(dog):
    d, rec = dog
    d.set_active(False)
    p = _crashing_pod()

    async def go():
        d.on_pod("ADDED", p)
        await d.drain()
        assert rec.calls == []
        d.set_active(True)
        await d.drain()

    _run(go())
    assert [c[3][ANN_REASON] for c in rec.writes("Pod") if c[0] == "annotate"] == [
        "CrashLoop.OOMKilled"]


def test_stale_annotations_of_a_pod_that_recovered_while_crashwatch_was_down_are_cleared():
    d, rec, _ = make()
    c = k.container()
    p = k.pod(containers=[c], annotations={ANN_REASON: "CrashLoop.OOMKilled",
                                           ANN_SUMMARY: "Container app is OOMKilled."})
    p["status"]["containerStatuses"] = [k.running_status(c)]

    async def go():
        d.on_listing("pods", None, "started")
        d.on_pod(None, p)
        await d.drain()
        assert rec.calls == []  # not while the listing may still bring news
        d.on_listing("pods", None, "listed")
        await d.drain()

    _run(go())
    assert rec.writes("Pod") == [("annotate", "Pod", p["metadata"]["name"],
                                  dict.fromkeys(ANNOTATIONS))]


def test_clears_wait_until_the_pods_have_been_listed():
    """An owner listed before its pods must not lose its annotation for a moment."""
    p = _crashing_pod()
    first, rec1, _ = make()
    _run(_add_and_drain(first, p))
    said = [c[3] for c in rec1.writes("Deployment") if c[0] == "annotate"][-1]
    clock = Clock()
    rec = Recorder()
    d = Watchdog(Settings(), Store(Settings().watch, clock=clock), rec, Metrics(), clock=clock)
    dep = k.deployment("web", [k.container()], 1)
    dep["metadata"]["annotations"].update(said)

    async def go():
        d.on_listing("pods", None, "started")
        d.on_listing("deployments", None, "started")
        d.on_owner("Deployment", None, dep)
        d.on_listing("deployments", None, "listed")
        await asyncio.sleep(0.05)
        await d.drain()
        assert rec.calls == []  # the pods are not listed yet: the owner's annotation stays
        d.on_pod(None, p)
        d.on_listing("pods", None, "listed")
        await d.drain()

    _run(go())
    assert rec.writes("Deployment") == []  # it said the right thing all along
    assert [c[0] for c in rec.writes("Pod")] == ["annotate", "event"]


def test_an_owner_diagnosed_while_its_pods_arrive_is_not_cleared_and_said_again():
    """The sharded e2e with the gate off (a restarted shard decoding the whole cluster): a
    Deployment listed before its pods was being diagnosed, with no pods yet, when they came
    and the pods' listing ended. That diagnosis cleared the Deployment's annotation; the next
    said it again, a second Event. Pods that joined during a diagnosis leave the owner's
    notice to the reconcile they scheduled."""
    p = _crashing_pod()
    first, rec1, _ = make()
    _run(_add_and_drain(first, p))
    said = [c[3] for c in rec1.writes("Deployment") if c[0] == "annotate"][-1]
    d, rec, _ = make()
    dep = k.deployment("web", [k.container()], 1)
    dep["metadata"]["annotations"].update(said)
    inside, go_on = threading.Event(), threading.Event()
    real = d._diagnose

    def held(*args: Any) -> Any:
        inside.set()
        go_on.wait(10)
        return real(*args)

    d._diagnose = held  # type: ignore[method-assign]

    async def go():
        d.on_listing("pods", None, "started")
        d.on_listing("deployments", None, "started")
        d.on_owner("Deployment", None, dep)
        d.on_listing("deployments", None, "listed")
        while not inside.is_set():  # the Deployment's reconcile is in its diagnosis
            await asyncio.sleep(0.01)
        d.on_pod(None, p)
        d.on_listing("pods", None, "listed")
        go_on.set()
        await d.drain()

    _run(go())
    assert rec.writes("Deployment") == []  # it said the right thing all along
    assert [c[0] for c in rec.writes("Pod")] == ["annotate", "event"]


def test_logs_are_read_from_the_instance_that_died_once_each():
    reads: list[tuple[str, bool]] = []

    async def reader(ns, pod, container, previous):
        reads.append((container, previous))
        return "Error: SECRET_KEY_BASE is not set\n"

    d, rec, _ = make(log_reader=reader)
    c = k.container()
    p = k.pod(containers=[c])
    # a 1.36 kubelet between restarts: terminated, the instance that just died
    term = k.terminated("Error", 1)
    term["containerID"] = "containerd://" + "c3" * 32
    p["status"]["containerStatuses"] = [{**k.waiting_status(c, "x", restarts=1),
                                         "state": {"terminated": term}}]

    async def go():
        d.on_pod("MODIFIED", p)
        await d.drain()
        d.on_pod("MODIFIED", p)
        await d.drain()
        # then the back-off: the same instance is now the previous one
        q = copy.deepcopy(p)
        q["status"]["containerStatuses"] = [k.crashloop_status(c, q, term, restarts=1)]
        d.on_pod("MODIFIED", q)
        await d.drain()

    _run(go())
    assert reads == [("app", False)]
    assert rec.writes("Pod")[0][3][ANN_REASON] == "CrashLoop.MissingEnv"


def test_annotations_a_deployment_controller_copies_onto_replicasets_are_not_crashwatchs(dog):
    """The Deployment controller copies a Deployment's annotations onto its ReplicaSets:
    crashwatch writes only to top owners and must not try to clear those copies."""
    d, rec = dog
    p = _crashing_pod()

    async def go():
        d.on_pod("ADDED", p)
        await d.drain()
        said = [c[3] for c in rec.writes("Deployment") if c[0] == "annotate"][-1]
        rs = k.replicaset("web-7d9c5b8f6d", "web", 1, p["spec"]["containers"])
        rs["metadata"]["annotations"].update(said)
        d.on_owner("ReplicaSet", "MODIFIED", rs)
        d.on_pod("MODIFIED", _healthy(p))
        await d.drain()

    _run(go())
    assert rec.writes("ReplicaSet") == []


def test_a_standby_that_takes_over_writes_only_what_differs():
    """What the leader published, the standby saw through its watch: taking over, it
    neither clears it nor posts its Event again."""
    p = _crashing_pod()
    leader, rec1, _ = make()
    _run(_add_and_drain(leader, p))
    said = {c[2]: c[3] for c in rec1.calls if c[0] == "annotate"}
    standby, rec2, _ = make()
    standby.set_active(False)
    carried = copy.deepcopy(p)
    carried["metadata"]["annotations"] = said[p["metadata"]["name"]]
    dep = k.deployment("web", p["spec"]["containers"], 1)
    dep["metadata"]["annotations"].update(said["web"])

    async def go():
        standby.on_owner("Deployment", "MODIFIED", dep)
        standby.on_pod("MODIFIED", carried)
        await standby.drain()
        standby.set_active(True)
        await standby.drain()

    _run(go())
    assert rec2.calls == []


def test_a_crash_loop_stays_published_while_the_container_runs_between_crashes(dog):
    """A 1.36 kubelet: terminated (published), then running again for a moment (not a
    recovery), then terminated again. The finding is not taken off in between."""
    d, rec = dog
    c = k.container()
    p = k.pod(containers=[c])
    died = k.terminated("Error", 1, finished_ago=2)
    p["status"]["containerStatuses"] = [{**k.waiting_status(c, "x", restarts=0),
                                         "state": {"terminated": died}}]

    async def go():
        d.on_pod("MODIFIED", copy.deepcopy(p))
        await d.drain()
        p["status"]["containerStatuses"] = [k.running_status(
            c, started_ago=1, restarts=1, last=died)]
        d.on_pod("MODIFIED", copy.deepcopy(p))
        await d.drain()

    _run(go())
    assert [c[3].get(ANN_REASON) for c in rec.writes("Pod") if c[0] == "annotate"] == [
        "CrashLoop.AppError"]


def test_a_workload_keeps_the_history_of_the_reasons_published_on_it(dog):
    """crashwatch.dev/history (issue #13, item 5): each new reason is appended, with its
    time and the workload's revision; it stays when the workload recovers."""
    d, rec = dog
    p = _crashing_pod()
    dep = k.deployment("web", p["spec"]["containers"], 3)

    async def go():
        d.on_owner("Deployment", "ADDED", dep)
        d.on_pod("ADDED", p)
        await d.drain()
        written = [c[3] for c in rec.writes("Deployment") if c[0] == "annotate"][-1]
        echoed = copy.deepcopy(dep)
        echoed["metadata"]["annotations"].update(written)
        d.on_owner("Deployment", "MODIFIED", echoed)
        d.on_pod("MODIFIED", _healthy(p))
        await d.drain()
        return written

    written = _run(go())
    history = json.loads(written["crashwatch.dev/history"])
    assert history == [{"reason": "CrashLoop.OOMKilled", "since": written[
        "crashwatch.dev/since"], "revision": "3"}]
    cleared = [c[3] for c in rec.writes("Deployment") if c[0] == "annotate"][-1]
    assert cleared == dict.fromkeys(ANNOTATIONS)  # the history is not cleared


def test_a_pod_on_its_way_out_whose_pre_stop_hook_fails_is_published_and_not_cleaned(dog):
    d, rec = dog
    c = k.container(lifecycle={"preStop": {"exec": {"command": ["/bin/sh", "-c",
                                                                "/app/drain.sh"]}}})
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.running_status(c)]
    p["metadata"]["deletionTimestamp"] = k.ts(5)
    p["metadata"]["deletionGracePeriodSeconds"] = 30
    hook = k.event(p, "FailedPreStopHook", "PreStopHook failed", container_name="app",
                   last_ago=3)

    async def go():
        d.on_event(hook)
        d.on_pod("MODIFIED", p)
        await d.drain()
        d.on_pod("DELETED", p)
        await d.drain()

    _run(go())
    pod_writes = rec.writes("Pod")
    assert [c[3].get(ANN_REASON) for c in pod_writes if c[0] == "annotate"] == [
        "CrashLoop.HookFailed"]


def test_watch_events_are_counted_and_timed_per_resource():
    d, _, clock = make()
    for _ in range(3):
        d.seen("pods")
    clock.t += 5
    d.seen("events")
    sample = d.metrics.registry.get_sample_value
    assert sample("crashwatch_watch_events_total", {"resource": "pods"}) == 3
    assert sample("crashwatch_watch_events_total", {"resource": "events"}) == 1
    assert sample("crashwatch_last_watch_event_timestamp_seconds",
                  {"resource": "events"}) == clock.t
    assert sample("crashwatch_last_watch_event_timestamp_seconds",
                  {"resource": "pods"}) == clock.t - 5


def test_a_reworded_notice_waiting_for_its_refresh_does_not_hold_up_a_clear(dog):
    """The summary's numbers moved (a time, a count): the rewording waits for its refresh,
    but the clear that follows must not wait behind it."""
    d, rec = dog
    c = k.container(readinessProbe={"httpGet": {"path": "/ready", "port": 8080}})
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.running_status(c, ready=False)]

    async def go():
        for code in (503, 500):
            d.on_event(k.event(p, "Unhealthy", "Readiness probe failed: HTTP probe failed "
                               f"with statuscode: {code}", container_name="app", last_ago=0))
            d.on_pod("MODIFIED", p)
            await d.drain()
        well = copy.deepcopy(p)
        well["status"]["containerStatuses"] = [k.running_status(c, ready=True)]
        d.on_pod("MODIFIED", well)
        await d.drain()

    _run(go())
    assert [c[3] for c in rec.writes("Pod") if c[0] == "annotate"][-1] == dict.fromkeys(
        ANNOTATIONS)


def _just_died(c, reason="Error", code=1, cid="d4"):
    """A pod whose container has just died, as a 1.36 kubelet shows it: terminated."""
    p = k.pod(containers=[c])
    term = k.terminated(reason, code)
    term["containerID"] = "containerd://" + cid * 32
    p["status"]["containerStatuses"] = [{**k.waiting_status(c, "x", restarts=0),
                                         "state": {"terminated": term}}]
    return p


async def _feed_until(d, p, done, seconds=10.0):
    """The pod's status in; then wait (the log reads retry on timers) until ``done()``."""
    d.on_pod("MODIFIED", p)
    for _ in range(int(seconds * 10)):
        await asyncio.sleep(0.1)
        if done():
            break
    await d.drain()


def test_a_log_not_there_yet_is_read_again_before_no_log_is_taken_for_an_answer():
    """A real kubelet can answer for a container that has just died before its log is
    there: the first publication said "no log was available" (the real-node tier)."""
    answers = [None, "Error: SECRET_KEY_BASE is not set\n"]
    reads: list[bool] = []

    async def reader(ns, pod, container, previous):
        reads.append(previous)
        return answers.pop(0) if answers else None

    d, rec, _ = make(log_reader=reader)
    p = _just_died(k.container(), cid="d4")

    _run(_feed_until(d, p, lambda: any(
        call[0] == "annotate" and call[3].get(ANN_REASON) == "CrashLoop.MissingEnv"
        for call in rec.writes("Pod"))))
    assert reads == [False, False]
    # nothing said meanwhile: a verdict reached without the log ("no log was available")
    # waits while the log may still come
    assert [c[3][ANN_REASON] for c in rec.writes("Pod") if c[0] == "annotate"] == [
        "CrashLoop.MissingEnv"]
    assert len([c for c in rec.writes("Pod") if c[0] == "event"]) == 1


def test_a_log_that_never_comes_gives_the_verdict_without_it():
    """The waiting is bounded: after LOG_READ_TRIES reads that found nothing, the crash is
    published as it stands (no log was available)."""
    reads: list[bool] = []

    async def reader(ns, pod, container, previous):
        reads.append(previous)

    d, rec, _ = make(log_reader=reader)
    p = _just_died(k.container(), cid="d5")

    _run(_feed_until(d, p, lambda: bool(rec.writes("Pod"))))
    assert len(reads) == LOG_READ_TRIES
    said = [c[3] for c in rec.writes("Pod") if c[0] == "annotate"]
    assert [a[ANN_REASON] for a in said] == ["CrashLoop.AppError"]
    assert "no log was available" in said[0][ANN_SUMMARY]


def test_a_verdict_that_needs_no_log_is_not_held_for_it():
    """An OOM kill is the kernel's word: published at once, whatever the log read says."""
    reads: list[bool] = []

    async def reader(ns, pod, container, previous):
        reads.append(previous)

    reads_when_said: list[int] = []

    class Said(Recorder):
        async def annotate(self, kind, namespace, name, annotations):
            reads_when_said.append(len(reads))
            return await super().annotate(kind, namespace, name, annotations)

    d, rec, _ = make(writer=Said(), log_reader=reader)
    p = _just_died(k.container(memory_limit="32Mi"), "OOMKilled", 137, cid="d6")

    async def go():
        d.on_pod("MODIFIED", p)
        await d.drain()

    _run(go())
    assert reads_when_said[0] == 1  # said after the first read, not after the retries
    assert [c[3][ANN_REASON] for c in rec.writes("Pod") if c[0] == "annotate"] == [
        "CrashLoop.OOMKilled"]


class Remedy:
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.seen: list[str] = []
        self.owner_told: list[bool] = []
        self.dog: Any = None

    async def consider(self, finding):
        self.seen.append(finding.reason.value)
        target = self.dog.publisher.targets.get(("Deployment", "shop", "web"))
        self.owner_told.append(target is not None and target.want is not None
                               and target.want.reason == finding.reason.value)

    def forget_regression(self, namespace, deployment):
        pass

    async def tick(self):
        pass


def test_the_owner_is_told_before_remediation_acts():
    """A floor lands within milliseconds: the Deployment's notice must not wait behind it
    (the real-node tier saw OOMAfterShrink on the pod only)."""
    rec = Recorder()
    remedy = Remedy(rec)
    d, _, _ = make(writer=rec, remedy=remedy)
    remedy.dog = d
    big, small = k.container(memory_limit="512Mi"), k.container(memory_limit="32Mi")
    rs1 = k.replicaset("web-6c8f9d7b5", "web", 1, [big], available=1)
    rs2 = k.replicaset("web-7d9c5b8f6d", "web", 2, [small], available=0)
    p = k.pod(containers=[small])
    p["status"]["containerStatuses"] = [k.crashloop_status(small, p,
                                                           k.terminated("OOMKilled", 137))]

    async def go():
        for kind, obj in (("Deployment", k.deployment("web", [small], 2)),
                          ("ReplicaSet", rs1), ("ReplicaSet", rs2)):
            d.on_owner(kind, "ADDED", obj)
        d.on_pod("ADDED", p)
        await d.drain()

    _run(go())
    assert remedy.seen == ["CrashLoop.OOMAfterShrink"]
    assert remedy.owner_told == [True]


def test_a_pod_not_ready_within_its_probes_grace_is_looked_at_again_when_the_probe_keeps_failing():
    # The kubelet writes one status (running, not ready) and then only Unhealthy Events:
    # the first look comes within the probe's grace and must not be the last.
    d, rec, clock = make()
    probe = {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 10,
             "failureThreshold": 3}
    c = k.container(readinessProbe=probe)
    since_now = clock.t - NOW  # make() moved the clock past the start's grace
    p = k.pod(containers=[c], statuses=[k.running_status(c, started_ago=5 - since_now,
                                                           ready=False)])
    key = (p["metadata"]["namespace"], p["metadata"]["name"])

    async def go():
        d.on_pod("ADDED", p)
        await d.drain()
        assert rec.calls == []  # starting: 5 s into a 30 s grace
        assert key in d.pods and key in d.store.pods
        clock.t += 40
        d.on_event(k.event(p, "Unhealthy", "Readiness probe failed: HTTP probe failed with "
                           "statuscode: 503", container_name="app", count=4, last_ago=-since_now,
                           first_ago=30 - since_now))
        await d.drain()
        await d.publisher.idle()
        d._timers.clear()

    _run(go())
    reasons = [c[3][ANN_REASON] for c in rec.writes("Pod") if c[0] == "annotate"]
    assert reasons == ["Probe.ReadinessFailing"]


def test_ready_only_once_pods_and_every_builtin_owner_kind_are_listed():
    """``/readyz``: a replica that has listed its pods but not yet the ReplicaSets would judge
    a rollout under way without the earlier revision's availability (the Deployment
    controller scales it down meanwhile), so it is not ready until every built-in kind is
    listed; a VPA (a CRD that may be absent) is not waited for."""
    clock = Clock()
    d = Watchdog(Settings(), Store(Settings().watch, clock=clock), Recorder(), Metrics(),
                 clock=clock)
    kinds = ["pods", "replicasets", "deployments", "statefulsets", "daemonsets", "jobs",
             "cronjobs"]
    d.on_listing("pods", None, "started")
    d.on_listing("pods", None, "listed")
    assert d.caught_up() and not d.listed()  # clears may go; the owners are still coming
    for plural in kinds[1:]:
        d.on_listing(plural, None, "started")
    for plural in kinds[1:-1]:
        d.on_listing(plural, None, "listed")
    assert not d.listed()
    d.on_listing("cronjobs", None, "listed")
    assert d.listed()
    d.on_listing("verticalpodautoscalers", None, "started")
    assert not d.listed()  # a VPA listing that began is waited for like any other ...
    d.on_listing("verticalpodautoscalers", None, "listed")
    assert d.listed()
    # ... and a relist after a watch gap makes the replica unready until it is over
    d.on_listing("replicasets", None, "started")
    assert not d.listed()
    d.on_listing("replicasets", None, "listed")
    assert d.listed()


def test_where_listings_cannot_be_followed_ready_after_the_starts_grace():
    clock = Clock()
    d = Watchdog(Settings(), Store(Settings().watch, clock=clock), Recorder(), Metrics(),
                 clock=clock)
    assert not d.listed()
    clock.t += START_GRACE_SECONDS + 1
    assert d.listed()


def test_an_init_container_that_runs_on_is_held_and_called_stuck_once_it_has_run_long_enough():
    """No watch event comes while an init container loops (the kubelet writes nothing new):
    the pod is held, looked at again when it would be stuck, and its current log is read
    then (previous=false), once."""
    from test_init_stuck import APISIX, stuck_pod  # noqa: PLC0415

    from crashwatch.diagnosis.rules.init import INIT_STUCK_SECONDS  # noqa: PLC0415

    reads: list[tuple[str, str, str, bool]] = []

    async def reader(ns, pod, container, previous):
        reads.append((ns, pod, container, previous))
        return APISIX

    d, rec, clock = make(log_reader=reader)
    p = stuck_pod("wait-for-apisix", 0)
    started = k.NOW.timestamp()
    p["status"]["initContainerStatuses"][0]["state"]["running"]["startedAt"] = k.ts(0)
    clock.t = started + 10  # ran 10 s: not stuck yet
    key = (p["metadata"]["namespace"], p["metadata"]["name"])

    async def go():
        d.on_pod("ADDED", p)
        for _ in range(50):
            await asyncio.sleep(0.05)
            if WKEY in d._timers and d._timers[WKEY].when() - (
                    asyncio.get_running_loop().time()) > 60:
                break
        assert key in d.store.pods, "the initializing pod was dropped"
        delay = d._timers[WKEY].when() - asyncio.get_running_loop().time()
        assert INIT_STUCK_SECONDS - 10 < delay <= INIT_STUCK_SECONDS - 10 + 1.5
        assert not rec.calls and not reads
        d._timers.pop(WKEY).cancel()
        clock.t = started + INIT_STUCK_SECONDS + 5  # the look it scheduled, now due
        d._start(WKEY)
        await d.drain()

    _run(go())
    assert reads == [(*key, "wait-for-apisix", False)]
    (ann,) = [c[3] for c in rec.writes("Pod") if c[0] == "annotate"]
    assert ann[ANN_REASON] == "Init.Stuck"
    assert "apisix-admin.ingress-apisix.svc.cluster.local" in ann[ANN_SUMMARY]


def _captured(kind: str, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A workload of the real control plane's capture, and its FailedCreate Events."""
    import json  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    items = json.loads((Path(__file__).parents[1] / "cluster" / "controlplane"
                        / "observed-failed-create-1.36.json").read_text())["items"]
    obj = next(o for o in items if o["kind"] == kind and o["metadata"]["name"] == name)
    events = [o for o in items if o["kind"] == "Event" and o["reason"] == "FailedCreate"
              and o["involvedObject"]["name"] == name]
    return obj, events


def test_a_statefulset_short_of_pods_has_its_failed_create_events_read_and_published():
    """No condition says a StatefulSet is refused and the watch of Events is of pods' only:
    a StatefulSet short of pods is looked at REFUSAL_LOOK_SECONDS later, its FailedCreate
    Events read (at most every REFUSAL_READ_SECONDS), and the refusal published on it."""
    from crashwatch.diagnosis.view import parse_time  # noqa: PLC0415
    from crashwatch.watch.watchdog import (  # noqa: PLC0415
        REFUSAL_LOOK_SECONDS,
        REFUSAL_READ_SECONDS,
    )

    sts, events = _captured("StatefulSet", "psa-sts")
    reads: list[tuple[str, str, str]] = []

    async def refusals(ns, kind, name, uid=""):
        reads.append((ns, kind, name))
        return events

    d, rec, clock = make(refusals=refusals)
    clock.t = max(parse_time(e["lastTimestamp"]) or 0.0 for e in events) + 5
    wkey = ("fc", "StatefulSet", "psa-sts")

    async def go():
        d.on_owner("StatefulSet", "ADDED", sts)
        await d.drain()  # the first look: short, but perhaps merely starting
        assert not reads
        delay = d._timers[wkey].when() - asyncio.get_running_loop().time()
        assert REFUSAL_LOOK_SECONDS - 1 < delay <= REFUSAL_LOOK_SECONDS + 0.1
        d._timers.pop(wkey).cancel()
        clock.t += REFUSAL_LOOK_SECONDS
        d._start(wkey)
        await d.drain()
        d._start(wkey)  # looked at again at once: the Events read are reused
        await d.drain()
        clock.t += REFUSAL_READ_SECONDS
        d._start(wkey)
        await d.drain()

    _run(go())
    assert reads == [("fc", "StatefulSet", "psa-sts")] * 2
    (ann,) = {c[3][ANN_REASON] for c in rec.writes("StatefulSet") if c[0] == "annotate"}
    assert ann == "Workload.FailedCreate"


def test_a_workload_with_its_pods_has_no_events_read():
    """Not short of pods (or with pods held: their own findings say why): nothing is read."""
    sts, events = _captured("StatefulSet", "psa-sts")
    full = copy.deepcopy(sts)
    full["status"]["replicas"] = full["spec"]["replicas"]
    reads: list[Any] = []

    async def refusals(ns, kind, name, uid=""):
        reads.append(name)
        return events

    d, rec, _ = make(refusals=refusals)

    async def go():
        d.on_owner("StatefulSet", "ADDED", full)
        assert ("fc", "StatefulSet", "psa-sts") not in d._timers
        await d.drain()

    _run(go())
    assert not reads and not rec.calls
