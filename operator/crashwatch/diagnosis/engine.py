"""The diagnosis engine: Kubernetes objects in, findings out. Pure: no I/O of its own
(logs come through a callable the caller supplies), never raises on malformed input.

Per pod, every container (init containers too) gets at most one finding: the most
specific reason. Then each Deployment is checked for a rollout regression.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from crashwatch.diagnosis.budget import DEFAULT_TIME_BUDGET, Budget, Clock, work_time
from crashwatch.diagnosis.context import (
    EVENT_WINDOW_SECONDS,
    RECENT_CRASH_SECONDS,
    ContainerContext,
    event_line,
    terminated_line,
    waiting_line,
)
from crashwatch.diagnosis.logread import bound_log, is_api_answer
from crashwatch.diagnosis.owners import top_owner
from crashwatch.diagnosis.rules.chain import link_causes
from crashwatch.diagnosis.rules.config import diagnose_config_error, diagnose_failed_mount
from crashwatch.diagnosis.rules.crash import (
    START_FAILURE_WAITING,
    diagnose_start_failure,
    diagnose_termination,
    hook_failure,
    log_reading,
)
from crashwatch.diagnosis.rules.create import diagnose_failed_creates
from crashwatch.diagnosis.rules.image import IMAGE_WAITING, diagnose_image
from crashwatch.diagnosis.rules.init import (
    INIT_STUCK_SECONDS,
    diagnose_stuck_init,
    may_be_stuck,
    stuck_seconds,
)
from crashwatch.diagnosis.rules.job import (
    diagnose_failed_job,
    failed_jobs,
    job_failed,
    settled_jobs,
)
from crashwatch.diagnosis.rules.pod import (
    diagnose_eviction,
    diagnose_unschedulable,
    diagnose_volume_mount,
)
from crashwatch.diagnosis.rules.probes import (
    diagnose_readiness,
    kills_of_instance,
    liveness_events,
)
from crashwatch.diagnosis.rules.rollout import diagnose_regressions
from crashwatch.diagnosis.trace import ContainerTrace, PodTrace, Trace
from crashwatch.diagnosis.view import (
    ClusterView,
    Event,
    Obj,
    as_dict,
    as_int,
    as_list,
    as_str,
    controller_ref,
    meta,
    name_of,
    namespace_of,
    parse_time,
)
from crashwatch.model import Finding

#: ``logs(namespace, pod, container)`` -> the previous container's log tail, or None.
LogSource = Callable[[str, str, str], str | None]

STARTING_WAITING = frozenset({"ContainerCreating", "PodInitializing", ""})


def _abnormal(term: Mapping[str, Any]) -> bool:
    return bool(term) and (
        as_int(term.get("exitCode")) != 0 or as_str(term.get("reason")) == "OOMKilled"
    )


def _crashed(ctx: ContainerContext, term: Mapping[str, Any]) -> bool:
    """The instance ``term`` ended abnormally: a non-zero exit, an OOM kill, or a kill by
    the kubelet for a failed liveness/startup probe. An app that handles SIGTERM exits 0
    (``Completed``) when its probe kill asks it to stop, as on a real 1.36 node
    (tests/cluster/nodes/real/observed-1.36.txt, pod liveness404): that is no clean exit.
    The kill is the instance's when the newest ``Killing`` Event falls within its life
    (second-granular stamps: a second either side)."""
    if _abnormal(term):
        return True
    if not term or parse_time(term.get("startedAt")) is None or parse_time(
            term.get("finishedAt")) is None:
        return False
    kills, _ = liveness_events(ctx)
    return any(ev.last is not None for ev in kills_of_instance(kills, term))


def _load_log(ctx: ContainerContext, logs: LogSource | None) -> None:
    if logs is None:
        if ctx.trace is not None:
            ctx.trace.log_given = "no log source was given"
        return
    try:
        text = logs(ctx.namespace, ctx.pod_name, ctx.name)
    except Exception:  # a log source that fails must not stop a diagnosis
        text = None
    # Bounded once, here: every rule after this reads at most the bounded tail. The API
    # server's answer about a log ("unable to retrieve container logs for ...") is no log.
    bounded = bound_log(text) if isinstance(text, str) else ""
    ctx.log = "" if is_api_answer(bounded) else bounded
    if ctx.trace is not None:
        ctx.trace.log_given = _log_given(text, bounded, ctx.log)


def _log_given(text: object, bounded: str, kept: str) -> str:
    if not isinstance(text, str) or not text:
        return "the log source had no log for this container"
    if not kept:
        return f"not a log: the API server's answer {bounded.strip()[:200]!r}"
    lines = kept.count("\n") + (not kept.endswith("\n"))
    cut = f" (bounded from {len(text)})" if len(kept) < len(text.rstrip()) else ""
    return f"{len(kept)} characters{cut}, {lines} lines"


def _decided(t: ContainerTrace, rule: str, found: Finding | None) -> None:
    """Record the rule whose finding is the verdict (or that it found nothing), unless a
    rule it handed over to recorded the verdict already."""
    if any(step.decided for step in t.steps):
        return
    if found is None:
        t.step(rule, "no finding: not failing in a way this rule knows")
    else:
        t.step(rule, f"{found.reason.value}: {found.summary}", decided=True)


def diagnose_container(ctx: ContainerContext, logs: LogSource | None = None) -> Finding | None:
    """The one most specific finding for one container, or None if it is not failing."""
    state = ctx.state
    waiting = as_dict(state.get("waiting"))
    running = as_dict(state.get("running"))
    terminated = as_dict(state.get("terminated"))
    last = as_dict(ctx.last_state.get("terminated"))

    t = ctx.trace
    found: Finding | None
    if "waiting" in state:
        reason = as_str(waiting.get("reason"))
        if reason == "CrashLoopBackOff":
            if t is not None:
                t.step("state", "waiting in CrashLoopBackOff: why did its last run exit "
                       "(lastState.terminated)?")
            _load_log(ctx, logs)
            return diagnose_termination(ctx, last, waiting)
        if reason == "CreateContainerConfigError":
            found = diagnose_config_error(ctx, waiting)
            if t is not None:
                _decided(t, "configuration error (rules/config.py: the kubelet's message "
                         "names the object or key)", found)
            return found
        if reason in IMAGE_WAITING:
            found = diagnose_image(ctx, waiting)
            if t is not None:
                _decided(t, f"image pull ({reason}; rules/image.py: the pull error in the "
                         "waiting message and the Failed Events)", found)
            return found
        if reason in START_FAILURE_WAITING:
            _load_log(ctx, logs)
            found = diagnose_start_failure(ctx, waiting)
            if t is not None:
                _decided(t, f"start failure ({reason}; rules/crash.py: the runtime's "
                         "message)", found)
            return found
        if reason in STARTING_WAITING:
            found = diagnose_failed_mount(ctx)
            if t is not None:
                _decided(t, f"waiting in {reason or 'no reason'}: a ConfigMap or Secret "
                         "volume that fails to mount (FailedMount)?", found)
            return found
        if ctx.restarts > 0 and _crashed(ctx, last):
            if t is not None:
                t.step("state", f"waiting ({reason}) after a crash: why did its last run "
                       "exit (lastState.terminated)?")
            _load_log(ctx, logs)
            return diagnose_termination(ctx, last, waiting)
        if t is not None:
            t.step("state", f"waiting in {reason}, no crash before it: not failing")
        return None
    if "terminated" in state:
        if not _crashed(ctx, terminated):
            if t is not None:
                t.step("state", "terminated with exit code 0: it completed, not failing")
            return None
        if ctx.is_sidecar and _stopped_after_app(ctx, terminated):
            if t is not None:
                t.step("state", "a sidecar stopped after every app container exited (the "
                       "kubelet ends sidecars then, with SIGTERM and SIGKILL): not failing")
            return None
        if t is not None:
            t.step("state", "terminated abnormally (a kubelet leaves a crash loop here "
                   "between restarts): why did it exit?")
        _load_log(ctx, logs)
        return diagnose_termination(ctx, terminated)
    if "running" in state:
        if ctx.restarts >= 1 and _crashed(ctx, last):
            recent = ctx.view.is_recent(parse_time(last.get("finishedAt")), ctx.view.stable_after)
            kills, _ = liveness_events(ctx)
            ready = ctx.status.get("ready") is True
            if recent and (ctx.restarts >= 2 or not ready or kills):
                if t is not None:
                    t.step("state", "running again after a recent crash (restarted "
                           f"{ctx.restarts} times, ready={ready}, {len(kills)} probe kill(s)): "
                           "why did its last run exit?")
                _load_log(ctx, logs)
                return diagnose_termination(ctx, last)
            if t is not None:
                t.step("state", "running after a crash, but recovered: "
                       + ("the crash is older than the time a container must run to count "
                          f"as recovered ({ctx.view.stable_after:g} s)" if not recent else
                          "one restart, ready, and no probe kill"))
        if ctx.is_init and not ctx.is_sidecar and may_be_stuck(ctx):
            if t is not None:
                t.step("state", f"an init container running for over {INIT_STUCK_SECONDS:g} s"
                       if stuck_seconds(ctx.status, ctx.view.now) is not None else
                       "an init container running, for how long the snapshot cannot say: "
                       "does its current log show a wait that does not end?")
            _load_log(ctx, logs)
            found = diagnose_stuck_init(ctx, log_reading(ctx))
            if t is not None:
                _decided(t, "init container stuck (rules/init.py)", found)
            return found
        if ctx.status.get("ready") is False and (not ctx.is_init or ctx.is_sidecar):
            found = diagnose_readiness(ctx, running)
            if t is not None:
                _decided(t, "readiness (running, not ready: rules/probes.py)", found)
            return found
        if t is not None:
            t.step("state", "running" + (" and ready" if ctx.status.get("ready") else "")
                   + ": not failing")
    elif t is not None:
        t.step("state", "no state reported: nothing to judge")
    return None


def _stopped_after_app(ctx: ContainerContext, terminated: Mapping[str, Any]) -> bool:
    """Whether a native sidecar ended after every app container of its pod had exited: the
    kubelet stops sidecars then (a Job's pod, whose sidecar exits 143 or, killed after the
    grace period, 137 while the phase is still Running), and does not restart them."""
    apps = as_list(as_dict(ctx.pod.get("status")).get("containerStatuses"))
    if not apps:
        return False
    ended: list[float] = []
    for cs in apps:
        done = as_dict(as_dict(as_dict(cs).get("state")).get("terminated"))
        if not done:
            return False
        at = parse_time(done.get("finishedAt"))
        if at is not None:
            ended.append(at)
    own = parse_time(terminated.get("finishedAt"))
    return own is None or not ended or own >= max(ended)


def _job_complete(view: ClusterView, pod: Obj) -> bool:
    ref = controller_ref(pod)
    if ref is None or ref[0] != "Job":
        return False
    job = view.jobs.get((as_str(meta(pod).get("namespace")), ref[1]))
    if job is None:
        return False
    return any(
        as_dict(c).get("type") == "Complete" and as_dict(c).get("status") == "True"
        for c in as_list(as_dict(job.get("status")).get("conditions"))
    )


def _completed_regular_init(cs: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
    """Whether an init container's status is a regular init container's (no native sidecar)
    that completed."""
    done = as_dict(as_dict(cs.get("state")).get("terminated"))
    if not done or done.get("exitCode") != 0:
        return False
    name = cs.get("name")
    return any(type(c) is dict and c.get("name") == name and c.get("restartPolicy") != "Always"
               for c in as_list(spec.get("initContainers")))


def is_quiet_status(status: Mapping[str, Any], spec: Mapping[str, Any] | None = None) -> bool:
    """A running pod whose containers all run, are ready and never restarted: the fast,
    common case that needs no further look. With the pod's ``spec``, a regular init
    container (no native sidecar) that completed is quiet however often it restarted
    before (a wait for a dependency that failed once is history, as it was before native
    sidecars were read)."""
    if status.get("phase") != "Running" or status.get("reason"):
        return False
    statuses = status.get("containerStatuses")
    if type(statuses) is not list or not statuses:
        return False
    for cs in statuses:
        if type(cs) is not dict or cs.get("ready") is not True or cs.get("restartCount") != 0:
            return False
        state = cs.get("state")
        if type(state) is not dict or "running" not in state:
            return False
    inits = status.get("initContainerStatuses")
    if inits is not None:
        # init containers that completed, and native sidecars (``restartPolicy: Always``,
        # GA in 1.33) that run: a crash-looping sidecar leaves the pod Running and its
        # containers ready, and only its own status shows it
        if type(inits) is not list:
            return False
        for cs in inits:
            if type(cs) is not dict:
                return False
            if cs.get("restartCount") != 0:
                if spec is not None and _completed_regular_init(cs, spec):
                    continue
                return False
            state = cs.get("state")
            if type(state) is not dict:
                return False
            if "running" in state:
                if cs.get("ready") is False:
                    return False
            else:
                done = state.get("terminated")
                if type(done) is not dict or done.get("exitCode") != 0:
                    return False
    return True


def _contexts(view: ClusterView, pod: Obj, events: list[Event], time_budget: float | None,
              clock: Clock, pt: PodTrace | None = None) -> Iterator[ContainerContext]:
    owner = top_owner(view, pod)
    status = as_dict(pod.get("status"))
    for key, is_init in (("initContainerStatuses", True), ("containerStatuses", False)):
        for cs in as_list(status.get(key)):
            cs = as_dict(cs)
            name = as_str(cs.get("name"))
            if name:
                ctx = ContainerContext(
                    view=view, pod=pod, owner=owner, name=name, is_init=is_init, status=cs,
                    events=events, budget=Budget(time_budget, clock),
                )
                if pt is not None:
                    ctx.trace = pt.container(name, is_init)
                    ctx.trace.status = _container_lines(cs)
                yield ctx


def _state_line(state: Mapping[str, Any]) -> str:
    if "waiting" in state:
        return waiting_line(as_dict(state.get("waiting")))
    if "running" in state:
        return f"running since {as_str(as_dict(state.get('running')).get('startedAt')) or '?'}"
    if "terminated" in state:
        return terminated_line(as_dict(state.get("terminated")))
    return "none"


def _container_lines(cs: Mapping[str, Any]) -> list[str]:
    lines = [f"state: {_state_line(as_dict(cs.get('state')))}"]
    last = as_dict(cs.get("lastState"))
    if last:
        lines.append(f"lastState: {_state_line(last)}")
    lines.append(f"restartCount={as_int(cs.get('restartCount'))} ready={cs.get('ready')} "
                 f"started={cs.get('started')}")
    if cs.get("image"):
        lines.append(f"image: {as_str(cs.get('image'))}")
    return lines


def _pod_lines(pod: Obj) -> list[str]:
    status = as_dict(pod.get("status"))
    head = f"phase={as_str(status.get('phase')) or '?'}"
    if status.get("reason"):
        head += f" reason={as_str(status.get('reason'))}"
    node = as_str(as_dict(pod.get("spec")).get("nodeName"))
    head += f" node={node or '(not scheduled)'}"
    lines = [head]
    if status.get("message"):
        lines.append(f"message: {as_str(status.get('message'))[:300]}")
    for cond in as_list(status.get("conditions")):
        cond = as_dict(cond)
        line = f"condition {as_str(cond.get('type'))}={as_str(cond.get('status'))}"
        if cond.get("reason"):
            line += f" reason={as_str(cond.get('reason'))}"
        if cond.get("message"):
            line += f": {as_str(cond.get('message'))[:200]}"
        lines.append(line)
    return lines


def _iso(t: float | None) -> str:
    if t is None:
        return "?"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _trace_pod(view: ClusterView, pod: Obj, trace: Trace) -> PodTrace | None:
    pt = trace.pod(namespace_of(pod), name_of(pod))
    if pt is not None:
        owner = top_owner(view, pod)
        ref = controller_ref(pod)
        pt.owner = f"{owner.kind}/{owner.name}" if owner else None
        pt.status = _pod_lines(pod)
        if ref is not None and owner is not None and ref != (owner.kind, owner.name):
            pt.status.append(f"controlled by {ref[0]}/{ref[1]}, owned by "
                             f"{owner.kind}/{owner.name}")
    return pt


def _trace_events(view: ClusterView, pt: PodTrace, events: list[Event]) -> None:
    for ev in events:
        old = not view.is_recent(ev.last, EVENT_WINDOW_SECONDS)
        pt.events.append(f"{_iso(ev.last)} {event_line(ev)}"
                         + (" [older than an hour: not evidence]" if old else ""))


def _pod_events(view: ClusterView, pod: Obj) -> list[Event]:
    md = meta(pod)
    return view.events_for(
        as_str(md.get("namespace")), "Pod", as_str(md.get("name")), as_str(md.get("uid")))


def _terminating(view: ClusterView, pod: Obj, time_budget: float | None,
                 clock: Clock, pt: PodTrace | None = None) -> list[Finding]:
    """A pod being deleted is not failing, unless a container's preStop hook fails (the
    pod then hangs in Terminating for its grace period, every time)."""
    events = _pod_events(view, pod)
    if pt is not None:
        _trace_events(view, pt, events)
    if not any(ev.reason == "FailedPreStopHook" for ev in events):
        if pt is not None:
            pt.step("terminating", "being deleted, no FailedPreStopHook Event: not failing")
        return []
    out = []
    for ctx in _contexts(view, pod, events, time_budget, clock, pt):
        found = hook_failure(ctx, [], "FailedPreStopHook")
        if ctx.trace is not None:
            _decided(ctx.trace, "terminating: a preStop hook that fails (FailedPreStopHook)",
                     found)
        if found is not None:
            out.append(found)
    return out


def diagnose_pod(
    view: ClusterView,
    pod: Obj,
    logs: LogSource | None = None,
    *,
    time_budget: float | None = DEFAULT_TIME_BUDGET,
    clock: Clock = work_time,
    trace: Trace | None = None,
) -> list[Finding]:
    """Findings for one pod: one per failing container, or one about the whole pod (an
    eviction, a pod that cannot be scheduled, a volume that cannot be mounted). Each
    container's diagnosis gets ``time_budget`` seconds on ``clock`` (None: unlimited).
    ``trace`` records how (:mod:`crashwatch.diagnosis.trace`); it changes nothing."""
    pt = _trace_pod(view, pod, trace) if trace is not None else None
    md = meta(pod)
    if md.get("deletionTimestamp"):
        return _terminating(view, pod, time_budget, clock, pt)
    status = as_dict(pod.get("status"))
    if is_quiet_status(status, as_dict(pod.get("spec"))):
        if pt is not None:
            pt.step("quick look", "running, every container ready and never restarted: "
                    "healthy, nothing more is read")
        return []
    phase = as_str(status.get("phase"))
    owner = top_owner(view, pod)
    if as_str(status.get("reason")) == "Evicted":
        found = diagnose_eviction(view, pod, owner)
        if pt is not None:
            pt.step("eviction (status.reason Evicted)",
                    f"{found.reason.value}: {found.summary}" if found else "no finding",
                    decided=found is not None)
        return [found] if found else []
    if phase == "Succeeded" or (phase == "Failed" and _job_complete(view, pod)):
        if pt is not None:
            pt.step("completion", f"phase {phase}" + (" of a completed Job" if phase ==
                                                       "Failed" else "") + ": not failing")
        return []
    events = _pod_events(view, pod)
    if pt is not None:
        _trace_events(view, pt, events)
    for pod_rule, rule_name in _POD_RULES:
        found = pod_rule(view, pod, owner, events)
        if found is not None:
            if pt is not None:
                pt.step(rule_name, f"{found.reason.value}: {found.summary}", decided=True)
            return [found]
        if pt is not None:
            pt.step(rule_name, "does not apply")
    findings = []
    for ctx in _contexts(view, pod, events, time_budget, clock, pt):
        container_finding = diagnose_container(ctx, logs)
        if container_finding is not None:
            findings.append(container_finding)
    return findings


_POD_RULES = (
    (diagnose_unschedulable, "unschedulable (PodScheduled=False Unschedulable, or a recent "
                             "FailedScheduling Event)"),
    (diagnose_volume_mount, "volume (stuck creating, a recent FailedMount or "
                            "FailedAttachVolume of a PersistentVolumeClaim, CSI or other "
                            "volume)"),
)


def _sort_key(f: Finding) -> tuple[str, str, str, bool, str, str]:
    owner = f"{f.owner.kind}/{f.owner.name}" if f.owner else ""
    return (f.namespace, owner, "", f.pod is None, f.pod or "", f.container or "")


def diagnose(
    objects: Iterable[object] | ClusterView,
    logs: LogSource | None = None,
    now: float | None = None,
    stable_after: float = RECENT_CRASH_SECONDS,
    *,
    time_budget: float | None = DEFAULT_TIME_BUDGET,
    clock: Clock = work_time,
    trace: Trace | None = None,
) -> list[Finding]:
    """Every finding in a set of objects (a snapshot or the operator's view), judged at
    ``now`` (epoch seconds) or, by default, at the objects' newest timestamp. A container
    that crashed and has run ready for ``stable_after`` seconds since is recovered.

    Each container's diagnosis may take ``time_budget`` seconds (read on ``clock``); when
    that is spent, the steps left are skipped and the finding is the less specific one
    reached so far (``details.timeBudget`` says so).

    ``trace``, when given, records how each verdict was reached
    (:mod:`crashwatch.diagnosis.trace`); the findings are the same with or without it."""
    view = (objects if isinstance(objects, ClusterView)
            else ClusterView(objects, now, stable_after))
    findings: list[Finding] = []
    settled = settled_jobs(view)
    failed = failed_jobs(view, settled)
    job_pods: dict[tuple[str, str], list[Obj]] = {}
    job_findings: dict[tuple[str, str], dict[str, list[Finding]]] = {}
    for pod in view.pods:
        try:
            found = diagnose_pod(view, pod, logs, time_budget=time_budget, clock=clock,
                                 trace=trace)
        except Exception:
            # A log that trips a reading must not hide the failure: diagnosed again without
            # logs, it is named from its status and Events. A malformed pod fails again and
            # is skipped (it never stops the others).
            try:
                found = diagnose_pod(view, pod, None, time_budget=time_budget, clock=clock,
                                     trace=trace)
            except Exception:
                continue
        ref = controller_ref(pod)
        job = (namespace_of(pod), ref[1]) if ref and ref[0] == "Job" else None
        if job is not None and job in settled:
            if found and trace is not None:
                trace.after(job[0], name_of(pod), f"Job {job[1]} is settled ({settled[job]}): "
                            "this pod's failure is history, no finding")
            continue
        if job is not None and job in failed:
            # Folded into the Job's own finding: the Job failed, not each of its pods.
            job_pods.setdefault(job, []).append(pod)
            job_findings.setdefault(job, {})[name_of(pod)] = found
            if trace is not None:
                why = as_str((job_failed(failed[job]) or {}).get("reason"))
                trace.after(job[0], name_of(pod), f"Job {job[1]} failed ({why}): this pod's "
                            f"findings are folded into the Job's own Job.{why} finding (the "
                            "Job is what failed)")
            continue
        findings.extend(found)
    for (ns, name), job_obj in sorted(failed.items()):
        with contextlib.suppress(Exception):  # same contract as above
            findings.append(diagnose_failed_job(view, ns, job_obj, job_pods.get((ns, name), []),
                                                job_findings.get((ns, name), {})))
            if trace is not None:
                trace.workload(ns, "Job", name, "failed Job", f"{findings[-1].reason.value}: "
                               f"{findings[-1].summary}", decided=True)
    with contextlib.suppress(Exception):  # same contract as above
        linked = link_causes(view, findings)
        if trace is not None:
            _trace_links(trace, findings, linked)
        findings = linked
    with contextlib.suppress(Exception):  # same contract as above
        findings.extend(diagnose_failed_creates(view, trace=trace))
    with contextlib.suppress(Exception):  # same contract as above
        findings.extend(diagnose_regressions(view, findings, trace=trace))
    findings.sort(key=_sort_key)
    if trace is not None:
        trace.finish(findings)
    return findings


def _trace_links(trace: Trace, before: list[Finding], after: list[Finding]) -> None:
    for old, new in zip(before, after, strict=True):
        if old is not new:
            preceded = as_dict(new.details.get("precededBy"))
            trace.after(new.namespace, new.pod, f"root cause across a chain (rules/chain.py): "
                        f"{new.reason.value} of container {new.container} was preceded by "
                        f"{preceded.get('reason')} (from {preceded.get('source')}): the "
                        "summary says to fix that first")
