"""The one regular-expression engine of the diagnosis: RE2, linear in the length of its input.

Logs, termination messages and Event texts are untrusted: a tenant writes them. Python's
``re`` backtracks, and a pattern as plain as ``\\s+(?:is )?not set`` after a greedy class
takes time quadratic (or worse) in a line's length: one long line froze the operator
(issue #12). RE2 (``google-re2``) runs every pattern as an automaton, in time linear in the
text, whatever the pattern. It has no lookaround and no backreferences: a rule that needs
one post-filters what the pattern extracted instead (a stop-list of log levels, say).

Every pattern in ``crashwatch.diagnosis`` is compiled here; a test walks the package and
fails on any ``re.Pattern`` left in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, cast

import re2

__all__ = ["Match", "Regex", "RegexError", "compile", "span"]

RegexError = re2.error


class Match(Protocol):
    """The part of a match object the rules use (RE2's and ``re``'s agree on it)."""

    def __getitem__(self, group: int | str, /) -> Any: ...

    def group(self, *groups: int | str) -> Any: ...

    def groupdict(self) -> dict[str, str | None]: ...

    def start(self, group: int = 0, /) -> int: ...

    def end(self, group: int = 0, /) -> int: ...

    @property
    def re(self) -> Any: ...


def _options() -> Any:
    opts = re2.Options()
    opts.log_errors = False  # a bad pattern raises; it is not also printed to stderr
    opts.max_mem = 8 << 20  # the automaton's memory: bounded, so is every pattern
    return opts


class Regex:
    """A compiled RE2 pattern, typed for the rules."""

    __slots__ = ("_rx", "pattern")

    def __init__(self, pattern: str, *, ignorecase: bool = False, multiline: bool = False
                 ) -> None:
        flags = ("i" if ignorecase else "") + ("m" if multiline else "")
        self.pattern = pattern
        self._rx: Any = re2.compile(f"(?{flags}){pattern}" if flags else pattern, _options())

    @property
    def engine(self) -> Any:
        """The underlying RE2 object (tests check which engine runs)."""
        return self._rx

    def search(self, text: str) -> Match | None:
        return cast("Match | None", self._rx.search(text))

    def finditer(self, text: str) -> Iterator[Match]:
        return cast("Iterator[Match]", self._rx.finditer(text))

    def sub(self, repl: str, text: str) -> str:
        return cast(str, self._rx.sub(repl, text))

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r})"


def span(match: Match, name: str) -> tuple[int, int]:
    """Where the named group matched (RE2's match objects take group numbers only)."""
    index = match.re.groupindex[name]
    return match.start(index), match.end(index)


def compile(pattern: str, *, ignorecase: bool = False, multiline: bool = False) -> Regex:
    """Compile with RE2; raises :data:`RegexError` on a pattern RE2 cannot run (lookaround,
    backreferences)."""
    return Regex(pattern, ignorecase=ignorecase, multiline=multiline)
