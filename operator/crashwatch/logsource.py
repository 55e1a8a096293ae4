"""Where a crashed container's last words come from: files laid out as
``DIR/<namespace>/<pod>/<container>.log`` (offline diagnosis, tests, demos) or, for the live
operator, the API server's ``pods/log`` (``crashwatch.kube.client.KubeClient.previous_log``).

Below ``cli`` and ``watch``: both read logs through this layer; neither imports the other.
"""

from __future__ import annotations

import os
from pathlib import Path


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
