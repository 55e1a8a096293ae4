"""The plane's own lifecycle: a second plane beside the session's (no port clash), driven
through the CLI the demo and the benchmarks use, leaves no process behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client, config
from tests.cluster.controlplane.plane import REPO, ControlPlane

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def _pids_mentioning(text: str) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if text in cmd and state != "Z":
            out.append(int(entry.name))
    return out


def test_cli_up_sa_kubeconfig_down_leaves_nothing(
    tmp_path: Path, control_plane: ControlPlane
) -> None:
    d = tmp_path / "plane"
    cli = [sys.executable, str(REPO / "tests" / "cluster" / "controlplane" / "plane.py")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        up_args = [*cli, "up", "--dir", str(d), "--nodes", "1"]
        up = subprocess.run(up_args, check=False, env=env, capture_output=True, text=True,
                            timeout=150)  # fmt: skip
        assert up.returncode == 0, up.stderr
        assert up.stdout.strip() == f"export KUBECONFIG={d / 'admin.kubeconfig'}"
        state = json.loads((d / "state.json").read_text())
        assert state["server"] != control_plane.server  # its own ports
        pids = list(state["pids"].values())
        assert len(pids) == 5
        assert len(_pids_mentioning(str(d))) >= 5

        api = config.new_client_from_config(config_file=str(d / "admin.kubeconfig"))
        with api:
            nodes = client.CoreV1Api(api).list_node().items
            assert [n.metadata.name for n in nodes] == ["kwok-node-0"]

        sa_args = [*cli, "sa-kubeconfig", "--dir", str(d), "--create", "default", "bot"]
        sa = subprocess.run(sa_args, check=False, env=env, capture_output=True, text=True,
                            timeout=60)  # fmt: skip
        assert sa.returncode == 0, sa.stderr
        with config.new_client_from_config(config_file=sa.stdout.strip()) as sa_api:
            with pytest.raises(client.ApiException) as err:
                client.CoreV1Api(sa_api).list_node()
            assert err.value.status == 403
    finally:
        down_args = [*cli, "down", "--dir", str(d)]
        down = subprocess.run(down_args, check=False, env=env, capture_output=True, text=True,
                              timeout=60)  # fmt: skip
    assert down.returncode == 0, down.stderr
    assert _pids_mentioning(str(d)) == []


def test_processes_die_with_a_killed_test_process(tmp_path: Path) -> None:
    """Even a test process killed with SIGKILL (no finalizer runs) leaves nothing behind:
    every component gets PDEATHSIG=SIGKILL from the kernel."""
    d = tmp_path / "p"
    script = (
        "import sys, time\n"
        "from tests.cluster.controlplane.plane import ControlPlane\n"
        f"cp = ControlPlane(workdir=__import__('pathlib').Path({str(d)!r}), nodes=1).start()\n"
        "print('up', flush=True)\n"
        "time.sleep(600)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "up"
        state_pids = _pids_mentioning(str(d))
        assert len(state_pids) >= 5
    finally:
        proc.kill()
        proc.wait(10)
    deadline = time.monotonic() + 15
    while _pids_mentioning(str(d)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _pids_mentioning(str(d)) == []
