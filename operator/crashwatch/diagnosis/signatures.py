"""The log signature catalogue (``signatures.yaml``) and the matcher over a log tail.

The catalogue is data: adding a runtime's error message means adding an entry to
the YAML file, not touching a code path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from crashwatch.model import Reason

#: How much of a log tail is ever examined.
MAX_LOG_LINES = 400
MAX_LOG_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Signature:
    id: str
    reason: Reason
    regex: re.Pattern[str]
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
        flags = re.MULTILINE | (re.IGNORECASE if entry.get("ignorecase") else 0)
        hint = entry.get("hint") or ()
        hints = (hint,) if isinstance(hint, str) else tuple(hint)
        out.append(
            Signature(
                id=str(entry["id"]),
                reason=Reason(entry["reason"]),
                regex=re.compile(str(entry["pattern"]), flags),
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
    return _load(yaml.safe_load(text))


def bound_log(text: str) -> str:
    """The tail of a log that is worth reading: last lines, bounded in bytes."""
    if len(text) > MAX_LOG_BYTES:
        text = text[-MAX_LOG_BYTES:]
        text = text[text.find("\n") + 1 :] if "\n" in text else text
    lines = text.splitlines()
    if len(lines) > MAX_LOG_LINES:
        lines = lines[-MAX_LOG_LINES:]
    return "\n".join(lines)


def _line_span(text: str, start: int, end: int) -> tuple[str, ...]:
    begin = text.rfind("\n", 0, start) + 1
    stop = text.find("\n", max(end - 1, start))
    if stop < 0:
        stop = len(text)
    lines = [ln.strip() for ln in text[begin:stop].splitlines() if ln.strip()]
    return tuple(lines[:3])


def _groups(sig: Signature, match: re.Match[str]) -> dict[str, str]:
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


def match_log(text: str, signatures: tuple[Signature, ...] | None = None) -> SignatureMatch | None:
    """The first catalogue signature (in catalogue order) found in the log.

    Within that signature the last occurrence wins: the final error before the exit.
    """
    if not text:
        return None
    text = bound_log(text)
    lower = text.lower()
    lines_cache: list[str] | None = None
    for sig in signatures if signatures is not None else catalogue():
        if sig.hints and not any(h in lower for h in sig.hints):
            continue
        haystack = text
        if sig.window:
            if lines_cache is None:
                lines_cache = text.splitlines()
            haystack = "\n".join(lines_cache[-sig.window :])
        last = None
        for last in sig.regex.finditer(haystack):  # noqa: B007 - keep the last match
            pass
        if last is None:
            continue
        return SignatureMatch(
            signature=sig,
            lines=_line_span(haystack, last.start(), last.end()),
            groups=_groups(sig, last),
        )
    return None


_EXCEPTION_LINE = re.compile(
    r"^\s*(?:[\w$.]+(?:Error|Exception|Exit)\b[:\s]|panic:|fatal error:|FATAL\b|Fatal\b|"
    r"Exception in thread|Caused by:|Traceback|\w+Error \(|error:|ERROR\b|CRITICAL\b)",
)
_ERRORISH = re.compile(
    r"(?i)\b(error|exception|fatal|panic|failed|failure|critical|cannot|unable)\b"
)


def telling_line(text: str) -> str | None:
    """The log line that best says why a process exited, when no signature matched.

    Preference: the last exception/panic line, then the last line that speaks of an
    error, then the last non-empty line.
    """
    if not text:
        return None
    lines = [ln.rstrip() for ln in bound_log(text).splitlines() if ln.strip()]
    if not lines:
        return None
    for ln in reversed(lines):
        if _EXCEPTION_LINE.search(ln) and not ln.lstrip().startswith("Traceback"):
            return ln.strip()
    for ln in reversed(lines):
        if _ERRORISH.search(ln):
            return ln.strip()
    return lines[-1].strip()


_HOST_PORT = re.compile(r"\b((?:\d{1,3}\.){3}\d{1,3}|[a-zA-Z][\w-]*(?:\.[\w-]+)*):(\d{2,5})\b")


def host_port_in(line: str) -> tuple[str, str] | None:
    """A ``host:port`` pair named in a line, skipping URL schemes and times."""
    for m in _HOST_PORT.finditer(line):
        host = m.group(1)
        if host.lower() in {"http", "https", "tcp", "udp", "error", "line"}:
            continue
        return host, m.group(2)
    return None
