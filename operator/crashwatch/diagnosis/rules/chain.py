"""Root causes across a chain of failures: an ``OOMAfterShrink`` whose workload was already
crashing for another reason before its memory was lowered says so (``details.precededBy``,
and the summary says to fix that first). The motivating incident: a Rails app crashed for a
missing ``SECRET_KEY_BASE``; an autoscaler, seeing a crashing app use little memory, shrank
it from 512Mi to 32Mi; then it was OOMKilled, and the OOM hid the first cause.

What came before is read from what the objects hold, newest first:

1. the workload's ``crashwatch.dev/history`` annotation and the reason crashwatch published
   on it (``crashwatch.dev/reason``, ``crashwatch.dev/since``): see
   :mod:`crashwatch.diagnosis.history`;
2. the Events crashwatch posted about the workload (their reason is the reason code);
3. findings on pods of the workload's older ReplicaSets still in the snapshot.

A record counts when its reason is not a memory one and it is older than the shrink (the
time the memory field was last written, when managedFields tell it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from crashwatch.diagnosis.context import clean_evidence, clean_summary
from crashwatch.diagnosis.history import read_history
from crashwatch.diagnosis.owners import owning_replicaset, revision, workload
from crashwatch.diagnosis.rules.memory import shrink_summary
from crashwatch.diagnosis.view import ClusterView, as_dict, as_str, meta, parse_time
from crashwatch.model import Finding, Reason

_NOT_A_PRIOR_CAUSE = frozenset({Reason.OOM_KILLED.value, Reason.OOM_AFTER_SHRINK.value,
                                Reason.ROLLOUT_REGRESSION.value, Reason.EVICTED.value})
#: Findings whose specifics name what to fix (shown next to the earlier reason).
_DETAIL_KEYS = ("variable", "host", "path", "command", "key", "name", "image")


def _shrink_time(view: ClusterView, f: Finding) -> float | None:
    changed = as_dict(f.details.get("changedBy"))
    t = parse_time(changed.get("time"))
    if t is not None:
        return t
    source = as_dict(f.details.get("lastHealthySource"))
    if source.get("kind") == "ReplicaSet" and f.pod:
        pod = next((p for p in view.pods if as_str(meta(p).get("name")) == f.pod
                    and as_str(meta(p).get("namespace")) == f.namespace), None)
        rs = owning_replicaset(view, pod) if pod is not None else None
        if rs is not None:
            return parse_time(meta(rs).get("creationTimestamp"))
    return None


def _from_records(view: ClusterView, f: Finding, before: float | None) -> dict[str, Any] | None:
    if f.owner is None:
        return None
    wl = workload(view, f.namespace, f.owner)
    records: list[tuple[float | None, dict[str, Any]]] = []
    for entry in read_history(wl):
        records.append((entry.time, {
            "reason": entry.reason, "since": entry.since, "revision": entry.revision or None,
            "source": f"annotation on {f.owner.kind} {f.owner.name}"}))
    for ev in view.own_events_for(f.namespace, f.owner.kind, f.owner.name):
        when = ev.first or ev.last
        records.append((when, {"reason": ev.reason, "since": None, "source":
                               f"crashwatch Event on {f.owner.kind} {f.owner.name}",
                               "message": ev.message[:200]}))
    usable = [(t, r) for t, r in records if r["reason"] not in _NOT_A_PRIOR_CAUSE
              and r["reason"].count(".") == 1 and (before is None or t is None or t <= before)]
    if not usable:
        return None
    return max(usable, key=lambda tr: tr[0] or 0.0)[1]


def _from_older_pods(view: ClusterView, f: Finding, findings: Iterable[Finding]
                     ) -> dict[str, Any] | None:
    """A pod of an older ReplicaSet of the same Deployment failing for another reason."""
    if f.owner is None or f.owner.kind != "Deployment":
        return None
    revisions = {as_str(meta(rs).get("name")): revision(rs)
                 for rs in view.replicasets_of(f.namespace, f.owner.name)}
    by_pod = {as_str(meta(p).get("name")): p for p in view.pods
              if as_str(meta(p).get("namespace")) == f.namespace}
    mine = by_pod.get(f.pod or "")
    mine_rs = owning_replicaset(view, mine) if mine is not None else None
    mine_rev = revision(mine_rs) if mine_rs is not None else None
    best: tuple[int, dict[str, Any]] | None = None
    for other in findings:
        if (other.owner != f.owner or other.pod in (None, f.pod)
                or other.reason.value in _NOT_A_PRIOR_CAUSE):
            continue
        pod = by_pod.get(other.pod or "")
        rs = owning_replicaset(view, pod) if pod is not None else None
        if rs is None:
            continue
        rev = revisions.get(as_str(meta(rs).get("name")), revision(rs))
        if mine_rev is not None and rev >= mine_rev:
            continue
        detail = next((str(other.details[k]) for k in _DETAIL_KEYS if other.details.get(k)), None)
        found = {"reason": other.reason.value, "revision": rev, "detail": detail,
                 "source": f"pod {other.pod} of ReplicaSet {as_str(meta(rs).get('name'))}"}
        if best is None or rev > best[0]:
            best = (rev, found)
    return best[1] if best else None


def link_causes(view: ClusterView, findings: list[Finding]) -> list[Finding]:
    """The findings, with each OOMAfterShrink that had an earlier cause saying so."""
    out = []
    for f in findings:
        if f.reason is Reason.OOM_AFTER_SHRINK and "precededBy" not in f.details:
            before = _shrink_time(view, f)
            preceded = _from_older_pods(view, f, findings) or _from_records(view, f, before)
            if preceded is not None:
                preceded = {k: v for k, v in preceded.items() if v is not None}
                details = {**f.details, "precededBy": preceded}
                line = (f"before the shrink: {preceded['reason']}"
                        + (f" ({preceded['detail']})" if preceded.get("detail") else "")
                        + f", from {preceded['source']}"
                        + (f" since {preceded['since']}" if preceded.get("since") else ""))
                f = dataclasses.replace(
                    f, details=details,
                    summary=clean_summary(shrink_summary(f.container or "?", details)),
                    evidence=clean_evidence([*f.evidence, line]))
        out.append(f)
    return out
