"""The watchdog: turns watch events into diagnoses and publishes what changed.

kopf-free on purpose: the kopf handlers in ``operator.py`` only forward to it. Writes
happen only when a pod's (or workload's) finding changes, never for a healthy pod.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from crashwatch.diagnosis import diagnose
from crashwatch.diagnosis.owners import top_owner
from crashwatch.diagnosis.view import ClusterView, as_dict, as_int, as_list, as_str, meta
from crashwatch.metrics import Metrics
from crashwatch.model import Finding, OwnerRef, Reason
from crashwatch.settings import Settings
from crashwatch.watch.selectors import parse_selector
from crashwatch.watch.store import Key, Store

log = structlog.get_logger("crashwatch.watch")

ANN_REASON = "crashwatch.dev/reason"
ANN_SUMMARY = "crashwatch.dev/summary"
ANN_EVIDENCE = "crashwatch.dev/evidence"
ANN_SINCE = "crashwatch.dev/since"
ANNOTATIONS = (ANN_REASON, ANN_SUMMARY, ANN_EVIDENCE, ANN_SINCE)
DEBOUNCE_SECONDS = 0.1  # on top of kopf's own 0.1 s batch window per object

LogReader = Callable[[str, str, str], Awaitable[str | None]]
OwnerKey = tuple[str, str, str]  # namespace, kind, name


class Remedy(Protocol):
    async def consider(self, finding: Finding) -> None: ...

    def forget_regression(self, namespace: str, deployment: str) -> None: ...

    async def tick(self) -> None: ...


REMEDIABLE = (Reason.OOM_AFTER_SHRINK, Reason.ROLLOUT_REGRESSION)


class Writer(Protocol):
    async def annotate(self, kind: str, namespace: str, name: str,
                       annotations: Mapping[str, str | None]) -> bool: ...

    async def post_event(self, kind: str, namespace: str, name: str, uid: str,
                         reason: str, message: str, type_: str = "Warning") -> bool: ...


@dataclass(frozen=True, slots=True)
class Published:
    reason: str
    summary: str
    since: str


def _rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def evidence_annotation(evidence: tuple[str, ...], limit: int) -> str:
    """A JSON list of evidence lines, dropping lines from the end until it fits."""
    lines = list(evidence)
    while lines:
        text = json.dumps(lines)
        if len(text.encode()) <= limit:
            return text
        if len(lines) == 1:
            return json.dumps([lines[0][: max(limit // 2, 16)]])
        lines.pop()
    return "[]"


def _running_again(pod: Mapping[str, Any]) -> bool:
    statuses = as_list(as_dict(pod.get("status")).get("containerStatuses"))
    return bool(statuses) and all("running" in as_dict(as_dict(cs).get("state"))
                                  for cs in statuses)


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
    ) -> None:
        self.remedy = remedy
        self.settings = settings
        self.store = store
        self.writer = writer
        self.metrics = metrics
        self.log_reader = log_reader
        self.clock = clock
        self.ignore = parse_selector(settings.watch.ignore_selector)
        self.namespace_match = parse_selector(settings.watch.namespace_selector)
        self.namespaces: dict[str, bool] = {}  # namespace -> matches the selector
        self.findings: dict[Key, list[Finding]] = {}
        self.published_pods: dict[Key, Published] = {}
        self.published_owners: dict[OwnerKey, Published] = {}
        self.workload_findings: dict[OwnerKey, Finding] = {}
        self._owner_of: dict[Key, OwnerRef | None] = {}
        self._pod_uid: dict[Key, str] = {}
        self._pending: dict[Key, asyncio.TimerHandle] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._received: dict[Key, float] = {}
        self._logs: dict[str, dict[tuple[str, int], str | None]] = {}  # by pod uid
        self._deleted: set[Key] = set()
        self._failures: dict[Key, int] = {}
        self._workload_series: set[tuple[str, str, str, str]] = set()

    # -- inputs --------------------------------------------------------------------
    def _namespace_allowed(self, namespace: str) -> bool:
        if not self.settings.watch.namespace_selector:
            return True
        return self.namespaces.get(namespace, False)

    def seen(self, resource: str) -> None:
        self.metrics.watch_events.labels(resource).inc()
        self.metrics.last_event.labels(resource).set(self.clock())

    def on_namespace(self, event_type: str, body: Mapping[str, Any]) -> None:
        name = as_str(meta(body).get("name"))
        if event_type == "DELETED":
            self.namespaces.pop(name, None)
        else:
            self.namespaces[name] = self.namespace_match(as_dict(meta(body).get("labels")))

    def on_pod(self, event_type: str, body: Mapping[str, Any]) -> None:
        md = meta(body)
        key = (as_str(md.get("namespace")), as_str(md.get("name")))
        if not key[1]:
            return
        if event_type == "DELETED":
            self.store.delete_pod(key)
            self._deleted.add(key)
            self._schedule(key, delay=0.0)
            return
        self._deleted.discard(key)
        ignored = self.ignore(as_dict(md.get("labels"))) if (
            self.settings.watch.ignore_selector) else False
        if ignored or not self._namespace_allowed(key[0]):
            if key in self.store.pods:
                self.store.delete_pod(key)
                self._schedule(key)
            return
        was_tracked = key in self.store.pods
        kept = self.store.upsert_pod(body)
        if kept or was_tracked or key in self.findings:
            self._pod_uid[key] = as_str(md.get("uid"))
            self._received.setdefault(key, self.clock())
            self._schedule(key)

    def on_event(self, body: Mapping[str, Any]) -> None:
        key = self.store.add_event(body)
        if key is not None and key in self.store.pods:
            self._received.setdefault(key, self.clock())
            self._schedule(key)

    def on_owner(self, kind: str, event_type: str, body: Mapping[str, Any]) -> None:
        md = meta(body)
        okey = (as_str(md.get("namespace")), as_str(md.get("name")))
        if event_type == "DELETED":
            self.store.delete_owner(kind, okey)
        else:
            self.store.upsert_owner(kind, body)
        # An owner's change can change its failing pods' diagnosis (a new revision, a VPA).
        for key in list(self.store.pods):
            if key[0] == okey[0]:
                owner = self._owner_of.get(key)
                if owner is None or kind in ("ReplicaSet", "VerticalPodAutoscaler") or (
                        owner.kind == kind and owner.name == okey[1]):
                    self._schedule(key)

    # -- scheduling ------------------------------------------------------------------
    def _schedule(self, key: Key, delay: float = DEBOUNCE_SECONDS) -> None:
        """Coalesce bursts (a status update and its Events) into one diagnosis."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        pending = self._pending.get(key)
        if pending is not None:
            if pending.when() <= loop.time() + delay:
                return
            # A later look (a recovery check, a retry's backoff) must not hold up news.
            pending.cancel()
        self._pending[key] = loop.call_later(delay, self._start, key)

    def _start(self, key: Key) -> None:
        self._pending.pop(key, None)
        task = asyncio.get_running_loop().create_task(self._reconcile_safely(key))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _reconcile_safely(self, key: Key) -> None:
        try:
            await self.reconcile(key)
        except Exception as err:  # a bad object or a failed write must not stop the loop
            self.metrics.handler_errors.labels("pods").inc()
            log.exception("reconcile failed", namespace=key[0], pod=key[1], error=str(err))

    async def drain(self) -> None:
        """Run every scheduled diagnosis now (tests, shutdown)."""
        for key, handle in list(self._pending.items()):
            handle.cancel()
            self._pending.pop(key, None)
            await self._reconcile_safely(key)
        if self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    # -- diagnosis -------------------------------------------------------------------
    async def _prefetch_logs(self, pod: Mapping[str, Any]) -> dict[tuple[str, str, str], str]:
        out: dict[tuple[str, str, str], str] = {}
        if not self.settings.logs.read_logs or self.log_reader is None:
            return out
        md = meta(pod)
        ns, name, uid = (as_str(md.get("namespace")), as_str(md.get("name")),
                         as_str(md.get("uid")))
        status = as_dict(pod.get("status"))
        for key in ("initContainerStatuses", "containerStatuses"):
            for cs in as_list(status.get(key)):
                cs = as_dict(cs)
                container = as_str(cs.get("name"))
                state = as_dict(cs.get("state"))
                crashed = as_int(cs.get("restartCount")) > 0 or "terminated" in state or (
                    as_str(as_dict(state.get("waiting")).get("reason")) in (
                        "CrashLoopBackOff", "RunContainerError"))
                if not container or not crashed:
                    continue
                cache = self._logs.setdefault(uid, {})
                cache_key = (container, as_int(cs.get("restartCount")))
                if cache_key not in cache:
                    cache[cache_key] = await self.log_reader(ns, name, container)
                text = cache[cache_key]
                if text:
                    out[(ns, name, container)] = text
        return out

    async def reconcile(self, key: Key) -> None:
        pod = self.store.pods.get(key)
        new: list[Finding] = []
        workload: list[Finding] = []
        if pod is not None:
            logs = await self._prefetch_logs(pod)
            view = ClusterView(self.store.objects_for(key), self.clock(),
                               self.settings.watch.stable_after_seconds)
            found = diagnose(view, lambda ns, p, c: logs.get((ns, p, c)))
            new = [f for f in found if f.pod == key[1] and f.namespace == key[0]]
            workload = [f for f in found if f.pod is None]
            self._owner_of[key] = top_owner(view, pod)
        old = self.findings.get(key, [])
        if new:
            self.findings[key] = new
        else:
            self.findings.pop(key, None)
            self._logs.pop(self._pod_uid.get(key, ""), None)
        deleted = key in self._deleted
        self._deleted.discard(key)
        owner = self._owner_of.get(key)
        if [f.reason for f in new] != [f.reason for f in old] or (
                new and old and new[0].summary != old[0].summary):
            for f in new:
                self.metrics.diagnoses.labels(f.reason.value).inc()
            if not await self._publish_pod(key, pod, new, deleted):
                self._retry(key, old, deleted)
                return
            if self.remedy is not None:
                for f in new:
                    if f.reason in REMEDIABLE:
                        await self.remedy.consider(f)
        if pod is not None and not new:
            self.store.delete_pod(key)  # healthy again: nothing left to hold for it
        if owner is not None:
            okey = (key[0], owner.kind, owner.name)
            reg = next((f for f in workload if f.owner == owner), None)
            if reg is not None:
                self.workload_findings[okey] = reg
                if self.remedy is not None:
                    await self.remedy.consider(reg)
            elif pod is not None:
                self.workload_findings.pop(okey, None)
                if self.remedy is not None and owner.kind == "Deployment":
                    self.remedy.forget_regression(key[0], owner.name)
            # The gauge says what is diagnosed; it does not wait for the writes below.
            self._update_workload_gauge()
            if not await self._publish_owner(okey):
                self._retry(key, old, deleted)
                return
        self._failures.pop(key, None)
        if new and pod is not None and _running_again(pod):
            # Crashed, now running: the finding ends once it has run stable_after seconds;
            # look again then rather than wait for the next sweep.
            self._schedule(key, delay=self.settings.watch.stable_after_seconds + 1.0)
        if pod is None or not new:
            self._owner_of.pop(key, None)
            self._pod_uid.pop(key, None)
        if new != old:
            self.metrics.update_failing(old, new)
        received = self._received.pop(key, None)
        if received is not None and new != old:
            self.metrics.delay.observe(max(self.clock() - received, 0.0))

    def _retry(self, key: Key, old: list[Finding], deleted: bool) -> None:
        """A write failed (API server away, throttled...): keep the last published state
        so the next attempt sees the change again, and try later with backoff."""
        if old:
            self.findings[key] = old
        else:
            self.findings.pop(key, None)
        if deleted:
            self._deleted.add(key)
        n = self._failures[key] = self._failures.get(key, 0) + 1
        self.metrics.handler_errors.labels("publish").inc()
        self._schedule(key, delay=min(0.5 * 2 ** min(n, 7), 60.0))

    def _update_workload_gauge(self) -> None:
        current = {(ns, kind, name, f.reason.value)
                   for (ns, kind, name), f in self.workload_findings.items()}
        for labels in current - self._workload_series:
            self.metrics.workloads.labels(*labels).set(1)
        self._workload_series = current

    # -- publishing ------------------------------------------------------------------
    def _annotations(self, f: Finding, since: str) -> dict[str, str | None]:
        return {
            ANN_REASON: f.reason.value,
            ANN_SUMMARY: f.summary[:512],
            ANN_EVIDENCE: evidence_annotation(f.evidence,
                                              self.settings.publish.max_evidence_bytes),
            ANN_SINCE: since,
        }

    async def _publish_pod(self, key: Key, pod: Mapping[str, Any] | None,
                           findings: list[Finding], deleted: bool = False) -> bool:
        """Write what changed; False when a write failed (the caller retries later)."""
        before = self.published_pods.get(key)
        if not findings:
            if before is None:
                return True
            # A deleted pod has nothing to clean; a recovered one loses our annotations.
            if not deleted and self.settings.publish.annotations and not (
                    await self.writer.annotate("Pod", key[0], key[1],
                                               dict.fromkeys(ANNOTATIONS))):
                return False
            self.published_pods.pop(key, None)
            log.info("recovered", namespace=key[0], pod=key[1], reason=before.reason)
            return True
        primary = findings[0]
        since = before.since if before and before.reason == primary.reason.value else (
            _rfc3339(self.clock()))
        bound = log.bind(namespace=key[0], pod=key[1], container=primary.container,
                         owner=f"{primary.owner.kind}/{primary.owner.name}"
                         if primary.owner else None, reason=primary.reason.value)
        if self.settings.publish.annotations and not await self.writer.annotate(
                "Pod", key[0], key[1], self._annotations(primary, since)):
            return False
        self.published_pods[key] = Published(primary.reason.value, primary.summary, since)
        bound.info("diagnosed", summary=primary.summary)
        if self.settings.publish.events:
            uid = self._pod_uid.get(key) or as_str(meta(pod or {}).get("uid"))
            for f in findings:
                if before is None or before.reason != f.reason.value or f is not primary:
                    message = f"{f.summary}" if f.container is None else (
                        f"[{f.container}] {f.summary}")
                    await self.writer.post_event("Pod", key[0], key[1], uid, f.reason.value,
                                                 message)
        return True

    def _owner_finding(self, okey: OwnerKey) -> Finding | None:
        """What a workload's annotation says: its workload-level finding, else the first
        finding of one of its pods."""
        if okey in self.workload_findings:
            return self.workload_findings[okey]
        ns, kind, name = okey
        candidates = (
            (pod_key, i, f) for pod_key, fs in self.findings.items() if pod_key[0] == ns
            for i, f in enumerate(fs)
            if f.owner is not None and (f.owner.kind, f.owner.name) == (kind, name)
        )
        first = min(candidates, key=lambda c: (c[0], c[1]), default=None)
        return first[2] if first else None

    async def _publish_owner(self, okey: OwnerKey) -> bool:
        ns, kind, name = okey
        current = self._owner_finding(okey)
        before = self.published_owners.get(okey)
        annotate = self.settings.publish.annotations and self.settings.publish.owner_annotations
        if current is None:
            if before is not None:
                if annotate and not await self.writer.annotate(
                        kind, ns, name, dict.fromkeys(ANNOTATIONS)):
                    return False
                self.published_owners.pop(okey, None)
                if before.reason.startswith("Rollout."):
                    self.metrics.workloads.labels(ns, kind, name, before.reason).set(0)
            return True
        if before is not None and before.reason == current.reason.value:
            # Same reason (perhaps other wording, another pod): not worth a write.
            return True
        since = _rfc3339(self.clock())
        if annotate and not await self.writer.annotate(
                kind, ns, name, self._annotations(current, since)):
            return False
        self.published_owners[okey] = Published(current.reason.value, current.summary, since)
        if self.settings.publish.events:
            owner_obj = self.store.owners.get(kind, {}).get((ns, name))
            uid = as_str(meta(owner_obj or {}).get("uid"))
            await self.writer.post_event(kind, ns, name, uid, current.reason.value,
                                         current.summary)
        return True

    # -- housekeeping --------------------------------------------------------------------
    async def sweep(self) -> None:
        """Expire events and re-diagnose what is held (time alone changes some verdicts:
        a crash long past is history)."""
        self.store.sweep()
        for kind, n in self.store.sizes().items():
            self.metrics.tracked.labels(kind).set(n)
        if self.remedy is not None:
            # A policy created after a finding was published still gets to act on it.
            for fs in list(self.findings.values()):
                for f in fs:
                    if f.reason in REMEDIABLE:
                        await self.remedy.consider(f)
            await self.remedy.tick()
        for key in list(self.store.pods) + [k for k in self.findings if k not in
                                            self.store.pods]:
            self._schedule(key, delay=0.0)
