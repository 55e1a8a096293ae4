"""The few built-in API calls the operator makes, as plain HTTP over the kubernetes client's
``ApiClient`` (its connection pool, credentials and TLS), without its generated API classes.

``kubernetes.client.CoreV1Api`` and its siblings are generated code: importing them builds a
validator for each of their thousand methods and loads the models they name, 21 MB of
memory in every replica (and most of a second of its start) for the dozen calls below
(bench/results/cluster.md: at 4 shards, that was the difference between a shard and a
kube-state-metrics shard). ``RawApi`` answers to the generated methods' names and arguments
for exactly those calls, so ``crashwatch.kube.client`` and ``crashwatch.kube.logs`` read the
same either way (``crashwatch diagnose`` against a cluster still hands them the generated
class), and it behaves as they do called with ``_preload_content=False``: the urllib3
response, after a non-2xx answer was turned into ``ApiException``; without it, the decoded
JSON (a dict, where the generated class gives a model).

Patches are sent as the generated client sends them: a list is a JSON patch, an object a
strategic merge patch (kubernetes/client/rest.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

JSON = "application/json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"

#: plural -> the path of its collection, ``{namespace}`` in it
_COLLECTIONS = {
    "pods": "/api/v1/namespaces/{namespace}/pods",
    "events": "/api/v1/namespaces/{namespace}/events",
    "limitranges": "/api/v1/namespaces/{namespace}/limitranges",
    "deployments": "/apis/apps/v1/namespaces/{namespace}/deployments",
    "statefulsets": "/apis/apps/v1/namespaces/{namespace}/statefulsets",
    "daemonsets": "/apis/apps/v1/namespaces/{namespace}/daemonsets",
    "replicasets": "/apis/apps/v1/namespaces/{namespace}/replicasets",
    "jobs": "/apis/batch/v1/namespaces/{namespace}/jobs",
    "cronjobs": "/apis/batch/v1/namespaces/{namespace}/cronjobs",
}

#: the generated methods' names for each plural (``read_namespaced_<singular>`` ...)
_SINGULAR = {
    "pods": "pod", "events": "event", "limitranges": "limit_range",
    "deployments": "deployment", "statefulsets": "stateful_set", "daemonsets": "daemon_set",
    "replicasets": "replica_set", "jobs": "job", "cronjobs": "cron_job",
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class RawApi:
    """``read_namespaced_X(name, namespace)``, ``patch_namespaced_X(name, namespace, body)``,
    ``create_namespaced_X(namespace, body)``, ``list_namespaced_X(namespace)`` of the kinds
    above, ``list_pod_for_all_namespaces()`` and ``read_namespaced_pod_log(name, namespace)``;
    other keyword arguments are query parameters, by the generated clients' names
    (``tail_lines=`` is ``tailLines``)."""

    def __init__(self, api: client.ApiClient) -> None:
        self.api = api
        self._methods: dict[str, Callable[..., Any]] = {}
        for plural, singular in _SINGULAR.items():
            self._methods[f"read_namespaced_{singular}"] = self._item("GET", plural)
            self._methods[f"patch_namespaced_{singular}"] = self._item("PATCH", plural)
            self._methods[f"create_namespaced_{singular}"] = self._collection("POST", plural)
            self._methods[f"list_namespaced_{singular}"] = self._collection("GET", plural)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        try:
            return self.__dict__["_methods"][name]  # type: ignore[no-any-return]
        except KeyError:
            raise AttributeError(f"RawApi has no {name}") from None

    def _item(self, method: str, plural: str) -> Callable[..., Any]:
        def call(name: str, namespace: str, body: Any = None, **kwargs: Any) -> Any:
            path = _COLLECTIONS[plural].format(namespace=namespace) + f"/{name}"
            return self.request(method, path, body, **kwargs)
        return call

    def _collection(self, method: str, plural: str) -> Callable[..., Any]:
        def call(namespace: str, body: Any = None, **kwargs: Any) -> Any:
            return self.request(method, _COLLECTIONS[plural].format(namespace=namespace), body,
                                **kwargs)
        return call

    def list_pod_for_all_namespaces(self, **kwargs: Any) -> Any:
        return self.request("GET", "/api/v1/pods", None, **kwargs)

    def read_namespaced_pod_log(self, name: str, namespace: str, **kwargs: Any) -> Any:
        path = _COLLECTIONS["pods"].format(namespace=namespace) + f"/{name}/log"
        # Accept as the generated client sends it (JSON, its first choice with "json" in
        # it): the log comes as text either way, and a refusal as a JSON Status
        return self.request("GET", path, None, **kwargs)

    def request(self, method: str, path: str, body: Any = None, *,
                _preload_content: bool = True, _request_timeout: Any = None,
                **query: Any) -> Any:
        """One call. Non-2xx: ApiException, as the generated methods raise it."""
        answer = call(self.api, method, path, body, timeout=_request_timeout,
                      query=[(_camel(k), v) for k, v in query.items() if v is not None])
        if not _preload_content:
            return answer.response
        return json.loads(answer.read() or b"null")


def call(api: client.ApiClient, method: str, path: str, body: Any = None, *,
         query: Sequence[tuple[str, Any]] = (), accept: str = JSON, timeout: Any = None
         ) -> Any:
    """One request through ``api`` (its pool, credentials, TLS): the kubernetes client's
    ``RESTResponse`` (``.status``, ``.read()``, ``.getheader()``, ``.response``), after a
    non-2xx answer was turned into ``ApiException`` (its subclass by status)."""
    headers = {"Accept": accept}
    if body is not None:
        headers["Content-Type"] = (
            (JSON_PATCH if isinstance(body, list) else STRATEGIC_MERGE_PATCH)
            if method == "PATCH" else JSON)
    serialized = api.param_serialize(
        method, path, query_params=list(query), header_params=headers, body=body,
        auth_settings=["BearerToken"])
    answer = api.call_api(*serialized, _request_timeout=timeout)
    if not 200 <= answer.status <= 299:
        answer.read()
        raise ApiException.from_response(http_resp=answer, body=None, data=None)
    return answer
