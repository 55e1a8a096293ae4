"""Opt-in remediation on the real control plane (controller-manager rolling the real
ReplicaSets): a memory floor stops an autoscaler's OOM loop, a bad promotion is rolled
back, dry-run changes nothing, a cooldown holds, and holds across an operator restart."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from tests.cluster.controlplane.plane import ControlPlane
from tests.cluster.nodes.kwok import kubelet
from tests.e2e.test_operator import (
    REASON,
    Operator,
    annotations,
    make_deployment,
    running_pods,
    start_operator,
    stop_operator,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

ENV = {"CRASHWATCH_REMEDIATION": "true", "CRASHWATCH_OWNER_ANNOTATIONS": "true"}


@pytest.fixture
def remediating(control_plane: ControlPlane, tmp_path: Path) -> Iterator[Operator]:
    op = start_operator(control_plane, tmp_path, "remediation", ENV)
    try:
        yield op
    finally:
        stop_operator(op)


def policy(api: client.ApiClient, ns: str, app: str, **spec: Any) -> None:
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        "crashwatch.dev", "v1alpha1", ns, "remediationpolicies",
        {"apiVersion": "crashwatch.dev/v1alpha1", "kind": "RemediationPolicy",
         "metadata": {"name": f"{app}-policy"},
         "spec": {"selector": {"matchLabels": {"app": app}}, **spec}})


def policy_status(api: client.ApiClient, ns: str, app: str) -> dict[str, Any]:
    obj = client.CustomObjectsApi(api).get_namespaced_custom_object(
        "crashwatch.dev", "v1alpha1", ns, "remediationpolicies", f"{app}-policy")
    return dict(obj.get("status") or {})


def events(core: client.CoreV1Api, ns: str, name: str, reason: str) -> list[Any]:
    return [e for e in core.list_namespaced_event(ns).items
            if e.involved_object.name == name and e.reason == reason
            and e.source and e.source.component == "crashwatch"]


def memory_limit(apps: client.AppsV1Api, ns: str, name: str) -> str:
    dep = apps.read_namespaced_deployment(name, ns)
    return str(dep.spec.template.spec.containers[0].resources.limits["memory"])


def shrink_and_oom(core: client.CoreV1Api, apps: client.AppsV1Api, ns: str) -> str:
    """An autoscaler rewrites 512Mi to 32Mi; the new pod OOM-loops."""
    big = {"resources": {"limits": {"memory": "512Mi"}, "requests": {"memory": "512Mi"}}}
    make_deployment(apps, ns, "rails", container=big)
    running_pods(core, ns, "rails")
    apps.patch_namespaced_deployment("rails", ns, {"spec": {"template": {"spec": {
        "containers": [{"name": "app", "resources": {"limits": {"memory": "32Mi"},
                                                      "requests": {"memory": "32Mi"}}}]}}}})

    def shrunk() -> str | None:
        for p in running_pods(core, ns, "rails"):
            if p.spec.containers[0].resources.limits["memory"] == "32Mi":
                return str(p.metadata.name)
        return None
    name = str(wait_for("the shrunk pod", shrunk, timeout=60))
    kubelet.oom_kill(core, (ns, name), "app", restarts=3)
    return name


def test_memory_floor_stops_the_oom_loop(
    remediating: Operator, api: client.ApiClient, core: client.CoreV1Api,
    apps: client.AppsV1Api, namespace: str,
) -> None:
    policy(api, namespace, "rails", dryRun=False,
           resourceFloor={"enabled": True, "headroomPercent": 0})
    shrink_and_oom(core, apps, namespace)
    wait_for("floor pinned at 512Mi", lambda: memory_limit(apps, namespace, "rails") == "512Mi",
             op=remediating)
    dep = apps.read_namespaced_deployment("rails", namespace)
    assert '"memory": "512Mi"' in dep.metadata.annotations["crashwatch.dev/memory-floor"]
    # The loop stops: the controller rolls a 512Mi pod that runs and is ready.
    wait_for("a 512Mi pod running", lambda: [
        p for p in running_pods(core, namespace, "rails")
        if p.spec.containers[0].resources.limits["memory"] == "512Mi"], timeout=60)
    assert wait_for("Event on the Deployment", lambda: events(
        core, namespace, "rails", "Remediated"), op=remediating)
    assert wait_for("Event on the policy", lambda: events(
        core, namespace, "rails-policy", "Remediated"), op=remediating)
    # the applied line, then (once the 512Mi pod runs) the verified one
    lines = wait_for("policy status", lambda: [
        (a["action"], a["result"], a["target"]) for a in policy_status(
            api, namespace, "rails").get("lastActions", [])], op=remediating)
    assert ("floor", "applied", "Deployment/rails") in lines
    assert remediating.sample("crashwatch_remediations_total", action="floor",
                              result="applied") == 1
    status = wait_for("matched workloads", lambda: policy_status(api, namespace, "rails").get(
        "matchedWorkloads") == 1 and policy_status(api, namespace, "rails"), op=remediating)
    assert status["workloads"] == ["Deployment/rails"]
    assert status["conditions"][0]["type"] == "Ready"


def test_memory_floor_in_dry_run_changes_nothing_but_says_what_it_would_do(
    remediating: Operator, api: client.ApiClient, core: client.CoreV1Api,
    apps: client.AppsV1Api, namespace: str,
) -> None:
    policy(api, namespace, "rails", resourceFloor={"enabled": True, "headroomPercent": 0})
    shrink_and_oom(core, apps, namespace)
    ev = wait_for("dry-run Event", lambda: events(core, namespace, "rails",
                                                  "RemediationDryRun"), op=remediating)
    assert ev[0].message.startswith("[rails-policy] would pin memory floor 512Mi")
    assert memory_limit(apps, namespace, "rails") == "32Mi"
    assert remediating.sample("crashwatch_remediations_total", action="floor",
                              result="dry_run") == 1


def vpa(api: client.ApiClient, ns: str, name: str, target: str) -> dict[str, Any]:
    """A VerticalPodAutoscaler over a Deployment, as its recommender leaves it after it
    watched a crashing app: a target far below what the app needs, no floor."""
    return dict(client.CustomObjectsApi(api).create_namespaced_custom_object(
        "autoscaling.k8s.io", "v1", ns, "verticalpodautoscalers",
        {"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
         "metadata": {"name": name},
         "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                "name": target},
                  "updatePolicy": {"updateMode": "Recreate"},
                  "resourcePolicy": {"containerPolicies": [
                      {"containerName": "app", "controlledResources": ["memory"]}]}},
         "status": {"recommendation": {"containerRecommendations": [
             {"containerName": "app", "target": {"memory": "32Mi"},
              "lowerBound": {"memory": "32Mi"}, "upperBound": {"memory": "64Mi"}}]}}}))


def vpa_floor(api: client.ApiClient, ns: str, name: str) -> str | None:
    obj = client.CustomObjectsApi(api).get_namespaced_custom_object(
        "autoscaling.k8s.io", "v1", ns, "verticalpodautoscalers", name)
    for pol in obj["spec"].get("resourcePolicy", {}).get("containerPolicies", []):
        if pol.get("containerName") == "app":
            return pol.get("minAllowed", {}).get("memory")  # type: ignore[no-any-return]
    return None


def test_memory_floor_lands_on_the_vpa_that_manages_the_workload(
    remediating: Operator, api: client.ApiClient, core: client.CoreV1Api,
    apps: client.AppsV1Api, namespace: str,
) -> None:
    """With a VPA over the Deployment, the floor is the VPA's minAllowed (a floor pinned on
    the template would be undone by the VPA's next eviction): the real API server takes the
    replace of the custom object, the VPA's other fields stay, the template is not touched."""
    vpa(api, namespace, "rails-vpa", "rails")
    policy(api, namespace, "rails", dryRun=False,
           resourceFloor={"enabled": True, "headroomPercent": 0})
    shrink_and_oom(core, apps, namespace)
    wait_for("minAllowed 512Mi on the VPA",
             lambda: vpa_floor(api, namespace, "rails-vpa") == "512Mi", op=remediating)
    obj = client.CustomObjectsApi(api).get_namespaced_custom_object(
        "autoscaling.k8s.io", "v1", namespace, "verticalpodautoscalers", "rails-vpa")
    assert obj["spec"]["updatePolicy"] == {"updateMode": "Recreate"}
    assert obj["spec"]["resourcePolicy"]["containerPolicies"] == [
        {"containerName": "app", "controlledResources": ["memory"],
         "minAllowed": {"memory": "512Mi"}}]
    # the record on the Deployment is written once the VPA took the floor
    record = wait_for("the floor's record on the Deployment", lambda: (
        apps.read_namespaced_deployment("rails", namespace).metadata.annotations or {}).get(
            "crashwatch.dev/memory-floor"), op=remediating)
    assert '"memory": "512Mi"' in record
    assert memory_limit(apps, namespace, "rails") == "32Mi"  # the VPA's to apply, not ours
    lines = wait_for("policy status", lambda: [
        (a["action"], a["result"], a["target"]) for a in policy_status(
            api, namespace, "rails").get("lastActions", [])], op=remediating)
    assert ("floor", "applied", "Deployment/rails") in lines
    ev = wait_for("Event on the Deployment", lambda: events(
        core, namespace, "rails", "Remediated"), op=remediating)
    assert "VerticalPodAutoscaler rails-vpa minAllowed" in ev[0].message
    assert remediating.sample("crashwatch_remediations_total", action="floor",
                              result="applied") == 1


def promote_and_crash(core: client.CoreV1Api, apps: client.AppsV1Api, ns: str, image: str,
                      logs_dir: Path) -> str:
    apps.patch_namespaced_deployment("shop", ns, {"spec": {"template": {
        "metadata": {"annotations": {kubelet.SIMULATED_ANNOTATION: "true"}},
        "spec": {"containers": [{"name": "app", "image": image}]}}}})

    def new_pod() -> str | None:
        for p in core.list_namespaced_pod(ns, label_selector="app=shop").items:
            if p.spec.containers[0].image == image and p.spec.node_name and not (
                    p.metadata.deletion_timestamp):
                return str(p.metadata.name)
        return None
    name = str(wait_for(f"a pod of {image}", new_pod, timeout=60))
    kubelet.crash_loop(core, (ns, name), "app", exit_code=1, restarts=3, logs_dir=logs_dir,
                       log="KeyError: 'SECRET_KEY_BASE'\n")
    return name


def why_not_rolled_back(control_plane: ControlPlane, ns: str, pod: str) -> str:
    """``crashwatch explain`` on the crashing pod, and the Deployment's ReplicaSets."""
    binary = shutil.which("crashwatch", path=str(Path(sys.executable).parent)) or "crashwatch"
    out = subprocess.run([binary, "explain", "--kubeconfig", str(control_plane.admin_kubeconfig),
                          "-n", ns, pod], capture_output=True, text=True, timeout=120, check=False)
    rs = subprocess.run([binary, "diagnose", "--kubeconfig",
                         str(control_plane.admin_kubeconfig), "-n", ns, "-o", "json"],
                        capture_output=True, text=True, timeout=120, check=False)
    return (f"crashwatch explain {pod}:\n{out.stdout[-6000:]}{out.stderr[-1000:]}\n"
            f"crashwatch diagnose -n {ns}:\n{rs.stdout[-4000:]}{rs.stderr[-1000:]}")


def image_of(apps: client.AppsV1Api, ns: str) -> str:
    return str(apps.read_namespaced_deployment("shop", ns).spec.template.spec.containers[0].image)


def test_regression_is_rolled_back_then_a_second_one_is_refused_in_cooldown_even_after_restart(
    control_plane: ControlPlane, api: client.ApiClient, core: client.CoreV1Api,
    apps: client.AppsV1Api, namespace: str, tmp_path: Path,
) -> None:
    make_deployment(apps, namespace, "shop", image="example/shop:1.0")
    running_pods(core, namespace, "shop")
    (tmp_path / "first").mkdir()
    op = start_operator(control_plane, tmp_path / "first", "remediation", ENV)
    try:
        policy(api, namespace, "shop", dryRun=False, cooldown="1h",
               rollback={"enabled": True, "minRegressionDuration": "1s"})
        crashed = promote_and_crash(core, apps, namespace, "example/shop:1.1", op.logs_dir)
        try:
            wait_for("rolled back to 1.0",
                     lambda: image_of(apps, namespace) == "example/shop:1.0", op=op)
        except AssertionError as e:
            # once seen under load (2026-11-30, not reproduced since): say why no
            # regression was raised, from the cluster as it stands
            raise AssertionError(f"{e}\n{why_not_rolled_back(control_plane, namespace, crashed)}"
                                 ) from None
        # The Deployment becomes available again on the old image.
        wait_for("available on 1.0", lambda: all(
            p.spec.containers[0].image == "example/shop:1.0"
            for p in running_pods(core, namespace, "shop")), timeout=90)
        wait_for("the Remediated Event", lambda: events(core, namespace, "shop",
                                                        "Remediated"), op=op)
        assert op.sample("crashwatch_remediations_total", action="rollback",
                         result="applied") == 1
        # Issue #12, defect 6: the regression ended (by crashwatch's own rollback): its gauge
        # and the Deployment's annotation go, and the rollout is verified.
        wait_for("the regression gauge back to 0", lambda: op.sample(
            "crashwatch_failing_workload", namespace=namespace,
            reason="Rollout.Regression") == 0, op=op)
        wait_for("the Deployment's annotation gone", lambda: REASON not in annotations(
            apps.read_namespaced_deployment("shop", namespace)), op=op)
        wait_for("the rollback verified", lambda: events(
            core, namespace, "shop", "RemediationVerified"), op=op)
    finally:
        stop_operator(op)

    # A fresh operator process: the cooldown lives on the Deployment, not in memory.
    (tmp_path / "second").mkdir()
    op = start_operator(control_plane, tmp_path / "second", "remediation", ENV)
    try:
        promote_and_crash(core, apps, namespace, "example/shop:1.2", op.logs_dir)
        refused = wait_for("refusal reported", lambda: events(
            core, namespace, "shop", "RemediationSkipped"), op=op, timeout=60)
        assert "in cooldown" in refused[0].message
        assert image_of(apps, namespace) == "example/shop:1.2"
        assert op.sample("crashwatch_remediations_total", action="rollback",
                         result="refused") == 1
        # the policy's status is written just after the Events
        wait_for("the refusal in the policy's status", lambda: [
            (a["action"], a["result"]) for a in policy_status(api, namespace, "shop").get(
                "lastActions", [])][:1] == [("rollback", "refused")], op=op)
    finally:
        stop_operator(op)


def test_rollback_in_dry_run_changes_nothing_but_says_what_it_would_do(
    remediating: Operator, api: client.ApiClient, core: client.CoreV1Api,
    apps: client.AppsV1Api, namespace: str,
) -> None:
    policy(api, namespace, "shop", rollback={"enabled": True, "minRegressionDuration": "1s"})
    make_deployment(apps, namespace, "shop", image="example/shop:1.0")
    running_pods(core, namespace, "shop")
    promote_and_crash(core, apps, namespace, "example/shop:1.1", remediating.logs_dir)
    ev = wait_for("dry-run Event", lambda: events(core, namespace, "shop", "RemediationDryRun"),
                  op=remediating)
    assert "would roll back Deployment shop from revision 2 to 1" in ev[0].message
    assert image_of(apps, namespace) == "example/shop:1.1"


def test_a_floor_a_limit_range_forbids_is_refused_and_nothing_is_changed(
    remediating: Operator, api: client.ApiClient, core: client.CoreV1Api,
    apps: client.AppsV1Api, namespace: str,
) -> None:
    """Issue #12, defect 9: with a LimitRange max of 256Mi the floor patch was accepted and
    its ReplicaSet then failed FailedCreate; crashwatch reported it applied."""
    core.create_namespaced_limit_range(namespace, {"metadata": {"name": "mem-cap"}, "spec": {
        "limits": [{"type": "Container", "max": {"memory": "600Mi"}}]}})
    shrink_and_oom(core, apps, namespace)  # a 512Mi app fits under 600Mi ...
    core.patch_namespaced_limit_range("mem-cap", namespace, {"spec": {"limits": [
        {"type": "Container", "max": {"memory": "256Mi"}}]}})  # ... until the cap is lowered
    policy(api, namespace, "rails", dryRun=False,
           resourceFloor={"enabled": True, "headroomPercent": 0})
    refused = wait_for("the refusal", lambda: events(core, namespace, "rails",
                                                     "RemediationSkipped"), op=remediating)
    assert "LimitRange mem-cap" in refused[0].message and "256Mi" in refused[0].message
    assert memory_limit(apps, namespace, "rails") == "32Mi"


def test_a_floor_the_namespace_then_refuses_is_reported_failed(
    remediating: Operator, api: client.ApiClient, core: client.CoreV1Api,
    apps: client.AppsV1Api, namespace: str,
) -> None:
    """A floor is applied, but the new pods cannot be created (a quota on memory limits):
    crashwatch follows the rollout and says it did not take, in the controller's words."""
    shrink_and_oom(core, apps, namespace)
    core.create_namespaced_resource_quota(namespace, {"metadata": {"name": "mem"}, "spec": {
        "hard": {"limits.memory": "300Mi"}}})
    wait_for("the quota counted", lambda: (core.read_namespaced_resource_quota(
        "mem", namespace).status.hard or {}).get("limits.memory"), timeout=60)
    policy(api, namespace, "rails", dryRun=False,
           resourceFloor={"enabled": True, "headroomPercent": 0})
    wait_for("floor pinned at 512Mi", lambda: memory_limit(apps, namespace, "rails") == "512Mi",
             op=remediating)
    failed = wait_for("the failure reported", lambda: events(
        core, namespace, "rails", "RemediationFailed"), timeout=90, op=remediating)
    assert "did not take" in failed[0].message and "exceeded quota" in failed[0].message
    # the policy's status is written just after the Events
    wait_for("the failure in the policy's status", lambda: [
        (a["action"], a["result"]) for a in policy_status(api, namespace, "rails").get(
            "lastActions", [])][:1] == [("floor", "failed")], op=remediating)


def test_a_regression_of_an_argo_cd_managed_deployment_is_not_rolled_back(
    remediating: Operator, api: client.ApiClient, core: client.CoreV1Api,
    apps: client.AppsV1Api, namespace: str,
) -> None:
    """Issue #12, defect 10: rolled back with no word; a self-healing Argo CD puts the bad
    revision back and the two fight."""
    make_deployment(apps, namespace, "shop", image="example/shop:1.0")
    apps.patch_namespaced_deployment("shop", namespace, {"metadata": {"annotations": {
        "argocd.argoproj.io/tracking-id": f"shop:apps/Deployment:{namespace}/shop"}}})
    running_pods(core, namespace, "shop")
    policy(api, namespace, "shop", dryRun=False,
           rollback={"enabled": True, "minRegressionDuration": "1s"})
    promote_and_crash(core, apps, namespace, "example/shop:1.1", remediating.logs_dir)
    refused = wait_for("the refusal", lambda: events(core, namespace, "shop",
                                                     "RemediationSkipped"), op=remediating)
    assert "managed by Argo CD" in refused[0].message and "Git" in refused[0].message
    assert image_of(apps, namespace) == "example/shop:1.1"


def test_a_regression_rolled_back_by_hand_clears_its_gauge_and_annotation(
    remediating: Operator, core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str,
) -> None:
    """Issue #12, defect 6: after a manual rollback the annotation and the workload gauge
    stayed, and the critical alert kept firing."""
    make_deployment(apps, namespace, "shop", image="example/shop:1.0")
    running_pods(core, namespace, "shop")
    promote_and_crash(core, apps, namespace, "example/shop:1.1", remediating.logs_dir)
    wait_for("the regression", lambda: remediating.sample(
        "crashwatch_failing_workload", namespace=namespace, reason="Rollout.Regression") == 1,
        op=remediating)
    # kubectl rollout undo, by hand: the old template back (kwok runs it again)
    apps.patch_namespaced_deployment("shop", namespace, {"spec": {"template": {
        "metadata": {"annotations": {kubelet.SIMULATED_ANNOTATION: None}},
        "spec": {"containers": [{"name": "app", "image": "example/shop:1.0"}]}}}})
    wait_for("the regression gauge back to 0", lambda: remediating.sample(
        "crashwatch_failing_workload", namespace=namespace,
        reason="Rollout.Regression") == 0, timeout=90, op=remediating)
    wait_for("the Deployment's annotation gone", lambda: REASON not in annotations(
        apps.read_namespaced_deployment("shop", namespace)), timeout=60, op=remediating)
