"""The Helm chart's renderings pass a server-side dry-run on the real API server: its values
files (the same objects as the overlays, tests/deploy/test_helm.py) and a rendering with every
option that changes what is rendered set to a non-default value."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.cluster.controlplane.plane import REPO, ControlPlane
from tests.e2e.deploying import install_monitoring_crds, kubectl

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

CHART = REPO / "deploy" / "helm" / "crashwatch"
OPTIONS = [
    "--set", "remediation.enabled=true", "--set", "leaderElection.enabled=true",
    "--set", "leaderElection.replicas=3", "--set", "ownerAnnotations=false",
    "--set", "watch.namespaces={shop,billing}", "--set", "watch.namespaceSelector=team=payments",
    "--set", "dryRun=true", "--set", "logLevel=debug", "--set", "image.digest=sha256:" + "a" * 64,
    "--set", "metrics.port=9100", "--set", "health.port=8081",
    "--set", "serviceMonitor.labels.release=kps", "--set", "prometheusRule.labels.release=kps",
    "--set-json", 'networkPolicy.metricsFrom=[{"namespaceSelector":{"matchLabels":'
                  '{"kubernetes.io/metadata.name":"monitoring"}}}]',
    "--set", "grafanaDashboard.enabled=true", "--set", "podAnnotations.team=platform",
    "--set", "podLabels.tier=ops", "--set", "nodeSelector.kubernetes\\.io/os=linux",
    "--set-json", 'tolerations=[{"key":"ops","operator":"Exists","effect":"NoSchedule"}]',
    "--set", "priorityClassName=system-cluster-critical",
    "--set-json", 'extraEnv=[{"name":"CRASHWATCH_LOG_TAIL_LINES","value":"100"}]',
    "--set-json", 'imagePullSecrets=[{"name":"registry"}]',
]


@pytest.fixture(scope="module")
def helm() -> Path:
    out = subprocess.run(["bash", str(REPO / "tests" / "tools" / "ensure-helm.sh")],
                         check=True, capture_output=True, text=True, timeout=3600)
    return Path(out.stdout.strip().splitlines()[-1]) / "helm"


@pytest.mark.parametrize("values", ["defaults", "remediation", "ha", "sharded", "every option"])
def test_chart_passes_server_side_dry_run(control_plane: ControlPlane, helm: Path,
                                          values: str) -> None:
    install_monitoring_crds(control_plane)
    kubectl(control_plane, "apply", "--server-side", "-f",
            str(REPO / "deploy" / "base" / "namespace.yaml"))
    args = {"defaults": [], "every option": OPTIONS}.get(
        values, ["--values", str(CHART / "ci" / f"{values}-values.yaml")])
    rendered = subprocess.run(
        [str(helm), "template", "crashwatch", str(CHART), "--namespace", "crashwatch", *args],
        check=True, capture_output=True, text=True, timeout=120).stdout
    # As the same field manager as the overlays' apply (other tests' modules apply them), so
    # that what the chart leaves out (the ha overlay's rollingUpdate) is dropped, not kept.
    out = kubectl(control_plane, "apply", "--server-side", "--force-conflicts",
                  "--dry-run=server", "-f", "-", stdin=rendered).stdout
    runs = "statefulset.apps" if values == "sharded" else "deployment.apps"
    assert f"{runs}/crashwatch serverside-applied (server dry run)" in out, out
    if values != "defaults":
        assert "clusterrole.rbac.authorization.k8s.io/crashwatch-remediate" in out
        assert "customresourcedefinition.apiextensions.k8s.io/remediationpolicies" in out
    if values in ("ha", "every option"):
        assert "role.rbac.authorization.k8s.io/crashwatch-leader-election" in out
    if values in ("ha", "sharded", "every option"):
        assert "poddisruptionbudget.policy/crashwatch" in out
    if values == "every option":
        assert "configmap/crashwatch-dashboard" in out
