"""An indexed, read-only view of the objects a diagnosis needs.

Objects arrive as plain dicts exactly as the API server returns them (a
``kubectl get -o json`` dump or a watch stream). Nothing here raises on a
malformed object: unknown shapes are skipped, missing fields read as empty.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crashwatch.diagnosis.logread import cap_line
from crashwatch.model import Reason

#: Events crashwatch itself posts carry this component; they are never evidence.
OWN_COMPONENT = "crashwatch"

#: Kinds a snapshot may hold that only some findings read, by the reasons whose rules read
#: them (for evidence: a similarly named ConfigMap, the node's architecture, the largest
#: node, the claim's state; never to choose a reason). A live read fetches them only when
#: a finding has one of these reasons (``crashwatch.kube.snapshot``); the test of this map
#: diagnoses every evaluation case with and without them.
SUPPORTING_KINDS: Mapping[str, frozenset[Reason]] = {
    "Node": frozenset({Reason.UNSCHEDULABLE, Reason.EXEC_FORMAT_ERROR}),
    "PersistentVolumeClaim": frozenset({Reason.UNSCHEDULABLE}),
    "PersistentVolume": frozenset({Reason.VOLUME_MOUNT_FAILED}),
    "StorageClass": frozenset({Reason.UNSCHEDULABLE}),
    "ConfigMap": frozenset({Reason.MISSING_CONFIGMAP}),
    "Secret": frozenset({Reason.MISSING_SECRET}),
}

Obj = Mapping[str, Any]


_EMPTY: Mapping[str, Any] = {}


def as_dict(value: object) -> Mapping[str, Any]:
    """The value if it is a mapping, else an empty one (malformed input reads as empty)."""
    if type(value) is dict:  # the common case, without the slow ABC check
        return value
    return value if isinstance(value, Mapping) else _EMPTY


def as_list(value: object) -> list[Any]:
    return value if type(value) is list or isinstance(value, list) else []


def as_str(value: object) -> str:
    return value if type(value) is str or isinstance(value, str) else ""


#: The longest message read from an object (the kubelet cuts a termination message at
#: 4096 bytes; anything longer in a snapshot is cut the same way, head and tail kept).
MAX_MESSAGE_CHARS = 4096


def as_text(value: object, limit: int = MAX_MESSAGE_CHARS) -> str:
    """A message field: the string, bounded (its head and tail), or empty."""
    text = as_str(value)
    return cap_line(text, limit) if len(text) > limit else text


def as_int(value: object, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return default
    return default


def parse_time(value: object) -> float | None:
    """RFC 3339 (``2024-05-01T10:00:00Z``, with or without fraction) to epoch seconds."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def meta(obj: Obj) -> Mapping[str, Any]:
    return as_dict(obj.get("metadata"))


def name_of(obj: Obj) -> str:
    return as_str(meta(obj).get("name"))


def namespace_of(obj: Obj) -> str:
    return as_str(meta(obj).get("namespace"))


def controller_ref(obj: Obj) -> tuple[str, str] | None:
    """The (kind, name) of the object's controlling owner, if it has one."""
    refs = as_list(meta(obj).get("ownerReferences"))
    if not refs:
        return None
    fallback = None
    for raw in refs:
        ref = as_dict(raw)
        kind, name = as_str(ref.get("kind")), as_str(ref.get("name"))
        if not (kind and name):
            continue
        if ref.get("controller") is True:
            return kind, name
        fallback = fallback or (kind, name)  # hand-written references often omit it
    return fallback


@dataclass(frozen=True, slots=True)
class Event:
    """A core ``v1`` or ``events.k8s.io/v1`` Event, normalised to one shape."""

    namespace: str
    kind: str
    name: str
    uid: str
    field_path: str
    reason: str
    type: str
    message: str
    count: int
    first: float | None
    last: float | None
    component: str

    @property
    def container(self) -> str | None:
        """The container named by ``fieldPath`` (``spec.containers{NAME}``), if any."""
        path = self.field_path
        start = path.find("{")
        if start < 0 or not path.endswith("}"):
            return None
        return path[start + 1 : -1] or None


def normalise_event(obj: Obj, own: bool = False) -> Event | None:
    """Read either Event API's shape; None for unusable events, and for crashwatch's own
    (or, with ``own``, for everyone else's: crashwatch's own Events are history, never
    evidence)."""
    api = as_str(obj.get("apiVersion"))
    if api.startswith("events.k8s.io"):
        involved = as_dict(obj.get("regarding"))
        message = as_text(obj.get("note"))
        series = as_dict(obj.get("series"))
        count = as_int(series.get("count")) or as_int(obj.get("deprecatedCount"), 1)
        first = parse_time(obj.get("deprecatedFirstTimestamp")) or parse_time(obj.get("eventTime"))
        last = (
            parse_time(series.get("lastObservedTime"))
            or parse_time(obj.get("deprecatedLastTimestamp"))
            or parse_time(obj.get("eventTime"))
        )
        component = as_str(obj.get("reportingController")) or as_str(
            as_dict(obj.get("deprecatedSource")).get("component")
        )
    else:
        involved = as_dict(obj.get("involvedObject"))
        message = as_text(obj.get("message"))
        series = as_dict(obj.get("series"))
        count = as_int(obj.get("count"), 0) or as_int(series.get("count"), 1) or 1
        first = parse_time(obj.get("firstTimestamp")) or parse_time(obj.get("eventTime"))
        last = (
            parse_time(obj.get("lastTimestamp"))
            or parse_time(series.get("lastObservedTime"))
            or parse_time(obj.get("eventTime"))
            or first
        )
        component = as_str(as_dict(obj.get("source")).get("component")) or as_str(
            obj.get("reportingComponent")
        )
    if (component.startswith(OWN_COMPONENT) or component.endswith("/" + OWN_COMPONENT)) != own:
        return None
    name = as_str(involved.get("name"))
    if not name:
        return None
    namespace = as_str(involved.get("namespace")) or namespace_of(obj)
    return Event(
        namespace=namespace,
        kind=as_str(involved.get("kind")),
        name=name,
        uid=as_str(involved.get("uid")),
        field_path=as_str(involved.get("fieldPath")),
        reason=as_str(obj.get("reason")),
        type=as_str(obj.get("type")),
        message=message,
        count=max(count, 1),
        first=first,
        last=last if last is not None else first,
        component=component,
    )


def _is_event(obj: Obj) -> bool:
    return obj.get("kind") == "Event"


class _Clock:
    """The newest timestamp seen. Kubernetes writes UTC ``...Z`` times, which order as
    strings: those are compared as strings and only the newest is parsed."""

    __slots__ = ("newest_other", "newest_z")

    def __init__(self) -> None:
        self.newest_z = ""
        self.newest_other: float | None = None

    def see(self, value: object) -> None:
        if type(value) is not str or not value:
            return
        if value[-1] == "Z" and value[4:5] == "-" and value[10:11] == "T":
            self.newest_z = max(self.newest_z, value)
            return
        t = parse_time(value)
        if t is not None and (self.newest_other is None or t > self.newest_other):
            self.newest_other = t

    def see_time(self, t: float | None) -> None:
        if t is not None and (self.newest_other is None or t > self.newest_other):
            self.newest_other = t

    def now(self) -> float | None:
        z = parse_time(self.newest_z)
        if z is None:
            return self.newest_other
        return z if self.newest_other is None else max(z, self.newest_other)


def _see_pod_times(clock: _Clock, obj: Obj) -> None:
    """Timestamps in a pod's status and metadata: they tell a snapshot's own time."""
    clock.see(meta(obj).get("creationTimestamp"))
    status = as_dict(obj.get("status"))
    for cond in as_list(status.get("conditions")):
        clock.see(as_dict(cond).get("lastTransitionTime"))
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in as_list(status.get(key)):
            cs = as_dict(cs)
            for state_key in ("state", "lastState"):
                for st in as_dict(cs.get(state_key)).values():
                    st = as_dict(st)
                    clock.see(st.get("startedAt"))
                    clock.see(st.get("finishedAt"))


class ClusterView:
    """Objects grouped by kind and indexed by namespace and name.

    Only what a diagnosis reads is kept: pods, events, the owners' revision
    history, autoscalers, the names of ConfigMaps and Secrets, and (when a snapshot has
    them) Nodes, PersistentVolumeClaims, PersistentVolumes, StorageClasses and
    LimitRanges.
    """

    def __init__(
        self,
        objects: Iterable[object],
        now: float | None = None,
        stable_after: float = 600.0,
    ) -> None:
        self.pods: list[Obj] = []
        self.replicasets: dict[tuple[str, str], Obj] = {}
        self.deployments: dict[tuple[str, str], Obj] = {}
        self.statefulsets: dict[tuple[str, str], Obj] = {}
        self.daemonsets: dict[tuple[str, str], Obj] = {}
        self.jobs: dict[tuple[str, str], Obj] = {}
        self.cronjobs: dict[tuple[str, str], Obj] = {}
        self.vpas: list[Obj] = []
        self.nodes: dict[str, Obj] = {}
        self.pvcs: dict[tuple[str, str], Obj] = {}
        self.pvs: dict[str, Obj] = {}
        self.storageclasses: dict[str, Obj] = {}
        self.limitranges: dict[str, list[Obj]] = defaultdict(list)
        self.configmaps: dict[str, set[str]] = defaultdict(set)
        self.secrets: dict[str, set[str]] = defaultdict(set)
        self._raw_events: dict[tuple[str, str, str], list[Obj]] = defaultdict(list)
        self._events: dict[tuple[str, str, str], list[Event]] = {}
        self._rs_by_deployment: dict[tuple[str, str], list[Obj]] = defaultdict(list)
        self._pods_by_controller: dict[tuple[str, str, str], list[Obj]] = defaultdict(list)
        clock = _Clock()
        for raw in objects:
            if not isinstance(raw, Mapping):
                continue
            kind = raw.get("kind")
            key = (namespace_of(raw), name_of(raw))
            if kind == "Pod":
                self.pods.append(raw)
                _see_pod_times(clock, raw)
            elif _is_event(raw):
                # Indexed raw; normalised only for the pods a diagnosis looks at.
                involved = as_dict(raw.get("regarding") or raw.get("involvedObject"))
                self._raw_events[(
                    as_str(involved.get("namespace")) or key[0],
                    as_str(involved.get("kind")),
                    as_str(involved.get("name")),
                )].append(raw)
                for field_name in ("lastTimestamp", "deprecatedLastTimestamp", "eventTime"):
                    clock.see(raw.get(field_name))
                clock.see(as_dict(raw.get("series")).get("lastObservedTime"))
            elif kind == "ReplicaSet":
                self.replicasets[key] = raw
            elif kind == "Deployment":
                self.deployments[key] = raw
            elif kind == "StatefulSet":
                self.statefulsets[key] = raw
            elif kind == "DaemonSet":
                self.daemonsets[key] = raw
            elif kind == "Job":
                self.jobs[key] = raw
            elif kind == "CronJob":
                self.cronjobs[key] = raw
            elif kind == "VerticalPodAutoscaler":
                self.vpas.append(raw)
            elif kind == "Node":
                self.nodes[key[1]] = raw
            elif kind == "PersistentVolumeClaim":
                self.pvcs[key] = raw
            elif kind == "PersistentVolume":
                self.pvs[key[1]] = raw
            elif kind == "StorageClass":
                self.storageclasses[key[1]] = raw
            elif kind == "LimitRange":
                self.limitranges[key[0]].append(raw)
            elif kind == "ConfigMap":
                self.configmaps[key[0]].add(key[1])
            elif kind == "Secret":
                self.secrets[key[0]].add(key[1])
        for (ns, _), rs in self.replicasets.items():
            for ref in as_list(meta(rs).get("ownerReferences")):
                ref = as_dict(ref)
                if ref.get("kind") == "Deployment" and ref.get("controller", True):
                    self._rs_by_deployment[(ns, as_str(ref.get("name")))].append(rs)
        for pod in self.pods:
            ref = controller_ref(pod)
            if ref is not None:
                self._pods_by_controller[(namespace_of(pod), *ref)].append(pod)
        self.stable_after = stable_after
        """A container that crashed, then ran and was ready this long, has recovered."""
        self.now: float | None = now if now is not None else clock.now()
        """The time the objects are judged at: the caller's clock (the live operator), else
        the snapshot's own newest timestamp (None when it has none)."""
        self.clock_given = now is not None
        """Whether :attr:`now` is a clock's (the operator's, the API server's) rather than the
        snapshot's newest timestamp: a snapshot says when things last changed, not how long
        nothing has changed since (an init container that loops writes no new status)."""

    def events_for(self, namespace: str, kind: str, name: str, uid: str = "") -> list[Event]:
        """Events about one object, oldest first; events about a namesake with another uid
        (a StatefulSet pod re-created under the same name) are left out."""
        key = (namespace, kind, name)
        normalised = self._events.get(key)
        if normalised is None:
            normalised = [
                ev for ev in map(normalise_event, self._raw_events.get(key, ())) if ev is not None
            ]
            self._events[key] = normalised
        found = [ev for ev in normalised if not (uid and ev.uid and ev.uid != uid)]
        found.sort(key=lambda ev: ev.last or 0.0)
        return found

    def own_events_for(self, namespace: str, kind: str, name: str) -> list[Event]:
        """The Events crashwatch itself posted about an object (reason = a reason code),
        oldest first: what it said before now."""
        found = [ev for ev in (normalise_event(raw, own=True)
                               for raw in self._raw_events.get((namespace, kind, name), ()))
                 if ev is not None]
        found.sort(key=lambda ev: ev.first or ev.last or 0.0)
        return found

    def pods_of(self, namespace: str, kind: str, name: str) -> list[Obj]:
        """Pods whose controller is the named object."""
        return self._pods_by_controller.get((namespace, kind, name), [])

    def replicasets_of(self, namespace: str, deployment: str) -> list[Obj]:
        return self._rs_by_deployment.get((namespace, deployment), [])

    def vpas_for(self, namespace: str, kind: str, name: str) -> list[Obj]:
        found = []
        for vpa in self.vpas:
            if namespace_of(vpa) != namespace:
                continue
            ref = as_dict(as_dict(vpa.get("spec")).get("targetRef"))
            if ref.get("kind") == kind and ref.get("name") == name:
                found.append(vpa)
        return found

    def is_recent(self, t: float | None, window: float) -> bool:
        """True when ``t`` lies within ``window`` seconds of the snapshot's time
        (or when there is no clock to judge by)."""
        if t is None or self.now is None:
            return True
        return self.now - t <= window
