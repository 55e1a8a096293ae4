"""Prometheus metrics. Named ``crashwatch_*``; never labelled by pod name or uid."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from crashwatch import __version__
from crashwatch.model import Finding

FAILING_LABELS = ("namespace", "owner_kind", "owner_name", "container", "reason")
ZERO_SERIES_SECONDS = 900.0


class WatchEvents:
    """``crashwatch_watch_events_total{resource}`` and
    ``crashwatch_last_watch_event_timestamp_seconds{resource}``, counted in plain numbers and
    read at scrape time: a watch event costs two dictionary writes, not two labelled series'
    locks (7% of the event loop in steady churn, bench/results/)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.last: dict[str, float] = {}

    def seen(self, resource: str, now: float) -> None:
        self.counts[resource] = self.counts.get(resource, 0) + 1
        self.last[resource] = now

    def collect(self) -> Iterable[Metric]:
        events = CounterMetricFamily("crashwatch_watch_events", "Watch events seen, by resource.",
                                     labels=("resource",))
        # copies (atomic under the GIL): the event loop may add a resource meanwhile
        for resource, n in sorted(dict(self.counts).items()):
            events.add_metric((resource,), n)
        last = GaugeMetricFamily(
            "crashwatch_last_watch_event_timestamp_seconds",
            "Unix time of the last watch event per resource (a stuck watch stops moving).",
            labels=("resource",))
        for resource, t in sorted(dict(self.last).items()):
            last.add_metric((resource,), t)
        return [events, last]

    def describe(self) -> Iterable[Metric]:
        return []


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.failing = Gauge(
            "crashwatch_failing_containers",
            "Containers failing right now, by workload and reason (0 once recovered).",
            FAILING_LABELS, registry=r)
        self.workloads = Gauge(
            "crashwatch_failing_workload",
            "1 while a workload-level finding (e.g. Rollout.Regression) holds, else 0.",
            ("namespace", "owner_kind", "owner_name", "reason"), registry=r)
        self.diagnoses = Counter(
            "crashwatch_diagnoses_total", "Diagnoses that produced a new or changed finding.",
            ("reason",), registry=r)
        self.publications = Counter(
            "crashwatch_publications_total",
            "Writes to the cluster: annotations and Events, by target kind and result.",
            ("write", "target_kind", "result"), registry=r)
        self.watch_events = WatchEvents()
        r.register(self.watch_events)
        self.handler_errors = Counter(
            "crashwatch_handler_errors_total", "Errors while handling a watch event.",
            ("resource",), registry=r)
        self.delay = Histogram(
            "crashwatch_diagnosis_delay_seconds",
            "From a pod status change (its newest timestamp) to its published diagnosis.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60), registry=r)
        self.tracked = Gauge(
            "crashwatch_tracked_objects", "Objects held in memory, by kind.", ("kind",),
            registry=r)
        self.remediations = Counter(
            "crashwatch_remediations_total", "Remediation actions and refusals.",
            ("action", "result"), registry=r)
        self.leader = Gauge(
            "crashwatch_leader", "1 while this replica leads (diagnoses and writes), else 0.",
            registry=r)
        self.shard = Gauge(
            "crashwatch_shard_info",
            "1 for this replica's shard: its index, how many there are, and who filters "
            "(server: the API server sends only this shard's objects; client: it sends all "
            "and this replica drops the others'; none: not sharded).",
            ("shard", "shards", "filtering"), registry=r)
        self.shards = Gauge(
            "crashwatch_shards",
            "How many shards the namespaces are split into (1: not sharded); with "
            "crashwatch_shard_info, an alert counts the shards that report.", registry=r)
        self.shard_dropped = Counter(
            "crashwatch_shard_dropped_total",
            "Watch events of other shards' namespaces dropped by this replica (client-side "
            "filtering, where the API server does not shard), by resource.",
            ("resource",), registry=r)
        Info("crashwatch_build", "crashwatch build information.", registry=r).info(
            {"version": __version__})
        self._failing_counts: dict[tuple[str, ...], int] = {}
        self._zero_since: dict[tuple[Gauge, tuple[str, ...]], float] = {}

    @staticmethod
    def _failing_labels(f: Finding) -> tuple[str, ...]:
        return (f.namespace, f.owner.kind if f.owner else "Pod",
                f.owner.name if f.owner else "", f.container or "", f.reason.value)

    def update_failing(self, old: Iterable[Finding], new: Iterable[Finding]) -> None:
        """One pod's findings went from ``old`` to ``new``: adjust only the series they
        touch (a series that drops to zero stays, so a rate or an alert sees the drop)."""
        delta: Tally[tuple[str, ...]] = Tally()
        for f in old:
            if f.pod is not None:
                delta[self._failing_labels(f)] -= 1
        for f in new:
            if f.pod is not None:
                delta[self._failing_labels(f)] += 1
        for labels, d in delta.items():
            if d:
                n = max(self._failing_counts.get(labels, 0) + d, 0)
                self._failing_counts[labels] = n
                self._set(self.failing, labels, n)

    def set_workload(self, labels: tuple[str, ...], value: int) -> None:
        """``crashwatch_failing_workload``: 1 while a workload-level finding holds."""
        self._set(self.workloads, labels, value)

    def _set(self, gauge: Gauge, labels: tuple[str, ...], value: int) -> None:
        gauge.labels(*labels).set(value)
        if value == 0:
            self._zero_since.setdefault((gauge, labels), -1.0)
        else:
            self._zero_since.pop((gauge, labels), None)

    def collect_garbage(self, now: float, keep_seconds: float = ZERO_SERIES_SECONDS) -> None:
        """Gauge series that have stayed at 0 for ``keep_seconds`` go away (a workload long
        recovered or deleted is not news); until then a rate or an alert sees the drop."""
        for (gauge, labels), since in list(self._zero_since.items()):
            if since < 0:
                self._zero_since[(gauge, labels)] = now
            elif now - since >= keep_seconds:
                del self._zero_since[(gauge, labels)]
                if gauge is self.failing:
                    self._failing_counts.pop(labels, None)
                gauge.remove(*labels)
