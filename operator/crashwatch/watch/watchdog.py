"""The watchdog: watch events in, diagnoses out, and what each object should say.

kopf-free on purpose: the kopf handlers in ``operator.py`` only forward to it.

State is one record per failing pod and one per workload (the pod's top owner: the
Deployment, not its ReplicaSet). A change to a pod, its Events or its owner marks the
workload dirty; one reconcile per workload runs at a time and diagnoses all of the
workload's failing pods in one view (the workload-level findings, such as a rollout
regression, need them all). Its result is level-triggered: each record's findings replace
the last ones (the gauges follow from the difference), and the notice each pod and the
workload should carry goes to the publisher, which writes only what differs from what the
object says (``publisher.py``). A relist after a watch gap delivers no DELETED for what
vanished meanwhile: what a relist did not show again is checked against the API server and
forgotten if it is gone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from crashwatch.diagnosis import diagnose
from crashwatch.diagnosis.history import HISTORY_ANNOTATION
from crashwatch.diagnosis.owners import REVISION_ANNOTATION
from crashwatch.diagnosis.rules.create import EVENT_ONLY_KINDS, replica_failure, short_of_pods
from crashwatch.diagnosis.rules.init import INIT_STUCK_SECONDS, running_init, stuck_seconds
from crashwatch.diagnosis.rules.job import job_failed
from crashwatch.diagnosis.view import (
    ClusterView,
    as_dict,
    as_int,
    as_list,
    as_str,
    controller_ref,
    meta,
    parse_time,
)
from crashwatch.logsource import failed_instance as _instance
from crashwatch.metrics import Metrics
from crashwatch.model import Confidence, Finding, OwnerRef, Reason
from crashwatch.settings import Settings
from crashwatch.watch.publisher import Notice, Publisher, Writer
from crashwatch.watch.selectors import parse_selector
from crashwatch.watch.store import (
    Key,
    Store,
    WorkloadKey,
    published_annotations,
)

log = structlog.get_logger("crashwatch.watch")

DEBOUNCE_SECONDS = 0.1  # on top of kopf's own 0.1 s batch window per object
START_GRACE_SECONDS = 10.0
"""Clearing writes wait for the pods' first listing, but no longer than this after start
(an empty cluster lists nothing)."""
LOG_READS_AT_ONCE = 8
LOG_READ_TRIES = 3
LOG_RETRY_SECONDS = 1.0
"""A log read that finds nothing is tried again after 1, then 2 seconds (the kubelet can
answer for a container that has just died before its log is there)."""

#: ``(namespace, pod, container, previous)`` -> a container instance's log tail, or None.
LogReader = Callable[[str, str, str, bool], Awaitable[str | None]]
#: ``(kind, namespace, name, uid)`` -> does it still exist (None: could not tell).
Verifier = Callable[[str, str, str, str], Awaitable[bool | None]]
RefusalReader = Callable[[str, str, str, str], Awaitable[list[dict[str, Any]]]]
"""The FailedCreate and SuccessfulCreate Events of one object (namespace, kind, name, uid)."""
REFUSAL_LOOK_SECONDS = 10.0
"""A StatefulSet, DaemonSet or Job short of pods is looked at this long after: most have
their pods by then, and only one that is still short has its Events read."""
REFUSAL_READ_SECONDS = 30.0
"""Such a workload's FailedCreate Events are read again at most this often..."""
REFUSAL_IDLE_SECONDS = 300.0
"""... and this often while the last read found no refusal (a workload short of pods for
another reason: a StatefulSet waiting on its pod-0, a DaemonSet on a tainted node)."""
REFUSAL_READS_AT_ONCE = 4

TOP_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob",
                       "ReplicaSet"})
REMEDIABLE = (Reason.OOM_AFTER_SHRINK, Reason.ROLLOUT_REGRESSION)


class Remedy(Protocol):
    async def consider(self, finding: Finding) -> None: ...

    def forget_regression(self, namespace: str, deployment: str) -> None: ...

    async def tick(self) -> None: ...


@dataclass(slots=True)
class PodRecord:
    uid: str
    workload: WorkloadKey
    findings: list[Finding] = field(default_factory=list)
    changed_at: float | None = None
    """When the first watch event not yet diagnosed arrived (the delay histogram)."""
    logs: dict[str, str | None] = field(default_factory=dict)
    """Log tails read, by container instance (containerID): each read once."""
    log_misses: dict[str, int] = field(default_factory=dict)
    """Reads that found no log yet, by container instance."""


@dataclass(slots=True)
class WorkloadRecord:
    pods: set[Key] = field(default_factory=set)
    finding: Finding | None = None
    """The workload-level finding (a rollout regression, a failed Job)."""


@dataclass(slots=True)
class _Refusals:
    since: float
    """When the workload was first seen short of pods."""
    read_at: float | None = None
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Listing:
    """The latest listing of one resource (in one namespace, or all): when it began, whether
    it is over, and whether what it did not show again has been checked."""

    started: float
    done: bool = False
    checked: bool = False


PLURAL_KINDS = {"pods": "Pod", "replicasets": "ReplicaSet", "deployments": "Deployment",
                "statefulsets": "StatefulSet", "daemonsets": "DaemonSet", "jobs": "Job",
                "cronjobs": "CronJob", "verticalpodautoscalers": "VerticalPodAutoscaler"}
#: Kinds every API server serves: a ready replica has listed each of them (a VPA's CRD may be
#: absent, and is never waited for).
BUILTIN_KINDS = ("Pod", "ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
VERIFY_AFTER_LISTING_SECONDS = 1.0
"""Listed objects reach the handlers a moment after the listing's end: look then."""


def workload_key(namespace: str, owner: OwnerRef | None, pod: str) -> WorkloadKey:
    return (namespace, owner.kind, owner.name) if owner else (namespace, "Pod", pod)


def pod_notice(findings: list[Finding]) -> Notice | None:
    """What a pod should say: its first finding; one Event per reason, naming every
    container that fails for it."""
    if not findings:
        return None
    primary = findings[0]
    events: list[tuple[str, str]] = []
    by_reason: dict[str, list[Finding]] = {}
    for f in findings:
        by_reason.setdefault(f.reason.value, []).append(f)
    for reason, group in by_reason.items():
        names = [f.container for f in group if f.container]
        if not names:
            message = group[0].summary
        elif len(names) == 1:
            message = f"[{names[0]}] {group[0].summary}"
        else:
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8
                                             else "")
            message = f"[{len(names)} containers: {shown}] {group[0].summary}"
        events.append((reason, message))
    return Notice(primary.reason.value, primary.summary, primary.evidence, tuple(events))


def owner_notice(finding: Finding | None, owner: Mapping[str, Any] | None) -> Notice | None:
    """What a workload should say; its history (``crashwatch.dev/history``) grows with
    each new reason."""
    if finding is None:
        return None
    annotations = as_dict(meta(owner or {}).get("annotations"))
    return Notice(finding.reason.value, finding.summary, finding.evidence,
                  ((finding.reason.value, finding.summary),),
                  history=as_str(annotations.get(HISTORY_ANNOTATION)),
                  revision=as_str(annotations.get(REVISION_ANNOTATION)))


class Watchdog:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        writer: Writer,
        metrics: Metrics,
        log_reader: LogReader | None = None,
        clock: Callable[[], float] = time.time,
        remedy: Remedy | None = None,
        verifier: Verifier | None = None,
        refusals: RefusalReader | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.log_reader = log_reader
        self.clock = clock
        self.remedy = remedy
        self.verifier = verifier
        self.refusals = refusals
        self._refused: dict[WorkloadKey, _Refusals] = {}
        """A workload short of pods: since when, and its objects' FailedCreate Events."""
        self._refusal_reads = asyncio.Semaphore(REFUSAL_READS_AT_ONCE)
        self.ignore = parse_selector(settings.watch.ignore_selector)
        self.namespace_match = parse_selector(settings.watch.namespace_selector)
        self.namespaces: dict[str, bool] = {}  # namespace -> matches the selector
        self.publisher = Publisher(writer, settings.publish, metrics, clock,
                                   may_clear=self.caught_up, may_write=lambda: self.active,
                                   cleared=self._cleared)
        self.pods: dict[Key, PodRecord] = {}
        self.workloads: dict[WorkloadKey, WorkloadRecord] = {}
        self.listings: dict[tuple[str, str | None], Listing] = {}
        self.active = True
        """False on a standby replica: it keeps its memory of the cluster current but
        diagnoses and writes nothing until it leads."""
        self.started = clock()
        self._timers: dict[WorkloadKey, asyncio.TimerHandle] = {}
        self._running: dict[WorkloadKey, asyncio.Task[None]] = {}
        self._again: dict[WorkloadKey, float] = {}
        self._log_reads = asyncio.Semaphore(LOG_READS_AT_ONCE)
        self._last_verified = clock()

    # -- inputs --------------------------------------------------------------------
    def _namespace_allowed(self, namespace: str) -> bool:
        if not self.settings.watch.namespace_selector:
            return True
        return self.namespaces.get(namespace, False)

    def seen(self, resource: str) -> None:
        """A watch event of ``resource`` arrived (counted; its time kept)."""
        self.metrics.watch_events.seen(resource, self.clock())

    def on_listing(self, plural: str, namespace: str | None, phase: str) -> None:
        """kopf began (``started``) or finished (``listed``) listing a resource: at a start,
        and after a watch gap that could not be resumed (``listings.py``)."""
        kind = PLURAL_KINDS.get(plural)
        if kind is None:
            return
        now = self.clock()
        if phase == "started":
            self.listings[(kind, namespace)] = Listing(now)
            return
        listing = self.listings.setdefault((kind, namespace), Listing(now))
        listing.done = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if kind == "Pod" and self.caught_up():
            # Clears waited for the pods: what each workload should say is decided again,
            # with every pod the listing brought.
            for wkey in list(self.workloads):
                self._schedule(wkey, delay=0.0)
        loop.call_later(VERIFY_AFTER_LISTING_SECONDS,
                        lambda: loop.create_task(self._verify_safely()))

    def caught_up(self) -> bool:
        """Every listing of pods is over (or, where listings cannot be followed, the
        start's grace has passed): only then may a publication be cleared (an owner listed
        before its pods is not healthy)."""
        pods = [lst for (kind, _), lst in self.listings.items() if kind == "Pod"]
        if pods:
            return all(lst.done for lst in pods)
        return self.clock() - self.started > START_GRACE_SECONDS

    def listed(self) -> bool:
        """Every listing that began is over, those of pods and of the built-in owners among
        them (or, where listings cannot be followed, the start's grace has passed): the
        replica is ready. A rollout seen before its ReplicaSets are listed would be judged
        without the earlier revision's availability (the Deployment controller scales it
        down meanwhile)."""
        if not self.listings:
            return self.clock() - self.started > START_GRACE_SECONDS
        if not all(lst.done for lst in self.listings.values()):
            return False
        begun = {kind for kind, _ in self.listings}
        return all(kind in begun for kind in BUILTIN_KINDS)

    def on_namespace(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        name = as_str(meta(body).get("name"))
        if event_type == "DELETED":
            self.namespaces.pop(name, None)
        else:
            self.namespaces[name] = self.namespace_match(as_dict(meta(body).get("labels")))

    def on_pod(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        md = meta(body)
        key = (as_str(md.get("namespace")), as_str(md.get("name")))
        if not key[1]:
            return
        uid = as_str(md.get("uid"))
        if event_type == "DELETED":
            self._pod_gone(key, "deleted")  # nothing to clean on it, nothing to say
            return
        rec = self.pods.get(key)
        # On its way out, a pod whose preStop hook failed is news, quiet or not.
        hook_failed = bool(md.get("deletionTimestamp")) and self.store.has_event(
            key, "FailedPreStopHook")
        if rec is not None and uid and rec.uid and uid != rec.uid:
            self._pod_gone(key, "replaced")  # a namesake (a StatefulSet's pod re-created)
            rec = None
        ignored = self.ignore(as_dict(md.get("labels"))) if (
            self.settings.watch.ignore_selector) else False
        if ignored or not self._namespace_allowed(key[0]):
            if rec is not None:
                self.store.delete_pod(key)
                self._schedule(rec.workload)
            return
        if "crashwatch.dev/reason" in as_dict(md.get("annotations")) or (
                ("Pod", *key) in self.publisher.targets):
            self.publisher.observe("Pod", key[0], key[1], uid, published_annotations(body))
        kept = self.store.upsert_pod(body, keep=hook_failed)
        if not kept and rec is None and ("Pod", *key) not in self.publisher.targets:
            return  # quiet and never held: the common case
        wkey = workload_key(key[0], self.store.top_owner(body), key[1])
        if rec is None:
            rec = self.pods[key] = PodRecord(uid, wkey)
        elif rec.workload != wkey:  # its owner became known (a ReplicaSet arrived late)
            self._leave(key, rec)
            rec.workload = wkey
        self.workloads.setdefault(wkey, WorkloadRecord()).pods.add(key)
        if rec.changed_at is None:
            rec.changed_at = self.clock()
        self._schedule(wkey)

    def on_event(self, body: Mapping[str, Any]) -> None:
        key = self.store.add_event(body)
        rec = self.pods.get(key) if key is not None else None
        if rec is None and key is not None and body.get("reason") == "FailedPreStopHook":
            pod = self.store.pods.get(key)
            if pod is not None:
                self.on_pod("MODIFIED", pod)
            return
        if rec is not None:
            if rec.changed_at is None:
                rec.changed_at = self.clock()
            self._schedule(rec.workload)

    def on_owner(self, kind: str, event_type: str | None, body: Mapping[str, Any]) -> None:
        md = meta(body)
        ns, name = as_str(md.get("namespace")), as_str(md.get("name"))
        if not name:
            return
        if event_type == "DELETED":
            self._owner_gone(kind, (ns, name))
            return
        parent = controller_ref(body)
        if kind in TOP_KINDS and parent is None and (
                "crashwatch.dev/reason" in as_dict(md.get("annotations"))
                or (kind, ns, name) in self.publisher.targets):
            # Only a top owner is written to (the Deployment controller copies a
            # Deployment's annotations onto its ReplicaSets: those are not crashwatch's).
            self.publisher.observe(kind, ns, name, as_str(md.get("uid")),
                                   published_annotations(body))
            # What it says is checked by a reconcile of its own (it may have recovered
            # while crashwatch was away).
            self.workloads.setdefault((ns, kind, name), WorkloadRecord())
        watched = self._namespace_allowed(ns) and not (
            self.settings.watch.ignore_selector and self.ignore(as_dict(md.get("labels"))))
        # Workloads that are news with no pod to bring them here: each taken in and looked
        # at (scheduled now, run after the upsert below has stored the owner).
        # a Job is said on its CronJob; a ReplicaSet on its Deployment, else (bare, or an
        # Argo Rollout's) on itself
        top = (ns, *parent) if parent and (kind, parent[0]) in (
            ("Job", "CronJob"), ("ReplicaSet", "Deployment")) else (ns, kind, name)
        if watched and top not in self.workloads and (
                # a Job that gave up is a finding of its own, with or without a failing pod
                # seen: one stopped at its deadline may have had only a running pod, now gone
                (kind == "Job" and job_failed(body) is not None)
                # refused its pods (rules/create.py): its condition says so ...
                or (kind in ("Deployment", "ReplicaSet") and replica_failure(body) is not None)
                # ... or only an Event would: looked at a moment later (_refusal_events), when
                # a workload that is merely starting has its pods
                or (kind in EVENT_ONLY_KINDS and self.refusals is not None
                    and short_of_pods(body, kind))):
            self.workloads[top] = WorkloadRecord()
            self._schedule(top)
        if self.store.upsert_owner(kind, body) or (ns, kind, name) in self.workloads:
            for wkey in self._workloads_of(kind, ns, name, body):
                self._schedule(wkey)

    def _workloads_of(self, kind: str, ns: str, name: str,
                      body: Mapping[str, Any]) -> list[WorkloadKey]:
        """The held workloads whose diagnosis an owner's change can change."""
        found: list[WorkloadKey] = []
        if (ns, kind, name) in self.workloads:
            found.append((ns, kind, name))
        if kind in ("ReplicaSet", "Job"):
            parent = next((as_dict(r) for r in as_list(meta(body).get("ownerReferences"))
                           if as_dict(r).get("controller") is True), None)
            if parent is not None:
                pkey = (ns, as_str(parent.get("kind")), as_str(parent.get("name")))
                if pkey in self.workloads:
                    found.append(pkey)
                # Pods counted under this owner while its parent was unknown move up.
                wl = self.workloads.get((ns, kind, name))
                for key in sorted(wl.pods) if wl is not None else ():
                    pod = self.store.pods.get(key)
                    if pod is not None:
                        self.on_pod("MODIFIED", pod)
        elif kind == "VerticalPodAutoscaler":
            target = as_dict(as_dict(body.get("spec")).get("targetRef"))
            tkey = (ns, as_str(target.get("kind")), as_str(target.get("name")))
            if tkey in self.workloads:
                found.append(tkey)
        return found

    def _pod_gone(self, key: Key, why: str) -> None:
        self.store.delete_pod(key)
        self.publisher.forget("Pod", *key)
        rec = self.pods.pop(key, None)
        if rec is None:
            return
        if rec.findings:
            log.info("pod gone", namespace=key[0], pod=key[1], why=why,
                     reason=rec.findings[0].reason.value)
        self._set_findings(rec, [])
        self._leave(key, rec)
        self._schedule(rec.workload)

    def _leave(self, key: Key, rec: PodRecord) -> None:
        wl = self.workloads.get(rec.workload)
        if wl is not None:
            wl.pods.discard(key)

    def _owner_gone(self, kind: str, okey: Key) -> None:
        self.store.delete_owner(kind, okey)
        wkey = (okey[0], kind, okey[1])
        if kind in TOP_KINDS:
            self.publisher.forget(kind, *okey)
        wl = self.workloads.get(wkey)
        if wl is not None:
            self._set_workload_finding(wkey, wl, None)
            self._schedule(wkey)

    # -- leadership ------------------------------------------------------------------------
    def set_active(self, active: bool) -> None:
        """Lead (diagnose and write) or stand by (keep the memory current only)."""
        if active == self.active:
            return
        self.active = active
        if active:
            # What each object should say comes from these reconciles; until then the
            # publisher knows only what the objects carry, which is no reason to clear it.
            for wkey in list(self.workloads):
                self._schedule(wkey, delay=0.0)
            return
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        # The leader's findings are the leader's: a standby's gauges say nothing.
        for rec in self.pods.values():
            self._set_findings(rec, [])
        for wkey, wl in self.workloads.items():
            self._set_workload_finding(wkey, wl, None)

    # -- scheduling ------------------------------------------------------------------
    def _schedule(self, wkey: WorkloadKey, delay: float = DEBOUNCE_SECONDS) -> None:
        """Coalesce bursts (a status update and its Events) into one reconcile; never two
        at once for one workload."""
        if not self.active:
            return
        if wkey in self._running:  # looked at again once this reconcile is over
            self._again[wkey] = min(delay, self._again.get(wkey, delay))
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        pending = self._timers.get(wkey)
        if pending is not None:
            if pending.when() <= loop.time() + delay:
                return
            pending.cancel()  # a later look (a recovery check, a sweep) must not hold up news
        self._timers[wkey] = loop.call_later(delay, self._start, wkey)

    def _start(self, wkey: WorkloadKey) -> None:
        self._timers.pop(wkey, None)
        task = asyncio.get_running_loop().create_task(self._reconcile_safely(wkey))
        self._running[wkey] = task

        def done(_: asyncio.Task[None]) -> None:
            self._running.pop(wkey, None)
            again = self._again.pop(wkey, None)
            if again is not None:
                self._schedule(wkey, again)
        task.add_done_callback(done)

    async def _reconcile_safely(self, wkey: WorkloadKey) -> None:
        try:
            await self.reconcile(wkey)
        except Exception as err:  # a bad object or a failed read must not stop the loop
            self.metrics.handler_errors.labels("pods").inc()
            log.exception("reconcile failed", namespace=wkey[0], workload=f"{wkey[1]}/{wkey[2]}",
                          error=str(err)[:300])

    async def drain(self) -> None:
        """Run the reconciles due soon now and wait for the writes (tests, shutdown); looks
        scheduled for later (a recovery check) stay scheduled."""
        loop = asyncio.get_running_loop()
        while True:
            due = [w for w, h in self._timers.items() if h.when() <= loop.time() + 1.0]
            if not (due or self._running or self.publisher.busy()):
                return
            for wkey in due:
                handle = self._timers.get(wkey)
                if handle is not None:  # else it fired meanwhile: it runs already
                    handle.cancel()
                    self._start(wkey)  # tracked as running: never two at once
            if self._running:
                await asyncio.gather(*list(self._running.values()), return_exceptions=True)
            await self.publisher.idle()
            await asyncio.sleep(0)

    # -- diagnosis -------------------------------------------------------------------
    async def _read_logs(self, keys: list[Key]
                         ) -> tuple[dict[tuple[str, str, str], str], set[tuple[str, str, str]]]:
        """The log tail of every crashed container instance of these pods, each instance
        read once; and the containers whose log was not there yet and will be read again."""
        out: dict[tuple[str, str, str], str] = {}
        pending: set[tuple[str, str, str]] = set()
        if not self.settings.logs.read_logs or self.log_reader is None:
            return out, pending
        reader = self.log_reader
        now = self.clock()
        wanted: list[tuple[PodRecord, Key, str, str, bool]] = []
        for key in keys:
            rec, pod = self.pods.get(key), self.store.pods.get(key)
            if rec is None or pod is None:
                continue
            status = as_dict(pod.get("status"))
            init = running_init(pod)
            # An init container that has run past the threshold: what its current log says
            # it waits for (read once, after the threshold), under a key of its own: once
            # the same instance exits, its log is read anew.
            stuck = as_str(init[0].get("name")) if init is not None and stuck_seconds(
                init[0], now) is not None else None
            current: set[str] = set()
            for group in ("initContainerStatuses", "containerStatuses"):
                for cs in as_list(status.get(group)):
                    cs = as_dict(cs)
                    container = as_str(cs.get("name"))
                    which = _instance(cs) if container else None
                    if which is None and container and container == stuck and (
                            group == "initContainerStatuses"):
                        which = (f"running:{as_str(cs.get('containerID'))}", False)
                    if which is None:
                        continue
                    current.add(which[0])
                    if which[0] not in rec.logs:
                        wanted.append((rec, key, container, *which))
                    elif rec.logs[which[0]]:
                        out[(*key, container)] = rec.logs[which[0]] or ""
            for old in set(rec.logs) - current:
                del rec.logs[old]  # only the instances a diagnosis can still ask for
            for old in set(rec.log_misses) - current:
                del rec.log_misses[old]

        async def read(rec: PodRecord, key: Key, container: str, instance: str,
                       previous: bool) -> None:
            async with self._log_reads:
                text = await reader(key[0], key[1], container, previous)
            if text:
                rec.logs[instance] = text
                out[(*key, container)] = text
                return
            # None: the kubelet may not have it yet (a container that has just died). Look
            # again a few times before taking "no log" for an answer.
            misses = rec.log_misses[instance] = rec.log_misses.get(instance, 0) + 1
            if misses >= LOG_READ_TRIES:
                rec.logs[instance] = None
            else:
                pending.add((*key, container))
                self._schedule(rec.workload, delay=LOG_RETRY_SECONDS * misses)

        if wanted:
            await asyncio.gather(*(read(*w) for w in wanted))
        return out, pending

    async def reconcile(self, wkey: WorkloadKey) -> None:
        wl = self.workloads.get(wkey)
        if wl is None or not self.active:
            return
        before = set(wl.pods)
        keys = sorted(k for k in before if k in self.pods)
        logs, pending = await self._read_logs([k for k in keys if k in self.store.pods])
        held = [k for k in keys if k in self.store.pods]
        objects = self.store.objects_for(wkey, held)
        if self.refusals is not None and not held:
            objects += await self._refusal_events(wkey)
        if self.workloads.get(wkey) is not wl:
            return  # gone while its Events were read
        # Off the event loop: a long diagnosis (bounded by the engine's budget) must not
        # hold up /healthz, the metrics, or the watch streams.
        found = await asyncio.to_thread(self._diagnose, objects, logs, self.clock())
        diagnosed = {(as_str(meta(o).get("namespace")), as_str(meta(o).get("name"))): o
                     for o in objects if o.get("kind") == "Pod"}
        by_pod: dict[Key, list[Finding]] = {}
        workload_finding: Finding | None = None
        for f in found:
            if f.pod is not None:
                by_pod.setdefault((f.namespace, f.pod), []).append(f)
            elif f.owner is not None and (f.namespace, f.owner.kind, f.owner.name) == wkey:
                workload_finding = f
        # The diagnosis ran off the loop: what changed meanwhile (a pod deleted, the workload
        # gone) wins; this reconcile runs again for it (_again).
        if self.workloads.get(wkey) is not wl or not self.active:
            return
        recheck = False
        remedy: list[Finding] = []
        for key in keys:
            rec = self.pods.get(key)
            if rec is None or key not in wl.pods:
                continue
            new = by_pod.get(key, [])
            old = rec.findings
            if any((*key, f.container) in pending and f.confidence is Confidence.LOW
                   for f in new if f.container):
                # A guess made without the log ("no log was available", an exit code's
                # usual meaning) while the log may still come: said once it is read, or
                # once the reads give up (LOG_READ_TRIES); the retry is scheduled.
                continue
            pod = self.store.pods.get(key)
            # The hysteresis judges the pod as the diagnosis saw it: a newer status that
            # came meanwhile (the next crash) has a reconcile of its own coming, and must
            # not turn this verdict on a running-again snapshot into a recovery.
            seen = diagnosed.get(key, pod)
            if not new and pod is not None and seen is not pod:
                # A newer status came during the diagnosis (the next crash: a 1.36 kubelet
                # writes terminated, running, terminated within a second). Nothing found on
                # the older one must neither clear nor forget the pod, or the newer status is
                # dropped with it and never judged (1 of 500 pods in a loaded e2e storm); the
                # reconcile it scheduled (_again) judges it.
                continue
            if not new and old and seen is not None and self._restarted_recently(seen):
                # Running again after a crash is not a recovery yet (the kubelet runs a
                # crash-looping container between its crashes): the finding holds until it
                # has run stable_after seconds.
                new = old
            if old and not new:
                log.debug("pod clears", namespace=key[0], pod=key[1],
                          held=pod is not None, states=_states(pod))
            self._set_findings(rec, new)
            self.publisher.want("Pod", key[0], key[1], rec.uid, pod_notice(new), rec.changed_at)
            rec.changed_at = None
            had = {(f.container, f.reason) for f in old}
            remedy += [f for f in new
                       if f.reason in REMEDIABLE and (f.container, f.reason) not in had]
            if not new and pod is not None and _not_ready_yet(pod):
                # Runs, not ready, no verdict yet: a failing readiness probe is news only once
                # its grace is over (rules/probes.py), and the kubelet writes no new status
                # for it. Held, so that its Unhealthy Events and the sweep look again.
                pass
            elif not new and pod is not None and (init := running_init(pod)) is not None:
                # An init container runs: stuck only once it has run INIT_STUCK_SECONDS
                # (rules/init.py), and a kubelet writes nothing new meanwhile. Held, and
                # looked at again then.
                due = init[1] + INIT_STUCK_SECONDS - self.clock()
                self._schedule(wkey, delay=max(due, 0.0) + 1.0)
            elif not new:
                if pod is not None and meta(pod).get("deletionTimestamp"):
                    # On its way out (a preStop hook that fails is still news): nothing to
                    # clean on it.
                    self.publisher.forget("Pod", *key)
                if pod is not None:
                    self.store.delete_pod(key, events=False)  # healthy again: nothing to hold
                if ("Pod", *key) not in self.publisher.targets:  # else a clear is pending
                    del self.pods[key]
                    wl.pods.discard(key)
            elif pod is not None and _running_again(pod):
                recheck = True
        if self._set_workload_finding(wkey, wl, workload_finding) and (
                workload_finding is not None and workload_finding.reason in REMEDIABLE):
            remedy.append(workload_finding)
        # Pods that joined the workload during the diagnosis (an owner listed before its
        # pods) were not in it: what the owner says is left to the reconcile they scheduled
        # (_again), or a clear written now is said again a moment later, a second Event.
        joined = not wl.pods <= before
        if wkey[1] != "Pod" and not joined:
            top = self.store.owner(wkey[1], wkey[0], wkey[2])
            self.publisher.want(wkey[1], wkey[0], wkey[2], as_str(meta(top or {}).get("uid")),
                                owner_notice(self._owner_finding(wl), top))
        # Said first, then acted on: a floor that lands at once must not beat the owner's
        # annotation to it.
        if self.remedy is not None:
            for f in remedy:
                await self.remedy.consider(f)
        if recheck:
            # Crashed, now running: the finding ends once it has run stable_after seconds;
            # look again then rather than wait for the next sweep.
            self._schedule(wkey, delay=self.settings.watch.stable_after_seconds + 1.0)
        if not wl.pods and wl.finding is None and (wkey[1], wkey[0], wkey[2]) not in (
                self.publisher.targets) and wkey not in self._refused:
            # (a workload short of pods is kept until its look at its Events)
            self.workloads.pop(wkey, None)

    async def _refusal_events(self, wkey: WorkloadKey) -> list[dict[str, Any]]:
        """The FailedCreate Events of the workload's objects that are short of pods (the
        StatefulSet, DaemonSet or Job; a CronJob's Jobs), read at most every
        REFUSAL_READ_SECONDS; none when no object is short."""
        ns, kind, name = wkey
        short: list[tuple[str, str, str]] = []
        if kind == "CronJob":
            short = [("Job", job, as_str(meta(obj).get("uid")))
                     for job in sorted(self.store.jobs_of(ns, name))
                     if (obj := self.store.owner("Job", ns, job)) is not None
                     and short_of_pods(obj, "Job")]
        elif kind in EVENT_ONLY_KINDS:
            obj = self.store.owner(kind, ns, name)
            if obj is not None and short_of_pods(obj, kind):
                short = [(kind, name, as_str(meta(obj).get("uid")))]
        else:
            return []
        if not short:
            self._refused.pop(wkey, None)
            return []
        now = self.clock()
        seen = self._refused.setdefault(wkey, _Refusals(since=now))
        if now - seen.since < REFUSAL_LOOK_SECONDS:
            # merely starting, perhaps (a Job that was just created): looked at again then
            self._schedule(wkey, delay=seen.since + REFUSAL_LOOK_SECONDS - now + 0.1)
            return []
        every = REFUSAL_READ_SECONDS if any(
            ev.get("reason") == "FailedCreate" for ev in seen.events) else REFUSAL_IDLE_SECONDS
        if seen.read_at is None or now - seen.read_at >= every:
            assert self.refusals is not None
            found: list[dict[str, Any]] = []
            async with self._refusal_reads:
                for k, n, uid in short[:5]:
                    found += await self.refusals(ns, k, n, uid)
            seen.read_at, seen.events = now, found
        return list(seen.events)

    def _cleared(self, target: tuple[str, str, str]) -> None:
        """An object's clear landed: a record kept only for it goes."""
        kind, ns, name = target
        wkey: WorkloadKey = (ns, kind, name)
        if kind == "Pod":
            rec = self.pods.get((ns, name))
            if rec is None or rec.findings or (ns, name) in self.store.pods:
                return
            del self.pods[(ns, name)]
            self._leave((ns, name), rec)
            wkey = rec.workload
        wl = self.workloads.get(wkey)
        if wl is not None and not wl.pods and wl.finding is None and (
                (wkey[1], wkey[0], wkey[2]) not in self.publisher.targets) and (
                wkey not in self._refused):
            del self.workloads[wkey]

    def _restarted_recently(self, pod: Mapping[str, Any]) -> bool:
        """A container of the pod runs again after an exit less than stable_after seconds
        ago. Asked only of a pod that holds a finding: an exit 0 counts too (an app killed by
        its liveness probe exits 0 on SIGTERM, observed-1.36.txt; the kubelet may have
        stopped stamping the Killing Event anew, and the running-again status alone then
        says nothing)."""
        now = self.clock()
        stable = self.settings.watch.stable_after_seconds
        for group in ("initContainerStatuses", "containerStatuses"):
            for cs in as_list(as_dict(pod.get("status")).get(group)):
                cs = as_dict(cs)
                last = as_dict(as_dict(cs.get("lastState")).get("terminated"))
                if not last or "running" not in as_dict(cs.get("state")):
                    continue
                finished = parse_time(last.get("finishedAt"))
                if finished is None or now - finished < stable:
                    return True
        return False

    def _diagnose(self, objects: list[dict[str, Any]],
                  logs: Mapping[tuple[str, str, str], str], now: float) -> list[Finding]:
        view = ClusterView(objects, now, self.settings.watch.stable_after_seconds)
        return diagnose(view, lambda ns, p, c: logs.get((ns, p, c)))

    def _owner_finding(self, wl: WorkloadRecord) -> Finding | None:
        """What a workload should say: its own finding, else its first failing pod's."""
        if wl.finding is not None:
            return wl.finding
        for key in sorted(wl.pods):
            rec = self.pods.get(key)
            if rec is not None and rec.findings:
                return rec.findings[0]
        return None

    def _set_findings(self, rec: PodRecord, new: list[Finding]) -> None:
        """The one place a pod's findings change: the failing gauge follows."""
        old = rec.findings
        if new == old:
            return
        before = {(f.container, f.reason) for f in old}
        for f in new:
            if (f.container, f.reason) not in before:
                self.metrics.diagnoses.labels(f.reason.value).inc()
        self.metrics.update_failing(old, new)
        rec.findings = new

    def _set_workload_finding(self, wkey: WorkloadKey, wl: WorkloadRecord,
                              new: Finding | None) -> bool:
        """The one place a workload-level finding changes: its gauge follows, and a
        regression that ended (however it ended) is forgotten by remediation. True when
        the reason is new."""
        old = wl.finding
        wl.finding = new
        if old is not None and (new is None or new.reason != old.reason):
            self.metrics.set_workload((*wkey, old.reason.value), 0)
            if self.remedy is not None and old.reason is Reason.ROLLOUT_REGRESSION:
                self.remedy.forget_regression(wkey[0], wkey[2])
        if new is not None:
            self.metrics.set_workload((*wkey, new.reason.value), 1)
        fresh = new is not None and (old is None or old.reason != new.reason)
        if fresh and new is not None:
            self.metrics.diagnoses.labels(new.reason.value).inc()
        return fresh

    # -- housekeeping --------------------------------------------------------------------
    async def sweep(self) -> None:
        """Expire events, forget what vanished unseen, re-diagnose what is held (time alone
        changes some verdicts: a crash long past is history), retry what did not land."""
        self.store.sweep()
        for kind, n in self.store.sizes().items():
            self.metrics.tracked.labels(kind).set(n)
        self.metrics.tracked.labels("records").set(len(self.pods))
        if not self.active:
            return
        await self._verify()
        if self.remedy is not None:
            # A policy created after a finding was published still gets to act on it.
            for rec in list(self.pods.values()):
                for f in rec.findings:
                    if f.reason in REMEDIABLE:
                        await self.remedy.consider(f)
            for wl in list(self.workloads.values()):
                if wl.finding is not None and wl.finding.reason in REMEDIABLE:
                    await self.remedy.consider(wl.finding)
            await self.remedy.tick()
        for wkey in list(self.workloads):
            self._schedule(wkey, delay=0.0)
        self.publisher.kick_all()
        self.metrics.collect_garbage(self.clock())

    async def _verify_safely(self) -> None:
        try:
            await self._verify()
        except Exception as err:  # the API server may be away again: the sweep retries
            log.warning("verification failed", error=str(err)[:300])

    async def _verify(self) -> None:
        """Check against the API server what a relist did not show again (and, now and
        then, what no event has shown for long): a relist reports no DELETED."""
        if self.verifier is None or not self.active:
            return
        now = self.clock()
        periodic = now - self._last_verified >= self.settings.watch.verify_interval_seconds
        doubtful: dict[tuple[str, str, str], None] = {}
        for (kind, namespace), listing in self.listings.items():
            if listing.done and not listing.checked:
                listing.checked = True
                for (k, ns, name), t in list(self.store.seen.items()):
                    if k == kind and (namespace is None or ns == namespace) and (
                            t < listing.started):
                        doubtful[(k, ns, name)] = None
        if periodic:
            self._last_verified = now
            cutoff = now - self.settings.watch.verify_interval_seconds
            for key, t in list(self.store.seen.items()):
                if t < cutoff:
                    doubtful[key] = None
        # Pods first: a workload's pods go before the workload.
        for kind, ns, name in sorted(doubtful, key=lambda k: k[0] != "Pod"):
            obj = (self.store.pods.get((ns, name)) if kind == "Pod"
                   else self.store.owner(kind, ns, name))
            if obj is None:
                continue
            exists = await self.verifier(kind, ns, name, as_str(meta(obj).get("uid")))
            if exists is False:
                log.info("gone while unwatched", kind=kind, namespace=ns, name=name)
                if kind == "Pod":
                    self._pod_gone((ns, name), "gone while unwatched")
                else:
                    self._owner_gone(kind, (ns, name))


def _not_ready_yet(pod: Mapping[str, Any]) -> bool:
    """Running (not on its way out) with a running container that is not ready."""
    if meta(pod).get("deletionTimestamp"):
        return False
    status = as_dict(pod.get("status"))
    return status.get("phase") == "Running" and any(
        "running" in as_dict(as_dict(cs).get("state")) and as_dict(cs).get("ready") is not True
        for cs in as_list(status.get("containerStatuses")))


def _states(pod: Mapping[str, Any] | None) -> list[str]:
    """Each container's state in a word, its restarts and last exit: for the log."""
    out = []
    for cs in as_list(as_dict((pod or {}).get("status")).get("containerStatuses")):
        cs = as_dict(cs)
        state = next(iter(as_dict(cs.get("state"))), "?")
        last = as_dict(as_dict(cs.get("lastState")).get("terminated"))
        out.append(f"{as_str(cs.get('name'))}:{state}/r{as_int(cs.get('restartCount'))}"
                   f"/last={last.get('exitCode')}@{last.get('finishedAt')}")
    return out


def _running_again(pod: Mapping[str, Any]) -> bool:
    statuses = as_list(as_dict(pod.get("status")).get("containerStatuses"))
    return bool(statuses) and all("running" in as_dict(as_dict(cs).get("state"))
                                  for cs in statuses)
