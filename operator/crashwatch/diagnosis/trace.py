"""How a verdict was reached: an optional recorder the engine writes to as it decides
(``crashwatch explain``).

Off by default and free when off: :func:`crashwatch.diagnosis.diagnose` takes a
:class:`Trace` as a parameter (nothing global); every place that records first checks that
a recorder was given, and builds its text only then. A recorder never changes a finding.

What is recorded, per pod the recorder asks for (``Trace(pods=...)``):

* the pod's status and the Events read about it (``PodTrace``);
* per container, its status as read, the path through the rules in the order the engine
  tries them, each with its outcome (``Step``: a rule that did not apply and why, or the
  one that decided), and, when a log was read, the lines after normalisation with every
  line the signature catalogue or the generic layer could explain (``LogTrace``), ranked,
  the winner marked and why each other one lost;
* what happened to a pod's findings afterwards (folded into a failed Job's, linked to an
  earlier cause, the workload judged a rollout regression or not: ``PodTrace.after`` and
  ``Trace.workloads``);
* the final findings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crashwatch.model import Finding


@dataclass(slots=True)
class Step:
    """One rule tried: what it concluded."""

    rule: str
    outcome: str
    decided: bool = False
    """This rule's finding is the container's (or pod's) verdict."""

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "outcome": self.outcome, "decided": self.decided}


@dataclass(slots=True)
class LogCandidate:
    """A log line a catalogue signature or a generic rule could explain."""

    line: int
    """Index into :attr:`LogTrace.lines`."""
    reason: str
    rule: str
    layer: str
    """``catalogue`` or ``generic``."""
    score: int
    """How telling the line is (severity, root cause of a crash report, nearness to the
    end), plus the catalogue's bonus."""
    groups: dict[str, str] = field(default_factory=dict)
    chosen: bool = False
    verdict: str = ""
    """Why it won, or why it lost to the winner."""

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason, "rule": self.rule,
                "layer": self.layer, "score": self.score, "groups": self.groups,
                "chosen": self.chosen, "verdict": self.verdict}


@dataclass(slots=True)
class LogLineTrace:
    level: str
    text: str
    considered: bool
    """False for lines no rule may explain: info/debug records, stack frames."""

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "text": self.text, "considered": self.considered}


@dataclass(slots=True)
class LogTrace:
    """A log as the engine read it: bounded, normalised, its candidates ranked."""

    chars: int = 0
    """Characters handed to the reading (the bounded tail, plus a termination message)."""
    lines: list[LogLineTrace] = field(default_factory=list)
    candidates: list[LogCandidate] = field(default_factory=list)
    telling: list[str] = field(default_factory=list)
    """The most telling lines, for an application error (when nothing explained the log)."""
    stopped: str | None = None
    """The step at which the time budget ran out, if it did."""

    def to_dict(self) -> dict[str, Any]:
        return {"chars": self.chars, "lines": [x.to_dict() for x in self.lines],
                "candidates": [c.to_dict() for c in self.candidates],
                "telling": self.telling, "stopped": self.stopped}


@dataclass(slots=True)
class ContainerTrace:
    name: str
    init: bool
    status: list[str] = field(default_factory=list)
    """The container status as read: state, last state, restarts, readiness."""
    log_given: str | None = None
    """What the log source gave (None: no log was asked for)."""
    log: LogTrace | None = None
    steps: list[Step] = field(default_factory=list)
    finding: Finding | None = None

    def step(self, rule: str, outcome: str, decided: bool = False) -> None:
        self.steps.append(Step(rule, outcome, decided))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "init": self.init, "status": self.status,
                "logGiven": self.log_given, "log": self.log.to_dict() if self.log else None,
                "steps": [s.to_dict() for s in self.steps],
                "finding": self.finding.to_dict() if self.finding else None}


@dataclass(slots=True)
class PodTrace:
    namespace: str
    name: str
    owner: str | None = None
    status: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    """Every Event read about the pod, oldest first, each marked when it is too old to count."""
    steps: list[Step] = field(default_factory=list)
    containers: list[ContainerTrace] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    """What became of its findings after the per-pod rules."""
    findings: list[Finding] = field(default_factory=list)

    def step(self, rule: str, outcome: str, decided: bool = False) -> None:
        self.steps.append(Step(rule, outcome, decided))

    def container(self, name: str, init: bool) -> ContainerTrace:
        found = ContainerTrace(name, init)
        self.containers.append(found)
        return found

    def to_dict(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "name": self.name, "owner": self.owner,
                "status": self.status, "events": self.events,
                "steps": [s.to_dict() for s in self.steps],
                "containers": [c.to_dict() for c in self.containers],
                "after": self.after, "findings": [f.to_dict() for f in self.findings]}


@dataclass(slots=True)
class WorkloadStep:
    namespace: str
    kind: str
    name: str
    step: Step

    def to_dict(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "kind": self.kind, "name": self.name,
                **self.step.to_dict()}


class Trace:
    """The recorder handed to :func:`crashwatch.diagnosis.diagnose`. ``pods`` chooses the
    pods recorded (``(namespace, name) -> bool``; default: every pod looked at)."""

    def __init__(self, pods: Callable[[str, str], bool] | None = None) -> None:
        self._wanted = pods
        self.pods: dict[tuple[str, str], PodTrace] = {}
        self.workloads: list[WorkloadStep] = []
        self.findings: list[Finding] = []

    def pod(self, namespace: str, name: str) -> PodTrace | None:
        """The record of one pod, started on first ask; None for a pod not wanted."""
        key = (namespace, name)
        found = self.pods.get(key)
        if found is None:
            if self._wanted is not None and not self._wanted(namespace, name):
                return None
            found = self.pods[key] = PodTrace(namespace, name)
        return found

    def after(self, namespace: str, pod: str | None, what: str) -> None:
        """Something that happened to a recorded pod's findings after its own rules."""
        found = self.pods.get((namespace, pod)) if pod else None
        if found is not None:
            found.after.append(what)

    def workload(self, namespace: str, kind: str, name: str, rule: str, outcome: str,
                 decided: bool = False) -> None:
        self.workloads.append(WorkloadStep(namespace, kind, name, Step(rule, outcome, decided)))

    def finish(self, findings: list[Finding]) -> None:
        """The final findings, given to each pod and container they are about."""
        self.findings = list(findings)
        for pt in self.pods.values():
            pt.findings = [f for f in findings
                           if f.namespace == pt.namespace and f.pod == pt.name]
            for ct in pt.containers:
                ct.finding = next((f for f in pt.findings if f.container == ct.name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"pods": [p.to_dict() for p in self.pods.values()],
                "workloads": [w.to_dict() for w in self.workloads],
                "findings": [f.to_dict() for f in self.findings]}
