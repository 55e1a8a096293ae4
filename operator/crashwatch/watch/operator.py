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
    ServerFeatures,
    api_reachable,
    load_api_client,
    probe_server,
)
from crashwatch.logsource import LogsDir
from crashwatch.metrics import Metrics
from crashwatch.remediation.remediator import Remediator
from crashwatch.settings import Settings
from crashwatch.sharding import Shard
from crashwatch.watch import decoding, health, listings
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


Handler = Callable[[Mapping[str, Any]], None]
#: The resources split among shards, by namespace (kopf's selector keys): everything about
#: one workload lands on one replica. Namespaces and CRDs are not sharded.
SHARDED_RESOURCES: tuple[tuple[str, str] | tuple[str, str, str], ...] = (
    ("v1", "pods"), ("v1", "events"),
    *((group, version, plural) for _, (group, version, plural) in OWNER_RESOURCES),
    ("crashwatch.dev", "v1alpha1", "remediationpolicies"),
)
SHARDED_PLURALS = frozenset(key[-1] for key in SHARDED_RESOURCES)


def handlers(dog: Watchdog, settings: Settings, remediator: Remediator | None = None
             ) -> dict[tuple[str, str, str], Handler]:
    """``(group, version, plural)`` -> what a watch event of that resource does. A malformed
    object never stops the watch loop: counted, logged, the next one goes on."""
    def guarded(resource: str, fn: Handler) -> Handler:
        def handle(event: Mapping[str, Any]) -> None:
            dog.seen(resource)
            try:
                fn(event)
            except Exception as err:
                dog.metrics.handler_errors.labels(resource).inc()
                log.warning("handler error", resource=resource, error=str(err)[:300])
        return handle

    def body(event: Mapping[str, Any]) -> Mapping[str, Any]:
        obj = event.get("object")
        return obj if isinstance(obj, Mapping) else {}

    def pods(event: Mapping[str, Any]) -> None:
        dog.on_pod(event.get("type"), body(event))

    def events(event: Mapping[str, Any]) -> None:
        if event.get("type") != "DELETED":
            dog.on_event(body(event))

    def owner(kind: str) -> Handler:
        return lambda event: dog.on_owner(kind, event.get("type"), body(event))

    table = {("", "v1", "pods"): guarded("pods", pods),
             ("", "v1", "events"): guarded("events", events)}
    for kind, (group, version, plural) in OWNER_RESOURCES:
        table[(group, version, plural)] = guarded(plural, owner(kind))
    if remediator is not None:
        table[("crashwatch.dev", "v1alpha1", "remediationpolicies")] = guarded(
            "remediationpolicies",
            lambda event: remediator.on_policy(str(event.get("type") or ""), body(event)))
    if settings.watch.namespace_selector:
        table[("", "v1", "namespaces")] = guarded(
            "namespaces", lambda event: dog.on_namespace(event.get("type"), body(event)))
    return table


def direct_handlers(table: Mapping[tuple[str, str, str], Handler]
                    ) -> dict[tuple[str, str], Handler]:
    """The handlers the watch-stream adapter calls as events are read: all but the
    namespaces' (kopf's namespace observer reads that stream too, when the operator is
    limited to some namespaces; those events are few)."""
    return {(group, plural): handle for (group, _, plural), handle in table.items()
            if (group, plural) != ("", "namespaces")}


def shard_filter(shard: Shard, metrics: Metrics, server: bool = False
                 ) -> listings.Admit | None:
    """Keep an event of a sharded resource only if its namespace is this shard's (a
    dictionary lookup; other shards' are counted and dropped). It runs where the API server
    shards too (``server``): one that stops sharding (restarted without the feature gate)
    cannot make two replicas act on one object; that is said once. None: nothing to
    filter."""
    if not shard.sharded:
        return None
    dropped: dict[str, Any] = {}

    def admit(plural: str, obj: Any) -> bool:
        if plural not in SHARDED_PLURALS:
            return True
        md = obj.get("metadata") if isinstance(obj, Mapping) else None
        namespace = md.get("namespace") if isinstance(md, Mapping) else None
        if shard.owns(namespace if isinstance(namespace, str) else ""):
            return True
        counter = dropped.get(plural)
        if counter is None:
            counter = dropped[plural] = metrics.shard_dropped.labels(plural)
            if server:
                log.warning("the API server sent another shard's object although it shards; "
                            "dropped here", resource=plural, namespace=namespace)
        counter.inc()
        return False
    return admit


def register(registry: kopf.OperatorRegistry, table: Mapping[tuple[str, str, str], Handler],
             admit: listings.Admit | None = None) -> None:
    """kopf's handlers: each event, if admitted, to its handler. (Where the watch-stream
    adapter is installed, it hands them over before kopf's workers and these stay idle.)"""
    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> Any:
        # The same credentials as the kubernetes client: in-cluster, else KUBECONFIG.
        return kopf.login_via_client(**kwargs)

    for (group, version, plural), handle in table.items():
        def make(plural: str, handle: Handler) -> Any:
            async def on_event(event: Mapping[str, Any], **_: Any) -> None:
                if admit is None or admit(plural, event.get("object")):
                    handle(event)
            return on_event
        where = (group, version, plural) if group else (version, plural)
        kopf.on.event(*where, registry=registry, id=f"event-{plural}")(make(plural, handle))


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


def kopf_settings(settings: Settings, shard_selector: str | None = None,
                  streaming: bool = False) -> kopf.OperatorSettings:
    """kopf's settings. ``shard_selector``: the API server sends only this shard's pods,
    Events, owners and policies. ``streaming``: initial listings as initial events."""
    ks = kopf.OperatorSettings()
    ks.persistence.diffbase_storage = NoDiffBase()
    ks.posting.enabled = False  # kopf must never post Events about watched objects
    # Replicas elect a leader on a Lease (watch/leader.py); kopf's peering, which pauses
    # and relists a standby, is not used.
    ks.peering.standalone = True
    ks.watching.chunk_size = settings.watch.list_chunk_size or None
    ks.watching.initial_streaming = streaming
    if shard_selector:
        for key in SHARDED_RESOURCES:
            ks.watching.shard_selectors[key] = shard_selector
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


def lease_name(settings: Settings) -> str:
    """The Lease replicas elect a leader on: one per shard (``crashwatch-shard-2``), so that
    several replicas of each shard may stand by for it."""
    if settings.watch.shards > 1:
        return f"{settings.server.lease_name}-shard-{settings.watch.shard_index}"
    return settings.server.lease_name


async def ask_server(api: Any, settings: Settings, shard: Shard, metrics: Metrics
                     ) -> tuple[bool, bool]:
    """Does the API server shard (when this replica is a shard) and stream initial events
    (when asked to)? Decided once at start, said in the log and in crashwatch_shard_info."""
    namespace = settings.watch.namespaces[0] if settings.watch.namespaces else None
    if not shard.sharded and not settings.watch.initial_streaming:
        found = ServerFeatures(False, False)
    else:
        found = await probe_server(api, shard.selector if shard.sharded else None, namespace)
    streaming = bool(settings.watch.initial_streaming and found.streaming)
    if settings.watch.initial_streaming and not streaming:
        log.info("initial listings are paged lists: the API server does not stream initial "
                 "events" if found.streaming is False else "initial listings are paged lists: "
                 "the API server did not say whether it streams initial events")
    server_shards = bool(shard.sharded and found.shards)
    filtering = "none" if not shard.sharded else "server" if server_shards else "client"
    metrics.shard.labels(str(shard.index), str(shard.count), filtering).set(1)
    metrics.shards.set(shard.count)
    if filtering == "server":
        log.info("the API server shards the watches: it sends this replica only its "
                 "namespaces' objects", shard=str(shard), selector=shard.selector)
    elif filtering == "client":
        log.warning("the API server does not shard (feature gate ShardedListAndWatch off, or "
                    "a server before Kubernetes 1.36)" if found.shards is False else
                    "the API server did not say whether it shards", shard=str(shard),
                    consequence="every object is received and decoded; other shards' "
                    "are dropped here, before they are held")
    return server_shards, streaming


async def run(settings: Settings, stop_flag: asyncio.Event | None = None) -> None:
    metrics = Metrics()
    if settings.server.metrics_port:
        start_http_server(settings.server.metrics_port, registry=metrics.registry)
    api = load_api_client()
    shard = Shard(max(settings.watch.shard_index, 0), settings.watch.shards)
    server_shards, streaming = await ask_server(api, settings, shard, metrics)
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
                   verifier=kube.exists, refusals=kube.failed_creates)
    table = handlers(dog, settings, remediator)
    admit = shard_filter(shard, metrics, server=server_shards)
    registry = kopf.OperatorRegistry()
    register(registry, table, admit)

    me = identity()
    elector: LeaderElector | None = None
    if settings.server.leader_election:
        def lead(leading: bool) -> None:
            metrics.leader.set(1 if leading else 0)
            dog.set_active(leading)

        lease = settings.server.lease_seconds
        elector = LeaderElector(
            LeaseStore(api, lease_namespace(settings), lease_name(settings)),
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
        if not dog.listed():
            return False, "listing the cluster"
        return True, "watching"

    log.info("starting", namespaces=list(settings.watch.namespaces) or "all",
             metrics_port=settings.server.metrics_port, health_port=settings.server.health_port,
             dry_run=settings.publish.dry_run,
             leader_election=lease_name(settings) if elector else None,
             shard=str(shard) if shard.sharded else None,
             listings="streamed" if streaming else "paged")
    runner = (await health.serve(settings.server.health_port, ready)
              if settings.server.health_port else None)
    tasks = [asyncio.create_task(_every(settings.watch.sweep_interval_seconds, "sweep",
                                        dog.sweep)),
             asyncio.create_task(_every(API_PROBE_SECONDS, "api probe", probe_api))]
    if elector is not None:
        tasks.append(asyncio.create_task(elector.run()))
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    decoding.install()  # orjson for the watch streams
    direct = direct_handlers(table)
    if not listings.install(dog.on_listing, admit=admit, direct=direct):
        log.warning("relists cannot be followed: what vanished during a watch gap is found "
                    "by the periodic check only", every=settings.watch.verify_interval_seconds)
    try:
        await kopf.operator(
            registry=registry,
            settings=kopf_settings(settings, shard.selector if server_shards else None,
                                   streaming),
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
