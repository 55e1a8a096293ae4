"""The shipped alert rules, checked and unit-tested by a real promtool."""

import importlib.util
import shutil
import subprocess
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: run tests/tools/ensure-tools.sh (make test does)"
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120,
                          check=False, cwd=DEPLOY)


def test_rules_are_valid():
    out = _promtool("check", "rules", "rules.yaml")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 9 rules found" in out.stdout


def test_alerts_fire_when_and_only_when_they_should():
    out = _promtool("test", "rules", "tests/rules_test.yaml")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_prometheusrule_in_deploy_is_rendered_from_the_rules():
    spec = importlib.util.spec_from_file_location(
        "render_prometheusrule", DEPLOY / "render_prometheusrule.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (DEPLOY.parent / "base" / "prometheusrule.yaml").read_text()
    assert committed == module.render(), "run deploy/prometheus/render_prometheusrule.py"
