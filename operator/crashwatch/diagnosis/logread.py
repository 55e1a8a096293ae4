"""Reading a log the way it was written: bounded first, then each line normalised.

**Bounds.** A previous container's log is untrusted text of any size and shape: one line of
2 MB, no newline at all, binary. Before any pattern runs it is cut, in time linear in what
is kept: at most :data:`MAX_LOG_LINES` lines, the last ones (a crash's last words are at the
end), at most :data:`MAX_LOG_BYTES` characters in all, each raw line at most
:data:`MAX_RAW_LINE_CHARS` characters (room for a JSON record with its stack trace) and each
line that rules read at most :data:`MAX_LINE_CHARS`: a longer one keeps its head (where a
message starts: ``panic: ...``, ``ERROR ...``) and its tail (where a wrapped cause ends),
joined by :data:`CUT_MARK`.

**Normalisation** (:func:`read_log`), line by line:

- ANSI colour and terminal sequences and other control characters are removed;
- a CRI log prefix (``2026-11-20T10:29:39.5Z stderr F ``; ``P`` partial lines are joined),
  a ``kubectl logs --timestamps`` prefix, and Docker's json-file wrapper (``{"log": ...}``)
  are removed; a klog header (``E1120 10:29:39.123456  1 main.go:42] msg``) gives the
  level and the message;
- a JSON record (zap, zerolog, logrus, bunyan/pino, ECS, Serilog plain and compact, GCP,
  logstash-logback, log4j2, structlog, python-json-logger) or a logfmt line becomes its
  message with its error appended (``msg: error``), escapes undone; an exception or stack
  field becomes lines of its own after it, as the runtime would have printed them;
- each line carries a level (:class:`Level`) when the record or the text's prefix gives one
  (``ERROR``, ``[emerg]``, ``panic:``, a tool's ``pg_dump: error:``); a plain line with no
  level that continues an error record above it takes its level, unless it names the
  program writing it (``/docker-entrypoint.sh: ...``);
- a term printed over several indented lines under one record header (Erlang's and
  Elixir's pretty-printed reasons) becomes one line (:func:`_join_terms`).

A log that is only the API server's or kubelet's answer about logs (``unable to retrieve
container logs for containerd://...``, ``previous terminated container "app" in pod "x"
not found``) is not the application's words: it reads as no log at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from crashwatch.diagnosis import rx

MAX_LOG_LINES = 400
MAX_LOG_BYTES = 64 * 1024
MAX_LINE_CHARS = 2048
MAX_RAW_LINE_CHARS = 16 * 1024
CUT_MARK = " [...] "
_TAIL_SHARE = 0.25


def cap_line(line: str, limit: int = MAX_LINE_CHARS) -> str:
    """``line`` if short enough, else its head and tail around :data:`CUT_MARK`."""
    if len(line) <= limit:
        return line
    tail = int(limit * _TAIL_SHARE)
    head = max(0, limit - tail - len(CUT_MARK))
    return line[:head] + CUT_MARK + (line[-tail:] if tail else "")


def _cap_segment(text: str, start: int, end: int, limit: int) -> str:
    """``text[start:end]`` capped, without copying a huge line whole."""
    if end - start <= limit:
        return text[start:end]
    tail = int(limit * _TAIL_SHARE)
    head = limit - tail - len(CUT_MARK)
    return text[start:start + head] + CUT_MARK + text[end - tail:end]


def bound_lines(text: str, line_limit: int = MAX_LINE_CHARS) -> list[str]:
    """The log's last lines, each capped at ``line_limit``, bounded in number and in
    characters; carriage returns are undone as a terminal shows them (the text after the
    last ``\\r`` of a line)."""
    if not text:
        return []
    lines: list[str] = []
    total = 0
    end = len(text)
    if text.endswith("\n"):
        end -= 1
    while end >= 0 and len(lines) < MAX_LOG_LINES:
        start = text.rfind("\n", 0, end) + 1
        line = _cap_segment(text, start, end, line_limit)
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


def bound_log(text: str, line_limit: int = MAX_RAW_LINE_CHARS) -> str:
    """:func:`bound_lines` joined: the tail of a log that is worth reading (lines kept
    whole up to ``line_limit``, so that a structured record can still be parsed)."""
    return "\n".join(bound_lines(text, line_limit))


class Level(IntEnum):
    """A line's severity, as its record or its prefix says (UNKNOWN: it says nothing)."""

    DEBUG = 10
    INFO = 20
    UNKNOWN = 25
    WARN = 30
    ERROR = 40
    FATAL = 50


_LEVEL_NAMES: dict[str, Level] = {
    **dict.fromkeys(("trace", "debug", "verbose", "dbug", "trce", "fine", "finer", "finest",
                     "config", "d", "v", "10", "20", "7", "vrb", "dbg", "trc"), Level.DEBUG),
    **dict.fromkeys(("info", "information", "informational", "notice", "inf", "i", "30",
                     "6", "5", "default"), Level.INFO),
    **dict.fromkeys(("warn", "warning", "wrn", "w", "40", "4"), Level.WARN),
    **dict.fromkeys(("error", "err", "eror", "severe", "e", "50", "3", "dpanic"), Level.ERROR),
    **dict.fromkeys(("fatal", "critical", "crit", "panic", "emerg", "emergency", "alert",
                     "ftl", "f", "60", "2", "1", "0"), Level.FATAL),
}


def level_of(value: object) -> Level:
    """A level field's value (name, letter, syslog or bunyan number) as a :class:`Level`."""
    if isinstance(value, bool):
        return Level.UNKNOWN
    if isinstance(value, int):
        # bunyan/pino: 10 trace .. 60 fatal; syslog severities 0..7
        if value >= 10:
            value = str(min(60, value - value % 10))
        return _LEVEL_NAMES.get(str(value), Level.UNKNOWN)
    if isinstance(value, str):
        return _LEVEL_NAMES.get(value.strip().lower()[:16], Level.UNKNOWN)
    return Level.UNKNOWN


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line as rules read it."""

    text: str
    """The message, normalised: no colours or prefixes; a record's message and error."""
    level: Level = Level.UNKNOWN
    structured: bool = False
    """Whether it came from a JSON or logfmt record (its level is then the record's)."""
    record: int = -1
    """Lines from one record (a message and its stack) share this number; -1: plain text."""
    stack: bool = False
    """Whether it came from a record's stack field (``stacktrace``, ``err.stack``): a frame
    unless it reads as an exception line (a ``Caused by:``, a traceback's last line)."""


# --- prefixes and control sequences ----------------------------------------------------

_ANSI = rx.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = rx.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TIMESTAMP = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?"
_CRI = rx.compile(rf"^{_TIMESTAMP} (?:stdout|stderr) (?P<tag>[FP])(?: |$)")
_KUBECTL_TS = rx.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})(?: |$)")
_KLOG = rx.compile(r"^(?P<level>[IWEF])\d{4} \d{2}:\d{2}:\d{2}\.\d{6}\s+\d+ [^\s:\]]+:\d+\] ")
_PREFIX_LEVEL = rx.compile(
    # NCCL has two levels, INFO and WARN, and WARN is its errors' (``[3] include/shm.h:28 NCCL
    # WARN Call to posix_fallocate failed : No space left on device``)
    r"(?:^|\s)(?P<nccl>NCCL WARN)\b"
    r"|(?:^|[\s\[(<|:])(?P<level>TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|SEVERE|FATAL|"
    r"CRITICAL|CRIT|PANIC|EMERG|ALERT)(?:[\]):>|\s]|$)"
    r"|\[(?P<bracketed>trace|debug|info|notice|warn|warning|error|crit|critical|alert|emerg|fatal)\]"
    # Serilog's console sink: ``[19:35:23 FTL] Program terminated unexpectedly``
    r"|^\[\d{2}:\d{2}:\d{2}(?:\.\d+)? (?P<serilog>VRB|DBG|INF|WRN|ERR|FTL)\] "
    # nats-server's (and the like's) three letters: ``[40] 2024/04/26 18:15:07.716450 [FTL]
    # Can't start JetStream: ...``
    r"|(?:^|\s)\[(?P<abbrev>TRC|DBG|INF|WRN|ERR|FTL)\](?:\s|$)"
    # Erlang's class and reason of a crash, as RabbitMQ's ``BOOT FAILED`` report prints it
    # under its stack: ``throw:{error,{inconsistent_cluster,"Node ... disagrees"}}``
    r"|^(?P<erlang>throw|exit|error):[{\[]"
    r"|^(?P<runtime>panic|fatal error|FATAL ERROR|Error|error|Fatal|PHP Fatal error|"
    r"PHP Warning|PHP Notice)(?::| \w)"
    r"|^[\w.-]+: (?P<tool>error|fatal|panic|warning|info|notice|debug): "
    # before a tool's own words: ``Warning: aborting due to ...`` is still a warning
    r"|^(?P<warning>Warning|warning): "
    # a tool giving up: ``pg_dump: aborting because of server version mismatch``
    r"|^[\w.-]+: (?P<aborting>aborting) (?:because|due to) "
)
_WILL_RETRY = rx.compile(r"(?i)[;,(]\s*(?:will (?:retry|try again)|retrying)\b")
#: A command-line tool's own lines (``pg_dump: error: ...``, ``git: fatal: ...``, nginx's
#: entrypoint scripts' ``10-listen-on-ipv6-by-default.sh: info: ...``) after its name, as
#: GNU-style tools and libpq's clients write them.
_TOOL_LEVELS = {"error": Level.ERROR, "fatal": Level.FATAL, "panic": Level.FATAL,
                "warning": Level.WARN, "info": Level.INFO, "notice": Level.INFO,
                "debug": Level.DEBUG}
#: A line that starts with the name of the program or script writing it
#: (``/docker-entrypoint.sh: ...``, ``10-listen-on-ipv6-by-default.sh: ...``): a record of
#: its own, never the continuation of another program's error above it.
_WRITER_TAG = rx.compile(
    r"^(?:/[\w.@+-]+)+: |^[\w.-]*[A-Za-z][\w.-]*\.(?:sh|bash|py|rb|pl|js|php)(?::\d+)?: ")
_LEVEL_WINDOW = 72

_API_ANSWERS = rx.compile(
    r"^(?:Error from server \(\w+\): )?(?:"
    r"unable to retrieve container logs for [a-z-]+://\S*"
    r"|previous terminated container \"[^\"]*\" in pod \"[^\"]*\" not found"
    r"|container \"[^\"]*\" in pod \"[^\"]*\" is (?:waiting to start|not available|terminated)\b.*"
    r"|failed to try resolving symlinks in path \"[^\"]*\": .*"
    r"|a container name must be specified for pod .*"
    r"|pods? \"[^\"]*\" not found"
    r"|the server could not find the requested resource.*"
    r"|Internal error occurred: .*"
    r")$",
    ignorecase=True,
)


def is_api_answer(text: str) -> bool:
    """Whether a "log" is only the API server's (or kubelet's) answer about logs: every
    non-empty line of it is one."""
    if len(text) > 4096:
        return False  # an answer is one short line (three at most); a log is longer
    lines = [ln.strip() for ln in text.strip().split("\n") if ln.strip()]
    return bool(lines) and len(lines) <= 3 and all(
        _API_ANSWERS.search(ln) is not None for ln in lines)


#: Colour codes whose escape character a copy or a terminal turned into ``?`` or U+FFFD
#: (``?[1m?[32m2019-03-19 20:01:11,000 INFO?(B?[m Preparing server configuration``).
_MANGLED_ANSI = rx.compile("[?\ufffd]" + r"(?:\[[0-9;]{0,12}m|\(B)")


def _clean(line: str) -> str:
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    if "?[" in line or "\ufffd" in line:
        line = _MANGLED_ANSI.sub("", line)
    if _CONTROL.search(line) is not None:
        line = _CONTROL.sub("", line)
    return line


def _strip_prefixes(line: str) -> tuple[str, bool, Level]:
    """(line without a CRI/kubectl/klog prefix, whether it is a CRI partial, klog level)."""
    partial = False
    level = Level.UNKNOWN
    if line[:1].isdigit():
        m = _CRI.search(line)
        if m is not None:
            partial = m["tag"] == "P"
            line = line[m.end():]
        else:
            m = _KUBECTL_TS.search(line)
            if m is not None:
                line = line[m.end():]
    if line[:1] in "IWEF" and line[1:2].isdigit():
        m = _KLOG.search(line)
        if m is not None:
            level = {"I": Level.INFO, "W": Level.WARN, "E": Level.ERROR,
                     "F": Level.FATAL}[m["level"]]
            line = line[m.end():]
    return line, partial, level


def prefix_level(text: str) -> Level:
    """The level a plain line's prefix states (``ERROR``, ``[error]``, ``panic:``...)."""
    m = _PREFIX_LEVEL.search(text[:_LEVEL_WINDOW])
    if m is None:
        return Level.UNKNOWN
    if m["nccl"]:
        return Level.ERROR
    if m["tool"]:
        return _TOOL_LEVELS[m["tool"]]
    if m["aborting"]:
        # ``scheduler: aborting because the lock is held; will retry in 5s`` gives up a try,
        # not the process
        return Level.WARN if _WILL_RETRY.search(text[:512]) else Level.FATAL
    if m["warning"]:
        return Level.WARN
    if m["erlang"]:
        return Level.ERROR
    word = m["level"] or m["bracketed"] or m["serilog"] or m["abbrev"] or ""
    if word:
        return _LEVEL_NAMES.get(word.lower(), Level.UNKNOWN)
    runtime = (m["runtime"] or "").lower()
    if runtime.startswith("php warning"):
        return Level.WARN
    if runtime.startswith("php notice"):
        return Level.INFO
    return Level.ERROR if runtime in ("error",) else Level.FATAL


# --- structured records ----------------------------------------------------------------

_LEVEL_KEYS = ("level", "lvl", "severity", "log.level", "@l", "Level", "loglevel", "log_level",
               "levelname", "LogLevel", "Severity", "levelName", "@level")
_MESSAGE_KEYS = ("msg", "message", "@m", "RenderedMessage", "event", "Message", "text",
                 "@message", "log", "MessageTemplate", "@mt", "log_message")
_ERROR_KEYS = ("error", "err", "error.message", "exception", "exc_info", "@x", "Exception",
               "error_message", "errorMessage", "cause", "thrown", "exc")
#: Fields that say more about the error, appended to the record's message: Grafana's logfmt
#: ``msg="Server shutdown" reason="Service init failed: ..."``, Hasura's ``{"error":
#: "connection error","internal":"connection to server at ... failed: Connection refused"}``.
_DETAIL_KEYS = ("reason", "internal", "detail", "details")
#: Fields that name the file an error record is about.
_PATH_KEYS = ("file", "path", "filename", "config_file", "configFile", "config.file")


def _folded_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(k.lower() for k in keys))


_LEVEL_KEYS_FOLDED = _folded_keys(_LEVEL_KEYS)
_MESSAGE_KEYS_FOLDED = _folded_keys(_MESSAGE_KEYS)
_ERROR_KEYS_FOLDED = _folded_keys(_ERROR_KEYS)
FOLDED_KEYS = 64
"""A record with more keys than this is not searched for its keys in another case."""
_TYPE_KEYS = ("error.type", "exception.type", "exception_class", "error_type")
_STACK_KEYS = ("stack_trace", "stacktrace", "stack", "error.stack_trace", "exception.stacktrace",
               "traceback", "backtrace", "trace")
_TEMPLATE_HOLE = rx.compile(r"\{@?(?P<name>[A-Za-z_][\w]*)(?:[:,][^}]*)?\}")


def _flat(record: Mapping[str, Any], key: str) -> Any:
    """``record[key]``, or the nested value for a dotted key (ECS ``{"log": {"level"}}``)."""
    if key in record:
        return record[key]
    if "." in key:
        head, _, rest = key.partition(".")
        inner = record.get(head)
        if isinstance(inner, Mapping):
            return _flat(inner, rest)
    return None


def _first(record: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = _flat(record, key)
        if value not in (None, "", [], {}):
            return value
    return None


def _render_template(template: str, record: Mapping[str, Any]) -> str:
    """A Serilog message template with its properties filled in."""
    props = record.get("Properties")
    props = props if isinstance(props, Mapping) else record

    def fill(match: rx.Match) -> str:
        value = props.get(match["name"])
        return match.group(0) if value is None else _scalar(value)

    out = []
    last = 0
    for m in _TEMPLATE_HOLE.finditer(template):
        out.append(template[last:m.start()])
        out.append(fill(m))
        last = m.end()
    out.append(template[last:])
    return "".join(out)


def _scalar(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)) or value is None:
        return json.dumps(value)
    try:
        return json.dumps(value, default=str)[:MAX_LINE_CHARS]
    except (ValueError, TypeError, RecursionError):
        return ""


#: A Go frame as pkg/errors' ``%+v`` prints it in an error: the function on one line
#: (``github.com/grafana/dskit/modules.(*Manager).initModule``), its file below it.
_GO_FUNC = rx.compile(r"^\s*[\w.@~/-]*\.[\w.()*$-]+\s*$")
_GO_FILE = rx.compile(r"^\s+\S+\.go:\d+(?: \+0x[0-9a-f]+)?\s*$")


def _go_frames_at(lines: list[str]) -> int | None:
    """Where the Go frames an error's text carries below its message begin (None: none, or
    nothing of the message above them)."""
    for k in range(1, len(lines) - 1):
        if _GO_FUNC.search(lines[k]) is not None and _GO_FILE.search(lines[k + 1]) is not None:
            return k if any(line.strip() for line in lines[:k]) else None
    return None


def _error_parts(value: object) -> tuple[str, str]:
    """(message, stack) of an error field: a string, or an object such as pino's ``err``
    ``{type, message, stack}``, log4j2's ``thrown`` or ECS's ``error``."""
    if isinstance(value, str):
        if value.startswith(("Traceback", "Exception in thread")) and "\n" in value:
            return "", value  # a whole traceback: its lines, as the runtime printed them
        if "\n" in value and ".go:" in value:
            parts = value.split("\n")
            at = _go_frames_at(parts)
            if at is not None:
                return "\n".join(parts[:at]), "\n".join(parts[at:])
        return value, ""  # a message over several lines (``yaml: unmarshal errors:\n  line 661``)
    if isinstance(value, Mapping):
        message = _first(value, ("message", "msg", "Message", "error", "localizedMessage"))
        kind = _first(value, ("type", "name", "class", "kind", "exception_class"))
        stack = _first(value, ("stack", "stack_trace", "stacktrace", "extendedStackTrace",
                               "trace", "backtrace"))
        message_text = _scalar(message) if message is not None else ""
        stack_text = stack if isinstance(stack, str) else (
            "\n".join(_scalar(s) for s in stack) if isinstance(stack, list) else "")
        if isinstance(kind, str) and kind and kind not in message_text:
            message_text = f"{kind}: {message_text}" if message_text else kind
        if not message_text and stack_text:
            head, _, rest = stack_text.partition("\n")
            return head, rest
        return message_text, stack_text
    if isinstance(value, list):
        return "\n".join(_scalar(v) for v in value[:20]), ""
    if value is None or isinstance(value, bool):
        return "", ""
    return _scalar(value), ""


_NESTED_KEYS = ("attr", "attrs", "fields", "context", "ctx", "extra", "data", "details",
                "error_details", "labels", "payload", "record")
#: A record that wraps another program's record (CloudNativePG's ``"msg":"record",
#: "record":{"error_severity":"FATAL","message":...}``, PostgreSQL's csvlog as JSON): where
#: its severity is (:func:`_server_fatal` decides whether it ends the server).
_WRAPPED_LEVEL_KEYS = ("error_severity", "severity", "level")
_NESTED_ERROR_KEYS = ("error", "err", "errmsg", "message", "msg", "reason", "exception",
                      "cause", "what", "expr")


def _nested_error(record: Mapping[str, Any]) -> object:
    """An error said inside a record's attributes (MongoDB's ``attr.message``, or the
    expression of its ``Invariant failure``, ``attr.expr``; a ``fields``
    or ``context`` object): the first error-like value one level down."""
    for key in _NESTED_KEYS:
        inner = record.get(key)
        if not isinstance(inner, Mapping):
            continue
        for name in _NESTED_ERROR_KEYS:
            value = inner.get(name)
            if isinstance(value, Mapping):
                value = _first(value, ("errmsg", "message", "msg", "error"))
            if isinstance(value, str) and value.strip():
                return value
    return None


#: PostgreSQL processes whose FATAL ends the server's start, not one session's connection.
_SERVER_BACKENDS = frozenset({"postmaster", "startup", "checkpointer", ""})


def _server_fatal(wrapped: Mapping[str, Any]) -> bool:
    """Whether a wrapped PostgreSQL record (CloudNativePG's ``"record":{...}``) says the
    server itself cannot go on: a PANIC, or a FATAL of the postmaster or the startup process.
    A walreceiver's or a client session's FATAL ends one connection and is routine."""
    severity = _first(wrapped, _WRAPPED_LEVEL_KEYS)
    if not isinstance(severity, str):
        return False
    severity = severity.strip().upper()
    backend = wrapped.get("backend_type")
    backend = backend.strip().lower() if isinstance(backend, str) else ""
    return severity == "PANIC" or (severity == "FATAL" and backend in _SERVER_BACKENDS)


def _from_record(record: Mapping[str, Any]) -> tuple[Level, list[str], int] | None:
    """The level and lines of a structured record, and how many of those lines are its
    message (the rest come from its stack field), or None when it is not a log record."""
    raw_level = _first(record, _LEVEL_KEYS)
    if raw_level is None and "s" in record and "t" in record:
        raw_level = record.get("s")  # MongoDB's structured log: t, s, c, id, ctx, msg, attr
    message = _first(record, _MESSAGE_KEYS)
    error = _first(record, _ERROR_KEYS)
    if message is None and error is None and len(record) <= FOLDED_KEYS:
        # keys in another case: Clair's ``{"Event":"pgsql: ...","Level":"fatal"}``
        folded = {str(k).lower(): v for k, v in record.items()}
        message = _first(folded, _MESSAGE_KEYS_FOLDED)
        error = _first(folded, _ERROR_KEYS_FOLDED)
        if raw_level is None:
            raw_level = _first(folded, _LEVEL_KEYS_FOLDED)
    if error is None:
        error = _nested_error(record)
    if raw_level is None and message is None and error is None:
        return None
    level = level_of(raw_level)
    wrapped = record.get("record")
    if isinstance(wrapped, Mapping) and _server_fatal(wrapped):
        level = Level.FATAL  # the worst there is, whatever the wrapper says
    if isinstance(message, str) and ("@mt" in record or "MessageTemplate" in record) and (
            "@m" not in record and "RenderedMessage" not in record):
        message = _render_template(message, record)
    text = _scalar(message) if message is not None else ""
    if level >= Level.ERROR:
        named = _first(record, _PATH_KEYS)
        if isinstance(named, str) and named.startswith("/") and named not in text:
            # the file an error is about, in a field of its own (Alertmanager's ``msg="Loading
            # configuration file failed" file=/etc/alertmanager/config/alertmanager.yaml
            # err="yaml: ..."``)
            text = f"{text} ({named})" if text else named
    err_text, stack = _error_parts(error)
    kind = _first(record, _TYPE_KEYS)
    if isinstance(kind, str) and kind and kind not in err_text:
        err_text = f"{kind}: {err_text}" if err_text else kind
    if not stack:
        raw_stack = _first(record, _STACK_KEYS)
        if isinstance(raw_stack, str):
            stack = raw_stack
        elif isinstance(raw_stack, list):
            stack = "\n".join(_scalar(s) for s in raw_stack[:200])
    if err_text and err_text not in text:
        text = f"{text}: {err_text}" if text else err_text
    for key in _DETAIL_KEYS:
        detail = record.get(key)
        if isinstance(detail, str) and detail.strip() and detail not in text:
            text = f"{text}: {detail}" if text else detail
    lines = text.split("\n") if text else []
    own = len(lines)
    if stack:
        stack_lines = stack.split("\n")
        if lines and stack_lines and stack_lines[0].strip() in text:
            stack_lines = stack_lines[1:]  # a stack that starts with the error again
        lines += stack_lines
    return level, (lines or [""]), (own if lines else 1)


def _parse_json(line: str) -> Mapping[str, Any] | None:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


_LOGFMT_PAIR = rx.compile(r'(?P<key>[^\s=]+)=(?P<value>"(?:[^"\\]|\\.)*"?|[^\s"]*)')
_LOGFMT_KEYS = frozenset({"msg", "message", "level", "lvl", "err", "error", "severity"})
_FREE_TEXT_KEYS = frozenset({"msg", "message", "err", "error"})
#: What follows a quoted value's closing quote: the line's end or a space before the next pair.
_LOGFMT_NEXT = rx.compile(r"^(?:$|\s)")
#: A message's real closing quote: the first quote after which the line holds only pairs
#: (``level=error``, ``err="..."`` with its escapes) or nothing.
_LOGFMT_CLOSE = rx.compile(r'"(?:\s+[^\s="]+=(?:"(?:[^"\\]|\\.)*"|[^\s"]*))*\s*$')


def parse_logfmt(line: str) -> dict[str, str] | None:
    """A logfmt line (``time=... level=error msg="..." err="..."``) as a dict, escapes in
    quoted values undone; None when the line is not logfmt (it must start with a
    ``key=value`` pair and name one of level, msg, message, err, error, severity)."""
    stripped = line.strip()
    if "=" not in stripped:
        return None
    first = stripped.split(" ", 1)[0]
    if "=" not in first or first.startswith("="):
        return None
    record: dict[str, str] = {}
    pairs = list(_LOGFMT_PAIR.finditer(stripped))
    unclosed = True
    for k, m in enumerate(pairs):
        value = m["value"]
        if (unclosed and value.startswith('"') and m["key"] in _FREE_TEXT_KEYS
                and _LOGFMT_NEXT.search(stripped[m.end():m.end() + 2]) is None):
            # a message whose inner quotes lost their escapes (a paste, a writer that does not
            # escape): ``msg="... failed to get json "https://x/directory": Get ..."``; it
            # ends at the first quote after which only pairs follow (``level=error``,
            # ``err="..."``), which are read; the pairs found inside it are its words
            start = rx.span(m, "value")[0]
            close = _LOGFMT_CLOSE.search(stripped[start + 1:])
            if close is not None:
                last = start + 1 + close.start()
                record.setdefault(m["key"], _unquote(stripped[start:last + 1]))
                for rest in _LOGFMT_PAIR.finditer(stripped[last + 1:]):
                    tail = rest["value"]
                    record.setdefault(rest["key"],
                                      _unquote(tail) if tail.startswith('"') else tail)
                break
            unclosed = False  # no quote further on closes a message either
        if value.startswith('"'):
            value = _unquote(value)
        elif m["key"] in _FREE_TEXT_KEYS:
            # logrus with ``DisableQuote``: ``msg=Could not ensure that signing keys ...
            # error=map[message:cipher: message authentication failed] service_name=...``;
            # an unquoted message runs to the next pair
            end = pairs[k + 1].start() if k + 1 < len(pairs) else len(stripped)
            value = (value + stripped[m.end():end]).rstrip()
        record.setdefault(m["key"], value)
    if not _LOGFMT_KEYS & record.keys():
        return None
    return record


def _unquote(quoted: str) -> str:
    body = quoted[1:-1] if len(quoted) >= 2 and quoted.endswith('"') else quoted[1:]
    if "\\" not in body:
        return body
    try:
        value = json.loads(f'"{body}"')
        return value if isinstance(value, str) else body
    except ValueError:
        return body.replace('\\"', '"').replace("\\n", "\n").replace("\\t", "\t").replace(
            "\\\\", "\\")


#: A process's tag before its JSON record: Pebble's and supervisors' ``[mongod] {...}``,
#: docker compose's ``web-1  | {...}``.
_RECORD_TAG = rx.compile(r"^(?:\[[\w.@/:-]{1,48}\]|[\w.@/-]{1,48}\s*\|)\s*\{")


def _structured(line: str) -> tuple[Level, list[str], int] | None:
    """A JSON or logfmt record's level, lines and how many of them are its message (the
    rest are its stack), or None for plain text."""
    stripped = line.strip()
    if stripped[:1] != "{" and stripped.endswith("}"):
        tag = _RECORD_TAG.search(stripped)
        if tag is not None:
            stripped = stripped[tag.end() - 1:]
    if stripped.startswith("{") and stripped.endswith("}"):
        record = _parse_json(stripped)
        if record is None:
            return None
        if set(record) <= {"log", "stream", "time", "attrs"} and isinstance(record.get("log"),
                                                                               str):
            return None  # Docker's json-file wrapper: read what it wraps (see read_log)
        return _from_record(record)
    if stripped.startswith('"') and stripped.endswith("}"):
        return _torn_record(stripped)
    record_kv = parse_logfmt(stripped)
    if record_kv is not None:
        return _from_record(record_kv)
    return None


_MEMBER = rx.compile(r',\s*"[\w.@-]+"\s*:')
#: What a failed call's text says besides :data:`_FAILURE_WORDS` (``dial tcp ...: i/o
#: timeout``, ``panic: ...``, ``connection reset by peer``).
_CUT_FAILURE = rx.compile(
    r"\b(?:timeout|timed out|panic|exception|unreachable|reset by peer|broken pipe|EOF|"
    r"killed|abort(?:ed)?|no route)\b", ignorecase=True)
TORN_TRIES = 8
"""How many member boundaries a torn record's tail is tried from."""


def _torn_record(text: str) -> tuple[Level, list[str], int] | None:
    """The tail of a JSON record whose head was cut off (a pasted excerpt, a line split by a
    log shipper): ``"Starting server for services","value":[...],"logging-call-at":
    "server.go:123"}``. Its members from the first whole one on are read as a record; a
    tail with no level, message or error left says nothing (a debug line) unless the value
    cut before its first whole member says a failure (``"open /data: permission denied",
    "caller":...}``: plain text), and a line that is no such tail is plain text (None)."""
    for k, m in enumerate(_MEMBER.finditer(text)):
        if k >= TORN_TRIES:
            break
        record = _parse_json("{" + text[m.start() + 1:])
        if record is not None:
            parsed = _from_record(record)
            if parsed is not None:
                return parsed
            head = text[:m.start()]
            if _FAILURE_WORDS.search(head) is not None or _CUT_FAILURE.search(head) is not None:
                return None  # the cut-off value says what failed: plain text, as it reads
            return Level.DEBUG, [text], 1
    return None


#: What a tool's message about itself says when it failed (``Chain already exists.``,
#: ``cannot create directory``), not its report (``no server running``, ``syntax is ok``).
_FAILURE_WORDS = rx.compile(
    r"\b(?:error|fail\w*|cannot|can't|could not|couldn't|unable|denied|not found|no such|"
    r"invalid|exists|refused|unknown|missing|illegal|bad|not permitted|unrecognized|"
    r"unexpected|fatal|too many|out of)\b", ignorecase=True)
#: A command a shell traces (``set -x``: ``+ iptables -t nat -N X``) or a program echoes
#: before its output (linkerd's proxy-init: ``> iptables -t nat -A ...``, its output after
#: ``< ``).
_XTRACE = rx.compile(r"^(?:\++|>) (?:\w+=\S* )*(?P<command>[\w./-]+)")
#: A structured record whose whole message is a command line with a flag
#: (``{"msg":"iptables-save -t nat"}``): the program logs what it runs, then its output.
_COMMAND_ECHO = rx.compile(r"^(?P<command>[\w./-]+) (?:\S+ )*?--?[A-Za-z][\w-]*(?:[ =]\S*)*$")
#: A tool's version after its name, as it starts its own messages (``v1.8.7``).
_TOOL_VERSION = rx.compile(r"^v?\d+(?:\.\d+)+\b")
#: Go's standard logger's time (``2019/07/29 19:00:59 ``), before a trace or its output.
_GO_LOG_TIME = rx.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? ")


def _traced_commands_error(traced: str, line: str, echo: bool = False) -> bool:
    """Whether ``line`` is the message a command traced on the line above (a shell's
    ``set -x``: ``+ iptables -t nat -N ISTIO_REDIRECT``) wrote about itself, as tools
    write their errors: ``iptables: Chain already exists.``; with ``echo``, a record that
    is a command line (:data:`_COMMAND_ECHO`) counts as traced."""
    traced = traced[_time_end(traced):]
    line = line[_time_end(line):]
    if line.startswith("< "):
        line = line[2:]
    m = _XTRACE.search(traced) or (_COMMAND_ECHO.search(traced) if echo else None)
    if m is None:
        return False
    name = m["command"].rsplit("/", 1)[-1]
    if not name or not line.startswith((f"{name}: ", f"{name} ")):
        return False
    # the tool names itself with a colon or with its version (``iptables-save v1.8.7
    # (legacy): Cannot initialize: ...``); a sentence that starts with the same word
    # (``Running migrations: 0 failed`` after ``Running migrations --dir /m``) is not its
    rest = line[len(name) + 1:]
    return (line[len(name)] == ":" or _TOOL_VERSION.search(rest) is not None) and \
        _FAILURE_WORDS.search(rest) is not None


def _time_end(text: str) -> int:
    m = _GO_LOG_TIME.search(text)
    return m.end() if m is not None else 0


_NEW_RECORD = rx.compile(r"^\[?(?:\d{4}[-/]\d{2}[-/]\d{2}|\d{2}:\d{2}:\d{2})")


def starts_record(text: str) -> bool:
    """Whether a plain line starts a record of its own (it begins with a date or time)."""
    return _NEW_RECORD.search(text) is not None


_CONTINUATION_SPAN = 5
#: A member of a pretty-printed object on a line of its own (``  "code": "28000",``) ...
_OBJECT_MEMBER = rx.compile(r'^\s+"[\w.$-]{1,40}":\s')
_OBJECT_SPAN = 60
"""... and how many lines up its opener (``Error object: {``) is looked for."""


def _has_word(text: str) -> bool:
    return any(ch.isalnum() for ch in text[:200])


def _continued_level(out: list[LogLine], own: list[bool], line: str) -> Level:
    """A plain line with no level that continues a warning or error record just above it
    (``ERROR: [1] bootstrap checks failed`` then ``[1]: max virtual memory areas ...``)
    takes that record's level; a line that starts a record (a timestamp) does not, and
    only a line with a level of its own, at most a few lines up, passes it on. A line
    that names the program writing it (:data:`_WRITER_TAG`) starts a record too."""
    if (not _has_word(line) or starts_record(line)
            or _WRITER_TAG.search(line) is not None or _XTRACE.search(line) is not None):
        return Level.UNKNOWN
    if _OBJECT_MEMBER.search(line) is not None:
        # a member of a pretty-printed object takes the level of the line that opened it
        # (``Error object: {`` ... ``  "message": "no pg_hba.conf entry for host ..."``)
        for back in range(1, min(len(out), _OBJECT_SPAN) + 1):
            above = out[-back].text
            if own[-back] and above.rstrip().endswith("{"):
                level = out[-back].level
                return level if level >= Level.WARN else Level.UNKNOWN
            if _OBJECT_MEMBER.search(above) is None and above.strip() not in ("{", "}", "},"):
                break
    if (out and not line[:1].isspace() and out[-1].text[:1].isspace() and not own[-1]
            and out[-1].level is Level.WARN):
        # a line back at the margin after a warning's indented lines is a line of its own
        # (memcached's ``WARNING: Setting item max size above 1MB is not recommended!``, two
        # indented lines, then ``can't run as root without the -u switch``)
        return Level.UNKNOWN
    for back in range(1, min(len(out), _CONTINUATION_SPAN) + 1):
        prev = out[-back]
        if prev.structured or not _has_word(prev.text):
            return Level.UNKNOWN  # a blank line or a separator ends a record
        if _XTRACE.search(prev.text) is not None:
            return Level.UNKNOWN  # what follows a traced command is that command's output
        if own[-back]:
            return prev.level if prev.level >= Level.WARN else Level.UNKNOWN
    return Level.UNKNOWN


#: A logfmt line that ends inside a quoted value: go-kit's logger writes an error's newlines
#: as they are (Mimir's ``level=error msg="error running application" err="`` and the error
#: on the lines below, up to the closing quote).
_OPEN_VALUE = rx.compile(r'(?:^|\s)[\w.@-]+="(?:[^"\\]|\\.)*$')
_CLOSED_VALUE = rx.compile(r'(?:^|[^\\])"\s*$')
LOGFMT_VALUE_LINES = 60
"""How many lines one quoted logfmt value may run over, at most."""


#: The head of a logfmt record of its own: two ``key=value`` pairs at the start of the line
#: (a value's continuation lines are the error's text, indented).
_RECORD_HEAD = rx.compile(r'^[\w.@-]+=(?:"(?:[^"\\]|\\.)*"|[^\s"]*)\s+[\w.@-]+=')


def _starts_record(line: str) -> bool:
    """Whether a line is a logfmt record of its own (whole, or itself cut in a value)."""
    return _RECORD_HEAD.search(line) is not None


def _logfmt_values(lines: list[str]) -> list[str]:
    """Lines with each logfmt record whose quoted value runs over several lines joined into
    one text (its newlines kept), as the writer meant it, up to its closing quote or the
    log's end; a value not closed within :data:`LOGFMT_VALUE_LINES` lines leaves the lines
    as they are."""
    if not any('="' in line[-200:] for line in lines):
        return lines
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _OPEN_VALUE.search(line) is None:
            out.append(line)
            i += 1
            continue
        end: int | None = None
        for j in range(i + 1, min(len(lines), i + 1 + LOGFMT_VALUE_LINES)):
            if _starts_record(lines[j]):
                break  # a record of its own: the value above was cut, not continued
            if _CLOSED_VALUE.search(lines[j]) is not None:
                end = j
                break
        else:
            if i + 1 < len(lines) <= i + 1 + LOGFMT_VALUE_LINES:
                end = len(lines) - 1  # the log ends inside the value (an excerpt cut there)
        if end is None or parse_logfmt(line + '"') is None:  # (the costly check last)
            out.append(line)
            i += 1
            continue
        out.append("\n".join(lines[i:end + 1]))
        i = end + 1
    return out


def read_log(text: str) -> list[LogLine]:
    """The bounded, normalised lines of a log (empty when it is only an API answer)."""
    if not text or is_api_answer(text):
        return []
    out: list[LogLine] = []
    own: list[bool] = []  # whether each line's level is its own (not continued)
    pending = ""
    record = 0
    for raw in _logfmt_values(bound_lines(text, MAX_RAW_LINE_CHARS)):
        line = _clean(raw) if "\n" not in raw else "\n".join(map(_clean, raw.split("\n")))
        line, partial, klog_level = _strip_prefixes(line)
        if partial:
            pending += line
            continue
        if pending:
            line, pending = pending + line, ""
        stripped = line.strip()
        if stripped.startswith('{"log":'):
            wrapper = _parse_json(stripped)
            if wrapper is not None and isinstance(wrapper.get("log"), str):
                line = _clean(wrapper["log"].rstrip("\n"))
                line, _, klog_level = _strip_prefixes(line)
        parsed = _structured(line)
        if parsed is not None:
            level, lines, message_lines = parsed
            if level <= Level.INFO and lines and out and out[-1].structured \
                    and _traced_commands_error(out[-1].text, lines[0], echo=True):
                level = Level.ERROR  # the output of a command the record above ran
            record += 1
            for k, part in enumerate(lines):
                out.append(LogLine(cap_line(_clean(part)), level, True, record,
                                   stack=k >= message_lines))
                own.append(True)
            continue
        line = cap_line(line)
        level = klog_level if klog_level is not Level.UNKNOWN else prefix_level(line)
        if level is Level.UNKNOWN and out and _traced_commands_error(out[-1].text, line):
            level = Level.ERROR
        own.append(level is not Level.UNKNOWN)
        if level is Level.UNKNOWN:
            level = _continued_level(out, own[:-1], line)
        out.append(LogLine(line, level))
    if pending:
        out.append(LogLine(cap_line(pending), prefix_level(pending)))
    return _join_hclog_values(_join_terms(out[-MAX_LOG_LINES:]))


TERM_LINES = 12
"""How many lines a term printed over several lines may take (its first included)."""
_TERM_OPENERS = (",", "{", "[")
_HEADER_CHARS = 160
"""How long a record header two lines of one term share may be."""


def _depth(text: str) -> int:
    """How many ``{``/``[`` a text leaves open (outside double-quoted strings)."""
    if '"' not in text:
        return text.count("{") + text.count("[") - text.count("}") - text.count("]")
    depth = 0
    quoted = escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
    return depth


def _continuation(opener: str, text: str) -> str | None:
    """What ``text`` adds to a term ``opener`` left open: its indented rest after the
    record header the two lines share (the same ``2023-11-08 12:36:12.103911+00:00 [error]
    <0.239.0>`` that Erlang's logger writes on every line of one report), else None."""
    k = 0
    limit = min(len(opener), len(text), _HEADER_CHARS)
    while k < limit and opener[k] == text[k]:
        k += 1
    rest = text[k:]
    if (k == _HEADER_CHARS or not rest[:1].isspace() or not rest.strip()
            or (k and not opener[k - 1].isspace())):
        return None
    return rest.strip()


def _join_terms(lines: list[LogLine]) -> list[LogLine]:
    """A term printed over several lines, one line: Erlang's and Elixir's pretty-printed
    reasons (``Error during startup: {error,`` / ``{cannot_create_plugins_expand_dir,`` /
    ``["/bitnami/rabbitmq/mnesia/...", eacces]}}``) put the errno on one line and the path it
    concerns on another. A plain line that ends an element (``,``) or opens one while a
    ``{``/``[`` is open, and the indented lines after it (under the same record header)
    that close it within :data:`TERM_LINES`, become one line."""
    out: list[LogLine] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        opens = not line.structured and line.text.rstrip().endswith(_TERM_OPENERS)
        depth = _depth(line.text) if opens else 0
        joined_to = -1
        if depth > 0:
            parts: list[str] = []
            for j in range(i + 1, min(len(lines), i + TERM_LINES)):
                nxt = lines[j]
                rest = None if nxt.structured else _continuation(line.text, nxt.text)
                if rest is None:
                    break
                parts.append(rest)
                depth += _depth(rest)
                if depth <= 0:
                    joined_to = j
                    break
            if joined_to > 0:
                level = line.level if line.level is not Level.UNKNOWN else max(
                    lines[j].level for j in range(i, joined_to + 1))
                text = cap_line(" ".join([line.text.rstrip(), *parts]))
                out.append(LogLine(text, level, False, line.record))
                i = joined_to + 1
                continue
        out.append(line)
        i += 1
    return out


_HCLOG_KEY = rx.compile(r"^\s+(?P<key>[\w.-]+)=$")
_HCLOG_VALUE = rx.compile(r"^\s+\|(?: (?P<part>.*))?$")
HCLOG_VALUE_LINES = 40
"""How many lines of one multi-line hclog value are joined, at most."""


def _join_hclog_values(lines: list[LogLine]) -> list[LogLine]:
    """HashiCorp's hclog (Vault, Consul, Nomad, Terraform) writes a value over several lines
    as ``  error=`` then ``  | line`` per line, under the record's head (``[ERROR] agent:
    runtime error encountered:``); the head, the key and the value's lines become one line,
    as hclog writes a one-line value: ``... encountered: error=vault.read(kv/x): ... Code:
    403. Errors: * 1 error occurred: * permission denied``."""
    if not any(line.text.startswith(" ") and line.text.endswith("=") for line in lines):
        return lines
    out: list[LogLine] = []
    i = 0
    while i < len(lines):
        m = _HCLOG_KEY.search(lines[i].text)
        if m is None or not out or i + 1 >= len(lines) \
                or _HCLOG_VALUE.search(lines[i + 1].text) is None:
            out.append(lines[i])
            i += 1
            continue
        parts: list[str] = []
        j = i + 1
        while j < len(lines) and j <= i + HCLOG_VALUE_LINES:
            v = _HCLOG_VALUE.search(lines[j].text)
            if v is None:
                break
            part = (v["part"] or "").replace("\\t", " ").strip()
            if part:
                parts.append(part)
            j += 1
        head = out.pop()
        text = cap_line(f"{head.text.rstrip()} {m['key']}={' '.join(parts)}")
        out.append(LogLine(text, head.level, head.structured, head.record, head.stack))
        i = j
    return out


def joined(lines: list[LogLine]) -> str:
    """The lines' texts as one text (what multi-line patterns are matched on)."""
    return "\n".join(line.text for line in lines)
