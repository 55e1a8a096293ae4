"""What one rule sees about one container: the pod, its status, its events, its log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crashwatch.diagnosis.budget import Budget
from crashwatch.diagnosis.logread import cap_line
from crashwatch.diagnosis.owners import container_spec
from crashwatch.diagnosis.trace import ContainerTrace
from crashwatch.diagnosis.view import ClusterView, Event, Obj, as_dict, as_int, as_str, as_text
from crashwatch.model import Confidence, Finding, OwnerRef, Reason
from crashwatch.redact import redact

#: A container whose last crash is older than this, and that runs and is ready,
#: is healthy again (the kubelet resets its back-off after 10 minutes too).
RECENT_CRASH_SECONDS = 600.0
#: Events older than this (from the snapshot's time) are history, not evidence.
EVENT_WINDOW_SECONDS = 3600.0
MAX_EVIDENCE = 10
#: Longest text handed to redaction: evidence is cut to 300 characters anyway, and what
#: redaction reads must stay small whatever a log holds.
MAX_REDACT_INPUT = 1024


@dataclass(slots=True)
class ContainerContext:
    view: ClusterView
    pod: Obj
    owner: OwnerRef | None
    name: str
    is_init: bool
    status: Mapping[str, Any]
    log: str = ""
    events: list[Event] = field(default_factory=list)
    """Events about this pod: this container's and the pod-wide ones, oldest first."""
    budget: Budget = field(default_factory=Budget.unlimited)
    """The time this container's diagnosis may take (checked between steps)."""
    trace: ContainerTrace | None = None
    """Where the rules record how they decided (``crashwatch explain``); None: nowhere,
    and nothing is built for it."""

    @property
    def namespace(self) -> str:
        return as_str(as_dict(self.pod.get("metadata")).get("namespace"))

    @property
    def pod_name(self) -> str:
        return as_str(as_dict(self.pod.get("metadata")).get("name"))

    @property
    def pod_spec(self) -> Mapping[str, Any]:
        return as_dict(self.pod.get("spec"))

    @property
    def spec(self) -> Mapping[str, Any]:
        return container_spec(self.pod_spec, self.name)

    @property
    def state(self) -> Mapping[str, Any]:
        return as_dict(self.status.get("state"))

    @property
    def last_state(self) -> Mapping[str, Any]:
        return as_dict(self.status.get("lastState"))

    @property
    def restarts(self) -> int:
        return as_int(self.status.get("restartCount"))

    @property
    def field_path(self) -> str:
        return f"spec.{'initContainers' if self.is_init else 'containers'}{{{self.name}}}"

    def container_events(self, *reasons: str) -> list[Event]:
        """This container's recent events with one of the reasons, oldest first."""
        return [
            ev
            for ev in self.events
            if ev.container == self.name
            and (not reasons or ev.reason in reasons)
            and self.view.is_recent(ev.last, EVENT_WINDOW_SECONDS)
        ]

    def pod_events(self, *reasons: str) -> list[Event]:
        """Recent pod-wide events (no container in ``fieldPath``) with one of the reasons."""
        return [
            ev
            for ev in self.events
            if ev.container is None
            and (not reasons or ev.reason in reasons)
            and self.view.is_recent(ev.last, EVENT_WINDOW_SECONDS)
        ]

    def finding(
        self,
        reason: Reason,
        summary: str,
        evidence: list[str],
        *,
        remediation: dict[str, Any] | None = None,
        confidence: Confidence = Confidence.HIGH,
        details: dict[str, Any] | None = None,
        container: str | bool | None = True,
    ) -> Finding:
        """Build a finding about this container (``container=False``: about the pod)."""
        details = dict(details or {})
        if self.budget.spent_at is not None:
            details["timeBudget"] = f"spent before {self.budget.spent_at}"
            confidence = Confidence.LOW
        if self.is_init:
            summary = init_summary(summary, self.name)
        return Finding(
            namespace=self.namespace,
            pod=self.pod_name,
            container=self.name if container is True else None,
            owner=self.owner,
            reason=reason,
            summary=clean_summary(summary),
            evidence=clean_evidence(evidence),
            remediation=remediation,
            confidence=confidence,
            details={"initContainer": True, **details} if self.is_init else details,
        )


def clean_evidence(evidence: list[str]) -> tuple[str, ...]:
    """Evidence as published: each line bounded and redacted, duplicates dropped."""
    seen: list[str] = []
    for line in evidence:
        clean = redact(cap_line(line, MAX_REDACT_INPUT))
        if clean and clean not in seen:
            seen.append(clean)
    return tuple(seen[:MAX_EVIDENCE])


def clean_summary(summary: str) -> str:
    return redact(cap_line(summary, MAX_REDACT_INPUT), limit=400)


def pod_finding(
    pod: Obj,
    owner: OwnerRef | None,
    reason: Reason,
    summary: str,
    evidence: list[str],
    *,
    remediation: dict[str, Any] | None = None,
    confidence: Confidence = Confidence.HIGH,
    details: dict[str, Any] | None = None,
) -> Finding:
    """A finding about a whole pod (``container`` null): eviction, scheduling, volumes."""
    md = as_dict(pod.get("metadata"))
    return Finding(
        namespace=as_str(md.get("namespace")),
        pod=as_str(md.get("name")),
        container=None,
        owner=owner,
        reason=reason,
        summary=clean_summary(summary),
        evidence=clean_evidence(evidence),
        remediation=remediation,
        confidence=confidence,
        details=details or {},
    )


def init_summary(summary: str, name: str) -> str:
    """A summary about an init container says so: "Init container db-migrate ..."."""
    for said, instead in ((f"Container {name}", f"Init container {name}"),
                          (f"container {name}", f"init container {name}")):
        if said in summary:
            return summary.replace(said, instead, 1)
    return f"Init container {name}: {summary}"


def event_line(ev: Event) -> str:
    """An Event as evidence: ``Warning Failed (x3): Error: ...``."""
    count = f" (x{ev.count})" if ev.count > 1 else ""
    return f"event {ev.type} {ev.reason}{count}: {ev.message}"


#: Evidence lines are cut at this length when published (crashwatch.redact).
EVIDENCE_LINE_CHARS = 300
_TAIL_CHARS = 160


def event_lines(ev: Event) -> list[str]:
    """An Event as evidence; a message too long for one evidence line also gets its end
    as a line of its own (a kubelet message says what failed last: ``... exit status 32``)."""
    line = event_line(ev)
    if len(line) <= EVIDENCE_LINE_CHARS:
        return [line]
    return [line, f"event {ev.reason} message ends: ...{ev.message[-_TAIL_CHARS:]}"]


def terminated_line(term: Mapping[str, Any], restarts: int | None = None) -> str:
    parts = [f"terminated: reason={as_str(term.get('reason')) or '?'}"]
    if "exitCode" in term:
        parts.append(f"exitCode={as_int(term.get('exitCode'))}")
    if term.get("signal"):
        parts.append(f"signal={as_int(term.get('signal'))}")
    if term.get("finishedAt"):
        parts.append(f"finishedAt={as_str(term.get('finishedAt'))}")
    if restarts is not None:
        parts.append(f"restartCount={restarts}")
    message = as_text(term.get("message")).strip()
    line = " ".join(parts)
    if message:
        first = message.splitlines()[-1] if "\n" in message else message
        line += f" message={first!r}"
    return line


def waiting_line(waiting: Mapping[str, Any]) -> str:
    msg = as_text(waiting.get("message"))
    return f"waiting: {as_str(waiting.get('reason'))}" + (f": {msg}" if msg else "")
