"""Findings as JSON (a contract for scripts) or as a table a person can scan."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Sequence

from crashwatch.model import Finding


def to_json(findings: Sequence[Finding], notes: Sequence[str] | None = None) -> str:
    """``{"findings": [...]}``; against a live cluster also ``"notes"``: what could not be
    read (empty when everything was)."""
    out: dict[str, object] = {"findings": [f.to_dict() for f in findings]}
    if notes is not None:
        out["notes"] = list(notes)
    return json.dumps(out, indent=2, sort_keys=False)


def to_table(findings: Sequence[Finding], width: int | None = None,
             notes: Sequence[str] = ()) -> str:
    """The findings as a table; what could not be read as footer lines."""
    footer = "".join(f"\nNote: {note}" for note in notes)
    return _table(findings, width) + ("\n" + footer if footer else "")


def _table(findings: Sequence[Finding], width: int | None) -> str:
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
        room = max(width - len(head) - 2, 40)
        wrapped = textwrap.wrap(r[5], room) or [""]
        lines.append(f"{head}  {wrapped[0]}".rstrip())
        lines += [" " * (len(head) + 2) + more for more in wrapped[1:]]
    return "\n".join(lines)
