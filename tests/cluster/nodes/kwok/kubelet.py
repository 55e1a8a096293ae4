"""A simulated kubelet: drive a pod into each failure the real kubelet reports.

There is no kubelet and no container runtime on the local control plane: kwok makes pods
Running and Ready. The functions here write what a v1.36 kubelet writes when things go wrong,
through the same doors: the ``pods/status`` subresource (containerStatuses with
state/lastState/restartCount/ready/started/image/imageID/containerID, pod conditions, RFC 3339
``Z`` timestamps) and core/v1 Events with ``source.component=kubelet``, ``source.host`` and
``reportingInstance`` = the node, ``involvedObject.fieldPath=spec.containers{NAME}``, and the
kubelet's reasons and messages (taken from pkg/kubelet in k8s.io/kubernetes v1.36.3, see
/work/shared/KUBELET-FORMATS.md). Repeated events are aggregated like the kubelet's recorder
does: same reason and message -> ``count`` + 1 and a new ``lastTimestamp``.

Every function first marks the pod with the annotation ``crashwatch.dev/simulated: "true"``,
which takes it away from kwok's pod-ready Stage (tests/cluster/nodes/kwok/kwok.yaml), so nothing
overwrites the status written here. Create pods with that annotation to keep kwok away from
the start (a pod then stays Pending until a function here drives it); a pod kwok already made
Running can be taken over at any time.

Logs: there is no kubelet to serve ``pods/log``. When ``logs_dir`` is given, a function that
simulates a crash writes the crashed container's log tail to
``LOGS_DIR/<namespace>/<pod>/<container>.log`` (see logs.py beside this file), the layout the
operator's injectable log source and ``crashwatch diagnose --logs-dir`` read.

``api`` is a ``kubernetes.client.ApiClient`` or ``CoreV1Api``; ``pod`` a ``V1Pod``, a
``(namespace, name)`` tuple or ``"namespace/name"``. Each function returns the pod as written.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import threading
import time
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client import ApiException

SIMULATED_ANNOTATION = "crashwatch.dev/simulated"
CRI = "containerd://"
INITIAL_BACKOFF = 10  # seconds; the kubelet doubles it per restart up to MAX_BACKOFF
MAX_BACKOFF = 300

PodRef = Any  # V1Pod | tuple[str, str] | str


# --------------------------------------------------------------------------- formats


def rfc3339(t: dt.datetime | None = None) -> str:
    """Kubernetes' metav1.Time wire form: second precision, UTC, ``Z``."""
    t = t or dt.datetime.now(dt.UTC)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def go_duration(seconds: int) -> str:
    """Go's time.Duration.String() for whole seconds: 10s, 1m20s, 5m0s."""
    if seconds < 60:
        return f"{seconds}s"
    m, s = divmod(seconds, 60)
    if m < 60:
        return f"{m}m{s}s"
    h, m = divmod(m, 60)
    return f"{h}h{m}m{s}s"


def backoff_seconds(restart_count: int) -> int:
    """The kubelet's container restart back-off once ``restart_count`` restarts happened.

    The first crash restarts at once; each later one waits 10s, 20s, 40s, ... up to 5m0s.
    """
    return int(min(INITIAL_BACKOFF * 2 ** max(restart_count - 1, 0), MAX_BACKOFF))


def format_pod(pod: dict[str, Any]) -> str:
    """pkg/kubelet/util/format.Pod: ``NAME_NAMESPACE(UID)``."""
    md = pod["metadata"]
    return f"{md['name']}_{md['namespace']}({md['uid']})"


def crash_loop_message(pod: dict[str, Any], container: str, restart_count: int) -> str:
    backoff = go_duration(backoff_seconds(restart_count))
    return f"back-off {backoff} restarting failed container={container} pod={format_pod(pod)}"


def container_id(pod: dict[str, Any], container: str, attempt: int) -> str:
    digest = hashlib.sha256(f"{pod['metadata']['uid']}/{container}/{attempt}".encode())
    return CRI + digest.hexdigest()


def image_ref(image: str) -> str:
    """The normalised reference the runtime reports as ``image`` (docker.io/library/...)."""
    name = image
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    if "@" not in name and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name


def image_id(image: str) -> str:
    repo = image_ref(image).rsplit(":", 1)[0]
    return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


# --------------------------------------------------------------------------- plumbing


def _core(api: Any) -> client.CoreV1Api:
    return api if isinstance(api, client.CoreV1Api) else client.CoreV1Api(api)


def _ref(pod: PodRef) -> tuple[str, str]:
    if isinstance(pod, str):
        ns, name = pod.split("/", 1)
        return ns, name
    if isinstance(pod, tuple):
        return pod[0], pod[1]
    return pod.metadata.namespace, pod.metadata.name


def _read(core: client.CoreV1Api, ns: str, name: str) -> dict[str, Any]:
    obj = core.read_namespaced_pod(name, ns)
    return dict(core.api_client.sanitize_for_serialization(obj))


def take_over(api: Any, pod: PodRef, timeout: float = 30.0) -> dict[str, Any]:
    """Mark ``pod`` simulated (kwok lets go of it) once it is bound to a node.

    A pod kwok is about to make Running is first let through (so no stale kwok patch lands
    on top of ours). Returns the pod as a dict.
    """
    core = _core(api)
    ns, name = _ref(pod)
    deadline = time.monotonic() + timeout
    while True:
        obj = _read(core, ns, name)
        md, spec, status = obj["metadata"], obj["spec"], obj.get("status") or {}
        simulated = (md.get("annotations") or {}).get(SIMULATED_ANNOTATION) == "true"
        if spec.get("nodeName") and (simulated or status.get("phase") != "Pending"):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"pod {ns}/{name} not bound/started by kwok in {timeout}s")
        time.sleep(0.1)
    if not simulated:
        patch = {"metadata": {"annotations": {SIMULATED_ANNOTATION: "true"}}}
        core.patch_namespaced_pod(name, ns, patch)
        obj = _read(core, ns, name)
    return obj


def pod_ip(pod: dict[str, Any]) -> str:
    """The pod's IP: the one in its status, else a stable one made from its UID (a pod kwok
    never started has none). Only ever written into status and messages, never dialled."""
    ip = (pod.get("status") or {}).get("podIP")
    if ip:
        return str(ip)
    octets = hashlib.sha256(pod["metadata"]["uid"].encode()).digest()[:2]
    return f"10.244.{octets[0]}.{max(octets[1], 2)}"


def _spec_container(pod: dict[str, Any], container: str) -> dict[str, Any]:
    for c in pod["spec"]["containers"]:
        if c["name"] == container:
            return dict(c)
    raise KeyError(f"pod {pod['metadata']['name']} has no container {container!r}")


def _status_of(pod: dict[str, Any], container: str) -> dict[str, Any] | None:
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if cs["name"] == container:
            return dict(cs)
    return None


def _volume_mounts(spec_c: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for m in spec_c.get("volumeMounts") or []:
        vm = {"name": m["name"], "mountPath": m["mountPath"]}
        if m.get("readOnly"):
            vm["readOnly"] = True
            vm["recursiveReadOnly"] = "Disabled"
        out.append(vm)
    return out


def _base_status(pod: dict[str, Any], spec_c: dict[str, Any]) -> dict[str, Any]:
    cs: dict[str, Any] = {
        "name": spec_c["name"],
        "image": image_ref(spec_c["image"]),
        "imageID": image_id(spec_c["image"]),
        "ready": False,
        "restartCount": 0,
        "started": False,
        "state": {},
        "lastState": {},
    }
    if spec_c.get("resources"):
        cs["resources"] = copy.deepcopy(spec_c["resources"])
    mounts = _volume_mounts(spec_c)
    if mounts:
        cs["volumeMounts"] = mounts
    return cs


def _running(pod: dict[str, Any], spec_c: dict[str, Any], started: str, attempt: int,
             ready: bool = True) -> dict[str, Any]:  # fmt: skip
    cs = _base_status(pod, spec_c)
    cs.update(
        ready=ready,
        started=True,
        restartCount=attempt,
        containerID=container_id(pod, spec_c["name"], attempt),
        state={"running": {"startedAt": started}},
    )
    return cs


def _condition(pod: dict[str, Any], type_: str, status: bool, reason: str | None = None,
               message: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A pod condition, keeping lastTransitionTime when the status did not change."""
    value = "True" if status else "False"
    old = next(
        (c for c in (pod.get("status") or {}).get("conditions") or [] if c["type"] == type_),
        None,
    )
    ltt = old["lastTransitionTime"] if old and old.get("status") == value else rfc3339()
    cond: dict[str, Any] = {"type": type_, "status": value, "lastTransitionTime": ltt}
    gen = pod["metadata"].get("generation")
    if gen:
        cond["observedGeneration"] = gen
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def _conditions(pod: dict[str, Any], statuses: list[dict[str, Any]],
                *, initialized: bool = True) -> list[dict[str, Any]]:  # fmt: skip
    unready = [cs["name"] for cs in statuses if not cs.get("ready")]
    msg = f"containers with unready status: [{' '.join(unready)}]" if unready else None
    reason = "ContainersNotReady" if unready else None
    conds = [
        _condition(pod, "PodReadyToStartContainers", True),
        _condition(pod, "Initialized", initialized),
        _condition(pod, "Ready", not unready, reason, msg),
        _condition(pod, "ContainersReady", not unready, reason, msg),
    ]
    old = (pod.get("status") or {}).get("conditions") or []
    scheduled = next((c for c in old if c["type"] == "PodScheduled"), None)
    conds.append(scheduled or _condition(pod, "PodScheduled", True))
    return conds


def _write_status(core: client.CoreV1Api, pod: dict[str, Any], container: str | None,
                  new_cs: dict[str, Any] | None, **pod_fields: Any) -> dict[str, Any]:  # fmt: skip
    """Replace the pod's status via pods/status: ``new_cs`` for ``container``, the other
    containers kept as they are (or Running if never reported), conditions recomputed."""
    ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
    for _ in range(10):
        status = copy.deepcopy(pod.get("status") or {})
        now = rfc3339()
        statuses = []
        for spec_c in pod["spec"]["containers"]:
            if spec_c["name"] == container and new_cs is not None:
                statuses.append(new_cs)
            else:
                statuses.append(_status_of(pod, spec_c["name"]) or _running(pod, spec_c, now, 0))
        status["containerStatuses"] = statuses
        status.setdefault("startTime", now)
        node_ip = "127.0.0.1"
        status.setdefault("hostIP", node_ip)
        status.setdefault("hostIPs", [{"ip": node_ip}])
        if "podIP" not in status:
            ip = pod_ip(pod)
            status["podIP"], status["podIPs"] = ip, [{"ip": ip}]
        gen = pod["metadata"].get("generation")
        if gen:
            status["observedGeneration"] = gen
        status["phase"] = pod_fields.pop("phase", "Running")
        status.update(pod_fields.pop("extra", {}))
        status["conditions"] = pod_fields.pop("conditions", None) or _conditions(pod, statuses)
        body = dict(pod)
        body["status"] = status
        try:
            # A dict body is sent as is: the wire form, exactly as the kubelet would write it.
            obj = core.replace_namespaced_pod_status(name, ns, body)  # type: ignore[arg-type]
            return dict(core.api_client.sanitize_for_serialization(obj))
        except ApiException as e:
            if e.status != 409:
                raise
            pod = _read(core, ns, name)
            pod_fields = dict(pod_fields)
    raise RuntimeError(f"could not write status of {ns}/{name}: conflicts")


def post_event(
    api: Any,
    pod: dict[str, Any] | PodRef,
    reason: str,
    message: str,
    *,
    type_: str = "Normal",
    container: str | None = None,
) -> dict[str, Any]:
    """Post (or aggregate into) a kubelet Event about ``pod`` (and ``container``)."""
    core = _core(api)
    if not isinstance(pod, dict):
        pod = _read(core, *_ref(pod))
    md = pod["metadata"]
    node = pod["spec"].get("nodeName") or ""
    involved = {
        "apiVersion": "v1",
        "kind": "Pod",
        "name": md["name"],
        "namespace": md["namespace"],
        "uid": md["uid"],
        "resourceVersion": md.get("resourceVersion"),
    }
    if container:
        involved["fieldPath"] = f"spec.containers{{{container}}}"
    now = rfc3339()
    # The kubelet's recorder aggregates identical events: count+1, lastTimestamp=now. Like
    # the recorder, remember what was posted (a list per post made many pods quadratic).
    key = (md["namespace"], md["uid"], reason, message, type_, involved.get("fieldPath"))
    with _POSTED_LOCK:
        posted = _POSTED.get(key)
    if posted is not None:
        name, count = posted
        try:
            out = core.patch_namespaced_event(name, md["namespace"],
                                              {"count": count + 1, "lastTimestamp": now})
        except client.ApiException as err:
            if err.status != 404:
                raise
        else:
            with _POSTED_LOCK:
                _POSTED[key] = (name, count + 1)
            return dict(core.api_client.sanitize_for_serialization(out))
    body = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{md['name']}.{time.time_ns():x}", "namespace": md["namespace"]},
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "type": type_,
        "source": {"component": "kubelet", "host": node},
        "reportingComponent": "kubelet",
        "reportingInstance": node,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    out = core.create_namespaced_event(md["namespace"], body)  # type: ignore[arg-type]
    with _POSTED_LOCK:
        _POSTED[key] = (body["metadata"]["name"], 1)
    return dict(core.api_client.sanitize_for_serialization(out))


#: Events this process posted as the kubelet: key -> (name, count).
_POSTED: dict[tuple[Any, ...], tuple[str, int]] = {}
_POSTED_LOCK = threading.Lock()


def write_log(logs_dir: Path | str | None, pod: dict[str, Any], container: str,
              text: str | None) -> Path | None:  # fmt: skip
    """Write ``text`` as the previous log of ``container`` under ``logs_dir``."""
    if logs_dir is None or text is None:
        return None
    path = Path(logs_dir) / pod["metadata"]["namespace"] / pod["metadata"]["name"]
    path.mkdir(parents=True, exist_ok=True)
    out: Path = path / f"{container}.log"
    out.write_text(text if text.endswith("\n") or not text else text + "\n")
    return out


def _image_present_message(image: str) -> str:
    # KubeletEnsureSecretPulledImages is on by default since v1.35.
    return f'Container image "{image}" already present on machine and can be accessed by the pod'


def _started_events(core: client.CoreV1Api, pod: dict[str, Any], spec_c: dict[str, Any]) -> None:
    name = spec_c["name"]
    post_event(core, pod, "Pulled", _image_present_message(spec_c["image"]), container=name)
    post_event(core, pod, "Created", "Container created", container=name)
    post_event(core, pod, "Started", "Container started", container=name)


# --------------------------------------------------------------------------- scenarios


def crash_loop(api: Any, pod: PodRef, container: str, *, exit_code: int = 1,
               reason: str = "Error", message: str | None = None, restarts: int = 3,
               log: str | None = None, logs_dir: Path | str | None = None,
               run_seconds: int = 2, start_failed: bool = False) -> dict[str, Any]:  # fmt: skip
    """CrashLoopBackOff: the container exits ``restarts + 1`` times.

    Writes one status per restart, so a watch sees ``restartCount`` grow 1, 2, ... ``restarts``
    with ``state.waiting`` = CrashLoopBackOff ``back-off 10s|20s|40s... restarting failed
    container=C pod=NAME_NS(UID)`` and ``lastState.terminated`` (exitCode, reason, optional
    message, startedAt, finishedAt, containerID). Events: Pulled/Created/Started per run
    (Failed ``Error: MESSAGE`` instead of Started when ``start_failed``), then the Warning
    ``BackOff`` ``Back-off restarting failed container C in pod NAME_NS(UID)``, aggregated.
    """
    if restarts < 1:
        raise ValueError("restarts must be >= 1 (the first crash restarts without back-off)")
    core = _core(api)
    obj = take_over(core, pod)
    spec_c = _spec_container(obj, container)
    prev = _status_of(obj, container)
    base = prev["restartCount"] if prev and prev.get("containerID") else 0
    write_log(logs_dir, obj, container, log)
    # The first run's events, the immediate first restart, then one back-off per crash.
    for attempt in range(base, base + restarts + 1):
        if start_failed:
            post_event(core, obj, "Pulled", _image_present_message(spec_c["image"]),
                       container=container)  # fmt: skip
            post_event(core, obj, "Created", "Container created", container=container)
            post_event(core, obj, "Failed", f"Error: {message}", type_="Warning",
                       container=container)  # fmt: skip
        else:
            _started_events(core, obj, spec_c)
        if attempt == base:
            continue  # first crash: restarted at once, no back-off
        finished = dt.datetime.now(dt.UTC)
        started = finished - dt.timedelta(seconds=0 if start_failed else run_seconds)
        terminated: dict[str, Any] = {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": rfc3339(started),
            "finishedAt": rfc3339(finished),
            "containerID": container_id(obj, container, attempt),
        }
        if message:
            terminated["message"] = message
        cs = _base_status(obj, spec_c)
        cs.update(
            restartCount=attempt,
            containerID=terminated["containerID"],
            state={"waiting": {"reason": "CrashLoopBackOff",
                               "message": crash_loop_message(obj, container, attempt)}},
            lastState={"terminated": terminated},
        )  # fmt: skip
        obj = _write_status(core, obj, container, cs)
        post_event(
            core,
            obj,
            "BackOff",
            f"Back-off restarting failed container {container} in pod {format_pod(obj)}",
            type_="Warning",
            container=container,
        )
    return obj


def oom_kill(api: Any, pod: PodRef, container: str, **kw: Any) -> dict[str, Any]:
    """CrashLoopBackOff whose last termination is ``OOMKilled``, exit code 137."""
    return crash_loop(api, pod, container, exit_code=137, reason="OOMKilled", **kw)


def start_error(api: Any, pod: PodRef, container: str, *, message: str | None = None,
                **kw: Any) -> dict[str, Any]:  # fmt: skip
    """CrashLoopBackOff from a runtime StartError (containerd, exit 128)."""
    message = message or (
        "failed to create containerd task: failed to create shim task: OCI runtime create "
        "failed: runc create failed: unable to start container process: error during "
        'container init: exec: "python": executable file not found in $PATH: unknown'
    )
    return crash_loop(api, pod, container, exit_code=128, reason="StartError",
                      message=message, start_failed=True, **kw)  # fmt: skip


def config_error_message(namespace: str, kind: str, name: str, key: str | None) -> str:
    kinds = {"configmap": "ConfigMap", "secret": "Secret"}
    if kind not in kinds:
        raise ValueError("kind must be 'configmap' or 'secret'")
    if key is None:
        return f'{kind} "{name}" not found'
    return f"couldn't find key {key} in {kinds[kind]} {namespace}/{name}"


def config_error(
    api: Any,
    pod: PodRef,
    container: str,
    *,
    kind: str = "configmap",
    name: str,
    key: str | None = None,
    attempts: int = 3,
) -> dict[str, Any]:
    """CreateContainerConfigError for a missing ConfigMap/Secret (``key=None``) or key.

    The container never starts: pod ``Pending``, ``state.waiting`` with reason
    CreateContainerConfigError and the kubelet's message, no containerID. Events: Pulled,
    then the Warning ``Failed`` ``Error: MESSAGE`` once per sync (``attempts``, aggregated).
    """
    core = _core(api)
    obj = take_over(core, pod)
    spec_c = _spec_container(obj, container)
    msg = config_error_message(obj["metadata"]["namespace"], kind, name, key)
    cs = _base_status(obj, spec_c)
    cs.update(imageID="", state={"waiting": {"reason": "CreateContainerConfigError",
                                             "message": msg}})  # fmt: skip
    obj = _write_status(core, obj, container, cs, phase="Pending")
    pulled = _image_present_message(spec_c["image"])
    for _ in range(attempts):
        post_event(core, obj, "Pulled", pulled, container=container)
        post_event(core, obj, "Failed", f"Error: {msg}", type_="Warning", container=container)
    return obj


def image_pull_message(image: str, kind: str = "notfound") -> str:
    ref = image_ref(image)
    if kind == "notfound":
        return (
            f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
            f'failed to resolve reference "{ref}": {ref}: not found'
        )
    if kind == "unauthorized":
        repo = ref.rsplit(":", 1)[0].split("/", 1)[1]
        return (
            f'rpc error: code = Unknown desc = failed to pull and unpack image "{ref}": '
            f'failed to resolve reference "{ref}": pull access denied, repository does not '
            f"exist or may require authorization: server message: insufficient_scope: "
            f"authorization failed: {repo}"
        )
    raise ValueError("kind must be 'notfound' or 'unauthorized'")


def image_pull_error(api: Any, pod: PodRef, container: str, *, kind: str = "notfound",
                     backoff: bool = True) -> dict[str, Any]:  # fmt: skip
    """ErrImagePull, then (``backoff``) ImagePullBackOff, with the kubelet's Events.

    ErrImagePull waiting message: the runtime's error. Events: Normal ``Pulling``, Warning
    ``Failed`` ``Failed to pull image "IMAGE": ERR``, Warning ``Failed`` ``Error: ErrImagePull``.
    Then waiting ImagePullBackOff ``Back-off pulling image "IMAGE": ErrImagePull: ERR``, Normal
    ``BackOff`` ``Back-off pulling image "IMAGE"``, Warning ``Failed`` ``Error: ImagePullBackOff``.
    """
    core = _core(api)
    obj = take_over(core, pod)
    spec_c = _spec_container(obj, container)
    image = spec_c["image"]
    err = image_pull_message(image, kind)
    cs = _base_status(obj, spec_c)
    cs.update(imageID="", state={"waiting": {"reason": "ErrImagePull", "message": err}})
    post_event(core, obj, "Pulling", f'Pulling image "{image}"', container=container)
    post_event(core, obj, "Failed", f'Failed to pull image "{image}": {err}', type_="Warning",
               container=container)  # fmt: skip
    post_event(core, obj, "Failed", "Error: ErrImagePull", type_="Warning", container=container)
    obj = _write_status(core, obj, container, cs, phase="Pending")
    if backoff:
        cs = dict(cs)
        cs["state"] = {"waiting": {"reason": "ImagePullBackOff",
                                   "message": f'Back-off pulling image "{image}": ErrImagePull: {err}'}}  # noqa: E501
        post_event(core, obj, "BackOff", f'Back-off pulling image "{image}"', container=container)
        post_event(core, obj, "Failed", "Error: ImagePullBackOff", type_="Warning",
                   container=container)  # fmt: skip
        obj = _write_status(core, obj, container, cs, phase="Pending")
    return obj


def probe_output(pod: dict[str, Any], *, status_code: int | None = None, port: int = 8080,
                 path: str = "/healthz", timeout: bool = False) -> str:  # fmt: skip
    """What the kubelet's HTTP prober reports: a status code, refused, or a timeout."""
    if status_code is not None:
        return f"HTTP probe failed with statuscode: {status_code}"
    ip = pod_ip(pod)
    url = f"http://{ip}:{port}{path}"
    if timeout:
        return (
            f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting '
            "headers)"
        )
    return f'Get "{url}": dial tcp {ip}:{port}: connect: connection refused'


def liveness_kill(
    api: Any,
    pod: PodRef,
    container: str,
    *,
    status_code: int | None = 404,
    port: int = 8080,
    path: str = "/healthz",
    failures: int = 3,
    log: str | None = None,
    logs_dir: Path | str | None = None,
) -> dict[str, Any]:
    """A liveness probe fails ``failures`` times; the kubelet kills and restarts the container.

    Events: Warning ``Unhealthy`` ``Liveness probe failed: OUTPUT`` (count = failures), Normal
    ``Killing`` ``Container C failed liveness probe, will be restarted``, then Pulled/Created/
    Started. Status: running again, ``restartCount`` + 1, ``lastState.terminated`` exit 137
    reason ``Error``. ``status_code=None`` means connection refused on ``port``.
    """
    core = _core(api)
    obj = take_over(core, pod)
    spec_c = _spec_container(obj, container)
    prev = _status_of(obj, container) or _running(obj, spec_c, rfc3339(), 0)
    output = probe_output(obj, status_code=status_code, port=port, path=path)
    for _ in range(failures):
        post_event(core, obj, "Unhealthy", f"Liveness probe failed: {output}", type_="Warning",
                   container=container)  # fmt: skip
    post_event(core, obj, "Killing", f"Container {container} failed liveness probe, will be "
               "restarted", container=container)  # fmt: skip
    write_log(logs_dir, obj, container, log)
    now = rfc3339()
    attempt = int(prev.get("restartCount", 0)) + 1
    started_at = ((prev.get("state") or {}).get("running") or {}).get("startedAt", now)
    terminated = {
        "exitCode": 137,
        "reason": "Error",
        "startedAt": started_at,
        "finishedAt": now,
        "containerID": prev.get("containerID") or container_id(obj, container, attempt - 1),
    }
    ready = not spec_c.get("readinessProbe")
    cs = _running(obj, spec_c, now, attempt, ready=ready)
    cs["lastState"] = {"terminated": terminated}
    _started_events(core, obj, spec_c)
    return _write_status(core, obj, container, cs)


def readiness_failing(api: Any, pod: PodRef, container: str, *, status_code: int | None = None,
                      port: int = 8080, path: str = "/ready", failures: int = 3,
                      timeout: bool = False, running_for: int = 180) -> dict[str, Any]:  # fmt: skip
    """Readiness fails: the container keeps running but is not Ready (no restart).

    Events: Warning ``Unhealthy`` ``Readiness probe failed: OUTPUT`` (count = failures).
    Status: ``ready: false`` and pod conditions Ready/ContainersReady False, reason
    ContainersNotReady. ``status_code=None`` means refused (or ``timeout``). The container
    has run ``running_for`` seconds (``startedAt``): an app that has been up a while and now
    fails its probe, not one still starting (whose first probes fail by nature).
    """
    core = _core(api)
    obj = take_over(core, pod)
    spec_c = _spec_container(obj, container)
    output = probe_output(obj, status_code=status_code, port=port, path=path, timeout=timeout)
    for _ in range(failures):
        post_event(core, obj, "Unhealthy", f"Readiness probe failed: {output}",
                   type_="Warning", container=container)  # fmt: skip
    started_at = rfc3339(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=running_for))
    prev = _status_of(obj, container) or _running(obj, spec_c, started_at, 0)
    cs = dict(prev)
    cs.update(ready=False, started=True, state={"running": {"startedAt": started_at}})
    return _write_status(core, obj, container, cs)


def eviction_message(container: str, *, resource: str = "memory", threshold: str = "100Mi",
                     available: str = "87040Ki", usage: str = "1843200Ki",
                     request: str = "512Mi") -> str:  # fmt: skip
    return (
        f"The node was low on resource: {resource}. Threshold quantity: {threshold}, "
        f"available: {available}. Container {container} was using {usage}, request is "
        f"{request}, has larger consumption of {resource}. "
    )


def evict(api: Any, pod: PodRef, container: str, **message_kw: str) -> dict[str, Any]:
    """The kubelet's eviction manager evicts the pod under node memory pressure.

    Status: phase Failed, reason Evicted, the kubelet's message, a DisruptionTarget
    condition (reason TerminationByKubelet), containers terminated (137). Events: Warning
    ``Evicted`` on the pod and Normal ``Killing`` ``Stopping container C`` per container.
    The pod is not restarted; its ReplicaSet, if any, makes a new one.
    """
    core = _core(api)
    obj = take_over(core, pod)
    msg = eviction_message(container, **message_kw)
    post_event(core, obj, "Evicted", msg, type_="Warning")
    now = rfc3339()
    statuses = []
    for spec_c in obj["spec"]["containers"]:
        prev = _status_of(obj, spec_c["name"]) or _running(obj, spec_c, now, 0)
        post_event(core, obj, "Killing", f"Stopping container {spec_c['name']}",
                   container=spec_c["name"])  # fmt: skip
        cs = dict(prev)
        started = ((prev.get("state") or {}).get("running") or {}).get("startedAt", now)
        cid = prev.get("containerID") or container_id(obj, spec_c["name"], 0)
        terminated = {"exitCode": 137, "reason": "Error", "startedAt": started,
                      "finishedAt": now, "containerID": cid}  # fmt: skip
        cs.update(ready=False, started=False, state={"terminated": terminated})
        statuses.append(cs)
    conds = _conditions(obj, statuses)
    conds = [c for c in conds if c["type"] != "DisruptionTarget"]
    conds.insert(0, _condition(obj, "DisruptionTarget", True, "TerminationByKubelet", msg))
    status_pod = copy.deepcopy(obj)
    status_pod.setdefault("status", {})["containerStatuses"] = statuses
    ready_false = _condition(obj, "Ready", False, "PodFailed")
    conds = [ready_false if c["type"] == "Ready" else c for c in conds]
    return _write_status(core, status_pod, None, None, phase="Failed", conditions=conds,
                         extra={"reason": "Evicted", "message": msg})  # fmt: skip


def recover(api: Any, pod: PodRef, container: str) -> dict[str, Any]:
    """The container runs and is Ready again; restartCount and lastState are kept."""
    core = _core(api)
    obj = take_over(core, pod)
    spec_c = _spec_container(obj, container)
    prev = _status_of(obj, container)
    attempt = int(prev.get("restartCount", 0)) if prev else 0
    if prev and "waiting" in (prev.get("state") or {}) and prev.get("containerID"):
        attempt += 1  # a crash-looping container comes back as a new run
    cs = _running(obj, spec_c, rfc3339(), attempt)
    if prev and prev.get("lastState"):
        cs["lastState"] = prev["lastState"]
    _started_events(core, obj, spec_c)
    return _write_status(core, obj, container, cs)
