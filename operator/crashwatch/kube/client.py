"""The one place crashwatch writes to the cluster (and reads pod logs).

The kubernetes client is synchronous; each call runs in a worker thread. Writes are
idempotent: annotations by merge patch of crashwatch's own keys only, Events under a
deterministic name per (object, reason) whose count is raised instead of posting twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError as TransportError

from crashwatch.kube.errors import api_message
from crashwatch.kube.logs import read_container_log
from crashwatch.kube.rest import RawApi
from crashwatch.metrics import Metrics

log = structlog.get_logger("crashwatch.kube")

COMPONENT = "crashwatch"
REPORTING_CONTROLLER = "crashwatch.dev/crashwatch"
RETRIES = 3

_API_VERSION = {"Pod": "v1", "ReplicaSet": "apps/v1", "Deployment": "apps/v1",
                "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "Job": "batch/v1",
                "CronJob": "batch/v1", "RemediationPolicy": "crashwatch.dev/v1alpha1"}


def load_api_client() -> client.ApiClient:
    """In-cluster credentials when running in a pod, else the kubeconfig (KUBECONFIG)."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.ApiClient()


def _namespace_terminating(err: ApiException) -> bool:
    """403 "unable to create new content in namespace X because it is being terminated":
    the object is on its way out; not a permission problem."""
    return err.status == 403 and "being terminated" in str(err.body or "")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _discard_answer(fn: Any, *args: Any, **kwargs: Any) -> None:
    """Call a generated API method for its effect only (errors still raise ApiException)."""
    response = fn(*args, _preload_content=False, **kwargs)
    try:
        response.read()
    finally:
        response.release_conn()


class KubeClient:
    def __init__(self, api: client.ApiClient, metrics: Metrics, dry_run: bool = False) -> None:
        # the generated CoreV1Api, AppsV1Api and BatchV1Api cost 21 MB to import: the calls
        # below go through crashwatch.kube.rest instead, by the same names
        self.core = self.apps = self.batch = RawApi(api)
        self.metrics = metrics
        self.dry_run = dry_run
        self.instance = socket.gethostname()
        self._event_counts: dict[tuple[str, str], int] = {}

    async def _call(self, write: str, kind: str, fn: Any, *args: Any, **kwargs: Any) -> None:
        """Run one write with bounded retries on transient errors. The answer is read and
        dropped, never turned into models (a V1Pod costs milliseconds of CPU to build)."""
        for attempt in range(RETRIES):
            try:
                await asyncio.to_thread(_discard_answer, fn, *args, **kwargs)
            except ApiException as err:
                if err.status in (404, 410):
                    self.metrics.publications.labels(write, kind, "gone").inc()
                    return None
                if err.status in (409, 422, 403, 400):
                    self.metrics.publications.labels(write, kind, f"http_{err.status}").inc()
                    raise
                if attempt == RETRIES - 1:
                    self.metrics.publications.labels(write, kind, "error").inc()
                    raise
            except (OSError, ValueError, TransportError):
                if attempt == RETRIES - 1:
                    self.metrics.publications.labels(write, kind, "error").inc()
                    raise
            else:
                self.metrics.publications.labels(write, kind, "ok").inc()
                return
            await asyncio.sleep(0.2 * 2**attempt)

    async def annotate(self, kind: str, namespace: str, name: str,
                       annotations: Mapping[str, str | None]) -> bool:
        """Set (or, with None, remove) annotations on one object.

        False only when trying again may help (the API server is away); a refusal that will
        not change by itself (403 forbidden by RBAC, 422 invalid) is logged, counted and
        reported as done, so it is not retried forever."""
        if self.dry_run:
            self.metrics.publications.labels("annotation", kind, "dry_run").inc()
            return True
        body = {"metadata": {"annotations": dict(annotations)}}
        fn = {
            "Pod": self.core.patch_namespaced_pod,
            "Deployment": self.apps.patch_namespaced_deployment,
            "StatefulSet": self.apps.patch_namespaced_stateful_set,
            "DaemonSet": self.apps.patch_namespaced_daemon_set,
            "ReplicaSet": self.apps.patch_namespaced_replica_set,
            "Job": self.batch.patch_namespaced_job,
            "CronJob": self.batch.patch_namespaced_cron_job,
        }.get(kind)
        if fn is None:
            return False
        try:
            await self._call("annotation", kind, fn, name, namespace, body)
        except ApiException as err:
            if _namespace_terminating(err):
                return True
            permanent = err.status in (400, 403, 422)
            log.warning("annotate refused" if permanent else "annotate failed", kind=kind,
                        namespace=namespace, name=name, status=err.status,
                        error=api_message(err))
            return permanent
        except (OSError, ValueError, TransportError) as err:
            log.warning("annotate failed", kind=kind, namespace=namespace, name=name,
                        error=str(err)[:200])
            return False
        return True

    async def post_event(self, kind: str, namespace: str, name: str, uid: str,
                         reason: str, message: str, type_: str = "Warning") -> bool:
        """Post (or count again) a Warning Event about one object."""
        if self.dry_run:
            self.metrics.publications.labels("event", kind, "dry_run").inc()
            return True
        digest = hashlib.sha256(f"{uid}/{reason}".encode()).hexdigest()[:12]
        event_name = f"{name}.cw{digest}"[:253]
        key = (namespace, event_name)
        now = _now()
        count = self._event_counts.get(key, 0) + 1
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": event_name, "namespace": namespace,
                         "labels": {"app.kubernetes.io/managed-by": "crashwatch"}},
            "involvedObject": {"apiVersion": _API_VERSION.get(kind, "v1"), "kind": kind,
                               "namespace": namespace, "name": name, "uid": uid},
            "reason": reason,
            "message": message[:1024],
            "type": type_,
            "count": count,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "source": {"component": COMPONENT},
            "reportingComponent": REPORTING_CONTROLLER,
            "reportingInstance": self.instance,
        }
        try:
            if count == 1:
                try:
                    await self._call("event", kind, self.core.create_namespaced_event,
                                     namespace, body)
                    self._event_counts[key] = 1
                    return True
                except ApiException as err:
                    if err.status != 409:
                        raise
                    existing = await asyncio.to_thread(
                        self.core.read_namespaced_event, event_name, namespace)
                    count = int(as_mapping(existing).get("count") or 1) + 1
            patch = {"count": count, "lastTimestamp": now, "message": message[:1024]}
            await self._call("event", kind, self.core.patch_namespaced_event, event_name,
                             namespace, patch)
            self._event_counts[key] = count
            return True
        except ApiException as err:
            if _namespace_terminating(err):
                return True
            log.warning("event failed", kind=kind, namespace=namespace, name=name,
                        status=err.status, error=api_message(err))
            return False
        except (OSError, ValueError, TransportError) as err:
            log.warning("event failed", kind=kind, namespace=namespace, name=name,
                        error=str(err)[:200])
            return False

    async def container_log(self, namespace: str, pod: str, container: str, previous: bool,
                            tail_lines: int, max_bytes: int) -> str | None:
        """A container instance's log tail: the previous instance's, or (``previous=False``)
        the current one's, as for a container that has just terminated. None when the
        kubelet has none to give (``crashwatch.kube.logs``)."""
        answer = await asyncio.to_thread(
            read_container_log, self.core, namespace, pod, container, previous=previous,
            tail_lines=tail_lines, max_bytes=max_bytes)
        return answer.text

    async def exists(self, kind: str, namespace: str, name: str, uid: str = "") -> bool | None:
        """Does the object (with this uid, if given) still exist? None when the API server
        cannot tell right now."""
        read = {
            "Pod": self.core.read_namespaced_pod,
            "ReplicaSet": self.apps.read_namespaced_replica_set,
            "Deployment": self.apps.read_namespaced_deployment,
            "StatefulSet": self.apps.read_namespaced_stateful_set,
            "DaemonSet": self.apps.read_namespaced_daemon_set,
            "Job": self.batch.read_namespaced_job,
            "CronJob": self.batch.read_namespaced_cron_job,
        }.get(kind)
        if read is None:
            return None
        try:
            response = await asyncio.to_thread(read, name, namespace, _preload_content=False,
                                               _request_timeout=10)
            body = await asyncio.to_thread(_read_json, response)
        except ApiException as err:
            return False if err.status == 404 else None
        except (OSError, ValueError, TransportError):
            return None
        found = str(body.get("metadata", {}).get("uid", "")) if isinstance(body, dict) else ""
        return not uid or not found or found == uid

    async def failed_creates(self, namespace: str, kind: str, name: str,
                             uid: str = "") -> list[dict[str, Any]]:
        """The ``FailedCreate`` and ``SuccessfulCreate`` Events about one workload (this one:
        ``uid``), the newest few of each (empty when they cannot be read): the only record of
        a StatefulSet's, DaemonSet's or Job's refused pods, and whether a pod was created
        since. crashwatch's watch of Events is of pods' only."""
        selector = f"involvedObject.kind={kind},involvedObject.name={name}"
        if uid:
            selector += f",involvedObject.uid={uid}"
        try:
            response = await asyncio.to_thread(self.core.list_namespaced_event, namespace,
                                               field_selector=selector,
                                               _preload_content=False, _request_timeout=10)
            body = await asyncio.to_thread(_read_json, response)
        except (ApiException, OSError, ValueError, TransportError) as err:
            log.warning("events unreadable", namespace=namespace, kind=kind, name=name,
                        error=str(err)[:200])
            return []
        items = body.get("items") if isinstance(body, dict) else None
        kept: dict[str, list[dict[str, Any]]] = {"FailedCreate": [], "SuccessfulCreate": []}
        for x in items or []:
            if isinstance(x, dict) and x.get("reason") in kept:
                kept[str(x["reason"])].append({"apiVersion": "v1", "kind": "Event", **x})
        out: list[dict[str, Any]] = []
        for found in kept.values():
            found.sort(key=lambda ev: str(ev.get("lastTimestamp") or ev.get("eventTime") or ""))
            out += found[-3:]
        return out


def _read_json(response: Any) -> Any:
    try:
        return json.loads(response.read())
    finally:
        response.release_conn()


class Outcome:
    """How a guarded write ended."""

    OK = "applied"
    CONFLICT = "conflict"
    GONE = "gone"
    REFUSED = "refused"
    ERROR = "error"


_READERS = {  # kind -> (read, patch) methods of AppsV1Api
    "Deployment": ("read_namespaced_deployment", "patch_namespaced_deployment"),
    "StatefulSet": ("read_namespaced_stateful_set", "patch_namespaced_stateful_set"),
    "DaemonSet": ("read_namespaced_daemon_set", "patch_namespaced_daemon_set"),
    "ReplicaSet": ("read_namespaced_replica_set", "patch_namespaced_replica_set"),
}


class RemediationClient(KubeClient):
    """The write verbs of remediation: kept apart from the watch-only writes above, and
    each guarded by the object's resourceVersion (optimistic concurrency)."""

    def __init__(self, api: client.ApiClient, metrics: Metrics) -> None:
        super().__init__(api, metrics)
        self.api = api
        self.custom = client.CustomObjectsApi(api)

    async def read(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        reader, _ = _READERS[kind]
        try:
            obj = await asyncio.to_thread(getattr(self.apps, reader), name, namespace)
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        data = self.api.sanitize_for_serialization(obj)
        return data if isinstance(data, dict) else None

    async def guarded_patch(self, kind: str, namespace: str, name: str,
                            patch: list[dict[str, Any]] | dict[str, Any]) -> str:
        """A JSON patch (list, with a resourceVersion ``test``) or a merge patch carrying
        ``metadata.resourceVersion``: the API server refuses it if the object changed."""
        _, patcher = _READERS[kind]
        try:
            await asyncio.to_thread(getattr(self.apps, patcher), name, namespace, patch)
        except ApiException as err:
            if err.status == 404:
                return Outcome.GONE
            if err.status in (409, 422):  # 422: the resourceVersion "test" op failed
                return Outcome.CONFLICT
            if err.status == 403:
                return Outcome.REFUSED
            log.warning("remediation write failed", kind=kind, namespace=namespace, name=name,
                        status=err.status, error=api_message(err))
            return Outcome.ERROR
        except (OSError, ValueError, TransportError):
            return Outcome.ERROR
        return Outcome.OK

    async def limit_ranges(self, namespace: str) -> list[dict[str, Any]]:
        """The namespace's LimitRanges (empty when they cannot be read)."""
        try:
            response = await asyncio.to_thread(self.core.list_namespaced_limit_range,
                                               namespace, _preload_content=False,
                                               _request_timeout=10)
            body = await asyncio.to_thread(_read_json, response)
        except (ApiException, OSError, ValueError, TransportError) as err:
            log.warning("limit ranges unreadable", namespace=namespace, error=str(err)[:200])
            return []
        items = body.get("items") if isinstance(body, dict) else None
        return [x for x in items or [] if isinstance(x, dict)]

    async def read_vpa(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            obj = await asyncio.to_thread(
                self.custom.get_namespaced_custom_object, "autoscaling.k8s.io", "v1",
                namespace, "verticalpodautoscalers", name)
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        return obj if isinstance(obj, dict) else None

    async def replace_vpa(self, namespace: str, name: str, body: dict[str, Any]) -> str:
        """Replace with the body's resourceVersion: a concurrent change makes it a 409."""
        try:
            await asyncio.to_thread(
                self.custom.replace_namespaced_custom_object, "autoscaling.k8s.io", "v1",
                namespace, "verticalpodautoscalers", name, body)
        except ApiException as err:
            return {404: Outcome.GONE, 409: Outcome.CONFLICT, 403: Outcome.REFUSED}.get(
                err.status, Outcome.ERROR)
        return Outcome.OK

    async def patch_policy_status(self, namespace: str, name: str,
                                  status: dict[str, Any]) -> bool:
        try:
            await asyncio.to_thread(
                self.custom.patch_namespaced_custom_object_status, "crashwatch.dev", "v1alpha1",
                namespace, "remediationpolicies", name, {"status": status})
        except (ApiException, OSError, ValueError, TransportError) as err:
            log.warning("policy status failed", namespace=namespace, name=name,
                        error=str(err)[:200])
            return False
        return True


class LeaseStore:
    """One ``coordination.k8s.io/v1`` Lease, read and written as plain JSON; every write
    carries the resourceVersion read (a concurrent change makes it a conflict: False)."""

    def __init__(self, api: client.ApiClient, namespace: str, name: str) -> None:
        self.leases = client.CoordinationV1Api(api)
        self.namespace = namespace
        self.name = name

    async def get(self) -> dict[str, Any] | None:
        try:
            response = await asyncio.to_thread(
                self.leases.read_namespaced_lease, self.name, self.namespace,
                _preload_content=False, _request_timeout=5)
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        body = await asyncio.to_thread(_read_json, response)
        return body if isinstance(body, dict) else None

    async def create(self, spec: dict[str, Any]) -> bool:
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace}, "spec": spec}
        try:
            await asyncio.to_thread(_discard_answer, self.leases.create_namespaced_lease,
                                    self.namespace, body, _request_timeout=5)
        except ApiException as err:
            if err.status == 409:
                return False
            raise
        return True

    async def replace(self, lease: dict[str, Any]) -> bool:
        try:
            await asyncio.to_thread(_discard_answer, self.leases.replace_namespaced_lease,
                                    self.name, self.namespace, lease, _request_timeout=5)
        except ApiException as err:
            if err.status == 409:
                return False
            raise
        return True


async def api_reachable(api: client.ApiClient) -> bool:
    """Does the API server answer (``/version``, readable by every authenticated user)?"""
    try:
        await asyncio.to_thread(client.VersionApi(api).get_code, _request_timeout=5)
    except (ApiException, OSError, ValueError, TransportError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class ServerFeatures:
    """What the API server offers for watches (None: it could not be told)."""

    shards: bool | None
    """It applies a ``shardSelector`` (a list echoes ``metadata.shardInfo``)."""
    streaming: bool | None
    """It streams initial events (``sendInitialEvents``) and marks their end."""


#: No pod is named so: the streaming probe asks for nothing but the end-of-initial-events mark.
_PROBE_POD = "crashwatch-probe-none"
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _list_pods(api: client.ApiClient, namespace: str | None, **query: Any) -> Any:
    core = RawApi(api)
    if namespace:
        return core.list_namespaced_pod(namespace, _preload_content=False,
                                        _request_timeout=10, **query)
    return core.list_pod_for_all_namespaces(_preload_content=False, _request_timeout=10,
                                            **query)


def _probe_shards(api: client.ApiClient, selector: str, namespace: str | None) -> bool | None:
    try:
        body = _read_json(_list_pods(api, namespace, limit=1, shard_selector=selector))
    except ApiException as err:
        if err.status in (400, 422):  # a server that reads the selector and refuses it
            log.error("the API server refused the shard selector", selector=selector,
                      error=api_message(err))
            return False
        return None
    except (OSError, ValueError, TransportError):
        return None
    info = as_mapping(as_mapping(body).get("metadata")).get("shardInfo")
    return as_mapping(info).get("selector") == selector


def _probe_streaming(api: client.ApiClient, namespace: str | None) -> bool | None:
    try:
        response = _list_pods(api, namespace, watch=True, send_initial_events=True,
                              resource_version_match="NotOlderThan",
                              allow_watch_bookmarks=True,
                              field_selector=f"metadata.name={_PROBE_POD}", timeout_seconds=5)
    except ApiException as err:
        # 422 "sendInitialEvents is forbidden for watch unless the WatchList feature gate is
        # enabled"; 400 from servers that predate it
        return False if err.status in (400, 422) else None
    except (OSError, ValueError, TransportError):
        return None
    try:
        line = response.readline()  # the first event: nothing matches, so the end mark
    except (OSError, ValueError, TransportError):
        return None
    finally:
        response.close()  # the rest of the stream is not wanted: the connection goes too
    try:
        event = json.loads(line) if line else {}
    except ValueError:
        return False
    annotations = as_mapping(as_mapping(as_mapping(event).get("object")).get("metadata")).get(
        "annotations")
    return as_mapping(event).get("type") == "BOOKMARK" and as_mapping(annotations).get(
        INITIAL_EVENTS_END) == "true"


async def probe_server(api: client.ApiClient, shard_selector: str | None,
                       namespace: str | None, attempts: int = 3,
                       pause: float = 2.0) -> ServerFeatures:
    """Ask the API server (in ``namespace``, or cluster-wide) whether it shards a list by
    ``shard_selector`` and streams initial events. Retried while it cannot tell."""
    shards: bool | None = None if shard_selector else False
    streaming: bool | None = None
    for attempt in range(attempts):
        if shards is None and shard_selector:
            shards = await asyncio.to_thread(_probe_shards, api, shard_selector, namespace)
        if streaming is None:
            streaming = await asyncio.to_thread(_probe_streaming, api, namespace)
        if shards is not None and streaming is not None:
            break
        if attempt < attempts - 1:
            await asyncio.sleep(pause)
    return ServerFeatures(shards, streaming)


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
