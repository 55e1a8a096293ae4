"""Workloads for the real node and waits on what crashwatch publishes. No fixed sleeps:
every wait polls a state (an annotation, a status) until it holds or a deadline passes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client, watch

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
        for cs in [*(pod.status.init_container_statuses or []),
                   *(pod.status.container_statuses or [])]:
            out.append(f"  {cs.name}: restarts={cs.restart_count} ready={cs.ready} "
                       f"state={cs.state.to_dict()} last={cs.last_state.to_dict()}")
    for ev in core.list_namespaced_event(ns).items:
        out.append(f"event {ev.involved_object.name} {ev.type} {ev.reason} x{ev.count}: "
                   f"{ev.message}")
    return "\n".join(out)


class PodRecorder:
    """Every version of every pod of a namespace, as a watch delivers them (in the API
    server's order), so a test can assert what was ever written, not just the last state."""

    def __init__(self, core: client.CoreV1Api, ns: str) -> None:
        self.core, self.ns = core, ns
        self.pods: list[Any] = []
        self._watch = watch.Watch()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:  # a broken stream starts again from a fresh list (the current versions)
                for ev in self._watch.stream(self.core.list_namespaced_pod, self.ns,
                                             timeout_seconds=600):
                    self.pods.append(ev["object"])
            except Exception:  # the connection ends when stop() closes it
                if self._stopped.is_set():
                    return
                time.sleep(0.5)

    def stop(self) -> None:
        self._stopped.set()
        self._watch.stop()

    def __enter__(self) -> PodRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def terminations(self) -> list[Any]:
        """Every ``terminated`` record seen (state or lastState), as V1ContainerStateTerminated."""
        out = []
        for pod in list(self.pods):
            for cs in pod.status.container_statuses or []:
                for t in (cs.state.terminated, cs.last_state.terminated):
                    if t is not None:
                        out.append(t)
        return out

    def annotated(self, name_prefix: str = "") -> list[str]:
        """crashwatch reasons ever seen on pods whose name starts with ``name_prefix``."""
        return [annotations(p)[REASON] for p in list(self.pods)
                if p.metadata.name.startswith(name_prefix) and REASON in annotations(p)]


def crashwatch_events(core: client.CoreV1Api, ns: str, name: str,
                      reason: str | None = None) -> list[Any]:
    """crashwatch's Events about one object (they outlive the annotations)."""
    return [e for e in core.list_namespaced_event(ns).items
            if e.involved_object.name == name and e.source and e.source.component == "crashwatch"
            and (reason is None or e.reason == reason)]
