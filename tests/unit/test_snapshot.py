"""Reading a live cluster (crashwatch.kube.snapshot) against a stand-in API server that
answers as kube-apiserver does: Lists without kind on their items, pages with a continue
token, 403 Status bodies with RBAC's wording, 404 for a kind no CRD serves. The real API
server is in tests/e2e/test_live_diagnose.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from email.utils import format_datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import kube as k
import pytest
from urllib3.exceptions import MaxRetryError, NewConnectionError

from crashwatch.cli.loader import load_objects
from crashwatch.diagnosis import diagnose
from crashwatch.diagnosis.view import SUPPORTING_KINDS
from crashwatch.kube import snapshot
from crashwatch.kube.logs import LogAnswer
from crashwatch.kube.snapshot import (
    ClusterError,
    LogRequest,
    Scope,
    log_requests,
    read_cluster,
    read_logs,
    read_supporting,
    supporting_kinds,
)
from crashwatch.logsource import LogsDir

ROOT = Path(__file__).resolve().parents[2]

DATE = format_datetime(k.NOW, usegmt=True)  # as the API server writes it
SA = "system:serviceaccount:shop:viewer"


class _Response:
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.reason = {200: "OK", 403: "Forbidden", 404: "Not Found", 401: "Unauthorized",
                       410: "Gone"}.get(status, "Error")
        self.data = json.dumps(body).encode()
        self.headers = {"Date": DATE, "Content-Type": "application/json"}

    def read(self) -> bytes:
        return self.data

    def getheader(self, name: str, default: Any = None) -> Any:
        return self.headers.get(name, default)


def _status(code: int, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": "Forbidden" if code == 403 else "NotFound",
            "code": code}


def _forbidden(resource: str, group: str = "", namespace: str | None = "shop") -> Any:
    where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    return 403, _status(403, f'{resource} is forbidden: User "{SA}" cannot list resource '
                             f'"{resource}" in API group "{group}" {where}')


def _list(*items: dict[str, Any], cont: str = "") -> dict[str, Any]:
    stripped = []
    for item in items:  # a List's items carry no kind or apiVersion
        item = dict(item)
        item.pop("kind", None)
        item.pop("apiVersion", None)
        stripped.append(item)
    return {"kind": "List", "apiVersion": "v1",
            "metadata": {"resourceVersion": "4711", **({"continue": cont} if cont else {})},
            "items": stripped}


Route = Callable[[dict[str, str], str], tuple[int, Any]]


class FakeApi:
    """Stands in for kubernetes.client.ApiClient: routes GETs by path, records them."""

    def __init__(self, routes: dict[str, Route | tuple[int, Any]]) -> None:
        self.routes = routes
        self.calls: list[tuple[str, dict[str, str], str]] = []
        self.configuration = SimpleNamespace(host="https://127.0.0.1:6443")

    def param_serialize(self, method: str, path: str, query_params: list[tuple[str, Any]],
                        header_params: dict[str, str], auth_settings: list[str],
                        body: Any = None) -> tuple[Any, ...]:
        assert method == "GET" and body is None and auth_settings == ["BearerToken"]
        return method, path, header_params, {k: str(v) for k, v in query_params}, None

    def call_api(self, method: str, path: str, headers: dict[str, str], query: dict[str, str],
                 post: Any, _request_timeout: Any = None) -> _Response:
        self.calls.append((path, query, headers["Accept"]))
        route = self.routes.get(path)
        if route is None:
            return _Response(404, _status(404, "the server could not find the requested "
                                               "resource"))
        status, body = route(query, headers["Accept"]) if callable(route) else route
        if isinstance(body, Exception):
            raise body
        return _Response(status, body)


def _failing_pod(name: str = "web-7d9c5b8f6d-x2x9k") -> dict[str, Any]:
    c = k.container()
    p = k.pod(name=name, containers=[c])
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, k.terminated("Error", 1))]
    return p


def _namespace_routes(pods: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    c = k.container()
    routes: dict[str, Any] = {
        "/api/v1/namespaces/shop/pods": (200, _list(*pods)),
        "/api/v1/namespaces/shop/events": (200, _list(*[
            k.event(p, "BackOff", "Back-off restarting failed container app", container_name="app")
            for p in pods])),
        "/apis/apps/v1/namespaces/shop/replicasets": (200, _list(
            k.replicaset("web-7d9c5b8f6d", "web", 1, [c]))),
        "/apis/apps/v1/namespaces/shop/deployments": (200, _list(k.deployment("web", [c], 1))),
        "/apis/apps/v1/namespaces/shop/statefulsets": (200, _list()),
        "/apis/apps/v1/namespaces/shop/daemonsets": (200, _list()),
        "/apis/batch/v1/namespaces/shop/jobs": (200, _list()),
        "/apis/batch/v1/namespaces/shop/cronjobs": (200, _list()),
    }
    routes.update(more)
    return routes


def test_lists_are_read_page_by_page_and_items_get_their_kind_back():
    pods = [_failing_pod(f"web-7d9c5b8f6d-{i:05d}") for i in range(3)]

    def paged(query: dict[str, str], accept: str) -> tuple[int, Any]:
        assert query["limit"] == "500"
        if "continue" not in query:
            return 200, _list(*pods[:2], cont="page-2")
        assert query["continue"] == "page-2"
        return 200, _list(pods[2])

    api = FakeApi(_namespace_routes(pods, **{"/api/v1/namespaces/shop/pods": paged}))
    read = read_cluster(api, Scope("shop"))  # type: ignore[arg-type]
    got = [o for o in read.objects if o["kind"] == "Pod"]
    assert [o["metadata"]["name"] for o in got] == [p["metadata"]["name"] for p in pods]
    assert all(o["apiVersion"] == "v1" for o in got)
    kinds = {(o["kind"], o["apiVersion"]) for o in read.objects}
    assert ("Deployment", "apps/v1") in kinds and ("ReplicaSet", "apps/v1") in kinds
    assert ("Event", "v1") in kinds
    assert read.notes == []  # no VPA CRD (404): no news
    assert read.now == k.NOW.timestamp()  # the API server's clock, from its Date header


def test_a_kind_rbac_refuses_is_a_note_naming_what_the_diagnosis_lacks():
    api = FakeApi(_namespace_routes(
        [_failing_pod()], **{"/apis/apps/v1/namespaces/shop/replicasets":
                             _forbidden("replicasets", "apps")}))
    read = read_cluster(api, Scope("shop"))  # type: ignore[arg-type]
    (note,) = read.notes
    assert note.startswith("ReplicaSets in namespace shop could not be read (forbidden: "
                           'replicasets is forbidden: User "system:serviceaccount:shop:viewer"')
    assert "owners and revisions unknown" in note
    assert any(o["kind"] == "Pod" for o in read.objects)


def test_a_vpa_refusal_is_news_only_when_the_crd_is_served():
    routes = _namespace_routes([_failing_pod()], **{
        "/apis/autoscaling.k8s.io/v1/namespaces/shop/verticalpodautoscalers":
            _forbidden("verticalpodautoscalers", "autoscaling.k8s.io")})
    # RBAC answers 403 before the API server looks for the resource: discovery tells
    assert read_cluster(FakeApi(routes), Scope("shop")).notes == []  # type: ignore[arg-type]
    routes["/apis/autoscaling.k8s.io/v1"] = (200, {
        "kind": "APIResourceList", "groupVersion": "autoscaling.k8s.io/v1",
        "resources": [{"name": "verticalpodautoscalers", "namespaced": True,
                       "kind": "VerticalPodAutoscaler", "verbs": ["get", "list"]}]})
    (note,) = read_cluster(FakeApi(routes), Scope("shop")).notes  # type: ignore[arg-type]
    assert note.startswith("VerticalPodAutoscalers in namespace shop could not be read")


def test_events_fall_back_to_events_k8s_io_where_core_events_are_refused():
    p = _failing_pod()
    ev = {"apiVersion": "events.k8s.io/v1", "kind": "Event",
          "metadata": {"name": "x.1", "namespace": "shop"},
          "regarding": {"kind": "Pod", "namespace": "shop", "name": p["metadata"]["name"],
                        "uid": p["metadata"]["uid"], "fieldPath": "spec.containers{app}"},
          "reason": "BackOff", "note": "Back-off restarting failed container app",
          "type": "Warning", "reportingController": "kubelet", "reportingInstance": "node",
          "action": "", "eventTime": None, "deprecatedLastTimestamp": k.ts(30)}
    api = FakeApi(_namespace_routes([p], **{
        "/api/v1/namespaces/shop/events": _forbidden("events"),
        "/apis/events.k8s.io/v1/namespaces/shop/events": (200, _list(ev))}))
    read = read_cluster(api, Scope("shop"))  # type: ignore[arg-type]
    assert read.notes == []
    (got,) = [o for o in read.objects if o["kind"] == "Event"]
    assert got["apiVersion"] == "events.k8s.io/v1" and got["note"].startswith("Back-off")


def test_pods_that_cannot_be_listed_stop_the_read_with_the_api_servers_words():
    api = FakeApi({"/api/v1/pods": _forbidden("pods", namespace=None)})
    with pytest.raises(ClusterError) as err:
        read_cluster(api, Scope(None))  # type: ignore[arg-type]
    assert str(err.value).startswith("cannot list pods in all namespaces: pods is forbidden: ")
    assert str(err.value).endswith("(try -n NAMESPACE)")
    api = FakeApi({"/api/v1/namespaces/shop/pods": (401, _status(401, "Unauthorized"))})
    with pytest.raises(ClusterError, match=r"refused the credentials \(401 Unauthorized\)"):
        read_cluster(api, Scope("shop"))  # type: ignore[arg-type]


def test_an_unreachable_api_server_is_one_line_naming_it():
    refused = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] "
                                       "Connection refused")
    api = FakeApi({"/api/v1/namespaces/shop/pods": (0, MaxRetryError(
        None, "/api/v1/namespaces/shop/pods", refused))})  # type: ignore[arg-type]
    with pytest.raises(ClusterError) as err:
        read_cluster(api, Scope("shop"))  # type: ignore[arg-type]
    assert str(err.value) == ("cannot reach the API server at https://127.0.0.1:6443: "
                              "[Errno 111] Connection refused")


def test_a_credential_plugin_failing_on_the_first_request_is_one_line():
    class PluginFailed(Exception):  # what a kubeconfig exec plugin's hook may raise
        pass

    api = FakeApi({"/api/v1/namespaces/shop/pods": (0, PluginFailed(
        "exec: executable aws not found\nIt looks like you are trying to use a client-go "
        "credential plugin that is not installed."))})
    with pytest.raises(ClusterError) as err:
        read_cluster(api, Scope("shop"))  # type: ignore[arg-type]
    assert str(err.value) == ("cannot list pods in namespace shop: exec: executable aws not "
                              "found It looks like you are trying to use a client-go "
                              "credential plugin that is not installed.")


def test_one_pod_is_read_with_its_workloads_pods_owners_and_events_only():
    mine = _failing_pod("web-7d9c5b8f6d-aaaaa")
    sibling = _failing_pod("web-7d9c5b8f6d-bbbbb")
    other_c = k.container(name="worker")
    stranger = k.pod(name="queue-6b5d4c3b2a-ccccc", containers=[other_c],
                     owner=("ReplicaSet", "queue-6b5d4c3b2a"))
    routes = _namespace_routes([mine, sibling, stranger])
    routes["/apis/apps/v1/namespaces/shop/replicasets"] = (200, _list(
        k.replicaset("web-7d9c5b8f6d", "web", 2, [k.container()]),
        k.replicaset("web-5f6e7d8c9b", "web", 1, [k.container()]),
        k.replicaset("queue-6b5d4c3b2a", "queue", 1, [other_c])))
    routes["/apis/apps/v1/namespaces/shop/deployments"] = (200, _list(
        k.deployment("web", [k.container()], 2), k.deployment("queue", [other_c], 1)))
    read = read_cluster(FakeApi(routes), Scope("shop", pod="web-7d9c5b8f6d-aaaaa"))  # type: ignore[arg-type]
    names = sorted((o["kind"], o["metadata"]["name"]) for o in read.objects
                   if o["kind"] != "Event")
    assert names == [("Deployment", "web"), ("Pod", "web-7d9c5b8f6d-aaaaa"),
                     ("Pod", "web-7d9c5b8f6d-bbbbb"), ("ReplicaSet", "web-5f6e7d8c9b"),
                     ("ReplicaSet", "web-7d9c5b8f6d")]
    about = {o["involvedObject"]["name"] for o in read.objects if o["kind"] == "Event"}
    assert about == {"web-7d9c5b8f6d-aaaaa", "web-7d9c5b8f6d-bbbbb"}
    with pytest.raises(ClusterError, match="pod nope not found in namespace shop"):
        read_cluster(FakeApi(routes), Scope("shop", pod="nope"))  # type: ignore[arg-type]


def test_a_selector_is_sent_to_the_api_server_and_narrows_owners():
    pod = _failing_pod()
    api = FakeApi(_namespace_routes([pod]))
    read = read_cluster(api, Scope("shop", selector="app=web"))  # type: ignore[arg-type]
    (pods_call,) = [q for path, q, _ in api.calls if path.endswith("/pods")]
    assert pods_call["labelSelector"] == "app=web"
    assert {o["kind"] for o in read.objects} == {"Pod", "Event", "ReplicaSet", "Deployment"}


def test_supporting_kinds_are_asked_only_for_the_findings_that_read_them():
    assert supporting_kinds(["CrashLoop.MissingEnv", "CrashLoop.OOMKilled"]) == []
    assert supporting_kinds(["Config.MissingSecret"]) == ["Secret"]
    assert sorted(supporting_kinds(["Pod.Unschedulable"])) == [
        "Node", "PersistentVolumeClaim", "StorageClass"]


def test_configmap_and_secret_names_are_read_as_metadata_only():
    secret = {"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
              "metadata": {"name": "prod-db-credentials", "namespace": "shop"}}
    api = FakeApi({"/api/v1/namespaces/shop/secrets": (200, {
        "kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
        "metadata": {}, "items": [secret]})})
    read = read_supporting(api, Scope("shop"), ["Secret"])  # type: ignore[arg-type]
    ((_, _, accept),) = api.calls
    assert accept.startswith("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1")
    assert read.objects == [{"kind": "Secret", "apiVersion": "v1",
                             "metadata": {"name": "prod-db-credentials", "namespace": "shop"}}]


def test_a_refused_supporting_kind_is_a_note():
    api = FakeApi({"/api/v1/nodes": _forbidden("nodes", namespace=None)})
    read = read_supporting(api, Scope("shop"), ["Node"])  # type: ignore[arg-type]
    (note,) = read.notes
    assert note.startswith("Nodes could not be read (forbidden: ")
    assert note.endswith("the nodes' architecture and allocatable resources are not shown.")


def test_the_instance_read_is_the_one_that_tells_why_it_failed():
    crashing = _failing_pod("web-7d9c5b8f6d-aaaaa")
    c = k.container()
    left_terminated = k.pod(name="web-7d9c5b8f6d-bbbbb", containers=[c])
    left_terminated["status"]["containerStatuses"] = [
        {**k.waiting_status(c, "x", restarts=1), "state": {"terminated": k.terminated()}}]
    never_ran = k.pod(name="web-7d9c5b8f6d-ccccc", containers=[c])
    never_ran["status"]["containerStatuses"] = [
        k.waiting_status(c, "CreateContainerConfigError", 'secret "x" not found')]
    asked = [("shop", n, "app") for n in ("web-7d9c5b8f6d-aaaaa", "web-7d9c5b8f6d-bbbbb",
                                           "web-7d9c5b8f6d-ccccc", "gone-pod")]
    assert log_requests([crashing, left_terminated, never_ran], asked) == [
        LogRequest("shop", "web-7d9c5b8f6d-aaaaa", "app", previous=True),
        LogRequest("shop", "web-7d9c5b8f6d-bbbbb", "app", previous=False),
    ]


def test_a_running_init_container_asked_of_is_read_as_it_runs() -> None:
    """The diagnosis asks the log of an init container that has run too long
    (rules/init.py): the instance that runs, previous=false."""
    from test_init_stuck import stuck_pod  # noqa: PLC0415

    p = stuck_pod("wait-for-db", 3600)
    assert log_requests([p], [("shop", p["metadata"]["name"], "wait-for-db")]) == [
        LogRequest("shop", p["metadata"]["name"], "wait-for-db", previous=False)]


def test_logs_are_read_bounded_a_few_at_a_time_and_refusals_are_one_note(monkeypatch):
    calls: list[dict[str, Any]] = []
    refusal = ('pods "web-{n}" is forbidden: User "system:serviceaccount:shop:viewer" cannot '
               'get resource "pods/log" in API group "" in the namespace "shop"')

    def fake(core: Any, namespace: str, pod: str, container: str, **kw: Any) -> LogAnswer:
        calls.append({"pod": pod, **kw})
        n = int(pod.rsplit("-", 1)[1])
        if n % 3 == 0:
            return LogAnswer(None, refusal.format(n=n), 403)
        if n % 3 == 1:
            return LogAnswer(f"panic: boom {n}\n")
        return LogAnswer(None, "unable to retrieve container logs for containerd://" + "ab" * 32)

    monkeypatch.setattr(snapshot, "read_container_log", fake)
    monkeypatch.setattr(snapshot.client, "CoreV1Api", lambda api: object())
    requests = [LogRequest("shop", f"web-{n}", "app", True) for n in range(9)]
    progress: list[tuple[int, int]] = []
    got = read_logs(object(), requests, tail_lines=200, max_bytes=65536,  # type: ignore[arg-type]
                    progress=lambda done, total: progress.append((done, total)), workers=3)
    assert all(c["tail_lines"] == 200 and c["max_bytes"] == 65536 for c in calls)
    assert got.logs == {("shop", f"web-{n}", "app"): f"panic: boom {n}\n" for n in (1, 4, 7)}
    assert progress == [(i, 9) for i in range(1, 10)]
    forbidden, kubelet = got.notes
    assert forbidden.startswith("Logs of 3 container(s) could not be read (pods/log forbidden: "
                                'pods "web-0" is forbidden')
    assert forbidden.endswith("their findings carry no log evidence: shop/web-0/app, "
                              "shop/web-3/app, shop/web-6/app.")
    assert kubelet.startswith("Logs of 3 container(s) could not be read (the kubelet has none")


CASES = sorted(p for base in (ROOT / "eval" / "blind", ROOT / "eval" / "realworld" / "build")
               for p in base.iterdir() if (p / "snapshot.json").exists())


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_supporting_kinds_read_on_demand_give_the_findings_of_the_whole_dump(case: Path):
    """The live read's contract (SUPPORTING_KINDS): diagnose without the supporting kinds,
    add those the findings' reasons read, diagnose again: the findings of the whole dump."""
    objects = load_objects(str(case / "snapshot.json"))
    logs = LogsDir(str(case / "logs")) if (case / "logs").is_dir() else None
    whole = diagnose(objects, logs, time_budget=None)
    base = [o for o in objects if o.get("kind") not in SUPPORTING_KINDS]
    first = diagnose(base, logs, time_budget=None)
    reasons = {f.reason.value for f in first} | {
        str(f.details["podReason"]) for f in first if f.details.get("podReason")}
    wanted = set(supporting_kinds(reasons))
    second = diagnose(base + [o for o in objects if o.get("kind") in wanted], logs,
                      time_budget=None)
    assert [f.to_dict() for f in second] == [f.to_dict() for f in whole]
    assert {f.reason for f in first} == {f.reason for f in whole}  # they never choose one
