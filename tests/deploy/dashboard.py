"""The Grafana dashboard's queries as Grafana sends them to Prometheus: its templating
variables substituted the way Grafana's Prometheus data source does (a multi-value selection
becomes ``(a|b)``, each value regex-escaped inside the PromQL string), its built-in interval
variables given fixed values. Used by tests/deploy/test_grafana.py (offline, promtool) and
tests/e2e/test_dashboard.py (a real Prometheus scraping a real ``crashwatch run``)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy" / "grafana" / "crashwatch.json"
# Grafana's own variables: $__rate_interval is at least four scrape intervals; $__range the
# dashboard's time range.
BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}
_VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")
_LABEL_VALUES = re.compile(r"^\s*label_values\((?:(?P<selector>.*),\s*)?(?P<label>\w+)\)\s*$")


@dataclass(frozen=True)
class Query:
    panel: str
    ref: str
    expr: str
    instant: bool

    def __str__(self) -> str:
        return f"{self.panel!r} {self.ref}: {self.expr}"


def load(path: Path = DASHBOARD) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' collapsed panels included; rows themselves not."""
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def variables(dashboard: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [v for v in dashboard["templating"]["list"] if v.get("type") == "query"]


def queries(dashboard: Mapping[str, Any]) -> list[Query]:
    return [Query(p["title"], t["refId"], t["expr"], bool(t.get("instant")))
            for p in panels(dashboard) for t in p.get("targets", [])]


def variable_query(variable: Mapping[str, Any]) -> str:
    q = variable["query"]
    return str(q["query"] if isinstance(q, Mapping) else q)


def label_values(variable: Mapping[str, Any]) -> tuple[str, str]:
    """(series selector, label) of a ``label_values(selector, label)`` variable."""
    m = _LABEL_VALUES.match(variable_query(variable))
    assert m and m.group("selector"), f"not label_values(selector, label): {variable['name']}"
    return m.group("selector"), m.group("label")


def used_variables(text: str) -> set[str]:
    return {m.group(1) or m.group(2) for m in _VARIABLE.finditer(text)}


def regex_escape(value: str) -> str:
    """A value as Grafana escapes it into a regex matcher's PromQL string literal."""
    return re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\\\1", value)


def substitute(text: str, selected: Mapping[str, Sequence[str]]) -> str:
    """``text`` with each ``$var``/``${var}`` replaced: a built-in by its value, a templating
    variable by its selected values (one: itself; several: ``(a|b)``), regex-escaped."""
    def one(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name in BUILTINS:
            return BUILTINS[name]
        values = selected[name]
        assert values, f"no value selected for ${name}"
        escaped = [regex_escape(v) for v in values]
        return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
    return _VARIABLE.sub(one, text)
