"""A run killed before its node's ``stop()`` (a CI job cancelled, a test process killed) leaves
the kubelet's sysctls and a state file behind. The next node cleans up after it, and a test that
compares the machine before and after with ``host_sysctls()`` compares it with what the machine
had before the killed node, not with the killed node's values.

This is the failure CI met at b05aee0: the demo's test read the sysctls a killed node had left
as "before", the demo's node put the machine's own values back, and the test saw a difference.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tests.cluster.controlplane.plane import REPO
from tests.cluster.nodes.real.cluster import RealCluster
from tests.cluster.nodes.real.node import (
    BRIDGE,
    STATE_FILE,
    _pids_of,
    build_node,
    current_sysctls,
    host_sysctls,
)

pytestmark = [pytest.mark.realnode, pytest.mark.timeout(600)]

# A run that starts a real cluster, says so, and waits to be killed.
CHILD = textwrap.dedent("""
    import sys, time
    from tests.cluster.nodes.real.cluster import RealCluster
    rc = RealCluster().start()
    print("up", flush=True)
    time.sleep(600)
""")


def test_a_node_killed_before_its_stop_is_cleaned_up_by_the_next_and_the_machine_is_as_before(
) -> None:
    assert not STATE_FILE.exists(), "a node is up on this machine; this test needs none"
    machine = current_sysctls()
    child = subprocess.Popen([sys.executable, "-c", CHILD], cwd=REPO, stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "up", "the killed run's cluster did not start"
        assert STATE_FILE.exists()
        # While it is up, the current values are the node's; host_sysctls() gives the machine's.
        assert host_sysctls() == machine
    finally:
        child.kill()
        child.wait()

    # Killed before its stop(): its state file and the kubelet's sysctls are left behind.
    assert STATE_FILE.exists()
    assert host_sysctls() == machine, "after a killed node, 'before' must be the machine's own"

    # The next node cleans up after it, and its own stop() leaves the machine as it was.
    with RealCluster():
        assert STATE_FILE.exists()
    cache = build_node()
    assert not STATE_FILE.exists(), "the node's teardown did not finish"
    assert current_sysctls() == machine
    assert not Path(f"/sys/class/net/{BRIDGE}").exists(), f"bridge {BRIDGE} left behind"
    assert [pid for exe in ("kubelet", "containerd", "containerd-shim-runc-v2")
            for pid in _pids_of(str(cache / "bin" / exe))] == []
