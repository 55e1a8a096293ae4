"""``Job.BackoffLimitExceeded``: a Job that gave up. Workload-level (``pod`` null), one per
failed Job; its evidence names the Job and carries the most telling lines of its last
failed pod, whose own diagnosis becomes the Job's cause. That Job's failed pods get no
finding of their own: the Job is what failed, and what a person fixes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from crashwatch.diagnosis.context import clean_evidence, clean_summary
from crashwatch.diagnosis.view import (
    ClusterView,
    Obj,
    as_dict,
    as_int,
    as_list,
    as_str,
    as_text,
    controller_ref,
    meta,
)
from crashwatch.model import Confidence, Finding, OwnerRef, Reason


def backoff_failed(job: Obj) -> Mapping[str, object] | None:
    """The Job's ``Failed=True`` condition when its reason is ``BackoffLimitExceeded``."""
    for cond in as_list(as_dict(job.get("status")).get("conditions")):
        cond = as_dict(cond)
        if (cond.get("type") == "Failed" and cond.get("status") == "True"
                and cond.get("reason") == "BackoffLimitExceeded"):
            return cond
    return None


def failed_jobs(view: ClusterView) -> dict[tuple[str, str], Obj]:
    return {key: job for key, job in view.jobs.items() if backoff_failed(job) is not None}


def _finished(pod: Obj) -> str:
    """When a pod's containers last finished (RFC 3339 strings order as times)."""
    latest = ""
    status = as_dict(pod.get("status"))
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in as_list(status.get(key)):
            for state in ("state", "lastState"):
                term = as_dict(as_dict(as_dict(cs).get(state)).get("terminated"))
                latest = max(latest, as_str(term.get("finishedAt")))
    return latest or as_str(meta(pod).get("creationTimestamp"))


def job_owner(view: ClusterView, namespace: str, job: Obj) -> OwnerRef:
    parent = controller_ref(job)
    if parent and parent[0] == "CronJob":
        return OwnerRef(*parent)
    return OwnerRef("Job", as_str(meta(job).get("name")))


def diagnose_failed_job(
    view: ClusterView,
    namespace: str,
    job: Obj,
    pods: Sequence[Obj],
    pod_findings: Mapping[str, list[Finding]],
) -> Finding:
    """The Job's finding, from its Failed condition and its last failed pod's diagnosis."""
    name = as_str(meta(job).get("name"))
    cond = backoff_failed(job) or {}
    spec, status = as_dict(job.get("spec")), as_dict(job.get("status"))
    limit = as_int(spec.get("backoffLimit"), 6) if "backoffLimit" in spec else 6
    failed = as_int(status.get("failed"))
    evidence = [f"Job {name}: condition Failed=True reason=BackoffLimitExceeded: "
                f"{as_text(cond.get('message'))}",
                f"failed pods: {failed} (backoffLimit {limit})"]
    details: dict[str, object] = {"job": name, "backoffLimit": limit, "failed": failed}
    diagnosed = [p for p in pods if pod_findings.get(as_str(meta(p).get("name")))]
    last = max(diagnosed, key=_finished) if diagnosed else (
        max(pods, key=_finished) if pods else None)
    cause = ""
    confidence = Confidence.HIGH
    if last is not None:
        pod_name = as_str(meta(last).get("name"))
        details["lastPod"] = pod_name
        found = pod_findings.get(pod_name) or []
        if found:
            first = found[0]
            details["podReason"] = first.reason.value
            details["podDetails"] = first.details
            if first.container:
                details["container"] = first.container
            evidence.append(f"last failed pod {pod_name}: {first.reason.value}: {first.summary}")
            evidence += [line for line in first.evidence if line.startswith("log: ")]
            evidence += [line for line in first.evidence if not line.startswith(
                ("log: ", "waiting: ", "terminated: "))]
            cause = f"; its last pod {pod_name}: {first.summary}"
            confidence = first.confidence
        else:
            evidence.append(f"last pod {pod_name}: no failing container seen")
    else:
        evidence.append("none of its pods is in the snapshot")
    summary = f"Job {name} failed: backoff limit {limit} reached after {failed} failed pod(s)"
    return Finding(
        namespace=namespace,
        pod=None,
        container=None,
        owner=job_owner(view, namespace, job),
        reason=Reason.JOB_BACKOFF_LIMIT_EXCEEDED,
        summary=clean_summary(summary + (cause or ".")),
        evidence=clean_evidence(evidence),
        remediation={"action": "fix-job-cause", "job": name,
                     "cause": details.get("podReason")},
        confidence=confidence,
        details=details,
    )
