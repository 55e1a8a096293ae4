"""Two ``crashwatch run`` replicas with leader election (deploy/overlays/ha's RBAC) on the real
control plane: exactly one acts; when it is killed with SIGKILL the other takes over within
10 seconds, and nothing is written twice."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from kubernetes import client
from tests.cluster.controlplane.plane import ControlPlane
from tests.cluster.nodes.kwok import kubelet
from tests.e2e.test_operator import (
    REASON,
    Operator,
    annotations,
    make_deployment,
    own_events,
    running_pods,
    start_operator,
    stop_operator,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

LOG = "FATAL: required environment variable VAULT_ADDR is not set\n"


def ready(op: Operator) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{op.health_port}/readyz",
                                    timeout=2) as r:
            return bool(json.loads(r.read())["ready"])
    except urllib.error.HTTPError as err:
        if err.code == 503:
            return False
        raise


def writes(op: Operator) -> float:
    return op.sample("crashwatch_publications_total")


def test_one_replica_acts_and_the_other_takes_over_within_10s_of_a_sigkill(
    control_plane: ControlPlane, core: client.CoreV1Api, apps: client.AppsV1Api,
    namespace: str, tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    ops = []
    for name in ("crashwatch-a", "crashwatch-b"):
        (tmp_path / name).mkdir()
        ops.append(start_operator(control_plane, tmp_path / name, "ha", logs_dir=logs,
                                  extra_env={"CRASHWATCH_LEADER_ELECTION": "true",
                                             "CRASHWATCH_LEASE_NAMESPACE": "crashwatch",
                                             "POD_NAME": name},
                                  wait_ready=False))  # a standby is never ready
    try:
        leader = wait_for("one ready replica", lambda: next(
            (op for op in ops if ready(op)), None), op=ops[0])
        standby = ops[1] if leader is ops[0] else ops[0]
        assert not ready(standby)
        assert leader.sample("crashwatch_leader") == 1
        assert standby.sample("crashwatch_leader") == 0

        make_deployment(apps, namespace, "first")
        first = running_pods(core, namespace, "first")[0].metadata.name
        kubelet.crash_loop(core, (namespace, first), "app", exit_code=1, restarts=3,
                           logs_dir=logs, log=LOG)
        wait_for("the first diagnosis", lambda: annotations(core.read_namespaced_pod(
            first, namespace)).get(REASON) == "CrashLoop.MissingEnv", op=leader)
        wait_for("the first pod's Event", lambda: own_events(core, namespace, first),
                 op=leader)
        assert writes(standby) == 0  # the standby wrote nothing

        make_deployment(apps, namespace, "second")
        second = running_pods(core, namespace, "second")[0].metadata.name
        leader.proc.send_signal(signal.SIGKILL)
        leader.proc.wait()
        killed = time.monotonic()
        kubelet.crash_loop(core, (namespace, second), "app", exit_code=1, restarts=3,
                           logs_dir=logs, log=LOG)
        wait_for("the second diagnosis, by the standby", lambda: annotations(
            core.read_namespaced_pod(second, namespace)).get(REASON) == "CrashLoop.MissingEnv",
            timeout=30, op=standby)
        took = time.monotonic() - killed
        assert took < 10, f"the standby took {took:.1f}s to take over"
        assert standby.sample("crashwatch_leader") == 1
        wait_for("the standby ready", lambda: ready(standby), op=standby)

        # Nothing doubled: the first pod's Event is still the one, posted once; the new
        # leader wrote only about the second pod (and its Deployment).
        events = own_events(core, namespace, first)
        assert len(events) == 1 and events[0].count == 1
        assert standby.sample("crashwatch_publications_total", write="annotation",
                              target_kind="Pod") == 1
        assert standby.sample("crashwatch_publications_total", write="event",
                              target_kind="Pod") == 1
    finally:
        for op in ops:
            if op.proc.poll() is None:
                stop_operator(op)
