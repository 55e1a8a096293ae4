"""The log signature catalogue (``signatures.yaml``) and the matcher over a log tail.

The catalogue is data: adding a runtime's error message means adding an entry to
the YAML file, not touching a code path.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from crashwatch.diagnosis import rx
from crashwatch.diagnosis.budget import Budget
from crashwatch.diagnosis.logread import MAX_LOG_BYTES, MAX_LOG_LINES, bound_lines
from crashwatch.model import Reason

__all__ = ["MAX_LOG_BYTES", "MAX_LOG_LINES", "Signature", "SignatureMatch", "bound_log",
           "catalogue", "host_port_in", "match_log", "telling_line"]

#: Words a pattern may extract as a variable that never are one: log levels and the like.
NOT_A_VARIABLE = frozenset({
    "ERROR", "FATAL", "WARN", "WARNING", "INFO", "DEBUG", "TRACE", "PANIC", "CRITICAL",
    "NOTICE", "SEVERE", "NOTE", "HINT", "ALERT", "EMERG", "EMERGENCY", "VERBOSE", "FAIL",
    "FAILED", "FAILURE", "NULL", "NONE", "TRUE", "FALSE", "TODO", "USAGE", "HTTP", "HTTPS",
})


@dataclass(frozen=True, slots=True)
class Signature:
    id: str
    reason: Reason
    regex: rx.Regex
    hints: tuple[str, ...]
    variable: str | None
    upper: bool
    window: int | None


@dataclass(frozen=True, slots=True)
class SignatureMatch:
    signature: Signature
    lines: tuple[str, ...]
    """The log lines the match spans (at most three)."""
    groups: dict[str, str]
    """Extracted specifics: variable, host, port, path, command."""


def _load(raw: list[dict[str, Any]]) -> tuple[Signature, ...]:
    out = []
    for entry in raw:
        hint = entry.get("hint") or ()
        hints = (hint,) if isinstance(hint, str) else tuple(hint)
        out.append(
            Signature(
                id=str(entry["id"]),
                reason=Reason(entry["reason"]),
                regex=rx.compile(str(entry["pattern"]), multiline=True,
                                 ignorecase=bool(entry.get("ignorecase"))),
                hints=tuple(h.lower() for h in hints if h),
                variable=entry.get("variable"),
                upper=bool(entry.get("upper", False)),
                window=entry.get("window"),
            )
        )
    return tuple(out)


@lru_cache(maxsize=1)
def catalogue() -> tuple[Signature, ...]:
    """The bundled catalogue, compiled once."""
    text = resources.files("crashwatch.diagnosis").joinpath("signatures.yaml").read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when it is there
    return _load(yaml.load(text, Loader=loader))  # a safe loader (C or pure Python)


def bound_log(text: str) -> str:
    """The tail of a log that is worth reading: last lines, each capped, bounded in all
    (:mod:`crashwatch.diagnosis.logread`)."""
    return "\n".join(bound_lines(text))


def _line_span(text: str, start: int, end: int) -> tuple[str, ...]:
    begin = text.rfind("\n", 0, start) + 1
    stop = text.find("\n", max(end - 1, start))
    if stop < 0:
        stop = len(text)
    lines = [ln.strip() for ln in text[begin:stop].splitlines() if ln.strip()]
    return tuple(lines[:3])


def _groups(sig: Signature, match: rx.Match) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in match.groupdict().items():
        if value:
            found.setdefault(name.rstrip("0123456789"), value)
    if "setting" in found and "variable" not in found:
        found["variable"] = found.pop("setting")
    if sig.variable:
        found["variable"] = sig.variable
    if sig.upper and "variable" in found:
        found["variable"] = found["variable"].upper()
    return found


def _plausible(match: rx.Match) -> bool:
    """A match whose extracted variable is a log level (``ERROR is required``) is none."""
    try:
        variable = match.group("variable")
    except (IndexError, KeyError):
        return True
    return not variable or variable.upper() not in NOT_A_VARIABLE


def match_log(text: str, signatures: tuple[Signature, ...] | None = None,
              budget: Budget | None = None) -> SignatureMatch | None:
    """The first catalogue signature (in catalogue order) found in the log.

    Within that signature the last occurrence wins: the final error before the exit.
    The log is bounded first; the budget is checked before each signature (None when
    it runs out before one matched).
    """
    if not text:
        return None
    text = bound_log(text)
    lower = text.lower()
    lines_cache: list[str] | None = None
    for sig in signatures if signatures is not None else catalogue():
        if sig.hints and not any(h in lower for h in sig.hints):
            continue
        if budget is not None and budget.spent(f"signature {sig.id}"):
            return None
        haystack = text
        if sig.window:
            if lines_cache is None:
                lines_cache = text.split("\n")
            haystack = "\n".join(lines_cache[-sig.window :])
        last = None
        for found in sig.regex.finditer(haystack):
            if _plausible(found):
                last = found
        if last is None:
            continue
        return SignatureMatch(
            signature=sig,
            lines=_line_span(haystack, last.start(), last.end()),
            groups=_groups(sig, last),
        )
    return None


_EXCEPTION_LINE = rx.compile(
    r"^\s*(?:[\w$.]+(?:Error|Exception|Exit)\b[:\s]|panic:|fatal error:|FATAL\b|Fatal\b|"
    r"Exception in thread|Caused by:|Traceback|\w+Error \(|error:|ERROR\b|CRITICAL\b)",
)
_ERRORISH = rx.compile(
    r"\b(error|exception|fatal|panic|failed|failure|critical|cannot|unable)\b", ignorecase=True
)


def telling_line(text: str, budget: Budget | None = None) -> str | None:
    """The log line that best says why a process exited, when no signature matched.

    Preference: the last exception/panic line, then the last line that speaks of an
    error, then the last non-empty line (at once, when the budget is spent).
    """
    if not text:
        return None
    lines = [ln.rstrip() for ln in bound_lines(text) if ln.strip()]
    if not lines:
        return None
    if budget is not None and budget.spent("telling line"):
        return lines[-1].strip()
    for ln in reversed(lines):
        if _EXCEPTION_LINE.search(ln) and not ln.lstrip().startswith("Traceback"):
            return ln.strip()
    for ln in reversed(lines):
        if _ERRORISH.search(ln):
            return ln.strip()
    return lines[-1].strip()


_HOST_PORT = rx.compile(r"\b((?:\d{1,3}\.){3}\d{1,3}|[a-zA-Z][\w-]*(?:\.[\w-]+)*):(\d{2,5})\b")


def host_port_in(line: str) -> tuple[str, str] | None:
    """A ``host:port`` pair named in a line, skipping URL schemes and times."""
    for m in _HOST_PORT.finditer(line):
        host = m.group(1)
        if host.lower() in {"http", "https", "tcp", "udp", "error", "line"}:
            continue
        return host, m.group(2)
    return None
