"""A file and its line (``main.py:12``) is no host and port, and a host under a country
domain that is also a source extension (``.pl``, ``.py``, ``.rs``, ``.sh``, ``.cc``) is no file."""
from __future__ import annotations

import pytest

from crashwatch.diagnosis.generic import host_and_port, source_file


@pytest.mark.parametrize("name", [
    "leaderelection.go", "main.py", "server.rs", "entrypoint.sh", "worker.pl", "node.cc",
    "App.java", "index.mjs", "init.lua", "main.ts"])
def test_a_source_files_name_is_a_file(name: str) -> None:
    assert source_file(name)


@pytest.mark.parametrize("name", [
    "db.example.pl", "api.shop.com.py", "cache.internal.rs", "redis.corp.sh", "mq.example.cc",
    "postgres", "postgres.default.svc.cluster.local", "10.0.0.7"])
def test_a_host_under_a_country_domain_is_no_file(name: str) -> None:
    assert not source_file(name)


@pytest.mark.parametrize(("line", "expected"), [
    ("dial tcp db.example.pl:5432: connect: connection refused",
     {"host": "db.example.pl", "port": "5432"}),
    ("could not connect to server at mq.example.rs:5672",
     {"host": "mq.example.rs", "port": "5672"}),
])
def test_a_host_and_port_under_a_country_domain_is_read(line: str,
                                                        expected: dict[str, str]) -> None:
    assert host_and_port(line) == expected


@pytest.mark.parametrize("line", [
    "main.py:12 connection refused", "worker.pl:88 connection refused",
    "E0608 18:51:04.249990 1 leaderelection.go:320] error retrieving resource lock"])
def test_a_source_file_and_its_line_is_no_host_and_port(line: str) -> None:
    assert "port" not in host_and_port(line)
