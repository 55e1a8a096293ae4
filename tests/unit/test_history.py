"""Issue #13, items 5 and 6: root causes across a chain (an OOMAfterShrink that crashed for
another reason before the shrink says so) and who changed it (managedFields)."""

from __future__ import annotations

import json
from typing import Any

import kube as k
from helpers import evidence_text, run

from crashwatch.diagnosis.history import (
    HISTORY_ANNOTATION,
    HISTORY_LIMIT,
    changed_by,
    history_value,
    read_history,
)
from crashwatch.model import Reason

RAILS = ("ArgumentError: Missing `secret_key_base` for 'production' environment, set this "
         "string with `bin/rails credentials:edit` (ArgumentError)\n")
SHRUNK_AT = k.ts(1800)


def _memory_manager(manager: str, time: str) -> dict[str, Any]:
    """A managedFields entry as the API server records an Update of the memory limit."""
    return {"manager": manager, "operation": "Update", "apiVersion": "apps/v1", "time": time,
            "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:template": {"f:spec": {
                "f:containers": {'k:{"name":"app"}': {"f:resources": {"f:limits": {
                    "f:memory": {}}, "f:requests": {"f:memory": {}}}}}}}}}}


def _shrunk(old_limit: str | None = "512Mi") -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Deployment web: revision 1 ran with ``old_limit``, revision 2 with 32Mi and its pod
    is OOMKilled."""
    old_c = k.container(memory_limit=old_limit, memory_request=None)
    new_c = k.container(memory_limit="32Mi", memory_request="32Mi")
    dep = k.deployment("web", [new_c], revision=2, available=0)
    dep["metadata"]["managedFields"] = [
        {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "apps/v1",
         "time": k.ts(86400), "fieldsType": "FieldsV1",
         "fieldsV1": {"f:spec": {"f:replicas": {}}}},
        _memory_manager("goldilocks-rightsizer", SHRUNK_AT),
    ]
    rs1 = k.replicaset("web-5c8d7f", "web", 1, [old_c], available=0)
    rs2 = k.replicaset("web-7d9c5b8f6d", "web", 2, [new_c], available=0)
    rs2["metadata"]["creationTimestamp"] = SHRUNK_AT
    p = k.pod(containers=[new_c])
    p["status"]["containerStatuses"] = [k.crashloop_status(new_c, p, k.terminated("OOMKilled",
                                                                                  137))]
    return [dep, rs1, rs2, p], dep


def _oom(findings: list[Any]) -> Any:
    (f,) = [f for f in findings if f.reason is Reason.OOM_AFTER_SHRINK]
    return f


def test_who_lowered_the_memory_is_named_from_managed_fields():
    objects, _ = _shrunk()
    f = _oom(run(objects))
    assert f.details["changedBy"] == {"manager": "goldilocks-rightsizer", "time": SHRUNK_AT,
                                      "operation": "Update", "object": "Deployment/web"}
    assert f"lowered by goldilocks-rightsizer at {SHRUNK_AT}" in f.summary


def test_a_template_edit_is_not_blamed_on_the_vpa_that_also_manages_the_workload():
    # A VPA never edits a template (its admission rewrites pods): the rightsizer that wrote
    # the template's memory is named, the VPA only as where the floor goes.
    objects, _ = _shrunk()
    f = _oom(run([*objects, k.vpa("web", ("Deployment", "web"), "app", "32Mi")]))
    assert f"lowered by goldilocks-rightsizer at {SHRUNK_AT} (VerticalPodAutoscaler web " \
           "manages it too)" in f.summary
    assert f.details["vpaLowered"] is False
    assert f.remediation is not None and f.remediation["target"]["kind"] == (
        "VerticalPodAutoscaler")


def test_a_template_memory_written_by_a_vpa_component_is_the_vpas_doing():
    objects, dep = _shrunk()
    dep["metadata"]["managedFields"][1] = _memory_manager("vpa-updater", SHRUNK_AT)
    f = _oom(run([*objects, k.vpa("web", ("Deployment", "web"), "app", "32Mi")]))
    assert f"lowered by VerticalPodAutoscaler web (vpa-updater at {SHRUNK_AT})" in f.summary


def test_a_crash_for_another_reason_before_the_shrink_is_the_root_cause():
    objects, _ = _shrunk()
    old_c = k.container(memory_limit="512Mi", memory_request=None)
    old = k.pod(name="web-5c8d7f-q2w3e", containers=[old_c], owner=("ReplicaSet", "web-5c8d7f"))
    old["status"]["containerStatuses"] = [k.crashloop_status(old_c, old, k.terminated("Error", 1))]
    findings = run([*objects, old], {("shop", "web-5c8d7f-q2w3e", "app"): RAILS})
    f = _oom(findings)
    assert f.details["precededBy"]["reason"] == Reason.MISSING_ENV.value
    assert f.details["precededBy"]["detail"] == "SECRET_KEY_BASE"
    assert "fix that first" in f.summary
    assert "CrashLoop.MissingEnv (SECRET_KEY_BASE)" in f.summary


def test_the_history_annotation_tells_what_came_before_the_shrink():
    objects, dep = _shrunk()
    dep["metadata"]["annotations"][HISTORY_ANNOTATION] = json.dumps([
        {"reason": "CrashLoop.MissingEnv", "since": k.ts(7200), "revision": "1"},
        {"reason": "CrashLoop.DependencyUnreachable", "since": k.ts(600), "revision": "2"},
    ])
    f = _oom(run(objects))
    # the later entry is after the shrink: not what made the workload look idle
    assert f.details["precededBy"]["reason"] == "CrashLoop.MissingEnv"
    assert f.details["precededBy"]["revision"] == "1"
    assert "before the shrink: CrashLoop.MissingEnv" in evidence_text(f)


def test_crashwatchs_own_events_on_the_workload_are_history_not_evidence():
    objects, dep = _shrunk()
    ev = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "web.crashwatch.missingenv", "namespace": "shop"},
        "involvedObject": {"kind": "Deployment", "namespace": "shop", "name": "web",
                           "uid": dep["metadata"]["uid"], "apiVersion": "apps/v1"},
        "reason": "CrashLoop.MissingEnv", "type": "Warning",
        "message": "Container app exits because required setting SECRET_KEY_BASE is not set.",
        "source": {"component": "crashwatch"}, "count": 12,
        "firstTimestamp": k.ts(7200), "lastTimestamp": k.ts(2000),
    }
    f = _oom(run([*objects, ev]))
    assert f.details["precededBy"]["reason"] == "CrashLoop.MissingEnv"
    assert "crashwatch Event" in f.details["precededBy"]["source"]


def test_without_an_earlier_cause_the_shrink_is_the_story():
    objects, _ = _shrunk()
    f = _oom(run(objects))
    assert "precededBy" not in f.details
    assert "autoscaler keeps it too small" in f.summary


def test_a_limit_that_appeared_between_revisions_is_a_shrink():
    objects, _ = _shrunk(old_limit=None)
    f = _oom(run(objects))
    assert f.details["lastHealthy"] is None
    assert "from no limit to 32Mi" in f.summary
    assert f.remediation == {"action": "raise-memory-limit", "container": "app",
                             "current": "32Mi", "lastHealthy": "no limit"}


def test_who_set_the_failing_image_of_a_regression():
    good = k.container(image="registry.example.com/shop/web:1.4.2")
    bad = k.container(image="registry.example.com/shop/web:1.5.0")
    dep = k.deployment("web", [bad], revision=2, available=0)
    dep["metadata"]["managedFields"] = [{
        "manager": "argocd-controller", "operation": "Apply", "apiVersion": "apps/v1",
        "time": k.ts(900), "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:template": {
            "f:spec": {"f:containers": {'k:{"name":"app"}': {".": {}, "f:image": {},
                                                            "f:name": {}}}}}}}}]
    rs1 = k.replicaset("web-5c8d7f", "web", 1, [good], available=1)
    rs2 = k.replicaset("web-7d9c5b8f6d", "web", 2, [bad], available=0)
    p = k.pod(containers=[bad])
    p["status"]["containerStatuses"] = [k.crashloop_status(bad, p, k.terminated("Error", 1))]
    findings = run([dep, rs1, rs2, p], {("shop", p["metadata"]["name"], "app"): RAILS})
    (reg,) = [f for f in findings if f.reason is Reason.ROLLOUT_REGRESSION]
    assert reg.details["changedBy"]["manager"] == "argocd-controller"
    assert f"the image was set by argocd-controller at {k.ts(900)}" in reg.summary


def test_changed_by_reads_pods_and_init_containers_and_ignores_status_writers():
    pod = {"kind": "Pod", "metadata": {"name": "p", "managedFields": [
        {"manager": "kubelet", "operation": "Update", "subresource": "status", "time": "z",
         "fieldsV1": {"f:spec": {"f:initContainers": {'k:{"name":"init"}': {"f:image": {}}}}}},
        {"manager": "kube-controller-manager", "operation": "Update", "time": "2026-01-01T00:00Z",
         "fieldsV1": {"f:spec": {"f:initContainers": {'k:{"name":"init"}': {"f:image": {}}}}}},
    ]}}
    found = changed_by(pod, "init", ("image",))
    assert found is not None and found.manager == "kube-controller-manager"
    assert changed_by(pod, "other", ("image",)) is None
    garbage = {"kind": "Pod", "metadata": {"managedFields": "garbage"}}
    assert changed_by(garbage, "x", ("a",)) is None


def test_the_history_annotation_is_appended_on_change_and_bounded():
    value = history_value(None, "CrashLoop.MissingEnv", "2026-11-20T09:00:00Z", "3")
    assert json.loads(value) == [{"reason": "CrashLoop.MissingEnv",
                                  "since": "2026-11-20T09:00:00Z", "revision": "3"}]
    assert history_value(value, "CrashLoop.MissingEnv", "2026-11-20T09:05:00Z") == value
    for i in range(HISTORY_LIMIT + 5):
        value = history_value(value, f"CrashLoop.R{i % 2}", f"2026-11-20T10:{i:02d}:00Z")
    entries = json.loads(value)
    assert len(entries) == HISTORY_LIMIT
    assert entries[-1]["since"] == f"2026-11-20T10:{HISTORY_LIMIT + 4:02d}:00Z"
    assert len(value) < 1024


def test_an_unreadable_history_reads_as_none():
    for raw in ("not json", "[1, 2", json.dumps([{"reason": "x"}] * 3), "[" * 100_000):
        assert read_history({"metadata": {"annotations": {HISTORY_ANNOTATION: raw}}}) == []
