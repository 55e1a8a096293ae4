"""Eviction, rollout regressions, owners, init containers, events and snapshot time."""

import kube as k
from helpers import evidence_text, only, run

from crashwatch.diagnosis.view import normalise_event
from crashwatch.model import Reason


def test_evicted_pod_says_which_resource():
    c = k.container()
    p = k.pod(containers=[c], phase="Failed")
    p["status"].update({
        "reason": "Evicted",
        "message": "The node was low on resource: memory. Threshold quantity: 100Mi, available: "
                   "87040Ki. Container app was using 1843200Ki, request is 512Mi, has larger "
                   "consumption of memory. ",
    })
    p["status"]["conditions"].append({"type": "DisruptionTarget", "status": "True",
                                      "reason": "TerminationByKubelet",
                                      "lastTransitionTime": k.ts(100)})
    p["status"]["containerStatuses"] = [{
        "name": "app", "ready": False, "restartCount": 0, "image": c["image"], "imageID": "",
        "state": {"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown",
                                 "message": "The container could not be located when the pod "
                                 "was terminated", "startedAt": None, "finishedAt": None}},
        "lastState": {}, "started": False}]
    f = only(run([p]))
    assert f.reason is Reason.EVICTED and f.container is None
    assert f.details["resource"] == "memory"
    assert f.details["containers"] == [
        {"container": "app", "usage": "1843200Ki", "request": "512Mi"}]
    assert "low on resource: memory" in evidence_text(f)


def _promotion(new_ready=False):
    """Revision 2 ran image 1.4.2 and is available; revision 3 (1.5.0) crash-loops."""
    old = k.container(image="registry.example.com/shop/web:1.4.2")
    new = k.container(image="registry.example.com/shop/web:1.5.0")
    p_old = k.pod(name="web-5c8d7f9b4-aaaaa", containers=[old],
                  owner=("ReplicaSet", "web-5c8d7f9b4"))
    p_old["status"]["containerStatuses"] = [k.running_status(old)]
    p_new = k.pod(name="web-6f7b9c8d5-bbbbb", containers=[new],
                  owner=("ReplicaSet", "web-6f7b9c8d5"))
    if new_ready:
        p_new["status"]["containerStatuses"] = [k.running_status(new)]
    else:
        p_new["status"]["containerStatuses"] = [
            k.crashloop_status(new, p_new, k.terminated("Error", 1))]
    objs = [
        k.deployment("web", [new], revision=3, replicas=2, available=2),
        k.replicaset("web-4a1b2c3d4", "web", 1, [k.container(image="x/web:1.3.0")],
                     replicas=0, available=0),
        k.replicaset("web-5c8d7f9b4", "web", 2, [old], replicas=2, available=2),
        k.replicaset("web-6f7b9c8d5", "web", 3, [new], replicas=1, available=0),
        p_old, p_new,
    ]
    logs = {("shop", "web-6f7b9c8d5-bbbbb", "app"): "KeyError: 'SECRET_KEY_BASE'\n"}
    return objs, logs


def test_rollout_regression_names_last_healthy_image_and_proposes_rollback():
    objs, logs = _promotion()
    findings = run(objs, logs)
    assert [(f.reason, f.pod) for f in findings] == [
        (Reason.MISSING_ENV, "web-6f7b9c8d5-bbbbb"), (Reason.ROLLOUT_REGRESSION, None)]
    reg = findings[1]
    assert reg.owner is not None and (reg.owner.kind, reg.owner.name) == ("Deployment", "web")
    assert reg.container is None
    assert "registry.example.com/shop/web:1.4.2" in evidence_text(reg)
    assert reg.remediation is not None
    assert reg.remediation["action"] == "rollback"
    assert reg.remediation["toRevision"] == 2
    assert reg.details["podReasons"] == ["CrashLoop.MissingEnv"]


def test_no_regression_when_the_new_revision_has_a_ready_pod():
    objs, logs = _promotion(new_ready=True)
    assert run(objs, logs) == []


def test_first_deployment_never_regresses():
    c = k.container()
    p = k.pod(name="web-6f7b9c8d5-bbbbb", containers=[c], owner=("ReplicaSet", "web-6f7b9c8d5"))
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, k.terminated("Error", 1))]
    objs = [k.deployment("web", [c], revision=1, available=0),
            k.replicaset("web-6f7b9c8d5", "web", 1, [c], available=0), p]
    assert [f.reason for f in run(objs)] == [Reason.APP_ERROR]


def test_owner_is_inferred_from_pod_template_hash_when_replicaset_is_absent():
    c = k.container()
    p = k.pod(name="api-85f6c7d9b-zzq7p", containers=[c], owner=("ReplicaSet", "api-85f6c7d9b"))
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, k.terminated("Error", 1))]
    f = only(run([p]))
    assert f.owner is not None and (f.owner.kind, f.owner.name) == ("Deployment", "api")


def test_bare_pod_has_no_owner():
    c = k.container()
    p = k.pod(name="debug", containers=[c], owner=None)
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, k.terminated("Error", 1))]
    assert only(run([p])).owner is None


def test_init_container_crash_loop_is_named_and_main_container_is_not():
    init = k.container(name="migrate", command=["bin/rails", "db:migrate"])
    app = k.container()
    p = k.pod(containers=[app], init_containers=[init], phase="Pending")
    p["status"]["initContainerStatuses"] = [
        k.crashloop_status(init, p, k.terminated("Error", 1), restarts=5)]
    p["status"]["containerStatuses"] = [k.waiting_status(app, "PodInitializing")]
    logs = {("shop", p["metadata"]["name"], "migrate"):
            "PG::ConnectionBad: connection to server at \"postgres\" (10.96.3.4), port 5432 "
            "failed: Connection refused\n"}
    f = only(run([p], logs))
    assert f.container == "migrate"
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert f.details["initContainer"] is True


def test_healthy_completed_and_starting_pods_get_no_finding():
    c = k.container()
    healthy = k.pod(name="a", containers=[c])
    healthy["status"]["containerStatuses"] = [k.running_status(c)]
    done = k.pod(name="b", containers=[c], owner=("Job", "report-28890"), phase="Succeeded")
    done["status"]["containerStatuses"] = [{
        "name": "app", "ready": False, "restartCount": 0, "image": c["image"], "imageID": "x",
        "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                                 "startedAt": k.ts(900), "finishedAt": k.ts(800)}},
        "lastState": {}, "started": False}]
    starting = k.pod(name="c", containers=[c], phase="Pending")
    starting["status"]["containerStatuses"] = [k.waiting_status(c, "ContainerCreating")]
    assert run([healthy, done, starting]) == []


def test_failed_job_pod_is_diagnosed():
    c = k.container()
    p = k.pod(name="import-28890-4kz9d", containers=[c], owner=("Job", "import-28890"),
              phase="Failed")
    p["spec"]["restartPolicy"] = "Never"
    p["status"]["containerStatuses"] = [{
        "name": "app", "ready": False, "restartCount": 0, "image": c["image"], "imageID": "x",
        "state": {"terminated": k.terminated("Error", 1)}, "lastState": {}, "started": False}]
    logs = {("shop", "import-28890-4kz9d", "app"): "ERROR: S3_BUCKET is not set\n"}
    f = only(run([p], logs))
    assert f.reason is Reason.MISSING_ENV and f.details["variable"] == "S3_BUCKET"


def test_events_k8s_io_v1_events_are_read():
    c = k.container(livenessProbe={"httpGet": {"path": "/health", "port": 8080}})
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [
        k.crashloop_status(c, p, k.terminated("Error", 137, ran_for=40))]
    md = p["metadata"]
    new_api = {
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "x.1", "namespace": "shop"},
        "eventTime": None, "reportingController": "kubelet", "reportingInstance": k.NODE,
        "action": "Killing", "reason": "Killing", "type": "Normal",
        "regarding": {"kind": "Pod", "namespace": "shop", "name": md["name"], "uid": md["uid"],
                      "apiVersion": "v1", "fieldPath": "spec.containers{app}"},
        "note": "Container app failed liveness probe, will be restarted",
        "deprecatedSource": {"component": "kubelet", "host": k.NODE},
        "deprecatedFirstTimestamp": k.ts(600), "deprecatedLastTimestamp": k.ts(40),
        "deprecatedCount": 5,
    }
    ev = normalise_event(new_api)
    assert ev is not None and ev.container == "app" and ev.count == 5
    assert only(run([p, new_api])).reason is Reason.LIVENESS_PROBE


def test_crashwatch_own_events_are_never_evidence():
    c = k.container(livenessProbe={"httpGet": {"path": "/health", "port": 8080}})
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [
        k.crashloop_status(c, p, k.terminated("Error", 1, ran_for=40))]
    own = k.event(p, "Killing", "Container app failed liveness probe, will be restarted",
                  container_name="app")
    own["source"] = {"component": "crashwatch"}
    own["reportingComponent"] = "crashwatch"
    assert normalise_event(own) is None
    assert only(run([p, own])).reason is Reason.APP_ERROR


def test_snapshot_is_judged_at_its_own_time_not_the_wall_clock():
    # Everything in the snapshot is from 2026-11-20; "recent" means recent then.
    c = k.container(readinessProbe={"httpGet": {"path": "/ready", "port": 8080}})
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.running_status(c, started_ago=900, ready=False)]
    ev = k.event(p, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500",
                 container_name="app", count=50, last_ago=10)
    assert only(run([p, ev])).reason is Reason.READINESS_FAILING


def test_events_about_an_earlier_pod_with_the_same_name_are_ignored():
    c = k.container(readinessProbe={"httpGet": {"path": "/ready", "port": 8080}})
    p = k.pod(name="db-0", containers=[c], owner=("StatefulSet", "db"))
    p["status"]["containerStatuses"] = [k.running_status(c, started_ago=30, ready=False)]
    ev = k.event(p, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500",
                 container_name="app", count=50)
    ev["involvedObject"]["uid"] = "00000000-0000-0000-0000-000000000000"
    assert run([p, ev]) == []


def test_no_regression_when_the_older_revision_never_was_available():
    objs, logs = _promotion()
    for o in objs:
        if o["kind"] == "ReplicaSet":
            o["status"]["availableReplicas"] = 0
            o["status"]["readyReplicas"] = 0
        if o["kind"] == "Pod" and o["metadata"]["name"] == "web-5c8d7f9b4-aaaaa":
            objs.remove(o)
    assert [f.reason for f in run(objs, logs)] == [Reason.MISSING_ENV]


def _flapped(objs, started_ago, restarts):
    """The rollout counted complete (NewReplicaSetAvailable, the older revision scaled to 0)
    because the new pod was Ready for a moment between crashes; it started ``started_ago``
    and sits ``terminated`` between restarts, as a real 1.36 kubelet shows it."""
    dep = next(o for o in objs if o["kind"] == "Deployment")
    prog = next(c for c in dep["status"]["conditions"] if c["type"] == "Progressing")
    prog.update({"status": "True", "reason": "NewReplicaSetAvailable",
                 "message": 'ReplicaSet "web-6f7b9c8d5" has successfully progressed.'})
    new = next(o for o in objs if o["kind"] == "Pod" and o["metadata"]["name"].startswith(
        "web-6f7b9c8d5"))
    c = new["spec"]["containers"][0]
    new["metadata"]["creationTimestamp"] = new["status"]["startTime"] = k.ts(started_ago)
    new["status"]["containerStatuses"] = [k.crashed_status(
        c, k.terminated("Error", 1, finished_ago=5, ran_for=1, instance=restarts),
        restarts=restarts)]
    return objs


def test_a_rollout_completed_by_a_pod_ready_between_crashes_is_still_a_regression():
    """A container without a readiness probe is Ready while it runs: a crash-looping new
    revision can be counted available, and the rollout completes. Its pod crash-loops since
    it started (4 restarts in 90 s): the rollout's doing, rolled back all the same."""
    objs, logs = _promotion()
    findings = run(_flapped(objs, started_ago=90, restarts=4), logs)
    assert [f.reason for f in findings] == [Reason.MISSING_ENV, Reason.ROLLOUT_REGRESSION]
    assert findings[1].remediation is not None
    assert findings[1].remediation["toRevision"] == 2


def _completed_over(objs, seen_available):
    """The rollout completed: revision 2's ReplicaSet scaled to 0 and its pod gone, as the
    Deployment controller leaves them; the live operator remembers, in memory, the most
    available pods it saw revision 2 with (``seen_available``; None: it never saw it)."""
    old = next(o for o in objs if o["metadata"]["name"] == "web-5c8d7f9b4")
    old["spec"]["replicas"] = 0
    old["status"] = {"replicas": 0, "observedGeneration": 3}
    if seen_available is not None:
        old["metadata"]["annotations"]["crashwatch.dev/seen-available"] = str(seen_available)
    return [o for o in objs if o["metadata"]["name"] != "web-5c8d7f9b4-aaaaa"]


def test_a_completed_rollout_over_a_revision_seen_available_is_a_regression():
    """Once the flapping revision's rollout completed, revision 2 shows 0 available: what
    the operator saw of it before (2 available) still says it worked."""
    objs, logs = _promotion()
    findings = run(_completed_over(_flapped(objs, started_ago=90, restarts=4), 2), logs)
    assert [f.reason for f in findings] == [Reason.MISSING_ENV, Reason.ROLLOUT_REGRESSION]
    assert findings[1].remediation is not None
    assert findings[1].remediation["toRevision"] == 2
    assert any("2 available before the rollout scaled it down" in e
               for e in findings[1].evidence)


def test_a_completed_rollout_over_a_revision_never_seen_available_is_no_regression():
    """A snapshot (or an operator that started after the rollout) has nothing that says
    revision 2 worked: no rollback is proposed on a guess."""
    objs, logs = _promotion()
    findings = run(_completed_over(_flapped(objs, started_ago=90, restarts=4), None), logs)
    assert [f.reason for f in findings] == [Reason.MISSING_ENV]


def test_a_revision_that_ran_for_hours_before_its_crash_loop_is_no_regression():
    """The same pod started three hours ago with 4 restarts: it ran stable a long while,
    so what broke it is not the rollout."""
    objs, logs = _promotion()
    findings = run(_flapped(objs, started_ago=3 * 3600, restarts=4), logs)
    assert [f.reason for f in findings] == [Reason.MISSING_ENV]


def test_no_regression_when_the_newest_revision_had_completed_its_rollout():
    objs, logs = _promotion()
    dep = next(o for o in objs if o["kind"] == "Deployment")
    prog = next(c for c in dep["status"]["conditions"] if c["type"] == "Progressing")
    prog.update({"status": "True", "reason": "NewReplicaSetAvailable",
                 "message": 'ReplicaSet "web-6f7b9c8d5" has successfully progressed.'})
    assert [f.reason for f in run(objs, logs)] == [Reason.MISSING_ENV]
