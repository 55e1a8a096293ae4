"""CrashLoop.OOMKilled and CrashLoop.OOMAfterShrink."""

import json

import kube as k
from helpers import evidence_text, only, run

from crashwatch.model import Confidence, Reason


def _oom_pod(c, name="web-6f7b9c-abcde", rs="web-6f7b9c", annotations=None, last=None):
    p = k.pod(name=name, containers=[c], owner=("ReplicaSet", rs), annotations=annotations)
    p["status"]["containerStatuses"] = [
        k.crashloop_status(c, p, last or k.terminated("OOMKilled", 137, ran_for=2), restarts=9)
    ]
    return p


def test_oomkilled_without_history_is_plain_oom():
    c = k.container(memory_limit="256Mi")
    f = only(run([_oom_pod(c)]))
    assert f.reason is Reason.OOM_KILLED
    assert "256Mi" in evidence_text(f)
    assert "OOMKilled" in evidence_text(f)
    assert f.owner is not None and (f.owner.kind, f.owner.name) == ("Deployment", "web")


def test_oom_after_shrink_from_earlier_replicaset_revision():
    old = k.container(memory_limit="512Mi", memory_request="512Mi")
    new = k.container(memory_limit="32Mi", memory_request="32Mi")
    objs = [
        k.deployment("web", [new], revision=5),
        k.replicaset("web-5c8d7f", "web", 4, [old], replicas=0, available=0),
        k.replicaset("web-6f7b9c", "web", 5, [new], available=0),
        _oom_pod(new),
    ]
    f = only(run(objs))  # no Rollout.Regression: a resources-only change is the floor's job
    assert f.reason is Reason.OOM_AFTER_SHRINK
    text = evidence_text(f)
    assert "32Mi" in text and "512Mi" in text
    assert "web-5c8d7f" in text
    assert f.details["lastHealthy"] == "512Mi" and f.details["current"] == "32Mi"
    assert f.remediation is not None and f.remediation["memory"] == "512Mi"


def test_shrunk_pod_stays_oom_after_shrink_once_a_floor_reuses_the_old_replicaset():
    # The floor (or a rollback) sets the template back to 512Mi: the Deployment controller
    # reuses revision 1's ReplicaSet as revision 3 and lists 1 in its revision-history, as
    # k8s.io/kubernetes pkg/controller/deployment/util SetNewReplicaSetAnnotations does.
    # The shrunk pod still OOM-looping meanwhile is still an OOM after a shrink.
    old = k.container(memory_limit="512Mi", memory_request="512Mi")
    new = k.container(memory_limit="32Mi", memory_request="32Mi")
    reused = k.replicaset("web-5c8d7f", "web", 3, [old], available=0)
    reused["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] = "1"
    objs = [
        k.deployment("web", [old], revision=3),
        reused,
        k.replicaset("web-6f7b9c", "web", 2, [new], replicas=0, available=0),
        _oom_pod(new),
    ]
    f = only(run(objs))
    assert f.reason is Reason.OOM_AFTER_SHRINK
    assert f.details["lastHealthy"] == "512Mi" and f.details["current"] == "32Mi"
    assert "web-5c8d7f (revision 1)" in evidence_text(f)


def test_oom_after_shrink_from_vpa_rewritten_pod():
    template = k.container(memory_limit="512Mi", memory_request="512Mi")
    shrunk = k.container(memory_limit="32Mi", memory_request="32Mi")
    annotations = {
        "vpaUpdates": "Pod resources updated by web: container 0: cpu request, memory request, "
        "memory limit",
        "vpaObservedContainers": "app",
    }
    objs = [
        k.deployment("web", [template], revision=1),
        k.replicaset("web-6f7b9c", "web", 1, [template], available=0),
        k.vpa("web", ("Deployment", "web"), "app", "32Mi"),
        _oom_pod(shrunk, annotations=annotations),
    ]
    f = only(run(objs))
    assert f.reason is Reason.OOM_AFTER_SHRINK
    text = evidence_text(f)
    assert "32Mi" in text and "512Mi" in text and "vpaUpdates" in text
    assert "lowered by VerticalPodAutoscaler web from 512Mi to 32Mi" in f.summary
    assert f.remediation is not None
    assert f.remediation["target"] == {
        "kind": "VerticalPodAutoscaler", "name": "web", "field": "minAllowed"}


def test_oom_after_shrink_from_recorded_last_known_good():
    c = k.container(memory_limit="64Mi", memory_request="64Mi")
    dep = k.deployment("web", [c], revision=1)
    dep["metadata"]["annotations"]["crashwatch.dev/last-healthy-resources"] = json.dumps(
        {"revision": "1", "containers": {"app": {"limits": {"memory": "1Gi"}}}})
    f = only(run([dep, k.replicaset("web-6f7b9c", "web", 1, [c]), _oom_pod(c)]))
    assert f.reason is Reason.OOM_AFTER_SHRINK
    assert "1Gi" in evidence_text(f) and "64Mi" in evidence_text(f)


def test_memory_that_grew_since_last_revision_is_not_a_shrink():
    old = k.container(memory_limit="256Mi")
    new = k.container(memory_limit="384Mi")
    objs = [
        k.replicaset("web-5c8d7f", "web", 4, [old], replicas=0, available=0),
        k.replicaset("web-6f7b9c", "web", 5, [new], available=0),
        _oom_pod(new),
    ]
    assert only(run(objs)).reason is Reason.OOM_KILLED


def test_exit_137_with_reason_error_and_no_probe_kill_is_a_low_confidence_oom():
    c = k.container(memory_limit="128Mi")
    f = only(run([_oom_pod(c, last=k.terminated("Error", 137))]))
    assert f.reason is Reason.OOM_KILLED
    assert f.confidence is Confidence.LOW


def test_flapping_running_container_with_recent_ooms_is_diagnosed():
    c = k.container(memory_limit="128Mi")
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [
        k.running_status(c, started_ago=40, restarts=5,
                         last=k.terminated("OOMKilled", 137, finished_ago=41))]
    assert only(run([p])).reason is Reason.OOM_KILLED


def test_container_that_oomed_long_ago_and_runs_ready_since_is_healthy():
    c = k.container(memory_limit="128Mi")
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [
        k.running_status(c, started_ago=5400, restarts=3,
                         last=k.terminated("OOMKilled", 137, finished_ago=5401))]
    assert run([p]) == []
