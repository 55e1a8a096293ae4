"""RemediationPolicy decisions: coverage, floors, cooldowns, daily limits (pure)."""

from decimal import Decimal

import pytest

from crashwatch.remediation.policy import (
    ActionState,
    Policy,
    floor_for,
    parse_duration,
    refusal,
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


def test_floor_adds_headroom_rounds_up_and_respects_the_ceiling():
    assert floor_for("512Mi", 0, Decimal(4 * 2**30)) == "512Mi"
    assert floor_for("512Mi", 10, Decimal(4 * 2**30)) == "564Mi"  # 563.2Mi, rounded up
    assert floor_for("3Gi", 50, Decimal(4 * 2**30)) == "4Gi"
    assert floor_for("nonsense", 10, None) is None


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
