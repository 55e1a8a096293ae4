"""Small helpers shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from crashwatch.diagnosis import chains, diagnose, generic
from crashwatch.diagnosis.logread import read_log
from crashwatch.model import Finding, Reason


def run(objects: Iterable[Any], logs: Mapping[tuple[str, str, str], str] | None = None
        ) -> list[Finding]:
    table = dict(logs or {})
    return diagnose(list(objects), (lambda ns, p, c: table.get((ns, p, c))) if logs else None)


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, [(f.reason.value, f.pod, f.container) for f in findings]
    return findings[0]


def evidence_text(f: Finding) -> str:
    return "\n".join(f.evidence)


def telling_texts(log: str) -> list[str]:
    """The log's lines, most telling first (what an application error is reported with)."""
    lines = read_log(log)
    return [lines[i].text for i in chains.telling(lines, chains.shape(lines))]


def generic_reason(line: str) -> Reason | None:
    """The reason the generic layer reads in one line (None: no rule matches)."""
    return generic_reading(line)[0]


def generic_reading(line: str) -> tuple[Reason | None, dict[str, str]]:
    """The reason the generic layer reads in one line and what the line names."""
    found = generic.match_line(line)
    return (found.rule.reason, found.groups) if found is not None else (None, {})
