"""crashwatch itself on the real node: its image built from the unchanged Dockerfile, installed
with ``kubectl apply -k`` over deploy/overlays/remediation, running as a real pod under its own
ServiceAccount token with the hardened security context deploy/ ships."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from tests.cluster.nodes.real.cluster import RealCluster
from tests.cluster.operator import deploy
from tests.realnode.helpers import wait_for

pytestmark = [pytest.mark.realnode, pytest.mark.timeout(300)]


def test_crashwatch_runs_in_the_cluster_from_its_own_image(
        cluster: RealCluster, crashwatch: dict[str, Any], core: client.CoreV1Api) -> None:
    spec, status = crashwatch["spec"], crashwatch["status"]
    assert spec["nodeName"] == cluster.node.name
    assert spec["serviceAccountName"] == "crashwatch"
    (c,) = spec["containers"]
    assert c["image"].startswith(f"{cluster.registries.anonymous.host}/crashwatch@sha256:")
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["runAsUser"] == 65532
    (cs,) = status["containerStatuses"]
    assert cs["ready"] is True and "running" in cs["state"]
    assert cs["imageID"].endswith(c["image"].split("@")[1])
    # the projected ServiceAccount token, not a kubeconfig
    assert any(v.get("projected") and any("serviceAccountToken" in s for s in
               v["projected"]["sources"]) for v in spec["volumes"])
    log = core.read_namespaced_pod_log(crashwatch["metadata"]["name"], deploy.NAMESPACE)
    assert '"event": "starting"' in log or '"event":"starting"' in log, log[-2000:]


def test_the_shipped_pod_spec_starts(
        cluster: RealCluster, crashwatch: dict[str, Any], core: client.CoreV1Api,
        apps: client.AppsV1Api, api: client.ApiClient) -> None:
    """The Deployment's pod template as deploy/ ships it (only the image and the API
    server's address changed), in dry-run: it must become Ready. It crash-looped once:
    ``KeyError: 'getpwuid(): uid not found: 65532'`` from kopf's detect_own_id()."""
    dep = apps.read_namespaced_deployment("crashwatch", deploy.NAMESPACE)
    template = api.sanitize_for_serialization(dep.spec.template)
    (c,) = template["spec"]["containers"]
    c["args"] = ["run", "--dry-run"]
    template["metadata"]["labels"] = {"app": "crashwatch-shipped"}
    name = "crashwatch-shipped"
    core.create_namespaced_pod(deploy.NAMESPACE, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, **template["metadata"]},
        "spec": template["spec"]})
    try:
        def settled() -> str | None:
            pod = core.read_namespaced_pod(name, deploy.NAMESPACE)
            (cs,) = pod.status.container_statuses or [None]
            if cs is None:
                return None
            if cs.ready:
                return "ready"
            if cs.restart_count > 0 or cs.state.terminated is not None:
                return "crashed"
            return None
        outcome = wait_for("the shipped pod Ready or crashed", settled, timeout=180)
        log = "" if outcome == "ready" else core.read_namespaced_pod_log(
            name, deploy.NAMESPACE, tail_lines=5)
        assert outcome == "ready", f"the shipped crashwatch pod crashed:\n{log}"
    finally:
        core.delete_namespaced_pod(name, deploy.NAMESPACE, grace_period_seconds=0)
