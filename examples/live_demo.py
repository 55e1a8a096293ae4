"""`make demo`: the incidents that motivated crashwatch, replayed live.

Starts the local control plane (tests/cluster), installs crashwatch's RBAC and CRD from
deploy/overlays/remediation, runs `crashwatch run` under its own ServiceAccount, creates the
workloads below in their own namespaces and drives them as a kubelet would
(tests/cluster/nodes/kwok/kubelet.py), then prints each diagnosis as it arrives, the
remediations, an excerpt of /metrics and the alerts a real Prometheus fires on them.
Everything is cleaned up on exit or Ctrl-C.

    make demo                                    # from the repo root
    .venv/bin/python examples/live_demo.py --summary-json out.json   # non-interactive
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kubernetes import client  # noqa: E402
from tests.cluster.controlplane.plane import ControlPlane, free_port  # noqa: E402
from tests.cluster.nodes.kwok import kubelet  # noqa: E402
from tests.cluster.web import get  # noqa: E402
from tests.e2e.deploying import (  # noqa: E402
    apply_overlay,
    install_monitoring_crds,
    serviceaccount_kubeconfig,
)

REASON = "crashwatch.dev/reason"
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


SELF_ALERTS = frozenset({"CrashwatchDown", "CrashwatchWatchStuck", "CrashwatchHandlerErrors"})


def say(text: str = "") -> None:
    print(text, flush=True)


def wait(what: str, check: Callable[[], Any], timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.3)
    raise TimeoutError(f"timed out waiting for {what}")


class Demo:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.plane = ControlPlane(nodes=2)
        self.procs: list[subprocess.Popen[Any]] = []
        self.logs_dir = work / "logs"
        self.logs_dir.mkdir()
        self.seen: dict[tuple[str, str], dict[str, Any]] = {}
        self.remediations: list[dict[str, Any]] = []
        self.alerts: list[dict[str, str]] = []
        self.prometheus_url = ""
        self.prometheus_started = 0.0
        self.stopping = threading.Event()

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
        self.metrics_port, health = free_port(), free_port()
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
        self.start_prometheus()
        say(f"crashwatch run is watching the cluster under its own ServiceAccount "
            f"({time.monotonic() - t0:.0f}s).")

    def stop(self) -> None:
        self.stopping.set()
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.plane.stop()

    def namespace(self, name: str) -> None:
        self.core.create_namespace({"metadata": {"name": name}})
        wait(f"namespace {name}", lambda: self._has_default_sa(name))

    def _has_default_sa(self, ns: str) -> bool:
        try:
            self.core.read_namespaced_service_account("default", ns)
        except client.ApiException:
            return False
        return True

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

    def policy(self, ns: str, name: str, **spec: Any) -> None:
        self.custom.create_namespaced_custom_object(
            "crashwatch.dev", "v1alpha1", ns, "remediationpolicies",
            {"apiVersion": "crashwatch.dev/v1alpha1", "kind": "RemediationPolicy",
             "metadata": {"name": name},
             "spec": {"selector": {"matchLabels": {"app": name}}, "dryRun": False, **spec}})

    # -- the incidents -------------------------------------------------------------------
    def incidents(self) -> None:
        for ns in ("storefront", "storefront-prod", "identity", "billing", "jupyter",
                   "payments"):
            self.namespace(ns)
        # 1. An autoscaler shrinks a Rails app from 512Mi to 32Mi; it OOM-loops.
        self.policy("storefront", "rails", resourceFloor={"enabled": True, "headroomPercent": 0})
        self.deployment("storefront", "rails", "registry.example.com/storefront/rails:7.4.1",
                        memory="512Mi")
        self.running_pod("storefront", "rails")
        self.apps.patch_namespaced_deployment("rails", "storefront", {"spec": {"template": {
            "spec": {"containers": [{"name": "rails", "resources": {
                "limits": {"memory": "32Mi"}, "requests": {"memory": "32Mi"}}}]}}}})
        shrunk = self.running_pod("storefront", "rails", lambda p: p.spec.containers[
            0].resources.limits["memory"] == "32Mi")
        kubelet.oom_kill(self.core, ("storefront", shrunk), "rails", restarts=3)
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
        """Print each diagnosis as crashwatch publishes it: its Events on the workloads
        (they stay after a fix, so a failure remediated in seconds still shows)."""
        say(f"{'TIME':>5}  {'WORKLOAD':<24} {'REASON':<29} WHY")
        start = time.monotonic()

        def workload(e: Any) -> str:
            name = e.involved_object.name
            if e.involved_object.kind == "Pod":  # <deployment>-<template hash>-<suffix>
                name = name.rsplit("-", 2)[0]
            return f"{e.involved_object.namespace}/{name}"

        def poll() -> None:
            while not self.stopping.is_set():
                try:
                    items = self.core.list_event_for_all_namespaces(
                        field_selector="source=crashwatch").items
                except Exception:  # the plane is going away
                    return
                for e in sorted(items, key=lambda e: e.metadata.creation_timestamp):
                    key = (workload(e), e.reason or "")
                    if key[0] in WORKLOADS and "." in key[1] and key not in self.seen:
                        message = e.message.split("] ", 1)[-1]
                        self.seen[key] = {"summary": message}
                        say(f"{time.monotonic() - start:>4.0f}s  {key[0]:<24} {key[1]:<29} "
                            f"{message}")
                time.sleep(0.5)
        self.poller = threading.Thread(target=poll, daemon=True)
        self.poller.start()

    def collected(self, timeout: float = 90.0) -> None:
        with contextlib.suppress(TimeoutError):
            wait("every diagnosis", lambda: set(self.seen) >= EXPECTED, timeout=timeout)

    def remediation(self) -> None:
        say()
        if self.prometheus_url:
            with contextlib.suppress(TimeoutError):
                wait("CrashwatchRolloutRegression firing", lambda: any(
                    a["labels"]["alertname"] == "CrashwatchRolloutRegression"
                    for a in self.firing()), timeout=60)
            say("CrashwatchRolloutRegression fires for storefront-prod/rails; its team opts it "
                "in to rollbacks (a RemediationPolicy).")
        self.policy("storefront-prod", "rails",
                    rollback={"enabled": True, "minRegressionDuration": "2s"})
        say("Remediation (where a RemediationPolicy opted in):")
        def floor() -> bool:
            d = self.apps.read_namespaced_deployment("rails", "storefront")
            return d.spec.template.spec.containers[0].resources.limits["memory"] == "512Mi"

        def rolled_back() -> bool:
            d = self.apps.read_namespaced_deployment("rails", "storefront-prod")
            return d.spec.template.spec.containers[0].image.endswith(":7.4.1")
        for ns, check in (("storefront", floor), ("storefront-prod", rolled_back)):
            try:
                wait(f"remediation in {ns}", check, timeout=60)
            except TimeoutError:
                say(f"  {ns}: no remediation happened")
                continue
            def applied(ns: str = ns) -> dict[str, Any] | None:
                # The policy's status is written just after the workload's patch lands.
                status = self.custom.get_namespaced_custom_object(
                    "crashwatch.dev", "v1alpha1", ns, "remediationpolicies", "rails")
                actions = (status.get("status") or {}).get("lastActions") or []
                return next((a for a in actions if a.get("result") == "applied"), None)
            try:
                last = wait(f"the policy status in {ns}", applied, timeout=30)
            except TimeoutError:
                say(f"  {ns}: the policy status does not show the action")
                continue
            self.remediations.append({"namespace": ns, **last})
            say(f"  {ns}/rails: {last.get('change')} ({last.get('result')})")
        self.running_pod("storefront-prod", "rails", lambda p: p.spec.containers[
            0].image.endswith(":7.4.1"))
        say("  storefront-prod/rails is available again on rails:7.4.1.")

    def metrics(self) -> None:
        say()
        say("An excerpt of crashwatch's /metrics:")
        text = get(f"http://127.0.0.1:{self.metrics_port}/metrics") or ""
        for line in str(text).splitlines():
            if line.startswith(("crashwatch_failing_containers{", "crashwatch_remediations_"
                                "total{")) and not line.endswith(" 0.0"):
                say("  " + line)

    def start_prometheus(self) -> None:
        """A real Prometheus scraping crashwatch from the start, with the shipped rules
        (``for:`` shortened to 1s)."""
        binary = shutil.which("prometheus")
        if not binary:
            say("(prometheus is not installed: `make tools` installs it; no alerts shown)")
            return
        rules = (ROOT / "deploy" / "prometheus" / "rules.yaml").read_text()
        (self.work / "rules.yaml").write_text(re.sub(r"(?m)^(\s+)for: \S+$", r"\1for: 1s",
                                                     rules))
        port = free_port()
        (self.work / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "rule_files: [rules.yaml]\nscrape_configs:\n  - job_name: crashwatch\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{self.metrics_port}']}}]\n")
        self.procs.append(subprocess.Popen(
            [binary, f"--config.file={self.work / 'prometheus.yml'}",
             f"--storage.tsdb.path={self.work / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.prometheus_url = f"http://127.0.0.1:{port}"
        self.prometheus_started = time.monotonic()
        wait("prometheus ready", lambda: get(self.prometheus_url + "/-/ready") is not None)

    def firing(self) -> list[dict[str, Any]]:
        data = get(f"{self.prometheus_url}/api/v1/alerts") or {}
        return [a for a in (data.get("data") or {}).get("alerts", [])
                if a.get("state") == "firing"] if isinstance(data, dict) else []

    def fired(self) -> list[dict[str, str]]:
        """Every alert that fired since Prometheus started, resolved since or not."""
        seconds = int(time.monotonic() - self.prometheus_started) + 5
        query = urllib.parse.quote(f'max_over_time(ALERTS{{alertstate="firing"}}[{seconds}s])')
        data = get(f"{self.prometheus_url}/api/v1/query?query={query}") or {}
        result = (data.get("data") or {}).get("result", []) if isinstance(data, dict) else []
        return [{k: v for k, v in r["metric"].items() if k != "__name__"} for r in result]

    def prometheus(self) -> None:
        if not self.prometheus_url:
            return
        expected = {"CrashwatchWorkloadFailing", "CrashwatchConfigurationError",
                    "CrashwatchRolloutRegression"}
        with contextlib.suppress(TimeoutError):
            wait("alerts", lambda: expected <= {a["alertname"] for a in self.fired()},
                 timeout=45)
        # About the workloads, not about crashwatch itself (with `for: 1s`, CrashwatchDown
        # fires in the second before the first scrape).
        self.alerts = [a for a in self.fired() if a["alertname"] not in SELF_ALERTS]
        rules = {r["name"]: r for g in ((get(f"{self.prometheus_url}/api/v1/rules") or {}).get(
            "data") or {}).get("groups", []) for r in g.get("rules", [])}
        say()
        say("Alerts a real Prometheus fired during the replay (the shipped rules, `for:` "
            "shortened):")
        for a in sorted(self.alerts, key=lambda a: (a["alertname"], a.get("namespace", ""))):
            summary = rules.get(a["alertname"], {}).get("annotations", {}).get("summary", "")
            for key, value in a.items():
                summary = summary.replace("{{ $labels." + key + " }}", value)
            say(f"  {a['alertname']:<30} {a.get('severity', ''):<8} {summary}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--summary-json", help="write what was seen to this file (tests)")
    args = parser.parse_args()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="crashwatch-demo-") as tmp:
        demo = Demo(Path(tmp))
        try:
            demo.start()
            say("Creating the workloads and driving them as a kubelet would; diagnoses as "
                "they arrive:")
            say()
            demo.watch_diagnoses()
            demo.incidents()
            demo.collected()
            demo.remediation()
            demo.metrics()
            demo.prometheus()
        except KeyboardInterrupt:
            say("\nInterrupted: cleaning up.")
            return 130
        finally:
            demo.stop()
        say(f"\nDone in {time.monotonic() - t0:.0f}s; everything was cleaned up.")
        missing = sorted(f"{w} {r}" for w, r in EXPECTED - set(demo.seen))
        if args.summary_json:
            Path(args.summary_json).write_text(json.dumps({
                "seen": [{"workload": w, "reason": r, **v} for (w, r), v in demo.seen.items()],
                "remediations": demo.remediations,
                "alerts": demo.alerts}, indent=2))
        if missing:
            say(f"Not diagnosed as expected: {', '.join(missing)}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
