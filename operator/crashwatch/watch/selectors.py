"""Label selectors as ``kubectl -l`` takes them: ``a=b,c!=d,e,!f,g in (x,y),h notin (z)``."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_SET = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")

Matcher = Callable[[Mapping[str, str]], bool]


def _split(selector: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def _term(term: str) -> Matcher:
    m = _SET.match(term)
    if m:
        key, values = m[1], frozenset(v.strip() for v in m[3].split(",") if v.strip())
        if m[2] == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if "!=" in term:
        key, value = (x.strip() for x in term.split("!=", 1))
        return lambda labels: labels.get(key) != value
    if "=" in term:
        key, value = (x.strip() for x in term.replace("==", "=").split("=", 1))
        return lambda labels: labels.get(key) == value
    if term.startswith("!") and re.fullmatch(r"[\w./-]+", term[1:].strip()):
        absent = term[1:].strip()
        return lambda labels: absent not in labels
    if re.fullmatch(r"[\w./-]+", term):
        return lambda labels: term in labels
    raise ValueError(f"cannot parse label selector term {term!r}")


def parse_selector(selector: str) -> Matcher:
    """A predicate over labels; the empty selector matches everything.

    Raises ValueError on a selector it cannot read."""
    tests = [_term(t) for t in _split(selector)]
    if len(tests) == 1:
        return tests[0]  # the common case, and it runs for every pod event
    return lambda labels: all(t(labels) for t in tests)
