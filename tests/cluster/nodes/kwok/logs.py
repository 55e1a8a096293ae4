"""The injectable log source that replaces ``pods/log`` on the local control plane.

There is no kubelet (and no container) behind a kwok pod, so ``GET pods/log`` has nothing to
serve. Tests and the demo *feed* logs instead, as files in one directory tree::

    LOGS_DIR/<namespace>/<pod>/<container>.log              # the failed instance's log tail
    LOGS_DIR/<namespace>/<pod>/.instances/<container>/<id>.log   # each container instance's log

The first is the layout ``crashwatch diagnose --logs-dir`` and ``crashwatch run --logs-dir``
read: the words of the instance that tells why the container failed, the one crashwatch asks
``pods/log`` for (a container left ``terminated`` its own, ``previous=false``; one waiting or
running again after a crash the instance before, ``previous=true``). ``kubelet.py`` (beside
this file) writes it, and one file per container instance (``containerd://<id>``) beside it,
when given ``logs_dir=``.

The instance files let :meth:`DirectoryLogSource.pods_log` answer as a v1.36 kubelet answers
``GET pods/NAME/log?container=C&previous=B`` (``validateContainerLogStatus`` in
pkg/kubelet/kubelet_pods.go of k8s.io/kubernetes v1.36.3, and its container GC), seen on the
real node (tests/cluster/nodes/real/observed-1.36.txt):

* ``previous=true``: the instance named by ``lastState.terminated.containerID``; with no
  ``lastState`` HTTP 400 ``previous terminated container "C" in pod "P" not found``. The
  kubelet keeps one dead instance per container (the newest), so while a crash loop sits in
  ``terminated`` the instance before it is gone: HTTP 200 with the body ``unable to retrieve
  container logs for containerd://<id>``.
* ``previous=false``: the running or terminated instance (``containerID``); a container
  waiting after a crash its last instance; one that never ran HTTP 400 ``container "C" in pod
  "P" is waiting to start: REASON`` (``image can't be pulled`` for ErrImagePull, ``trying and
  failing to pull image`` for ImagePullBackOff).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

INSTANCES = ".instances"


class LogSource(Protocol):
    """What the operator needs: the failed instance's log of one container, if any."""

    def previous_log(
        self, namespace: str, pod: str, container: str, tail_lines: int | None = None
    ) -> str | None: ...


@dataclass(frozen=True, slots=True)
class PodLogAnswer:
    """What ``GET pods/log`` answers: an HTTP status and its body (a log, the kubelet's words
    in a 200, or the API server's message of a 400)."""

    status: int
    body: str


def _replace(p: Path, text: str) -> Path:
    """Write ``p`` whole, in one rename: a reader (the operator under test, reading the file
    the next crash rewrites) sees the old text or the new, never the empty file a truncating
    write shows for a moment. A kubelet never empties a dead instance's log under a reader;
    the truncation once left an e2e diagnosis without its log (exit 126, no path)."""
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text if text.endswith("\n") or not text else text + "\n")
    os.replace(tmp, p)
    return p


def _bare(container_id: str) -> str:
    return container_id.split("://", 1)[-1]


class DirectoryLogSource:
    """Reads and writes the tree above; ``pods_log()`` answers as the kubelet would."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    # -- the failed instance's log (what crashwatch's --logs-dir reads) ------------------
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
        return _replace(self.path(namespace, pod, container), text)

    # -- one log per container instance ------------------------------------------------
    def instance_path(self, namespace: str, pod: str, container: str,
                      container_id: str) -> Path:  # fmt: skip
        return self.root / namespace / pod / INSTANCES / container / f"{_bare(container_id)}.log"

    def write_instance(self, namespace: str, pod: str, container: str, container_id: str,
                       text: str) -> Path:  # fmt: skip
        return _replace(self.instance_path(namespace, pod, container, container_id), text)

    def instance_log(self, namespace: str, pod: str, container: str,
                     container_id: str) -> str | None:  # fmt: skip
        p = self.instance_path(namespace, pod, container, container_id)
        return p.read_text(errors="replace") if p.is_file() else None

    def keep_instances(self, namespace: str, pod: str, container: str,
                       keep: Iterable[str]) -> None:  # fmt: skip
        """Remove every instance's log but ``keep``'s (the kubelet's container GC)."""
        d = self.root / namespace / pod / INSTANCES / container
        if not d.is_dir():
            return
        kept = {f"{_bare(cid)}.log" for cid in keep if cid}
        for p in d.iterdir():
            if p.name not in kept:
                if p.is_dir():
                    shutil.rmtree(p)
                else:
                    p.unlink()

    def pods_log(self, pod: Mapping[str, Any], container: str, *,
                 previous: bool) -> PodLogAnswer:  # fmt: skip
        """What a v1.36 kubelet answers for ``pods/log`` of ``container`` in ``pod`` (a dict in
        wire form, as the API server holds it), from the instance files."""
        md = pod.get("metadata") or {}
        ns, name = str(md.get("namespace")), str(md.get("name"))
        status = pod.get("status") or {}
        cs = next((c for key in ("containerStatuses", "initContainerStatuses")
                   for c in status.get(key) or [] if c.get("name") == container), None)
        if cs is None:
            return PodLogAnswer(400, f'container "{container}" in pod "{name}" is not available')
        cid = container_id_to_read(cs, previous=previous)
        if isinstance(cid, PodLogAnswer):
            return PodLogAnswer(cid.status, cid.body.replace("{pod}", name))
        text = self.instance_log(ns, name, container, cid)
        if text is None:
            return PodLogAnswer(200, f"unable to retrieve container logs for {cid}")
        return PodLogAnswer(200, text)


def container_id_to_read(cs: Mapping[str, Any], *, previous: bool) -> str | PodLogAnswer:
    """The instance a kubelet reads for ``previous`` (``validateContainerLogStatus``), or the
    400 it answers instead (``{pod}`` stands for the pod's name)."""
    name = cs.get("name")
    state = cs.get("state") or {}
    last = (cs.get("lastState") or {}).get("terminated") or None
    waiting, running, terminated = state.get("waiting"), state.get("running"), state.get(
        "terminated")
    if previous:
        if not last or not last.get("containerID"):
            return PodLogAnswer(400, f'previous terminated container "{name}" in pod "{{pod}}" '
                                "not found")
        return str(last["containerID"])
    if running is not None:
        return str(cs.get("containerID") or "")
    if terminated is not None:
        if terminated.get("containerID"):
            return str(terminated["containerID"])
        if last and last.get("containerID"):
            return str(last["containerID"])
        return PodLogAnswer(400, f'container "{name}" in pod "{{pod}}" is terminated')
    if last is not None:
        if not last.get("containerID"):
            return PodLogAnswer(400, f'container "{name}" in pod "{{pod}}" is terminated')
        return str(last["containerID"])
    if waiting is not None:
        why = {"ErrImagePull": "image can't be pulled",
               "ImagePullBackOff": "trying and failing to pull image"}.get(
            waiting.get("reason") or "", waiting.get("reason") or "")
        return PodLogAnswer(400, f'container "{name}" in pod "{{pod}}" is waiting to start: '
                            f"{why}")
    return PodLogAnswer(400, f'container "{name}" in pod "{{pod}}" is waiting to start - no '
                        "logs yet")
