"""The Grafana dashboard (deploy/grafana/crashwatch.json), offline: its ConfigMap is generated
from it, it is shaped as Grafana loads it, every query parses (promtool) and every metric
crashwatch exports is on it. tests/e2e/test_dashboard.py runs the queries against a real
Prometheus scraping a real ``crashwatch run``."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml
from tests.deploy.dashboard import (
    BUILTINS,
    DASHBOARD,
    label_values,
    load,
    panels,
    queries,
    substitute,
    used_variables,
    variables,
)
from tests.scripts import load_script

from crashwatch.metrics import Metrics

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "deploy" / "grafana"


def test_configmap_is_generated_from_the_dashboard() -> None:
    module = load_script(GRAFANA / "render_configmap.py")
    committed = (GRAFANA / "configmap.yaml").read_text()
    assert committed == module.render(), "run deploy/grafana/render_configmap.py"
    cm = yaml.safe_load(committed)
    assert cm["data"]["crashwatch.json"] == DASHBOARD.read_text()
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"  # what the sidecar selects


def test_dashboard_is_shaped_as_grafana_loads_it() -> None:
    dash = load()
    assert dash["uid"] == "crashwatch" and dash["title"] == "crashwatch"
    assert dash["id"] is None, "an exported id would clash with the importing Grafana's"
    ids = [p["id"] for p in dash["panels"]] + [
        p["id"] for row in dash["panels"] for p in row.get("panels", [])]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    datasource = next(v for v in dash["templating"]["list"] if v["type"] == "datasource")
    assert datasource["name"] == "datasource" and datasource["query"] == "prometheus"
    for panel in panels(dash):
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        assert panel.get("description"), f"{panel['title']} says what it shows"
    for v in variables(dash):
        assert v["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_every_variable_used_is_defined_before_use() -> None:
    dash = load()
    defined: list[str] = []
    for v in variables(dash):
        selector, _ = label_values(v)
        assert used_variables(selector) <= set(defined), f"${v['name']} uses a later variable"
        defined.append(v["name"])
    for q in queries(dash):
        assert used_variables(q.expr) <= set(defined) | set(BUILTINS), q


def test_every_query_parses(tmp_path: Path) -> None:
    """promtool parses each query, substituted as Grafana would, as a recording rule."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: run tests/tools/ensure-tools.sh (make test does)"
    dash = load()
    selected = {"job": ["crashwatch"], "namespace": ["shop", "billing"],
                "reason": ["CrashLoop.OOMKilled", "Rollout.Regression"]}
    exprs = [substitute(q.expr, selected) for q in queries(dash)]
    exprs += [substitute(label_values(v)[0], selected) for v in variables(dash)]
    assert r'reason=~"(CrashLoop\\.OOMKilled|Rollout\\.Regression)"' in "\n".join(exprs)
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    (tmp_path / "queries.yaml").write_text(yaml.safe_dump(rules))
    out = subprocess.run([promtool, "check", "rules", str(tmp_path / "queries.yaml")],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in out.stdout


def test_every_metric_crashwatch_exports_is_on_the_dashboard() -> None:
    names = {family.name for family in Metrics().registry.collect()}
    text = "\n".join([q.expr for q in queries(load())]
                     + [label_values(v)[0] for v in variables(load())])
    used = set(re.findall(r"\bcrashwatch_\w+", text))
    for name in sorted(names):
        # a counter family is collected without its _total, a histogram is read by _bucket
        assert used & {name, f"{name}_total", f"{name}_info", f"{name}_bucket"}, name
