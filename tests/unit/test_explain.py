"""``crashwatch explain POD -f snapshot.json --logs-dir DIR`` and ``crashwatch diagnose POD``
on a snapshot: run as real subprocesses, as a user types them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RAILS = ROOT / "eval" / "blind" / "01-rails-secret-key-base-promotion"
POD = "storefront-kxs4fl674f-lbzlz"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crashwatch", *args], capture_output=True,
                          text=True, timeout=60, check=False)


def test_explain_tells_what_was_read_the_rules_tried_and_the_rivals():
    out = cli("explain", POD, "-f", str(RAILS / "snapshot.json"), "--logs-dir",
              str(RAILS / "logs"))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.startswith(f"Pod shop/{POD} (Deployment/storefront)\n")
    assert "judged at 2026-03-14T09:42:17Z" in text
    sections = [line for line in text.splitlines() if line and not line.startswith(" ")]
    assert sections == [f"Pod shop/{POD} (Deployment/storefront)", "Pod status",
                        "Events read, oldest first",
                        "Pod-level rules, in the order tried", "Container web",
                        "Workload Deployment/storefront", "Verdict"]
    assert "Warning BackOff (x117): Back-off restarting failed container web" in text
    assert "lastState: terminated: reason=Error exitCode=1" in text
    # the log as the rules read it, the chosen line marked
    assert ("     3 * ArgumentError: Missing `secret_key_base` for 'production' environment"
            in text)
    assert "    - OOM kill: no: reason Error, exit code 1" in text
    assert ("    * the log: catalogue rule rails-secret-key-base on log line 3: ArgumentError: "
            "Missing `secret_key_base`") in text
    assert ("    - line 3: CrashLoop.MissingEnv by generic rule generic-missing-setting-quoted, "
            "score 47 (variable=secret_key_base): loses: a less telling line (score 47 < 49)"
            in text)
    assert "  * rollout regression (rules/rollout.py): Rollout.Regression: " in text
    assert ("  CrashLoop.MissingEnv (high confidence), container web: Container web exits "
            "because required setting SECRET_KEY_BASE is not set.") in text
    assert "about its workload Deployment/storefront:" in text


def test_explain_as_json_is_the_trace():
    out = cli("explain", POD, "-n", "shop", "-o", "json", "-f", str(RAILS / "snapshot.json"),
              "--logs-dir", str(RAILS / "logs"))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    (container,) = data["pod"]["containers"]
    assert container["finding"]["reason"] == "CrashLoop.MissingEnv"
    assert [s["rule"] for s in container["steps"] if s["decided"]] == ["the log"]
    assert container["log"]["candidates"][0]["chosen"] is True
    assert data["workloads"][0]["outcome"].startswith("Rollout.Regression")
    assert data["judgedAt"] == "2026-03-14T09:42:17Z"


def test_explain_without_logs_says_so_and_falls_back():
    out = cli("explain", POD, "-f", str(RAILS / "snapshot.json"))
    assert out.returncode == 0, out.stderr
    assert "(no logs given)" in out.stdout
    assert "  log: no log source was given" in out.stdout
    assert "    - the log: no log was read" in out.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["explain", "nope"], "crashwatch: pod nope not found\n"),
    (["explain", POD, "-n", "other"], f"crashwatch: pod {POD} not found in namespace other\n"),
    (["diagnose", "-f", "X", "--context", "prod"],
     "crashwatch: --context read a cluster; -f reads a snapshot: give one or the other\n"),
    (["diagnose", "-A", "-n", "shop"], "crashwatch: -A and -n do not go together\n"),
    (["diagnose", "-A", POD], "crashwatch: a POD is in one namespace: use -n, not -A\n"),
])
def test_wrong_arguments_are_one_line_and_exit_2(args, message):
    args = [a if a != "X" else str(RAILS / "snapshot.json") for a in args]
    if args[0] == "explain":
        args += ["-f", str(RAILS / "snapshot.json")]
    out = cli(*args)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == message


def test_a_pod_name_in_two_namespaces_needs_n(tmp_path):
    snap = json.loads((RAILS / "snapshot.json").read_text())
    items = snap["items"]
    pod = next(o for o in items if o["kind"] == "Pod" and o["metadata"]["name"] == POD)
    twin = json.loads(json.dumps(pod))
    twin["metadata"]["namespace"] = "staging"
    path = tmp_path / "snap.json"
    path.write_text(json.dumps({**snap, "items": [*items, twin]}))
    out = cli("explain", POD, "-f", str(path))
    assert out.returncode == 2
    assert out.stderr == (f"crashwatch: pod {POD} is in several namespaces (shop, staging): "
                          "give -n\n")
    assert cli("explain", POD, "-f", str(path), "-n", "staging").returncode == 0


def test_diagnose_one_pod_of_a_snapshot_gives_its_findings_and_its_workloads():
    out = cli("diagnose", POD, "-f", str(RAILS / "snapshot.json"), "--logs-dir",
              str(RAILS / "logs"), "-o", "json")
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert "notes" not in found  # a snapshot has nothing it could not read
    assert [(f["pod"], f["reason"]) for f in found["findings"]] == [
        (POD, "CrashLoop.MissingEnv"), (None, "Rollout.Regression")]


def test_diagnose_n_filters_a_snapshot(tmp_path):
    everything = json.loads(cli("diagnose", "-f", str(RAILS / "snapshot.json"), "-o",
                                "json").stdout)["findings"]
    assert {f["namespace"] for f in everything} == {"shop"}
    assert json.loads(cli("diagnose", "-f", str(RAILS / "snapshot.json"), "-n", "kube-system",
                          "-o", "json").stdout)["findings"] == []
