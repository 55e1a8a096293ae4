"""The log signature catalogue (``signatures.yaml``): specific libraries' and runtimes'
messages, and what to extract from each.

The catalogue is data: adding a runtime's error message means adding an entry to the YAML
file, not touching a code path. Its patterns run on RE2 (linear time); a test compiles
every one of them with RE2. What the catalogue does not know, the generic layer
(:mod:`crashwatch.diagnosis.generic`) may; :mod:`crashwatch.diagnosis.logcause` ranks
both over a log's lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from crashwatch.diagnosis import rx
from crashwatch.diagnosis.generic import NOT_A_VARIABLE
from crashwatch.model import Reason

__all__ = ["EACH_BELOW_LINES", "UNLESS_ABOVE_LINES", "Signature", "catalogue", "load", "plausible"]


@dataclass(frozen=True, slots=True)
class Signature:
    id: str
    reason: Reason
    regex: rx.Regex
    hints: tuple[str, ...]
    variable: str | None
    upper: bool
    window: int | None
    unless_above: rx.Regex | None = None
    """A line a little above the match (:data:`UNLESS_ABOVE_LINES`) that says the match
    means something else: the Software Collections images print their list of variables
    under ``error: Invalid password`` too, when the settings are there but wrong."""
    each_below: rx.Regex | None = None
    """A line right below the match, and each one below it in turn, that names one more
    ``variable`` of the same list (the Software Collections images print one name per
    indented line under ``You must either specify the following environment
    variables:``)."""
    alternative: rx.Regex | None = None
    """Right below that list: another that would do instead, its first name the
    ``variable`` group (``Or the following environment variable:`` then
    ``MYSQL_ROOT_PASSWORD``); named as the alternative, not as missing."""


UNLESS_ABOVE_LINES = 6
"""How far above a match's first line a signature's ``unless_above`` looks."""
EACH_BELOW_LINES = 12
"""How many lines below a match a signature's ``each_below`` list may run over."""


def load(raw: list[dict[str, Any]]) -> tuple[Signature, ...]:
    """Signatures from catalogue entries (raises on an entry RE2 cannot compile)."""
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
                unless_above=(rx.compile(str(entry["unless_above"]))
                              if entry.get("unless_above") else None),
                each_below=(rx.compile(str(entry["each_below"]))
                            if entry.get("each_below") else None),
                alternative=(rx.compile(str(entry["alternative"]), multiline=True)
                             if entry.get("alternative") else None),
            )
        )
    return tuple(out)


@lru_cache(maxsize=1)
def catalogue() -> tuple[Signature, ...]:
    """The bundled catalogue, compiled once."""
    text = resources.files("crashwatch.diagnosis").joinpath("signatures.yaml").read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when it is there
    return load(yaml.load(text, Loader=loader))  # a safe loader (C or pure Python)


def plausible(match: rx.Match) -> bool:
    """A match whose extracted variable is a log level (``ERROR is required``) is none."""
    try:
        variable = match.group("variable")
    except (IndexError, KeyError):
        return True
    return not variable or variable.upper() not in NOT_A_VARIABLE
