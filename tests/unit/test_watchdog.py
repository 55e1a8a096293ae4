"""The watchdog's publishing logic: what it writes when, fed kubelet-shaped watch events.

The writer here records calls instead of sending them; the same Watchdog against a real
API server is exercised by the end-to-end suite.
"""

import asyncio
import copy
from typing import Any

import kube as k
import pytest

from crashwatch.metrics import Metrics
from crashwatch.settings import Settings
from crashwatch.watch.operator import EVENT_FIELD_SELECTOR, NoDiffBase, kopf_settings
from crashwatch.watch.store import Store
from crashwatch.watch.watchdog import ANN_REASON, ANNOTATIONS, Watchdog

NOW = k.NOW.timestamp()


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def annotate(self, kind, namespace, name, annotations):
        self.calls.append(("annotate", kind, name, dict(annotations)))
        return True

    async def post_event(self, kind, namespace, name, uid, reason, message, type_="Warning"):
        self.calls.append(("event", kind, name, reason))
        return True


@pytest.fixture
def dog():
    rec = Recorder()
    d = Watchdog(Settings(), Store(Settings().watch, clock=lambda: NOW), rec, Metrics(),
                 clock=lambda: NOW)
    return d, rec


def _run(coro):
    return asyncio.run(coro)


def _crashing_pod():
    c = k.container()
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, k.terminated("OOMKilled", 137))]
    return p


def _healthy(p):
    h = copy.deepcopy(p)
    h["status"]["containerStatuses"] = [k.running_status(p["spec"]["containers"][0])]
    return h


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
    assert d.store.pods == {}


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
    kinds = [(c[0], c[1]) for c in first]
    assert kinds == [("annotate", "Pod"), ("event", "Pod"), ("annotate", "Deployment"),
                     ("event", "Deployment")]
    assert first[0][3][ANN_REASON] == "CrashLoop.OOMKilled"
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
    assert d.store.pods == {} and d.findings == {}


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
    reasons = [c[3][ANN_REASON] for c in rec.calls if c[0] == "annotate" and c[1] == "Pod"]
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
        labels = ("shop", "Deployment", "web", "app", "CrashLoop.OOMKilled")
        before = d.metrics.failing.labels(*labels)._value.get()
        d.on_pod("MODIFIED", _healthy(p))
        await d.drain()
        return before, d.metrics.failing.labels(*labels)._value.get()

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
    rec = Flaky(2)
    d = Watchdog(Settings(), Store(Settings().watch, clock=lambda: NOW), rec, Metrics(),
                 clock=lambda: NOW)
    p = _crashing_pod()

    async def go():
        d.on_pod("ADDED", p)
        for _ in range(50):
            await asyncio.sleep(0.1)
            if any(c[0] == "annotate" and c[1] == "Pod" for c in rec.calls):
                break
        await d.drain()

    _run(go())
    pod_writes = [c for c in rec.calls if c[0] == "annotate" and c[1] == "Pod"]
    assert len(pod_writes) == 1
    assert pod_writes[0][3][ANN_REASON] == "CrashLoop.OOMKilled"
    assert d.metrics.handler_errors.labels("publish")._value.get() == 2


def _running_again_pod():
    """Crashed three times, the last 5 s ago; running and ready again."""
    c = k.container()
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.running_status(
        c, started_ago=5, restarts=3, last=k.terminated("Error", 1, finished_ago=5))]
    return p, c


def test_a_pod_running_again_after_crashes_is_looked_at_again_when_it_would_recover(dog):
    d, rec = dog
    p, _ = _running_again_pod()

    async def go():
        d.on_pod("MODIFIED", p)
        await d.drain()
        key = (p["metadata"]["namespace"], p["metadata"]["name"])
        assert d.findings.get(key), "a container that crashed 5 s ago is still failing"
        handle = d._pending.get(key)
        assert handle is not None, "no second look scheduled"
        delay = handle.when() - asyncio.get_running_loop().time()
        stable = d.settings.watch.stable_after_seconds
        assert stable < delay <= stable + 1.0
        handle.cancel()

    _run(go())
    assert any(call[0] == "annotate" for call in rec.calls)


def test_news_about_a_pod_is_not_held_up_by_a_later_scheduled_look(dog):
    d, rec = dog
    p, c = _running_again_pod()
    key = (p["metadata"]["namespace"], p["metadata"]["name"])

    async def go():
        d.on_pod("MODIFIED", p)
        await d.drain()
        loop = asyncio.get_running_loop()
        assert d._pending[key].when() - loop.time() > 1  # the recovery check
        d.on_pod("MODIFIED", _crashing_pod_like(p, c))
        assert d._pending[key].when() - loop.time() <= 0.5  # the new crash, right away
        await d.drain()

    _run(go())
    reasons = [call[3][ANN_REASON] for call in rec.calls if call[0] == "annotate"
               and call[1] == "Pod" and call[3].get(ANN_REASON)]
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
