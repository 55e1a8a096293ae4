"""Time to a useful alert: crashwatch's shipped rules against kubernetes-mixin's, per failure.

    make bench-alerts                      # about 27 minutes; keeps bench/results/alerts.{md,json}
    python bench/bench_alerts.py --quick   # the plumbing in about 6 minutes: every `for:` / 10,
                                           # 5 s scrapes; writes nothing under bench/results/
    python bench/bench_alerts.py --render bench/results/alerts.json   # the report again

Starts the local control plane (one kwok node), then, as a cluster would run them:
``crashwatch run`` under its ServiceAccount as deploy/overlays/watch-only runs it (every
setting at its default), kube-state-metrics (built from its Go module, bench/build-ksm.sh)
under a read-only ServiceAccount, and one real Prometheus (Debian's) scraping both every 30 s
and evaluating every 30 s: crashwatch's shipped rules (deploy/prometheus/rules.yaml,
unchanged) and kubernetes-mixin's pod and Deployment alerts over kube-state-metrics
(bench/alerts/kubernetes-mixin-apps.yaml, quoted from the mixin with its source).

Twelve Deployments, one per failure kind, all failing at once for ``--duration`` seconds
(two of them, OOM after shrink and the rollout regression, roll out a failing revision over
a healthy one that kwok runs), written by the simulated kubelet over real time
(tests/cluster/nodes/kwok/realtime.py: restarts on the kubelet's back-off, each status when
a v1.36 kubelet writes it, its Events, the crashed container's log for crashwatch's log
source). For each kind: the time from the failure's start (the first crash, kill, failed
pull, config error or failed readiness probe) to the first alert of each side firing
(Prometheus' own ALERTS series), which alert, and what it says (labels and annotations),
and whether it names what a person needs (the variable, the key, the port...). Never
asserts: figures only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from kubernetes import client  # noqa: E402
from tests.cluster.controlplane.plane import ControlPlane, build_binaries, free_port  # noqa: E402
from tests.cluster.nodes.kwok import kubelet, realtime  # noqa: E402

import bench_cluster as bc  # noqa: E402
from crashwatch import __version__  # noqa: E402

CRASHWATCH_RULES = ROOT / "deploy" / "prometheus" / "rules.yaml"
MIXIN_RULES = ROOT / "bench" / "alerts" / "kubernetes-mixin-apps.yaml"
MIXIN_SOURCE = ("kubernetes-monitoring/kubernetes-mixin alerts/apps_alerts.libsonnet at "
                "aa38e2bfa7ea (2026-08-06)")
LABEL = "bench-alerts"
REGISTRY = "registry.example.com/shop"

# Last words of the crashed containers, as each runtime prints them.
DJANGO_NO_SECRET = """Traceback (most recent call last):
  File "/app/manage.py", line 22, in <module>
    main()
  File "/app/manage.py", line 18, in main
    execute_from_command_line(sys.argv)
  File "/usr/lib/python3/dist-packages/django/conf/__init__.py", line 190, in __init__
    mod = importlib.import_module(self.SETTINGS_MODULE)
  File "/app/billing/settings.py", line 23, in <module>
    SECRET_KEY = os.environ["SECRET_KEY"]
                 ~~~~~~~~~~^^^^^^^^^^^^^^
  File "<frozen os>", line 679, in __getitem__
KeyError: 'SECRET_KEY'
"""
NODE_REDIS_REFUSED = """{"level":30,"time":1764400000000,"msg":"cart listening on :8080"}
{"level":30,"time":1764400030000,"msg":"GET /cart/42 200 12ms"}
[ioredis] Unhandled error event: Error: connect ECONNREFUSED 10.96.14.2:6379
    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1607:16)
node:internal/process/promises:394
    triggerUncaughtException(err, true /* fromPromise */);
    ^

Error: connect ECONNREFUSED 10.96.14.2:6379
    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1607:16) {
  errno: -111,
  code: 'ECONNREFUSED',
  syscall: 'connect',
  address: '10.96.14.2',
  port: 6379
}

Node.js v20.18.1
"""
# nginx on a read-only root filesystem, from https://github.com/namespacelabs/foundation/issues/47
# (eval/realworld/cases/nginx-readonly-rootfs-client-temp.yaml)
NGINX_READ_ONLY = """/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration
/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/
/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh
10-listen-on-ipv6-by-default.sh: info: can not modify /etc/nginx/conf.d/default.conf (read-only file system?)
/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh
/docker-entrypoint.sh: Launching /docker-entrypoint.d/30-tune-worker-processes.sh
/docker-entrypoint.sh: Configuration complete; ready for start up
2022/03/04 17:05:32 [warn] 1#1: the "user" directive makes sense only if the master process runs with super-user privileges, ignored in /etc/nginx/nginx.conf:2
nginx: [warn] the "user" directive makes sense only if the master process runs with super-user privileges, ignored in /etc/nginx/nginx.conf:2
2022/03/04 17:05:32 [emerg] 1#1: mkdir() "/var/cache/nginx/client_temp" failed (30: Read-only file system)
nginx: [emerg] mkdir() "/var/cache/nginx/client_temp" failed (30: Read-only file system)
"""  # noqa: E501
# A Rails release that reads a variable the previous one did not need
RAILS_NO_ENV = """/usr/local/bundle/gems/dotenv-2.8.1/lib/dotenv.rb:69:in `fetch': key not found: "PAYMENTS_API_URL" (KeyError)
	from /app/config/initializers/payments.rb:3:in `<main>'
"""  # noqa: E501
PSQL_REFUSED = """psql: error: connection to server at "db" (10.96.0.20), port 5432 failed: Connection refused
	Is the server running on that host and accepting TCP/IP connections?
"""  # noqa: E501


@dataclass(frozen=True)
class Kind:
    name: str
    what: str
    deployment: str
    expected: str
    """crashwatch's reason code for it."""
    specifics: tuple[str, ...]
    """What a useful alert names (the variable, the key, the port...)."""
    container: str = "app"
    init: bool = False
    rollout: dict[str, Any] | None = None
    """A healthy first revision (kwok runs it), then this template patch: its pod fails."""

    @property
    def namespace(self) -> str:
        return f"alerts-{self.name}"


KINDS = [
    Kind("crash-loop", "crash loop: a required env var is missing (restarts on the kubelet's "
         "back-off 10s/20s/40s/80s/160s/300s)", "billing", "CrashLoop.MissingEnv",
         ("SECRET_KEY",)),
    Kind("flapping", "flapping: runs a minute, then loses its Redis (ECONNREFUSED), over and "
         "over", "cart", "CrashLoop.DependencyUnreachable", ("10.96.14.2:6379",)),
    Kind("init-crash", "init container crash loop: migrations cannot reach PostgreSQL",
         "orders", "CrashLoop.DependencyUnreachable", ("migrate", "5432"), container="migrate",
         init=True),
    Kind("oom", "OOM loop: OOMKilled (137) at every start", "search", "CrashLoop.OOMKilled",
         ("OOMKilled",)),
    Kind("missing-key", "missing ConfigMap key: `mode` absent from ConfigMap checkout-config",
         "checkout", "Config.MissingConfigMapKey", ("mode", "checkout-config")),
    Kind("image", "image that does not exist (tag 2.5.1 not in the registry)", "catalog",
         "Image.NotFound", ("catalog:2.5.1",)),
    Kind("liveness", "liveness probe 404 (GET /healthz), killed after 3 failures, restarted "
         "on the back-off", "gateway", "CrashLoop.LivenessProbe", ("404", "/healthz")),
    Kind("readiness", "readiness probe 503 (GET /ready): runs, never ready", "reports",
         "Probe.ReadinessFailing", ("503", "/ready")),
    Kind("missing-secret", "missing Secret: `payments-db` does not exist", "payments",
         "Config.MissingSecret", ("payments-db",)),
    Kind("read-only-fs", "read-only root filesystem: nginx cannot mkdir its client_temp",
         "web", "CrashLoop.ReadOnlyFilesystem", ("/var/cache/nginx/client_temp",)),
    Kind("oom-shrink", "OOM after shrink: an autoscaler lowered the memory limit 512Mi -> "
         "32Mi, the new pod is OOMKilled at every start", "rails",
         "CrashLoop.OOMAfterShrink", ("32Mi", "512Mi"),
         rollout={"containers": [{"name": "app", "resources": {
             "limits": {"memory": "32Mi"}, "requests": {"memory": "32Mi"}}}]}),
    Kind("regression", "rollout regression: revision 2 (image 1.5.0) crash-loops, revision 1 "
         "(1.4.2) ran", "shop", "Rollout.Regression", ("1.4.2",),
         rollout={"containers": [{"name": "app", "image": f"{REGISTRY}/shop:1.5.0"}]}),
]
ROLLOUTS = [k.name for k in KINDS if k.rollout]


def pod_spec(kind: Kind) -> dict[str, Any]:
    image = f"{REGISTRY}/{kind.deployment}:{'2.5.1' if kind.name == 'image' else '1.4.2'}"
    app: dict[str, Any] = {
        "name": "app", "image": image, "ports": [{"containerPort": 8080}],
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"},
                      "limits": {"memory": "256Mi"}},
    }
    if kind.name == "oom-shrink":
        app["resources"] = {"requests": {"memory": "512Mi"}, "limits": {"memory": "512Mi"}}
    spec: dict[str, Any] = {
        "containers": [app],
        "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists",
                         "effect": "NoSchedule"}],
    }
    if kind.name == "init-crash":
        spec["initContainers"] = [{"name": "migrate", "image": image,
                                   "command": ["psql", "-h", "db", "-f", "/migrations/up.sql"]}]
    elif kind.name == "missing-key":
        app["env"] = [{"name": "CHECKOUT_MODE", "valueFrom": {"configMapKeyRef": {
            "name": "checkout-config", "key": "mode"}}}]
    elif kind.name == "liveness":
        app["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": 8080},
                                "periodSeconds": 10, "failureThreshold": 3}
    elif kind.name == "missing-secret":
        app["env"] = [{"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {
            "name": "payments-db", "key": "url"}}}]
    elif kind.name == "read-only-fs":
        app["securityContext"] = {"readOnlyRootFilesystem": True, "runAsNonRoot": True,
                                  "runAsUser": 101, "allowPrivilegeEscalation": False}
    elif kind.name == "regression":
        # as most served apps have: the crashing revision is never ready, so the Deployment
        # controller keeps the previous one (without a probe, a container that runs 4 s is
        # ready for 4 s, the rollout completes, and that is not a regression to undo)
        app["readinessProbe"] = {"httpGet": {"path": "/ready", "port": 8080},
                                 "periodSeconds": 10, "failureThreshold": 3}
    elif kind.name == "readiness":
        app["readinessProbe"] = {"httpGet": {"path": "/ready", "port": 8080},
                                 "periodSeconds": 10, "failureThreshold": 3}
    return spec


def deployment(kind: Kind) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": kind.deployment, "namespace": kind.namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": kind.deployment}},
            "template": {
                # the simulated kubelet drives these pods, not kwok (a rollout's first,
                # healthy revision is kwok's)
                "metadata": {"labels": {"app": kind.deployment, LABEL: kind.name},
                             "annotations": {} if kind.rollout else {
                                 kubelet.SIMULATED_ANNOTATION: "true"}},
                "spec": pod_spec(kind),
            },
        },
    }


def scenario(kind: Kind, live: realtime.LivePod, until: float,
             rng: random.Random) -> realtime.Scenario:  # fmt: skip
    if kind.name == "crash-loop":
        return realtime.crash_loop(live, log=DJANGO_NO_SECRET, until=until, rng=rng)
    if kind.name == "flapping":
        return realtime.crash_loop(live, run_seconds=60.0, log=NODE_REDIS_REFUSED,
                                   until=until, rng=rng)  # fmt: skip
    if kind.name == "init-crash":
        return realtime.crash_loop(live, exit_code=2, log=PSQL_REFUSED, until=until, rng=rng)
    if kind.name == "oom":
        return realtime.crash_loop(live, exit_code=137, reason="OOMKilled", run_seconds=3.0,
                                   until=until, rng=rng)  # fmt: skip
    if kind.name == "missing-key":
        return realtime.config_error(live, kind="configmap", name="checkout-config",
                                     key="mode", until=until, rng=rng)  # fmt: skip
    if kind.name == "missing-secret":
        return realtime.config_error(live, kind="secret", name="payments-db", key=None,
                                     until=until, rng=rng)  # fmt: skip
    if kind.name == "read-only-fs":
        return realtime.crash_loop(live, log=NGINX_READ_ONLY, until=until, rng=rng)
    if kind.name == "oom-shrink":
        return realtime.crash_loop(live, exit_code=137, reason="OOMKilled", run_seconds=8.0,
                                   until=until, rng=rng)  # fmt: skip
    if kind.name == "regression":
        return realtime.crash_loop(live, log=RAILS_NO_ENV, run_seconds=4.0, until=until,
                                   rng=rng)  # fmt: skip
    if kind.name == "image":
        return realtime.image_pull_error(live, until=until, rng=rng)
    if kind.name == "liveness":
        return realtime.crash_loop(live, exit_code=137, run_seconds=30.0, until=until,
                                   rng=rng, liveness=kubelet.probe_output(
                                       live.pod, status_code=404, path="/healthz"))
    return realtime.readiness_failing(
        live, output=kubelet.probe_output(live.pod, status_code=503, path="/ready"), until=until)


# ------------------------------------------------------------------------- Prometheus


def scaled_for(rules: str, factor: float) -> str:
    """Every ``for:`` divided by ``factor`` (``--quick`` only)."""
    unit = {"s": 1, "m": 60, "h": 3600}

    def repl(m: re.Match[str]) -> str:
        seconds = int(m.group(2)) * unit[m.group(3)]
        return f"{m.group(1)}for: {max(1, round(seconds / factor))}s"

    return re.sub(r"(?m)^(\s+)for: (\d+)([smh])\s*$", repl, rules)


class Prometheus:
    def __init__(self, work: Path, crashwatch: str, ksm: str, interval: int,
                 for_factor: float) -> None:  # fmt: skip
        binary = shutil.which("prometheus")
        if not binary:
            raise SystemExit("prometheus missing: run tests/tools/ensure-tools.sh (make "
                             "bench-alerts does)")
        for src, name in ((CRASHWATCH_RULES, "crashwatch.yaml"), (MIXIN_RULES, "mixin.yaml")):
            text = src.read_text()
            (work / name).write_text(scaled_for(text, for_factor) if for_factor != 1 else text)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.interval = interval
        hosts = {k: urllib.parse.urlsplit(u).netloc for k, u in
                 (("crashwatch", crashwatch), ("ksm", ksm))}
        (work / "prometheus.yml").write_text(
            f"global:\n  scrape_interval: {interval}s\n  scrape_timeout: {min(10, interval)}s\n"
            f"  evaluation_interval: {interval}s\n"
            "rule_files: [crashwatch.yaml, mixin.yaml]\n"
            "scrape_configs:\n"
            "  - job_name: crashwatch\n"
            f"    static_configs: [{{targets: ['{hosts['crashwatch']}']}}]\n"
            "  - job_name: kube-state-metrics\n    honor_labels: true\n"
            f"    static_configs: [{{targets: ['{hosts['ksm']}']}}]\n")
        self.popen = subprocess.Popen(
            [binary, f"--config.file={work / 'prometheus.yml'}",
             f"--storage.tsdb.path={work / 'prometheus-data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=(work / "prometheus.log").open("wb"))
        bc.wait_http(self.url + "/-/ready", self.popen, "prometheus")

    def api(self, path: str, **params: str) -> Any:
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=30) as r:
            return json.loads(r.read())["data"]

    def targets_up(self) -> bool:
        active = self.api("targets")["activeTargets"]
        return len(active) == 2 and all(t["health"] == "up" for t in active)

    def samples(self, selector: str, since: float, until: float) -> list[dict[str, Any]]:
        """Every raw sample of ``selector`` between two wall-clock times."""
        window = max(1, int(until - since) + 1)
        return list(self.api("query", query=f"{selector}[{window}s]", time=f"{until:.3f}")
                    ["result"])

    def stop(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(20)
        except subprocess.TimeoutExpired:
            self.popen.kill()


# ------------------------------------------------------------------------- the run


def start_pods(core: client.CoreV1Api, apps: client.AppsV1Api, logs: Path,
               kinds: list[Kind]) -> dict[str, realtime.LivePod]:  # fmt: skip
    for kind in kinds:
        core.create_namespace({"metadata": {"name": kind.namespace}})  # type: ignore[arg-type]
    if any(k.name == "missing-key" for k in kinds):
        # the ConfigMap exists; the key the pod needs does not
        core.create_namespaced_config_map("alerts-missing-key", {  # type: ignore[arg-type]
            "metadata": {"name": "checkout-config"}, "data": {"currency": "EUR"}})
    for kind in kinds:
        apps.create_namespaced_deployment(kind.namespace, deployment(kind))  # type: ignore[arg-type]
    roll_out(apps, [k for k in kinds if k.rollout])
    pods: dict[str, realtime.LivePod] = {}
    deadline = time.monotonic() + 120
    while len(pods) < len(kinds):
        if time.monotonic() > deadline:
            missing = sorted({k.name for k in kinds} - set(pods))
            raise RuntimeError(f"pods not scheduled: {missing}")
        for p in core.list_pod_for_all_namespaces(label_selector=LABEL).items:
            name = p.metadata.labels[LABEL]
            if name in pods or not p.spec.node_name:
                continue
            kind = next(k for k in kinds if k.name == name)
            if kind.rollout and (p.metadata.annotations or {}).get(
                    kubelet.SIMULATED_ANNOTATION) != "true":
                continue  # the healthy first revision
            obj = kubelet.take_over(core, p)
            pods[name] = realtime.LivePod(core, obj, kind.container, init=kind.init,
                                          logs_dir=logs)  # fmt: skip
        time.sleep(0.5)
    return pods


def roll_out(apps: client.AppsV1Api, kinds: list[Kind]) -> None:
    """Wait for each first revision to be available, then patch in the failing one."""
    deadline = time.monotonic() + 120
    waiting = list(kinds)
    while waiting:
        if time.monotonic() > deadline:
            raise RuntimeError(f"first revisions not available: {[k.name for k in waiting]}")
        for kind in list(waiting):
            dep = apps.read_namespaced_deployment(kind.deployment, kind.namespace)
            if (dep.status.available_replicas or 0) >= 1:
                apps.patch_namespaced_deployment(kind.deployment, kind.namespace, {
                    "spec": {"template": {"metadata": {"annotations": {
                        kubelet.SIMULATED_ANNOTATION: "true"}}, "spec": kind.rollout}}})
                waiting.remove(kind)
        time.sleep(0.5)


def crashwatch_view(core: client.CoreV1Api, apps: client.AppsV1Api,
                    kinds: list[Kind]) -> dict[str, dict[str, str]]:  # fmt: skip
    """kind -> the crashwatch.dev/* annotations on its failing pod; for a workload-level
    reason such as Rollout.Regression, the Deployment's, or (watch-only crashwatch may not
    patch a Deployment) crashwatch's Event on it: its reason and message."""

    def ours(annotations: dict[str, str] | None) -> dict[str, str]:
        return {k: v for k, v in (annotations or {}).items()
                if k.startswith("crashwatch.dev/") and k != kubelet.SIMULATED_ANNOTATION}

    out: dict[str, dict[str, str]] = {}
    for p in core.list_pod_for_all_namespaces(label_selector=LABEL).items:
        ann = ours(p.metadata.annotations)
        name = p.metadata.labels[LABEL]
        if ann.get("crashwatch.dev/reason") or name not in out:
            out[name] = ann
    for kind in kinds:
        if kind.expected.startswith("Rollout."):
            dep = apps.read_namespaced_deployment(kind.deployment, kind.namespace)
            ann = ours(dep.metadata.annotations)
            if ann.get("crashwatch.dev/reason") != kind.expected:
                ann = next(({"crashwatch.dev/reason": ev.reason,
                             "crashwatch.dev/summary": ev.message}
                            for ev in core.list_namespaced_event(
                                kind.namespace, field_selector="involvedObject.kind=Deployment,"
                                f"reason={kind.expected}").items
                            if ev.source and ev.source.component == "crashwatch"), {})
            out[kind.name] = ann
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    kinds = [k for k in KINDS if not args.kinds or k.name in args.kinds]
    bin_dir = build_binaries()
    bc.ksm_binary()
    scratch = Path(tempfile.mkdtemp(prefix="crashwatch-bench-alerts-"))
    plane = ControlPlane(workdir=scratch / "plane", bin_dir=bin_dir, nodes=1)
    procs: list[Any] = []
    prom: Prometheus | None = None
    driver = realtime.Driver()
    try:
        print(f"starting the control plane in {scratch}")
        plane.start()
        os.environ["BENCH_KUBECONFIG"] = str(plane.admin_kubeconfig)
        cw, logs = bc.start_crashwatch(plane, scratch, extra=())
        ksm = bc.start_ksm(plane, scratch)
        procs = [cw, ksm]
        interval = 5 if args.quick else 30
        prom = Prometheus(scratch, cw.metrics_url, ksm.metrics_url, interval,
                          10.0 if args.quick else 1.0)  # fmt: skip
        api = plane.api_client()
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        deadline = time.monotonic() + 120
        while not prom.targets_up():
            if time.monotonic() > deadline:
                raise RuntimeError("Prometheus does not scrape both targets")
            time.sleep(1)
        # each pod's kubelet starts as soon as the pod is bound, as on a node
        started = time.time()
        pods = start_pods(core, apps, logs, kinds)
        rng = random.Random(args.seed)
        print(f"{len(kinds)} failures start at {dt.datetime.now(dt.UTC):%H:%M:%S} UTC, for "
              f"{args.duration:.0f} s")
        for kind in kinds:
            driver.add(kind.name, scenario(kind, pods[kind.name], args.duration,
                                           random.Random(rng.random())))  # fmt: skip
        driver.start()
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        diagnosed: dict[str, tuple[float, dict[str, str]]] = {}
        end = started + args.duration

        def look() -> float:
            now = time.time()
            for a in prom.api("alerts")["alerts"]:
                key = (a["labels"]["alertname"], a["labels"].get("namespace", ""))
                if a["state"] == "firing" and key not in seen:
                    seen[key] = {**a, "seen_at": now}
                    print(f"  +{now - started:6.0f} s  {key[0]} firing in {key[1] or '-'}")
            for name, ann in crashwatch_view(core, apps, kinds).items():
                if ann.get("crashwatch.dev/reason") and name not in diagnosed:
                    diagnosed[name] = (now, ann)
            return now

        next_print = started
        while time.time() < end:
            now = look()
            if now >= next_print:
                print(f"  +{now - started:6.0f} s  {len(seen)} alerts fired, "
                      f"{sum(p.writes for p in pods.values())} kubelet writes, load "
                      f"{os.getloadavg()[0]:.1f}")
                next_print += 120
            time.sleep(min(10.0, max(0.0, end - time.time())))
        # let the last evaluation land, then read Prometheus' own record
        time.sleep(interval + 1)
        driver.join()
        look()
        finished = time.time()
        alerts = prom.samples("ALERTS", started, finished)
        ksm_waiting = [s for family in ("container", "init_container") for s in prom.samples(
            f'kube_pod_{family}_status_waiting_reason{{namespace=~"alerts-.*"}}', started,
            finished)]
        scrapes = prom.samples('up{job="kube-state-metrics"}', started, finished)
        final_view = crashwatch_view(core, apps, kinds)
        cw_rss = cw.memory_mb()[1]
    finally:
        driver.join()
        if prom:
            prom.stop()
        for proc in procs:
            proc.stop()
        plane.stop()
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return {
        "started": started, "finished": finished, "interval_s": interval,
        "duration_s": args.duration, "quick": args.quick, "seed": args.seed,
        "kinds": [summarise(k, pods[k.name], started, interval, alerts, seen,
                            diagnosed.get(k.name), final_view.get(k.name, {}), ksm_waiting,
                            len(scrapes[0]["values"]) if scrapes else 0)
                  for k in kinds],
        "driver_errors": driver.errors,
        "crashwatch_peak_rss_mb": cw_rss,
    }


def episodes(times: list[float], interval: int) -> list[tuple[float, float]]:
    """Runs of consecutive evaluations (a gap longer than 1.5 intervals ends a run)."""
    out: list[tuple[float, float]] = []
    for t in sorted(times):
        if out and t - out[-1][1] <= 1.5 * interval:
            out[-1] = (out[-1][0], t)
        else:
            out.append((t, t))
    return out


def summarise(kind: Kind, live: realtime.LivePod, started: float, interval: int,
              alerts: list[dict[str, Any]],
              seen: dict[tuple[str, str], dict[str, Any]],
              diagnosed: tuple[float, dict[str, str]] | None, final: dict[str, str],
              ksm_waiting: list[dict[str, Any]], ksm_scrapes: int) -> dict[str, Any]:  # fmt: skip
    failed_at = live.failed_at or started
    by_alert: dict[str, dict[str, list[float]]] = {}
    labels_of: dict[str, dict[str, str]] = {}
    for series in alerts:
        m = series["metric"]
        if m.get("namespace") != kind.namespace:
            continue
        state = by_alert.setdefault(m["alertname"], {"firing": [], "pending": []})
        state[m["alertstate"]] += [float(t) for t, _ in series["values"]]
        if m["alertstate"] == "firing":
            labels_of.setdefault(m["alertname"], {k: v for k, v in m.items()
                                                  if k not in ("__name__", "alertstate")})
    rows = []
    for name, states in sorted(by_alert.items()):
        firing = episodes(states["firing"], interval)
        pending = episodes(states["pending"] + states["firing"], interval)
        record = seen.get((name, kind.namespace), {})
        annotations = record.get("annotations", {})
        labels = record.get("labels") or labels_of.get(name, {})
        # what a person reads (not the scrape target's address, a uid or a pod's hash)
        text = " ".join([*(v for k, v in labels.items() if k not in ("instance", "uid", "pod")),
                         *annotations.values()])
        rows.append({
            "alert": name,
            "side": "crashwatch" if name.startswith("Crashwatch") else "kubernetes-mixin",
            "active_after_s": pending[0][0] - failed_at if pending else None,
            "firing_after_s": firing[0][0] - failed_at if firing else None,
            "firing_episodes": len(firing),
            "pending_episodes": len(pending),
            "labels": labels, "annotations": annotations,
            "names": {s: s in text for s in kind.specifics},
            "names_reason": kind.expected in text,
        })
    waiting = [s for s in ksm_waiting if s["metric"].get("namespace") == kind.namespace]
    clbo = sum(len(s["values"]) for s in waiting
               if s["metric"].get("reason") == "CrashLoopBackOff")
    reasons = sorted({s["metric"].get("reason", "") for s in waiting})
    summary = final.get("crashwatch.dev/summary", "") or (diagnosed[1] if diagnosed else {}).get(
        "crashwatch.dev/summary", "")
    return {
        "kind": kind.name, "what": kind.what, "namespace": kind.namespace,
        "deployment": kind.deployment, "expected": kind.expected,
        "specifics": list(kind.specifics),
        "failed_after_start_s": failed_at - started,
        "kubelet_writes": live.writes,
        "crashwatch_reason": (diagnosed[1] if diagnosed else final).get("crashwatch.dev/reason"),
        "crashwatch_diagnosed_after_s": diagnosed[0] - failed_at if diagnosed else None,
        "crashwatch_annotations": final or (diagnosed[1] if diagnosed else {}),
        "annotation_names": {s: s in summary + final.get("crashwatch.dev/evidence", "")
                             for s in kind.specifics},
        "ksm_waiting_reasons": reasons,
        "ksm_scrapes_showing_crashloopbackoff": clbo,
        "ksm_scrapes": ksm_scrapes,
        "alerts": rows,
    }


# ------------------------------------------------------------------------- report


def mmss(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    m, s = divmod(abs(round(seconds)), 60)
    return f"{'-' if seconds < -0.5 else ''}{m}m{s:02d}s"


def first(rows: list[dict[str, Any]], side: str) -> dict[str, Any] | None:
    fired = [r for r in rows if r["side"] == side and r["firing_after_s"] is not None]
    return min(fired, key=lambda r: r["firing_after_s"]) if fired else None


def says(row: dict[str, Any] | None) -> str:
    if not row:
        return ""
    a = row["annotations"]
    return str(a.get("summary") or a.get("description") or "").replace("|", "\\|")


def report(result: dict[str, Any], info: dict[str, str], versions: dict[str, str]) -> str:
    dur = result["duration_s"]
    out = [f"# Time to a useful alert: crashwatch vs kubernetes-mixin ({info['date']})", "",
           f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}, Linux "
           f"{info['kernel']}, Python {info['python']}; load average at the end "
           f"{info.get('load', '?')} (other engineers' work ran beside it).", "",
           "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".", "",
           f"All {len(result['kinds'])} failures ran at once for {mmss(dur)} on the local "
           "control plane (kwok node), written by the simulated kubelet over real time as a "
           "v1.36 kubelet with the default syncFrequency writes them "
           "(tests/cluster/nodes/kwok/realtime.py). "
           f"One Prometheus scraped crashwatch and kube-state-metrics every "
           f"{result['interval_s']} s and evaluated every {result['interval_s']} s: "
           "crashwatch's deploy/prometheus/rules.yaml and the mixin's pod and Deployment "
           f"alerts (bench/alerts/kubernetes-mixin-apps.yaml, from {MIXIN_SOURCE}), every "
           "`for:` unchanged" + (" -- QUICK RUN: every `for:` divided by 10, 5 s scrapes; "
                                "not a result" if result["quick"] else "") + ". Times are "
           "from the failure's start (the first crash, kill, failed pull, config error or "
           "failed readiness probe) to the first evaluation at which the alert fired "
           "(Prometheus' ALERTS series). \"never (watched N)\": not within the N the run "
           "went on after the failure started.", "",
           "| failure | crashwatch's diagnosis, after | crashwatch's first alert | after | "
           "`KubePodCrashLooping` after | kubernetes-mixin's first alert | after |",
           "|---|---|---|---:|---:|---|---:|"]
    for k in result["kinds"]:
        cw, mx = first(k["alerts"], "crashwatch"), first(k["alerts"], "kubernetes-mixin")
        crashloop = next((r for r in k["alerts"] if r["alert"] == "KubePodCrashLooping"), None)
        watched = dur - k["failed_after_start_s"]

        def after(row: dict[str, Any] | None, watched: float = watched) -> str:
            seconds = row["firing_after_s"] if row else None
            return mmss(seconds) if seconds is not None else f"never (watched {mmss(watched)})"

        def cell(row: dict[str, Any] | None) -> str:
            if not row:
                return "none"
            reason = row["labels"].get("reason")
            return f"`{row['alert']}`" + (f" reason=`{reason}`" if reason else "") + (
                f": {says(row)}")

        diagnosis = (f"`{k['crashwatch_reason']}`, {mmss(k['crashwatch_diagnosed_after_s'])}"
                     if k["crashwatch_reason"] else "none read (no annotation on the " + (
                         "Deployment: watch-only may not patch it)"
                         if k["expected"].startswith("Rollout.") else "pod)"))
        out.append(f"| {k['what']} | {diagnosis} | {cell(cw)} | {after(cw)} | "
                   f"{after(crashloop)} | {cell(mx)} | {after(mx)} |")
    out += ["", "What each side's alert names (labels and annotations of its first alert; the "
            "pod's crashwatch.dev/summary and evidence annotations for comparison):", "",
            "| failure | needs | crashwatch's alert | crashwatch's pod annotations | "
            "the mixin's alert |", "|---|---|---|---|---|"]
    for k in result["kinds"]:
        cw, mx = first(k["alerts"], "crashwatch"), first(k["alerts"], "kubernetes-mixin")

        def named(row: dict[str, Any] | None, k: dict[str, Any] = k) -> str:
            if not row:
                return "(no alert)"
            got = [s for s, ok in row["names"].items() if ok]
            reason = "the reason code, " if row["names_reason"] else ""
            return f"{reason}{', '.join(f'`{s}`' for s in got) or 'none of them'}"

        ann = [s for s, ok in k["annotation_names"].items() if ok]
        out.append(f"| {k['kind']} | {', '.join(f'`{s}`' for s in k['specifics'])} | "
                   f"{named(cw)} | {', '.join(f'`{s}`' for s in ann) or 'none of them'} | "
                   f"{named(mx)} |")
    out += ["", "## Every alert, per failure", ""]
    for k in result["kinds"]:
        out += [f"### {k['kind']}: {k['what']}", "",
                f"Deployment `{k['namespace']}/{k['deployment']}`; failure started "
                f"{mmss(k['failed_after_start_s'])} into the run; {k['kubelet_writes']} "
                f"status writes by the simulated kubelet. crashwatch: " + (
                    f"`{k['crashwatch_reason']}` on the "
                    f"{'Deployment' if k['expected'].startswith('Rollout.') else 'pod'} "
                    f"{mmss(k['crashwatch_diagnosed_after_s'])} after the failure started"
                    if k["crashwatch_reason"] else "no diagnosis on the pod") +
                f" (expected `{k['expected']}`). kube-state-metrics "
                f"waiting reasons seen: {', '.join(k['ksm_waiting_reasons']) or 'none'}; "
                f"CrashLoopBackOff in {k['ksm_scrapes_showing_crashloopbackoff']} of "
                f"{k['ksm_scrapes']} scrapes.", ""]
        summary = k["crashwatch_annotations"].get("crashwatch.dev/summary")
        if summary:
            out += [f"Pod annotation `crashwatch.dev/summary`: {summary}", ""]
        out += ["| alert | side | active (pending) after | fired after | fired / pending "
                "episodes | labels | summary / description |", "|---|---|---:|---:|---|---|---|"]
        for r in k["alerts"]:
            labels = ", ".join(f"{a}={b}" for a, b in sorted(r["labels"].items())
                               if a not in ("alertname",))
            text = " / ".join(str(r["annotations"].get(x, "")) for x in ("summary", "description")
                              if r["annotations"].get(x))
            out.append(f"| `{r['alert']}` | {r['side']} | {mmss(r['active_after_s'])} | "
                       f"{mmss(r['firing_after_s'])} | {r['firing_episodes']} / "
                       f"{r['pending_episodes']} | {labels} | {text.replace('|', '/')} |")
        if not k["alerts"]:
            out.append("| (none) | | | | | | |")
        out.append("")
    if result["driver_errors"]:
        out += ["## Simulated kubelet errors", "", "```",
                json.dumps(result["driver_errors"], indent=1), "```", ""]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=None,
                        help="seconds the failures run (default 1440; --quick 300)")
    parser.add_argument("--quick", action="store_true",
                        help="every `for:` / 10 and 5 s scrapes: the plumbing, not a result")
    parser.add_argument("--kinds", type=lambda s: s.split(","), default=None,
                        help="only these failure kinds (comma-separated)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--out", default=None,
                        help="where to write alerts.md/.json (default bench/results/; --quick: "
                        "nowhere)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    parser.add_argument("--render", metavar="JSON", help="only print the report of a run")
    args = parser.parse_args()
    if args.render:
        saved = json.loads(Path(args.render).read_text())
        print(report(saved["result"], saved["machine"], saved["versions"]), end="")
        return 0
    if args.duration is None:
        args.duration = 300.0 if args.quick else 1440.0
    result = run(args)
    info = bc.machine()
    info["load"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    versions = {"crashwatch": __version__, "kube-apiserver": "v1.36.3", "kwok": "v0.8.0",
                "kube-state-metrics": Path(bc.ksm_binary()).parent.name.removeprefix("ksm-"),
                "prometheus": prometheus_version()}
    text = report(result, info, versions)
    print()
    print(text)
    out = args.out or (None if args.quick else str(ROOT / "bench" / "results"))
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "alerts.md").write_text(text)
        (Path(out) / "alerts.json").write_text(json.dumps(
            {"machine": info, "versions": versions, "args": vars(args), "result": result},
            indent=2, default=str) + "\n")
        print(f"written: {Path(out) / 'alerts.md'}, {Path(out) / 'alerts.json'}")
    return 0


def prometheus_version() -> str:
    out = subprocess.run(["prometheus", "--version"], capture_output=True, text=True,
                         check=False)
    m = re.search(r"version (\S+)", out.stdout + out.stderr)
    return m.group(1) if m else "unknown"


if __name__ == "__main__":
    sys.exit(main())
