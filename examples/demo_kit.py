"""What both live demos share: `make demo` (examples/realnode_demo.py, a real kubelet and
crashwatch in the cluster) and `make demo-kwok` (examples/live_demo.py, kwok nodes and a
simulated kubelet). Printing and waiting, the feed of diagnoses as crashwatch publishes them,
RemediationPolicies and what they did, the /metrics excerpt, and a real Prometheus that runs
the shipped alert rules against crashwatch.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kubernetes import client
from tests.cluster.controlplane.plane import REPO, free_port
from tests.cluster.web import get

# Alerts about crashwatch itself, left out of the report (with `for: 1s`, CrashwatchDown
# fires in the second before the first scrape).
SELF_ALERTS = frozenset({"CrashwatchDown", "CrashwatchWatchStuck", "CrashwatchHandlerErrors"})
WORKLOAD_ALERTS = frozenset({"CrashwatchWorkloadFailing", "CrashwatchConfigurationError",
                             "CrashwatchRolloutRegression"})


def say(text: str = "") -> None:
    print(text, flush=True)


def wait(what: str, check: Callable[[], Any], timeout: float = 90.0,
         interval: float = 0.3) -> Any:
    """Poll ``check`` until it returns something true; TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}")


def interruptible() -> None:
    """SIGTERM and SIGHUP end the demo as Ctrl-C does (KeyboardInterrupt: the cleanup runs)."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)


def uninterruptible() -> None:
    """While cleaning up: a second Ctrl-C (or SIGTERM) must not cut the cleanup short."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


def namespace(core: client.CoreV1Api, name: str) -> None:
    """Create a namespace and wait until pods may be created in it (its default
    ServiceAccount exists)."""
    core.create_namespace({"metadata": {"name": name}})

    def ready() -> bool:
        try:
            core.read_namespaced_service_account("default", name)
        except client.ApiException:
            return False
        return True
    wait(f"namespace {name}", ready)


def policy(custom: client.CustomObjectsApi, ns: str, name: str, **spec: Any) -> None:
    """A RemediationPolicy ``name`` for the pods labelled ``app=<name>``."""
    custom.create_namespaced_custom_object(
        "crashwatch.dev", "v1alpha1", ns, "remediationpolicies",
        {"apiVersion": "crashwatch.dev/v1alpha1", "kind": "RemediationPolicy",
         "metadata": {"name": name},
         "spec": {"selector": {"matchLabels": {"app": name}}, "dryRun": False, **spec}})


def remediated(custom: client.CustomObjectsApi, ns: str, name: str, changed: Callable[[], bool],
               timeout: float = 60.0) -> dict[str, Any] | None:
    """Wait for a remediation on workload ``ns/name`` (``changed`` tells when it landed),
    then for the policy's status line saying it was applied; print it and return it."""
    try:
        wait(f"remediation in {ns}", changed, timeout=timeout)
    except TimeoutError:
        say(f"  {ns}/{name}: no remediation happened")
        return None

    def applied() -> dict[str, Any] | None:
        # The policy's status is written just after the workload's patch lands.
        status = custom.get_namespaced_custom_object(
            "crashwatch.dev", "v1alpha1", ns, "remediationpolicies", name)
        actions = (status.get("status") or {}).get("lastActions") or []
        return next((a for a in actions if a.get("result") == "applied"), None)
    try:
        last: dict[str, Any] = wait(f"the policy status in {ns}", applied, timeout=30)
    except TimeoutError:
        say(f"  {ns}/{name}: the policy status does not show the action")
        return None
    say(f"  {ns}/{name}: {last.get('change')} ({last.get('result')})")
    return {"namespace": ns, **last}


class DiagnosisFeed:
    """Print each diagnosis as crashwatch publishes it: its Events on the workloads and
    their pods (they stay after a fix, so a failure remediated in seconds still shows).
    One line per (workload, reason); ``seen`` keeps the summaries."""

    def __init__(self, core: client.CoreV1Api, workloads: Iterable[str],
                 width: int = 24) -> None:
        self.core = core
        self.workloads = set(workloads)
        self.width = width
        self.seen: dict[tuple[str, str], dict[str, Any]] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._start = 0.0

    @staticmethod
    def workload(event: Any) -> str:
        name = event.involved_object.name
        if event.involved_object.kind == "Pod":  # <deployment>-<template hash>-<suffix>
            name = name.rsplit("-", 2)[0]
        return f"{event.involved_object.namespace}/{name}"

    def start(self) -> None:
        say(f"{'TIME':>5}  {'WORKLOAD':<{self.width}} {'REASON':<29} WHY")
        self._start = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def wait_for(self, expected: set[tuple[str, str]], timeout: float) -> None:
        """Until every expected (workload, reason) was seen, or ``timeout``."""
        with contextlib.suppress(TimeoutError):
            wait("every diagnosis", lambda: set(self.seen) >= expected, timeout=timeout)

    def _poll(self) -> None:
        while not self._stopping.is_set():
            try:
                items = self.core.list_event_for_all_namespaces(
                    field_selector="source=crashwatch").items
            except Exception:  # the cluster is going away
                return
            for e in sorted(items, key=lambda e: e.metadata.creation_timestamp):
                key = (self.workload(e), e.reason or "")
                if key[0] in self.workloads and "." in key[1] and key not in self.seen:
                    message = e.message.split("] ", 1)[-1]
                    self.seen[key] = {"summary": message}
                    say(f"{time.monotonic() - self._start:>4.0f}s  {key[0]:<{self.width}} "
                        f"{key[1]:<29} {message}")
            time.sleep(0.5)


def metrics_excerpt(text: str) -> list[str]:
    """The lines of crashwatch's /metrics worth showing: failing containers and remediations
    (series at 0 left out)."""
    return [line for line in text.splitlines()
            if line.startswith(("crashwatch_failing_containers{",
                                "crashwatch_remediations_total{"))
            and not line.endswith(" 0.0")]


class Prometheus:
    """A real Prometheus (Debian's) with the shipped rules, ``for:`` shortened to 1s, scraping
    every second. ``scrape_config`` is the YAML of one entry of ``scrape_configs``."""

    def __init__(self, work: Path, scrape_config: str) -> None:
        self.work = work
        self.scrape_config = scrape_config
        self.url = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    def start(self) -> bool:
        binary = shutil.which("prometheus")
        if not binary:
            say("(prometheus is not installed: `make tools` installs it; no alerts shown)")
            return False
        rules = (REPO / "deploy" / "prometheus" / "rules.yaml").read_text()
        (self.work / "rules.yaml").write_text(re.sub(r"(?m)^(\s+)for: \S+$", r"\1for: 1s",
                                                     rules))
        (self.work / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: [rules.yaml]\nscrape_configs:\n{self.scrape_config}")
        port = free_port()
        self.proc = subprocess.Popen(
            [binary, f"--config.file={self.work / 'prometheus.yml'}",
             f"--storage.tsdb.path={self.work / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=(self.work / "prometheus.log").open("wb"))
        self.url = f"http://127.0.0.1:{port}"
        self.started = time.monotonic()
        proc = self.proc
        with contextlib.suppress(TimeoutError):
            wait("prometheus ready", lambda: proc.poll() is not None
                 or get(self.url + "/-/ready") is not None)
        if proc.poll() is None and get(self.url + "/-/ready") is not None:
            return True
        log = (self.work / "prometheus.log").read_text(errors="replace").strip().splitlines()
        say(f"(prometheus did not start: {log[-1] if log else 'no output'}; no alerts shown)")
        self.stop()
        return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def firing(self) -> list[dict[str, Any]]:
        data = get(f"{self.url}/api/v1/alerts") or {}
        return [a for a in (data.get("data") or {}).get("alerts", [])
                if a.get("state") == "firing"] if isinstance(data, dict) else []

    def fires(self, alertname: str, timeout: float) -> bool:
        """Whether ``alertname`` is firing within ``timeout``."""
        try:
            wait(f"{alertname} firing", lambda: any(
                a["labels"]["alertname"] == alertname for a in self.firing()), timeout=timeout)
        except TimeoutError:
            return False
        return True

    def fired(self) -> list[dict[str, str]]:
        """Every alert that fired since Prometheus started, resolved since or not."""
        seconds = int(time.monotonic() - self.started) + 5
        query = urllib.parse.quote(f'max_over_time(ALERTS{{alertstate="firing"}}[{seconds}s])')
        data = get(f"{self.url}/api/v1/query?query={query}") or {}
        result = (data.get("data") or {}).get("result", []) if isinstance(data, dict) else []
        return [{k: v for k, v in r["metric"].items() if k != "__name__"} for r in result]

    def report(self, expected: frozenset[str] = WORKLOAD_ALERTS,
               timeout: float = 45.0) -> list[dict[str, str]]:
        """Wait until the ``expected`` alerts fired (or ``timeout``), print every alert about
        the workloads that fired with its rule's summary, and return them."""
        with contextlib.suppress(TimeoutError):
            wait("alerts", lambda: expected <= {a["alertname"] for a in self.fired()},
                 timeout=timeout)
        alerts = [a for a in self.fired() if a["alertname"] not in SELF_ALERTS]
        rules = {r["name"]: r for g in ((get(f"{self.url}/api/v1/rules") or {}).get(
            "data") or {}).get("groups", []) for r in g.get("rules", [])}
        say()
        say("Alerts a real Prometheus fired during the replay (the shipped rules, `for:` "
            "shortened):")
        for a in sorted(alerts, key=lambda a: (a["alertname"], a.get("namespace", ""))):
            summary = rules.get(a["alertname"], {}).get("annotations", {}).get("summary", "")
            for key, value in a.items():
                summary = summary.replace("{{ $labels." + key + " }}", value)
            say(f"  {a['alertname']:<30} {a.get('severity', ''):<8} {summary}")
        return alerts
