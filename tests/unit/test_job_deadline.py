"""``Job.DeadlineExceeded``: a Job that ran longer than its ``activeDeadlineSeconds``. The Job
controller sets ``Failed=True`` with reason ``DeadlineExceeded`` and the message ``Job was
active longer than specified deadline`` (k8s.io/kubernetes v1.36.3,
pkg/controller/job/job_controller.go) and stops what still runs. Before this code crashwatch
said nothing about such a Job: its pods were stopped, not crashed.
"""

from __future__ import annotations

from typing import Any

import kube as k
from helpers import only, run

from crashwatch.diagnosis.engine import diagnose
from crashwatch.diagnosis.trace import Trace
from crashwatch.model import OwnerRef, Reason

MESSAGE = "Job was active longer than specified deadline"


def _job(*, deadline: int = 600, started_ago: int = 700, failed_ago: int = 100,
         failed: int = 1) -> dict[str, Any]:  # fmt: skip
    cond = {"status": "True", "reason": "DeadlineExceeded", "message": MESSAGE,
            "lastTransitionTime": k.ts(failed_ago)}
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "reindex-29481240", "namespace": "shop", "uid": k.uid("job"),
                     "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob",
                                          "name": "reindex", "uid": k.uid("cj"),
                                          "controller": True}]},
        "spec": {"backoffLimit": 6, "activeDeadlineSeconds": deadline,
                 "template": {"spec": {"restartPolicy": "Never"}}},
        "status": {"failed": failed, "startTime": k.ts(started_ago), "conditions": [
            {"type": "FailureTarget", **cond}, {"type": "Failed", **cond}]},
    }


def _pod(name: str, exit_code: int, finished_ago: float) -> dict[str, Any]:
    c = k.container(name="reindex")
    p = k.pod(name=name, containers=[c], phase="Failed", owner=("Job", "reindex-29481240"))
    p["spec"]["restartPolicy"] = "Never"
    status = k.running_status(c, ready=False)
    status["state"] = {"terminated": k.terminated("Error", exit_code, finished_ago=finished_ago,
                                                  ran_for=500)}
    p["status"]["containerStatuses"] = [status]
    return p


def test_a_job_past_its_deadline_is_one_workload_finding_not_its_stopped_pod() -> None:
    # the pod still running at the deadline was stopped by it (SIGTERM, 143, when the
    # Job failed): that exit is no cause, and the pod gets no finding of its own
    stopped = _pod("reindex-29481240-q8w2c", 143, finished_ago=100)
    f = only(run([_job(), stopped]))
    assert (f.reason, f.pod, f.container) == (Reason.JOB_DEADLINE_EXCEEDED, None, None)
    assert f.owner == OwnerRef("CronJob", "reindex")
    assert f.details["activeDeadlineSeconds"] == 600
    assert f.details["ranSeconds"] == 600
    assert "podReason" not in f.details
    assert "activeDeadlineSeconds (600s)" in f.summary
    assert f.evidence[0] == ("Job reindex-29481240: condition Failed=True "
                             f"reason=DeadlineExceeded: {MESSAGE}")
    assert f.remediation == {"action": "fix-job-deadline", "job": "reindex-29481240",
                             "activeDeadlineSeconds": 600, "cause": None}


def test_a_pod_that_failed_before_the_deadline_is_its_cause() -> None:
    # retries that kept failing until the deadline: the earlier failure says why
    earlier = _pod("reindex-29481240-a1b2c", 1, finished_ago=400)
    stopped = _pod("reindex-29481240-q8w2c", 143, finished_ago=100)
    logs = {("shop", "reindex-29481240-a1b2c", "reindex"): "KeyError: 'SEARCH_URL'\n"}
    f = only(run([_job(failed=2), earlier, stopped], logs))
    assert f.reason is Reason.JOB_DEADLINE_EXCEEDED
    assert f.details["lastPod"] == "reindex-29481240-a1b2c"
    assert f.details["podReason"] == Reason.MISSING_ENV.value
    assert "log: KeyError: 'SEARCH_URL'" in f.evidence


def test_the_backoff_limit_keeps_its_own_code() -> None:
    job = _job()
    for cond in job["status"]["conditions"]:
        cond.update(reason="BackoffLimitExceeded",
                    message="Job has reached the specified backoff limit")
    f = only(run([job, _pod("reindex-29481240-a1b2c", 1, finished_ago=400)]))
    assert f.reason is Reason.JOB_BACKOFF_LIMIT_EXCEEDED
    assert f.details["backoffLimit"] == 6


def test_the_trace_says_which_failure_folded_the_pod() -> None:
    trace = Trace()
    diagnose([_job(), _pod("reindex-29481240-q8w2c", 143, finished_ago=100)], {}, trace=trace)
    after = [a for p in trace.pods.values() for a in p.after]
    assert any("Job reindex-29481240 failed (DeadlineExceeded)" in a
               and "Job.DeadlineExceeded finding" in a for a in after), after
