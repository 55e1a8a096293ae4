"""``Init.Stuck``: an init container that runs and never finishes, so the pod never starts.

Nothing crashes and nothing restarts: the init container loops in a wait (``until nslookup
db; do sleep 2; done``, ``nc -z``, ``wait-for-it``, a migration waiting on a lock) and the pod
sits in ``Init:0/1`` (phase ``Pending``, ``Initialized=False``, its app containers waiting in
``PodInitializing``) for as long as nobody looks. A kubelet writes nothing new meanwhile: the
verdict comes from time (:data:`INIT_STUCK_SECONDS` of running) and from the container's
current log, which says what it waits for.

A regular init container only (a native sidecar, ``restartPolicy: Always``, runs for the
pod's life by design).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from crashwatch.diagnosis import rx
from crashwatch.diagnosis.context import ContainerContext
from crashwatch.diagnosis.logcause import LogReading
from crashwatch.diagnosis.logread import LogLine
from crashwatch.diagnosis.owners import owning_replicaset, workload
from crashwatch.diagnosis.view import (
    as_dict,
    as_int,
    as_list,
    as_str,
    meta,
    parse_time,
)
from crashwatch.model import Confidence, Finding, Reason

INIT_STUCK_SECONDS = 600.0
"""How long an init container runs before it counts as stuck. Init work that takes longer
(a large migration, a model download) is rare; a wait loop goes on for hours."""

#: A wait loop's line said this many times in the log's tail is what the container does.
_REPEATS = 3
_DIGITS = rx.compile(r"\d+")
#: What a wait loop's line says (a line whose only change is a number, with these words).
_WAITING = rx.compile(r"\b(?:wait|waiting|retry|retrying|sleep|sleeping|not (?:yet )?ready|"
                      r"unavailable|refused|timed? ?out|attempt|trying|pending|not found|"
                      r"yet|no response|can't|cannot|unable|fail(?:ed|s|ure)?|bad address)\b",
                      ignorecase=True)


def _running_since(cs: Mapping[str, Any]) -> float | None:
    """When a running container started (None: it does not run, or says no time)."""
    return parse_time(as_dict(as_dict(cs.get("state")).get("running")).get("startedAt"))


def stuck_seconds(cs: Mapping[str, Any], now: float | None,
                  after: float = INIT_STUCK_SECONDS) -> float | None:
    """How long a running container has run, once that is at least ``after`` (else None)."""
    started = _running_since(cs)
    if started is None or now is None or now - started < after:
        return None
    return now - started


def running_init(pod: Mapping[str, Any]) -> tuple[Mapping[str, Any], float] | None:
    """The regular init container the pod runs (not a native sidecar), with when it started,
    while the pod is not being deleted; None if there is none."""
    if meta(pod).get("deletionTimestamp"):
        return None
    sidecars = {as_str(as_dict(c).get("name")) for c in as_list(
        as_dict(pod.get("spec")).get("initContainers"))
        if as_dict(c).get("restartPolicy") == "Always"}
    for cs in as_list(as_dict(pod.get("status")).get("initContainerStatuses")):
        cs = as_dict(cs)
        started = _running_since(cs)
        if started is not None and as_str(cs.get("name")) not in sidecars:
            return cs, started
    return None


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes}m"
    hours = minutes // 60
    return f"{hours}h" if hours < 48 else f"{hours // 24}d"


def _repeated(lines: Sequence[LogLine]) -> tuple[str, int] | None:
    """The line a wait loop says again and again in the log's tail, and how often, if it is
    said at least :data:`_REPEATS` times: the same words exactly, or with only its numbers
    changing (a counter, a timestamp) when it says it waits, retries or fails. Lines whose
    numbers change without such words are progress (``shard 12/40``, ``Applying migration
    0012``), not a loop. Of several looping lines, one that says what is wrong or awaited
    (``Have not found myself in list yet``) before one that does not (``My Hostname: x``)."""
    tail = [line.text.strip() for line in lines[-200:] if line.text.strip()]
    if not tail:
        return None
    exact = Counter(tail)
    shapes = Counter(_DIGITS.sub("#", text) for text in tail)
    found: list[tuple[bool, int, int, str]] = []
    for i, text in enumerate(tail):
        telling = _WAITING.search(text) is not None
        count = exact[text] if exact[text] >= _REPEATS else (
            shapes[_DIGITS.sub("#", text)] if telling else 0)
        if count >= _REPEATS:
            found.append((telling, count, i, text))
    if not found:
        return None
    _, count, _, text = max(found)
    return text, count


def _initialized_condition(pod: Mapping[str, Any]) -> str | None:
    for cond in as_list(as_dict(pod.get("status")).get("conditions")):
        cond = as_dict(cond)
        if cond.get("type") == "Initialized" and cond.get("status") == "False":
            return (f"condition Initialized=False {as_str(cond.get('reason'))}: "
                    f"{as_str(cond.get('message'))}").rstrip(": ")
    return None


def may_be_stuck(ctx: ContainerContext) -> bool:
    """Whether to read the running init container's log and judge it: it has run past the
    threshold, or the time it has run is unknown (a snapshot, judged at its own newest
    timestamp: its log's wait loop is then what tells)."""
    return not meta(ctx.pod).get("deletionTimestamp") and (
        stuck_seconds(ctx.status, ctx.view.now) is not None or not ctx.view.clock_given
        or stalled_rollout(ctx) is not None)


def _waits(reading: LogReading | None, repeated: tuple[str, int] | None) -> bool:
    """The log shows the container waiting: a line said :data:`_REPEATS` times, or a
    dependency it cannot reach (a running init container that failed to reach something and
    goes on is retrying it)."""
    if repeated is not None:
        return True
    cause = reading.cause if reading is not None else None
    return cause is not None and cause.reason is Reason.DEPENDENCY_UNREACHABLE


def stalled_rollout(ctx: ContainerContext) -> str | None:
    """The Deployment controller's own verdict that the pod's rollout stalled: its
    Deployment is ``Progressing=False ProgressDeadlineExceeded`` for the pod's ReplicaSet
    (no new pod became available in ``progressDeadlineSeconds``). The evidence line, or
    None."""
    rs = owning_replicaset(ctx.view, ctx.pod)
    owner = ctx.owner
    if rs is None or owner is None or owner.kind != "Deployment":
        return None
    dep = workload(ctx.view, ctx.namespace, owner)
    rs_name = as_str(meta(rs).get("name"))
    for cond in as_list(as_dict((dep or {}).get("status")).get("conditions")):
        cond = as_dict(cond)
        message = as_str(cond.get("message"))
        if cond.get("type") == "Progressing" and cond.get("status") == "False" and cond.get(
                "reason") == "ProgressDeadlineExceeded" and f'"{rs_name}"' in message:
            return (f"Deployment {owner.name}: condition Progressing=False "
                    f"ProgressDeadlineExceeded: {message}")
    return None


def diagnose_stuck_init(ctx: ContainerContext, reading: LogReading | None) -> Finding | None:
    """The finding for a regular init container that has run past the threshold (or, judged
    without a clock, whose log shows a wait loop), from its current log's reading
    (:func:`crashwatch.diagnosis.logcause.read_crash`), or None."""
    if meta(ctx.pod).get("deletionTimestamp"):
        return None
    ran = stuck_seconds(ctx.status, ctx.view.now)
    repeated = _repeated(reading.lines) if reading is not None else None
    stalled = stalled_rollout(ctx)
    if ran is None and stalled is None and (ctx.view.clock_given
                                            or not _waits(reading, repeated)):
        return None
    running = as_dict(ctx.state.get("running"))
    dur = _duration(ran) if ran is not None else ""
    when = f" ({dur} ago)" if dur else ""
    evidence = [f"running: startedAt={as_str(running.get('startedAt'))}{when} "
                f"ready=false restartCount={as_int(ctx.status.get('restartCount'))}"]
    initialized = _initialized_condition(ctx.pod)
    if initialized:
        evidence.append(initialized)
    if stalled is not None:
        evidence.append(stalled)
    details: dict[str, Any] = {"runningSeconds": int(ran)} if ran is not None else {}
    if stalled is not None:
        details["progressDeadlineExceeded"] = True
    head = (f"Container {ctx.name} has run {dur} without finishing, so the pod never starts"
            if dur else f"Container {ctx.name} runs a wait that does not end, so the pod "
            "never starts")
    cause = reading.cause if reading is not None else None
    confidence = Confidence.MEDIUM
    if cause is not None and cause.reason is not Reason.APP_ERROR:
        details.update(cause=cause.reason.value, **cause.groups)
        evidence += [f"log: {line}" for line in cause.lines]
        said = cause.lines[0] if cause.lines else ""
        peer = cause.groups.get("host", "")
        if peer and cause.groups.get("port"):
            peer = f"{peer}:{cause.groups['port']}"
        why = (f"it waits for {peer}, which it cannot reach" if peer and cause.reason
               is Reason.DEPENDENCY_UNREACHABLE else f"its log says {said!r}")
        summary = f"{head}: {why}."
        if repeated is not None:
            details["repeated"] = repeated[1]
    elif repeated is not None:
        line, count = repeated
        details["repeated"] = count
        evidence.append(f"log (x{count}): {line}")
        summary = f"{head}: its log repeats {line!r} ({count} times in its tail)."
    elif reading is not None and reading.telling:
        evidence += [f"log: {line}" for line in reading.telling]
        summary = f"{head}: its log ends with {reading.telling[0]!r}."
    else:
        confidence = Confidence.LOW
        summary = f"{head}; no log was available to say what it waits for."
    return ctx.finding(Reason.INIT_STUCK, summary, evidence, confidence=confidence,
                       details=details, remediation={"action": "fix-init-wait",
                                                     "container": ctx.name})
