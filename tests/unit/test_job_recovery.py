"""A CronJob whose failed run a later run completed after has recovered: the failed Job is
kept only as history (``failedJobsHistoryLimit``, 1 by default), for as long as no other run
fails, and is no finding; nor are its pods."""

from __future__ import annotations

from typing import Any

import kube as k
from helpers import only, run

from crashwatch.model import Reason


def _job(name: str, created_ago: int, condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": "shop", "uid": k.uid(name),
                     "creationTimestamp": k.ts(created_ago),
                     "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob",
                                          "name": "export", "uid": k.uid("cj"),
                                          "controller": True}]},
        "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never"}}},
        "status": {"startTime": k.ts(created_ago), "conditions": [condition]},
    }


FAILED = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
          "message": "Job has reached the specified backoff limit"}
COMPLETE = {"type": "Complete", "status": "True"}


def _failed_pod(job: str, finished_ago: int) -> dict[str, Any]:
    c = k.container(name="export")
    p = k.pod(name=f"{job}-x9k2p", containers=[c], phase="Failed", owner=("Job", job))
    p["spec"]["restartPolicy"] = "Never"
    status = k.running_status(c, ready=False)
    status["state"] = {"terminated": k.terminated("Error", 1, finished_ago=finished_ago)}
    p["status"]["containerStatuses"] = [status]
    return p


def test_a_failed_run_a_later_run_completed_after_is_no_finding() -> None:
    old = _job("export-29480000", 7200, FAILED)
    new = _job("export-29481000", 3600, COMPLETE)
    pod = _failed_pod("export-29480000", 7100)
    logs = {("shop", pod["metadata"]["name"], "export"): "KeyError: 'EXPORT_BUCKET'\n"}
    assert run([old, new, pod], logs) == []


def test_a_failed_run_after_the_last_completed_one_is_still_a_finding() -> None:
    done = _job("export-29480000", 7200, COMPLETE)
    failed = _job("export-29481000", 3600, FAILED)
    pod = _failed_pod("export-29481000", 3500)
    f = only(run([done, failed, pod]))
    assert f.reason is Reason.JOB_BACKOFF_LIMIT_EXCEEDED
    assert f.details["job"] == "export-29481000"


def test_a_plain_jobs_failure_is_not_excused_by_another_job() -> None:
    failed = _job("migrate", 3600, FAILED)
    del failed["metadata"]["ownerReferences"]
    other = _job("migrate-2", 60, COMPLETE)
    del other["metadata"]["ownerReferences"]
    f = only(run([failed, other, _failed_pod("migrate", 3500)]))
    assert f.reason is Reason.JOB_BACKOFF_LIMIT_EXCEEDED


def test_a_pod_that_failed_before_its_jobs_retry_succeeded_is_no_finding() -> None:
    job = _job("export-29481000", 3600, COMPLETE)
    job["spec"]["backoffLimit"] = 6
    job["status"].update(failed=1, succeeded=1)
    pod = _failed_pod("export-29481000", 3500)
    logs = {("shop", pod["metadata"]["name"], "export"): "KeyError: 'EXPORT_BUCKET'\n"}
    assert run([job, pod], logs) == []
    # the same pod while its Job is still retrying is a finding of its own
    job["status"]["conditions"] = []
    assert only(run([job, pod], logs)).reason is Reason.MISSING_ENV
