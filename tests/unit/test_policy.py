"""RemediationPolicy decisions: coverage, floors, cooldowns, daily limits (pure)."""

from decimal import Decimal

import pytest

from crashwatch.remediation.policy import (
    ActionState,
    Policy,
    ceiling_refusal,
    floor_for,
    gitops_refusal,
    limit_range_refusal,
    parse_duration,
    refusal,
    rollout_verdict,
    selector_matches,
)


def _policy(**spec):
    return Policy.from_object({"metadata": {"name": "p", "namespace": "shop", "uid": "u"},
                               "spec": {"selector": {}, **spec}})


def test_dry_run_is_the_default_and_only_explicit_false_turns_it_off():
    assert _policy().dry_run is True
    assert _policy(dryRun=False).dry_run is False


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("1h30m", 5400), ("45s", 45),
                                                ("", 7), ("soon", 7)])
def test_durations(text, seconds):
    assert parse_duration(text, 7) == seconds


def test_selector_semantics():
    labels = {"app": "rails", "tier": "web"}
    assert selector_matches({}, labels)
    assert selector_matches({"matchLabels": {"app": "rails"}}, labels)
    assert not selector_matches({"matchLabels": {"app": "api"}}, labels)
    assert selector_matches({"matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["web", "api"]},
        {"key": "canary", "operator": "DoesNotExist"}]}, labels)
    assert not selector_matches({"matchExpressions": [
        {"key": "tier", "operator": "NotIn", "values": ["web"]}]}, labels)


def test_policy_covers_only_its_namespace():
    p = _policy(selector={"matchLabels": {"app": "rails"}})
    assert p.covers({"metadata": {"namespace": "shop", "labels": {"app": "rails"}}})
    assert not p.covers({"metadata": {"namespace": "other", "labels": {"app": "rails"}}})


def test_floor_adds_headroom_rounds_up_and_is_never_capped_below_the_need():
    assert floor_for("512Mi", 0, Decimal(4 * 2**30)) == "512Mi"
    assert floor_for("512Mi", 10, Decimal(4 * 2**30)) == "564Mi"  # 563.2Mi, rounded up
    # Issue #12, defect 8: a ceiling below the need made "pin memory floor 64Mi ... applied"
    assert floor_for("3Gi", 50, Decimal(4 * 2**30)) is None
    assert floor_for("512Mi", 0, Decimal(64 * 2**20)) is None
    why = ceiling_refusal("512Mi", 0, Decimal(64 * 2**20))
    assert why is not None and "needs 512Mi" in why and "ceiling is 64Mi" in why
    assert ceiling_refusal("512Mi", 10, Decimal(4 * 2**30)) is None
    assert floor_for("nonsense", 10, None) is None


LIMIT_RANGE = {"apiVersion": "v1", "kind": "LimitRange",
               "metadata": {"name": "mem-cap", "namespace": "shop"},
               "spec": {"limits": [{"type": "Container", "max": {"memory": "256Mi"},
                                    "default": {"memory": "128Mi"}}]}}


def test_a_floor_the_namespace_forbids_is_refused_with_the_limit_range_named():
    why = limit_range_refusal([LIMIT_RANGE], "512Mi")
    assert why is not None and "LimitRange mem-cap" in why and "256Mi" in why
    assert limit_range_refusal([LIMIT_RANGE], "256Mi") is None
    assert limit_range_refusal([], "512Mi") is None


@pytest.mark.parametrize(("where", "key", "tool"), [
    ("annotations", "argocd.argoproj.io/tracking-id", "Argo CD"),
    ("labels", "argocd.argoproj.io/instance", "Argo CD"),
    ("labels", "kustomize.toolkit.fluxcd.io/name", "Flux"),
    ("labels", "helm.toolkit.fluxcd.io/name", "Flux"),
])
def test_gitops_managed_workloads_are_refused_naming_the_tool(where, key, tool):
    wl = {"metadata": {"name": "rails", where: {key: "shop:apps/Deployment:shop/rails"}}}
    why = gitops_refusal(wl)
    assert why is not None and tool in why and key in why
    assert gitops_refusal({"metadata": {"name": "rails", "labels": {
        "app.kubernetes.io/managed-by": "Helm"}}}) is None


def _deployment(generation=3, **status):
    return {"spec": {"replicas": 2}, "metadata": {"generation": generation},
            "status": {"observedGeneration": generation, **status}}


def test_a_rollout_is_verified_once_the_new_pods_are_available():
    assert rollout_verdict("Deployment", _deployment(
        updatedReplicas=2, availableReplicas=2, replicas=2), 3) == (
        "verified", "the new pods run and are available")
    # not yet: the controller has not seen the change, or old pods still run
    assert rollout_verdict("Deployment", _deployment(
        generation=2, updatedReplicas=2, availableReplicas=2, replicas=2), 3) is None
    assert rollout_verdict("Deployment", _deployment(
        updatedReplicas=1, availableReplicas=2, replicas=3), 3) is None


def test_a_rollout_the_namespace_refuses_is_failed_with_the_controllers_words():
    """Issue #12, defect 9: the patch was accepted, its ReplicaSet then failed FailedCreate
    (a LimitRange), and crashwatch never followed up."""
    message = ('pods "rails-7d9c5b8f6d-x" is forbidden: maximum memory usage per Container is '
               "256Mi, but limit is 512Mi")
    verdict = rollout_verdict("Deployment", _deployment(conditions=[
        {"type": "Available", "status": "True"},
        {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
         "message": message}]), 3)
    assert verdict == ("failed", f"FailedCreate: {message}")


def test_the_actions_recorded_on_a_workload_survive_its_annotation():
    state = ActionState(actions=[{"policy": "p", "time": "2026-11-20T10:00:00Z",
                                  "action": "rollback", "change": "roll back", "result":
                                  "applied"}])
    wl = {"metadata": {"annotations": {"crashwatch.dev/remediation": state.to_annotation()}}}
    assert ActionState.from_workload(wl).actions == state.actions


def test_cooldown_daily_limit_and_once_per_revision():
    p = _policy(cooldown="10m", rollback={"enabled": True, "maxPerDay": 2})
    now = 1_000_000.0
    assert refusal(p, ActionState(), now) is None
    reason = refusal(p, ActionState(last_action=now - 60), now)
    assert reason is not None and "cooldown" in reason
    busy = ActionState(last_action=now - 3600, rollbacks=[now - 7200, now - 3600])
    reason = refusal(p, busy, now, rollback=True, revision=9)
    assert reason is not None and "maxPerDay 2" in reason
    once = ActionState(last_action=now - 3600, rolled_back_revisions=[4])
    reason = refusal(p, once, now, rollback=True, revision=4)
    assert reason is not None and "already rolled back" in reason
    assert refusal(p, once, now, rollback=True, revision=5) is None


def test_state_survives_its_annotation_round_trip():
    state = ActionState(last_action=12.5, rollbacks=[10.0], rolled_back_revisions=[3])
    wl = {"metadata": {"annotations": {"crashwatch.dev/remediation": state.to_annotation()}}}
    assert ActionState.from_workload(wl) == state
    broken = {"metadata": {"annotations": {"crashwatch.dev/remediation": "{not json"}}}
    assert ActionState.from_workload(broken) == ActionState()


def test_policy_matches_a_workload_by_its_pod_template_labels_too():
    p = _policy(selector={"matchLabels": {"app": "rails"}})
    deployment = {"metadata": {"namespace": "shop", "name": "rails"},
                  "spec": {"template": {"metadata": {"labels": {"app": "rails"}}}}}
    assert p.covers(deployment)
