"""Holdout round 22's mechanisms (init containers that never finish): what first contact
missed, each on the quoted lines of the case that showed it (sources cited beside each)."""

from __future__ import annotations

import copy
from typing import Any

import kube as k
from test_init_stuck import stuck_pod

from crashwatch.diagnosis.engine import diagnose
from crashwatch.diagnosis.logcause import read_crash
from crashwatch.diagnosis.rules.init import INIT_STUCK_SECONDS
from crashwatch.model import Reason

# helm/charts#4560: peer-finder waits for its own name among the peers (a cluster domain
# mismatch); three rounds of the loop as pasted
MONGO = """My Hostname: mongo-mongodb-replicaset-2.mongo-mongodb-replicaset.default.svc.iron
Hosts in list: mongo-mongodb-replicaset-0.mongo-mongodb-replicaset.default.svc.iron-cluster
2018/05/09 17:45:23 Have not found myself in list yet.
My Hostname: mongo-mongodb-replicaset-2.mongo-mongodb-replicaset.default.svc.iron
Hosts in list: mongo-mongodb-replicaset-0.mongo-mongodb-replicaset.default.svc.iron-cluster
2018/05/09 17:45:24 Have not found myself in list yet.
My Hostname: mongo-mongodb-replicaset-2.mongo-mongodb-replicaset.default.svc.iron
Hosts in list: mongo-mongodb-replicaset-0.mongo-mongodb-replicaset.default.svc.iron-cluster
2018/05/09 17:45:25 Have not found myself in list yet.
"""
# kubernetes-operators-book/chapters#12: etcd-operator's check-dns init container
ETCD = """nslookup: can't resolve 'example-etcd-cluster-9cwsm2n8g7.example-etcd-cluster.default.svc'
Server:    10.96.0.10
Address 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local
"""
# openclarity/openclarity#26: clair's check-db-ready loop on pg_isready
CLAIR = """postgres:5432 - no response
waiting for database
postgres:5432 - no response
waiting for database
"""


def _stalled(p: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod's ReplicaSet and its Deployment, the Deployment past its progress deadline."""
    rs_name = p["metadata"]["ownerReferences"][0]["name"]
    rs = k.replicaset(rs_name, "web", 1, p["spec"]["containers"])
    dep = k.deployment("web", p["spec"]["containers"], 1)
    dep["status"]["conditions"] = [{
        "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
        "message": f'ReplicaSet "{rs_name}" has timed out progressing.',
        "lastUpdateTime": k.ts(0), "lastTransitionTime": k.ts(0)}]
    return [rs, dep]


def test_a_rollout_past_its_deadline_while_the_init_container_runs_is_stuck() -> None:
    """The Deployment controller's own verdict (ProgressDeadlineExceeded for the pod's
    ReplicaSet) says the rollout stalled, however long the clock says the init container has
    run (the deadline counts from the rollout, the init container started later)."""
    p = stuck_pod("check-db-ready", INIT_STUCK_SECONDS - 60)
    objects = [p, *_stalled(p)]
    assert not [f for f in diagnose([p], lambda *a: CLAIR, now=k.NOW.timestamp())
                if f.reason is Reason.INIT_STUCK]
    (f,) = [f for f in diagnose(objects, lambda *a: CLAIR, now=k.NOW.timestamp())
            if f.reason is Reason.INIT_STUCK]
    assert f.details["progressDeadlineExceeded"] is True
    assert any("ProgressDeadlineExceeded" in e for e in f.evidence)
    other = copy.deepcopy(objects)
    other[2]["status"]["conditions"][0]["message"] = 'ReplicaSet "web-1" has timed out progressing.'
    assert not [f for f in diagnose(other, lambda *a: CLAIR, now=k.NOW.timestamp())
                if f.reason is Reason.INIT_STUCK]  # another ReplicaSet's deadline


def test_pg_isready_without_a_response_names_the_database() -> None:
    cause = read_crash(CLAIR).cause
    assert cause is not None and cause.reason is Reason.DEPENDENCY_UNREACHABLE
    assert (cause.groups["host"], cause.groups["port"]) == ("postgres", "5432")


def test_a_single_name_that_does_not_resolve_tells_a_snapshot_without_a_clock() -> None:
    p = stuck_pod("check-dns", 0)
    (f,) = diagnose([p], lambda *a: ETCD)
    assert f.reason is Reason.INIT_STUCK
    assert "example-etcd-cluster-9cwsm2n8g7.example-etcd-cluster.default.svc" in f.summary


def test_the_looping_line_that_says_what_is_awaited_is_the_one_told() -> None:
    p = stuck_pod("bootstrap", 3600)
    (f,) = diagnose([p], lambda *a: MONGO, now=k.NOW.timestamp())
    assert "Have not found myself in list yet." in f.summary
