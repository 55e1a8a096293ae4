"""Random and adversarial inputs for the diagnosis engine, from a ``random.Random``.

One generator serves the hypothesis property test (tests/unit/test_fuzz.py, which draws
the ``Random``) and ``make bench`` (bench/bench_diagnose.py, which seeds it and prints the
slowest diagnosis). Cheap to draw: huge texts are built by repetition, not character by
character.

An input is ``(objects, logs)``: a pod shaped as the kubelet writes it (sometimes with
wrong types, huge numbers, missing fields), its Events, sometimes its owners, and a
previous-container log per container.
"""

from __future__ import annotations

import json
import random
from typing import Any

import kube as k

Logs = dict[tuple[str, str, str], str]

# Fragments real logs are made of; the generator repeats, nests and cuts them.
WORDS = [
    "panic: ", "FATAL: ", "ERROR ", "error: ", "Caused by: ", "Traceback (most recent call last):",
    "java.lang.IllegalStateException: ", "java.nio.file.ReadOnlyFileSystemException",
    "VAULT_ADDR", " must be set", " is not set", " is required", "missing ", "env var ",
    "required key ", " missing value", "Could not resolve placeholder '", "' in value",
    "KeyError: '", "connection refused", "connect ECONNREFUSED ", "dial tcp ", ":5432",
    "no such host", "Read-only file system", "Permission denied", "No space left on device",
    "Too many open files", "exec format error", "Segmentation fault", "unbound variable",
    "OutOfMemoryError: Java heap space", "JavaScript heap out of memory", "\tat ", "\n",
    "During handling of the above exception, another exception occurred:", "  File \"x.py\"",
    "Unhandled exception. ", " ---> ", "level=fatal ", "msg=", '"', "\\", "\\n", "\\\"",
    "{", "}", "[", "]", ":", ",", "=", " ", "\x1b[31m", "\x1b[0m", "\x1b]0;title\x07", "\r",
    "2026-11-20T10:29:39.512345678Z stderr F ", "E1120 10:29:39.123456       1 main.go:42] ",
    "unable to retrieve container logs for containerd://", "/app/config.yaml", "$FOO",
    "${DATABASE_URL}", "A_B_C_D_E_F_G_H", "AAAA", "\x00", "\ufffd", "é", "😀",
]
REPEATED = ["A", "a", " ", "X_Y ", "ERROR ", "{\"a\":", "\"\\", "\\\\", "=\"", "$", "/a",
            "connection refused ", "Caused by: x.Y: ", ":" , "é", "\t", "AAAA_", "env "]


RUNS = [10, 1000, 65_000, 300_000, 2_000_000]
RUN_WEIGHTS = [40, 30, 20, 7, 3]


def _text(rnd: random.Random, budget: int) -> str:
    """A random text: fragments, repetitions (long lines), binary, JSON and chains."""
    parts: list[str] = []
    size = 0
    while size < budget:
        kind = rnd.random()
        if kind < 0.45:
            piece = rnd.choice(WORDS)
        elif kind < 0.60:
            # a long run: up to 2 MB of one fragment, on one line
            piece = rnd.choice(REPEATED) * rnd.choices(RUNS, RUN_WEIGHTS)[0]
        elif kind < 0.70:
            raw = rnd.randbytes(rnd.randint(1, 64))
            piece = raw.decode("utf-8", errors="replace")
        elif kind < 0.78:
            depth = rnd.choice([1, 5, 50, 1000, 100_000])
            piece = '{"msg":' * depth + '"x"' + "}" * rnd.choice([0, depth]) + "\n"
        elif kind < 0.86:
            depth = rnd.choice([2, 20, 2000])
            piece = ("Caused by: java.lang.RuntimeException: nested\n\tat a.B.c(B.java:1)\n"
                     * depth)
        elif kind < 0.92:
            record = {rnd.choice(["level", "msg", "message", "error", "err", "@m", "@x", "event",
                                  "severity", "log.level", "stack_trace", "exception"]):
                      rnd.choice([None, 1, 60, "fatal", "x" * rnd.randint(0, 5000),
                                  {"message": "connection refused"}, ["a", 1], True])
                      for _ in range(rnd.randint(0, 5))}
            piece = json.dumps(record) + "\n"
        else:
            piece = "".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 30))) + "\n"
        parts.append(piece)
        size += len(piece)
        if rnd.random() < 0.3:
            break
    return parts[0] if len(parts) == 1 else "".join(parts)


_WEIRD: list[Any] = [None, "", "x", -1, 0, 2**63, -(2**63), 10**30, 1e308, float("nan"), True,
                     [], {}, [1, "a"], {"a": 1}, "9" * 400]


def _weird(rnd: random.Random) -> Any:
    return rnd.choice(_WEIRD)


def _maybe(rnd: random.Random, value: Any, p: float = 0.1) -> Any:
    """The value, or (with probability p) something of the wrong type or size."""
    return _weird(rnd) if rnd.random() < p else value


TERM_REASONS = ["Error", "OOMKilled", "Completed", "StartError", "ContainerCannotRun",
                "ContainerStatusUnknown", ""]
WAIT_REASONS = ["CrashLoopBackOff", "RunContainerError", "CreateContainerConfigError",
                "CreateContainerError", "ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                "ErrImageNeverPull", "PostStartHookError", "ContainerCreating",
                "PodInitializing", ""]
EVENT_REASONS = ["Unhealthy", "Killing", "Failed", "BackOff", "FailedMount",
                 "FailedAttachVolume", "FailedScheduling", "FailedPostStartHook",
                 "FailedPreStopHook", "Started", "Pulled"]
EXIT_CODES = [0, 1, 2, 126, 127, 128, 134, 137, 139, 143, 255, -1, 2**31]


def _status(rnd: random.Random, c: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    term = k.terminated(rnd.choice(TERM_REASONS), rnd.choice(EXIT_CODES),
                        message=_text(rnd, 300) if rnd.random() < 0.3 else None)
    term["exitCode"] = _maybe(rnd, term["exitCode"])
    shape = rnd.random()
    if shape < 0.4:
        cs = k.crashloop_status(c, p, term, restarts=_maybe(rnd, rnd.randint(1, 50), 0.2))
    elif shape < 0.6:
        cs = k.running_status(c, ready=rnd.random() < 0.5, restarts=rnd.randint(0, 9), last=term)
    elif shape < 0.8:
        msg = _text(rnd, 200) if rnd.random() < 0.7 else None
        cs = k.waiting_status(c, rnd.choice(WAIT_REASONS), msg)
    else:
        cs = k.running_status(c)
        cs["state"] = {"terminated": term}
        cs["restartCount"] = rnd.randint(0, 10**6)
    for key in ("state", "lastState", "restartCount", "ready", "name"):
        if rnd.random() < 0.05:
            cs[key] = _weird(rnd)
    return cs


def _event(rnd: random.Random, p: dict[str, Any], container: str) -> dict[str, Any]:
    ev = k.event(p, rnd.choice(EVENT_REASONS), "", name=f"ev{rnd.getrandbits(32)}",
                 container_name=container if rnd.random() < 0.7 else None,
                 count=_maybe(rnd, rnd.randint(1, 10**6)))
    ev["message"] = _text(rnd, 200)
    for key in ("involvedObject", "lastTimestamp", "message", "count", "reason"):
        if rnd.random() < 0.03:
            ev[key] = _weird(rnd)
    return ev


def generate(rnd: random.Random) -> tuple[list[Any], Logs]:
    """One random input: ``(objects, logs)``."""
    n = rnd.randint(1, 3)
    names = [f"c{i}" for i in range(n)]
    init = rnd.random() < 0.2
    containers = [k.container(name=name, memory_limit=rnd.choice(["32Mi", "1Gi", None, "x"]))
                  for name in names]
    owner = rnd.choice([("ReplicaSet", "web-7d9c5b8f6d"), ("Job", "export-1"),
                        ("StatefulSet", "db"), None])
    p = k.pod(containers=[] if init else containers, owner=owner,
              init_containers=containers if init else None,
              phase=rnd.choice(["Running", "Pending", "Failed", "Succeeded", ""]))
    p["status"]["containerStatuses" if not init else "initContainerStatuses"] = [
        _status(rnd, c, p) for c in containers]
    if rnd.random() < 0.1:
        p["status"]["conditions"].append({"type": "PodScheduled", "status": "False",
                                          "reason": "Unschedulable", "message": _text(rnd, 200)})
    if rnd.random() < 0.05:
        p["status"]["reason"] = "Evicted"
        p["status"]["message"] = _text(rnd, 300)
    objects: list[Any] = [p]
    objects += [_event(rnd, p, rnd.choice(names)) for _ in range(rnd.randint(0, 4))]
    if owner and owner[0] == "ReplicaSet" and rnd.random() < 0.5:
        objects.append(k.replicaset(owner[1], "web", 2, containers))
        objects.append(k.replicaset("web-5c8d7f", "web", 1, [k.container(memory_limit="1Gi")]))
        dep = k.deployment("web", containers, revision=2)
        # what a workload carries from earlier: crashwatch's history, field managers
        dep["metadata"]["annotations"]["crashwatch.dev/history"] = rnd.choice([
            _text(rnd, 100), '[{"reason": "CrashLoop.MissingEnv", "since": "x"}]',
            "[" * rnd.choice([10, 100_000]), _weird(rnd)])
        dep["metadata"]["managedFields"] = rnd.choice([
            _weird(rnd), [{"manager": _weird(rnd), "time": _weird(rnd), "fieldsV1": _weird(rnd)}],
            [{"manager": "m", "operation": "Update", "time": k.ts(100), "fieldsV1": {"f:spec": {
                "f:template": {"f:spec": {"f:containers": {'k:{"name":"c0"}': {"f:image": {},
                    "f:resources": {"f:limits": {"f:memory": {}}}}, "k:{bad json": {}}}}}}}]])
        objects.append(dep)
    if rnd.random() < 0.2:
        objects.append({"kind": "Node", "metadata": {"name": k.NODE}, "status": {
            "allocatable": {"memory": _maybe(rnd, "15Gi", 0.5)},
            "nodeInfo": {"architecture": _maybe(rnd, "arm64", 0.5)}}})
        objects.append({"kind": "PersistentVolumeClaim", "metadata": {"name": "data",
                                                                      "namespace": "shop"},
                        "spec": _maybe(rnd, {"storageClassName": "x"}, 0.5),
                        "status": _maybe(rnd, {"phase": "Pending"}, 0.5)})
    if owner and owner[0] == "Job" and rnd.random() < 0.5:
        objects.append({"apiVersion": "batch/v1", "kind": "Job",
                        "metadata": {"name": owner[1], "namespace": "shop"},
                        "spec": {"backoffLimit": _maybe(rnd, 6)},
                        "status": {"failed": _maybe(rnd, 7), "conditions": [
                            {"type": "Failed", "status": "True",
                             "reason": rnd.choice(["BackoffLimitExceeded", "DeadlineExceeded"]),
                             "message": _text(rnd, 100)}]}})
    if rnd.random() < 0.05:
        objects.append(_weird(rnd))
    logs = {("shop", p["metadata"]["name"], name): _text(rnd, rnd.choice([100, 2000, 70_000]))
            for name in names if rnd.random() < 0.9}
    return objects, logs
