"""A container instance's log through the API server's ``pods/log``, bounded, with why it
could not be read when it could not.

Shared by the live operator (``KubeClient.container_log``) and ``crashwatch diagnose``
against a cluster; which instance to ask for is :func:`crashwatch.logsource.failed_instance`.
Synchronous: callers run it in a worker thread (the operator) or a small pool (the CLI).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError as TransportError

from crashwatch.kube.errors import api_message
from crashwatch.kube.rest import RawApi

#: Answers of ``pods/log`` that are the kubelet's or runtime's words, not the app's.
NOT_A_LOG = re.compile(
    r"^(?:unable to retrieve container logs for |failed to try resolving symlinks in path |"
    r"previous terminated container \S+ in pod \S+ not found)")

LOG_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class LogAnswer:
    """What ``pods/log`` gave: the log tail, or why there is none."""

    text: str | None
    problem: str | None = None
    """Why there is no log, in the API server's (or kubelet's) words; None when there is
    one, or when the container simply wrote nothing."""
    status: int | None = None
    """The HTTP status of a refusal (403: RBAC does not grant ``pods/log``)."""

    @property
    def forbidden(self) -> bool:
        return self.status == 403


def read_container_log(core: client.CoreV1Api | RawApi, namespace: str, pod: str, container: str, *,
                       previous: bool, tail_lines: int, max_bytes: int,
                       timeout: float = LOG_TIMEOUT_SECONDS) -> LogAnswer:
    """One container instance's log tail: ``previous`` for the instance before the current
    one (waiting or running again after a crash), else the current one (a container left
    terminated). Bounded by ``tail_lines`` and ``max_bytes``; read as bytes and decoded
    leniently (a log is the app's output, not necessarily UTF-8), never parsed as JSON."""
    try:
        response = core.read_namespaced_pod_log(
            pod, namespace, container=container, previous=previous, tail_lines=tail_lines,
            limit_bytes=max_bytes, _preload_content=False, _request_timeout=timeout)
        raw = _read(response, max_bytes)
    except ApiException as err:
        return LogAnswer(None, api_message(err), err.status)
    except (OSError, ValueError, TransportError) as err:
        return LogAnswer(None, f"no answer: {str(err)[:200] or type(err).__name__}")
    text = raw.decode("utf-8", errors="replace")
    if NOT_A_LOG.match(text):
        return LogAnswer(None, text.strip().splitlines()[0][:300])
    return LogAnswer(text)


def _read(response: Any, max_bytes: int) -> bytes:
    try:
        data = response.read(max_bytes)
        return data if isinstance(data, bytes) else bytes(data or b"")
    finally:
        response.release_conn()
