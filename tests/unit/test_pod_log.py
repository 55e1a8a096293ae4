"""KubeClient.previous_log against the answers a real 1.36 kubelet gives (recorded on the
real test node: tests/cluster/README.md, "Real 1.36 facts").

A kubelet keeps one dead instance per container. Between restarts the state is
``terminated`` and ``previous=true`` names the instance before the crashed one, which is
gone: HTTP 200 with ``unable to retrieve container logs for containerd://<id>``. After a
first crash there is no previous instance at all: 400. In both cases the crashed instance
is the current one (``previous=false``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from kubernetes.client.exceptions import ApiException

from crashwatch.kube.client import KubeClient
from crashwatch.metrics import Metrics

GONE = ("unable to retrieve container logs for "
        "containerd://1a0f53706daefce1fa6742da943ead122d03449f9a0a706cab92bc7b167144ca")
APP = "boom: config missing\n"


class FakeCore:
    def __init__(self, answers: dict[bool, Any]) -> None:
        self.answers = answers
        self.calls: list[bool] = []

    def read_namespaced_pod_log(self, pod: str, ns: str, **kw: Any) -> str:
        self.calls.append(kw["previous"])
        answer = self.answers[kw["previous"]]
        if isinstance(answer, Exception):
            raise answer
        return str(answer)


def read(answers: dict[bool, Any], **kw: Any) -> tuple[str | None, list[bool]]:
    kube = KubeClient.__new__(KubeClient)
    kube.core = FakeCore(answers)  # type: ignore[assignment]
    kube.metrics = Metrics()
    text = asyncio.run(kube.previous_log("ns", "pod", "app", 200, 65536, **kw))
    return text, kube.core.calls  # type: ignore[attr-defined]


def test_the_previous_instance_when_the_kubelet_has_it() -> None:
    assert read({True: APP, False: "restarted\n"}) == (APP, [True])


def test_the_current_instance_when_previous_is_the_kubelets_gone_message() -> None:
    assert read({True: GONE, False: APP}) == (APP, [True, False])


def test_the_current_instance_after_a_first_crash() -> None:
    missing = ApiException(status=400, reason="Bad Request")
    assert read({True: missing, False: APP}) == (APP, [True, False])


def test_the_current_instance_directly_when_the_state_is_terminated() -> None:
    assert read({True: GONE, False: APP}, terminated=True) == (APP, [False])


def test_never_the_kubelets_message_as_the_apps_words() -> None:
    assert read({True: GONE, False: GONE}) == (None, [True, False])
    assert read({True: GONE + "\n", False: ApiException(status=400)})[0] is None


def test_an_app_line_that_merely_mentions_it_is_kept() -> None:
    line = "worker: unable to retrieve container logs for containerd://abc, retrying\nfatal\n"
    assert read({True: line, False: APP})[0] == line
