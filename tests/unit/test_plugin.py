"""``kubectl crashwatch`` (the kubectl-crashwatch console script) and what ``crashwatch
diagnose`` says without a cluster to read. A real cluster: tests/e2e/test_live_diagnose.py."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from crashwatch.cli import plugin
from crashwatch.cli.live import progress_line
from crashwatch.cli.render import to_json, to_table

ROOT = Path(__file__).resolve().parents[2]
RAILS = ROOT / "eval" / "blind" / "01-rails-secret-key-base-promotion"
BIN = Path(sys.executable).parent


def test_the_plugin_is_installed_beside_crashwatch_under_krews_name():
    # pyproject's [project.scripts]: kubectl finds kubectl-<name> on PATH
    assert (BIN / "kubectl-crashwatch").is_file()
    assert os.access(BIN / "kubectl-crashwatch", os.X_OK)


def test_plugin_help_says_how_to_use_it_as_a_plugin(capsys):
    assert plugin.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "  kubectl crashwatch [POD] [-n NAMESPACE | -A] [-l SELECTOR] [flags]" in out
    assert "  kubectl crashwatch explain POD [-n NAMESPACE] [flags]" in out
    assert "put the kubectl-crashwatch executable on PATH" in out
    assert "kubectl plugin list" in out


def test_the_plugin_passes_commands_through_and_diagnoses_otherwise(capsys):
    # explain and diagnose are passed through; anything else is `diagnose ARGS`
    assert plugin.main(["explain", "storefront-kxs4fl674f-lbzlz", "-f",
                        str(RAILS / "snapshot.json")]) == 0
    assert capsys.readouterr().out.startswith("Pod shop/storefront-kxs4fl674f-lbzlz")
    assert plugin.main(["storefront-kxs4fl674f-lbzlz", "-f", str(RAILS / "snapshot.json"),
                        "-o", "json"]) == 0
    found = json.loads(capsys.readouterr().out)["findings"]
    assert {f["pod"] for f in found} == {"storefront-kxs4fl674f-lbzlz", None}


def test_plugin_errors_carry_the_plugins_name(capsys, tmp_path):
    assert plugin.main(["-A", "--kubeconfig", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err == f"kubectl crashwatch: no kubeconfig at {tmp_path / 'none'} (set KUBECONFIG " \
                  "or --kubeconfig)\n"


def test_plugin_subcommand_help_is_named_for_kubectl(capsys):
    with pytest.raises(SystemExit) as done:
        plugin.main(["explain", "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("usage: kubectl crashwatch explain ")


def _kubeconfig(tmp_path: Path, server: str, namespace: str | None = None) -> Path:
    ctx: dict[str, str] = {"cluster": "c", "user": "u"}
    if namespace:
        ctx["namespace"] = namespace
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": server,
                                               "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "x"}}],
        "contexts": [{"name": "c", "context": ctx}]}))
    return path


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends


def test_an_unreachable_cluster_is_one_line_on_stderr_and_exit_2(tmp_path):
    port = _closed_port()
    path = _kubeconfig(tmp_path, f"https://127.0.0.1:{port}")
    out = subprocess.run([sys.executable, "-m", "crashwatch", "diagnose", "--kubeconfig",
                          str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1
    assert out.stderr.startswith(f"crashwatch: cannot reach the API server at "
                                 f"https://127.0.0.1:{port}: ")
    assert "Connection refused" in out.stderr


@pytest.mark.parametrize("command", ["diagnose", "explain"])
def test_a_credential_plugin_that_fails_is_told_in_the_same_one_line(tmp_path, command):
    """The kubernetes client logs a failed exec plugin (on the root logger) instead of
    raising: it is told with the error, not as lines of its own."""
    port = _closed_port()
    path = _kubeconfig(tmp_path, f"https://127.0.0.1:{port}")
    cfg = json.loads(path.read_text())
    plugin_path = tmp_path / "no-such-plugin"
    cfg["users"] = [{"name": "u", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin_path),
        "args": ["token"]}}}]
    path.write_text(json.dumps(cfg))
    args = [command, "--kubeconfig", str(path)] + (["some-pod"] if command == "explain" else [])
    out = subprocess.run([sys.executable, "-m", "crashwatch", *args], capture_output=True,
                         text=True, timeout=60, check=False)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith(f"crashwatch: cannot reach the API server at "
                                 f"https://127.0.0.1:{port}: ")
    assert out.stderr.endswith(f"; the kubeconfig's credentials: [Errno 2] No such file or "
                               f"directory: '{plugin_path}'\n")


@pytest.mark.parametrize(("content", "message"), [
    ("not: [yaml", "cannot be used: "),
    ('{"apiVersion": "v1", "kind": "Config", "contexts": [], "clusters": [], "users": []}',
     "cannot be used: "),
])
def test_a_kubeconfig_that_cannot_be_used_is_one_line_and_exit_2(tmp_path, content, message):
    path = tmp_path / "kubeconfig"
    path.write_text(content)
    out = subprocess.run([sys.executable, "-m", "crashwatch", "diagnose", "--kubeconfig",
                          str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith(f"crashwatch: kubeconfig {path} {message}")
    assert out.stderr.count("\n") == 1


def test_a_context_the_kubeconfig_lacks_is_named(tmp_path):
    path = _kubeconfig(tmp_path, "https://127.0.0.1:1")
    out = subprocess.run([sys.executable, "-m", "crashwatch", "diagnose", "--kubeconfig",
                          str(path), "--context", "prod"], capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 2
    assert out.stderr == f"crashwatch: kubeconfig {path} has no context 'prod'\n"


def test_notes_are_a_json_field_and_a_table_footer():
    notes = ["Logs of 2 container(s) could not be read (pods/log forbidden: ...): ..."]
    assert json.loads(to_json([], notes)) == {"findings": [], "notes": notes}
    assert json.loads(to_json([])) == {"findings": []}  # a snapshot: no field
    assert to_table([], notes=notes) == ("No failing containers found.\n\n"
                                         f"Note: {notes[0]}")


def test_the_progress_line_is_rewritten_in_place_and_erased():
    stream = io.StringIO()
    show = progress_line(stream)
    for done in (1, 2, 3):
        show(done, 3)
    assert stream.getvalue() == ("\rcrashwatch: reading logs 1/3\rcrashwatch: reading logs 2/3"
                                 "\rcrashwatch: reading logs 3/3\r\x1b[K")


def test_kubectl_finds_the_plugin_on_path():
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is not on PATH (the e2e tests need it too)")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    listed = subprocess.run([kubectl, "plugin", "list"], capture_output=True, text=True,
                            env=env, timeout=60, check=False)
    assert str(BIN / "kubectl-crashwatch") in listed.stdout
    out = subprocess.run([kubectl, "crashwatch", "--help"], capture_output=True, text=True,
                         env=env, timeout=60, check=False)
    assert out.returncode == 0 and "kubectl crashwatch explain POD" in out.stdout
