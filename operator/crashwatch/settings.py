"""Typed, documented settings for ``crashwatch run``: one dataclass per concern.

Every field can be set by a command-line flag or by an environment variable named
``CRASHWATCH_<FIELD>`` (upper case; lists comma-separated; booleans true/false).
Flags win over the environment, the environment over the defaults.
"""

from __future__ import annotations

import ast
import inspect
import os
import textwrap
from dataclasses import dataclass, field, fields


@dataclass(frozen=True, slots=True)
class WatchSettings:
    namespaces: tuple[str, ...] = ()
    """Namespaces to watch; empty: the whole cluster."""
    namespace_selector: str = ""
    """A label selector over Namespaces (``team=payments``): only pods in matching
    namespaces are diagnosed. Applied on top of ``namespaces``."""
    ignore_selector: str = "crashwatch.dev/ignore=true"
    """Pods or workloads whose labels match this selector are never diagnosed."""
    stable_after_seconds: float = 600.0
    """A container that crashed, then ran and was ready this long, has recovered (the
    kubelet resets its restart back-off after 10 minutes too)."""
    event_ttl_seconds: float = 3600.0
    """Events older than this are dropped from memory (Kubernetes keeps them an hour)."""
    max_events_per_pod: int = 32
    """At most this many recent events are kept per pod."""
    sweep_interval_seconds: float = 60.0
    """How often what is held is looked at again: expired events dropped, failing pods
    re-diagnosed (time changes some verdicts), what a relist no longer showed checked
    against the API server, failed writes retried."""
    verify_interval_seconds: float = 600.0
    """A held object that no watch event has shown for this long is checked against the
    API server (a watch can miss a deletion without a relist noticing)."""
    list_chunk_size: int = 500
    """Objects per page of the initial listings when they are paged lists (0: one unpaged
    list). Bounds the memory a start needs: one unpaged list of 10,000 pods peaked at 718 MB
    (bench/results/)."""
    initial_streaming: bool = True
    """Take the initial listings as a stream of the API server's initial events
    (``sendInitialEvents``, Kubernetes 1.34+) rather than as paged lists, where the API
    server offers it (checked at start; otherwise paged lists)."""
    shards: int = 1
    """Replicas the namespaces are split among, each with its own ``--shard-index``: pods,
    their Events, their owners and RemediationPolicies of a namespace go to one of them (the
    API server sends each only its share where it shards, Kubernetes 1.36+ with the
    ShardedListAndWatch feature gate; else each drops the others')."""
    shard_index: int = -1
    """Which shard this replica is, 0 to shards-1; -1: a StatefulSet pod's ordinal (the
    ``POD_INDEX`` variable, from the ``apps.kubernetes.io/pod-index`` label through the
    downward API, else the end of ``POD_NAME``)."""


@dataclass(frozen=True, slots=True)
class LogSettings:
    read_logs: bool = True
    """Read the previous container's log tail of crash-looping containers."""
    log_tail_lines: int = 200
    """Lines read from the end of the previous container's log."""
    log_max_bytes: int = 64 * 1024
    """Bytes read at most from the previous container's log."""
    logs_dir: str = ""
    """Read logs from ``DIR/<namespace>/<pod>/<container>.log`` instead of the API
    (tests, demos, clusters without kubelet log access)."""


@dataclass(frozen=True, slots=True)
class PublishSettings:
    annotations: bool = True
    """Write ``crashwatch.dev/*`` annotations on failing pods."""
    owner_annotations: bool = True
    """Also annotate the top owner (Deployment...). Needs patch on workloads: off in the
    watch-only install, where owners get Events only."""
    events: bool = True
    """Post Warning Events about failing pods and their top owner."""
    max_evidence_bytes: int = 2048
    """Bound of the ``crashwatch.dev/evidence`` annotation (JSON list of lines)."""
    dry_run: bool = False
    """Diagnose and count, but write nothing to the cluster."""


@dataclass(frozen=True, slots=True)
class RemediationSettings:
    remediation: bool = False
    """Act where a RemediationPolicy opts a workload in (needs the remediation overlay's
    CRD and write role). Off: diagnose only."""


@dataclass(frozen=True, slots=True)
class ServerSettings:
    metrics_port: int = 9090
    """Port of the Prometheus ``/metrics`` endpoint (0: off)."""
    health_port: int = 8080
    """Port of ``/healthz`` (liveness: the process answers) and ``/readyz`` (readiness:
    leading, the pods and owners listed, the API server answering); 0: off."""
    leader_election: bool = False
    """Run as one of several replicas: only the holder of a Lease diagnoses and writes; the
    others keep watching and take over within ``lease_seconds`` of its loss."""
    lease_name: str = "crashwatch"
    """Name of the Lease (``coordination.k8s.io/v1``) the replicas elect a leader with."""
    lease_namespace: str = ""
    """Namespace of the Lease; empty: the pod's own (in a cluster), else ``crashwatch``."""
    lease_seconds: float = 6.0
    """How long a leader's Lease holds without renewal (it renews every third of it)."""
    log_format: str = "auto"
    """``json`` (in the cluster), ``console`` (a terminal) or ``auto``."""
    log_level: str = "info"
    """Logging level: debug, info, warning, error."""


@dataclass(frozen=True, slots=True)
class Settings:
    watch: WatchSettings = field(default_factory=WatchSettings)
    logs: LogSettings = field(default_factory=LogSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)
    remediation: RemediationSettings = field(default_factory=RemediationSettings)
    server: ServerSettings = field(default_factory=ServerSettings)


def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each field of a settings dataclass (for --help and the README)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for node, after in zip(body, [*body[1:], None], strict=True):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def _convert(raw: str, default: object) -> object:
    if isinstance(default, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got {raw!r}")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, tuple):
        return tuple(x.strip() for x in raw.split(",") if x.strip())
    return raw


def env_overrides(cls: type, environ: dict[str, str] | None = None) -> dict[str, object]:
    """Field values for ``cls`` taken from ``CRASHWATCH_<FIELD>`` variables."""
    environ = dict(os.environ) if environ is None else environ
    found: dict[str, object] = {}
    for f in fields(cls):
        key = f"CRASHWATCH_{f.name.upper()}"
        if key in environ:
            default = f.default
            try:
                found[f.name] = _convert(environ[key], default)
            except ValueError as err:
                raise ValueError(f"{key}: {err}") from None
    return found
