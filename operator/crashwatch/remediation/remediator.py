"""Acting on findings, only where a RemediationPolicy opts a workload in.

``CrashLoop.OOMAfterShrink`` -> pin a memory floor at the last healthy value (+ headroom,
under the ceiling), on the VPA's ``minAllowed`` when a VPA manages the workload, else on the
workload's own requests and limits. ``Rollout.Regression`` -> put the Deployment's pod
template back to the last available revision, as ``kubectl rollout undo`` does, once per bad
revision, after the regression lasted ``minRegressionDuration``.

Safety: nothing without a policy; dry-run (the default) only says what it would do;
cooldowns and daily limits live on the workload (an annotation), so a restart keeps them;
every write carries the object's resourceVersion, and a conflict or a vanished target is
skipped and reported, never retried blindly. Every action or refusal: an Event on the
workload and on the policy, ``crashwatch_remediations_total{action,result}``, a line in the
policy's status.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from crashwatch.diagnosis.view import as_dict, as_list, as_str, meta
from crashwatch.kube.client import Outcome, RemediationClient
from crashwatch.metrics import Metrics
from crashwatch.model import Finding, Reason
from crashwatch.quantity import parse_quantity
from crashwatch.remediation.policy import (
    FLOOR_ANNOTATION,
    STATE_ANNOTATION,
    ActionState,
    Policy,
    ceiling_refusal,
    floor_for,
    gitops_refusal,
    limit_range_refusal,
    refusal,
    rollout_verdict,
)

log = structlog.get_logger("crashwatch.remediation")
MAX_STATUS_LINES = 20
DEFAULT_ROLLOUT_DEADLINE = 600.0


@dataclass(slots=True)
class Pending:
    """An applied change whose rollout is still to be seen through."""

    policy: Policy
    action: str
    change: str
    generation: int
    since: float


def _rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json_pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


class Remediator:
    def __init__(self, kube: RemediationClient, metrics: Metrics,
                 clock: Callable[[], float] = time.time,
                 workloads: Callable[[], list[tuple[str, Mapping[str, Any]]]] | None = None
                 ) -> None:
        self.workloads = workloads or (lambda: [])
        """(kind, object) of every workload crashwatch holds, for status.workloads."""
        self._matched: dict[tuple[str, str], list[str]] = {}
        self.kube = kube
        self.metrics = metrics
        self.clock = clock
        self.policies: dict[tuple[str, str], Policy] = {}
        self._status: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._said: dict[tuple[str, str, str], str] = {}  # (ns, workload, action) -> last word
        self._regressions: dict[tuple[str, str], tuple[float, Finding]] = {}
        self._pending: dict[tuple[str, str, str], Pending] = {}
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}
        self._rolled_back: dict[tuple[str, str], int] = {}
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        """(namespace, deployment) -> the revision this process last rolled back from."""
        """(namespace, kind, name) -> a change applied, its rollout not yet verified."""

    # -- policies ----------------------------------------------------------------------
    def on_policy(self, event_type: str, body: Mapping[str, Any]) -> None:
        key = (as_str(meta(body).get("namespace")), as_str(meta(body).get("name")))
        if event_type == "DELETED":
            self.policies.pop(key, None)
            self._status.pop(key, None)
            return
        self.policies[key] = Policy.from_object(body)
        self._status[key] = [dict(as_dict(x)) for x in as_list(
            as_dict(body.get("status")).get("lastActions"))]

    def _policy_for(self, workload: Mapping[str, Any], wants: str) -> Policy | None:
        for _, policy in sorted(self.policies.items()):
            enabled = policy.floor_enabled if wants == "floor" else policy.rollback_enabled
            if enabled and policy.covers(workload):
                return policy
        return None

    # -- reporting ---------------------------------------------------------------------
    async def _report(self, policy: Policy, kind: str, workload: Mapping[str, Any],
                      action: str, result: str, change: str, why: str,
                      when: str | None = None) -> None:
        ns, name = policy.namespace, as_str(meta(workload).get("name"))
        said = f"{result}:{change}"
        if self._said.get((ns, name, action)) == said:
            return  # the same word again (a re-diagnosis): nothing new to report
        self._said[(ns, name, action)] = said
        now = self.clock()
        self.metrics.remediations.labels(action, result).inc()
        verb = {"applied": "", "dry_run": "would ", "refused": "refused to "}.get(result, "")
        message = f"{verb}{change}: {why}" if result != "applied" else f"{change}: {why}"
        if result in (Outcome.CONFLICT, Outcome.GONE, Outcome.ERROR):
            message = f"skipped {change} ({result}): {why}"
        elif result == "verified":
            message = f"{change} took: {why}"
        elif result == "failed":
            message = f"{change} did not take: {why}"
        reason = {"applied": "Remediated", "dry_run": "RemediationDryRun",
                  "verified": "RemediationVerified", "failed": "RemediationFailed"}.get(
            result, "RemediationSkipped")
        type_ = "Normal" if result in ("applied", "dry_run", "verified") else "Warning"
        log.info("remediation", namespace=ns, workload=f"{kind}/{name}", action=action,
                 result=result, change=change, why=why)
        await self.kube.post_event(kind, ns, name, as_str(meta(workload).get("uid")), reason,
                                   f"[{policy.name}] {message}", type_)
        await self.kube.post_event("RemediationPolicy", ns, policy.name, policy.uid, reason,
                                   f"{kind}/{name}: {message}", type_)
        line = {"time": when or _rfc3339(now), "action": action, "target": f"{kind}/{name}",
                "result": result, "change": change, "reason": why[:512],
                "dryRun": result == "dry_run"}
        await self._write_status(policy, [line])

    async def _write_status(self, policy: Policy, new: list[dict[str, Any]]) -> None:
        key = (policy.namespace, policy.name)
        lines = sorted([*new, *self._status.get(key, [])], key=lambda x: str(x.get("time")),
                       reverse=True)[:MAX_STATUS_LINES]
        self._status[key] = lines
        await self.kube.patch_policy_status(policy.namespace, policy.name, {
            "lastActions": lines,
            "conditions": [{"type": "Ready", "status": "True", "reason": "Watching",
                            "message": "crashwatch applies this policy",
                            "lastTransitionTime": _rfc3339(self.clock())}],
        })

    # -- entry points ----------------------------------------------------------------------
    def _lock(self, namespace: str, kind: str, name: str) -> asyncio.Lock:
        """One action at a time per workload: a diagnosis and a sweep may ask at once, and
        two reads of the same resourceVersion would make the second write a conflict."""
        return self._locks.setdefault((namespace, kind, name), asyncio.Lock())

    async def consider(self, finding: Finding) -> None:
        try:
            if finding.reason is Reason.OOM_AFTER_SHRINK and finding.owner is not None:
                async with self._lock(finding.namespace, finding.owner.kind,
                                      finding.owner.name):
                    await self._floor(finding)
            elif finding.reason is Reason.ROLLOUT_REGRESSION and finding.owner is not None:
                key = (finding.namespace, finding.owner.name)
                if self._rolled_back.get(key) == finding.details.get("failingRevision"):
                    return  # a diagnosis made before that rollback landed
                first = self._regressions.get(key, (self.clock(), finding))[0]
                self._regressions[key] = (first, finding)
                await self._rollback_when_due(key)
        except Exception as err:  # a remediation error must never stop diagnosis
            self.metrics.remediations.labels("any", "error").inc()
            log.exception("remediation failed", error=str(err))

    def forget_regression(self, namespace: str, deployment: str) -> None:
        self._regressions.pop((namespace, deployment), None)
        timer = self._timers.pop((namespace, deployment), None)
        if timer is not None:
            timer.cancel()

    def _wake(self, key: tuple[str, str], delay: float) -> None:
        """Ask about a regression again once it is due (not at the next sweep, a minute
        away by default)."""
        if key in self._timers:
            return
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.pop(key, None)
            if key in self._regressions:
                task = loop.create_task(self._rollback_when_due(key))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        self._timers[key] = loop.call_later(max(delay, 0.0) + 0.05, fire)

    async def tick(self) -> None:
        """Act on regressions that have now lasted long enough; keep each policy's list of
        the workloads it matches current."""
        await self._update_matches()
        await self._verify_rollouts()
        for key in list(self._regressions):
            try:
                await self._rollback_when_due(key)
            except Exception as err:
                log.exception("remediation failed", error=str(err))

    async def _update_matches(self) -> None:
        held = self.workloads()
        for key, policy in list(self.policies.items()):
            covered = [(kind, obj) for kind, obj in held if policy.covers(obj)]
            matched = sorted(f"{kind}/{as_str(meta(obj).get('name'))}" for kind, obj in covered)
            if self._matched.get(key) != matched and await self.kube.patch_policy_status(
                    key[0], key[1], {"matchedWorkloads": len(matched),
                                     "workloads": matched[:256]}):
                self._matched[key] = matched
            await self._recover_status(policy, covered)

    async def _recover_status(self, policy: Policy,
                              covered: list[tuple[str, Mapping[str, Any]]]) -> None:
        """Actions the workloads record (atomically with the change) but the policy's status
        lacks, because crashwatch stopped between the two writes: written now."""
        have = {(x.get("time"), x.get("action"), x.get("target"))
                for x in self._status.get((policy.namespace, policy.name), [])}
        missing = []
        for kind, obj in covered:
            target = f"{kind}/{as_str(meta(obj).get('name'))}"
            for act in ActionState.from_workload(obj).actions:
                if act.get("policy") == policy.name and (
                        act.get("time"), act.get("action"), target) not in have:
                    missing.append({"time": act.get("time"), "action": act.get("action"),
                                    "target": target, "result": act.get("result"),
                                    "change": act.get("change"), "reason": "recorded on the "
                                    "workload; the status was not written at the time",
                                    "dryRun": False})
        if missing:
            await self._write_status(policy, missing)

    def _record(self, state: ActionState, policy: Policy, action: str, change: str) -> str:
        """The action, on the workload (written with the change itself); returns its time,
        which the policy's status line carries too."""
        when = _rfc3339(self.clock())
        state.actions.append({"policy": policy.name, "time": when, "action": action,
                              "change": change, "result": "applied"})
        return when

    async def _verify_rollouts(self) -> None:
        """Follow each applied change until its rollout took, or the controller says it
        cannot (a LimitRange or quota refusing the new pods, a stalled rollout)."""
        for (ns, kind, name), pending in list(self._pending.items()):
            wl = await self.kube.read(kind, ns, name)
            if wl is None:
                del self._pending[(ns, kind, name)]
                continue
            verdict = rollout_verdict(kind, wl, pending.generation)
            deadline = float(as_dict(wl.get("spec")).get("progressDeadlineSeconds")
                             or DEFAULT_ROLLOUT_DEADLINE)
            if verdict is None and self.clock() - pending.since > deadline:
                verdict = ("failed", f"the rollout did not complete within {int(deadline)}s")
            if verdict is None:
                continue
            del self._pending[(ns, kind, name)]
            await self._report(pending.policy, kind, wl, pending.action, verdict[0],
                               pending.change, verdict[1])

    def _follow(self, policy: Policy, kind: str, wl: Mapping[str, Any], action: str,
                change: str) -> None:
        generation = int(meta(wl).get("generation") or 0) + 1  # the template changed
        self._pending[(policy.namespace, kind, as_str(meta(wl).get("name")))] = Pending(
            policy, action, change, generation, self.clock())

    # -- memory floor --------------------------------------------------------------------
    async def _floor(self, f: Finding) -> None:
        if f.owner is None or f.owner.kind not in ("Deployment", "StatefulSet", "DaemonSet"):
            return
        wl = await self.kube.read(f.owner.kind, f.namespace, f.owner.name)
        if wl is None:
            return
        policy = self._policy_for(wl, "floor")
        if policy is None:
            return
        container = f.container or ""
        last_healthy = str(f.details.get("lastHealthy"))
        floor = floor_for(last_healthy, policy.headroom_percent, policy.ceiling)
        too_low = ceiling_refusal(last_healthy, policy.headroom_percent, policy.ceiling)
        target = as_dict((f.remediation or {}).get("target"))
        vpa_name = as_str(target.get("name")) if target.get("kind") == (
            "VerticalPodAutoscaler") else ""
        use_vpa = policy.floor_target in ("Auto", "VerticalPodAutoscaler") and bool(vpa_name)
        where = (f"VerticalPodAutoscaler {vpa_name} minAllowed" if use_vpa
                 else f"{f.owner.kind} {f.owner.name} requests and limits")
        change = (f"pin memory floor {floor or last_healthy} for container {container} on "
                  f"{where}")
        why = (f"CrashLoop.OOMAfterShrink: memory {f.details.get('current')} < last healthy "
               f"{f.details.get('lastHealthy')}")
        kind = f.owner.kind
        if floor is not None and not use_vpa and self._already_at(wl, container, floor):
            return  # pinned already (by us, moments ago, or by someone): nothing to do
        state = ActionState.from_workload(wl)
        now = self.clock()
        blocked = (
            (None if policy.allow_gitops else gitops_refusal(wl))
            or too_low
            or ("the policy wants the VPA but none manages this workload"
                if policy.floor_target == "VerticalPodAutoscaler" and not vpa_name else None)
            or limit_range_refusal(await self.kube.limit_ranges(f.namespace), floor or "")
            or refusal(policy, state, now))
        if blocked or floor is None:
            await self._report(policy, kind, wl, "floor", "refused", change,
                               blocked or "no floor")
            return
        if policy.dry_run:
            await self._report(policy, kind, wl, "floor", "dry_run", change, why)
            return
        state.last_action = now
        when = self._record(state, policy, "floor", change)
        record = f'{{"container": "{container}", "memory": "{floor}", "reason": "{why}"}}'
        if use_vpa:
            result = await self._floor_on_vpa(f.namespace, vpa_name, container, floor)
            if result == Outcome.OK:
                result = await self.kube.guarded_patch(kind, f.namespace, f.owner.name, {
                    "metadata": {"resourceVersion": as_str(meta(wl).get("resourceVersion")),
                                 "annotations": {STATE_ANNOTATION: state.to_annotation(),
                                                 FLOOR_ANNOTATION: record}}})
        else:
            result = await self.kube.guarded_patch(
                kind, f.namespace, f.owner.name,
                self._resources_patch(wl, container, floor, state, record))
            if result == Outcome.OK:
                self._follow(policy, kind, wl, "floor", change)
        await self._report(policy, kind, wl, "floor", result, change, why, when=when)

    @staticmethod
    def _already_at(wl: Mapping[str, Any], container: str, floor: str) -> bool:
        value = parse_quantity(floor)
        for c in as_list(as_dict(as_dict(as_dict(wl.get("spec")).get("template")).get(
                "spec")).get("containers")):
            c = as_dict(c)
            if c.get("name") == container:
                res = as_dict(c.get("resources"))
                have = [parse_quantity(as_dict(res.get(f)).get("memory"))
                        for f in ("limits", "requests")]
                return value is not None and all(h is not None and h >= value for h in have)
        return False

    def _resources_patch(self, wl: Mapping[str, Any], container: str, floor: str,
                         state: ActionState, record: str) -> dict[str, Any]:
        value = parse_quantity(floor)
        resources: dict[str, Any] = {}
        for c in as_list(as_dict(as_dict(as_dict(wl.get("spec")).get("template")).get(
                "spec")).get("containers")):
            c = as_dict(c)
            if c.get("name") != container:
                continue
            res = as_dict(c.get("resources"))
            for field in ("requests", "limits"):
                cur = parse_quantity(as_dict(res.get(field)).get("memory"))
                if cur is None or (value is not None and cur < value):
                    resources.setdefault(field, {})["memory"] = floor
        return {
            "metadata": {"resourceVersion": as_str(meta(wl).get("resourceVersion")),
                         "annotations": {STATE_ANNOTATION: state.to_annotation(),
                                         FLOOR_ANNOTATION: record}},
            "spec": {"template": {"spec": {"containers": [
                {"name": container, "resources": resources}]}}},
        }

    async def _floor_on_vpa(self, namespace: str, name: str, container: str,
                            floor: str) -> str:
        vpa = await self.kube.read_vpa(namespace, name)
        if vpa is None:
            return Outcome.GONE
        body = copy.deepcopy(vpa)
        spec = body.setdefault("spec", {})
        policy = spec.setdefault("resourcePolicy", {})
        policies = policy.setdefault("containerPolicies", [])
        entry = next((p for p in policies if p.get("containerName") == container), None)
        if entry is None:
            entry = {"containerName": container}
            policies.append(entry)
        entry.setdefault("minAllowed", {})["memory"] = floor
        return await self.kube.replace_vpa(namespace, name, body)

    # -- rollback --------------------------------------------------------------------------
    async def _rollback_when_due(self, key: tuple[str, str]) -> None:
        async with self._lock(key[0], "Deployment", key[1]):
            if key in self._regressions:  # not rolled back meanwhile
                await self._rollback_now(key)

    async def _rollback_now(self, key: tuple[str, str]) -> None:
        first, f = self._regressions[key]
        ns, name = key
        dep = await self.kube.read("Deployment", ns, name)
        if dep is None:
            self._regressions.pop(key, None)
            return
        policy = self._policy_for(dep, "rollback")
        if policy is None:
            return
        to_rev = int(f.details.get("lastHealthyRevision") or 0)
        from_rev = int(f.details.get("failingRevision") or 0)
        rs_name = as_str(f.details.get("lastHealthyReplicaSet"))
        images = ", ".join(as_str(v) for v in as_dict(f.details.get("lastHealthyImages")).values())
        change = f"roll back Deployment {name} from revision {from_rev} to {to_rev} ({images})"
        why = f"Rollout.Regression: {f.summary}"
        now = self.clock()
        if now - first < policy.min_regression:
            self._wake(key, policy.min_regression - (now - first))  # not yet: then
            return
        state = ActionState.from_workload(dep)
        blocked = (None if policy.allow_gitops else gitops_refusal(dep)) or refusal(
            policy, state, now, rollback=True, revision=from_rev)
        if blocked:
            await self._report(policy, "Deployment", dep, "rollback", "refused", change, blocked)
            return
        if policy.dry_run:
            await self._report(policy, "Deployment", dep, "rollback", "dry_run", change, why)
            return
        rs = await self.kube.read("ReplicaSet", ns, rs_name)
        if rs is None:
            await self._report(policy, "Deployment", dep, "rollback", Outcome.GONE, change, why)
            return
        template = copy.deepcopy(dict(as_dict(as_dict(rs.get("spec")).get("template"))))
        labels = as_dict(as_dict(template.get("metadata")).get("labels"))
        template.setdefault("metadata", {})["labels"] = {
            k: v for k, v in labels.items() if k != "pod-template-hash"}
        state.last_action = now
        state.rollbacks.append(now)
        state.rolled_back_revisions.append(from_rev)
        when = self._record(state, policy, "rollback", change)
        annotations = as_dict(meta(dep).get("annotations"))
        patch: list[dict[str, Any]] = [
            {"op": "test", "path": "/metadata/resourceVersion",
             "value": as_str(meta(dep).get("resourceVersion"))},
            {"op": "replace", "path": "/spec/template", "value": template},
        ]
        if not annotations:
            patch.append({"op": "add", "path": "/metadata/annotations", "value": {}})
        patch.append({"op": "add",
                      "path": f"/metadata/annotations/{_json_pointer(STATE_ANNOTATION)}",
                      "value": state.to_annotation()})
        result = await self.kube.guarded_patch("Deployment", ns, name, patch)
        if result == Outcome.OK:
            self._regressions.pop(key, None)
            self._rolled_back[key] = from_rev
            self._follow(policy, "Deployment", dep, "rollback", change)
        await self._report(policy, "Deployment", dep, "rollback", result, change, why,
                           when=when)
