"""Containers that keep exiting: read the runtime's termination record, the kubelet's
probe kills and the previous container's log, most certain evidence first.

Order: a runtime that could not start the process at all; the kernel's OOM killer;
the kubelet killing it for a liveness probe; the log signature catalogue; what the
exit code alone says; and last, an application error with its most telling log line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crashwatch.diagnosis import rx
from crashwatch.diagnosis.context import ContainerContext, terminated_line, waiting_line
from crashwatch.diagnosis.rules.config import classify_message
from crashwatch.diagnosis.rules.memory import diagnose_oom
from crashwatch.diagnosis.rules.probes import diagnose_liveness
from crashwatch.diagnosis.signatures import (
    SignatureMatch,
    host_port_in,
    match_log,
    telling_line,
)
from crashwatch.diagnosis.view import as_dict, as_int, as_list, as_str, as_text
from crashwatch.model import Confidence, Finding, Reason

_NOT_FOUND = rx.compile(
    r"(?i)executable file not found|no such file or directory|not found in \$PATH"
)
_PERMISSION = rx.compile(r"(?i)permission denied")
_EXEC_TARGET = rx.compile(r'exec(?::| ) ?"?(?P<command>[^":\s]+)"?: ')
_STAT_TARGET = rx.compile(r"stat (?P<command>/[^:\s]+): no such file")

#: What a shell's exit code alone says, when no log line said more.
_EXIT_MEANING = {
    127: (Reason.COMMAND_NOT_FOUND, "is not found"),
    126: (Reason.PERMISSION_DENIED, "is not executable"),
}

START_FAILURE_WAITING = frozenset(
    {"RunContainerError", "CreateContainerError", "StartError", "ContainerCannotRun",
     "PreStartHookError", "PostStartHookError", "PreCreateHookError"}
)


_SHELLS = frozenset({"sh", "bash", "dash", "ash", "/bin/sh", "/bin/bash", "/bin/dash",
                     "/bin/ash", "/usr/bin/bash", "/usr/bin/env"})


def _command(ctx: ContainerContext) -> list[str]:
    """The entrypoint as the spec gives it; for ``sh -c "X ..."``, the script's first word."""
    spec = ctx.spec
    argv = [str(x) for x in as_list(spec.get("command")) + as_list(spec.get("args"))]
    if len(argv) >= 3 and argv[0] in _SHELLS and argv[1] == "-c" and argv[2].split():
        words = argv[2].split()
        words = words[1:] if words[0] == "exec" and len(words) > 1 else words
        return [words[0], *argv[3:]]
    return argv


def _runtime_start_failure(
    ctx: ContainerContext, message: str, evidence: list[str], exit_code: int | None
) -> Finding | None:
    """The runtime could not exec the entrypoint (containerd ``StartError``, exit 128)."""
    m = _EXEC_TARGET.search(message) or _STAT_TARGET.search(message)
    command = m["command"] if m else (_command(ctx)[:1] or ["?"])[0]
    if m:  # the runtime's message is long; its telling part goes first
        evidence.insert(0, f"runtime: {message[m.start():].strip()}")
    for pattern, reason, what in (
        (_PERMISSION, Reason.PERMISSION_DENIED, "is not executable (permission denied)"),
        (_NOT_FOUND, Reason.COMMAND_NOT_FOUND, "does not exist in the image"),
    ):
        if pattern.search(message):
            return ctx.finding(
                reason,
                f"Container {ctx.name}'s entrypoint {command} {what}.",
                evidence,
                remediation={"action": "fix-entrypoint", "container": ctx.name,
                             "command": command},
                details={"command": command, "exitCode": exit_code},
            )
    return None


def _from_signature(
    ctx: ContainerContext, found: SignatureMatch, evidence: list[str], exit_code: int | None
) -> Finding:
    sig, g = found.signature, found.groups
    evidence = evidence + [f"log: {line}" for line in found.lines]
    details: dict[str, Any] = {"signature": sig.id, "exitCode": exit_code, **g}
    reason = sig.reason
    remediation: dict[str, Any] | None = None
    if reason is Reason.MISSING_ENV:
        var = g.get("variable", "?")
        evidence.append(f"missing variable: {var}")
        summary = f"Container {ctx.name} exits because required setting {var} is not set."
        remediation = {"action": "set-env", "container": ctx.name, "variable": var}
    elif reason is Reason.READ_ONLY_FILESYSTEM:
        path = g.get("path")
        if path:
            evidence.append(f"read-only path: {path}")
        sc = as_dict(ctx.spec.get("securityContext"))
        if sc.get("readOnlyRootFilesystem") is True:
            evidence.append("securityContext.readOnlyRootFilesystem: true")
        summary = (
            f"Container {ctx.name} exits because it writes to a read-only filesystem"
            + (f" ({path})" if path else "")
            + "; mount a writable emptyDir there."
        )
        remediation = {"action": "mount-writable-volume", "container": ctx.name, "path": path}
    elif reason is Reason.DEPENDENCY_UNREACHABLE:
        if "host" not in g:
            hp = next((host_port_in(ln) for ln in found.lines if host_port_in(ln)), None)
            if hp:
                details["host"], details["port"] = hp
        host, port = details.get("host"), details.get("port")
        target = f"{host}:{port}" if host and port else host or (f"port {port}" if port else None)
        if target:
            evidence.append(f"unreachable: {target}")
        summary = f"Container {ctx.name} exits because it cannot reach a dependency" + (
            f" ({target})." if target else "."
        )
        remediation = {"action": "check-dependency", "host": host, "port": port}
    elif reason is Reason.COMMAND_NOT_FOUND:
        cmd = g.get("command", "?")
        summary = f"Container {ctx.name} exits because command {cmd} is not found."
        remediation = {"action": "fix-entrypoint", "container": ctx.name, "command": cmd}
    elif reason is Reason.PERMISSION_DENIED:
        cmd = g.get("command", "?")
        summary = f"Container {ctx.name} exits because {cmd} is not executable."
        remediation = {"action": "fix-entrypoint", "container": ctx.name, "command": cmd}
    else:
        summary = f"Container {ctx.name} exits: {found.lines[-1] if found.lines else sig.id}."
    return ctx.finding(reason, summary, evidence, remediation=remediation, details=details,
                       confidence=Confidence.HIGH)


def diagnose_termination(
    ctx: ContainerContext,
    term: Mapping[str, Any],
    waiting: Mapping[str, Any] | None = None,
) -> Finding:
    """A container that exited (and, in a crash loop, keeps exiting)."""
    evidence: list[str] = []
    if waiting:
        evidence.append(waiting_line(waiting))
    if term:
        evidence.append(terminated_line(term, ctx.restarts))
    t_reason = as_str(term.get("reason"))
    exit_code = as_int(term.get("exitCode"), -1) if "exitCode" in term else None
    message = as_text(term.get("message"))

    if t_reason in ("StartError", "ContainerCannotRun") or exit_code == 128:
        found = _runtime_start_failure(ctx, message, evidence, exit_code)
        if found is not None:
            return found

    if t_reason == "OOMKilled":
        return diagnose_oom(ctx, term, evidence=evidence)

    live = diagnose_liveness(ctx, term)
    if live is not None:
        return live

    log = ctx.log
    if message and message not in log:
        log = f"{log}\n{message}" if log else message
    found_sig = match_log(log, budget=ctx.budget)
    if found_sig is not None:
        return _from_signature(ctx, found_sig, evidence, exit_code)

    if exit_code in (137, 143):
        live = diagnose_liveness(ctx, term, require_kill=False)
        if live is not None:
            return live
    if exit_code == 137:
        return diagnose_oom(ctx, term, confidence=Confidence.LOW, evidence=evidence)
    if exit_code in _EXIT_MEANING:
        reason, what = _EXIT_MEANING[exit_code]
        line = telling_line(log, ctx.budget)
        if line:
            evidence.append(f"log: {line}")
        cmd = (_command(ctx)[:1] or ["?"])[0]
        return ctx.finding(
            reason,
            f"Container {ctx.name} exits with code {exit_code}: a command it runs {what}.",
            evidence,
            remediation={"action": "fix-entrypoint", "container": ctx.name, "command": cmd},
            details={"exitCode": exit_code, "command": cmd},
            confidence=Confidence.MEDIUM,
        )
    return _app_error(ctx, log, evidence, exit_code, t_reason)


def _app_error(
    ctx: ContainerContext, log: str, evidence: list[str], exit_code: int | None, t_reason: str
) -> Finding:
    line = telling_line(log, ctx.budget)
    if line:
        evidence.append(f"log: {line}")
    if exit_code == 0:
        what = "exits with code 0 (Completed) but its pod restarts it"
    elif exit_code is not None:
        signal = f", signal {exit_code - 128}" if 128 < exit_code < 160 else ""
        what = f"keeps exiting with code {exit_code}{signal}"
    else:
        what = "keeps failing"
    summary = f"Container {ctx.name} {what}" + (f": {line}" if line else "; no log was available.")
    return ctx.finding(
        Reason.APP_ERROR,
        summary,
        evidence,
        details={"exitCode": exit_code, "terminationReason": t_reason or None, "logLine": line},
        confidence=Confidence.MEDIUM if line else Confidence.LOW,
    )


def diagnose_start_failure(ctx: ContainerContext, waiting: Mapping[str, Any]) -> Finding:
    """``RunContainerError``/``CreateContainerError``/hook errors: nothing ran, or a hook
    failed. The message is the runtime's; it may also be a configuration error."""
    evidence = [waiting_line(waiting)]
    message = as_text(waiting.get("message"))
    failed = ctx.container_events("Failed", "FailedPostStartHook", "FailedPreStopHook")
    if failed:
        message = message or failed[-1].message
    found = _runtime_start_failure(ctx, message, evidence, None)
    if found is not None:
        return found
    config = classify_message(ctx, message, evidence, via="env")
    if config is not None:
        return config
    last = as_dict(ctx.last_state.get("terminated"))
    if last:
        return diagnose_termination(ctx, last, waiting)
    return _app_error(ctx, ctx.log or message, evidence, None, as_str(waiting.get("reason")))
