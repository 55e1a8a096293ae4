"""What happened to a workload before now: who changed a field (``managedFields``), and what
crashwatch said about it earlier (its own annotations and Events).

**Who changed it.** Every object carries ``metadata.managedFields``: per field manager
(``kubectl-set``, ``kubectl-client-side-apply``, ``helm``, ``argocd-controller``, an
autoscaler...) the fields it last set, and when. :func:`changed_by` names the manager that
holds a field of a container (its memory limit, its image) and the time of that write.

**The workload's history annotation** (``crashwatch.dev/history``), which the live operator
keeps on each workload it publishes to, and ``crashwatch diagnose`` reads from a snapshot::

    crashwatch.dev/history: '[{"reason": "CrashLoop.MissingEnv",
                               "since": "2026-11-20T09:12:00Z", "revision": "3"},
                              {"reason": "CrashLoop.OOMAfterShrink",
                               "since": "2026-11-20T10:02:41Z", "revision": "4"}]'

- a JSON list, oldest first, of the workload-level reasons crashwatch published: ``reason``
  (a reason code), ``since`` (RFC 3339, when it was first published), ``revision`` (the
  workload's ``deployment.kubernetes.io/revision`` then, or ``""``);
- an entry is appended when the published reason changes, not when it repeats; at most
  :data:`HISTORY_LIMIT` entries are kept (the oldest dropped), so the value stays under 1 KiB;
- it is history: it stays when the workload recovers (unlike ``crashwatch.dev/reason``).

:func:`history_value` computes the next value of the annotation from the current one; the
operator writes what it returns. Readers never trust it further than its bounds: an
unreadable or oversized value reads as no history.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crashwatch.diagnosis.view import as_dict, as_list, as_str, meta, parse_time

HISTORY_ANNOTATION = "crashwatch.dev/history"
REASON_ANNOTATION = "crashwatch.dev/reason"
SINCE_ANNOTATION = "crashwatch.dev/since"
HISTORY_LIMIT = 10
MAX_HISTORY_CHARS = 4096


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    reason: str
    since: str
    revision: str = ""

    @property
    def time(self) -> float | None:
        return parse_time(self.since)

    def to_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "since": self.since, "revision": self.revision}


def read_history(obj: Mapping[str, Any] | None) -> list[HistoryEntry]:
    """The history a workload carries: its ``crashwatch.dev/history`` entries, then the
    reason published now (``crashwatch.dev/reason`` and ``crashwatch.dev/since``) if the
    list does not end with it. Oldest first; malformed entries are skipped."""
    annotations = as_dict(meta(obj or {}).get("annotations"))
    out: list[HistoryEntry] = []
    raw = annotations.get(HISTORY_ANNOTATION)
    if isinstance(raw, str) and len(raw) <= MAX_HISTORY_CHARS:
        try:
            items = json.loads(raw)
        except (ValueError, RecursionError):
            items = []
        for item in as_list(items)[-HISTORY_LIMIT:]:
            item = as_dict(item)
            reason, since = as_str(item.get("reason")), as_str(item.get("since"))
            if reason and since:
                out.append(HistoryEntry(reason[:64], since[:40], as_str(item.get("revision"))[:20]))
    reason = as_str(annotations.get(REASON_ANNOTATION))[:64]
    since = as_str(annotations.get(SINCE_ANNOTATION))[:40]
    if reason and since and (not out or (out[-1].reason, out[-1].since) != (reason, since)):
        out.append(HistoryEntry(reason, since, ""))
    return out


def history_value(current: str | None, reason: str, since: str, revision: str = "") -> str:
    """The next value of ``crashwatch.dev/history`` after publishing ``reason`` (first
    published at ``since``): unchanged if it already ends with that reason, else with an
    entry appended and trimmed to :data:`HISTORY_LIMIT` entries."""
    entries = read_history({"metadata": {"annotations": {HISTORY_ANNOTATION: current}}}
                           if current else None)
    if not entries or entries[-1].reason != reason:
        entries.append(HistoryEntry(reason, since, revision))
    return json.dumps([e.to_dict() for e in entries[-HISTORY_LIMIT:]], separators=(",", ":"))


# --- managedFields ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChangedBy:
    manager: str
    time: str
    operation: str
    object: str
    """``Kind/name`` of the object whose managedFields say it."""

    def to_dict(self) -> dict[str, str]:
        return {"manager": self.manager, "time": self.time, "operation": self.operation,
                "object": self.object}


def _container_key(fields: Mapping[str, Any], list_key: str, name: str) -> Mapping[str, Any]:
    """The fieldsV1 subtree of one container (keys like ``k:{"name":"app"}``)."""
    containers = as_dict(fields.get(f"f:{list_key}"))
    for key, value in containers.items():
        if not isinstance(key, str) or not key.startswith("k:"):
            continue
        try:
            ident = json.loads(key[2:])
        except ValueError:
            continue
        if isinstance(ident, dict) and ident.get("name") == name:
            return as_dict(value)
    return {}


def _holds(fields: Mapping[str, Any], pod_spec_path: Sequence[str], container: str,
           path: Sequence[str]) -> bool:
    spec = fields
    for part in pod_spec_path:
        if f"f:{part}" not in spec:
            return False
        spec = as_dict(spec.get(f"f:{part}"))
    for list_key in ("containers", "initContainers"):
        tree = _container_key(spec, list_key, container)
        if tree and _walk(tree, path):
            return True
    return False


def _walk(tree: Mapping[str, Any], path: Sequence[str]) -> bool:
    for part in path:
        key = f"f:{part}"
        if key not in tree:
            return False
        tree = as_dict(tree.get(key))
    return True


def changed_by(obj: Mapping[str, Any] | None, container: str, path: Sequence[str]
               ) -> ChangedBy | None:
    """The field manager that holds ``path`` (e.g. ``("resources", "limits", "memory")``)
    of ``container`` in ``obj`` (a workload's pod template, or a pod's own spec), with
    the time of its write; the latest such write when several managers share the field."""
    if obj is None:
        return None
    kind = as_str(obj.get("kind"))
    spec_path = ("spec",) if kind == "Pod" else (
        ("spec", "jobTemplate", "spec", "template", "spec") if kind == "CronJob"
        else ("spec", "template", "spec"))
    best: ChangedBy | None = None
    for entry in as_list(meta(obj).get("managedFields")):
        entry = as_dict(entry)
        if entry.get("subresource") not in (None, "", "resize"):
            continue
        fields = as_dict(entry.get("fieldsV1"))
        if not _holds(fields, spec_path, container, path):
            continue
        found = ChangedBy(
            manager=as_str(entry.get("manager")) or "?",
            time=as_str(entry.get("time")),
            operation=as_str(entry.get("operation")),
            object=f"{kind}/{as_str(meta(obj).get('name'))}",
        )
        if best is None or found.time > best.time:
            best = found
    return best
