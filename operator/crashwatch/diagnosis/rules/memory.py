"""OOM kills, and the autoscaler feedback loop: memory lowered below what the workload
needed when it was last healthy, so every start is killed, so it looks idle, so it is
lowered again.

"Last healthy" comes from, in order: a last-known-good that crashwatch recorded on the
workload, an earlier ReplicaSet revision, the pod template a VPA rewrote the pod from,
and a sibling pod of the same workload that runs with more.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crashwatch.diagnosis.context import ContainerContext, terminated_line
from crashwatch.diagnosis.history import ChangedBy, changed_by
from crashwatch.diagnosis.owners import (
    container_spec,
    owning_replicaset,
    pod_template,
    revision,
    revisions,
    workload,
)
from crashwatch.diagnosis.view import as_dict, as_list, as_str, controller_ref, meta
from crashwatch.model import Confidence, Finding, Reason
from crashwatch.quantity import parse_quantity

#: Annotation on a workload where crashwatch records the resources it ran healthy with:
#: ``{"revision": "3", "containers": {"app": {"limits": {"memory": "512Mi"}}}}``.
LAST_HEALTHY_ANNOTATION = "crashwatch.dev/last-healthy-resources"
VPA_UPDATES_ANNOTATION = "vpaUpdates"

_FIELDS = (("limit", "limits"), ("request", "requests"))


@dataclass(frozen=True, slots=True)
class MemoryRef:
    """A memory setting the workload was healthy with, and where that is known from."""

    field: str  # "limit" or "request"
    value: str | None
    """None: the workload ran with no limit at all."""
    source: str
    ref: dict[str, Any]


def memory_of(container: Mapping[str, Any]) -> dict[str, str]:
    res = as_dict(container.get("resources"))
    out = {}
    for short, long in _FIELDS:
        value = as_dict(res.get(long)).get("memory")
        if parse_quantity(value) is not None:
            out[short] = str(value)
    return out


def _higher(current: Mapping[str, str], other: Mapping[str, str]) -> tuple[str, str] | None:
    """(field, value) where ``other`` is higher than ``current`` (limit preferred)."""
    for short, _ in _FIELDS:
        if short in current and short in other:
            cur, old = parse_quantity(current[short]), parse_quantity(other[short])
            if cur is not None and old is not None and old > cur:
                return short, other[short]
            return None
    return None


def _differs(current: Mapping[str, str], other: Mapping[str, str]) -> bool:
    return any(
        short in current and short in other
        and parse_quantity(current[short]) != parse_quantity(other[short])
        for short, _ in _FIELDS
    )


def last_healthy_record(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The last-known-good crashwatch recorded on a workload (empty if none or unreadable)."""
    raw = as_dict(meta(obj or {}).get("annotations")).get(LAST_HEALTHY_ANNOTATION)
    if not isinstance(raw, str):
        return {}
    try:
        return as_dict(json.loads(raw))
    except ValueError:
        return {}


def _from_annotation(ctx: ContainerContext, current: Mapping[str, str]) -> MemoryRef | None:
    record = last_healthy_record(workload(ctx.view, ctx.namespace, ctx.owner))
    if not record:
        return None
    cont = as_dict(as_dict(record.get("containers")).get(ctx.name))
    higher = _higher(current, memory_of({"resources": cont}))
    if higher is None:
        return None
    rev = as_str(record.get("revision"))
    where = f"recorded last-known-good on {ctx.owner.kind if ctx.owner else '?'}"
    return MemoryRef(
        higher[0], higher[1], where + (f" (revision {rev})" if rev else ""),
        {"kind": "annotation", "name": LAST_HEALTHY_ANNOTATION, "revision": rev or None},
    )


def _from_revisions(ctx: ContainerContext, current: Mapping[str, str]) -> MemoryRef | None:
    rs = owning_replicaset(ctx.view, ctx.pod)
    if rs is None or ctx.owner is None or ctx.owner.kind != "Deployment":
        return None
    mine = revision(rs)
    # A ReplicaSet the controller reused for a later revision (a floor or a rollback back to
    # an earlier template) was also an earlier revision: its history says which.
    older: list[tuple[int, Mapping[str, Any]]] = []
    for r in ctx.view.replicasets_of(ctx.namespace, ctx.owner.name):
        before = [n for n in revisions(r) if n < mine]
        if before and meta(r).get("name") != meta(rs).get("name"):
            older.append((max(before), r))
    for rev, old in sorted(older, key=lambda pair: pair[0], reverse=True):
        old_spec = container_spec(pod_template(old), ctx.name)
        old_mem = memory_of(old_spec)
        name = as_str(meta(old).get("name"))
        where = (f"ReplicaSet {name} (revision {rev})",
                 {"kind": "ReplicaSet", "name": name, "revision": rev})
        if old_spec and "limit" in current and "limit" not in old_mem:
            # No limit before, one now: the limit is new, and a shrink from unlimited.
            return MemoryRef("limit", None, *where)
        if not _differs(current, old_mem):
            continue
        higher = _higher(current, old_mem)
        if higher is None:
            return None
        return MemoryRef(higher[0], higher[1], *where)
    return None


def _template_of_pod(ctx: ContainerContext) -> tuple[Mapping[str, Any], str] | None:
    rs = owning_replicaset(ctx.view, ctx.pod)
    if rs is not None:
        return pod_template(rs), f"ReplicaSet {as_str(meta(rs).get('name'))}"
    wl = workload(ctx.view, ctx.namespace, ctx.owner)
    if wl is not None and ctx.owner is not None:
        return pod_template(wl), f"{ctx.owner.kind} {ctx.owner.name}"
    return None


def _vpas(ctx: ContainerContext) -> list[Mapping[str, Any]]:
    if ctx.owner is None:
        return []
    return list(ctx.view.vpas_for(ctx.namespace, ctx.owner.kind, ctx.owner.name))


def _from_vpa_rewrite(ctx: ContainerContext, current: Mapping[str, str]) -> MemoryRef | None:
    updated = as_str(as_dict(meta(ctx.pod).get("annotations")).get(VPA_UPDATES_ANNOTATION))
    if not updated and not _vpas(ctx):
        return None
    found = _template_of_pod(ctx)
    if found is None:
        return None
    template, where = found
    higher = _higher(current, memory_of(container_spec(template, ctx.name)))
    if higher is None:
        return None
    return MemoryRef(
        higher[0], higher[1], f"pod template of {where}, before the VPA lowered the pod",
        {"kind": where.split()[0], "name": where.split()[1]},
    )


def _from_siblings(ctx: ContainerContext, current: Mapping[str, str]) -> MemoryRef | None:
    mine = controller_ref(ctx.pod)
    if mine is None:
        return None
    for other in ctx.view.pods_of(ctx.namespace, *mine):
        if other is ctx.pod:
            continue
        other_status = as_dict(other.get("status"))
        statuses = [as_dict(s) for s in as_list(other_status.get("containerStatuses"))]
        healthy = any(
            s.get("name") == ctx.name and s.get("ready") is True
            and "running" in as_dict(s.get("state"))
            for s in statuses
        )
        if not healthy:
            continue
        higher = _higher(current, memory_of(container_spec(as_dict(other.get("spec")), ctx.name)))
        if higher is not None:
            name = as_str(meta(other).get("name"))
            return MemoryRef(
                higher[0], higher[1], f"pod {name} of the same workload, running and ready",
                {"kind": "Pod", "name": name},
            )
    return None


def last_healthy_memory(ctx: ContainerContext, current: Mapping[str, str]) -> MemoryRef | None:
    for source in (_from_annotation, _from_revisions, _from_vpa_rewrite, _from_siblings):
        found = source(ctx, current)
        if found is not None:
            return found
    return None


def _vpa_evidence(ctx: ContainerContext) -> tuple[list[str], str | None]:
    lines: list[str] = []
    name: str | None = None
    updated = as_str(as_dict(meta(ctx.pod).get("annotations")).get(VPA_UPDATES_ANNOTATION))
    if updated:
        lines.append(f"pod annotation vpaUpdates: {updated}")
    for vpa in _vpas(ctx):
        name = as_str(meta(vpa).get("name"))
        recs = as_list(as_dict(as_dict(vpa.get("status")).get("recommendation")).get(
            "containerRecommendations"))
        for rec in recs:
            rec = as_dict(rec)
            if rec.get("containerName") != ctx.name:
                continue
            parts = [
                f"{k} {as_dict(rec.get(k)).get('memory')}"
                for k in ("target", "lowerBound", "upperBound")
                if as_dict(rec.get(k)).get("memory")
            ]
            if parts:
                lines.append(f"VerticalPodAutoscaler {name} recommends memory " + ", ".join(parts))
        for pol in as_list(as_dict(as_dict(vpa.get("spec")).get("resourcePolicy")).get(
                "containerPolicies")):
            pol = as_dict(pol)
            if pol.get("containerName") in (ctx.name, "*"):
                floor = as_dict(pol.get("minAllowed")).get("memory")
                lines.append(f"VerticalPodAutoscaler {name} minAllowed memory: {floor or 'none'}")
    return lines, name


_MEMORY_PATH = {"limit": ("resources", "limits", "memory"),
                "request": ("resources", "requests", "memory")}


def _memory_changed_by(ctx: ContainerContext, ref: MemoryRef) -> ChangedBy | None:
    """Who lowered the memory: the field manager of the workload's template (an edit, an
    apply, Helm, Argo CD, a rightsizer), or an in-place resize of the pod itself."""
    path = _MEMORY_PATH[ref.field]
    if ref.source.startswith("pod template of"):
        resized = changed_by(ctx.pod, ctx.name, path)
        return resized if resized is not None and resized.operation == "Update" and (
            "vpa" in resized.manager.lower() or "resize" in resized.manager.lower()) else None
    return changed_by(workload(ctx.view, ctx.namespace, ctx.owner), ctx.name, path)


def shrink_summary(container: str, details: Mapping[str, Any]) -> str:
    """The OOMAfterShrink summary: what lowered the memory and when, and, when the
    workload was already crashing for another reason before the shrink, to fix that first."""
    field, old, now = details.get("resource"), details.get("lastHealthy"), details.get("current")
    how = details.get("killedBy") or "OOMKilled"
    vpa = details.get("verticalPodAutoscaler")
    changed = as_dict(details.get("changedBy"))
    who = (f"{changed['manager']} at {changed.get('time') or '?'}"
           if changed.get("manager") else "")
    if vpa and (details.get("vpaLowered", True) or not who):
        by = f" by VerticalPodAutoscaler {vpa}" + (f" ({who})" if who else "")
    elif vpa:  # someone else edited the template of a workload a VPA also manages
        by = f" by {who} (VerticalPodAutoscaler {vpa} manages it too)"
    else:
        by = f" by {who}" if who else ""
    old_text = "no limit" if old is None else old
    head = (f"Container {container} is {how} after its memory {field} was lowered{by} "
            f"from {old_text} to {now}")
    preceded = as_dict(details.get("precededBy"))
    if preceded.get("reason"):
        what = preceded["reason"] + (f" ({preceded['detail']})" if preceded.get("detail") else "")
        return (f"{head}; before the shrink it was already crashing with {what}, which made it "
                "look idle: fix that first.")
    return (f"{head}: a crash before the app allocates looks like low usage, so the autoscaler "
            "keeps it too small.")


def diagnose_oom(
    ctx: ContainerContext,
    term: Mapping[str, Any],
    confidence: Confidence = Confidence.HIGH,
    evidence: list[str] | None = None,
) -> Finding:
    current = memory_of(ctx.spec)
    evidence = list(evidence) if evidence else [terminated_line(term, ctx.restarts)]
    vpa_lines, vpa_name = _vpa_evidence(ctx)
    ref = last_healthy_memory(ctx, current)
    if ctx.trace is not None:
        now = ", ".join(f"{k} {v}" for k, v in current.items()) or "no memory limit or request"
        ctx.trace.step("less memory than when healthy?", (
            f"yes: memory {ref.field} {current.get(ref.field)}, last healthy "
            f"{ref.value or 'with no limit'} ({ref.source})") if ref is not None else (
            f"no record of more memory when healthy ({now} now; looked at crashwatch's "
            "last-known-good annotation, earlier ReplicaSet revisions, the template a VPA "
            "rewrote the pod from, healthy sibling pods): OOMKilled, not OOMAfterShrink"))
    how = "OOMKilled" if as_str(term.get("reason")) == "OOMKilled" else (
        f"killed with exit code {term.get('exitCode')} (SIGKILL, most likely the OOM killer)"
    )
    if ref is not None:
        now_value = current[ref.field]
        evidence.append(
            f"memory {ref.field} {now_value}; last healthy "
            f"{ref.value or 'with no limit'} ({ref.source})"
        )
        evidence += vpa_lines
        target = (
            {"kind": "VerticalPodAutoscaler", "name": vpa_name, "field": "minAllowed"}
            if vpa_name
            else ({"kind": ctx.owner.kind, "name": ctx.owner.name} if ctx.owner else None)
        )
        changed = _memory_changed_by(ctx, ref)
        details: dict[str, Any] = {
            "resource": ref.field,
            "current": now_value,
            "lastHealthy": ref.value,
            "lastHealthySource": ref.ref,
            "killedBy": how,
        }
        if vpa_name:
            details["verticalPodAutoscaler"] = vpa_name
            # A VPA lowers a pod (its admission rewrites the pod, not the template) or writes
            # as a VPA component; a template another manager edited was not its doing.
            details["vpaLowered"] = bool(
                as_str(as_dict(meta(ctx.pod).get("annotations")).get(VPA_UPDATES_ANNOTATION))
                or _from_vpa_rewrite(ctx, current) is not None
                or changed is None or "vpa" in changed.manager.lower())
        if changed is not None:
            details["changedBy"] = changed.to_dict()
            evidence.append(f"memory {ref.field} of container {ctx.name} last set by "
                            f"{changed.manager} at {changed.time} ({changed.object})")
        return ctx.finding(
            Reason.OOM_AFTER_SHRINK,
            shrink_summary(ctx.name, details),
            evidence,
            remediation={
                "action": "pin-memory-floor",
                "container": ctx.name,
                "memory": ref.value,
                "current": now_value,
                "target": target,
            } if ref.value is not None else {
                "action": "raise-memory-limit", "container": ctx.name, "current": now_value,
                "lastHealthy": "no limit",
            },
            details=details,
            confidence=confidence,
        )
    limit = current.get("limit") or current.get("request")
    if limit:
        evidence.append(f"memory {'limit' if 'limit' in current else 'request'} {limit}")
    evidence += vpa_lines
    summary = f"Container {ctx.name} is {how}" + (
        f": it needs more than its memory limit of {limit}." if limit else
        " (it has no memory limit: the node ran out of memory)."
    )
    return ctx.finding(
        Reason.OOM_KILLED,
        summary,
        evidence,
        remediation={"action": "raise-memory-limit", "container": ctx.name, "current": limit},
        details={"limit": current.get("limit"), "request": current.get("request")},
        confidence=confidence,
    )
