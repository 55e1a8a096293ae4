"""The watch layer's store: what it keeps of owners between events."""

import copy

import kube as k

from crashwatch.settings import Settings
from crashwatch.watch.store import Store

SEEN = "crashwatch.dev/seen-available"


def _rs(available: int) -> dict:
    return k.replicaset("web-5c8d7f9b4", "web", 2, [k.container()], replicas=available,
                        available=available)


def test_a_replicaset_scaled_to_zero_keeps_the_most_available_pods_it_was_seen_with():
    store = Store(Settings().watch)
    store.upsert_owner("ReplicaSet", _rs(1))
    store.upsert_owner("ReplicaSet", _rs(3))
    scaled = _rs(0)
    scaled["status"] = {"replicas": 0, "observedGeneration": 4}
    before = copy.deepcopy(scaled)
    store.upsert_owner("ReplicaSet", scaled)
    kept = store.owner("ReplicaSet", "shop", "web-5c8d7f9b4")
    assert kept is not None
    assert kept["metadata"]["annotations"][SEEN] == "3"
    assert scaled == before  # the watched body is not touched


def test_a_replicaset_never_seen_available_carries_no_mark():
    store = Store(Settings().watch)
    store.upsert_owner("ReplicaSet", _rs(0))
    kept = store.owner("ReplicaSet", "shop", "web-5c8d7f9b4")
    assert kept is not None
    assert SEEN not in kept["metadata"].get("annotations", {})
