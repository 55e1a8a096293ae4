"""`make demo` (examples/realnode_demo.py), run non-interactively: it says what it runs on (the
real node's kubelet and containerd, crashwatch's pod and image digest), every incident fails
for real on the node and is diagnosed with its specific reason and evidence, both
remediations happen, the alerts fire in a real Prometheus, and the machine is left as it was.

The demo starts its own real node, and there is one per machine: the tier's conftest runs
this test before the shared ``cluster`` fixture starts (tests that do not use it go first).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cluster.controlplane.plane import REPO
from tests.cluster.nodes.real.node import (
    BRIDGE,
    STATE_FILE,
    _pids_of,
    build_node,
    current_sysctls,
    host_sysctls,
)

pytestmark = [pytest.mark.realnode, pytest.mark.timeout(900)]

# (workload, reason) -> what its summary must name
EXPECT = {
    ("storefront/shop", "CrashLoop.OOMAfterShrink"): ["512Mi", "32Mi", "demo-autoscaler"],
    ("storefront-prod/shop", "CrashLoop.MissingEnv"): ["CACHE_URL"],
    ("storefront-prod/shop", "Rollout.Regression"): ["revision 1", "/shop@sha256:",
                                                     "demo-promotion"],
    ("identity/sso", "CrashLoop.ReadOnlyFilesystem"): [
        "/opt/identity/lib/quarkus/build-system.properties"],
    ("billing/server", "Config.MissingConfigMapKey"): ["invoice_template", "server-config"],
    ("billing/worker", "Config.MissingSecret"): ["worker-env"],
    ("jupyter/hub", "Image.NotFound"): ["jupyterhub/k8s-hub:4.9.9"],
    ("payments/api", "CrashLoop.LivenessProbe"): ["/healthz", "404"],
    ("payments/ledger", "CrashLoop.LivenessProbe"): ["db-proxy", "9801", "refused"],
}


def test_make_demo_runs_every_incident_on_the_real_node_and_cleans_up(tmp_path: Path) -> None:
    sysctls_before = host_sysctls()
    cache = build_node()
    kube_version = cache.name  # the cache folder is named after the version it holds
    summary = tmp_path / "summary.json"
    out = subprocess.run(
        [sys.executable, str(REPO / "examples" / "realnode_demo.py"), "--summary-json",
         str(summary)], capture_output=True, text=True, timeout=880, cwd=REPO, check=False)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    data = json.loads(summary.read_text())

    # What it runs on, said at the start: the real node and crashwatch's pod and image digest.
    node, operator = data["runs_on"]["node"], data["runs_on"]["operator"]
    assert node["kubelet"] == kube_version
    assert node["container_runtime"].startswith("containerd://2.")
    assert operator["node"] == node["name"]
    assert operator["service_account"] == "crashwatch"
    assert "/crashwatch@sha256:" in operator["image_id"]
    head = out.stdout[:out.stdout.index("Creating the workloads")]
    for said in (f"kubelet {kube_version}", node["container_runtime"], operator["pod"],
                 operator["image_id"]):
        assert said in head, (said, head)

    # Every incident, with its reason and the evidence that names the fix.
    seen = {(s["workload"], s["reason"]): s["summary"] for s in data["seen"]}
    for key, needles in EXPECT.items():
        assert key in seen, (key, sorted(seen))
        for needle in needles:
            assert needle in seen[key], (key, needle, seen[key])
            assert needle in out.stdout, (key, needle)

    # Real failures, reported by the node itself, not written by the demo.
    assert data["oom_kills"] and all(k["exit_code"] == 137 and k["limit"] == "32Mi"
                                     for k in data["oom_kills"])
    kubelet = {(e["namespace"], e["message"]) for e in data["kubelet_events"]
               if e["host"] == node["name"]}
    assert ("payments", "Liveness probe failed: HTTP probe failed with statuscode: 404") in kubelet
    assert ("billing", 'Error: secret "worker-env" not found') in kubelet
    assert ("billing", "Error: couldn't find key invoice_template in ConfigMap "
            "billing/server-config") in kubelet
    assert any(ns == "jupyter" and m.startswith("Failed to pull image") and "not found" in m
               for ns, m in kubelet), kubelet

    # Both remediations, and the alerts the shipped rules fire.
    actions = {(r["namespace"], r["action"], r["result"]) for r in data["remediations"]}
    assert ("storefront", "floor", "applied") in actions
    assert ("storefront-prod", "rollback", "applied") in actions
    assert "storefront/shop is available again on 512Mi" in out.stdout
    assert "storefront-prod/shop is available again on shop:1" in out.stdout
    alerts = {a["alertname"] for a in data["alerts"]}
    assert {"CrashwatchWorkloadFailing", "CrashwatchConfigurationError",
            "CrashwatchRolloutRegression", "CrashwatchOOMAfterShrink"} <= alerts

    # Nothing left behind: processes, the node's state, its bridge, the sysctls it changed.
    assert "everything was cleaned up" in out.stdout
    ours = [pid for exe in ("kubelet", "containerd", "containerd-shim-runc-v2")
            for pid in _pids_of(str(cache / "bin" / exe))]
    assert ours == [], "the node's processes are left behind"
    workdir = data["workdir"]  # Prometheus ran from it
    assert not Path(workdir).exists()
    left = subprocess.run(["pgrep", "-f", workdir], capture_output=True, text=True,
                          check=False).stdout.split()
    assert left == []
    assert not STATE_FILE.exists(), "the node's teardown did not finish"
    assert not Path(f"/sys/class/net/{BRIDGE}").exists(), f"bridge {BRIDGE} left behind"
    assert current_sysctls() == sysctls_before
