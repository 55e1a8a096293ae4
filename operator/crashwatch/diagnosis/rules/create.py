"""``Workload.FailedCreate``: a controller asks the API server for a pod and is refused.

There is no pod to diagnose: the workload shows ``0/3`` and nothing else. What refused it
is said in the controller's own words, in one of two places:

* a ReplicaSet's status condition ``ReplicaFailure=True reason=FailedCreate`` (its message
  is the API server's error, ``pods "web-7c9d8f6b5-" is forbidden: ...``), which the
  Deployment controller copies onto the Deployment (``getReplicaFailures`` in
  pkg/controller/deployment/progress.go) and removes once a create succeeds;
* a Warning Event ``FailedCreate`` on the workload: ``Error creating: ...`` (ReplicaSet,
  DaemonSet, Job controllers), ``create Pod web-0 in StatefulSet web failed error: ...``
  (StatefulSet controller). StatefulSets, DaemonSets and Jobs have no such condition, so
  their refusal counts while its Event is recent and the workload is short of pods.

The message names what refused it; :func:`refusal` reads the kinds met in practice (Pod
Security Admission, a ResourceQuota exceeded or asking for limits, a LimitRange, an
admission webhook that denied or could not be called, a missing ServiceAccount, an
OpenShift SCC) and keeps the API server's words as evidence for any other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from crashwatch.diagnosis import rx
from crashwatch.diagnosis.context import clean_evidence, clean_summary
from crashwatch.diagnosis.owners import revision
from crashwatch.diagnosis.rules.job import job_completed, job_failed, job_owner
from crashwatch.diagnosis.trace import Trace
from crashwatch.diagnosis.view import (
    MAX_MESSAGE_CHARS,
    ClusterView,
    Event,
    Obj,
    as_dict,
    as_int,
    as_list,
    as_str,
    controller_ref,
    meta,
)
from crashwatch.model import Confidence, Finding, OwnerRef, Reason

#: The kinds whose refusals only an Event tells (no condition): the live operator reads those
#: Events when such a workload is short of pods (the watch of Events is of pods' only).
EVENT_ONLY_KINDS = ("StatefulSet", "DaemonSet", "Job")

#: How long a ``FailedCreate`` Event counts when no condition says the refusal goes on: the
#: controllers retry with a back-off that grows to about 17 minutes between tries (the
#: workqueue's per-item limit, 1000 s), so a refusal that goes on may post nothing newer for
#: that long; while the workload is still short of pods, half an hour.
RECENT_SECONDS = 1800.0

_PREFIX = rx.compile(
    r"^(?:\(combined from similar events\): )?"
    r"(?:Error creating: |create Pod \S+ in StatefulSet \S+ failed error: )?"
    r"(?:unable to create pods: )?", ignorecase=True)
_FORBIDDEN = rx.compile(r'(?s)^pods? "?[^"\s]*"? is forbidden: (?P<rest>.*)$')
_PSA = rx.compile(r'(?s)violates PodSecurity "(?P<policy>[^"]+)": (?P<violations>.*)$',
                  ignorecase=True)
_QUOTA_EXCEEDED = rx.compile(
    r"(?s)exceeded quota: (?P<quota>[^,]+), requested: (?P<requested>.+?), used: "
    r"(?P<used>.+?), limited: (?P<limited>[^\n]+?)\s*$", ignorecase=True)
_QUOTA_SPECIFY = rx.compile(r"(?s)failed quota: (?P<quota>[^:]+): must specify (?P<what>.+)$",
                            ignorecase=True)
_LIMIT_RANGE = rx.compile(
    r"(?P<bound>maximum|minimum) (?P<resource>[\w.-]+) usage per (?P<scope>Container|Pod|"
    r"PersistentVolumeClaim) is (?P<allowed>\S+?),? (?:but|and) (?P<what>limit|request) is "
    r"(?P<asked>\S+?)\.?(?:$|[,;\s\]])"
    r"|(?:^|[^\w.-])(?P<ratio>[\w.-]+) max limit to request ratio per (?P<rscope>Container|Pod) "
    r"is (?P<rallowed>[^,\s]+), but (?P<rasked>[^,\]]+)", ignorecase=True)
_WEBHOOK_DENIED = rx.compile(r'(?s)admission webhook "(?P<webhook>[^"]+)" denied the request:?'
                             r"\s*(?P<said>.*)$")
_WEBHOOK_FAILED = rx.compile(r'(?s)failed calling webhook "(?P<webhook>[^"]+)": (?P<said>.*)$')
_SERVICE_ACCOUNT = rx.compile(
    r'error looking up service account (?P<ns>[^/\s]+)/(?P<sa>[^:\s]+): serviceaccount '
    r'"[^"]*" not found')
_SCC = rx.compile(r"unable to validate against any security context constraint")
#: One PodSecurity violation: ``name (container "x" must ...)``, separated by ", ".
_VIOLATION = rx.compile(r"([^,(]+?)(?: \((?:[^()]|\([^()]*\))*\))?(?:, |$)")


@dataclass(slots=True)
class Refusal:
    """What refused a pod, read from the API server's error."""

    cause: str
    """PodSecurity, ResourceQuota, LimitRange, AdmissionWebhook, ServiceAccount,
    SecurityContextConstraints, or Other."""
    said: str
    """The short fact a person acts on (the violations, the quota and what it limits)."""
    details: dict[str, object] = field(default_factory=dict)
    words: str = ""
    """The API server's error without its ``pods "NAME" is forbidden:`` head."""
    items: tuple[str, ...] = ()
    """Each violation with the field that fixes it (PodSecurity), one evidence line each."""


def refusal(message: str) -> Refusal:
    """Read a ``FailedCreate`` message (an Event's or a ReplicaFailure condition's)."""
    text = _PREFIX.sub("", message[:MAX_MESSAGE_CHARS].strip())
    forbidden = _FORBIDDEN.search(text)
    rest = forbidden.group("rest") if forbidden else text
    r = _read(rest)
    if not r.words:
        r.words = rest.strip()
    return r


def _read(rest: str) -> Refusal:
    """What refused the pod, from the API server's error (its ``pods "x" is forbidden:``
    head gone)."""
    if m := _PSA.search(rest):
        found = [(v.group(1).strip(), v.group(0).rstrip(", ").strip())
                 for v in _VIOLATION.finditer(m.group("violations")) if v.group(1).strip()]
        names = [name for name, _ in found]
        return Refusal("PodSecurity", f'the namespace enforces PodSecurity "{m["policy"]}" '
                       f"and the pod template violates it: {', '.join(names)}",
                       {"policy": m["policy"], "violations": names},
                       words=f'violates PodSecurity "{m["policy"]}"',
                       items=tuple(whole for _, whole in found))
    if m := _QUOTA_EXCEEDED.search(rest):
        return Refusal("ResourceQuota", f"ResourceQuota {m['quota'].strip()} is used up "
                       f"(requested {m['requested']}, used {m['used']}, limited "
                       f"{m['limited']})",
                       {"quota": m["quota"].strip(), "requested": m["requested"],
                        "used": m["used"], "limited": m["limited"]})
    if m := _QUOTA_SPECIFY.search(rest):
        what = m["what"].strip().rstrip(".")
        return Refusal("ResourceQuota", f"ResourceQuota {m['quota'].strip()} requires what "
                       f"the pod template does not set: must specify {what}",
                       {"quota": m["quota"].strip(), "mustSpecify": what})
    if m := _LIMIT_RANGE.search(rest):
        if m["ratio"]:
            said = (f"a LimitRange allows a {m['ratio']} limit-to-request ratio of at most "
                    f"{m['rallowed']} per {m['rscope']}, but {m['rasked'].strip()}")
            return Refusal("LimitRange", said, {"resource": m["ratio"], "allowed": m["rallowed"],
                                                "asked": m["rasked"]})
        said = (f"a LimitRange's {m['bound']} {m['resource']} per {m['scope']} is "
                f"{m['allowed']}, the template's {m['what']} is {m['asked']}")
        return Refusal("LimitRange", said, {"resource": m["resource"], "bound": m["bound"],
                                            "allowed": m["allowed"], "asked": m["asked"]})
    if m := _WEBHOOK_DENIED.search(rest):
        said = m["said"].strip()
        return Refusal("AdmissionWebhook", f'admission webhook "{m["webhook"]}" denied it'
                       + (f": {said}" if said else ""),
                       {"webhook": m["webhook"], "denied": True})
    if m := _WEBHOOK_FAILED.search(rest):
        return Refusal("AdmissionWebhook", f'admission webhook "{m["webhook"]}" could not be '
                       f"called: {m['said'].strip()}",
                       {"webhook": m["webhook"], "denied": False})
    if m := _SERVICE_ACCOUNT.search(rest):
        return Refusal("ServiceAccount", f"its ServiceAccount {m['sa']} does not exist in "
                       f"namespace {m['ns']}", {"serviceAccount": m["sa"]})
    if m := _SCC.search(rest):
        listed = rest[m.end():].strip().lstrip(":").strip()
        if listed.startswith("[") and listed.endswith("]"):
            listed = listed[1:-1]
        # one line per provider: ``provider restricted-v2: .containers[0]...: Invalid value``
        if listed.startswith("provider "):
            items = tuple(f"provider {p.strip()}" for p in
                          listed.removeprefix("provider ").split(", provider ") if p.strip())
        else:
            items = (listed,) if listed else ()
        refused_by = [i for i in items if "not usable by" not in i]
        return Refusal("SecurityContextConstraints", "no SecurityContextConstraints the pod's "
                       "service account may use admits the pod template"
                       + (f": {refused_by[0]}" if refused_by else ""),
                       {}, words="unable to validate against any security context constraint",
                       items=items)
    return Refusal("Other", rest.strip(), {})


def replica_failure(obj: Obj) -> Mapping[str, object] | None:
    """The ``ReplicaFailure=True`` condition of a Deployment or ReplicaSet whose reason is
    FailedCreate."""
    for cond in as_list(as_dict(obj.get("status")).get("conditions")):
        cond = as_dict(cond)
        if (cond.get("type") == "ReplicaFailure" and cond.get("status") == "True"
                and cond.get("reason") == "FailedCreate" and as_str(cond.get("message"))):
            return cond
    return None


def _recent_refusal(view: ClusterView, ns: str, kind: str, obj: Obj) -> Event | None:
    """The newest ``FailedCreate`` Event on the object (this one: a deleted namesake's do
    not count), if recent and no pod was created after it (``SuccessfulCreate``: the refusal
    was over, and what is short now is a scale-up or a node added)."""
    events = view.events_for(ns, kind, as_str(meta(obj).get("name")),
                             as_str(meta(obj).get("uid")))
    found = [ev for ev in events if ev.reason == "FailedCreate" and ev.message
             and view.is_recent(ev.last, RECENT_SECONDS)]
    if not found:
        return None
    newest = found[-1]
    created = [ev.last for ev in events if ev.reason == "SuccessfulCreate"
               and ev.last is not None]
    if created and newest.last is not None and max(created) > newest.last:
        return None
    return newest


def short_of_pods(obj: Obj, kind: str) -> bool:
    """The workload has fewer pods than it asks for (a refusal is still in effect)."""
    spec, status = as_dict(obj.get("spec")), as_dict(obj.get("status"))
    if kind == "DaemonSet":
        return as_int(status.get("currentNumberScheduled")) < as_int(
            status.get("desiredNumberScheduled"))
    if kind == "Job":
        suspended = spec.get("suspend") is True or (
            "parallelism" in spec and as_int(spec.get("parallelism"), 1) == 0) or any(
            as_dict(c).get("type") == "Suspended" and as_dict(c).get("status") == "True"
            for c in as_list(status.get("conditions")))
        return (not suspended and job_failed(obj) is None and not job_completed(obj)
                and as_int(status.get("active")) == 0)
    return as_int(status.get("replicas")) < as_int(spec.get("replicas"), 1)  # RS, StatefulSet


@dataclass(slots=True)
class _Seen:
    owner: OwnerRef
    where: str
    """Which object said it: ``ReplicaSet web-7c9d8f6b5``."""
    message: str
    source: str
    """``condition ReplicaFailure=True FailedCreate`` or ``Event FailedCreate (xN)``."""

    @classmethod
    def condition(cls, owner: OwnerRef, where: str, cond: Mapping[str, object]) -> _Seen:
        return cls(owner, where, as_str(cond.get("message")),
                   "condition ReplicaFailure=True FailedCreate")

    @classmethod
    def event(cls, owner: OwnerRef, where: str, ev: Event) -> _Seen:
        return cls(owner, where, ev.message, "Event FailedCreate"
                   + (f" (x{ev.count})" if ev.count and ev.count > 1 else ""))


def _finding(ns: str, seen: _Seen) -> Finding:
    r = refusal(seen.message)
    kind, name = seen.owner.kind, seen.owner.name
    summary = f"{kind} {name} cannot create its pods: {r.said}."
    evidence = [f"{seen.where}: {seen.source}: {r.words}", *r.items]
    return Finding(
        namespace=ns,
        pod=None,
        container=None,
        owner=seen.owner,
        reason=Reason.WORKLOAD_FAILED_CREATE,
        summary=clean_summary(summary),
        evidence=clean_evidence(evidence),
        remediation={"action": "fix-admission", "cause": r.cause,
                     "target": {"kind": kind, "name": name}},
        confidence=Confidence.HIGH if r.cause != "Other" else Confidence.MEDIUM,
        details={"cause": r.cause, **r.details},
    )


def _replicaset_refusal(view: ClusterView, ns: str, owner: OwnerRef, rs: Obj,
                        cond: Mapping[str, object] | None) -> _Seen | None:
    """A ReplicaSet's refusal said on ``owner``: its (or its Deployment's) condition, else a
    recent Event while it is short of pods."""
    name = as_str(meta(rs).get("name"))
    if cond is not None:
        return _Seen.condition(owner, f"{owner.kind} {owner.name}", cond)
    if short_of_pods(rs, "ReplicaSet") and (
            ev := _recent_refusal(view, ns, "ReplicaSet", rs)) is not None:
        return _Seen.event(owner, f"ReplicaSet {name}", ev)
    return None


def _refused(view: ClusterView) -> dict[tuple[str, str, str], _Seen]:
    out: dict[tuple[str, str, str], _Seen] = {}
    found: _Seen | None
    for (ns, name), dep in sorted(view.deployments.items()):
        newest = max(view.replicasets_of(ns, name), key=revision, default=None)
        cond = replica_failure(dep)
        if newest is not None:
            found = _replicaset_refusal(view, ns, OwnerRef("Deployment", name), newest,
                                        cond or replica_failure(newest))
        elif cond is not None:
            found = _Seen.condition(OwnerRef("Deployment", name), f"Deployment {name}", cond)
        else:
            found = None
        if found is not None:
            out[(ns, "Deployment", name)] = found
    for (ns, name), rs in sorted(view.replicasets.items()):
        parent = controller_ref(rs)
        if parent is not None and parent[0] == "Deployment":
            continue  # a Deployment's: said above, once, on the Deployment
        # a bare ReplicaSet, or one of a controller crashwatch does not read (an Argo
        # Rollout): said on the ReplicaSet
        found = _replicaset_refusal(view, ns, OwnerRef("ReplicaSet", name), rs,
                                    replica_failure(rs))
        if found is not None:
            out[(ns, "ReplicaSet", name)] = found
    for kind, table in (("StatefulSet", view.statefulsets), ("DaemonSet", view.daemonsets),
                        ("Job", view.jobs)):
        for (ns, name), obj in sorted(table.items()):
            if not short_of_pods(obj, kind):
                continue
            ev = _recent_refusal(view, ns, kind, obj)
            if ev is None:
                continue
            owner = job_owner(view, ns, obj) if kind == "Job" else OwnerRef(kind, name)
            out[(ns, owner.kind, owner.name)] = _Seen.event(owner, f"{kind} {name}", ev)
    return out


def diagnose_failed_creates(view: ClusterView, trace: Trace | None = None) -> list[Finding]:
    """One finding per workload whose controller is refused its pods."""
    out = []
    for (ns, kind, name), seen in _refused(view).items():
        found = _finding(ns, seen)
        out.append(found)
        if trace is not None:
            trace.workload(ns, kind, name, "pods refused at creation (rules/create.py)",
                           f"{found.reason.value}: {found.summary}", decided=True)
    return out


def refused_workloads(findings: Iterable[Finding]) -> set[tuple[str, str, str]]:
    """(namespace, kind, name) of the workloads a FailedCreate finding is about."""
    return {(f.namespace, f.owner.kind, f.owner.name) for f in findings
            if f.reason is Reason.WORKLOAD_FAILED_CREATE and f.owner is not None}
