"""Where a crashed container's last words come from: files laid out as
``DIR/<namespace>/<pod>/<container>.log`` (offline diagnosis, tests, demos) or the API
server's ``pods/log`` (``crashwatch.kube.logs``), and which container instance's log tells
why it failed (:func:`failed_instance`).

Below ``cli`` and ``watch``: both read logs through this layer; neither imports the other.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crashwatch.diagnosis.view import as_dict, as_int, as_str


def failed_instance(cs: Mapping[str, Any]) -> tuple[str, bool] | None:
    """Which container instance's log tells why it failed: (containerID, previous).

    A container in ``terminated`` (a 1.36 kubelet leaves a crash loop there for minutes) is
    the one that died: its own log (``previous=false``; ``previous=true`` would be the one
    before it, or an error). Waiting or running again after a crash: the last terminated
    instance. Nothing ran (a runtime or configuration error): no log to read."""
    state = as_dict(cs.get("state"))
    term = as_dict(state.get("terminated"))
    restarts = as_int(cs.get("restartCount"))
    if term and (as_int(term.get("exitCode")) != 0 or term.get("reason") == "OOMKilled"):
        return as_str(term.get("containerID")) or f"current/{restarts}", False
    last = as_dict(as_dict(cs.get("lastState")).get("terminated"))
    if last and restarts > 0:
        return as_str(last.get("containerID")) or f"previous/{restarts}", True
    return None


class LogsDirError(Exception):
    """The logs directory cannot be used; the message is one line for a user."""


class LogsDir:
    """Previous-container log tails as ``DIR/<namespace>/<pod>/<container>.log``, read from
    the end and bounded in bytes."""

    def __init__(self, root: str, max_bytes: int = 64 * 1024) -> None:
        if not os.path.isdir(root):
            raise LogsDirError(f"{root}: --logs-dir is not a directory")
        self.root = Path(root)
        self.max_bytes = max_bytes

    def __call__(self, namespace: str, pod: str, container: str) -> str | None:
        if any(part in ("", ".", "..") or "/" in part for part in (namespace, pod, container)):
            return None
        path = self.root / namespace / pod / f"{container}.log"
        try:
            with path.open("rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - self.max_bytes))
                return fh.read().decode("utf-8", errors="replace")
        except OSError:
            return None
