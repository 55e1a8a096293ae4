"""The operator's memory: failing pods, their recent events and their owners.

Healthy pods are never kept: a pod enters when it stops being "quiet" (all containers
running, ready, never restarted) and leaves when it is quiet again or deleted. Owners
(ReplicaSets, Deployments, ...) are kept trimmed to what a diagnosis reads.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from typing import Any

from crashwatch.diagnosis.engine import is_quiet_status
from crashwatch.diagnosis.view import as_dict, as_list, as_str, controller_ref, meta
from crashwatch.settings import WatchSettings

Key = tuple[str, str]
OWNER_KINDS = ("ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob",
               "VerticalPodAutoscaler")
#: Event reasons a diagnosis reads; all others are not kept.
EVENT_REASONS = frozenset({"Failed", "BackOff", "Unhealthy", "Killing", "FailedMount",
                           "InspectFailed", "ErrImageNeverPull", "FailedPostStartHook",
                           "FailedPreStopHook"})
_POD_META = ("name", "namespace", "uid", "labels", "ownerReferences", "creationTimestamp",
             "deletionTimestamp", "resourceVersion")
_KEPT_ANNOTATIONS = ("vpaUpdates", "vpaObservedContainers")


def is_quiet(pod: Mapping[str, Any]) -> bool:
    """Running, every container ready and never restarted: nothing to diagnose."""
    return is_quiet_status(as_dict(pod.get("status")))


def trim_pod(pod: Mapping[str, Any]) -> dict[str, Any]:
    md = meta(pod)
    kept_meta: dict[str, Any] = {k: md[k] for k in _POD_META if k in md}
    ann = as_dict(md.get("annotations"))
    kept_meta["annotations"] = {k: ann[k] for k in ann if k in _KEPT_ANNOTATIONS
                                or k.startswith("crashwatch.dev/")}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": kept_meta,
            "spec": dict(as_dict(pod.get("spec"))), "status": dict(as_dict(pod.get("status")))}


def trim_owner(kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    md = meta(obj)
    spec = as_dict(obj.get("spec"))
    kept_spec: dict[str, Any] = {}
    if "template" in spec:
        template = as_dict(spec["template"])
        kept_spec["template"] = {
            "metadata": {"labels": as_dict(as_dict(template.get("metadata")).get("labels"))},
            "spec": as_dict(template.get("spec")),
        }
    for k in ("targetRef", "resourcePolicy", "updatePolicy", "strategy", "replicas"):
        if k in spec:
            kept_spec[k] = spec[k]
    status = as_dict(obj.get("status"))
    kept_status = {k: status[k] for k in ("availableReplicas", "readyReplicas", "replicas",
                                          "conditions", "recommendation") if k in status}
    return {
        "apiVersion": as_str(obj.get("apiVersion")),
        "kind": kind,
        "metadata": {k: md[k] for k in ("name", "namespace", "uid", "annotations", "labels",
                                        "ownerReferences", "generation") if k in md},
        "spec": kept_spec,
        "status": kept_status,
    }


class Store:
    def __init__(self, settings: WatchSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.pods: dict[Key, dict[str, Any]] = {}
        self.events: dict[Key, deque[tuple[float, dict[str, Any]]]] = {}
        self.owners: dict[str, dict[Key, dict[str, Any]]] = {k: {} for k in OWNER_KINDS}
        self._rs_by_deployment: dict[Key, set[str]] = defaultdict(set)

    # -- pods ------------------------------------------------------------------------
    def upsert_pod(self, pod: Mapping[str, Any]) -> bool:
        """Keep a failing pod; forget a quiet one. True when the pod is (now) kept."""
        key = (as_str(meta(pod).get("namespace")), as_str(meta(pod).get("name")))
        if is_quiet(pod):
            self.pods.pop(key, None)
            return False
        self.pods[key] = trim_pod(pod)
        return True

    def delete_pod(self, key: Key) -> None:
        self.pods.pop(key, None)
        self.events.pop(key, None)

    # -- events ----------------------------------------------------------------------
    def add_event(self, ev: Mapping[str, Any]) -> Key | None:
        """Keep a pod's event a diagnosis may read; returns the pod's key, or None."""
        involved = as_dict(ev.get("involvedObject") or ev.get("regarding"))
        if involved.get("kind") != "Pod" or ev.get("reason") not in EVENT_REASONS:
            return None
        key = (as_str(involved.get("namespace")) or as_str(meta(ev).get("namespace")),
               as_str(involved.get("name")))
        if not key[1]:
            return None
        queue = self.events.setdefault(key, deque(maxlen=self.settings.max_events_per_pod))
        uid = as_str(meta(ev).get("uid")) or as_str(meta(ev).get("name"))
        for i, (_, old) in enumerate(queue):  # an updated event (count+1) replaces itself
            if (as_str(meta(old).get("uid")) or as_str(meta(old).get("name"))) == uid:
                del queue[i]
                break
        queue.append((self.clock(), dict(ev)))
        return key

    # -- owners ----------------------------------------------------------------------
    def upsert_owner(self, kind: str, obj: Mapping[str, Any]) -> None:
        key = (as_str(meta(obj).get("namespace")), as_str(meta(obj).get("name")))
        self.owners[kind][key] = trim_owner(kind, obj)
        if kind == "ReplicaSet":
            ref = controller_ref(obj)
            if ref and ref[0] == "Deployment":
                self._rs_by_deployment[(key[0], ref[1])].add(key[1])

    def delete_owner(self, kind: str, key: Key) -> None:
        old = self.owners[kind].pop(key, None)
        if kind == "ReplicaSet" and old is not None:
            ref = controller_ref(old)
            if ref and ref[0] == "Deployment":
                self._rs_by_deployment[(key[0], ref[1])].discard(key[1])

    # -- what one diagnosis needs ------------------------------------------------------
    def objects_for(self, key: Key) -> list[dict[str, Any]]:
        """The pod, the failing pods of the same workload, their events, the workload's
        ReplicaSets, the workload itself and its VPAs."""
        pod = self.pods.get(key)
        if pod is None:
            return []
        ns = key[0]
        out: list[dict[str, Any]] = []
        deployment: str | None = None
        ref = controller_ref(pod)
        if ref and ref[0] == "ReplicaSet":
            rs = self.owners["ReplicaSet"].get((ns, ref[1]))
            parent = controller_ref(rs) if rs else None
            if parent and parent[0] == "Deployment":
                deployment = parent[1]
            elif rs:
                out.append(rs)
        elif ref:
            kind_table = self.owners.get(ref[0])
            owner = kind_table.get((ns, ref[1])) if kind_table is not None else None
            if owner:
                out.append(owner)
                parent = controller_ref(owner)
                if parent and parent[0] == "CronJob" and (ns, parent[1]) in self.owners["CronJob"]:
                    out.append(self.owners["CronJob"][(ns, parent[1])])
        siblings = [key]
        if deployment:
            dep = self.owners["Deployment"].get((ns, deployment))
            if dep:
                out.append(dep)
            rs_names = self._rs_by_deployment.get((ns, deployment), set())
            for name in rs_names:
                rs = self.owners["ReplicaSet"].get((ns, name))
                if rs:
                    out.append(rs)
            siblings = [k for k, p in self.pods.items()
                        if k[0] == ns and (controller_ref(p) or ("", ""))[1] in rs_names]
        elif ref:
            siblings = [k for k, p in self.pods.items() if k[0] == ns and controller_ref(p) == ref]
        for k in siblings:
            out.append(self.pods[k])
            out += [ev for _, ev in self.events.get(k, ())]
        top = ("Deployment", deployment) if deployment else ref
        if top:
            for vpa in self.owners["VerticalPodAutoscaler"].values():
                target = as_dict(as_dict(vpa.get("spec")).get("targetRef"))
                if meta(vpa).get("namespace") == ns and (target.get("kind"),
                                                          target.get("name")) == top:
                    out.append(vpa)
        return out

    def sweep(self) -> int:
        """Drop expired events; returns how many entries went."""
        cutoff = self.clock() - self.settings.event_ttl_seconds
        gone = 0
        for key in list(self.events):
            queue = self.events[key]
            while queue and queue[0][0] < cutoff:
                queue.popleft()
                gone += 1
            if not queue:
                del self.events[key]
        return gone

    def sizes(self) -> dict[str, int]:
        return {"pods": len(self.pods), "events": sum(len(q) for q in self.events.values()),
                **{k: len(v) for k, v in self.owners.items()}}


def pods_in(store: Store, namespace: str) -> list[dict[str, Any]]:
    return [p for (ns, _), p in store.pods.items() if ns == namespace]


__all__ = ["OWNER_KINDS", "Key", "Store", "as_list", "is_quiet", "pods_in"]
