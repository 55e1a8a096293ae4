"""The injectable log source that replaces ``pods/log`` on the local control plane.

There is no kubelet (and no container) behind a kwok pod, so ``GET pods/log`` has nothing to
serve. Tests and the demo *feed* logs instead, as files in one directory tree::

    LOGS_DIR/<namespace>/<pod>/<container>.log     # the previous container's log tail

the layout ``crashwatch diagnose --logs-dir`` reads. ``kubelet.py`` (beside this file) writes the
crashed container's log there when given ``logs_dir=``; the operator under test is handed a
``DirectoryLogSource(LOGS_DIR)`` (or just the directory) where it would otherwise call
``read_namespaced_pod_log(..., previous=True)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class LogSource(Protocol):
    """What the operator needs: the previous run's log of one container, if any."""

    def previous_log(
        self, namespace: str, pod: str, container: str, tail_lines: int | None = None
    ) -> str | None: ...


class DirectoryLogSource:
    """Reads ``root/<namespace>/<pod>/<container>.log``; ``write()`` feeds it."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path(self, namespace: str, pod: str, container: str) -> Path:
        return self.root / namespace / pod / f"{container}.log"

    def previous_log(
        self, namespace: str, pod: str, container: str, tail_lines: int | None = None
    ) -> str | None:
        p = self.path(namespace, pod, container)
        if not p.is_file():
            return None
        text = p.read_text(errors="replace")
        if tail_lines is not None:
            text = "\n".join(text.splitlines()[-tail_lines:]) + "\n"
        return text

    def write(self, namespace: str, pod: str, container: str, text: str) -> Path:
        p = self.path(namespace, pod, container)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text if text.endswith("\n") else text + "\n")
        return p
