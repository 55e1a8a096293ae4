"""What the real node recorded: tests/cluster/nodes/real/observed-1.36.txt (kubelet v1.36.3,
containerd v2.4.2, default syncFrequency; written by tests/cluster/nodes/real/observe.py),
read back as it is: per pod its final container status, kubelet Events and ``pods/log``
answers, and the timeline of container states a watch saw."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

OBSERVED = Path(__file__).parents[1] / "cluster" / "nodes" / "real" / "observed-1.36.txt"

_POD = re.compile(r"^=+ pod (?P<name>\S+) (?P<phase>\S+) (?P<ready>\S+)$")
_EVENT = re.compile(r"^(?P<type>Normal|Warning) (?P<reason>\S+) x(?P<count>\S+) "
                    r"\[(?P<comp>[^]]*)\] fieldPath=(?P<field>\S+): (?P<message>.*)$")
_LOG = re.compile(r"^--- log previous=(?P<previous>True|False) HTTP (?P<status>\d+): (?P<body>.*)$")
_ROW = re.compile(r"^(?P<t>\d+\.\d+) (?P<pod>\S+) (?P<restarts>\d+) (?P<rest>\{.*)$")


def _observed() -> dict[str, dict[str, Any]]:
    """Each pod's container status, Events and log answers as the file records them."""
    pods: dict[str, dict[str, Any]] = {}
    cur: dict[str, Any] | None = None
    for line in OBSERVED.read_text().splitlines():
        m = _POD.match(line)
        if m:
            cur = pods[m["name"]] = {"phase": m["phase"], "events": [], "logs": {}}
            continue
        if cur is None:
            continue
        if line.startswith("{") and "status" not in cur:
            cur["status"] = json.loads(line)
        elif (m := _EVENT.match(line)) and m["comp"] == "kubelet":
            cur["events"].append((m["type"], m["reason"], int(m["count"]), m["message"]))
        elif m := _LOG.match(line):
            body = m["body"]
            cur["logs"][m["previous"] == "True"] = (
                int(m["status"]), ast.literal_eval(body) if m["status"] == "200" else body)
    return pods


def _timeline() -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """Per pod, each change a watch saw: (restartCount, state), in order."""
    rows: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    decoder = json.JSONDecoder()
    for line in OBSERVED.read_text().splitlines():
        m = _ROW.match(line)
        if m:
            state, _ = decoder.raw_decode(m["rest"])
            rows.setdefault(m["pod"], []).append((int(m["restarts"]), state))
    return rows


OBSERVED_PODS = _observed()
TIMELINE = _timeline()
