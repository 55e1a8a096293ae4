"""The Helm chart (deploy/helm/crashwatch) against the kustomize overlays it mirrors, with the
helm that tests/tools/ensure-helm.sh builds from its Go module.

`helm template` of the chart and `kustomize build` of an overlay must give the same objects,
compared as parsed objects keyed by (apiVersion, kind, namespace, name), so that the two
installs never drift. Set aside, and nothing else:

* the order of the objects (a mapping, not a stream);
* Helm's own four labels in ``metadata.labels`` (app.kubernetes.io/instance, managed-by,
  version and helm.sh/chart): Helm's convention for what a release owns; each is checked to
  hold the release's value, and kustomize's objects must not carry them;
* the annotation ``helm.sh/resource-policy: keep`` on the RemediationPolicy CRD: without it
  ``helm uninstall`` deletes the CRD and with it every RemediationPolicy in the cluster
  (kubectl never deletes what it applied, so the overlay needs none);
* the order of a container's ``env`` entries, compared by name: kustomize's strategic merge
  puts an overlay's entries before the base's, Helm's template writes them in one order; the
  order matters to Kubernetes only for ``$(VAR)`` references, and the test checks none exist;
* the Namespace, with the default values: Helm keeps its release record in the release's
  namespace, so that namespace must exist before the chart is installed and the chart cannot
  create it by default (``namespace.create=false``); with ``namespace.create=true`` the chart
  renders the overlay's Namespace object, labels included, and the test compares that too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.scripts import load_script

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
CHART = DEPLOY / "helm" / "crashwatch"
ENSURE_HELM = REPO / "tests" / "tools" / "ensure-helm.sh"
RELEASE, NAMESPACE = "crashwatch", "crashwatch"
HELM_LABELS = ("app.kubernetes.io/instance", "app.kubernetes.io/managed-by",
               "app.kubernetes.io/version", "helm.sh/chart")
KEEP = "helm.sh/resource-policy"
# overlay -> the chart's values for it
VALUES = {
    "watch-only": [],
    "remediation": [CHART / "ci" / "remediation-values.yaml"],
    "ha": [CHART / "ci" / "ha-values.yaml"],
    "sharded": [CHART / "ci" / "sharded-values.yaml"],
}
Key = tuple[str, str, str, str]


@pytest.fixture(scope="module")
def helm() -> Path:
    out = subprocess.run(["bash", str(ENSURE_HELM)], check=True, capture_output=True, text=True,
                         timeout=3600)
    binary = Path(out.stdout.strip().splitlines()[-1]) / "helm"
    assert binary.exists(), out.stderr[-2000:]
    return binary


def run_helm(helm: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([str(helm), *args], capture_output=True, text=True, timeout=120,
                         check=False, cwd=REPO)
    if check:
        assert out.returncode == 0, out.stderr
    return out


def render(helm: Path, *args: str) -> list[dict[str, Any]]:
    out = run_helm(helm, "template", RELEASE, str(CHART), "--namespace", NAMESPACE, *args)
    assert out.stderr == "", out.stderr  # checkov's helm framework drops a chart that warns
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def kustomize(overlay: str) -> list[dict[str, Any]]:
    path = str(DEPLOY / "overlays" / overlay)
    standalone = shutil.which("kustomize") or shutil.which(
        "kustomize", path=str(REPO / ".cache" / "tools-venv" / "bin"))
    kubectl = shutil.which("kubectl")
    assert standalone or kubectl, "kustomize or kubectl is needed (tests/tools/ensure-pytools.sh)"
    cmd = [standalone, "build", path] if standalone else [str(kubectl), "kustomize", path]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def key(obj: dict[str, Any]) -> Key:
    meta = obj["metadata"]
    return (obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])


def chart_meta() -> dict[str, Any]:
    return dict(yaml.safe_load((CHART / "Chart.yaml").read_text()))


def set_aside_helm(objs: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    """The chart's objects with what Helm adds set aside (after checking it is Helm's)."""
    meta = chart_meta()
    own = {"app.kubernetes.io/instance": RELEASE, "app.kubernetes.io/managed-by": "Helm",
           "app.kubernetes.io/version": meta["appVersion"],
           "helm.sh/chart": f"{meta['name']}-{meta['version']}"}
    out = {}
    for obj in objs:
        labels = obj["metadata"].get("labels") or {}
        assert {k: labels.pop(k, None) for k in HELM_LABELS} == own, key(obj)
        if obj["kind"] == "CustomResourceDefinition":
            annotations = obj["metadata"].get("annotations") or {}
            assert annotations.pop(KEEP, None) == "keep", "helm uninstall must keep the CRD"
            if not annotations:
                obj["metadata"].pop("annotations", None)
        out[key(obj)] = normalise(obj)
    return out


def as_overlay(objs: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    for obj in objs:
        assert not set(obj["metadata"].get("labels") or {}) & set(HELM_LABELS), key(obj)
    return {key(o): normalise(o) for o in objs}


def normalise(obj: dict[str, Any]) -> dict[str, Any]:
    """A container's env as a mapping by name (its order is kustomize's merge order)."""
    spec = obj.get("spec", {}).get("template", {}).get("spec", {})
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        if "env" in container:
            names = [e["name"] for e in container["env"]]
            assert len(names) == len(set(names)), f"{key(obj)}: env names repeat: {names}"
            assert not any("$(" in str(e.get("value", "")) for e in container["env"]), (
                f"{key(obj)}: an env value refers to another; its order matters")
            container["env"] = {e["name"]: e for e in container["env"]}
    return obj


def assert_same(chart: dict[Key, dict[str, Any]], overlay: dict[Key, dict[str, Any]]) -> None:
    assert sorted(chart) == sorted(overlay), (
        f"only in the chart: {sorted(set(chart) - set(overlay))}; "
        f"only in the overlay: {sorted(set(overlay) - set(chart))}")
    for k in sorted(overlay):
        assert chart[k] == overlay[k], (
            f"{k} differs:\n--- overlay\n{yaml.safe_dump(overlay[k], sort_keys=True)}"
            f"--- chart\n{yaml.safe_dump(chart[k], sort_keys=True)}")


def values_args(overlay: str) -> list[str]:
    return [arg for path in VALUES[overlay] for arg in ("--values", str(path))]


@pytest.mark.parametrize("overlay", sorted(VALUES))
def test_chart_renders_the_overlays_objects(helm: Path, overlay: str) -> None:
    chart = set_aside_helm(render(helm, *values_args(overlay)))
    expected = as_overlay(kustomize(overlay))
    namespace = ("v1", "Namespace", "", NAMESPACE)
    assert namespace in expected and namespace not in chart
    del expected[namespace]
    assert_same(chart, expected)


@pytest.mark.parametrize("overlay", sorted(VALUES))
def test_chart_with_its_namespace_renders_the_overlays_objects_all(helm: Path,
                                                                    overlay: str) -> None:
    chart = set_aside_helm(render(helm, *values_args(overlay), "--set", "namespace.create=true"))
    assert_same(chart, as_overlay(kustomize(overlay)))


def test_default_values_are_the_watch_only_install(helm: Path) -> None:
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert defaults["remediation"]["enabled"] is False
    assert defaults["leaderElection"]["enabled"] is False
    kinds = {k[1] for k in set_aside_helm(render(helm))}
    assert "CustomResourceDefinition" not in kinds and "Role" not in kinds


def test_chart_lints_clean_with_each_values_file(helm: Path) -> None:
    for overlay in sorted(VALUES):
        out = run_helm(helm, "lint", "--strict", str(CHART), *values_args(overlay), check=False)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "0 chart(s) failed" in out.stdout
        assert "[WARNING]" not in out.stdout and "[ERROR]" not in out.stdout, out.stdout
        assert out.stderr == "", out.stderr


def test_values_schema_rejects_what_would_render_wrong(helm: Path) -> None:
    for bad, needle in (("remediation.enabled=maybe", "/remediation/enabled"),
                        ("imag.tag=1", "'imag' not allowed"),
                        ("image.pullPolicy=Sometimes", "/image/pullPolicy"),
                        ("resources.limits.memory=lots", "/resources/limits/memory"),
                        ("leaderElection.replicas=1", "/leaderElection/replicas"),
                        ("sharding.shards=0", "/sharding/shards"),
                        ("watch.namespaces[0]=Not_A_Namespace", "/watch/namespaces/0")):
        out = run_helm(helm, "template", RELEASE, str(CHART), "--set", bad, check=False)
        assert out.returncode != 0 and needle in out.stderr, (bad, out.stderr)
    schema = json.loads((CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(schema["properties"]) == set(defaults), "every value is in the schema"


def by_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def container(objs: list[dict[str, Any]]) -> dict[str, Any]:
    (deployment,) = by_kind(objs, "Deployment")
    return dict(deployment["spec"]["template"]["spec"]["containers"][0])


def env(objs: list[dict[str, Any]]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container(objs)["env"]}


def test_values_change_what_they_say(helm: Path) -> None:
    objs = render(helm, "--set", "watch.namespaces={shop,billing}",
                  "--set", "watch.namespaceSelector=team=payments", "--set", "dryRun=true",
                  "--set", "logLevel=debug", "--set", "resources.limits.memory=1Gi",
                  "--set", "image.digest=sha256:" + "a" * 64, "--set", "metrics.port=9100")
    e = env(objs)
    assert e["CRASHWATCH_NAMESPACES"] == "shop,billing"
    assert e["CRASHWATCH_NAMESPACE_SELECTOR"] == "team=payments"
    assert e["CRASHWATCH_DRY_RUN"] == "true" and e["CRASHWATCH_LOG_LEVEL"] == "debug"
    assert e["CRASHWATCH_METRICS_PORT"] == "9100"
    c = container(objs)
    assert c["resources"]["limits"]["memory"] == "1Gi"
    assert c["image"] == "ghcr.io/crashwatch/crashwatch@sha256:" + "a" * 64
    assert {"name": "metrics", "containerPort": 9100, "protocol": "TCP"} in c["ports"]
    assert by_kind(objs, "Service")[0]["spec"]["ports"][0]["port"] == 9100

    off = render(helm, "--set", "serviceMonitor.enabled=false",
                 "--set", "prometheusRule.enabled=false", "--set", "networkPolicy.enabled=false")
    assert not {"ServiceMonitor", "PrometheusRule", "NetworkPolicy"} & {o["kind"] for o in off}

    # remediation without owner annotations; the CRD installed some other way
    rem = render(helm, "--set", "remediation.enabled=true", "--set", "ownerAnnotations=false",
                 "--set", "remediation.installCRD=false")
    assert env(rem)["CRASHWATCH_REMEDIATION"] == "true"
    assert env(rem)["CRASHWATCH_OWNER_ANNOTATIONS"] == "false"
    assert not by_kind(rem, "CustomResourceDefinition")
    assert any(o["metadata"]["name"] == "crashwatch-remediate"
               for o in by_kind(rem, "ClusterRole"))

    # only the scrapers named may reach the metrics port; the health port stays open
    peer = '{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}'
    scoped = render(helm, "--set-json", f"networkPolicy.metricsFrom=[{peer}]")
    (policy,) = by_kind(scoped, "NetworkPolicy")
    rules = policy["spec"]["ingress"]
    assert rules[0] == {"ports": [{"port": "metrics", "protocol": "TCP"}],
                        "from": [json.loads(peer)]}
    assert rules[1] == {"ports": [{"port": "health", "protocol": "TCP"}]}


def test_sharding_sets_the_shard_count_on_the_statefulset_and_its_pods(helm: Path) -> None:
    objs = render(helm, "--set", "sharding.enabled=true", "--set", "sharding.shards=5",
                  "--set", "sharding.podDisruptionBudget.maxUnavailable=2")
    assert not by_kind(objs, "Deployment")
    (sts,) = by_kind(objs, "StatefulSet")
    assert sts["spec"]["replicas"] == 5
    (c,) = sts["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in c["env"]}
    assert env["CRASHWATCH_SHARDS"]["value"] == "5"
    assert env["POD_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.labels['apps.kubernetes.io/pod-index']")
    assert "CRASHWATCH_LEADER_ELECTION" not in env
    (pdb,) = by_kind(objs, "PodDisruptionBudget")
    assert pdb["spec"] == {"maxUnavailable": 2,
                           "selector": {"matchLabels": {"app.kubernetes.io/name": "crashwatch"}}}
    # no Lease to elect on: a StatefulSet never runs two pods of one ordinal at once
    assert not by_kind(objs, "Role")
    out = run_helm(helm, "template", RELEASE, str(CHART), "--set", "sharding.enabled=true",
                   "--set", "leaderElection.enabled=true", check=False)
    assert out.returncode != 0 and "not supported" in out.stderr, out.stderr


def test_prometheusrule_holds_the_rules_of_deploy_prometheus(helm: Path) -> None:
    (rule,) = by_kind(render(helm, "--set", "prometheusRule.labels.release=kps"),
                      "PrometheusRule")
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules.yaml").read_text())
    assert rule["spec"]["groups"] == rules["groups"]
    assert rule["metadata"]["labels"]["release"] == "kps"


def test_chart_copies_are_their_sources() -> None:
    sync = load_script(DEPLOY / "helm" / "sync_files.py")
    assert {p.name for p in sync.COPIES} == {
        p.name for p in (CHART / "files").iterdir() if p.name != "README.md"}
    for copy in sync.COPIES:
        assert not copy.is_symlink()
        assert copy.read_text() == sync.render(copy), (
            f"{copy.relative_to(REPO)} differs from its source: run deploy/helm/sync_files.py")


def test_dashboard_configmap_is_deploy_grafanas(helm: Path) -> None:
    objs = render(helm, "--set", "grafanaDashboard.enabled=true",
                  "--set", "grafanaDashboard.namespace=monitoring")
    (cm,) = set_aside_helm(by_kind(objs, "ConfigMap")).values()
    # the file names no namespace: it is applied into Grafana's with kubectl apply -n
    assert cm["metadata"].pop("namespace") == "monitoring"
    assert cm == yaml.safe_load((DEPLOY / "grafana" / "configmap.yaml").read_text())


def test_helm_is_the_pinned_version(helm: Path) -> None:
    pinned = next(line.split("=", 1)[1].split()[0] for line in ENSURE_HELM.read_text().splitlines()
                  if line.startswith("HELM_VERSION="))
    out = run_helm(helm, "version", "--short")
    assert out.stdout.startswith(pinned + "+") or out.stdout.strip() == pinned, out.stdout
    assert os.access(helm, os.X_OK)
