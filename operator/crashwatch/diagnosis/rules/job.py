"""A Job that gave up: ``Job.BackoffLimitExceeded`` (too many failed pods) or
``Job.DeadlineExceeded`` (it ran longer than its ``activeDeadlineSeconds``; the Job
controller killed what still ran). Workload-level (``pod`` null), one per failed Job; its
evidence names the Job and carries the most telling lines of its last failed pod, whose own
diagnosis becomes the Job's cause. That Job's failed pods get no finding of their own: the
Job is what failed, and what a person fixes.
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
    parse_time,
)
from crashwatch.model import Confidence, Finding, OwnerRef, Reason

#: The Job controller's reasons for giving up, and the code each is reported with.
JOB_FAILURES = {
    "BackoffLimitExceeded": Reason.JOB_BACKOFF_LIMIT_EXCEEDED,
    "DeadlineExceeded": Reason.JOB_DEADLINE_EXCEEDED,
}


def job_failed(job: Obj) -> Mapping[str, object] | None:
    """The Job's ``Failed=True`` condition when its reason is one of :data:`JOB_FAILURES`
    (``BackoffLimitExceeded``; ``DeadlineExceeded``, ``Job was active longer than specified
    deadline``)."""
    for cond in as_list(as_dict(job.get("status")).get("conditions")):
        cond = as_dict(cond)
        if (cond.get("type") == "Failed" and cond.get("status") == "True"
                and cond.get("reason") in JOB_FAILURES):
            return cond
    return None


def job_completed(job: Obj) -> bool:
    return any(as_dict(c).get("type") == "Complete" and as_dict(c).get("status") == "True"
               for c in as_list(as_dict(job.get("status")).get("conditions")))


def _created(job: Obj) -> float:
    return parse_time(meta(job).get("creationTimestamp")) or 0.0


def _recovered(view: ClusterView) -> dict[tuple[str, str], float]:
    """Per CronJob, when its newest run that completed was created."""
    out: dict[tuple[str, str], float] = {}
    for (ns, _), job in view.jobs.items():
        parent = controller_ref(job)
        if parent is not None and parent[0] == "CronJob" and job_completed(job):
            key = (ns, parent[1])
            out[key] = max(out.get(key, 0.0), _created(job))
    return out


def failed_jobs(view: ClusterView, settled: Mapping[tuple[str, str], str]
                ) -> dict[tuple[str, str], Obj]:
    """The Jobs that gave up, but for those ``settled`` (:func:`settled_jobs`: a CronJob's
    run that a later run of the same CronJob completed after)."""
    return {key: job for key, job in view.jobs.items()
            if job_failed(job) is not None and key not in settled}


def settled_jobs(view: ClusterView) -> dict[tuple[str, str], str]:
    """The Jobs whose failed pods are no failure now, and why: a Job that completed (a pod
    that failed before a retry succeeded is history), and a CronJob's failed run that a later
    run completed after (the CronJob has recovered; the failed run is kept only as history,
    ``failedJobsHistoryLimit``)."""
    recovered = _recovered(view)
    out: dict[tuple[str, str], str] = {}
    for key, job in view.jobs.items():
        if job_completed(job):
            out[key] = "it completed"
            continue
        parent = controller_ref(job)
        if job_failed(job) is not None and parent is not None and parent[0] == "CronJob" \
                and _created(job) < recovered.get((key[0], parent[1]), 0.0):
            out[key] = f"a later run of CronJob {parent[1]} completed"
    return out


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


DEADLINE_SLACK = 2.0
"""Seconds before a Job's DeadlineExceeded condition within which a pod that ended was
stopped by the deadline (the controller deletes what still runs)."""


def _ran_seconds(status: Mapping[str, object], cond: Mapping[str, object]) -> int | None:
    """How long the Job was active: from ``status.startTime`` to its Failed condition."""
    start = parse_time(status.get("startTime"))
    end = parse_time(cond.get("lastTransitionTime"))
    if start is None or end is None or end < start:
        return None
    return int(end - start)


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
    cond = job_failed(job) or {}
    why = as_str(cond.get("reason")) or "BackoffLimitExceeded"
    reason = JOB_FAILURES.get(why, Reason.JOB_BACKOFF_LIMIT_EXCEEDED)
    spec, status = as_dict(job.get("spec")), as_dict(job.get("status"))
    limit = as_int(spec.get("backoffLimit"), 6) if "backoffLimit" in spec else 6
    failed = as_int(status.get("failed"))
    evidence = [f"Job {name}: condition Failed=True reason={why}: "
                f"{as_text(cond.get('message'))}"]
    details: dict[str, object] = {"job": name, "failed": failed}
    if reason is Reason.JOB_DEADLINE_EXCEEDED:
        deadline = as_int(spec.get("activeDeadlineSeconds"))
        details["activeDeadlineSeconds"] = deadline
        ran = _ran_seconds(status, cond)
        if ran is not None:
            details["ranSeconds"] = ran
        evidence.append(f"activeDeadlineSeconds: {deadline}" + (
            f"; it ran {ran}s (status.startTime {as_str(status.get('startTime'))})"
            if ran is not None else ""))
        summary = (f"Job {name} failed: it ran longer than its activeDeadlineSeconds "
                   f"({deadline}s), and what still ran was stopped")
        remediation: dict[str, object] = {"action": "fix-job-deadline", "job": name,
                                          "activeDeadlineSeconds": deadline}
    else:
        details["backoffLimit"] = limit
        evidence.append(f"failed pods: {failed} (backoffLimit {limit})")
        summary = f"Job {name} failed: backoff limit {limit} reached after {failed} failed pod(s)"
        remediation = {"action": "fix-job-cause", "job": name}
    diagnosed = [p for p in pods if pod_findings.get(as_str(meta(p).get("name")))]
    if reason is Reason.JOB_DEADLINE_EXCEEDED:
        # a pod that ended when the deadline did was stopped by it: its exit (137, 143)
        # says nothing about why the Job ran long; only earlier failures are a cause
        ended = parse_time(cond.get("lastTransitionTime"))
        diagnosed = [p for p in diagnosed if ended is not None and (
            parse_time(_finished(p)) or ended) < ended - DEADLINE_SLACK]
        kept = {as_str(meta(p).get("name")) for p in diagnosed}
        pod_findings = {n: f for n, f in pod_findings.items() if n in kept}
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
    return Finding(
        namespace=namespace,
        pod=None,
        container=None,
        owner=job_owner(view, namespace, job),
        reason=reason,
        summary=clean_summary(summary + (cause or ".")),
        evidence=clean_evidence(evidence),
        remediation={**remediation, "cause": details.get("podReason")},
        confidence=confidence,
        details=details,
    )
