"""Who owns a pod, and what its workload looked like in earlier revisions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crashwatch.diagnosis.view import (
    ClusterView,
    Obj,
    as_dict,
    as_int,
    as_list,
    as_str,
    controller_ref,
    meta,
)
from crashwatch.model import OwnerRef

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history"
#: Set in memory only, by the live operator, on a ReplicaSet it saw with available pods
#: (the most it saw): once a rollout has scaled it to 0, its status no longer says it worked.
#: Never written to the cluster; absent from a snapshot.
SEEN_AVAILABLE_ANNOTATION = "crashwatch.dev/seen-available"


def top_owner(view: ClusterView, pod: Obj) -> OwnerRef | None:
    """The controller at the top of the pod's chain: Deployment, not ReplicaSet."""
    ref = controller_ref(pod)
    if ref is None:
        return None
    kind, name = ref
    ns = as_str(meta(pod).get("namespace"))
    if kind == "ReplicaSet":
        rs = view.replicasets.get((ns, name))
        if rs is not None:
            parent = controller_ref(rs)
            return OwnerRef(*parent) if parent else OwnerRef(kind, name)
        # The ReplicaSet is not in the snapshot: the Deployment controller names it
        # "<deployment>-<pod-template-hash>" and labels the pod with that hash.
        pth = as_str(as_dict(meta(pod).get("labels")).get("pod-template-hash"))
        if pth and name.endswith("-" + pth):
            return OwnerRef("Deployment", name[: -len(pth) - 1])
        return OwnerRef(kind, name)
    if kind == "Job":
        job = view.jobs.get((ns, name))
        if job is not None:
            parent = controller_ref(job)
            if parent and parent[0] == "CronJob":
                return OwnerRef(*parent)
    return OwnerRef(kind, name)


def revision(rs: Obj) -> int:
    return as_int(as_dict(meta(rs).get("annotations")).get(REVISION_ANNOTATION), 0)


def available_replicas(rs: Obj) -> int:
    """Available pods of a ReplicaSet: now, or, scaled down since, the most the live
    operator saw (:data:`SEEN_AVAILABLE_ANNOTATION`)."""
    now = as_int(as_dict(rs.get("status")).get("availableReplicas"), 0)
    seen = as_int(as_dict(meta(rs).get("annotations")).get(SEEN_AVAILABLE_ANNOTATION), 0)
    return max(now, seen)


def revisions(rs: Obj) -> set[int]:
    """Every revision a ReplicaSet has been: its own and, when the Deployment controller
    reused it for a later revision (a rollback, or a template set back to an earlier one),
    the earlier ones it lists in ``deployment.kubernetes.io/revision-history``."""
    annotations = as_dict(meta(rs).get("annotations"))
    found = {revision(rs)}
    history = annotations.get(REVISION_HISTORY_ANNOTATION)
    if isinstance(history, str):
        found.update(as_int(part.strip(), 0) for part in history.split(",")[:64])
    return {r for r in found if r > 0}


def pod_template(obj: Obj) -> Mapping[str, Any]:
    return as_dict(as_dict(as_dict(obj.get("spec")).get("template")).get("spec"))


def all_containers(pod_spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        as_dict(c)
        for key in ("initContainers", "containers")
        for c in as_list(pod_spec.get(key))
    ]


def container_spec(pod_spec: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    for c in all_containers(pod_spec):
        if c.get("name") == name:
            return c
    return {}


def owning_replicaset(view: ClusterView, pod: Obj) -> Obj | None:
    ref = controller_ref(pod)
    if ref is None or ref[0] != "ReplicaSet":
        return None
    return view.replicasets.get((as_str(meta(pod).get("namespace")), ref[1]))


def workload(view: ClusterView, namespace: str, owner: OwnerRef | None) -> Obj | None:
    if owner is None:
        return None
    table = {
        "Deployment": view.deployments,
        "StatefulSet": view.statefulsets,
        "DaemonSet": view.daemonsets,
        "Job": view.jobs,
        "CronJob": view.cronjobs,
        "ReplicaSet": view.replicasets,
    }.get(owner.kind)
    return None if table is None else table.get((namespace, owner.name))
