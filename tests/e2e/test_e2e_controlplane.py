"""End-to-end checks of the local control plane itself: what crashwatch's own e2e tests,
demo and benchmarks rely on."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client, watch
from tests.cluster.controlplane.plane import ControlPlane
from tests.cluster.nodes.kwok import kubelet

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def wait_for(what: str, fn: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except client.ApiException as e:
            last = e
        else:
            if last:
                return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def pod_manifest(name: str, *, simulated: bool = True, env: list[Any] | None = None,
                 image: str = "ghcr.io/example/app:1.4.2") -> client.V1Pod:  # fmt: skip
    annotations = {kubelet.SIMULATED_ANNOTATION: "true"} if simulated else None
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, annotations=annotations, labels={"app": name}),
        spec=client.V1PodSpec(
            containers=[client.V1Container(name="app", image=image, env=env)],
            termination_grace_period_seconds=5,
        ),
    )


def watch_pod(
    core: client.CoreV1Api,
    namespace: str,
    name: str,
    *,
    resource_version: str,
    until: Callable[[dict[str, Any]], bool],
    timeout: int = 30,
) -> list[dict[str, Any]]:
    """Every version of the pod a watch delivers from ``resource_version`` until ``until``."""
    seen: list[dict[str, Any]] = []
    w = watch.Watch()
    for ev in w.stream(
        core.list_namespaced_pod,
        namespace,
        field_selector=f"metadata.name={name}",
        resource_version=resource_version,
        timeout_seconds=timeout,
    ):
        raw = ev["raw_object"]
        seen.append(raw)
        if until(raw):
            w.stop()
            break
    return seen


def kubelet_events(core: client.CoreV1Api, namespace: str, pod: str) -> list[client.CoreV1Event]:
    evs = core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={pod}").items
    return [e for e in evs if e.source and e.source.component == "kubelet"]


def cstatus(raw: dict[str, Any], container: str = "app") -> dict[str, Any]:
    for cs in (raw.get("status") or {}).get("containerStatuses") or []:
        if cs["name"] == container:
            return dict(cs)
    return {}


# --------------------------------------------------------------------------- the plane


def test_version_is_stamped(api: client.ApiClient, control_plane: ControlPlane) -> None:
    info = client.VersionApi(api).get_code()
    assert info.git_version == "v1.36.3"
    assert (info.major, info.minor) == ("1", "36")
    assert control_plane.server.startswith("https://127.0.0.1:")


def test_deployment_becomes_replicaset_and_running_ready_pod(
    apps: client.AppsV1Api, core: client.CoreV1Api, namespace: str,
    control_plane: ControlPlane,
) -> None:  # fmt: skip
    labels = {"app": "web"}
    dep = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            replicas=2,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[client.V1Container(name="web", image="nginx:1.27")]
                ),
            ),
        ),
    )
    apps.create_namespaced_deployment(namespace, dep)
    rs = wait_for("a ReplicaSet", lambda: apps.list_namespaced_replica_set(namespace).items)[0]
    assert rs.metadata.owner_references[0].kind == "Deployment"
    assert rs.metadata.owner_references[0].name == "web"

    def ready_pods() -> list[client.V1Pod]:
        pods = core.list_namespaced_pod(namespace, label_selector="app=web").items
        ok = [
            p for p in pods
            if p.status.phase == "Running"
            and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
        ]  # fmt: skip
        return ok if len(ok) == 2 else []

    pods = wait_for("2 Running+Ready pods", ready_pods)
    for p in pods:
        assert p.spec.node_name in control_plane.node_names
        assert p.metadata.owner_references[0].name == rs.metadata.name
        (cs,) = p.status.container_statuses
        assert cs.ready
        assert cs.started
        assert cs.state.running is not None
        assert cs.container_id.startswith("containerd://")
        assert cs.image == "docker.io/library/nginx:1.27"
        assert cs.image_id.startswith("docker.io/library/nginx@sha256:")
        assert p.status.pod_ip
        assert p.status.host_ip

    wait_for(
        "deployment available",
        lambda: apps.read_namespaced_deployment(namespace=namespace, name="web").status
        .available_replicas == 2,
    )  # fmt: skip

    # A rollout makes a second ReplicaSet; a rollback (back to the old template) reuses the
    # first one, as on a cluster.
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.28"}]}}}}  # noqa: E501
    apps.patch_namespaced_deployment("web", namespace, patch)
    wait_for("2 ReplicaSets", lambda: len(apps.list_namespaced_replica_set(namespace).items) == 2)
    patch["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.27"
    apps.patch_namespaced_deployment("web", namespace, patch)

    def rolled_back() -> bool:
        d = apps.read_namespaced_deployment("web", namespace)
        rss = {r.metadata.name: r for r in apps.list_namespaced_replica_set(namespace).items}
        return (
            len(rss) == 2
            and rss[rs.metadata.name].status.ready_replicas == 2
            and d.status.updated_replicas == 2
            and d.status.available_replicas == 2
        )

    wait_for("rollback onto the first ReplicaSet", rolled_back)


# --------------------------------------------------------------------------- failures


def test_crash_loop_seen_through_watch_with_kubelet_fields(
    core: client.CoreV1Api, namespace: str, logs_dir: Any
) -> None:
    created = core.create_namespaced_pod(namespace, pod_manifest("crasher"))
    rv = created.metadata.resource_version
    kubelet.crash_loop(core, (namespace, "crasher"), "app", restarts=3,
                       log="Traceback (most recent call last):\nKeyError: 'DB_URL'\n",
                       logs_dir=logs_dir)  # fmt: skip
    seen = watch_pod(
        core, namespace, "crasher", resource_version=rv,
        until=lambda r: cstatus(r).get("restartCount") == 3,
    )  # fmt: skip
    uid = created.metadata.uid
    crashing = [r for r in seen if "waiting" in (cstatus(r).get("state") or {})]
    assert [cstatus(r)["restartCount"] for r in crashing] == [1, 2, 3]
    for r, backoff in zip(crashing, ["10s", "20s", "40s"], strict=True):
        cs = cstatus(r)
        assert cs["state"]["waiting"] == {
            "reason": "CrashLoopBackOff",
            "message": f"back-off {backoff} restarting failed container=app "
            f"pod=crasher_{namespace}({uid})",
        }
        term = cs["lastState"]["terminated"]
        assert term["exitCode"] == 1
        assert term["reason"] == "Error"
        assert RFC3339_Z.match(term["startedAt"])
        assert RFC3339_Z.match(term["finishedAt"])
        assert term["containerID"].startswith("containerd://")
        assert cs["containerID"] == term["containerID"]
        assert cs["ready"] is False
        assert cs["started"] is False
        assert cs["image"] == "ghcr.io/example/app:1.4.2"
        assert cs["imageID"].startswith("ghcr.io/example/app@sha256:")
        assert r["status"]["phase"] == "Running"
        conds = {c["type"]: c for c in r["status"]["conditions"]}
        assert conds["Ready"]["status"] == "False"
        assert conds["Ready"]["reason"] == "ContainersNotReady"
        assert conds["Ready"]["message"] == "containers with unready status: [app]"
    # Every restart is a new container.
    ids = {cstatus(r)["containerID"] for r in crashing}
    assert len(ids) == 3

    backoffs = [e for e in kubelet_events(core, namespace, "crasher") if e.reason == "BackOff"]
    (ev,) = backoffs
    assert ev.type == "Warning"
    assert ev.message == f"Back-off restarting failed container app in pod crasher_{namespace}({uid})"  # noqa: E501
    assert ev.count == 3
    assert ev.source.host == ev.reporting_instance == created.spec.node_name or ev.source.host
    assert ev.reporting_component == "kubelet"
    assert ev.involved_object.field_path == "spec.containers{app}"
    assert ev.involved_object.uid == uid
    log = logs_dir / namespace / "crasher" / "app.log"
    assert "KeyError: 'DB_URL'" in log.read_text()

    # kwok leaves the simulated pod alone: the status stays what the kubelet helper wrote.
    time.sleep(2)
    now = core.read_namespaced_pod("crasher", namespace)
    assert now.status.container_statuses[0].state.waiting.reason == "CrashLoopBackOff"


@pytest.mark.parametrize(
    "case",
    [
        ("configmap", "app-config", "DB_URL", "couldn't find key DB_URL in ConfigMap {ns}/app-config"),  # noqa: E501
        ("secret", "db-creds", None, 'secret "db-creds" not found'),
    ],
    ids=["configmap-missing-key", "secret-missing"],
)
def test_create_container_config_error_seen_through_watch(
    core: client.CoreV1Api, namespace: str, case: tuple[str, str, str | None, str]
) -> None:
    kind, obj_name, key, expected = case
    if kind == "configmap":
        core.create_namespaced_config_map(
            namespace,
            client.V1ConfigMap(metadata=client.V1ObjectMeta(name=obj_name), data={"OTHER": "1"}),
        )
        source = client.V1EnvVarSource(
            config_map_key_ref=client.V1ConfigMapKeySelector(name=obj_name, key=key)
        )
    else:
        source = client.V1EnvVarSource(
            secret_key_ref=client.V1SecretKeySelector(name=obj_name, key="password")
        )
    env = [client.V1EnvVar(name="X", value_from=source)]
    created = core.create_namespaced_pod(namespace, pod_manifest("configless", env=env))
    kubelet.config_error(core, created, "app", kind=kind, name=obj_name, key=key)

    msg = expected.format(ns=namespace)
    seen = watch_pod(
        core, namespace, "configless", resource_version=created.metadata.resource_version,
        until=lambda r: "waiting" in (cstatus(r).get("state") or {}),
    )  # fmt: skip
    last = seen[-1]
    cs = cstatus(last)
    assert cs["state"]["waiting"] == {"reason": "CreateContainerConfigError", "message": msg}
    assert cs["restartCount"] == 0
    assert cs["ready"] is False
    assert cs["started"] is False
    assert "containerID" not in cs
    assert cs["lastState"] == {}
    assert last["status"]["phase"] == "Pending"

    (failed,) = [e for e in kubelet_events(core, namespace, "configless") if e.reason == "Failed"]
    assert failed.type == "Warning"
    assert failed.message == f"Error: {msg}"
    assert failed.count == 3
    assert failed.involved_object.field_path == "spec.containers{app}"
    assert failed.source.host == created.spec.node_name or failed.source.host.startswith("kwok-")


def test_other_kubelet_failures(core: client.CoreV1Api, namespace: str, logs_dir: Any) -> None:
    for name in ["oom", "starterr", "pull", "live", "ready", "evicted"]:
        core.create_namespaced_pod(namespace, pod_manifest(name))

    cs = cstatus(kubelet.oom_kill(core, (namespace, "oom"), "app", restarts=2,
                                  log="allocating 2GiB\n", logs_dir=logs_dir))  # fmt: skip
    assert cs["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert cs["lastState"]["terminated"]["exitCode"] == 137
    assert cs["restartCount"] == 2
    assert (logs_dir / namespace / "oom" / "app.log").exists()

    cs = cstatus(kubelet.start_error(core, f"{namespace}/starterr", "app", restarts=1))
    term = cs["lastState"]["terminated"]
    assert term["reason"] == "StartError"
    assert term["exitCode"] == 128
    assert 'exec: "python": executable file not found in $PATH' in term["message"]

    cs = cstatus(kubelet.image_pull_error(core, (namespace, "pull"), "app", kind="unauthorized"))
    assert cs["state"]["waiting"]["reason"] == "ImagePullBackOff"
    assert cs["state"]["waiting"]["message"].startswith(
        'Back-off pulling image "ghcr.io/example/app:1.4.2": ErrImagePull: rpc error:'
    )
    evs = {(e.reason, e.message) for e in kubelet_events(core, namespace, "pull")}
    assert ("Failed", "Error: ErrImagePull") in evs
    assert ("BackOff", 'Back-off pulling image "ghcr.io/example/app:1.4.2"') in evs

    pod = kubelet.liveness_kill(core, (namespace, "live"), "app", status_code=404)
    cs = cstatus(pod)
    assert cs["restartCount"] == 1
    assert "running" in cs["state"]
    assert cs["lastState"]["terminated"]["exitCode"] == 137
    evs = {(e.reason, e.message, e.count) for e in kubelet_events(core, namespace, "live")}
    assert ("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 404", 3) in evs
    assert ("Killing", "Container app failed liveness probe, will be restarted", 1) in evs

    pod = kubelet.readiness_failing(core, (namespace, "ready"), "app", port=9801)
    assert cstatus(pod)["ready"] is False
    assert "running" in cstatus(pod)["state"]
    ip = pod["status"]["podIP"]
    (ev,) = [e for e in kubelet_events(core, namespace, "ready") if e.reason == "Unhealthy"]
    assert ev.message == (
        f'Readiness probe failed: Get "http://{ip}:9801/ready": '
        f"dial tcp {ip}:9801: connect: connection refused"
    )

    pod = kubelet.evict(core, (namespace, "evicted"), "app")
    assert pod["status"]["phase"] == "Failed"
    assert pod["status"]["reason"] == "Evicted"
    assert pod["status"]["message"].startswith("The node was low on resource: memory.")
    conds = {c["type"]: c for c in pod["status"]["conditions"]}
    assert conds["DisruptionTarget"]["reason"] == "TerminationByKubelet"

    pod = kubelet.recover(core, (namespace, "oom"), "app")
    cs = cstatus(pod)
    assert cs["ready"]
    assert "running" in cs["state"]
    assert cs["restartCount"] == 3
    assert cs["lastState"]["terminated"]["reason"] == "OOMKilled"


def test_kubelet_takes_over_a_deployment_pod(
    apps: client.AppsV1Api, core: client.CoreV1Api, namespace: str
) -> None:
    labels = {"app": "api"}
    apps.create_namespaced_deployment(namespace, client.V1Deployment(
        metadata=client.V1ObjectMeta(name="api"),
        spec=client.V1DeploymentSpec(
            replicas=1, selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name="api", image="api:2")]),
            ),
        ),
    ))  # fmt: skip
    pod = wait_for("a Running pod", lambda: [
        p for p in core.list_namespaced_pod(namespace, label_selector="app=api").items
        if p.status.phase == "Running"
    ])[0]  # fmt: skip
    out = kubelet.crash_loop(core, pod, "api", restarts=2)
    assert cstatus(out, "api")["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    time.sleep(1.5)
    again = core.read_namespaced_pod(pod.metadata.name, namespace)
    assert again.status.container_statuses[0].restart_count == 2
    # Evicting it makes the ReplicaSet create a replacement that kwok starts.
    kubelet.evict(core, pod, "api")
    wait_for("a replacement pod Running", lambda: [
        p for p in core.list_namespaced_pod(namespace, label_selector="app=api").items
        if p.metadata.name != pod.metadata.name and p.status.phase == "Running"
    ])  # fmt: skip
    # Deleting a simulated pod completes (kwok's pod-delete stage still handles it).
    core.delete_namespaced_pod(pod.metadata.name, namespace)
    wait_for("the evicted pod gone", lambda: pod.metadata.name not in {
        p.metadata.name for p in core.list_namespaced_pod(namespace).items
    })  # fmt: skip


# --------------------------------------------------------------------------- RBAC


def test_serviceaccount_kubeconfig_is_held_to_its_role(
    control_plane: ControlPlane, core: client.CoreV1Api, rbac: client.RbacAuthorizationV1Api,
    namespace: str,
) -> None:  # fmt: skip
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="reader"))
    )
    rbac.create_namespaced_role(namespace, client.V1Role(
        metadata=client.V1ObjectMeta(name="pod-reader"),
        rules=[client.V1PolicyRule(api_groups=[""], resources=["pods"],
                                   verbs=["get", "list", "watch"])],
    ))  # fmt: skip
    rbac.create_namespaced_role_binding(namespace, client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="reader"),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role",
                                  name="pod-reader"),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name="reader",
                                       namespace=namespace)],
    ))  # fmt: skip
    core.create_namespaced_pod(namespace, pod_manifest("victim", simulated=False))
    path = control_plane.mint_serviceaccount_kubeconfig(namespace, "reader")
    with control_plane.api_client(path) as sa_api:
        sa = client.CoreV1Api(sa_api)
        names = [p.metadata.name for p in sa.list_namespaced_pod(namespace).items]
        assert names == ["victim"]
        with pytest.raises(client.ApiException) as err:
            sa.delete_namespaced_pod("victim", namespace)
        assert err.value.status == 403
        assert f"system:serviceaccount:{namespace}:reader" in err.value.body
        with pytest.raises(client.ApiException) as err:
            sa.list_namespaced_secret(namespace)
        assert err.value.status == 403
        with pytest.raises(client.ApiException) as err:
            sa.list_namespaced_pod("kube-system")
        assert err.value.status == 403
