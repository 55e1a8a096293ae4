"""Reading a container instance's log through ``pods/log`` (crashwatch.kube.logs): the
bounds asked for, the text as the app wrote it, and why there is none when there is none."""

from __future__ import annotations

import json
from typing import Any

from kubernetes.client.exceptions import ApiException

from crashwatch.kube.logs import read_container_log


class _Response:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.released = False
        self.asked: int | None = None

    def read(self, amount: int | None = None) -> bytes:
        self.asked = amount
        return self.data if amount is None else self.data[:amount]

    def release_conn(self) -> None:
        self.released = True


class _Core:
    """Stands in for CoreV1Api.read_namespaced_pod_log: records the call, answers with a
    body or an ApiException as the API server would."""

    def __init__(self, body: bytes | None = None, error: ApiException | None = None) -> None:
        self.body, self.error = body, error
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self.response: _Response | None = None

    def read_namespaced_pod_log(self, *args: Any, **kwargs: Any) -> _Response:
        self.calls.append((args, kwargs))
        if self.error is not None:
            raise self.error
        self.response = _Response(self.body or b"")
        return self.response


def _refusal(status: int, message: str) -> ApiException:
    err = ApiException(status=status, reason="Forbidden" if status == 403 else "Error")
    err.body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                           "message": message, "code": status})
    return err


def test_the_instance_and_the_bounds_are_asked_of_the_api_server():
    core = _Core(b"boot\nKeyError: 'DATABASE_URL'\n")
    answer = read_container_log(core, "shop", "web-1", "app", previous=True,
                                tail_lines=200, max_bytes=65536)
    assert answer.text == "boot\nKeyError: 'DATABASE_URL'\n" and answer.problem is None
    (args, kwargs), = core.calls
    assert args == ("web-1", "shop")
    assert kwargs["container"] == "app" and kwargs["previous"] is True
    assert kwargs["tail_lines"] == 200 and kwargs["limit_bytes"] == 65536
    assert kwargs["_preload_content"] is False and kwargs["_request_timeout"]
    assert core.response is not None and core.response.released
    assert core.response.asked == 65536


def test_a_one_line_json_log_comes_back_as_written_not_parsed():
    line = ('{"level":"fatal","msg":"config: required environment variable '
            '\\"OIDC_CLIENT_SECRET\\" is not set"}\n')
    core = _Core(line.encode())
    answer = read_container_log(core, "ns", "p", "c", previous=False,
                                tail_lines=10, max_bytes=1000)
    assert answer.text == line


def test_bytes_that_are_not_utf8_are_replaced_not_fatal():
    core = _Core(b"panic: \xff\xfe bad bytes\n")
    answer = read_container_log(core, "ns", "p", "c", previous=True,
                                tail_lines=10, max_bytes=1000)
    assert answer.text == "panic: \ufffd\ufffd bad bytes\n"


def test_the_kubelets_own_answer_is_no_log():
    # REAL-NODE.md: a 1.36 kubelet answers pods/log?previous=true with this as the body
    body = (b"unable to retrieve container logs for containerd://"
            + b"9c" * 32 + b"\n")
    core = _Core(body)
    answer = read_container_log(core, "ns", "p", "c", previous=True,
                                tail_lines=10, max_bytes=1000)
    assert answer.text is None
    assert answer.problem is not None
    assert answer.problem.startswith("unable to retrieve container logs for containerd://")


def test_a_refusal_by_rbac_says_so_with_the_api_servers_words():
    message = ('pods "web-1" is forbidden: User "system:serviceaccount:shop:viewer" cannot '
               'get resource "pods/log" in API group "" in the namespace "shop"')
    core = _Core(error=_refusal(403, message))
    answer = read_container_log(core, "shop", "web-1", "app", previous=True,
                                tail_lines=10, max_bytes=1000)
    assert answer.text is None and answer.forbidden and answer.problem == message


def test_a_transport_failure_is_a_problem_not_an_exception():
    core = _Core(error=None)

    def refuse(*args: Any, **kwargs: Any) -> _Response:
        raise ConnectionRefusedError(111, "Connection refused")

    core.read_namespaced_pod_log = refuse
    answer = read_container_log(core, "ns", "p", "c", previous=True,
                                tail_lines=10, max_bytes=1000)
    assert answer.text is None and not answer.forbidden
    assert answer.problem is not None and "Connection refused" in answer.problem
