"""The real-world corpus (eval/realworld/: failures quoted from public issue threads and docs,
each case citing its sources) as a regression suite, like eval/blind: every case must be
diagnosed exactly, with the expected owners and evidence, through the real CLI. The set itself
is held to its promises: big and varied enough, every reason code covered, every case cited,
and the committed build generated from the committed cases."""

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from crashwatch.model import Reason

REALWORLD = Path(__file__).resolve().parents[2] / "eval" / "realworld"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load("realworld_build", REALWORLD / "build.py")
score = _load("realworld_score", REALWORLD / "score.py")
CASES: list[dict[str, object]] = build.load_cases()
BUILT = sorted(p for p in (REALWORLD / "build").iterdir() if (p / "expected.json").exists())


def test_the_committed_build_is_current(tmp_path: Path) -> None:
    out = tmp_path / "build"
    cases = build.build_all(str(out))
    assert build.stale_files(str(out), str(REALWORLD / "build")) == []
    assert build.readme_with_coverage(cases) == (REALWORLD / "README.md").read_text()


def test_the_set_is_big_and_varied() -> None:
    assert len(CASES) >= 60
    assert len({c["ecosystem"] for c in CASES}) >= 12


def test_every_reason_code_is_expected_somewhere() -> None:
    expected = {e["reason"] for c in CASES for e in c["expected"]}  # type: ignore[attr-defined]
    assert sorted(r.value for r in Reason if r.value not in expected) == []


def test_there_are_healthy_negatives() -> None:
    assert any(not c["expected"] for c in CASES)


def test_every_case_is_cited() -> None:
    for c in CASES:
        sources = c["sources"]
        assert isinstance(sources, list) and sources, c["id"]
        assert all(str(s["url"]).startswith(("https://", "http://")) for s in sources), c["id"]
        assert str(c["quoted"]).strip(), c["id"]
        built = json.loads((REALWORLD / "build" / str(c["id"]) / "expected.json").read_text())
        assert built["sources"] == sources


@pytest.mark.parametrize("case", BUILT, ids=lambda p: p.name)
def test_case_is_diagnosed_exactly(case: Path) -> None:
    binary = shutil.which("crashwatch", path=str(Path(sys.executable).parent))
    assert binary, "the crashwatch console script is not installed in this environment"
    _, result, _ = score.score_case(binary, str(case))
    assert result["notes"] == []
    assert (result["fp"], result["fn"]) == (0, 0)
    assert result["ev_found"] == result["ev_total"]
    assert result["own_ok"] == result["own_total"]


GOOD = {
    "id": "go-example", "ecosystem": "go", "title": "an example",
    "sources": [{"url": "https://github.com/example/example/issues/1", "what": "the log"}],
    "quoted": "panic: config: required environment variable \"DB_URL\" is not set",
    "adapted": "nothing", "namespace": "shop",
    "workload": {"kind": "Deployment", "name": "api"},
    "containers": [{"name": "api", "spec": {"image": "ghcr.io/example/api:1.0"},
                    "failure": {"type": "crashloop", "exitCode": 2, "log":
                                "panic: config: required environment variable \"DB_URL\" is "
                                "not set\n"}}],
    "expected": [{"container": "api", "reason": "CrashLoop.MissingEnv",
                  "evidence_contains": ["DB_URL"]}],
}


def _write(tmp_path: Path, case: dict[str, object]) -> Path:
    cases = tmp_path / "cases"
    cases.mkdir(exist_ok=True)
    (cases / f"{case['id']}.yaml").write_text(json.dumps(case))  # JSON is YAML
    return cases


def test_a_good_case_builds(tmp_path: Path) -> None:
    cases = _write(tmp_path, GOOD)
    build.build_all(str(tmp_path / "build"), str(cases))
    expected = json.loads((tmp_path / "build" / "go-example" / "expected.json").read_text())
    (finding,) = expected["findings"]
    assert finding["owner"] == {"kind": "Deployment", "name": "api"}
    assert finding["pod"].startswith("api-")
    log = tmp_path / "build" / "go-example" / "logs" / "shop" / finding["pod"] / "api.log"
    assert "DB_URL" in log.read_text()


def _broken(change: str) -> dict[str, object]:
    case = json.loads(json.dumps(GOOD))
    container = case["containers"][0]
    if change == "unknown top field":
        case["severity"] = "high"
    elif change == "unknown failure field":
        container["failure"]["exitcode"] = 1
    elif change == "missing source url":
        del case["sources"][0]["url"]
    elif change == "no sources":
        case["sources"] = []
    elif change == "empty quoted":
        case["quoted"] = "  \n"
    elif change == "evidence nowhere":
        case["expected"][0]["evidence_contains"] = ["DATABASE_PASSWORD"]
    elif change == "unknown reason":
        case["expected"][0]["reason"] = "CrashLoop.Unknown"
    elif change == "unknown type":
        container["failure"]["type"] = "crash"
    elif change == "log not quoted":
        container["failure"]["log"] = "something the app never said\n"
    return case


@pytest.mark.parametrize(("change", "field"), [
    ("unknown top field", "severity"),
    ("unknown failure field", "containers[0].failure.exitcode"),
    ("missing source url", "sources[0].url"),
    ("no sources", "sources"),
    ("empty quoted", "quoted"),
    ("evidence nowhere", "expected[0].evidence_contains"),
    ("unknown reason", "expected[0].reason"),
    ("unknown type", "containers[0].failure.type"),
    ("log not quoted", "containers[0].failure.log"),
])
def test_a_broken_case_fails_the_build_naming_case_and_field(
        tmp_path: Path, change: str, field: str) -> None:
    cases = _write(tmp_path, _broken(change))
    with pytest.raises(build.CaseError) as err:
        build.build_all(str(tmp_path / "build"), str(cases))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"case go-example: {field}:")
    assert not (tmp_path / "build").exists()


def _failure_case(ftype: str, kind: str) -> dict[str, object]:
    """A minimal case of one failure type (the quoted text is the case's own; it is never
    committed as a corpus case)."""
    case = json.loads(json.dumps(GOOD))
    case["id"] = f"go-type-{ftype}"
    case["workload"] = {"kind": kind, "name": "api"}
    container = case["containers"][0]
    failure: dict[str, object] = {"type": ftype}
    messages = {
        "start-error": "failed to create containerd task: failed to create shim task: OCI "
                       "runtime create failed: runc create failed: unable to start container "
                       "process: exec: \"/app\": permission denied: unknown",
        "create-config-error": "couldn't find key DB_URL in ConfigMap shop/api",
        "create-error": "Error response from daemon: No command specified",
        "image-pull": "rpc error: code = NotFound desc = failed to pull and unpack image "
                      "\"ghcr.io/example/api:1.0\": failed to resolve reference: not found",
        "evicted": "The node was low on resource: memory. Threshold quantity: 100Mi, available: "
                   "87040Ki. Container api was using 1843200Ki, request is 0, has larger "
                   "consumption of memory. ",
        "unschedulable": "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes "
                         "are available: 3 No preemption victims found for incoming pod.",
        "post-start-hook": "PostStartHook failed",
        "pre-stop-hook": "PreStopHook failed",
    }
    if ftype in messages:
        failure["message"] = messages[ftype]
    events = {
        "liveness": "Liveness probe failed: HTTP probe failed with statuscode: 404",
        "startup-probe": "Startup probe failed: HTTP probe failed with statuscode: 503",
        "readiness": "Readiness probe failed: HTTP probe failed with statuscode: 500",
    }
    if ftype in events:
        failure["events"] = [{"reason": "Unhealthy", "message": events[ftype], "count": 9}]
    if ftype == "volume-mount":
        failure["events"] = [{"reason": "FailedMount", "count": 7, "message":
                              "MountVolume.MountDevice failed for volume \"pvc-1\" : rpc error: "
                              "code = Internal desc = mount failed: exit status 32"}]
    if ftype == "custom":
        failure.update({"state": {"running": {}}, "lastState": {"terminated": {"exitCode": 2}},
                        "restartCount": 1, "ready": True})
    if ftype in ("crashloop", "crashloop-terminated", "oom", "job-failed", "custom"):
        failure["log"] = "panic: config: required environment variable \"DB_URL\" is not set\n"
    container["failure"] = failure
    if ftype == "job-failed":
        case["workload"]["backoffLimit"] = 2
        case["expected"] = [{"pod": None, "container": None,
                             "reason": "Job.BackoffLimitExceeded", "evidence_contains": ["api"]}]
    return case


# (type, workload kind, what the kubelet's status of the failing pod must show)
TYPE_SHAPES = [
    ("crashloop", "Deployment", "Running", {"waiting": "CrashLoopBackOff", "last": "Error"}),
    ("crashloop-terminated", "StatefulSet", "Running", {"terminated": "Error", "last": "Error"}),
    ("oom", "DaemonSet", "Running", {"waiting": "CrashLoopBackOff", "last": "OOMKilled"}),
    ("start-error", "Pod", "Running", {"waiting": "RunContainerError", "last": "StartError"}),
    ("create-config-error", "Deployment", "Pending", {"waiting": "CreateContainerConfigError"}),
    ("create-error", "Job", "Pending", {"waiting": "CreateContainerError"}),
    ("image-pull", "CronJob", "Pending", {"waiting": "ImagePullBackOff"}),
    ("image-never-pull", "Deployment", "Pending", {"waiting": "ErrImageNeverPull"}),
    ("liveness", "Deployment", "Running", {"running": True, "last": "Error"}),
    ("startup-probe", "Deployment", "Running", {"running": True, "last": "Error"}),
    ("readiness", "Deployment", "Running", {"running": True}),
    ("post-start-hook", "Deployment", "Running", {"waiting": "CrashLoopBackOff", "last": "Error"}),
    ("pre-stop-hook", "Deployment", "Running", {"running": True, "last": "Error"}),
    ("evicted", "Deployment", "Failed", {"terminated": "Error"}),
    ("unschedulable", "Deployment", "Pending", {}),
    ("volume-mount", "StatefulSet", "Pending", {"waiting": "ContainerCreating"}),
    ("job-failed", "Job", "Failed", {"terminated": "Error"}),
    ("custom", "Deployment", "Running", {"running": True, "last": "Error"}),
]


@pytest.mark.parametrize(("ftype", "kind", "phase", "shape"), TYPE_SHAPES,
                         ids=[t[0] for t in TYPE_SHAPES])
def test_every_failure_type_builds_the_kubelets_shape(
        tmp_path: Path, ftype: str, kind: str, phase: str, shape: dict[str, object]) -> None:
    case = _failure_case(ftype, kind)
    assert {t[0] for t in TYPE_SHAPES} | {"refused"} == set(build.TYPES)  # refused: no pod
    build.build_all(str(tmp_path / "build"), str(_write(tmp_path, case)))
    out = tmp_path / "build" / str(case["id"])
    items = json.loads((out / "snapshot.json").read_text())["items"]
    pods = [o for o in items if o["kind"] == "Pod" and o["metadata"]["namespace"] == "shop"
            and o["metadata"]["name"].startswith("api")]
    named = {f["pod"] for f in json.loads((out / "expected.json").read_text())["findings"]}
    failing = [p for p in pods if p["status"]["phase"] == phase
               and (p["metadata"]["name"] in named or named == {None})]
    assert failing, [p["status"]["phase"] for p in pods]
    pod = failing[0]
    events = [e for e in items if e["kind"] == "Event"
              and e["involvedObject"]["name"] == pod["metadata"]["name"]]
    reasons = {e["reason"] for e in events}
    if ftype == "unschedulable":
        assert "nodeName" not in pod["spec"] and "containerStatuses" not in pod["status"]
        (cond,) = pod["status"]["conditions"]
        assert (cond["type"], cond["status"], cond["reason"]) == (
            "PodScheduled", "False", "Unschedulable")
        (ev,) = events
        assert ev["reason"] == "FailedScheduling" and ev["series"]["count"] > 1
        return
    (status,) = pod["status"]["containerStatuses"]
    state, last = status["state"], status["lastState"]
    if "waiting" in shape:
        assert state["waiting"]["reason"] == shape["waiting"]
    if "terminated" in shape:
        assert state["terminated"]["reason"] == shape["terminated"]
    if "running" in shape:
        assert "running" in state
    if "last" in shape:
        assert last["terminated"]["reason"] == shape["last"]
        assert status["restartCount"] > 0
    else:
        assert last == {} or ftype == "crashloop-terminated"
    required = {
        "start-error": {"Failed"}, "create-config-error": {"Failed"},
        "create-error": {"Failed"}, "image-pull": {"Failed", "BackOff", "Pulling"},
        "image-never-pull": {"ErrImageNeverPull"}, "liveness": {"Unhealthy", "Killing"},
        "startup-probe": {"Unhealthy", "Killing"}, "readiness": {"Unhealthy"},
        "post-start-hook": {"FailedPostStartHook", "Killing", "BackOff"},
        "pre-stop-hook": {"FailedPreStopHook"}, "evicted": {"Evicted", "Killing"},
        "volume-mount": {"FailedMount"}, "crashloop": {"BackOff", "Started"},
    }.get(ftype, set())
    assert required <= reasons, reasons
    if ftype == "readiness":
        ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"]
        assert (status["ready"], ready) == (False, "False")
    if ftype == "startup-probe":
        assert status["started"] is False
    if ftype == "evicted":
        assert pod["status"]["reason"] == "Evicted"
    if ftype == "job-failed":
        (job,) = [o for o in items if o["kind"] == "Job" and o["metadata"]["name"] == "api"]
        assert [c["reason"] for c in job["status"]["conditions"]] == ["BackoffLimitExceeded"] * 2
        assert job["status"]["failed"] == len(failing) == 3
        expected = json.loads((out / "expected.json").read_text())["findings"]
        assert [(f["pod"], f["owner"]) for f in expected] == [(None, {"kind": "Job",
                                                                     "name": "api"})]
    if ftype in ("crashloop", "oom", "crashloop-terminated", "custom", "job-failed"):
        assert (out / "logs" / "shop" / pod["metadata"]["name"] / "api.log").exists()


REFUSAL = ('pods "api-7c9d8f6b5-x2x9k" is forbidden: violates PodSecurity "restricted:latest": '
           'runAsNonRoot != true (pod or container "api" must set '
           'securityContext.runAsNonRoot=true)')


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet"])
def test_refused_builds_no_pod_and_the_controllers_own_record(tmp_path: Path,
                                                              kind: str) -> None:
    """``refused``: as kube-controller-manager v1.36.3 leaves it
    (tests/cluster/controlplane/observed-failed-create-1.36.json): no pod of the workload, a
    Warning FailedCreate Event from its controller and, for a Deployment, ReplicaFailure on
    the newest ReplicaSet and on the Deployment."""
    case = json.loads(json.dumps(GOOD))
    case["id"] = f"go-refused-{kind.lower()}"
    case["quoted"] = REFUSAL
    case["workload"] = {"kind": kind, "name": "api", "replicas": 2}
    case["containers"][0]["failure"] = {"type": "refused", "message": REFUSAL}
    case["expected"] = [{"pod": None, "container": None, "reason": "Workload.FailedCreate",
                         "evidence_contains": ["runAsNonRoot"]}]
    items = _build_one(tmp_path, case)
    assert not [o for o in items if o["kind"] == "Pod" and o["metadata"]["namespace"] == "shop"
                and o["metadata"]["name"].startswith("api")]
    (ev,) = [o for o in items if o["kind"] == "Event" and o["reason"] == "FailedCreate"]
    assert ev["type"] == "Warning" and ev["count"] > 1
    if kind == "Deployment":
        (rs,) = [o for o in items if o["kind"] == "ReplicaSet"
                 and o["metadata"]["name"].startswith("api-")]
        (dep,) = [o for o in items if o["kind"] == "Deployment"
                  and o["metadata"]["name"] == "api"]
        assert ev["involvedObject"]["name"] == rs["metadata"]["name"]
        assert ev["message"] == "Error creating: " + REFUSAL
        assert ev["source"] == {"component": "replicaset-controller"}
        for obj in (rs, dep):
            (cond,) = [c for c in obj["status"]["conditions"] if c["type"] == "ReplicaFailure"]
            assert (cond["status"], cond["reason"], cond["message"]) == (
                "True", "FailedCreate", REFUSAL)
        assert rs["status"]["replicas"] == dep["status"]["replicas"] == 0
    elif kind == "StatefulSet":
        assert ev["message"] == ("create Pod api-0 in StatefulSet api failed error: "
                                 + REFUSAL)
        (sts,) = [o for o in items if o["kind"] == "StatefulSet"]
        assert sts["status"]["replicas"] == 0 and sts["spec"]["replicas"] == 2
    else:
        assert ev["message"] == "Error creating: " + REFUSAL
        (ds,) = [o for o in items if o["kind"] == "DaemonSet"]
        assert ds["status"]["currentNumberScheduled"] == 0
        assert ds["status"]["desiredNumberScheduled"] > 0
    expected = json.loads((tmp_path / "build" / case["id"] / "expected.json").read_text())
    assert [(f["pod"], f["owner"]) for f in expected["findings"]] == [
        (None, {"kind": kind, "name": "api"})]


def _build_one(tmp_path: Path, case: dict[str, object]) -> list[dict[str, object]]:
    build.build_all(str(tmp_path / "build"), str(_write(tmp_path, case)))
    snapshot = tmp_path / "build" / str(case["id"]) / "snapshot.json"
    items: list[dict[str, object]] = json.loads(snapshot.read_text())["items"]
    return items


def test_a_failing_pre_stop_hook_can_be_on_a_pod_being_deleted(tmp_path: Path) -> None:
    case = _failure_case("pre-stop-hook", "Deployment")
    case["containers"][0]["failure"]["terminating"] = True  # type: ignore[index]
    items = _build_one(tmp_path, case)
    (pod,) = [o for o in items if o["kind"] == "Pod" and o["metadata"]["name"].startswith("api-")]
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 30
    assert pod["metadata"]["deletionTimestamp"] > pod["metadata"]["creationTimestamp"]
    (status,) = pod["status"]["containerStatuses"]
    assert "running" in status["state"] and status["restartCount"] == 0
    reasons = [e["reason"] for e in items if e["kind"] == "Event"
               and e["involvedObject"]["name"] == pod["metadata"]["name"]]
    assert {"Killing", "FailedPreStopHook"} <= set(reasons)


def test_a_job_that_restarts_on_failure_leaves_only_events_at_its_limit(tmp_path: Path) -> None:
    case = _failure_case("job-failed", "Job")
    case["pod"] = {"restartPolicy": "OnFailure"}
    items = _build_one(tmp_path, case)
    assert not [o for o in items if o["kind"] == "Pod" and o["metadata"]["namespace"] == "shop"
                and o["metadata"]["name"].startswith("api-")]
    (job,) = [o for o in items if o["kind"] == "Job" and o["metadata"]["name"] == "api"]
    assert job["status"]["failed"] == 1
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"
    job_events = {e["reason"] for e in items if e["kind"] == "Event"
                  and e["involvedObject"]["name"] == "api"}
    assert {"SuccessfulCreate", "SuccessfulDelete", "BackoffLimitExceeded"} <= job_events


def test_managed_fields_are_dated_before_the_snapshot(tmp_path: Path) -> None:
    case = json.loads(json.dumps(GOOD))
    case["workload"]["managedFields"] = [  # type: ignore[index]
        {"manager": "kubectl-set", "operation": "Update", "time": "12m",
         "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
             'k:{"name":"api"}': {"f:image": {}}}}}}}}]
    items = _build_one(tmp_path, case)
    (dep,) = [o for o in items if o["kind"] == "Deployment" and o["metadata"]["name"] == "api"]
    (entry,) = dep["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["apiVersion"]) == (
        "kubectl-set", "Update", "apps/v1")
    assert entry["fieldsType"] == "FieldsV1"
    assert dep["metadata"]["creationTimestamp"] <= entry["time"]


@pytest.mark.parametrize("failed_before", [0, 2])
def test_a_job_that_ran_out_of_time_builds_as_the_job_controller_leaves_it(
        tmp_path: Path, failed_before: int) -> None:
    case = _failure_case("job-failed", "Job")
    case["workload"] = {"kind": "Job", "name": "api", "activeDeadlineSeconds": 900}
    failure = case["containers"][0]["failure"]  # type: ignore[index]
    failure.update(jobReason="DeadlineExceeded", restarts=failed_before)
    case["expected"] = [{"pod": None, "container": None, "reason": "Job.DeadlineExceeded",
                         "evidence_contains": ["900"]}]
    items = _build_one(tmp_path, case)
    (job,) = [o for o in items if o["kind"] == "Job" and o["metadata"]["name"] == "api"]
    assert job["spec"]["activeDeadlineSeconds"] == 900
    conds = job["status"]["conditions"]
    assert [(c["type"], c["reason"], c["message"]) for c in conds] == [
        (t, "DeadlineExceeded", "Job was active longer than specified deadline")
        for t in ("FailureTarget", "Failed")]
    assert job["status"]["failed"] == failed_before + 1
    pods = [o for o in items if o["kind"] == "Pod" and o["metadata"]["name"].startswith("api-")]
    # the pods that failed before the deadline stay; the one it stopped was deleted
    assert len(pods) == failed_before
    deleted = [e for e in items if e["kind"] == "Event" and e["reason"] == "SuccessfulDelete"
               and e["involvedObject"]["name"] == "api"]
    assert len(deleted) == 1
    assert any(e["kind"] == "Event" and e["reason"] == "DeadlineExceeded"
               and e["type"] == "Warning" for e in items)
    binary = shutil.which("crashwatch", path=str(Path(sys.executable).parent))
    assert binary
    _, result, _ = score.score_case(binary, str(tmp_path / "build" / "go-type-job-failed"))
    assert (result["fp"], result["fn"], result["notes"]) == (0, 0, [])
    assert result["ev_found"] == result["ev_total"]


def test_a_deadline_needs_its_seconds(tmp_path: Path) -> None:
    case = _failure_case("job-failed", "Job")
    case["containers"][0]["failure"]["jobReason"] = "DeadlineExceeded"  # type: ignore[index]
    with pytest.raises(build.CaseError, match="activeDeadlineSeconds"):
        build.build_all(str(tmp_path / "build"), str(_write(tmp_path, case)))


def test_a_crash_looping_native_sidecar_leaves_the_pod_running_and_its_app_ready(
        tmp_path: Path) -> None:
    """The shape a real 1.36 kubelet writes (tests/realnode/test_incidents.py, "native
    sidecars"): the pod Running and Initialized, the app running and ready, the sidecar in
    back-off, and the pod not Ready because of the sidecar alone."""
    case = json.loads(json.dumps(GOOD))
    case["id"] = "go-sidecar-example"
    sidecar = case["containers"][0]
    sidecar.update(name="proxy", init=True)
    sidecar["spec"]["restartPolicy"] = "Always"
    case["containers"].append({"name": "app", "spec": {"image": "ghcr.io/example/app:1.0"}})
    case["expected"][0]["container"] = "proxy"
    items = _build_one(tmp_path, case)
    (pod,) = [o for o in items if o["kind"] == "Pod" and o["metadata"]["name"].startswith("api-")]
    status = pod["status"]
    assert status["phase"] == "Running"
    (proxy,) = status["initContainerStatuses"]
    (app,) = status["containerStatuses"]
    assert proxy["state"]["waiting"]["reason"] == "CrashLoopBackOff" and not proxy["ready"]
    assert "running" in app["state"] and app["ready"] is True
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Initialized"]["status"] == "True"
    assert conditions["Ready"]["status"] == "False"
    assert conditions["Ready"]["message"] == "containers with unready status: [proxy]"


def test_a_running_custom_container_can_say_how_long_it_has_run(tmp_path: Path) -> None:
    """``startedAgo`` (a duration, compounds like ``31m20s`` allowed): the running instance's
    ``startedAt`` and its routine Created/Started Events are that old, and the instance before
    it ended just before."""
    case = json.loads(json.dumps(GOOD))
    case["id"] = "go-started-ago"
    case["workload"]["age"] = "3h"
    case["containers"][0]["failure"] = {
        "type": "custom", "state": {"running": {}}, "ready": True, "restartCount": 2,
        "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}},
        "startedAgo": "31m20s", "log": case["containers"][0]["failure"]["log"]}
    case["expected"] = []
    items = _build_one(tmp_path, case)
    (pod,) = [o for o in items if o["kind"] == "Pod" and o["metadata"]["name"].startswith("api-")]
    (status,) = pod["status"]["containerStatuses"]
    started = status["state"]["running"]["startedAt"]
    s = build.dt.datetime.fromisoformat(started.replace("Z", "+00:00"))
    assert build.case_time("go-started-ago") - s == build.dt.timedelta(minutes=31, seconds=20)
    assert status["lastState"]["terminated"]["finishedAt"] < started
    (started_event,) = [e for e in items if e["kind"] == "Event" and e["reason"] == "Started"
                        and e["involvedObject"]["name"] == pod["metadata"]["name"]]
    assert started_event["lastTimestamp"] < started


@pytest.mark.parametrize(("failure", "message"), [
    ({"type": "crashloop", "startedAgo": "5m"}, "only for type custom"),
    ({"type": "custom", "state": {"running": {}}, "startedAgo": "5 minutes"}, "not a duration"),
    ({"type": "custom", "state": {"running": {}}, "startedAgo": "30d"}, "before the pod"),
])
def test_started_ago_is_checked(tmp_path: Path, failure: dict[str, object], message: str) -> None:
    case = json.loads(json.dumps(GOOD))
    log = case["containers"][0]["failure"]["log"]
    case["containers"][0]["failure"] = {**failure, "log": log}
    case["expected"] = []
    with pytest.raises(build.CaseError) as err:
        build.build_all(str(tmp_path / "build"), str(_write(tmp_path, case)))
    assert message in str(err.value)
    assert str(err.value).startswith("case go-example: ")


def test_durations_may_be_compound() -> None:
    assert build._duration("x", "f", "2d18h") == build.dt.timedelta(days=2, hours=18)
    assert build._duration("x", "f", "7m18s") == build.dt.timedelta(minutes=7, seconds=18)
    for bad in ("", "18s7m", "3 h", "h"):
        with pytest.raises(build.CaseError):
            build._duration("x", "f", bad)


def test_a_job_whose_pods_completed_is_written_complete(tmp_path: Path) -> None:
    """A migration Job that printed alarming lines and exited 0: the Job controller marks it
    Complete (SuccessCriteriaMet, then Complete, as a 1.36 controller writes them), and
    crashwatch names nothing."""
    case = json.loads(json.dumps(GOOD))
    case["id"] = "go-job-completed"
    case["workload"] = {"kind": "Job", "name": "migrate"}
    case["containers"][0]["failure"] = {
        "type": "custom", "log": case["containers"][0]["failure"]["log"],
        "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    case["expected"] = []
    items = _build_one(tmp_path, case)
    (job,) = [o for o in items if o["kind"] == "Job" and o["metadata"]["name"] == "migrate"]
    assert [c["type"] for c in job["status"]["conditions"]] == ["SuccessCriteriaMet",
                                                                 "Complete"]
    assert job["status"]["succeeded"] == 1 and "active" not in job["status"]
    (pod,) = [o for o in items if o["kind"] == "Pod" and o["metadata"]["name"].startswith(
        "migrate-")]
    assert pod["status"]["phase"] == "Succeeded"
    assert job["status"]["completionTime"] > pod["status"]["containerStatuses"][0]["state"][
        "terminated"]["finishedAt"]
    events = {e["reason"] for e in items if e["kind"] == "Event"
              and e["involvedObject"]["name"] == "migrate"}
    assert {"SuccessfulCreate", "Completed"} <= events
    binary = shutil.which("crashwatch", path=str(Path(sys.executable).parent))
    assert binary is not None
    _, result, _ = score.score_case(binary, str(tmp_path / "build" / "go-job-completed"))
    assert (result["fp"], result["fn"]) == (0, 0)


def test_an_operators_pod_has_its_custom_resource_as_controller(tmp_path: Path) -> None:
    """``workload.owner`` on a Pod: an operator's pod (Actions Runner Controller's runner, a
    RayCluster's head) whose controller is a custom resource; crashwatch names it as the
    owner."""
    case = json.loads(json.dumps(GOOD))
    case["id"] = "go-operator-owned"
    case["workload"] = {"kind": "Pod", "name": "runner-x7k2p",
                        "owner": {"apiVersion": "actions.summerwind.dev/v1alpha1",
                                  "kind": "Runner", "name": "runner-x7k2p"}}
    items = _build_one(tmp_path, case)
    (pod,) = [o for o in items if o["kind"] == "Pod" and o["metadata"]["name"] == "runner-x7k2p"]
    (ref,) = pod["metadata"]["ownerReferences"]
    assert (ref["apiVersion"], ref["kind"], ref["name"], ref["controller"]) == (
        "actions.summerwind.dev/v1alpha1", "Runner", "runner-x7k2p", True)
    expected = json.loads((tmp_path / "build" / "go-operator-owned" / "expected.json")
                          .read_text())
    assert expected["findings"][0]["owner"] == {"kind": "Runner", "name": "runner-x7k2p"}
    binary = shutil.which("crashwatch", path=str(Path(sys.executable).parent))
    assert binary is not None
    _, result, _ = score.score_case(binary, str(tmp_path / "build" / "go-operator-owned"))
    assert (result["fp"], result["fn"], result["own_ok"]) == (0, 0, 1)


def test_an_owner_is_only_for_a_pod_and_no_built_in_kind(tmp_path: Path) -> None:
    for workload, field in (
            ({"kind": "Deployment", "name": "api",
              "owner": {"apiVersion": "x/v1", "kind": "X", "name": "x"}}, "workload.owner"),
            ({"kind": "Pod", "name": "api",
              "owner": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "x"}},
             "workload.owner.kind")):
        case = json.loads(json.dumps(GOOD))
        case["workload"] = workload
        with pytest.raises(build.CaseError) as err:
            build.build_all(str(tmp_path / "build"), str(_write(tmp_path, case)))
        assert str(err.value).startswith(f"case go-example: {field}:")
