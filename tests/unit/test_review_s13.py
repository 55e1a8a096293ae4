"""What a review of Workload.FailedCreate and Init.Stuck found (a helper who had not written
them; /work/coord/notes/review-s13.md at the time), each shown on the input it was found with.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import kube as k
import pytest
from test_init_stuck import stuck_pod
from test_watchdog import Clock, Recorder, make

from crashwatch.diagnosis.engine import diagnose
from crashwatch.diagnosis.generic import match_line as generic_match
from crashwatch.diagnosis.logcause import read_crash
from crashwatch.diagnosis.rules.create import short_of_pods
from crashwatch.diagnosis.view import parse_time
from crashwatch.metrics import Metrics
from crashwatch.model import Reason
from crashwatch.settings import Settings
from crashwatch.watch.publisher import ANN_REASON
from crashwatch.watch.store import Store, trim_owner
from crashwatch.watch.watchdog import START_GRACE_SECONDS, Watchdog

ITEMS = json.loads((Path(__file__).parents[1] / "cluster" / "controlplane"
                    / "observed-failed-create-1.36.json").read_text())["items"]


def captured(kind: str, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    obj = next(o for o in ITEMS if o["kind"] == kind and o["metadata"]["name"] == name)
    events = [o for o in ITEMS if o["kind"] == "Event" and o["reason"] == "FailedCreate"
              and o["involvedObject"]["name"] == name]
    return copy.deepcopy(obj), copy.deepcopy(events)


def test_an_init_container_read_while_it_ran_is_read_again_once_it_exits() -> None:
    """The running read is kept under a key of its own: the same instance's exit is read
    anew, and its last words are the crash's cause."""
    p = stuck_pod("wait-for-db", 700)
    cid = p["status"]["initContainerStatuses"][0]["containerID"]
    waiting = "waiting for db\n" * 20
    logs = {"now": waiting}
    reads: list[tuple[str, bool]] = []

    async def reader(ns: str, pod: str, container: str, previous: bool) -> str:
        reads.append((container, previous))
        return logs["now"]

    d, _, clock = make(log_reader=reader)

    async def go() -> list[Any]:
        d.on_pod("ADDED", p)
        await d.drain()
        clock.t += 300
        logs["now"] = waiting + 'FATAL: password authentication failed for user "app"\n'
        q = copy.deepcopy(p)
        cs = q["status"]["initContainerStatuses"][0]
        cs["state"] = {"terminated": {"exitCode": 1, "reason": "Error", "containerID": cid,
                                      "startedAt": cs["state"]["running"]["startedAt"],
                                      "finishedAt": k.ts(0)}}
        d.on_pod("MODIFIED", q)
        await d.drain()
        return [f for r in d.pods.values() for f in r.findings]

    (f,) = asyncio.run(go())
    assert reads == [("wait-for-db", False), ("wait-for-db", False)]
    assert "password authentication failed" in f.summary


@pytest.mark.parametrize("line", [
    # webpack's and Next.js's build error: a module, not a host
    "Module not found: Error: Can't resolve 'react-dom/client' in '/app/src'",
    "ERROR in ./src/index.js 5:0-40 Module not found: Error: Can't resolve './App'",
    "error: bad address 'x'",
])
def test_only_busyboxs_tools_say_bad_address_or_cant_resolve_about_a_host(line: str) -> None:
    assert generic_match(line) is None
    assert read_crash(line + "\n").cause is None


def test_busyboxs_nc_still_names_its_host() -> None:
    found = generic_match("nc: bad address 'superset-postgresql'")
    assert found is not None and found.groups == {"host": "superset-postgresql"}


@pytest.mark.parametrize("how", ["suspend", "parallelism", "condition"])
def test_a_suspended_job_is_not_short_of_pods_and_is_kept_so(how: str) -> None:
    job, _ = captured("Job", "psa-job")
    assert short_of_pods(job, "Job")
    if how == "suspend":
        job["spec"]["suspend"] = True
    elif how == "parallelism":
        job["spec"]["parallelism"] = 0
    else:
        job["status"]["conditions"] = [{"type": "Suspended", "status": "True"}]
    assert not short_of_pods(job, "Job")
    assert not short_of_pods(trim_owner("Job", job), "Job")  # the store keeps what tells


def test_a_suspended_job_costs_no_events_read() -> None:
    job, events = captured("Job", "psa-job")
    job["spec"]["suspend"] = True
    reads: list[str] = []

    async def refusals(ns: str, kind: str, name: str, uid: str = "") -> list[dict[str, Any]]:
        reads.append(name)
        return events

    d, _, clock = make(refusals=refusals)

    async def go() -> None:
        d.on_owner("Job", "ADDED", job)
        for _ in range(5):
            clock.t += 120
            await d.sweep()
            await d.drain()

    asyncio.run(go())
    assert reads == [] and not d.workloads


def test_a_namesakes_refusal_and_a_refusal_a_create_superseded_are_history() -> None:
    sts, events = captured("StatefulSet", "psa-sts")
    newest = max(parse_time(e["lastTimestamp"]) or 0.0 for e in events)
    assert [f.reason for f in diagnose([sts, *events], now=newest + 5)] == [
        Reason.WORKLOAD_FAILED_CREATE]
    recreated = copy.deepcopy(sts)
    recreated["metadata"]["uid"] = "another-uid"
    assert diagnose([recreated, *events], now=newest + 5) == []
    created = copy.deepcopy(events[-1])
    created.update(reason="SuccessfulCreate", type="Normal",
                   message="create Pod psa-sts-0 in StatefulSet psa-sts successful",
                   lastTimestamp=k.ts(0).replace(k.ts(0)[:4], "2099"))
    created["metadata"] = {**created["metadata"], "name": "created", "uid": "created"}
    assert diagnose([sts, *events, created], now=newest + 5) == []


def test_a_workload_the_selectors_exclude_is_neither_diagnosed_nor_read() -> None:
    dep, _ = captured("Deployment", "psa")
    rs, _ = captured("ReplicaSet", "psa-6f485cc584")
    sts, _ = captured("StatefulSet", "psa-sts")
    for o in (dep, rs, sts):
        o["metadata"].setdefault("labels", {})["crashwatch.dev/ignore"] = "true"
    reads: list[str] = []

    async def refusals(ns: str, kind: str, name: str, uid: str = "") -> list[dict[str, Any]]:
        reads.append(name)
        return []

    for selector in ("", "team=payments"):
        s = Settings()
        s = dataclasses.replace(s, watch=dataclasses.replace(
            s.watch, namespace_selector=selector,
            ignore_selector="" if selector else s.watch.ignore_selector))
        clock, rec = Clock(), Recorder()
        d = Watchdog(s, Store(s.watch, clock=clock), rec, Metrics(), clock=clock,
                     refusals=refusals)
        clock.t += START_GRACE_SECONDS + 1

        async def go(d: Watchdog = d) -> None:
            d.on_namespace("ADDED", {"metadata": {"name": "fc", "labels": {"team": "other"}}})
            for kind, obj in (("Deployment", dep), ("ReplicaSet", rs), ("StatefulSet", sts)):
                d.on_owner(kind, "ADDED", obj)
            await d.drain()

        asyncio.run(go())
        assert not rec.calls and not d.workloads, (selector, rec.calls)
    assert reads == []


@pytest.mark.parametrize("log", [
    "".join(f"Downloading model shard {i}/40 ({i * 100 // 40}%)\n" for i in range(1, 38)),
    "".join(f"Applying migration {i:04d}_auto... OK\n" for i in range(1, 30)),
])
def test_progress_is_no_wait_loop(log: str) -> None:
    """A snapshot without a clock: lines whose numbers change without waiting words are
    progress, not a loop (no finding); with a clock past the threshold the finding says how
    the log ends, not that it repeats."""
    young = stuck_pod("fetch", 30)
    assert not [f for f in diagnose([young], lambda ns, p, c: log)
                if f.reason is Reason.INIT_STUCK]
    old = stuck_pod("fetch", 3600)
    (f,) = [f for f in diagnose([old], lambda ns, p, c: log, now=k.NOW.timestamp())
            if f.reason is Reason.INIT_STUCK]
    assert "repeats" not in f.summary and "its log ends with" in f.summary


def test_a_long_refusal_is_bounded_like_every_evidence() -> None:
    dep, _ = captured("Deployment", "psa")
    rs, _ = captured("ReplicaSet", "psa-6f485cc584")
    many = ", ".join(f'check{i} (container "app" must set securityContext.field{i}=true)'
                     for i in range(40))
    message = f'pods "psa-x" is forbidden: violates PodSecurity "restricted:latest": {many}'
    for obj in (dep, rs):
        for c in obj["status"]["conditions"]:
            if c["type"] == "ReplicaFailure":
                c["message"] = message
    (f,) = [f for f in diagnose([dep, rs]) if f.owner and f.owner.name == "psa"]
    assert len(f.evidence) <= 10
    assert len(f.details["violations"]) == 40  # all named in the details


def test_a_replicaset_of_a_controller_not_read_is_said_on_the_replicaset() -> None:
    """An Argo Rollout's ReplicaSet: its refusal is said on the ReplicaSet, and its status
    updates do not rebuild a record of a Rollout crashwatch does not hold."""
    rs, _ = captured("ReplicaSet", "psa-6f485cc584")
    rs["metadata"]["ownerReferences"] = [{"apiVersion": "argoproj.io/v1alpha1",
                                          "kind": "Rollout", "name": "psa", "uid": "r",
                                          "controller": True}]
    (f,) = diagnose([rs])
    assert (f.reason, f.owner.kind if f.owner else None) == (Reason.WORKLOAD_FAILED_CREATE,
                                                              "ReplicaSet")
    d, rec, _ = make()

    async def go() -> None:
        d.on_owner("ReplicaSet", "ADDED", rs)
        await d.drain()

    asyncio.run(go())
    assert [c[3][ANN_REASON] for c in rec.writes("ReplicaSet") if c[0] == "annotate"] == [
        "Workload.FailedCreate"]
