"""The engine's trace (crashwatch.diagnosis.trace, what ``crashwatch explain`` prints): what
it records of how a verdict was reached, that it changes no finding, and that nothing is
built for it when it is off."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import fuzzgen
import kube as k
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashwatch.cli.loader import load_objects
from crashwatch.diagnosis import ClusterView, diagnose, trace
from crashwatch.diagnosis.engine import diagnose_pod
from crashwatch.diagnosis.trace import ContainerTrace, PodTrace, Trace
from crashwatch.logsource import LogsDir
from crashwatch.model import Reason

ROOT = Path(__file__).resolve().parents[2]
CASES = sorted(p for base in (ROOT / "eval" / "blind", ROOT / "eval" / "realworld" / "build")
               for p in base.iterdir() if (p / "snapshot.json").exists())

ZAP = ('{"level":"info","ts":1732098581.1,"msg":"starting payments-api","version":"2.3.0"}\n'
       '{"level":"error","ts":1732098581.2,"msg":"retrying","error":"dial tcp 10.96.0.7:5432: '
       'connect: connection refused"}\n'
       '{"level":"fatal","ts":1732098581.3,"msg":"config","error":"envconfig.Process: required '
       'key STRIPE_WEBHOOK_SECRET missing value"}\n')


def _case(path: Path) -> tuple[list[Any], LogsDir | None]:
    logs = LogsDir(str(path / "logs")) if (path / "logs").is_dir() else None
    return load_objects(str(path / "snapshot.json")), logs


def _crash(c: dict[str, Any], term: dict[str, Any], events: tuple[Any, ...] = (),
           log: str | None = None) -> tuple[list[Any], Any]:
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, term, restarts=4)]
    objs = [p, *(e(p) for e in events)]
    return objs, (lambda ns, pod, cont: log) if log else None


def _pod_trace(objs: list[Any], logs: Any) -> tuple[PodTrace, list[Any]]:
    t = Trace()
    found = diagnose(objs, logs, trace=t)
    (pt,) = [p for p in t.pods.values() if p.containers]
    return pt, found


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_findings_are_the_same_with_and_without_a_trace(case: Path) -> None:
    objs, logs = _case(case)
    # No time budget on either side: the comparison must not depend on the machine's load.
    off = diagnose(objs, logs, time_budget=None)
    t = Trace()
    on = diagnose(objs, logs, time_budget=None, trace=t)
    assert [f.to_dict() for f in on] == [f.to_dict() for f in off]
    assert t.findings == on
    failing = {(f.namespace, f.pod) for f in on if f.pod}
    assert failing <= set(t.pods)  # every pod with a finding was recorded


@settings(max_examples=400, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_a_trace_never_raises_and_changes_nothing_on_adversarial_input(seed: int) -> None:
    objects, logs = fuzzgen.generate(random.Random(seed))
    view = ClusterView(objects)
    source = lambda ns, p, c: logs.get((ns, p, c))  # noqa: E731
    for pod in view.pods:
        # without diagnose()'s safety net: recording must not raise either
        off = diagnose_pod(view, pod, source, time_budget=None)
        on = diagnose_pod(view, pod, source, time_budget=None, trace=Trace())
        assert on == off


def test_nothing_is_built_for_a_trace_that_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a trace record was built with the trace off")

    for cls in (trace.PodTrace, trace.ContainerTrace, trace.LogTrace, trace.Step,
                trace.LogCandidate, trace.LogLineTrace, trace.WorkloadStep):
        monkeypatch.setattr(cls, "__init__", refuse)
    seen = 0
    for case in CASES[:40]:
        objs, logs = _case(case)
        seen += len(diagnose(objs, logs))  # the engine's safety net would hide a raise...
        view = ClusterView(objs)
        for pod in view.pods:  # ...so the rules are called without it too
            diagnose_pod(view, pod, logs)
    assert seen > 0


def test_only_the_pods_asked_for_are_recorded() -> None:
    objs, logs = _case(ROOT / "eval" / "blind" / "01-rails-secret-key-base-promotion")
    t = Trace(pods=lambda ns, name: name == "storefront-kxs4fl674f-lbzlz")
    diagnose(objs, logs, trace=t)
    assert list(t.pods) == [("shop", "storefront-kxs4fl674f-lbzlz")]


def test_a_crash_loop_the_log_explains_shows_the_lines_read_the_rules_tried_and_the_rivals():
    objs, logs = _crash(k.container(), k.terminated("Error", 1), events=(
        lambda p: k.event(p, "BackOff", "Back-off restarting failed container app in pod "
                          f"{p['metadata']['name']}_shop({p['metadata']['uid']})",
                          container_name="app", count=7),
    ), log=ZAP)
    pt, found = _pod_trace(objs, logs)
    (f,) = found
    assert f.reason is Reason.MISSING_ENV and f.details["variable"] == "STRIPE_WEBHOOK_SECRET"
    assert any("BackOff (x7)" in e for e in pt.events)
    (ct,) = pt.containers
    assert ct.status[0].startswith("state: waiting: CrashLoopBackOff")
    assert ct.status[1].startswith("lastState: terminated: reason=Error exitCode=1")
    # the log as the rules read it: JSON records as their message and error, levels kept
    assert ct.log is not None
    texts = [(line.level, line.text) for line in ct.log.lines]
    assert ("fatal", "config: envconfig.Process: required key STRIPE_WEBHOOK_SECRET missing "
            "value") in texts
    assert not any(text.startswith("{") for _, text in texts)
    info = next(line for line in ct.log.lines if "starting payments-api" in line.text)
    assert info.considered is False  # an info record never explains a crash
    # the rules in the order tried: the ones that did not apply, then the log deciding
    rules = [s.rule for s in ct.steps]
    assert rules[:7] == ["state", "runtime start failure", "OOM kill", "postStart hook",
                         "probe kill", "preStop hook", "segmentation fault"]
    decided = [s for s in ct.steps if s.decided]
    assert len(decided) == 1 and decided[0].rule == "the log"
    assert "line 3" in decided[0].outcome and "CrashLoop.MissingEnv" in decided[0].outcome
    # the candidates: the fatal line wins; the earlier refused connection loses, saying why
    chosen = [c for c in ct.log.candidates if c.chosen]
    assert len(chosen) == 1 and chosen[0].line == 2
    assert chosen[0].reason == "CrashLoop.MissingEnv"
    rival = next(c for c in ct.log.candidates if c.reason == "CrashLoop.DependencyUnreachable")
    assert rival.line == 1 and not rival.chosen
    assert rival.verdict.startswith("loses: a less telling line")
    assert ct.finding == f and pt.findings == [f]


def test_a_probe_kill_decides_before_the_log_is_read():
    c = k.container(livenessProbe={"httpGet": {"path": "/healthz", "port": 8080}})
    objs, logs = _crash(c, k.terminated("Error", 137, ran_for=35), events=(
        lambda p: k.event(p, "Unhealthy", "Liveness probe failed: HTTP probe failed with "
                          "statuscode: 404", container_name="app", count=12),
        lambda p: k.event(p, "Killing", "Container app failed liveness probe, will be "
                          "restarted", type_="Normal", container_name="app", count=4),
    ), log="ERROR could not connect to redis:6379: connection refused\n")
    pt, found = _pod_trace(objs, logs)
    ct = pt.containers[0]
    assert found[0].reason is Reason.LIVENESS_PROBE
    assert [s.rule for s in ct.steps if s.decided] == ["probe kill"]
    assert "the log" not in [s.rule for s in ct.steps]
    assert ct.log is None  # never read: a more certain rule decided first


def test_an_oom_kill_says_where_it_looked_for_more_memory():
    objs, _ = _crash(k.container(), k.terminated("OOMKilled", 137))
    pt, found = _pod_trace(objs, None)
    ct = pt.containers[0]
    assert found[0].reason is Reason.OOM_KILLED
    step = next(s for s in ct.steps if s.rule == "less memory than when healthy?")
    assert step.outcome.startswith("no record of more memory when healthy")
    assert "earlier ReplicaSet revisions" in step.outcome
    assert [s.rule for s in ct.steps if s.decided] == ["OOM kill"]


def test_a_shrunk_memory_limit_is_found_in_an_earlier_revision():
    c_old, c_new = k.container(memory_limit="512Mi"), k.container(memory_limit="32Mi")
    p = k.pod(containers=[c_new], owner=("ReplicaSet", "web-5d8f7c6b9a"))
    p["status"]["containerStatuses"] = [
        k.crashloop_status(c_new, p, k.terminated("OOMKilled", 137), restarts=5)]
    objs = [p, k.replicaset("web-7d9c5b8f6d", "web", 1, [c_old], available=0, replicas=0),
            k.replicaset("web-5d8f7c6b9a", "web", 2, [c_new]),
            k.deployment("web", [c_new], revision=2)]
    pt, found = _pod_trace(objs, None)
    assert found[0].reason is Reason.OOM_AFTER_SHRINK
    step = next(s for s in pt.containers[0].steps if s.rule == "less memory than when healthy?")
    assert step.outcome.startswith("yes: memory limit 32Mi, last healthy 512Mi")
    assert "ReplicaSet web-7d9c5b8f6d (revision 1)" in step.outcome


def test_a_quiet_pod_is_healthy_at_a_glance_and_a_recovered_one_says_why():
    c = k.container()
    quiet = k.pod(name="web-7d9c5b8f6d-aaaaa", containers=[c])
    quiet["status"]["containerStatuses"] = [k.running_status(c)]
    old_crash = k.pod(name="web-7d9c5b8f6d-bbbbb", containers=[c])
    old_crash["status"]["containerStatuses"] = [
        k.running_status(c, restarts=1, last=k.terminated("Error", 1, finished_ago=3000))]
    t = Trace()
    assert diagnose([quiet, old_crash], trace=t) == []
    assert [s.rule for s in t.pods[("shop", "web-7d9c5b8f6d-aaaaa")].steps] == ["quick look"]
    (ct,) = t.pods[("shop", "web-7d9c5b8f6d-bbbbb")].containers
    assert "recovered" in ct.steps[0].outcome and "older than" in ct.steps[0].outcome


def test_what_happens_after_the_pods_rules_is_recorded():
    objs, logs = _case(ROOT / "eval" / "blind" / "01-rails-secret-key-base-promotion")
    t = Trace()
    found = diagnose(objs, logs, trace=t)
    regression = next(f for f in found if f.reason is Reason.ROLLOUT_REGRESSION)
    steps = {(w.namespace, w.kind, w.name): w.step for w in t.workloads}
    step = steps[("shop", "Deployment", regression.owner.name if regression.owner else "")]
    assert step.decided and step.outcome.startswith("Rollout.Regression")
    first = [s for key, s in steps.items() if not s.decided]
    assert first and all(s.outcome.startswith("not raised: ") for s in first)


def test_a_failed_jobs_pods_say_they_were_folded_into_the_jobs_finding():
    case = next(p for p in CASES if (p / "expected.json").read_text().count(
        "Job.BackoffLimitExceeded"))
    objs, logs = _case(case)
    t = Trace()
    found = diagnose(objs, logs, trace=t)
    job = next(f for f in found if f.reason is Reason.JOB_BACKOFF_LIMIT_EXCEEDED)
    folded = [p for p in t.pods.values() if any("folded into the Job" in a for a in p.after)]
    assert folded and all(p.findings == [] for p in folded)
    assert any(w.kind == "Job" and w.step.decided for w in t.workloads), job


def test_the_trace_is_plain_data():
    objs, logs = _crash(k.container(), k.terminated("Error", 1), log=ZAP)
    t = Trace()
    diagnose(objs, logs, trace=t)
    text = json.dumps(t.to_dict())
    assert "STRIPE_WEBHOOK_SECRET" in text and '"decided": true' in text
    assert isinstance(t.pods[("shop", "web-7d9c5b8f6d-x2x9k")].containers[0], ContainerTrace)
