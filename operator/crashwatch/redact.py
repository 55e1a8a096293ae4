"""Redaction and bounding of anything copied out of a log or a message.

Evidence leaves the process (annotations, Events, CLI output): passwords in URLs,
bearer tokens, ``key=value`` secrets, JWTs and cloud keys are masked first, and
every line is cut to a bounded length.
"""

from __future__ import annotations

import re
from functools import lru_cache

MASK = "***"
MAX_LINE = 300

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host
    (re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+):([^@\s/]+)@"), r"\1:" + MASK + "@"),
    # Authorization: Bearer/Basic <token>
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + MASK),
    # password=..., "api_key": "...", token: ... (a key standing alone, then = or ": ")
    (
        re.compile(
            r"(?i)(?:^|(?<=[\s\"'{,;&?(]))"
            r"([\w.-]*?(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|"
            r"access[_-]?key|private[_-]?key|credentials?)[\w.-]*[\"']?(?:\s*=\s*|\s*:\s+))"
            r"(\"[^\"]*\"|'[^']*'|[^\s,;&\"']+)"
        ),
        r"\1" + MASK,
    ),
    # JSON Web Tokens
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}"), MASK),
    # AWS access key ids
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), r"\1" + MASK),
    # PEM private key material
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*", re.S), MASK),
)


@lru_cache(maxsize=4096)
def redact(text: str, limit: int = MAX_LINE) -> str:
    """Mask secrets in one line of evidence and bound its length. Cached: a failing pod is
    diagnosed again on each of its events, with the same evidence lines."""
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    text = " ".join(text.split()) if "\n" in text or "\t" in text else text
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
