"""KubeClient.container_log against the answers a real 1.36 kubelet gives, recorded on the
real test node (tests/cluster/nodes/real/observed-1.36.txt).

A kubelet keeps one dead instance per container. Between restarts the state is
``terminated`` and ``previous=true`` names the instance before the crashed one, which is
gone: HTTP 200 with ``unable to retrieve container logs for containerd://<id>``. After a
first crash there is no previous instance at all: HTTP 400. Neither is the app's words.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kubernetes.client.exceptions import ApiException

from crashwatch.kube.client import KubeClient
from crashwatch.metrics import Metrics

# observed-1.36.txt, pod "crash": previous=true while the state was terminated
GONE = ("unable to retrieve container logs for "
        "containerd://8e70c9af98b0170e8ab27ece54821a3549274ddb5687385a243e1c02224090e3")
# the same pod, previous=false: the crashed instance's own words
APP = "FATAL: boom\n"


class Response:
    """An HTTP answer read as the client's ``_preload_content=False`` gives it."""

    def __init__(self, body: str) -> None:
        self.body = body.encode()

    def read(self, amt: int | None = None) -> bytes:
        chunk, self.body = (self.body, b"") if amt is None else (
            self.body[:amt], self.body[amt:])
        return chunk

    def stream(self, amt: int = 65536) -> Any:
        while self.body:
            yield self.read(amt)

    def release_conn(self) -> None:
        pass

    def close(self) -> None:
        pass


class FakeCore:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.previous: list[bool] = []

    def read_namespaced_pod_log(self, pod: str, ns: str, **kw: Any) -> Response:
        self.previous.append(kw["previous"])
        if isinstance(self.answer, Exception):
            raise self.answer
        return Response(str(self.answer))


def read(answer: Any, previous: bool) -> tuple[str | None, list[bool]]:
    kube = KubeClient.__new__(KubeClient)
    core = FakeCore(answer)
    kube.core = core  # type: ignore[assignment]
    kube.metrics = Metrics()
    text = asyncio.run(kube.container_log("ns", "pod", "app", previous, 200, 65536))
    return text, core.previous


def test_the_crashed_instance_own_log() -> None:
    assert read(APP, previous=False) == (APP, [False])


def test_the_kubelets_gone_message_is_not_the_apps_words() -> None:
    assert read(GONE, previous=True) == (None, [True])
    assert read(GONE + "\n", previous=True)[0] is None


def test_no_previous_instance_after_a_first_crash() -> None:
    # observed: HTTP 400 previous terminated container "app" in pod "ready503" not found
    assert read(ApiException(status=400, reason="Bad Request"), previous=True)[0] is None


def test_an_app_line_that_merely_mentions_it_is_kept() -> None:
    line = "worker: unable to retrieve container logs for containerd://abc, retrying\nfatal\n"
    assert read(line, previous=True)[0] == line
