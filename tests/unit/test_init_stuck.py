"""``Init.Stuck``: a regular init container that runs and never finishes (rules/init.py).

The pod is as a 1.36 kubelet writes it while an init container runs (KUBELET-FORMATS.md:
phase ``Pending``, ``Initialized=False ContainersNotInitialized``, the app containers waiting in
``PodInitializing``); the logs are quoted from public threads, cited beside each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kube as k
import pytest
from helpers import only

from crashwatch.diagnosis.engine import diagnose
from crashwatch.diagnosis.rules.init import INIT_STUCK_SECONDS
from crashwatch.model import Confidence, Finding, Reason

# apache/apisix-docker#252: the apisix-ingress-controller's init container, its Service name
# unresolvable
APISIX = """waiting for apisix-admin
nc: bad address 'apisix-admin.ingress-apisix.svc.cluster.local'
waiting for apisix-admin
nc: bad address 'apisix-admin.ingress-apisix.svc.cluster.local'
waiting for apisix-admin
nc: bad address 'apisix-admin.ingress-apisix.svc.cluster.local'
waiting for apisix-admin
nc: bad address 'apisix-admin.ingress-apisix.svc.cluster.local'
waiting for apisix-admin
"""
# apache/superset#14538: `kubectl logs ... -c wait-for-postgres` of a pod in Init:0/1
SUPERSET = """nc: bad address 'superset-postgresql'
waiting for db
nc: bad address 'superset-postgresql'
waiting for db
"""


def stuck_pod(init: str, ran_for: float, *, sidecar: bool = False,
              deleting: bool = False) -> dict[str, Any]:
    """A pod whose init container ``init`` has run ``ran_for`` seconds, its app waiting."""
    app = k.container()
    ic = k.container(name=init, image="busybox:1.36", memory_limit=None, memory_request=None,
                     command=["sh", "-c", "until nc -z db 5432; do echo waiting for db; "
                              "sleep 2; done"],
                     **({"restartPolicy": "Always"} if sidecar else {}))
    istatus = k.running_status(ic, started_ago=ran_for, ready=False)
    astatus = k.waiting_status(app, "PodInitializing")
    p = k.pod(containers=[app], init_containers=[ic], statuses=[astatus],
              init_statuses=[istatus], phase="Pending")
    conds = {c["type"]: c for c in p["status"]["conditions"]}
    conds["Initialized"].update(status="False", reason="ContainersNotInitialized",
                                message=f"containers with incomplete status: [{init}]")
    conds["Ready"].update(status="False", reason="ContainersNotReady",
                          message="containers with unready status: [app]")
    conds["ContainersReady"].update(status="False", reason="ContainersNotReady",
                                    message="containers with unready status: [app]")
    if deleting:
        p["metadata"]["deletionTimestamp"] = k.ts(0)
    return p


def logs_of(p: dict[str, Any], container: str, text: str) -> dict[tuple[str, str, str], str]:
    return {("shop", p["metadata"]["name"], container): text}


def run(objects: list[dict[str, Any]],
        logs: Mapping[tuple[str, str, str], str] | None = None) -> list[Finding]:
    """Judged at k.NOW, as the operator judges (its clock): a pod that changes no more gives a
    snapshot no later time than its last change."""
    table = dict(logs or {})
    return diagnose(objects, lambda ns, p, c: table.get((ns, p, c)), now=k.NOW.timestamp())


def test_a_wait_loop_on_a_name_that_does_not_resolve_is_stuck_with_the_host() -> None:
    p = stuck_pod("wait-for-apisix", 40 * 60)
    f = only(run([p], logs_of(p, "wait-for-apisix", APISIX)))
    assert (f.reason, f.container) == (Reason.INIT_STUCK, "wait-for-apisix")
    assert f.summary.startswith("Init container wait-for-apisix has run 40m without "
                                "finishing, so the pod never starts: it waits for "
                                "apisix-admin.ingress-apisix.svc.cluster.local")
    assert f.details["cause"] == "CrashLoop.DependencyUnreachable"
    assert f.details["host"] == "apisix-admin.ingress-apisix.svc.cluster.local"
    assert f.details["initContainer"] is True and f.details["runningSeconds"] >= 2400
    assert "log: nc: bad address 'apisix-admin.ingress-apisix.svc.cluster.local'" in f.evidence
    assert any(e.startswith("condition Initialized=False ContainersNotInitialized")
               for e in f.evidence)
    assert f.confidence is Confidence.MEDIUM


def test_the_superset_wait_for_postgres_names_the_service() -> None:
    p = stuck_pod("wait-for-postgres", 3 * 3600)
    f = only(run([p], logs_of(p, "wait-for-postgres", SUPERSET)))
    assert f.reason is Reason.INIT_STUCK
    assert "has run 3h" in f.summary and "superset-postgresql" in f.summary


def test_a_loop_that_only_says_it_waits_is_told_by_its_repeated_line() -> None:
    p = stuck_pod("wait", 15 * 60)
    log = "".join(f"[{i}] waiting for migrations to finish\n" for i in range(30))
    f = only(run([p], logs_of(p, "wait", log)))
    assert f.reason is Reason.INIT_STUCK
    assert f.details["repeated"] == 30
    assert "its log repeats '[29] waiting for migrations to finish'" in f.summary


def test_no_log_is_still_stuck_but_says_so_at_low_confidence() -> None:
    f = only(run([stuck_pod("wait", 15 * 60)]))
    assert f.reason is Reason.INIT_STUCK and f.confidence is Confidence.LOW
    assert "no log was available" in f.summary


@pytest.mark.parametrize("why", ["young", "sidecar", "deleting"])
def test_what_is_not_stuck(why: str) -> None:
    ran = INIT_STUCK_SECONDS - 60 if why == "young" else 3600
    p = stuck_pod("wait", ran, sidecar=why == "sidecar", deleting=why == "deleting")
    found = run([p], logs_of(p, "wait", APISIX))
    assert not [f for f in found if f.reason is Reason.INIT_STUCK], found


def test_a_snapshot_without_a_clock_is_stuck_only_when_its_log_shows_the_wait_loop() -> None:
    """``crashwatch diagnose -f`` judges a dump at its own newest timestamp, which may be the
    init container's start itself: how long it has run is unknown. Its log tells: a line said
    again and again, or a dependency it cannot reach (a running init container that failed to
    reach something and goes on is retrying it); a log that says neither is no finding."""
    p = stuck_pod("wait-for-postgres", 0)  # no later time in the snapshot than its start
    looping = diagnose([p], lambda ns, pod, c: SUPERSET)
    (f,) = [f for f in looping if f.reason is Reason.INIT_STUCK]
    assert f.summary.startswith("Init container wait-for-postgres runs a wait that does not "
                                "end, so the pod never starts: it waits for "
                                "superset-postgresql")
    assert "runningSeconds" not in f.details
    once = "nc: bad address 'superset-postgresql'\nwaiting for db\n"
    assert [f.reason for f in diagnose([p], lambda ns, pod, c: once)] == [Reason.INIT_STUCK]
    waiting = "waiting for db\nwaiting for db\n"
    assert not [f for f in diagnose([p], lambda ns, pod, c: waiting)
                if f.reason is Reason.INIT_STUCK]
    working = "".join(f"migrating table {t}\n" for t in ("users", "orders", "items"))
    assert not [f for f in diagnose([p], lambda ns, pod, c: working)
                if f.reason is Reason.INIT_STUCK]


def test_with_a_clock_a_young_wait_loop_is_no_finding_yet() -> None:
    """The operator's clock says the loop is young: a dependency that comes up a minute
    later is the ordinary start of a release, not news."""
    p = stuck_pod("wait-for-postgres", 60)
    assert not [f for f in run([p], logs_of(p, "wait-for-postgres", SUPERSET))
                if f.reason is Reason.INIT_STUCK]
