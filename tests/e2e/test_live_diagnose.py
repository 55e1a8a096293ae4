"""``crashwatch diagnose`` with no dump, ``crashwatch explain`` and ``kubectl crashwatch``
against the real local control plane.

The failures are written as a kubelet writes them (tests/cluster/nodes/kwok/kubelet.py, the same
scenarios the operator's tests drive) and their logs into a logs dir: there is no kubelet
behind a kwok node, so ``pods/log`` cannot answer, and the live command is given the same
``--logs-dir`` override the operator gets. The one thing read through ``pods/log`` here is a
refusal: RBAC answers 403 before the API server would ask a kubelet.
"""

from __future__ import annotations

import json
import os
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
from tests.e2e.namespaces import usable_namespace
from tests.e2e.test_operator import SCENARIOS, make_deployment, running_pods

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

BIN = Path(sys.executable).parent
#: Log-derived reasons: these need the container's log, not only its status.
FROM_LOGS = {"CrashLoop.MissingEnv", "CrashLoop.ReadOnlyFilesystem",
             "CrashLoop.DependencyUnreachable", "CrashLoop.PermissionDenied"}
#: What ``kubectl get`` dumps for the offline command (the kinds the live read reads).
DUMP_KINDS = ("pods,events,replicasets,deployments,statefulsets,daemonsets,jobs,cronjobs,"
              "configmaps,secrets,persistentvolumeclaims")


def run(*args: str, kubeconfig: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """A command as a user runs it: the venv's bin first on PATH (kubectl finds the plugin
    there), KUBECONFIG set, stdout not a terminal."""
    env = {**os.environ, "KUBECONFIG": str(kubeconfig),
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(list(args), capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)


def crashwatch(*args: str, kubeconfig: Path) -> subprocess.CompletedProcess[str]:
    return run(str(BIN / "crashwatch"), *args, kubeconfig=kubeconfig)


def kubectl_path() -> str:
    found = shutil.which("kubectl")
    assert found, "kubectl is needed on PATH (as for applying deploy/)"
    return found


@pytest.fixture(scope="module")
def failing(control_plane: ControlPlane, core: client.CoreV1Api, apps: client.AppsV1Api,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """One namespace where every scenario of the operator's tests fails once, plus a Secret
    that lost its kustomize prefix; yields (namespace, logs dir, {pod: expected reason})."""
    ns = usable_namespace(core, "live")
    logs = tmp_path_factory.mktemp("live-logs")
    expected: dict[str, str] = {}
    for scenario, (reason, drive, _) in sorted(SCENARIOS.items()):
        make_deployment(apps, ns, scenario)
        pod = running_pods(core, ns, scenario)[0].metadata.name
        drive(core, (ns, pod), logs)
        expected[pod] = reason
    # kustomize's namePrefix applied to the Secret but not to the reference
    core.create_namespaced_secret(ns, client.V1Secret(
        metadata=client.V1ObjectMeta(name="shop-db-credentials"), string_data={"url": "x"}))
    make_deployment(apps, ns, "prefix", container={"envFrom": [
        {"secretRef": {"name": "db-credentials"}}]})
    pod = running_pods(core, ns, "prefix")[0].metadata.name
    kubelet.config_error(core, (ns, pod), "app", kind="secret", name="db-credentials")
    expected[pod] = "Config.MissingSecret"
    try:
        yield ns, logs, expected
    finally:
        core.delete_namespace(ns)


def dump(control_plane: ControlPlane, ns: str, path: Path) -> Path:
    """``kubectl get ... -o json`` of the namespace, as a user would take it."""
    out = run(kubectl_path(), "get", DUMP_KINDS, "-n", ns, "-o", "json",
              kubeconfig=control_plane.admin_kubeconfig)
    assert out.returncode == 0, out.stderr
    items = json.loads(out.stdout)["items"]
    vpas = run(kubectl_path(), "get", "verticalpodautoscalers", "-n", ns, "-o", "json",
               kubeconfig=control_plane.admin_kubeconfig)
    if vpas.returncode == 0:  # only where the CRD is installed
        items += json.loads(vpas.stdout)["items"]
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    return path


def by_pod(findings: list[dict[str, Any]]) -> dict[str, str]:
    return {f["pod"]: f["reason"] for f in findings if f["pod"]}


def test_live_diagnose_finds_what_the_offline_command_finds_on_a_dump(
        control_plane: ControlPlane, failing: tuple[str, Path, dict[str, str]],
        tmp_path: Path) -> None:
    ns, logs, expected = failing
    snapshot = dump(control_plane, ns, tmp_path / "dump.json")
    offline = crashwatch("diagnose", "-f", str(snapshot), "--logs-dir", str(logs), "-o", "json",
                         kubeconfig=control_plane.admin_kubeconfig)
    live = crashwatch("diagnose", "-n", ns, "--logs-dir", str(logs), "-o", "json",
                      kubeconfig=control_plane.admin_kubeconfig)
    assert offline.returncode == 0, offline.stderr
    assert live.returncode == 0, live.stderr
    off, on = json.loads(offline.stdout), json.loads(live.stdout)
    assert on["notes"] == []  # the admin reads everything
    assert on["findings"] == off["findings"]
    assert by_pod(on["findings"]) == expected
    assert set(expected.values()) >= FROM_LOGS  # log-derived reasons included
    prefix = next(f for f in on["findings"] if f["reason"] == "Config.MissingSecret")
    assert prefix["details"]["similar"] == ["shop-db-credentials"]  # Secret names were read


def test_kwok_nodes_have_no_pods_log_and_the_live_command_says_so(
        control_plane: ControlPlane, failing: tuple[str, Path, dict[str, str]]) -> None:
    ns, _, expected = failing
    out = crashwatch("diagnose", "-n", ns, "-o", "json", kubeconfig=control_plane.admin_kubeconfig)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert set(by_pod(result["findings"])) == set(expected)
    (note,) = [n for n in result["notes"] if n.startswith("Logs of ")]
    # the API server asks the node's kubelet, which kwok does not run
    crashed = [pod for pod, reason in expected.items() if reason.startswith("CrashLoop.")]
    assert note.startswith(f"Logs of {len(crashed)} container(s) could not be read (HTTP 500")
    assert note.endswith(" more.") and "their findings carry no log evidence" in note


def test_kubectl_crashwatch_all_namespaces_one_pod_and_explain(
        control_plane: ControlPlane, failing: tuple[str, Path, dict[str, str]]) -> None:
    ns, logs, expected = failing
    kubectl = kubectl_path()
    admin = control_plane.admin_kubeconfig
    everywhere = run(kubectl, "crashwatch", "-A", "--logs-dir", str(logs), "-o", "json",
                     kubeconfig=admin)
    assert everywhere.returncode == 0, everywhere.stderr
    mine = {f["pod"]: f["reason"] for f in json.loads(everywhere.stdout)["findings"]
            if f["namespace"] == ns and f["pod"]}
    assert mine == expected

    pod = next(p for p, r in expected.items() if r == "CrashLoop.MissingEnv")
    one = run(kubectl, "crashwatch", pod, "-n", ns, "--logs-dir", str(logs), "-o", "table",
              kubeconfig=admin)
    assert one.returncode == 0, one.stderr
    lines = one.stdout.splitlines()
    assert lines[0].split()[:5] == ["NAMESPACE", "WORKLOAD", "POD", "CONTAINER", "REASON"]
    assert pod in lines[1] and "CrashLoop.MissingEnv" in lines[1]
    assert not any(other in one.stdout for other in expected if other != pod)

    explained = run(kubectl, "crashwatch", "explain", pod, "-n", ns, "--logs-dir", str(logs),
                    kubeconfig=admin)
    assert explained.returncode == 0, explained.stderr
    text = explained.stdout
    assert text.startswith(f"Pod {ns}/{pod} (Deployment/missing-env)\n")
    assert f"read from the cluster at {control_plane.server}" in text
    assert "Back-off restarting failed container app" in text  # the Events read
    assert "* the log: catalogue rule rails-secret-key-base" in text
    assert ("CrashLoop.MissingEnv (high confidence), container app: Container app exits "
            "because required setting SECRET_KEY_BASE is not set.") in text

    helped = run(kubectl, "crashwatch", "--help", kubeconfig=admin)
    assert helped.returncode == 0 and "kubectl plugin list" in helped.stdout


VIEWER_RULES = [  # read verbs on what a diagnosis reads; no pods/log, no ConfigMaps
    {"apiGroups": [""], "resources": ["pods", "events"], "verbs": ["get", "list"]},
    {"apiGroups": ["apps", "batch"], "resources": ["*"], "verbs": ["get", "list"]},
]


def test_a_serviceaccount_without_pods_log_gets_findings_and_notes(
        control_plane: ControlPlane, failing: tuple[str, Path, dict[str, str]],
        rbac: client.RbacAuthorizationV1Api, tmp_path: Path) -> None:
    ns, _, expected = failing
    rbac.create_namespaced_role(ns, {"metadata": {"name": "viewer"}, "rules": VIEWER_RULES})
    rbac.create_namespaced_role_binding(ns, {
        "metadata": {"name": "viewer"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "viewer"},
        "subjects": [{"kind": "ServiceAccount", "name": "viewer", "namespace": ns}]})
    viewer = control_plane.mint_serviceaccount_kubeconfig(ns, "viewer", create=True)
    user = f"system:serviceaccount:{ns}:viewer"

    out = crashwatch("diagnose", "-o", "json", kubeconfig=viewer)  # the context's namespace
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    found = by_pod(result["findings"])
    # every failing pod still has its finding: what its status and Events say, as the
    # offline command says it with no logs
    snapshot = dump(control_plane, ns, tmp_path / "dump.json")
    without_logs = crashwatch("diagnose", "-f", str(snapshot), "-o", "json",
                              kubeconfig=control_plane.admin_kubeconfig)
    assert found == by_pod(json.loads(without_logs.stdout)["findings"])
    assert set(found) == set(expected)
    degraded = {pod for pod, reason in expected.items() if found[pod] != reason}
    assert degraded and all(found[p] == "CrashLoop.AppError" for p in degraded)
    assert {expected[p] for p in degraded} <= FROM_LOGS
    logs_note = next(n for n in result["notes"] if n.startswith("Logs of "))
    assert "(pods/log forbidden: " in logs_note and user in logs_note
    assert 'cannot get resource "pods/log"' in logs_note
    # a whole kind refused: the Secret names a missing-Secret finding would compare with
    secrets = next(n for n in result["notes"] if n.startswith("Secrets in namespace"))
    assert "forbidden" in secrets and "similarly named Secrets are not pointed out" in secrets
    prefix = next(f for f in result["findings"] if f["reason"] == "Config.MissingSecret")
    assert "similar" not in prefix["details"]

    table = crashwatch("diagnose", "-o", "table", kubeconfig=viewer)
    assert table.returncode == 0, table.stderr
    footer = [line for line in table.stdout.splitlines() if line.startswith("Note: ")]
    assert any("pods/log forbidden" in line for line in footer)

    refused = crashwatch("diagnose", "-A", kubeconfig=viewer)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith("crashwatch: cannot list pods in all namespaces: ")
    assert refused.stderr.count("\n") == 1


def test_kubernetes_view_role_reads_all_it_needs_but_secret_names(
        control_plane: ControlPlane, failing: tuple[str, Path, dict[str, str]],
        rbac: client.RbacAuthorizationV1Api) -> None:
    """What the README says of the `view` ClusterRole, checked against the API server's
    own bootstrap role: pods/log is granted (kwok's missing kubelet answers, not RBAC)."""
    ns, _, expected = failing
    rbac.create_namespaced_role_binding(ns, {
        "metadata": {"name": "reader-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": ns}]})
    reader = control_plane.mint_serviceaccount_kubeconfig(ns, "reader", create=True)
    out = crashwatch("diagnose", "-o", "json", kubeconfig=reader)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert set(by_pod(result["findings"])) == set(expected)
    refused = sorted(n.split(" could not be read")[0] for n in result["notes"]
                     if "forbidden" in n)
    # Secret names (for the missing Secret), and VPAs where another test installed the CRD
    assert refused in ([f"Secrets in namespace {ns}"],
                       [f"Secrets in namespace {ns}", f"VerticalPodAutoscalers in namespace {ns}"])
    (logs,) = [n for n in result["notes"] if n.startswith("Logs of ")]
    assert "(HTTP 500" in logs and "forbidden" not in logs
