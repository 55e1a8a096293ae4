"""Pod-level failures that are not about one container (``container`` null): node-pressure
eviction, a pod the scheduler cannot place, a volume that cannot be attached or mounted."""

from __future__ import annotations

from decimal import Decimal

from crashwatch.diagnosis import rx
from crashwatch.diagnosis.context import event_line, pod_finding
from crashwatch.diagnosis.owners import all_containers
from crashwatch.diagnosis.view import (
    ClusterView,
    Event,
    Obj,
    as_dict,
    as_list,
    as_str,
    as_text,
    meta,
    parse_time,
)
from crashwatch.model import Confidence, Finding, OwnerRef, Reason
from crashwatch.quantity import parse_quantity

_RESOURCE = rx.compile(r"low on resource: (?P<resource>[\w.-]+)")
_CONDITION = rx.compile(r"node had condition: \[(?P<condition>\w+)\]")
_USAGE = rx.compile(
    r"Container (?P<container>\S+) was using (?P<usage>\S+?),? "
    r"(?:request is (?P<request>[^,.\s]+)|which exceeds its request of (?P<request2>[^,.\s]+))"
)
_EPHEMERAL = rx.compile(r"(?i)ephemeral local storage usage exceeds")


def diagnose_eviction(view: ClusterView, pod: Obj, owner: OwnerRef | None) -> Finding | None:
    status = as_dict(pod.get("status"))
    if as_str(status.get("reason")) != "Evicted":
        return None
    message = as_text(status.get("message"))
    details: dict[str, object] = {}
    m = _RESOURCE.search(message)
    if m:
        details["resource"] = m["resource"].rstrip(".")
    elif _EPHEMERAL.search(message):
        details["resource"] = "ephemeral-storage"
    else:
        c = _CONDITION.search(message)
        if c:
            details["condition"] = c["condition"]
    users = [
        {"container": u["container"], "usage": u["usage"], "request": u["request"] or u["request2"]}
        for u in _USAGE.finditer(message)
    ]
    if users:
        details["containers"] = users
    evidence = [f"status: phase={as_str(status.get('phase'))} reason=Evicted message={message!r}"]
    for cond in as_list(status.get("conditions")):
        cond = as_dict(cond)
        if cond.get("type") == "DisruptionTarget":
            evidence.append(
                f"condition DisruptionTarget={cond.get('status')} reason={cond.get('reason')}"
            )
    node = as_str(as_dict(pod.get("spec")).get("nodeName"))
    if node:
        details["node"] = node
    resource = details.get("resource") or details.get("condition") or "a resource"
    summary = f"Pod was evicted from node {node or '?'} because the node ran low on {resource}"
    if users:
        u = users[0]
        summary += (
            f"; container {u['container']} used {u['usage']} "
            f"against a request of {u['request']}"
        )
    return pod_finding(
        pod, owner, Reason.EVICTED, summary + ".", evidence,
        remediation={"action": "raise-request", "resource": details.get("resource")}
        if users else None,
        details=details,
    )


# --- scheduling ----------------------------------------------------------------------

_SCHED_REASONS = rx.compile(r"nodes are available: (?P<reasons>[^\n]*?)(?:\. preemption:|\.?$)")
_TAINT = rx.compile(r"untolerated taint(?:s\(\d+\))? \{(?P<taint>[^}]*)\}")
_INSUFFICIENT = rx.compile(r"Insufficient (?P<resource>[\w/-]+(?:\.[\w/-]+)*)")
_PVC_MISSING = rx.compile(r'persistentvolumeclaim "(?P<name>[^"]+)" not found')
#: How recent a FailedScheduling or FailedMount Event must be to count.
POD_EVENT_WINDOW = 3600.0


def _recent(view: ClusterView, events: list[Event], *reasons: str) -> list[Event]:
    return [ev for ev in events if ev.reason in reasons and ev.container is None
            and view.is_recent(ev.last, POD_EVENT_WINDOW)]


def _requests(pod: Obj, resource: str) -> Decimal:
    total = Decimal(0)
    for c in as_list(as_dict(pod.get("spec")).get("containers")):
        value = parse_quantity(as_dict(as_dict(as_dict(c).get("resources")).get("requests"))
                               .get(resource))
        total += value or 0
    return total


def _largest_allocatable(view: ClusterView, resource: str) -> tuple[str, str] | None:
    best: tuple[Decimal, str, str] | None = None
    for name, node in view.nodes.items():
        raw = as_dict(as_dict(node.get("status")).get("allocatable")).get(resource)
        value = parse_quantity(raw)
        if value is not None and (best is None or value > best[0]):
            best = (value, name, str(raw))
    return (best[1], best[2]) if best else None


def _pvc_lines(view: ClusterView, pod: Obj) -> tuple[list[str], list[str]]:
    """(evidence, names) about the pod's PersistentVolumeClaims that are not Bound."""
    ns = as_str(meta(pod).get("namespace"))
    lines, names = [], []
    for vol in as_list(as_dict(pod.get("spec")).get("volumes")):
        claim = as_str(as_dict(as_dict(vol).get("persistentVolumeClaim")).get("claimName"))
        if not claim:
            continue
        pvc = view.pvcs.get((ns, claim))
        if pvc is None:
            if view.pvcs:
                lines.append(f"PersistentVolumeClaim {claim} does not exist")
                names.append(claim)
            continue
        phase = as_str(as_dict(pvc.get("status")).get("phase"))
        if phase == "Bound":
            continue
        names.append(claim)
        sc = as_str(as_dict(pvc.get("spec")).get("storageClassName"))
        line = f"PersistentVolumeClaim {claim} is {phase or 'not bound'}"
        if sc:
            line += f" (storageClass {sc}" + (
                ", which does not exist)" if view.storageclasses and sc not in view.storageclasses
                else ")")
        lines.append(line)
    return lines, names


def diagnose_unschedulable(view: ClusterView, pod: Obj, owner: OwnerRef | None,
                           events: list[Event]) -> Finding | None:
    """A pending pod the scheduler cannot place: ``PodScheduled=False`` (Unschedulable) or
    a recent ``FailedScheduling`` Event; evidence is the scheduler's reason."""
    status = as_dict(pod.get("status"))
    if as_str(status.get("phase")) not in ("Pending", "") or as_str(
            as_dict(pod.get("spec")).get("nodeName")):
        return None
    cond = next((as_dict(c) for c in as_list(status.get("conditions"))
                 if as_dict(c).get("type") == "PodScheduled"), {})
    failed = _recent(view, events, "FailedScheduling")
    unschedulable = cond.get("status") == "False" and cond.get("reason") == "Unschedulable"
    if not unschedulable and not failed:
        return None
    message = (failed[-1].message if failed else "") or as_text(cond.get("message"))
    evidence = []
    if unschedulable:
        evidence.append(f"condition PodScheduled=False reason=Unschedulable: "
                        f"{as_text(cond.get('message'))}")
    if failed:
        evidence.append(event_line(failed[-1]))
    m = _SCHED_REASONS.search(message)
    reasons = [r.strip() for r in m["reasons"].split(", ")] if m else []
    details: dict[str, object] = {"message": message, "schedulerReasons": reasons}
    specifics: list[str] = []
    for found in _INSUFFICIENT.finditer(message):
        resource = found["resource"]
        wanted = _requests(pod, resource)
        line = f"the pod requests {resource} " + (
            f"{wanted:g}" if resource == "cpu" else _human_bytes(wanted) if wanted else "?")
        largest = _largest_allocatable(view, resource)
        if largest:
            line += f"; the largest node ({largest[0]}) allocates {largest[1]}"
        specifics.append(line)
    taint = _TAINT.search(message)
    if taint:
        details["taint"] = taint["taint"]
        tolerations = as_list(as_dict(pod.get("spec")).get("tolerations"))
        specifics.append(f"untolerated taint {{{taint['taint']}}}; the pod tolerates "
                         f"{len(tolerations)} taint(s)")
    if "node affinity/selector" in message or "node selector" in message:
        selector = as_dict(as_dict(pod.get("spec")).get("nodeSelector"))
        if selector:
            specifics.append(f"nodeSelector: {dict(sorted(selector.items()))}")
    if "free ports" in message:
        ports = _host_ports(pod)
        if ports:
            details["hostPorts"] = ports
            specifics.append(f"the pod asks for host port(s) {', '.join(ports)}: another pod "
                             "on the node (or the node itself) holds them")
    if "PersistentVolumeClaim" in message or "persistentvolumeclaim" in message:
        lines, names = _pvc_lines(view, pod)
        specifics += lines
        missing = _PVC_MISSING.search(message)
        if missing and missing["name"] not in names:
            names.append(missing["name"])
        if names:
            details["persistentVolumeClaims"] = names
    evidence += specifics
    gist = ", ".join(reasons) if reasons else message
    summary = f"Pod cannot be scheduled: {gist}" + (f" ({specifics[0]})" if specifics else "")
    return pod_finding(
        pod, owner, Reason.UNSCHEDULABLE, summary + ".", evidence,
        remediation={"action": "make-schedulable", "reasons": reasons},
        details=details,
        confidence=Confidence.HIGH if unschedulable else Confidence.MEDIUM,
    )


def _host_ports(pod: Obj) -> list[str]:
    """The host ports a pod's containers ask for (``8123/TCP``): what the scheduler's
    ``didn't have free ports for the requested pod ports`` is about. With
    ``hostNetwork``, every container port is a host port."""
    spec = as_dict(pod.get("spec"))
    host_network = spec.get("hostNetwork") is True
    out: list[str] = []
    for c in as_list(spec.get("initContainers")) + as_list(spec.get("containers")):
        for port in as_list(as_dict(c).get("ports")):
            p = as_dict(port)
            number = p.get("hostPort") or (p.get("containerPort") if host_network else None)
            if isinstance(number, int) and not isinstance(number, bool):
                text = f"{number}/{as_str(p.get('protocol')) or 'TCP'}"
                if text not in out:
                    out.append(text)
    return out


def _human_bytes(value: Decimal) -> str:
    for unit, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if value >= size:
            return f"{float(value / size):g}{unit}"
    return f"{float(value):g}"


# --- volumes -------------------------------------------------------------------------

_VOLUME_NAMED = rx.compile(r'for volume "(?P<volume>[^"]+)"|unmounted volumes=\[(?P<list>[^\]]*)\]')
_CONFIG_OBJECT = rx.compile(r'(?i)\b(?:configmaps?|secrets?) "[^"]+" not found|references '
                            r"non-existent (?:config|secret) key")
STUCK_WAITING = frozenset({"ContainerCreating", "PodInitializing"})
#: The node failing to write a volume the kubelet fills itself (a projected token, a
#: ConfigMap's files): its disk, not the objects.
_NODE_WRITE_FAILED = rx.compile(r"(?i)no space left on device|read-only file system|"
                                r"input/output error|disk quota exceeded")


def _volume_kind(pod: Obj, name: str) -> str:
    """The source kind of a pod volume (``persistentVolumeClaim``, ``configMap``, ``csi``...),
    or ``persistentVolume`` for a name that is no pod volume (the kubelet names a claim's
    volume by its PersistentVolume)."""
    for vol in as_list(as_dict(pod.get("spec")).get("volumes")):
        vol = as_dict(vol)
        if vol.get("name") == name:
            return next((k for k in vol if k != "name"), "?")
    return "persistentVolume"


def _stuck(pod: Obj) -> bool:
    status = as_dict(pod.get("status"))
    statuses = [as_dict(cs) for key in ("initContainerStatuses", "containerStatuses")
                for cs in as_list(status.get(key))]
    if not statuses:
        return as_str(status.get("phase")) == "Pending"
    return all(as_str(as_dict(as_dict(cs.get("state")).get("waiting")).get("reason"))
               in STUCK_WAITING for cs in statuses)


def diagnose_volume_mount(view: ClusterView, pod: Obj, owner: OwnerRef | None,
                          events: list[Event]) -> Finding | None:
    """A pod stuck creating its containers because a PersistentVolumeClaim, CSI or other
    volume cannot be attached or mounted (``FailedMount``/``FailedAttachVolume``). A
    ConfigMap's or Secret's volume keeps its configuration codes (rules/config.py)."""
    if not _stuck(pod):
        return None
    failed = _recent(view, events, "FailedMount", "FailedAttachVolume")
    if not failed:
        return None
    ev = failed[-1]
    if _CONFIG_OBJECT.search(ev.message):
        return None
    m = _VOLUME_NAMED.search(ev.message)
    names = []
    if m and m["volume"]:
        names = [m["volume"]]
    elif m and m["list"]:
        names = m["list"].split()
    kinds = {name: _volume_kind(pod, name) for name in names}
    if kinds and all(k in ("configMap", "secret", "projected", "downwardAPI") for k in
                     kinds.values()) and _NODE_WRITE_FAILED.search(ev.message) is None:
        # the kubelet's own volumes: their objects keep the configuration codes, and their
        # passing noise (``object "ns"/"kube-root-ca.crt" not registered``) is none; the
        # node failing to write them (``write .../ca.crt: no space left on device``) is
        return None
    evidence = [event_line(ev)]
    details: dict[str, object] = {"volumes": names, "event": ev.reason, "message": ev.message}
    claims = []
    for name, kind in kinds.items():
        if kind == "persistentVolumeClaim":
            vol = next(as_dict(v) for v in as_list(as_dict(pod.get("spec")).get("volumes"))
                       if as_dict(v).get("name") == name)
            claim = as_str(as_dict(vol.get("persistentVolumeClaim")).get("claimName"))
            claims.append(claim)
            evidence.append(f"volume {name}: PersistentVolumeClaim {claim}")
        elif kind == "persistentVolume":
            pv = view.pvs.get(name)
            ref = as_dict(as_dict(pv.get("spec")).get("claimRef")) if pv else {}
            if ref.get("name"):
                claims.append(as_str(ref.get("name")))
                evidence.append(f"PersistentVolume {name} is bound to claim "
                                f"{as_str(ref.get('name'))}")
        else:
            evidence.append(f"volume {name}: {kind}")
    if claims:
        details["persistentVolumeClaims"] = claims
    started = parse_time(as_dict(pod.get("status")).get("startTime"))
    if started is not None and view.now is not None:
        details["stuckSeconds"] = int(view.now - started)
    what = "attached" if ev.reason == "FailedAttachVolume" else "mounted"
    target = f"volume {names[0]}" if names else "a volume"
    if claims:
        target += f" (PersistentVolumeClaim {claims[0]})"
    containers = [as_str(c.get("name")) for c in all_containers(as_dict(pod.get("spec")))]
    details["containers"] = containers
    return pod_finding(
        pod, owner, Reason.VOLUME_MOUNT_FAILED,
        f"Pod cannot start its containers: {target} cannot be {what}: {ev.message}",
        evidence,
        remediation={"action": "fix-volume", "volumes": names, "claims": claims},
        details=details,
    )
