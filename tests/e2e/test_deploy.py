"""deploy/ proven on a real API server: every overlay passes server-side dry-run, the
Deployment passes Pod Security `restricted`, and the ServiceAccount gets exactly what the
code uses: refused Secrets, pod deletion, and (watch-only) patching a Deployment."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from kubernetes import client
from tests.cluster.controlplane.plane import ControlPlane
from tests.cluster.nodes.kwok import kubelet
from tests.e2e.deploying import (
    OVERLAYS,
    apply_overlay,
    install_monitoring_crds,
    kubectl,
    remove_binding,
    serviceaccount_kubeconfig,
)
from tests.e2e.test_operator import (
    REASON,
    annotations,
    make_deployment,
    own_events,
    running_pods,
    start_operator,
    stop_operator,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def monitoring(control_plane: ControlPlane) -> None:
    install_monitoring_crds(control_plane)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_passes_server_side_dry_run(
    control_plane: ControlPlane, monitoring: None, overlay: str
) -> None:
    # The namespace itself first (a dry-run cannot put objects into a namespace it only
    # pretended to create); then every object of the overlay, dry-run on the server.
    kubectl(control_plane, "apply", "--server-side", "-f",
            str(Path(__file__).resolve().parents[2] / "deploy" / "base" / "namespace.yaml"))
    out = apply_overlay(control_plane, overlay, dry_run=True)
    runs = "statefulset.apps/crashwatch" if overlay == "sharded" else "deployment.apps/crashwatch"
    for kind in ("serviceaccount/crashwatch", "clusterrole.rbac.authorization.k8s.io/"
                 "crashwatch-watch", runs, "service/crashwatch-metrics",
                 "servicemonitor.monitoring.coreos.com/crashwatch",
                 "prometheusrule.monitoring.coreos.com/crashwatch"):
        assert kind in out, out
    if overlay == "sharded":
        assert "deployment.apps/crashwatch" not in out, out
        assert "poddisruptionbudget.policy/crashwatch" in out, out
    if overlay in ("remediation", "sharded"):
        assert "customresourcedefinition.apiextensions.k8s.io/remediationpolicies" in out
        assert "clusterrole.rbac.authorization.k8s.io/crashwatch-remediate" in out


def _can(plane: ControlPlane, kubeconfig: Path, verb: str, resource: str,
         namespace: str | None = None) -> bool:
    resource, _, sub = resource.partition("/")
    args = ["auth", "can-i", verb, resource] + ([f"--subresource={sub}"] if sub else [])
    args += ["-n", namespace] if namespace else ["--all-namespaces"]
    return kubectl(plane, *args, kubeconfig=kubeconfig, check=False).stdout.strip() == "yes"


def test_watch_only_serviceaccount_gets_exactly_what_it_needs(
    control_plane: ControlPlane, monitoring: None, core: client.CoreV1Api,
    apps: client.AppsV1Api, namespace: str,
) -> None:
    remove_binding(control_plane, "crashwatch-remediate")
    apply_overlay(control_plane, "watch-only")
    sa = serviceaccount_kubeconfig(control_plane)
    for verb, res in (("list", "pods"), ("watch", "pods"), ("patch", "pods"),
                      ("get", "pods/log"), ("create", "events"), ("patch", "events"),
                      ("watch", "replicasets.apps"), ("watch", "deployments.apps"),
                      ("watch", "jobs.batch"),
                      ("watch", "verticalpodautoscalers.autoscaling.k8s.io")):
        assert _can(control_plane, sa, verb, res, namespace), (verb, res)
    # Refused for real, by the API server, with the SA's own token.
    core.create_namespaced_secret(namespace, {"metadata": {"name": "db"},
                                              "stringData": {"password": "x"}})
    apps.create_namespaced_deployment(namespace, {
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "app", "image": "x/web:1"}]}}}})
    with control_plane.api_client(sa) as api:
        sa_core, sa_apps = client.CoreV1Api(api), client.AppsV1Api(api)
        sa_core.list_namespaced_pod(namespace)  # allowed
        for call in (lambda: sa_core.read_namespaced_secret("db", namespace),
                     lambda: sa_core.list_namespaced_secret(namespace),
                     lambda: sa_core.delete_collection_namespaced_pod(namespace),
                     lambda: sa_apps.patch_namespaced_deployment(
                         "web", namespace, {"metadata": {"annotations": {"x": "y"}}})):
            with pytest.raises(client.ApiException) as err:
                call()
            assert err.value.status == 403
    assert not _can(control_plane, sa, "delete", "pods", namespace)
    assert not _can(control_plane, sa, "get", "secrets", namespace)
    assert not _can(control_plane, sa, "*", "*", namespace)


def test_remediation_overlay_adds_the_write_role(
    control_plane: ControlPlane, monitoring: None, namespace: str,
) -> None:
    apply_overlay(control_plane, "remediation")
    sa = serviceaccount_kubeconfig(control_plane)
    assert _can(control_plane, sa, "patch", "deployments.apps", namespace)
    assert _can(control_plane, sa, "patch", "verticalpodautoscalers.autoscaling.k8s.io",
                namespace)
    assert _can(control_plane, sa, "patch", "remediationpolicies.crashwatch.dev/status",
                namespace)
    # Still never Secrets, never deleting pods.
    assert not _can(control_plane, sa, "get", "secrets", namespace)
    assert not _can(control_plane, sa, "delete", "pods", namespace)


def _crashwatch_pods(plane: ControlPlane, core: client.CoreV1Api, n: int,
                     selector: str = "") -> list[client.V1Pod]:
    """The ``n`` crashwatch pods the overlay's controller made (admitted: Pod Security
    would have refused them otherwise), waited for."""
    selector = ",".join(x for x in ("app.kubernetes.io/name=crashwatch", selector) if x)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        pods = [p for p in core.list_namespaced_pod("crashwatch", label_selector=selector).items
                if not p.metadata.deletion_timestamp]
        if len(pods) >= n:
            return list(pods)
        time.sleep(0.5)
    raise AssertionError(kubectl(plane, "-n", "crashwatch", "get", "events").stdout)


def test_the_deployment_is_admitted_under_pod_security_restricted(
    control_plane: ControlPlane, monitoring: None, core: client.CoreV1Api,
) -> None:
    apply_overlay(control_plane, "watch-only")
    kubectl(control_plane, "-n", "crashwatch", "scale", "deployment/crashwatch", "--replicas=1")
    try:
        pods = _crashwatch_pods(control_plane, core, 1)
        sc = pods[0].spec.containers[0].security_context
        assert sc.read_only_root_filesystem and not sc.allow_privilege_escalation
        assert sc.capabilities.drop == ["ALL"] and pods[0].spec.security_context.run_as_non_root
    finally:
        kubectl(control_plane, "-n", "crashwatch", "scale", "deployment/crashwatch",
                "--replicas=0")


def test_the_sharded_overlay_runs_one_pod_per_shard_with_the_deployments_hardening(
    control_plane: ControlPlane, monitoring: None, core: client.CoreV1Api,
    apps: client.AppsV1Api,
) -> None:
    """overlays/sharded: a StatefulSet of 3 whose pods are admitted under Pod Security
    `restricted`, each told N and its own index (the pod-index label, through the downward
    API), with the Deployment's pod template otherwise (copied by kustomize, not rewritten)."""
    apply_overlay(control_plane, "remediation")
    template = apps.read_namespaced_deployment("crashwatch", "crashwatch").spec.template
    apps.delete_namespaced_deployment("crashwatch", "crashwatch")
    apply_overlay(control_plane, "sharded")
    kubectl(control_plane, "-n", "crashwatch", "scale", "statefulset/crashwatch", "--replicas=3")
    try:
        pods = _crashwatch_pods(control_plane, core, 3, "apps.kubernetes.io/pod-index")
        assert sorted(p.metadata.labels["apps.kubernetes.io/pod-index"] for p in pods) == [
            "0", "1", "2"]
        for pod in pods:
            c = pod.spec.containers[0]
            env = {e.name: e for e in c.env}
            assert env["CRASHWATCH_SHARDS"].value == "3"
            assert env["POD_INDEX"].value_from.field_ref.field_path == (
                "metadata.labels['apps.kubernetes.io/pod-index']")
            assert env["CRASHWATCH_REMEDIATION"].value == "true"
            ours = template.spec.containers[0]
            mounts = [m for m in c.volume_mounts if not m.name.startswith("kube-api-access")]
            assert (c.security_context, c.resources, c.liveness_probe, c.readiness_probe,
                    c.image, mounts) == (
                ours.security_context, ours.resources, ours.liveness_probe,
                ours.readiness_probe, ours.image, ours.volume_mounts)
            assert pod.spec.security_context == template.spec.security_context
        pdb = client.PolicyV1Api(core.api_client).read_namespaced_pod_disruption_budget(
            "crashwatch", "crashwatch")
        assert pdb.spec.max_unavailable == 1
    finally:
        kubectl(control_plane, "-n", "crashwatch", "delete", "statefulset/crashwatch",
                "poddisruptionbudget/crashwatch", "--ignore-not-found")


def test_watch_only_operator_annotates_pods_and_only_posts_events_on_owners(
    control_plane: ControlPlane, monitoring: None, core: client.CoreV1Api,
    apps: client.AppsV1Api, namespace: str, tmp_path: Path,
) -> None:
    remove_binding(control_plane, "crashwatch-remediate")
    op = start_operator(control_plane, tmp_path, "watch-only",
                        {"CRASHWATCH_OWNER_ANNOTATIONS": "false"})
    try:
        make_deployment(apps, namespace, "worker")
        pod = running_pods(core, namespace, "worker")[0].metadata.name
        kubelet.config_error(core, (namespace, pod), "app", kind="secret", name="worker-env")
        wait_for("pod annotated", lambda: annotations(core.read_namespaced_pod(
            pod, namespace)).get(REASON) == "Config.MissingSecret", op=op)
        wait_for("Event on the Deployment", lambda: own_events(core, namespace, "worker"),
                 op=op)
        assert REASON not in annotations(apps.read_namespaced_deployment("worker", namespace))
    finally:
        stop_operator(op)


def _policy(spec: dict[str, object]) -> dict[str, object]:
    return {"apiVersion": "crashwatch.dev/v1alpha1", "kind": "RemediationPolicy",
            "metadata": {"name": "p"}, "spec": spec}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"selector": {}}, "must enable resourceFloor or rollback"),
        ({"selector": {}, "resourceFloor": {"enabled": True, "headroomPercent": 500}},
         "headroomPercent"),
        ({"selector": {}, "resourceFloor": {"enabled": True, "target": "Somewhere"}},
         "target"),
        ({"selector": {}, "rollback": {"enabled": True, "maxPerDay": 0}}, "maxPerDay"),
        ({"selector": {}, "rollback": {"enabled": True}, "cooldown": "soon"}, "cooldown"),
        ({"selector": {"matchExpressions": [{"key": "app", "operator": "In"}]},
          "rollback": {"enabled": True}}, "In and NotIn need values"),
        ({"rollback": {"enabled": True}}, "selector"),
    ],
    ids=["nothing-enabled", "headroom", "target", "max-per-day", "cooldown", "in-no-values",
         "no-selector"],
)
def test_invalid_remediation_policies_are_rejected_by_the_api_server(
    control_plane: ControlPlane, monitoring: None, api: client.ApiClient, namespace: str,
    spec: dict[str, object], message: str,
) -> None:
    apply_overlay(control_plane, "remediation")
    custom = client.CustomObjectsApi(api)
    with pytest.raises(client.ApiException) as err:
        custom.create_namespaced_custom_object("crashwatch.dev", "v1alpha1", namespace,
                                               "remediationpolicies", _policy(spec))
    assert err.value.status == 422
    assert message in str(err.value.body)


def test_a_valid_policy_gets_safe_defaults(
    control_plane: ControlPlane, monitoring: None, api: client.ApiClient, namespace: str,
) -> None:
    apply_overlay(control_plane, "remediation")
    custom = client.CustomObjectsApi(api)
    made = custom.create_namespaced_custom_object(
        "crashwatch.dev", "v1alpha1", namespace, "remediationpolicies",
        _policy({"selector": {"matchLabels": {"app": "rails"}},
                 "resourceFloor": {"enabled": True}}))
    spec = made["spec"]
    assert spec["dryRun"] is True and spec["cooldown"] == "30m"
    assert spec["resourceFloor"] == {"enabled": True, "target": "Auto", "headroomPercent": 10,
                                     "ceiling": "4Gi"}
    assert spec["rollback"] == {"enabled": False, "minRegressionDuration": "5m", "maxPerDay": 3}
    table = kubectl(control_plane, "-n", namespace, "get", "remediationpolicies").stdout
    assert table.split()[:5] == ["NAME", "DRY-RUN", "FLOOR", "ROLLBACK", "MATCHED"]
