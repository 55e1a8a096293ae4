"""``Rollout.Regression``: a Deployment's newest revision fails while an earlier one was
available. Workload-level; proposes rolling back to the last healthy revision."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from crashwatch.diagnosis.history import changed_by as field_changed_by
from crashwatch.diagnosis.owners import (
    available_replicas,
    container_spec,
    pod_template,
    revision,
)
from crashwatch.diagnosis.rules.create import refused_workloads
from crashwatch.diagnosis.rules.memory import last_healthy_record
from crashwatch.diagnosis.trace import Trace
from crashwatch.diagnosis.view import (
    ClusterView,
    Obj,
    as_dict,
    as_int,
    as_list,
    as_str,
    meta,
    parse_time,
)
from crashwatch.model import Confidence, Finding, OwnerRef, Reason
from crashwatch.redact import redact


def _images(template: Mapping[str, Any]) -> dict[str, str]:
    return {
        as_str(as_dict(c).get("name")): as_str(as_dict(c).get("image"))
        for c in as_list(template.get("containers"))
    }


def _pods_of(view: ClusterView, namespace: str, rs_name: str) -> list[Obj]:
    return [
        p for p in view.pods_of(namespace, "ReplicaSet", rs_name)
        if not meta(p).get("deletionTimestamp")
    ]


def _pod_ready(pod: Obj) -> bool:
    return any(
        as_dict(c).get("type") == "Ready" and as_dict(c).get("status") == "True"
        for c in as_list(as_dict(pod.get("status")).get("conditions"))
    )


#: The kubelet's container restart back-off: 10 s doubling up to 5 min.
_BACKOFF_FIRST, _BACKOFF_MAX = 10.0, 300.0


def _crashed_since_start(view: ClusterView, pod: Obj) -> bool:
    """A pod whose containers crash-loop and cannot have run ``stable_after`` seconds in a
    row since it started: it is younger than a container that never did would need to reach
    its restartCount (each instance up to stable_after, each back-off up to the kubelet's
    10 s, 20 s, ... 5 min). Such a pod may still have been Ready for a moment between its
    crashes (a container without a readiness probe is Ready while it runs, as on a real 1.36
    node), enough for the Deployment controller to count the revision available."""
    if view.now is None:
        return False
    status = as_dict(pod.get("status"))
    started = parse_time(status.get("startTime")) or parse_time(meta(pod).get("creationTimestamp"))
    restarts = max((as_int(as_dict(cs).get("restartCount"))
                    for cs in as_list(status.get("containerStatuses"))), default=0)
    if started is None or restarts < 1:
        return False
    instances = min(restarts, 1_000_000) + 1  # a bad restartCount stays a number
    ramp = min(instances, 6)  # 10 s doubled five times passes 5 min: the cap from there on
    bound = (sum(min(_BACKOFF_FIRST * 2**i, _BACKOFF_MAX) for i in range(ramp))
             + (instances - ramp) * _BACKOFF_MAX + instances * view.stable_after)
    return bool(view.now - started <= bound)


def _availability(rs: Obj) -> str:
    now = as_int(as_dict(rs.get("status")).get("availableReplicas"), 0)
    if now > 0:
        return f", {now} available"
    seen = available_replicas(rs)
    if seen > 0:
        return f", {seen} available before the rollout scaled it down"
    return ", 0 available"


def _resources_only_change(new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    if _images(new) != _images(old):
        return False
    for name in _images(new):
        a = dict(container_spec(new, name))
        b = dict(container_spec(old, name))
        a.pop("resources", None)
        b.pop("resources", None)
        if a != b:
            return False
    return True


def image_changed_by(dep: Obj, container: str) -> Any:
    """Who set a container's image on the Deployment (managedFields), or None."""
    return field_changed_by(dep, container, ("image",))


def _recorded_healthy_revision(dep: Obj) -> int | None:
    """The revision crashwatch recorded as last known good on the Deployment, if any."""
    return as_int(last_healthy_record(dep).get("revision"), 0) or None


def diagnose_regressions(view: ClusterView, pod_findings: Iterable[Finding],
                         trace: Trace | None = None) -> list[Finding]:
    by_pod: dict[tuple[str, str], list[Finding]] = {}
    for f in pod_findings:
        if f.pod is not None:
            by_pod.setdefault((f.namespace, f.pod), []).append(f)
    refused = refused_workloads(pod_findings)
    out = []
    for (ns, name), dep in sorted(view.deployments.items()):
        why: list[str] | None = [] if trace is not None else None
        if (ns, "Deployment", name) in refused:
            # No pod of the newest revision could be created: that is the finding
            # (Workload.FailedCreate), not a regression of what its pods do.
            found = None
            if why is not None:
                why.append("its pods are refused at creation (Workload.FailedCreate)")
        else:
            found = _regression(view, ns, name, dep, by_pod, why)
        if found is not None:
            out.append(found)
        if trace is not None:
            trace.workload(ns, "Deployment", name, "rollout regression (rules/rollout.py)",
                           f"{found.reason.value}: {found.summary}" if found is not None
                           else f"not raised: {why[0] if why else 'no reason recorded'}",
                           decided=found is not None)
    return out


def _regression(
    view: ClusterView,
    ns: str,
    name: str,
    dep: Obj,
    by_pod: Mapping[tuple[str, str], list[Finding]],
    why: list[str] | None = None,
) -> Finding | None:
    """The Deployment's regression, or None (and, given ``why``, the reason appended)."""
    rss = sorted(view.replicasets_of(ns, name), key=revision, reverse=True)
    if len(rss) < 2 or revision(rss[0]) < 2:
        if why is not None:
            why.append("a first revision cannot regress (no earlier ReplicaSet)")
        return None  # a first deployment cannot regress
    newest, older = rss[0], rss[1:]
    new_name = as_str(meta(newest).get("name"))
    new_pods = _pods_of(view, ns, new_name)
    failing = [f for p in new_pods for f in by_pod.get((ns, as_str(meta(p).get("name"))), ())]
    progressing = next(
        (as_dict(c) for c in as_list(as_dict(dep.get("status")).get("conditions"))
         if as_dict(c).get("type") == "Progressing"), {},
    )
    deadline = progressing.get("reason") == "ProgressDeadlineExceeded"
    # Ready now and not failing: the revision works. A crash-looping container without a
    # readiness probe is Ready while it runs between crashes (a real kubelet): that is no
    # proof, while its crash is still held as a finding.
    if any(_pod_ready(p) and not by_pod.get((ns, as_str(meta(p).get("name"))))
           for p in new_pods):
        if why is not None:
            why.append(f"a pod of the newest revision ({new_name}) is ready")
        return None
    if not failing and not (deadline and not new_pods):
        if why is not None:
            why.append(f"no pod of the newest revision ({new_name}) is failing")
        return None
    if failing and all(f.reason is Reason.EVICTED for f in failing):
        if why is not None:
            why.append("the newest revision's pods were evicted, which is the node's doing")
        return None

    # The newest revision had become available (its rollout completed): whatever broke it
    # since is not this rollout's doing. Unless its pods crash-loop since they started: a
    # moment Ready between two crashes made the controller count them available, and the
    # rollout went on (a real kubelet does that; minReadySeconds would have held it).
    flapped = bool(new_pods) and all(
        _crashed_since_start(view, p) for p in new_pods
        if by_pod.get((ns, as_str(meta(p).get("name")))))
    if progressing.get("reason") == "NewReplicaSetAvailable" and progressing.get(
            "status") == "True" and not flapped:
        if why is not None:
            why.append("the newest revision had become available (Progressing "
                       "NewReplicaSetAvailable): what broke it since is not the rollout")
        return None

    # The last healthy revision: the newest older one with available pods (or the one
    # crashwatch recorded as last known good), and none of its pods seen failing.
    def known_failing(rs: Obj) -> bool:
        pods = _pods_of(view, ns, as_str(meta(rs).get("name")))
        return any(by_pod.get((ns, as_str(meta(p).get("name")))) for p in pods)

    recorded = _recorded_healthy_revision(dep)
    healthy = next(
        (rs for rs in older
         if (available_replicas(rs) > 0 or revision(rs) == recorded)
         and not known_failing(rs)),
        None,
    )
    if healthy is None:
        if why is not None:
            why.append("no earlier revision is known to have worked (none has available "
                       "pods that are not failing, and none is recorded as last known good)")
        return None  # no earlier revision is known to have worked
    confidence = Confidence.HIGH
    new_t, old_t = pod_template(newest), pod_template(healthy)
    if failing and all(f.reason is Reason.OOM_AFTER_SHRINK for f in failing) and (
        _resources_only_change(new_t, old_t)
    ):
        if why is not None:
            why.append("only the resources changed and the pods are OOMAfterShrink: a "
                       "memory floor fixes the autoscaler loop, not a rollback")
        return None  # the autoscaler loop: a resource floor fixes it, not a rollback
    new_images, old_images = _images(new_t), _images(old_t)
    old_name = as_str(meta(healthy).get("name"))
    old_rev, new_rev = revision(healthy), revision(newest)
    reasons = sorted({f.reason.value for f in failing})
    changed = {c: (old_images.get(c), img) for c, img in new_images.items()
               if old_images.get(c) != img}
    last_image = ", ".join(old_images[c] for c in changed if old_images.get(c)) or ", ".join(
        old_images.values())
    evidence = [
        f"revision {new_rev} (ReplicaSet {new_name}, image {', '.join(new_images.values())}): "
        f"{len(new_pods)} pod(s), none ready"
        + (f"; failing with {', '.join(reasons)}" if reasons else ""),
        f"last healthy revision {old_rev} (ReplicaSet {old_name}): image {last_image}"
        + _availability(healthy),
    ]
    for f in failing[:2]:
        evidence.append(f"pod {f.pod}: {f.reason.value}: {f.summary}")
    if deadline:
        evidence.append(f"condition Progressing=False ProgressDeadlineExceeded: "
                        f"{as_str(progressing.get('message'))}")
    what = f" ({', '.join(reasons)})" if reasons else ""
    changed_by = {c: found.to_dict() for c in sorted(changed)
                  if (found := image_changed_by(dep, c)) is not None}
    for c, who in changed_by.items():
        evidence.append(f"image of container {c} set by {who['manager']} at {who['time']}")
    who = next(iter(changed_by.values()), None)
    summary = (
        f"Deployment {name}'s revision {new_rev} fails{what} while revision {old_rev} "
        f"(image {last_image}) was available: roll back to revision {old_rev}"
        + (f" (the image was set by {who['manager']} at {who['time']})." if who else ".")
    )
    return Finding(
        namespace=ns,
        pod=None,
        container=None,
        owner=OwnerRef("Deployment", name),
        reason=Reason.ROLLOUT_REGRESSION,
        summary=redact(summary, limit=400),
        evidence=tuple(redact(e) for e in evidence),
        remediation={
            "action": "rollback",
            "target": {"kind": "Deployment", "name": name},
            "fromRevision": new_rev,
            "toRevision": old_rev,
            "replicaSet": old_name,
            "images": old_images,
        },
        confidence=confidence,
        details={
            "failingRevision": new_rev,
            "failingReplicaSet": new_name,
            "lastHealthyRevision": old_rev,
            "lastHealthyReplicaSet": old_name,
            "lastHealthyImages": old_images,
            "failingImages": new_images,
            "changedContainers": sorted(changed),
            "podReasons": reasons,
            **({"changedBy": who} if who else {}),
            **({"changedByContainer": changed_by} if len(changed_by) > 1 else {}),
        },
    )
