"""`make demo`, run non-interactively: every incident is diagnosed with its specific reason
and evidence, both remediations happen, the alerts fire, and nothing is left behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cluster.controlplane.plane import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def test_the_demo_replays_every_incident_and_both_remediations(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    out = subprocess.run(
        [sys.executable, str(REPO / "examples" / "live_demo.py"), "--summary-json",
         str(summary)], capture_output=True, text=True, timeout=280, cwd=REPO, check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    data = json.loads(summary.read_text())
    seen = {(s["workload"], s["reason"]): s["summary"] for s in data["seen"]}
    expect = {
        ("storefront/rails", "CrashLoop.OOMAfterShrink"): ["512Mi", "32Mi"],
        ("storefront-prod/rails", "CrashLoop.MissingEnv"): ["SECRET_KEY_BASE"],
        ("storefront-prod/rails", "Rollout.Regression"): ["rails:7.4.1"],
        ("identity/keycloak", "CrashLoop.ReadOnlyFilesystem"): ["/opt/keycloak/lib/quarkus"],
        ("billing/server", "Config.MissingConfigMapKey"): ["invoice_template", "server-config"],
        ("billing/worker", "Config.MissingSecret"): ["worker-env"],
        ("jupyter/hub", "Image.NotFound"): ["quay.io/jupyterhub/k8s-hub:4.9.9"],
        ("payments/api", "CrashLoop.LivenessProbe"): ["404"],
        ("payments/ledger", "CrashLoop.LivenessProbe"): ["db-proxy", "9801"],
    }
    for key, needles in expect.items():
        assert key in seen, (key, sorted(seen))
        for needle in needles:
            assert needle in seen[key], (key, needle, seen[key])
    actions = {(r["namespace"], r["action"], r["result"]) for r in data["remediations"]}
    assert ("storefront", "floor", "applied") in actions
    assert ("storefront-prod", "rollback", "applied") in actions
    alerts = {a["alertname"] for a in data["alerts"]}
    assert {"CrashwatchWorkloadFailing", "CrashwatchConfigurationError",
            "CrashwatchRolloutRegression"} <= alerts
    assert "everything was cleaned up" in out.stdout
    left = subprocess.run(["pgrep", "-f", "crashwatch-demo-"], capture_output=True, text=True,
                          check=False).stdout.split()
    assert left == []
