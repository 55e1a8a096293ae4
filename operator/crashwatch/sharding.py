"""Namespaces split among replicas, hashed exactly as the API server hashes them.

Kubernetes 1.36's sharded list and watch (KEP-5866, feature gate ``ShardedListAndWatch``)
takes ``shardSelector=shardRange(object.metadata.namespace, '0x<start>', '0x<end>')`` and
sends a client only the objects whose field hashes into ``[start, end)``: 64-bit FNV-1a of the
field's bytes (``k8s.io/apimachinery/pkg/sharding``, ``HashField``), bounds written as
0x-prefixed 16-digit lowercase hex, the end of the space as ``0x10000000000000000``.

Shard ``i`` of ``n`` owns ``[floor(i * 2^64 / n), floor((i + 1) * 2^64 / n))``: the ranges of
``n`` shards cover the space with no gap and no overlap. The same hash filters client-side
when the API server does not shard (the gate off, an older server), so a replica owns the
same namespaces either way. Test vectors from the Go package itself:
``tests/sharding/vectors.json`` (``make sharding-vectors``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FNV64_OFFSET = 0xCBF29CE484222325
FNV64_PRIME = 0x100000001B3
MASK64 = (1 << 64) - 1
SPACE = 1 << 64
"""The hash space, ``[0, 2^64)``."""
NAMESPACE_FIELD = "object.metadata.namespace"
MAX_SHARDS = 1024
_CACHE_LIMIT = 65536
_ORDINAL = re.compile(r"-(\d+)$")


def fnv1a64(value: str) -> int:
    """64-bit FNV-1a of ``value``'s UTF-8 bytes (Go's ``hash/fnv.New64a``)."""
    h = FNV64_OFFSET
    for byte in value.encode("utf-8"):
        h = ((h ^ byte) * FNV64_PRIME) & MASK64
    return h


def hash_field(value: str) -> str:
    """As ``sharding.HashField``: 16 lowercase hex digits, no prefix."""
    return f"{fnv1a64(value):016x}"


def bound(value: int) -> str:
    """A ``shardRange()`` bound: ``0x`` and 16 hex digits, or ``0x10000000000000000``."""
    if not 0 <= value <= SPACE:
        raise ValueError(f"bound {value} is outside [0, 2^64]")
    return "0x10000000000000000" if value == SPACE else f"0x{value:016x}"


def bounds(count: int) -> list[int]:
    """The ``count + 1`` edges of ``count`` shards: 0, ..., 2^64."""
    if not 1 <= count <= MAX_SHARDS:
        raise ValueError(f"shards must be between 1 and {MAX_SHARDS}, got {count}")
    return [i * SPACE // count for i in range(count + 1)]


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` of ``count``: the namespaces whose hash falls into its range."""

    index: int = 0
    count: int = 1
    start: int = field(init=False)
    end: int = field(init=False)
    _owned: dict[str, bool] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_SHARDS:
            raise ValueError(f"shards must be between 1 and {MAX_SHARDS}, got {self.count}")
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard index must be between 0 and {self.count - 1}, "
                             f"got {self.index}")
        object.__setattr__(self, "start", self.index * SPACE // self.count)
        object.__setattr__(self, "end", (self.index + 1) * SPACE // self.count)
        object.__setattr__(self, "_owned", {})

    @property
    def sharded(self) -> bool:
        """More than one shard: there is something to filter."""
        return self.count > 1

    @property
    def selector(self) -> str:
        """The ``shardSelector`` the API server takes for this shard's namespaces."""
        return f"shardRange({NAMESPACE_FIELD}, '{bound(self.start)}', '{bound(self.end)}')"

    def owns_hash(self, h: int) -> bool:
        return self.start <= h < self.end

    def owns(self, namespace: str) -> bool:
        """Is this namespace this shard's? (Cluster-scoped objects, namespace "", hash the
        empty string, as the API server does.) Remembered per namespace: a watch event costs
        a dictionary lookup."""
        owned = self._owned.get(namespace)
        if owned is None:
            if len(self._owned) >= _CACHE_LIMIT:
                self._owned.clear()
            owned = self._owned[namespace] = self.owns_hash(fnv1a64(namespace))
        return owned

    def __str__(self) -> str:
        return f"{self.index}/{self.count} [{bound(self.start)}, {bound(self.end)})"


def ordinal(pod_name: str) -> int | None:
    """A StatefulSet pod's ordinal from its name (``crashwatch-2`` -> 2), else None."""
    m = _ORDINAL.search(pod_name)
    return int(m[1]) if m else None


def resolve_index(count: int, index: int, pod_index: str = "", pod_name: str = ""
                  ) -> tuple[int, str]:
    """Which shard this replica is, and where that came from: ``--shard-index`` when given
    (>= 0), else the StatefulSet pod's ordinal (the ``apps.kubernetes.io/pod-index`` label
    through the downward API, else the ``POD_NAME`` suffix). One shard: always 0.

    Raises ValueError when the index cannot be told or is out of range."""
    if count == 1 and index in (-1, 0):
        return 0, "single"
    if index >= 0:
        found, source = index, "--shard-index"
    elif pod_index.strip():
        if not pod_index.strip().isdigit():
            raise ValueError(f"the pod-index label is not a number: {pod_index!r}")
        found, source = int(pod_index), "pod-index label"
    elif pod_name and (n := ordinal(pod_name)) is not None:
        found, source = n, f"POD_NAME {pod_name}"
    else:
        raise ValueError(f"--shards {count} needs --shard-index (or CRASHWATCH_SHARD_INDEX, "
                         "or a StatefulSet pod's POD_NAME ending in its ordinal)")
    if not 0 <= found < count:
        raise ValueError(f"shard index {found} (from {source}) is outside 0..{count - 1}")
    return found, source
