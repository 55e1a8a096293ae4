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
from tests.cluster.nodes.kwok.logs import DirectoryLogSource, PodLogAnswer

from crashwatch.logsource import failed_instance

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
    """What a watch sees of a crash loop is what it saw on the real 1.36 node
    (tests/cluster/nodes/real/observed-1.36.txt, default syncFrequency): the first exit
    restarts at once, CrashLoopBackOff "back-off 10s" right after the second, and from the
    third the status stays terminated through the back-off, CrashLoopBackOff written just
    before the next start."""
    created = core.create_namespaced_pod(namespace, pod_manifest("crasher"))
    rv = created.metadata.resource_version
    logs = [f"Traceback (most recent call last):\nKeyError: 'DB_URL_{i}'\n" for i in range(4)]
    kubelet.crash_loop(core, (namespace, "crasher"), "app", restarts=3, log=logs,
                       logs_dir=logs_dir)  # fmt: skip
    seen = watch_pod(
        core, namespace, "crasher", resource_version=rv,
        until=lambda r: cstatus(r).get("restartCount") == 3
        and "terminated" in (cstatus(r).get("state") or {}),
    )  # fmt: skip
    uid = created.metadata.uid
    steps = [cstatus(r) for r in seen if cstatus(r)]

    def shape(cs: dict[str, Any]) -> tuple[int, str]:
        (kind, state), = cs["state"].items()
        return cs["restartCount"], state.get("message", kind).split(" restarting")[0]

    assert [shape(cs) for cs in steps] == [
        (0, "running"), (0, "terminated"),
        (1, "running"), (1, "terminated"), (1, "back-off 10s"),
        (2, "running"), (2, "terminated"), (2, "back-off 20s"),
        (3, "running"), (3, "terminated"),
    ]
    dead = [cs for cs in steps if "terminated" in cs["state"]]
    for before, cs in zip([None, *dead], dead, strict=False):
        term = cs["state"]["terminated"]
        assert term["exitCode"] == 1 and term["reason"] == "Error"
        assert RFC3339_Z.match(term["startedAt"]) and RFC3339_Z.match(term["finishedAt"])
        assert cs["containerID"] == term["containerID"]
        assert cs["lastState"] == ({"terminated": before["state"]["terminated"]} if before
                                   else {})  # fmt: skip
        assert cs["ready"] is False and cs["started"] is False
    assert len({cs["containerID"] for cs in dead}) == 4  # every restart is a new container
    for cs in steps:
        if "waiting" in cs["state"]:
            assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
            assert cs["state"]["waiting"]["message"].endswith(
                f"restarting failed container=app pod=crasher_{namespace}({uid})")
            assert cs["containerID"] == cs["lastState"]["terminated"]["containerID"]
        if "running" in cs["state"]:
            assert cs["ready"] is True and cs["started"] is True
        # 1.36 statuses of a container that ran
        assert cs["image"] == "ghcr.io/example/app:1.4.2"
        assert cs["imageID"].startswith("ghcr.io/example/app@sha256:")
        assert cs["user"] == {"linux": {"uid": 0, "gid": 0, "supplementalGroups": [0]}}
        assert cs["resources"] == {} and "allocatedResources" not in cs
        assert all(m.get("recursiveReadOnly") == "Disabled" for m in cs["volumeMounts"]
                   if m.get("readOnly"))  # fmt: skip
    last = seen[-1]
    assert last["status"]["phase"] == "Running"
    conds = {c["type"]: c for c in last["status"]["conditions"]}
    assert conds["Ready"]["status"] == "False"
    assert conds["Ready"]["reason"] == "ContainersNotReady"
    assert conds["Ready"]["message"] == "containers with unready status: [app]"

    evs = kubelet_events(core, namespace, "crasher")
    backoffs = [e for e in evs if e.reason == "BackOff"]
    (ev,) = backoffs
    assert ev.type == "Warning"
    assert ev.message == f"Back-off restarting failed container app in pod crasher_{namespace}({uid})"  # noqa: E501
    assert ev.count == 3  # one per back-off: after the 2nd, 3rd and 4th exit
    assert ev.source.host == ev.reporting_instance == created.spec.node_name or ev.source.host
    assert ev.reporting_component == "kubelet"
    assert ev.involved_object.field_path == "spec.containers{app}"
    assert ev.involved_object.uid == uid
    counts = {(e.reason, e.message.split(" in ")[0] if e.reason == "Pulled" else e.message):
              e.count for e in evs}  # fmt: skip
    assert counts[("Created", "Container created")] == 4
    assert counts[("Started", "Container started")] == 4

    # The failed instance's words are the file crashwatch's --logs-dir reads ...
    assert (logs_dir / namespace / "crasher" / "app.log").read_text() == logs[3]
    # ... and pods/log answers as the real kubelet did: the instance before the crashed one
    # is gone (HTTP 200, the kubelet's words), the crashed one has its own.
    src = DirectoryLogSource(logs_dir)
    cs = cstatus(last)
    gone = cs["lastState"]["terminated"]["containerID"]
    assert src.pods_log(last, "app", previous=True) == PodLogAnswer(
        200, f"unable to retrieve container logs for {gone}")
    assert src.pods_log(last, "app", previous=False) == PodLogAnswer(200, logs[3])
    # crashwatch's own rule asks for exactly that instance.
    assert failed_instance(cs) == (cs["containerID"], False)

    # kwok leaves the simulated pod alone: the status stays what the kubelet helper wrote.
    time.sleep(2)
    now = core.read_namespaced_pod("crasher", namespace)
    assert now.status.container_statuses[0].state.terminated.reason == "Error"


def test_crash_loop_the_older_way_waits_in_back_off_between_restarts(
    core: client.CoreV1Api, namespace: str, logs_dir: Any
) -> None:
    """``between_restarts="waiting"``: CrashLoopBackOff after every exit but the first, as
    older kubelets (and a short syncFrequency) write it; the logs follow the instances."""
    created = core.create_namespaced_pod(namespace, pod_manifest("older"))
    out = kubelet.crash_loop(core, (namespace, "older"), "app", restarts=3, log="boom\n",
                             logs_dir=logs_dir, between_restarts="waiting")  # fmt: skip
    cs = cstatus(out)
    assert cs["restartCount"] == 3
    assert cs["state"]["waiting"]["message"] == (
        f"back-off 40s restarting failed container=app pod=older_{namespace}"
        f"({created.metadata.uid})")
    src = DirectoryLogSource(logs_dir)
    # waiting after a crash: the crashed instance is lastState, kept, and previous=true
    # reads it; crashwatch's rule asks for that one.
    assert src.pods_log(out, "app", previous=True) == PodLogAnswer(200, "boom\n")
    assert failed_instance(cs) == (cs["lastState"]["terminated"]["containerID"], True)


def test_crash_loop_ends_when_its_pod_is_deleted_under_it(
    core: client.CoreV1Api, namespace: str, logs_dir: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pod deleted mid-loop (a rollout replaced it, as a memory floor's roll does) ends the
    loop the way a kubelet stops writing a pod that is gone: no 404 escapes, the pod as last
    written comes back. Before this, a remediation quicker than the test's third restart made
    the e2e run fail on ``pods "rails-..." not found``."""
    core.create_namespaced_pod(namespace, pod_manifest("replaced"))
    real = kubelet._Container.back_off
    deleted: list[int] = []

    def back_off_then_delete(self: Any, seconds: int, *, event: bool = True) -> None:
        real(self, seconds, event=event)
        if not deleted:  # the first back-off: restartCount 1; the loop asked for 3
            core.delete_namespaced_pod("replaced", namespace, grace_period_seconds=0)
            deleted.append(seconds)

    monkeypatch.setattr(kubelet._Container, "back_off", back_off_then_delete)
    out = kubelet.crash_loop(core, (namespace, "replaced"), "app", restarts=3,
                             log="boom\n", logs_dir=logs_dir)  # fmt: skip
    assert deleted == [10]
    cs = cstatus(out)
    assert cs["restartCount"] == 1
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    with pytest.raises(client.ApiException) as gone:
        core.read_namespaced_pod("replaced", namespace)
    assert gone.value.status == 404


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
    for term in (cs["state"]["terminated"], cs["lastState"]["terminated"]):
        assert (term["reason"], term["exitCode"]) == ("OOMKilled", 137)
    assert cs["restartCount"] == 2
    assert (logs_dir / namespace / "oom" / "app.log").read_text() == "allocating 2GiB\n"

    cs = cstatus(kubelet.start_error(core, f"{namespace}/starterr", "app", restarts=1))
    term = cs["lastState"]["terminated"]
    assert term["reason"] == "StartError"
    assert term["exitCode"] == 128
    assert 'exec: "python": executable file not found in $PATH' in term["message"]

    cs = cstatus(kubelet.image_pull_error(core, (namespace, "pull"), "app", kind="unauthorized"))
    assert cs["state"]["waiting"]["reason"] == "ImagePullBackOff"
    # observed-1.36.txt (htpasswd registry, no credentials): no "rpc error" prefix
    assert cs["state"]["waiting"]["message"] == (
        'Back-off pulling image "ghcr.io/example/app:1.4.2": ErrImagePull: failed to pull and '
        'unpack image "ghcr.io/example/app:1.4.2": failed to resolve image: pull access denied,'
        " repository does not exist or may require authorization: authorization failed: no "
        "basic auth credentials"
    )
    assert cs["image"] == "ghcr.io/example/app:1.4.2" and cs["imageID"] == ""
    evs = {(e.reason, e.message) for e in kubelet_events(core, namespace, "pull")}
    assert ("Failed", "Error: ErrImagePull") in evs
    assert ("BackOff", 'Back-off pulling image "ghcr.io/example/app:1.4.2"') in evs

    # observed-1.36.txt: killed twice and started again at once, CrashLoopBackOff "back-off
    # 10s" after the third kill; the app exits 0 on SIGTERM.
    pod = kubelet.liveness_kill(core, (namespace, "live"), "app", status_code=404)
    cs = cstatus(pod)
    assert cs["restartCount"] == 2
    assert cs["state"]["waiting"]["message"].startswith("back-off 10s restarting failed")
    assert cs["lastState"]["terminated"]["exitCode"] == 0
    assert cs["lastState"]["terminated"]["reason"] == "Completed"
    evs = {(e.reason, e.message, e.count) for e in kubelet_events(core, namespace, "live")}
    assert ("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 404", 9) in evs
    assert ("Killing", "Container app failed liveness probe, will be restarted", 3) in evs

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
    assert cstatus(out, "api")["state"]["terminated"]["reason"] == "Error"
    time.sleep(1.5)
    again = core.read_namespaced_pod(pod.metadata.name, namespace)
    assert again.status.container_statuses[0].restart_count == 2
    assert again.status.container_statuses[0].state.terminated.reason == "Error"
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
