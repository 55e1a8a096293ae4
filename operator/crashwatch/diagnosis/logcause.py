"""Why a process exited, from its last words: the log read as written, its crash reports,
the signature catalogue and the generic layer, ranked.

Steps, each bounded and checked against the container's time budget:

1. read: bound and normalise the lines (:mod:`crashwatch.diagnosis.logread`);
2. shape: roles, crash reports and their root causes (:mod:`crashwatch.diagnosis.chains`);
3. candidates: every line the catalogue (:mod:`crashwatch.diagnosis.signatures`, specific)
   or the generic layer (:mod:`crashwatch.diagnosis.generic`, the OS's and runtimes'
   vocabulary) can explain; never an info/debug record, never a stack frame;
4. rank: the candidate on the most telling line wins (:func:`chains.score`: severity, root
   cause of a crash report, the last report, the last lines), the catalogue before the
   generic layer on equal footing, the later line on a tie. What the winner does not name
   (host, port, path, variable), another line of the same reason may: the same crash
   report first (a ``Caused by: ConnectException: Connection refused`` whose wrapper names
   ``db:5432``). A message written over indented lines is reported whole: libpq's
   ``could not connect to server: Connection refused`` with the ``Is the server running on
   host ...`` lines below it.

When nothing explains the log, the most telling lines (:func:`chains.telling`) are what an
application error is reported with.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice

from crashwatch.diagnosis import chains, generic, rx
from crashwatch.diagnosis.budget import Budget
from crashwatch.diagnosis.evidence import TELLING
from crashwatch.diagnosis.logread import Level, LogLine, prefix_level, read_log, starts_record
from crashwatch.diagnosis.signatures import (
    EACH_BELOW_LINES,
    UNLESS_ABOVE_LINES,
    Signature,
    catalogue,
    plausible,
)
from crashwatch.diagnosis.trace import LogCandidate, LogLineTrace, LogTrace
from crashwatch.model import Reason

CATALOGUE_BONUS = 2
"""What naming a specific library's message adds to a line's score over the generic layer."""


@dataclass(frozen=True, slots=True)
class Cause:
    """The reason a log gives, the rule that saw it, and where."""

    reason: Reason
    rule: str
    layer: str
    """``catalogue`` or ``generic``."""
    line: int
    lines: tuple[str, ...]
    """The log lines that say it (the line, a multi-line message's span, a donor's line)."""
    groups: dict[str, str] = field(default_factory=dict)
    """What the lines name: variable, host, port, path, command."""
    level: Level = Level.UNKNOWN
    """The cause line's severity (its crash report's, when it is part of one)."""
    from_end: int = 0
    """How many meaningful lines follow the cause line."""
    variables: tuple[str, ...] = ()
    """Every missing setting the log names (MissingEnv), the cause's first."""


#: The env vars a reading looks at (:attr:`Context.env`): the temporary directory and the
#: settings under which a rule's line means something else.
ENV_READ = frozenset({"TMPDIR", *(name for rule in generic.RULES for name, _ in rule.unless_env)})


@dataclass(frozen=True, slots=True)
class Context:
    """What the container's spec tells the log reading."""

    read_only_root: bool = False
    writable_paths: tuple[str, ...] = ()
    """Mount paths of the container's writable volumes."""
    env: tuple[tuple[str, str | None], ...] = ()
    """The container's env entries (name, literal value; None for one set by reference,
    ``valueFrom``)."""

    def _entry(self, name: str) -> tuple[str, str | None] | None:
        """The env entry of ``name`` the container gets: the last one (``AWS_REGION=eu-west-1``
        and then ``AWS_REGION=""`` leave it empty), or None when the spec has none."""
        found = None
        for entry in self.env:
            if entry[0] == name:
                found = entry
        return found

    def setting(self, name: str) -> str | None:
        """The literal value the spec gives env var ``name``, or None."""
        entry = self._entry(name)
        return entry[1] if entry is not None else None

    def sets(self, name: str, value: str) -> bool:
        """Whether the spec sets ``name`` to ``value``; ``*``: to anything, a reference
        (``valueFrom``) included, but not to an empty string."""
        entry = self._entry(name)
        if entry is None:
            return False
        return entry[1] != "" if value == "*" else entry[1] == value

    @property
    def temp_dir(self) -> str:
        """Where the process writes its temporary files: ``TMPDIR`` when the spec sets it to
        a path, else ``/tmp``."""
        tmp = self.setting("TMPDIR") or ""
        return tmp if tmp.startswith("/") else "/tmp"

    def writable(self, path: str) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in
                   self.writable_paths)


@dataclass(slots=True)
class LogReading:
    lines: list[LogLine]
    cause: Cause | None
    telling: list[str]
    """The most telling lines, best first (at most two), for an application error."""


@dataclass(slots=True)
class _Candidate:
    score: int
    line: int
    order: int
    reason: Reason
    rule: str
    layer: str
    span: tuple[str, ...]
    groups: dict[str, str]


def _line_starts(lines: Sequence[LogLine]) -> list[int]:
    starts, pos = [], 0
    for line in lines:
        starts.append(pos)
        pos += len(line.text) + 1
    return starts


def _groups(sig: Signature, match_groups: dict[str, str | None]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in match_groups.items():
        if value:
            found.setdefault(name.rstrip("0123456789"), value)
    if "setting" in found and "variable" not in found:
        found["variable"] = found.pop("setting")
    if sig.variable:
        found["variable"] = sig.variable
    if sig.upper and "variable" in found:
        found["variable"] = found["variable"].upper()
    if "section" in found and "variable" in found:
        found["variable"] = f"{found.pop('section')}:{found['variable']}"  # .NET's key form
    return found


def _catalogue_candidates(lines: list[LogLine], sh: chains.Shape, budget: Budget,
                          signatures: Sequence[Signature]) -> list[_Candidate] | None:
    text = "\n".join(line.text for line in lines)
    lower = text.lower()
    starts = _line_starts(lines)
    out: list[_Candidate] = []
    for order, sig in enumerate(signatures):
        if sig.hints and not any(h in lower for h in sig.hints):
            continue
        if budget.spent(f"signature {sig.id}"):
            return None
        for m in sig.regex.finditer(text):
            if not plausible(m):
                continue
            first = bisect_right(starts, m.start()) - 1
            last = bisect_right(starts, max(m.start(), m.end() - 1)) - 1
            if sig.window and not sh.in_tail(last, sig.window):
                continue
            if sig.unless_above is not None and any(
                    sig.unless_above.search(lines[j].text) is not None
                    for j in range(max(0, first - UNLESS_ABOVE_LINES), first)):
                continue
            if chains.effective_level(lines, sh, last) <= Level.INFO:
                continue
            head = _Candidate(
                score=chains.score(lines, sh, last) + CATALOGUE_BONUS, line=last, order=order,
                reason=sig.reason, rule=sig.id, layer="catalogue",
                span=_record_span(lines, sh, first, last),
                groups=_groups(sig, m.groupdict()),
            )
            out.append(head)
            if sig.each_below is not None:
                listed = list(_each_below(lines, sig, head))
                out.extend(listed)
                _alternative_below(lines, sig, head, listed[-1].line if listed else head.line)
    return out


def _each_below(lines: Sequence[LogLine], sig: Signature, head: _Candidate
                ) -> Iterator[_Candidate]:
    """The rest of a list a signature's match starts (:attr:`Signature.each_below`): one
    candidate per line below it that names one more variable, up to the first that does
    not; each ranks just below the match itself, which stays the cause (the list's head)."""
    assert sig.each_below is not None
    for j in range(head.line + 1, min(len(lines), head.line + 1 + EACH_BELOW_LINES)):
        m = sig.each_below.search(lines[j].text)
        if m is None or not plausible(m):
            return
        yield _Candidate(
            score=head.score - 1, line=j, order=head.order, reason=head.reason, rule=head.rule,
            layer=head.layer, span=(lines[j].text.strip(),), groups=_groups(sig, m.groupdict()))


def _alternative_below(lines: Sequence[LogLine], sig: Signature, head: _Candidate,
                       end: int) -> None:
    """The list that may replace the one a signature's match starts
    (:attr:`Signature.alternative`: ``Or the following environment variable:`` and its
    first name, right below the list): its name goes to the match's groups as
    ``alternative``, its lines to the match's span."""
    if sig.alternative is None:
        return
    below = "\n".join(line.text for line in lines[end + 1 : end + 3])
    m = sig.alternative.search(below)
    if m is not None and m.group("variable"):
        head.groups["alternative"] = m.group("variable")
        head.span = head.span + tuple(t.strip() for t in below.split("\n") if t.strip())


RECORD_REACH = 2
"""How many indented lines a message may continue over, above or below a match."""
MATCH_LINES = 3
"""How many of a multi-line match's own lines are kept (its last ones)."""


def _continues(lines: Sequence[LogLine], sh: chains.Shape, j: int) -> bool:
    """Whether line ``j`` continues the message above it: indented plain text, not a
    stack frame, not a record of its own."""
    line = lines[j]
    return (line.text[:1] in (" ", "\t") and not line.structured
            and sh.roles[j] is chains.Role.TEXT and bool(line.text.strip()))


def _record_span(lines: Sequence[LogLine], sh: chains.Shape, first: int, last: int
                 ) -> tuple[str, ...]:
    """The texts of lines ``first..last`` (at most :data:`MATCH_LINES`, the last ones), and
    of the message they belong to when it is written over indented lines: its headline
    when the match starts on a continuation (libpq's ``could not connect to server:
    Connection refused`` above ``Is the server running on host "db" ... and accepting`` /
    ``TCP/IP connections on port 5432?``), and the continuation lines below it."""
    if first == last and lines[first].structured:
        record = _record_lines(lines, sh, first)
        if len(record) > 1:
            return tuple(t for t in (lines[j].text.strip() for j in record) if t)
    head = first
    while head > 0 and first - head < RECORD_REACH and _continues(lines, sh, head):
        head -= 1
    before = [head] if head < first and not _continues(lines, sh, head) and not \
        chains.is_quiet(lines, sh, head) else []
    end = last
    while end + 1 < len(lines) and end - last < RECORD_REACH and _continues(lines, sh, end + 1):
        end += 1
    core = list(range(first, last + 1))[-MATCH_LINES:]
    texts = (lines[j].text.strip() for j in [*before, *core, *range(last + 1, end + 1)])
    return tuple(t for t in texts if t)


def _generic_candidates(lines: list[LogLine], sh: chains.Shape,
                        context: Context) -> list[_Candidate]:
    out: list[_Candidate] = []
    base = len(catalogue())
    watcher: bool | None = None
    for i, line in enumerate(lines):
        if chains.is_quiet(lines, sh, i) or not line.text.strip():
            continue
        tail = sh.in_tail(i)

        warning = chains.effective_level(lines, sh, i) is Level.WARN

        def allowed(rule: generic.Rule, tail: bool = tail, i: int = i,
                    warning: bool = warning) -> bool:
            if rule.reason is Reason.DEPENDENCY_UNREACHABLE and not tail:
                return False  # retries early in a log are not why it exited
            if rule.errors_only and warning:
                return False
            return not (rule.reason is Reason.SEGFAULT and generic.go_nil_panic_near(lines, i))

        found = generic.match_line(line.text, allowed)
        if found is None or _vetoed_by_report(lines, sh, i, found.rule):
            continue
        if any(context.sets(name, value) for name, value in found.rule.unless_env):
            continue
        path = found.groups.get("path")
        if path and path == found.rule.default == "/tmp":
            # the line names no directory: the temporary one, which TMPDIR may move
            path = found.groups["path"] = context.temp_dir
        span = _record_span(lines, sh, i, i)
        if not path and found.rule.reason in _WRITES and found.rule.extract == "path":
            above = _path_above(lines, sh, i, context)
            if above is not None:
                path = found.groups["path"] = above[1]
                span = (lines[above[0]].text.strip(), *span)
        read_only = context.read_only_root and bool(path) and not context.writable(path or "")
        reason = found.rule.reason
        if reason is Reason.DISK_FULL and not path:
            if watcher is None:  # read once, for the first ENOSPC naming no file
                watcher = _watches_files(lines)
            if watcher:
                # ENOSPC naming no file, from a program that watches files (a config
                # reloader): inotify's watch limit, not a full disk
                reason = Reason.TOO_MANY_OPEN_FILES
        if found.rule.only_read_only:
            if not read_only:
                continue
        elif found.rule.read_only_explains and read_only:
            reason = Reason.READ_ONLY_FILESYSTEM
        out.append(_Candidate(
            score=chains.score(lines, sh, i), line=i,
            order=base + generic.RULES.index(found.rule), reason=reason,
            rule=found.rule.id, layer="generic", span=span,
            groups=dict(found.groups),
        ))
    return out


#: A program that watches files, as its log names itself or what it does: a config reloader
#: (``Starting NATS Server Reloader v0.16.0``), fsnotify, a file watcher.
_WATCHER = rx.compile(r"(?i)\b(?:(?:config[- ]?)?reloader|fsnotify|inotify|file ?watcher|"
                      r"watching (?:for changes|files?|director(?:y|ies)))\b")


def _watches_files(lines: list[LogLine]) -> bool:
    return any(_WATCHER.search(line.text) is not None for line in lines)


#: A line's first word that is a word of its message, not a prefix naming its writer.
_MESSAGE_WORD = rx.compile(r"^[A-Za-z][\w.]*:?$")


def _outer_error_below(lines: list[LogLine], sh: chains.Shape, i: int) -> str | None:
    """The next error within two meaningful lines below line ``i`` written with the same
    prefix (the same writer and rank), or None."""
    head = lines[i].text.split(" ", 1)[0]
    if _MESSAGE_WORD.search(head) is not None:
        return None  # ``Error:``, ``ERROR``: the message's first word, no writer's prefix
    seen = 0
    for j in range(i + 1, min(len(lines), i + 6)):
        if not lines[j].text.strip() or sh.roles[j] is chains.Role.NOISE:
            continue
        seen += 1
        if (chains.effective_level(lines, sh, j) >= Level.ERROR
                and lines[j].text.split(" ", 1)[0] == head):
            return lines[j].text.strip()
        if seen >= 2:
            break
    return None


#: Failures of a write whose line may not say where.
_WRITES = frozenset({Reason.DISK_FULL, Reason.PERMISSION_DENIED,
                     Reason.READ_ONLY_FILESYSTEM})
_ABS_PATH = rx.compile(r"(?:^|[\s'\"`(\[=])(?P<path>/[\w.@%+-]+(?:/[\w.@%+-]+)*)")
PATH_ABOVE_CHARS = 512
"""How much of the line above is searched for the path being written."""


def _path_above(lines: list[LogLine], sh: chains.Shape, i: int, context: Context
                ) -> tuple[int, str] | None:
    """The path on one of the container's writable volumes that the nearest meaningful line
    above names, for a failed write that names none (``Installing config scripts into
    /work-dir`` above ``cp: write error: No space left on device``). The line may be an info
    record (what a step announces is what it is doing); of several paths, the last one not
    read ``from``: a copy's destination comes after its source (``'/config/app.conf' ->
    '/work-dir/app.conf'``)."""
    for j in range(i - 1, max(-1, i - 3), -1):
        if sh.roles[j] in chains.SILENT_ROLES or not lines[j].text.strip():
            continue
        text = lines[j].text[:PATH_ABOVE_CHARS]
        found = None
        for m in _ABS_PATH.finditer(text):
            if (context.writable(m["path"])
                    and _READ_FROM.search(text[max(0, m.start() - 8):m.start(1)]) is None):
                found = m["path"]
        return (j, found) if found is not None else None
    return None


_READ_FROM = rx.compile(r"\bfrom\W*$", ignorecase=True)


OTHER_PATHS_SPAN = 4
"""How many lines a cause's span may grow to with the same error about other paths."""
VETO_REACH = 60
"""How many lines of a crash report a rule's veto reads besides the matched line."""


def _vetoed_by_report(lines: list[LogLine], sh: chains.Shape, i: int, rule: generic.Rule
                      ) -> bool:
    """Whether the crash report around line ``i`` says what the rule's veto says on another
    exception line: PgJDBC's ``The connection attempt failed.`` with ``Caused by:
    SSLHandshakeException`` below it is no unreachable database. Python's ``OSError:
    [Errno 99] Cannot assign requested address`` under a frame calling ``s.bind(...)`` is
    the process's own address, no peer's."""
    block = sh.block(i)
    if rule.veto is None or rule.reason is not Reason.DEPENDENCY_UNREACHABLE:
        return False  # the connection rules' vetoes name a report's other causes
    if block is None:
        return _vetoed_by_chain(lines, sh, i, rule.veto)
    if any(j != i and rule.veto.search(lines[j].text) is not None
           for j in block.exceptions[:VETO_REACH]):
        return True  # another cause in the chain (never a frame's class or function name)
    frame_veto = rule.frame_veto
    end = min(block.end, block.start + VETO_REACH)
    return frame_veto is not None and any(
        sh.roles[j] is chains.Role.FRAME and frame_veto.search(lines[j].text) is not None
        for j in range(block.start, end + 1))


def _vetoed_by_chain(lines: list[LogLine], sh: chains.Shape, i: int, veto: rx.Regex) -> bool:
    """Whether a cause chain printed one line per cause, under one record header, says what
    the veto says on a line below line ``i``: Keycloak's ``ERROR: Failed to obtain JDBC
    connection`` then ``ERROR: FATAL: password authentication failed for user "keycloak"``
    is no unreachable database."""
    head = lines[i].text[:PREFIX_CHARS]
    for j in range(i + 1, min(len(lines), i + 1 + BURST_REACH)):
        if lines[j].text[:PREFIX_CHARS] != head or chains.is_quiet(lines, sh, j):
            return False
        if veto.search(lines[j].text) is not None:
            return True
    return False


VARIABLES_SPAN = 40
"""How far (in lines) other missing settings are gathered around the cause."""
_WANTS = {
    Reason.DISK_FULL: "path", Reason.READ_ONLY_FILESYSTEM: "path",
    Reason.PERMISSION_DENIED: "path", Reason.TOO_MANY_OPEN_FILES: "path",
    Reason.DEPENDENCY_UNREACHABLE: "host",
}


def _from_report(lines: list[LogLine], sh: chains.Shape, i: int, want: str
                 ) -> tuple[dict[str, str], str] | None:
    """What the cause line's crash report (or the log line introducing it) names when the
    cause line does not: ``KafkaStorageException: Error while writing to checkpoint file
    /var/lib/kafka/data-0/...`` above ``Caused by: IOException: No space left on device``."""
    block = sh.block(i)
    if block is None:
        return None
    others = [j for j in block.exceptions if j != i]
    if block.start > 0 and sh.roles[block.start - 1] is chains.Role.TEXT:
        others.append(block.start - 1)
    return _first_naming(lines, others, want, quoted_files=False)


def _first_naming(lines: list[LogLine], indexes: Sequence[int], want: str, quoted_files: bool
                  ) -> tuple[dict[str, str], str] | None:
    """The first of these lines that names a ``want`` (a path or a host), and what it names;
    with ``quoted_files``, a quoted relative file (``'./#innodb_redo/#ib_redo36'``) counts."""
    for j in indexes:
        text = lines[j].text
        if want != "path":
            found = generic.host_and_port(text)
            if found:
                return found, text.strip()
            continue
        path = generic.path_near(text, len(text), len(text))
        if not path and quoted_files:
            m = _QUOTED_FILE.search(text)
            path = m["path"] if m is not None else None
        if path:
            return {"path": path}, text.strip()
    return None


#: A number and the unit or fraction written with it (``500ms``, ``1.5s``): a retry's
#: message differs from the one before only by these.
_DIGITS = rx.compile(r"\d[\d.,:]*[A-Za-zµ]*")
BURST_REACH = 3
"""How many lines of its own burst (consecutive error lines) a cause line's neighbours are."""
_QUOTED_FILE = rx.compile(r"['\"`](?P<path>\.{0,2}/?[^'\"`\s]*/[^'\"`\s]+)['\"`]")


def _from_burst(lines: list[LogLine], sh: chains.Shape, i: int, want: str
                ) -> tuple[dict[str, str], str] | None:
    """What the cause line's neighbours in one burst of error lines name when it does not:
    MySQL's ``Operating system error number 13 in a file operation.`` then ``The error
    means mysqld does not have the access rights to the directory.`` then ``Unable to open
    './#innodb_redo/#ib_redo36' (error: 1000).``: one error said over consecutive records."""
    def in_burst(j: int) -> bool:
        return (0 <= j < len(lines) and bool(lines[j].text.strip())
                and not chains.is_quiet(lines, sh, j)
                and chains.effective_level(lines, sh, j) >= Level.ERROR)

    if not in_burst(i):
        return None
    order: list[int] = []
    for step in (1, -1):
        j = i + step
        while abs(j - i) <= BURST_REACH and in_burst(j):
            order.append(j)
            j += step
    return _first_naming(lines, order, want, quoted_files=True)


ATTEMPT_REACH = 3
"""How many lines above a cause line the attempt it failed may be announced on."""
_ATTEMPT = rx.compile(
    r"\b(?:connect(?:ing)?|dial(?:ing)?|trying|attempting to connect|opening (?:a )?connection)"
    r"\b[^\n]{0,40}?\b(?:to|on|at)\b", ignorecase=True)


_SUCCEEDED = rx.compile(r"\b(?:connected|ready|established|started|listening|succeeded|"
                        r"success(?:ful(?:ly)?)?)\b", ignorecase=True)


def _line_above(lines: list[LogLine], sh: chains.Shape, i: int) -> int | None:
    """The nearest non-blank line above line ``i``, when it is not a quiet one."""
    j = i - 1
    while j >= 0 and not lines[j].text.strip():
        j -= 1
    return None if j < 0 or chains.is_quiet(lines, sh, j) else j


_FQDN = rx.compile(r"(?:^|[\s'\"`(=@/])(?P<host>[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
                   r"(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?){2,})(?:$|[\s'\"`):,/])")


def _fqdn_near(lines: list[LogLine], sh: chains.Shape, i: int
               ) -> tuple[dict[str, str], str] | None:
    """The fully qualified name a line that failed to resolve one leaves to the line just
    above it (Redis Sentinel's ``>>> 'sentinel monitor m redis-master-0.redis-headless
    .default.svc.cluster.local 6379 2'`` above ``Can't resolve master instance hostname.``);
    never a version, a mail address's domain or a URL's host."""
    j = _line_above(lines, sh, i)
    if j is None:
        return None
    text = lines[j].text
    for m in _FQDN.finditer(text):
        host = m["host"]
        if (not generic.source_file(host) and _DATA_FILE.search(host) is None
                and not host[:1].isdigit()
                and _VERSION.search(host) is None and f"@{host}" not in text
                and "://" not in text[max(0, m.start() - 12):m.start() + 1]):
            return {"host": host}, text.strip()
    return None


_VERSION = rx.compile(r"^v?\d|\.\d+$")
#: A name that is a data file (``config.prod.yaml``), no host; source files are
#: ``generic.source_file``.
_DATA_FILE = rx.compile(r"\.(?:conf|yaml|yml|json|txt|log)$")


def _attempt_above(lines: list[LogLine], sh: chains.Shape, best: _Candidate
                   ) -> tuple[dict[str, str], str] | None:
    """What the line announcing the failed attempt names, when the cause line names
    nothing: the port a denied process was opening (mosquitto's ``Opening ipv4 listen
    socket on port 443.`` then ``Error: Permission denied``; the line just above), the
    peer a client was connecting to (Linkerd's validator: ``INFO ... Connecting to
    1.1.1.1:20001`` then ``ERROR ... error=Host is unreachable (os error 113)``; an info
    line a few lines up counts)."""
    if best.reason is Reason.PERMISSION_DENIED and "port" not in best.groups:
        j = _line_above(lines, sh, best.line)
        if j is None:
            return None
        port = generic.bound_port(lines[j].text)
        return ({"port": port}, lines[j].text.strip()) if port else None
    if best.reason is Reason.DEPENDENCY_UNREACHABLE:
        for j in range(best.line - 1, max(-1, best.line - 1 - ATTEMPT_REACH), -1):
            text = lines[j].text
            if _SUCCEEDED.search(text) is not None:
                return None  # that attempt worked; the failure is another's
            if sh.roles[j] is chains.Role.FRAME or _ATTEMPT.search(text) is None:
                continue
            found = generic.host_and_port(text)
            if found:
                return found, text.strip()
    return None


def _port_of(lines: list[LogLine], sh: chains.Shape, i: int, host: str
             ) -> tuple[dict[str, str], str] | None:
    """The port of the host the cause line names without one, from the line introducing
    its crash report or its burst: Confluent's ``Error while waiting for Zookeeper client
    to connect to the server [kafka-zookeeper:2181].`` above ``UnknownHostException:
    kafka-zookeeper: Name or service not known``."""
    block = sh.block(i)
    near = [j for j in block.exceptions if j != i] if block is not None else []
    start = block.start if block is not None else i
    near += [j for j in range(start - 1, max(-1, start - 1 - BURST_REACH), -1)
             if not chains.is_quiet(lines, sh, j)]
    near += [j for j in range(i + 1, min(len(lines), i + 1 + BURST_REACH))
             if not chains.is_quiet(lines, sh, j)]
    for j in near:
        found = generic.host_and_port(lines[j].text)
        if found.get("host") == host and found.get("port"):
            return {"port": found["port"]}, lines[j].text.strip()
    return None


PLACE_REACH = 6
"""How far apart a cause line and another of its reason (that may name the place) are, and
how far above the first of them the line that gives that place its path is looked for."""
#: A place named by its kind (``the log directory``, ``data folder``, ``config file``).
_NAMED_PLACE = rx.compile(r"(?i)\b(?P<place>[a-z][a-z-]{1,20} (?:directory|dir|folder|file))\b")


def _named_place_above(lines: list[LogLine], at: Sequence[int]
                       ) -> tuple[dict[str, str], str] | None:
    """The path of a place the failing lines name only by its kind (rustfs's ``Error reading
    the log directory/files: Permission denied`` under ``Initializing log directory:
    /logs``): the nearest line above them that names the same place with a path."""
    places = {m["place"].lower() for i in at for m in _NAMED_PLACE.finditer(lines[i].text)}
    if not places:
        return None
    top = min(at)
    for j in range(top - 1, max(-1, top - 1 - PLACE_REACH), -1):
        text = lines[j].text
        low = text.lower()
        for place in places:
            k = low.find(place)
            if k < 0:
                continue
            path = generic.path_near(text, k, k + len(place))
            if path:
                return {"path": path}, text.strip()
    return None


FRAME_REACH = 8
"""How far below a native crash's signal line its runtime's ``Problematic frame:`` is
looked for."""
_PROBLEMATIC_FRAME = rx.compile(r"^#?\s*Problematic frame:\s*$")


#: HotSpot's fatal-error report's headline: ``#  SIGBUS (0x7) at pc=0x...``,
#: ``#  EXCEPTION_ACCESS_VIOLATION (0xc0000005) at pc=...``.
_FATAL_ERROR_SIGNAL = rx.compile(r"^#\s+(?:SIG[A-Z]+|EXCEPTION_\w+) \(0x[0-9a-fA-F]+\) at pc=")


def _fatal_error_signal(lines: list[LogLine], best: int) -> int | None:
    """The signal line of the fatal-error report whose ``Problematic frame:`` line is
    ``best``, when it is."""
    if best < 1 or _PROBLEMATIC_FRAME.search(lines[best - 1].text) is None:
        return None
    return next((j for j in range(best - 2, max(-1, best - 2 - FRAME_REACH), -1)
                 if _FATAL_ERROR_SIGNAL.search(lines[j].text) is not None), None)


def _problematic_frame(lines: list[LogLine], at: int) -> str | None:
    """The frame a native crash happened in, as HotSpot's fatal-error report names it under
    ``# Problematic frame:`` (``# V  [libjvm.so+0xe20f33]  PhaseIdealLoop::spinup(...)``)."""
    for j in range(at + 1, min(len(lines) - 1, at + 1 + FRAME_REACH)):
        if _PROBLEMATIC_FRAME.search(lines[j].text) is not None:
            return _frame_under(lines, j)
    return None


def _frame_under(lines: list[LogLine], heading: int) -> str | None:
    """The frame on the line under a ``# Problematic frame:`` heading, as evidence."""
    frame = lines[heading + 1].text.strip().lstrip("#").strip()
    return f"Problematic frame: {frame}" if frame else None


def _merge(best: _Candidate, candidates: list[_Candidate], lines: list[LogLine],
           sh: chains.Shape) -> Cause:
    """The winner, with what other lines of the same reason name and it does not."""
    groups = dict(best.groups)
    span = list(best.span)
    want = _WANTS.get(best.reason)
    if want == "path" and "path" not in groups:
        # a place the failing lines name by its kind, given its path above: before any
        # other line of the same reason lends a path of its own guessing
        near = [c.line for c in candidates
                if c.reason is best.reason and abs(c.line - best.line) <= PLACE_REACH]
        place = _named_place_above(lines, sorted({best.line, *near}))
        if place is not None:
            groups.update(place[0])
            span.append(place[1])
    block = sh.block_of[best.line]
    same = [c for c in candidates if c is not best and c.reason is best.reason]
    same.sort(key=lambda c: (sh.block_of[c.line] != block or block < 0, -c.score, -c.line))
    for other in same:
        new = {k: v for k, v in other.groups.items() if k not in groups}
        if "port" in new and "host" in groups and "host" not in new:
            new.pop("port")  # a port belongs with its own host
        if not new:
            continue
        groups.update(new)
        for text in other.span:
            if text not in span:
                span.append(text)
    def lend(found: tuple[dict[str, str], str] | None) -> None:
        """What another line names and the cause does not, and that line's text."""
        if found is not None:
            groups.update({k: v for k, v in found[0].items() if k not in groups})
            if found[1] not in span:
                span.append(found[1])

    if best.reason is Reason.SEGFAULT:
        frame = _problematic_frame(lines, best.line)
        if frame is not None and frame not in span:
            span.append(frame)
    if best.reason is Reason.PERMISSION_DENIED and "port" in groups:
        want = None  # a denied bind: the port is what was denied, no path to look for
    if want and want not in groups:
        lend(_from_report(lines, sh, best.line, want)
             or _from_burst(lines, sh, best.line, want)
             or _attempt_above(lines, sh, best))
    if (want == "host" and "host" not in groups
            and best.rule == f"generic-{generic.NAME_RESOLUTION}"):
        lend(_fqdn_near(lines, sh, best.line))
    if want == "host" and "host" in groups and "port" not in groups:
        lend(_port_of(lines, sh, best.line, groups["host"]))
    if want == "path":
        # the same error about other paths, next to it (``chown: /var/lib/grafana/csv:
        # Permission denied`` then ``.../png`` and ``.../pdf``): each is reported
        paths = {groups.get("path")}
        for c in sorted(candidates, key=lambda c: c.line):
            path = c.groups.get("path")
            if (c is best or c.rule != best.rule or abs(c.line - best.line) > BURST_REACH
                    or not path or path in paths or len(span) >= OTHER_PATHS_SPAN):
                continue
            paths.add(path)
            span.extend(t for t in c.span if t not in span)
        # the first of the same error in the run, further up, when it is about another path
        # (Nexus's ``mkdir: cannot create directory '../sonatype-work/nexus3/log': Permission
        # denied`` long before ``FileNotFoundException: /nexus-data/karaf.pid (Permission
        # denied)``): where the trouble started
        # (never a warning the process carried on after, nor a denial that names no file,
        # nor ``find``'s walk into another process's /proc entries)
        first = min((c for c in candidates if c.rule == best.rule
                     and c.line < best.line - BURST_REACH
                     and (c.groups.get("path")
                          or _QUOTED_FILE.search(lines[c.line].text) is not None)
                     and "/proc/" not in lines[c.line].text
                     and chains.effective_level(lines, sh, c.line) is not Level.WARN),
                    key=lambda c: c.line, default=None)
        if (first is not None and len(span) < OTHER_PATHS_SPAN
                and first.groups.get("path") not in paths):
            span.extend(t for t in first.span if t not in span)
        if not groups.get("path"):
            # no path: the error just below from the same writer says what it was writing
            # (NCCL's ``... NCCL WARN Error while creating shared memory segment
            # nccl-shm-recv-... (size 9637888)`` under its ``posix_fallocate failed : No
            # space left on device``)
            below = _outer_error_below(lines, sh, best.line)
            if below is not None and below not in span and len(span) < OTHER_PATHS_SPAN:
                span.append(below)
    if want == "host":
        # a cause chain printed one line per cause (Keycloak's ``ERROR: Failed to obtain
        # JDBC connection`` then ``ERROR: Acquisition timeout while waiting for new
        # connection``): another message of the same reason next to it is reported too
        # (the same message again, but for its numbers, is a retry, not a cause)
        said = {_DIGITS.sub("", lines[best.line].text)}
        for c in sorted(candidates, key=lambda c: c.line):
            text = _DIGITS.sub("", lines[c.line].text)
            if (c is not best and c.reason is best.reason and text not in said
                    and 0 < abs(c.line - best.line) <= BURST_REACH
                    and len(span) < OTHER_PATHS_SPAN):
                said.add(text)
                span.extend(t for t in c.span if t not in span)
    variables: list[str] = []
    if best.reason is Reason.MISSING_ENV:
        nearby = sorted((c for c in candidates if c.reason is Reason.MISSING_ENV
                         and abs(c.line - best.line) <= VARIABLES_SPAN), key=lambda c: c.line)
        best_var = best.groups.get("variable", "")
        added: set[str] = set()
        for c in nearby:  # in the order the log names them; one spelling per variable
            var = c.groups.get("variable")
            if not var or (c is not best and c.line == best.line and c.layer != best.layer):
                continue  # the other layer's reading of the same line names the same setting
            if var.upper() == best_var.upper():
                var = best_var
            if var.upper() in added:
                continue
            added.add(var.upper())
            variables.append(var)
            for text in c.span if c is not best else ():
                if text not in span and len(span) < 6:
                    span.append(text)
    return Cause(best.reason, best.rule, best.layer, best.line, tuple(span[:6]), groups,
                 chains.effective_level(lines, sh, best.line), sh.meaningful_from_end[best.line],
                 tuple(variables))


DETAIL_LINES = 2
"""How many detail lines a head that announces them (``...:``) is reported with."""
DETAIL_REACH = 6
_SAYS_FAILURE = rx.compile(
    r"\b(?:error|fail\w*|cannot|can't|could not|unable|denied|invalid|inconsisten\w*|"
    r"corrupt\w*|terminat\w*|abort\w*|missing|not (?:found|allowed|supported|permitted)|"
    r"refused|exceed\w*|mismatch\w*|incompatible)\b", ignorecase=True)
#: A line that goes on about what the line above said (``It contains ...``).
_REFERS_BACK = rx.compile(r"^(?:It|This|That|These|They) (?:is|was|contains|has|had|means|"
                          r"may|might|must|seems|appears|looks|does|did|can|could)\b")
#: A sentence that names a secret (``This is the unseal key: ...``) is never taken as a
#: detail: redaction knows keys, not prose, and the line above tells without it.
_NAMES_A_SECRET = rx.compile(r"(?i)\b(?:keys?|tokens?|passwords?|passwd|passphrase|secrets?|"
                             r"credentials?|api[ _-]?keys?)\b")
HEADING_CHARS = 24
"""How long an unindented line ending with a colon may be to count as a heading."""


RECORD_MESSAGE_LINES = 3
"""How many lines of one structured record's message are reported together."""


def _record_lines(lines: Sequence[LogLine], sh: chains.Shape, i: int) -> list[int]:
    """The lines of the structured record message line ``i`` belongs to, when it is written
    over several lines (not its stack, and no frame its message holds): at most
    :data:`RECORD_MESSAGE_LINES`, from its first line on, or its first line and the lines
    just before ``i`` when ``i`` is further down. Prometheus's ``err="... parsing YAML
    file x: yaml: unmarshal errors:\n  line 661: field honor_timestamps not found in type
    config.plain"`` is one message, its file and its field; Hasura's ``internal`` holds
    libpq's two attempts, ``Connection refused`` first."""
    line = lines[i]
    if not line.structured or line.stack:
        return [i]

    def same(j: int) -> bool:
        # a blank line inside the message (the AWS SDK's ``EC2MetadataError: failed to make
        # EC2Metadata request\n\n\tstatus code: 401, request id: ``) does not end it
        return (lines[j].record == line.record and not lines[j].stack
                and (sh.roles[j] in (chains.Role.TEXT, chains.Role.DETAIL)
                     or not lines[j].text.strip()))

    first = i
    while first > 0 and same(first - 1):
        first -= 1
    last = i
    while last + 1 < len(lines) and same(last + 1):
        last += 1
    if i - first < RECORD_MESSAGE_LINES:
        return list(range(first, min(last, first + RECORD_MESSAGE_LINES - 1) + 1))
    return [first, *range(i - RECORD_MESSAGE_LINES + 2, i + 1)]


def _record_message(lines: list[LogLine], sh: chains.Shape, i: int) -> str | None:
    """The whole message of a structured record written over several lines, as one line."""
    indexes = _record_lines(lines, sh, i)
    if len(indexes) < 2:
        return None
    return " ".join(t for t in (lines[j].text.strip() for j in indexes) if t)


#: An error line that is only a code: ``Error: P3009``, ``error: E0425``.
_CODE_ONLY = rx.compile(r"^\s*(?:Error|ERROR|error):\s*[A-Z]{1,4}-?\d{3,5}\s*$")


def _details(lines: list[LogLine], sh: chains.Shape, i: int) -> list[str]:
    """The lines that continue line ``i``: an exception's message before its frames, a
    ``More details:`` block, or the details a line announces by ending with a colon (blank
    lines and short headings between): Elixir's ``** (ArgumentError) errors were found at
    the given arguments:`` then ``* 1st argument: not a textual representation of an
    integer`` and the call, ``:erlang.binary_to_integer("tcp://10.96.174.248:5432")``. A
    frame, a structured record or a line with a time or level of its own ends them."""
    j = i + 1
    if j < len(lines) and chains.is_details_heading(lines[j].text):
        j += 1
    run: list[str] = []
    while (j < len(lines) and len(run) < chains.DETAIL_LINES
           and sh.roles[j] is chains.Role.DETAIL):
        run.append(lines[j].text.strip())  # a message continued, or a details block
        j += 1
    if run:
        return run
    if (i + 1 < len(lines) and not lines[i].structured and not lines[i + 1].structured
            and _REFERS_BACK.search(lines[i + 1].text) is not None
            and _NAMES_A_SECRET.search(lines[i + 1].text) is None
            and not starts_record(lines[i + 1].text)
            and prefix_level(lines[i + 1].text) is Level.UNKNOWN):
        # a sentence that continues this one's subject (initdb's ``directory ".../data"
        # exists but is not empty`` then ``It contains a lost+found directory, perhaps due to
        # it being a mount point.``)
        return [lines[i + 1].text.strip()]
    if _CODE_ONLY.search(lines[i].text) is not None and not lines[i].structured:
        # an error that gives only its code (Prisma's ``Error: P3009``): its message is the
        # paragraph below it (after a blank line)
        j = i + 1
        while j < len(lines) and j - i <= 2 and not lines[j].text.strip():
            j += 1
        said: list[str] = []
        while (j < len(lines) and lines[j].text.strip() and len(said) < DETAIL_LINES
               and not lines[j].structured and sh.roles[j] is chains.Role.TEXT
               and prefix_level(lines[j].text) is Level.UNKNOWN):
            said.append(lines[j].text.strip())
            j += 1
        return said
    if not lines[i].text.rstrip().endswith(":") or lines[i].structured:
        return []
    out: list[str] = []
    j = i + 1
    while j < len(lines) and len(out) < DETAIL_LINES and j - i <= DETAIL_REACH:
        text = lines[j].text
        if text.strip():
            if lines[j].structured or sh.roles[j] is not chains.Role.TEXT:
                break
            if text[:1] not in (" ", "\t"):
                # unindented: a line with no record or level of its own (CockroachDB's
                # ``From .../_CRITICAL_ALERT.txt:`` then ``ATTENTION:`` and the alert)
                if starts_record(text) or prefix_level(text) is not Level.UNKNOWN:
                    break
                if len(text.strip()) <= HEADING_CHARS and text.rstrip().endswith(":"):
                    j += 1
                    continue  # a heading of the details
                if _SAYS_FAILURE.search(text) is None:
                    break  # only what says what failed (never a key or a DSN under a heading)
            out.append(text.strip())
        j += 1
    return out


PREFIX_CHARS = 20
"""How much of a record's start (its time and process) two lines of one process share."""


HINT_REACH = 20
"""How far above the most telling line a runtime's guess at the cause is looked for."""
_RUNTIME_HINT = rx.compile(
    r"(?i)\b(?:this|it|which) (?:might|may|could|is likely to) (?:be|have been) caused by\b|"
    r"\bis (?:probably|most likely|likely) (?:caused by|due to)\b")


#: A system call that failed with its errno's name: ``pthread_create failed (EAGAIN)``.
_SYSCALL_ERRNO = rx.compile(r"\b[a-z_][a-z0-9_]{2,}(?:\(\))? failed \(E[A-Z]{3,}\)")
#: An exception line's message: what follows its type (``SocketException (98): ...``).
_EXCEPTION_MESSAGE = rx.compile(r"(?:Exception|Error)(?: \(\d+\))?: (?P<message>.+)$")
#: A crash's line that states an error another line may say with more around it: a Go
#: panic's value, an exception's message.
_REPEATED_MESSAGE = rx.compile(
    r"^(?:panic: |[\w.$]*(?:Exception|Error)(?: \(\d+\))?: )(?P<message>.+)$")
OUTER_WORDS = 12
"""How long an inner exception's message must be to be looked for in an outer one's."""
RESTATED_WORDS = 5
"""How many words a panic's value or an exception's message must have to be looked for in
a line above (``context deadline exceeded`` is in many a line about something else)."""


def _telling(lines: list[LogLine], sh: chains.Shape) -> list[str]:
    ranked = chains.telling(lines, sh)
    if not ranked:
        return []
    best = ranked[0]
    if lines[best].text.startswith(">>> '"):
        # Redis's echo of the offending configuration line (``>>> 'maxmemory 256mb
        # --maxmemory-samples 5'``) comes after what is wrong with it, which tells first
        after = next((j for j in range(best + 1, min(len(lines), best + 3))
                      if lines[j].text.strip()), None)
        if after is not None and not chains.is_quiet(lines, sh, after):
            return [lines[after].text.strip(), lines[best].text.strip()]
    signal = _fatal_error_signal(lines, best)
    if signal is not None:
        # a JVM's fatal-error report whose frame line won: its signal line says what
        # happened (``#  SIGBUS (0x7) at pc=...``), the frame where
        frame = _frame_under(lines, best - 1)
        return [lines[signal].text.strip(), *([frame] if frame else [])]
    out = [_record_message(lines, sh, best)
           or " ".join([lines[best].text.strip(), *_details(lines, sh, best)])]
    block = sh.block(best)
    partners = [block.root, block.top] if block is not None else []
    if block is not None and best == block.root:
        # an inner exception that only repeats what an outer one says, which names more
        # (.NET's ``---> SocketException (98): Address already in use`` under ``IOException:
        # Failed to bind to address http://127.0.0.1:5010: address already in use.``)
        said = _EXCEPTION_MESSAGE.search(lines[best].text)
        words = said["message"].strip().rstrip(".").lower() if said else ""
        if len(words) >= OUTER_WORDS:
            own = chains.specificity(lines[best].text)
            outer = [(spec, -j, j) for j in block.exceptions
                     if j != best and words in lines[j].text.lower()
                     and (spec := chains.specificity(lines[j].text)) > own]
            partners[:0] = [max(outer)[2]] if outer else []
    if TELLING.search(out[0]) is None:
        # the line just above that says why, with an errno's text (PostgreSQL's ``could not
        # read from log segment ...: Input/output error`` above ``PANIC: could not locate a
        # valid checkpoint record``)
        # or a system call's failure with its errno, even at warning level (the JVM's
        # ``[warning][os,thread] Failed to start thread ... - pthread_create failed (EAGAIN)``
        # above ``OutOfMemoryError: unable to create native thread``)
        head = lines[best].text[:PREFIX_CHARS]
        partners[:0] = [j for j in range(best - 1, max(-1, best - 1 - chains.DEFER_SPAN), -1)
                        if not chains.is_quiet(lines, sh, j)
                        and ((TELLING.search(lines[j].text) is not None
                              and (lines[j].text[:PREFIX_CHARS] == head
                                   or chains.effective_level(lines, sh, j) >= Level.ERROR))
                             or _SYSCALL_ERRNO.search(lines[j].text) is not None)][:1]
    # a line above that says the same error with what it was doing: the EBS CSI driver's
    # ``"Could not determine region from any metadata service. ..." err="error getting
    # instance data ..."`` above ``panic: error getting instance data ...``, Immich's
    # ``Migration "AddAutoStackId..." failed, error: column ... already exists`` above
    # TypeORM's ``QueryFailedError: column ... already exists``
    said = _REPEATED_MESSAGE.search(lines[best].text.strip())
    words = said["message"].strip().rstrip(".").lower() if said else ""
    if len(words) >= OUTER_WORDS and len(words.split()) >= RESTATED_WORDS:
        partners[:0] = [j for j in range(best - 1, max(-1, best - 1 - HINT_REACH), -1)
                        if words in lines[j].text.lower()
                        and len(lines[j].text.strip()) > len(lines[best].text.strip())
                        and not chains.is_quiet(lines, sh, j)
                        and sh.roles[j] is not chains.Role.FRAME][:1]
    # an HTTP status that names no request: the line just above that names it (the GitHub
    # runner's ``Http response code: NotFound from 'POST https://api.github.com/actions/
    # runner-registration'`` above ``Response status code does not indicate success: 404
    # (Not Found).``)
    if _STATUS_ONLY.search(lines[best].text) is not None and "://" not in lines[best].text:
        partners[:0] = [j for j in range(best - 1, max(-1, best - 1 - DEFER_REQUEST), -1)
                        if "://" in lines[j].text and not chains.is_quiet(lines, sh, j)][:1]
    # the runtime's own guess at the cause, a little above (PyTorch's ``ERROR: Unexpected bus
    # error encountered in worker. This might be caused by insufficient shared memory (shm).``
    # above ``RuntimeError: DataLoader worker (pid 125) is killed by signal: Bus error.``)
    # (a warning's guess is about what it warned of, not about this crash)
    partners[:0] = [j for j in range(best - 1, max(-1, best - 1 - HINT_REACH), -1)
                    if _RUNTIME_HINT.search(lines[j].text) is not None
                    and not chains.is_quiet(lines, sh, j)
                    and chains.effective_level(lines, sh, j) is not Level.WARN][:1]
    if chains.aws_cause(lines[best].text):
        # the AWS SDK's chain names its wrapper on the line above (``WebIdentityErr: failed
        # to retrieve credentials`` above ``caused by: AccessDenied: ...``)
        above = _line_above(lines, sh, best)
        partners[:0] = [above] if above is not None else []
    # the heading an indented item was listed under, when it names what the list is of
    # (Loki's ``failed parsing config: /etc/loki/local-config.yaml: yaml: unmarshal
    # errors:`` above ``  line 29: field metric_aggregation_enabled not found in type ...``)
    heading = _heading_above(lines, sh, best)
    partners[:0] = [heading] if heading is not None else []
    # the generic wrapper a specific line was preferred to, when it is next to it
    partners += [j for j in ranked[1:2]
                 if abs(j - best) <= chains.DEFER_SPAN and chains.is_generic(lines[j].text)]
    for other in partners:
        text = lines[other].text.strip() if other >= 0 and other != best else ""
        if text and text not in out:
            out.append(text)
            break
    if len(out) == 1 and chains.specificity(lines[best].text) <= 0:
        # a line that names nothing (CouchDB's ``Monster detected ohno!, aborting
        # startup.``): the advice right below it names what to change
        advice = next((j for j in range(best + 1, min(len(lines), best + 3))
                       if lines[j].text.strip()), None)
        if advice is not None and chains.is_advice(lines[advice].text):
            out.append(lines[advice].text.strip())
    if len(out) == 1:
        # what is there instead, listed under a heading just below (the .NET host's
        # ``Framework: 'Microsoft.NETCore.App', version '8.0.0'`` then ``The following
        # frameworks were found:`` and ``  7.0.16 at [/usr/share/dotnet/shared/...]``)
        found = _inventory_below(lines, best)
        if found is not None:
            out.append(found)
    if len(out) == 1:
        # advice that gives the command that fixes it, in the error's own report (Ghost's
        # knex-migrator: ``MigrationsAreLockedError`` with ``... you can manually release the
        # lock by running `UPDATE migrations_lock set locked=0 ...`.``)
        fix = next((j for j in range(max(0, best - FIX_REACH), min(len(lines), best + 3))
                    if j != best and _GIVES_COMMAND.search(lines[j].text) is not None
                    and chains.is_advice(lines[j].text)
                    and chains.effective_level(lines, sh, j) is not Level.WARN), None)
        if fix is not None:
            out.append(lines[fix].text.strip())
    if len(out) == 1:
        where = _raised_at(lines, sh, best)
        if where is not None:
            out.append(where)
    if len(out) == 1:
        # what the process then gave up on, when a later error says it (a controller's
        # ``Failed to update lock: etcdserver: request timed out``, then ``problem running
        # manager: leader election lost``): the cause and the exit, each in its own words
        # (at most one more than may follow: more, and none is shown)
        spoken = list(islice((j for j in range(best + 1, len(lines))
                              if not chains.is_quiet(lines, sh, j) and lines[j].text.strip()
                              and sh.roles[j] is not chains.Role.DETAIL), EXIT_REACH + 1))
        # a record of its own at error level (not a line that continues one), naming no
        # secret
        last = next((j for j in reversed(spoken)
                     if chains.effective_level(lines, sh, j) >= Level.ERROR
                     and (lines[j].structured or prefix_level(lines[j].text) >= Level.ERROR)
                     and _NAMES_A_SECRET.search(lines[j].text) is None), None)
        if (last is not None and len(spoken) <= EXIT_REACH
                and not chains.is_generic(lines[last].text)
                and chains.specificity(lines[last].text) > 0):
            text = lines[last].text.strip()
            if text not in out[0] and out[0] not in text:
                out.append(text)
    # one error of a list of the same kind (a configuration parser's ``nats.conf:31:1: ...``
    # then ``nats.conf:32:1: ...``): the first is the first to fix, and tells first
    first = best
    while first > max(0, best - LIST_REACH) and _same_but_numbers(lines[first - 1].text,
                                                                  lines[best].text):
        first -= 1
    if first != best:
        head = lines[first].text.strip()
        out = [head, *(t for t in out if t != head)][:2]
    return out


INVENTORY_REACH = 6
"""How far below the most telling line a list of what is there instead is looked for."""


#: A heading over a list of what is there: ``The following frameworks were found:``,
#: ``Available versions:``, ``Installed SDKs:``.
_INVENTORY = rx.compile(
    r"^(?:The following\b[^:\n]{1,60}\b(?:were|was|are|is) (?:found|installed|available)|"
    r"(?:Available|Installed|Found|Supported)\b[^:\n]{1,40}):\s*$")


#: The words of an inventory's heading that say nothing of what it lists.
_INVENTORY_WORDS = rx.compile(r"[A-Za-z][A-Za-z.-]{2,}")
_NOT_LISTED = frozenset({"the", "following", "were", "was", "are", "found", "installed",
                         "available", "supported", "and", "for", "other", "these", "this"})


def _lists_what_it_names(heading: str, telling: str) -> bool:
    """Whether a heading lists things of the kind the telling line names (``frameworks``
    under ``Framework: 'Microsoft.NETCore.App', version '8.0.0'``): cobra's ``Available
    Commands:`` under ``Error: unknown flag: --foo`` does not."""
    said = telling.lower()
    for m in _INVENTORY_WORDS.finditer(heading):
        word = m.group(0).lower()
        if word in _NOT_LISTED:
            continue
        stem = word[:-1] if word.endswith("s") else word
        if len(stem) >= 3 and stem in said:
            return True
    return False


def _inventory_below(lines: list[LogLine], best: int) -> str | None:
    """``The following frameworks were found: 7.0.16 at [...]``: a heading a little below
    the most telling line, of the kind of thing that line names, and the first item
    indented under it, as one line."""
    for j in range(best + 1, min(len(lines) - 1, best + 1 + INVENTORY_REACH)):
        if _INVENTORY.search(lines[j].text.strip()) is None:
            continue
        if not _lists_what_it_names(lines[j].text.strip(), lines[best].text):
            return None
        item = lines[j + 1].text
        if item[:1] in (" ", "\t") and item.strip():
            return f"{lines[j].text.strip()} {item.strip()}"
        return None
    return None


def _heading_above(lines: list[LogLine], sh: chains.Shape, best: int) -> int | None:
    """The unindented line ending with a colon that an indented line ``best`` is listed
    under (over its indented siblings, at most :data:`LIST_REACH` lines up), when that
    heading names something; or None."""
    if lines[best].text[:1] not in (" ", "\t") or lines[best].structured:
        return None
    for j in range(best - 1, max(-1, best - 1 - LIST_REACH), -1):
        text = lines[j].text
        if not text.strip():
            return None
        if text[:1] in (" ", "\t"):
            continue
        if (text.rstrip().endswith(":") and not lines[j].structured
                and not chains.is_quiet(lines, sh, j) and chains.specificity(text) > 0):
            return j
        return None
    return None


#: A response's status with no request: ``Response status code does not indicate success:
#: 404 (Not Found).`` (.NET's HttpClient), ``unexpected status code 503``.
_STATUS_ONLY = rx.compile(r"(?i)\bstatus(?: code)?\b[^\n]{0,40}?\b[1-5]\d\d\b")
DEFER_REQUEST = 3
"""How far above a status that names no request the line that names it is looked for."""
EXIT_REACH = 6
"""How many lines that say something may follow the most telling line for the last error
among them to be shown as what the process gave up on."""
FIX_REACH = 8
"""How far above the most telling line advice that gives a command is looked for."""
#: A command in advice: ```UPDATE x set ...```, ``run `kubectl ...```.
_GIVES_COMMAND = rx.compile(r"`[^`\n]{6,}`")
LIST_REACH = 20
"""How far above the most telling line the start of a list of the same error is looked for."""
#: A position in a file: ``nats.conf:31:1:``, ``app.py:31:``, ``line 31``.
_POSITION = rx.compile(r"(?:\.[A-Za-z]\w*|[\w-]/[\w.-]+):\d+(?::\d+)?:|\bline \d+\b")


def _same_but_numbers(above: str, line: str) -> bool:
    """Whether two lines say the same but for the position in a file each names, the one
    above perhaps after a prefix of its own (``nats-server: ``)."""
    above, line = above.strip(), line.strip()
    if above == line or _POSITION.search(line) is None:
        return False
    b = _POSITION.sub("#", line)
    return len(b) >= 20 and _POSITION.sub("#", above).endswith(b)


#: A frame in a source file (Ruby's ``/app/x.rb:3:in ...``, Python's ``File "/app/x.py",
#: line 3``, PHP's ``#0 /var/www/x.php(3)``, Node's ``(/app/x.js:3:5)``) ...
_FILE_FRAME = rx.compile(r"(?:^|[\s\"(])/[\w.@+-]+(?:/[\w.@+-]+)*"
                         r"(?:\.(?:rb|rake|py|php|js|mjs|cjs|ts)\b|/Rakefile:)")
#: ... of a library or the runtime, not the application's.
#: (the runtime's own library wherever it is installed: ``/usr/local/lib64/ruby/3.0.0/``,
#: ``/usr/share/ruby/``, an rbenv's ``.../lib/ruby/3.2.0/``, ``/usr/lib64/python3.9/``)
_LIBRARY_PATH = rx.compile(r"/gems/|/vendor/|site-packages|dist-packages|node_modules|"
                           r"/usr/(?:local/)?lib(?:64)?/|/usr/share/(?:ruby|rubygems|php|pear)|"
                           r"/lib(?:64)?/ruby/|/rubygems|<internal:|/lib(?:64)?/python\d",
                           ignorecase=True)


SOURCE_LINES = 2
"""How many lines a Python frame's quoted source (and carets) may take under it."""


def _raised_at(lines: list[LogLine], sh: chains.Shape, best: int) -> str | None:
    """Where the telling exception was raised, when that is the application's own file: the
    first frame below it (Ruby, PHP, Node), or Python's last frame above it. A library's
    frame says nothing the message does not."""
    block = sh.block(best)
    if block is None or sh.roles[best] is not chains.Role.EXCEPTION:
        return None
    # below: past the source line Ruby 3 quotes under the message (which ends the block)
    below = range(best + 1, min(len(lines) - 1, best + chains.DEFER_SPAN) + 1)
    above = range(best - 1, max(block.start, best - chains.DEFER_SPAN) - 1, -1)
    for span in (below, above):
        frame = next((j for j in span if sh.roles[j] in (chains.Role.FRAME,
                                                          chains.Role.EXCEPTION)), None)
        if frame is None or sh.roles[frame] is not chains.Role.FRAME:
            continue
        # Python quotes the source line (and, since 3.11, carets) under the frame's own line
        # (``  File "/app/main.py", line 2, in run`` above ``    raise ValueError(...)``)
        for _ in range(SOURCE_LINES if span is above else 0):
            if (_FILE_FRAME.search(lines[frame].text) is not None or frame <= block.start
                    or sh.roles[frame - 1] is not chains.Role.FRAME):
                break
            frame -= 1
        text = lines[frame].text.strip()
        if _FILE_FRAME.search(text) is None or _LIBRARY_PATH.search(text) is not None:
            return None
        return text
    return None


def _last_line(lines: list[LogLine], text: str) -> list[str]:
    for line in reversed(lines):
        if line.text.strip():
            return [line.text.strip()]
    stripped = text.strip()
    return [stripped.rsplit("\n", 1)[-1][:2048]] if stripped else []


def read_crash(text: str, budget: Budget | None = None,
               signatures: Sequence[Signature] | None = None,
               context: Context | None = None, trace: LogTrace | None = None) -> LogReading:
    """Read a previous container's log (and termination message) for why it exited.
    ``trace`` records the lines as read and every candidate, ranked; it changes nothing."""
    budget = budget or Budget.unlimited()
    reading, sh, candidates, best = _read_crash(text, budget, signatures, context or Context())
    if trace is not None:
        _record(trace, text, reading, sh, candidates, best, budget)
    return reading


def _read_crash(text: str, budget: Budget, signatures: Sequence[Signature] | None,
                context: Context
                ) -> tuple[LogReading, chains.Shape | None, list[_Candidate], _Candidate | None]:
    if not text or budget.spent("reading the log"):
        return LogReading([], None, _last_line([], text) if text else []), None, [], None
    lines = read_log(text)
    if not lines or budget.spent("finding crash reports"):
        return LogReading(lines, None, _last_line(lines, "")), None, [], None
    sh = chains.shape(lines)
    found = _catalogue_candidates(lines, sh, budget,
                                  catalogue() if signatures is None else signatures)
    if found is None or budget.spent("the generic layer"):
        return LogReading(lines, None, _last_line(lines, "")), sh, [], None
    candidates = found + _generic_candidates(lines, sh, context)
    if budget.spent("ranking"):
        return LogReading(lines, None, _last_line(lines, "")), sh, candidates, None
    telling = _telling(lines, sh)
    if not candidates:
        return LogReading(lines, None, telling), sh, candidates, None
    best = max(candidates, key=_rank)
    return LogReading(lines, _merge(best, candidates, lines, sh), telling), sh, candidates, best


def _rank(c: _Candidate) -> tuple[int, int, int]:
    """The most telling line wins; on a tie the later line; on the same line the catalogue
    entry listed first (specific before generic)."""
    return (c.score, c.line, -c.order)


def _record(trace: LogTrace, text: str, reading: LogReading, sh: chains.Shape | None,
            candidates: list[_Candidate], best: _Candidate | None, budget: Budget) -> None:
    """What a reading saw, for ``crashwatch explain``."""
    trace.chars = len(text)
    trace.stopped = budget.spent_at
    lines = reading.lines
    trace.lines = [LogLineTrace(line.level.name.lower(), line.text,
                                sh is not None and not chains.is_quiet(lines, sh, i))
                   for i, line in enumerate(lines)]
    trace.telling = list(reading.telling)
    cause = reading.cause
    for c in sorted(candidates, key=_rank, reverse=True):
        entry = LogCandidate(c.line, c.reason.value, c.rule, c.layer, c.score, dict(c.groups),
                             chosen=c is best)
        if c is best:
            entry.verdict = "wins: the most telling line"
        elif best is not None:
            if c.score < best.score:
                entry.verdict = f"loses: a less telling line (score {c.score} < {best.score})"
            elif c.line < best.line:
                entry.verdict = "loses: as telling, but an earlier line (the later one wins)"
            else:
                entry.verdict = ("loses: the same line, and a rule tried after the winner's "
                                 "(the catalogue before the generic layer)")
            lent = sorted(k for k, v in c.groups.items()
                          if cause is not None and k not in best.groups
                          and cause.groups.get(k) == v)
            if lent:
                entry.verdict += f"; lends {', '.join(lent)} to the winner"
            var = c.groups.get("variable")
            if (cause is not None and var and c.reason is cause.reason is Reason.MISSING_ENV
                    and var != best.groups.get("variable") and var in cause.variables):
                entry.verdict += f"; the setting it names ({var}) is reported too"
        trace.candidates.append(entry)
