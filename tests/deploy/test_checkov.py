"""Static checks of the Kubernetes manifests under deploy/ with checkov (a pinned version in
.cache/tools-venv: tests/tools/ensure-pytools.sh; `make test-deploy` runs both).

Kustomizations (base and each overlay) are rendered and checked as a whole by checkov's
kustomize framework; Helm charts (deploy/helm/, rendered with their default values by the helm
built by tests/tools/ensure-helm.sh) by its helm framework; plain manifests outside any
kustomization or chart by its kubernetes framework. The kubernetes framework's findings on files
inside a kustomization tree or a chart are dropped: it would read a strategic-merge patch as a
whole (and empty) Deployment and miss the kustomization's namespace.

A finding that is accepted rather than fixed is skipped where the resource is written, with a
reason, in either form:
  * an annotation, the form checkov itself reads for Kubernetes (and that survives kustomize);
    the reason must not contain "=":
        metadata:
          annotations:
            checkov.io/skip1: CKV_K8S_43=<why>
  * a comment anywhere in the resource's YAML document:
        # checkov:skip=CKV_K8S_43:<why>
    checkov ignores comments in Kubernetes YAML (and kustomize drops them when it renders), so
    this test applies them itself: in a plain manifest, to that check on that resource; in a
    kustomization tree, to that check on every rendering of the resource of that kind and name
    (and, for a workload, on the Pod checkov derives from it); in a chart's template (read
    without rendering: the document's `kind:` and its first `  name:` line), to that check on
    the chart's rendering of that kind and name.
A skip without a reason fails the test.
"""

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
TOOLS_BIN = REPO / ".cache" / "tools-venv" / "bin"
ENSURE = REPO / "tests" / "tools" / "ensure-pytools.sh"
ENSURE_HELM = REPO / "tests" / "tools" / "ensure-helm.sh"
KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
NO_REASON = {"", "No comment provided"}
COMMENT_SKIP = re.compile(r"#.*checkov:skip=([A-Z0-9_]+)(?::\s*(.*\S))?")
TEMPLATE_KIND = re.compile(r"(?m)^kind:\s*([A-Za-z0-9]+)\s*$")
TEMPLATE_NAME = re.compile(r"(?m)^  name:\s*([A-Za-z0-9.-]+)\s*$")


@dataclass(frozen=True)
class Finding:
    framework: str
    check_id: str
    check_name: str
    resource: str
    file: str
    reason: str = ""
    path: Path | None = None  # absolute

    def __str__(self) -> str:
        why = f" [{self.reason}]" if self.reason else ""
        return f"{self.check_id} {self.resource} ({self.file}) {self.check_name}{why}"


@dataclass(frozen=True)
class CommentSkip:
    check_id: str
    kind: str
    name: str
    reason: str
    where: str
    path: Path
    chart: str | None = None  # the chart's directory (from the root checked), for a template


def _chart_roots(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("Chart.yaml"))


def _kustomize_roots(root: Path) -> list[Path]:
    return sorted({p.parent for name in KUSTOMIZATIONS for p in root.rglob(name)})


def _in_tree(path: Path, roots: list[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def _comment_skips(root: Path) -> tuple[list[CommentSkip], list[str]]:
    """Skip comments in the YAML documents under root; and those without a reason."""
    skips: list[CommentSkip] = []
    unjustified: list[str] = []
    files = {p for ext in ("*.yaml", "*.yml") for p in root.rglob(ext)}
    charts = _chart_roots(root)
    for path in sorted(files):
        chart = next((c for c in charts if c / "templates" in path.parents), None)
        line = 0
        for doc in re.split(r"^---[^\n]*$", path.read_text(), flags=re.M):
            found = [(line + n, m) for n, text in enumerate(doc.splitlines(), start=1)
                     if (m := COMMENT_SKIP.search(text))]
            line += doc.count("\n")
            if not found:
                continue
            if chart is not None:  # a template: not YAML until rendered
                kind_m, name_m = TEMPLATE_KIND.search(doc), TEMPLATE_NAME.search(doc)
                kind = kind_m.group(1) if kind_m else ""
                name = name_m.group(1) if name_m else ""
            else:
                try:
                    obj = yaml.safe_load(doc) or {}
                except yaml.YAMLError:
                    obj = {}
                kind = obj.get("kind", "") if isinstance(obj, dict) else ""
                name = (obj.get("metadata") or {}).get("name", "") if isinstance(obj, dict) else ""
            for number, m in found:
                where = f"{path.relative_to(REPO) if REPO in path.parents else path}:{number}"
                if not m.group(2):
                    unjustified.append(f"{where}: checkov:skip={m.group(1)} gives no reason")
                elif not kind or not name:
                    unjustified.append(f"{where}: skip comment outside a resource with kind/name")
                else:
                    skips.append(CommentSkip(
                        m.group(1), kind, name, m.group(2), where, path,
                        chart.relative_to(root).as_posix() if chart is not None else None))
    return skips, unjustified


def _matches(skip: CommentSkip, finding: Finding) -> bool:
    if skip.check_id != finding.check_id:
        return False
    if finding.framework == "kubernetes" and finding.path != skip.path:
        return False
    # a chart's skips hold for that chart's rendering only (file: /<chart dir>/templates/...)
    if (finding.framework == "helm") != (skip.chart is not None):
        return False
    if skip.chart is not None and not finding.file.strip("/").startswith(
            f"{skip.chart}/templates/"):
        return False
    # kustomize resource ids: [base:|overlay:<name>:]Kind.namespace.name[.pod labels]
    m = re.fullmatch(r"(?:base:|overlay:[^:]*:)?([^.:]+)\.([^.]+)\.(.+)", finding.resource)
    if not m:
        return False
    kind, rendered = m.group(1), m.group(3)
    if kind == "Pod" and skip.kind in WORKLOADS:
        rendered = rendered.split(".", 1)[0]
    elif kind != skip.kind:
        return False
    # namePrefix/nameSuffix of an overlay may surround the name
    return re.search(rf"(^|-){re.escape(skip.name)}(-|$)", rendered) is not None


def _run_checkov(root: Path) -> list[dict]:
    subprocess.run(["bash", str(ENSURE)], check=True, timeout=1800)
    helm_bin = subprocess.run(["bash", str(ENSURE_HELM)], check=True, timeout=1800,
                              capture_output=True, text=True).stdout.strip().splitlines()[-1]
    checkov = TOOLS_BIN / "checkov"
    assert checkov.exists(), f"checkov missing: run {ENSURE.relative_to(REPO)}"
    env = {**os.environ,
           "PATH": os.pathsep.join([str(TOOLS_BIN), helm_bin, os.environ.get("PATH", "")])}
    env.pop("BC_API_KEY", None)  # never talk to the vendor's platform
    out = subprocess.run(
        [str(checkov), "--directory", str(root), "--framework", "kubernetes", "kustomize", "helm",
         # not --quiet: in JSON it drops the skipped checks, whose reasons this test reads
         "--compact", "--skip-download", "--output", "json"],
        capture_output=True, text=True, timeout=600, check=False, env=env, cwd=root.parent,
    )
    # 0: nothing failed, 1: something failed; anything else is checkov itself failing
    assert out.returncode in (0, 1), out.stdout[-2000:] + out.stderr[-4000:]
    reports = json.loads(out.stdout)
    # one framework with results: one report; several: a list; none: a bare summary
    if isinstance(reports, dict):
        reports = [reports] if "check_type" in reports else []
    return reports


@dataclass
class Verdict:
    reports: list[dict]
    failed: list[Finding]
    skipped: list[Finding]
    unjustified: list[str]


def evaluate(root: Path) -> Verdict:
    roots = _kustomize_roots(root) + _chart_roots(root)
    reports = _run_checkov(root)
    comment_skips, unjustified = _comment_skips(root)
    failed: list[Finding] = []
    skipped: list[Finding] = []
    for report in reports:
        framework = report["check_type"]
        results = report.get("results", {})
        for key, bucket in (("failed_checks", failed), ("skipped_checks", skipped)):
            for c in results.get(key, []):
                path = c.get("file_abs_path") or c.get("file_path", "")
                if framework == "kubernetes" and _in_tree(Path(path), roots):
                    continue  # rendered and checked by the kustomize or helm framework instead
                reason = (c.get("check_result") or {}).get("suppress_comment", "") or ""
                bucket.append(Finding(framework, c["check_id"], c.get("check_name", ""),
                                      c["resource"], c.get("file_path", path), reason,
                                      Path(path)))
    still_failed: list[Finding] = []
    for f in failed:
        skip = next((s for s in comment_skips if _matches(s, f)), None)
        if skip:
            skipped.append(Finding(f.framework, f.check_id, f.check_name, f.resource,
                                   skip.where, skip.reason))
        else:
            still_failed.append(f)
    unjustified += [f"{s}: skipped without a reason" for s in skipped if s.reason in NO_REASON]
    return Verdict(reports, still_failed, skipped, unjustified)


@pytest.fixture(scope="module")
def deploy() -> Verdict:
    return evaluate(DEPLOY)


def test_checkov_read_every_kustomization(deploy):
    for report in deploy.reports:
        assert report["summary"]["parsing_errors"] == 0, report["results"].get("parsing_errors")
    if _kustomize_roots(DEPLOY):
        # checkov quietly drops the framework when neither kubectl nor kustomize works
        rendered = [r for r in deploy.reports if r["check_type"] == "kustomize"]
        assert rendered and rendered[0]["summary"]["resource_count"] > 0, (
            "checkov rendered no kustomization: is kubectl or kustomize usable? "
            "(tests/tools/ensure-pytools.sh builds kustomize where neither is on PATH)"
        )


def test_checkov_rendered_every_chart(deploy):
    charts = _chart_roots(DEPLOY)
    assert charts, "deploy/helm/crashwatch is a chart"
    # checkov quietly drops a chart when helm is missing or writes anything on stderr
    rendered = [r for r in deploy.reports if r["check_type"] == "helm"]
    assert rendered and rendered[0]["summary"]["resource_count"] > 0, (
        "checkov rendered no Helm chart: is tests/tools/ensure-helm.sh's helm usable, and does "
        "`helm template` print nothing on stderr?")
    files = {c["file_path"].strip("/").rpartition("/templates/")[0] for key in (
        "passed_checks", "failed_checks", "skipped_checks")
        for c in rendered[0]["results"].get(key, [])}
    assert files == {c.relative_to(DEPLOY).as_posix() for c in charts}, files


def test_manifests_pass_checkov_or_say_why_not(deploy):
    assert not deploy.failed, (
        f"{len(deploy.failed)} checkov finding(s); fix each, or skip it where the resource is "
        "written with a reason (see this file's docstring):\n"
        + "\n".join(f"  {f}" for f in sorted(deploy.failed, key=str))
    )


def test_every_skip_gives_a_reason(deploy):
    assert not deploy.unjustified, "\n".join(deploy.unjustified)


# --- the harness itself, on a small tree it writes --------------------------------------

_SAMPLE_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: sample
  annotations:
    checkov.io/skip1: CKV_K8S_43=annotation reason
  # checkov:skip=CKV_K8S_15:comment reason
spec:
  selector: {matchLabels: {app: sample}}
  template:
    metadata: {labels: {app: sample}}
    spec:
      containers:
        - name: app
          image: registry.example/sample:1.0
"""

_SAMPLE_TEMPLATE = """\
# checkov:skip=CKV_K8S_8:chart comment reason
apiVersion: apps/v1
kind: Deployment
metadata:
  name: sample
  labels: {app: sample}
spec:
  selector: {matchLabels: {app: sample}}
  template:
    metadata: {labels: {app: sample}}
    spec:
      containers:
        - name: app
          image: registry.example/sample:{{ .Values.tag }}
"""


def test_harness_honours_skips_and_reports_the_rest(tmp_path):
    root = tmp_path / "deploy"
    (root / "base").mkdir(parents=True)
    (root / "overlay").mkdir()
    (root / "plain").mkdir()
    (root / "base" / "deployment.yaml").write_text(_SAMPLE_DEPLOYMENT)
    (root / "base" / "kustomization.yaml").write_text(
        "namespace: sample\nresources: [deployment.yaml]\n"
    )
    (root / "overlay" / "kustomization.yaml").write_text(
        "resources: [../base]\npatches: [{path: patch.yaml}]\n"
    )
    (root / "overlay" / "patch.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: sample}\n"
        "spec: {replicas: 2}\n"
    )
    (root / "plain" / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: plain\n  namespace: x\n"
        "  # checkov:skip=CKV_K8S_43\n  # checkov:skip=CKV_K8S_16: privileged, for the test\n"
        "spec: {containers: [{name: c, image: 'img:1', securityContext: {privileged: true}}]}\n"
    )
    (root / "chart" / "templates").mkdir(parents=True)
    (root / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: chart\nversion: 0.1.0\n")
    (root / "chart" / "values.yaml").write_text("tag: '1.0'\n")
    (root / "chart" / "templates" / "deployment.yaml").write_text(_SAMPLE_TEMPLATE)
    verdict = evaluate(root)

    # a chart is rendered by helm; its template's skip holds there, and only there
    helm = {(f.check_id, f.resource) for f in verdict.failed if f.framework == "helm"}
    assert ("CKV_K8S_20", "Deployment.default.sample") in helm
    assert ("CKV_K8S_8", "Deployment.default.sample") not in helm
    skipped = {(f.check_id, f.reason) for f in verdict.skipped}
    assert ("CKV_K8S_8", "chart comment reason") in skipped
    assert ("CKV_K8S_8", "base:Deployment.sample.sample") in {
        (f.check_id, f.resource) for f in verdict.failed if f.framework == "kustomize"}
    assert ("CKV_K8S_15", "Deployment.default.sample") in helm, "the base's skip stays there"
    assert not [f for f in verdict.failed if f.framework == "kubernetes" and "chart" in f.file]

    kustomize = {(f.check_id, f.resource) for f in verdict.failed if f.framework == "kustomize"}
    assert ("CKV_K8S_20", "base:Deployment.sample.sample") in kustomize
    assert ("CKV_K8S_20", "overlay:overlay:Deployment.sample.sample") in kustomize
    failed_ids = {f.check_id for f in verdict.failed if f.framework == "kustomize"}
    assert not failed_ids & {"CKV_K8S_43", "CKV_K8S_15"}, "annotation and comment skips hold"
    reasons = {(f.check_id, f.reason) for f in verdict.skipped}
    assert ("CKV_K8S_43", "annotation reason") in reasons
    assert ("CKV_K8S_15", "comment reason") in reasons
    # the patch is not read as a Deployment of its own, and the namespace comes from kustomize
    assert not [f for f in verdict.failed if "patch.yaml" in f.file]
    assert "CKV_K8S_21" not in failed_ids
    # plain manifests go through the kubernetes framework
    plain = {f.check_id for f in verdict.failed if f.framework == "kubernetes"}
    assert "CKV_K8S_20" in plain  # allowPrivilegeEscalation unset
    assert "CKV_K8S_16" not in plain  # privileged, skipped by a comment with a reason
    assert ("CKV_K8S_16", "privileged, for the test") in reasons
    assert "CKV_K8S_43" in plain  # a skip without a reason does not hold...
    # ...and is reported
    assert any("CKV_K8S_43" in u for u in verdict.unjustified), verdict.unjustified
