"""The operator's memory of the cluster: failing pods, their recent events and the owners.

Healthy pods are never kept: a pod enters when it stops being "quiet" (all containers
running, ready, never restarted) and leaves when it is quiet again or deleted. Owners
(ReplicaSets, Deployments, ...) are kept trimmed to what a diagnosis reads. Every object
remembers when the watch last showed it, so that what a relist no longer shows can be
checked and forgotten.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from crashwatch.diagnosis.engine import is_quiet_status
from crashwatch.diagnosis.owners import SEEN_AVAILABLE_ANNOTATION, available_replicas, top_owner
from crashwatch.diagnosis.view import ClusterView, as_dict, as_str, controller_ref, meta
from crashwatch.model import OwnerRef
from crashwatch.settings import WatchSettings

Key = tuple[str, str]  # namespace, name
WorkloadKey = tuple[str, str, str]  # namespace, kind, name (a bare pod: "Pod", its name)
OWNER_KINDS = ("ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob",
               "VerticalPodAutoscaler")
#: Event reasons a diagnosis reads; all others are not kept.
EVENT_REASONS = frozenset({"Failed", "BackOff", "Unhealthy", "Killing", "FailedMount",
                           "FailedAttachVolume", "FailedScheduling", "InspectFailed",
                           "ErrImageNeverPull", "FailedPostStartHook", "FailedPreStopHook",
                           "FailedCreatePodSandBox", "Evicted", "OOMKilling"})
#: crashwatch's own publication on an object: its changes are not news about the object.
PUBLISHED_ANNOTATIONS = frozenset({"crashwatch.dev/reason", "crashwatch.dev/summary",
                                   "crashwatch.dev/evidence", "crashwatch.dev/since"})
_POD_META = ("name", "namespace", "uid", "labels", "ownerReferences", "creationTimestamp",
             "deletionTimestamp", "resourceVersion")
_OWNER_META = ("name", "namespace", "uid", "annotations", "labels", "ownerReferences",
               "generation", "resourceVersion", "creationTimestamp")
#: Who changed a workload's template (``managedFields``) is read only of these.
_MANAGED_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
_KEPT_ANNOTATIONS = ("vpaUpdates", "vpaObservedContainers")


def is_quiet(pod: Mapping[str, Any]) -> bool:
    """Running, every container ready and never restarted: nothing to diagnose."""
    return is_quiet_status(as_dict(pod.get("status")), as_dict(pod.get("spec")))


def published_annotations(obj: Mapping[str, Any]) -> dict[str, str]:
    """The ``crashwatch.dev/*`` publication an object carries."""
    ann = as_dict(meta(obj).get("annotations"))
    return {k: v for k, v in ann.items() if k in PUBLISHED_ANNOTATIONS and isinstance(v, str)}


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
    for k in ("targetRef", "resourcePolicy", "updatePolicy", "strategy", "replicas",
              "backoffLimit", "activeDeadlineSeconds", "jobTemplate", "selector", "suspend",
              "parallelism"):
        if k in spec:
            kept_spec[k] = spec[k]
    status = as_dict(obj.get("status"))
    kept_status = {k: status[k] for k in ("availableReplicas", "readyReplicas", "replicas",
                                          "conditions", "recommendation", "failed",
                                          "succeeded", "active", "startTime",
                                          "currentNumberScheduled", "desiredNumberScheduled")
                   if k in status}
    kept_meta = {k: md[k] for k in _OWNER_META if k in md}
    if kind in _MANAGED_KINDS and "managedFields" in md:
        kept_meta["managedFields"] = md["managedFields"]
    return {
        "apiVersion": as_str(obj.get("apiVersion")),
        "kind": kind,
        "metadata": kept_meta,
        "spec": kept_spec,
        "status": kept_status,
    }


#: What crashwatch writes on owners besides its publication: not news either.
_OWN_RECORDS = frozenset({"crashwatch.dev/history"})


def _news(trimmed: Mapping[str, Any]) -> tuple[Any, ...]:
    """What of a trimmed owner a diagnosis depends on: everything but crashwatch's own
    publication and the resourceVersion (so that crashwatch's writes are not news)."""
    md = as_dict(trimmed.get("metadata"))
    ann = {k: v for k, v in as_dict(md.get("annotations")).items()
           if k not in PUBLISHED_ANNOTATIONS and k not in _OWN_RECORDS}
    rest = {k: v for k, v in md.items()
            if k not in ("annotations", "resourceVersion", "managedFields")}
    return (rest, ann, trimmed.get("spec"), trimmed.get("status"))


def _carry_seen_available(trimmed: dict[str, Any], old: Mapping[str, Any] | None) -> None:
    """Remember on a ReplicaSet, in memory, the most available pods it was seen with: once a
    rollout scales it to 0, that is what tells a revision that worked from one that never
    did (rules/rollout.py). Never written back to the cluster."""
    seen = max(available_replicas(trimmed), available_replicas(old) if old else 0)
    if seen > 0:  # a new dict: the trimmed metadata shares the watched body's
        md = trimmed["metadata"]
        md["annotations"] = {**as_dict(md.get("annotations")), SEEN_AVAILABLE_ANNOTATION: str(seen)}


class Store:
    def __init__(self, settings: WatchSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.pods: dict[Key, dict[str, Any]] = {}
        self.events: dict[Key, deque[tuple[float, dict[str, Any]]]] = {}
        self.owners: dict[str, dict[Key, dict[str, Any]]] = {k: {} for k in OWNER_KINDS}
        self.seen: dict[tuple[str, str, str], float] = {}
        """(kind, namespace, name) -> when the watch last showed it (pods held, owners)."""
        self._rs_by_deployment: dict[Key, set[str]] = defaultdict(set)
        self._jobs_by_cronjob: dict[Key, set[str]] = defaultdict(set)

    # -- pods ------------------------------------------------------------------------
    def upsert_pod(self, pod: Mapping[str, Any], keep: bool = False) -> bool:
        """Keep a failing pod (or any, with ``keep``); forget a quiet one. True when the pod
        is (now) kept."""
        key = (as_str(meta(pod).get("namespace")), as_str(meta(pod).get("name")))
        if not keep and is_quiet(pod):
            self.delete_pod(key, events=False)
            return False
        self.pods[key] = trim_pod(pod)
        self.seen[("Pod", *key)] = self.clock()
        return True

    def delete_pod(self, key: Key, events: bool = True) -> None:
        self.pods.pop(key, None)
        self.seen.pop(("Pod", *key), None)
        if events:
            self.events.pop(key, None)

    def top_owner(self, pod: Mapping[str, Any]) -> OwnerRef | None:
        """The pod's top controller, as far as the owners held tell (the Deployment of its
        ReplicaSet; the CronJob of its Job)."""
        ref = controller_ref(pod)
        ns = as_str(meta(pod).get("namespace"))
        known: list[Mapping[str, Any]] = []
        if ref is not None and ref[0] in ("ReplicaSet", "Job"):
            owner = self.owners[ref[0]].get((ns, ref[1]))
            if owner is not None:
                known.append(owner)
        return top_owner(ClusterView(known), pod)

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

    def has_event(self, key: Key, reason: str) -> bool:
        return any(ev.get("reason") == reason for _, ev in self.events.get(key, ()))

    # -- owners ----------------------------------------------------------------------
    def upsert_owner(self, kind: str, obj: Mapping[str, Any]) -> bool:
        """Keep an owner; True when what a diagnosis reads of it changed (crashwatch's own
        annotations on it are not news)."""
        key = (as_str(meta(obj).get("namespace")), as_str(meta(obj).get("name")))
        trimmed = trim_owner(kind, obj)
        old = self.owners[kind].get(key)
        if kind == "ReplicaSet":
            _carry_seen_available(trimmed, old)
        self.owners[kind][key] = trimmed
        self.seen[(kind, *key)] = self.clock()
        ref = controller_ref(trimmed)
        if kind == "ReplicaSet" and ref and ref[0] == "Deployment":
            self._rs_by_deployment[(key[0], ref[1])].add(key[1])
        elif kind == "Job" and ref and ref[0] == "CronJob":
            self._jobs_by_cronjob[(key[0], ref[1])].add(key[1])
        return old is None or _news(old) != _news(trimmed)

    def delete_owner(self, kind: str, key: Key) -> None:
        old = self.owners[kind].pop(key, None)
        self.seen.pop((kind, *key), None)
        ref = controller_ref(old) if old is not None else None
        if kind == "ReplicaSet" and ref and ref[0] == "Deployment":
            self._rs_by_deployment[(key[0], ref[1])].discard(key[1])
        elif kind == "Job" and ref and ref[0] == "CronJob":
            self._jobs_by_cronjob[(key[0], ref[1])].discard(key[1])

    def jobs_of(self, namespace: str, cronjob: str) -> set[str]:
        """The names of a CronJob's Jobs held."""
        return set(self._jobs_by_cronjob.get((namespace, cronjob), ()))

    def owner(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        table = self.owners.get(kind)
        return table.get((namespace, name)) if table is not None else None

    # -- what one diagnosis needs ------------------------------------------------------
    def objects_for(self, workload: WorkloadKey, pods: Iterable[Key]) -> list[dict[str, Any]]:
        """Everything a diagnosis of one workload reads: its failing pods and their events,
        the workload, its ReplicaSets or Jobs, and its VPAs."""
        ns, kind, name = workload
        out: list[dict[str, Any]] = []
        top = self.owner(kind, ns, name)
        if top is not None:
            out.append(top)
        if kind == "Deployment":
            out += [rs for n in self._rs_by_deployment.get((ns, name), ())
                    if (rs := self.owners["ReplicaSet"].get((ns, n))) is not None]
        elif kind == "CronJob":
            out += [job for n in self._jobs_by_cronjob.get((ns, name), ())
                    if (job := self.owners["Job"].get((ns, n))) is not None]
        for key in pods:
            pod = self.pods.get(key)
            if pod is None:
                continue
            out.append(pod)
            out += [ev for _, ev in self.events.get(key, ())]
            ref = controller_ref(pod)  # a ReplicaSet or Job not reached from the top
            if ref is not None and ref[0] in ("ReplicaSet", "Job") and (ref[0], ref[1]) != (
                    kind, name):
                owner = self.owners[ref[0]].get((ns, ref[1]))
                if owner is not None and owner not in out:
                    out.append(owner)
        if kind != "Pod":
            for vpa in self.owners["VerticalPodAutoscaler"].values():
                target = as_dict(as_dict(vpa.get("spec")).get("targetRef"))
                if meta(vpa).get("namespace") == ns and (target.get("kind"),
                                                          target.get("name")) == (kind, name):
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


__all__ = ["OWNER_KINDS", "Key", "Store", "WorkloadKey", "is_quiet", "published_annotations"]
