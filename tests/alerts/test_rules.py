"""The shipped alert rules, checked and unit-tested by a real promtool."""

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
    assert "SUCCESS: 7 rules found" in out.stdout


def test_alerts_fire_when_and_only_when_they_should():
    out = _promtool("test", "rules", "tests/rules_test.yaml")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout
