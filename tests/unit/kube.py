"""Builders for Kubernetes objects shaped exactly as the API server returns them.

Statuses and Events follow what a v1.36 kubelet with containerd 2 writes, as recorded on the
real test node (tests/cluster/nodes/real/observed-1.36.txt; shared/KUBELET-FORMATS.md):
``containerStatuses`` with ``state``/``lastState``/``restartCount``/``image``/``imageID``/
``containerID``, and for a container that ran the 1.36 fields ``user.linux``,
``resources``, ``allocatedResources`` (when it requests any) and ``volumeMounts`` (the
service account token's with ``recursiveReadOnly: Disabled``); an image pulled by digest
shows ``image: sha256:<config digest>``. A crash loop between restarts is
:func:`crashed_status` (``terminated``, the state a 1.36 kubelet shows through most of each
back-off), or :func:`crashloop_status` (``waiting: CrashLoopBackOff``, written just before
the next start, for the whole back-off after a liveness kill, and between every restart on
older kubelets). Pod conditions, core ``v1`` Events with ``source.component: kubelet`` and
``involvedObject.fieldPath: spec.containers{NAME}``.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 11, 20, 10, 30, 0, tzinfo=UTC)
NODE = "ip-10-0-3-17.eu-west-1.compute.internal"


def ts(seconds_ago: float = 0) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def uid(seed: str) -> str:
    h = hashlib.sha1(seed.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


#: The service account token every pod gets (admission adds the volume and the mount).
TOKEN_VOLUME = "kube-api-access-7x2qd"
TOKEN_MOUNT = {"name": TOKEN_VOLUME, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
               "readOnly": True}


def _digest(*parts: object) -> str:
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()


def container_id(*seed: object) -> str:
    """A containerd ID; each container instance has its own."""
    return "containerd://" + _digest("instance", *seed)


def status_image(image: str) -> tuple[str, str]:
    """(``image``, ``imageID``) containerd 2 reports for a container that ran: an image pulled
    by digest as its config digest (observed: ``sha256:7ea3a1...``) and the repository with
    the manifest digest; one pulled by tag as the tag."""
    if "@" in image:
        return f"sha256:{_digest('config', image)}", image
    repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return image, f"{repo}@sha256:" + ("3f" * 32 if repo == "registry.example.com/shop/web"
                                       else _digest("manifest", image))


def ran(c: dict[str, Any], cs: dict[str, Any], uid_: int = 0) -> dict[str, Any]:
    """``cs`` with what a 1.36 kubelet reports of a container that ran."""
    image, image_id = status_image(c["image"])
    resources = c.get("resources") or {}
    out = {**cs, "image": image, "imageID": image_id,
           "resources": {k: copy.deepcopy(resources[k]) for k in ("limits", "requests")
                         if resources.get(k)},
           "user": {"linux": {"uid": uid_, "gid": 0, "supplementalGroups": [0]}},
           "volumeMounts": mounts_status(c)}
    if resources.get("requests"):
        out["allocatedResources"] = copy.deepcopy(resources["requests"])
    return out


def mounts_status(c: dict[str, Any]) -> list[dict[str, Any]]:
    """``volumeMounts`` as the kubelet reports them: read-only ones ``recursiveReadOnly:
    Disabled``; the service account token's is always there."""
    out = []
    mounts = list(c.get("volumeMounts") or [])
    if not any(m.get("name") == TOKEN_VOLUME for m in mounts):
        mounts.append(TOKEN_MOUNT)
    for m in mounts:
        vm = {"name": m["name"], "mountPath": m["mountPath"]}
        if m.get("readOnly"):
            vm.update(readOnly=True, recursiveReadOnly="Disabled")
        out.append(vm)
    return out


def container(
    name: str = "app",
    image: str = "registry.example.com/shop/web:1.4.2",
    memory_limit: str | None = "512Mi",
    memory_request: str | None = "256Mi",
    **extra: Any,
) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if memory_limit:
        resources["limits"] = {"cpu": "500m", "memory": memory_limit}
    if memory_request:
        resources["requests"] = {"cpu": "100m", "memory": memory_request}
    c: dict[str, Any] = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "resources": resources,
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }
    c.update(extra)
    return c


def running_status(c: dict[str, Any], started_ago: float = 3600, ready: bool = True,
                   restarts: int = 0, last: dict[str, Any] | None = None) -> dict[str, Any]:
    return ran(c, {
        "name": c["name"],
        "state": {"running": {"startedAt": ts(started_ago)}},
        "lastState": {"terminated": last} if last else {},
        "ready": ready,
        "restartCount": restarts,
        "containerID": "containerd://" + "a1" * 32 if not restarts
        else container_id(c["name"], "running", restarts),
        "started": True,
    })


def terminated(reason: str = "Error", exit_code: int = 1, finished_ago: float = 20,
               ran_for: float = 3, message: str | None = None,
               instance: object = None) -> dict[str, Any]:  # fmt: skip
    """A ``terminated`` record; ``instance`` tells instances apart (each its containerID;
    by default the same arguments make the same instance)."""
    t: dict[str, Any] = {
        "exitCode": exit_code,
        "reason": reason,
        "startedAt": ts(finished_ago + ran_for),
        "finishedAt": ts(finished_ago),
        "containerID": "containerd://" + "b2" * 32 if instance is None
        else container_id(reason, exit_code, instance),
    }
    if message is not None:
        t["message"] = message
    return t


def backoff_message(c: dict[str, Any], pod: dict[str, Any], backoff: str) -> str:
    md = pod["metadata"]
    return (f"back-off {backoff} restarting failed container={c['name']} "
            f"pod={md['name']}_{md['namespace']}({md['uid']})")


def crashloop_status(c: dict[str, Any], pod: dict[str, Any], last: dict[str, Any],
                     restarts: int = 6, backoff: str = "2m40s") -> dict[str, Any]:
    """``waiting: CrashLoopBackOff`` after the instance ``last`` exited (its containerID is
    the status's)."""
    return ran(c, {
        "name": c["name"],
        "state": {"waiting": {"reason": "CrashLoopBackOff",
                              "message": backoff_message(c, pod, backoff)}},
        "lastState": {"terminated": last},
        "ready": False,
        "restartCount": restarts,
        "containerID": last.get("containerID", "containerd://" + "b2" * 32),
        "started": False,
    })


def crashed_status(c: dict[str, Any], term: dict[str, Any], restarts: int = 5,
                   last: dict[str, Any] | None = None) -> dict[str, Any]:
    """A 1.36 kubelet between restarts (default syncFrequency, from the third exit on): the
    instance that just exited stays ``terminated`` through the whole back-off, with the
    instance before it as ``lastState`` (by default one that exited the same way, a back-off
    earlier). ``restarts=0``: the first exit, no ``lastState``."""
    if last is None and restarts:
        last = {**term, "containerID": container_id(term.get("containerID"), "before"),
                "startedAt": _earlier(term["startedAt"], 60),
                "finishedAt": _earlier(term["finishedAt"], 60)}
    return ran(c, {
        "name": c["name"],
        "state": {"terminated": term},
        "lastState": {"terminated": last} if last else {},
        "ready": False,
        "restartCount": restarts,
        "containerID": term.get("containerID", "containerd://" + "b2" * 32),
        "started": False,
    })


def _earlier(stamp: str, seconds: float) -> str:
    t = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return (t - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def waiting_status(c: dict[str, Any], reason: str, message: str | None = None,
                   restarts: int = 0) -> dict[str, Any]:
    """A container that has not run (a configuration or image error): the kubelet's status
    made from the spec, ``image`` as written there, ``imageID`` empty, no containerID."""
    w: dict[str, Any] = {"reason": reason}
    if message is not None:
        w["message"] = message
    return {
        "name": c["name"],
        "state": {"waiting": w},
        "lastState": {},
        "ready": False,
        "restartCount": restarts,
        "image": c["image"],
        "imageID": "",
        "started": False,
        "volumeMounts": mounts_status(c),
    }


def pod(
    name: str = "web-7d9c5b8f6d-x2x9k",
    namespace: str = "shop",
    containers: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    owner: tuple[str, str] | None = ("ReplicaSet", "web-7d9c5b8f6d"),
    phase: str = "Running",
    init_containers: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    annotations: dict[str, str] | None = None,
    volumes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A pod; ``statuses`` may be filled after creation with the builders above."""
    containers = containers if containers is not None else [container()]
    md: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": uid(namespace + "/" + name),
        "resourceVersion": "48213977",
        "creationTimestamp": ts(7200),
        "labels": {"app": name.rsplit("-", 2)[0]},
    }
    if owner:
        kind, oname = owner
        md["ownerReferences"] = [{
            "apiVersion": "apps/v1" if kind in ("ReplicaSet", "StatefulSet", "DaemonSet")
            else "batch/v1",
            "kind": kind, "name": oname, "uid": uid(oname),
            "controller": True, "blockOwnerDeletion": True,
        }]
        if kind == "ReplicaSet":
            md["labels"]["pod-template-hash"] = oname.rsplit("-", 1)[-1]
    if annotations:
        md["annotations"] = annotations
    spec: dict[str, Any] = {
        "containers": containers,
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "default",
        "nodeName": NODE,
        "schedulerName": "default-scheduler",
    }
    if init_containers:
        spec["initContainers"] = init_containers
    spec["volumes"] = [*(volumes or []), {"name": TOKEN_VOLUME, "projected": {
        "defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt",
                           "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}]
    for key in ("containers", "initContainers"):
        if key in spec:  # the caller's containers as admission leaves them: with the token
            spec[key] = [c if any(m.get("name") == TOKEN_VOLUME
                                  for m in c.get("volumeMounts") or [])
                         else {**c, "volumeMounts": [*(c.get("volumeMounts") or []),
                                                     dict(TOKEN_MOUNT)]}
                         for c in spec[key]]
    ready = all(s.get("ready") for s in statuses or []) and bool(statuses)
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": ts(7190)},
            {"type": "Initialized", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": ts(7190)},
            {"type": "Ready", "status": "True" if ready else "False", "lastProbeTime": None,
             "lastTransitionTime": ts(7000 if ready else 300),
             **({} if ready else {"reason": "ContainersNotReady",
                                  "message": "containers with unready status: [" + " ".join(
                                      s["name"] for s in statuses or [] if not s.get("ready"))
                                  + "]"})},
            {"type": "ContainersReady", "status": "True" if ready else "False",
             "lastProbeTime": None, "lastTransitionTime": ts(7000 if ready else 300)},
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": ts(7195)},
        ],
        "hostIP": "10.0.3.17",
        "hostIPs": [{"ip": "10.0.3.17"}],
        "podIP": "10.8.0.5",
        "podIPs": [{"ip": "10.8.0.5"}],
        "startTime": ts(7195),
        "qosClass": "Burstable",
        "containerStatuses": statuses or [],
    }
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec, "status": status}


def event(
    p: dict[str, Any],
    reason: str,
    message: str,
    type_: str = "Warning",
    container_name: str | None = None,
    count: int = 1,
    last_ago: float = 30,
    first_ago: float = 600,
    init: bool = False,
    name: str | None = None,
) -> dict[str, Any]:
    """A core v1 Event as the kubelet posts it about a pod (or one of its containers)."""
    md = p["metadata"]
    involved: dict[str, Any] = {
        "kind": "Pod", "namespace": md["namespace"], "name": md["name"], "uid": md["uid"],
        "apiVersion": "v1", "resourceVersion": "48213901",
    }
    if container_name:
        kind = "initContainers" if init else "containers"
        involved["fieldPath"] = f"spec.{kind}{{{container_name}}}"
    name = name or f"{md['name']}.{hashlib.sha1((reason + message).encode()).hexdigest()[:16]}"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": md["namespace"], "uid": uid(name),
                     "resourceVersion": "48214002", "creationTimestamp": ts(first_ago)},
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "source": {"component": "kubelet", "host": NODE},
        "firstTimestamp": ts(first_ago),
        "lastTimestamp": ts(last_ago),
        "count": count,
        "type": type_,
        "eventTime": None,
        "reportingComponent": "kubelet",
        "reportingInstance": NODE,
    }


def replicaset(name: str, deployment: str, revision: int, containers: list[dict[str, Any]],
               namespace: str = "shop", replicas: int = 1, available: int = 1,
               ) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name, "namespace": namespace, "uid": uid(name),
            "creationTimestamp": ts(86400 - revision * 3600),
            "annotations": {
                "deployment.kubernetes.io/desired-replicas": str(replicas),
                "deployment.kubernetes.io/max-replicas": str(replicas + 1),
                "deployment.kubernetes.io/revision": str(revision),
            },
            "labels": {"app": deployment, "pod-template-hash": name.rsplit("-", 1)[-1]},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                 "name": deployment, "uid": uid(deployment),
                                 "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": deployment}},
            "template": {"metadata": {"labels": {"app": deployment}},
                         "spec": {"containers": copy.deepcopy(containers)}},
        },
        "status": {"replicas": replicas, "fullyLabeledReplicas": replicas,
                   "readyReplicas": available, "availableReplicas": available,
                   "observedGeneration": 2},
    }


def deployment(name: str, containers: list[dict[str, Any]], revision: int,
               namespace: str = "shop", replicas: int = 1, available: int = 1,
               stalled: bool = False) -> dict[str, Any]:
    conditions = [
        {"type": "Available", "status": "True" if available else "False",
         "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
         "message": "Deployment has minimum availability.", "lastUpdateTime": ts(3000),
         "lastTransitionTime": ts(3000)},
        {"type": "Progressing", "status": "False" if stalled else "True",
         "reason": "ProgressDeadlineExceeded" if stalled else "ReplicaSetUpdated",
         "message": f'ReplicaSet "{name}" has timed out progressing.' if stalled
         else f'ReplicaSet "{name}" is progressing.',
         "lastUpdateTime": ts(60), "lastTransitionTime": ts(60)},
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "uid": uid(name), "generation": 4,
                     "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                     "creationTimestamp": ts(86400)},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "strategy": {"type": "RollingUpdate",
                              "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": copy.deepcopy(containers)}}},
        "status": {"observedGeneration": 4, "replicas": replicas + 1, "updatedReplicas": 1,
                   "readyReplicas": available, "availableReplicas": available,
                   "unavailableReplicas": 1, "conditions": conditions},
    }


def vpa(name: str, target: tuple[str, str], container_name: str, target_memory: str,
        namespace: str = "shop", min_allowed: str | None = None) -> dict[str, Any]:
    policy: dict[str, Any] = {"containerName": container_name}
    if min_allowed:
        policy["minAllowed"] = {"memory": min_allowed}
    return {
        "apiVersion": "autoscaling.k8s.io/v1",
        "kind": "VerticalPodAutoscaler",
        "metadata": {"name": name, "namespace": namespace, "uid": uid(name)},
        "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": target[0], "name": target[1]},
                 "updatePolicy": {"updateMode": "Recreate"},
                 "resourcePolicy": {"containerPolicies": [policy]}},
        "status": {"recommendation": {"containerRecommendations": [{
            "containerName": container_name,
            "lowerBound": {"cpu": "10m", "memory": target_memory},
            "target": {"cpu": "11m", "memory": target_memory},
            "uncappedTarget": {"cpu": "11m", "memory": target_memory},
            "upperBound": {"cpu": "100m", "memory": target_memory},
        }]}, "conditions": [{"type": "RecommendationProvided", "status": "True",
                              "lastTransitionTime": ts(86000)}]},
    }


def named(kind: str, name: str, namespace: str = "shop") -> dict[str, Any]:
    """A ConfigMap or Secret as a snapshot carries it: metadata only, no data."""
    return {"apiVersion": "v1", "kind": kind,
            "metadata": {"name": name, "namespace": namespace, "uid": uid(name)}}
