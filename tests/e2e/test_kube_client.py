"""crashwatch's writes and reads of built-in objects (crashwatch.kube.client over
crashwatch.kube.rest) against the real API server: the patch types it accepts, the Event
written once and counted again by a second instance, a guarded patch refused when the object
moved on."""

from __future__ import annotations

import asyncio
from typing import Any

from kubernetes import client
from prometheus_client import CollectorRegistry
from tests.cluster.controlplane.plane import ControlPlane
from tests.e2e.test_operator import wait_for

from crashwatch.kube.client import KubeClient, Outcome, RemediationClient
from crashwatch.metrics import Metrics


def _deployment(ns: str, name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": 0, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": "app", "image": "registry.example/app:1",
                          "resources": {"limits": {"memory": "64Mi"}}}]}}}}


def _settled(apps: client.AppsV1Api, ns: str, name: str) -> bool:
    """The Deployment controller is done with it (a rollout of 0 pods, complete): it writes
    nothing more to the object until the object changes again."""
    d = apps.read_namespaced_deployment(name, ns)
    return d.status.observed_generation == d.metadata.generation and any(
        c.type == "Progressing" and c.reason == "NewReplicaSetAvailable"
        for c in d.status.conditions or [])


def _client(api: client.ApiClient, cls: type[KubeClient] = KubeClient) -> Any:
    if cls is RemediationClient:
        return RemediationClient(api, Metrics(CollectorRegistry()))
    return KubeClient(api, Metrics(CollectorRegistry()))


def test_annotations_are_set_and_removed_by_a_merge_of_crashwatchs_keys_only(
        control_plane: ControlPlane, api: client.ApiClient, apps: client.AppsV1Api,
        namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, _deployment(namespace, "web"))
    kube = _client(api)
    assert asyncio.run(kube.annotate("Deployment", namespace, "web", {
        "crashwatch.dev/reason": "CrashLoop.MissingEnv", "team": "shop"}))
    got = apps.read_namespaced_deployment("web", namespace).metadata.annotations
    assert got["crashwatch.dev/reason"] == "CrashLoop.MissingEnv" and got["team"] == "shop"
    assert asyncio.run(kube.annotate("Deployment", namespace, "web",
                                     {"crashwatch.dev/reason": None}))
    got = apps.read_namespaced_deployment("web", namespace).metadata.annotations
    assert "crashwatch.dev/reason" not in got and got["team"] == "shop"
    assert asyncio.run(kube.exists("Deployment", namespace, "web")) is True
    assert asyncio.run(kube.exists("Deployment", namespace, "gone")) is False


def test_an_event_is_posted_once_and_counted_again_by_another_instance(
        control_plane: ControlPlane, api: client.ApiClient, core: client.CoreV1Api,
        namespace: str) -> None:
    args = ("Deployment", namespace, "web", "uid-1", "CrashLoop.MissingEnv")
    assert asyncio.run(_client(api).post_event(*args, "first"))
    # a new instance knows no count: its create is a 409, it reads the count and raises it
    assert asyncio.run(_client(api).post_event(*args, "second"))
    events = [e for e in core.list_namespaced_event(namespace).items
              if e.reason == "CrashLoop.MissingEnv"]
    assert len(events) == 1
    assert (events[0].count, events[0].message) == (2, "second")


def test_a_guarded_patch_applies_on_the_version_read_and_is_refused_after_a_change(
        control_plane: ControlPlane, api: client.ApiClient, apps: client.AppsV1Api,
        namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, _deployment(namespace, "web"))
    # until the controller is done with it, its own writes would move the version on too
    wait_for("the Deployment controller to finish", lambda: _settled(apps, namespace, "web"))
    rem = _client(api, RemediationClient)
    seen = asyncio.run(rem.read("Deployment", namespace, "web"))
    version = seen["metadata"]["resourceVersion"]
    floor = [{"op": "test", "path": "/metadata/resourceVersion", "value": version},
             {"op": "replace", "path": "/spec/template/spec/containers/0/resources/limits/memory",
              "value": "512Mi"}]
    assert asyncio.run(rem.guarded_patch("Deployment", namespace, "web", floor)) == Outcome.OK
    now = apps.read_namespaced_deployment("web", namespace)
    assert now.spec.template.spec.containers[0].resources.limits["memory"] == "512Mi"
    # the same patch again: the version it tests is gone
    assert asyncio.run(rem.guarded_patch("Deployment", namespace, "web", floor)) == (
        Outcome.CONFLICT)
    assert asyncio.run(rem.read("Deployment", namespace, "gone")) is None
    assert asyncio.run(rem.limit_ranges(namespace)) == []
