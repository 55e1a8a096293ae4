"""Doubts the reviews of holdout rounds 7 to 9 left (eval/realworld README): where a reading
went past what the spec says. An AWS SDK that finds no region is not missing AWS_REGION when
the spec sets a region; CoreCLR's E_FAIL is no read-only temporary directory when TMPDIR
points at a writable volume or the diagnostics (which write the pipes) are off; a connection
string's server is shown whatever its case, with the port of a ``Port=`` pair.

Log text quoted from public threads carries the thread's URL next to it; invented values say
so.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import evidence_text, only, run
from test_holdout8_mechanisms import CORECLR, SQLCLIENT, with_tmp_volume

from crashwatch.diagnosis.logcause import read_crash
from crashwatch.diagnosis.logread import Level, prefix_level
from crashwatch.model import Reason

# https://github.com/kubernetes-sigs/external-dns/pull/1367
MISSING_REGION = 'level=error msg="MissingRegion: could not find region configuration"\n'


def _env(objects: list[dict[str, Any]], *env: dict[str, Any]) -> list[dict[str, Any]]:
    objects[0]["spec"]["containers"][0]["env"] = list(env)
    return objects


def test_no_region_is_a_missing_aws_region_only_when_the_spec_sets_none(crashing) -> None:
    objects, logs = crashing(MISSING_REGION)
    f = only(run(_env(objects, {"name": "LOG_LEVEL", "value": "debug"}), logs))
    assert f.reason is Reason.MISSING_ENV
    assert "missing variable: AWS_REGION" in evidence_text(f)
    for entry in ({"name": "AWS_REGION", "value": "eu-west-1"},
                  {"name": "AWS_DEFAULT_REGION", "value": "eu-west-1"},
                  {"name": "AWS_REGION", "valueFrom": {"configMapKeyRef": {
                      "name": "aws", "key": "region"}}}):
        objects, logs = crashing(MISSING_REGION)
        f = only(run(_env(objects, entry), logs))
        # the region is set, and the SDK does not see it: the line is the evidence, not a
        # missing variable
        assert f.reason is Reason.APP_ERROR, entry
        assert "MissingRegion" in evidence_text(f)
    # an empty value sets nothing
    objects, logs = crashing(MISSING_REGION)
    f = only(run(_env(objects, {"name": "AWS_REGION", "value": ""}), logs))
    assert f.reason is Reason.MISSING_ENV


def test_coreclr_under_a_read_only_root_reads_tmpdir(crashing) -> None:
    # TMPDIR on a writable volume: the runtime's pipes have a place, so E_FAIL is something
    # else
    objects, logs = crashing(CORECLR, read_only=True)
    c = objects[0]["spec"]["containers"][0]
    c["volumeMounts"] = [{"name": "scratch", "mountPath": "/scratch"}]
    objects[0]["spec"]["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    c["env"] = [{"name": "TMPDIR", "value": "/scratch"}]
    assert only(run(objects, logs)).reason is Reason.APP_ERROR
    # TMPDIR pointing at a read-only place is the read-only directory it names
    objects, logs = crashing(CORECLR, read_only=True)
    _env(objects, {"name": "TMPDIR", "value": "/var/tmp"})
    f = only(run(objects, logs))
    assert f.reason is Reason.READ_ONLY_FILESYSTEM
    assert "/var/tmp" in evidence_text(f)


@pytest.mark.parametrize("name", ["DOTNET_EnableDiagnostics", "COMPlus_EnableDiagnostics"])
def test_coreclr_with_its_diagnostics_off_writes_no_pipes(crashing, name: str) -> None:
    objects, logs = crashing(CORECLR, read_only=True)
    assert only(run(_env(objects, {"name": name, "value": "0"}), logs)).reason \
        is Reason.APP_ERROR
    objects, logs = crashing(CORECLR, read_only=True)
    assert only(run(_env(objects, {"name": name, "value": "1"}), logs)).reason \
        is Reason.READ_ONLY_FILESYSTEM
    # a writable /tmp was already enough
    objects, logs = crashing(CORECLR, read_only=True)
    assert only(run(with_tmp_volume(objects), logs)).reason is Reason.APP_ERROR


@pytest.mark.parametrize(("value", "shown"), [
    # invented values, in the shapes of ADO.NET's and Npgsql's connection strings
    ("Server=SQLPROD01;Database=Shop;User Id=app;Password=x",
     "SQLPROD01 (the server in ConnectionStrings__Main)"),
    ("Host=db;Port=5432;Database=shop;Username=app;Password=x",
     "db:5432 (the server in ConnectionStrings__Main)"),
    ("Port=6543;Host=pg.internal;Database=shop",
     "pg.internal:6543 (the server in ConnectionStrings__Main)"),
    # the server's own port wins over a Port pair
    ("Server=mssql,1433;Port=9999", "mssql:1433 (the server in ConnectionStrings__Main)"),
    # a Port that is no number is left out
    ("Host=db;Port=abc", "db (the server in ConnectionStrings__Main)"),
])
def test_a_connection_strings_server_is_shown_with_its_port(crashing, value: str,
                                                            shown: str) -> None:
    objects, logs = crashing(SQLCLIENT, exit_code=134)
    f = only(run(_env(objects, {"name": "ConnectionStrings__Main", "value": value}), logs))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert f.details["configuredPeers"] == [shown]
    assert "Password" not in str(f.details)


def test_a_port_after_an_unclosed_quote_is_not_read(crashing) -> None:
    # invented: a quote that never closes makes the rest of the string unreadable
    objects, logs = crashing(SQLCLIENT, exit_code=134)
    value = 'Host=db;Password="open;Port=1111'
    f = only(run(_env(objects, {"name": "ConnectionStrings__Main", "value": value}), logs))
    assert f.details["configuredPeers"] == ["db (the server in ConnectionStrings__Main)"]


def test_a_tool_aborting_one_try_that_it_will_retry_is_a_warning_not_the_exit() -> None:
    """``<tool>: aborting because ...`` is a tool giving up (pg_dump's, FATAL); one that says
    it will retry gives up a try, not the process: the error after it is the exit's cause.
    (Invented lines: the shape the review of round 9 tried.)"""

    retry = "scheduler: aborting because the lock is held by another replica; will retry in 5s"
    assert prefix_level(retry) is Level.WARN
    assert prefix_level("pg_dump: aborting because of server version mismatch") is Level.FATAL
    log = f"{retry}\nERROR: could not open config file /etc/scheduler/config.yaml\n"
    assert read_crash(log).telling[0].startswith("ERROR: could not open config file")
