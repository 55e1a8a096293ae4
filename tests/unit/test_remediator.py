"""The remediator's safety rails with a scripted client: a conflicting target is skipped
and reported once, never retried blindly; no policy means no action at all."""

import asyncio
import json
from typing import Any

from crashwatch.kube.client import Outcome
from crashwatch.metrics import Metrics
from crashwatch.model import Finding, OwnerRef, Reason
from crashwatch.remediation.remediator import Remediator


class Scripted:
    def __init__(self, outcome: str) -> None:
        self.outcome = outcome
        self.patches: list[Any] = []
        self.events: list[tuple[str, str, str]] = []
        self.statuses: list[dict[str, Any]] = []
        self.ranges: list[dict[str, Any]] = []
        self.extra_meta: dict[str, Any] = {}
        self.status: dict[str, Any] = {}

    async def read(self, kind, namespace, name):
        return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": "7",
                             "labels": {"app": "rails"}, "uid": "u1", "generation": 4,
                             **self.extra_meta},
                "spec": {"replicas": 1, "template": {"spec": {"containers": [
                    {"name": "app", "resources": {"limits": {"memory": "32Mi"}}}]}}},
                "status": self.status}

    async def limit_ranges(self, namespace):
        return self.ranges

    async def guarded_patch(self, kind, namespace, name, patch):
        self.patches.append(patch)
        return self.outcome

    async def post_event(self, kind, namespace, name, uid, reason, message, type_="Warning"):
        self.events.append((kind, reason, message))
        return True

    async def patch_policy_status(self, namespace, name, status):
        self.statuses.append(status)
        return True


FINDING = Finding(
    namespace="shop", pod="rails-1", container="app", owner=OwnerRef("Deployment", "rails"),
    reason=Reason.OOM_AFTER_SHRINK, summary="shrunk", evidence=(),
    details={"current": "32Mi", "lastHealthy": "512Mi"},
    remediation={"target": {"kind": "Deployment", "name": "rails"}},
)
POLICY = {"metadata": {"name": "p", "namespace": "shop", "uid": "pu"},
          "spec": {"selector": {"matchLabels": {"app": "rails"}}, "dryRun": False,
                   "resourceFloor": {"enabled": True, "headroomPercent": 0}}}


def test_a_conflicting_write_is_skipped_and_reported_once_not_retried():
    kube = Scripted(Outcome.CONFLICT)
    r = Remediator(kube, Metrics(), clock=lambda: 1000.0)  # type: ignore[arg-type]
    r.on_policy("ADDED", POLICY)

    async def go():
        await r.consider(FINDING)
        await r.consider(FINDING)  # the same finding again (a re-diagnosis)

    asyncio.run(go())
    assert len(kube.patches) == 2  # each attempt is one guarded write, no blind retry loop
    patch = kube.patches[0]
    assert patch["metadata"]["resourceVersion"] == "7"
    assert patch["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "limits": {"memory": "512Mi"}, "requests": {"memory": "512Mi"}}
    skipped = [e for e in kube.events if e[1] == "RemediationSkipped"]
    assert len(skipped) == 2  # one on the workload, one on the policy, reported once
    assert "skipped pin memory floor 512Mi" in skipped[0][2] and "(conflict)" in skipped[0][2]
    assert kube.statuses[-1]["lastActions"][0]["result"] == "conflict"


def test_without_a_matching_policy_nothing_is_touched():
    kube = Scripted(Outcome.OK)
    r = Remediator(kube, Metrics(), clock=lambda: 1000.0)  # type: ignore[arg-type]
    other = {**POLICY, "spec": {**POLICY["spec"], "selector": {"matchLabels": {"app": "x"}}}}
    r.on_policy("ADDED", other)
    asyncio.run(r.consider(FINDING))
    assert kube.patches == [] and kube.events == [] and kube.statuses == []


class ScriptedVPA(Scripted):
    def __init__(self) -> None:
        super().__init__(Outcome.OK)
        self.replaced: list[dict[str, Any]] = []

    async def read_vpa(self, namespace, name):
        return {"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
                "metadata": {"name": name, "namespace": namespace, "resourceVersion": "41"},
                "spec": {"targetRef": {"kind": "Deployment", "name": "rails"},
                         "resourcePolicy": {"containerPolicies": [
                             {"containerName": "app", "minAllowed": {"cpu": "10m"}}]}}}

    async def replace_vpa(self, namespace, name, body):
        self.replaced.append(body)
        return Outcome.OK


def test_floor_goes_on_the_vpa_min_allowed_when_a_vpa_manages_the_workload():
    kube = ScriptedVPA()
    r = Remediator(kube, Metrics(), clock=lambda: 1000.0)  # type: ignore[arg-type]
    r.on_policy("ADDED", {**POLICY, "spec": {**POLICY["spec"], "resourceFloor": {
        "enabled": True, "headroomPercent": 10}}})
    vpa_finding = Finding(
        namespace="shop", pod="rails-1", container="app", owner=OwnerRef("Deployment", "rails"),
        reason=Reason.OOM_AFTER_SHRINK, summary="shrunk", evidence=(),
        details={"current": "32Mi", "lastHealthy": "512Mi"},
        remediation={"target": {"kind": "VerticalPodAutoscaler", "name": "rails-vpa"}})
    asyncio.run(r.consider(vpa_finding))
    assert len(kube.replaced) == 1
    body = kube.replaced[0]
    assert body["metadata"]["resourceVersion"] == "41"  # replace is guarded by it
    policy = body["spec"]["resourcePolicy"]["containerPolicies"][0]
    assert policy == {"containerName": "app", "minAllowed": {"cpu": "10m", "memory": "564Mi"}}
    # The workload gets the record (and the cooldown state), not a resources change.
    patch = kube.patches[0]
    assert "spec" not in patch
    assert '"memory": "564Mi"' in patch["metadata"]["annotations"]["crashwatch.dev/memory-floor"]


def _remediator(kube, **floor):
    r = Remediator(kube, Metrics(), clock=lambda: 1000.0)  # type: ignore[arg-type]
    r.on_policy("ADDED", {**POLICY, "spec": {**POLICY["spec"], "resourceFloor": {
        "enabled": True, "headroomPercent": 0, **floor}}})
    return r


def test_a_floor_capped_below_the_need_is_refused_not_reported_as_a_fix():
    """Issue #12, defect 8: ceiling 64Mi, last healthy 512Mi: "pin memory floor 64Mi ...
    applied"."""
    kube = Scripted(Outcome.OK)
    r = _remediator(kube, ceiling="64Mi")
    asyncio.run(r.consider(FINDING))
    assert kube.patches == []
    refused = [e for e in kube.events if e[1] == "RemediationSkipped"]
    assert refused and "refused to pin memory floor 512Mi" in refused[0][2]
    assert "ceiling is 64Mi" in refused[0][2]
    assert kube.statuses[-1]["lastActions"][0]["result"] == "refused"


def test_a_floor_a_limit_range_forbids_is_refused():
    """Issue #12, defect 9: a LimitRange max of 256Mi; the patch was accepted and its
    ReplicaSet then failed FailedCreate."""
    kube = Scripted(Outcome.OK)
    kube.ranges = [{"metadata": {"name": "mem-cap"}, "spec": {"limits": [
        {"type": "Container", "max": {"memory": "256Mi"}}]}}]
    asyncio.run(_remediator(kube).consider(FINDING))
    assert kube.patches == []
    assert "LimitRange mem-cap" in kube.events[0][2]


def test_an_applied_floor_is_followed_until_the_rollout_fails_or_takes():
    kube = Scripted(Outcome.OK)
    r = _remediator(kube)

    async def go():
        await r.consider(FINDING)
        await r.tick()  # the controller has not seen it yet: nothing to say
        kube.status = {"observedGeneration": 5, "conditions": [
            {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
             "message": "pods is forbidden: exceeded quota: mem, requested: limits.memory="
                        "512Mi"}]}
        await r.tick()
        await r.tick()  # reported once

    asyncio.run(go())
    failed = [e for e in kube.events if e[1] == "RemediationFailed"]
    assert len(failed) == 2  # on the workload and on the policy
    assert "did not take: FailedCreate: pods is forbidden: exceeded quota" in failed[0][2]
    assert kube.statuses[-1]["lastActions"][0]["result"] == "failed"

    kube2 = Scripted(Outcome.OK)
    r2 = _remediator(kube2)

    async def ok():
        await r2.consider(FINDING)
        kube2.status = {"observedGeneration": 5, "replicas": 1, "updatedReplicas": 1,
                        "availableReplicas": 1}
        await r2.tick()

    asyncio.run(ok())
    assert [e[1] for e in kube2.events][-2:] == ["RemediationVerified", "RemediationVerified"]


def test_a_gitops_managed_workload_is_refused_unless_the_policy_allows_it():
    """Issue #12, defect 10: a Deployment carrying argocd.argoproj.io/tracking-id was rolled
    back with no word; a self-healing Argo CD puts the bad revision back."""
    kube = Scripted(Outcome.OK)
    kube.extra_meta = {"annotations": {
        "argocd.argoproj.io/tracking-id": "shop:apps/Deployment:shop/rails"}}
    asyncio.run(_remediator(kube).consider(FINDING))
    assert kube.patches == []
    assert "managed by Argo CD" in kube.events[0][2]

    allowed = Scripted(Outcome.OK)
    allowed.extra_meta = kube.extra_meta
    r = Remediator(allowed, Metrics(), clock=lambda: 1000.0)  # type: ignore[arg-type]
    r.on_policy("ADDED", {**POLICY, "spec": {**POLICY["spec"], "allowGitOpsManaged": True}})
    asyncio.run(r.consider(FINDING))
    assert len(allowed.patches) == 1


def test_a_status_line_lost_in_a_crash_is_recovered_from_the_workload():
    """Issue #12: a rollback's status.lastActions line was lost when the operator was killed
    right after the rollback (the workload's annotation, written with it, kept it)."""
    kube = Scripted(Outcome.OK)
    record = json.dumps({"lastAction": 990.0, "actions": [
        {"policy": "p", "time": "2026-11-20T10:00:00Z", "action": "rollback",
         "change": "roll back Deployment rails from revision 3 to 2", "result": "applied"}]})
    workload = {"kind": "Deployment", "metadata": {
        "name": "rails", "namespace": "shop", "labels": {"app": "rails"},
        "annotations": {"crashwatch.dev/remediation": record}}}
    r = Remediator(kube, Metrics(), clock=lambda: 1000.0,  # type: ignore[arg-type]
                   workloads=lambda: [("Deployment", workload)])
    r.on_policy("ADDED", POLICY)

    async def go():
        await r.tick()
        await r.tick()  # once

    asyncio.run(go())
    lines = [st["lastActions"] for st in kube.statuses if "lastActions" in st]
    assert len(lines) == 1
    assert lines[0][0]["action"] == "rollback" and lines[0][0]["target"] == "Deployment/rails"


def test_a_diagnosis_and_a_sweep_asking_at_once_make_one_rollback_not_a_conflict():
    kube = Scripted(Outcome.OK)
    r = Remediator(kube, Metrics(), clock=lambda: 1000.0)  # type: ignore[arg-type]
    r.on_policy("ADDED", {**POLICY, "spec": {**POLICY["spec"], "rollback": {
        "enabled": True, "minRegressionDuration": "0s"}}})
    regression = Finding(
        namespace="shop", pod=None, container=None, owner=OwnerRef("Deployment", "rails"),
        reason=Reason.ROLLOUT_REGRESSION, summary="revision 3 fails", evidence=(),
        details={"failingRevision": 3, "lastHealthyRevision": 2,
                 "lastHealthyReplicaSet": "rails-1"})

    async def go():
        await asyncio.gather(r.consider(regression), r.tick(), r.consider(regression))

    asyncio.run(go())
    assert len(kube.patches) == 1


def test_a_regression_is_rolled_back_when_it_is_due_not_at_the_next_sweep():
    kube = Scripted(Outcome.OK)
    now = [1000.0]
    r = Remediator(kube, Metrics(), clock=lambda: now[0])  # type: ignore[arg-type]
    r.on_policy("ADDED", {**POLICY, "spec": {**POLICY["spec"], "rollback": {
        "enabled": True, "minRegressionDuration": "1s"}}})
    regression = Finding(
        namespace="shop", pod=None, container=None, owner=OwnerRef("Deployment", "rails"),
        reason=Reason.ROLLOUT_REGRESSION, summary="revision 3 fails", evidence=(),
        details={"failingRevision": 3, "lastHealthyRevision": 2,
                 "lastHealthyReplicaSet": "rails-1"})

    async def go():
        await r.consider(regression)
        assert kube.patches == []  # not due yet
        now[0] += 1.0
        for _ in range(40):  # no tick(): the remediator wakes itself up
            await asyncio.sleep(0.05)
            if kube.patches:
                break

    asyncio.run(go())
    assert len(kube.patches) == 1
