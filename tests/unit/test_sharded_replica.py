"""A replica that is one shard of several (crashwatch run --shards N --shard-index I): what it
asks kopf to ask the API server, what it drops itself when the API server does not shard,
which Lease it elects on, how its index is found; and, fed one cluster's watch events, N
replicas diagnose and publish every failing container exactly once, each in its own
namespaces."""

import asyncio
import copy

import kopf
import kube as k
import pytest
from kopf._cogs.structs.references import Resource
from structlog.testing import capture_logs

from crashwatch.cli import main, resolve_shard
from crashwatch.metrics import Metrics
from crashwatch.settings import ServerSettings, Settings, WatchSettings
from crashwatch.sharding import Shard
from crashwatch.watch.operator import (
    SHARDED_RESOURCES,
    direct_handlers,
    handlers,
    kopf_settings,
    lease_name,
    register,
    shard_filter,
)
from crashwatch.watch.publisher import ANN_REASON
from crashwatch.watch.store import Store
from crashwatch.watch.watchdog import START_GRACE_SECONDS, Watchdog

SELECTOR = Shard(1, 3).selector
OWNERS = [("apps", "v1", "replicasets"), ("apps", "v1", "deployments"),
          ("apps", "v1", "statefulsets"), ("apps", "v1", "daemonsets"), ("batch", "v1", "jobs"),
          ("batch", "v1", "cronjobs"), ("autoscaling.k8s.io", "v1", "verticalpodautoscalers")]


def resource(group, version, plural, namespaced=True):
    return Resource(group=group, version=version, plural=plural, namespaced=namespaced)


def test_kopf_asks_the_api_server_for_this_shards_pods_events_owners_and_policies():
    ks = kopf_settings(Settings(), shard_selector=SELECTOR, streaming=True)
    sharded = [resource("", "v1", "pods"), resource("", "v1", "events"),
               *(resource(*o) for o in OWNERS),
               resource("crashwatch.dev", "v1alpha1", "remediationpolicies")]
    for r in sharded:
        assert ks.watching.shard_selectors.collect(r) == [SELECTOR], r
    # namespaces and CRDs are never sharded
    for r in (resource("", "v1", "namespaces", namespaced=False),
              resource("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                       namespaced=False),
              resource("events.k8s.io", "v1", "events")):
        assert ks.watching.shard_selectors.collect(r) == [], r
    assert ks.watching.initial_streaming is True
    assert len(SHARDED_RESOURCES) == len(sharded)


def test_unsharded_or_client_filtered_replicas_pass_no_selector():
    ks = kopf_settings(Settings())
    assert list(ks.watching.shard_selectors) == []
    assert ks.watching.initial_streaming is False


def _obj(namespace):
    return {"metadata": {"namespace": namespace, "name": "x"}}


def namespaces_of(shard, n=40):
    return [ns for ns in (f"team-{i}" for i in range(n)) if shard.owns(ns)]


def test_the_client_side_filter_keeps_this_shards_namespaces_and_counts_the_rest():
    metrics = Metrics()
    shard = Shard(0, 2)
    admit = shard_filter(shard, metrics)
    assert admit is not None
    mine, theirs = namespaces_of(shard)[0], namespaces_of(Shard(1, 2))[0]
    for plural in ("pods", "events", "replicasets", "deployments", "jobs",
                   "remediationpolicies", "verticalpodautoscalers"):
        assert admit(plural, _obj(mine)) is True
        assert admit(plural, _obj(theirs)) is False
    assert admit("namespaces", _obj(theirs)) is True  # not sharded
    assert admit("pods", None) is Shard(0, 2).owns("")  # malformed: hashed as the server does
    dropped = metrics.registry.get_sample_value("crashwatch_shard_dropped_total",
                                                {"resource": "pods"})
    assert dropped == 1.0 + (not Shard(0, 2).owns(""))


def test_a_single_replica_filters_nothing():
    assert shard_filter(Shard(0, 1), Metrics()) is None


def test_each_shard_has_its_own_lease():
    assert lease_name(Settings()) == "crashwatch"
    sharded = Settings(watch=WatchSettings(shards=3, shard_index=2),
                       server=ServerSettings(lease_name="cw"))
    assert lease_name(sharded) == "cw-shard-2"


def test_the_index_is_taken_from_the_statefulset_pod_when_not_given():
    three = Settings(watch=WatchSettings(shards=3))
    assert resolve_shard(three, {"POD_INDEX": "2", "POD_NAME": "crashwatch-1"}
                         ).watch.shard_index == 2
    assert resolve_shard(three, {"POD_INDEX": "", "POD_NAME": "crashwatch-1"}
                         ).watch.shard_index == 1
    assert resolve_shard(Settings(), {}).watch.shard_index == 0


def test_run_refuses_a_shard_it_cannot_place(monkeypatch, capsys):
    monkeypatch.delenv("POD_NAME", raising=False)
    monkeypatch.delenv("POD_INDEX", raising=False)
    monkeypatch.delenv("CRASHWATCH_SHARD_INDEX", raising=False)
    assert main(["run", "--shards", "3"]) == 2
    assert "--shards 3 needs --shard-index" in capsys.readouterr().err
    assert main(["run", "--shards", "3", "--shard-index", "3"]) == 2
    assert "outside 0..2" in capsys.readouterr().err
    monkeypatch.setenv("CRASHWATCH_SHARDS", "0")
    assert main(["run"]) == 2
    assert "shard" in capsys.readouterr().err


# -- N replicas over one cluster's events --------------------------------------------------

class Recorder:
    def __init__(self):
        self.calls = []

    async def annotate(self, kind, namespace, name, annotations):
        self.calls.append(("annotate", kind, namespace, name, dict(annotations)))
        return True

    async def post_event(self, kind, namespace, name, uid, reason, message, type_="Warning"):
        self.calls.append(("event", kind, namespace, name, reason))
        return True


def _cluster(namespaces, per_namespace=2):
    """Per namespace a Deployment, its ReplicaSet and crash-looping pods, as a kubelet
    writes them, with the kubelet's BackOff Event."""
    events = []
    c = k.container()
    for ns in namespaces:
        dep = k.deployment("web", [c], 1, namespace=ns, replicas=per_namespace, available=0)
        rs = k.replicaset("web-5f6d7c8b9", "web", 1, [c], namespace=ns,
                          replicas=per_namespace, available=0)
        dep["metadata"]["uid"], rs["metadata"]["uid"] = k.uid(ns + "/web"), k.uid(ns + "/rs")
        events += [("deployments", {"type": None, "object": dep}),
                   ("replicasets", {"type": None, "object": rs})]
        for j in range(per_namespace):
            p = k.pod(name=f"web-5f6d7c8b9-{j:05d}", namespace=ns, containers=[c],
                      owner=("ReplicaSet", "web-5f6d7c8b9"))
            p["status"]["containerStatuses"] = [k.crashloop_status(
                c, p, k.terminated("OOMKilled", 137), restarts=3)]
            events += [("pods", {"type": "MODIFIED", "object": copy.deepcopy(p)}),
                       ("events", {"type": "ADDED", "object": k.event(
                           p, "BackOff", "Back-off restarting failed container app in pod "
                           f"{p['metadata']['name']}_{ns}({p['metadata']['uid']})",
                           container_name="app")})]
    return events


@pytest.mark.parametrize("count", [2, 3])
def test_n_shards_fed_the_whole_cluster_diagnose_each_failing_container_once(count):
    """The API server did not shard: every replica is sent every object and drops other
    shards' before holding them. Every failing pod is annotated once and gets one Event,
    by the replica that owns its namespace; the others hold nothing of it."""
    namespaces = [f"team-{i}" for i in range(12)]
    stream = _cluster(namespaces)

    async def go():
        replicas = []
        for i in range(count):
            settings = Settings(watch=WatchSettings(shards=count, shard_index=i))
            metrics, rec = Metrics(), Recorder()
            dog = Watchdog(settings, Store(settings.watch), rec, metrics)
            dog.started -= START_GRACE_SECONDS + 1
            table = handlers(dog, settings)
            admit = shard_filter(Shard(i, count), metrics)
            replicas.append((Shard(i, count), dog, rec))
            for (group, _, plural), handle in table.items():
                for kind, event in stream:
                    if kind == plural and group in ("", "apps") and admit(
                            plural, event["object"]):
                        handle(event)
        for _, dog, _ in replicas:
            await dog.drain()
        return replicas

    replicas = asyncio.run(go())
    annotated: dict[tuple[str, str], list[int]] = {}
    pod_events: dict[tuple[str, str], list[int]] = {}
    for i, (shard, dog, rec) in enumerate(replicas):
        for call in rec.calls:
            ns = call[2]
            assert shard.owns(ns), f"replica {i} wrote about {ns}"
            if call[0] == "annotate" and call[1] == "Pod" and call[4].get(ANN_REASON):
                annotated.setdefault((ns, call[3]), []).append(i)
            if call[0] == "event" and call[1] == "Pod":
                pod_events.setdefault((ns, call[3]), []).append(i)
        assert all(shard.owns(ns) for ns, _ in dog.store.pods)
        assert all(shard.owns(ns) for ns, _, _ in dog.workloads)
    expected = {(ns, f"web-5f6d7c8b9-{j:05d}") for ns in namespaces for j in range(2)}
    assert set(annotated) == expected and set(pod_events) == expected
    assert all(len(v) == 1 for v in annotated.values())  # exactly once
    assert all(len(v) == 1 for v in pod_events.values())
    assert len({i for v in annotated.values() for i in v}) > 1  # the work was shared


def test_namespace_events_stay_with_kopf_which_observes_that_stream_too():
    settings = Settings(watch=WatchSettings(namespace_selector="team=payments"))
    dog = Watchdog(settings, Store(settings.watch), Recorder(), Metrics())
    table = handlers(dog, settings)
    assert ("", "v1", "namespaces") in table
    direct = direct_handlers(table)
    assert ("", "namespaces") not in direct
    assert {("", "pods"), ("", "events"), ("apps", "replicasets"),
            ("batch", "jobs")} <= set(direct)


def test_kopfs_own_handlers_filter_too_where_the_adapter_is_not_installed():
    """On a kopf the watch-stream adapter does not know, kopf's handlers get the events:
    they drop other shards' objects the same way."""
    metrics = Metrics()
    seen: list[str] = []
    table = {("", "v1", "pods"): lambda e: seen.append(e["object"]["metadata"]["namespace"])}
    registry = kopf.OperatorRegistry()
    register(registry, table, shard_filter(Shard(0, 2), metrics))
    (handler,) = registry._watching.get_all_handlers()
    mine, theirs = namespaces_of(Shard(0, 2))[0], namespaces_of(Shard(1, 2))[0]
    for ns in (mine, theirs):
        asyncio.run(handler.fn(event={"type": "MODIFIED", "object": _obj(ns)}))
    assert seen == [mine]


def test_an_api_server_that_stops_sharding_is_caught_by_the_same_filter():
    metrics = Metrics()
    admit = shard_filter(Shard(0, 2), metrics, server=True)
    assert admit is not None
    theirs = namespaces_of(Shard(1, 2))[:2]
    with capture_logs() as logs:
        assert not admit("pods", _obj(theirs[0]))
        assert not admit("pods", _obj(theirs[1]))
    assert [e["event"] for e in logs] == [
        "the API server sent another shard's object although it shards; dropped here"]
    assert metrics.registry.get_sample_value("crashwatch_shard_dropped_total",
                                             {"resource": "pods"}) == 2
