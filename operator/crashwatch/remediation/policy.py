"""RemediationPolicy objects, read: pure functions, no I/O.

Every decision a remediation makes (does a policy cover this workload, is it in cooldown,
how high is the floor) is made here, so it is unit-tested without a cluster.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from crashwatch.diagnosis.view import as_dict, as_int, as_list, as_str, meta
from crashwatch.quantity import format_bytes, parse_quantity

STATE_ANNOTATION = "crashwatch.dev/remediation"
FLOOR_ANNOTATION = "crashwatch.dev/memory-floor"
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
DAY = 86400.0


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
        )

    def covers(self, workload: Mapping[str, Any]) -> bool:
        """In the policy's namespace, and the selector matches the workload's own labels
        or its pod template's (teams often label only the template)."""
        if as_str(meta(workload).get("namespace")) != self.namespace:
            return False
        template = as_dict(as_dict(workload.get("spec")).get("template"))
        return any(selector_matches(self.selector, as_dict(meta(obj).get("labels")))
                   for obj in (workload, template))


def floor_for(last_healthy: str, headroom_percent: int, ceiling: Decimal | None) -> str | None:
    """The memory floor: last healthy plus headroom, never above the ceiling."""
    base = parse_quantity(last_healthy)
    if base is None:
        return None
    value = (base * (100 + headroom_percent) / 100).to_integral_value()
    mib = Decimal(2) ** 20
    value = ((value + mib - 1) // mib) * mib  # round up to whole Mi
    if ceiling is not None and value > ceiling:
        value = ceiling
    return format_bytes(value)


@dataclass(slots=True)
class ActionState:
    """Kept on the workload (annotation), so limits hold across operator restarts."""

    last_action: float = 0.0
    rollbacks: list[float] = field(default_factory=list)
    rolled_back_revisions: list[int] = field(default_factory=list)

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
        )

    def to_annotation(self) -> str:
        return json.dumps({"lastAction": round(self.last_action, 3),
                           "rollbacks": [round(x, 3) for x in self.rollbacks[-24:]],
                           "rolledBackRevisions": self.rolled_back_revisions[-24:]})


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
