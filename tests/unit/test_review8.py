"""A review of the eighth holdout round's mechanisms (eval/realworld, "Holdout round 8"): where
they read too much or too little. A password quoted in a connection string never reads as its
server; MinIO's client's own capitalised pipe line follows the dump that died; a warning's
guess at a cause, a warning's denial and a denial that names no path are not reported with an
unrelated crash; a warning that aborts stays a warning; runc 1.0's and 1.1's failed hook starts
the runtime's evidence as runc 1.0-rc's did. Java's AWS SDK v1 with no region misses
AWS_REGION; a warning about the region does not.

Log text quoted from public threads carries the thread's URL next to it; invented text says so.
"""

from __future__ import annotations

import json

import kube as k
import pytest
from helpers import evidence_text, generic_reading, only, run

# https://github.com/microsoft/mssql-docker/issues/217
from test_holdout8_mechanisms import SQLCLIENT

from crashwatch.diagnosis.logcause import read_crash
from crashwatch.diagnosis.logread import Level, prefix_level
from crashwatch.model import Reason


def test_a_quoted_password_never_reads_as_the_connection_strings_server(crashing) -> None:
    # ADO.NET and ODBC quote a value that holds a ';' ("..." or '...', {...}): the key=value
    # pairs inside such a password are the password (invented values)
    for value, secret in (
            ('User ID=sa;Password="a;Server=hunter2;b";Server=mssql-service,1433', "hunter2"),
            ("User ID=sa;Password='x;Host=topsecret9;y';Data Source=mssql-service,1433",
             "topsecret9"),
            ("Uid=sa;Pwd={a;Server=leakedpw;};Server=mssql-service,1433", "leakedpw")):
        objects, logs = crashing(SQLCLIENT, exit_code=134)
        objects[0]["spec"]["containers"][0]["env"] = [
            {"name": "ConnectionStrings__DefaultConnection", "value": value}]
        f = only(run(objects, logs))
        assert f.reason is Reason.DEPENDENCY_UNREACHABLE
        assert f.details["configuredPeers"] == [
            "mssql-service:1433 (the server in ConnectionStrings__DefaultConnection)"], value
        assert secret not in json.dumps(f.details) + evidence_text(f) + f.summary


def test_a_connection_string_whose_quote_never_closes_names_no_server(crashing) -> None:
    objects, logs = crashing(SQLCLIENT, exit_code=134)
    objects[0]["spec"]["containers"][0]["env"] = [{
        "name": "ConnectionStrings__DefaultConnection",
        "value": 'Password="a;Server=hunter2;b;Server=mssql-service'}]  # invented
    f = only(run(objects, logs))
    assert "hunter2" not in json.dumps(f.details) + evidence_text(f) + f.summary


# pg_dump 15 and later: https://github.com/ankane/pgsync/issues/226; MinIO's client piping it:
# https://github.com/SierraSoftworks/minback-postgres/issues/5
PG_DUMP_15_INTO_MC = (
    "pg_dump: error: aborting because of server version mismatch\n"
    "pg_dump: detail: server version: 16.2; pg_dump version: 15.4\n"
    "mc: <ERROR> Unable to write to one or more targets. Input reader closed pre-maturely. "
    "Expected `-1` bytes, but only received `0` bytes.\n")


def test_minios_capitalised_pipe_line_yields_to_the_dump_that_died() -> None:
    telling = read_crash(PG_DUMP_15_INTO_MC).telling
    assert telling[0].startswith("pg_dump: error: aborting because of server version mismatch")


# https://github.com/pytorch/pytorch/issues/16979 for the crash; the warning is invented
WARNED_THEN_CRASHED = (
    "2024-05-01T10:00:00Z WARN cache refresh slow (2.3s); this is likely due to network latency\n"
    + "".join(f"2024-05-01T10:00:0{i}Z INFO processed batch {i}\n" for i in range(8))
    + "RuntimeError: DataLoader worker (pid 125) is killed by signal: Bus error. \n")


def test_a_warnings_guess_is_not_reported_with_an_unrelated_crash() -> None:
    telling = read_crash(WARNED_THEN_CRASHED).telling
    assert telling[0] == "RuntimeError: DataLoader worker (pid 125) is killed by signal: Bus error."
    assert not any("network latency" in t for t in telling)


# https://github.com/sonatype/operator-nxrm3/issues/54 for the last line; the rest is invented
FILL = "".join(f"2024-05-01 10:00:{i:02d} INFO starting worker {i}\n" for i in range(20))


def test_the_first_denial_of_a_run_is_no_warning_and_names_a_path(crashing) -> None:
    last = "java.io.FileNotFoundException: /nexus-data/karaf.pid (Permission denied)\n"
    for first in ("WARN could not write /var/cache/app/stats: permission denied, continuing\n",
                  "sudo: unable to change to root gid: Operation not permitted\n"):
        f = only(run(*crashing(first + FILL + last)))
        assert f.reason is Reason.PERMISSION_DENIED
        assert f.details["path"] == "/nexus-data/karaf.pid"
        assert first.strip() not in evidence_text(f)


def test_a_warning_that_aborts_stays_a_warning() -> None:
    # printed by a tool before it exits 1 (a line of code found in a public repository)
    assert prefix_level("Warning: aborting due to manifest url has no 'Test' substring."
                        ) is Level.WARN
    assert prefix_level("pg_dump: aborting because of server version mismatch") is Level.FATAL


def _runtime_evidence(message: str) -> str:
    c = k.container(name="nvidia-device-plugin-ctr")
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.crashloop_status(
        c, p, k.terminated("StartError", 128, ran_for=0, message=message), restarts=4)]
    f = only(run([p]))
    assert f.reason is Reason.RUNTIME_START_ERROR
    return f.evidence[0]


def test_runc_1_1s_failed_hook_starts_the_runtimes_evidence() -> None:
    # https://github.com/NVIDIA/nvidia-container-toolkit/issues/131, as containerd words it
    first = _runtime_evidence(
        "failed to create containerd task: failed to create shim task: OCI runtime create "
        "failed: runc create failed: unable to start container process: error during container "
        "init: error running hook #0: error running hook: exit status 1, stdout: , stderr: "
        "Auto-detected mode as 'legacy'\nnvidia-container-cli: initialization error: cannot "
        "open shared object file: no such file or directory: unknown")
    assert first.startswith("runtime: running hook #0: error running hook: exit status 1")
    # https://github.com/NVIDIA/nvidia-container-toolkit/issues/14 (runc 1.0)
    first = _runtime_evidence(
        "OCI runtime create failed: container_linux.go:380: starting container process caused: "
        "process_linux.go:545: container init caused: Running hook #1:: error running hook: "
        "exit status 3, stdout: , stderr: time=\"2022-02-13T11:11:05+11:00\" level=error "
        "msg=\"No help topic for 'prestart'\\n\": unknown")
    assert first.startswith("runtime: Running hook #1:: error running hook: exit status 3")


@pytest.mark.parametrize("line", [
    # https://github.com/awslabs/amazon-sqs-java-extended-client-lib/issues/47
    "com.amazonaws.SdkClientException: Unable to find a region via the region provider chain.",
    # https://github.com/jenkinsci/aws-credentials-plugin/pull/51
    "com.amazonaws.SdkClientException: Unable to load region information from any provider in "
    "the chain",
])
def test_the_java_sdk_v1_with_no_region_misses_aws_region(line: str) -> None:
    assert generic_reading(line) == (Reason.MISSING_ENV, {"variable": "AWS_REGION"})


def test_a_warning_about_the_region_is_not_why_an_unrelated_panic_exited(crashing) -> None:
    # invented: an SDK that warned and fell back, then an unrelated Go panic
    log = ('time="2024-01-01T00:00:00Z" level=warning msg="MissingRegion: could not find region '
           'configuration, using us-east-1"\n'
           + "".join(f'time="2024-01-01T00:00:0{i}Z" level=info msg="synced {i}"\n'
                     for i in range(1, 6))
           + "panic: assignment to entry in nil map\n\ngoroutine 1 [running]:\nmain.main()\n"
           "\t/app/main.go:9 +0x2d\n")
    f = only(run(*crashing(log, exit_code=2)))
    assert f.reason is Reason.APP_ERROR


def test_a_sqlite_files_data_source_is_no_server(crashing) -> None:
    log = ("Application startup exception: System.Data.SqlClient.SqlException (0x80131904): A "
           "network-related or instance-specific error occurred while establishing a connection "
           "to SQL Server.\n")
    objects, logs = crashing(log)
    objects[0]["spec"]["containers"][0]["env"] = [
        {"name": "ConnectionStrings__Cache", "value": "Data Source=app.db"},
        {"name": "ConnectionStrings__Main", "value": "Server=mssql;Database=shop"}]
    f = only(run(objects, logs))
    assert f.details["configuredPeers"] == ["mssql (the server in ConnectionStrings__Main)"]


def test_finds_walk_into_proc_is_not_where_the_trouble_started(crashing) -> None:
    # the shape of https://github.com/microsoft/mssql-docker/issues/606
    log = ("find: '/proc/1/map_files': Permission denied\n"
           + "".join(f"starting step {k}\n" for k in range(8))
           + "java.io.FileNotFoundException: /data/app.pid (Permission denied)\n")
    f = only(run(*crashing(log)))
    assert f.reason is Reason.PERMISSION_DENIED
    assert "/proc/1/map_files" not in evidence_text(f)
