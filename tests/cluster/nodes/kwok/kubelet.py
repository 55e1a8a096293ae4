"""A simulated kubelet: drive a pod into each failure the real kubelet reports.

There is no kubelet and no container runtime on the local control plane: kwok makes pods
Running and Ready. The functions here write what a v1.36.3 kubelet with containerd 2 writes
when things go wrong, through the same doors: the ``pods/status`` subresource
(containerStatuses with state/lastState/restartCount/ready/started/image/imageID/containerID
and the 1.36 fields ``user``, ``resources``, ``allocatedResources``, ``volumeMounts``; pod
conditions; RFC 3339 ``Z`` timestamps) and core/v1 Events with ``source.component=kubelet``,
``source.host`` and ``reportingInstance`` = the node, ``involvedObject.fieldPath=
spec.containers{NAME}``, and the kubelet's reasons and messages. Repeated events are
aggregated like the kubelet's recorder does: same reason and message -> ``count`` + 1 and a
new ``lastTimestamp``.

What a 1.36 kubelet writes, and in which order, was recorded on the real node
(tests/cluster/nodes/real/observed-1.36.txt, written by observe.py beside it) and read in
pkg/kubelet of k8s.io/kubernetes v1.36.3; the defaults here follow it. Where a test needs
what older kubelets or containerd 1.x write (public issue threads quote those), an option
keeps it reachable: ``crash_loop(between_restarts="waiting")``, ``liveness_kill(exit_code=
137)``, ``image_pull_error(runtime="containerd1", legacy_kubelet=True)``.

Every function first marks the pod with the annotation ``crashwatch.dev/simulated: "true"``,
which takes it away from kwok's pod-ready Stage (tests/cluster/nodes/kwok/kwok.yaml), so nothing
overwrites the status written here. Create pods with that annotation to keep kwok away from
the start (a pod then stays Pending until a function here drives it); a pod kwok already made
Running can be taken over at any time.

Logs: there is no kubelet to serve ``pods/log``. When ``logs_dir`` is given, each container
instance's log is written as a file and the failed instance's log as
``LOGS_DIR/<namespace>/<pod>/<container>.log`` (see logs.py beside this file), the layout the
operator's injectable log source and ``crashwatch diagnose --logs-dir`` read;
``logs.DirectoryLogSource(LOGS_DIR).pods_log(pod, container, previous=...)`` answers as the
kubelet's ``pods/log`` would.

``api`` is a ``kubernetes.client.ApiClient`` or ``CoreV1Api``; ``pod`` a ``V1Pod``, a
``(namespace, name)`` tuple or ``"namespace/name"``. Each function returns the pod as written.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client import ApiException
from tests.cluster.nodes.kwok.logs import DirectoryLogSource

SIMULATED_ANNOTATION = "crashwatch.dev/simulated"
CRI = "containerd://"
INITIAL_BACKOFF = 10  # seconds; the kubelet doubles it per restart up to MAX_BACKOFF
MAX_BACKOFF = 300

#: crash_loop(between_restarts=...): what the status says while a crash loop backs off.
#: A 1.36 kubelet with the default syncFrequency (1m) leaves the crashed instance
#: ``terminated`` for the whole back-off from the third crash on (observed-1.36.txt);
#: ``waiting`` writes ``CrashLoopBackOff`` right after every crash but the first, as older
#: kubelets (and a short syncFrequency) show it.
BETWEEN_RESTARTS = ("terminated", "waiting")
#: image_pull_error(runtime=...): containerd 2.x (the real node's v2.4.2) or 1.x messages.
RUNTIMES = ("containerd2", "containerd1")

PodRef = Any  # V1Pod | tuple[str, str] | str


class PodGone(ApiException):
    """The pod was deleted: a kubelet stops its containers and writes nothing more for it.
    (An ApiException of status 404, so callers that handle a 404 keep doing so.)"""

    def __init__(self, pod: str) -> None:
        super().__init__(status=404, reason=f"pod {pod} is gone")
Log = str | Sequence[str] | None


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


def go_duration_ms(ms: int) -> str:
    """Go's time.Duration.String() of a duration truncated to milliseconds, as the kubelet
    prints pull times: 577ms, 2.439s, 12.315s, 1m2.5s."""
    if ms < 1000:
        return f"{ms}ms"
    seconds, frac = divmod(ms, 1000)
    tail = f".{frac:03d}".rstrip("0").rstrip(".")
    if seconds < 60:
        return f"{seconds}{tail}s"
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return (f"{h}h" if h else "") + f"{m}m{s}{tail}s"


def backoff_seconds(restart_count: int) -> int:
    """The back-off of a container that crashed with ``restart_count`` restarts behind it.

    The first crash restarts at once; each later one waits 10s, 20s, 40s, ... up to 5m0s
    (observed: ``back-off 10s`` with restartCount 1, ``20s`` with 2, ``40s`` with 3)."""
    return int(min(INITIAL_BACKOFF * 2 ** max(restart_count - 1, 0), MAX_BACKOFF))


def liveness_backoff_seconds(restart_count: int) -> int:
    """The back-off after a liveness kill of the instance with ``restart_count``: the kubelet
    kills and starts again in one sync, so the first two kills restart at once and the third
    backs off 10s (observed: ``back-off 10s`` with restartCount 2, ``20s`` with 3, ...).
    0 means no back-off."""
    if restart_count < 2:
        return 0
    return int(min(INITIAL_BACKOFF * 2 ** (restart_count - 2), MAX_BACKOFF))


def format_pod(pod: dict[str, Any]) -> str:
    """pkg/kubelet/util/format.Pod: ``NAME_NAMESPACE(UID)``."""
    md = pod["metadata"]
    return f"{md['name']}_{md['namespace']}({md['uid']})"


def crash_loop_message(pod: dict[str, Any], container: str, restart_count: int,
                       backoff: int | None = None) -> str:  # fmt: skip
    seconds = backoff_seconds(restart_count) if backoff is None else backoff
    return (f"back-off {go_duration(seconds)} restarting failed container={container} "
            f"pod={format_pod(pod)}")


def container_id(pod: dict[str, Any], container: str, attempt: int) -> str:
    digest = hashlib.sha256(f"{pod['metadata']['uid']}/{container}/{attempt}".encode())
    return CRI + digest.hexdigest()


def _digest(*parts: object) -> str:
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()


def image_ref(image: str) -> str:
    """The normalised reference the runtime reports (docker.io/library/...)."""
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
    """``imageID``: the repository and the manifest digest (the spec's own digest when the
    image is pulled by digest)."""
    ref = image_ref(image)
    if "@" in ref:
        name, digest = ref.split("@", 1)
        if ":" in name.rsplit("/", 1)[-1]:  # name:tag@sha256:... -> name@sha256:...
            name = name.rsplit(":", 1)[0]
        return f"{name}@{digest}"
    repo = ref.rsplit(":", 1)[0]
    return f"{repo}@sha256:{_digest(image)}"


def status_image(image: str) -> str:
    """``image`` of a container that ran: containerd 2 reports an image pulled by digest as
    its config digest (``sha256:...``, observed), one pulled by tag as the normalised tag."""
    if "@sha256:" in image:
        return f"sha256:{_digest('config', image)}"
    return image_ref(image)


def pull_duration_ms(image: str, seed: object = "") -> int:
    """A stable pull time for the ``Successfully pulled`` Event (0.5 to 3 s)."""
    return 500 + int(_digest("pull", image, seed)[:8], 16) % 2500


def image_size(image: str) -> int:
    """A stable image size in bytes for the ``Successfully pulled`` Event."""
    return 2_000_000 + int(_digest("size", image)[:8], 16) % 120_000_000


def pulled_message(image: str, *, first: bool, seed: object = "") -> str:
    """The ``Pulled`` Event: the pull that fetched the image (``Successfully pulled image "I"
    in 2.439s (2.439s including waiting). Image size: N bytes.``) or every later start
    (``... already present on machine and can be accessed by the pod``: the
    KubeletEnsureSecretPulledImages variant, on by default since v1.35)."""
    if first:
        took = go_duration_ms(pull_duration_ms(image, seed))
        return (f'Successfully pulled image "{image}" in {took} ({took} including waiting). '
                f"Image size: {image_size(image)} bytes.")
    return f'Container image "{image}" already present on machine and can be accessed by the pod'


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
    try:
        obj = core.read_namespaced_pod(name, ns)
    except ApiException as e:
        if e.status == 404:
            raise PodGone(f"{ns}/{name}") from e
        raise
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
    """``volumeMounts`` as the kubelet reports them (RecursiveReadOnlyMounts, GA in 1.33):
    read-only ones carry ``recursiveReadOnly: Disabled`` (the service account token's too)."""
    out = []
    for m in spec_c.get("volumeMounts") or []:
        vm = {"name": m["name"], "mountPath": m["mountPath"]}
        if m.get("readOnly"):
            vm["readOnly"] = True
            rro = m.get("recursiveReadOnly")
            vm["recursiveReadOnly"] = "Enabled" if rro in ("Enabled", "IfPossible") else "Disabled"
        out.append(vm)
    return out


def _user(pod: dict[str, Any], spec_c: dict[str, Any]) -> dict[str, Any]:
    """``user.linux`` (SupplementalGroupsPolicy): the process's identity. Without
    ``runAsUser``/``runAsGroup`` it is the image's user; the images here run as root, as the
    real node's did (``{uid: 0, gid: 0, supplementalGroups: [0]}``)."""
    psc = pod["spec"].get("securityContext") or {}
    csc = spec_c.get("securityContext") or {}
    uid = int(csc.get("runAsUser", psc.get("runAsUser", 0)) or 0)
    gid = int(csc.get("runAsGroup", psc.get("runAsGroup", 0)) or 0)
    groups = [gid]
    for g in ([psc["fsGroup"]] if psc.get("fsGroup") is not None else []) + list(
            psc.get("supplementalGroups") or []):
        if int(g) not in groups:
            groups.append(int(g))
    return {"linux": {"uid": uid, "gid": gid, "supplementalGroups": groups}}


def _base_status(pod: dict[str, Any], spec_c: dict[str, Any]) -> dict[str, Any]:
    """The status of a container that has not run: the kubelet's default one, made from the
    spec (``image`` as the spec writes it, ``imageID`` empty, no containerID)."""
    cs: dict[str, Any] = {
        "name": spec_c["name"],
        "image": spec_c["image"],
        "imageID": "",
        "ready": False,
        "restartCount": 0,
        "started": False,
        "state": {},
        "lastState": {},
    }
    mounts = _volume_mounts(spec_c)
    if mounts:
        cs["volumeMounts"] = mounts
    return cs


def _instance(pod: dict[str, Any], spec_c: dict[str, Any], attempt: int,
              state: dict[str, Any], *, last: dict[str, Any] | None = None,
              ready: bool = False, started: bool = False,
              cid: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The status of a container that has run (instance ``attempt``): what the runtime
    reports (containerID, image, imageID, user) and what the kubelet adds in 1.36
    (``resources``, and ``allocatedResources`` when the container requests any)."""
    cs = _base_status(pod, spec_c)
    resources = spec_c.get("resources") or {}
    cs.update(
        image=status_image(spec_c["image"]),
        imageID=image_id(spec_c["image"]),
        containerID=cid or container_id(pod, spec_c["name"], attempt),
        restartCount=attempt,
        ready=ready,
        started=started,
        state=state,
        lastState={"terminated": copy.deepcopy(last)} if last else {},
        resources={k: copy.deepcopy(resources[k]) for k in ("limits", "requests")
                   if resources.get(k)},
        user=_user(pod, spec_c),
    )
    if resources.get("requests"):
        cs["allocatedResources"] = copy.deepcopy(resources["requests"])
    return cs


def _running(pod: dict[str, Any], spec_c: dict[str, Any], started: str, attempt: int,
             ready: bool = True) -> dict[str, Any]:  # fmt: skip
    return _instance(pod, spec_c, attempt, {"running": {"startedAt": started}}, ready=ready,
                     started=True)


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
    asked = dict(pod_fields)
    for _ in range(10):
        # every attempt from what was asked: a retry after a conflict (crashwatch annotated
        # the pod meanwhile) once lost the phase, the conditions and the extra statuses
        pod_fields = dict(asked)
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
            if e.status == 404:
                raise PodGone(f"{ns}/{name}") from e
            if e.status != 409:
                raise
            pod = _read(core, ns, name)
    raise RuntimeError(f"could not write status of {ns}/{name}: conflicts")


def post_event(
    api: Any,
    pod: dict[str, Any] | PodRef,
    reason: str,
    message: str,
    *,
    type_: str = "Normal",
    container: str | None = None,
    init: bool = False,
) -> dict[str, Any]:
    """Post (or aggregate into) a kubelet Event about ``pod`` (and ``container``; ``init``:
    an init container, ``fieldPath`` ``spec.initContainers{NAME}``)."""
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
        field = "initContainers" if init else "containers"
        involved["fieldPath"] = f"spec.{field}{{{container}}}"
    now = rfc3339()
    # The kubelet's recorder aggregates identical events: count+1, lastTimestamp=now. Like
    # the recorder, remember what was posted (a list per post made many pods quadratic).
    key = _event_key(md, reason, message, type_, involved.get("fieldPath"))
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


def _event_key(md: dict[str, Any], reason: str, message: str, type_: str,
               field_path: str | None) -> tuple[Any, ...]:  # fmt: skip
    return (md["namespace"], md["uid"], reason, message, type_, field_path)


#: Events this process posted as the kubelet: key -> (name, count).
_POSTED: dict[tuple[Any, ...], tuple[str, int]] = {}
_POSTED_LOCK = threading.Lock()
#: Images a node has pulled, as far as this process drove it: (API server, node, image).
_PULLED: set[tuple[str, str, str]] = set()


def write_log(logs_dir: Path | str | None, pod: dict[str, Any], container: str,
              text: str | None) -> Path | None:  # fmt: skip
    """Write ``text`` as the failed instance's log of ``container`` under ``logs_dir``
    (``LOGS_DIR/<namespace>/<pod>/<container>.log``)."""
    if logs_dir is None or text is None:
        return None
    md = pod["metadata"]
    return DirectoryLogSource(logs_dir).write(md["namespace"], md["name"], container, text)


def _pull_events(core: client.CoreV1Api, pod: dict[str, Any], spec_c: dict[str, Any],
                 seed: object = "") -> None:  # fmt: skip
    """The image manager's Events for one start: ``Pulling`` and ``Successfully pulled`` the
    first time the node needs the image (and every time with ``imagePullPolicy: Always``),
    else ``already present on machine and can be accessed by the pod``."""
    image, name = spec_c["image"], spec_c["name"]
    key = (str(core.api_client.configuration.host), pod["spec"].get("nodeName") or "", image)
    with _POSTED_LOCK:
        first = key not in _PULLED or spec_c.get("imagePullPolicy") == "Always"
        _PULLED.add(key)
    if first:
        post_event(core, pod, "Pulling", f'Pulling image "{image}"', container=name)
    post_event(core, pod, "Pulled",
               pulled_message(image, first=first, seed=(pod["metadata"]["uid"], seed)),
               container=name)  # fmt: skip


def _started_events(core: client.CoreV1Api, pod: dict[str, Any], spec_c: dict[str, Any],
                    seed: object = "") -> None:  # fmt: skip
    name = spec_c["name"]
    _pull_events(core, pod, spec_c, seed)
    post_event(core, pod, "Created", "Container created", container=name)
    post_event(core, pod, "Started", "Container started", container=name)


def _image_present_message(image: str) -> str:
    return pulled_message(image, first=False)


# --------------------------------------------------------------------------- one container


class _Container:
    """One container of one pod, driven through its instances as the kubelet drives it.

    ``phase``: ``none`` (never ran), ``running``, ``dead`` (the instance just exited; its
    ``terminated`` state is shown and a restart is due) or ``backoff`` (``waiting``
    CrashLoopBackOff is shown). ``attempt`` is the restartCount of the current (or last)
    instance, ``last`` the ``lastState.terminated`` the kubelet shows with it, ``term`` the
    dead instance's own record.
    """

    def __init__(self, api: Any, pod: PodRef, container: str, *,
                 logs_dir: Path | str | None = None, log: Log = None,
                 between_restarts: str = "terminated") -> None:  # fmt: skip
        if between_restarts not in BETWEEN_RESTARTS:
            raise ValueError(f"between_restarts must be one of {BETWEEN_RESTARTS}")
        self.core = _core(api)
        self.pod = take_over(self.core, pod)
        self.spec = _spec_container(self.pod, container)
        self.name = container
        self.mode = between_restarts
        self.logs = DirectoryLogSource(logs_dir) if logs_dir is not None else None
        self.log = [log] if isinstance(log, str) or log is None else list(log)
        self.exits = 0  # instances that exited under this driver (which ``log`` is theirs)
        prev = _status_of(self.pod, container) or {}
        state = prev.get("state") or {}
        self.last: dict[str, Any] | None = copy.deepcopy(
            (prev.get("lastState") or {}).get("terminated")) or None
        self.term: dict[str, Any] | None = None
        self.since = ""
        if not prev.get("containerID"):
            self.phase, self.attempt = "none", 0
        else:
            self.attempt = int(prev.get("restartCount") or 0)
            if "running" in state:
                self.phase, self.since = "running", state["running"].get("startedAt") or ""
            elif "terminated" in state:
                self.phase, self.term = "dead", copy.deepcopy(state["terminated"])
            else:
                self.phase, self.term = "backoff", copy.deepcopy(self.last)

    # -- what the instances say ---------------------------------------------------------
    def _log_text(self) -> str | None:
        return self.log[min(self.exits, len(self.log) - 1)]

    def _instance_log(self, cid: str, *, exited: bool) -> None:
        """An instance's log, as it starts and as it exits. The kubelet keeps the newest dead
        instance only (its container GC): the failed instance, whose log crashwatch reads as
        ``<container>.log``."""
        if self.logs is None:
            return
        md = self.pod["metadata"]
        ns, pod = md["namespace"], md["name"]
        text = self._log_text()
        self.logs.write_instance(ns, pod, self.name, cid, text or "")
        if exited:
            self.logs.keep_instances(ns, pod, self.name, [cid])
            if text is not None:
                self.logs.write(ns, pod, self.name, text)

    # -- writes ---------------------------------------------------------------------------
    def _write(self, cs: dict[str, Any], **pod_fields: Any) -> None:
        self.pod = _write_status(self.core, self.pod, self.name, cs, **pod_fields)

    def _event(self, reason: str, message: str, type_: str = "Normal") -> None:
        post_event(self.core, self.pod, reason, message, type_=type_, container=self.name)

    def _announced(self) -> bool:
        md = self.pod["metadata"]
        key = _event_key(md, "Started", "Container started", "Normal",
                         f"spec.containers{{{self.name}}}")
        with _POSTED_LOCK:
            return key in _POSTED

    def back_off(self, seconds: int, *, event: bool = True) -> None:
        """``waiting: CrashLoopBackOff`` for the dead instance, and (``event``) the Warning
        ``BackOff``: one per back-off."""
        assert self.term is not None
        cs = _instance(self.pod, self.spec, self.attempt, {"waiting": {
            "reason": "CrashLoopBackOff",
            "message": crash_loop_message(self.pod, self.name, self.attempt, seconds)}},
            last=self.term, cid=self.term.get("containerID"))  # fmt: skip
        self._write(cs)
        self.phase, self.last = "backoff", self.term
        if event:
            self.backoff_event()

    def backoff_event(self) -> None:
        self._event("BackOff", f"Back-off restarting failed container {self.name} in pod "
                    f"{format_pod(self.pod)}", "Warning")

    def start(self, *, start_failed: str | None = None, backoff: int | None = None) -> None:
        """Start the next instance (nothing if one runs). A dead instance (``terminated``
        shown through its back-off) first gets its ``CrashLoopBackOff`` written, in the same
        second as the start, as a 1.36 kubelet does; ``backoff`` is its duration.
        ``start_failed``: the runtime cannot start it (``Error: MESSAGE`` instead of Started;
        nothing runs)."""
        if self.phase == "running":
            if not self._announced():  # kwok started it: the kubelet's Events of that start
                _started_events(self.core, self.pod, self.spec, self.attempt)
            return
        if self.phase == "dead" and backoff:
            self.back_off(backoff, event=False)  # its BackOff was posted as it exited
        if self.phase in ("dead", "backoff"):
            assert self.term is not None
            self.attempt, self.last = self.attempt + 1, self.term
        now = dt.datetime.now(dt.UTC)
        if self.phase == "none":  # the first instance ran run_seconds, if the pod is as old
            raw = self.pod["metadata"].get("creationTimestamp")
            created = dt.datetime.fromisoformat(str(raw)) if raw else now
            self.since = rfc3339(max(created, now - dt.timedelta(seconds=self.run_seconds)))
        else:
            self.since = rfc3339(now)
        self.term = None
        if start_failed is not None:
            _pull_events(self.core, self.pod, self.spec, self.attempt)
            self._event("Created", "Container created")
            self._event("Failed", f"Error: {start_failed}", "Warning")
            self.phase = "starting"
            return
        _started_events(self.core, self.pod, self.spec, self.attempt)
        self._instance_log(container_id(self.pod, self.name, self.attempt), exited=False)
        started = not self.spec.get("startupProbe")
        ready = started and not self.spec.get("readinessProbe")
        self._write(_instance(self.pod, self.spec, self.attempt,
                              {"running": {"startedAt": self.since}}, last=self.last,
                              ready=ready, started=started))  # fmt: skip
        self.phase = "running"

    run_seconds = 2

    def exit(self, exit_code: int, reason: str, message: str | None = None, *,
             show: bool = True) -> dict[str, Any]:  # fmt: skip
        """The running instance exits; ``show``: its ``terminated`` state is written (a
        liveness kill restarts in the same sync, so nothing shows it)."""
        finished = rfc3339()
        cid = container_id(self.pod, self.name, self.attempt)
        term: dict[str, Any] = {"exitCode": exit_code, "reason": reason,
                                "startedAt": min(self.since or finished, finished),
                                "finishedAt": finished, "containerID": cid}  # fmt: skip
        if message:
            term["message"] = message
        self._instance_log(cid, exited=True)
        self.exits += 1
        self.term, self.phase = term, "dead"
        if show:
            self._write(_instance(self.pod, self.spec, self.attempt, {"terminated": term},
                                  last=self.last))  # fmt: skip
        return term


# --------------------------------------------------------------------------- scenarios


def crash_loop(api: Any, pod: PodRef, container: str, *, exit_code: int = 1,
               reason: str = "Error", message: str | None = None, restarts: int = 3,
               log: Log = None, logs_dir: Path | str | None = None,
               run_seconds: int = 2, start_failed: bool = False,
               between_restarts: str = "terminated") -> dict[str, Any]:  # fmt: skip
    """A crash loop, written as a watch sees it, until ``restartCount`` has grown by
    ``restarts`` (a container that runs, or never ran, exits ``restarts + 1`` times).

    Every instance: Events Pulled (``Pulling`` + ``Successfully pulled image ...`` the first
    time the node needs the image, else ``... already present on machine and can be accessed
    by the pod``), Created ``Container created``, Started ``Container started`` (Warning
    Failed ``Error: MESSAGE`` instead when ``start_failed``), status ``running``; then it exits:
    status ``terminated`` {exitCode, reason, message?, startedAt, finishedAt, containerID}
    with the previous instance as ``lastState.terminated``. Then, as a 1.36 kubelet with the
    default syncFrequency (tests/cluster/nodes/real/observed-1.36.txt):

    * after the first exit (restartCount 0) it restarts at once;
    * after the second (restartCount 1) ``waiting: CrashLoopBackOff`` ``back-off 10s
      restarting failed container=C pod=NAME_NS(UID)`` (``lastState`` the exited instance);
    * from the third on the status stays ``terminated`` for the whole back-off (20s, 40s,
      ... 5m0s), and ``CrashLoopBackOff`` is written in the same second as the next start.

    Each back-off posts the Warning ``BackOff`` ``Back-off restarting failed container C in
    pod NAME_NS(UID)``, aggregated. So with the default ``restarts=3`` the pod is left
    ``terminated`` (restartCount 3), with ``restarts=1`` in CrashLoopBackOff.
    ``between_restarts="waiting"`` writes CrashLoopBackOff right after every exit but the
    first, as older kubelets (and a short syncFrequency) show it: the pod is left waiting.

    A pod deleted under the loop (a rollout replaced it: a remediation's roll is one) ends
    it, as a kubelet stops writing a pod once it is gone: the pod as last written is
    returned, its restartCount short of ``restarts``.

    ``log``: what each instance writes (a list: one per instance, the last repeated),
    written under ``logs_dir`` per instance and as the failed instance's
    ``<container>.log``. ``run_seconds``: how long the first instance ran before it exited
    (later ones exit as soon as they start).
    """
    if restarts < 1:
        raise ValueError("restarts must be >= 1 (the first crash restarts without back-off)")
    c = _Container(api, pod, container, logs_dir=logs_dir, log=log,
                   between_restarts=between_restarts)  # fmt: skip
    c.run_seconds = run_seconds
    target = c.attempt + restarts
    failed = (message or "") if start_failed else None
    try:
        while True:
            backoff = backoff_seconds(c.attempt) if c.phase == "dead" and c.attempt >= 2 else None
            c.start(start_failed=failed, backoff=backoff)
            c.exit(exit_code, reason, message)
            if c.attempt >= 1:  # the first exit restarts at once
                if c.attempt == 1 or c.mode == "waiting":
                    c.back_off(backoff_seconds(c.attempt))
                else:
                    c.backoff_event()  # the kubelet's sync hits the back-off; the status stays
            if c.attempt >= target:
                return c.pod
    except PodGone:
        return c.pod


def oom_kill(api: Any, pod: PodRef, container: str, **kw: Any) -> dict[str, Any]:
    """A crash loop whose exits are ``OOMKilled``, exit code 137 (no Event of its own)."""
    return crash_loop(api, pod, container, exit_code=137, reason="OOMKilled", **kw)


def start_error(api: Any, pod: PodRef, container: str, *, message: str | None = None,
                **kw: Any) -> dict[str, Any]:  # fmt: skip
    """A crash loop of runtime StartErrors (containerd, exit 128): nothing runs."""
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
    period: float = 0.0,
) -> dict[str, Any]:
    """CreateContainerConfigError for a missing ConfigMap/Secret (``key=None``) or key.

    The container never starts: pod ``Pending``, ``state.waiting`` with reason
    CreateContainerConfigError and the kubelet's message, no containerID, ``imageID`` empty.
    Events per attempt (one per pod sync: a real kubelet tries about every 10 s for as long
    as the error lasts, x17 in 200 s on the real node): Pulled (``Pulling`` + ``Successfully
    pulled`` the first time the node needs the image, then ``already present...``) and the
    Warning ``Failed`` ``Error: MESSAGE``, aggregated. ``attempts`` are posted at once, or
    ``period`` seconds apart.
    """
    core = _core(api)
    obj = take_over(core, pod)
    spec_c = _spec_container(obj, container)
    msg = config_error_message(obj["metadata"]["namespace"], kind, name, key)
    cs = _base_status(obj, spec_c)
    cs["state"] = {"waiting": {"reason": "CreateContainerConfigError", "message": msg}}
    obj = _write_status(core, obj, container, cs, phase="Pending")
    for i in range(attempts):
        if i and period:
            time.sleep(period)
        _pull_events(core, obj, spec_c)
        post_event(core, obj, "Failed", f"Error: {msg}", type_="Warning", container=container)
    return obj


def image_pull_message(image: str, kind: str = "notfound", *, runtime: str = "containerd2",
                       auth: str = "basic", legacy_kubelet: bool = False) -> str:  # fmt: skip
    """The pull error a kubelet writes (``Failed to pull image "I": ERR`` and the
    ErrImagePull waiting message).

    ``runtime="containerd2"`` (the real node's v2.4.2, observed): ``failed to pull and unpack
    image "R": failed to resolve image: ...``; ``"containerd1"``: ``... failed to resolve
    reference "R": ...`` (e.g. https://github.com/cvisionai/tator/issues/439,
    https://github.com/pfnet/image-pull-secrets-provisioner/issues/31). ``R`` is the
    normalised reference. ``kind="notfound"`` keeps the gRPC prefix ``rpc error: code =
    NotFound desc = ``. ``kind="unauthorized"``: a 1.36 kubelet's CRI client drops the prefix
    of an ``Unknown`` code (k8s.io/cri-client v0.36.3, pkg/remote_image.go), so there is none
    (observed); ``legacy_kubelet=True`` keeps ``rpc error: code = Unknown desc = ``, as threads
    from older clusters quote it. ``auth="basic"``: a registry with basic auth and no
    credentials (observed: ``authorization failed: no basic auth credentials``); ``"token"``:
    a token-auth registry such as Docker Hub (``server message: insufficient_scope:
    authorization failed``).
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}")
    ref = image_ref(image)
    resolve = ("failed to resolve image: " if runtime == "containerd2"
               else f'failed to resolve reference "{ref}": ')
    if kind == "notfound":
        return (f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
                f"{resolve}{ref}: not found")
    if kind == "unauthorized":
        if auth not in ("basic", "token"):
            raise ValueError("auth must be 'basic' or 'token'")
        why = ("no basic auth credentials" if auth == "basic"
               else "server message: insufficient_scope: authorization failed")
        if auth == "basic":
            why = f"authorization failed: {why}"
        prefix = "rpc error: code = Unknown desc = " if legacy_kubelet else ""
        return (f'{prefix}failed to pull and unpack image "{ref}": {resolve}pull access '
                f"denied, repository does not exist or may require authorization: {why}")
    raise ValueError("kind must be 'notfound' or 'unauthorized'")


def image_pull_error(api: Any, pod: PodRef, container: str, *, kind: str = "notfound",
                     backoff: bool = True, runtime: str = "containerd2", auth: str = "basic",
                     legacy_kubelet: bool = False) -> dict[str, Any]:  # fmt: skip
    """ErrImagePull, then (``backoff``) ImagePullBackOff, with the kubelet's Events.

    ErrImagePull waiting message: the runtime's error (:func:`image_pull_message`, whose
    options this takes). Events: Normal ``Pulling``, Warning ``Failed`` ``Failed to pull
    image "IMAGE": ERR``, Warning ``Failed`` ``Error: ErrImagePull``. Then waiting
    ImagePullBackOff ``Back-off pulling image "IMAGE": ErrImagePull: ERR``, Normal ``BackOff``
    ``Back-off pulling image "IMAGE"``, Warning ``Failed`` ``Error: ImagePullBackOff``.
    """
    core = _core(api)
    obj = take_over(core, pod)
    spec_c = _spec_container(obj, container)
    image = spec_c["image"]
    err = image_pull_message(image, kind, runtime=runtime, auth=auth,
                             legacy_kubelet=legacy_kubelet)  # fmt: skip
    cs = _base_status(obj, spec_c)
    cs["state"] = {"waiting": {"reason": "ErrImagePull", "message": err}}
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
                 path: str = "/healthz", timeout: bool = False,
                 tcp: bool = False) -> str:  # fmt: skip
    """What the kubelet's prober reports. HTTP: a status code, refused or a timeout, the
    last two with ``Get "URL": ...``; TCP (``tcp``): ``dial tcp IP:PORT: connect: connection
    refused`` (observed) or ``... i/o timeout``, with no ``Get`` part."""
    ip = pod_ip(pod)
    if tcp:
        if status_code is not None:
            raise ValueError("a TCP probe has no status code")
        return (f"dial tcp {ip}:{port}: i/o timeout" if timeout
                else f"dial tcp {ip}:{port}: connect: connection refused")
    if status_code is not None:
        return f"HTTP probe failed with statuscode: {status_code}"
    url = f"http://{ip}:{port}{path}"
    if timeout:
        return (
            f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting '
            "headers)"
        )
    return f'Get "{url}": dial tcp {ip}:{port}: connect: connection refused'


def _probe_target(spec_c: dict[str, Any], kind: str, port: int | None, path: str | None,
                  default_path: str) -> tuple[bool, int, str]:  # fmt: skip
    """(tcp, port, path) of the container's ``kind`` probe, the arguments winning."""
    probe = spec_c.get(f"{kind}Probe") or {}
    target = probe.get("tcpSocket") or probe.get("httpGet") or {}
    spec_port = target.get("port")
    if isinstance(spec_port, str):  # a named port
        spec_port = next((p.get("containerPort") for p in spec_c.get("ports") or []
                          if p.get("name") == spec_port), None)
    return (bool(probe.get("tcpSocket")), int(port or spec_port or 8080),
            path or (probe.get("httpGet") or {}).get("path") or default_path)


def liveness_kill(
    api: Any,
    pod: PodRef,
    container: str,
    *,
    status_code: int | None = 404,
    port: int | None = None,
    path: str | None = None,
    failures: int = 3,
    kills: int = 3,
    exit_code: int = 0,
    log: Log = None,
    logs_dir: Path | str | None = None,
) -> dict[str, Any]:
    """The liveness probe fails ``failures`` times, the kubelet kills the container and
    starts it again; ``kills`` times.

    Events per kill: Warning ``Unhealthy`` ``Liveness probe failed: OUTPUT`` (aggregated),
    Normal ``Killing`` ``Container C failed liveness probe, will be restarted``, then Pulled/
    Created/Started. OUTPUT follows the container's probe: ``HTTP probe failed with
    statuscode: 404``, or (``status_code=None``) refused, ``Get "http://IP:PORT/PATH": dial
    tcp IP:PORT: connect: connection refused`` for an httpGet probe and ``dial tcp IP:PORT:
    connect: connection refused`` for a tcpSocket one (port and path from the probe unless
    given). The killed instance's ``lastState.terminated`` is the app's own exit on SIGTERM:
    ``exit_code`` 0 and reason ``Completed`` by default, as the real node's app did (a Go
    PID 1 without a handler exits 2; one that ignores SIGTERM is SIGKILLed after the grace
    period: 137, reason ``Error``). As a 1.36 kubelet (observed-1.36.txt): the first two
    kills restart at once (``running``, restartCount + 1, no ``terminated`` shown); from the
    third, ``waiting: CrashLoopBackOff`` ``back-off 10s`` (20s, 40s, ...) until the next
    start. So the default ``kills=3`` leaves the pod in CrashLoopBackOff, ``kills=1``
    running again.
    """
    if kills < 1:
        raise ValueError("kills must be >= 1")
    c = _Container(api, pod, container, logs_dir=logs_dir, log=log)
    tcp, port, path = _probe_target(c.spec, "liveness", port, path, "/healthz")
    output = probe_output(c.pod, status_code=None if tcp else status_code, port=port,
                          path=path, tcp=tcp)  # fmt: skip
    reason = "Completed" if exit_code == 0 else "Error"
    for _ in range(kills):
        c.start()
        for _ in range(failures):
            c._event("Unhealthy", f"Liveness probe failed: {output}", "Warning")
        c._event("Killing", f"Container {container} failed liveness probe, will be restarted")
        c.exit(exit_code, reason, show=False)
        backoff = liveness_backoff_seconds(c.attempt)
        if backoff:
            c.back_off(backoff)
    if c.phase == "dead":
        c.start()  # killed and started again in the same sync
    return c.pod


def readiness_failing(api: Any, pod: PodRef, container: str, *, status_code: int | None = None,
                      port: int | None = None, path: str | None = None, failures: int = 3,
                      timeout: bool = False, running_for: int = 180) -> dict[str, Any]:  # fmt: skip
    """Readiness fails: the container keeps running but is not Ready (no restart).

    Events: Warning ``Unhealthy`` ``Readiness probe failed: OUTPUT`` (count = failures; the
    output as :func:`liveness_kill` says, from the container's readiness probe). Status:
    ``ready: false`` and pod conditions Ready/ContainersReady False, reason
    ContainersNotReady. ``status_code=None`` means refused (or ``timeout``). The container
    has run ``running_for`` seconds (``startedAt``): an app that has been up a while and now
    fails its probe, not one still starting (whose first probes fail by nature).
    """
    core = _core(api)
    obj = take_over(core, pod)
    spec_c = _spec_container(obj, container)
    tcp, port, path = _probe_target(spec_c, "readiness", port, path, "/ready")
    output = probe_output(obj, status_code=None if tcp else status_code, port=port, path=path,
                          timeout=timeout, tcp=tcp)  # fmt: skip
    for _ in range(failures):
        post_event(core, obj, "Unhealthy", f"Readiness probe failed: {output}",
                   type_="Warning", container=container)  # fmt: skip
    started_at = rfc3339(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=running_for))
    prev = _status_of(obj, container)
    attempt = int(prev.get("restartCount") or 0) if prev and prev.get("containerID") else 0
    last = ((prev or {}).get("lastState") or {}).get("terminated")
    cs = _instance(obj, spec_c, attempt, {"running": {"startedAt": started_at}}, last=last,
                   ready=False, started=True)  # fmt: skip
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
        started = ((prev.get("state") or {}).get("running") or {}).get("startedAt", now)
        attempt = int(prev.get("restartCount") or 0)
        cid = prev.get("containerID") or container_id(obj, spec_c["name"], attempt)
        terminated = {"exitCode": 137, "reason": "Error", "startedAt": started,
                      "finishedAt": now, "containerID": cid}  # fmt: skip
        last = (prev.get("lastState") or {}).get("terminated")
        statuses.append(_instance(obj, spec_c, attempt, {"terminated": terminated}, last=last,
                                  cid=cid))  # fmt: skip
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
    """The container runs and is Ready again; restartCount and lastState are kept. One left
    ``terminated`` through its back-off gets its ``CrashLoopBackOff`` first, in the same
    second as the start (a 1.36 kubelet); one in CrashLoopBackOff starts its next instance."""
    c = _Container(api, pod, container)
    backoff = backoff_seconds(c.attempt) if c.phase == "dead" and c.attempt >= 2 else None
    c.start(backoff=backoff)
    prev = _status_of(c.pod, container) or {}
    if not prev.get("ready") and "running" in (prev.get("state") or {}):
        cs = copy.deepcopy(prev)
        cs.update(ready=True, started=True)
        c._write(cs)
    return c.pod
