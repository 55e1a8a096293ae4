"""Fixtures for the end-to-end suite: one real control plane per session.

* ``control_plane`` (session): builds or reuses the binaries, starts etcd, kube-apiserver,
  kube-controller-manager, kube-scheduler and kwok once, stops them all at the end, and
  fails the session if any process is left behind. Component logs are attached to every
  failed test's report.
* ``api`` (session): admin ``kubernetes.client.ApiClient``; ``core``/``apps``/``rbac`` APIs.
* ``namespace`` (function): a fresh namespace, usable (its ``default`` ServiceAccount
  exists) when the test starts, deleted afterwards.
* ``logs_dir`` (function): an empty LOGS_DIR for the simulated kubelet's container logs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from tests.cluster.controlplane.plane import ControlPlane, build_binaries
from tests.e2e.namespaces import usable_namespace

# The running plane, for attaching its logs to failed tests' reports.
_RUNNING: dict[str, ControlPlane] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    # Build (or reuse: well under a second) outside any test's timeout.
    build_binaries()


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    cp = ControlPlane(nodes=2)
    cp.start()
    _RUNNING["plane"] = cp
    pids = list(cp.pids().values())
    try:
        yield cp
    finally:
        _RUNNING.pop("plane", None)
        cp.stop()
        left = [p for p in pids if _alive(p)]
        assert not left, f"control plane processes left behind: {left}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead but not yet reaped by its parent: not "left behind".
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    plane = _RUNNING.get("plane")
    if report.failed and plane is not None:
        report.sections.append(("control plane logs", plane.dump_logs(tail=30)))


@pytest.fixture(scope="session")
def api(control_plane: ControlPlane) -> Iterator[client.ApiClient]:
    with control_plane.api_client() as a:
        yield a


@pytest.fixture(scope="session")
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture(scope="session")
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


@pytest.fixture(scope="session")
def rbac(api: client.ApiClient) -> client.RbacAuthorizationV1Api:
    return client.RbacAuthorizationV1Api(api)


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    name = usable_namespace(core)
    yield name
    core.delete_namespace(name)


@pytest.fixture
def logs_dir(tmp_path: Path) -> Path:
    d = tmp_path / "logs"
    d.mkdir()
    return d
