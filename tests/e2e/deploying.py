"""Applying deploy/ to the local control plane, as a platform team would."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from kubernetes import client
from tests.cluster.controlplane.plane import REPO, ControlPlane

DEPLOY = REPO / "deploy"
OVERLAYS = ("watch-only", "remediation", "ha", "sharded")
#: What runs crashwatch in each overlay (kind/name, as kubectl names it).
WORKLOAD = {"sharded": "statefulset/crashwatch"}

def _open_crd(group: str, kind: str, annotations: str = "{}") -> str:
    """A CRD of ``kind`` (plural: lower case + s) in ``group``, v1, schema left open."""
    plural, singular = f"{kind.lower()}s", kind.lower()
    return f"""
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.{group}
  annotations: {annotations}
spec:
  group: {group}
  scope: Namespaced
  names: {{kind: {kind}, plural: {plural}, singular: {singular}, listKind: {kind}List}}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}
"""


# Stand-ins for the Prometheus Operator's and the VPA's CRDs (not installable offline):
# same group, kinds and scope, schema left open, so ServiceMonitor and PrometheusRule can
# be applied and RBAC over VerticalPodAutoscalers can be checked and used.
_MONITORING_CRDS = "---".join([
    # as the VPA project's own CRD carries it (a *.k8s.io group)
    _open_crd("autoscaling.k8s.io", "VerticalPodAutoscaler", annotations=(
        "{api-approved.kubernetes.io: https://github.com/kubernetes/kubernetes/pull/63797}")),
    _open_crd("monitoring.coreos.com", "ServiceMonitor"),
    _open_crd("monitoring.coreos.com", "PrometheusRule"),
])


def kubectl(plane: ControlPlane, *args: str, stdin: str | None = None,
            kubeconfig: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("kubectl")
    assert binary, "kubectl (with kustomize) is needed to apply deploy/"
    env = {**os.environ, "KUBECONFIG": str(kubeconfig or plane.admin_kubeconfig)}
    out = subprocess.run([binary, *args], input=stdin, capture_output=True, text=True,
                         env=env, timeout=120, check=False)
    if check and out.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out


def install_monitoring_crds(plane: ControlPlane) -> None:
    kubectl(plane, "apply", "--server-side", "-f", "-", stdin=_MONITORING_CRDS)
    kubectl(plane, "wait", "--for=condition=Established", "--timeout=60s",
            "crd/servicemonitors.monitoring.coreos.com",
            "crd/prometheusrules.monitoring.coreos.com",
            "crd/verticalpodautoscalers.autoscaling.k8s.io")


def apply_overlay(plane: ControlPlane, overlay: str, dry_run: bool = False) -> str:
    args = ["apply", "--server-side", "--force-conflicts", "-k", str(DEPLOY / "overlays" / overlay)]
    if dry_run:
        args.append("--dry-run=server")
    out = kubectl(plane, *args).stdout
    if not dry_run:
        if overlay in ("remediation", "ha", "sharded"):
            kubectl(plane, "wait", "--for=condition=Established", "--timeout=60s",
                    "crd/remediationpolicies.crashwatch.dev")
        # In these tests crashwatch runs as a process beside the plane, under this
        # ServiceAccount's kubeconfig, not as the Deployment's (kwok-faked) pod.
        kubectl(plane, "-n", "crashwatch", "scale", WORKLOAD.get(overlay, "deployment/crashwatch"),
                "--replicas=0")
    return out


def remove_binding(plane: ControlPlane, name: str) -> None:
    kubectl(plane, "delete", "clusterrolebinding", name, "--ignore-not-found")


def serviceaccount_kubeconfig(plane: ControlPlane) -> Path:
    return Path(plane.mint_serviceaccount_kubeconfig("crashwatch", "crashwatch"))


def wait_namespace_gone(core: client.CoreV1Api, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            core.read_namespace(name)
        except client.ApiException as err:
            if err.status == 404:
                return
            raise
        time.sleep(0.5)
