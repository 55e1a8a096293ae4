"""Mechanisms the eighth real-world holdout round (eval/realworld, "Holdout round 8") showed
missing: .NET's runtime failing to start under a read-only root, SqlClient's connection
failure and the server of a connection string, an AWS SDK with no region, Prisma's P1001,
glog exiting because it cannot write its log, lines that follow an earlier error
(controller-runtime's stop sequence, a pipe whose writer died, ``pg_dump: aborting``), the
first denial of a run, a JVM flag named like an error and the JVM launcher's wrappers, a
runtime's own guess at the cause, the OCI hook that failed, and bash running a relative path
that is not there.

Log text quoted from public threads carries the thread's URL next to it.
"""

from __future__ import annotations

import json

import kube as k
import pytest
from helpers import evidence_text, generic_reading, only, run

from crashwatch.diagnosis import chains
from crashwatch.diagnosis.logcause import read_crash
from crashwatch.diagnosis.logread import Level, prefix_level
from crashwatch.model import Reason

# https://github.com/Lybecker/k8s-friendly-aspnetcore/issues/2
CORECLR = "Failed to create CoreCLR, HRESULT: 0x80004005\n"
# https://github.com/microsoft/mssql-docker/issues/217
SQLCLIENT = (
    "Application startup exception: System.Data.SqlClient.SqlException (0x80131904): A "
    "network-related or instance-specific error occurred while establishing a connection to SQL "
    "Server. The server was not found or was not accessible. Verify that the instance name is "
    "correct and that SQL Server is configured to allow remote connections. (provider: TCP "
    "Provider, error: 35 - An internal exception was caught) ---> System.Net.Internals."
    "SocketExceptionFactory+ExtendedSocketException: No such device or address\n"
    "   at System.Net.Dns.InternalGetHostByName(String hostName, Boolean includeIPv6)\n")
# https://github.com/curie-eng/curie/issues/1853
PRISMA = ("Error: P1001\n"
          "Can't reach database server at `curie-postgres:5432`\n"
          "Applying database migrations failed.\n"
          "Exiting...\n")
# https://github.com/argoproj/argo-rollouts/issues/96
GLOG = (
    'E0603 10:51:20.412853       1 reflector.go:134] github.com/argoproj/argo-rollouts/pkg/client/'
    "informers/externalversions/factory.go:117: Failed to list *v1alpha1.Rollout: "
    'rollouts.argoproj.io is forbidden: User "system:serviceaccount:default:argo-rollouts" cannot '
    'list resource "rollouts" in API group "argoproj.io" at the cluster scope\n'
    "log: exiting because of error: log: cannot create log: open /tmp/rollouts-controller."
    "argo-rollouts-694bc885dd-gqmst.unknownuser.log.ERROR.20190603-105120.1: no such file or "
    "directory\n")
# https://github.com/external-secrets/external-secrets/issues/944
STOP_SEQUENCE = (
    '{"level":"error","ts":1649176902.7035124,"logger":"controller.externalsecret","msg":"Could '
    'not wait for Cache to sync","reconciler group":"external-secrets.io","reconciler kind":'
    '"ExternalSecret","error":"failed to wait for externalsecret caches to sync: timed out '
    'waiting for cache to be synced"}\n'
    '{"level":"error","ts":1649176902.7045138,"msg":"error received after stop sequence was '
    'engaged","error":"failed to wait for secretstore caches to sync: timed out waiting for cache '
    'to be synced"}\n')
# https://github.com/SierraSoftworks/minback-postgres/issues/5
MINBACK = (
    "> pg_dump -h postgres-postgresql-ha-pgpool.data.svc.cluster.local -Fc dashboard_db\n"
    "pg_dump: server version: 11.9; pg_dump version: 10.3\n"
    "pg_dump: aborting because of server version mismatch\n"
    "mc: <ERROR> Unable to write to one or more targets. Input reader closed pre-maturely. "
    "Expected `-1` bytes, but only received `0` bytes.\n"
    "Backup failed\n")
# https://github.com/sonatype/operator-nxrm3/issues/54
NEXUS = (
    "mkdir: cannot create directory '../sonatype-work/nexus3/log': Permission denied\n"
    "mkdir: cannot create directory '../sonatype-work/nexus3/tmp': Permission denied\n"
    "OpenJDK 64-Bit Server VM warning: Cannot open file ../sonatype-work/nexus3/log/jvm.log due "
    "to No such file or directory\n"
    "\n"
    "Warning:  Cannot open log file: ../sonatype-work/nexus3/log/jvm.log\n"
    "Warning:  Forcing option -XX:LogFile=/tmp/jvm.log\n"
    "java.io.FileNotFoundException: /nexus-data/karaf.pid (Permission denied)\n"
    "        at java.io.FileOutputStream.open0(Native Method)\n")
# https://github.com/apache/spark/pull/26161
SPARK = ("#\n"
         "# java.lang.OutOfMemoryError: Java heap space\n"
         '# -XX:OnOutOfMemoryError="kill -9 %p"\n'
         '#   Executing /bin/sh -c "kill -9 14"...\n')
# https://github.com/prometheus/jmx_exporter/issues/462
JVM_OPTION = ("Unrecognized VM option 'UseCGroupMemoryLimitForHeap'\n"
              "Error: Could not create the Java Virtual Machine.\n"
              "Error: A fatal exception has occurred. Program will exit.\n")
# https://github.com/pytorch/pytorch/issues/16979
PYTORCH = (
    "ERROR: Unexpected bus error encountered in worker. This might be caused by insufficient "
    "shared memory (shm).\n"
    '  File "/usr/local/lib/python2.7/dist-packages/torch/utils/data/dataloader.py", line 274, '
    "in handler\n"
    "    _error_if_any_worker_fails()\n"
    "RuntimeError: DataLoader worker (pid 125) is killed by signal: Bus error. \n")
# https://github.com/NVIDIA/k8s-device-plugin/issues/105
NVIDIA_HOOK = (
    'Error response from daemon: OCI runtime create failed: container_linux'
    '.go:344: starting container process caused "process_linux.go:424: cont'
    'ainer init caused \\"process_linux.go:407: running prestart hook 0 caus'
    'ed \\\\\\"error running hook: exit status 1, stdout: , stderr: exec comma'
    'nd: [/usr/bin/nvidia-container-cli --load-kmods configure --ldconfig=@'
    '/sbin/ldconfig.real --device=all --utility --pid=28514 /var/lib/docker'
    '/overlay2/bc7a6cfad6a3e3d56a7a09c436b3d8278a3636d4cf9e76add99265e84d1b'
    'c622/merged]\\\\\\\\nnvidia-container-cli: initialization error: cuda erro'
    'r: no cuda-capable device is detected\\\\\\\\n\\\\\\"\\"": unknown'
)
# https://github.com/pulumi/examples/issues/776
RAILS = ("* RUNNING...\n"
         "/myapp/start: line 10: bin/rails: No such file or directory\n"
         "/myapp/start: line 12: bin/rails: No such file or directory\n")


def with_tmp_volume(objects: list[dict]) -> list[dict]:
    pod = objects[0]
    pod["spec"]["volumes"] = [{"name": "tmp", "emptyDir": {}}]
    pod["spec"]["containers"][0]["volumeMounts"] = [{"name": "tmp", "mountPath": "/tmp"}]
    return objects


def test_coreclr_failing_under_a_read_only_root_is_a_read_only_filesystem(crashing) -> None:
    f = only(run(*crashing(CORECLR, read_only=True)))
    assert f.reason is Reason.READ_ONLY_FILESYSTEM
    assert "/tmp" in evidence_text(f)
    # the same words have other causes: without a read-only root, or with /tmp writable,
    # they are only an application error
    assert only(run(*crashing(CORECLR))).reason is Reason.APP_ERROR
    objects, logs = crashing(CORECLR, read_only=True)
    assert only(run(with_tmp_volume(objects), logs)).reason is Reason.APP_ERROR


def test_sqlclient_cannot_connect_and_the_connection_strings_server_is_shown(crashing) -> None:
    objects, logs = crashing(SQLCLIENT, exit_code=134)
    objects[0]["spec"]["containers"][0]["env"] = [{
        "name": "ConnectionStrings__DefaultConnection",
        "value": "Server=mssql-service,1433;Database=TestDb;User Id=sa;Password=Sup3r-S3cret"}]
    f = only(run(objects, logs))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert f.details["configuredPeers"] == [
        "mssql-service:1433 (the server in ConnectionStrings__DefaultConnection)"]
    assert "Sup3r-S3cret" not in json.dumps(f.details) + evidence_text(f) + f.summary


@pytest.mark.parametrize("line", [
    # https://github.com/kubernetes-sigs/external-dns/pull/1367
    'level=error msg="MissingRegion: could not find region configuration"',
    "botocore.exceptions.NoRegionError: You must specify a region.",
])
def test_an_aws_sdk_with_no_region_misses_aws_region(line: str) -> None:
    assert generic_reading(line) == (Reason.MISSING_ENV, {"variable": "AWS_REGION"})


def test_prismas_p1001_is_unreachable_with_its_host(crashing) -> None:
    f = only(run(*crashing(PRISMA)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert (f.details["host"], f.details["port"]) == ("curie-postgres", "5432")


def test_glog_exiting_because_it_cannot_write_its_log_is_why() -> None:
    assert read_crash(GLOG).telling[0].startswith(
        "log: exiting because of error: log: cannot create log")


def test_an_error_after_the_stop_sequence_yields_to_the_one_before() -> None:
    assert read_crash(STOP_SEQUENCE).telling[0].startswith(
        "Could not wait for Cache to sync: failed to wait for externalsecret caches")
    assert chains.is_generic("error received after stop sequence was engaged: failed to wait")


def test_a_tool_that_aborts_tells_more_than_the_pipe_it_left() -> None:
    assert prefix_level("pg_dump: aborting because of server version mismatch") is Level.FATAL
    assert prefix_level("pg_dump: aborting the dump now") is Level.UNKNOWN
    assert read_crash(MINBACK).telling[0] == "pg_dump: aborting because of server version mismatch"


def test_the_first_denial_of_a_run_is_reported_with_the_last(crashing) -> None:
    f = only(run(*crashing(NEXUS)))
    assert f.reason is Reason.PERMISSION_DENIED
    assert f.details["path"] == "/nexus-data/karaf.pid"
    assert "'../sonatype-work/nexus3/log': Permission denied" in evidence_text(f)


def test_a_jvm_flag_named_like_an_error_is_no_heap_exhaustion() -> None:
    cause = read_crash(SPARK).cause
    assert cause is not None and cause.reason is Reason.HEAP_EXHAUSTED
    assert cause.lines == ("# java.lang.OutOfMemoryError: Java heap space",)
    assert generic_reading('Picked up JAVA_TOOL_OPTIONS: -XX:+ExitOnOutOfMemoryError')[0] is None
    assert generic_reading(
        '# -XX:OnOutOfMemoryError="kill -9 %p"')[0] is None


def test_the_jvm_launchers_wrappers_yield_to_what_it_said_first() -> None:
    assert read_crash(JVM_OPTION).telling[0] == (
        "Unrecognized VM option 'UseCGroupMemoryLimitForHeap'")


def test_a_runtimes_guess_at_the_cause_is_reported_with_the_error() -> None:
    telling = read_crash(PYTORCH).telling
    assert telling[0] == "RuntimeError: DataLoader worker (pid 125) is killed by signal: Bus error."
    assert "This might be caused by insufficient shared memory (shm)." in telling[1]


def test_the_oci_hook_that_failed_is_in_the_runtimes_evidence() -> None:
    c = k.container(name="nvidia-device-plugin-ctr")
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.crashloop_status(
        c, p, k.terminated("ContainerCannotRun", 128, ran_for=0, message=NVIDIA_HOOK),
        restarts=4)]
    f = only(run([p]))
    assert f.reason is Reason.RUNTIME_START_ERROR
    assert f.evidence[0].startswith("runtime: running prestart hook 0 caused")
    assert "no cuda-capable device is detected" in f.evidence[0]


@pytest.mark.parametrize(("line", "command"), [
    ("/myapp/start: line 10: bin/rails: No such file or directory", "bin/rails"),
    ("/entry.sh: line 5: ./run.sh: No such file or directory", "./run.sh"),
    # a redirect's target is no command
    ("./start: line 3: /var/log/app/out: No such file or directory", None),
    ("./start: line 3: ./logs/out.log: No such file or directory", None),
])
def test_bash_running_a_relative_path_that_is_not_there(line: str, command: str | None) -> None:
    reason, groups = generic_reading(line)
    if command is None:
        assert reason is not Reason.COMMAND_NOT_FOUND
    else:
        assert (reason, groups) == (Reason.COMMAND_NOT_FOUND, {"command": command})


def test_a_script_that_runs_a_missing_rails_is_command_not_found(crashing) -> None:
    assert only(run(*crashing(RAILS, exit_code=127))).details["command"] == "bin/rails"
