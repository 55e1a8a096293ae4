"""`make demo`: the incidents that motivated crashwatch, failing for real on a real node, with
crashwatch running in the cluster from its own image.

Starts the test kit's real cluster (tests/cluster/README.md): the local control plane, two
local registries with the test images, and a real node (kubelet v1.36, containerd v2, runc,
a CNI bridge) on this machine. Builds crashwatch's image from the repository's Dockerfile
with buildah, installs it with ``kubectl apply -k`` over deploy/overlays/remediation, and
waits for its pod: it runs under its own ServiceAccount token and reads the failing
containers' logs through the API server (``pods/log``). Then it creates the workloads below,
whose containers fail for real (the kernel's OOM kill, Python's and the JVM's own errors,
the kubelet's probes and config errors, the registry's answer), prints each diagnosis as it
arrives, the two remediations, an excerpt of /metrics and the alerts a real Prometheus fires.
Everything is cleaned up on exit or Ctrl-C (the real node's teardown restores this machine).

    make demo                                                # from the repo root, as root
    .venv/bin/python examples/realnode_demo.py --summary-json out.json   # non-interactive

What is not real is said as it happens: no autoscaler runs (the demo writes the shrunk memory
an autoscaler would, as the field manager ``demo-autoscaler``), the Rails app of the story is
a Django app, Keycloak is a Keycloak-like JVM program, and the probes are tightened to 2 s so
that the demo is short.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
from tests.cluster.nodes.real.cluster import RealCluster  # noqa: E402
from tests.cluster.operator import deploy  # noqa: E402
from tests.cluster.web import get  # noqa: E402
from tests.e2e.deploying import install_monitoring_crds  # noqa: E402
from tests.realnode.helpers import PodRecorder  # noqa: E402

EXPECTED = {  # (namespace/workload, reason) the demo must show
    ("storefront/shop", "CrashLoop.OOMAfterShrink"),
    ("storefront-prod/shop", "CrashLoop.MissingEnv"),
    ("storefront-prod/shop", "Rollout.Regression"),
    ("identity/sso", "CrashLoop.ReadOnlyFilesystem"),
    ("billing/server", "Config.MissingConfigMapKey"),
    ("billing/worker", "Config.MissingSecret"),
    ("jupyter/hub", "Image.NotFound"),
    ("payments/api", "CrashLoop.LivenessProbe"),
    ("payments/ledger", "CrashLoop.LivenessProbe"),
}
WORKLOADS = {k for k, _ in EXPECTED}
NAMESPACES = ("storefront", "storefront-prod", "identity", "billing", "jupyter", "payments")
# The storefront's product catalogue: about 70 MB in Python, held from the start.
CATALOGUE_ITEMS = "200000"
SECRET_KEY = {"name": "SECRET_KEY", "valueFrom": {"secretKeyRef": {
    "name": "shop-secrets", "key": "SECRET_KEY"}}}
# Probes every 2 s, a kill after two failures: the demo's pace, not a production setting.
FAST = {"periodSeconds": 2, "failureThreshold": 2}


def scratch() -> str | None:
    """Where the demo's cluster lives: /dev/shm when it is a tmpfs, else the default temp
    folder. Images are pulled and unpacked there (about a gigabyte in some 30,000 files), and
    removing that from a disk mounted with ``discard`` takes 20-40 s; from memory, none."""
    with open("/proc/mounts") as mounts:
        if any(line.split()[1:3] == ["/dev/shm", "tmpfs"] for line in mounts):
            return "/dev/shm"
    return None


def container(name: str, image: str, *args: str, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "image": image, "args": list(args),
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}
    spec.update(extra)
    return spec


def memory(size: str) -> dict[str, Any]:
    return {"limits": {"memory": size}, "requests": {"cpu": "10m", "memory": size}}


class RealDemo:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.cluster = RealCluster(workdir=work / "cluster")
        self.remediations: list[dict[str, Any]] = []
        self.alerts: list[dict[str, str]] = []
        self.runs_on: dict[str, Any] = {}
        self.prometheus: Prometheus | None = None
        self.prometheus_on = False
        self.feed: DiagnosisFeed | None = None
        self.storefront: PodRecorder | None = None
        self.api: client.ApiClient | None = None

    # -- the cluster and crashwatch in it ------------------------------------------------
    def start(self) -> None:
        t0 = time.monotonic()
        say("Starting the local control plane, two local registries with the test images and "
            "a real node (kubelet, containerd, runc) on this machine...")
        self.cluster.start()
        self.api = api = self.cluster.plane.api_client()
        self.core, self.apps = client.CoreV1Api(api), client.AppsV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        node = self.core.read_node(self.cluster.node.name)
        info = node.status.node_info
        runc = self.cluster.node.versions()["runc"]
        self.runs_on["node"] = {
            "name": node.metadata.name, "address": self.cluster.node.address,
            "kubelet": info.kubelet_version, "container_runtime": info.container_runtime_version,
            "runc": runc, "kernel": info.kernel_version, "os": info.os_image}
        say(f"Real node {node.metadata.name} ({self.cluster.node.address}) Ready in "
            f"{time.monotonic() - t0:.0f}s: kubelet {info.kubelet_version}, "
            f"{info.container_runtime_version}, runc {runc}; {info.os_image}, "
            f"kernel {info.kernel_version}.")
        t1 = time.monotonic()
        say("Building crashwatch's image from the Dockerfile (buildah) and installing it with "
            "`kubectl apply -k` over deploy/overlays/remediation...")
        image = deploy.build_image(self.cluster.registries.anonymous.host, quiet=True)
        install_monitoring_crds(self.cluster.plane)  # the overlay's ServiceMonitor, PrometheusRule
        host, port = self.cluster.api_address
        deploy.apply(self.cluster.plane, deploy.write_overlay(self.work / "overlay", image,
                                                              host, port))
        pod = api.sanitize_for_serialization(wait(
            "crashwatch's container running", self._operator_running, timeout=180))
        spec, status = pod["spec"], pod["status"]
        (cs,) = status["containerStatuses"]
        self.runs_on["operator"] = {
            "pod": f"{deploy.NAMESPACE}/{pod['metadata']['name']}", "node": spec["nodeName"],
            "image": spec["containers"][0]["image"], "image_id": cs["imageID"],
            "service_account": spec["serviceAccountName"],
            "uid": spec["containers"][0]["securityContext"]["runAsUser"]}
        say(f"crashwatch runs in the cluster ({time.monotonic() - t1:.0f}s): pod "
            f"{self.runs_on['operator']['pod']} on {spec['nodeName']}, image "
            f"{cs['imageID']}, ServiceAccount {spec['serviceAccountName']} (its projected "
            f"token), UID {self.runs_on['operator']['uid']}, read-only root; it reads logs "
            "through pods/log.")
        self.metrics_target = self._metrics_endpoint()
        self.prometheus = Prometheus(
            self.work, "  - job_name: crashwatch\n    honor_labels: true\n"
            f"    static_configs: [{{targets: ['{self.metrics_target}']}}]\n")
        self.prometheus_on = self.prometheus.start()

    def _operator_running(self) -> Any:
        """crashwatch's pod once its container runs (it becomes Ready meanwhile: the
        workloads need not wait for that, it lists what failed before it watched)."""
        for p in self.core.list_namespaced_pod(
                deploy.NAMESPACE, label_selector="app.kubernetes.io/name=crashwatch").items:
            statuses = p.status.container_statuses or []
            if statuses and statuses[0].state.running and statuses[0].image_id:
                return p
        return None

    def _metrics_endpoint(self) -> str:
        """``IP:PORT`` of crashwatch's metrics as its Service publishes them (the endpoints
        the shipped ServiceMonitor selects: Service crashwatch-metrics, port ``metrics``).
        Debian's Prometheus is built without Kubernetes service discovery, so the demo reads
        the EndpointSlice and hands Prometheus the target; the pod IP is on the node's bridge,
        which this machine reaches."""
        discovery = client.DiscoveryV1Api(self.core.api_client)

        def endpoint() -> str | None:
            for s in discovery.list_namespaced_endpoint_slice(
                    deploy.NAMESPACE,
                    label_selector="kubernetes.io/service-name=crashwatch-metrics").items:
                ports = [p.port for p in s.ports or [] if p.name == "metrics"]
                # ready or not yet: Prometheus scrapes it either way
                addresses = [a for e in s.endpoints or [] for a in e.addresses]
                if ports and addresses:
                    return f"{addresses[0]}:{ports[0]}"
            return None
        found: str = wait("crashwatch-metrics' endpoints", endpoint, timeout=60)
        return found

    def stop(self) -> None:
        """Stop what the demo started, the cluster last (the node's teardown kills every
        container, unmounts, removes the bridge and restores the sysctls)."""
        for watcher in (self.feed, self.storefront):
            if watcher is not None:
                watcher.stop()
        if self.prometheus is not None:
            self.prometheus.stop()
        if self.api is not None:
            self.api.close()
        if hasattr(self.cluster, "plane"):  # RealCluster.start got as far as the plane
            self.cluster.stop()
        # the plane, the node's containerd and kubelet folders (unmounted by the teardown)
        shutil.rmtree(self.work / "cluster", ignore_errors=True)

    # -- workloads -----------------------------------------------------------------------
    def deployment(self, ns: str, name: str, *containers: dict[str, Any],
                   **pod: Any) -> None:
        self.apps.create_namespaced_deployment(ns, {
            "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  # a kill is final at once: no waiting for graceful exits
                                  "spec": {"containers": list(containers),
                                           "terminationGracePeriodSeconds": 2, **pod}}}})

    def available(self, ns: str, name: str, check: Callable[[Any], bool] = lambda d: True
                  ) -> bool:
        d = self.apps.read_namespaced_deployment(name, ns)
        st = d.status
        return bool(st.observed_generation == d.metadata.generation
                    and (st.updated_replicas or 0) == 1 and (st.available_replicas or 0) == 1
                    and (st.replicas or 0) == 1 and check(d))

    def shop(self, ns: str, *, size: str | None = None, **env: str) -> None:
        self.core.create_namespaced_secret(ns, {"metadata": {"name": "shop-secrets"},
                                                "stringData": {"SECRET_KEY": "demo-not-secret"}})
        extra = [{"name": k, "value": v} for k, v in env.items()]
        self.deployment(ns, "shop", container(
            "shop", self.cluster.image("shop:1"), env=[SECRET_KEY, *extra],
            readinessProbe={"httpGet": {"path": "/healthz", "port": 8000}, "periodSeconds": 2},
            **({"resources": memory(size)} if size else {})))

    def incidents(self) -> None:
        testapp = self.cluster.image("testapp:1")
        for ns in NAMESPACES:
            namespace(self.core, ns)
        self.storefront = PodRecorder(self.core, "storefront")  # every version of its pods
        # 1. The storefront (Django) holds its catalogue in 512Mi; an autoscaler will shrink
        #    it to 32Mi. Once alerted, its team opts in to a memory floor (remediation()).
        self.shop("storefront", size="512Mi", CATALOGUE_ITEMS=CATALOGUE_ITEMS)
        # 2. The same app in production, healthy on shop:1 (release 2 will need CACHE_URL).
        self.shop("storefront-prod")
        # 3. A Keycloak-like JVM server under readOnlyRootFilesystem.
        self.deployment("identity", "sso", container(
            "sso", self.cluster.image("identity:1"),
            securityContext={"readOnlyRootFilesystem": True}))
        # 4. A ConfigMap that lacks a key; a Secret that lost its kustomize name prefix.
        self.core.create_namespaced_config_map("billing", {"metadata": {
            "name": "server-config"}, "data": {"currency": "EUR"}})
        self.core.create_namespaced_secret("billing", {"metadata": {
            "name": "billing-worker-env-5m8h2k9c4t"}, "stringData": {"TOKEN": "x"}})
        self.deployment("billing", "server", container("server", testapp, "serve", env=[
            {"name": "INVOICE_TEMPLATE", "valueFrom": {"configMapKeyRef": {
                "name": "server-config", "key": "invoice_template"}}}]))
        self.deployment("billing", "worker", container("worker", testapp, "sleep", envFrom=[
            {"secretRef": {"name": "worker-env"}}]))
        # 5. A hub whose image tag the registry does not have.
        self.hub_image = f"{self.cluster.registries.anonymous.host}/jupyterhub/k8s-hub:4.9.9"
        self.deployment("jupyter", "hub", container("hub", self.hub_image))
        # 6. An API whose health route moved (/healthz -> /livez); a database-proxy sidecar
        #    whose liveness port is not listening (its health server was never enabled).
        self.deployment("payments", "api", container(
            "api", testapp, "serve", "-health", "/livez",
            livenessProbe={"httpGet": {"path": "/healthz", "port": 8080}, **FAST}))
        self.deployment("payments", "ledger",
                        container("ledger", testapp, "serve", "-listen", ":8080"),
                        container("db-proxy", testapp, "serve", "-listen", ":5432",
                                  livenessProbe={"httpGet": {"path": "/liveness",
                                                             "port": 9801}, **FAST}))
        say("(created: storefront/shop on 512Mi, storefront-prod/shop on shop:1, identity/sso, "
            "billing/server, billing/worker, jupyter/hub, payments/api, payments/ledger)")
        # 1, continued: once the storefront runs, the autoscaler shrinks it.
        wait("storefront/shop available on 512Mi", lambda: self.available("storefront", "shop"),
             timeout=120)
        self.apps.patch_namespaced_deployment(
            "shop", "storefront", {"spec": {"template": {"spec": {"containers": [
                {"name": "shop", "resources": memory("32Mi")}]}}}},
            field_manager="demo-autoscaler")
        say("(storefront/shop: memory shrunk 512Mi -> 32Mi, as an autoscaler would write it; "
            "no autoscaler runs here)")
        # 2, continued: production is promoted to shop:2 without its new variable.
        wait("storefront-prod/shop available on shop:1",
             lambda: self.available("storefront-prod", "shop"), timeout=120)
        self.apps.patch_namespaced_deployment(
            "shop", "storefront-prod", {"spec": {"template": {"spec": {"containers": [
                {"name": "shop", "image": self.cluster.image("shop:2")}]}}}},
            field_manager="demo-promotion")
        say("(storefront-prod/shop: promoted to shop:2, which reads CACHE_URL; the promotion "
            "does not set it)")

    # -- what crashwatch did ---------------------------------------------------------------
    def watch_diagnoses(self) -> None:
        self.feed = DiagnosisFeed(self.core, WORKLOADS)
        self.feed.start()

    def remediation(self) -> None:
        say()
        kills = self.oom_kills()
        times = "once" if len(kills) == 1 else f"{len(kills)} times"
        say(f"The kernel OOM-killed storefront/shop's container {times} at 32Mi (the kubelet "
            "reports exit code 137, OOMKilled).")
        # Each team opts in once its alert fired: a policy in place from the start would
        # repair the storefront before Prometheus saw it fail (a race the alert may lose).
        if self.prometheus is not None and self.prometheus_on:
            self.prometheus.fires("CrashwatchOOMAfterShrink", timeout=60)
            say("CrashwatchOOMAfterShrink fires for storefront/shop; its team opts it in to a "
                "memory floor (a RemediationPolicy).")
        policy(self.custom, "storefront", "shop",
               resourceFloor={"enabled": True, "headroomPercent": 0})
        if self.prometheus is not None and self.prometheus_on:
            self.prometheus.fires("CrashwatchRolloutRegression", timeout=60)
            say("CrashwatchRolloutRegression fires for storefront-prod/shop; its team opts it "
                "in to rollbacks (a RemediationPolicy).")
        policy(self.custom, "storefront-prod", "shop",
               rollback={"enabled": True, "minRegressionDuration": "2s"})
        say("Remediation (where a RemediationPolicy opted in):")
        good = self.cluster.image("shop:1")

        def floor() -> bool:
            d = self.apps.read_namespaced_deployment("shop", "storefront")
            return d.spec.template.spec.containers[0].resources.limits["memory"] == "512Mi"

        def rolled_back() -> bool:
            d = self.apps.read_namespaced_deployment("shop", "storefront-prod")
            return d.spec.template.spec.containers[0].image == good
        for ns, check in (("storefront", floor), ("storefront-prod", rolled_back)):
            done = remediated(self.custom, ns, "shop", check, timeout=120)
            if done:
                self.remediations.append(done)
        for ns, what in (("storefront", "512Mi"), ("storefront-prod", "shop:1")):
            try:
                wait(f"{ns}/shop available", lambda ns=ns: self.available(ns, "shop"),
                     timeout=120)
            except TimeoutError:
                say(f"  {ns}/shop is not available again")
                continue
            say(f"  {ns}/shop is available again on {what}: its pod runs on the real node.")

    def metrics(self) -> None:
        say()
        say(f"An excerpt of crashwatch's /metrics (its Service's endpoint, "
            f"{self.metrics_target}):")
        for line in metrics_excerpt(str(get(f"http://{self.metrics_target}/metrics") or "")):
            say("  " + line)

    def report_alerts(self) -> None:
        if self.prometheus is not None and self.prometheus_on:
            self.alerts = self.prometheus.report()

    def oom_kills(self) -> list[dict[str, Any]]:
        """The kernel's OOM kills of the storefront's containers, as the kubelet reported
        them (one per container instance)."""
        kills: dict[str, dict[str, Any]] = {}
        for p in list(self.storefront.pods if self.storefront else []):
            for cs in p.status.container_statuses or []:
                for t in (cs.state.terminated, cs.last_state.terminated):
                    if t is not None and t.reason == "OOMKilled":
                        kills[t.container_id] = {"pod": p.metadata.name,
                                                 "exit_code": t.exit_code,
                                                 "limit": cs.resources.limits["memory"]
                                                 if cs.resources and cs.resources.limits
                                                 else None}
        return list(kills.values())

    def real_failures(self) -> dict[str, Any]:
        """What the node itself reported: the kernel's OOM kills and the kubelet's Events
        (for the summary: the failures were real, not written by the demo)."""
        events = [{"namespace": e.metadata.namespace, "object": e.involved_object.name,
                   "reason": e.reason, "message": e.message,
                   "source": e.source.component if e.source else None,
                   "host": e.source.host if e.source else None}
                  for ns in NAMESPACES for e in self.core.list_namespaced_event(ns).items
                  if e.source and e.source.component == "kubelet"]
        return {"oom_kills": self.oom_kills(), "kubelet_events": events}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--summary-json", help="write what was seen to this file (tests)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("make demo runs a real kubelet and containerd on this machine and needs root "
              "(`make demo-kwok` replays the same incidents on kwok nodes without it).",
              file=sys.stderr)
        return 2
    t0 = time.monotonic()
    phases: dict[str, float] = {}  # seconds each part took, for the last line

    def lap(name: str) -> None:
        phases[name] = time.monotonic() - t0 - sum(phases.values())
    interruptible()
    real: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="crashwatch-demo-", dir=scratch()) as tmp:
        demo = RealDemo(Path(tmp))
        try:
            demo.start()
            lap("cluster and crashwatch")
            say()
            say("Creating the workloads; their containers fail for real on the node. "
                "Diagnoses as crashwatch publishes them:")
            say()
            demo.watch_diagnoses()
            demo.incidents()
            assert demo.feed is not None
            demo.feed.wait_for(EXPECTED, timeout=120)
            demo.remediation()
            demo.metrics()
            demo.report_alerts()
            real = demo.real_failures()
            lap("incidents")
        except KeyboardInterrupt:
            uninterruptible()
            say("\nInterrupted.")
            return 130
        finally:
            uninterruptible()
            say("\nCleaning up: Prometheus, the node (every container, its mounts, bridge and "
                "sysctls), the registries and the control plane...")
            demo.stop()
        lap("cleanup")
        say(f"Done in {time.monotonic() - t0:.0f}s ("
            + ", ".join(f"{k} {v:.0f}s" for k, v in phases.items())
            + "); everything was cleaned up.")
        seen = demo.feed.seen if demo.feed is not None else {}
        missing = sorted(f"{w} {r}" for w, r in EXPECTED - set(seen))
        if args.summary_json:
            Path(args.summary_json).write_text(json.dumps({
                "runs_on": demo.runs_on, "workdir": tmp,
                "seen": [{"workload": w, "reason": r, **v} for (w, r), v in seen.items()],
                "remediations": demo.remediations,
                "alerts": demo.alerts, "seconds": phases, **real}, indent=2))
        if missing:
            say(f"Not diagnosed as expected: {', '.join(missing)}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
