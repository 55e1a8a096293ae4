"""``crashwatch diagnose`` against the current kubeconfig context: read what a dump would
hold (``crashwatch.kube.snapshot``), ask the engine which containers' logs it needs and
which supporting objects its findings read, fetch those, and diagnose with the same engine
as the offline command.

Imported only when a cluster is read: ``diagnose -f`` does not load the kubernetes client.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

from crashwatch.diagnosis import LogSource, diagnose
from crashwatch.diagnosis.trace import Trace
from crashwatch.kube.snapshot import (
    Connection,
    Scope,
    connect,
    log_requests,
    read_cluster,
    read_logs,
    read_supporting,
    supporting_kinds,
)
from crashwatch.logsource import LogsDir
from crashwatch.model import Finding
from crashwatch.settings import LogSettings

#: At most this many container logs are read in one run (each bounded by tail lines and
#: bytes); the rest are diagnosed without their log, and a note says so.
MAX_LOGS = 500
#: A progress line is shown (on a terminal) when more logs than this are read.
PROGRESS_AFTER = 4
_LOGS = LogSettings()


@dataclass(slots=True)
class LiveDiagnosis:
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    scope: Scope | None = None
    now: float | None = None


@dataclass(frozen=True, slots=True)
class LiveOptions:
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    all_namespaces: bool = False
    selector: str = ""
    pod: str | None = None
    logs_dir: str | None = None
    """Read logs from files instead of ``pods/log`` (clusters without log access, tests)."""
    tail_lines: int = _LOGS.log_tail_lines
    max_bytes: int = _LOGS.log_max_bytes


class _Complaints(logging.Handler):
    """Keeps what the kubernetes client logs instead of raising (its kubeconfig loader
    logs a credential plugin that failed with ``logging.error`` on the root logger)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.said: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "/kubernetes/" in record.pathname.replace("\\", "/"):
            text = " ".join(record.getMessage().split())[:300]
            if text and text not in self.said:
                self.said.append(text)


@contextmanager
def client_complaints() -> Iterator[list[str]]:
    """While reading a cluster, the client's own complaints are kept, not printed (a handler
    on the root logger also keeps ``logging.error`` from configuring it and urllib3's retry
    warnings from reaching stderr); an error tells them (:func:`with_complaints`)."""
    handler = _Complaints()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.said
    finally:
        root.removeHandler(handler)


def with_complaints(message: str, said: list[str]) -> str:
    return message + (f"; the kubeconfig's credentials: {'; '.join(said)}" if said else "")


def progress_line(stream: TextIO) -> Callable[[int, int], None]:
    """``reading logs 12/40`` rewritten in place, erased when done."""

    def show(done: int, total: int) -> None:
        stream.write(f"\rcrashwatch: reading logs {done}/{total}")
        if done == total:
            stream.write("\r\x1b[K")
        stream.flush()

    return show


def _reasons(findings: list[Finding]) -> set[str]:
    out = {f.reason.value for f in findings}
    out |= {str(f.details["podReason"]) for f in findings if f.details.get("podReason")}
    return out


def run_live(opts: LiveOptions, trace: Trace | None = None, stderr: TextIO | None = None,
             conn: Connection | None = None) -> LiveDiagnosis:
    """Read the cluster and diagnose it. Raises ``ClusterError`` (cannot read the cluster)
    or ``LogsDirError`` (a ``--logs-dir`` that is not a directory)."""
    stderr = stderr or sys.stderr
    files = LogsDir(opts.logs_dir, max_bytes=opts.max_bytes) if opts.logs_dir else None
    conn = conn or connect(opts.kubeconfig, opts.context)
    scope = Scope(None if opts.all_namespaces else (opts.namespace or conn.namespace),
                  opts.selector, opts.pod)
    read = read_cluster(conn.api, scope)
    objects, notes = read.objects, list(read.notes)

    asked: list[tuple[str, str, str]] = []

    def record(namespace: str, pod: str, container: str) -> str | None:
        asked.append((namespace, pod, container))
        return None

    # First pass: which logs the engine asks for and which supporting kinds its findings
    # read. Their answers only add evidence; the second pass has them.
    first = diagnose(objects, files or record, now=read.now)
    kinds = supporting_kinds(_reasons(first))
    if kinds:
        more = read_supporting(conn.api, scope, kinds)
        objects = objects + more.objects
        notes += more.notes
    logs: LogSource | None = files
    if files is None and asked:
        requests = log_requests(objects, asked)
        if len(requests) > MAX_LOGS:
            notes.append(f"Logs of {len(requests) - MAX_LOGS} more container(s) were not read "
                         f"(at most {MAX_LOGS} per run): their findings carry no log evidence.")
            requests = requests[:MAX_LOGS]
        show = progress_line(stderr) if (len(requests) > PROGRESS_AFTER
                                         and stderr.isatty()) else None
        got = read_logs(conn.api, requests, tail_lines=opts.tail_lines,
                        max_bytes=opts.max_bytes, progress=show)
        notes += got.notes
        found = got.logs

        def from_api(namespace: str, pod: str, container: str) -> str | None:
            return found.get((namespace, pod, container))

        logs = from_api
    if kinds or (files is None and asked) or trace is not None:
        findings = diagnose(objects, logs, now=read.now, trace=trace)
    else:
        findings = first
    return LiveDiagnosis(findings, notes, objects, scope, read.now)
