"""The simulated kubelet over real time: failures that take the time they take on a node.

``kubelet.py`` writes a whole crash loop at once ("3 restarts, then recover"): what a test
wants. Alerts are about time, so ``bench/bench_alerts.py`` needs each failure to unfold as a
v1.36 kubelet writes it: restarts spaced by the kubelet's back-off, each status written when
the kubelet would write it. Every scenario here is a generator that makes one write (a
status, kubelet Events, the crashed container's log) and yields the ``time.monotonic()``
deadline of its next one; a ``Driver`` runs many of them at once on one thread. The shapes
(statuses, messages, Events) are ``kubelet.py``'s.

When the kubelet writes what (k8s.io/kubernetes v1.36.3, and a real node with the default
``syncFrequency``: ``nodes/real/observed-1.36.txt``):

* **Back-off** (``kuberuntime.doBackOff``, client-go ``flowcontrol.Backoff``): the first crash
  restarts at once; each later one waits 10s, 20s, 40s, 1m20s, 2m40s, then 5m0s, counted from
  the crash (``finishedAt``), however long the container ran. It starts over when the
  container ran more than 10 minutes (twice the maximum) since the last restart.
* **The restart** comes a little after the back-off expires (0.8 to 16 s observed).
* **After a crash** the status says ``terminated`` (the crashed instance; ``lastState`` the one
  before). ``waiting: CrashLoopBackOff`` reaches the API server only at the pod's next sync:
  1 s later after the second crash; after later ones at the periodic resync (60 to 90 s after
  the crash: ``syncFrequency`` 1m with jitter) if that comes before the restart, otherwise
  in the same second as the restart (observed: 28 s and 52 s back-offs never showed it
  until the restart; 1m20s back-offs showed it 66 and 79 s after the crash).
* **A liveness kill**: the kubelet kills and restarts in one sync, so the status goes from
  ``running`` straight to ``waiting: CrashLoopBackOff`` (after the first kill, straight back
  to ``running``), with ``Unhealthy`` Events each probe period and ``Killing``.
* **Image pulls** alternate ``ErrImagePull`` (a pull, about 14 s) and ``ImagePullBackOff``,
  the pulls spaced by the image back-off (10s, 20s, 40s ...; at least about 26 s).
* **Config errors** (``CreateContainerConfigError``): one status; the ``Failed`` Event again
  at each sync (x17 in 200 s observed), aggregated.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import random
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client
from tests.cluster.nodes.kwok import kubelet

RESYNC = (60.0, 90.0)          # the pod worker's periodic resync: wait.Jitter(1m, 0.5)
RESTART_LATE = (0.8, 16.0)     # the restart, after the back-off expired
IMMEDIATE_RESTART = (0.3, 0.5)  # the first crash's restart
BACKOFF_RESET = 600.0          # ran longer than 2 x the 5m maximum: the back-off starts over
PROBE_PERIOD = 10.0            # periodSeconds of the probes the bench's pods declare

Scenario = Iterator[float]
"""Yields the ``time.monotonic()`` deadline of its next write."""


# --------------------------------------------------------------------------- the plan (pure)


@dataclass(frozen=True)
class Cycle:
    """One crash of a crash loop, in seconds from the container's first start."""

    crash: float
    """The container exits (or is killed)."""
    backoff: int
    """The back-off before the restart (0: restarted at once)."""
    waiting: float | None
    """``waiting: CrashLoopBackOff`` is written (None: straight back to running)."""
    restart: float
    """It runs again."""


def crash_loop_plan(run_seconds: float, until: float, rng: random.Random, *,
                    killed: bool = False) -> list[Cycle]:  # fmt: skip
    """When a container that runs ``run_seconds`` then exits crashes, waits and restarts,
    up to ``until`` seconds. ``killed``: the kubelet kills it (a liveness probe), so the
    waiting state is written with the kill."""
    cycles: list[Cycle] = []
    started = 0.0
    crashes = 0  # since the back-off last started over
    while True:
        crash = started + run_seconds
        if crash > until:
            return cycles
        crashes = 1 if run_seconds > BACKOFF_RESET else crashes + 1
        if crashes == 1:
            backoff, waiting = 0, None
            restart = crash + rng.uniform(*IMMEDIATE_RESTART)
        else:
            backoff = kubelet.backoff_seconds(crashes - 1)
            restart = crash + backoff + rng.uniform(*RESTART_LATE)
            if killed or crashes == 2:
                waiting = crash + 1.0
            else:
                resync = crash + rng.uniform(*RESYNC)
                waiting = resync if resync < restart - 0.1 else restart - 0.1
        cycles.append(Cycle(crash, backoff, waiting, restart))
        started = restart


@dataclass(frozen=True)
class Pull:
    """One image pull attempt, in seconds from the first."""

    at: float
    backoff_at: float
    """``ImagePullBackOff`` is written."""


def image_pull_plan(until: float, rng: random.Random) -> list[Pull]:
    pulls: list[Pull] = []
    t, n = 0.0, 0
    while t <= until:
        pulls.append(Pull(t, t + rng.uniform(13.0, 15.0)))
        n += 1
        t += max(kubelet.backoff_seconds(n) + rng.uniform(2.0, 4.0), rng.uniform(26.0, 28.0))
    return pulls


# --------------------------------------------------------------------------- writes


@dataclass
class LivePod:
    """A pod the simulated kubelet drives; ``failed_at`` is the wall-clock time of its first
    failing status or probe (``time.time()``)."""

    core: client.CoreV1Api
    pod: dict[str, Any]
    container: str
    init: bool = False
    logs_dir: Path | None = None
    failed_at: float | None = None
    writes: int = 0
    on_failure: Callable[[LivePod], None] | None = None

    @property
    def spec_c(self) -> dict[str, Any]:
        key = "initContainers" if self.init else "containers"
        return dict(next(c for c in self.pod["spec"][key] if c["name"] == self.container))

    def failed(self) -> None:
        if self.failed_at is None:
            self.failed_at = time.time()
            if self.on_failure:
                self.on_failure(self)

    def event(self, reason: str, message: str, type_: str = "Normal") -> None:
        kubelet.post_event(self.core, self.pod, reason, message, type_=type_,
                           container=self.container, init=self.init)  # fmt: skip

    def started_events(self) -> None:
        image = self.spec_c["image"]
        self.event("Pulled", f'Container image "{image}" already present on machine and can '
                   "be accessed by the pod")  # fmt: skip
        self.event("Created", "Container created")
        self.event("Started", "Container started")

    def write(self, cs: dict[str, Any], phase: str = "Running") -> None:
        """``cs`` as the status of the driven container; the others as a kubelet shows them
        (with an init container failing: the main ones wait in PodInitializing)."""
        if not self.init:
            self.pod = kubelet._write_status(self.core, self.pod, self.container, cs, phase=phase)
        else:
            main = []
            for spec_c in self.pod["spec"]["containers"]:
                m = kubelet._base_status(self.pod, spec_c)
                m.update(imageID="", state={"waiting": {"reason": "PodInitializing"}})
                main.append(m)
            names = " ".join(c["name"] for c in main)
            conds = [
                kubelet._condition(self.pod, "PodReadyToStartContainers", True),
                kubelet._condition(self.pod, "Initialized", False, "ContainersNotInitialized",
                                   f"containers with incomplete status: [{self.container}]"),
                kubelet._condition(self.pod, "Ready", False, "ContainersNotReady",
                                   f"containers with unready status: [{names}]"),
                kubelet._condition(self.pod, "ContainersReady", False, "ContainersNotReady",
                                   f"containers with unready status: [{names}]"),
                kubelet._condition(self.pod, "PodScheduled", True),
            ]  # fmt: skip
            pod = copy.deepcopy(self.pod)
            pod.setdefault("status", {})["containerStatuses"] = main
            self.pod = kubelet._write_status(self.core, pod, None, None, phase="Pending",
                                             conditions=conds,
                                             extra={"initContainerStatuses": [cs]})  # fmt: skip
        self.writes += 1

    def running(self, attempt: int, last: dict[str, Any] | None, *, ready: bool) -> None:
        cs = kubelet._running(self.pod, self.spec_c, kubelet.rfc3339(), attempt,
                              ready=ready and not self.init)  # fmt: skip
        if last:
            cs["lastState"] = {"terminated": last}
        self.write(cs, "Pending" if self.init else "Running")

    def status(self, attempt: int, state: dict[str, Any], last: dict[str, Any] | None) -> None:
        cs = kubelet._base_status(self.pod, self.spec_c)
        cs.update(restartCount=attempt, state=state,
                  containerID=kubelet.container_id(self.pod, self.container, attempt),
                  lastState={"terminated": last} if last else {})  # fmt: skip
        self.write(cs, "Pending" if self.init else "Running")


def crash_loop(live: LivePod, *, exit_code: int = 1, reason: str = "Error",
               run_seconds: float = 1.0, log: str | None = None, until: float,
               rng: random.Random, liveness: str | None = None) -> Scenario:  # fmt: skip
    """A container that runs ``run_seconds``, exits ``exit_code``/``reason`` (writing
    ``log`` as its last words), and is restarted on the kubelet's back-off, until ``until``
    seconds from now. ``liveness``: the probe's output; the kubelet kills the container
    after three failed probes (``run_seconds`` should be 3 probe periods)."""
    t0 = time.monotonic()
    ready = not live.spec_c.get("readinessProbe")
    plan = crash_loop_plan(run_seconds, until, rng, killed=liveness is not None)
    live.started_events()
    live.running(0, None, ready=ready)
    started = kubelet.rfc3339()
    previous: dict[str, Any] | None = None
    for attempt, cycle in enumerate(plan):
        if liveness:
            for n in range(3):
                yield t0 + cycle.crash - (2 - n) * PROBE_PERIOD
                live.event("Unhealthy", f"Liveness probe failed: {liveness}", "Warning")
            live.event("Killing", f"Container {live.container} failed liveness probe, will be "
                       "restarted")  # fmt: skip
        else:
            yield t0 + cycle.crash
        kubelet.write_log(live.logs_dir, live.pod, live.container, log)
        crashed = {"exitCode": exit_code, "reason": reason, "startedAt": started,
                   "finishedAt": kubelet.rfc3339(),
                   "containerID": kubelet.container_id(live.pod, live.container, attempt)}
        if not liveness:
            # the sync after the crash: the crashed instance, terminated (a liveness kill
            # and its restart happen in one sync: no terminated state is written)
            live.status(attempt, {"terminated": crashed}, previous)
        live.failed()
        if cycle.waiting is not None:
            yield t0 + cycle.waiting
            message = (f"back-off {kubelet.go_duration(cycle.backoff)} restarting failed "
                       f"container={live.container} pod={kubelet.format_pod(live.pod)}")
            live.status(attempt, {"waiting": {"reason": "CrashLoopBackOff", "message": message}},
                        crashed)
            live.failed()
            live.event("BackOff", f"Back-off restarting failed container {live.container} in "
                       f"pod {kubelet.format_pod(live.pod)}", "Warning")  # fmt: skip
        yield t0 + cycle.restart
        live.started_events()
        live.running(attempt + 1, crashed, ready=ready)
        started = kubelet.rfc3339()
        previous = crashed


def config_error(live: LivePod, *, kind: str, name: str, key: str | None,
                 until: float, rng: random.Random) -> Scenario:  # fmt: skip
    """``CreateContainerConfigError`` from the first sync on; the Events again at each sync."""
    t0 = time.monotonic()
    ns = live.pod["metadata"]["namespace"]
    msg = kubelet.config_error_message(ns, kind, name, key)
    cs = kubelet._base_status(live.pod, live.spec_c)
    cs.update(imageID="", state={"waiting": {"reason": "CreateContainerConfigError",
                                             "message": msg}})  # fmt: skip
    live.write(cs, "Pending")
    live.failed()
    t = 0.0
    while t <= until:
        live.event("Pulled", f'Container image "{live.spec_c["image"]}" already present on '
                   "machine and can be accessed by the pod")  # fmt: skip
        live.event("Failed", f"Error: {msg}", "Warning")
        t += rng.uniform(10.0, 14.0)
        yield t0 + t


def image_pull_error(live: LivePod, *, until: float, rng: random.Random) -> Scenario:
    """A tag the registry does not have: pulls spaced by the image back-off."""
    t0 = time.monotonic()
    image = live.spec_c["image"]
    err = kubelet.image_pull_message(image, "notfound")
    for pull in image_pull_plan(until, rng):
        yield t0 + pull.at
        live.event("Pulling", f'Pulling image "{image}"')
        live.event("Failed", f'Failed to pull image "{image}": {err}', "Warning")
        live.event("Failed", "Error: ErrImagePull", "Warning")
        cs = kubelet._base_status(live.pod, live.spec_c)
        cs.update(imageID="", state={"waiting": {"reason": "ErrImagePull", "message": err}})
        live.write(cs, "Pending")
        live.failed()
        yield t0 + pull.backoff_at
        live.event("BackOff", f'Back-off pulling image "{image}"')
        live.event("Failed", "Error: ImagePullBackOff", "Warning")
        cs = dict(cs)
        cs["state"] = {"waiting": {"reason": "ImagePullBackOff", "message":
                                   f'Back-off pulling image "{image}": ErrImagePull: {err}'}}
        live.write(cs, "Pending")


def readiness_failing(live: LivePod, *, output: str, until: float) -> Scenario:
    """Runs, never ready: an ``Unhealthy`` Event each probe period, no restart."""
    t0 = time.monotonic()
    live.started_events()
    live.running(0, None, ready=False)
    t = PROBE_PERIOD
    while t <= until:
        yield t0 + t
        live.event("Unhealthy", f"Readiness probe failed: {output}", "Warning")
        live.failed()
        t += PROBE_PERIOD


# --------------------------------------------------------------------------- the driver


@dataclass
class Driver:
    """Runs scenarios at once on one thread, each write at its deadline. A write that fails
    is counted and its scenario goes on at its next step."""

    heap: list[tuple[float, int, Scenario, str]] = field(default_factory=list)
    seq: itertools.count[int] = field(default_factory=itertools.count)
    errors: dict[str, list[str]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def add(self, name: str, scenario: Scenario) -> None:
        self._advance(name, scenario)

    def _advance(self, name: str, scenario: Scenario) -> None:
        try:
            deadline = next(scenario)
        except StopIteration:
            return
        except Exception:
            self.errors.setdefault(name, []).append(traceback.format_exc(limit=3))
            return
        heapq.heappush(self.heap, (deadline, next(self.seq), scenario, name))

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="kubelet", daemon=True)
        self.thread.start()

    def run(self) -> None:
        while self.heap and not self.stop.is_set():
            deadline, _, scenario, name = self.heap[0]
            wait = deadline - time.monotonic()
            if wait > 0:
                self.stop.wait(min(wait, 1.0))
                continue
            heapq.heappop(self.heap)
            self._advance(name, scenario)

    def join(self) -> None:
        self.stop.set()
        if self.thread:
            self.thread.join(timeout=30)
