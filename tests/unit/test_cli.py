"""``crashwatch diagnose``: the contract scripts rely on, run as a real subprocess."""

import json
import subprocess
import sys
from pathlib import Path

import kube as k
import pytest
import yaml

from crashwatch.cli.loader import load_objects


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crashwatch", *args],
        input=stdin, capture_output=True, text=True, timeout=60, check=False,
    )


@pytest.fixture
def snapshot(tmp_path: Path) -> tuple[Path, Path]:
    c = k.container()
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, k.terminated("Error", 1))]
    ev = k.event(p, "BackOff", "Back-off restarting failed container app in pod "
                 f"{p['metadata']['name']}_shop({p['metadata']['uid']})", container_name="app",
                 count=30)
    path = tmp_path / "snap.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [p, ev],
                                "metadata": {"resourceVersion": ""}}))
    logs = tmp_path / "logs" / "shop" / p["metadata"]["name"]
    logs.mkdir(parents=True)
    (logs / "app.log").write_text("panic: VAULT_ADDR must be set\n")
    return path, tmp_path / "logs"


def test_json_output_has_the_documented_fields(snapshot):
    path, logs = snapshot
    out = cli("diagnose", "-f", str(path), "--logs-dir", str(logs), "-o", "json")
    assert out.returncode == 0, out.stderr
    findings = json.loads(out.stdout)["findings"]
    assert len(findings) == 1
    f = findings[0]
    assert {"namespace", "pod", "container", "owner", "reason", "summary", "evidence",
            "remediation"} <= set(f)
    assert f["reason"] == "CrashLoop.MissingEnv"
    assert f["owner"] == {"kind": "Deployment", "name": "web"}
    assert any("VAULT_ADDR" in e for e in f["evidence"])


def test_table_output_is_aligned_and_names_the_reason(snapshot):
    path, logs = snapshot
    out = cli("diagnose", "-f", str(path), "--logs-dir", str(logs), "-o", "table")
    lines = out.stdout.splitlines()
    assert lines[0].split()[:5] == ["NAMESPACE", "WORKLOAD", "POD", "CONTAINER", "REASON"]
    assert "CrashLoop.MissingEnv" in lines[1]
    assert lines[0].index("REASON") == lines[1].index("CrashLoop.MissingEnv")


def test_stdin_and_multi_document_yaml(snapshot):
    path, _ = snapshot
    items = json.loads(path.read_text())["items"]
    out = cli("diagnose", "-f", "-", "-o", "json", stdin=yaml.safe_dump_all(items))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["findings"][0]["reason"] == "CrashLoop.AppError"


def test_empty_cluster_is_fine(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text('{"apiVersion": "v1", "kind": "List", "items": []}')
    out = cli("diagnose", "-f", str(path), "-o", "json")
    assert out.returncode == 0 and json.loads(out.stdout) == {"findings": []}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        ('{"items": [', "invalid JSON at line 1"),
        ("kind: Pod\n  metadata: [\n", "invalid YAML"),
        ("", "empty input"),
        ("42", "expected a Kubernetes object or List"),
        (b"\xff\xfe\x00\x01", "not a text file"),
    ],
    ids=["missing", "bad-json", "bad-yaml", "empty", "scalar", "binary"],
)
def test_bad_input_prints_one_line_and_exits_2(tmp_path, content, expected):
    path = tmp_path / "in.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    out = cli("diagnose", "-f", str(path))
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert expected in lines[0] and "Traceback" not in out.stderr


def test_bad_logs_dir_exits_2(snapshot, tmp_path):
    path, _ = snapshot
    out = cli("diagnose", "-f", str(path), "--logs-dir", str(tmp_path / "nope"))
    assert out.returncode == 2 and "--logs-dir" in out.stderr


def test_malformed_items_are_skipped_not_fatal(tmp_path):
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"kind": "List", "items": [
        1, "x", None, {"kind": "Pod"}, {"kind": "Pod", "status": "broken", "spec": []},
        {"kind": "Event", "involvedObject": 5}]}))
    out = cli("diagnose", "-f", str(path), "-o", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"findings": []}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"kind": "Pod", "metadata": {"name": "a"}}',
         [{"kind": "Pod", "metadata": {"name": "a"}}]),
        # several documents, one after another (kubectl get -o json of two kinds, concatenated)
        ('{"kind": "Pod", "x": 1}\n{"kind": "Pod", "x": 2}\n',
         [{"kind": "Pod", "x": 1}, {"kind": "Pod", "x": 2}]),
        # what orjson refuses and the standard library reads (NaN, a lone surrogate) is read
        # by the standard library; an integer beyond 64 bits comes as a float, as in the watch
        # (crashwatch/watch/decoding.py: the API server never writes one)
        ('{"kind": "Pod", "x": NaN}', None),
        ('{"kind": "Pod", "x": 36893488147419103232}', [{"kind": "Pod", "x": 2.0**65}]),
        ('{"kind": "Pod", "x": "\\ud800"}', [{"kind": "Pod", "x": "\ud800"}]),
    ],
    ids=["one", "several", "nan", "bigint", "surrogate"],
)
def test_json_snapshots_are_read_by_orjson_or_else_the_standard_library(tmp_path, text, expected):
    path = tmp_path / "in.json"
    path.write_text(text)
    objects = load_objects(str(path))
    if expected is None:  # NaN: compare through the standard library
        assert len(objects) == 1 and objects[0]["x"] != objects[0]["x"]
    else:
        assert objects == expected


def test_a_parse_pauses_the_garbage_collector_and_gives_back_its_state():
    import gc  # noqa: PLC0415

    from crashwatch.cli.loader import gc_paused  # noqa: PLC0415

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # a caller that had turned it off keeps it off
    finally:
        gc.enable()
