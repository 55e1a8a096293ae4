"""``host_sysctls()``: the values a real node's teardown puts back, read from its state file
while a node is up or after one was killed; the current values when there is none."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cluster.nodes.real.node import SYSCTLS, _sysctl_path, host_sysctls


def test_without_a_state_file_the_current_values_are_the_machines() -> None:
    current = {k: _sysctl_path(k).read_text() for k in SYSCTLS}
    assert host_sysctls(Path("/nonexistent/state.json")) == current


def test_a_state_file_gives_what_the_machine_had_before_the_node(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    recorded = {"vm.overcommit_memory": "0", "kernel.panic": "0", "kernel.panic_on_oops": "0",
                "net.ipv4.ip_forward": "0"}
    state.write_text(json.dumps({"dir": "/x", "sysctls": recorded}))
    assert host_sysctls(state) == {k: v + "\n" for k, v in recorded.items()}


def test_a_state_file_that_does_not_record_every_sysctl_is_not_trusted(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"dir": "/x", "sysctls": {"kernel.panic": "99"}}))
    assert host_sysctls(state) == {k: _sysctl_path(k).read_text() for k in SYSCTLS}
