"""``crashwatch explain POD``: how the verdict on one pod was reached, from the engine's
trace (:mod:`crashwatch.diagnosis.trace`): the status and Events read, the log lines as the
rules read them, the rules in the order tried with what each concluded, the log lines that
could have explained it and why each lost, and what became of the findings afterwards."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from crashwatch.diagnosis.trace import (
    ContainerTrace,
    LogTrace,
    PodTrace,
    Step,
    Trace,
    WorkloadStep,
)
from crashwatch.model import Finding

#: A log this long or shorter is shown whole; a longer one around what the rules found.
SHOWN_LINES = 60
_CONTEXT = 2
_LAST = 8


def _when(now: float | None) -> str:
    if now is None:
        return "no timestamps to judge by"
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(trace: Trace, namespace: str, pod: str, source: str, now: float | None,
           notes: Sequence[str] = ()) -> str:
    pt = trace.pods.get((namespace, pod))
    out: list[str] = []
    if pt is None:  # pragma: no cover - the caller checked the pod exists
        return f"Pod {namespace}/{pod} was not looked at."
    owner = f" ({pt.owner})" if pt.owner else ""
    out.append(f"Pod {namespace}/{pod}{owner}")
    out.append(f"  read from {source}, judged at {_when(now)}")
    out += _section("Pod status", pt.status)
    out += _section("Events read, oldest first", pt.events or ["(none)"])
    if pt.steps:
        out.append("")
        out.append("Pod-level rules, in the order tried")
        out += _steps(pt.steps, "  ")
    for ct in pt.containers:
        out += _container(ct)
    if pt.after:
        out += _section("Afterwards", [f"- {x}" for x in pt.after])
    out += _workloads(trace.workloads, pt)
    out.append("")
    out.append("Verdict")
    if not pt.findings:
        out.append("  no finding: this pod is not failing in a way crashwatch knows.")
    for f in pt.findings:
        out += _finding(f, "  ")
    others = [f for f in trace.findings if f.pod is None and pt.owner is not None
              and f.owner is not None and f"{f.owner.kind}/{f.owner.name}" == pt.owner
              and f.namespace == namespace]
    for f in others:
        out.append(f"  about its workload {pt.owner}:")
        out += _finding(f, "    ")
    for note in notes:
        out.append(f"Note: {note}")
    return "\n".join(out)


def to_json(trace: Trace, namespace: str, pod: str, now: float | None,
            notes: Sequence[str] = ()) -> str:
    pt = trace.pods.get((namespace, pod))
    workloads = [w.to_dict() for w in _owner_steps(trace.workloads, pt)] if pt else []
    return json.dumps({"pod": pt.to_dict() if pt else None, "workloads": workloads,
                       "judgedAt": _when(now) if now is not None else None,
                       "notes": list(notes)}, indent=2)


def _section(title: str, lines: Sequence[str]) -> list[str]:
    return ["", title, *(f"  {line}" for line in lines)]


def _steps(steps: Sequence[Step], indent: str) -> list[str]:
    return [f"{indent}{'*' if s.decided else '-'} {s.rule}: {s.outcome}" for s in steps]


def _container(ct: ContainerTrace) -> list[str]:
    kind = "Init container" if ct.init else "Container"
    out = ["", f"{kind} {ct.name}", "  status read"]
    out += [f"    {line}" for line in ct.status]
    if ct.log_given is not None:
        out.append(f"  log: {ct.log_given}")
    if ct.log is not None and ct.log.lines:
        out += _log(ct.log)
    if ct.steps:
        out.append("  rules, in the order tried (* decided)")
        out += _steps(ct.steps, "    ")
    if ct.log is not None and ct.log.candidates:
        out.append("  log lines that could explain it, best first (* chosen)")
        for c in ct.log.candidates:
            named = ", ".join(f"{k}={v}" for k, v in sorted(c.groups.items()))
            out.append(f"    {'*' if c.chosen else '-'} line {c.line + 1}: {c.reason} by "
                       f"{c.layer} rule {c.rule}, score {c.score}"
                       + (f" ({named})" if named else "") + f": {c.verdict}")
    elif ct.log is not None and ct.log.lines:
        out.append("  no log line is explained by the signature catalogue or the generic "
                   "layer" + (f"; most telling: {ct.log.telling[0]!r}" if ct.log.telling
                              else ""))
    if ct.log is not None and ct.log.stopped:
        out.append(f"  the time budget ran out before {ct.log.stopped}")
    return out


def _log(log: LogTrace) -> list[str]:
    total = len(log.lines)
    chosen = {c.line for c in log.candidates if c.chosen}
    marked = {c.line for c in log.candidates}
    if total <= SHOWN_LINES:
        shown = set(range(total))
    else:
        shown = set(range(total - _LAST, total))
        for i in marked:
            shown.update(range(max(0, i - _CONTEXT), min(total, i + _CONTEXT + 1)))
    out = [f"  the log as the rules read it ({total} lines after normalisation; "
           "* the chosen line, + another line a rule explains, . a line no rule may "
           "explain: info or debug, a stack frame)"]
    width = len(str(total))
    last = -1
    for i in sorted(shown):
        if i != last + 1:
            out.append(f"    {'':>{width}}   ... {i - last - 1} line(s)")
        line = log.lines[i]
        mark = "*" if i in chosen else "+" if i in marked else " " if line.considered else "."
        level = "" if line.level == "unknown" else f"[{line.level}] "
        out.append(f"    {i + 1:>{width}} {mark} {level}{line.text}")
        last = i
    return out


def _owner_steps(steps: Sequence[WorkloadStep], pt: PodTrace | None) -> list[WorkloadStep]:
    if pt is None or pt.owner is None:
        return []
    return [w for w in steps if w.namespace == pt.namespace and f"{w.kind}/{w.name}" ==
            pt.owner]


def _workloads(steps: Sequence[WorkloadStep], pt: PodTrace) -> list[str]:
    mine = _owner_steps(steps, pt)
    if not mine:
        return []
    return ["", f"Workload {pt.owner}", *_steps([w.step for w in mine], "  ")]


def _finding(f: Finding, indent: str) -> list[str]:
    where = f"container {f.container}" if f.container else "the pod" if f.pod else "workload"
    out = [f"{indent}{f.reason.value} ({f.confidence.value} confidence), {where}: {f.summary}"]
    out += [f"{indent}  evidence: {line}" for line in f.evidence]
    if f.remediation:
        out.append(f"{indent}  remediation: {json.dumps(f.remediation, sort_keys=True)}")
    return out
