"""Level-triggered publishing: what each object should say, compared with what it says.

The watchdog computes, for every object crashwatch writes to (a failing pod, its top owner),
the *notice* it should carry: the ``crashwatch.dev/*`` annotations and the Events behind
them. The publisher compares that with what was last written (or, for an object crashwatch
has not written to since it started, with the annotations the object carries) and writes
only the difference, in the manner of a controller-runtime reconciler:

- one write sequence in flight per object; a notice that changes meanwhile is written once
  the current write has landed, and only its latest version (bursts coalesce);
- nothing is written when only noise changed: a notice's identity is its reason and its
  summary with the numbers masked, so "HTTP 503" turning into "HTTP 500" is not worth a
  write; the new wording is written at most once per ``refresh_seconds``;
- an Event is posted once per object, reason and episode (a reason that appears), never
  again for the same episode after a restart of crashwatch (the object's annotations say it
  was published);
- a failed write keeps the object dirty and is retried with backoff; what was written is
  recorded only once the write landed;
- a deleted object is forgotten without a write; clearing writes wait until the caller says
  the cluster has been read in full (an owner seen before its pods must not be cleared).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import structlog

from crashwatch.diagnosis.history import HISTORY_ANNOTATION, history_value
from crashwatch.metrics import Metrics
from crashwatch.redact import redact
from crashwatch.settings import PublishSettings

log = structlog.get_logger("crashwatch.publish")

ANN_REASON = "crashwatch.dev/reason"
ANN_SUMMARY = "crashwatch.dev/summary"
ANN_EVIDENCE = "crashwatch.dev/evidence"
ANN_SINCE = "crashwatch.dev/since"
ANNOTATIONS = (ANN_REASON, ANN_SUMMARY, ANN_EVIDENCE, ANN_SINCE)
MAX_SUMMARY = 512
MAX_EVENT_MESSAGE = 1024

TargetKey = tuple[str, str, str]  # kind, namespace, name


class Writer(Protocol):
    async def annotate(self, kind: str, namespace: str, name: str,
                       annotations: Mapping[str, str | None]) -> bool: ...

    async def post_event(self, kind: str, namespace: str, name: str, uid: str,
                         reason: str, message: str, type_: str = "Warning") -> bool: ...


_NUMBER = re.compile(r"\d+")


def identity(reason: str, summary: str) -> str:
    """What decides whether a notice is worth a write: the reason and the summary with its
    numbers masked (exit codes, status codes, counts and sizes move without news)."""
    return f"{reason}\x00{_NUMBER.sub('#', summary)}"


def rfc3339(t: float) -> str:
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


@dataclass(frozen=True, slots=True)
class Notice:
    """What one object should say."""

    reason: str
    summary: str
    evidence: tuple[str, ...]
    events: tuple[tuple[str, str], ...]
    """(reason, message): one Warning Event per reason on this object."""
    history: str | None = None
    """A workload's ``crashwatch.dev/history`` as it is (None: keep none, as for a pod): a
    new reason written to it is appended there too."""
    revision: str = ""
    """The workload's revision, recorded with a new reason in its history."""

    @property
    def ident(self) -> str:
        return identity(self.reason, self.summary)


@dataclass(slots=True)
class Said:
    """What one object was last made to say (or was found saying)."""

    reason: str
    summary: str
    since: str
    events: frozenset[str]
    written: float

    @property
    def ident(self) -> str:
        return identity(self.reason, self.summary)


@dataclass(slots=True)
class Target:
    kind: str
    namespace: str
    name: str
    uid: str = ""
    want: Notice | None = None
    said: Said | None = None
    changed_at: float | None = None
    """When the watch event that changed ``want`` arrived (for the delay histogram)."""
    decided: bool = False
    """``want`` comes from a diagnosis (not only from what the object was seen saying):
    nothing is cleared before."""
    busy: bool = False
    failures: int = 0
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)
    """A retry's backoff: nothing is written before it fires."""
    refresh: asyncio.TimerHandle | None = field(default=None, repr=False)
    """A look again once a reworded notice may be written: news does not wait for it."""

    @property
    def key(self) -> TargetKey:
        return (self.kind, self.namespace, self.name)


class Publisher:
    def __init__(self, writer: Writer, settings: PublishSettings, metrics: Metrics,
                 clock: Callable[[], float] = time.time,
                 may_clear: Callable[[], bool] = lambda: True,
                 may_write: Callable[[], bool] = lambda: True,
                 refresh_seconds: float = 300.0,
                 cleared: Callable[[TargetKey], None] = lambda key: None) -> None:
        self.writer = writer
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self.may_clear = may_clear
        self.may_write = may_write
        self.cleared = cleared
        """Told when an object says nothing any more (its clear landed)."""
        self.refresh_seconds = refresh_seconds
        self.targets: dict[TargetKey, Target] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- what the watchdog says -----------------------------------------------------------
    def observe(self, kind: str, namespace: str, name: str, uid: str,
                annotations: Mapping[str, str]) -> None:
        """The object as the watch shows it. While crashwatch writes, its own record of what
        it wrote is newer than the watch; otherwise (at a start, on a standby replica) what
        the object carries is what it was last made to say."""
        key = (kind, namespace, name)
        target = self.targets.get(key)
        if target is not None and uid and target.uid and uid != target.uid:
            self.forget(kind, namespace, name)  # a namesake: start afresh
            target = None
        writing = self.may_write()
        if target is not None and writing and (target.said is not None or target.busy):
            return
        reason = annotations.get(ANN_REASON)
        if not reason:
            if target is not None and not writing:
                target.said = None
            return
        target = target or self._target(kind, namespace, name, uid)
        target.said = Said(reason, annotations.get(ANN_SUMMARY, ""),
                           annotations.get(ANN_SINCE, "") or rfc3339(self.clock()),
                           frozenset({reason}), self.clock())
        if target.decided:
            self._kick(target)

    def want(self, kind: str, namespace: str, name: str, uid: str, notice: Notice | None,
             changed_at: float | None = None) -> None:
        """The object should say ``notice`` (None: nothing)."""
        key = (kind, namespace, name)
        target = self.targets.get(key)
        if target is None:
            if notice is None:
                return
            target = self._target(kind, namespace, name, uid)
        if uid:
            target.uid = uid
        before = target.want
        target.want = notice
        target.decided = True
        if (before.ident if before else None) != (notice.ident if notice else None):
            target.changed_at = changed_at if target.changed_at is None else min(
                target.changed_at, changed_at or target.changed_at)
        self._kick(target)

    def forget(self, kind: str, namespace: str, name: str) -> None:
        """The object is gone: nothing to clean, nothing to say."""
        target = self.targets.pop((kind, namespace, name), None)
        for handle in (target.timer, target.refresh) if target is not None else ():
            if handle is not None:
                handle.cancel()
        if target is not None:
            target.want = None
            target.said = None

    def kick_all(self) -> None:
        """Try again whatever is not settled (a clear that was waiting, a retry)."""
        for target in list(self.targets.values()):
            self._kick(target)

    def busy(self) -> bool:
        return bool(self._tasks)

    async def idle(self) -> None:
        """Wait until no write is in flight (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- the loop per object -----------------------------------------------------------------
    def _target(self, kind: str, namespace: str, name: str, uid: str) -> Target:
        target = Target(kind, namespace, name, uid)
        self.targets[target.key] = target
        return target

    def _settled(self, target: Target) -> bool:
        want, said = target.want, target.said
        if want is None:
            return said is None
        if said is None or said.ident != want.ident:
            return False
        if not {r for r, _ in want.events} <= said.events:
            return False
        return not self._refresh_due(want, said)

    def _refresh_due(self, want: Notice, said: Said) -> bool:
        return (want.summary != said.summary
                and self.clock() - said.written >= self.refresh_seconds)

    def _kick(self, target: Target) -> None:
        if target.busy or target.timer is not None:
            return
        if target.refresh is not None:
            target.refresh.cancel()
            target.refresh = None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        target.busy = True
        task = loop.create_task(self._sync(target))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _later(self, target: Target, delay: float, *, refresh: bool = False) -> None:
        def fire() -> None:
            if refresh:
                target.refresh = None
            else:
                target.timer = None
            if self.targets.get(target.key) is target:
                self._kick(target)
        handle = asyncio.get_running_loop().call_later(delay, fire)
        if refresh:
            target.refresh = handle
        else:
            target.timer = handle

    async def _sync(self, target: Target) -> None:
        try:
            while self.targets.get(target.key) is target and not self._settled(target):
                want = target.want
                if not self.may_write() or not target.decided or (
                        want is None and not self.may_clear()):
                    return  # kicked again once leading, diagnosed, or the cluster read
                ok = await (self._clear(target) if want is None else self._say(target, want))
                if not ok:
                    target.failures += 1
                    self.metrics.handler_errors.labels("publish").inc()
                    self._later(target, min(0.5 * 2 ** min(target.failures, 7), 60.0))
                    return
                target.failures = 0
            if self.targets.get(target.key) is target:
                self._refresh(target)
                if target.want is None and target.said is None:
                    del self.targets[target.key]
                    self.cleared(target.key)
        finally:
            target.busy = False

    def _refresh(self, target: Target) -> None:
        """The same notice in other words (other numbers): written again, but at most once
        per ``refresh_seconds``."""
        want, said = target.want, target.said
        if want is not None and said is not None and want.summary != said.summary:
            self._later(target, max(said.written + self.refresh_seconds - self.clock(), 0.0),
                        refresh=True)

    async def _clear(self, target: Target) -> bool:
        said = target.said
        if said is not None and self._annotating(target) and not await self.writer.annotate(
                target.kind, target.namespace, target.name, dict.fromkeys(ANNOTATIONS)):
            return False
        target.said = None
        if said is not None:
            log.info("recovered", kind=target.kind, namespace=target.namespace,
                     name=target.name, reason=said.reason)
        return True

    def _annotating(self, target: Target) -> bool:
        if not self.settings.annotations:
            return False
        return target.kind == "Pod" or self.settings.owner_annotations

    async def _say(self, target: Target, want: Notice) -> bool:
        said = target.said
        if said is None or said.ident != want.ident or self._refresh_due(want, said):
            since = said.since if said is not None and said.reason == want.reason else (
                rfc3339(self.clock()))
            annotations = {
                ANN_REASON: want.reason,
                ANN_SUMMARY: redact(want.summary, limit=MAX_SUMMARY),
                ANN_EVIDENCE: evidence_annotation(want.evidence,
                                                  self.settings.max_evidence_bytes),
                ANN_SINCE: since,
            }
            if want.history is not None:
                annotations[HISTORY_ANNOTATION] = history_value(
                    want.history or None, want.reason, since, want.revision)
            if self._annotating(target) and not await self.writer.annotate(
                    target.kind, target.namespace, target.name, annotations):
                return False
            new = said is None or said.ident != want.ident
            events = said.events if said is not None and said.reason == want.reason else (
                frozenset())
            target.said = said = Said(want.reason, want.summary, since, events, self.clock())
            if new:
                log.info("diagnosed", kind=target.kind, namespace=target.namespace,
                         name=target.name, reason=want.reason, summary=want.summary)
                if target.changed_at is not None and target.kind == "Pod":
                    self.metrics.delay.observe(max(self.clock() - target.changed_at, 0.0))
                target.changed_at = None
        for reason, message in want.events:
            if reason in said.events:
                continue
            if self.settings.events and not await self.writer.post_event(
                    target.kind, target.namespace, target.name, target.uid, reason,
                    redact(message, limit=MAX_EVENT_MESSAGE)):
                return False
            said.events = said.events | {reason}
        return True
