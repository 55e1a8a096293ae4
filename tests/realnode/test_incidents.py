"""Every seed incident on real containers, with crashwatch running in the cluster from its own
image. Nothing here is written "as a kubelet would": the kubelet v1.36 and containerd v2 on
this machine write every status and Event, the registries refuse the pulls, the kernel kills
the process over its memory limit, and the log lines are the programs' own (Python's
KeyError in a Django settings module, nginx's, libpq's, pgjdbc's). crashwatch reads them
through ``pods/log`` under its own ServiceAccount token.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes import client, watch
from tests.cluster.images.registry import PRIVATE_USER
from tests.cluster.nodes.real.cluster import RealCluster
from tests.realnode.helpers import (
    REASON,
    SUMMARY,
    PodRecorder,
    annotations,
    container,
    crashwatch_events,
    create_deployment,
    create_pod,
    describe,
    evidence,
    pod_spec,
    published,
    wait_for,
)

pytestmark = [pytest.mark.realnode, pytest.mark.timeout(420),
              pytest.mark.usefixtures("crashwatch")]


def _policy(api: client.ApiClient, ns: str, app: str, **spec: Any) -> None:
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        "crashwatch.dev", "v1alpha1", ns, "remediationpolicies",
        {"apiVersion": "crashwatch.dev/v1alpha1", "kind": "RemediationPolicy",
         "metadata": {"name": f"{app}-policy"},
         "spec": {"selector": {"matchLabels": {"app": app}}, "dryRun": False, **spec}})


def _available(apps: client.AppsV1Api, ns: str, name: str) -> bool:
    dep = apps.read_namespaced_deployment(name, ns)
    st = dep.status
    return bool(st.observed_generation == dep.metadata.generation
                and (st.updated_replicas or 0) == 1 and (st.available_replicas or 0) == 1
                and (st.replicas or 0) == 1)


# ---------------------------------------------------------------- crash loops

def test_missing_env_var_named_from_the_real_pods_log(
        cluster: RealCluster, core: client.CoreV1Api, apps: client.AppsV1Api,
        namespace: str) -> None:
    """Django without SECRET_KEY: Python's own traceback, read through pods/log."""
    create_deployment(apps, namespace, "shop", container(cluster.image("shop:1")))
    ann = published(core, namespace, "app=shop", "CrashLoop.MissingEnv")
    assert ann[REASON] == "CrashLoop.MissingEnv", describe(core, namespace)
    assert "SECRET_KEY" in ann[SUMMARY]
    assert any("KeyError: 'SECRET_KEY'" in line for line in evidence(ann)), evidence(ann)
    dep = apps.read_namespaced_deployment("shop", namespace)
    assert annotations(dep).get(REASON) == "CrashLoop.MissingEnv"


def test_crash_loop_published_before_the_third_start_with_the_default_sync_frequency(
        cluster: RealCluster, core: client.CoreV1Api, namespace: str,
        record_property: Any) -> None:
    """With its default syncFrequency (1m) a 1.36 kubelet restarts a crashed container at
    once, shows ``waiting: CrashLoopBackOff`` (back-off 10s) after the second crash, and
    from the third crash on leaves the state ``terminated`` for the whole back-off (28 s,
    52 s, ... in tests/cluster/nodes/real/observed-1.36.txt). The finding must come from the
    crashes themselves: published before the third run starts, 10 s after the second
    crash. The delay from the second crash is recorded (``second_crash_to_published``)."""
    assert cluster.node.sync_frequency is None
    msg = "FATAL: could not load /etc/shop/config.yaml: no such file or directory"
    create_pod(core, namespace, "loop", container(cluster.image("testapp:1"), "exit", "-code",
                                                    "3", "-msg", msg))
    second_crash: datetime | None = None
    stream = watch.Watch()
    for ev in stream.stream(core.list_namespaced_pod, namespace, timeout_seconds=150,
                            field_selector="metadata.name=loop"):
        pod = ev["object"]
        cs = (pod.status.container_statuses or [None])[0]
        if cs is not None and cs.restart_count == 1 and cs.state.terminated is not None:
            second_crash = second_crash or cs.state.terminated.finished_at
        if REASON in annotations(pod):
            seen = datetime.now(UTC)
            stream.stop()
            assert cs is not None
            assert annotations(pod)[REASON] == "CrashLoop.AppError", describe(core, namespace)
            assert cs.restart_count <= 1, f"published after the third run started: {cs.to_dict()}"
            assert any(msg in line for line in evidence(annotations(pod)))
            if second_crash is not None:
                record_property("second_crash_to_published",
                                round((seen - second_crash).total_seconds(), 1))
            return
    pytest.fail(f"no finding within 150 s:\n{describe(core, namespace)}")


def test_a_crash_loop_stays_published_between_restarts(
        cluster: RealCluster, core: client.CoreV1Api, namespace: str) -> None:
    """Between two crashes the kubelet shows the container ``running`` for a moment (it
    restarts it): that is not a recovery. Once published, the finding stays on the pod in
    every version the API server stores until the third crash."""
    with PodRecorder(core, namespace) as pods:
        create_pod(core, namespace, "flap", container(cluster.image("testapp:1"), "exit",
                                                      "-code", "1", "-msg", "FATAL: flap"))

        def third_crash() -> bool:
            return any(cs.restart_count >= 2 and cs.state.terminated is not None
                       for pod in list(pods.pods) for cs in pod.status.container_statuses or [])
        wait_for("the third crash", third_crash, timeout=120)
        versions = [p for p in list(pods.pods) if p.metadata.name == "flap"]
        first = next((i for i, p in enumerate(versions) if REASON in annotations(p)), None)
        assert first is not None, describe(core, namespace)
        dropped = [(p.metadata.resource_version,
                    (p.status.container_statuses or [None])[0].to_dict()["state"])
                   for p in versions[first:] if REASON not in annotations(p)]
        assert not dropped, f"the finding was removed between restarts: {dropped}"


def test_the_first_publication_carries_the_crashed_instances_log(
        cluster: RealCluster, core: client.CoreV1Api, namespace: str) -> None:
    """After a first crash the state is ``terminated`` with no ``lastState``: the crashed
    instance is the current one and ``pods/log`` (previous=false) holds its words, while
    previous=true answers 400. Whatever crashwatch publishes first must be read from that
    log, never "no log was available" (psql printed its error before exiting 2)."""
    with PodRecorder(core, namespace) as pods:
        create_pod(core, namespace, "first", container(
            cluster.image("psql:15"), "postgresql://report@db:5432/shop", "-c", "select 1"),
            hostAliases=[{"ip": "127.0.0.1", "hostnames": ["db"]}])
        published(core, namespace, "app=first", "CrashLoop.DependencyUnreachable")
        summaries = [annotations(p).get(SUMMARY, "") for p in list(pods.pods)
                     if REASON in annotations(p)]
        assert not [t for t in summaries if "no log was available" in t], summaries


def test_memory_shrunk_on_the_workload_oom_kills_for_real(
        cluster: RealCluster, api: client.ApiClient, core: client.CoreV1Api,
        apps: client.AppsV1Api, namespace: str) -> None:
    """An autoscaler writes 32Mi where 512Mi ran healthy; the kernel OOM-kills the 64 MiB
    process; crashwatch names both values; the policy pins the floor and the pod runs.
    The floor lands within a second of the finding and the OOM pod goes with its revision,
    so the finding is read from whatever crashwatch wrote: its Events (they stay) or the
    pod's annotations as a watch saw them."""
    with PodRecorder(core, namespace) as pods:
        big = {"limits": {"memory": "512Mi"}, "requests": {"cpu": "10m", "memory": "512Mi"}}
        create_deployment(apps, namespace, "rails", container(
            cluster.image("testapp:1"), "hog", "-mib", "64", resources=big,
            readinessProbe={"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 2}))
        wait_for("the 512Mi revision available", lambda: _available(apps, namespace, "rails"))
        _policy(api, namespace, "rails", resourceFloor={"enabled": True, "headroomPercent": 0})
        small = {"limits": {"memory": "32Mi"}, "requests": {"cpu": "10m", "memory": "32Mi"}}
        apps.patch_namespaced_deployment("rails", namespace, {"spec": {"template": {"spec": {
            "containers": [{"name": "app", "resources": small}]}}}})
        def oom_after_shrink() -> list[str]:
            """What crashwatch published: its Events (pod or Deployment) and annotations."""
            texts = [e.message for e in core.list_namespaced_event(namespace).items
                     if e.reason == "CrashLoop.OOMAfterShrink"
                     and e.source and e.source.component == "crashwatch"]
            return texts + [annotations(p).get(SUMMARY, "") for p in list(pods.pods)
                            if annotations(p).get(REASON) == "CrashLoop.OOMAfterShrink"]
        published_texts = wait_for("crashwatch's OOMAfterShrink", oom_after_shrink, timeout=150)
        assert any("32Mi" in t and "512Mi" in t for t in published_texts), published_texts
        # the kernel's kill, as the kubelet reported it
        assert any(t.reason == "OOMKilled" and t.exit_code == 137
                   for t in pods.terminations()), describe(core, namespace)

        def floor_pinned() -> bool:
            dep = apps.read_namespaced_deployment("rails", namespace)
            limits = dep.spec.template.spec.containers[0].resources.limits
            return bool(limits["memory"] == "512Mi")
        wait_for("the floor pinned at 512Mi", floor_pinned, timeout=120)
        wait_for("the Deployment available again", lambda: _available(apps, namespace, "rails"),
                 timeout=120)
        remediated = wait_for("the remediation's Event on the Deployment", lambda: [
            e for e in crashwatch_events(core, namespace, "rails") if e.reason == "Remediated"])
        assert "512Mi" in remediated[0].message, remediated[0].message


def test_read_only_root_filesystem_nginx(
        cluster: RealCluster, core: client.CoreV1Api, namespace: str) -> None:
    create_pod(core, namespace, "web", container(
        cluster.image("nginx:1.22"), securityContext={"readOnlyRootFilesystem": True}))
    ann = published(core, namespace, "app=web", "CrashLoop.ReadOnlyFilesystem")
    assert ann[REASON] == "CrashLoop.ReadOnlyFilesystem", describe(core, namespace)
    lines = evidence(ann)
    assert any("(30: Read-only file system)" in line for line in lines), lines
    assert "/var/" in ann[SUMMARY], ann[SUMMARY]


def test_postgres_unreachable_from_psql(
        cluster: RealCluster, core: client.CoreV1Api, namespace: str) -> None:
    """A database proxy that is not there: libpq's own words."""
    create_pod(core, namespace, "report", container(
        cluster.image("psql:15"), "postgresql://report@db:5432/shop", "-c", "select 1"),
        hostAliases=[{"ip": "127.0.0.1", "hostnames": ["db"]}])
    ann = published(core, namespace, "app=report", "CrashLoop.DependencyUnreachable")
    assert ann[REASON] == "CrashLoop.DependencyUnreachable", describe(core, namespace)
    assert "db" in ann[SUMMARY] and "5432" in ann[SUMMARY], ann[SUMMARY]
    assert any("Connection refused" in line for line in evidence(ann)), evidence(ann)


def test_postgres_unreachable_from_the_jvm(
        cluster: RealCluster, core: client.CoreV1Api, namespace: str) -> None:
    create_pod(core, namespace, "orders", container(cluster.image("orders:1")))
    ann = published(core, namespace, "app=orders", "CrashLoop.DependencyUnreachable",
                    timeout=240)
    assert ann[REASON] == "CrashLoop.DependencyUnreachable", describe(core, namespace)
    assert "5432" in ann[SUMMARY], ann[SUMMARY]
    assert any("PSQLException" in line or "refused" in line for line in evidence(ann))


# ---------------------------------------------------------------- probes

def test_liveness_probe_on_a_moved_health_route(
        cluster: RealCluster, core: client.CoreV1Api, namespace: str) -> None:
    create_pod(core, namespace, "api", container(
        cluster.image("testapp:1"), "serve", "-health", "/livez",
        livenessProbe={"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 2,
                       "failureThreshold": 2}))
    ann = published(core, namespace, "app=api", "CrashLoop.LivenessProbe")
    assert ann[REASON] == "CrashLoop.LivenessProbe", describe(core, namespace)
    assert "404" in ann[SUMMARY] + " ".join(evidence(ann))


def test_liveness_probe_on_a_port_nothing_listens_on(
        cluster: RealCluster, core: client.CoreV1Api, namespace: str) -> None:
    create_pod(core, namespace, "proxy", container(
        cluster.image("testapp:1"), "serve", "-listen", ":8080",
        livenessProbe={"tcpSocket": {"port": 5432}, "periodSeconds": 2, "failureThreshold": 2}))
    ann = published(core, namespace, "app=proxy", "CrashLoop.LivenessProbe")
    assert ann[REASON] == "CrashLoop.LivenessProbe", describe(core, namespace)
    assert "refused" in (ann[SUMMARY] + " ".join(evidence(ann))).lower()


def test_readiness_503(cluster: RealCluster, core: client.CoreV1Api, namespace: str) -> None:
    create_pod(core, namespace, "cart", container(
        cluster.image("testapp:1"), "serve", "-ready-status", "503",
        readinessProbe={"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 2}))
    # The kubelet's first probe may come before the server listens (refused); from then on
    # every probe gets 503. The finding must name what keeps failing: the 503.
    def names_503() -> dict[str, str] | None:
        pod = core.read_namespaced_pod("cart", namespace)
        ann = annotations(pod)
        text = ann.get(SUMMARY, "") + " ".join(evidence(ann))
        return ann if ann.get(REASON) == "Probe.ReadinessFailing" and "503" in text else None
    published(core, namespace, "app=cart", "Probe.ReadinessFailing")
    wait_for("Probe.ReadinessFailing naming the 503", names_503, timeout=90)


def test_a_slow_start_is_not_a_readiness_failure(
        cluster: RealCluster, core: client.CoreV1Api, apps: client.AppsV1Api,
        namespace: str) -> None:
    """Real apps take seconds to listen (a JVM, Django); the kubelet's first readiness
    probes are refused meanwhile. That is a start, not a failure: nothing is published."""
    with PodRecorder(core, namespace) as pods:
        create_deployment(apps, namespace, "slow", container(
            cluster.image("testapp:1"), "serve", "-delay", "4s",
            readinessProbe={"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 1}))
        wait_for("a refused readiness probe", lambda: [
            e for e in core.list_namespaced_event(namespace).items
            if e.reason == "Unhealthy" and "connection refused" in e.message])
        wait_for("the Deployment available", lambda: _available(apps, namespace, "slow"))
        # crashwatch handles pods in the order the API server wrote them: once it has
        # published a later crash in this namespace, it has judged the slow start too.
        create_pod(core, namespace, "sentinel", container(
            cluster.image("testapp:1"), "exit", "-code", "1", "-msg", "sentinel"))
        published(core, namespace, "app=sentinel")
        assert pods.annotated("slow-") == [], describe(core, namespace)
        (slow,) = core.list_namespaced_pod(namespace, label_selector="app=slow").items
        assert crashwatch_events(core, namespace, slow.metadata.name) == []


# ---------------------------------------------------------------- configuration

@pytest.mark.parametrize(("kind", "exists", "code"), [
    ("configMap", False, "Config.MissingConfigMap"),
    ("configMap", True, "Config.MissingConfigMapKey"),
    ("secret", False, "Config.MissingSecret"),
    ("secret", True, "Config.MissingSecretKey"),
])
def test_missing_config_from_the_real_kubelets_message(
        cluster: RealCluster, core: client.CoreV1Api, namespace: str, kind: str,
        exists: bool, code: str) -> None:
    name = "app-config" if kind == "configMap" else "app-secrets"
    if exists and kind == "configMap":
        core.create_namespaced_config_map(namespace, {"metadata": {"name": name},
                                                      "data": {"LOG_LEVEL": "info"}})
    elif exists:
        core.create_namespaced_secret(namespace, {"metadata": {"name": name},
                                                  "data": {"LOG_LEVEL": "aW5mbw=="}})
    ref = {"name": name, "key": "DATABASE_URL"}
    create_pod(core, namespace, "cfg", container(cluster.image("testapp:1"), "sleep", env=[
        {"name": "DATABASE_URL", "valueFrom": {f"{kind}KeyRef": ref}}]))
    ann = published(core, namespace, "app=cfg", code)
    assert ann[REASON] == code, describe(core, namespace)
    assert name in ann[SUMMARY]
    if exists:
        assert "DATABASE_URL" in ann[SUMMARY]


# ---------------------------------------------------------------- images

def test_missing_tag(cluster: RealCluster, core: client.CoreV1Api, namespace: str) -> None:
    create_pod(core, namespace, "tag", container(cluster.tag("testapp:does-not-exist")))
    ann = published(core, namespace, "app=tag", "Image.NotFound")
    assert ann[REASON] == "Image.NotFound", describe(core, namespace)
    assert "testapp:does-not-exist" in ann[SUMMARY]


def test_missing_credentials_then_with_them(
        cluster: RealCluster, core: client.CoreV1Api, namespace: str) -> None:
    private = cluster.tag("testapp:1", private=True)
    create_pod(core, namespace, "nocreds", container(private, "sleep"))
    ann = published(core, namespace, "app=nocreds", "Image.Unauthorized")
    assert ann[REASON] == "Image.Unauthorized", describe(core, namespace)
    # The same image with the registry's credentials: pulled, running, nothing published.
    auth = base64.b64encode(f"{PRIVATE_USER}:{cluster.registries.private.password}".encode())
    config = json.dumps({"auths": {cluster.registries.private.host: {"auth": auth.decode()}}})
    core.create_namespaced_secret(namespace, {
        "metadata": {"name": "pull"}, "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": config}})
    create_pod(core, namespace, "creds", container(private, "sleep"),
               imagePullSecrets=[{"name": "pull"}])
    wait_for("the pod with credentials running", lambda: (
        core.read_namespaced_pod("creds", namespace).status.phase == "Running"))
    assert REASON not in annotations(core.read_namespaced_pod("creds", namespace))


# ---------------------------------------------------------------- rollouts

def test_bad_promotion_is_a_regression_and_is_rolled_back(
        cluster: RealCluster, api: client.ApiClient, core: client.CoreV1Api,
        apps: client.AppsV1Api, namespace: str) -> None:
    """shop:1 runs with its SECRET_KEY; shop:2 also needs CACHE_URL and is promoted without
    it: Rollout.Regression naming shop:1, rolled back by the policy, available again."""
    good = cluster.image("shop:1")
    create_deployment(apps, namespace, "shop", container(
        good, env=[{"name": "SECRET_KEY", "value": "not-a-secret-just-a-test"}],
        readinessProbe={"httpGet": {"path": "/healthz", "port": 8000}, "periodSeconds": 2}))
    wait_for("shop:1 available", lambda: _available(apps, namespace, "shop"))
    _policy(api, namespace, "shop", rollback={"enabled": True, "minRegressionDuration": "1s"})
    bad = cluster.image("shop:2")
    apps.patch_namespaced_deployment("shop", namespace, {"spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": bad}]}}}})

    def regression() -> dict[str, str] | None:
        ann = annotations(apps.read_namespaced_deployment("shop", namespace))
        return ann if ann.get(REASON) == "Rollout.Regression" else None
    ann = wait_for("Rollout.Regression on the Deployment", regression, timeout=180)
    assert "shop:1" in ann[SUMMARY] or good.split("@")[-1][:19] in ann[SUMMARY], ann[SUMMARY]

    def rolled_back() -> bool:
        dep = apps.read_namespaced_deployment("shop", namespace)
        return bool(dep.spec.template.spec.containers[0].image == good)
    wait_for("the template back on shop:1", rolled_back, timeout=180)
    wait_for("shop available again", lambda: _available(apps, namespace, "shop"), timeout=120)


# ---------------------------------------------------------------- native sidecars

def _with_sidecar(cluster: RealCluster, sidecar: dict[str, Any]) -> dict[str, Any]:
    """A pod spec's extra fields: a native sidecar (an init container with ``restartPolicy:
    Always``, GA since 1.33) beside an app that runs fine."""
    return {"initContainers": [{**sidecar, "name": "proxy", "restartPolicy": "Always"}]}


def test_a_crash_looping_native_sidecar_beside_a_healthy_app(
        cluster: RealCluster, core: client.CoreV1Api, namespace: str) -> None:
    """The kubelet restarts a native sidecar that exits while the pod stays Running and its
    app container ready: only the sidecar's own status (in initContainerStatuses) shows the
    crash loop. crashwatch names the sidecar and why it exits."""
    msg = "FATAL: envoy config /etc/envoy/envoy.yaml: no such file or directory"
    with PodRecorder(core, namespace) as pods:
        create_pod(core, namespace, "mesh", container(cluster.image("testapp:1"), "sleep"),
                   **_with_sidecar(cluster, container(cluster.image("testapp:1"), "exit",
                                                      "-code", "1", "-msg", msg)))
        ann = published(core, namespace, "app=mesh", "CrashLoop.AppError")
        assert "Sidecar container proxy" in ann[SUMMARY], describe(core, namespace)
        assert any(msg in line for line in evidence(ann)), evidence(ann)
        # the shape that hid it: the pod Running, its app ready, the sidecar restarting
        assert any(p.status.phase == "Running"
                   and all(cs.ready for cs in p.status.container_statuses or [None])
                   and any(cs.restart_count >= 1 for cs in p.status.init_container_statuses
                           or [])
                   for p in list(pods.pods)), describe(core, namespace)


def test_a_native_sidecar_whose_liveness_probe_port_is_not_listening(
        cluster: RealCluster, core: client.CoreV1Api, namespace: str) -> None:
    """A mesh proxy's probe on a port it does not listen on: the kubelet kills the sidecar
    again and again (its Events name ``spec.initContainers{proxy}``)."""
    create_pod(core, namespace, "meshprobe", container(cluster.image("testapp:1"), "sleep"),
               **_with_sidecar(cluster, container(
                   cluster.image("testapp:1"), "serve", "-listen", ":8080",
                   livenessProbe={"tcpSocket": {"port": 15021}, "periodSeconds": 2,
                                  "failureThreshold": 2})))
    ann = published(core, namespace, "app=meshprobe", "CrashLoop.LivenessProbe")
    assert "sidecar container proxy" in ann[SUMMARY].lower(), describe(core, namespace)
    assert "15021" in ann[SUMMARY] + " ".join(evidence(ann)), evidence(ann)


def test_a_jobs_sidecar_the_kubelet_stops_after_the_app_completes_is_no_failure(
        cluster: RealCluster, core: client.CoreV1Api, api: client.ApiClient,
        namespace: str) -> None:
    """A Job's app exits 0 and the kubelet stops its native sidecar (a server with no
    SIGTERM handler: it dies of the signal, exit 143). The Job completed; nothing failed."""
    batch = client.BatchV1Api(api)
    app = container(cluster.image("testapp:1"), "exit", "-code", "0", "-msg", "migrated")
    proxy = {**container(cluster.image("testapp:1"), "serve", "-listen", ":8080"),
             "name": "proxy", "restartPolicy": "Always"}
    with PodRecorder(core, namespace) as pods:
        batch.create_namespaced_job(namespace, {
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "jobside"},
            "spec": {"backoffLimit": 0, "template": {
                "metadata": {"labels": {"app": "jobside"}},
                "spec": {**pod_spec(app, initContainers=[proxy]), "restartPolicy": "Never"}}}})

        def complete() -> bool:
            st = batch.read_namespaced_job_status("jobside", namespace).status
            return any(c.type == "Complete" and c.status == "True" for c in st.conditions or [])
        wait_for("the Job complete", complete, timeout=120)
        stopped = [t for p in list(pods.pods) for cs in p.status.init_container_statuses or []
                   for t in (cs.state.terminated, cs.last_state.terminated) if t is not None]
        assert stopped, describe(core, namespace)  # the kubelet stopped the sidecar
        # crashwatch handles pods in the order the API server wrote them: once it has
        # published a later crash in this namespace, it has judged the Job's pod too
        create_pod(core, namespace, "sentinel", container(
            cluster.image("testapp:1"), "exit", "-code", "1", "-msg", "sentinel"))
        published(core, namespace, "app=sentinel")
        assert pods.annotated("jobside-") == [], (
            [t.to_dict() for t in stopped], describe(core, namespace))
        (pod,) = core.list_namespaced_pod(namespace, label_selector="app=jobside").items
        assert crashwatch_events(core, namespace, pod.metadata.name) == []
        assert crashwatch_events(core, namespace, "jobside") == []
