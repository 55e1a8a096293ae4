"""kopf, embedded: registers thin handlers that forward to the Watchdog, and runs.

Only ``@kopf.on.event`` is used on pods, events and owners: kopf then writes nothing to
the watched objects (no annotations, no finalizers, no status). kopf's own Event posting
is off, so it never posts about a pod either.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import kopf
import structlog
from kopf._core.engines.peering import Identity  # kopf 1.45 exports no public name
from prometheus_client import start_http_server

from crashwatch.kube.client import (
    COMPONENT,
    KubeClient,
    LeaseStore,
    RemediationClient,
    api_reachable,
    load_api_client,
)
from crashwatch.logsource import LogsDir
from crashwatch.metrics import Metrics
from crashwatch.remediation.remediator import Remediator
from crashwatch.settings import Settings
from crashwatch.watch import health, listings
from crashwatch.watch.leader import LeaderElector, identity
from crashwatch.watch.store import Store
from crashwatch.watch.watchdog import LogReader, Watchdog

log = structlog.get_logger("crashwatch.operator")

EVENT_FIELD_SELECTOR = f"involvedObject.kind=Pod,source!={COMPONENT}"

OWNER_RESOURCES = (
    ("ReplicaSet", ("apps", "v1", "replicasets")),
    ("Deployment", ("apps", "v1", "deployments")),
    ("StatefulSet", ("apps", "v1", "statefulsets")),
    ("DaemonSet", ("apps", "v1", "daemonsets")),
    ("Job", ("batch", "v1", "jobs")),
    ("CronJob", ("batch", "v1", "cronjobs")),
    ("VerticalPodAutoscaler", ("autoscaling.k8s.io", "v1", "verticalpodautoscalers")),
)


def _guard(dog: Watchdog, resource: str, fn: Any, *args: Any) -> None:
    """A malformed object never stops the watch loop: count it, log it, go on."""
    dog.seen(resource)
    try:
        fn(*args)
    except Exception as err:
        dog.metrics.handler_errors.labels(resource).inc()
        log.warning("handler error", resource=resource, error=str(err)[:300])


def register(registry: kopf.OperatorRegistry, dog: Watchdog, settings: Settings,
             remediator: Remediator | None = None) -> None:
    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> Any:
        # The same credentials as the kubernetes client: in-cluster, else KUBECONFIG.
        return kopf.login_via_client(**kwargs)

    @kopf.on.event("v1", "pods", registry=registry)
    async def pods(event: Mapping[str, Any], **_: Any) -> None:
        _guard(dog, "pods", dog.on_pod, event.get("type"), event.get("object") or {})

    @kopf.on.event("v1", "events", registry=registry)
    async def events(event: Mapping[str, Any], **_: Any) -> None:
        if event.get("type") != "DELETED":
            _guard(dog, "events", dog.on_event, event.get("object") or {})

    for kind, (group, version, plural) in OWNER_RESOURCES:
        def make(kind: str, plural: str) -> Any:
            async def owner(event: Mapping[str, Any], **_: Any) -> None:
                _guard(dog, plural, dog.on_owner, kind, event.get("type"),
                       event.get("object") or {})
            return owner
        kopf.on.event(group, version, plural, registry=registry, id=f"owner-{plural}")(
            make(kind, plural))

    if remediator is not None:
        @kopf.on.event("crashwatch.dev", "v1alpha1", "remediationpolicies", registry=registry)
        async def policies(event: Mapping[str, Any], **_: Any) -> None:
            _guard(dog, "remediationpolicies", remediator.on_policy, event.get("type") or "",
                   event.get("object") or {})

    if settings.watch.namespace_selector:
        @kopf.on.event("v1", "namespaces", registry=registry)
        async def namespaces(event: Mapping[str, Any], **_: Any) -> None:
            _guard(dog, "namespaces", dog.on_namespace, event.get("type"),
                   event.get("object") or {})


class NoDiffBase(kopf.DiffBaseStorage):
    """kopf keeps a "diff base" to tell what changed for on.create/update/resume handlers:
    for every watch event it deep-copies the object to build one. crashwatch has only
    on.event handlers, which never read it, and that copy was a quarter of the operator's
    CPU at 10,000 pods (bench/results/). This storage builds, keeps and stores nothing."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return kopf.BodyEssence()

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


def kopf_settings(settings: Settings) -> kopf.OperatorSettings:
    ks = kopf.OperatorSettings()
    ks.persistence.diffbase_storage = NoDiffBase()
    ks.posting.enabled = False  # kopf must never post Events about watched objects
    # Replicas elect a leader on a Lease (watch/leader.py); kopf's peering, which pauses
    # and relists a standby, is not used.
    ks.peering.standalone = True
    ks.watching.chunk_size = settings.watch.list_chunk_size or None
    # A diagnosis reads only pods' Events, never crashwatch's own: let the API server
    # filter the rest out of the stream (nodes', ReplicaSets', ... and ours).
    ks.watching.field_selectors[("v1", "events")] = EVENT_FIELD_SELECTOR
    ks.watching.server_timeout = 300
    ks.watching.client_timeout = 330
    ks.watching.connect_timeout = 10
    ks.networking.request_timeout = 30
    return ks


async def _every(interval: float, what: str, step: Callable[[], Awaitable[None]]) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await step()
        except Exception as err:  # a failed step must not end the loop
            log.warning(f"{what} failed", error=str(err)[:300])


def lease_namespace(settings: Settings) -> str:
    if settings.server.lease_namespace:
        return settings.server.lease_namespace
    try:
        return Path(SERVICEACCOUNT_NAMESPACE).read_text().strip() or "crashwatch"
    except OSError:
        return "crashwatch"


SERVICEACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
API_PROBE_SECONDS = 10.0
API_STALE_SECONDS = 35.0


async def run(settings: Settings, stop_flag: asyncio.Event | None = None) -> None:
    metrics = Metrics()
    if settings.server.metrics_port:
        start_http_server(settings.server.metrics_port, registry=metrics.registry)
    api = load_api_client()
    kube = KubeClient(api, metrics, dry_run=settings.publish.dry_run)
    remediator: Remediator | None = None
    store = Store(settings.watch)
    if settings.remediation.remediation:
        def held() -> list[tuple[str, Mapping[str, Any]]]:
            return [(kind, obj) for kind in ("Deployment", "StatefulSet", "DaemonSet")
                    for obj in store.owners[kind].values()]

        remediator = Remediator(RemediationClient(api, metrics), metrics, workloads=held)
    reader: LogReader | None = None
    if settings.logs.logs_dir:
        files = LogsDir(settings.logs.logs_dir, max_bytes=settings.logs.log_max_bytes)

        async def from_files(ns: str, pod: str, container: str, previous: bool) -> str | None:
            return await asyncio.to_thread(files, ns, pod, container)

        reader = from_files
    elif settings.logs.read_logs:
        async def from_api(ns: str, pod: str, container: str, previous: bool) -> str | None:
            return await kube.container_log(ns, pod, container, previous,
                                            settings.logs.log_tail_lines,
                                            settings.logs.log_max_bytes)

        reader = from_api
    dog = Watchdog(settings, store, kube, metrics, reader, remedy=remediator,
                   verifier=kube.exists)
    registry = kopf.OperatorRegistry()
    register(registry, dog, settings, remediator)

    me = identity()
    elector: LeaderElector | None = None
    if settings.server.leader_election:
        def lead(leading: bool) -> None:
            metrics.leader.set(1 if leading else 0)
            dog.set_active(leading)

        lease = settings.server.lease_seconds
        elector = LeaderElector(
            LeaseStore(api, lease_namespace(settings), settings.server.lease_name),
            me, lead, lease_seconds=lease, renew_seconds=lease / 3,
            retry_seconds=min(1.0, lease / 6))
        dog.set_active(False)  # a standby until elected
    else:
        metrics.leader.set(1)
    api_ok = [time.monotonic()]

    async def probe_api() -> None:
        if await api_reachable(api):
            api_ok[0] = time.monotonic()

    def ready() -> tuple[bool, str]:
        if elector is not None and not elector.leading:
            return False, f"standing by (leader: {elector.holder or 'none yet'})"
        if time.monotonic() - api_ok[0] > API_STALE_SECONDS:
            return False, "the API server does not answer"
        if not dog.caught_up():
            return False, "listing the cluster"
        return True, "watching"

    log.info("starting", namespaces=list(settings.watch.namespaces) or "all",
             metrics_port=settings.server.metrics_port, health_port=settings.server.health_port,
             dry_run=settings.publish.dry_run,
             leader_election=settings.server.lease_name if elector else None)
    runner = (await health.serve(settings.server.health_port, ready)
              if settings.server.health_port else None)
    tasks = [asyncio.create_task(_every(settings.watch.sweep_interval_seconds, "sweep",
                                        dog.sweep)),
             asyncio.create_task(_every(API_PROBE_SECONDS, "api probe", probe_api))]
    if elector is not None:
        tasks.append(asyncio.create_task(elector.run()))
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    if not listings.install(dog.on_listing):
        log.warning("relists cannot be followed: what vanished during a watch gap is found "
                    "by the periodic check only", every=settings.watch.verify_interval_seconds)
    try:
        await kopf.operator(
            registry=registry,
            settings=kopf_settings(settings),
            clusterwide=not settings.watch.namespaces,
            namespaces=settings.watch.namespaces,
            standalone=True,
            stop_flag=stop_flag,
            # kopf would name itself after the user (getpass): the image's UID 65532 has no
            # passwd entry, and kopf's own guess raised KeyError at start in the real pod.
            identity=Identity(me),
        )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if dog.active:
            await dog.drain()
        if elector is not None:
            await elector.release()
        if runner is not None:
            await runner.cleanup()
        log.info("stopped")
