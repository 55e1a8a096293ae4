"""RemediationPolicy objects, read: pure functions, no I/O.

Every decision a remediation makes (does a policy cover this workload, is it in cooldown,
how high is the floor) is made here, so it is unit-tested without a cluster.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from crashwatch.diagnosis.view import as_dict, as_int, as_list, as_str, meta
from crashwatch.quantity import format_bytes, parse_quantity

STATE_ANNOTATION = "crashwatch.dev/remediation"
FLOOR_ANNOTATION = "crashwatch.dev/memory-floor"
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
DAY = 86400.0
MAX_ACTIONS = 5


def parse_duration(text: str, default: float) -> float:
    m = _DURATION.match(text or "")
    if not m or not any(m.groups()):
        return default
    h, mi, s = (int(x) if x else 0 for x in m.groups())
    return float(h * 3600 + mi * 60 + s)


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector over labels; the empty selector matches everything."""
    for k, v in as_dict(selector.get("matchLabels")).items():
        if labels.get(k) != v:
            return False
    for expr in as_list(selector.get("matchExpressions")):
        expr = as_dict(expr)
        key, op = as_str(expr.get("key")), as_str(expr.get("operator"))
        values = {as_str(v) for v in as_list(expr.get("values"))}
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


@dataclass(frozen=True, slots=True)
class Policy:
    namespace: str
    name: str
    uid: str
    selector: Mapping[str, Any]
    dry_run: bool
    cooldown: float
    floor_enabled: bool
    floor_target: str
    headroom_percent: int
    ceiling: Decimal | None
    rollback_enabled: bool
    min_regression: float
    max_per_day: int
    allow_gitops: bool = False
    """Act on workloads a GitOps controller manages (off: refuse, and say what to do)."""

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> Policy:
        spec = as_dict(obj.get("spec"))
        floor = as_dict(spec.get("resourceFloor"))
        rollback = as_dict(spec.get("rollback"))
        return cls(
            namespace=as_str(meta(obj).get("namespace")),
            name=as_str(meta(obj).get("name")),
            uid=as_str(meta(obj).get("uid")),
            selector=as_dict(spec.get("selector")),
            dry_run=spec.get("dryRun") is not False,  # safe unless explicitly off
            cooldown=parse_duration(as_str(spec.get("cooldown")), 1800.0),
            floor_enabled=floor.get("enabled") is True,
            floor_target=as_str(floor.get("target")) or "Auto",
            headroom_percent=as_int(floor.get("headroomPercent"), 10),
            ceiling=parse_quantity(floor.get("ceiling") or "4Gi"),
            rollback_enabled=rollback.get("enabled") is True,
            min_regression=parse_duration(as_str(rollback.get("minRegressionDuration")), 300.0),
            max_per_day=max(as_int(rollback.get("maxPerDay"), 3), 1),
            allow_gitops=spec.get("allowGitOpsManaged") is True,
        )

    def covers(self, workload: Mapping[str, Any]) -> bool:
        """In the policy's namespace, and the selector matches the workload's own labels
        or its pod template's (teams often label only the template)."""
        if as_str(meta(workload).get("namespace")) != self.namespace:
            return False
        template = as_dict(as_dict(workload.get("spec")).get("template"))
        return any(selector_matches(self.selector, as_dict(meta(obj).get("labels")))
                   for obj in (workload, template))


def needed_memory(last_healthy: str, headroom_percent: int) -> Decimal | None:
    """Last healthy plus headroom, rounded up to whole Mi."""
    base = parse_quantity(last_healthy)
    if base is None:
        return None
    value = (base * (100 + headroom_percent) / 100).to_integral_value()
    mib = Decimal(2) ** 20
    return ((value + mib - 1) // mib) * mib


def floor_for(last_healthy: str, headroom_percent: int, ceiling: Decimal | None) -> str | None:
    """The memory floor: last healthy plus headroom; None when it cannot be read or when the
    ceiling is below it (a floor under the need would not stop the OOM kills)."""
    value = needed_memory(last_healthy, headroom_percent)
    if value is None or (ceiling is not None and value > ceiling):
        return None
    return format_bytes(value)


def ceiling_refusal(last_healthy: str, headroom_percent: int,
                    ceiling: Decimal | None) -> str | None:
    """Why no floor may be pinned under this policy's ceiling (None: it may)."""
    value = needed_memory(last_healthy, headroom_percent)
    if value is None:
        return f"the last healthy memory {last_healthy!r} cannot be read"
    if ceiling is not None and value > ceiling:
        return (f"the container needs {format_bytes(value)} (last healthy {last_healthy} + "
                f"{headroom_percent}%) but the policy's ceiling is {format_bytes(ceiling)}: a "
                "floor under the need would not stop the OOM kills; raise resourceFloor.ceiling")
    return None


def limit_range_refusal(limit_ranges: Sequence[Mapping[str, Any]], floor: str) -> str | None:
    """Why the namespace's LimitRanges forbid a container this memory (None: they allow
    it): the ReplicaSet would fail ``FailedCreate ... maximum memory usage per Container``."""
    value = parse_quantity(floor)
    if value is None:
        return None
    for lr in limit_ranges:
        for item in as_list(as_dict(lr.get("spec")).get("limits")):
            item = as_dict(item)
            if as_str(item.get("type")) not in ("Container", "Pod"):
                continue
            raw = as_dict(item.get("max")).get("memory")
            most = parse_quantity(raw)
            if most is not None and value > most:
                return (f"LimitRange {as_str(meta(lr).get('name'))} caps memory per "
                        f"{as_str(item.get('type'))} at {raw}, below the floor {floor}: the "
                        "new pods would be refused (FailedCreate); raise the LimitRange's max "
                        "first")
    return None


#: How GitOps controllers mark what they manage: (where, key, tool, what to do instead).
_GITOPS_MARKS = (
    ("annotations", "argocd.argoproj.io/tracking-id", "Argo CD",
     "revert the change in Git (or `argocd app rollback`); Argo CD's self-heal would undo a "
     "change made here"),
    ("labels", "argocd.argoproj.io/instance", "Argo CD",
     "revert the change in Git (or `argocd app rollback`); Argo CD's self-heal would undo a "
     "change made here"),
    ("labels", "kustomize.toolkit.fluxcd.io/name", "Flux",
     "revert the commit (or `flux suspend kustomization` first); Flux reconciles the "
     "workload back from Git"),
    ("labels", "helm.toolkit.fluxcd.io/name", "Flux",
     "roll the HelmRelease back in Git (or `flux suspend helmrelease` first); Flux "
     "reconciles the workload back"),
)


def gitops_refusal(workload: Mapping[str, Any]) -> str | None:
    """Why a workload a GitOps controller manages is not changed in place (None: none
    manages it)."""
    md = meta(workload)
    for where, key, tool, advice in _GITOPS_MARKS:
        value = as_dict(md.get(where)).get(key)
        if value:
            return f"it is managed by {tool} ({key}={value}): {advice}"
    return None


@dataclass(slots=True)
class ActionState:
    """Kept on the workload (annotation), so limits hold across operator restarts."""

    last_action: float = 0.0
    rollbacks: list[float] = field(default_factory=list)
    rolled_back_revisions: list[int] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    """The newest actions taken on this workload (policy, time, action, change, result), so
    that a policy's status can be made whole after a restart that lost its last line."""

    @classmethod
    def from_workload(cls, workload: Mapping[str, Any]) -> ActionState:
        raw = as_dict(meta(workload).get("annotations")).get(STATE_ANNOTATION)
        try:
            data = as_dict(json.loads(raw)) if isinstance(raw, str) else {}
        except ValueError:
            data = {}
        last = data.get("lastAction")
        return cls(
            last_action=float(last) if isinstance(last, int | float) else 0.0,
            rollbacks=[float(x) for x in as_list(data.get("rollbacks"))
                       if isinstance(x, int | float)],
            rolled_back_revisions=[as_int(x) for x in as_list(data.get("rolledBackRevisions"))],
            actions=[dict(as_dict(x)) for x in as_list(data.get("actions"))][-MAX_ACTIONS:],
        )

    def to_annotation(self) -> str:
        return json.dumps({"lastAction": round(self.last_action, 3),
                           "rollbacks": [round(x, 3) for x in self.rollbacks[-24:]],
                           "rolledBackRevisions": self.rolled_back_revisions[-24:],
                           "actions": self.actions[-MAX_ACTIONS:]})


def refusal(policy: Policy, state: ActionState, now: float, *, rollback: bool = False,
            revision: int | None = None) -> str | None:
    """Why an action must not happen now (None: it may)."""
    if state.last_action and now - state.last_action < policy.cooldown:
        left = int(policy.cooldown - (now - state.last_action))
        return f"in cooldown for another {left}s (policy cooldown {int(policy.cooldown)}s)"
    if rollback:
        if revision is not None and revision in state.rolled_back_revisions:
            return f"revision {revision} was already rolled back once"
        today = [t for t in state.rollbacks if now - t < DAY]
        if len(today) >= policy.max_per_day:
            return f"{len(today)} rollbacks in the last 24h (maxPerDay {policy.max_per_day})"
    return None


def rollout_verdict(kind: str, workload: Mapping[str, Any],
                    generation: int) -> tuple[str, str] | None:
    """Did a change to a workload's pod template take? ``("verified", why)`` once the
    controller has rolled it out and the new pods are available, ``("failed", why)`` when it
    says it cannot (a ReplicaSet refused by a quota or a LimitRange, a stalled rollout),
    None while it is still going."""
    spec, status = as_dict(workload.get("spec")), as_dict(workload.get("status"))
    conditions = {as_str(as_dict(c).get("type")): as_dict(c)
                  for c in as_list(status.get("conditions"))}
    failure = conditions.get("ReplicaFailure")
    if failure and failure.get("status") == "True":
        return "failed", f"{as_str(failure.get('reason'))}: {as_str(failure.get('message'))}"
    progressing = conditions.get("Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return "failed", f"ProgressDeadlineExceeded: {as_str(progressing.get('message'))}"
    if as_int(status.get("observedGeneration")) < generation:
        return None
    if kind == "DaemonSet":
        desired = as_int(status.get("desiredNumberScheduled"))
        done = (as_int(status.get("updatedNumberScheduled")) >= desired
                and as_int(status.get("numberAvailable")) >= desired)
    else:
        want = as_int(spec.get("replicas"), 1)
        done = (as_int(status.get("updatedReplicas")) >= want
                and as_int(status.get("availableReplicas")) >= want
                and as_int(status.get("replicas")) <= want)
    return ("verified", "the new pods run and are available") if done else None
