"""Three ``crashwatch run`` shards (``--shards 3 --shard-index I``) on the real control plane,
over 30 namespaces with 300 failing pods: every failing container is diagnosed exactly once
(one annotation write, one Event) by the shard that owns its namespace; a shard killed and
started again picks its slice up (what failed or recovered meanwhile), doubling nothing. Once
with the API server sharding (feature gate ShardedListAndWatch on), once without (gate off:
each shard is sent everything and drops the others' objects itself)."""

from __future__ import annotations

import concurrent.futures
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client
from tests.cluster.controlplane.plane import ControlPlane, running_plane
from tests.cluster.nodes.kwok import kubelet
from tests.e2e.test_ha import ready
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

from crashwatch.sharding import Shard

pytestmark = [pytest.mark.e2e]

SHARDS = 3
# Namespaces differing in their last two characters only (shop-00, shop-01...) all hash into
# one shard (FNV-1a's top bits hardly depend on the last bytes): these spread 9/9/12.
NAMESPACES = [f"team-{i:02d}-e2e" for i in range(30)]
FAILING, RESERVE = 10, 1  # per namespace: 300 failing pods, and one held back
LOG = "FATAL: required environment variable VAULT_ADDR is not set\n"
EXPECTED = "CrashLoop.MissingEnv"


@pytest.fixture(scope="module", params=[True, False], ids=["server-side", "gate-off"])
def plane(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[ControlPlane]:
    """A plane of its own with room for 330 pods, ShardedListAndWatch on or off."""
    with running_plane(nodes=2, max_pods=200, sharded_watch=request.param,
                       workdir=tmp_path_factory.mktemp("shard-plane")) as cp:
        yield cp


def pod_writes(op: Operator, write: str) -> float:
    return op.sample("crashwatch_publications_total", write=write, target_kind="Pod",
                     result="ok")


def start_shard(plane: ControlPlane, work: Path, index: int, logs: Path) -> Operator:
    work.mkdir(parents=True)
    # stable-after 30 s, not the default 3: no running-again instance the kit writes (as a
    # real kubelet shows it) may count as a recovery however slowly a loaded machine lets
    # the kit write the next crash; 30 s still lets the recovery checked below happen
    # well within its wait.
    op = start_operator(plane, work, "remediation", logs_dir=logs, extra_env={
        "CRASHWATCH_SHARDS": str(SHARDS), "CRASHWATCH_SHARD_INDEX": str(index)},
        stable_after=30)
    wait_for(f"shard {index} ready", lambda: ready(op), timeout=60, op=op)
    return op


@pytest.mark.timeout(1200)
def test_three_shards_diagnose_each_failing_container_once_and_a_restarted_shard_picks_up(
    plane: ControlPlane, tmp_path: Path,
) -> None:
    api = plane.api_client()
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    shards = [Shard(i, SHARDS) for i in range(SHARDS)]
    owner = {ns: next(s.index for s in shards if s.owns(ns)) for ns in NAMESPACES}
    owned = [sorted(ns for ns in NAMESPACES if owner[ns] == i) for i in range(SHARDS)]
    assert all(owned), owned  # each shard has work
    for ns in NAMESPACES:
        core.create_namespace({"metadata": {"name": ns}})
    for ns in NAMESPACES:
        wait_for(f"{ns}'s default ServiceAccount",
                 lambda ns=ns: core.list_namespaced_service_account(ns).items, timeout=60)
        make_deployment(apps, ns, "svc", replicas=FAILING + RESERVE)
    logs = tmp_path / "logs"
    logs.mkdir()
    ops = [start_shard(plane, tmp_path / f"shard-{i}", i, logs) for i in range(SHARDS)]
    try:
        filtering = "server" if plane.sharded_watch else "client"
        for i, op in enumerate(ops):
            assert op.sample("crashwatch_shard_info", shard=str(i), shards=str(SHARDS),
                             filtering=filtering) == 1
        pods = {ns: sorted(p.metadata.name for p in running_pods(
            core, ns, "svc", n=FAILING + RESERVE)[:FAILING + RESERVE]) for ns in NAMESPACES}
        failing = [(ns, name) for ns in NAMESPACES for name in pods[ns][:FAILING]]
        reserve = {ns: pods[ns][FAILING] for ns in NAMESPACES}
        assert len(failing) == 300

        def crash(ref: tuple[str, str]) -> None:
            kubelet.crash_loop(core, ref, "app", exit_code=1, restarts=1, logs_dir=logs,
                               log=LOG)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(crash, failing))

        def diagnosed() -> int:
            return sum(1 for ns in NAMESPACES for p in core.list_namespaced_pod(ns).items
                       if annotations(p).get(REASON) == EXPECTED)
        wait_for("300 pods diagnosed", lambda: diagnosed() == 300, timeout=300, op=ops[0])
        wait_for("300 Events on pods, 30 on Deployments", lambda: sum(
            pod_writes(op, "event") for op in ops) == 300 and sum(op.sample(
                "crashwatch_publications_total", write="event", target_kind="Deployment",
                result="ok") for op in ops) == 30, timeout=60, op=ops[0])

        # Once each, by the shard that owns the namespace.
        for i, op in enumerate(ops):
            assert pod_writes(op, "annotation") == FAILING * len(owned[i]), (i, owned[i])
            assert pod_writes(op, "event") == FAILING * len(owned[i])
            assert op.sample("crashwatch_publications_total", result="http_409") == 0
            dropped = op.sample("crashwatch_shard_dropped_total", resource="pods")
            said = op.log_path.read_text()
            if plane.sharded_watch:
                assert dropped == 0  # the API server sent only this shard's
                assert "the API server shards the watches" in said
            else:
                assert dropped > 0  # sent everything; dropped the others' itself
                assert "the API server does not shard (feature gate ShardedListAndWatch" in said
        for ns, name in failing[::7]:
            events = own_events(core, ns, name)
            assert [(e.reason, e.count) for e in events] == [(EXPECTED, 1)], (ns, name)

        # A shard killed; meanwhile in its namespaces a held-back pod fails and a failing
        # one recovers. Started again, it publishes the one and clears the other, and
        # writes nothing about what it had already published; the others wrote nothing.
        victim = max(range(SHARDS), key=lambda i: len(owned[i]))
        ops[victim].proc.send_signal(signal.SIGKILL)
        ops[victim].proc.wait()
        others_before = [pod_writes(op, "annotation") + pod_writes(op, "event")
                         for i, op in enumerate(ops) if i != victim]
        recovered = [(ns, pods[ns][0]) for ns in owned[victim]]
        newly = [(ns, reserve[ns]) for ns in owned[victim]]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(crash, newly))
            list(pool.map(lambda ref: kubelet.recover(core, ref, "app"), recovered))
        ops[victim] = start_shard(plane, tmp_path / f"shard-{victim}-again", victim, logs)
        op = ops[victim]
        wait_for("the new failures published", lambda: all(
            annotations(core.read_namespaced_pod(name, ns)).get(REASON) == EXPECTED
            for ns, name in newly), timeout=120, op=op)
        wait_for("the recovered pods cleared", lambda: not any(
            REASON in annotations(core.read_namespaced_pod(name, ns))
            for ns, name in recovered), timeout=120, op=op)
        wait_for("the new failures' Events", lambda: pod_writes(op, "event") == len(newly),
                 timeout=60, op=op)
        # one write per new failure, one clear per recovery, nothing else
        assert pod_writes(op, "annotation") == len(newly) + len(recovered)
        assert [pod_writes(o, "annotation") + pod_writes(o, "event")
                for i, o in enumerate(ops) if i != victim] == others_before
        for ns, name in [*failing[1::7], *newly]:
            events = own_events(core, ns, name)
            assert [(e.reason, e.count) for e in events] == [(EXPECTED, 1)], (ns, name)
        for ns in NAMESPACES:
            events = own_events(core, ns, "svc")
            assert [(e.reason, e.count) for e in events] == [(EXPECTED, 1)], ns
    finally:
        for op in ops:
            if op.proc.poll() is None:
                stop_operator(op)
        api.close()
