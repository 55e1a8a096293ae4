"""What one rule sees about one container: the pod, its status, its events, its log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crashwatch.diagnosis.budget import Budget
from crashwatch.diagnosis.evidence import shorten
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
#: Published evidence lines and summaries are at most this long (head and end kept).
EVIDENCE_LINE_CHARS = 300
SUMMARY_CHARS = 400


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
    def is_sidecar(self) -> bool:
        """A native sidecar: an init container with ``restartPolicy: Always``, which the
        kubelet starts before the containers and keeps running (and restarting) beside
        them."""
        return self.is_init and self.spec.get("restartPolicy") == "Always"

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
            summary = init_summary(summary, self.name, self.is_sidecar)
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
            details=({"initContainer": True, **({"sidecar": True} if self.is_sidecar else {}),
                      **details} if self.is_init else details),
        )


def clean_evidence(evidence: list[str]) -> tuple[str, ...]:
    """Evidence as published: each line redacted, then bounded to its head and its end
    (:func:`crashwatch.diagnosis.evidence.shorten`: a runtime's message says why last),
    duplicates dropped."""
    seen: list[str] = []
    for line in evidence:
        clean = shorten(redact(cap_line(line, MAX_REDACT_INPUT), limit=MAX_REDACT_INPUT),
                        EVIDENCE_LINE_CHARS)
        if clean and clean not in seen:
            seen.append(clean)
    return tuple(seen[:MAX_EVIDENCE])


def clean_summary(summary: str) -> str:
    return shorten(redact(cap_line(summary, MAX_REDACT_INPUT), limit=MAX_REDACT_INPUT),
                   SUMMARY_CHARS)


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


def init_summary(summary: str, name: str, sidecar: bool = False) -> str:
    """A summary about an init container says so: "Init container db-migrate ...", or
    "Sidecar container istio-proxy ..." for a native sidecar."""
    kind = "sidecar" if sidecar else "init"
    for said, instead in ((f"Container {name}", f"{kind.capitalize()} container {name}"),
                          (f"container {name}", f"{kind} container {name}")):
        if said in summary:
            return summary.replace(said, instead, 1)
    return f"{kind.capitalize()} container {name}: {summary}"


def event_line(ev: Event) -> str:
    """An Event as evidence: ``Warning Failed (x3): Error: ...``."""
    count = f" (x{ev.count})" if ev.count > 1 else ""
    return f"event {ev.type} {ev.reason}{count}: {ev.message}"


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
