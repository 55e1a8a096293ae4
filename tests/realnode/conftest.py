"""Fixtures of the real-node tier: a real kubelet and containerd running real containers,
with crashwatch installed in the cluster from its own image.

* ``cluster`` (session): the control plane, the two registries with the test images, and the
  real node (tests/cluster/node); stopped at the end, with a check that the node left
  nothing behind (processes, bridge, sysctls).
* ``crashwatch`` (session): crashwatch's image built from the Dockerfile with buildah, pushed
  to the local registry and installed with ``kubectl apply -k`` over
  ``deploy/overlays/remediation``; its pod Ready.
* ``namespace`` (function): a fresh namespace whose ``default`` ServiceAccount exists.

Tests that use no ``cluster`` run first (``make demo``'s test starts a real node of its own).

Builds happen in ``pytest_sessionstart``, outside any test's timeout. A failed test's
report carries the kubelet's and containerd's log tails and crashwatch's own log.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from tests.cluster.controlplane.plane import build_binaries
from tests.cluster.images.images import build_rootfs
from tests.cluster.nodes.real.cluster import RealCluster
from tests.cluster.nodes.real.node import (
    BRIDGE,
    STATE_FILE,
    build_node,
    current_sysctls,
    host_sysctls,
)
from tests.cluster.operator import deploy
from tests.e2e.deploying import install_monitoring_crds

_RUNNING: dict[str, Any] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    build_binaries()
    build_node()
    build_rootfs()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that do not use the shared ``cluster`` go first: one of them (the demo) starts a
    real node of its own, and there is one per machine; the shared one starts after them and
    stays up to the end of the session."""
    items.sort(key=lambda item: "cluster" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def cluster() -> Iterator[RealCluster]:
    before = host_sysctls()
    rc = RealCluster().start()
    _RUNNING["cluster"] = rc
    pids = [*rc.plane.pids().values(), *(p.popen.pid for p in rc.node._procs)]
    try:
        yield rc
    finally:
        _RUNNING.pop("cluster", None)
        rc.stop()
        left = [p for p in pids if _alive(p)]
        assert not left, f"processes left behind: {left}"
        assert not STATE_FILE.exists(), "the node's teardown did not finish"
        assert not Path(f"/sys/class/net/{BRIDGE}").exists(), f"bridge {BRIDGE} left behind"
        after = current_sysctls()
        assert after == before, f"sysctls not restored: {before} -> {after}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="session")
def api(cluster: RealCluster) -> Iterator[client.ApiClient]:
    with cluster.plane.api_client() as a:
        yield a


@pytest.fixture(scope="session")
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture(scope="session")
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


@pytest.fixture(scope="session")
def crashwatch(cluster: RealCluster, tmp_path_factory: pytest.TempPathFactory
               ) -> dict[str, Any]:
    """crashwatch's pod (wire form), running from its own image in the cluster."""
    image = deploy.build_image(cluster.registries.anonymous.host)
    install_monitoring_crds(cluster.plane)
    host, port = cluster.api_address
    overlay = deploy.write_overlay(tmp_path_factory.mktemp("overlay"), image, host, port)
    pod = deploy.install(cluster.plane, overlay)
    _RUNNING["crashwatch"] = (cluster, pod["metadata"]["name"])
    return pod


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    name = f"rn-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    deadline = time.monotonic() + 30
    while True:  # pods are refused until kcm made the namespace's default ServiceAccount
        try:
            core.read_namespaced_service_account("default", name)
            break
        except client.ApiException as e:
            if e.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    yield name
    core.delete_namespace(name)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    rc = _RUNNING.get("cluster")
    if not report.failed or rc is None:
        return
    report.sections.append(("real node logs", rc.node.dump_logs(tail=30)))
    if "crashwatch" in _RUNNING:
        _, pod = _RUNNING["crashwatch"]
        try:
            with rc.plane.api_client() as api:
                text = client.CoreV1Api(api).read_namespaced_pod_log(
                    pod, deploy.NAMESPACE, tail_lines=60)
        except Exception as e:  # the report must not fail for want of a log
            text = f"(no log: {e})"
        report.sections.append(("crashwatch pod log", str(text)))
