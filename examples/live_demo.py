"""`make demo-kwok`: the incidents that motivated crashwatch, replayed live on kwok nodes with a
simulated kubelet and crashwatch as a local process (`make demo` runs them for real on a real
node, crashwatch in the cluster: examples/realnode_demo.py). This one needs no root and no
real node.

Starts the local control plane (tests/cluster), installs crashwatch's RBAC and CRD from
deploy/overlays/remediation, runs `crashwatch run` under its own ServiceAccount, creates the
workloads below in their own namespaces and drives them as a kubelet would
(tests/cluster/nodes/kwok/kubelet.py), then prints each diagnosis as it arrives, the
remediations, an excerpt of /metrics and the alerts a real Prometheus fires on them.
Everything is cleaned up on exit or Ctrl-C.

    make demo-kwok                               # from the repo root
    .venv/bin/python examples/live_demo.py --summary-json out.json   # non-interactive
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from examples.demo_kit import (  # noqa: E402
    DiagnosisFeed,
    Prometheus,
    interruptible,
    metrics_excerpt,
    namespace,
    policy,
    remediated,
    say,
    uninterruptible,
    wait,
)
from kubernetes import client  # noqa: E402
from tests.cluster.controlplane.plane import ControlPlane, free_port  # noqa: E402
from tests.cluster.nodes.kwok import kubelet  # noqa: E402
from tests.cluster.web import get  # noqa: E402
from tests.e2e.deploying import (  # noqa: E402
    apply_overlay,
    install_monitoring_crds,
    serviceaccount_kubeconfig,
)

EXPECTED = {  # (namespace/workload, reason) the demo must show
    ("storefront/rails", "CrashLoop.OOMAfterShrink"),
    ("storefront-prod/rails", "CrashLoop.MissingEnv"),
    ("storefront-prod/rails", "Rollout.Regression"),
    ("identity/keycloak", "CrashLoop.ReadOnlyFilesystem"),
    ("billing/server", "Config.MissingConfigMapKey"),
    ("billing/worker", "Config.MissingSecret"),
    ("jupyter/hub", "Image.NotFound"),
    ("payments/api", "CrashLoop.LivenessProbe"),
    ("payments/ledger", "CrashLoop.LivenessProbe"),
}
WORKLOADS = {k for k, _ in EXPECTED}


class Demo:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.plane = ControlPlane(nodes=2)
        self.procs: list[subprocess.Popen[Any]] = []
        self.logs_dir = work / "logs"
        self.logs_dir.mkdir()
        self.remediations: list[dict[str, Any]] = []
        self.alerts: list[dict[str, str]] = []
        self.metrics_port = free_port()
        self.prometheus = Prometheus(work, "  - job_name: crashwatch\n    static_configs: "
                                     f"[{{targets: ['127.0.0.1:{self.metrics_port}']}}]\n")
        self.prometheus_on = False

    # -- plumbing -------------------------------------------------------------------
    def start(self) -> None:
        t0 = time.monotonic()
        say("Starting the local control plane (etcd, kube-apiserver, controller-manager, "
            "scheduler, kwok)...")
        self.plane.start()
        api = self.plane.api_client()
        self.core, self.apps = client.CoreV1Api(api), client.AppsV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        install_monitoring_crds(self.plane)
        apply_overlay(self.plane, "remediation")
        health = free_port()
        env = {**os.environ, "KUBECONFIG": str(serviceaccount_kubeconfig(self.plane)),
               "CRASHWATCH_LOG_FORMAT": "json", "CRASHWATCH_REMEDIATION": "true",
               "CRASHWATCH_OWNER_ANNOTATIONS": "true"}
        log = (self.work / "crashwatch.log").open("w")
        self.procs.append(subprocess.Popen(
            [sys.executable, "-m", "crashwatch", "run", "--logs-dir", str(self.logs_dir),
             "--metrics-port", str(self.metrics_port), "--health-port", str(health),
             "--sweep-interval-seconds", "1"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        wait("crashwatch healthy", lambda: get(f"http://127.0.0.1:{health}/healthz") is not None)
        self.prometheus_on = self.prometheus.start()
        say(f"crashwatch run is watching the cluster under its own ServiceAccount "
            f"({time.monotonic() - t0:.0f}s).")

    def stop(self) -> None:
        if hasattr(self, "feed"):
            self.feed.stop()
        self.prometheus.stop()
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.plane.stop()

    def deployment(self, ns: str, name: str, image: str, memory: str = "256Mi",
                   sidecars: tuple[dict[str, Any], ...] = (), **container: Any) -> None:
        c = {"name": name, "image": image,
             "resources": {"limits": {"memory": memory}, "requests": {"memory": memory}},
             **container}
        self.apps.create_namespaced_deployment(ns, {
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [c, *sidecars]}}}})

    def running_pod(self, ns: str, app: str, pred: Callable[[Any], bool] = lambda p: True
                    ) -> str:
        def find() -> str | None:
            for p in self.core.list_namespaced_pod(ns, label_selector=f"app={app}").items:
                if (p.status.phase == "Running" and p.status.container_statuses
                        and all(c.ready for c in p.status.container_statuses)
                        and not p.metadata.deletion_timestamp and pred(p)):
                    return str(p.metadata.name)
            return None
        return str(wait(f"a running pod of {ns}/{app}", find))

    # -- the incidents -------------------------------------------------------------------
    def incidents(self) -> None:
        for ns in ("storefront", "storefront-prod", "identity", "billing", "jupyter",
                   "payments"):
            namespace(self.core, ns)
        # 1. An autoscaler shrinks a Rails app from 512Mi to 32Mi; it OOM-loops.
        policy(self.custom, "storefront", "rails",
               resourceFloor={"enabled": True, "headroomPercent": 0})
        self.deployment("storefront", "rails", "registry.example.com/storefront/rails:7.4.1",
                        memory="512Mi")
        self.running_pod("storefront", "rails")
        self.apps.patch_namespaced_deployment("rails", "storefront", {"spec": {"template": {
            "spec": {"containers": [{"name": "rails", "resources": {
                "limits": {"memory": "32Mi"}, "requests": {"memory": "32Mi"}}}]}}}})
        shrunk = self.running_pod("storefront", "rails", lambda p: p.spec.containers[
            0].resources.limits["memory"] == "32Mi")
        try:
            kubelet.oom_kill(self.core, ("storefront", shrunk), "rails", restarts=3)
        except client.ApiException as err:
            # The policy pinned the floor on the first OOMAfterShrink, before the kubelet's
            # third restart: the Deployment rolled back to 512Mi and its shrunk pod is gone
            # (a kubelet stops a deleted pod's containers too).
            if err.status != 404:
                raise
        # 2. The same app promoted to production without SECRET_KEY_BASE (its team opts it
        #    in to rollbacks once the regression alert fires: see remediation()).
        self.deployment("storefront-prod", "rails",
                        "registry.example.com/storefront/rails:7.4.1")
        self.running_pod("storefront-prod", "rails")
        self.apps.patch_namespaced_deployment("rails", "storefront-prod", {"spec": {
            "template": {"metadata": {"annotations": {kubelet.SIMULATED_ANNOTATION: "true"}},
                         "spec": {"containers": [{"name": "rails", "image":
                                  "registry.example.com/storefront/rails:7.5.0"}]}}}})
        promoted = str(wait("the promoted pod", lambda: next((
            p.metadata.name for p in self.core.list_namespaced_pod(
                "storefront-prod", label_selector="app=rails").items
            if p.spec.containers[0].image.endswith(":7.5.0") and p.spec.node_name), None)))
        kubelet.crash_loop(
            self.core, ("storefront-prod", promoted), "rails", exit_code=1, restarts=3,
            logs_dir=self.logs_dir,
            log="=> Booting Puma\n=> Rails 7.1.3 application starting in production\nExiting\n"
                "/usr/local/bundle/gems/railties-7.1.3/lib/rails/application.rb:658:in "
                "`validate_secret_key_base': Missing `secret_key_base` for 'production' "
                "environment, set this string with `bin/rails credentials:edit` "
                "(ArgumentError)\n")
        # 3. Keycloak under readOnlyRootFilesystem.
        self.deployment("identity", "keycloak", "quay.io/keycloak/keycloak:26.0.5",
                        memory="1Gi", securityContext={"readOnlyRootFilesystem": True})
        kubelet.crash_loop(
            self.core, ("identity", self.running_pod("identity", "keycloak")), "keycloak",
            exit_code=1, restarts=3, logs_dir=self.logs_dir,
            log="2026-11-23 10:29:31,118 ERROR [org.keycloak.quarkus.runtime.cli."
                "ExecutionExceptionHandler] (main) ERROR: Failed to start server in "
                "(production) mode\n2026-11-23 10:29:31,119 ERROR [org.keycloak.quarkus.runtime"
                ".cli.ExecutionExceptionHandler] (main) Error details:: java.nio.file."
                "FileSystemException: /opt/keycloak/lib/quarkus/build-system.properties: "
                "Read-only file system\n")
        # 4. A ConfigMap that lacks a key; a Secret that lost its kustomize name prefix.
        self.core.create_namespaced_config_map("billing", {"metadata": {
            "name": "server-config"}, "data": {"currency": "EUR"}})
        self.core.create_namespaced_secret("billing", {"metadata": {
            "name": "billing-worker-env-5m8h2k9c4t"}, "stringData": {"TOKEN": "x"}})
        self.deployment("billing", "server", "registry.example.com/billing/server:2.8.0")
        kubelet.config_error(self.core, ("billing", self.running_pod("billing", "server")),
                             "server", kind="configmap", name="server-config",
                             key="invoice_template")
        self.deployment("billing", "worker", "registry.example.com/billing/worker:2.8.0")
        kubelet.config_error(self.core, ("billing", self.running_pod("billing", "worker")),
                             "worker", kind="secret", name="worker-env")
        # 5. A hub deployed with an image tag that does not exist.
        self.deployment("jupyter", "hub", "quay.io/jupyterhub/k8s-hub:4.9.9")
        kubelet.image_pull_error(self.core, ("jupyter", self.running_pod("jupyter", "hub")),
                                 "hub", kind="notfound")
        # 6. An API whose health route moved; a sidecar whose probe port is not listening.
        self.deployment("payments", "api", "registry.example.com/payments/api:5.2.0",
                        livenessProbe={"httpGet": {"path": "/healthz", "port": 8080}})
        kubelet.liveness_kill(self.core, ("payments", self.running_pod("payments", "api")),
                              "api", status_code=404)
        proxy = {"name": "db-proxy", "image": "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0",
                 "livenessProbe": {"httpGet": {"path": "/liveness", "port": 9801}}}
        self.deployment("payments", "ledger", "registry.example.com/payments/ledger:1.9.3",
                        sidecars=(proxy,))
        kubelet.liveness_kill(self.core, ("payments", self.running_pod("payments", "ledger")),
                              "db-proxy", status_code=None, port=9801, path="/liveness")

    # -- watching it happen ------------------------------------------------------------------
    def watch_diagnoses(self) -> None:
        self.feed = DiagnosisFeed(self.core, WORKLOADS)
        self.feed.start()

    def remediation(self) -> None:
        say()
        if self.prometheus_on:
            self.prometheus.fires("CrashwatchRolloutRegression", timeout=60)
            say("CrashwatchRolloutRegression fires for storefront-prod/rails; its team opts it "
                "in to rollbacks (a RemediationPolicy).")
        policy(self.custom, "storefront-prod", "rails",
               rollback={"enabled": True, "minRegressionDuration": "2s"})
        say("Remediation (where a RemediationPolicy opted in):")

        def floor() -> bool:
            d = self.apps.read_namespaced_deployment("rails", "storefront")
            return d.spec.template.spec.containers[0].resources.limits["memory"] == "512Mi"

        def rolled_back() -> bool:
            d = self.apps.read_namespaced_deployment("rails", "storefront-prod")
            return d.spec.template.spec.containers[0].image.endswith(":7.4.1")
        for ns, check in (("storefront", floor), ("storefront-prod", rolled_back)):
            done = remediated(self.custom, ns, "rails", check)
            if done:
                self.remediations.append(done)
        self.running_pod("storefront-prod", "rails", lambda p: p.spec.containers[
            0].image.endswith(":7.4.1"))
        say("  storefront-prod/rails is available again on rails:7.4.1.")

    def metrics(self) -> None:
        say()
        say("An excerpt of crashwatch's /metrics:")
        for line in metrics_excerpt(str(get(f"http://127.0.0.1:{self.metrics_port}/metrics")
                                        or "")):
            say("  " + line)

    def report_alerts(self) -> None:
        if self.prometheus_on:
            self.alerts = self.prometheus.report()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--summary-json", help="write what was seen to this file (tests)")
    args = parser.parse_args()
    t0 = time.monotonic()
    interruptible()
    with tempfile.TemporaryDirectory(prefix="crashwatch-demo-") as tmp:
        demo = Demo(Path(tmp))
        try:
            demo.start()
            say("Creating the workloads and driving them as a kubelet would; diagnoses as "
                "they arrive:")
            say()
            demo.watch_diagnoses()
            demo.incidents()
            demo.feed.wait_for(EXPECTED, timeout=90)
            demo.remediation()
            demo.metrics()
            demo.report_alerts()
        except KeyboardInterrupt:
            uninterruptible()
            say("\nInterrupted: cleaning up.")
            return 130
        finally:
            uninterruptible()
            demo.stop()
        say(f"\nDone in {time.monotonic() - t0:.0f}s; everything was cleaned up.")
        seen = demo.feed.seen
        missing = sorted(f"{w} {r}" for w, r in EXPECTED - set(seen))
        if args.summary_json:
            Path(args.summary_json).write_text(json.dumps({
                "seen": [{"workload": w, "reason": r, **v} for (w, r), v in seen.items()],
                "remediations": demo.remediations,
                "alerts": demo.alerts}, indent=2))
        if missing:
            say(f"Not diagnosed as expected: {', '.join(missing)}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
