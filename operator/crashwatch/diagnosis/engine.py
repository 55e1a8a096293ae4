"""The diagnosis engine: Kubernetes objects in, findings out. Pure: no I/O of its own
(logs come through a callable the caller supplies), never raises on malformed input.

Per pod, every container (init containers too) gets at most one finding: the most
specific reason. Then each Deployment is checked for a rollout regression.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from crashwatch.diagnosis.budget import DEFAULT_TIME_BUDGET, Budget, Clock
from crashwatch.diagnosis.context import RECENT_CRASH_SECONDS, ContainerContext
from crashwatch.diagnosis.logread import bound_log, is_api_answer
from crashwatch.diagnosis.owners import top_owner
from crashwatch.diagnosis.rules.chain import link_causes
from crashwatch.diagnosis.rules.config import diagnose_config_error, diagnose_failed_mount
from crashwatch.diagnosis.rules.crash import (
    START_FAILURE_WAITING,
    diagnose_start_failure,
    diagnose_termination,
    hook_failure,
)
from crashwatch.diagnosis.rules.image import IMAGE_WAITING, diagnose_image
from crashwatch.diagnosis.rules.job import diagnose_failed_job, failed_jobs
from crashwatch.diagnosis.rules.pod import (
    diagnose_eviction,
    diagnose_unschedulable,
    diagnose_volume_mount,
)
from crashwatch.diagnosis.rules.probes import diagnose_readiness, liveness_events
from crashwatch.diagnosis.rules.rollout import diagnose_regressions
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


def _load_log(ctx: ContainerContext, logs: LogSource | None) -> None:
    if logs is None:
        return
    try:
        text = logs(ctx.namespace, ctx.pod_name, ctx.name)
    except Exception:  # a log source that fails must not stop a diagnosis
        text = None
    # Bounded once, here: every rule after this reads at most the bounded tail. The API
    # server's answer about a log ("unable to retrieve container logs for ...") is no log.
    bounded = bound_log(text) if isinstance(text, str) else ""
    ctx.log = "" if is_api_answer(bounded) else bounded


def diagnose_container(ctx: ContainerContext, logs: LogSource | None = None) -> Finding | None:
    """The one most specific finding for one container, or None if it is not failing."""
    state = ctx.state
    waiting = as_dict(state.get("waiting"))
    running = as_dict(state.get("running"))
    terminated = as_dict(state.get("terminated"))
    last = as_dict(ctx.last_state.get("terminated"))

    if "waiting" in state:
        reason = as_str(waiting.get("reason"))
        if reason == "CrashLoopBackOff":
            _load_log(ctx, logs)
            return diagnose_termination(ctx, last, waiting)
        if reason == "CreateContainerConfigError":
            return diagnose_config_error(ctx, waiting)
        if reason in IMAGE_WAITING:
            return diagnose_image(ctx, waiting)
        if reason in START_FAILURE_WAITING:
            _load_log(ctx, logs)
            return diagnose_start_failure(ctx, waiting)
        if reason in STARTING_WAITING:
            return diagnose_failed_mount(ctx)
        if _abnormal(last) and ctx.restarts > 0:
            _load_log(ctx, logs)
            return diagnose_termination(ctx, last, waiting)
        return None
    if "terminated" in state:
        if not _abnormal(terminated):
            return None
        _load_log(ctx, logs)
        return diagnose_termination(ctx, terminated)
    if "running" in state:
        if _abnormal(last) and ctx.restarts >= 1:
            recent = ctx.view.is_recent(parse_time(last.get("finishedAt")), ctx.view.stable_after)
            kills, _ = liveness_events(ctx)
            ready = ctx.status.get("ready") is True
            if recent and (ctx.restarts >= 2 or not ready or kills):
                _load_log(ctx, logs)
                return diagnose_termination(ctx, last)
        if ctx.status.get("ready") is False and not ctx.is_init:
            return diagnose_readiness(ctx, running)
    return None


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


def is_quiet_status(status: Mapping[str, Any]) -> bool:
    """A running pod whose containers all run, are ready and never restarted: the fast,
    common case that needs no further look."""
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
    return True


def _contexts(view: ClusterView, pod: Obj, events: list[Event], time_budget: float | None,
              clock: Clock) -> Iterator[ContainerContext]:
    owner = top_owner(view, pod)
    status = as_dict(pod.get("status"))
    for key, is_init in (("initContainerStatuses", True), ("containerStatuses", False)):
        for cs in as_list(status.get(key)):
            cs = as_dict(cs)
            name = as_str(cs.get("name"))
            if name:
                yield ContainerContext(
                    view=view, pod=pod, owner=owner, name=name, is_init=is_init, status=cs,
                    events=events, budget=Budget(time_budget, clock),
                )


def _pod_events(view: ClusterView, pod: Obj) -> list[Event]:
    md = meta(pod)
    return view.events_for(
        as_str(md.get("namespace")), "Pod", as_str(md.get("name")), as_str(md.get("uid")))


def _terminating(view: ClusterView, pod: Obj, time_budget: float | None,
                 clock: Clock) -> list[Finding]:
    """A pod being deleted is not failing, unless a container's preStop hook fails (the
    pod then hangs in Terminating for its grace period, every time)."""
    events = _pod_events(view, pod)
    if not any(ev.reason == "FailedPreStopHook" for ev in events):
        return []
    out = []
    for ctx in _contexts(view, pod, events, time_budget, clock):
        found = hook_failure(ctx, [], "FailedPreStopHook")
        if found is not None:
            out.append(found)
    return out


def diagnose_pod(
    view: ClusterView,
    pod: Obj,
    logs: LogSource | None = None,
    *,
    time_budget: float | None = DEFAULT_TIME_BUDGET,
    clock: Clock = time.thread_time,
) -> list[Finding]:
    """Findings for one pod: one per failing container, or one about the whole pod (an
    eviction, a pod that cannot be scheduled, a volume that cannot be mounted). Each
    container's diagnosis gets ``time_budget`` seconds on ``clock`` (None: unlimited)."""
    md = meta(pod)
    if md.get("deletionTimestamp"):
        return _terminating(view, pod, time_budget, clock)
    status = as_dict(pod.get("status"))
    if is_quiet_status(status):
        return []
    phase = as_str(status.get("phase"))
    owner = top_owner(view, pod)
    if as_str(status.get("reason")) == "Evicted":
        found = diagnose_eviction(view, pod, owner)
        return [found] if found else []
    if phase == "Succeeded" or (phase == "Failed" and _job_complete(view, pod)):
        return []
    events = _pod_events(view, pod)
    for pod_rule in (diagnose_unschedulable, diagnose_volume_mount):
        found = pod_rule(view, pod, owner, events)
        if found is not None:
            return [found]
    findings = []
    for ctx in _contexts(view, pod, events, time_budget, clock):
        container_finding = diagnose_container(ctx, logs)
        if container_finding is not None:
            findings.append(container_finding)
    return findings


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
    clock: Clock = time.thread_time,
) -> list[Finding]:
    """Every finding in a set of objects (a snapshot or the operator's view), judged at
    ``now`` (epoch seconds) or, by default, at the objects' newest timestamp. A container
    that crashed and has run ready for ``stable_after`` seconds since is recovered.

    Each container's diagnosis may take ``time_budget`` seconds (read on ``clock``); when
    that is spent, the steps left are skipped and the finding is the less specific one
    reached so far (``details.timeBudget`` says so)."""
    view = (objects if isinstance(objects, ClusterView)
            else ClusterView(objects, now, stable_after))
    findings: list[Finding] = []
    failed = failed_jobs(view)
    job_pods: dict[tuple[str, str], list[Obj]] = {}
    job_findings: dict[tuple[str, str], dict[str, list[Finding]]] = {}
    for pod in view.pods:
        try:
            found = diagnose_pod(view, pod, logs, time_budget=time_budget, clock=clock)
        except Exception:
            continue
        ref = controller_ref(pod)
        job = (namespace_of(pod), ref[1]) if ref and ref[0] == "Job" else None
        if job is not None and job in failed:
            # Folded into the Job's own finding: the Job failed, not each of its pods.
            job_pods.setdefault(job, []).append(pod)
            job_findings.setdefault(job, {})[name_of(pod)] = found
            continue
        findings.extend(found)
    for (ns, name), job_obj in sorted(failed.items()):
        with contextlib.suppress(Exception):  # same contract as above
            findings.append(diagnose_failed_job(view, ns, job_obj, job_pods.get((ns, name), []),
                                                job_findings.get((ns, name), {})))
    with contextlib.suppress(Exception):  # same contract as above
        findings = link_causes(view, findings)
    with contextlib.suppress(Exception):  # same contract as above
        findings.extend(diagnose_regressions(view, findings))
    findings.sort(key=_sort_key)
    return findings
