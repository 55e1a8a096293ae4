"""Long evidence lines bounded without losing what tells.

A kubelet or runtime message is a chain of clauses, outermost first: ``Failed to pull image
"X": rpc error: code = Unknown desc = failed to pull and unpack image "X": failed to copy:
... unexpected status code https://...: 401 Unauthorized``, ``failed to create shim task:
OCI runtime create failed: runc create failed: ... flags: 0x5000: not a directory:
unknown: Are you trying to mount a directory onto a file (or vice-versa)? ...``. The first
clause says what failed, the last ones why; the middle (URLs, digests, overlay paths) is
what a person can do without. Cutting such a line to its head keeps the what and loses
the why, so :func:`shorten` keeps both ends and elides the middle, at word boundaries.

When the phrase that says why (an HTTP status with its text, an errno's text, a timeout,
a refusal: :data:`TELLING`) would fall in the elided middle, because a long hint follows
it, the kept end starts at that phrase's clause instead, or, when that is still too long,
the phrase's clause is kept as a middle piece of its own.
"""

from __future__ import annotations

from crashwatch.diagnosis import rx

ELIDED = " … "
"""What stands for the characters left out (the ellipsis redaction uses, spaced)."""

#: Phrases that say why something failed, wherever they fall in a long message.
TELLING = rx.compile(
    # an HTTP status and its text (``404 Not Found``), not a time's milliseconds
    # (``11:59:16.586 UTC``)
    r"(?:^|[^\w.])[1-5]\d\d (?:[A-Z][A-Za-z]+)(?: [A-Z][A-Za-z]+)*"
    # a vendor's error code and its text (``AADSTS70021: No matching federated identity
    # record found``, ``ORA-01017: invalid username/password``)
    r"|\b[A-Z]{2,8}-?\d{4,6}: [A-Za-z][a-z]+(?: [a-z]+){0,5}"
    r"|(?i:no such file or directory|not a directory|is a directory|file exists|"
    r"permission denied|operation not permitted|read-only file system|"
    r"no space left on device|exec format error|executable file not found|"
    r"i/o timeout|timed out|deadline exceeded|timeout exceeded|connection refused|"
    r"connection reset|no route to host|network is unreachable|no such host|"
    r"server misbehaving|unauthori[sz]ed|forbidden|access denied|not found|"
    r"authentication failed|password is incorrect|"
    r"manifest unknown|too many requests|rate limit|x509: [a-z ]{1,60}|"
    r"invalid argument|device or resource busy|cannot allocate memory|"
    r"too many open files|input/output error|text file busy|broken pipe|"
    # a thread the process could not start (a pids or thread limit: RabbitMQ's ``Failed to
    # create poll thread``; not the JVM's ``unable to create native thread``, whose errno a
    # warning above gives)
    r"failed to create (?:an? |new )?(?:\w+ )?thread)"
    # an errno's name, as Erlang and Node print it (``Error when reading
    # /root/.erlang.cookie: eacces``)
    r"|\b(?i:e(?:acces|perm|noent|nospc|rofs|connrefused|connreset|timedout|hostunreach|"
    r"netunreach|addrinuse|addrnotavail|mfile|nfile|nomem|notdir|isdir|exist|busy))\b"
)
_HEAD_SHARE = 0.4
_MIN_HEAD = 60
_SLACK = 24
"""How far a cut moves to fall on a word boundary."""
_CLAUSE_REACH = 80
"""How far back from a telling phrase its clause may start."""


def _head(text: str, end: int) -> str:
    """``text[:end]``, cut back to the last space when one is near."""
    space = text.rfind(" ", max(0, end - _SLACK), end + 1)
    return text[:space if space > 0 else end].rstrip()


def _from(text: str, start: int, end: int | None = None, snap: bool = True) -> str:
    """``text[start:end]``, its start moved on to the next word when one is near (unless
    ``snap`` is false: ``start`` is where a clause starts)."""
    if snap and start > 0 and text[start - 1] != " ":
        space = text.find(" ", start, start + _SLACK)
        if space >= 0:
            start = space + 1
    piece = text[start:end]
    return _head(piece, len(piece)) if end is not None and end < len(text) else piece.lstrip()


def _clause_start(text: str, at: int) -> int:
    """Where the clause holding ``text[at]`` starts: after the last ``": "`` before it,
    not too far back, else at the start of the phrase's first word (``\\"not a
    directory``: never inside the phrase, which :func:`_from` would skip)."""
    lo = max(0, at - _CLAUSE_REACH)
    colon = text.rfind(": ", lo, at)
    if colon >= 0:
        return colon + 2
    space = text.rfind(" ", lo, at)
    return space + 1 if space >= 0 else at


def shorten(text: str, limit: int) -> str:
    """``text`` if at most ``limit`` characters, else its head and end (and the clause
    that says why, when neither holds it) joined by :data:`ELIDED`, at most ``limit``."""
    if len(text) <= limit:
        return text
    text = collapse_repeats(text)
    if len(text) <= limit:
        return text
    room = limit - len(ELIDED)
    if room < 2 * _MIN_HEAD:
        return text[:limit - 1] + ELIDED.strip()
    head_room = int(room * _HEAD_SHARE)
    tail_start = len(text) - (room - head_room)
    found = list(TELLING.finditer(text))
    last = found[-1] if found else None
    if last is None or last.start() >= tail_start or last.end() <= head_room:
        return _join(_head(text, head_room), _from(text, tail_start))
    clause = _clause_start(text, last.start())
    for m in reversed(found[:-1]):
        # a telling phrase that ends where the last one's clause starts says why first
        # (``Authentication failed: password is incorrect``): the clause starts with it
        if m.end() < clause - 2:
            break
        clause = _clause_start(text, m.start())
    if len(text) - clause <= room - _MIN_HEAD:  # the end from the telling clause on fits
        head = _head(text, room - (len(text) - clause))
        return _join(head, _from(text, clause, snap=False))
    # head, the telling clause, the end: three pieces
    room -= len(ELIDED)
    head = _head(text, _MIN_HEAD)
    middle_room = min(room - len(head) - _SLACK,
                      max(last.end() - clause, (room - len(head)) // 2))
    middle = _from(text, clause, clause + middle_room, snap=False)
    end_room = room - len(head) - len(middle)
    out = _join(head, middle, _from(text, max(clause + middle_room, len(text) - end_room)))
    return out if len(out) <= limit else text[:limit - 1] + ELIDED.strip()


REPEAT_SEPARATOR = "; "


def collapse_repeats(text: str) -> str:
    """``...; no existing monitoring routine is running; no existing monitoring routine is
    running; ...`` (Go's joined errors, each shutdown step saying the same): a clause said
    again right after itself is said once, with how many times (``(x4)``)."""
    parts = text.split(REPEAT_SEPARATOR)
    if len(parts) < 3:
        return text
    out: list[str] = []
    i = 0
    while i < len(parts):
        base, count = parts[i], 1
        # the same clause again, or again without the wrapper the first one had
        # (``failed to shutdown pipelines: X; X; X``)
        while (i + count < len(parts) and parts[i + count].strip()
               and (parts[i + count] == base or base.endswith(": " + parts[i + count]))):
            count += 1
        out.append(f"{base} (x{count})" if count > 1 else base)
        i += count
    return REPEAT_SEPARATOR.join(out)


def _join(*pieces: str) -> str:
    return ELIDED.join(p for p in pieces if p)
