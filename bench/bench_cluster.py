"""Cluster-scale benchmark: ``crashwatch run`` beside kube-state-metrics on one control plane.

    make bench-cluster        # python bench/bench_cluster.py --scales 1000,10000

Starts the local control plane (tests/cluster) with an audit log, installs crashwatch from
deploy/ (watch-only overlay) and runs it as a process under its ServiceAccount's token,
and runs kube-state-metrics (built from k8s.io/kube-state-metrics/v2, bench/build-ksm.sh)
under a read-only ServiceAccount of its own. Then, for each scale (1,000 then 10,000 pods
in Deployments of 20):

1. healthy churn only (no failures) for ``--healthy-seconds``: kubelet-style status writes
   that leave containers running and ready, pod label changes, single container restarts
   that come back ready, Deployments scaled up and down. crashwatch must write nothing.
2. mixed churn for ``--duration`` seconds at ``--rate`` pod status changes per second: the
   same healthy churn plus a steady stream of failures of six kinds (missing env var,
   OOMKilled, read-only filesystem, liveness probe 404, missing ConfigMap key, image not
   found), each written as the kubelet writes it (status, Events, previous log), held a few
   seconds, then recovered.

Measured, per tool: delay from the failing status written to the API server until crashwatch
has published its diagnosis (its pod patch, from the API server's audit log) and until
kube-state-metrics' /metrics shows the waiting reason (or, for a liveness kill, the new
restart count), p50/p99; watch events per second and CPU seconds per 1,000 events; peak
RSS; API requests (reads, writes) from the audit log; crashwatch writes per diagnosis, and
its writes during healthy churn. Prints one table with the ratios crashwatch/KSM and keeps
it under bench/results/. Never asserts: figures only.

Then, at the largest scale, sharding (``--shards 1,2,4``): the single replica and KSM
stopped, 1, 2 and 4 crashwatch shards (``--shards N --shard-index I``, the API server
sharding) each started into the full cluster and put through healthy then mixed churn;
beside the 4 shards, kube-state-metrics ``--total-shards 4``. Per shard: its namespaces and
pods, its share of the events, CPU per 1,000 events of the whole cluster, cold start, peak
RSS, delay p50/p99 of the failures in its namespaces; per shard count: the total.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import datetime as dt
import functools
import json
import math
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kubernetes import client  # noqa: E402
from tests.cluster.controlplane.plane import ControlPlane, build_binaries, free_port  # noqa: E402
from tests.cluster.nodes.kwok import kubelet  # noqa: E402
from tests.cluster.promtext import metric_sum  # noqa: E402
from tests.e2e.deploying import apply_overlay, install_monitoring_crds, kubectl  # noqa: E402

from crashwatch import __version__  # noqa: E402
from crashwatch.sharding import Shard  # noqa: E402

CW_USER = "system:serviceaccount:crashwatch:crashwatch"
KSM_USER = "system:serviceaccount:kube-system:kube-state-metrics"
BENCH_USER = "kubernetes-admin"
SMP = "application/strategic-merge-patch+json"
PODS_PER_DEPLOYMENT = 20
DEPLOYMENTS_PER_NAMESPACE = 5  # 100 pods per namespace: 100 namespaces at 10,000 pods
POOL_EVERY = 5          # every 5th Deployment is a "pool" the bench drives through failures
HOLD_SECONDS = 5.0      # a failure is held this long, then recovered
COOLDOWN_SECONDS = 8.0  # a recovered pod rests this long before it fails again
IMAGE = "registry.example.com/shop/checkout:2.4.1"

AUDIT_POLICY = f"""apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  # crashwatch's pod patches with their bodies: a diagnosis set, or one cleared.
  - level: Request
    users: ["{CW_USER}"]
    verbs: ["patch"]
    resources: [{{group: "", resources: ["pods"]}}]
  - level: Metadata
    users: ["{CW_USER}", "{KSM_USER}"]
  # The bench's own writes: when each failing status reached the API server.
  - level: Metadata
    users: ["{BENCH_USER}"]
    verbs: ["patch", "create", "update"]
    resources: [{{group: "", resources: ["pods/status"]}}]
  - level: None
"""

KSM_RBAC = """apiVersion: v1
kind: ServiceAccount
metadata: {name: kube-state-metrics, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: bench-kube-state-metrics}
rules:
  - apiGroups: ["*"]
    resources: ["*"]
    verbs: ["list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: bench-kube-state-metrics}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: bench-kube-state-metrics}
subjects:
  - {kind: ServiceAccount, name: kube-state-metrics, namespace: kube-system}
"""

# kind -> (crashwatch's expected reason, the previous log the container wrote or None)
FAILURES: dict[str, tuple[str, str | None]] = {
    "missing-env": ("CrashLoop.MissingEnv",
                    "=> Booting Puma\n/usr/local/bundle/gems/railties-7.1.3/lib/rails/"
                    "application.rb:658:in `validate_secret_key_base': Missing `secret_key_base`"
                    " for 'production' environment, set this string with `bin/rails "
                    "credentials:edit` (ArgumentError)\n"),
    "oom": ("CrashLoop.OOMKilled", None),
    "read-only-fs": ("CrashLoop.ReadOnlyFilesystem",
                     "ERROR: Failed to start server in (production) mode\nError details:: "
                     "java.nio.file.FileSystemException: /opt/app/lib/build.properties: "
                     "Read-only file system\n"),
    "liveness": ("CrashLoop.LivenessProbe", None),
    "missing-key": ("Config.MissingConfigMapKey", None),
    "image": ("Image.NotFound", None),
}


def namespace_of(deployment: int) -> str:
    """The namespace of the i-th Deployment. Named team-NN-prod: names that differ only in
    their last characters (shop-00, shop-01, ...) all hash into one shard (FNV-1a's top bits
    hardly depend on the last bytes), these spread (2 shards: 52/48 of 100; 4: 23/29/22/26)."""
    return f"team-{deployment // DEPLOYMENTS_PER_NAMESPACE:02d}-prod"


def now3339() -> str:
    return kubelet.rfc3339()


def parse_ts(s: str) -> float:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


# ------------------------------------------------------------------------- processes


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    metrics_url: str
    started: float = field(default_factory=time.monotonic)
    health_url: str = ""

    @property
    def pid(self) -> int:
        return self.popen.pid

    def cpu_seconds(self) -> float:
        """User and system CPU seconds together."""
        return sum(self.cpu_split())

    def cpu_split(self) -> tuple[float, float]:
        """(user, system) CPU seconds."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / ticks, int(fields[12]) / ticks

    def context_switches(self) -> int:
        """Voluntary and involuntary, over all its threads."""
        total = 0
        for status in Path(f"/proc/{self.pid}/task").glob("*/status"):
            with contextlib.suppress(OSError):
                for line in status.read_text().splitlines():
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt")):
                        total += int(line.split()[1])
        return total

    def memory_mb(self) -> tuple[float, float]:
        """(current RSS, peak RSS) in MB."""
        vals = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                vals[line.split(":")[0]] = int(line.split()[1]) / 1024
        return vals.get("VmRSS", 0.0), vals.get("VmHWM", 0.0)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()


def wait_http(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{what} not up at {url} after {timeout}s")


def start_crashwatch(plane: ControlPlane, work: Path, *, cold: bool = False,
                     shard: tuple[int, int] | None = None, install: bool = True,
                     # production's sweep interval; a short stable-after so that pods recover fast
                     extra: tuple[str, ...] = ("--stable-after-seconds", "3"),
                     ) -> tuple[Proc, Path]:
    """crashwatch under its ServiceAccount's token. ``cold``: a second instance that only
    diagnoses (dry run), to time a start against the full cluster. ``shard``: (index, count),
    one shard of several. ``extra``: more flags (the default shortens
    ``--stable-after-seconds``; ``()`` runs it as deployed)."""
    if not cold and install:
        install_monitoring_crds(plane)
        apply_overlay(plane, "watch-only")
    kc = plane.mint_serviceaccount_kubeconfig("crashwatch", "crashwatch",
                                              expiration_seconds=86400)
    logs = work / "container-logs"
    logs.mkdir(exist_ok=True)
    mport, hport = free_port(), free_port()
    env = {**os.environ, "KUBECONFIG": str(kc), "CRASHWATCH_LOG_FORMAT": "json",
           # as deploy/overlays/watch-only runs it
           "CRASHWATCH_OWNER_ANNOTATIONS": "false"}
    if cold:
        env["CRASHWATCH_DRY_RUN"] = "true"
    name = "crashwatch-cold" if cold else "crashwatch"
    if shard is not None:
        env["CRASHWATCH_SHARDS"], env["CRASHWATCH_SHARD_INDEX"] = str(shard[1]), str(shard[0])
        name = f"crashwatch-shard-{shard[0]}-of-{shard[1]}"
    out = (work / f"{name}.log").open("wb")
    started = time.monotonic()
    popen = subprocess.Popen(
        [sys.executable, "-m", "crashwatch", "run", "--logs-dir", str(logs),
         "--metrics-port", str(mport), "--health-port", str(hport), *extra],
        cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    if not cold:
        wait_http(f"http://127.0.0.1:{hport}/healthz", popen, name)
    return Proc(name, popen, f"http://127.0.0.1:{mport}/metrics", started,
                f"http://127.0.0.1:{hport}"), logs


@functools.cache
def ksm_binary() -> str:
    """kube-state-metrics, built once (bench/build-ksm.sh prints its path last)."""
    out = subprocess.run([str(ROOT / "bench" / "build-ksm.sh")], check=True,
                         capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


def start_ksm(plane: ControlPlane, work: Path, *, cold: bool = False,
              shard: tuple[int, int] | None = None) -> Proc:
    """kube-state-metrics; ``shard``: (index, count), its own client-side sharding
    (``--shard``/``--total-shards``: every shard still receives every object)."""
    binary = ksm_binary()
    if not cold:
        kubectl(plane, "apply", "-f", "-", stdin=KSM_RBAC)
    kc = plane.mint_serviceaccount_kubeconfig("kube-system", "kube-state-metrics",
                                              expiration_seconds=86400)
    port, tport = free_port(), free_port()
    name = "kube-state-metrics-cold" if cold else "kube-state-metrics"
    flags = []
    if shard is not None:
        name = f"kube-state-metrics-shard-{shard[0]}-of-{shard[1]}"
        flags = [f"--shard={shard[0]}", f"--total-shards={shard[1]}"]
    out = (work / f"{name}.log").open("wb")
    popen = subprocess.Popen(
        [binary, f"--kubeconfig={kc}", "--host=127.0.0.1", f"--port={port}",
         "--telemetry-host=127.0.0.1", f"--telemetry-port={tport}", *flags],
        stdout=out, stderr=subprocess.STDOUT)
    if not cold:
        wait_http(f"http://127.0.0.1:{port}/healthz", popen, name)
    return Proc(name, popen, f"http://127.0.0.1:{port}/metrics")


def scrape(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as r:
        return bytes(r.read())


class Profiler:
    """py-spy attached to a running process; ``summary()`` waits for it and tells where the
    main thread (the asyncio loop, where every watch event is handled) spent its time."""

    def __init__(self, popen: subprocess.Popen[bytes], path: Path) -> None:
        self.popen, self.path = popen, path

    @classmethod
    def attach(cls, pid: int, path: Path, seconds: float) -> Profiler | None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(spy).exists():
            print("   (py-spy not installed: no profile)")
            return None
        popen = subprocess.Popen(
            [spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "100",
             "-f", "speedscope", "-o", str(path), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return cls(popen, path)

    def summary(self, top: int = 25) -> str:
        try:
            self.popen.wait(timeout=180)
        except subprocess.TimeoutExpired:
            self.popen.send_signal(2)
            self.popen.wait(timeout=30)
        if not self.path.exists():
            return "no profile was written"
        doc = json.loads(self.path.read_text())
        frames = doc["shared"]["frames"]

        def name(i: int) -> str:
            f = frames[i]
            where = str(f.get("file", "")).split("site-packages/")[-1]
            where = where.split(str(ROOT) + "/")[-1].split("python3.11/")[-1]
            return f"{f['name']} ({where})"

        inclusive: Counter[str] = Counter()
        own: Counter[str] = Counter()
        total = idle = 0.0
        for prof in doc["profiles"]:
            if "MainThread" not in prof["name"]:
                continue
            for stack, weight in zip(prof["samples"], prof["weights"], strict=True):
                if stack and frames[stack[-1]]["name"].endswith("select"):
                    idle += weight  # the loop waiting for the network, not working
                    continue
                total += weight
                for n in {name(i) for i in stack}:
                    inclusive[n] += weight
                if stack:
                    own[name(stack[-1])] += weight
        if not total:
            return "no samples"
        lines = [f"main thread (the event loop) busy {total:.1f} s, waiting {idle:.1f} s; "
                 "share of the busy time, callees included:"]
        lines += [f"  {100 * w / total:5.1f}%  {n}" for n, w in inclusive.most_common(top + 8)
                  if not any(x in n for x in ("asyncio", "runpy", "__main__", "crashwatch/cli/"))
                  ][:top]
        lines.append("own time:")
        lines += [f"  {100 * w / total:5.1f}%  {n}" for n, w in own.most_common(12)]
        return "\n".join(lines)


# ------------------------------------------------------------------------- the workload


def deployment(ns: str, name: str, pool: bool, replicas: int) -> dict[str, Any]:
    annotations = {kubelet.SIMULATED_ANNOTATION: "true"} if pool else {}
    labels = {"app": name, "bench/pool": "true" if pool else "false"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations},
                "spec": {
                    "containers": [{
                        "name": "app", "image": IMAGE,
                        "ports": [{"containerPort": 8080}],
                        "env": [{"name": "CHECKOUT_MODE", "valueFrom": {"configMapKeyRef": {
                            "name": "checkout-config", "key": "mode"}}}],
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080},
                                          "periodSeconds": 10, "failureThreshold": 3},
                        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"},
                                      "limits": {"memory": "256Mi"}},
                    }],
                    "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists",
                                     "effect": "NoSchedule"}],
                },
            },
        },
    }


@dataclass
class PoolPod:
    pod: dict[str, Any]
    restarts: int = 0
    last: dict[str, Any] | None = None
    busy: bool = False
    ready_at: float = 0.0


@dataclass
class Injection:
    kind: str
    ns: str
    name: str
    expected: str
    ksm_metric: str          # "waiting" or "restarts"
    ksm_value: str           # the waiting reason, or the restart count
    sent: float              # bench clock, just before the write
    t0: float | None = None  # API server clock (audit): the failing status stored
    cw_at: float | None = None
    cw_reason: str | None = None
    ksm_at: float | None = None


@dataclass
class Workload:
    core: client.CoreV1Api
    apps: client.AppsV1Api
    logs_dir: Path
    rnd: random.Random = field(default_factory=lambda: random.Random(7))
    pool: dict[tuple[str, str], PoolPod] = field(default_factory=dict)
    plain: list[tuple[str, str]] = field(default_factory=list)
    restarted: set[tuple[str, str]] = field(default_factory=set)
    deployments: list[tuple[str, str, int]] = field(default_factory=list)
    injections: list[Injection] = field(default_factory=list)
    writes: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: Counter[str] = field(default_factory=Counter)

    # -- building ---------------------------------------------------------------------
    def grow(self, pods: int) -> float:
        """Create Deployments until ``pods`` pods exist; every pool pod gets its Running
        status from the bench (kwok starts the others). Returns the seconds it took."""
        t0 = time.monotonic()
        have = len(self.deployments)
        want = pods // PODS_PER_DEPLOYMENT
        namespaces = sorted({namespace_of(i) for i in range(want)})
        for ns in namespaces:
            try:
                self.core.create_namespace({"metadata": {"name": ns}})  # type: ignore[arg-type]
            except client.ApiException as e:
                if e.status != 409:
                    raise
        for i in range(have, want):
            ns, name = namespace_of(i), f"svc-{i:04d}"
            pool = i % POOL_EVERY == 0
            body = deployment(ns, name, pool, PODS_PER_DEPLOYMENT)
            self.apps.create_namespaced_deployment(ns, body,  # type: ignore[arg-type]
                                                   _preload_content=False)
            self.deployments.append((ns, name, PODS_PER_DEPLOYMENT))
        self._wait_started(pods)
        return time.monotonic() - t0

    def _list_pods(self) -> list[dict[str, Any]]:
        resp = self.core.list_pod_for_all_namespaces(label_selector="bench/pool",
                                                     _preload_content=False)
        return list(json.loads(resp.data)["items"])  # type: ignore[attr-defined]

    def _wait_started(self, pods: int, timeout: float = 1200) -> None:
        deadline = time.monotonic() + timeout
        with cf.ThreadPoolExecutor(8) as ex:
            while True:
                items = self._list_pods()
                to_start, running = [], 0
                for p in items:
                    md = p["metadata"]
                    key = (md["namespace"], md["name"])
                    if md.get("deletionTimestamp"):
                        continue
                    is_pool = md["labels"].get("bench/pool") == "true"
                    if is_pool and key not in self.pool and p["spec"].get("nodeName"):
                        to_start.append(p)
                    elif p.get("status", {}).get("phase") == "Running":
                        running += 1
                        if not is_pool and key not in self.restarted and key not in self.plain:
                            self.plain.append(key)
                list(ex.map(self._start_pool_pod, to_start))
                running += len(to_start)
                print(f"    {running}/{pods} pods running", end="\r", flush=True)
                if running >= pods:
                    print()
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {running}/{pods} pods running after {timeout}s")
                time.sleep(5)

    def _start_pool_pod(self, p: dict[str, Any]) -> None:
        p.setdefault("status", {})
        status = self._running_status(p, 0, None)
        self._patch_status(p, status)
        p["status"] = status
        with self.lock:
            self.pool[(p["metadata"]["namespace"], p["metadata"]["name"])] = PoolPod(p)

    # -- kubelet-shaped statuses ------------------------------------------------------------
    @staticmethod
    def _frame(p: dict[str, Any], statuses: list[dict[str, Any]], phase: str) -> dict[str, Any]:
        ip = kubelet.pod_ip(p)
        old = p.get("status") or {}
        return {
            "phase": phase,
            "conditions": kubelet._conditions(p, statuses),
            "containerStatuses": statuses,
            "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}],
            "podIP": ip, "podIPs": [{"ip": ip}],
            "startTime": old.get("startTime") or now3339(),
            "qosClass": "Burstable",
        }

    def _running_status(self, p: dict[str, Any], restarts: int,
                        last: dict[str, Any] | None) -> dict[str, Any]:
        spec_c = p["spec"]["containers"][0]
        cs = kubelet._running(p, spec_c, now3339(), restarts)
        if last:
            cs["lastState"] = {"terminated": last}
        return self._frame(p, [cs], "Running")

    def _patch_status(self, p: dict[str, Any], status: dict[str, Any]) -> None:
        md = p["metadata"]
        self.core.patch_namespaced_pod_status(md["name"], md["namespace"], {"status": status},
                                              _preload_content=False, _content_type=SMP)
        with self.lock:
            self.writes["status"] += 1

    def _event(self, p: dict[str, Any], reason: str, message: str, type_: str = "Warning",
               count: int = 1) -> None:
        md = p["metadata"]
        ts = now3339()
        body = {
            "metadata": {"name": f"{md['name']}.{time.time_ns():x}", "namespace": md["namespace"]},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": md["name"],
                               "namespace": md["namespace"], "uid": md["uid"],
                               "fieldPath": "spec.containers{app}"},
            "reason": reason, "message": message, "type": type_,
            "source": {"component": "kubelet", "host": p["spec"].get("nodeName", "")},
            "reportingComponent": "kubelet", "reportingInstance": p["spec"].get("nodeName", ""),
            "firstTimestamp": ts, "lastTimestamp": ts, "count": count,
        }
        self.core.create_namespaced_event(md["namespace"], body,  # type: ignore[arg-type]
                                          _preload_content=False)
        with self.lock:
            self.writes["event"] += 1

    # -- churn -------------------------------------------------------------------------
    def heartbeat(self) -> None:
        """A status write that leaves the pod healthy (a new lastProbeTime on Ready)."""
        key = self.rnd.choice(self.plain)
        patch = {"status": {"conditions": [{"type": "Ready", "status": "True",
                                            "lastProbeTime": now3339()}]}}
        self.core.patch_namespaced_pod_status(key[1], key[0], patch, _preload_content=False,
                                              _content_type=SMP)
        with self.lock:
            self.writes["status"] += 1
            self.writes["heartbeat"] += 1

    def relabel(self) -> None:
        key = self.rnd.choice(self.plain)
        patch = {"metadata": {"labels": {"bench/beat": str(self.rnd.randrange(10**6))}}}
        self.core.patch_namespaced_pod(key[1], key[0], patch, _preload_content=False,
                                       _content_type=SMP)
        with self.lock:
            self.writes["label"] += 1

    def restart(self) -> None:
        """One container restart (exit 1) after which it runs and is ready again."""
        with self.lock:
            candidates = [k for k in self.plain if k not in self.restarted]
            if not candidates:
                return
            key = self.rnd.choice(candidates)
            self.restarted.add(key)
        ts = now3339()
        cs = {"name": "app", "restartCount": 1, "ready": True, "started": True,
              "state": {"running": {"startedAt": ts}},
              "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                           "startedAt": ts, "finishedAt": ts}}}
        self.core.patch_namespaced_pod_status(key[1], key[0],
                                              {"status": {"containerStatuses": [cs]}},
                                              _preload_content=False, _content_type=SMP)
        with self.lock:
            self.writes["status"] += 1
            self.writes["restart"] += 1

    def rescale(self) -> None:
        """A healthy Deployment scaled up by one, or back down."""
        i = self.rnd.randrange(len(self.deployments))
        ns, name, n = self.deployments[i]
        if name.endswith(("0", "5")):  # pool Deployments (every 5th) keep their size
            return
        n = n + 1 if n == PODS_PER_DEPLOYMENT else PODS_PER_DEPLOYMENT
        self.apps.patch_namespaced_deployment_scale(name, ns, {"spec": {"replicas": n}},
                                                    _preload_content=False)
        self.deployments[i] = (ns, name, n)
        with self.lock:
            self.writes["scale"] += 1

    # -- failures ----------------------------------------------------------------------
    def inject(self, kind: str) -> Injection | None:
        now = time.monotonic()
        with self.lock:
            free = [k for k, v in self.pool.items() if not v.busy and v.ready_at <= now]
            if not free:
                self.errors["pool exhausted"] += 1
                return None
            key = self.rnd.choice(free)
            pp = self.pool[key]
            pp.busy = True
        p, spec_c = pp.pod, pp.pod["spec"]["containers"][0]
        expected, log = FAILURES[kind]
        ns, name = key
        if log:
            kubelet.write_log(self.logs_dir, p, "app", log)
        ts = dt.datetime.now(dt.UTC)
        started = kubelet.rfc3339(ts - dt.timedelta(seconds=2))
        finished = kubelet.rfc3339(ts)
        crash_msg = f"Back-off restarting failed container app in pod {kubelet.format_pod(p)}"
        ksm_metric, ksm_value = "waiting", "CrashLoopBackOff"
        events: list[tuple[str, str, str, int]] = []
        pre_events: list[tuple[str, str, str, int]] = []
        if kind in ("missing-env", "oom", "read-only-fs"):
            code, reason = (137, "OOMKilled") if kind == "oom" else (1, "Error")
            pp.restarts += 1
            pp.last = {"exitCode": code, "reason": reason, "startedAt": started,
                       "finishedAt": finished,
                       "containerID": kubelet.container_id(p, "app", pp.restarts - 1)}
            cs = kubelet._base_status(p, spec_c)
            cs.update(restartCount=pp.restarts,
                      containerID=kubelet.container_id(p, "app", pp.restarts - 1),
                      state={"waiting": {"reason": "CrashLoopBackOff", "message":
                                         kubelet.crash_loop_message(p, "app", pp.restarts)}},
                      lastState={"terminated": pp.last})
            status = self._frame(p, [cs], "Running")
            events.append(("BackOff", crash_msg, "Warning", 1))
        elif kind == "liveness":
            pre_events.append(("Unhealthy", "Liveness probe failed: HTTP probe failed with "
                               "statuscode: 404", "Warning", 3))
            pre_events.append(("Killing", "Container app failed liveness probe, will be "
                               "restarted", "Normal", 1))
            pp.restarts += 1
            pp.last = {"exitCode": 137, "reason": "Error", "startedAt": started,
                       "finishedAt": finished,
                       "containerID": kubelet.container_id(p, "app", pp.restarts - 1)}
            status = self._running_status(p, pp.restarts, pp.last)
            ksm_metric, ksm_value = "restarts", str(pp.restarts)
        elif kind == "missing-key":
            msg = kubelet.config_error_message(ns, "configmap", "checkout-config", "mode")
            cs = kubelet._base_status(p, spec_c)
            cs.update(imageID="", state={"waiting": {"reason": "CreateContainerConfigError",
                                                     "message": msg}})
            cs["restartCount"] = pp.restarts
            status = self._frame(p, [cs], "Pending")
            events.append(("Failed", f"Error: {msg}", "Warning", 1))
            ksm_value = "CreateContainerConfigError"
        else:  # image
            err = kubelet.image_pull_message(IMAGE, "notfound")
            cs = kubelet._base_status(p, spec_c)
            cs.update(imageID="", state={"waiting": {"reason": "ErrImagePull", "message": err}})
            cs["restartCount"] = pp.restarts
            status = self._frame(p, [cs], "Pending")
            pre_events.append(("Failed", f'Failed to pull image "{IMAGE}": {err}', "Warning", 1))
            events.append(("Failed", "Error: ErrImagePull", "Warning", 1))
            ksm_value = "ErrImagePull"
        for ev in pre_events:
            self._event(p, *ev)
        inj = Injection(kind, ns, name, expected, ksm_metric, ksm_value, time.time())
        self._patch_status(p, status)
        p["status"] = status
        for ev in events:
            self._event(p, *ev)
        with self.lock:
            self.injections.append(inj)
        return inj

    def recover(self, inj: Injection) -> None:
        pp = self.pool[(inj.ns, inj.name)]
        status = self._running_status(pp.pod, pp.restarts, pp.last)
        self._patch_status(pp.pod, status)
        pp.pod["status"] = status
        with self.lock:
            pp.busy = False
            pp.ready_at = time.monotonic() + COOLDOWN_SECONDS


# ------------------------------------------------------------------------- KSM watcher


WAITING_FAMILY = b"kube_pod_container_status_waiting_reason"
RESTARTS_FAMILY = b"kube_pod_container_status_restarts_total"


def family(body: bytes, name: bytes) -> bytes:
    """The lines of one metric family (kube-state-metrics writes each family in one run)."""
    start = body.find(b"# TYPE " + name + b" ")
    if start < 0:
        return b""
    end = body.find(b"# HELP ", start)
    return body[start:] if end < 0 else body[start:end]


class KsmWatcher(threading.Thread):
    """Scrapes kube-state-metrics' /metrics back to back (every shard's, one after the
    other, when it is sharded) and notes, for every pending injection, the start of the
    first round of scrapes that shows it."""

    WAITING = re.compile(rb'kube_pod_container_status_waiting_reason\{namespace="([^"]*)",'
                         rb'pod="([^"]*)",uid="[^"]*",container="app",reason="([^"]*)"\} 1')
    RESTARTS = re.compile(rb'kube_pod_container_status_restarts_total\{namespace="([^"]*)",'
                          rb'pod="([^"]*)",uid="[^"]*",container="app"\} (\d+)')

    def __init__(self, url: str | list[str]) -> None:
        super().__init__(daemon=True)
        self.urls = [url] if isinstance(url, str) else list(url)
        self.pending: list[Injection] = []
        self.lock = threading.Lock()
        self.active = threading.Event()
        self.done = threading.Event()
        self.durations: list[float] = []
        self.sizes: list[int] = []
        self.last = 0.0

    def add(self, inj: Injection) -> None:
        with self.lock:
            self.pending.append(inj)

    def run(self) -> None:
        while not self.done.is_set():
            if not self.active.wait(0.2):
                continue
            with self.lock:
                pending = list(self.pending)
            if self.durations:  # at most 10 scrapes a second: the bench shares 2 cores
                time.sleep(max(0.0, self.last + 0.1 - time.time()))
            started = self.last = time.time()
            try:
                bodies = [scrape(url) for url in self.urls]
            except OSError:
                time.sleep(0.1)
                continue
            self.durations.append(time.time() - started)
            self.sizes.append(sum(len(b) for b in bodies))
            if not pending:
                continue
            waiting = {(m[0].decode(), m[1].decode(), m[2].decode()) for body in bodies
                       for m in self.WAITING.findall(family(body, WAITING_FAMILY))}
            restarts: dict[tuple[str, str], str] = {}
            if any(i.ksm_metric == "restarts" for i in pending):
                restarts = {(m[0].decode(), m[1].decode()): m[2].decode() for body in bodies
                            for m in self.RESTARTS.findall(family(body, RESTARTS_FAMILY))}
            seen = []
            for inj in pending:
                if inj.ksm_metric == "waiting":
                    hit = (inj.ns, inj.name, inj.ksm_value) in waiting
                else:
                    hit = restarts.get((inj.ns, inj.name)) == inj.ksm_value
                if hit:
                    inj.ksm_at = started
                    seen.append(inj)
            if seen:
                with self.lock:
                    self.pending = [i for i in self.pending if i.ksm_at is None]


# ------------------------------------------------------------------------- audit log


@dataclass
class Audit:
    path: Path
    offset: int = 0
    records: list[AuditRecord] = field(default_factory=list)

    def read(self) -> None:
        """Parse what was appended since the last read, keeping only what is used."""
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                continue
            ref = r.get("objectRef") or {}
            ann = ((r.get("requestObject") or {}).get("metadata") or {}).get("annotations")
            self.records.append(AuditRecord(
                r.get("user", {}).get("username", ""), r.get("verb", ""), r["auditID"],
                r.get("stage", ""), parse_ts(r["requestReceivedTimestamp"]),
                parse_ts(r["stageTimestamp"]), ref.get("namespace", ""), ref.get("name", ""),
                ref.get("resource", ""), ref.get("subresource", ""),
                (ann or {}).get("crashwatch.dev/reason")))

    def requests(self, user: str, since: float, until: float) -> Counter[str]:
        """Distinct requests of ``user`` received in [since, until), by verb."""
        seen = {r.audit_id: r.verb for r in self.records
                if r.user == user and since <= r.received < until}
        return Counter(seen.values())


@dataclass(frozen=True, slots=True)
class AuditRecord:
    user: str
    verb: str
    audit_id: str
    stage: str
    received: float
    done: float
    namespace: str
    name: str
    resource: str
    subresource: str
    reason: str | None  # crashwatch's reason annotation in a patch it sent


READS = ("get", "list", "watch")


def split_rw(verbs: Counter[str]) -> tuple[int, int]:
    reads = sum(n for v, n in verbs.items() if v in READS)
    return reads, sum(verbs.values()) - reads


def match_audit(audit: Audit, injections: list[Injection]) -> None:
    """t0 = the bench's failing status stored; cw_at = crashwatch's first pod patch after it
    that sets a reason."""
    status_writes: dict[tuple[str, str], list[float]] = defaultdict(list)
    cw_patches: dict[tuple[str, str], list[tuple[float, str | None]]] = defaultdict(list)
    for r in audit.records:
        if r.stage != "ResponseComplete" or r.verb != "patch":
            continue
        key = (r.namespace, r.name)
        if r.user == BENCH_USER and r.subresource == "status":
            status_writes[key].append(r.done)
        elif r.user == CW_USER and r.resource == "pods" and not r.subresource:
            cw_patches[key].append((r.done, r.reason))
    for inj in injections:
        key = (inj.ns, inj.name)
        t0 = next((t for t in sorted(status_writes[key]) if t >= inj.sent - 0.05), None)
        if t0 is None:
            continue
        inj.t0 = t0
        hit = next(((t, reason) for t, reason in sorted(cw_patches[key])
                    if t >= t0 and reason), None)
        if hit and hit[0] - t0 < HOLD_SECONDS:
            inj.cw_at, inj.cw_reason = hit


def misnamed(injections: list[Injection]) -> dict[str, int]:
    """``{"kind->reason published": count}`` of the failures crashwatch named wrong."""
    return {f"{k}->{r}": n for (k, r), n in Counter(
        (i.kind, i.cw_reason) for i in injections
        if i.cw_reason and i.cw_reason != i.expected).items()}


def unpublished(injections: list[Injection]) -> list[str]:
    """The failures crashwatch published nothing for, each with the previous failure the
    bench put on the same pod in this phase (a pod is reused: what was left of that one
    can matter)."""
    out: list[str] = []
    last: dict[tuple[str, str], Injection] = {}
    for i in sorted(injections, key=lambda j: j.sent):
        if i.cw_at is None:
            prev = last.get((i.ns, i.name))
            out.append(f"{i.kind} {i.ns}/{i.name}" + (
                f" (its previous failure: {prev.kind}, {i.sent - prev.sent:.0f} s before)"
                if prev else ""))
        last[(i.ns, i.name)] = i
    return out


# ------------------------------------------------------------------------- phases


def failure_rate(work: Workload) -> float:
    """Failures per second the pool sustains: each pod held, rested and a margin, at 80%
    of what the pool could take, at most 10/s."""
    return min(10.0, len(work.pool) / (HOLD_SECONDS + COOLDOWN_SECONDS + 2) * 0.8)


@dataclass
class Sample:
    t: float
    cpu: dict[str, float]
    events: dict[str, float]
    writes: float  # crashwatch's writes that landed, from its own counter


def sample(tools: list[Proc]) -> Sample:
    cw = tools[0]
    text = scrape(cw.metrics_url).decode()
    events = {r: metric_sum(text, "crashwatch_watch_events_total", resource=r)
              for r in ("pods", "events", "replicasets", "deployments")}
    events["all"] = metric_sum(text, "crashwatch_watch_events_total")
    writes = metric_sum(text, "crashwatch_publications_total", result="ok")
    return Sample(time.time(), {p.name: p.cpu_seconds() for p in tools}, events, writes)


def run_churn(work: Workload, seconds: float, rate: float, failures_per_s: float,
              ksm: KsmWatcher | None) -> None:
    """Pod status changes at ``rate`` per second; ``failures_per_s`` of them inject failures
    (each also recovered later, another status change); the rest are healthy."""
    rnd = random.Random(11)
    kinds = list(FAILURES)
    recoveries: list[tuple[float, Injection]] = []
    healthy_rate = max(rate - 2 * failures_per_s - 5, 0)
    plan = [("heartbeat", healthy_rate), ("restart", 5.0 if rate >= 10 else 0.0),
            ("relabel", 10.0), ("rescale", 0.5), ("fail", failures_per_s)]
    total = sum(r for _, r in plan)
    step = 1.0 / total
    deadline = time.monotonic() + seconds
    nxt = time.monotonic()
    n_fail = 0
    futures: list[cf.Future[Any]] = []
    with cf.ThreadPoolExecutor(12) as ex:
        while time.monotonic() < deadline:
            now = time.monotonic()
            while recoveries and recoveries[0][0] <= now:
                _, inj = recoveries.pop(0)
                futures.append(ex.submit(work.recover, inj))
            if now < nxt:
                time.sleep(min(nxt - now, 0.005))
                continue
            nxt += step
            what = rnd.choices([w for w, _ in plan], [r for _, r in plan])[0]
            if what == "fail":
                kind = kinds[n_fail % len(kinds)]
                n_fail += 1

                def fail(kind: str = kind) -> None:
                    inj = work.inject(kind)
                    if inj is not None:
                        if ksm is not None:
                            ksm.add(inj)
                        with work.lock:
                            recoveries.append((time.monotonic() + HOLD_SECONDS, inj))
                            recoveries.sort(key=lambda x: x[0])
                futures.append(ex.submit(fail))
            else:
                futures.append(ex.submit(getattr(work, what)))
            if len(futures) > 2000:
                futures = [f for f in futures if not f.done()]
        # recover what is still failing
        for f in futures:
            try:
                f.result()
            except Exception as err:  # a failed write is counted, not fatal
                work.errors[type(err).__name__] += 1
        for _, inj in recoveries:
            work.recover(inj)


def cold_start(proc: Proc, progress: Any, pods: int, timeout: float = 300
               ) -> dict[str, float]:
    """Wall and CPU seconds from a process's start until ``progress()`` (pods taken in so
    far) reaches ``pods``, its peak RSS, and the pods it took in per CPU second while it
    was taking them in (from the first sample that saw some: start-up excluded). No churn
    runs meanwhile."""
    t0 = proc.started
    deadline = time.monotonic() + timeout
    first: tuple[float, float] | None = None
    seen = 0.0
    try:
        while time.monotonic() < deadline:
            time.sleep(0.1)
            cpu = proc.cpu_seconds()
            try:
                seen = float(progress())
            except OSError:
                continue
            if first is None and seen > 0:
                first = (cpu, seen)
            if seen >= pods:
                break
        wall = time.monotonic() - t0
        cpu = proc.cpu_seconds()
        peak = proc.memory_mb()[1]
    finally:
        proc.stop()
    rate = float("nan")
    if first is not None and cpu > first[0] and seen - first[1] >= pods / 2:
        rate = (seen - first[1]) / (cpu - first[0])
    elif cpu:
        rate = seen / cpu  # taken in between two samples: count the start-up too
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak, "pods_per_cpu_s": rate}


def cold_start_idle(proc: Proc, progress: Any, pods: int, timeout: float = 300
                    ) -> dict[str, float]:
    """As cold_start, for a process whose /metrics is too big to poll (a 10,000-pod
    kube-state-metrics answer costs it a good part of a second of CPU): done when its CPU
    time has stopped growing for a second, then checked with one scrape."""
    t0 = proc.started
    deadline = time.monotonic() + timeout
    history: list[tuple[float, float]] = []
    try:
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now, cpu = time.monotonic(), proc.cpu_seconds()
            history.append((now, cpu))
            past = [c for t, c in history if t <= now - 1.0]
            if now - t0 > 1.0 and past and cpu - past[-1] < 0.02:
                busy_until = next(t for t, c in history if c >= cpu - 0.005)
                wall, peak = busy_until - t0, proc.memory_mb()[1]
                try:
                    if progress() >= pods:
                        break
                except OSError:
                    pass
                history.clear()
        else:
            wall, cpu, peak = float("nan"), proc.cpu_seconds(), proc.memory_mb()[1]
    finally:
        proc.stop()
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak,
            "pods_per_cpu_s": pods / cpu if cpu else float("nan")}


def cold_starts(plane: ControlPlane, scratch: Path, pods: int, *, profile: bool = False,
                profiles: dict[str, str] | None = None) -> dict[str, dict[str, float]]:
    cw, _ = start_crashwatch(plane, scratch, cold=True)
    prof = None
    if profile:  # py-spy attaches once the interpreter runs (its /metrics answers)
        for _ in range(100):
            with contextlib.suppress(OSError):
                scrape(cw.metrics_url)
                break
            time.sleep(0.05)
        prof = Profiler.attach(cw.pid, scratch / f"crashwatch-{pods}-cold.speedscope.json",
                               120)

    def cw_seen() -> float:
        text = scrape(cw.metrics_url).decode()
        return metric_sum(text, "crashwatch_watch_events_total", resource="pods")

    out = {"crashwatch": cold_start(cw, cw_seen, pods)}
    if prof is not None and profiles is not None:
        profiles["cold_start"] = prof.summary()
    ksm = start_ksm(plane, scratch, cold=True)

    def ksm_seen() -> float:
        return float(scrape(ksm.metrics_url).count(b"\nkube_pod_info{"))

    out["ksm"] = cold_start_idle(ksm, ksm_seen, pods)
    return out


def run_scale(pods: int, args: argparse.Namespace, plane: ControlPlane, work: Workload,
              tools: list[Proc], ksm: KsmWatcher, audit: Audit, scratch: Path
              ) -> dict[str, Any]:
    cw, kp = tools
    profiles: dict[str, str] = {}
    print(f"== {pods} pods")
    setup = work.grow(pods)
    print(f"   pods created and running in {setup:.0f} s; settling")
    time.sleep(args.settle)
    # 1. healthy churn: crashwatch must write nothing (KSM is not scraped here, so its CPU
    #    is its watch work only, like crashwatch's).
    s0 = sample(tools)
    before = dict(work.writes)
    run_churn(work, args.healthy_seconds, args.rate, 0.0, None)
    time.sleep(3)
    s1 = sample(tools)
    healthy_writes = dict(Counter(work.writes) - Counter(before))
    # 2. mixed churn with failures, KSM scraped back to back
    failures_per_s = failure_rate(work)
    first = len(work.injections)
    writes_before = dict(work.writes)
    ksm.active.set()
    t_mixed = time.time()
    run_churn(work, args.duration, args.rate, failures_per_s, ksm)
    time.sleep(HOLD_SECONDS)
    ksm.active.clear()
    s2 = sample(tools)
    mixed_writes = dict(Counter(work.writes) - Counter(writes_before))
    # 2b. the same churn again, KSM watching but not scraped (as in production, where
    #     Prometheus scrapes it every 30 s or so): crashwatch's delay without the load
    #     that timing KSM puts on this 2-core machine. Profiled, at the largest scale.
    first_b = len(work.injections)
    profile = None
    if args.profile and pods == max(args.scales):
        profile = Profiler.attach(cw.pid, scratch / f"crashwatch-{pods}-churn.speedscope.json",
                                  args.duration)
    run_churn(work, args.duration, args.rate, failures_per_s, None)
    time.sleep(HOLD_SECONDS)
    if profile is not None:
        profiles["churn"] = profile.summary()
    time.sleep(1)
    audit.read()
    injections = work.injections[first:first_b]
    injections_b = work.injections[first_b:]
    match_audit(audit, injections)
    match_audit(audit, injections_b)
    cw_delays_b = [i.cw_at - i.t0 for i in injections_b if i.cw_at and i.t0]

    cw_delays = [i.cw_at - i.t0 for i in injections if i.cw_at and i.t0]
    ksm_delays = [i.ksm_at - i.t0 for i in injections if i.ksm_at and i.t0]
    correct = sum(1 for i in injections if i.cw_reason == i.expected)
    wrong = Counter((i.kind, i.cw_reason) for i in injections
                    if i.cw_reason and i.cw_reason != i.expected)

    def per_k(s_a: Sample, s_b: Sample, name: str, events: float) -> float:
        return (s_b.cpu[name] - s_a.cpu[name]) / events * 1000 if events else float("nan")

    def figures(delays: list[float], events: tuple[float, float], proc: Proc,
                cold: dict[str, float], requests: Counter[str]) -> dict[str, Any]:
        """What is measured the same way for both tools."""
        reads, writes = split_rw(requests)
        return {
            "delay_p50_ms": 1000 * pct(delays, 0.5),
            "delay_p99_ms": 1000 * pct(delays, 0.99),
            "delay_max_ms": 1000 * max(delays, default=float("nan")),
            "published": len(delays),
            "events_per_s": events[1] / (s2.t - s1.t),
            "cpu_s_per_1k_events_healthy": per_k(s0, s1, proc.name, events[0]),
            "cpu_s_per_1k_events_mixed": per_k(s1, s2, proc.name, events[1]),
            "cold_start": cold,
            "peak_rss_mb": proc.memory_mb()[1],
            "rss_mb": proc.memory_mb()[0],
            "api_reads": reads,
            "api_writes": writes,
            "api_verbs": dict(requests),
        }

    ev_cw_h = s1.events["all"] - s0.events["all"]
    ev_ksm_h = sum(s1.events[r] - s0.events[r] for r in ("pods", "replicasets", "deployments"))
    ev_cw_m = s2.events["all"] - s1.events["all"]
    ev_ksm_m = sum(s2.events[r] - s1.events[r] for r in ("pods", "replicasets", "deployments"))
    req_cw = audit.requests(CW_USER, args.tools_started, s2.t)
    req_ksm = audit.requests(KSM_USER, args.tools_started, s2.t)
    # 3. throughput: a fresh instance of each tool started against the whole cluster;
    #    its initial listing is the largest burst of pods it ever takes in.
    cold = cold_starts(plane, scratch, pods,
                       profile=args.profile and pods == max(args.scales), profiles=profiles)
    cw_pod_writes = sum(n for v, n in audit.requests(CW_USER, t_mixed, s2.t).items()
                        if v not in READS)
    snapshot_s = None
    if pods == max(args.scales):
        snapshot_s = time_diagnose(scratch)
    per_kind = {}
    for kind in FAILURES:
        ks = [i for i in injections if i.kind == kind]
        per_kind[kind] = {
            "injected": len(ks),
            "crashwatch_p50_ms": 1000 * pct([i.cw_at - i.t0 for i in ks
                                             if i.cw_at and i.t0], 0.5),
            "ksm_p50_ms": 1000 * pct([i.ksm_at - i.t0 for i in ks if i.ksm_at and i.t0], 0.5),
            "correct": sum(1 for i in ks if i.cw_reason == i.expected),
        }
    result = {
        "pods": pods,
        "setup_seconds": round(setup, 1),
        "mixed_seconds": args.duration,
        "status_changes_per_s": round(mixed_writes.get("status", 0) / args.duration, 1),
        "injected": len(injections),
        "crashwatch": {
            **figures(cw_delays, (ev_cw_h, ev_cw_m), cw, cold["crashwatch"], req_cw),
            "correct": correct,
            "wrong": {f"{k}->{r}": n for (k, r), n in wrong.items()},
            "alone_delay_p50_ms": 1000 * pct(cw_delays_b, 0.5),
            "alone_delay_p99_ms": 1000 * pct(cw_delays_b, 0.99),
            "alone_delay_max_ms": 1000 * max(cw_delays_b, default=float("nan")),
            "alone_published": len(cw_delays_b),
            "alone_injected": len(injections_b),
            "alone_correct": sum(1 for i in injections_b if i.cw_reason == i.expected),
            "alone_wrong": misnamed(injections_b),
            "unpublished": unpublished(injections),
            "alone_unpublished": unpublished(injections_b),
            "writes_healthy_churn": s1.writes - s0.writes,
            "writes_mixed": cw_pod_writes,
            "writes_per_diagnosis": cw_pod_writes / len(cw_delays) if cw_delays else None,
            "snapshot_diagnose_s": snapshot_s,
        },
        "ksm": {
            **figures(ksm_delays, (ev_ksm_h, ev_ksm_m), kp, cold["ksm"], req_ksm),
            "scrape_p50_ms": 1000 * pct(ksm.durations[-200:], 0.5),
            "scrape_mb": (ksm.sizes[-1] / 1e6) if ksm.sizes else None,
        },
        "healthy_churn": {"seconds": args.healthy_seconds, **healthy_writes},
        "mixed_churn": mixed_writes,
        "per_kind": per_kind,
        "bench_errors": dict(work.errors),
        "profiles": profiles,
    }
    print(f"   crashwatch p50/p99 {result['crashwatch']['delay_p50_ms']:.0f}/"
          f"{result['crashwatch']['delay_p99_ms']:.0f} ms, KSM p50/p99 "
          f"{result['ksm']['delay_p50_ms']:.0f}/{result['ksm']['delay_p99_ms']:.0f} ms; "
          f"{len(injections)} failures injected")
    return result


# ------------------------------------------------------------------------- sharding


def wait_ready(procs: list[Proc], timeout: float = 300) -> dict[str, dict[str, float]]:
    """Each crashwatch's start, until its /readyz says it has listed its pods: wall, CPU,
    peak RSS."""
    out: dict[str, dict[str, float]] = {}
    deadline = time.monotonic() + timeout
    while len(out) < len(procs):
        if time.monotonic() > deadline:
            raise RuntimeError(f"not ready after {timeout}s: "
                               f"{[p.name for p in procs if p.name not in out]}")
        for p in procs:
            if p.name in out:
                continue
            if p.popen.poll() is not None:
                raise RuntimeError(f"{p.name} exited with {p.popen.returncode}")
            try:
                with urllib.request.urlopen(f"{p.health_url}/readyz", timeout=2):
                    pass
            except OSError:  # 503 (HTTPError is an OSError) or not answering yet
                continue
            out[p.name] = {"wall_s": time.monotonic() - p.started, "cpu_s": p.cpu_seconds(),
                           "peak_rss_mb": p.memory_mb()[1]}
        time.sleep(0.2)
    return out


def wait_ksm_listed(procs: list[Proc], pods: int, timeout: float = 300) -> None:
    """kube-state-metrics shards have taken in the cluster: every pod is on one of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if sum(scrape(p.metrics_url).count(b"\nkube_pod_info{") for p in procs) >= pods:
                return
        time.sleep(2)
    raise RuntimeError(f"kube-state-metrics shards did not list {pods} pods in {timeout}s")


@dataclass
class ShardSample:
    t: float
    cpu: dict[str, float]
    events: dict[str, float]       # crashwatch shard -> its watch events (all resources)
    ksm_events: float              # the pod, ReplicaSet and Deployment events of the cluster


def shard_sample(cws: list[Proc], others: list[Proc]) -> ShardSample:
    events, ksm_events = {}, 0.0
    for p in cws:
        text = scrape(p.metrics_url).decode()
        events[p.name] = metric_sum(text, "crashwatch_watch_events_total")
        ksm_events += sum(metric_sum(text, "crashwatch_watch_events_total", resource=r)
                          for r in ("pods", "replicasets", "deployments"))
    return ShardSample(time.time(), {p.name: p.cpu_seconds() for p in [*cws, *others]},
                       events, ksm_events)


def shard_phase(count: int, ksm_count: int, args: argparse.Namespace, work: Workload,
                plane: ControlPlane, audit: Audit, scratch: Path, pods: int
                ) -> dict[str, Any]:
    """``count`` crashwatch shards (and ``ksm_count`` kube-state-metrics shards beside them)
    started into the full cluster, then healthy and mixed churn."""
    print(f"   {count} crashwatch shard(s)" + (f", {ksm_count} kube-state-metrics shards"
                                                if ksm_count else ""))
    cws = [start_crashwatch(plane, scratch, shard=(i, count), install=False)[0]
           for i in range(count)]
    ksms: list[Proc] = []
    try:
        cold = wait_ready(cws)
        ksms = [start_ksm(plane, scratch, shard=(i, ksm_count)) for i in range(ksm_count)]
        if ksms:
            wait_ksm_listed(ksms, pods)
        time.sleep(5)
        s0 = shard_sample(cws, ksms)
        run_churn(work, args.shard_healthy_seconds, args.rate, 0.0, None)
        time.sleep(3)
        s1 = shard_sample(cws, ksms)
        first = len(work.injections)
        watcher = KsmWatcher([k.metrics_url for k in ksms]) if ksms else None
        if watcher is not None:
            watcher.start()
            watcher.active.set()
        failures_per_s = failure_rate(work)
        run_churn(work, args.shard_seconds, args.rate, failures_per_s, watcher)
        time.sleep(HOLD_SECONDS)
        if watcher is not None:
            watcher.active.clear()
            watcher.done.set()
        s2 = shard_sample(cws, ksms)
        peaks = {p.name: p.memory_mb()[1] for p in [*cws, *ksms]}
    finally:
        for p in [*cws, *ksms]:
            p.stop()
    time.sleep(1)
    audit.read()
    injections = work.injections[first:]
    match_audit(audit, injections)
    cluster = (sum(s1.events.values()) - sum(s0.events.values()),
               sum(s2.events.values()) - sum(s1.events.values()))
    owned_pods = Counter[int]()
    for ns, _, n in work.deployments:
        owned_pods[next(i for i in range(count) if Shard(i, count).owns(ns))] += n
    shards = []
    for i, p in enumerate(cws):
        mine = [j for j in injections if Shard(i, count).owns(j.ns)]
        delays = [j.cw_at - j.t0 for j in mine if j.cw_at and j.t0]
        cpu = (s1.cpu[p.name] - s0.cpu[p.name], s2.cpu[p.name] - s1.cpu[p.name])
        own = (s1.events[p.name] - s0.events[p.name], s2.events[p.name] - s1.events[p.name])
        shards.append({
            "shard": i, "pods": owned_pods[i],
            "namespaces": sum(1 for ns in {d[0] for d in work.deployments}
                              if Shard(i, count).owns(ns)),
            "events_healthy": own[0], "events_mixed": own[1],
            "cpu_s_healthy": cpu[0], "cpu_s_mixed": cpu[1],
            "cpu_s_per_1k_cluster_events": 1000 * sum(cpu) / sum(cluster),
            "cpu_s_per_1k_own_events": 1000 * sum(cpu) / sum(own) if sum(own) else None,
            "peak_rss_mb": peaks[p.name], "cold_start": cold[p.name],
            "injected": len(mine), "published": len(delays),
            "delay_p50_ms": 1000 * pct(delays, 0.5), "delay_p99_ms": 1000 * pct(delays, 0.99),
            "delays_s": [round(d, 4) for d in delays],
        })
    delays = [j.cw_at - j.t0 for j in injections if j.cw_at and j.t0]
    total_cpu = sum(x["cpu_s_healthy"] + x["cpu_s_mixed"] for x in shards)
    result: dict[str, Any] = {
        "shards": count, "per_shard": shards, "cluster_events": sum(cluster),
        "total_cpu_s": total_cpu, "total_cpu_s_per_1k_events": 1000 * total_cpu / sum(cluster),
        "injected": len(injections), "published": len(delays),
        "correct": sum(1 for j in injections if j.cw_reason == j.expected),
        "wrong": misnamed(injections), "unpublished": unpublished(injections),
        "delay_p50_ms": 1000 * pct(delays, 0.5), "delay_p99_ms": 1000 * pct(delays, 0.99),
        "ksm_scraped": bool(ksms), "rounds": 1,
    }
    if ksms:
        ksm_events = (s1.ksm_events - s0.ksm_events) + (s2.ksm_events - s1.ksm_events)
        ksm_delays = [j.ksm_at - j.t0 for j in injections if j.ksm_at and j.t0]
        result["ksm"] = {
            "shards": ksm_count, "cluster_events": ksm_events,
            "per_shard": [{
                "shard": i, "peak_rss_mb": peaks[k.name],
                "cpu_s": s2.cpu[k.name] - s0.cpu[k.name],
                "cpu_s_per_1k_cluster_events": 1000 * (s2.cpu[k.name] - s0.cpu[k.name])
                / ksm_events} for i, k in enumerate(ksms)],
            "delay_p50_ms": 1000 * pct(ksm_delays, 0.5),
            "delay_p99_ms": 1000 * pct(ksm_delays, 0.99), "published": len(ksm_delays),
        }
        # crashwatch's own events count ReplicaSets and Deployments alike: per 1,000 of the
        # same events as KSM's, for the comparison
        for x in shards:
            x["cpu_s_per_1k_ksm_events"] = 1000 * (x["cpu_s_healthy"] + x["cpu_s_mixed"]) / (
                ksm_events)
    print(f"   {count} shard(s): p50/p99 {result['delay_p50_ms']:.0f}/"
          f"{result['delay_p99_ms']:.0f} ms, total CPU {total_cpu:.1f} s for "
          f"{sum(cluster):.0f} events")
    return result


def side_by_side(count: int, args: argparse.Namespace, work: Workload, plane: ControlPlane,
                 scratch: Path) -> dict[str, Any]:
    """One replica and ``count`` shards at once, under the same churn: what a shard pays per
    event of its own beside what one replica pays, with the machine's drift between phases
    taken out (both see the same moments, the same contention)."""
    print(f"   1 replica and {count} shards side by side")
    procs = [start_crashwatch(plane, scratch, shard=(0, 1), install=False)[0]] + [
        start_crashwatch(plane, scratch, shard=(i, count), install=False)[0]
        for i in range(count)]
    rows = []
    try:
        wait_ready(procs)
        time.sleep(5)

        def take() -> dict[str, tuple[float, float, float, int]]:
            ev = shard_sample(procs, []).events
            return {p.name: (ev[p.name], *p.cpu_split(), p.context_switches()) for p in procs}
        s0 = take()
        run_churn(work, args.shard_healthy_seconds, args.rate, 0.0, None)
        time.sleep(3)
        s1 = take()
        failures_per_s = failure_rate(work)
        run_churn(work, args.shard_seconds, args.rate, failures_per_s, None)
        time.sleep(HOLD_SECONDS)
        s2 = take()
    finally:
        for p in procs:
            p.stop()
    time.sleep(1)
    for k, p in enumerate(procs):
        row: dict[str, Any] = {"process": "replica" if k == 0 else f"shard {k - 1}"}
        for phase, (a, z) in (("healthy", (s0, s1)), ("mixed", (s1, s2))):
            events = z[p.name][0] - a[p.name][0]
            row[phase] = {
                "events": events,
                "user_ms_per_event": 1000 * (z[p.name][1] - a[p.name][1]) / max(events, 1),
                "sys_ms_per_event": 1000 * (z[p.name][2] - a[p.name][2]) / max(events, 1),
                "switches_per_event": (z[p.name][3] - a[p.name][3]) / max(events, 1)}
        rows.append(row)
    return {"shards": count, "rows": rows}


def run_sharding(args: argparse.Namespace, work: Workload, plane: ControlPlane, audit: Audit,
                 scratch: Path, pods: int) -> dict[str, Any]:
    """Every shard count in turn, ``args.shard_rounds`` times over (1, 2, 4, 1, 2, 4: a
    drift of the machine over the run falls on every count alike), each count's rounds
    added up; then the most shards once more beside kube-state-metrics' shards. The scaling
    goals compare phases run alike (nothing else on the machine but the control plane and
    the load); KSM's shards, scraped back to back, would load the 2 cores of one phase
    only."""
    print(f"== sharding at {pods} pods: {', '.join(map(str, args.shards))} crashwatch "
          f"shard(s), {args.shard_rounds} round(s); then kube-state-metrics --total-shards "
          f"{args.ksm_shards} beside {max(args.shards)}")
    rounds: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for _ in range(args.shard_rounds):
        for n in args.shards:
            rounds[n].append(shard_phase(n, 0, args, work, plane, audit, scratch, pods))
    phases = [merge_rounds(rounds[n]) for n in args.shards]
    if args.ksm_shards:
        beside = shard_phase(max(args.shards), args.ksm_shards, args, work, plane, audit,
                             scratch, pods)
        beside["beside_ksm"] = True
        phases.append(beside)
    together = (side_by_side(max(args.shards), args, work, plane, scratch)
                if max(args.shards) > 1 else None)
    return {"pods": pods, "phases": phases, "healthy_seconds": args.shard_healthy_seconds,
            "mixed_seconds": args.shard_seconds, "rounds": args.shard_rounds,
            "side_by_side": together}


def merge_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One shard count's rounds as one longer run: events, CPU, failures and delays added
    up; cold starts averaged; peak RSS the highest."""
    if len(rounds) == 1:
        return rounds[0]
    first = rounds[0]
    cluster_events = sum(r["cluster_events"] for r in rounds)
    shards = []
    for i, x in enumerate(first["per_shard"]):
        xs = [r["per_shard"][i] for r in rounds]
        delays = [d for y in xs for d in y["delays_s"]]
        own = sum(y["events_healthy"] + y["events_mixed"] for y in xs)
        cpu = sum(y["cpu_s_healthy"] + y["cpu_s_mixed"] for y in xs)
        shards.append({
            **x,
            **{key: sum(y[key] for y in xs) for key in (
                "events_healthy", "events_mixed", "cpu_s_healthy", "cpu_s_mixed", "injected",
                "published")},
            "cpu_s_per_1k_cluster_events": 1000 * cpu / cluster_events,
            "cpu_s_per_1k_own_events": 1000 * cpu / own if own else None,
            "peak_rss_mb": max(y["peak_rss_mb"] for y in xs),
            "cold_start": {key: sum(y["cold_start"][key] for y in xs) / len(xs)
                           for key in x["cold_start"]},
            "delay_p50_ms": 1000 * pct(delays, 0.5), "delay_p99_ms": 1000 * pct(delays, 0.99),
            "delays_s": delays,
        })
    delays = [d for x in shards for d in x["delays_s"]]
    total_cpu = sum(r["total_cpu_s"] for r in rounds)
    wrong: Counter[str] = Counter()
    for r in rounds:
        wrong.update(r.get("wrong", {}))
    return {
        **first, "per_shard": shards, "cluster_events": cluster_events,
        "total_cpu_s": total_cpu, "total_cpu_s_per_1k_events": 1000 * total_cpu / cluster_events,
        "injected": sum(r["injected"] for r in rounds),
        "published": sum(r["published"] for r in rounds),
        "correct": sum(r["correct"] for r in rounds), "wrong": dict(wrong),
        "unpublished": [u for r in rounds for u in r.get("unpublished", [])],
        "delay_p50_ms": 1000 * pct(delays, 0.5), "delay_p99_ms": 1000 * pct(delays, 0.99),
        "rounds": len(rounds),
        "rounds_total_cpu_s_per_1k_events": [r["total_cpu_s_per_1k_events"] for r in rounds],
    }


def time_diagnose(scratch: Path) -> float:
    """``crashwatch diagnose`` on a kubectl dump of the whole 10,000-pod cluster."""
    snap = scratch / "snapshot.json"
    with snap.open("w") as fh:
        subprocess.run(["kubectl", "get", "pods,events,deployments,replicasets", "-A",
                        "-o", "json"], stdout=fh, check=True,
                       env={**os.environ, "KUBECONFIG": os.environ["BENCH_KUBECONFIG"]})
    cmd = [sys.executable, "-m", "crashwatch", "diagnose", "-f", str(snap), "-o", "json"]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    walls = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=False, cwd=ROOT)
        walls.append(time.perf_counter() - t0)
    return min(walls)


# ------------------------------------------------------------------------- report


def machine() -> dict[str, str]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    return {
        "cpu": model, "cores": str(os.cpu_count()),
        "memory": f"{int(mem) / 1024 / 1024:.0f} GiB",
        "kernel": platform.release(), "python": platform.python_version(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def fmt(v: Any, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if isinstance(v, float):
        return f"{v:,.0f}{unit}" if abs(v) >= 100 else f"{v:.3g}{unit}"
    return f"{v:,}{unit}"


def ratio(a: Any, b: Any) -> str:
    try:
        if a is None or b in (None, 0) or math.isnan(a) or math.isnan(b):
            return "n/a"
        return f"{a / b:.2f}"
    except TypeError:
        return "n/a"


ROWS = [
    ("diagnosis/reason delay p50", "delay_p50_ms", " ms"),
    ("diagnosis/reason delay p99", "delay_p99_ms", " ms"),
    ("diagnosis/reason delay max", "delay_max_ms", " ms"),
    ("failures published", "published", ""),
    ("watch events/s (mixed churn)", "events_per_s", ""),
    ("CPU s per 1,000 events (healthy)", "cpu_s_per_1k_events_healthy", ""),
    ("CPU s per 1,000 events (mixed)", "cpu_s_per_1k_events_mixed", ""),
    ("peak RSS", "peak_rss_mb", " MB"),
    ("API reads since start (list/get/watch)", "api_reads", ""),
    ("API writes since start", "api_writes", ""),
]


def capacity(tool: dict[str, Any]) -> float:
    """Pods taken in per CPU second at a cold start (the initial listing of every pod)."""
    return float(tool["cold_start"]["pods_per_cpu_s"])


BEFORE_ISSUE_15 = {"cold_start_cpu_s": 13.4}
"""The single replica at 10,000 pods when issue #15 was written (bench/results of 2026-11-23):
its goals are stated against it."""


def side_by_side_report(sbs: dict[str, Any] | None) -> list[str]:
    if not sbs or not sbs.get("rows"):
        return []
    rows = sbs["rows"]
    out = [f"Side by side: one replica and {sbs['shards']} shards at once, under the same "
           "churn (as above, KSM not running), so that the machine's drift between phases "
           "falls on both alike. Per event of each process's own:", "",
           "| process | healthy: events | user / system CPU ms per event | context switches "
           "per event | mixed: events | user / system CPU ms per event | context switches "
           "per event |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        h, m = r["healthy"], r["mixed"]
        out.append(f"| {r['process']} | {fmt(h['events'])} | {h['user_ms_per_event']:.3f} / "
                   f"{h['sys_ms_per_event']:.3f} | {h['switches_per_event']:.2f} | "
                   f"{fmt(m['events'])} | {m['user_ms_per_event']:.3f} / "
                   f"{m['sys_ms_per_event']:.3f} | {m['switches_per_event']:.2f} |")
    said = []
    for phase in ("healthy", "mixed"):
        one = rows[0][phase]
        cost = one["user_ms_per_event"] + one["sys_ms_per_event"]
        shards = [r[phase]["user_ms_per_event"] + r[phase]["sys_ms_per_event"]
                  for r in rows[1:]]
        if cost > 0 and shards:
            said.append(f"{phase} churn {min(shards) / cost:.2f}x to {max(shards) / cost:.2f}x")
    if said:
        out += ["", "A shard's CPU per event of its own, against the replica's at the same "
                "moments: " + "; ".join(said) + ".", ""]
    return out


def sharding_report(sh: dict[str, Any]) -> tuple[list[str], list[tuple[str, bool, str]]]:
    """The sharding table and its goals."""
    rounds = sh.get("rounds", 1)
    out = [f"## Sharding at {sh['pods']:,} pods", "",
           f"Each shard count started into the full cluster (the API server sharding, feature "
           f"gate ShardedListAndWatch on), then {sh['healthy_seconds']:.0f} s of healthy and "
           f"{sh['mixed_seconds']:.0f} s of mixed churn, as above; the single replica and KSM "
           "of the tables above stopped. "
           + (f"Every shard count ran {rounds} times, in turn ("
              + ", ".join(str(ph["shards"]) for _ in range(rounds) for ph in sh["phases"]
                          if not ph.get("beside_ksm"))
              + "), its rounds "
              "added up (cold starts averaged); then the most shards once more, beside "
              "kube-state-metrics' shards, for the comparison with them only. "
              if rounds > 1 else "")
           + "CPU per 1,000 cluster events: a shard's CPU over "
           "both churns per 1,000 watch events of the whole cluster (every shard's together: "
           "what one replica sees), so N even shards would each show 1/N of one replica's. "
           "Delays: the failures injected in the shard's namespaces, KSM not scraped, except "
           "beside kube-state-metrics' shards (scraped back to back, as above).", "",
           "| shards | shard | namespaces / pods | its events | CPU s per 1,000 cluster "
           "events | CPU s per 1,000 of its events | cold start CPU / wall | peak RSS | "
           "delay p50 / p99 |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for ph in sh["phases"]:
        label = f"{ph['shards']} beside KSM" if ph.get("beside_ksm") else str(ph["shards"])
        for x in ph["per_shard"]:
            own = x["events_healthy"] + x["events_mixed"]
            out.append(
                f"| {label} | {x['shard']} | {x['namespaces']} / {x['pods']:,} | "
                f"{fmt(own)} ({100 * own / ph['cluster_events']:.0f}%) | "
                f"{fmt(x['cpu_s_per_1k_cluster_events'])} | "
                f"{fmt(x['cpu_s_per_1k_own_events'])} | "
                f"{fmt(x['cold_start']['cpu_s'], ' s')} / {fmt(x['cold_start']['wall_s'], ' s')}"
                f" | {fmt(x['peak_rss_mb'], ' MB')} | {fmt(x['delay_p50_ms'])} / "
                f"{fmt(x['delay_p99_ms'], ' ms')} |")
        out.append(
            f"| {label} | all | | {fmt(ph['cluster_events'])} | "
            f"{fmt(ph['total_cpu_s_per_1k_events'])} (total CPU {fmt(ph['total_cpu_s'], ' s')})"
            f" | | | | {fmt(ph['delay_p50_ms'])} / {fmt(ph['delay_p99_ms'], ' ms')} "
            f"({ph['published']} of {ph['injected']}, {ph['correct']} named right"
            f"{', KSM scraped' if ph['ksm_scraped'] else ''}) |")
        k = ph.get("ksm")
        if k:
            for x in k["per_shard"]:
                out.append(f"| KSM {k['shards']} | {x['shard']} | all / all | all | "
                           f"{fmt(x['cpu_s_per_1k_cluster_events'])} | | | "
                           f"{fmt(x['peak_rss_mb'], ' MB')} | |")
            out.append(f"| KSM {k['shards']} | all | | | | | | | {fmt(k['delay_p50_ms'])} / "
                       f"{fmt(k['delay_p99_ms'], ' ms')} ({k['published']}) |")
    misses = [f"{ph['shards']} shard(s): {json.dumps(ph['wrong'])}"
              for ph in sh["phases"] if ph.get("wrong")]
    if misses:
        out += ["", "Named wrong (injected kind -> reason published): " + "; ".join(misses)
                + "."]
    missed = [f"{ph['shards']} shard(s){' beside KSM' if ph.get('beside_ksm') else ''}: "
              + ", ".join(ph["unpublished"]) for ph in sh["phases"] if ph.get("unpublished")]
    if missed:
        out += ["", "Published nothing for: " + "; ".join(missed) + "."]
    out += ["", "KSM's CPU per 1,000 cluster events counts the pod, ReplicaSet and "
            "Deployment events crashwatch's shards counted (as above); beside them, "
            "crashwatch's shards per 1,000 of the same events: " + ", ".join(
                fmt(x.get("cpu_s_per_1k_ksm_events")) for ph in sh["phases"] if ph.get("ksm")
                for x in ph["per_shard"]) + ".", ""]
    by_n = {ph["shards"]: ph for ph in sh["phases"] if not ph.get("beside_ksm")}
    spread = [f"{n}: " + ", ".join(fmt(v) for v in ph["rounds_total_cpu_s_per_1k_events"])
              for n, ph in by_n.items() if ph.get("rounds_total_cpu_s_per_1k_events")]
    if spread:
        out += ["Total CPU s per 1,000 cluster events in each round, by shard count: "
                + "; ".join(spread) + ".", ""]
    out += side_by_side_report(sh.get("side_by_side"))
    goals: list[tuple[str, bool, str]] = []
    one = by_n.get(1)
    if one is not None:
        single = one["total_cpu_s_per_1k_events"]
        for n, ph in sorted(by_n.items()):
            if n == 1:
                continue
            busiest = max(ph["per_shard"], key=lambda x: x["cpu_s_per_1k_cluster_events"])
            worst = busiest["cpu_s_per_1k_cluster_events"]
            share = (busiest["events_healthy"] + busiest["events_mixed"]) / ph["cluster_events"]
            namespaces = sum(x["namespaces"] for x in ph["per_shard"])
            own = max(x["cpu_s_per_1k_own_events"] or 0.0 for x in ph["per_shard"])
            goals.append((f"{n} shards: each shard's CPU per event within 1.2x of one "
                          f"replica's / {n}", worst <= 1.2 * single / n,
                          f"worst shard {worst:.3g} vs {single:.3g} / {n} = {single / n:.3g} "
                          f"({worst / (single / n):.2f}x); its share of the events: "
                          f"{share:.0%}, of the namespaces {busiest['namespaces']} of "
                          f"{namespaces} (of {namespaces} equal namespaces hashed at random, "
                          f"the fullest of {n} shards holds "
                          f"{fullest_share(namespaces, n):.1%} on average); the most a shard "
                          f"pays per event of its own: {own:.3g}, {own / single:.2f}x one "
                          "replica's"))
            total = ph["total_cpu_s_per_1k_events"]
            goals.append((f"{n} shards: the sum within 1.15x of one replica",
                          total <= 1.15 * single,
                          f"{total:.3g} vs {single:.3g} s per 1,000 events "
                          f"({total / single:.2f}x)"))
    top = next((ph for ph in sh["phases"] if ph.get("ksm")), by_n[max(by_n)])
    k = top.get("ksm")
    if k:
        cw_cpu = max(x["cpu_s_per_1k_ksm_events"] for x in top["per_shard"])
        ksm_cpu = min(x["cpu_s_per_1k_cluster_events"] for x in k["per_shard"])
        cw_rss = max(x["peak_rss_mb"] for x in top["per_shard"])
        ksm_rss = min(x["peak_rss_mb"] for x in k["per_shard"])
        goals.append((f"{top['shards']} shards: each crashwatch shard below each KSM shard "
                      f"(--total-shards {k['shards']}) in CPU per event", cw_cpu < ksm_cpu,
                      f"worst crashwatch shard {cw_cpu:.3g} vs best KSM shard {ksm_cpu:.3g} s "
                      "per 1,000 events"))
        goals.append((f"{top['shards']} shards: each crashwatch shard below each KSM shard "
                      "in RSS", cw_rss < ksm_rss,
                      f"largest crashwatch shard {cw_rss:.0f} MB vs smallest KSM shard "
                      f"{ksm_rss:.0f} MB"))
    return out, goals


def fullest_share(namespaces: int, shards: int, trials: int = 4_000) -> float:
    """The mean share of the fullest of ``shards`` shards when ``namespaces`` equal
    namespaces are hashed uniformly at random: what namespace sharding's imbalance alone
    costs the busiest shard (a seeded simulation, the same figure every run)."""
    if namespaces <= 0 or shards <= 0:
        return 0.0
    rng = random.Random(5866)
    total = 0
    for _ in range(trials):
        counts = [0] * shards
        for _ in range(namespaces):
            counts[rng.randrange(shards)] += 1
        total += max(counts)
    return total / trials / namespaces


def report(results: list[dict[str, Any]], info: dict[str, str], versions: dict[str, str],
           args: argparse.Namespace, sharding: dict[str, Any] | None = None) -> str:
    out = [f"# crashwatch vs kube-state-metrics, cluster benchmark ({info['date']})", "",
           f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, Linux "
           f"{info['kernel']}, Python {info['python']}. Everything on it at once: etcd, "
           "kube-apiserver, controller-manager, scheduler, kwok, both tools, the load "
           "generator.", "",
           "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".", "",
           f"Load: Deployments of {PODS_PER_DEPLOYMENT} pods; {args.healthy_seconds:.0f} s of "
           f"healthy churn, then {args.duration:.0f} s of mixed churn at {args.rate:.0f} pod "
           "status changes/s including failures of 6 kinds (each held "
           f"{HOLD_SECONDS:.0f} s, then recovered).", "",
           "Notes: kube-state-metrics runs with its default resources and metrics under a "
           "read-only ClusterRole; crashwatch as deploy/overlays/watch-only runs it, except "
           "`--stable-after-seconds 3` so that pods recover within the run. KSM's watch "
           "events are the pod, ReplicaSet and Deployment events crashwatch counted on the "
           "same streams (KSM does not count them). CPU per 1,000 events includes idle work "
           "(crashwatch's sweeps; in mixed churn, KSM serving the bench's scrapes). Requests "
           "and writes come from the API server's audit log.", ""]
    for r in results:
        cw, ks = r["crashwatch"], r["ksm"]
        out += [f"## {r['pods']:,} pods ({r['status_changes_per_s']} status changes/s, "
                f"{r['injected']} failures)", "",
                "| measure | crashwatch | kube-state-metrics | crashwatch/KSM |",
                "|---|---:|---:|---:|"]
        for label, key, unit in ROWS:
            out.append(f"| {label} | {fmt(cw.get(key), unit)} | {fmt(ks.get(key), unit)} | "
                       f"{ratio(cw.get(key), ks.get(key))} |")
        out.append(f"| crashwatch delay p50 / p99 / max, KSM not scraped | "
                   f"{fmt(cw['alone_delay_p50_ms'])} / {fmt(cw['alone_delay_p99_ms'])} / "
                   f"{fmt(cw['alone_delay_max_ms'], ' ms')} "
                   f"({cw['alone_published']} of {cw['alone_injected']}) | | |")
        cap_cw, cap_ks = capacity(cw), capacity(ks)
        for label, key, unit in (("cold start: until every pod is in", "wall_s", " s"),
                                 ("cold start: CPU", "cpu_s", " s"),
                                 ("cold start: peak RSS", "peak_rss_mb", " MB")):
            a, b = cw["cold_start"][key], ks["cold_start"][key]
            out.append(f"| {label} | {fmt(a, unit)} | {fmt(b, unit)} | {ratio(a, b)} |")
        out.append(f"| pods (watch events) per CPU second, cold start | {fmt(cap_cw)} | "
                   f"{fmt(cap_ks)} | {ratio(cap_cw, cap_ks)} |")
        out += ["",
                f"crashwatch: {cw['correct']}/{r['injected']} diagnoses named the injected "
                f"reason{'; wrong: ' + json.dumps(cw['wrong']) if cw['wrong'] else ''} "
                f"(KSM not scraped: {cw['alone_correct']}/{cw['alone_injected']}"
                f"{'; wrong: ' + json.dumps(cw['alone_wrong']) if cw.get('alone_wrong') else ''}"
                "); "
                + "".join(f"published nothing for {', '.join(cw[key])}{where}; "
                          for key, where in (("unpublished", ""),
                                             ("alone_unpublished", " (KSM not scraped)"))
                          if cw.get(key)) +
                f"writes during healthy churn: {fmt(cw['writes_healthy_churn'])}; writes "
                f"during mixed churn: {cw['writes_mixed']} "
                f"({fmt(cw['writes_per_diagnosis'])} per diagnosis: pod patch, Events, the "
                "clearing patch on recovery). KSM /metrics: "
                f"{fmt(ks['scrape_mb'])} MB, scraped in {fmt(ks['scrape_p50_ms'])} ms (p50): "
                "its delay is taken at the start of the first scrape that shows the "
                "reason, so it is a lower bound.", ""]
        if cw.get("snapshot_diagnose_s") is not None:
            out += [f"`crashwatch diagnose` on a kubectl dump of this cluster (pods, "
                    f"events, deployments, replicasets): {cw['snapshot_diagnose_s']:.2f} s "
                    "wall on one core (best of 3).", ""]
        out += ["| failure kind | injected | crashwatch p50 | KSM p50 | named right |",
                "|---|---:|---:|---:|---:|"]
        for kind, k in r["per_kind"].items():
            out.append(f"| {kind} | {k['injected']} | {fmt(k['crashwatch_p50_ms'], ' ms')} | "
                       f"{fmt(k['ksm_p50_ms'], ' ms')} | {k['correct']} |")
        out.append("")
    big = max(results, key=lambda r: r["pods"])
    cw, ks = big["crashwatch"], big["ksm"]
    cap = capacity(cw)
    goals = [
        ("p99 diagnosis delay < 1 s at 10,000 pods, 100 status changes/s",
         cw["alone_delay_p99_ms"] < 1000,
         f"{fmt(cw['alone_delay_p99_ms'], ' ms')} (KSM not scraped); "
         f"{fmt(cw['delay_p99_ms'], ' ms')} while KSM's 10,000-pod /metrics is scraped back "
         "to back on the same 2 cores"),
        ("peak RSS at 10,000 pods <= KSM's",
         max(cw["peak_rss_mb"], cw["cold_start"]["peak_rss_mb"])
         <= max(ks["peak_rss_mb"], ks["cold_start"]["peak_rss_mb"]),
         f"running: {cw['peak_rss_mb']:.0f} vs {ks['peak_rss_mb']:.0f} MB; started into "
         f"the full cluster: {cw['cold_start']['peak_rss_mb']:.0f} vs "
         f"{ks['cold_start']['peak_rss_mb']:.0f} MB"),
        (">= 3,000 pod watch events/s per core", cap >= 3000,
         f"{cap:,.0f} pods per CPU second at a cold start (KSM: {capacity(ks):,.0f})"),
        ("zero writes for healthy churn", all(r["crashwatch"]["writes_healthy_churn"] == 0
                                             for r in results),
         ", ".join(fmt(r["crashwatch"]["writes_healthy_churn"]) for r in results)),
        ("`crashwatch diagnose` on 10,000 pods < 2 s",
         (cw.get("snapshot_diagnose_s") or 99) < 2, fmt(cw.get("snapshot_diagnose_s"), " s")),
        # issue #15: the single replica
        ("cold-start peak RSS <= KSM's", cw["cold_start"]["peak_rss_mb"]
         <= ks["cold_start"]["peak_rss_mb"],
         f"{cw['cold_start']['peak_rss_mb']:.0f} vs {ks['cold_start']['peak_rss_mb']:.0f} MB"),
        ("cold-start CPU halved (from 13.4 s)", cw["cold_start"]["cpu_s"]
         <= BEFORE_ISSUE_15["cold_start_cpu_s"] / 2,
         f"{cw['cold_start']['cpu_s']:.2f} s ({BEFORE_ISSUE_15['cold_start_cpu_s'] / cw['cold_start']['cpu_s']:.1f}x less); KSM {ks['cold_start']['cpu_s']:.2f} s"),  # noqa: E501
        ("healthy-churn CPU per 1,000 events <= 2x KSM's",
         cw["cpu_s_per_1k_events_healthy"] <= 2 * ks["cpu_s_per_1k_events_healthy"],
         f"{cw['cpu_s_per_1k_events_healthy']:.3g} vs {ks['cpu_s_per_1k_events_healthy']:.3g} "
         f"({cw['cpu_s_per_1k_events_healthy'] / ks['cpu_s_per_1k_events_healthy']:.2f}x)"),
        ("p99 delay < 1 s with KSM scraped beside it", cw["delay_p99_ms"] < 1000,
         fmt(cw["delay_p99_ms"], " ms")),
    ]
    sharded: list[str] = []
    if sharding:
        sharded, more = sharding_report(sharding)
        goals += more
    out += sharded
    out += ["## Goals", "", "| goal | met | figure |", "|---|---|---|"]
    out += [f"| {g} | {'yes' if ok else 'NO'} | {fig} |" for g, ok, fig in goals]
    for r in results:
        for what, text in r.get("profiles", {}).items():
            out += ["", f"## Profile of crashwatch, {what.replace('_', ' ')}, {r['pods']:,} pods "
                    "(py-spy)", "", "```", text, "```"]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="1000,10000",
                        help="pod counts, ascending (default 1000,10000)")
    parser.add_argument("--rate", type=float, default=100.0,
                        help="pod status changes per second during churn")
    parser.add_argument("--duration", type=float, default=60.0, help="mixed churn seconds")
    parser.add_argument("--healthy-seconds", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=15.0,
                        help="seconds to wait after the pods are up")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    parser.add_argument("--no-profile", dest="profile", action="store_false",
                        help="do not profile crashwatch with py-spy at the largest scale")
    parser.add_argument("--render", metavar="JSON",
                        help="only print the report of an earlier run's cluster.json")
    parser.add_argument("--shards", default="1,2,4",
                        help="crashwatch shard counts run at the largest scale, after the "
                        "single-replica phases ('' to skip)")
    parser.add_argument("--ksm-shards", type=int, default=4,
                        help="kube-state-metrics --total-shards, beside the most shards")
    parser.add_argument("--shard-seconds", type=float, default=40.0,
                        help="mixed churn seconds per shard count")
    parser.add_argument("--shard-healthy-seconds", type=float, default=20.0)
    parser.add_argument("--shard-rounds", type=int, default=2,
                        help="times every shard count is run (in turn), added up")
    args = parser.parse_args()
    args.scales = sorted(int(x) for x in args.scales.split(","))
    args.shards = sorted(int(x) for x in args.shards.split(",") if x.strip())
    if args.render:
        saved = json.loads(Path(args.render).read_text())
        args.healthy_seconds = saved["args"]["healthy_seconds"]
        args.duration, args.rate = saved["args"]["duration"], saved["args"]["rate"]
        print(report(saved["results"], saved["machine"], saved["versions"], args,
                     saved.get("sharding")), end="")
        return 0

    bin_dir = build_binaries()
    ksm_bin = ksm_binary()
    scratch = Path(tempfile.mkdtemp(prefix="crashwatch-bench-"))
    (scratch / "audit-policy.yaml").write_text(AUDIT_POLICY)
    audit_log = scratch / "audit.log"
    nodes = max(2, math.ceil(max(args.scales) * 1.05 / 1000))
    plane = ControlPlane(
        workdir=scratch / "plane", bin_dir=bin_dir, nodes=nodes, max_pods=1000,
        extra_args={
            "kube-apiserver": [f"--audit-policy-file={scratch / 'audit-policy.yaml'}",
                               f"--audit-log-path={audit_log}", "--audit-log-format=json",
                               "--audit-log-maxsize=0", "--max-requests-inflight=800",
                               "--max-mutating-requests-inflight=400"],
            "kube-controller-manager": ["--kube-api-qps=400", "--kube-api-burst=800",
                                        "--concurrent-replicaset-syncs=10",
                                        "--concurrent-deployment-syncs=10"],
            "kube-scheduler": ["--kube-api-qps=400", "--kube-api-burst=800"],
        })
    versions = {"kube-apiserver": "v1.36.3", "etcd": "v3.6.8", "kwok": "v0.8.0",
                "kube-state-metrics": Path(ksm_bin).parent.name.removeprefix("ksm-")}
    tools: list[Proc] = []
    results = []
    sharding: dict[str, Any] | None = None
    sharding_error = ""
    try:
        print(f"starting the control plane ({nodes} kwok nodes) in {scratch}")
        plane.start()
        os.environ["BENCH_KUBECONFIG"] = str(plane.admin_kubeconfig)
        args.tools_started = time.time() - 1
        cw, logs = start_crashwatch(plane, scratch)
        ksm_proc = start_ksm(plane, scratch)
        tools = [cw, ksm_proc]
        versions = {"crashwatch": __version__, **versions}
        api = plane.api_client()
        api.configuration.connection_pool_maxsize = 16
        api.rest_client.pool_manager.connection_pool_kw["maxsize"] = 16
        work = Workload(client.CoreV1Api(api), client.AppsV1Api(api), logs)
        ksm = KsmWatcher(ksm_proc.metrics_url)
        ksm.start()
        audit = Audit(audit_log)
        for pods in args.scales:
            results.append(run_scale(pods, args, plane, work, tools, ksm, audit, scratch))
        ksm.done.set()
        if args.shards:
            for t in tools:  # the single replica and KSM leave the machine to the shards
                t.stop()
            try:
                sharding = run_sharding(args, work, plane, audit, scratch, max(args.scales))
            except Exception:  # the single replica's figures are kept and reported
                sharding_error = traceback.format_exc()
                print(sharding_error, file=sys.stderr)
    finally:
        for t in tools:
            t.stop()
        plane.stop()
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    info = machine()
    text = report(results, info, versions, args, sharding)
    if sharding_error:
        text += ("\n## Sharding phase\n\nNot measured: it failed with\n\n```\n"
                 + sharding_error.strip()[-3000:] + "\n```\n")
    print()
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cluster.md").write_text(text)
    (out / "cluster.json").write_text(json.dumps(
        {"machine": info, "versions": versions, "args": dict(vars(args)),
         "results": results, "sharding": sharding, "sharding_error": sharding_error or None},
        indent=2, default=str) + "\n")
    print(f"written: {out / 'cluster.md'}, {out / 'cluster.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
