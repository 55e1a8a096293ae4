"""``crashwatch run`` as a separate process against the real local control plane.

Pods made by real Deployments (kube-controller-manager, kube-scheduler, kwok) are driven
into failures by the simulated kubelet (tests/cluster/nodes/kwok/kubelet.py), exactly as a kubelet
writes them; the operator must annotate, post Events and export metrics, then clean up on
recovery, and must write nothing while healthy workloads churn.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from tests.cluster.controlplane.plane import REPO, ControlPlane, free_port
from tests.cluster.nodes.kwok import kubelet
from tests.cluster.promtext import metric_sum
from tests.cluster.web import get
from tests.e2e.deploying import apply_overlay, install_monitoring_crds, serviceaccount_kubeconfig

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

REASON = "crashwatch.dev/reason"


class Operator:
    def __init__(self, proc: subprocess.Popen[str], metrics_port: int, log_path: Path,
                 logs_dir: Path) -> None:
        self.proc = proc
        self.metrics_port = metrics_port
        self.log_path = log_path
        self.logs_dir = logs_dir
        self.health_port = 0
        self.forbidden_checked_until: int | None = None
        """Log offset after which 403s are expected (an API server restarting answers
        403 until its RBAC cache has synced; kopf retries)."""

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                    timeout=5) as r:
            return str(r.read().decode())

    def sample(self, name: str, **labels: str) -> float:
        """The sum of a metric's samples whose labels include ``labels``."""
        return metric_sum(self.metrics(), name, **labels)


def start_operator(control_plane: ControlPlane, work: Path, overlay: str,
                   extra_env: dict[str, str] | None = None,
                   logs_dir: Path | None = None, stable_after: float = 3.0,
                   wait_ready: bool = True) -> Operator:
    """``crashwatch run`` under its own ServiceAccount, bound only by deploy/'s RBAC.

    ``stable_after``: seconds a crashed container must run again to count as recovered
    (short by default, so that recovery tests are quick). ``wait_ready``: return once
    ``/readyz`` says the operator has listed the cluster (what a test does next is then seen
    as a change, with what came before it known); False: once ``/healthz`` answers (a standby
    is never ready)."""
    install_monitoring_crds(control_plane)
    apply_overlay(control_plane, overlay)
    if logs_dir is None:
        logs_dir = work / "logs"
        logs_dir.mkdir()
    metrics_port, health_port = free_port(), free_port()
    env = {**os.environ, "KUBECONFIG": str(serviceaccount_kubeconfig(control_plane)),
           "CRASHWATCH_LOG_FORMAT": "json", **(extra_env or {})}
    log_path = work / "operator.log"
    with log_path.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crashwatch", "run", "--logs-dir", str(logs_dir),
             "--metrics-port", str(metrics_port), "--health-port", str(health_port),
             "--sweep-interval-seconds", "2", "--stable-after-seconds", str(stable_after)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    op = Operator(proc, metrics_port, log_path, logs_dir)
    op.health_port = health_port
    deadline = time.monotonic() + 60
    path = "readyz" if wait_ready else "healthz"
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{health_port}/{path}", timeout=2):
                break
        except OSError:  # HTTPError 503 (not ready yet) included
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"operator did not answer /{path}:\n"
                                   + log_path.read_text()[-4000:]) from None
            time.sleep(0.2)
    return op


def stop_operator(op: Operator) -> None:
    op.proc.send_signal(signal.SIGTERM)
    try:
        code = op.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        op.proc.kill()
        code = op.proc.wait()
    assert code == 0, f"operator exited {code} on SIGTERM:\n{op.log_path.read_text()[-3000:]}"
    log = op.log_path.read_text()[: op.forbidden_checked_until]
    # RBAC's refusals ("... is forbidden: User "system:serviceaccount:..." cannot ..."), not
    # an admission's (a quota's "forbidden: exceeded quota" is a finding, not a missing role)
    assert not re.search(r'(?i)forbidden: User \\?"', log), log[-3000:]


@pytest.fixture(scope="module")
def operator(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Operator]:
    op = start_operator(control_plane, tmp_path_factory.mktemp("operator"), "remediation")
    try:
        yield op
    finally:
        stop_operator(op)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 20.0,
             op: Operator | None = None) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    tail = op.log_path.read_text()[-3000:] if op else ""
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})\n{tail}")


def make_deployment(apps: client.AppsV1Api, ns: str, name: str, image: str = "example/app:1.0",
                    replicas: int = 1, container: dict[str, Any] | None = None) -> None:
    c = {"name": "app", "image": image,
         "resources": {"limits": {"memory": "256Mi"}, "requests": {"memory": "128Mi"}},
         **(container or {})}
    apps.create_namespaced_deployment(ns, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [c]}}},
    })


def running_pods(core: client.CoreV1Api, ns: str, app: str, n: int = 1) -> list[client.V1Pod]:
    # Not a pod on its way out, and the oldest first: a ReplicaSet controller that ran on a
    # stale cache (right after an API server restart) makes a surplus pod, then deletes the
    # newest; a test must not pick the one being deleted (it would wait on it forever).
    def ready() -> list[client.V1Pod] | None:
        pods = core.list_namespaced_pod(ns, label_selector=f"app={app}").items
        ok = [p for p in pods if p.status.phase == "Running" and p.status.container_statuses
              and all(c.ready for c in p.status.container_statuses)
              and not p.metadata.deletion_timestamp]
        ok.sort(key=lambda p: (p.metadata.creation_timestamp, p.metadata.name))
        return ok if len(ok) >= n else None
    return list(wait_for(f"{n} running pod(s) of {app}", ready, timeout=60))


def annotations(obj: Any) -> dict[str, str]:
    return dict(obj.metadata.annotations or {})


def own_events(core: client.CoreV1Api, ns: str, name: str) -> list[client.CoreV1Event]:
    return [e for e in core.list_namespaced_event(ns).items
            if e.involved_object.name == name and (e.source and e.source.component == "crashwatch")]


SCENARIOS: dict[str, tuple[str, Callable[..., Any], list[str]]] = {
    "missing-env": ("CrashLoop.MissingEnv", lambda core, pod, logs: kubelet.crash_loop(
        core, pod, "app", exit_code=1, restarts=3, logs_dir=logs,
        log="I, [2026-11-23T10:00:00 #1]  INFO -- : Booting\n/usr/local/bundle/gems/railties-"
            "7.1.3/lib/rails/application.rb:658:in `validate_secret_key_base': Missing "
            "`secret_key_base` for 'production' environment, set this string with `bin/rails "
            "credentials:edit` (ArgumentError)\n"), ["SECRET_KEY_BASE"]),
    "oom": ("CrashLoop.OOMKilled", lambda core, pod, logs: kubelet.oom_kill(
        core, pod, "app", restarts=3), ["OOMKilled", "256Mi"]),
    "liveness": ("CrashLoop.LivenessProbe", lambda core, pod, logs: kubelet.liveness_kill(
        core, pod, "app", status_code=404), ["404"]),
    "missing-key": ("Config.MissingSecretKey", lambda core, pod, logs: kubelet.config_error(
        core, pod, "app", kind="secret", name="db-credentials", key="password"),
        ["password", "db-credentials"]),
    "image": ("Image.NotFound", lambda core, pod, logs: kubelet.image_pull_error(
        core, pod, "app", kind="notfound"), ["example/app:1.0"]),
    "readiness": ("Probe.ReadinessFailing", lambda core, pod, logs: kubelet.readiness_failing(
        core, pod, "app", status_code=503), ["503"]),
    "start-error": ("CrashLoop.CommandNotFound", lambda core, pod, logs: kubelet.start_error(
        core, pod, "app"), ["executable file not found"]),
    "unauthorized": ("Image.Unauthorized", lambda core, pod, logs: kubelet.image_pull_error(
        core, pod, "app", kind="unauthorized"), ["example/app:1.0"]),
    "read-only-fs": ("CrashLoop.ReadOnlyFilesystem", lambda core, pod, logs: kubelet.crash_loop(
        core, pod, "app", exit_code=1, restarts=3, logs_dir=logs,
        log="ERROR: Failed to start server in (production) mode\nError details:: java.nio.file."
            "FileSystemException: /opt/keycloak/lib/quarkus/build-system.properties: Read-only "
            "file system\n"), ["/opt/keycloak/lib/quarkus/build-system.properties"]),
    "dependency": ("CrashLoop.DependencyUnreachable", lambda core, pod, logs: kubelet.crash_loop(
        core, pod, "app", exit_code=1, restarts=3, logs_dir=logs,
        log='{"level":"fatal","msg":"db","error":"dial tcp 10.96.14.2:5432: connect: connection '
            'refused"}\n'), ["10.96.14.2:5432"]),
    "app-error": ("CrashLoop.AppError", lambda core, pod, logs: kubelet.crash_loop(
        core, pod, "app", exit_code=2, restarts=3, logs_dir=logs,
        log="panic: runtime error: invalid memory address or nil pointer dereference\n"),
        ["nil pointer dereference"]),
    "permission": ("CrashLoop.PermissionDenied", lambda core, pod, logs: kubelet.crash_loop(
        core, pod, "app", exit_code=126, restarts=3, logs_dir=logs,
        log="/bin/sh: 1: /app/start.sh: Permission denied\n"), ["/app/start.sh"]),
    "missing-configmap": ("Config.MissingConfigMap", lambda core, pod, logs:
                          kubelet.config_error(core, pod, "app", kind="configmap",
                                               name="web-config"), ["web-config"]),
    # A TCP probe on a port nothing listens on (observed-1.36.txt: "Liveness probe failed:
    # dial tcp 10.244.0.5:5432: connect: connection refused", no Get "http://..." part).
    "liveness-tcp": ("CrashLoop.LivenessProbe", lambda core, pod, logs: kubelet.liveness_kill(
        core, pod, "app", status_code=None), ["5432"]),
    # The older shapes still met in the wild: CrashLoopBackOff between every restart, and a
    # containerd 1.x pull error with the gRPC prefix an older kubelet keeps.
    "app-error-waiting": ("CrashLoop.AppError", lambda core, pod, logs: kubelet.crash_loop(
        core, pod, "app", exit_code=2, restarts=3, logs_dir=logs, between_restarts="waiting",
        log="panic: runtime error: index out of range [3] with length 3\n"),
        ["index out of range"]),
    "unauthorized-containerd1": ("Image.Unauthorized", lambda core, pod, logs:
                                 kubelet.image_pull_error(core, pod, "app", kind="unauthorized",
                                                          runtime="containerd1", auth="token",
                                                          legacy_kubelet=True),
                                 ["example/app:1.0"]),
}
#: What a scenario's Deployment needs in its container spec.
CONTAINERS: dict[str, dict[str, Any]] = {
    "liveness-tcp": {"livenessProbe": {"tcpSocket": {"port": 5432}, "periodSeconds": 2,
                                       "failureThreshold": 2}},
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_failure_is_annotated_evented_counted_and_cleared_on_recovery(
    scenario: str, operator: Operator, core: client.CoreV1Api, apps: client.AppsV1Api,
    namespace: str,
) -> None:
    reason, drive, needles = SCENARIOS[scenario]
    name = f"app-{uuid.uuid4().hex[:5]}"
    make_deployment(apps, namespace, name, container=CONTAINERS.get(scenario))
    pod = running_pods(core, namespace, name)[0]
    pod_name = pod.metadata.name

    drive(core, (namespace, pod_name), operator.logs_dir)

    got = wait_for(f"{reason} on the pod", lambda: (
        annotations(core.read_namespaced_pod(pod_name, namespace)).get(REASON) == reason
        and core.read_namespaced_pod(pod_name, namespace)), op=operator)
    ann = annotations(got)
    evidence = [*json.loads(ann["crashwatch.dev/evidence"]), ann["crashwatch.dev/summary"]]
    for needle in needles:
        assert any(needle in line for line in evidence), (needle, evidence)
    assert ann["crashwatch.dev/since"].endswith("Z")
    dep = wait_for("owner annotation", lambda: annotations(
        apps.read_namespaced_deployment(name, namespace)).get(REASON) == reason, op=operator)
    assert dep
    events = wait_for("crashwatch Event on the pod",
                      lambda: own_events(core, namespace, pod_name), op=operator)
    assert events[0].reason == reason and events[0].type == "Warning"
    assert wait_for("owner Event", lambda: own_events(core, namespace, name), op=operator)
    assert operator.sample("crashwatch_failing_containers", namespace=namespace,
                           owner_kind="Deployment", owner_name=name, reason=reason) == 1

    kubelet.recover(core, (namespace, pod_name), "app")

    wait_for("annotations removed", lambda: REASON not in annotations(
        core.read_namespaced_pod(pod_name, namespace)), op=operator)
    wait_for("owner annotations removed", lambda: REASON not in annotations(
        apps.read_namespaced_deployment(name, namespace)), op=operator)
    assert operator.sample("crashwatch_failing_containers", namespace=namespace,
                           owner_kind="Deployment", owner_name=name, reason=reason) == 0


def test_healthy_churn_causes_no_writes(
    operator: Operator, core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str,
) -> None:
    writes_before = operator.sample("crashwatch_publications_total")
    seen_before = operator.sample("crashwatch_watch_events_total", resource="pods")
    make_deployment(apps, namespace, "churn", replicas=3)
    running_pods(core, namespace, "churn", 3)
    apps.patch_namespaced_deployment_scale("churn", namespace, {"spec": {"replicas": 5}})
    running_pods(core, namespace, "churn", 5)
    for tag in ("1.1", "1.2"):
        apps.patch_namespaced_deployment("churn", namespace, {"spec": {"template": {"spec": {
            "containers": [{"name": "app", "image": f"example/app:{tag}"}]}}}})

        def rolled(tag: str = tag) -> bool:
            pods = core.list_namespaced_pod(namespace, label_selector="app=churn").items
            return len(pods) == 5 and all(
                p.spec.containers[0].image == f"example/app:{tag}" and p.status.phase ==
                "Running" and p.status.container_statuses and
                all(c.ready for c in p.status.container_statuses) for p in pods)
        wait_for(f"rollout to {tag}", rolled, timeout=90)
    time.sleep(1.0)  # let the operator see the last updates
    assert operator.sample("crashwatch_watch_events_total", resource="pods") > seen_before + 10
    assert operator.sample("crashwatch_publications_total") == writes_before
    for p in core.list_namespaced_pod(namespace).items:
        assert not any(k.startswith("crashwatch.dev/reason") for k in annotations(p))


@pytest.fixture
def prometheus(operator: Operator, tmp_path: Path) -> Iterator[str]:
    """A real Prometheus (Debian's) scraping the operator every second, with the shipped
    rules: the same expressions, their ``for:`` shortened so a test need not wait 10m."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus missing: run tests/tools/ensure-tools.sh (make test does)"
    rules = (REPO / "deploy" / "prometheus" / "rules.yaml").read_text()
    fast = re.sub(r"(?m)^(\s+)for: \S+$", r"\1for: 1s", rules)
    assert fast != rules
    (tmp_path / "rules.yaml").write_text(fast)
    port = free_port()
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "rule_files: [rules.yaml]\n"
        "scrape_configs:\n  - job_name: crashwatch\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{operator.metrics_port}']\n")
    proc = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("w"))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for("prometheus ready", lambda: get(url + "/-/ready") is not None, timeout=60)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_prometheus_scrapes_the_operator_and_the_shipped_alert_fires(
    prometheus: str, operator: Operator, core: client.CoreV1Api, apps: client.AppsV1Api,
    namespace: str,
) -> None:
    make_deployment(apps, namespace, "server")
    pod = running_pods(core, namespace, "server")[0]
    kubelet.config_error(core, (namespace, pod.metadata.name), "app", kind="configmap",
                         name="server-config", key="invoice_template")

    def firing() -> list[dict[str, Any]]:
        data = get(prometheus + "/api/v1/alerts") or {}
        return [a for a in data.get("data", {}).get("alerts", [])
                if a["state"] == "firing" and a["labels"].get("namespace") == namespace]

    alerts = wait_for("CrashwatchConfigurationError firing", lambda: [
        a for a in firing() if a["labels"]["alertname"] == "CrashwatchConfigurationError"],
        timeout=60, op=operator)
    labels = alerts[0]["labels"]
    assert labels["owner_kind"] == "Deployment" and labels["owner_name"] == "server"
    assert labels["reason"] == "Config.MissingConfigMapKey"
    assert alerts[0]["annotations"]["summary"] == (
        f"{namespace}/server cannot start: Config.MissingConfigMapKey")
    up = get(prometheus + "/api/v1/query?query=up%7Bjob%3D%22crashwatch%22%7D")
    assert up["data"]["result"][0]["value"][1] == "1"


def test_api_server_restart_loses_nothing_and_doubles_nothing(
    control_plane: ControlPlane, operator: Operator, core: client.CoreV1Api,
    apps: client.AppsV1Api, namespace: str,
) -> None:
    make_deployment(apps, namespace, "before")
    first = running_pods(core, namespace, "before")[0].metadata.name
    kubelet.crash_loop(core, (namespace, first), "app", exit_code=1, restarts=3,
                       logs_dir=operator.logs_dir, log="FATAL: VAULT_ADDR must be set\n")
    got = wait_for("first diagnosis", lambda: annotations(core.read_namespaced_pod(
        first, namespace)).get(REASON) == "CrashLoop.MissingEnv" and core.read_namespaced_pod(
        first, namespace), op=operator)
    since = annotations(got)["crashwatch.dev/since"]
    # The Event follows the annotation by a moment.
    events_before = {(e.metadata.name, e.count) for e in wait_for(
        "the first Event", lambda: own_events(core, namespace, first), op=operator)}

    operator.forbidden_checked_until = len(operator.log_path.read_text())
    control_plane.restart_apiserver(down_seconds=3)

    # A failure that happens after the restart is still seen (the watches reconnected) ...
    make_deployment(apps, namespace, "after")
    second = running_pods(core, namespace, "after")[0].metadata.name
    kubelet.oom_kill(core, (namespace, second), "app", restarts=3)
    wait_for("diagnosis after the restart", lambda: annotations(core.read_namespaced_pod(
        second, namespace)).get(REASON) == "CrashLoop.OOMKilled", timeout=90, op=operator)
    # ... and the relist replays nothing twice: same annotation, no new Event or count.
    time.sleep(2)
    assert annotations(core.read_namespaced_pod(first, namespace))["crashwatch.dev/since"] == (
        since)
    assert {(e.metadata.name, e.count) for e in own_events(core, namespace, first)} == (
        events_before)
    assert operator.proc.poll() is None


def _pod_reason(core: client.CoreV1Api, ns: str, name: str, reason: str) -> Any:
    pod = core.read_namespaced_pod(name, ns)
    return annotations(pod).get(REASON) == reason and pod


def test_eviction_is_published_and_cleared_when_the_pod_goes(
    operator: Operator, core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str,
) -> None:
    make_deployment(apps, namespace, "cache")
    name = running_pods(core, namespace, "cache")[0].metadata.name
    kubelet.evict(core, (namespace, name), "app")
    got = wait_for("Pod.Evicted", lambda: _pod_reason(core, namespace, name, "Pod.Evicted"),
                   op=operator)
    assert "memory" in annotations(got)["crashwatch.dev/summary"]
    assert wait_for("owner annotated", lambda: annotations(apps.read_namespaced_deployment(
        "cache", namespace)).get(REASON) == "Pod.Evicted", op=operator)
    assert operator.sample("crashwatch_failing_containers", namespace=namespace,
                           reason="Pod.Evicted") == 1
    core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
    wait_for("owner annotation cleared", lambda: REASON not in annotations(
        apps.read_namespaced_deployment("cache", namespace)), op=operator)
    assert operator.sample("crashwatch_failing_containers", namespace=namespace,
                           reason="Pod.Evicted") == 0


def test_memory_shrunk_by_an_autoscaler_is_oom_after_shrink(
    operator: Operator, core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str,
) -> None:
    big = {"resources": {"limits": {"memory": "512Mi"}, "requests": {"memory": "512Mi"}}}
    make_deployment(apps, namespace, "rails", container=big)
    running_pods(core, namespace, "rails")
    # An autoscaler rewrites the template after watching the app "use" little memory.
    apps.patch_namespaced_deployment("rails", namespace, {"spec": {"template": {"spec": {
        "containers": [{"name": "app", "resources": {"limits": {"memory": "32Mi"},
                                                      "requests": {"memory": "32Mi"}}}]}}}})

    def shrunk_pod() -> str | None:
        for p in running_pods(core, namespace, "rails"):
            if p.spec.containers[0].resources.limits["memory"] == "32Mi":
                return str(p.metadata.name)
        return None
    name = wait_for("the shrunk pod running", shrunk_pod, timeout=60)
    kubelet.oom_kill(core, (namespace, name), "app", restarts=3)
    got = wait_for("OOMAfterShrink", lambda: _pod_reason(
        core, namespace, name, "CrashLoop.OOMAfterShrink"), op=operator)
    evidence = json.loads(annotations(got)["crashwatch.dev/evidence"])
    assert any("32Mi" in line and "512Mi" in line for line in evidence), evidence
    # The autoscaler's loop is fixed by a floor, not a rollback: no Rollout.Regression.
    # (The Deployment is annotated just after the pod, once the pod's Events are posted.)
    owner_reason = wait_for("the Deployment's annotation", lambda: annotations(
        apps.read_namespaced_deployment("rails", namespace)).get(REASON), op=operator)
    assert owner_reason == "CrashLoop.OOMAfterShrink"


def test_a_promotion_that_crash_loops_is_a_rollout_regression(
    operator: Operator, core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str,
) -> None:
    make_deployment(apps, namespace, "shop", image="example/shop:1.0")
    running_pods(core, namespace, "shop")
    # The new revision's pods are the simulated kubelet's from the start (kwok keeps away).
    apps.patch_namespaced_deployment("shop", namespace, {"spec": {"template": {
        "metadata": {"annotations": {kubelet.SIMULATED_ANNOTATION: "true"}},
        "spec": {"containers": [{"name": "app", "image": "example/shop:1.1"}]}}}})

    def new_pod() -> str | None:
        for p in core.list_namespaced_pod(namespace, label_selector="app=shop").items:
            if p.spec.containers[0].image == "example/shop:1.1" and p.spec.node_name:
                return str(p.metadata.name)
        return None
    name = wait_for("the new revision's pod", new_pod, timeout=60)
    kubelet.crash_loop(core, (namespace, name), "app", exit_code=1, restarts=3,
                       logs_dir=operator.logs_dir,
                       log="KeyError: 'SECRET_KEY_BASE'\n")
    wait_for("MissingEnv on the new pod", lambda: _pod_reason(
        core, namespace, name, "CrashLoop.MissingEnv"), op=operator)
    dep = wait_for("Rollout.Regression on the Deployment", lambda: (
        annotations(d := apps.read_namespaced_deployment("shop", namespace)).get(REASON)
        == "Rollout.Regression" and d), op=operator)
    ann = annotations(dep)
    assert "example/shop:1.0" in ann["crashwatch.dev/evidence"]
    assert "roll back to revision 1" in ann["crashwatch.dev/summary"]
    assert operator.sample("crashwatch_failing_workload", namespace=namespace,
                           owner_name="shop", reason="Rollout.Regression") == 1
    events = own_events(core, namespace, "shop")
    assert any(e.reason == "Rollout.Regression" for e in events)


def test_a_job_stopped_at_its_deadline_is_published_on_the_job(
    operator: Operator, api: client.ApiClient, core: client.CoreV1Api, namespace: str,
) -> None:
    """The real Job controller stops a Job whose pod runs past ``activeDeadlineSeconds``
    (``Failed=True``, ``DeadlineExceeded``) and deletes the pod: no failing container is ever
    seen, and crashwatch still says why the Job failed, on the Job."""
    batch = client.BatchV1Api(api)
    # the simulated kubelet runs its pod (kwok would complete a Job's pod at once); the
    # controller deletes it when the deadline passes
    batch.create_namespaced_job(namespace, {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "reindex"},
        "spec": {"activeDeadlineSeconds": 8, "backoffLimit": 2, "template": {
            "metadata": {"annotations": {kubelet.SIMULATED_ANNOTATION: "true"}},
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "reindex", "image": "example/reindex:1.0"}]}}}})
    pod = wait_for("the Job's pod", lambda: core.list_namespaced_pod(
        namespace, label_selector="job-name=reindex").items, timeout=60)[0]
    with contextlib.suppress(kubelet.PodGone):  # the deadline may come first
        kubelet.take_over(core, (namespace, pod.metadata.name))
        kubelet.recover(core, (namespace, pod.metadata.name), "reindex")
    job = wait_for("Job.DeadlineExceeded on the Job", lambda: (
        annotations(j := batch.read_namespaced_job("reindex", namespace)).get(REASON)
        == "Job.DeadlineExceeded" and j), timeout=60, op=operator)
    conds = {c.type: c.reason for c in job.status.conditions or []}
    assert conds.get("Failed") == "DeadlineExceeded"
    created = [e for e in core.list_namespaced_event(namespace).items
               if e.involved_object.name == "reindex" and e.reason == "SuccessfulCreate"]
    assert created, "the Job controller created no pod"
    ann = annotations(job)
    assert "activeDeadlineSeconds (8s)" in ann["crashwatch.dev/summary"]
    assert "reason=DeadlineExceeded" in ann["crashwatch.dev/evidence"]
    assert operator.sample("crashwatch_failing_workload", namespace=namespace,
                           owner_name="reindex", reason="Job.DeadlineExceeded") == 1
    assert any(e.reason == "Job.DeadlineExceeded" for e in own_events(core, namespace, "reindex"))
    # no pod of it was ever published as failing
    assert operator.sample("crashwatch_failing_containers", namespace=namespace) == 0


def restricted(user: int) -> dict[str, Any]:
    """A container securityContext that Pod Security "restricted" admits."""
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True, "runAsUser": user, "seccompProfile": {"type": "RuntimeDefault"}}


def test_pods_refused_by_pod_security_are_published_on_the_deployment_and_cleared(
    operator: Operator, core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str,
) -> None:
    """The real API server's Pod Security Admission refuses every pod the real ReplicaSet
    controller asks for: no pod exists, the Deployment shows ``ReplicaFailure``. crashwatch
    says so on the Deployment (the violations and the fields that fix them); once the
    template complies, pods are created and the finding is cleared."""
    core.patch_namespace(namespace, {"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": "restricted"}}})
    make_deployment(apps, namespace, "locked", replicas=2)
    dep = wait_for("Workload.FailedCreate on the Deployment", lambda: (
        annotations(d := apps.read_namespaced_deployment("locked", namespace)).get(REASON)
        == "Workload.FailedCreate" and d), timeout=60, op=operator)
    conds = {c.type: c for c in dep.status.conditions or []}
    assert conds["ReplicaFailure"].reason == "FailedCreate"
    assert not core.list_namespaced_pod(namespace, label_selector="app=locked").items
    ann = annotations(dep)
    assert 'PodSecurity "restricted:latest"' in ann["crashwatch.dev/summary"]
    assert "allowPrivilegeEscalation != false" in ann["crashwatch.dev/summary"]
    evidence = json.loads(ann["crashwatch.dev/evidence"])
    assert any("must set securityContext.runAsNonRoot=true" in e for e in evidence), evidence
    assert any(e.reason == "Workload.FailedCreate" for e in own_events(core, namespace, "locked"))
    assert operator.sample("crashwatch_failing_workload", namespace=namespace,
                           owner_name="locked", reason="Workload.FailedCreate") == 1

    # The template complies: the new ReplicaSet's pods are admitted, the refusal is over.
    apps.patch_namespaced_deployment("locked", namespace, {"spec": {"template": {"spec": {
        "containers": [{"name": "app", "securityContext": restricted(1000)}]}}}})
    running_pods(core, namespace, "locked", n=2)
    wait_for("the Deployment's finding cleared", lambda: REASON not in annotations(
        apps.read_namespaced_deployment("locked", namespace)), timeout=60, op=operator)
    assert operator.sample("crashwatch_failing_workload", namespace=namespace,
                           owner_name="locked", reason="Workload.FailedCreate") == 0


def test_an_init_container_that_waits_forever_is_stuck_then_cleared(
    operator: Operator, api: client.ApiClient, core: client.CoreV1Api, apps: client.AppsV1Api,
    namespace: str,
) -> None:
    """An init container loops on a name that does not resolve (apache/superset#14538's
    log): it runs, nothing restarts, the kubelet writes no new status. crashwatch reads its
    current log once it has run 10 minutes and says what it waits for; once it completes and
    the app runs, the finding is cleared."""
    from tests.cluster.nodes.kwok.realtime import LivePod  # noqa: PLC0415

    apps.create_namespaced_deployment(namespace, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "superset"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "superset"}}, "template": {
            "metadata": {"labels": {"app": "superset"},
                         "annotations": {kubelet.SIMULATED_ANNOTATION: "true"}},
            "spec": {"initContainers": [{
                "name": "wait-for-postgres", "image": "busybox:1.36",
                "command": ["sh", "-c", "until nc -z superset-postgresql 5432; do echo "
                            "waiting for db; sleep 1; done"]}],
                "containers": [{"name": "superset", "image": "apache/superset:1.1.0"}]}}}})
    pod = wait_for("the Deployment's pod", lambda: core.list_namespaced_pod(
        namespace, label_selector="app=superset").items, timeout=60)[0]
    ref = (namespace, pod.metadata.name)
    body = kubelet.take_over(core, ref)
    live = LivePod(core, body, "wait-for-postgres", init=True)
    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=11)
    kubelet.write_log(operator.logs_dir, body, "wait-for-postgres",
                      "nc: bad address 'superset-postgresql'\nwaiting for db\n" * 40)
    live.write(kubelet._running(body, live.spec_c, kubelet.rfc3339(started), 0, ready=False),
               "Pending")
    name = pod.metadata.name
    got = wait_for("Init.Stuck on the pod", lambda: (
        annotations(p := core.read_namespaced_pod(name, namespace)).get(REASON) == "Init.Stuck"
        and p), timeout=60, op=operator)
    ann = annotations(got)
    assert ann["crashwatch.dev/summary"].startswith(
        "Init container wait-for-postgres has run 11m without finishing, so the pod never "
        "starts: it waits for superset-postgresql")
    assert "log: nc: bad address 'superset-postgresql'" in json.loads(
        ann["crashwatch.dev/evidence"])
    assert any(e.reason == "Init.Stuck" for e in own_events(core, namespace, pod.metadata.name))
    assert operator.sample("crashwatch_failing_containers", namespace=namespace,
                           container="wait-for-postgres", reason="Init.Stuck") == 1

    # The Service appears: the loop ends, the init container completes, the app runs.
    now = kubelet.rfc3339()
    spec_init = live.spec_c
    done = kubelet._base_status(live.pod, spec_init)
    done.update(restartCount=0, ready=False, started=False,
                containerID=kubelet.container_id(live.pod, "wait-for-postgres", 0),
                state={"terminated": {"exitCode": 0, "reason": "Completed",
                                      "startedAt": kubelet.rfc3339(started), "finishedAt": now,
                                      "containerID": kubelet.container_id(
                                          live.pod, "wait-for-postgres", 0)}})
    app_spec = live.pod["spec"]["containers"][0]
    kubelet._write_status(core, live.pod, "superset", kubelet._running(
        live.pod, app_spec, now, 0), phase="Running", extra={"initContainerStatuses": [done]})
    wait_for("the pod's finding cleared", lambda: REASON not in annotations(
        core.read_namespaced_pod(name, namespace)), timeout=60, op=operator)
    assert operator.sample("crashwatch_failing_containers", namespace=namespace,
                           reason="Init.Stuck") == 0


def test_a_statefulset_refused_its_pods_is_published_from_its_events_and_cleared(
    operator: Operator, core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str,
) -> None:
    """A StatefulSet keeps no condition for a refusal: the real StatefulSet controller's
    FailedCreate Event (`create Pod db-0 in StatefulSet db failed error: ...`) is the only
    record, and crashwatch watches pods' Events only. It reads that Event of a StatefulSet
    short of pods, says why on the StatefulSet, and clears it once the pods exist."""
    core.patch_namespace(namespace, {"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": "restricted"}}})
    apps.create_namespaced_stateful_set(namespace, {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
        "spec": {"replicas": 2, "serviceName": "db",
                 "selector": {"matchLabels": {"app": "db"}},
                 "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [
                     {"name": "db", "image": "postgres:17"}]}}}})
    sts = wait_for("Workload.FailedCreate on the StatefulSet", lambda: (
        annotations(s := apps.read_namespaced_stateful_set("db", namespace)).get(REASON)
        == "Workload.FailedCreate" and s), timeout=90, op=operator)
    ann = annotations(sts)
    assert ann["crashwatch.dev/summary"].startswith(
        'StatefulSet db cannot create its pods: the namespace enforces PodSecurity '
        '"restricted:latest"')
    evidence = json.loads(ann["crashwatch.dev/evidence"])
    assert evidence[0].startswith("StatefulSet db: Event FailedCreate")
    assert any('must set securityContext.runAsNonRoot=true' in e for e in evidence), evidence
    assert any(e.reason == "Workload.FailedCreate" for e in own_events(core, namespace, "db"))
    assert operator.sample("crashwatch_failing_workload", namespace=namespace,
                           owner_kind="StatefulSet", owner_name="db",
                           reason="Workload.FailedCreate") == 1

    apps.patch_namespaced_stateful_set("db", namespace, {"spec": {"template": {"spec": {
        "containers": [{"name": "db", "securityContext": restricted(999)}]}}}})
    running_pods(core, namespace, "db", n=2)
    wait_for("the StatefulSet's finding cleared", lambda: REASON not in annotations(
        apps.read_namespaced_stateful_set("db", namespace)), timeout=90, op=operator)
    assert operator.sample("crashwatch_failing_workload", namespace=namespace,
                           owner_name="db", reason="Workload.FailedCreate") == 0
