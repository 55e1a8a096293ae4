"""Workloads for the real node and waits on what crashwatch publishes. No fixed sleeps:
every wait polls a state (an annotation, a status) until it holds or a deadline passes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client

REASON = "crashwatch.dev/reason"
SUMMARY = "crashwatch.dev/summary"
EVIDENCE = "crashwatch.dev/evidence"


def wait_for(what: str, check: Callable[[], Any], timeout: float = 120.0,
             interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def container(image: str, *args: str, **extra: Any) -> dict[str, Any]:
    """A container named ``app`` (tiny requests: the node has 2 cores for everything)."""
    spec: dict[str, Any] = {
        "name": "app", "image": image, "args": list(args),
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
    }
    spec.update(extra)
    return spec


def pod_spec(app: dict[str, Any], **extra: Any) -> dict[str, Any]:
    # A kill is final at once: the tests wait for restarts, not for graceful shutdowns.
    return {"containers": [app], "terminationGracePeriodSeconds": 2, **extra}


def create_pod(core: client.CoreV1Api, ns: str, name: str, app: dict[str, Any],
               **extra: Any) -> None:
    core.create_namespaced_pod(ns, {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": pod_spec(app, **extra)})


def create_deployment(apps: client.AppsV1Api, ns: str, name: str, app: dict[str, Any],
                      **extra: Any) -> None:
    apps.create_namespaced_deployment(ns, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec(app, **extra)},
        }})


def annotations(obj: Any) -> dict[str, str]:
    return dict(obj.metadata.annotations or {})


def published(core: client.CoreV1Api, ns: str, selector: str, reason: str | None = None,
              timeout: float = 150.0) -> dict[str, str]:
    """Wait until a pod matching ``selector`` carries crashwatch's reason annotation (the
    given one, if any); return that pod's annotations."""
    def check() -> dict[str, str] | None:
        for pod in core.list_namespaced_pod(ns, label_selector=selector).items:
            ann = annotations(pod)
            if REASON in ann and (reason is None or ann[REASON] == reason):
                return ann
        return None
    what = f"crashwatch's {reason or 'reason'} on a pod of {ns}/{selector}"
    found: dict[str, str] = wait_for(what, check, timeout)
    return found


def evidence(ann: dict[str, str]) -> list[str]:
    return list(json.loads(ann.get(EVIDENCE, "[]")))


def describe(core: client.CoreV1Api, ns: str) -> str:
    """The pods' statuses and the namespace's Events, for an assertion's message."""
    out = []
    for pod in core.list_namespaced_pod(ns).items:
        out.append(f"pod {pod.metadata.name} annotations={annotations(pod)}")
        for cs in pod.status.container_statuses or []:
            out.append(f"  {cs.name}: restarts={cs.restart_count} state={cs.state.to_dict()} "
                       f"last={cs.last_state.to_dict()}")
    for ev in core.list_namespaced_event(ns).items:
        out.append(f"event {ev.involved_object.name} {ev.type} {ev.reason} x{ev.count}: "
                   f"{ev.message}")
    return "\n".join(out)
