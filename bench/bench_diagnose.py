"""Benchmark: ``crashwatch diagnose`` on a generated 10,000-pod snapshot with 500
failing pods (goal: under 2 s on one core); then hostile logs (issue #12): one line of
65,000 characters diagnosed offline (goal < 0.5 s), one line of 2 MB (goal < 2 s), and the
slowest diagnosis over the fuzz generator of tests/unit/fuzzgen.py (goal < 0.5 s). Prints
its figures; never asserts.

    make bench            # or: python bench/bench_diagnose.py --pods 10000 --failing 500
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "unit"))

import fuzzgen  # noqa: E402
import kube as k  # noqa: E402

from crashwatch.cli.loader import gc_paused, load_objects  # noqa: E402
from crashwatch.diagnosis import diagnose  # noqa: E402
from crashwatch.logsource import LogsDir  # noqa: E402


def generate(pods: int, failing: int, seed: int = 7) -> dict[str, object]:
    """Deployments of 10 pods each; ``failing`` pods spread over several failure kinds,
    each with the kubelet's Events; every healthy pod has its Normal start-up Events."""
    rnd = random.Random(seed)
    items: list[dict[str, object]] = []
    fail_idx = set(rnd.sample(range(pods), failing))
    for i in range(pods):
        dep = f"svc-{i // 10:04d}"
        ns = f"team-{i // 1000:02d}"
        rs = f"{dep}-7d9c5b8f6d"
        c = k.container(image=f"registry.example.com/{ns}/{dep}:1.{i % 7}.0",
                        livenessProbe={"httpGet": {"path": "/healthz", "port": 8080}})
        p = k.pod(name=f"{rs}-{i:05d}", namespace=ns, containers=[c], owner=("ReplicaSet", rs))
        if i % 10 == 0:
            items.append(k.replicaset(rs, dep, 1, [c], namespace=ns, replicas=10, available=10))
            items.append(k.deployment(dep, [c], revision=1, namespace=ns, replicas=10,
                                      available=10))
        if i not in fail_idx:
            p["status"]["containerStatuses"] = [k.running_status(c)]
            items.append(p)
            items.append(k.event(p, "Started", "Started container app", type_="Normal",
                                 container_name="app", last_ago=7000, first_ago=7000))
            continue
        kind = i % 5
        if kind == 0:
            p["status"]["containerStatuses"] = [
                k.crashloop_status(c, p, k.terminated("OOMKilled", 137))]
        elif kind == 1:
            p["status"]["containerStatuses"] = [k.crashloop_status(
                c, p, k.terminated("Error", 1, message="FATAL: VAULT_ADDR must be set"))]
        elif kind == 2:
            p["status"]["containerStatuses"] = [
                k.crashloop_status(c, p, k.terminated("Error", 137, ran_for=30))]
            items.append(k.event(p, "Unhealthy", "Liveness probe failed: HTTP probe failed "
                                 "with statuscode: 404", container_name="app", count=9))
            items.append(k.event(p, "Killing", "Container app failed liveness probe, will be "
                                 "restarted", type_="Normal", container_name="app", count=3))
        elif kind == 3:
            msg = f"couldn't find key api_url in ConfigMap {ns}/{dep}-config"
            p["status"]["containerStatuses"] = [
                k.waiting_status(c, "CreateContainerConfigError", msg)]
            items.append(k.event(p, "Failed", f"Error: {msg}", container_name="app", count=7))
        else:
            img = c["image"]
            p["status"]["containerStatuses"] = [
                k.waiting_status(c, "ImagePullBackOff", f'Back-off pulling image "{img}"')]
            items.append(k.event(p, "Failed", f'Failed to pull image "{img}": rpc error: code = '
                                 f"NotFound desc = failed to pull and unpack image: {img}: "
                                 "not found", container_name="app", count=4))
        items.append(p)
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {}}


def _long_line_snapshot(tmp: Path, length: int) -> tuple[Path, Path, str]:
    """A crash-looping pod whose previous log is one line ``panic: AAAA...``."""
    c = k.container()
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, k.terminated("Error", 2))]
    snap = tmp / f"long-{length}.json"
    snap.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [p]}))
    logs = tmp / f"logs-{length}"
    log_file = logs / "shop" / p["metadata"]["name"] / "app.log"
    log_file.parent.mkdir(parents=True)
    line = "panic: " + "A" * (length - len("panic: "))
    log_file.write_text(line + "\n")
    return snap, logs, line


def hostile_logs(repeat: int, fuzz_samples: int) -> None:
    """Issue #12's freeze, measured in CPU seconds of this process (another process on the
    shared cores does not count): the whole offline diagnosis of a long line (loading the
    snapshot, reading the log, diagnosing), best of ``repeat``; then every input of the
    fuzz generator, once each."""
    diagnose([], None)  # the catalogue is compiled on first use: not part of any figure
    with tempfile.TemporaryDirectory() as tmp:
        snap, logs_dir, _ = _long_line_snapshot(Path(tmp), 65_000)
        times = []
        for _ in range(repeat):
            t0 = time.process_time()
            findings = diagnose(load_objects(str(snap)), LogsDir(str(logs_dir)))
            times.append(time.process_time() - t0)
        print(f"65,000-char log line, offline:  {min(times):.4f} s "
              f"({findings[0].reason}); goal < 0.5 s")
        _, _, line = _long_line_snapshot(Path(tmp), 2_000_000)
        objects = load_objects(str(snap))
        times = []
        for _ in range(repeat):
            t0 = time.process_time()
            findings = diagnose(objects, lambda *_: line)  # the whole 2 MB, no source bound
            times.append(time.process_time() - t0)
        print(f"2 MB log line:                  {min(times):.4f} s "
              f"({findings[0].reason}); goal < 2 s")
    slowest, seed_of, total = 0.0, 0, 0.0
    for seed in range(fuzz_samples):
        objects, logs = fuzzgen.generate(random.Random(seed))
        t0 = time.process_time()
        diagnose(objects, lambda ns, p, c, logs=logs: logs.get((ns, p, c)))
        took = time.process_time() - t0
        total += took
        if took > slowest:
            slowest, seed_of = took, seed
    print(f"fuzz generator, {fuzz_samples:,} inputs: slowest {slowest:.4f} s (seed {seed_of}), "
          f"mean {1000 * total / fuzz_samples:.2f} ms; goal < 0.5 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--failing", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fuzz-samples", type=int, default=5_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "snapshot.json"
        path.write_text(json.dumps(generate(args.pods, args.failing)))
        size_mb = path.stat().st_size / 1e6

        load_s, diag_s, found = [], [], 0
        for _ in range(args.repeat):
            t0 = time.process_time()
            with gc_paused():  # as the command does
                objects = load_objects(str(path))
                gc.freeze()
            t1 = time.process_time()
            findings = diagnose(objects)
            t2 = time.process_time()
            gc.unfreeze()
            del objects
            gc.collect()
            load_s.append(t1 - t0)
            diag_s.append(t2 - t1)
            found = len(findings)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        # The whole command as a user runs it (interpreter start, imports, parse, diagnose,
        # render), pinned to one core.
        cmd = [sys.executable, "-m", "crashwatch", "diagnose", "-f", str(path), "-o", "json"]
        if hasattr(os, "sched_setaffinity"):
            cmd = ["taskset", "-c", "0", *cmd]
        walls, cpus = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            walls.append(time.perf_counter() - t0)
            cpus.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)

    best_total = min(ld + dg for ld, dg in zip(load_s, diag_s, strict=True))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"snapshot: {args.pods} pods ({args.failing} failing), {size_mb:.1f} MB JSON")
    print(f"findings: {found}")
    print(f"parse (CPU, best of {args.repeat}):      {min(load_s):.3f} s")
    print(f"diagnose (CPU, best of {args.repeat}):   {min(diag_s):.3f} s "
          f"({args.pods / min(diag_s):,.0f} pods/s)")
    print(f"parse + diagnose:             {best_total:.3f} s "
          f"({args.pods / best_total:,.0f} pods/s)")
    print(f"crashwatch diagnose, 1 core:  {min(walls):.3f} s wall (best of {args.repeat}); "
          f"goal < 2 s")
    print(f"  the same, CPU of the command: {min(cpus):.3f} s (what a busy shared core does "
          f"not inflate; load average {os.getloadavg()[0]:.1f})")
    print(f"peak RSS of this process:     {rss_mb:.0f} MB")
    hostile_logs(args.repeat, args.fuzz_samples)


if __name__ == "__main__":
    main()
