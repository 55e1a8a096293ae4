"""The shape of a crash in a log: exception chains, stack frames, noise, and which line is
the root cause.

Each normalised line gets a :class:`Role`; consecutive exception lines, frames and chain
links form a :class:`Block` (one crash report), whose *root* is the line a person looks
for first:

- Java/Kotlin/Scala: the last ``Caused by:`` (the deepest cause), else the first exception;
- Python: the final exception line of the first traceback of a chain (``During handling of
  the above exception`` and ``The above exception was the direct cause`` both print the
  cause first); the last traceback's final line is the block's *top*;
- .NET: the innermost `` ---> `` exception after ``Unhandled exception.``;
- Node: a ``[cause]:`` if there is one, else the ``Error:`` line above the ``at`` frames;
- Go: the first ``panic:`` / ``fatal error:`` (a ``[recovered]`` panic's origin);
- Ruby: the last ``... (SomeError)`` line (Ruby prints causes after the exception);
- Rust: the message after ``thread 'main' panicked at``; C++: ``what():``;
- PHP: ``PHP Fatal error:  Uncaught ...``; Spring Boot's failure analysis: the line after
  ``Description:``.

A command's usage text (Go's ``Usage of /bin/app:``, cobra, urfave/cli, argparse) is noise:
the flag error printed before or after it is what tells.

:func:`rank` scores lines for "how telling is it": severity (fatal > error > unknown >
warn; info and debug never tell), role in a block (root > other exception line), recency
(the last crash report, the last meaningful lines), the first line of a burst of error
lines (a program writes the cause before its consequences) and specificity (a line that names
something beats ``checks failed`` / ``For more details run ...``; one that says why, with an
errno's text, an HTTP status or a timeout, beats one that only names things).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from crashwatch.diagnosis import rx
from crashwatch.diagnosis.evidence import TELLING
from crashwatch.diagnosis.logread import Level, LogLine, starts_record


class Role(Enum):
    TEXT = "text"
    EXCEPTION = "exception"
    FRAME = "frame"
    LINK = "link"
    NOISE = "noise"
    DETAIL = "detail"
    """The rest of an exception's message, on lines of its own before its frames (.NET's
    ``Parameter name: uriString`` under ``ArgumentNullException: Value cannot be null.``)."""


_EXCEPTION = rx.compile(
    r"^\s*(?:Exception in thread \"[^\"]*\" |Caused by: |Suppressed: |Unhandled [Ee]xception[.:] ?"
    r"|Uncaught (?:exception )?|\[cause\]: |---> |(?:PHP )?Fatal error: +Uncaught |"
    r"Unhandled Rejection at: |\*\* )?"
    r"\(?(?:[A-Za-z_$][\w$]*(?:\.|::|\\))*[A-Z]?[\w$]*(?:Exception|Error|Exit|Interrupt|"
    r"Failure|Fault|Throwable|Panic|Rejection|Warning)\)?(?: \[[A-Z_0-9]+\])?"
    r"(?: \(0x[0-9A-Fa-f]+\)| \(-?\d+\))?(?:: |:$|$| \(| in \S)"
)
#: The AWS SDK for Go's (v1) error chain: ``WebIdentityErr: failed to retrieve credentials``
#: then ``caused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity``
#: (an error code, not an exception type).
_AWS_CAUSE = rx.compile(r"^\s*caused by: [A-Z][A-Za-z0-9]+: \S")


def aws_cause(text: str) -> bool:
    """Whether a line is a cause in the AWS SDK's chain (``caused by: AccessDenied: ...``)."""
    return _AWS_CAUSE.search(text) is not None


_RUBY_EXCEPTION = rx.compile(r"^\S+:\d+:in [`'][^']*': .*\((?:[A-Z][\w]*::)*[A-Z]\w*\)\s*$")
#: Elixir: ``** (ArgumentError) could not fetch environment variable ...`` (any module name).
_ELIXIR_EXCEPTION = rx.compile(r"^\s*\*\* \((?:[A-Z]\w*\.)*[A-Z]\w*\) \S")
_RUNTIME_HEAD = rx.compile(
    r"^(?:panic: |fatal error: |FATAL ERROR: |thread '[^']*' panicked at|"
    r"terminate called after throwing|\s*what\(\): |(?:PHP )?Fatal error: |"
    r"Fatal Python error: |Unhandled exception\.|Segmentation fault|"
    r"A fatal error has been detected by the Java Runtime Environment|Error: |"
    # glog exiting when it cannot write its own log file
    r"log: exiting because of error: )"
)
_TRACEBACK = "Traceback (most recent call last):"
_LINKS = ("During handling of the above exception, another exception occurred:",
          "The above exception was the direct cause of the following exception:")
#: A frame of a crash report. ``[N] `` numbers a frame, unless a date or a bracketed level
#: follows (nats-server's ``[40] 2024/04/26 18:15:07.716450 [FTL] ...`` is its process id,
#: and so is its ``[7] [FTL] ...`` with -logtime=false).
_FRAME = rx.compile(
    r"^(?:\s+at |\s+\.\.\. \d+ (?:more|common frames omitted)|\s+File \"|\s+from \S+:\d+:in |"
    r"goroutine \d+ \[|\t\S+\.go:\d+|\s+--- End of |\s*#\d+ |\s*[~^]+\s*$|\[signal SIG|"
    r"\s+\d+: \S|\s+in \S+:\d+|\s+\| |created by \S|"
    r"\s*\[\d+\] (?:[^\d\[]|\[[^A-Z]|\[[A-Z]{4}|\[[A-Z]{0,2}[^A-Z]|\d{1,3}\D|\d{4}[^/-]|"
    r"\d{5})|\s+[\w$.<>]+\(.*\)$|"
    # Erlang's stack in RabbitMQ's ``BOOT FAILED`` report: ``    rabbit:start_it/1 line 444``
    r"\s+[a-z][\w]*:(?:'[^'\n]+'|[a-z][\w]*)/\d+(?: line \d+)?\s*$|"
    r"\s+\w+: .*,$|\s*\}\s*$|Stack trace:$|\s*\.\.\. \d+ more|"
    # ClickHouse's (and other C++ servers') numbered frames: ``0. DB::Exception::Exception(...)
    # @ 0xa3f52bd in /usr/bin/clickhouse``
    r"\s*\d+\. .+ @ 0x[0-9a-f]+(?: in \S+)?\s*$|"
    r"\s+\([\w.]+ [\w.+-]+\) \S+:\d+: \S|"
    # Ruby's first frame, unindented under ``rake aborted!``'s exception and its source line:
    # ``/app/db/migrate/20160927003417_create_roles.rb:3:in `<top (required)>'``, in any
    # file Ruby runs (``/srv/app/lib/tasks/sprites.rake:1:in``, ``.../exe/rake:27:in``,
    # ``bin/rails:4:in``) or template (``(erb):7:in `<main>'``)
    r"(?:/[\w.@+/-]+|\([\w.-]+\)|[\w.@+-]+(?:/[\w.@+-]+)+|[\w@+-]+\.\w+):\d+:in "
    r"[`'][^`'\n]*'\s*$)"
)
_GO_FRAME = rx.compile(r"^(?:[\w./*()\-]+\(.*\)|\t/\S+:\d+(?: \+0x[0-9a-f]+)?)$")
_NOISE = rx.compile(
    r"^\s*$|^\s*[=\-*#~_+.]{3,}\s*$|^Node\.js v\d|^npm (?:ERR!|error|notice|WARN|warn) ?|"
    r"^\(See full trace by running task with --trace\)|^Tasks: TOP =>|"
    r"For more details run the same command passing|^note: run with `RUST_BACKTRACE|"
    r"^exit status \d+$|^Exiting with error code|^> |^make(?:\[\d+\])?: \*\*\*|"
    r"^error Command failed with exit code|^info Visit https://|^\s*\^\s*$|"
    r"^Press CTRL|^\s*at <anonymous>|^Use `node --trace-|^\(Use `node --trace-|"
    r"^\s*(?:see(?: also)?|more (?:info(?:rmation)?|details)(?: at)?|for more information,? see|"
    r"visit|docs?:|documentation:)\s+<?https?://\S+>?\s*$"
)
#: Lines that wrap a failure without saying what it is: they tell little.
_GENERIC = rx.compile(
    r"(?i)(?:^|\W)(?:application run failed|for more details|see (?:above|logs?|the logs)|"
    # Elasticsearch's and OpenSearch's launcher after the node said why: ``ERROR: OpenSearch
    # did not exit normally - check the logs at /usr/share/opensearch/logs/x.log``
    r"did not exit normally\b[^\n]*$|"
    # the JVM's launcher after it said what was wrong (``Unrecognized VM option 'X'``)
    r"could not create the java virtual machine|a fatal exception has occurred|"
    # a child process's exit status (Go's ``Error: exit status 1``), giving up
    # (``Aborting firewall configuration``)
    r"^error: exit status \d+$|^(?:\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? )?aborting\b|"
    r"\d+ of \d+ checks? failed|checks? failed$|exiting|shutting down|stopping|terminat(?:ed|ing)|"
    r"startup failed|failed to start(?: the)? (?:application|server|service)?\W*$|"
    r"error occurred|an error has occurred|aborted!?$|giving up|fatal error occurred|"
    r"command failed|process exited|exited with (?:code|status)|build failure|"
    r"failed to run '[^']*' command|error: 1$|unhandled error$|caught exception$|"
    r"exception during pool initialization|application failed to start|"
    r"one or more errors occurred|"
    # gunicorn's master after a worker said why (``Reason: App failed to load.``, ``Reason:
    # Worker failed to boot.``)
    r"(?:app|worker) failed to (?:load|boot)\b|"
    # a traceback's header, whose exception line the log lost (cut where it was pasted or
    # read): the line above it says what (Celery's ``[...: CRITICAL/MainProcess]
    # Unrecoverable error: AccessRefused(403, ...)``)
    r"^Traceback \(most recent call last\):$|"
    # a child process's exit code announcing its output below (Kong's ``Error: could not
    # prepare Kong prefix at /kong_prefix: nginx configuration is invalid (exit code 1):``)
    r"\(exit (?:code|status):? \d+\):\s*$)"
    # a banner (``*** FATAL CONFIG FILE ERROR ***``, ``=== ERROR ===``): a heading, the lines
    # under it say what
    r"|^\s*(?:\*{3,}|={3,}|!{3,}|#{3,}|-{3,})\s*[^*=!#\s][^*=!#]{0,60}?\s*(?:\*{3,}|={3,}|!{3,}|"
    r"#{3,}|-{3,})\s*$"
)
#: A consequence a line adds after saying what failed (``exception in initAndListen: 29 Data
#: directory /data/db not found., terminating``): the head says why; it is not a wrapper.
_CONSEQUENCE = rx.compile(
    r"(?i)[,;]\s*(?:terminating|exiting|shutting down|giving up|aborting|stopping)\.?\s*$")
_CONSEQUENCE_HEAD = 24
"""How long the head before a consequence clause must be to say something of its own."""
#: Things a telling line names: a quoted value, a path, host:port, a code, an exception.
_SPECIFIC = rx.compile(
    r"[\"'`][^\"'`]{2,}[\"'`]|(?:^|\s)/\w[\w./-]*|[\w.-]+:\d{2,5}\b|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|"
    r"\b[A-Za-z]+(?:Exception|Error)\b|\b(?:E[A-Z]{3,}|errno|[Ee]rrno \d+)\b|\b\d{3}\b|"
    r"\b[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+\b|\[\d{2,}\]|\bversion \d+|\b(?:too (?:low|high|small|"
    r"large|many|old|new)|at least|at most|exceed(?:s|ed)?|not supported|unsupported)\b"
)
#: Words that say what failed after a wrapper's (.NET's ``Process terminated. Couldn't find
#: a valid ICU package installed on the system.``).
_SAYS_WHAT = rx.compile(r"(?i)\b(?:couldn't|could not|can't|cannot|unable to|failed to|"
                        r"not found|no such|missing|invalid)\b")
#: A line that advises what to do (``Please install libicu ...``, ``Alternatively you can
#: set ...``): the line it follows says what failed.
#: Go's log timestamp (``2021/08/27 23:03:50 ``), which advice and prohibitions may follow.
_GO_TIMESTAMP = r"(?:\d{4}[/-]\d{2}[/-]\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\S*\s+)?"
_ADVICE = rx.compile(r"(?i)^\W{0,3}"
                     # after Go's log timestamp (``2021/08/27 23:03:50 You can check ...``)
                     + _GO_TIMESTAMP +
                     r"(?:please\b|alternatively\b|you (?:can|could|may|might)\b|"
                     r"try\b|consider\b|hint:|tip:|did you mean\b|"
                     # the NVIDIA device plugin's ``If this is a GPU node, did you set the docker
                     # default runtime to `nvidia`?``
                     r"if [^,\n]{1,80}, (?:did you\b|you (?:should|can|could|may|might|need)\b|"
                     r"try\b|consider\b|please\b|make sure\b))")
#: A prohibition (``You can't run this program from macOS!``, ``You may not ...``) says
#: what is wrong: no advice.
_PROHIBITION = rx.compile(r"(?i)^\W{0,3}" + _GO_TIMESTAMP +
                          r"you (?:can't|can not|couldn't|could not|may not|"
                          r"might not)\b")
ADVICE_COST = 4
"""What advice costs a line's specificity."""
_DESCRIPTION = "Description:"
#: The head of a command's usage text: Go's flag package (``Usage of /bin/app:``), cobra and
#: click (``Usage:``, ``Usage: app [OPTIONS]``), argparse (``usage: app [-h]``), urfave/cli
#: (``NAME:`` then ``USAGE:``).
_USAGE_HEAD = rx.compile(r"^(?:Usage(?: of \S+)?:|USAGE:|NAME:|usage: \S+)(?:\s|$)")
#: What a usage text goes on with: indented lines, section headers (``Flags:``, ``GLOBAL
#: OPTIONS:``, ``Available Commands:``) and cobra's closing ``Use "app --help" for more``.
_USAGE_BODY = rx.compile(
    r"^(?:\s|$)|^[A-Z][A-Za-z ]{0,30}:\s*$|^Use \"[^\"]+\" for more information")

BURST_FIRST = 3
"""What opening a burst of error lines adds to a line's score (the cause comes first)."""
TAIL_LINES = 40
"""How many meaningful lines (not frames, not noise) count as the end of a log."""


@dataclass(slots=True)
class Block:
    """One crash report: consecutive exception lines, frames and links."""

    start: int
    end: int
    exceptions: list[int] = field(default_factory=list)
    root: int = -1
    top: int = -1
    level: Level = Level.ERROR


@dataclass(slots=True)
class Shape:
    """The roles, blocks and recency of a log's lines."""

    roles: list[Role]
    blocks: list[Block]
    block_of: list[int]
    """Index into ``blocks`` for each line, -1 outside any."""
    meaningful_from_end: list[int]
    """For each line: how many meaningful lines follow it (0: it is among the last)."""
    first_of_burst: frozenset[int] = frozenset()
    """Lines that open a burst: consecutive plain lines of one error level or worse
    (:func:`_bursts`)."""

    def in_tail(self, i: int, window: int = TAIL_LINES) -> bool:
        return self.meaningful_from_end[i] < window

    def block(self, i: int) -> Block | None:
        b = self.block_of[i]
        return self.blocks[b] if b >= 0 else None


def _role(text: str, in_traceback: bool, in_goroutine: bool) -> Role:
    if _NOISE.search(text) is not None:
        return Role.NOISE
    stripped = text.strip()
    if stripped in _LINKS:
        return Role.LINK
    if in_goroutine and _GO_FRAME.search(text) is not None:
        return Role.FRAME
    if in_traceback and text[:1] in (" ", "\t"):
        return Role.FRAME
    if stripped.startswith(("Warning: ", "warning: ")):
        return Role.TEXT  # a warning's label, no exception type (``UserWarning:`` is one)
    if (_EXCEPTION.search(text) is not None or _RUBY_EXCEPTION.search(text) is not None
            or _ELIXIR_EXCEPTION.search(text) is not None or aws_cause(text)
            or _RUNTIME_HEAD.search(text) is not None or stripped == _TRACEBACK):
        return Role.EXCEPTION
    if _FRAME.search(text) is not None and _NCCL.search(text) is None:
        return Role.FRAME
    member = _JSON_MEMBER.search(text)
    if member is not None and member["key"].lower() not in _TELLING_MEMBERS:
        # a pretty-printed error object's other members (``"file": "auth.c",``, ``"code":
        # "28000",``) name no failure; its ``"message": ...`` does
        return Role.NOISE
    return Role.TEXT


#: A member of a pretty-printed JSON object, on a line of its own: ``  "file": "auth.c",``.
_JSON_MEMBER = rx.compile(r'^\s*"(?P<key>[\w.$-]{1,40})":\s*(?:"[^"]*"|[\d.eE+-]+|true|false|'
                          r"null)\s*,?\s*$")
_TELLING_MEMBERS = frozenset({"message", "msg", "error", "err", "reason", "detail", "details",
                              "description", "cause", "hint", "errormessage", "error_message"})


#: NCCL's lines open with the rank in brackets, like a numbered frame: ``[3] include/shm.h:28
#: NCCL WARN Call to posix_fallocate failed : No space left on device``.
_NCCL = rx.compile(r"^\s*\[\d+\] (?:\S+:\d+ )?NCCL (?:WARN|INFO)\b")


def shape(lines: Sequence[LogLine]) -> Shape:
    """Roles, blocks and recency of normalised lines (linear in their number)."""
    roles: list[Role] = []
    in_traceback = in_goroutine = False
    after_rust_panic = False
    for line in lines:
        text = line.text
        role = _role(text, in_traceback, in_goroutine)
        if text.startswith(_TRACEBACK):
            in_traceback = True
        elif in_traceback and role is not Role.FRAME and text.strip():
            # the first unindented line after a traceback is its exception, whatever its name
            role, in_traceback = Role.EXCEPTION, False
        if text.startswith("goroutine ") and text.rstrip().endswith(":"):
            in_goroutine = True
        elif in_goroutine and not text.strip():
            in_goroutine = False
        if after_rust_panic and text.strip():
            role, after_rust_panic = Role.EXCEPTION, False
        if line.stack and role is Role.TEXT:
            role = Role.FRAME  # a record's stack field: zap's ``main.main`` / ``\tmain.go:70``
        if text.startswith("thread '") and " panicked at " in text and text.rstrip().endswith(":"):
            after_rust_panic = True
        roles.append(role)
    _usage_texts(lines, roles)
    _source_excerpts(lines, roles)
    _message_details(lines, roles)
    blocks, block_of = _blocks(lines, roles)
    meaningful: list[int] = [0] * len(lines)
    seen = 0
    for i in range(len(lines) - 1, -1, -1):
        meaningful[i] = seen
        if roles[i] in (Role.TEXT, Role.EXCEPTION):
            seen += 1
    return Shape(roles, blocks, block_of, meaningful, _bursts(lines, roles, block_of))


def _usage_texts(lines: Sequence[LogLine], roles: list[Role]) -> None:
    """A command's usage text is noise: a program that rejects its arguments prints why
    first (Go's ``flag provided but not defined: -config``, cobra's ``Error: unknown flag:
    --foo``) or last (argparse's ``app: error: unrecognized arguments``), and its usage in
    between, whose option descriptions (``Path to template (default "index.html")``) say
    nothing about the failure. A usage text runs from its head (:data:`_USAGE_HEAD`) over
    indented lines and section headers to the first line that is neither."""
    in_usage = False
    for i, line in enumerate(lines):
        text = line.text
        if line.structured:
            in_usage = False
            continue
        if _USAGE_HEAD.search(text) is not None:
            in_usage = True
        elif not (in_usage and _USAGE_BODY.search(text) is not None):
            in_usage = False
            continue
        roles[i] = Role.NOISE


DETAIL_LINES = 3
"""How many lines an exception's message may continue over before its frames."""


_DETAILS_HEADING = rx.compile(
    r"^\s*(?:More details|Details|Additional (?:details|information)|Error details):\s*$",
    ignorecase=True)


def is_details_heading(text: str) -> bool:
    """``More details:`` and the like: the lines below it belong to the error above it."""
    return _DETAILS_HEADING.search(text) is not None


def _message_details(lines: Sequence[LogLine], roles: list[Role]) -> None:
    """Plain lines between an exception line and its first frame continue its message:
    .NET Framework's ``Parameter name: uriString``, a Java message written over lines.
    A line that starts a record of its own (a timestamp) never does. So do the lines under
    a ``More details:`` heading right below an error (Google API clients: ``googleapi:
    Error 401: ...`` / ``More details:`` / ``Reason: authError, Message: Invalid
    Credentials``)."""
    for i, line in enumerate(lines):
        if i == 0 or not is_details_heading(line.text):
            continue
        above = lines[i - 1]
        if roles[i - 1] not in (Role.TEXT, Role.EXCEPTION) or not above.text.strip() \
                or above.level <= Level.INFO:
            continue  # no error above it: the heading is the line that tells
        roles[i] = Role.NOISE
        for j in range(i + 1, min(len(lines), i + 1 + DETAIL_LINES)):
            if roles[j] is not Role.TEXT or not lines[j].text.strip():
                break
            roles[j] = Role.DETAIL
    i = 1
    while i < len(lines):
        if roles[i - 1] is not Role.EXCEPTION or roles[i] is not Role.TEXT:
            i += 1
            continue
        run: list[int] = []
        j = i
        while (j < len(lines) and len(run) < DETAIL_LINES and roles[j] is Role.TEXT
               and not lines[j].structured and lines[j].text.strip()
               and not starts_record(lines[j].text)):
            run.append(j)
            j += 1
        if run and j < len(lines) and roles[j] is Role.FRAME:
            for k in run:
                roles[k] = Role.DETAIL
        i = j + 1 if run else i + 1


_CARET = rx.compile(r"^\s*[~^]+\s*$")
_SOURCE_HEADING = rx.compile(r"^\S+:\d+\s*$")


def _source_excerpts(lines: Sequence[LogLine], roles: list[Role]) -> None:
    """A runtime's pointer into the source is a frame, never a cause: Node prints the
    throwing file (``/app/dist/index.cjs.js:677``), the line of code (``throw new
    errors.ForwardedError(``) and a caret under it before the error itself."""
    for i, line in enumerate(lines):
        if i == 0 or _CARET.search(line.text) is None:
            continue
        code = lines[i - 1]
        if roles[i - 1] is not Role.TEXT or code.structured or code.level is not Level.UNKNOWN:
            continue  # a line with a level of its own is a message, caret or not
        heading = i >= 2 and roles[i - 2] is Role.TEXT and \
            _SOURCE_HEADING.search(lines[i - 2].text) is not None
        if heading:
            roles[i - 2] = Role.FRAME
        if heading or code.text[:1] in (" ", "\t"):
            roles[i - 1] = Role.FRAME


def _bursts(lines: Sequence[LogLine], roles: list[Role], block_of: list[int]) -> frozenset[int]:
    """The first line of each burst: two or more consecutive plain-text lines (outside
    any crash report) at the same level, ERROR or worse. A program that fails writes its
    cause first and the consequences after it, at the same level: MySQL's ``[ERROR]
    --initialize specified but the data directory has files in it. Aborting.`` before
    ``[ERROR] The designated data directory /var/lib/mysql/ is unusable`` and ``[ERROR]
    Aborting``."""
    firsts: set[int] = set()
    start = -1
    for i, line in enumerate(lines):
        inside = (roles[i] is Role.TEXT and block_of[i] < 0 and not line.structured
                  and line.level >= Level.ERROR and bool(line.text.strip()))
        if not inside:
            start = -1
            continue
        if start >= 0 and lines[start].level is line.level:
            firsts.add(start)
        else:
            start = i
    return frozenset(firsts)


def _block_level(lines: Sequence[LogLine], roles: list[Role], start: int) -> Level:
    """A crash report's severity: its first line's, else the log line just before it when
    that is a warning or worse (``ERROR ... Application run failed`` above a trace, a
    ``WARN ... retrying`` logged with its exception), else ERROR (an uncaught trace)."""
    if lines[start].level is not Level.UNKNOWN:
        return lines[start].level
    j = start - 1
    while j >= 0 and j >= start - 3 and roles[j] is Role.NOISE and not lines[j].text.strip():
        j -= 1
    if j >= 0 and j >= start - 3 and roles[j] is Role.TEXT and lines[j].level >= Level.WARN:
        return lines[j].level
    return Level.ERROR


def _blocks(lines: Sequence[LogLine], roles: list[Role]) -> tuple[list[Block], list[int]]:
    blocks: list[Block] = []
    block_of = [-1] * len(lines)
    current: Block | None = None
    for i, role in enumerate(roles):
        text = lines[i].text
        if role is Role.EXCEPTION:
            if current is None:
                current = Block(start=i, end=i, level=_block_level(lines, roles, i))
                blocks.append(current)
            if not text.startswith(_TRACEBACK):
                current.exceptions.append(i)
        elif current is not None and role in (Role.FRAME, Role.LINK, Role.NOISE, Role.DETAIL):
            if role is Role.NOISE and text.strip() and not text.startswith("  "):
                current = None  # a separator or a wrapper's trailer ends the report
                continue
        elif current is not None and text.strip() == _DESCRIPTION:
            pass
        else:
            current = None
            continue
        if current is not None:
            current.end = i
            block_of[i] = len(blocks) - 1
    for block in blocks:
        _find_root(lines, block)
    _spring_failure_analysis(lines, roles, blocks, block_of)
    return blocks, block_of


def _find_root(lines: Sequence[LogLine], block: Block) -> None:
    exc = block.exceptions
    if not exc:
        return
    texts = [lines[i].text.lstrip() for i in exc]
    block.top = exc[-1]
    python = any(lines[i].text.startswith(_TRACEBACK)
                 for i in range(block.start, block.end + 1))
    if python:
        block.root = exc[0]
        return
    first = texts[0]
    if first.startswith(("panic: ", "fatal error: ")) or "panicked at" in first:
        block.root = exc[1] if "panicked at" in first and len(exc) > 1 else exc[0]
        block.top = block.root
        return
    for marker in ("Caused by: ", "---> ", "[cause]: ", "caused by: "):
        causes = [i for i, t in zip(exc, texts, strict=True) if t.startswith(marker)]
        if causes:
            block.root = causes[-1]
            return
    what = [i for i, t in zip(exc, texts, strict=True) if t.startswith("what(): ")]
    if what:
        block.root = what[-1]
        return
    block.root = exc[-1] if _RUBY_EXCEPTION.search(lines[exc[-1]].text) is not None else exc[0]


def _spring_failure_analysis(lines: Sequence[LogLine], roles: list[Role], blocks: list[Block],
                             block_of: list[int]) -> None:
    """Spring Boot's ``APPLICATION FAILED TO START`` report: its root is the first line
    after ``Description:``."""
    for i, line in enumerate(lines):
        if line.text.strip() != _DESCRIPTION:
            continue
        j = i + 1
        while j < len(lines) and not lines[j].text.strip():
            j += 1
        if j < len(lines) and roles[j] is Role.TEXT:
            block = Block(start=i, end=j, exceptions=[j], root=j, top=j, level=Level.ERROR)
            blocks.append(block)
            block_of[i] = block_of[j] = len(blocks) - 1


_BASE = {Level.FATAL: 40, Level.ERROR: 30, Level.UNKNOWN: 20, Level.WARN: 10,
         Level.INFO: 0, Level.DEBUG: 0}


def effective_level(lines: Sequence[LogLine], sh: Shape, i: int) -> Level:
    """A line's level, or its crash report's when it is part of one and says none."""
    own = lines[i].level
    block = sh.block(i)
    if block is None or lines[i].structured:
        return own
    return block.level if own is Level.UNKNOWN else max(block.level, own)


def terminal(sh: Shape, block: Block) -> bool:
    """Whether a crash report is the log's last one and ends among its last lines."""
    last_end = max(b.end for b in sh.blocks)
    return block.end >= last_end and sh.in_tail(block.end)


def score(lines: Sequence[LogLine], sh: Shape, i: int) -> int:
    """How telling line ``i`` is, by position and severity alone (not by content)."""
    level = effective_level(lines, sh, i)
    value = _BASE[level]
    block = sh.block(i)
    if block is not None:
        if i == block.root:
            value += 8
        elif i in block.exceptions:
            value += 4
        if terminal(sh, block):
            value += 6
    if sh.in_tail(i):
        value += 3
    if i in sh.first_of_burst:
        value += BURST_FIRST
    return value


#: Roles whose lines never say what failed, whatever their level.
SILENT_ROLES = frozenset({Role.FRAME, Role.NOISE, Role.LINK})


def is_quiet(lines: Sequence[LogLine], sh: Shape, i: int) -> bool:
    """Lines that never tell why a process exited: info/debug records, frames, noise."""
    if sh.roles[i] in SILENT_ROLES:
        return True
    return effective_level(lines, sh, i) <= Level.INFO


WHY_BONUS = 2
"""What saying why (an errno's text, an HTTP status, a timeout: :data:`TELLING`) adds."""


def specificity(text: str) -> int:
    """How much a line names (0..4), plus what saying why adds (:data:`WHY_BONUS`), minus
    what a generic wrapper line costs (-6)."""
    value = min(4, 2 * sum(1 for _ in zip(range(2), _SPECIFIC.finditer(text), strict=False)))
    if ": " in text.strip():
        value += 1
    if TELLING.search(text) is not None:
        value += WHY_BONUS
    if is_generic(text):
        value -= 6
    elif _ADVICE.search(text) is not None and _PROHIBITION.search(text) is None:
        value -= ADVICE_COST
    return value


DEFER_SPAN = 3
"""How far a generic wrapper line looks, up and down, for the line that says what failed."""


#: A line that says it came after an earlier error (controller-runtime's ``error received
#: after stop sequence was engaged: failed to wait for secretstore caches to sync``, ``mc:
#: <ERROR> ... Input reader closed pre-maturely.`` after ``pg_dump: aborting ...``): the
#: earlier error tells more, whatever this one says.
_AFTERMATH = rx.compile(r"error received after stop sequence was engaged|"
                        # MinIO's client when the command feeding its pipe died first
                        r"input reader closed pre-?maturely|"
                        # a shutdown that went wrong after the start-up failed (Quarkus's
                        # ``Running a shutdown task failed: ... Failed to start caches``)
                        r"shutdown (?:task|hook) failed|"
                        r"error (?:during|while) (?:shutdown|shutting down)|"
                        # a process that reports its own abort after what made it abort
                        # (MongoDB's ``Writing fatal message: Got signal: 6 (Aborted).``,
                        # ``***aborting after invariant() failure``)
                        r"got signal:? 6 \(aborted\)|^\W*aborting after \w",
                        ignorecase=True)


#: Giving up and saying why (HotSpot's ``Aborting due to java.lang.OutOfMemoryError``,
#: ``Aborting because the license expired``): no wrapper (logread reads ``tool: aborting
#: because of ...`` as an error the same way).
_ABORTING_WHY = rx.compile(r"(?i)(?:^|\s)aborting (?:because|due to) \S")


def is_generic(text: str) -> bool:
    """Whether a line only wraps a failure (:data:`_GENERIC`) or follows the one that did
    (:data:`_AFTERMATH`); a line that says what failed and then adds its consequence
    (``..., terminating``) is judged by its head."""
    if _AFTERMATH.search(text) is not None:
        return True
    tail = _CONSEQUENCE.search(text)
    if tail is not None and len(text[:tail.start()].strip()) >= _CONSEQUENCE_HEAD:
        text = text[:tail.start()]
    m = _GENERIC.search(text)
    if m is None or _ABORTING_WHY.search(text) is not None:
        return False
    # a wrapper's words followed by what failed (Logstash's ``An unexpected error occurred!
    # {:error=>#<ArgumentError: Path "/usr/share/logstash/data" must be a writable
    # directory...``) say it themselves
    rest = text[m.end():]
    return len(rest.strip()) < _CONSEQUENCE_HEAD or (
        _SPECIFIC.search(rest) is None and _SAYS_WHAT.search(rest) is None)


def is_advice(text: str) -> bool:
    """Whether a line advises what to do (``Please change the Erlang cookie ...``)."""
    return _ADVICE.search(text) is not None and _PROHIBITION.search(text) is None


def _continues_advice(lines: Sequence[LogLine], i: int) -> bool:
    """Whether line ``i`` is the rest of an advice's sentence, wrapped onto a line of its own
    (CouchDB's ``Please change the Erlang cookie in vm.args to the same`` then ``securely
    generated random value on all nodes of this cluster.``)."""
    text = lines[i].text.lstrip()
    if i == 0 or not text[:1].islower() or ": " in text[:40]:
        return False  # a program's or a label's line of its own (``mkdir: cannot ...``)
    above = lines[i - 1].text.rstrip()
    return (bool(above) and above[-1:].isalpha() and "://" not in above.rsplit(" ", 1)[-1]
            and is_advice(above))


def telling(lines: Sequence[LogLine], sh: Shape) -> list[int]:
    """Line indexes, most telling first (quiet lines left out). A generic wrapper that
    wins (``ERROR: [1] bootstrap checks failed``, ``Fatal error loading the DB, check
    server logs``) gives way to the specific line next to it that says what failed."""
    ranked = [
        (score(lines, sh, i) + specificity(lines[i].text)
         - (ADVICE_COST if _continues_advice(lines, i) else 0), i)
        for i in range(len(lines))
        if not is_quiet(lines, sh, i) and lines[i].text.strip()
        and sh.roles[i] is not Role.DETAIL  # reported with the line it continues
    ]
    ranked.sort(reverse=True)
    order = [i for _, i in ranked]
    if order and is_generic(lines[order[0]].text):
        top = order[0]
        near = [
            (specificity(lines[j].text), -abs(j - top), j)
            for j in range(max(0, top - DEFER_SPAN), min(len(lines), top + DEFER_SPAN + 1))
            if j != top and j in order and not is_generic(lines[j].text)
            and specificity(lines[j].text) > 0
        ]
        if near:
            best = max(near)[2]
            order.remove(best)
            order.insert(0, best)
    return order
