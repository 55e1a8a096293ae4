"""Bounding a log before anything reads it.

A previous container's log is untrusted text of any size and shape: one line of 2 MB, no
newline at all, binary. Before any pattern runs it is cut, in time linear in what is kept:

- at most :data:`MAX_LOG_LINES` lines, the last ones (a crash's last words are at the end);
- at most :data:`MAX_LOG_BYTES` characters in all;
- each line at most :data:`MAX_LINE_CHARS` characters: a longer one keeps its head (where a
  message starts: ``panic: ...``, ``ERROR ...``) and its tail (where a wrapped cause ends),
  joined by :data:`CUT_MARK`.
"""

from __future__ import annotations

MAX_LOG_LINES = 400
MAX_LOG_BYTES = 64 * 1024
MAX_LINE_CHARS = 2048
CUT_MARK = " [...] "
_HEAD = 1536
_TAIL = MAX_LINE_CHARS - _HEAD - len(CUT_MARK)


def cap_line(line: str, limit: int = MAX_LINE_CHARS) -> str:
    """``line`` if short enough, else its head and tail around :data:`CUT_MARK`."""
    if len(line) <= limit:
        return line
    tail = max(0, limit * _TAIL // MAX_LINE_CHARS)
    head = max(0, limit - tail - len(CUT_MARK))
    return line[:head] + CUT_MARK + (line[-tail:] if tail else "")


def _cap_segment(text: str, start: int, end: int) -> str:
    """``text[start:end]`` capped, without copying a huge line whole."""
    if end - start <= MAX_LINE_CHARS:
        return text[start:end]
    return text[start:start + _HEAD] + CUT_MARK + text[end - _TAIL:end]


def bound_lines(text: str) -> list[str]:
    """The log's last lines, each capped, bounded in number and in characters; carriage
    returns are undone as a terminal shows them (the text after the last ``\\r``)."""
    if not text:
        return []
    lines: list[str] = []
    total = 0
    end = len(text)
    if text.endswith("\n"):
        end -= 1
    while end >= 0 and len(lines) < MAX_LOG_LINES:
        start = text.rfind("\n", 0, end) + 1
        line = _cap_segment(text, start, end)
        if "\r" in line:
            stripped = line.rstrip("\r")
            line = stripped[stripped.rfind("\r") + 1:]
        total += len(line) + 1
        if total > MAX_LOG_BYTES and lines:
            break
        lines.append(line)
        if start == 0:
            break
        end = start - 1
    lines.reverse()
    return lines


def bound_log(text: str) -> str:
    """:func:`bound_lines` joined: the tail of a log that is worth reading."""
    return "\n".join(bound_lines(text))
