"""crashwatch.kube.rest: the built-in API calls the operator makes, as the generated client
makes them (paths, query names, patch content types, errors), without importing it."""

import json
import subprocess
import sys

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from crashwatch.kube.rest import JSON_PATCH, STRATEGIC_MERGE_PATCH, RawApi


class _Answer:
    def __init__(self, status, data=b"{}"):
        self.status = status
        self.data = data
        self.reason = "Reason"
        self.response = object()
        self.headers = {}

    def read(self):
        return self.data

    def getheaders(self):
        return {}

    def getheader(self, name, default=None):
        return default


class _Api:
    """An ApiClient's two request-making methods, recorded; everything else real."""

    def __init__(self, status=200, data=b'{"count": 4}'):
        self.real = client.ApiClient(client.Configuration(host="https://api.example:6443"))
        self.sent = []
        self.answer = _Answer(status, data)

    def param_serialize(self, method, path, **kwargs):
        out = self.real.param_serialize(method, path, **kwargs)
        self.sent.append(out)
        return out

    def call_api(self, *serialized, _request_timeout=None):
        self.timeout = _request_timeout
        return self.answer


def test_a_merge_of_annotations_is_a_strategic_merge_patch_on_the_objects_path():
    api = _Api()
    RawApi(api).patch_namespaced_deployment(
        "web", "shop", {"metadata": {"annotations": {"crashwatch.dev/reason": None}}})
    (method, url, headers, body, _), = api.sent
    assert (method, url) == ("PATCH", "https://api.example:6443/apis/apps/v1/namespaces/shop/"
                                      "deployments/web")
    assert headers["Content-Type"] == STRATEGIC_MERGE_PATCH
    assert body == {"metadata": {"annotations": {"crashwatch.dev/reason": None}}}


def test_a_list_is_a_json_patch():
    api = _Api()
    ops = [{"op": "test", "path": "/metadata/resourceVersion", "value": "7"}]
    RawApi(api).patch_namespaced_replica_set("web-1", "shop", ops)
    (method, url, headers, _, _), = api.sent
    assert method == "PATCH"
    assert url.endswith("/apis/apps/v1/namespaces/shop/replicasets/web-1")
    assert headers["Content-Type"] == JSON_PATCH


@pytest.mark.parametrize(("call", "args", "path"), [
    ("read_namespaced_pod", ("p", "ns"), "/api/v1/namespaces/ns/pods/p"),
    ("read_namespaced_event", ("e", "ns"), "/api/v1/namespaces/ns/events/e"),
    ("create_namespaced_event", ("ns", {"kind": "Event"}), "/api/v1/namespaces/ns/events"),
    ("read_namespaced_stateful_set", ("s", "ns"), "/apis/apps/v1/namespaces/ns/statefulsets/s"),
    ("read_namespaced_daemon_set", ("d", "ns"), "/apis/apps/v1/namespaces/ns/daemonsets/d"),
    ("patch_namespaced_job", ("j", "ns", {}), "/apis/batch/v1/namespaces/ns/jobs/j"),
    ("read_namespaced_cron_job", ("c", "ns"), "/apis/batch/v1/namespaces/ns/cronjobs/c"),
    ("list_namespaced_limit_range", ("ns",), "/api/v1/namespaces/ns/limitranges"),
    ("list_pod_for_all_namespaces", (), "/api/v1/pods"),
])
def test_each_call_goes_to_its_kinds_path(call, args, path):
    api = _Api()
    getattr(RawApi(api), call)(*args)
    (method, url, headers, _, _), = api.sent
    assert url == "https://api.example:6443" + path
    assert method == {"read": "GET", "list": "GET", "create": "POST", "patch": "PATCH"}[
        call.split("_")[0]]
    assert headers["Accept"] == "application/json"


def test_query_parameters_take_the_api_servers_names_and_forms():
    api = _Api(data=b"boot\n")
    raw = RawApi(api)
    answer = raw.read_namespaced_pod_log("web-1", "shop", container="app", previous=True,
                                         tail_lines=200, limit_bytes=65536,
                                         _preload_content=False, _request_timeout=10)
    (method, url, headers, _, _), = api.sent
    assert method == "GET"
    assert url == ("https://api.example:6443/api/v1/namespaces/shop/pods/web-1/log?"
                   "container=app&previous=true&tailLines=200&limitBytes=65536")
    assert headers["Accept"] == "application/json"  # as the generated client asks
    assert answer is api.answer.response and api.timeout == 10  # the raw response, unread
    raw.list_namespaced_pod("ns", limit=1, shard_selector="shardRange(x)", watch=None,
                            _preload_content=False)
    assert api.sent[-1][1].endswith("/pods?limit=1&shardSelector=shardRange%28x%29")


def test_an_answer_is_json_unless_asked_raw():
    assert RawApi(_Api()).read_namespaced_event("e", "ns") == {"count": 4}


@pytest.mark.parametrize("preload", [True, False])
def test_a_refusal_raises_as_the_generated_client_does(preload):
    body = json.dumps({"kind": "Status", "code": 403, "reason": "Forbidden",
                       "message": 'pods "p" is forbidden'}).encode()
    with pytest.raises(ApiException) as caught:
        RawApi(_Api(403, body)).patch_namespaced_pod("p", "ns", {}, _preload_content=preload)
    assert caught.value.status == 403 and "is forbidden" in caught.value.body


def test_an_unknown_call_is_an_attribute_error():
    with pytest.raises(AttributeError, match="delete_namespaced_pod"):
        RawApi(_Api()).delete_namespaced_pod  # noqa: B018


def test_the_operators_clients_do_not_import_the_generated_api_classes():
    code = (
        "import sys\n"
        "from kubernetes import client\n"
        "import crashwatch.watch.operator\n"
        "from crashwatch.kube.client import KubeClient, LeaseStore, RemediationClient\n"
        "from crashwatch.metrics import Metrics\n"
        "api = client.ApiClient()\n"
        "RemediationClient(api, Metrics()); LeaseStore(api, 'ns', 'lease')\n"
        "import json\n"
        "print(json.dumps(sorted(m for m in sys.modules\n"
        "                        if m.startswith('kubernetes.client.api.'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    loaded = json.loads(out)
    assert not {"kubernetes.client.api.core_v1_api", "kubernetes.client.api.apps_v1_api",
                "kubernetes.client.api.batch_v1_api"} & set(loaded), loaded
