"""The diagnosis on the shapes a 1.36 kubelet writes that older fixtures never showed
(tests/cluster/nodes/real/observed-1.36.txt): a crash loop left ``terminated`` between
restarts, its first exit, an image pulled by digest, and a liveness kill of an app that exits
0 on SIGTERM."""

from __future__ import annotations

import asyncio
import copy
import threading

import kube as k
import pytest
from helpers import evidence_text, only, run

from crashwatch.metrics import Metrics
from crashwatch.model import Reason
from crashwatch.settings import Settings
from crashwatch.watch.publisher import ANN_REASON
from crashwatch.watch.store import Store
from crashwatch.watch.watchdog import START_GRACE_SECONDS, Watchdog

# observed-1.36.txt, pod "shop-noenv": the crashed instance's own log (previous=false)
DJANGO = (
    '  File "/app/shop/settings.py", line 5, in <module>\n'
    '    SECRET_KEY = os.environ["SECRET_KEY"]\n'
    "                 ~~~~~~~~~~^^^^^^^^^^^^^^\n"
    '  File "<frozen os>", line 679, in __getitem__\n'
    "KeyError: 'SECRET_KEY'\n"
)
DIGEST = "127.0.0.1:37883/shop@sha256:" + "e7" * 32
LIVENESS = {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 2,
            "failureThreshold": 2}
UNHEALTHY = "Liveness probe failed: HTTP probe failed with statuscode: 404"
KILLING = "Container app failed liveness probe, will be restarted"


def _pod(c, cs):
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [cs]
    return p


def test_the_first_exit_is_diagnosed_from_its_own_terminated_state():
    """restartCount 0, no lastState: the kubelet shows the first exit as ``terminated``
    (then restarts at once); its log says why."""
    c = k.container()
    cs = k.crashed_status(c, k.terminated("Error", 1, finished_ago=1, ran_for=0), restarts=0)
    assert cs["lastState"] == {}
    p = _pod(c, cs)
    f = only(run([p], {("shop", p["metadata"]["name"], "app"): DJANGO}))
    assert f.reason is Reason.MISSING_ENV
    assert f.details["variable"] == "SECRET_KEY"


@pytest.mark.parametrize("shape", ["terminated", "waiting"])
def test_an_oom_loop_either_way_between_restarts(shape):
    c = k.container(memory_limit="32Mi", memory_request="32Mi")
    term = k.terminated("OOMKilled", 137, ran_for=0, instance=5)
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [
        k.crashed_status(c, term) if shape == "terminated"
        else k.crashloop_status(c, p, term, restarts=5, backoff="1m20s")]
    f = only(run([p]))
    assert f.reason is Reason.OOM_KILLED
    assert "32Mi" in evidence_text(f) + f.summary


def test_an_image_pulled_by_digest_is_named_as_the_spec_writes_it():
    """containerd 2 reports such an image as its config digest (``image: sha256:...``):
    what the finding names is the spec's reference."""
    c = k.container(image=DIGEST, command=["/app/run"])
    cs = k.crashed_status(c, k.terminated("Error", 1, instance=1))
    assert cs["image"].startswith("sha256:") and cs["imageID"] == DIGEST
    p = _pod(c, cs)
    f = only(run([p], {("shop", p["metadata"]["name"], "app"):
                       "exec /app/run: exec format error\n"}))
    assert f.reason is Reason.EXEC_FORMAT_ERROR
    assert f.details["image"] == DIGEST
    assert cs["image"] not in f.summary + evidence_text(f)


def _liveness_events(p, kills, killed_ago=3):
    """The probe's Events; the newest kill at the killed instance's end (``killed_ago``), as
    the kubelet stamps it."""
    return [k.event(p, "Unhealthy", UNHEALTHY, container_name="app", count=2 * kills,
                    last_ago=killed_ago + 1),
            k.event(p, "Killing", KILLING, type_="Normal", container_name="app", count=kills,
                    last_ago=killed_ago)]


def test_a_liveness_kill_of_an_app_that_exits_0_in_back_off():
    """The third kill: CrashLoopBackOff, lastState ``{exitCode: 0, reason: Completed}``."""
    c = k.container(livenessProbe=LIVENESS)
    p = k.pod(containers=[c])
    killed = k.terminated("Completed", 0, finished_ago=3, ran_for=4, instance=2)
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, killed, restarts=2,
                                                           backoff="10s")]
    f = only(run([p, *_liveness_events(p, 3)]))
    assert f.reason is Reason.LIVENESS_PROBE
    assert f.details["statusCode"] == 404


def test_the_same_kill_with_sigkill_is_diagnosed_while_running_again():
    """The older shape (an app SIGKILLed after its grace period, 137): found at once."""
    c = k.container(livenessProbe=LIVENESS)
    killed = k.terminated("Error", 137, finished_ago=3, ran_for=4, instance=1)
    p = _pod(c, k.running_status(c, started_ago=2, restarts=1, last=killed))
    assert only(run([p, *_liveness_events(p, 1)])).reason is Reason.LIVENESS_PROBE


def test_running_again_after_a_liveness_kill_of_an_app_that_exits_0():
    """observed-1.36.txt, pod liveness404: after the first and second kill the kubelet starts
    the container again at once (running, restartCount 1 and 2, lastState Completed/0); the
    same with 137 is diagnosed (the test above)."""
    c = k.container(livenessProbe=LIVENESS)
    killed = k.terminated("Completed", 0, finished_ago=3, ran_for=4, instance=1)
    p = _pod(c, k.running_status(c, started_ago=2, restarts=1, last=killed))
    found = run([p, *_liveness_events(p, 1)])
    assert [f.reason for f in found] == [Reason.LIVENESS_PROBE]


def test_an_app_that_exited_0_after_an_older_kill_is_not_taken_for_killed():
    """The kill is the instance's only when it falls within its life: an exit 0 long after
    the newest kill (a job-like app restarted by ``restartPolicy: Always``) is a clean
    exit, and the container running again is not failing."""
    c = k.container(livenessProbe=LIVENESS)
    clean = k.terminated("Completed", 0, finished_ago=3, ran_for=60, instance=1)
    p = _pod(c, k.running_status(c, started_ago=2, restarts=1, last=clean))
    assert run([p, *_liveness_events(p, 1, killed_ago=120)]) == []


@pytest.mark.parametrize("shape", ["waiting", "terminated"])
def test_a_crash_after_an_older_probe_kill_is_diagnosed_from_its_own_log(shape):
    """The Events of a kill an instance ago are still in the window (aggregated, an hour):
    the instance that exited 1 on a missing setting started after the newest kill, so the
    kill is not its cause; its log is. (The cluster benchmark's pool pods, reused, showed
    this: 3 of 406 crashes named CrashLoop.LivenessProbe.)"""
    c = k.container(livenessProbe=LIVENESS)
    p = k.pod(containers=[c])
    crashed = k.terminated("Error", 1, finished_ago=3, ran_for=1, instance=2)
    p["status"]["containerStatuses"] = [
        k.crashloop_status(c, p, crashed, restarts=2, backoff="10s") if shape == "waiting"
        else k.crashed_status(c, crashed, restarts=2)]
    old_kill = _liveness_events(p, 1, killed_ago=20)
    f = only(run([p, *old_kill], {("shop", p["metadata"]["name"], "app"): DJANGO}))
    assert f.reason is Reason.MISSING_ENV, (f.reason, f.summary)
    assert f.details["variable"] == "SECRET_KEY"
    # the same crash with the kill stamped within its life is the probe's
    own_kill = _liveness_events(p, 1, killed_ago=3)
    f = only(run([p, *own_kill], {("shop", p["metadata"]["name"], "app"): DJANGO}))
    assert f.reason is Reason.LIVENESS_PROBE
    # and so is a crash the log does not explain, after a kill the kubelet stopped stamping
    # anew (its event spam filter): the older kill is the best explanation there is
    f = only(run([p, *old_kill], {("shop", p["metadata"]["name"], "app"): "listening\n"}))
    assert f.reason is Reason.LIVENESS_PROBE
    assert f.details["statusCode"] == 404


def test_a_container_left_terminated_0_by_a_liveness_kill_is_diagnosed():
    """The same exit 0 shown as the state (the kubelet's status before the restart)."""
    c = k.container(livenessProbe=LIVENESS)
    killed = k.terminated("Completed", 0, finished_ago=3, ran_for=4, instance=3)
    p = _pod(c, k.crashed_status(c, killed, restarts=2))
    f = only(run([p, *_liveness_events(p, 3)]))
    assert f.reason is Reason.LIVENESS_PROBE
    assert f.details["statusCode"] == 404


@pytest.mark.parametrize("kills_stamped_ago", [12, 600])
def test_a_liveness_crash_loop_stays_published_while_the_killed_container_runs_again(
        kills_stamped_ago):
    """observed-1.36.txt, pod liveness404: CrashLoopBackOff (published), then running again
    after the back-off (lastState Completed/0) until the next kill, and so on. The finding
    must not be cleared at every start (and published again at every kill). Also when the
    newest Killing Event is older than the killed instance (600 s): after many kills the
    kubelet's event spam filter stops stamping it anew, and the container running again
    after its exit 0 then says nothing by itself (the real-node demo's gauge went missing
    between kills)."""
    d, rec = _dog()
    c = k.container(livenessProbe=LIVENESS)
    p = k.pod(containers=[c])
    killed = k.terminated("Completed", 0, finished_ago=12, ran_for=4, instance=2)
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, killed, restarts=2,
                                                           backoff="10s")]

    async def go():
        for ev in _liveness_events(p, 3, killed_ago=kills_stamped_ago):
            d.on_event(ev)
        d.on_pod("MODIFIED", copy.deepcopy(p))
        await d.drain()
        if [w[3].get(ANN_REASON) for w in rec.writes("Pod")] != ["CrashLoop.LivenessProbe"]:
            raise RuntimeError(f"not published in back-off: {rec.writes('Pod')}")
        # the back-off is over: started again, it will fail its probe again in seconds
        p["status"]["containerStatuses"] = [k.running_status(c, started_ago=1, restarts=3,
                                                             last=killed)]
        d.on_pod("MODIFIED", copy.deepcopy(p))
        await d.drain()

    asyncio.run(go())
    assert [w[3].get(ANN_REASON) for w in rec.writes("Pod")] == ["CrashLoop.LivenessProbe"]


def test_a_crash_that_lands_while_a_healthy_looking_status_is_judged_is_not_dropped():
    """The first exit and the restart come within the debounce, so the first look is at the
    container running again (restartCount 1, ready): nothing to say, and the pod was never
    published. The next crash lands during that diagnosis; the empty verdict must not forget
    the pod and the newer status with it (no further status comes: the kubelet waits out its
    back-off), or the crash is never diagnosed."""
    d, rec = _dog()
    c = k.container()
    p = k.pod(containers=[c])
    first = k.terminated("Error", 1, finished_ago=1, ran_for=2)
    running = copy.deepcopy(p)
    running["status"]["containerStatuses"] = [k.running_status(c, started_ago=0, restarts=1,
                                                               last=first)]
    second = k.terminated("Error", 1, finished_ago=0, ran_for=0, instance=1)
    backoff = copy.deepcopy(p)
    backoff["status"]["containerStatuses"] = [k.crashloop_status(c, backoff, second,
                                                                 restarts=1)]
    in_diagnosis, go_on = threading.Event(), threading.Event()
    diagnose = d._diagnose

    def slow(objects, logs, now):
        found = diagnose(objects, logs, now)
        if any(o.get("kind") == "Pod" and o["status"]["containerStatuses"][0]["state"].get(
                "running") for o in objects):
            assert found == [], found  # the running-again status alone says nothing
            in_diagnosis.set()
            go_on.wait(10)
        return found
    d._diagnose = slow

    async def go():
        d.on_pod("MODIFIED", copy.deepcopy(running))
        while not in_diagnosis.is_set():
            await asyncio.sleep(0.01)
        d.on_pod("MODIFIED", copy.deepcopy(backoff))  # the watch brings the next crash
        go_on.set()
        await d.drain()
        for _ in range(50):  # the reconcile it scheduled
            if rec.writes("Pod"):
                break
            await asyncio.sleep(0.1)
        await d.drain()

    asyncio.run(go())
    assert [w[3].get(ANN_REASON) for w in rec.writes("Pod")] == ["CrashLoop.AppError"]


def _dog():
    """A watchdog past its start's grace (clears may go), writing to a recorder."""
    clock = [k.NOW.timestamp()]
    rec = _Recorder()
    d = Watchdog(Settings(), Store(Settings().watch, clock=lambda: clock[0]), rec, Metrics(),
                 clock=lambda: clock[0])
    clock[0] += START_GRACE_SECONDS + 1
    return d, rec


class _Recorder:
    def __init__(self):
        self.calls = []

    async def annotate(self, kind, namespace, name, annotations):
        self.calls.append(("annotate", kind, name, dict(annotations)))
        return True

    async def post_event(self, kind, namespace, name, uid, reason, message, type_="Warning"):
        self.calls.append(("event", kind, name, {}))
        return True

    def writes(self, kind):
        return [c for c in self.calls if c[1] == kind and c[0] == "annotate"]


def test_a_crash_that_lands_during_the_diagnosis_of_the_running_again_status_clears_nothing():
    """A 1.36 kubelet restarts a crashed container at once, then it crashes again: the
    statuses terminated (restartCount 0), running (1), terminated (1) come within a second.
    When the diagnosis of the running one is under way as the next crash lands, its verdict
    (nothing: it runs) must be held by the running-again hysteresis on the status it judged,
    not dropped because the store's newer status is not running any more (a clear and the
    same finding published again a moment later: 34 of 500 pods in the e2e storm)."""
    d, rec = _dog()
    c = k.container()
    p = k.pod(containers=[c])
    first = k.terminated("Error", 1, finished_ago=1, ran_for=2)
    p["status"]["containerStatuses"] = [k.crashed_status(c, first, restarts=0)]
    running = copy.deepcopy(p)
    running["status"]["containerStatuses"] = [k.running_status(c, started_ago=0, restarts=1,
                                                               last=first)]
    again = copy.deepcopy(p)
    second = k.terminated("Error", 1, finished_ago=0, ran_for=0, instance=1)
    again["status"]["containerStatuses"] = [k.crashed_status(c, second, restarts=1)]
    diagnose = d._diagnose

    def racing(objects, logs, now):
        found = diagnose(objects, logs, now)
        if any(o.get("kind") == "Pod" and o["status"]["containerStatuses"][0]["state"].get(
                "running") for o in objects):
            d.store.upsert_pod(copy.deepcopy(again))  # the next crash, as the watch brings it
        return found
    d._diagnose = racing

    async def go():
        d.on_pod("MODIFIED", copy.deepcopy(p))
        await d.drain()
        d.on_pod("MODIFIED", copy.deepcopy(running))
        await d.drain()
        d.on_pod("MODIFIED", copy.deepcopy(again))
        await d.drain()

    asyncio.run(go())
    reasons = [w[3].get(ANN_REASON) for w in rec.writes("Pod")]
    assert reasons == [reasons[0]] and reasons[0], reasons  # published once, never cleared
