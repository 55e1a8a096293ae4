"""The remediator's safety rails with a scripted client: a conflicting target is skipped
and reported once, never retried blindly; no policy means no action at all."""

import asyncio
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

    async def read(self, kind, namespace, name):
        return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": "7",
                             "labels": {"app": "rails"}, "uid": "u1"},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "app", "resources": {"limits": {"memory": "32Mi"}}}]}}}}

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
