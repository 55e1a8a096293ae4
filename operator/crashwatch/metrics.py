"""Prometheus metrics. Named ``crashwatch_*``; never labelled by pod name or uid."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from crashwatch import __version__
from crashwatch.model import Finding

FAILING_LABELS = ("namespace", "owner_kind", "owner_name", "container", "reason")


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
        self.watch_events = Counter(
            "crashwatch_watch_events_total", "Watch events seen, by resource.",
            ("resource",), registry=r)
        self.handler_errors = Counter(
            "crashwatch_handler_errors_total", "Errors while handling a watch event.",
            ("resource",), registry=r)
        self.last_event = Gauge(
            "crashwatch_last_watch_event_timestamp_seconds",
            "Unix time of the last watch event per resource (a stuck watch stops moving).",
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
        Info("crashwatch_build", "crashwatch build information.", registry=r).info(
            {"version": __version__})
        self._failing_series: set[tuple[str, ...]] = set()

    def set_failing(self, findings: Iterable[Finding]) -> None:
        """Set the failing-containers gauge from every current finding; series that are
        no longer failing drop to zero (and stay, so a rate or alert sees the drop)."""
        counts: Tally[tuple[str, ...]] = Tally()
        for f in findings:
            if f.pod is None:
                continue
            counts[(f.namespace, f.owner.kind if f.owner else "Pod",
                     f.owner.name if f.owner else "", f.container or "", f.reason.value)] += 1
        for labels in self._failing_series - set(counts):
            self.failing.labels(*labels).set(0)
        for labels, n in counts.items():
            self.failing.labels(*labels).set(n)
        self._failing_series |= set(counts)
