"""Probes: the kubelet killing a container that fails its liveness probe
(``CrashLoop.LivenessProbe``) or its startup probe (``CrashLoop.StartupProbe``: the fix
differs, a slow start needs more time, not another health check), and a running container
that never becomes ready."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crashwatch.diagnosis import rx
from crashwatch.diagnosis.context import (
    ContainerContext,
    event_line,
    terminated_line,
)
from crashwatch.diagnosis.view import Event, as_dict, as_int, as_list, as_str, parse_time
from crashwatch.model import Confidence, Finding, Reason

_STATUS = rx.compile(r"statuscode: (?P<code>\d{3})")
_REFUSED = rx.compile(r"dial tcp (?P<addr>[^\s]+):(?P<port>\d+): connect: connection refused")
_TIMEOUT = rx.compile(
    r"(?i)context deadline exceeded|Client\.Timeout exceeded|i/o timeout|timed out"
)
_KILLING = rx.compile(r"failed (?P<probe>liveness|startup) probe")

#: A running container that has not become ready for this long, with no probe events
#: in the snapshot, is still reported (with low confidence).
NOT_READY_GRACE_SECONDS = 300.0
#: Readiness probes refused (or timing out) in a container's first minute, or in twice what
#: its probe allows before giving up if longer, are a start, not a failure: a JVM or a Django
#: app takes seconds to listen. An app that answers (an HTTP status, an exec probe's
#: output) and says it is not ready is news once the probe's own threshold has passed.
STARTING_GRACE_SECONDS = 60.0


def readiness_grace(probe: Mapping[str, Any], details: Mapping[str, Any]) -> float:
    """How long a readiness probe may fail after the container started before it is news."""
    allowed = (as_int(probe.get("initialDelaySeconds"))
               + as_int(probe.get("periodSeconds"), 10) * as_int(probe.get("failureThreshold"), 3))
    if "refusedPort" in details or details.get("timeout"):
        return max(STARTING_GRACE_SECONDS, 2.0 * allowed)
    return float(allowed)


def probe_description(probe: Mapping[str, Any], ports: list[Any]) -> str:
    """``GET :8080/healthz`` / ``TCP :5432`` / ``exec [cat /tmp/ok]`` from a probe spec."""

    def port_of(raw: object) -> str:
        if isinstance(raw, str) and not raw.isdigit():
            for p in ports:
                p = as_dict(p)
                if p.get("name") == raw:
                    return f"{as_int(p.get('containerPort'))} ({raw})"
        return str(raw)

    if probe.get("httpGet"):
        get = as_dict(probe.get("httpGet"))
        scheme = as_str(get.get("scheme")) or "HTTP"
        return f"{scheme} GET :{port_of(get.get('port'))}{as_str(get.get('path')) or '/'}"
    if probe.get("tcpSocket"):
        return f"TCP :{port_of(as_dict(probe.get('tcpSocket')).get('port'))}"
    if probe.get("grpc"):
        return f"gRPC :{as_int(as_dict(probe.get('grpc')).get('port'))}"
    if probe.get("exec"):
        return f"exec {as_list(as_dict(probe.get('exec')).get('command'))}"
    return "?"


def failure_details(message: str) -> dict[str, Any]:
    """What a probe failure message says: HTTP status, refused port, timeout, output."""
    details: dict[str, Any] = {}
    m = _STATUS.search(message)
    if m:
        details["statusCode"] = int(m["code"])
        return details
    m = _REFUSED.search(message)
    if m:
        details["refusedPort"] = int(m["port"])
        details["address"] = f"{m['addr']}:{m['port']}"
        return details
    if _TIMEOUT.search(message):
        details["timeout"] = True
        return details
    out = message.split(":", 1)[1].strip() if ":" in message else message
    if out:
        details["output"] = out[:200]
    return details


def _what_failed(details: Mapping[str, Any]) -> str:
    if "statusCode" in details:
        return f"gets HTTP {details['statusCode']}"
    if "refusedPort" in details:
        return f"is refused on port {details['refusedPort']} (nothing listens there)"
    if details.get("timeout"):
        return "times out"
    if "output" in details:
        return f"fails: {details['output']}"
    return "fails"


def liveness_events(ctx: ContainerContext) -> tuple[list[Event], list[Event]]:
    """(kills, failures): ``Killing`` events for a failed liveness/startup probe and the
    ``Unhealthy`` liveness/startup failures, for this container."""
    kills = [ev for ev in ctx.container_events("Killing") if _KILLING.search(ev.message)]
    failures = [
        ev
        for ev in ctx.container_events("Unhealthy")
        if ev.message.startswith(("Liveness probe failed", "Startup probe failed"))
    ]
    return kills, failures


def _what_killed(failures: list[Event], kills: list[Event]) -> Event:
    """The probe failure behind the last kill: of the failures that began before it, the one
    seen last up to the kill (the most repeated on a tie). uptime-kuma's ``command "node
    extra/healthcheck.js" timed out`` before the kill, not the ``Health Check ERROR`` after
    it; a recent timeout, not an old ``statuscode: 500`` the kubelet aggregated 30 times."""
    when = kills[-1].last if kills else None
    if when is None:
        return failures[-1]
    before = [ev for ev in failures if ev.first is None or ev.first <= when]
    if not before:
        return failures[-1]

    def seen(ev: Event) -> float:
        last = ev.last if ev.last is not None else float("-inf")
        return min(last, when)

    return max(enumerate(before), key=lambda pair: (seen(pair[1]), pair[1].count, pair[0]))[1]


def kills_of_instance(kills: list[Event], term: Mapping[str, Any] | None) -> list[Event]:
    """The kills stamped within the life of the instance that ``term`` ended (second-granular
    stamps: a second either side). Kills without a stamp, and a state without a start, are
    kept."""
    started = parse_time(as_dict(term).get("startedAt")) if term else None
    finished = parse_time(as_dict(term).get("finishedAt")) if term else None
    if started is None:
        return kills
    end = finished + 1 if finished is not None else None
    return [ev for ev in kills
            if ev.last is None or (started - 1 <= ev.last and (end is None or ev.last <= end))]


def diagnose_liveness(
    ctx: ContainerContext, term: Mapping[str, Any] | None, *, require_kill: bool = True,
    this_instance: bool = False,
) -> Finding | None:
    """``this_instance``: only a kill stamped within the life of the instance ``term`` ended
    counts. Such a kill decides before the log does; an older one (an Event aggregated an
    hour ago; or not updated since, as the kubelet's event spam filter allows) only explains
    a crash the log does not."""
    kills, failures = liveness_events(ctx)
    if this_instance:
        kills = kills_of_instance(kills, term)
    if require_kill and not kills:
        return None
    if not kills and not failures:
        return None
    probe_kind = "liveness"
    if (kills and "startup" in kills[-1].message) or (
        not kills and failures[-1].message.startswith("Startup")
    ):
        probe_kind = "startup"
    probe = as_dict(ctx.spec.get(f"{probe_kind}Probe"))
    evidence: list[str] = []
    details: dict[str, Any] = {"probe": probe_kind}
    if failures:
        failed = _what_killed(failures, kills)
        evidence.append(event_line(failed))
        details.update(failure_details(failed.message))
    if kills:
        evidence.append(event_line(kills[-1]))
    if probe:
        described = probe_description(probe, as_list(ctx.spec.get("ports")))
        details["target"] = described
        evidence.append(f"{probe_kind}Probe: {described}")
    if term:
        evidence.append(terminated_line(term, ctx.restarts))
    summary = (
        f"The kubelet keeps killing container {ctx.name}: its {probe_kind} probe"
        f"{' ' + details['target'] if 'target' in details else ''} {_what_failed(details)}."
    )
    if probe_kind == "startup":
        # A startup probe gives a slow start its time: the fix is usually more of it
        # (failureThreshold x periodSeconds), not a different health check.
        summary += " Give it longer to start (startupProbe failureThreshold x periodSeconds)."
    return ctx.finding(
        Reason.STARTUP_PROBE if probe_kind == "startup" else Reason.LIVENESS_PROBE,
        summary,
        evidence,
        remediation={"action": "fix-probe", "probe": probe_kind, "container": ctx.name},
        details=details,
        confidence=Confidence.HIGH if kills else Confidence.MEDIUM,
    )


def diagnose_readiness(ctx: ContainerContext, running: Mapping[str, Any]) -> Finding | None:
    """Running but not ready because the readiness probe fails."""
    failures = [
        ev for ev in ctx.container_events("Unhealthy") if ev.message.startswith("Readiness probe")
    ]
    probe = as_dict(ctx.spec.get("readinessProbe"))
    started = parse_time(running.get("startedAt"))
    details: dict[str, Any] = {"probe": "readiness"}
    evidence: list[str] = []
    if failures:
        details.update(failure_details(failures[-1].message))
    if started is not None and ctx.view.now is not None and (
            ctx.view.now - started < readiness_grace(probe, details)):
        return None  # starting: the first probes of an app that is not listening yet fail
    if failures:
        evidence.append(event_line(failures[-1]))
        confidence = Confidence.HIGH
    elif probe and ctx.view.now is not None and started is not None and (
        ctx.view.now - started >= NOT_READY_GRACE_SECONDS
    ):
        confidence = Confidence.LOW
        evidence.append(f"running since {as_str(running.get('startedAt'))} and never ready")
    else:
        return None
    if probe:
        described = probe_description(probe, as_list(ctx.spec.get("ports")))
        details["target"] = described
        evidence.append(f"readinessProbe: {described}")
    evidence.append(f"ready=false started={ctx.status.get('started')}")
    summary = (
        f"Container {ctx.name} runs but is never ready: its readiness probe"
        f"{' ' + details['target'] if 'target' in details else ''} {_what_failed(details)}."
    )
    return ctx.finding(
        Reason.READINESS_FAILING,
        summary,
        evidence,
        remediation={"action": "fix-probe", "probe": "readiness", "container": ctx.name},
        details=details,
        confidence=confidence,
    )
