"""Issue #13, item 4: the wider taxonomy, every new code with objects shaped as the kubelet,
the scheduler and the Job controller write them (shared/KUBELET-FORMATS.md)."""

from __future__ import annotations

from typing import Any

import kube as k
from helpers import evidence_text, only, run

from crashwatch.model import OwnerRef, Reason


def _node(name: str = k.NODE, arch: str = "amd64", memory: str = "15Gi") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "uid": k.uid(name)},
            "status": {"allocatable": {"cpu": "3920m", "memory": memory, "pods": "110"},
                       "nodeInfo": {"architecture": arch, "operatingSystem": "linux"}}}


def _crashloop(log: str, exit_code: int = 1, **container: Any):
    c = k.container(**container)
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, k.terminated("Error", exit_code))]
    return c, p, {("shop", p["metadata"]["name"], "app"): log}


def _pending(pod_volumes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    c = k.container(memory_request="64Gi", memory_limit="64Gi")
    p = k.pod(containers=[c], phase="Pending", volumes=pod_volumes)
    del p["spec"]["nodeName"]
    p["status"] = {"phase": "Pending", "qosClass": "Burstable", "conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "lastProbeTime": None, "lastTransitionTime": k.ts(300),
        "message": "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are "
                   "available: 3 No preemption victims found for incoming pod."}]}
    return p


def _scheduler_event(p: dict[str, Any], message: str) -> dict[str, Any]:
    ev = k.event(p, "FailedScheduling", message)
    ev["source"] = {"component": "default-scheduler"}
    ev["reportingComponent"] = "default-scheduler"
    return ev


# --- containers that exit --------------------------------------------------------------

def test_exec_format_error_names_the_nodes_architecture():
    # https://github.com/kubernetes/node-problem-detector/issues/797
    _, p, logs = _crashloop("exec /node-problem-detector: exec format error\n")
    f = only(run([p, _node(arch="arm64")], logs))
    assert f.reason is Reason.EXEC_FORMAT_ERROR
    assert "node ip-10-0-3-17.eu-west-1.compute.internal runs linux/arm64" in f.evidence
    assert f.details["command"] == "/node-problem-detector"


def test_exit_139_is_a_segfault():
    _, p, logs = _crashloop("listening on :8080\n", exit_code=139)
    f = only(run([p], logs))
    assert f.reason is Reason.SEGFAULT
    assert "exitCode=139" in evidence_text(f)


def test_a_runtime_that_runs_out_of_heap_and_dies_of_sigsegv_is_heap_exhausted():
    # https://github.com/Unitech/pm2/issues/5133
    log = ("FATAL ERROR: Ineffective mark-compacts near heap limit Allocation failed - "
           "JavaScript heap out of memory\n 1: 0xa04200 node::Abort() \n")
    _, p, logs = _crashloop(log, exit_code=139)
    f = only(run([p], logs))
    assert f.reason is Reason.HEAP_EXHAUSTED
    assert f.details["memoryLimit"] == "512Mi"


def test_a_jvm_heap_without_a_kernel_kill_is_heap_exhausted():
    log = ('Exception in thread "main" java.lang.OutOfMemoryError: Java heap space\n'
           "\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)\n")
    _, p, logs = _crashloop(log, exit_code=1)
    assert only(run([p], logs)).reason is Reason.HEAP_EXHAUSTED


def test_inotify_reporting_enospc_is_a_watch_limit_not_a_full_disk():
    _, p, logs = _crashloop("inotify_add_watch(/config) failed: No space left on device\n")
    assert only(run([p], logs)).reason is Reason.TOO_MANY_OPEN_FILES
    _, p, logs = _crashloop("write /data/wal/000012: no space left on device\n")
    f = only(run([p], logs))
    assert f.reason is Reason.DISK_FULL
    assert f.details["path"] == "/data/wal/000012"


def test_a_startup_probe_kill_is_not_a_liveness_kill():
    c = k.container(startupProbe={"httpGet": {"path": "/healthz", "port": 8080},
                                  "failureThreshold": 3, "periodSeconds": 5})
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [
        k.crashloop_status(c, p, k.terminated("Error", 137, ran_for=15))]
    events = [
        k.event(p, "Unhealthy", 'Startup probe failed: Get "http://10.8.0.5:8080/healthz": dial '
                "tcp 10.8.0.5:8080: connect: connection refused", container_name="app", count=9),
        k.event(p, "Killing", "Container app failed startup probe, will be restarted",
                type_="Normal", container_name="app", count=3),
    ]
    f = only(run([p, *events]))
    assert f.reason is Reason.STARTUP_PROBE
    assert f.details["probe"] == "startup"
    assert "startupProbe: HTTP GET :8080/healthz" in f.evidence


def test_a_failed_post_start_hook_is_hook_failed_with_its_output():
    c = k.container(lifecycle={"postStart": {"exec": {"command": ["/bin/sh", "-c",
                                                                  "/hooks/start.sh"]}}})
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [
        k.crashloop_status(c, p, k.terminated("Error", 137, ran_for=1))]
    hook = k.event(p, "FailedPostStartHook", (
        "Exec lifecycle hook ([/bin/sh -c /hooks/start.sh]) for Container \"app\" in Pod "
        f"\"{p['metadata']['name']}_shop({p['metadata']['uid']})\" failed - error: command "
        "'/bin/sh -c /hooks/start.sh' exited with 126: , message: \"/bin/sh: /hooks/start.sh: "
        'Permission denied\\n"'), container_name="app", count=4)
    kill = k.event(p, "Killing", "FailedPostStartHook", type_="Normal", container_name="app")
    f = only(run([p, hook, kill]))
    assert f.reason is Reason.HOOK_FAILED
    assert f.details["hook"] == "postStart"
    assert f.evidence[0] == "hook exited with 126: /bin/sh: /hooks/start.sh: Permission denied"


def test_a_terminating_pod_whose_pre_stop_hook_fails_is_reported():
    c = k.container(lifecycle={"preStop": {"exec": {"command": ["./run.sh", "--stop"]}}})
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.running_status(c, ready=False)]
    p["metadata"]["deletionTimestamp"] = k.ts(-30)
    p["metadata"]["deletionGracePeriodSeconds"] = 30
    hook = k.event(p, "FailedPreStopHook", (
        "Exec lifecycle hook ([./run.sh --stop]) for Container \"app\" in Pod \"x\" failed - "
        "error: command './run.sh --stop' exited with 126: , message: \"stat ./run.sh: no such "
        'file or directory\\r\\n"'), container_name="app")
    f = only(run([p, hook]))
    assert f.reason is Reason.HOOK_FAILED
    assert f.details["hook"] == "preStop"
    assert not run([p])  # deleted and nothing failing: nothing to say


def test_a_runtime_error_that_is_not_the_entrypoint_is_runtime_start_error():
    c = k.container()
    p = k.pod(containers=[c])
    message = (
        "failed to create containerd task: failed to create shim task: OCI runtime create "
        "failed: runc create failed: unable to start container process: error during container "
        'init: error mounting "/var/lib/kubelet/pods/1/volume-subpaths/cfg/app/0" to rootfs at '
        '"/etc/app/config.yaml": mount /var/lib/kubelet/pods/1/volume-subpaths/cfg/app/0:/etc/'
        "app/config.yaml (via /proc/self/fd/6), flags: 0x5001: not a directory: unknown")
    term = k.terminated("StartError", 128, message=message)
    term["startedAt"] = "1970-01-01T00:00:00Z"
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, term)]
    f = only(run([p]))
    assert f.reason is Reason.RUNTIME_START_ERROR
    assert "not a directory" in f.summary
    assert "OCI runtime create failed" not in f.summary


def test_create_container_error_without_a_config_cause():
    c = k.container()
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.waiting_status(
        c, "CreateContainerError", 'failed to generate container "4a1" spec: failed to generate '
        "spec: no command specified")]
    f = only(run([p]))
    assert f.reason is Reason.CREATE_CONTAINER_ERROR
    assert "no command specified" in f.summary


def test_image_never_pull():
    c = k.container(imagePullPolicy="Never")
    p = k.pod(containers=[c])
    msg = f'Container image "{c["image"]}" is not present with pull policy of Never'
    p["status"]["containerStatuses"] = [k.waiting_status(c, "ErrImageNeverPull", msg)]
    ev = k.event(p, "ErrImageNeverPull", msg, container_name="app", count=6)
    f = only(run([p, ev]))
    assert f.reason is Reason.IMAGE_NEVER_PULL
    assert "imagePullPolicy: Never" in f.evidence


def test_an_init_container_keeps_its_cause_code_and_says_it_is_one():
    init = k.container(name="db-migrate")
    main = k.container()
    p = k.pod(containers=[main], init_containers=[init], phase="Pending")
    p["status"]["initContainerStatuses"] = [
        k.crashloop_status(init, p, k.terminated("Error", 1))]
    p["status"]["containerStatuses"] = [k.waiting_status(main, "PodInitializing")]
    log = ('psycopg2.OperationalError: could not translate host name "postgres-primary" to '
           "address: Name or service not known\n")
    f = only(run([p], {("shop", p["metadata"]["name"], "db-migrate"): log}))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert f.container == "db-migrate"
    assert f.summary.startswith("Init container db-migrate exits")


# --- pods -----------------------------------------------------------------------------

def test_unschedulable_names_the_schedulers_reason_and_the_largest_node():
    p = _pending()
    ev = _scheduler_event(p, p["status"]["conditions"][0]["message"])
    f = only(run([p, ev, _node(memory="15Gi")]))
    assert (f.reason, f.pod, f.container) == (Reason.UNSCHEDULABLE, p["metadata"]["name"], None)
    assert f.details["schedulerReasons"] == ["3 Insufficient memory"]
    assert ("the pod requests memory 64Gi; the largest node "
            "(ip-10-0-3-17.eu-west-1.compute.internal) allocates 15Gi") in f.evidence


def test_unschedulable_for_an_untolerated_taint_and_an_unbound_claim():
    p = _pending([{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}])
    p["status"]["conditions"][0]["message"] = (
        "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: "
        "0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": {"name": "data-db-0", "namespace": "shop"},
           "spec": {"storageClassName": "fast-ssd"}, "status": {"phase": "Pending"}}
    sc = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
          "metadata": {"name": "standard"}}
    f = only(run([p, pvc, sc]))
    assert f.details["persistentVolumeClaims"] == ["data-db-0"]
    assert ("PersistentVolumeClaim data-db-0 is Pending (storageClass fast-ssd, which does not "
            "exist)") in f.evidence
    taint = _pending()
    taint["status"]["conditions"][0]["message"] = (
        "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/"
        "disk-pressure: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful "
        "for scheduling.")
    f = only(run([taint]))
    assert f.details["taint"] == "node.kubernetes.io/disk-pressure: "


def test_a_claim_that_cannot_be_mounted_is_a_pod_level_volume_failure():
    c = k.container(volumeMounts=[{"name": "data", "mountPath": "/var/lib/data"}])
    p = k.pod(containers=[c], phase="Pending",
              volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}])
    p["status"]["containerStatuses"] = [k.waiting_status(c, "ContainerCreating")]
    ev = k.event(p, "FailedMount", (
        'MountVolume.SetUp failed for volume "data" : rpc error: code = Internal desc = mount '
        "failed: exit status 32"), count=9)
    f = only(run([p, ev]))
    assert (f.reason, f.container) == (Reason.VOLUME_MOUNT_FAILED, None)
    assert "volume data: PersistentVolumeClaim data-db-0" in f.evidence
    assert f.details["persistentVolumeClaims"] == ["data-db-0"]


def test_a_secret_volume_keeps_its_configuration_code():
    c = k.container(volumeMounts=[{"name": "tls", "mountPath": "/tls"}])
    p = k.pod(containers=[c], phase="Pending",
              volumes=[{"name": "tls", "secret": {"secretName": "grafana-tls"}}])
    p["status"]["containerStatuses"] = [k.waiting_status(c, "ContainerCreating")]
    ev = k.event(p, "FailedMount",
                 'MountVolume.SetUp failed for volume "tls" : secret "grafana-tls" not found')
    assert only(run([p, ev])).reason is Reason.MISSING_SECRET


# --- Jobs -----------------------------------------------------------------------------

def _failed_job() -> tuple[dict[str, Any], list[dict[str, Any]], dict[tuple[str, str, str], str]]:
    job = {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "nightly-export-29481240", "namespace": "shop",
                     "uid": k.uid("job"), "ownerReferences": [{
                         "apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly-export",
                         "uid": k.uid("cj"), "controller": True}]},
        "spec": {"backoffLimit": 2, "template": {"spec": {"restartPolicy": "Never"}}},
        "status": {"failed": 3, "startTime": k.ts(900), "conditions": [
            {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
             "message": "Job has reached the specified backoff limit",
             "lastTransitionTime": k.ts(60)},
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
             "message": "Job has reached the specified backoff limit",
             "lastTransitionTime": k.ts(60)}]},
    }
    pods, logs = [], {}
    for i, ago in enumerate((600, 300, 90)):
        c = k.container(name="export")
        p = k.pod(name=f"nightly-export-29481240-{i}x9k", containers=[c], phase="Failed",
                  owner=("Job", "nightly-export-29481240"))
        p["spec"]["restartPolicy"] = "Never"
        status = k.running_status(c, ready=False)
        status["state"] = {"terminated": k.terminated("Error", 1, finished_ago=ago)}
        p["status"]["containerStatuses"] = [status]
        pods.append(p)
        logs[("shop", p["metadata"]["name"], "export")] = "KeyError: 'EXPORT_BUCKET'\n"
    return job, pods, logs


def test_a_job_that_reached_its_backoff_limit_is_one_workload_finding():
    job, pods, logs = _failed_job()
    f = only(run([job, *pods], logs))
    assert (f.reason, f.pod, f.container) == (Reason.JOB_BACKOFF_LIMIT_EXCEEDED, None, None)
    assert f.owner == OwnerRef("CronJob", "nightly-export")
    assert f.details["lastPod"] == "nightly-export-29481240-2x9k"
    assert f.details["podReason"] == Reason.MISSING_ENV.value
    assert "nightly-export-29481240" in f.evidence[0]
    assert "log: KeyError: 'EXPORT_BUCKET'" in f.evidence


def test_the_pods_of_a_job_still_running_keep_their_own_findings():
    job, pods, logs = _failed_job()
    job["status"]["conditions"] = []
    findings = run([job, *pods], logs)
    assert {f.reason for f in findings} == {Reason.MISSING_ENV}
    assert len(findings) == 3
