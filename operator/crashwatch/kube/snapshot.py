"""Reading a live cluster for a one-shot diagnosis (``crashwatch diagnose`` with no ``-f``):
the objects a ``kubectl get -o json`` dump would hold, through the API with read verbs only,
and what could not be read, said in words.

* :func:`connect`: the kubeconfig's context (or in-cluster credentials), its namespace.
* :func:`read_cluster`: pods (the one kind that must be readable), Events (core ``v1``, or
  ``events.k8s.io/v1`` where that is what the cluster serves), the owners a diagnosis reads
  (ReplicaSets, Deployments, StatefulSets, DaemonSets, Jobs, CronJobs) and VPAs when their
  CRD exists; a pod or a label selector narrows it to those pods and what diagnosing them
  needs (their owners, their workloads' revisions and sibling pods, their Events).
* :func:`read_supporting`: the kinds only some findings read
  (:data:`crashwatch.diagnosis.view.SUPPORTING_KINDS`: Nodes, claims, volumes, storage
  classes, the names of ConfigMaps and Secrets, never their data), fetched only when a
  finding calls for them.
* :func:`read_logs`: each failing container's log through ``pods/log``
  (:mod:`crashwatch.kube.logs`), the instance that tells why it failed
  (:func:`crashwatch.logsource.failed_instance`), bounded, a few at a time.

A refusal (403) of a kind, or of a container's log, is a note, not a failure: the diagnosis
goes on without it and says what it lacked. An unreachable cluster, a kubeconfig that
cannot be used, or pods that cannot be listed are a :class:`ClusterError`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError as TransportError

from crashwatch.diagnosis.view import (
    SUPPORTING_KINDS,
    as_dict,
    as_list,
    as_str,
    controller_ref,
    name_of,
    namespace_of,
)
from crashwatch.kube import rest
from crashwatch.kube.errors import api_message
from crashwatch.kube.logs import NOT_A_LOG, LogAnswer, read_container_log
from crashwatch.logsource import failed_instance

#: Objects per page of a list (kubectl's own chunk size).
CHUNK = 500
#: (connect, read) seconds for each request.
TIMEOUT = (5.0, 60.0)
#: Lists read at once.
LIST_WORKERS = 4
#: Container logs read at once.
LOG_WORKERS = 8
SERVICEACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")

_JSON = rest.JSON
#: Names and labels only (``PartialObjectMetadataList``): a ConfigMap's or Secret's data
#: never leaves the API server.
_METADATA = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"


class ClusterError(Exception):
    """The cluster cannot be read at all; the message is one line for a user."""


@dataclass(frozen=True, slots=True)
class Resource:
    kind: str
    api_version: str
    plural: str
    lacking: str
    """What a diagnosis goes without when this kind cannot be read."""
    namespaced: bool = True
    metadata_only: bool = False
    optional: bool = False
    """Served only when a CRD is installed: its absence is no news."""

    def path(self, namespace: str | None) -> str:
        base = (f"/api/{self.api_version}" if "/" not in self.api_version
                else f"/apis/{self.api_version}")
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def label(self) -> str:
        return self.plural if "/" not in self.api_version else (
            f"{self.plural}.{self.api_version.split('/')[0]}")


PODS = Resource("Pod", "v1", "pods", "")
EVENTS = Resource("Event", "v1", "events",
                  "findings carry no Event evidence (probe failures, pull errors, kills, "
                  "hooks, scheduling and mounts are told by Events)")
EVENTS_V1 = Resource("Event", "events.k8s.io/v1", "events", EVENTS.lacking)
OWNERS = tuple(
    Resource(kind, api, plural, "owners and revisions unknown: findings name no workload, "
             "no rollout regression or memory shrink across revisions is seen")
    for kind, api, plural in (
        ("ReplicaSet", "apps/v1", "replicasets"), ("Deployment", "apps/v1", "deployments"),
        ("StatefulSet", "apps/v1", "statefulsets"), ("DaemonSet", "apps/v1", "daemonsets"),
        ("Job", "batch/v1", "jobs"), ("CronJob", "batch/v1", "cronjobs")))
VPAS = Resource("VerticalPodAutoscaler", "autoscaling.k8s.io/v1", "verticalpodautoscalers",
                "an autoscaler's recommendations are not shown", optional=True)
SUPPORTING = {
    "Node": Resource("Node", "v1", "nodes", "the nodes' architecture and allocatable "
                     "resources are not shown", namespaced=False),
    "PersistentVolumeClaim": Resource("PersistentVolumeClaim", "v1", "persistentvolumeclaims",
                                      "the claims' state is not shown"),
    "PersistentVolume": Resource("PersistentVolume", "v1", "persistentvolumes",
                                 "which claim a volume belongs to is not shown",
                                 namespaced=False),
    "StorageClass": Resource("StorageClass", "storage.k8s.io/v1", "storageclasses",
                             "whether a claim's storage class exists is not shown",
                             namespaced=False),
    "ConfigMap": Resource("ConfigMap", "v1", "configmaps", "similarly named ConfigMaps are "
                          "not pointed out", metadata_only=True),
    "Secret": Resource("Secret", "v1", "secrets", "similarly named Secrets are not pointed "
                       "out", metadata_only=True),
}
assert set(SUPPORTING) == set(SUPPORTING_KINDS)


@dataclass(frozen=True, slots=True)
class Connection:
    api: client.ApiClient
    namespace: str
    """The context's namespace (``default`` when it names none)."""
    server: str
    context: str


@dataclass(frozen=True, slots=True)
class Scope:
    namespace: str | None
    """None: all namespaces."""
    selector: str = ""
    """A label selector over pods."""
    pod: str | None = None
    """One pod (in ``namespace``), read with its workload's other pods."""

    def where(self) -> str:
        return f"in namespace {self.namespace}" if self.namespace else "in all namespaces"


@dataclass(slots=True)
class ClusterRead:
    objects: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    now: float | None = None
    """The API server's clock when the pods were listed (its ``Date`` header)."""


def connect(kubeconfig: str | None = None, context: str | None = None) -> Connection:
    """An API client for the kubeconfig's context (``KUBECONFIG`` or ``~/.kube/config``;
    in a pod without a kubeconfig, the pod's ServiceAccount)."""
    cfg = client.Configuration()
    path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    files = [p for p in path.split(os.pathsep) if p]
    if not kubeconfig and not any(os.path.exists(p) for p in files) and (
            os.environ.get("KUBERNETES_SERVICE_HOST") and not context):
        try:
            config.load_incluster_config(client_configuration=cfg)
        except config.ConfigException as err:
            raise ClusterError(f"in-cluster credentials cannot be used: {err}") from None
        ns_file = SERVICEACCOUNT_DIR / "namespace"
        namespace = ns_file.read_text().strip() if ns_file.is_file() else "default"
        return _connection(cfg, namespace or "default", "in-cluster")
    missing = [p for p in files if not os.path.exists(p)]
    if missing and len(missing) == len(files):
        raise ClusterError(f"no kubeconfig at {path} (set KUBECONFIG or --kubeconfig)")
    try:
        contexts, current = config.list_kube_config_contexts(config_file=path)
        chosen = next((c for c in contexts if c.get("name") == context), None) if context \
            else current
        if chosen is None:
            raise ClusterError(f"kubeconfig {path} has no context {context!r}")
        config.load_kube_config(config_file=path, context=context, client_configuration=cfg,
                                persist_config=False)
    except ClusterError:
        raise
    except (config.ConfigException, OSError, ValueError, TypeError, KeyError,
            AttributeError) as err:
        raise ClusterError(f"kubeconfig {path} cannot be used: {_one_line(err)}") from None
    except Exception as err:  # a YAML error, an auth plugin's failure
        raise ClusterError(f"kubeconfig {path} cannot be used: {_one_line(err)}") from None
    namespace = as_str(as_dict(as_dict(chosen).get("context")).get("namespace")) or "default"
    return _connection(cfg, namespace, as_str(as_dict(chosen).get("name")))


def _connection(cfg: client.Configuration, namespace: str, context: str) -> Connection:
    cfg.retries = 1  # an unreachable server is said once, quickly
    return Connection(client.ApiClient(cfg), namespace, str(cfg.host), context)


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:300]


# --- requests ---------------------------------------------------------------------------

def _get(api: client.ApiClient, path: str, query: Sequence[tuple[str, Any]],
         accept: str = _JSON) -> tuple[Any, str | None]:
    """One GET; the decoded JSON and the answer's ``Date`` header. Non-2xx: ApiException."""
    response = rest.call(api, "GET", path, query=query, accept=accept, timeout=TIMEOUT)
    return json.loads(response.read()), response.getheader("Date")


def _list(api: client.ApiClient, res: Resource, namespace: str | None,
          labels: str = "", fields: str = "") -> tuple[list[dict[str, Any]], str | None]:
    """Every object of a kind, page by page, each given its ``kind`` and ``apiVersion`` (a
    List's items carry neither) as ``kubectl get -o json`` prints them."""
    items: list[dict[str, Any]] = []
    token, date, restarted = "", None, False
    accept = _METADATA if res.metadata_only else _JSON
    while True:
        query: list[tuple[str, Any]] = [("limit", CHUNK)]
        if labels:
            query.append(("labelSelector", labels))
        if fields:
            query.append(("fieldSelector", fields))
        if token:
            query.append(("continue", token))
        try:
            body, answered = _get(api, res.path(namespace), query, accept)
        except ApiException as err:
            if err.status == 410 and token and not restarted:  # the continue token expired
                items, token, restarted = [], "", True
                continue
            raise
        date = date or answered
        for item in as_list(as_dict(body).get("items")):
            if isinstance(item, dict):
                item["kind"], item["apiVersion"] = res.kind, res.api_version
                items.append(item)
        token = as_str(as_dict(as_dict(body).get("metadata")).get("continue"))
        if not token:
            return items, date


def _epoch(date: str | None) -> float | None:
    if not date:
        return None
    try:
        return parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return None


def _refusal(res: Resource, scope: Scope, err: Exception) -> str:
    where = "" if not res.namespaced else f" {scope.where()}"
    if isinstance(err, ApiException):
        why = ("forbidden" if err.status == 403 else f"HTTP {err.status}")
        said = f"{why}: {api_message(err)}"
    else:
        said = f"no answer: {_one_line(err)}"
    return f"{res.kind}s{where} could not be read ({said}): {res.lacking}."


def _fatal(err: Exception, api: client.ApiClient, scope: Scope) -> ClusterError:
    host = api.configuration.host
    if isinstance(err, ApiException):
        if err.status == 401:
            return ClusterError(f"the API server at {host} refused the credentials "
                                f"(401 Unauthorized): {api_message(err)}")
        hint = " (try -n NAMESPACE)" if err.status == 403 and not scope.namespace else ""
        return ClusterError(f"cannot list pods {scope.where()}: {api_message(err)}{hint}")
    return ClusterError(f"cannot reach the API server at {host}: {_reason(err)}")


def _reason(err: BaseException) -> str:
    """The innermost cause of a transport failure (``Connection refused``), in one line."""
    seen = err
    reason = getattr(seen, "reason", None)
    while isinstance(reason, BaseException):
        seen, reason = reason, getattr(reason, "reason", None)
    text = _one_line(seen)
    marker = text.find("Failed to establish a new connection: ")
    return text[marker + 38:] if marker >= 0 else text


# --- the cluster ------------------------------------------------------------------------

def read_cluster(api: client.ApiClient, scope: Scope) -> ClusterRead:
    """Pods, their Events and owners, and VPAs, for a scope. Raises :class:`ClusterError`
    when the pods cannot be listed (nothing could be diagnosed)."""
    try:
        pods, date = _list(api, PODS, scope.namespace, labels=scope.selector)
    except (ApiException, OSError, ValueError, TransportError) as err:
        raise _fatal(err, api, scope) from None
    except Exception as err:  # the first request: an auth plugin's failure, say
        raise ClusterError(f"cannot list pods {scope.where()}: {_one_line(err)}") from None
    read = ClusterRead(objects=[], now=_epoch(date))
    if scope.pod is not None and not any(name_of(p) == scope.pod for p in pods):
        raise ClusterError(f"pod {scope.pod} not found in namespace {scope.namespace}")
    with ThreadPoolExecutor(LIST_WORKERS) as pool:
        events = pool.submit(_events, api, scope)
        others = [(res, pool.submit(_list, api, res, scope.namespace))
                  for res in (*OWNERS, VPAS)]
        objects: list[dict[str, Any]] = list(pods)
        for res, future in others:
            try:
                objects += future.result()[0]
            except ApiException as err:
                if not (res.optional and not _served(api, res, err)):
                    read.notes.append(_refusal(res, scope, err))
            except (OSError, ValueError, TransportError) as err:
                read.notes.append(_refusal(res, scope, err))
        found, note = events.result()
        objects += found
        if note:
            read.notes.append(note)
    read.objects = _narrow(objects, scope) if (scope.pod or scope.selector) else objects
    return read


def _served(api: client.ApiClient, res: Resource, err: ApiException) -> bool:
    """Whether the API server serves a CRD's kind: a 404 says not; a 403 says nothing (RBAC
    is checked first), so discovery, which every user may read, is asked."""
    if err.status == 404:
        return False
    if err.status != 403:
        return True
    try:
        found, _ = _get(api, f"/apis/{res.api_version}", [])
    except ApiException as asked:
        return bool(asked.status != 404)
    except (OSError, ValueError, TransportError):
        return True
    return any(as_dict(r).get("name") == res.plural
               for r in as_list(as_dict(found).get("resources")))


def _events(api: client.ApiClient, scope: Scope) -> tuple[list[dict[str, Any]], str | None]:
    """Core v1 Events; where those are not served or not granted, ``events.k8s.io/v1``."""
    try:
        return _list(api, EVENTS, scope.namespace)[0], None
    except (ApiException, OSError, ValueError, TransportError) as err:
        first = err
    if isinstance(first, ApiException) and first.status in (403, 404):
        try:
            return _list(api, EVENTS_V1, scope.namespace)[0], None
        except (ApiException, OSError, ValueError, TransportError) as err:
            return [], _refusal(EVENTS_V1, scope, err)
    return [], _refusal(EVENTS, scope, first)


def _narrow(objects: list[dict[str, Any]], scope: Scope) -> list[dict[str, Any]]:
    """What diagnosing the chosen pods needs: the pods (one pod: with its workload's other
    pods, which tell what it ran with when healthy), their owners up the chain, every
    revision of their Deployments, the VPAs over those, and the Events about any of them."""
    by_kind: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for obj in objects:
        by_kind.setdefault(as_str(obj.get("kind")), {})[(namespace_of(obj), name_of(obj))] = obj

    def chain(obj: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        out, seen = [], obj
        for _ in range(4):
            ref = controller_ref(seen)
            if ref is None:
                break
            out.append((namespace_of(obj), *ref))
            parent = by_kind.get(ref[0], {}).get((namespace_of(obj), ref[1]))
            if parent is None:
                break
            seen = parent
        return out

    pods = list(by_kind.get("Pod", {}).values())
    if scope.pod is not None:
        chosen = next(p for p in pods if name_of(p) == scope.pod)
        owners = chain(chosen)
        top = owners[-1] if owners else None
        pods = [p for p in pods if p is chosen or (top is not None and top in chain(p))]
    keep: set[tuple[str, str, str]] = set()
    for pod in pods:
        keep.add((namespace_of(pod), "Pod", name_of(pod)))
        keep.update(chain(pod))
    for (ns, name), rs in by_kind.get("ReplicaSet", {}).items():
        ref = controller_ref(rs)
        if ref is not None and (ns, *ref) in keep:
            keep.add((ns, "ReplicaSet", name))
    out: list[dict[str, Any]] = []
    for obj in objects:
        kind = as_str(obj.get("kind"))
        ns = namespace_of(obj)
        if kind == "Event":
            involved = as_dict(obj.get("regarding") or obj.get("involvedObject"))
            wanted = (as_str(involved.get("namespace")) or ns, as_str(involved.get("kind")),
                      as_str(involved.get("name")))
        elif kind == "VerticalPodAutoscaler":
            ref_ = as_dict(as_dict(obj.get("spec")).get("targetRef"))
            wanted = (ns, as_str(ref_.get("kind")), as_str(ref_.get("name")))
        else:
            wanted = (ns, kind, name_of(obj))
        if wanted in keep:
            out.append(obj)
    return out


# --- what only some findings read -------------------------------------------------------

def supporting_kinds(reasons: Iterable[str]) -> list[str]:
    """The supporting kinds the rules of these reasons read."""
    given = set(reasons)
    return [kind for kind, wanted in SUPPORTING_KINDS.items()
            if any(r.value in given for r in wanted)]


def read_supporting(api: client.ApiClient, scope: Scope,
                    kinds: Iterable[str]) -> ClusterRead:
    """The supporting kinds asked for (namespaced ones in the scope's namespace or all)."""
    read = ClusterRead(objects=[])
    wanted = [SUPPORTING[k] for k in kinds if k in SUPPORTING]
    if not wanted:
        return read
    with ThreadPoolExecutor(min(LIST_WORKERS, len(wanted))) as pool:
        futures = [(res, pool.submit(_list, api, res, scope.namespace)) for res in wanted]
        for res, future in futures:
            try:
                read.objects += future.result()[0]
            except (ApiException, OSError, ValueError, TransportError) as err:
                read.notes.append(_refusal(res, scope, err))
    return read


# --- logs -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LogRequest:
    namespace: str
    pod: str
    container: str
    previous: bool


def log_requests(objects: Iterable[Mapping[str, Any]],
                 asked: Iterable[tuple[str, str, str]]) -> list[LogRequest]:
    """For each container a diagnosis asked a log of, the instance to read (none for a
    container that never ran; the current one of a container that runs and never failed)."""
    pods = {(namespace_of(o), name_of(o)): o for o in objects if o.get("kind") == "Pod"}
    out = []
    for ns, pod_name, container in dict.fromkeys(asked):
        pod = pods.get((ns, pod_name))
        if pod is None:
            continue
        status = as_dict(pod.get("status"))
        for group in ("initContainerStatuses", "containerStatuses"):
            for cs in as_list(status.get(group)):
                cs = as_dict(cs)
                if cs.get("name") != container:
                    continue
                which = failed_instance(cs)
                if which is not None:
                    out.append(LogRequest(ns, pod_name, container, which[1]))
                elif "running" in as_dict(cs.get("state")):
                    # asked of a container that has not failed: an init container that runs
                    # on (rules/init.py), whose current log says what it waits for
                    out.append(LogRequest(ns, pod_name, container, False))
    return out


@dataclass(slots=True)
class LogsRead:
    logs: dict[tuple[str, str, str], str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


Progress = Callable[[int, int], None]


def read_logs(api: client.ApiClient, requests: Sequence[LogRequest], *, tail_lines: int,
              max_bytes: int, progress: Progress | None = None,
              workers: int = LOG_WORKERS) -> LogsRead:
    """The logs asked for, ``workers`` at a time; what could not be read is told in notes
    (one per cause: a refusal of ``pods/log``, the kubelet having none, no answer)."""
    out = LogsRead()
    if not requests:
        return out
    core = client.CoreV1Api(api)
    problems: dict[str, tuple[str, list[str]]] = {}  # kind of problem -> (first said, where)
    done = 0

    def one(req: LogRequest) -> tuple[LogRequest, LogAnswer]:
        return req, read_container_log(core, req.namespace, req.pod, req.container,
                                       previous=req.previous, tail_lines=tail_lines,
                                       max_bytes=max_bytes)

    with ThreadPoolExecutor(min(workers, len(requests))) as pool:
        for req, answer in pool.map(one, requests):
            done += 1
            if progress is not None:
                progress(done, len(requests))
            if answer.text is not None:
                out.logs[(req.namespace, req.pod, req.container)] = answer.text
            elif answer.problem is not None:
                key, said = _problem(answer)
                problems.setdefault(key, (said, []))[1].append(
                    f"{req.namespace}/{req.pod}/{req.container}")
    for said, where in problems.values():
        out.notes.append(f"Logs of {len(where)} container(s) could not be read ({said}): "
                         f"their findings carry no log evidence: {_some(where)}.")
    return out


def _problem(answer: LogAnswer) -> tuple[str, str]:
    """A kind of log problem (one note each) and what was said the first time."""
    problem = answer.problem or ""
    if answer.forbidden:
        return "403", f"pods/log forbidden: {problem}"
    if answer.status:
        return str(answer.status), f"HTTP {answer.status}, for the first: {problem}"
    if NOT_A_LOG.match(problem):
        return "kubelet", f"the kubelet has none, for the first: {problem}"
    return "transport", problem


def _some(items: list[str], shown: int = 5) -> str:
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {more} more" if more > 0 else "")
