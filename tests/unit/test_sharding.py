"""Shards of the namespace space (crashwatch/sharding.py), held to the Kubernetes code: the
hash and the ranges' bounds against vectors produced by k8s.io/apimachinery/pkg/sharding
itself (tests/sharding/go, committed as tests/sharding/vectors.json), and the ranges of any
number of shards covering the 64-bit space with no gap and no overlap."""

import itertools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crashwatch.sharding import (
    MAX_SHARDS,
    SPACE,
    Shard,
    bound,
    bounds,
    fnv1a64,
    hash_field,
    ordinal,
    resolve_index,
)

REPO = Path(__file__).resolve().parents[2]
VECTORS_DIR = REPO / "tests" / "sharding"
VECTORS = json.loads((VECTORS_DIR / "vectors.json").read_text())
# The API server's parser (k8s.io/apiserver/pkg/sharding/parser.go): a bound is 0x and 16
# lowercase hex digits, or exactly 0x10000000000000000.
GO_BOUND = re.compile(r"^0x(?:[0-9a-f]{16}|10000000000000000)$")


def test_vectors_come_from_the_kubernetes_package_the_control_plane_runs():
    assert VECTORS["source"] == "k8s.io/apimachinery@v0.36.3/pkg/sharding"
    assert VECTORS["field"] == "object.metadata.namespace"
    assert "k8s.io/apimachinery v0.36.3" in (VECTORS_DIR / "go" / "go.mod").read_text()
    assert len(VECTORS["hashes"]) > 100 and set(VECTORS["shards"]) == {
        str(n) for n in range(1, 17)}


def test_the_hash_is_the_api_servers():
    for value, expected in VECTORS["hashes"].items():
        assert hash_field(value) == expected, value
        assert fnv1a64(value) == int(expected, 16)


def test_the_ranges_are_the_ones_go_computes_and_parses():
    for n, shards in VECTORS["shards"].items():
        ours = [(bound(lo), bound(hi)) for lo, hi in itertools.pairwise(bounds(int(n)))]
        assert ours == [tuple(r) for r in shards["ranges"]], n
        assert all(GO_BOUND.match(b) for r in ours for b in r)


def test_each_namespace_lands_on_the_shard_go_matches_it_to():
    for n, shards in VECTORS["shards"].items():
        replicas = [Shard(i, int(n)) for i in range(int(n))]
        for value, owner in shards["owner"].items():
            assert [s.owns(value) for s in replicas].index(True) == owner, (n, value)
            assert sum(s.owns(value) for s in replicas) == 1


def test_the_selector_is_what_kopf_passes_and_the_api_server_parses():
    assert Shard(1, 4).selector == ("shardRange(object.metadata.namespace, "
                                    "'0x4000000000000000', '0x8000000000000000')")
    assert Shard(0, 1).selector.endswith("'0x0000000000000000', '0x10000000000000000')")
    assert Shard(2, 3).selector.endswith("'0xaaaaaaaaaaaaaaaa', '0x10000000000000000')")


def test_go_regenerates_the_committed_vectors(tmp_path):
    """The committed vectors are what the Go program prints (`make sharding-vectors`)."""
    go = shutil.which("go") or "/usr/local/go/bin/go"
    assert Path(go).exists(), "Go is needed (it builds the test control plane too)"
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false -mod=mod",
           "CGO_ENABLED": "0"}
    out = subprocess.run([go, "run", "."], cwd=VECTORS_DIR / "go", capture_output=True,
                         text=True, env=env, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout) == VECTORS


@given(st.integers(min_value=1, max_value=MAX_SHARDS))
def test_the_ranges_of_n_shards_cover_the_space_with_no_gap_and_no_overlap(n):
    shards = [Shard(i, n) for i in range(n)]
    assert shards[0].start == 0 and shards[-1].end == SPACE
    for a, b in itertools.pairwise(shards):
        assert a.end == b.start  # no gap, no overlap
    assert all(s.start < s.end for s in shards)
    sizes = [s.end - s.start for s in shards]
    assert max(sizes) - min(sizes) <= 1  # as even as integers allow


@given(st.integers(min_value=1, max_value=MAX_SHARDS), st.integers(0, SPACE - 1))
def test_every_hash_has_exactly_one_owner(n, h):
    owners = [i for i in range(n) if Shard(i, n).owns_hash(h)]
    assert len(owners) == 1
    edges = bounds(n)
    assert edges[owners[0]] <= h < edges[owners[0] + 1]


@given(st.integers(min_value=1, max_value=64), st.text(max_size=80))
def test_every_namespace_has_exactly_one_owner(n, namespace):
    assert sum(Shard(i, n).owns(namespace) for i in range(n)) == 1


@pytest.mark.parametrize(("index", "count"), [(-1, 3), (3, 3), (0, 0), (0, MAX_SHARDS + 1)])
def test_an_impossible_shard_is_refused(index, count):
    with pytest.raises(ValueError, match="shard"):
        Shard(index, count)


def test_the_index_comes_from_the_flag_the_pod_index_label_or_the_pod_name():
    assert resolve_index(1, -1) == (0, "single")
    assert resolve_index(3, 2, pod_index="0", pod_name="crashwatch-1") == (2, "--shard-index")
    assert resolve_index(3, -1, pod_index="1", pod_name="crashwatch-2") == (1, "pod-index label")
    assert resolve_index(3, -1, pod_index="", pod_name="crashwatch-2") == (
        2, "POD_NAME crashwatch-2")
    assert ordinal("crashwatch-shards-12") == 12 and ordinal("crashwatch") is None


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"count": 3, "index": -1}, "needs --shard-index"),
    ({"count": 3, "index": -1, "pod_name": "crashwatch-7b9f-xk2p"}, "needs --shard-index"),
    ({"count": 3, "index": 5}, "outside 0..2"),
    ({"count": 3, "index": -1, "pod_name": "crashwatch-3"}, "outside 0..2"),
    ({"count": 3, "index": -1, "pod_index": "two"}, "not a number"),
])
def test_a_missing_or_wrong_index_is_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        resolve_index(**kwargs)
