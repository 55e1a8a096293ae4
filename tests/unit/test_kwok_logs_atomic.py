"""The simulated node's log files are replaced whole, never emptied under a reader.

The e2e crash loops rewrite ``<container>.log`` at every exit while the operator under test
may be reading it for the exit before (a late reconcile on a busy CI machine). A truncating
write let that read see an empty file once: the diagnosis went out without its log (exit 126,
no ``/app/start.sh``). A kubelet never empties a dead instance's log, so the test world must
not either.
"""

from __future__ import annotations

import threading
from pathlib import Path

from tests.cluster.nodes.kwok.logs import DirectoryLogSource

from crashwatch.logsource import LogsDir

TEXT = "/bin/sh: 1: /app/start.sh: Permission denied\n" * 200


def test_a_rewritten_log_is_never_read_empty_or_partial(tmp_path: Path) -> None:
    source = DirectoryLogSource(tmp_path)
    source.write("ns", "pod", "app", TEXT)
    read = LogsDir(str(tmp_path), max_bytes=1 << 20)
    done = threading.Event()
    seen: set[str | None] = set()

    def reader() -> None:
        while not done.is_set():
            seen.add(read("ns", "pod", "app"))

    t = threading.Thread(target=reader)
    t.start()
    try:
        for _ in range(500):
            source.write("ns", "pod", "app", TEXT)
            source.write_instance("ns", "pod", "app", "containerd://abc", TEXT)
    finally:
        done.set()
        t.join()
    assert seen == {TEXT}
    # the temporary files are gone: only the log and the instance directory remain
    assert sorted(p.name for p in (tmp_path / "ns" / "pod").iterdir()) == [".instances",
                                                                        "app.log"]
    assert [p.name for p in (tmp_path / "ns" / "pod" / ".instances" / "app").iterdir()] == [
        "abc.log"]
