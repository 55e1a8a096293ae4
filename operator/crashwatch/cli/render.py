"""Findings as JSON (a contract for scripts) or as a table a person can scan."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence

from crashwatch.model import Finding


def to_json(findings: Sequence[Finding]) -> str:
    return json.dumps({"findings": [f.to_dict() for f in findings]}, indent=2, sort_keys=False)


def to_table(findings: Sequence[Finding], width: int | None = None) -> str:
    if not findings:
        return "No failing containers found."
    width = width or shutil.get_terminal_size((160, 24)).columns
    rows = [("NAMESPACE", "WORKLOAD", "POD", "CONTAINER", "REASON", "WHY")]
    for f in findings:
        rows.append(
            (
                f.namespace,
                f"{f.owner.kind}/{f.owner.name}" if f.owner else "-",
                f.pod or "-",
                f.container or "-",
                f.reason.value,
                f.summary,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = []
    for r in rows:
        head = "  ".join(r[i].ljust(widths[i]) for i in range(5))
        room = max(width - len(head) - 2, 30)
        why = r[5] if len(r[5]) <= room else r[5][: room - 1] + "…"
        lines.append(f"{head}  {why}".rstrip())
    return "\n".join(lines)
