#!/usr/bin/env python3
"""Build the real-world corpus: every eval/realworld/cases/<id>.yaml becomes
eval/realworld/build/<id>/{snapshot.json, logs/<ns>/<pod>/<container>.log, expected.json}.

The case format is README.md's "The format in short"; this file's validation defines it.
The build is deterministic (uids, hashes, names and times derive from the case id) and
committed; a test checks that the committed build is current.

    python3 eval/realworld/build.py            # validate every case, rewrite build/ and the
                                               # coverage table in README.md
    python3 eval/realworld/build.py --check    # exit 1 if build/ or README.md is stale
    python3 eval/realworld/build.py --validate # validate only

A case that breaks the format fails the build with one line naming the case and the field.
"""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import filecmp
import importlib.util
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from typing import Any

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rwfixture as rw  # noqa: E402

kf = rw.kf
D = dt.timedelta
UTC = dt.UTC
CASES = os.path.join(HERE, "cases")
BUILD = os.path.join(HERE, "build")
README = os.path.join(HERE, "README.md")
MODEL = os.path.join(HERE, "..", "..", "operator", "crashwatch", "model.py")

ECOSYSTEMS = ["jvm", "dotnet", "go", "python", "ruby", "node", "php", "rust", "c-cpp", "shell",
              "nginx", "postgres", "mysql", "redis", "mongodb", "kafka", "rabbitmq",
              "elasticsearch", "kubernetes", "helm-chart", "other"]
KINDS = ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"]
TYPES = ["crashloop", "crashloop-terminated", "oom", "start-error", "create-config-error",
         "create-error", "image-pull", "image-never-pull", "liveness", "startup-probe",
         "readiness", "post-start-hook", "pre-stop-hook", "evicted", "unschedulable",
         "volume-mount", "job-failed", "refused", "custom"]
POD_LEVEL_TYPES = {"evicted", "unschedulable", "volume-mount"}
#: The controller is refused every pod it asks for: no pod exists (a workload's failure).
REFUSED_KINDS = ("Deployment", "StatefulSet", "DaemonSet")

# Allowed fields, per place in the case. Values: True = required, False = optional.
TOP = {"id": True, "ecosystem": True, "title": True, "sources": True, "quoted": True,
       "adapted": True, "namespace": True, "workload": True, "pod": False, "containers": True,
       "history": False, "objects": False, "expected": True, "optional": False, "notes": False}
SOURCE = {"url": True, "what": True}
WORKLOAD = {"kind": True, "name": True, "replicas": False, "labels": False,
            "annotations": False, "backoffLimit": False, "activeDeadlineSeconds": False,
            # optional additions (not in the first version of the format)
            "podAnnotations": False, "schedule": False, "age": False,
            "volumeClaimTemplates": False, "managedFields": False, "owner": False}
#: A bare pod's controller that is no built-in workload (an operator's custom resource).
OWNER = {"apiVersion": True, "kind": True, "name": True}
MANAGED = {"manager": True, "operation": True, "time": True, "fieldsV1": True,
           "apiVersion": False, "subresource": False}
CONTAINER = {"name": True, "init": False, "spec": True, "failure": False}
FAILURE = {"type": True, "exitCode": False, "terminationReason": False, "message": False,
           "restarts": False, "log": False, "terminationMessage": False, "events": False,
           # optional additions
           "waitingReason": False, "podResources": False, "state": False, "lastState": False,
           "restartCount": False, "ready": False, "started": False, "terminating": False,
           "jobReason": False, "startedAgo": False}
#: job-failed's ``jobReason``: why the Job controller gave up.
JOB_REASONS = {"BackoffLimitExceeded": "Job has reached the specified backoff limit",
               "DeadlineExceeded": "Job was active longer than specified deadline"}
EVENT = {"type": False, "reason": True, "message": True, "count": False, "source": False,
         "object": False, "fieldPath": False, "ago": False}
HISTORY = {"revision": True, "containers": True, "available": True, "running": False,
           "age": False}
EXPECTED = {"pod": False, "container": True, "reason": True, "evidence_contains": True}
OPTIONAL = {"pod": False, "container": True, "reason": True, "evidence_contains": False,
            "why": True}


class CaseError(Exception):
    """A case that breaks the format: one line naming the case and the field."""


def reason_codes() -> list[str]:
    """The reason codes of crashwatch.model.Reason (the published contract)."""
    spec = importlib.util.spec_from_file_location("crashwatch_model_for_corpus", MODEL)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return [r.value for r in mod.Reason]


# ----------------------------------------------------------------------------- validation
def _fields(cid: str, where: str, obj: Any, allowed: dict[str, bool]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise CaseError(f"case {cid}: {where}: must be a mapping")
    for k in obj:
        if k not in allowed:
            raise CaseError(f"case {cid}: {where}.{k}: unknown field" if where
                            else f"case {cid}: {k}: unknown field")
    for k, req in allowed.items():
        if req and k not in obj:
            raise CaseError(f"case {cid}: {(where + '.') if where else ''}{k}: missing")
    return obj


def _strings(obj: Any) -> list[str]:
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in [str(k), *_strings(v)]]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return [] if obj is None else [str(obj)]


def case_time(cid: str) -> dt.datetime:
    """The moment a case's snapshot is taken (durations like ``ago`` count back from it): a
    day and time in 2026 drawn from the case's id."""
    hv = int(kf.h("T:" + cid), 16)
    return dt.datetime(2026, 3, 2, tzinfo=UTC) + D(days=hv % 240, seconds=hv // 240 % 86400)


def _duration(cid: str, where: str, text: Any) -> dt.timedelta:
    """``40m``, ``3h``, ``2d``, or a compound of them in that order (``2d18h``, ``7m18s``)."""
    m = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", str(text))
    if not m or not str(text):
        raise CaseError(f"case {cid}: {where}: not a duration like 40m, 3h, 2d or 7m18s: "
                        f"{text!r}")
    d, h, mi, sec = (int(g or 0) for g in m.groups())
    return D(days=d, hours=h, minutes=mi, seconds=sec)


def validate(case: Any, filename: str, reasons: list[str]) -> dict[str, Any]:
    stem = os.path.splitext(os.path.basename(filename))[0]
    cid = case.get("id", stem) if isinstance(case, dict) else stem
    c = _fields(cid, "", case, TOP)
    if c["id"] != stem:
        raise CaseError(f"case {cid}: id: must equal the file name ({stem})")
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", c["id"]):
        raise CaseError(f"case {cid}: id: lower-case letters, digits and dashes only")
    if c["ecosystem"] not in ECOSYSTEMS:
        raise CaseError(f"case {cid}: ecosystem: {c['ecosystem']!r} is not one of the list")
    if not c["id"].startswith(c["ecosystem"] + "-"):
        raise CaseError(f"case {cid}: id: must start with the ecosystem ({c['ecosystem']}-)")
    for k in ("title", "adapted", "namespace"):
        if not isinstance(c[k], str) or not c[k].strip():
            raise CaseError(f"case {cid}: {k}: must be a non-empty string")
    if not isinstance(c["quoted"], str) or not c["quoted"].strip():
        raise CaseError(f"case {cid}: quoted: must be the non-empty text quoted from a source")
    if not isinstance(c["sources"], list) or not c["sources"]:
        raise CaseError(f"case {cid}: sources: at least one source is required")
    for i, s in enumerate(c["sources"]):
        _fields(cid, f"sources[{i}]", s, SOURCE)
        if not isinstance(s["url"], str) or not re.match(r"https?://\S+$", s["url"]):
            raise CaseError(f"case {cid}: sources[{i}].url: missing or not an http(s) URL")
        if not isinstance(s["what"], str) or not s["what"].strip():
            raise CaseError(f"case {cid}: sources[{i}].what: must say what was quoted")
    w = _fields(cid, "workload", c["workload"], WORKLOAD)
    if w["kind"] not in KINDS:
        raise CaseError(f"case {cid}: workload.kind: {w['kind']!r} is not one of {KINDS}")
    if not isinstance(w.get("replicas", 1), int) or w.get("replicas", 1) < 1:
        raise CaseError(f"case {cid}: workload.replicas: a positive integer")
    if w["kind"] == "Pod" and w.get("replicas", 1) != 1:
        raise CaseError(f"case {cid}: workload.replicas: a bare Pod has one replica")
    for key in ("backoffLimit", "activeDeadlineSeconds"):
        if key in w and w["kind"] not in ("Job", "CronJob"):
            raise CaseError(f"case {cid}: workload.{key}: only for a Job or CronJob")
    if "owner" in w:
        if w["kind"] != "Pod":
            raise CaseError(f"case {cid}: workload.owner: only for a Pod (an operator's pod)")
        _fields(cid, "workload.owner", w["owner"], OWNER)
        if w["owner"]["kind"] in KINDS + ["ReplicaSet"]:
            raise CaseError(f"case {cid}: workload.owner.kind: a built-in workload is a "
                            "workload.kind of its own")
    if "age" in w:
        _duration(cid, "workload.age", w["age"])
    for i, mf in enumerate(w.get("managedFields") or []):
        _fields(cid, f"workload.managedFields[{i}]", mf, MANAGED)
        _duration(cid, f"workload.managedFields[{i}].time", mf["time"])
        if mf["operation"] not in ("Apply", "Update"):
            raise CaseError(f"case {cid}: workload.managedFields[{i}].operation: Apply or Update")
    if c.get("pod") is not None and not isinstance(c["pod"], dict):
        raise CaseError(f"case {cid}: pod: must be a mapping of pod-spec fields")
    if not isinstance(c["containers"], list) or not c["containers"]:
        raise CaseError(f"case {cid}: containers: at least one container")
    names = []
    types = []
    for i, ct in enumerate(c["containers"]):
        where = f"containers[{i}]"
        _fields(cid, where, ct, CONTAINER)
        names.append(ct["name"])
        if not isinstance(ct["spec"], dict) or "image" not in ct["spec"]:
            raise CaseError(f"case {cid}: {where}.spec.image: missing")
        if "name" in ct["spec"]:
            raise CaseError(f"case {cid}: {where}.spec.name: give the name outside spec")
        f = ct.get("failure")
        if f is None:
            continue
        fw = f"{where}.failure"
        _fields(cid, fw, f, FAILURE)
        t = f["type"]
        if t not in TYPES:
            raise CaseError(f"case {cid}: {fw}.type: {t!r} is not one of {TYPES}")
        types.append(t)
        for j, ev in enumerate(f.get("events") or []):
            _fields(cid, f"{fw}.events[{j}]", ev, EVENT)
            if ev.get("type", "Warning") not in ("Normal", "Warning"):
                raise CaseError(f"case {cid}: {fw}.events[{j}].type: Normal or Warning")
            if "ago" in ev:
                _duration(cid, f"{fw}.events[{j}].ago", ev["ago"])
        needs_msg = {"start-error", "create-config-error", "create-error", "image-pull",
                     "evicted", "unschedulable", "refused"}
        if t in needs_msg and not str(f.get("message") or "").strip():
            raise CaseError(f"case {cid}: {fw}.message: required for type {t}")
        if t in ("liveness", "startup-probe", "readiness", "volume-mount") and not f.get("events"):
            raise CaseError(f"case {cid}: {fw}.events: required for type {t} (quote them)")
        if t in ("post-start-hook", "pre-stop-hook") and not (f.get("message") or f.get("events")):
            raise CaseError(f"case {cid}: {fw}.message: required for type {t}")
        if f.get("terminating") and t != "pre-stop-hook":
            raise CaseError(f"case {cid}: {fw}.terminating: only for type pre-stop-hook")
        if t == "custom" and "state" not in f:
            raise CaseError(f"case {cid}: {fw}.state: required for type custom")
        if "startedAgo" in f:
            if t != "custom" or "running" not in (f.get("state") or {}):
                raise CaseError(f"case {cid}: {fw}.startedAgo: only for type custom with a "
                                "running state")
            _duration(cid, f"{fw}.startedAgo", f["startedAgo"])
        if t != "custom":
            for k in ("state", "lastState", "restartCount", "ready", "started"):
                if k in f:
                    raise CaseError(f"case {cid}: {fw}.{k}: only for type custom")
        if t == "refused" and w["kind"] not in REFUSED_KINDS:
            raise CaseError(f"case {cid}: {fw}.type: refused needs a {', '.join(REFUSED_KINDS)}")
        if t == "refused" and (ct.get("init") or c.get("history")):
            raise CaseError(f"case {cid}: {fw}.type: refused is about the workload (no init "
                            "container, no history)")
        if t == "job-failed" and w["kind"] not in ("Job", "CronJob"):
            raise CaseError(f"case {cid}: {fw}.type: job-failed needs a Job or CronJob")
        if "jobReason" in f and (t != "job-failed" or f["jobReason"] not in JOB_REASONS):
            raise CaseError(f"case {cid}: {fw}.jobReason: only for job-failed, one of "
                            f"{', '.join(JOB_REASONS)}")
        if f.get("jobReason") == "DeadlineExceeded" and "activeDeadlineSeconds" not in w:
            raise CaseError(f"case {cid}: {fw}.jobReason DeadlineExceeded needs "
                            "workload.activeDeadlineSeconds")
        if t in POD_LEVEL_TYPES | {"job-failed"} and ct.get("init"):
            raise CaseError(f"case {cid}: {fw}.type: {t} is about the pod, not an init container")
        if "restarts" in f and (not isinstance(f["restarts"], int) or f["restarts"] < 0):
            raise CaseError(f"case {cid}: {fw}.restarts: a non-negative integer")
        if f.get("log") is not None:
            _check_log_is_quoted(cid, f"{fw}.log", f["log"], c["quoted"])
    if len(set(names)) != len(names):
        raise CaseError(f"case {cid}: containers: duplicate container names")
    pod_level = [t for t in types if t in POD_LEVEL_TYPES | {"job-failed", "refused"}]
    if len(set(pod_level)) > 1 or (pod_level and len(types) > 1 and pod_level[0] != "volume-mount"):
        raise CaseError(f"case {cid}: containers: a pod-level failure ({pod_level[0]}) must be "
                        "the only failure of the pod")
    for i, hst in enumerate(c.get("history") or []):
        _fields(cid, f"history[{i}]", hst, HISTORY)
        if w["kind"] != "Deployment":
            raise CaseError(f"case {cid}: history: only a Deployment has revisions")
        for n in hst["containers"]:
            if n not in names:
                raise CaseError(f"case {cid}: history[{i}].containers.{n}: no such container")
        if "age" in hst:
            _duration(cid, f"history[{i}].age", hst["age"])
    for i, o in enumerate(c.get("objects") or []):
        if not isinstance(o, dict) or "kind" not in o or "apiVersion" not in o \
                or "name" not in (o.get("metadata") or {}):
            raise CaseError(f"case {cid}: objects[{i}]: needs apiVersion, kind, metadata.name")
    haystack = "\n".join([c["quoted"], *_strings(c["containers"]), *_strings(c.get("pod")),
                          *_strings(c.get("objects")), *_strings(c.get("history")),
                          *_strings(c["workload"])]).lower()
    job_failed = "job-failed" in types or "refused" in types
    for section, allowed in (("expected", EXPECTED), ("optional", OPTIONAL)):
        entries = c.get(section) or []
        if not isinstance(entries, list):
            raise CaseError(f"case {cid}: {section}: must be a list")
        for i, e in enumerate(entries):
            where = f"{section}[{i}]"
            _fields(cid, where, e, allowed)
            if e.get("pod", "each") not in ("each", None):
                raise CaseError(f"case {cid}: {where}.pod: each or null")
            if job_failed and e.get("pod", "each") is not None:
                raise CaseError(f"case {cid}: {where}.pod: null for a failed Job (its failed "
                                "pods get no finding of their own) or a refused workload (it "
                                "has no pod)")
            if e["container"] is not None and e["container"] not in names:
                raise CaseError(f"case {cid}: {where}.container: no container "
                                f"{e['container']!r} in the case")
            if e["reason"] not in reasons:
                raise CaseError(f"case {cid}: {where}.reason: {e['reason']!r} is not a "
                                "crashwatch.model.Reason code")
            ev = e.get("evidence_contains", [])
            if not isinstance(ev, list) or (section == "expected" and not 1 <= len(ev) <= 3):
                raise CaseError(f"case {cid}: {where}.evidence_contains: 1 to 3 strings")
            for s in ev:
                if not isinstance(s, str) or not s.strip():
                    raise CaseError(f"case {cid}: {where}.evidence_contains: empty string")
                if s.lower() not in haystack:
                    raise CaseError(f"case {cid}: {where}.evidence_contains: {s!r} occurs "
                                    "neither in quoted nor in the case's spec or messages")
    return c


def _check_log_is_quoted(cid: str, where: str, log: str, quoted: str) -> None:
    """A log must come from the quoted text: at least one of its lines occurs in it."""
    qlines = [q.strip() for q in quoted.splitlines() if len(q.strip()) >= 6]
    for line in log.splitlines():
        s = line.strip()
        if len(s) >= 6 and (s in quoted or any(q in s for q in qlines)):
            return
    raise CaseError(f"case {cid}: {where}: no line of the log occurs in quoted")


# ----------------------------------------------------------------------------- building
NODE_POOLS: list[Callable[[str], list[str]]] = [
    lambda k: [f"gke-prod-default-pool-{kf.h(k, 8)}-{kf.safe(k + str(i), 4)}" for i in range(3)],
    lambda k: [f"ip-10-0-{int(kf.h(k + str(i), 4), 16) % 200 + 16}-"
               f"{int(kf.h(k + 'b' + str(i), 4), 16) % 250 + 2}.eu-west-1.compute.internal"
               for i in range(3)],
    lambda k: [f"aks-nodepool1-{int(kf.h(k, 8), 16) % 10**8:08d}-vmss00000{i}" for i in range(3)],
    lambda k: [f"worker-{i + 1}" for i in range(3)],
]
NOISE_APPS = [("metrics-gateway", "docker.io/bitnami/nginx:1.27.3", 8080),
              ("session-cache", "docker.io/library/redis:7.4.2", 6379),
              ("docs-site", "ghcr.io/acme/docs-site:2026.2.1", 8080),
              ("feature-flags", "ghcr.io/open-feature/flagd:v0.11.1", 8013),
              ("status-page", "docker.io/louislam/uptime-kuma:1.23.16", 3001)]


class Case:
    """Builds one case into a RWScenario."""

    def __init__(self, c: dict[str, Any], outdir: str):
        self.c = c
        self.cid: str = c["id"]
        T = case_time(self.cid)
        kinds = {ct["failure"]["type"] for ct in c["containers"] if ct.get("failure")}
        new_kubelet = "crashloop-terminated" in kinds or int(kf.h("kv:" + self.cid), 16) % 2 == 0
        meta = {"id": self.cid, "ecosystem": c["ecosystem"], "title": c["title"],
                "sources": c["sources"], "adapted": c["adapted"]}
        self.s = rw.RWScenario(outdir, T, c["title"], new_kubelet=new_kubelet, meta=meta)
        self.T = T
        self.ns: str = c["namespace"]
        self.w: dict[str, Any] = c["workload"]
        self.nodes = NODE_POOLS[int(kf.h("np:" + self.cid), 16) % len(NODE_POOLS)](self.cid)
        self.failing_pods: list[str] = []
        self.ip_n = 0
        self.ip_base = f"10.{int(kf.h('ip:' + self.cid), 16) % 200 + 20}"

    # ------------------------------------------------------------------ helpers
    def ip(self) -> str:
        self.ip_n += 1
        return f"{self.ip_base}.{self.ip_n // 200}.{self.ip_n % 200 + 10}"

    def age(self, default: dt.timedelta) -> dt.timedelta:
        return _duration(self.cid, "workload.age", self.w["age"]) if "age" in self.w else default

    def labels(self) -> dict[str, str]:
        return dict(self.w.get("labels") or {"app.kubernetes.io/name": self.w["name"]})

    def specs(self, overrides: dict[str, Any] | None = None) -> tuple[list[Any], list[Any]]:
        init, main = [], []
        for ct in self.c["containers"]:
            spec = copy.deepcopy(ct["spec"])
            spec.update(copy.deepcopy((overrides or {}).get(ct["name"], {})))
            f = ct.get("failure") or {}
            if f.get("terminationMessage") and "terminationMessagePolicy" not in spec:
                spec["terminationMessagePolicy"] = "FallbackToLogsOnError"
            if f.get("type") == "image-never-pull":
                spec.setdefault("imagePullPolicy", "Never")
            (init if ct.get("init") else main).append(rw.default_container(ct["name"], spec))
        return init, main

    def template(self, labels: dict[str, str], restart: str,
                 overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        init, main = self.specs(overrides)
        pod = copy.deepcopy(self.c.get("pod") or {})
        restart = pod.pop("restartPolicy", restart)
        t = self.s.template(labels, main, init=init or None, restart=restart,
                            pod_sc=pod.pop("securityContext", None),
                            volumes=rw.default_volumes(pod.pop("volumes", [])) or None,
                            sa=pod.pop("serviceAccountName", None),
                            grace=pod.pop("terminationGracePeriodSeconds", 30))
        pod.pop("serviceAccount", None)
        t["spec"].update(pod)
        return t

    def values(self, pod: str, node: str | None, cname: str, image: str,
               ip: str | None) -> dict[str, str]:
        return {"pod": pod, "namespace": self.ns, "uid": kf.mkuid(f"{self.ns}/pod/{pod}"),
                "node": node or "", "container": cname, "image": image, "podIP": ip or ""}

    # ------------------------------------------------------------------ statuses
    def statuses(self, pod: str, node: str | None, ip: str | None,
                 created: dt.datetime) -> dict[str, Any]:
        """Container statuses, events and logs of one failing pod."""
        s = self.s
        out: dict[str, Any] = {"init": [], "main": [], "pod_type": None, "message": None,
                               "exitCode": None}
        cts = self.c["containers"]
        init_cts = [ct for ct in cts if ct.get("init")]
        main_cts = [ct for ct in cts if not ct.get("init")]
        failing_init = next((i for i, ct in enumerate(init_cts)
                             if ct.get("failure") and ct["failure"]["type"] not in POD_LEVEL_TYPES
                             and not _sidecar_started(ct)),
                            None)
        pod_type = next((ct["failure"]["type"] for ct in cts if ct.get("failure")
                         and ct["failure"]["type"] in POD_LEVEL_TYPES), None)
        out["pod_type"] = pod_type
        if pod_type == "unschedulable":
            f = next(ct["failure"] for ct in cts if ct.get("failure"))
            out["message"] = f["message"]
            self.events_for(pod, None, None, f, created, ip)
            return out
        started_at = created + D(seconds=6)
        for i, ct in enumerate(init_cts):
            name, img = ct["name"], ct["spec"]["image"]
            f = ct.get("failure")
            if pod_type == "volume-mount":
                out["init"].append(s.waiting(name, img, "PodInitializing"))
            elif f is not None:
                out["init"].append(self.failing_status(pod, node, ip, ct, created, init=True))
            elif failing_init is not None and i > failing_init:
                out["init"].append(s.waiting(name, img, "PodInitializing"))
            elif _is_sidecar(ct):
                out["init"].append(s.running(pod, name, img, started_at))
                self.routine(pod, node, ct, started_at - D(seconds=5), 1, init=True)
            else:
                out["init"].append(s.completed(pod, name, img, started_at,
                                               started_at + D(seconds=2), init=True))
                self.routine(pod, node, ct, started_at - D(seconds=5), 1, init=True)
                started_at += D(seconds=3)
        for ct in main_cts:
            name, img = ct["name"], ct["spec"]["image"]
            f = ct.get("failure")
            if pod_type == "volume-mount":
                reason = "PodInitializing" if init_cts else "ContainerCreating"
                out["main"].append(s.waiting(name, img, reason))
                if f is not None:
                    self.events_for(pod, node, ct, f, created, ip)
            elif failing_init is not None:
                out["main"].append(s.waiting(name, img, "PodInitializing"))
            elif f is not None:
                out["main"].append(self.failing_status(pod, node, ip, ct, created, init=False))
                if f["type"] == "evicted":
                    out["message"] = f["message"]
            elif pod_type == "evicted":  # every container of an evicted pod was stopped
                out["main"].append({
                    "containerID": s.cid(pod, name, 0), "image": kf.status_image(img),
                    "imageID": kf.image_id(img), "lastState": {}, "name": name,
                    "ready": False, "restartCount": 0, "started": False,
                    "state": {"terminated": s.terminated(
                        pod, name, 0, 137, "Error", created + D(seconds=8),
                        self.evicted_at() + D(seconds=1))}})
                self.routine(pod, node, ct, started_at, 1)
            else:
                ready = True
                out["main"].append(s.running(pod, name, img, started_at + D(seconds=1),
                                             ready=ready))
                self.routine(pod, node, ct, started_at, 1)
        return out

    def routine(self, pod: str, node: str | None, ct: dict[str, Any], when: dt.datetime,
                count: int, *, init: bool = False, last: dt.datetime | None = None) -> None:
        if node is None:
            return
        fresh = int(kf.h("fresh:" + pod + ct["name"]), 16) % 3 == 0
        self.s.kubelet_routine(self.ns, pod, node, ct["name"], ct["spec"]["image"], when,
                               count=count, last=last or when + D(seconds=4), init=init,
                               pulled_fresh=fresh)

    def failing_status(self, pod: str, node: str | None, ip: str | None, ct: dict[str, Any],
                       created: dt.datetime, *, init: bool) -> dict[str, Any]:
        s, ns, T = self.s, self.ns, self.T
        f = ct["failure"]
        t = f["type"]
        name, img = ct["name"], ct["spec"]["image"]
        vals = self.values(pod, node, name, img, ip)
        msg = rw.fill(str(f.get("message") or ""), vals)
        tmsg = rw.fill(str(f.get("terminationMessage") or ""), vals) or None
        restarts = f.get("restarts", 0 if t in ("readiness", "evicted", "job-failed")
                         or f.get("terminating") else 5)
        exit_code = f.get("exitCode")
        field = f"spec.initContainers{{{name}}}" if init else f"spec.containers{{{name}}}"
        first = created + D(seconds=2)
        fin = T - D(seconds=37 + int(kf.h(pod + name), 16) % 50)
        st: dict[str, Any]
        if f.get("log") is not None:
            s.log(ns, pod, name, rw.fill(f["log"], vals))
        if t in ("crashloop", "oom", "crashloop-terminated", "post-start-hook"):
            if t == "oom":
                exit_code, reason = exit_code or 137, f.get("terminationReason", "OOMKilled")
            else:
                default_exit = 137 if t == "post-start-hook" else 1
                exit_code = default_exit if exit_code is None else exit_code
                reason = f.get("terminationReason", "Error" if exit_code else "Completed")
            restarts = max(restarts, 1)
            ran = D(seconds=9 if t == "oom" else 2)
            if t == "crashloop-terminated":
                last = s.terminated(pod, name, restarts - 1, exit_code, reason,
                                    fin - D(seconds=21) - ran, fin - D(seconds=21), tmsg)
                cur = s.terminated(pod, name, restarts, exit_code, reason, fin - ran, fin, tmsg)
                st = {"containerID": cur["containerID"], "image": kf.status_image(img),
                      "imageID": kf.image_id(img), "lastState": {"terminated": last},
                      "name": name, "ready": False, "restartCount": restarts,
                      "started": False, "state": {"terminated": cur}}
            else:
                st = s.crashloop(ns, pod, name, img, restarts, exit_code=exit_code,
                                 reason=reason, started=fin - ran, finished=fin, message=tmsg)
                if f.get("waitingReason"):
                    st["state"]["waiting"] = {"message": msg, "reason": f["waitingReason"]} \
                        if msg else {"reason": f["waitingReason"]}
            self.routine(pod, node, ct, first, restarts + 1, init=init, last=fin - ran)
            if t == "post-start-hook":
                self.hook_event(pod, node, field, "FailedPostStartHook", msg, restarts + 1, first)
                s.event(ns, pod, "Killing", "FailedPostStartHook", field=field, node=node,
                        count=restarts + 1, first=first + D(seconds=5), last=fin)
            s.backoff_event(ns, pod, node, name, first + D(seconds=30),
                            max(1, restarts * 2 + 1), init=init)
        elif t == "start-error":
            restarts = max(restarts, 1)
            last = s.terminated(pod, name, restarts - 1, 128 if exit_code is None else exit_code,
                                f.get("terminationReason", "StartError"), None, fin, msg)
            wr = f.get("waitingReason", "RunContainerError")
            wait = {"message": msg, "reason": wr} if wr != "CrashLoopBackOff" else {
                "message": (f"back-off {kf.backoff(restarts)} restarting failed container="
                            f"{name} pod={pod}_{ns}({vals['uid']})"), "reason": wr}
            st = {"containerID": last["containerID"], "image": kf.status_image(img),
                  "imageID": kf.image_id(img), "lastState": {"terminated": last}, "name": name,
                  "ready": False, "restartCount": restarts, "started": False,
                  "state": {"waiting": wait}}
            self.routine(pod, node, ct, first, restarts + 1, init=init, last=fin)
            # the Started event never comes: drop it
            s.items = [e for e in s.items if not (
                e.get("kind") == "Event" and e["involvedObject"]["name"] == pod
                and e["reason"] == "Started"
                and e["involvedObject"].get("fieldPath") == field)]
            s.event(ns, pod, "Failed", f"Error: {msg}", type_="Warning", field=field, node=node,
                    count=restarts + 1, first=first + D(seconds=4), last=fin)
            s.backoff_event(ns, pod, node, name, first + D(seconds=30), restarts * 2 + 1,
                            init=init)
        elif t in ("create-config-error", "create-error"):
            reason = "CreateContainerConfigError" if t == "create-config-error" \
                else "CreateContainerError"
            st = s.waiting(name, img, reason, msg)
            n = max(2, int((T - first).total_seconds() // 15))
            self.pull_ok(pod, node, field, img, first)
            s.event(ns, pod, "Failed", f"Error: {msg}", type_="Warning", field=field, node=node,
                    count=n, first=first + D(seconds=4), last=T - D(seconds=4))
            s.event(ns, pod, "Pulled", self.present(img), field=field, node=node, count=n - 1,
                    first=first + D(seconds=17), last=T - D(seconds=4))
        elif t == "image-pull":
            st = self.image_pull(pod, node, field, name, img, msg, f, first)
        elif t == "image-never-pull":
            m = msg or f'Container image "{img}" is not present with pull policy of Never'
            st = s.waiting(name, img, "ErrImageNeverPull", m)
            s.event(ns, pod, "ErrImageNeverPull", m, type_="Warning", field=field, node=node,
                    count=max(2, int((T - first).total_seconds() // 12)), first=first,
                    last=T - D(seconds=5))
            s.event(ns, pod, "Failed", "Error: ErrImageNeverPull", type_="Warning", field=field,
                    node=node, count=max(2, int((T - first).total_seconds() // 12)), first=first,
                    last=T - D(seconds=5))
        elif t == "pre-stop-hook" and f.get("terminating"):
            # the pod is being deleted: the kubelet ran the preStop hook, which failed, and
            # waits out the grace period before it kills the container
            since = created + D(seconds=8)
            st = s.running(pod, name, img, since, ready=False, restarts=restarts)
            self.routine(pod, node, ct, first, 1 + restarts, init=init)
            at = self.terminating_at()
            s.event(ns, pod, "Killing", f"Stopping container {name}", field=field, node=node,
                    first=at, last=at)
            given = {e["reason"] for e in f.get("events") or []}
            if msg and "FailedPreStopHook" not in given:
                s.event(ns, pod, "FailedPreStopHook", msg, type_="Warning", field=field,
                        node=node, first=at + D(seconds=2), last=at + D(seconds=2))
        elif t in ("liveness", "startup-probe", "pre-stop-hook"):
            restarts = max(restarts, 1)
            exit_code = 137 if exit_code is None else exit_code
            reason = f.get("terminationReason", "Error" if exit_code else "Completed")
            spec = ct["spec"]
            probe = spec.get("startupProbe" if t == "startup-probe" else "livenessProbe") or {}
            ran = D(seconds=int(probe.get("initialDelaySeconds", 0))
                    + int(probe.get("periodSeconds", 10)) * int(probe.get("failureThreshold", 3)))
            last = s.terminated(pod, name, restarts - 1, exit_code, reason, fin - ran, fin,
                                tmsg)
            if f.get("waitingReason") == "CrashLoopBackOff":
                st = s.crashloop(ns, pod, name, img, restarts, exit_code=exit_code,
                                 reason=reason, started=fin - ran, finished=fin, message=tmsg)
            else:
                st = s.running(pod, name, img, fin + D(seconds=1),
                               ready="readinessProbe" not in spec, restarts=restarts,
                               last={"terminated": last})
                if t == "startup-probe":
                    st["started"] = False
                    st["ready"] = False
            self.routine(pod, node, ct, first, restarts + 1, init=init, last=fin + D(seconds=1))
            given = {e["reason"] for e in f.get("events") or []}
            if t == "pre-stop-hook" and msg and "FailedPreStopHook" not in given:
                self.hook_event(pod, node, field, "FailedPreStopHook", msg, restarts, first)
            if "Killing" not in given and t != "pre-stop-hook":
                what = "startup" if t == "startup-probe" else "liveness"
                s.event(ns, pod, "Killing",
                        f"Container {name} failed {what} probe, will be restarted",
                        field=field, node=node, count=restarts, first=first + ran, last=fin)
        elif t == "readiness":
            since = created + D(seconds=8)
            st = s.running(pod, name, img, since, ready=False, restarts=restarts)
            self.routine(pod, node, ct, first, 1 + restarts, init=init)
        elif t == "evicted":
            exit_code = 137 if exit_code is None else exit_code
            st = {"containerID": s.cid(pod, name, 0), "image": kf.status_image(img),
                  "imageID": kf.image_id(img), "lastState": {}, "name": name, "ready": False,
                  "restartCount": restarts, "started": False,
                  "state": {"terminated": s.terminated(
                      pod, name, restarts, exit_code, f.get("terminationReason", "Error"),
                      created + D(seconds=8), self.evicted_at() + D(seconds=1), tmsg)}}
            self.routine(pod, node, ct, first, 1, init=init)
        elif t == "job-failed":
            exit_code = 1 if exit_code is None else exit_code
            st = {"containerID": s.cid(pod, name, 0), "image": kf.status_image(img),
                  "imageID": kf.image_id(img), "lastState": {}, "name": name, "ready": False,
                  "restartCount": 0, "started": False,
                  "state": {"terminated": s.terminated(
                      pod, name, 0, exit_code, f.get("terminationReason", "Error"),
                      created + D(seconds=5), created + D(seconds=9), tmsg)}}
            self.routine(pod, node, ct, first, 1, init=init, last=first)
        elif t == "custom":
            started = None
            if "startedAgo" in f:
                started = T - _duration(self.cid, "failure.startedAgo", f["startedAgo"])
                if started < created + D(seconds=8):
                    raise CaseError(f"case {self.cid}: failure.startedAgo: before the pod was "
                                    "created (give the workload an older age)")
            st = self.custom(pod, ct, f, fin, created, started)
            n = st.get("restartCount", 0)
            if n or "running" in st["state"]:
                # the running instance's Created/Started Events are as old as it is
                self.routine(pod, node, ct, started - D(seconds=5) if started and not n
                             else first, n + 1, init=init,
                             last=started - D(seconds=1) if started else fin)
        else:  # volume-mount and unschedulable are pod states, handled by statuses()
            raise AssertionError(t)
        self.events_for(pod, node, ct, f, created, ip)
        return st

    def evicted_at(self) -> dt.datetime:
        return self.T - D(minutes=23)

    def terminating_at(self) -> dt.datetime:
        return self.T - D(seconds=14)

    def terminating(self) -> bool:
        return any((ct.get("failure") or {}).get("terminating") for ct in self.c["containers"])

    def present(self, img: str) -> str:
        msg = f'Container image "{img}" already present on machine'
        return msg + " and can be accessed by the pod" if self.s.new_kubelet else msg

    def pull_ok(self, pod: str, node: str | None, field: str, img: str,
                first: dt.datetime) -> None:
        size = int(kf.h(img), 16) % 90_000_000 + 20_000_000
        self.s.event(self.ns, pod, "Pulling", f'Pulling image "{img}"', field=field, node=node,
                     first=first, last=first)
        self.s.event(self.ns, pod, "Pulled",
                     f'Successfully pulled image "{img}" in 2.337s (2.337s including waiting). '
                     f"Image size: {size} bytes.", field=field, node=node,
                     first=first + D(seconds=3), last=first + D(seconds=3))

    def hook_event(self, pod: str, node: str | None, field: str, reason: str, msg: str,
                   count: int, first: dt.datetime) -> None:
        if msg:
            self.s.event(self.ns, pod, reason, msg, type_="Warning", field=field, node=node,
                         count=count, first=first + D(seconds=5), last=self.T - D(seconds=40))

    def image_pull(self, pod: str, node: str | None, field: str, name: str, img: str, msg: str,
                   f: dict[str, Any], first: dt.datetime) -> dict[str, Any]:
        s, ns, T = self.s, self.ns, self.T
        invalid = "invalid reference format" in msg or "couldn't parse image" in msg
        wr = f.get("waitingReason", "InvalidImageName" if invalid else "ImagePullBackOff")
        n = max(2, int((T - first).total_seconds() // 150))
        if wr == "InvalidImageName":
            st = s.waiting(name, img, wr, msg)
            s.event(ns, pod, "InspectFailed", msg, type_="Warning", field=field, node=node,
                    count=n * 10, first=first, last=T - D(seconds=6))
            s.event(ns, pod, "Failed", "Error: InvalidImageName", type_="Warning", field=field,
                    node=node, count=n * 10, first=first, last=T - D(seconds=6))
            return st  # type: ignore[no-any-return]
        pull_err = msg if msg.startswith("Failed to pull image") else \
            f'Failed to pull image "{img}": {msg}'
        bare = msg[len(f'Failed to pull image "{img}": '):] if msg.startswith(
            "Failed to pull image") else msg
        if wr == "ErrImagePull":
            wmsg = bare
        elif s.new_kubelet:
            wmsg = f'Back-off pulling image "{img}": ErrImagePull: {bare}'
        else:
            wmsg = f'Back-off pulling image "{img}"'
        st = s.waiting(name, img, wr, wmsg)
        s.event(ns, pod, "Pulling", f'Pulling image "{img}"', field=field, node=node, count=n,
                first=first, last=T - D(minutes=2, seconds=50))
        s.event(ns, pod, "Failed", pull_err, type_="Warning", field=field, node=node,
                count=n, first=first + D(seconds=1), last=T - D(minutes=2, seconds=49))
        s.event(ns, pod, "Failed", "Error: ErrImagePull", type_="Warning", field=field,
                node=node, count=n, first=first + D(seconds=1), last=T - D(minutes=2, seconds=49))
        s.event(ns, pod, "BackOff", f'Back-off pulling image "{img}"', field=field, node=node,
                count=n * 6, first=first + D(seconds=2), last=T - D(seconds=6))
        s.event(ns, pod, "Failed", "Error: ImagePullBackOff", type_="Warning", field=field,
                node=node, count=n * 6, first=first + D(seconds=2), last=T - D(seconds=6))
        return st  # type: ignore[no-any-return]

    def custom(self, pod: str, ct: dict[str, Any], f: dict[str, Any], fin: dt.datetime,
               created: dt.datetime, started: dt.datetime | None = None) -> dict[str, Any]:
        """A status the case writes itself; ``started``: when its running instance started
        (``startedAgo``), its last instance ending just before."""
        s = self.s
        name, img = ct["name"], ct["spec"]["image"]
        restarts = int(f.get("restartCount", 0))

        def complete(state: dict[str, Any], n: int, when: dt.datetime) -> dict[str, Any]:
            state = copy.deepcopy(state)
            if "running" in state:
                state["running"] = {"startedAt": kf.iso(when), **(state["running"] or {})}
            if "terminated" in state:
                t = state["terminated"] or {}
                base = s.terminated(pod, name, n, int(t.get("exitCode", 1)),
                                    t.get("reason", "Error"), when - D(seconds=5), when)
                base.update(t)
                state["terminated"] = dict(sorted(base.items()))
            if "waiting" in state:
                state["waiting"] = dict(sorted((state["waiting"] or {}).items()))
            return state

        # a container that never restarted has run since the pod started
        state = complete(f["state"], restarts, started if started else
                         fin + D(seconds=1) if restarts else created + D(seconds=8))
        last = complete(f.get("lastState") or {}, max(restarts - 1, 0),
                        started - D(seconds=1) if started else fin)
        running = "running" in state
        st: dict[str, Any] = {"image": kf.status_image(img), "imageID": kf.image_id(img),
                              "lastState": last, "name": name,
                              "ready": bool(f.get("ready", False)), "restartCount": restarts,
                              "started": bool(f.get("started", running)), "state": state}
        if running or "terminated" in state or restarts:
            st = {"containerID": s.cid(pod, name, restarts), **st}
        else:
            st["imageID"] = ""
        return st

    def events_for(self, pod: str, node: str | None, ct: dict[str, Any] | None,
                   f: dict[str, Any], created: dt.datetime, ip: str | None) -> None:
        """The principal event of pod-level failures and the events the case quotes."""
        s, ns, T = self.s, self.ns, self.T
        name = ct["name"] if ct else ""
        img = ct["spec"]["image"] if ct else ""
        vals = self.values(pod, node, name, img, ip)
        if f["type"] == "unschedulable":
            msg = rw.fill(f["message"], vals)
            n = max(2, int((T - created).total_seconds() // 60))
            s.scheduler_event(ns, pod, "FailedScheduling", msg, type_="Warning", count=n,
                              first=created + D(microseconds=1), last=T - D(seconds=21))
        if f["type"] == "evicted":
            msg = rw.fill(f["message"], vals).strip()
            at = self.evicted_at()
            s.event(ns, pod, "Evicted", msg, type_="Warning", node=node, first=at, last=at)
            for ct2 in self.c["containers"]:
                if not ct2.get("init"):
                    s.event(ns, pod, "Killing", f"Stopping container {ct2['name']}",
                            field=f"spec.containers{{{ct2['name']}}}", node=node, first=at,
                            last=at)
        for j, ev in enumerate(f.get("events") or []):
            count = int(ev.get("count", 1))
            last = T - D(seconds=3 + 11 * j)
            if "ago" in ev:  # an old event (the pod may be healthy by now)
                last = T - _duration(self.cid, "events.ago", ev["ago"])
            first = max(created + D(seconds=4 + j), last - D(seconds=30 * (count - 1))) \
                if count > 1 else last
            first = min(first, last)
            msg = rw.fill(str(ev["message"]), vals)
            source = ev.get("source", "kubelet")
            if source == "default-scheduler":
                s.scheduler_event(ns, pod, ev["reason"], msg, type_=ev.get("type", "Warning"),
                                  count=count, first=first, last=last)
                continue
            obj = ev.get("object") or {}
            kind = obj.get("kind", "Pod")
            oname = rw.fill(str(obj.get("name", pod)), vals)
            if "fieldPath" in ev:
                fld = ev["fieldPath"]
            elif kind != "Pod" or ev["reason"] in rw.POD_LEVEL_EVENTS or ct is None:
                fld = None
            else:
                fld = (f"spec.initContainers{{{name}}}" if ct.get("init")
                       else f"spec.containers{{{name}}}")
            api = {"Pod": "v1", "PersistentVolumeClaim": "v1", "Job": "batch/v1",
                   "CronJob": "batch/v1", "Node": "v1"}.get(kind, "apps/v1")
            s.event(ns, oname, ev["reason"], msg, type_=ev.get("type", "Warning"), count=count,
                    first=first, last=last, field=fld,
                    node=node if source == "kubelet" else None, kind=kind, api=api,
                    component=source,
                    obj_uid=kf.mkuid(f"{ns}/{kind}/{oname}") if kind not in (
                        "Pod", "Job", "Node") else None)

    # ------------------------------------------------------------------ pods
    def make_pod(self, pname: str, owner: tuple[str, str, str, str] | None,
                 tmpl: dict[str, Any], node: str, created: dt.datetime,
                 extra_labels: dict[str, str] | None = None,
                 spec_patch: Callable[[dict[str, Any]], None] | None = None) -> None:
        s = self.s
        restart = tmpl["spec"].get("restartPolicy", "Always")
        pod_type = next((ct["failure"]["type"] for ct in self.c["containers"]
                         if ct.get("failure") and ct["failure"]["type"] in POD_LEVEL_TYPES),
                        None)
        sidecars = {ct["name"] for ct in self.c["containers"] if _is_sidecar(ct)}
        # a sidecar that ran and now fails does not hold the pod's initialization back
        started_sidecars = {ct["name"] for ct in self.c["containers"] if _sidecar_started(ct)}
        sandbox = pod_type not in ("volume-mount", "unschedulable")
        ip = self.ip() if sandbox and pod_type != "evicted" else None
        st = self.statuses(pname, node if pod_type != "unschedulable" else None, ip, created)
        cst, ist = st["main"], st["init"]
        if pod_type == "evicted":
            phase = "Failed"
        elif pod_type == "unschedulable":
            phase = "Pending"
        elif any(ct.get("failure", {}).get("type") == "job-failed" for ct in self.c["containers"]):
            phase = "Failed"
        else:
            phase = rw.get_phase(restart, cst, ist, sidecars=frozenset(sidecars))
        all_ready = bool(cst) and all(x.get("ready") for x in cst) and all(
            x.get("ready") for x in ist if x["name"] in sidecars)
        # a regular init container that runs has not finished: the pod is not initialized
        # (ContainersNotInitialized); a native sidecar that started has done its part
        initialized = all(("terminated" in x["state"] and x["state"]["terminated"]["exitCode"] == 0)
                          or ("running" in x["state"] and x.get("started")
                              and x["name"] in sidecars)
                          or x["name"] in started_sidecars for x in ist)
        status_extra: dict[str, Any] = {}
        extra_conditions = []
        if pod_type == "evicted":
            status_extra = {"message": st["message"], "reason": "Evicted"}
            extra_conditions.append({"lastProbeTime": None,
                                     "lastTransitionTime": kf.iso(self.evicted_at()),
                                     "message": st["message"].strip(),
                                     "reason": "TerminationByKubelet", "status": "True",
                                     "type": "DisruptionTarget"})
        ann = dict(self.w.get("podAnnotations") or {})

        def patch(spec: dict[str, Any]) -> None:
            tol = list(tmpl["spec"].get("tolerations") or [])
            spec["tolerations"] = tol + [t for t in spec["tolerations"] if t not in tol]
            for ct in self.c["containers"]:
                pr = (ct.get("failure") or {}).get("podResources")
                if pr is not None:
                    for c2 in spec["containers"] + spec.get("initContainers", []):
                        if c2["name"] == ct["name"]:
                            c2["resources"] = copy.deepcopy(pr)
            if spec_patch:
                spec_patch(spec)

        s.pod(self.ns, pname, owner=owner, template=tmpl, node=node, ip=ip, created=created,
              phase=phase, cstatuses=cst, istatuses=ist or None,
              ready_since=(created + D(seconds=15)) if all_ready and phase == "Running" else None,
              annotations=ann or None, extra_labels=extra_labels, sandbox=sandbox,
              initialized=initialized, status_extra=status_extra,
              extra_conditions=extra_conditions, spec_patch=patch)
        pod = s.items[-1]
        if self.terminating():
            grace = int(tmpl["spec"].get("terminationGracePeriodSeconds", 30))
            md = pod["metadata"]
            md["deletionGracePeriodSeconds"] = grace
            md["deletionTimestamp"] = kf.iso(self.terminating_at() + D(seconds=grace))
            md.setdefault("finalizers", [])
            if not md["finalizers"]:
                del md["finalizers"]
            pod["metadata"] = dict(sorted(md.items()))
        if pod_type == "unschedulable":
            self.unscheduled(pod, st["message"], created)
        elif node is not None:
            s.scheduled(self.ns, pname, node, created)
        if phase == "Failed" and pod_type != "evicted":
            for cond in pod["status"]["conditions"]:
                if cond["type"] in ("Ready", "ContainersReady"):
                    cond["reason"] = "PodFailed"
                    cond.pop("message", None)

    def unscheduled(self, pod: dict[str, Any], message: str, created: dt.datetime) -> None:
        vals = self.values(pod["metadata"]["name"], None, "", "", None)
        pod["spec"].pop("nodeName", None)
        st = pod["status"]
        pod["status"] = {
            "conditions": [{"lastProbeTime": None,
                            "lastTransitionTime": kf.iso(created),
                            "message": rw.fill(message, vals), "reason": "Unschedulable",
                            "status": "False", "type": "PodScheduled"}],
            "phase": "Pending", "qosClass": st["qosClass"]}

    # ------------------------------------------------------------------ workloads
    def build(self) -> rw.RWScenario:
        kind = self.w["kind"]
        {"Deployment": self.deployment, "StatefulSet": self.statefulset,
         "DaemonSet": self.daemonset, "Job": self.job, "CronJob": self.job,
         "Pod": self.bare_pod}[kind]()
        self.ready_counts()
        self.managed_fields()
        self.noise()
        self.objects()
        self.expectations()
        return self.s

    def failing_count(self) -> int:
        return int(self.w.get("replicas", 1))

    def refusal(self) -> dict[str, Any] | None:
        """The ``refused`` failure: the controller is refused every pod it asks for."""
        return next((ct["failure"] for ct in self.c["containers"]
                     if (ct.get("failure") or {}).get("type") == "refused"), None)

    def refused(self, kind: str, oname: str, pod: str, first: dt.datetime,
                words: str) -> str:
        """The controller's Warning ``FailedCreate`` Event (``words`` + the API server's error,
        retried with a back-off since ``first``), unless the case quotes its own; returns the
        error, placeholders filled (``{pod}``: the pod it asked for)."""
        f = self.refusal()
        assert f is not None
        ct = next(c for c in self.c["containers"] if c.get("failure") is f)
        vals = self.values(pod, None, ct["name"], ct["spec"]["image"], None)
        message = rw.fill(str(f["message"]), vals).strip()
        component = {"ReplicaSet": "replicaset-controller",
                     "StatefulSet": "statefulset-controller",
                     "DaemonSet": "daemonset-controller"}[kind]
        if not f.get("events"):
            count = max(2, min(25, int((self.T - first).total_seconds() // 60) + 9))
            # the Event names the object by its uid, as the controller's recorder does
            uid = self._item(kind, oname)["metadata"]["uid"]
            self.s.event(self.ns, oname, "FailedCreate", words + message, type_="Warning",
                         count=count, first=first, last=self.T - D(minutes=2), kind=kind,
                         api="apps/v1", component=component, obj_uid=uid)
        else:
            self.events_for(pod, None, ct, f, first, None)
        return message

    def pod_created(self, base: dt.datetime, i: int) -> dt.datetime:
        return base + D(seconds=2 + i * 3)

    def deployment(self) -> None:
        s, ns, name, T = self.s, self.ns, self.w["name"], self.T
        labels = self.labels()
        history = self.c.get("history") or []
        n_fail = self.failing_count()
        evicted = any((ct.get("failure") or {}).get("type") == "evicted"
                      for ct in self.c["containers"])
        revisions = []
        newest_avail = max((h["revision"] for h in history if h["available"]), default=None)
        old_running = 0
        for i, hst in enumerate(history):
            overrides = hst["containers"]
            tmpl = self.template(labels, "Always", overrides)
            created = T - (_duration(self.cid, "history.age", hst["age"]) if "age" in hst
                           else D(days=3 + 9 * (len(history) - 1 - i), hours=5))
            running = hst.get("running", n_fail if hst["revision"] == newest_avail else 0)
            if hst["revision"] == newest_avail:
                old_running = running
            revisions.append({"rev": hst["revision"], "template": tmpl, "created": created,
                              "replicas": running, "ready": running, "available": running,
                              "gen": 2 if running else 3})
        rollout_age = self.age(D(minutes=26) if history else D(minutes=38))
        refused = self.refusal() is not None
        cur_rev = max([h["revision"] for h in history], default=0) + 1
        current = self.template(labels, "Always")
        created = T - rollout_age
        # evicted pods were replaced; a pod being deleted was serving until now
        ready_new = n_fail if evicted or self.terminating() else 0
        revisions.append({"rev": cur_rev, "template": current, "created": created,
                          "replicas": n_fail, "ready": ready_new, "available": ready_new})
        dep_created = min(r["created"] for r in revisions)
        desired = max(old_running, n_fail)
        ready = old_running + ready_new
        max_unavail = desired * 25 // 100
        avail_ok = ready >= desired - max_unavail
        if not refused and ((ready_new == n_fail and not old_running)
                            or (rollout_age > D(hours=2) and not history)):
            prog = "complete"
        elif rollout_age > D(minutes=10):
            prog = "deadline"
        else:
            prog = "progressing"
        prog_since = created + D(minutes=10) if prog == "deadline" else created + D(seconds=1)
        avail_since = (revisions[-2]["created"] + D(minutes=1)) if old_running else (
            self.evicted_at() if evicted else created + D(minutes=1) if self.terminating() else
            (T - D(minutes=21) if rollout_age > D(hours=2) else created))
        status = s.dep_status(replicas=old_running + n_fail, updated=n_fail, ready=ready,
                              available=ready, avail_ok=avail_ok, avail_since=avail_since,
                              progressing=prog, prog_since=prog_since, prog_update=prog_since,
                              rsname="{RS}")
        out = s.deployment(ns, name, revisions=revisions, replicas=desired, created=dep_created,
                           status=status, labels=labels,
                           annotations=self.w.get("annotations") or None)
        for r in revisions[:-1]:
            rsname, rsuid, _, tm = out[r["rev"]]
            for i in range(r["replicas"]):
                p = f"{rsname}-{kf.safe(rsname + 'old' + str(i), 5)}"
                since = r["created"] + D(seconds=9 + i)
                cst = [s.running(p, c2["name"], c2["image"], since)
                       for c2 in tm["spec"]["containers"]]
                s.pod(ns, p, owner=("apps/v1", "ReplicaSet", rsname, rsuid), template=tm,
                      node=self.nodes[(i + 1) % 3], ip=self.ip(), created=r["created"],
                      phase="Running", ready_since=since + D(seconds=7), cstatuses=cst,
                      istatuses=[s.completed(p, c2["name"], c2["image"], since - D(seconds=4),
                                             since - D(seconds=2), init=True)
                                 for c2 in tm["spec"].get("initContainers", [])] or None)
        rsname, rsuid, _, tm = out[cur_rev]
        owner = ("apps/v1", "ReplicaSet", rsname, rsuid)
        if refused:
            self.refused_deployment(name, rsname, created, n_fail)
            return
        for i in range(n_fail):
            p = f"{rsname}-{kf.safe(rsname + str(i), 5)}"
            self.make_pod(p, owner, tm, self.nodes[i % 3], self.pod_created(created, i))
            self.failing_pods.append(p)
        if evicted:  # the ReplicaSet replaced every evicted pod
            for i in range(n_fail):
                p = f"{rsname}-{kf.safe(rsname + 'new' + str(i), 5)}"
                at = self.evicted_at() + D(seconds=1 + i)
                cst = [s.running(p, c2["name"], c2["image"], at + D(seconds=9))
                       for c2 in tm["spec"]["containers"]]
                s.pod(ns, p, owner=owner, template=tm, node=self.nodes[(i + 1) % 3],
                      ip=self.ip(), created=at, phase="Running",
                      ready_since=at + D(seconds=20), cstatuses=cst)
                s.scheduled(ns, p, self.nodes[(i + 1) % 3], at)
                s.event(ns, rsname, "SuccessfulCreate", f"Created pod: {p}", kind="ReplicaSet",
                        api="apps/v1", component="replicaset-controller", first=at, last=at)
        if history:
            s.event(ns, name, "ScalingReplicaSet", f"Scaled up replica set {rsname} to {n_fail}",
                    kind="Deployment", api="apps/v1", component="deployment-controller",
                    first=created, last=created)

    def refused_deployment(self, name: str, rsname: str, created: dt.datetime,
                           asked: int) -> None:
        """The newest ReplicaSet has no pod: ``ReplicaFailure=True FailedCreate`` on it and,
        copied, on the Deployment (kube-controller-manager v1.36.3, captured in
        tests/cluster/controlplane/observed-failed-create-1.36.json)."""
        pod = f"{rsname}-{kf.safe(rsname + '0', 5)}"
        message = self.refused("ReplicaSet", rsname, pod, created + D(seconds=1),
                               "Error creating: ")
        since = kf.iso(created + D(seconds=1))
        rs, dep = self._item("ReplicaSet", rsname), self._item("Deployment", name)
        rs["status"] = {"conditions": [{"lastTransitionTime": since, "message": message,
                                        "reason": "FailedCreate", "status": "True",
                                        "type": "ReplicaFailure"}],
                        "observedGeneration": 1, "replicas": 0, "terminatingReplicas": 0}
        st = dep["status"]
        for k in ("readyReplicas", "availableReplicas", "updatedReplicas"):
            st.pop(k, None)
        st["replicas"] = 0
        st["unavailableReplicas"] = asked
        st["conditions"].append({"lastTransitionTime": since, "lastUpdateTime": since,
                                 "message": message, "reason": "FailedCreate",
                                 "status": "True", "type": "ReplicaFailure"})

    def statefulset(self) -> None:
        s, ns, name = self.s, self.ns, self.w["name"]
        tmpl = self.template(self.labels(), "Always")
        n = self.failing_count()
        created = self.T - self.age(D(minutes=38))
        suid, rev = s.statefulset(ns, name, template=tmpl, replicas=n, created=created, ready=0)
        if self.refusal() is not None:  # the first pod is refused: the ordinals stop there
            self.refused("StatefulSet", name, f"{name}-0", created + D(seconds=1),
                         f"create Pod {name}-0 in StatefulSet {name} failed error: ")
            self._item("StatefulSet", name)["status"] = {
                "availableReplicas": 0, "collisionCount": 0, "currentRevision": rev,
                "observedGeneration": 3, "replicas": 0, "updateRevision": rev}
            return
        vcts = copy.deepcopy(self.w.get("volumeClaimTemplates") or [])
        if vcts:
            sts = s.items[-1]
            for v in vcts:
                v.setdefault("apiVersion", "v1")
                v.setdefault("kind", "PersistentVolumeClaim")
                v.setdefault("metadata", {}).setdefault("creationTimestamp", None)
                v.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
                v.setdefault("status", {"phase": "Pending"})
            sts["spec"]["volumeClaimTemplates"] = vcts
        for i in range(n):
            p = f"{name}-{i}"

            def patch(spec: dict[str, Any], p: str = p) -> None:
                spec["hostname"] = p
                spec["subdomain"] = name
                for v in vcts:
                    spec["volumes"].insert(0, {"name": v["metadata"]["name"],
                                               "persistentVolumeClaim": {
                                                   "claimName": f"{v['metadata']['name']}-{p}"}})

            self.make_pod(p, ("apps/v1", "StatefulSet", name, suid), tmpl, self.nodes[i % 3],
                          self.pod_created(created, i),
                          extra_labels={"apps.kubernetes.io/pod-index": str(i),
                                        "controller-revision-hash": rev,
                                        "statefulset.kubernetes.io/pod-name": p},
                          spec_patch=patch)
            self.failing_pods.append(p)

    def daemonset(self) -> None:
        s, ns, name = self.s, self.ns, self.w["name"]
        tmpl = self.template(self.labels(), "Always")
        n = min(self.failing_count(), len(self.nodes))
        created = self.T - self.age(D(minutes=38))
        duid = s.daemonset(ns, name, template=tmpl, created=created, nodes=len(self.nodes),
                           ready=len(self.nodes) - n)
        if self.refusal() is not None:  # every node's pod is refused
            pod = f"{name}-{kf.safe(name + self.nodes[0], 5)}"
            self.refused("DaemonSet", name, pod, created + D(seconds=1), "Error creating: ")
            st = self._item("DaemonSet", name)["status"]
            st.update(currentNumberScheduled=0, updatedNumberScheduled=0)
            return
        extra = {"controller-revision-hash": kf.safe(name + "crh", 10),
                 "pod-template-generation": "4"}
        owner = ("apps/v1", "DaemonSet", name, duid)
        for i, node in enumerate(self.nodes):
            p = f"{name}-{kf.safe(name + node, 5)}"

            def patch(spec: dict[str, Any], node: str = node) -> None:
                spec["affinity"] = {"nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{
                        "matchFields": [{"key": "metadata.name", "operator": "In",
                                         "values": [node]}]}]}}}
                for key in ("disk-pressure", "memory-pressure", "pid-pressure",
                            "unschedulable"):
                    spec["tolerations"].append({"effect": "NoSchedule", "operator": "Exists",
                                                "key": f"node.kubernetes.io/{key}"})

            if i < n:
                self.make_pod(p, owner, tmpl, node, self.pod_created(created, i),
                              extra_labels=extra, spec_patch=patch)
                self.failing_pods.append(p)
            else:
                since = created + D(seconds=9)
                s.pod(ns, p, owner=owner, template=tmpl, node=node, ip=self.ip(),
                      created=created, phase="Running", ready_since=since + D(seconds=5),
                      extra_labels=extra, spec_patch=patch,
                      cstatuses=[s.running(p, c2["name"], c2["image"], since)
                                 for c2 in tmpl["spec"]["containers"]],
                      istatuses=[s.completed(p, c2["name"], c2["image"], since - D(seconds=4),
                                             since - D(seconds=2), init=True)
                                 for c2 in tmpl["spec"].get("initContainers", [])] or None)

    def job(self) -> None:
        s, ns, T = self.s, self.ns, self.T
        w = self.w
        jf = next((ct["failure"] for ct in self.c["containers"]
                   if (ct.get("failure") or {}).get("type") == "job-failed"), None)
        failed = jf is not None
        why = (jf or {}).get("jobReason", "BackoffLimitExceeded")
        deadline = int(w["activeDeadlineSeconds"]) if "activeDeadlineSeconds" in w else None
        backoff = int(w.get("backoffLimit", 6))
        started = T - self.age(D(minutes=31))
        if why == "DeadlineExceeded" and deadline is not None:
            # it ran out of time 3 minutes ago
            started = min(started, T - D(seconds=deadline) - D(minutes=3))
        if w["kind"] == "CronJob":  # a run starts on its schedule (hourly by default)
            started = started.replace(minute=0, second=0)
            cj = w["name"]
            jname = f"{cj}-{int(started.timestamp()) // 60}"
            jowner: list[dict[str, Any]] = [{
                "apiVersion": "batch/v1", "blockOwnerDeletion": True, "controller": True,
                "kind": "CronJob", "name": cj, "uid": kf.mkuid(f"{ns}/cronjob/{cj}")}]
        else:
            jname, jowner = w["name"], []
        juid = kf.mkuid(f"{ns}/job/{jname}")
        labels = {"batch.kubernetes.io/controller-uid": juid, "batch.kubernetes.io/job-name": jname,
                  "controller-uid": juid, "job-name": jname, **(w.get("labels") or {})}
        tmpl = self.template(labels, "Never" if failed else "OnFailure")
        # with restartPolicy OnFailure one pod restarts until the limit, then the Job
        # controller deletes it: only its Events are left
        deleted = failed and tmpl["spec"]["restartPolicy"] == "OnFailure"
        n_pods = 1 if deleted else backoff + 1 if failed else self.failing_count()
        stopped = None
        if why == "DeadlineExceeded" and deadline is not None:
            # the pods that failed before the deadline (``restarts``, 0 by default) stay;
            # the one still running at the deadline was stopped and deleted by the Job
            # controller: only its Events are left
            deleted, n_pods = False, int((jf or {}).get("restarts", 0))
            stopped = f"{jname}-{kf.safe(jname + str(n_pods), 5)}"
        pods = []
        completed = False
        if deleted:
            p = f"{jname}-{kf.safe(jname + '0', 5)}"
            self.deleted_job_pod(p, jname, backoff, started)
            pods.append((p, started + D(seconds=1)))
        for i in range(0 if deleted else n_pods):
            p = f"{jname}-{kf.safe(jname + str(i), 5)}"
            created = started + (D(seconds=12 * (2 ** min(i, 8))) if failed and i else
                                 D(seconds=i))
            created = min(created, T - D(minutes=2) + D(seconds=i))
            self.make_pod(p, ("batch/v1", "Job", jname, juid), tmpl, self.nodes[i % 3], created)
            pods.append((p, created))
            s.event(ns, jname, "SuccessfulCreate", f"Created pod: {p}", kind="Job",
                    api="batch/v1", component="job-controller", first=created, last=created)
        if not failed:
            self.failing_pods.extend(p for p, _ in pods)
        if stopped is not None and deadline is not None:
            begun = (pods[-1][1] + D(seconds=10)) if pods else started + D(seconds=1)
            end = started + D(seconds=deadline)
            s.event(ns, jname, "SuccessfulCreate", f"Created pod: {stopped}", kind="Job",
                    api="batch/v1", component="job-controller", first=begun, last=begun)
            s.scheduled(ns, stopped, self.nodes[0], begun)
            s.event(ns, jname, "SuccessfulDelete", f"Deleted pod: {stopped}", kind="Job",
                    api="batch/v1", component="job-controller", first=end, last=end)
        tspec = dict(tmpl)
        spec: dict[str, Any] = {
            "backoffLimit": backoff, "completionMode": "NonIndexed", "completions": 1,
            "manualSelector": False, "parallelism": 1,
            "podReplacementPolicy": "TerminatingOrFailed",
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": juid}},
            "suspend": False, "template": tspec}
        if deadline is not None:
            spec["activeDeadlineSeconds"] = deadline
        if failed:
            if stopped is not None and deadline is not None:
                end = started + D(seconds=deadline)
            else:
                end = pods[-1][1] + D(seconds=10)
            if deleted:
                end = min(started + D(seconds=2 + 10 * 2 ** backoff), self.T - D(minutes=3))
            cond = {"lastProbeTime": kf.iso(end), "lastTransitionTime": kf.iso(end),
                    "message": JOB_REASONS[why], "reason": why, "status": "True"}
            jstatus: dict[str, Any] = {
                "conditions": [{**cond, "type": "FailureTarget"}, {**cond, "type": "Failed"}],
                "failed": n_pods + (stopped is not None), "ready": 0,
                "startTime": kf.iso(started), "terminating": 0, "uncountedTerminatedPods": {}}
            s.event(ns, jname, why, JOB_REASONS[why], type_="Warning", kind="Job",
                    api="batch/v1", component="job-controller", first=end, last=end)
        elif pods and all(self._phase(p) == "Succeeded" for p, _ in pods):
            # every pod completed (a custom ``terminated`` state with exit code 0): the Job
            # completed, whatever its logs say
            end = max(self._finished(p) for p, _ in pods) + D(seconds=2)
            cond = {"lastProbeTime": kf.iso(end), "lastTransitionTime": kf.iso(end),
                    "message": "Reached expected number of succeeded pods",
                    "reason": "CompletionsReached", "status": "True"}
            jstatus = {"completionTime": kf.iso(end),
                       "conditions": [{**cond, "type": "SuccessCriteriaMet"},
                                      {**cond, "type": "Complete"}],
                       "ready": 0, "startTime": kf.iso(started), "succeeded": n_pods,
                       "terminating": 0, "uncountedTerminatedPods": {}}
            spec["completions"] = spec["parallelism"] = n_pods
            s.event(ns, jname, "Completed", "Job completed", kind="Job", api="batch/v1",
                    component="job-controller", first=end, last=end)
            completed = True
        else:
            jstatus = {"active": n_pods, "ready": 0, "startTime": kf.iso(started),
                       "terminating": 0, "uncountedTerminatedPods": {}}
        jlabels = dict(labels)
        job = {"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"creationTimestamp": kf.iso(started), "generation": 1,
                            "labels": jlabels, "name": jname, "namespace": ns,
                            "resourceVersion": s.rv(), "uid": juid},
               "spec": spec, "status": jstatus}
        if jowner:
            job["metadata"]["ownerReferences"] = jowner
        if w.get("annotations"):
            job["metadata"]["annotations"] = dict(w["annotations"])
        s.add(job)
        if w["kind"] == "CronJob":
            cj = w["name"]
            jt = {"metadata": {"creationTimestamp": None},
                  "spec": {k: v for k, v in spec.items()
                           if k not in ("selector", "manualSelector")}}
            jt["spec"]["template"] = self.template(dict(w.get("labels") or {}),
                                                   "Never" if failed else "OnFailure")
            cstatus: dict[str, Any] = {"lastScheduleTime": kf.iso(started)}
            if completed:
                cstatus["lastSuccessfulTime"] = jstatus["completionTime"]
            elif not failed:
                cstatus["active"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": jname,
                                      "namespace": ns, "resourceVersion": s.rv(), "uid": juid}]
            cjo: dict[str, Any] = {
                "apiVersion": "batch/v1", "kind": "CronJob",
                "metadata": {"creationTimestamp": kf.iso(T - D(days=40)), "generation": 1,
                             "name": cj, "namespace": ns, "resourceVersion": s.rv(),
                             "uid": kf.mkuid(f"{ns}/cronjob/{cj}")},
                "spec": {"concurrencyPolicy": "Forbid", "failedJobsHistoryLimit": 1,
                         "jobTemplate": jt, "schedule": w.get("schedule", "0 * * * *"),
                         "successfulJobsHistoryLimit": 3, "suspend": False},
                "status": cstatus}
            if w.get("annotations"):
                cjo["metadata"]["annotations"] = dict(w["annotations"])
            s.add(cjo)
            s.event(ns, cj, "SuccessfulCreate", f"Created job {jname}", kind="CronJob",
                    api="batch/v1", component="cronjob-controller", first=started, last=started)

    def _item(self, kind: str, name: str) -> dict[str, Any]:
        """The case's namespaced object of that kind and name, as built so far."""
        return next(o for o in self.s.items if o.get("kind") == kind
                    and o["metadata"]["name"] == name and o["metadata"].get("namespace") == self.ns)

    def _phase(self, name: str) -> str:
        return str(self._item("Pod", name)["status"].get("phase"))

    def _finished(self, name: str) -> dt.datetime:
        """When a completed pod's last container finished."""
        ends = [cs["state"]["terminated"]["finishedAt"]
                for cs in self._item("Pod", name)["status"].get("containerStatuses") or []
                if "terminated" in cs["state"]]
        return dt.datetime.fromisoformat(max(ends).replace("Z", "+00:00"))

    def deleted_job_pod(self, p: str, jname: str, backoff: int, started: dt.datetime) -> None:
        """The Events a restarting Job pod left behind after the Job controller deleted it."""
        s, ns = self.s, self.ns
        ct = next(c for c in self.c["containers"] if (c.get("failure") or {}).get("type")
                  == "job-failed")
        node = self.nodes[0]
        created = started + D(seconds=1)
        end = min(created + D(seconds=10 * 2 ** backoff), self.T - D(minutes=3))
        s.scheduled(ns, p, node, created)
        self.routine(p, node, ct, created + D(seconds=1), backoff + 1, last=end)
        s.backoff_event(ns, p, node, ct["name"], created + D(seconds=20), backoff * 2 + 1)
        s.event(ns, jname, "SuccessfulCreate", f"Created pod: {p}", kind="Job", api="batch/v1",
                component="job-controller", first=created, last=created)
        s.event(ns, jname, "SuccessfulDelete", f"Deleted pod: {p}", kind="Job", api="batch/v1",
                component="job-controller", first=end + D(seconds=1), last=end + D(seconds=1))

    def bare_pod(self) -> None:
        name = self.w["name"]
        tmpl = self.template(self.labels(), "Always")
        if self.w.get("annotations"):
            tmpl["metadata"]["annotations"] = dict(self.w["annotations"])
        owner = None
        if "owner" in self.w:  # an operator's pod: its custom resource is its controller
            o = self.w["owner"]
            owner = (o["apiVersion"], o["kind"], o["name"],
                     kf.mkuid(f"{self.ns}/{o['kind'].lower()}/{o['name']}"))
        self.make_pod(name, owner, tmpl, self.nodes[0], self.T - self.age(D(minutes=38)))
        self.failing_pods.append(name)

    def ready_counts(self) -> None:
        """A StatefulSet's or DaemonSet's ready counts, from the pods as built."""
        kind, name = self.w["kind"], self.w["name"]
        if kind not in ("StatefulSet", "DaemonSet"):
            return
        obj = self._item(kind, name)
        pods = [o for o in self.s.items if o.get("kind") == "Pod"
                and any(r.get("name") == name and r.get("kind") == kind
                        for r in o["metadata"].get("ownerReferences", []))]
        ready = sum(1 for p in pods for c in p["status"].get("conditions", [])
                    if c["type"] == "Ready" and c["status"] == "True")
        st = obj["status"]
        if kind == "StatefulSet":
            st["availableReplicas"] = ready
            st.pop("readyReplicas", None)
            if ready:
                st["readyReplicas"] = ready
        else:
            st["numberAvailable"] = st["numberReady"] = ready
            st.pop("numberUnavailable", None)
            if st["desiredNumberScheduled"] - ready:
                st["numberUnavailable"] = st["desiredNumberScheduled"] - ready
        obj["status"] = dict(sorted(st.items()))

    def managed_fields(self) -> None:
        """metadata.managedFields of the workload as `kubectl get --show-managed-fields`
        prints them; each entry's `time` is given as a duration before the snapshot."""
        entries = self.w.get("managedFields") or []
        if not entries:
            return
        api = {"Job": "batch/v1", "CronJob": "batch/v1", "Pod": "v1"}.get(self.w["kind"], "apps/v1")
        obj = self._item(self.w["kind"], self.w["name"])
        out = []
        for mf in entries:
            e = {"apiVersion": mf.get("apiVersion", api), "fieldsType": "FieldsV1",
                 "fieldsV1": copy.deepcopy(mf["fieldsV1"]), "manager": mf["manager"],
                 "operation": mf["operation"]}
            if mf.get("subresource"):
                e["subresource"] = mf["subresource"]
            e["time"] = kf.iso(self.T - _duration(self.cid, "managedFields.time", mf["time"]))
            out.append(e)
        md = obj["metadata"]
        md["managedFields"] = out
        obj["metadata"] = dict(sorted(md.items()))

    # ------------------------------------------------------------------ noise, objects
    def noise(self) -> None:
        s, ns = self.s, self.ns
        apps = [a for a in NOISE_APPS if a[0] != self.w["name"]]
        app = apps[int(kf.h("noise:" + self.cid), 16) % len(apps)]
        s.healthy_deployment(ns, app[0], app[1], replicas=2, age_days=6, port=app[2],
                             node_pool=self.nodes, ip_base=f"{self.ip_base}.90")
        if (self.ns, self.w["name"]) != ("kube-system", "coredns"):
            s.coredns()
        hour = self.T.replace(minute=0, second=0)
        if self.T - hour < D(minutes=3):
            hour -= D(hours=1)
        jp = s.completed_job(ns, "hourly-report", "ghcr.io/acme/reports:2026.1.0",
                             scheduled=hour, node=self.nodes[2], duration=38,
                             command=["/app/report", "--since=1h"])
        s.scheduled(ns, jp, self.nodes[2], hour)
        s.kubelet_routine(ns, jp, self.nodes[2], "hourly-report", "ghcr.io/acme/reports:2026.1.0",
                          hour + D(seconds=1), count=1, last=hour + D(seconds=5))
        jname = jp.rsplit("-", 1)[0]
        s.event(ns, jname, "SuccessfulCreate", f"Created pod: {jp}", kind="Job", api="batch/v1",
                component="job-controller", first=hour, last=hour)
        s.event(ns, jname, "Completed", "Job completed", kind="Job", api="batch/v1",
                component="job-controller", first=hour + D(seconds=41),
                last=hour + D(seconds=41))

    def objects(self) -> None:
        for i, o in enumerate(self.c.get("objects") or []):
            o = copy.deepcopy(o)
            md = o["metadata"]
            kind = o["kind"]
            cluster_scoped = kind in ("Node", "PersistentVolume", "StorageClass", "Namespace")
            if not cluster_scoped:
                md.setdefault("namespace", self.ns)
            md.setdefault("creationTimestamp", kf.iso(self.T - D(days=20, minutes=i)))
            md.setdefault("resourceVersion", self.s.rv())
            md.setdefault("uid", kf.mkuid(f"{md.get('namespace', '')}/{kind}/{md['name']}"))
            self.s.extra_objects.append(dict(sorted(o.items())))

    def expectations(self) -> None:
        kind, name = self.w["kind"], self.w["name"]
        owner = None if kind == "Pod" else {"kind": kind, "name": name}
        if "owner" in self.w:
            owner = {"kind": self.w["owner"]["kind"], "name": self.w["owner"]["name"]}
        for e in self.c.get("expected") or []:
            pods = self.failing_pods if e.get("pod", "each") == "each" else [None]
            for p in pods:
                self.s.expect(self.ns, p, e["container"], e["reason"],
                              list(e["evidence_contains"]), owner=owner)
        for e in self.c.get("optional") or []:
            pods = self.failing_pods if e.get("pod", "each") == "each" else [None]
            for p in pods:
                self.s.allow(self.ns, p, e["container"], e["reason"], e["why"])


def _is_sidecar(ct: dict[str, Any]) -> bool:
    return bool(ct.get("init")) and ct["spec"].get("restartPolicy") == "Always"


#: Failures of a container that ran: a native sidecar failing so had started, and the kubelet
#: went on to the next init containers and the app (a real 1.36 kubelet keeps the pod Running,
#: its app ready, while the sidecar crash-loops: tests/realnode/test_incidents.py).
_RAN_TYPES = {"crashloop", "crashloop-terminated", "oom", "liveness", "startup-probe",
              "readiness", "post-start-hook", "pre-stop-hook"}


def _sidecar_started(ct: dict[str, Any]) -> bool:
    return _is_sidecar(ct) and (ct.get("failure") or {}).get("type") in _RAN_TYPES


# ----------------------------------------------------------------------------- driver
def load_cases(cases_dir: str = CASES) -> list[dict[str, Any]]:
    """Every case, validated; raises CaseError listing every broken case, one per line."""
    reasons = reason_codes()
    out, errors = [], []
    for fn in sorted(os.listdir(cases_dir)) if os.path.isdir(cases_dir) else []:
        if not fn.endswith(".yaml"):
            if not fn.startswith("."):
                errors.append(f"case {fn}: file name: cases are <id>.yaml")
            continue
        path = os.path.join(cases_dir, fn)
        try:
            with open(path) as f:
                raw = yaml.safe_load(f)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            errors.append(f"case {fn[:-5]}: YAML: {problem}{where}")
            continue
        try:
            out.append(validate(raw if raw is not None else {}, path, reasons))
        except CaseError as e:
            errors.append(str(e))
    if errors:
        raise CaseError("\n".join(errors))
    return out


def build_all(out_dir: str, cases_dir: str = CASES) -> list[dict[str, Any]]:
    cases = load_cases(cases_dir)
    os.makedirs(out_dir, exist_ok=True)
    wanted = {c["id"] for c in cases}
    for d in os.listdir(out_dir):
        if d not in wanted:
            shutil.rmtree(os.path.join(out_dir, d))
    for c in cases:
        d = os.path.join(out_dir, c["id"])
        if os.path.isdir(d):
            shutil.rmtree(d)
        Case(c, d).build().write()
    return cases


BEGIN, END = "<!-- coverage:begin (generated by build.py) -->", "<!-- coverage:end -->"


def coverage_markdown(cases: list[dict[str, Any]]) -> str:
    reasons = reason_codes()
    eco: dict[str, list[str]] = {}
    for c in cases:
        eco.setdefault(c["ecosystem"], []).append(c["id"])
    by_reason: dict[str, set[str]] = {r: set() for r in reasons}
    for c in cases:
        for e in c.get("expected") or []:
            by_reason.setdefault(e["reason"], set()).add(c["id"])
    negatives = [c["id"] for c in cases if not c.get("expected")]
    lines = [BEGIN, "",
             f"{len(cases)} cases, {len(eco)} ecosystems, "
             f"{sum(1 for r in reasons if by_reason[r])}/{len(reasons)} reason codes covered, "
             f"{len(negatives)} healthy negatives.", "",
             "| ecosystem | cases |", "|---|---:|"]
    lines += [f"| {k} | {len(v)} |" for k, v in sorted(eco.items())]
    lines += ["", "| reason | cases | |", "|---|---:|---|"]
    for r in reasons:
        ids = sorted(by_reason[r])
        lines.append(f"| `{r}` | {len(ids)} | {', '.join(ids[:4])}"
                     f"{', ...' if len(ids) > 4 else ''} |" if ids else f"| `{r}` | 0 | MISSING |")
    lines += ["", END]
    return "\n".join(lines)


def readme_with_coverage(cases: list[dict[str, Any]], readme: str = README) -> str | None:
    if not os.path.exists(readme):
        return None
    with open(readme) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        return text
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return head + coverage_markdown(cases) + tail


def stale_files(built: str, committed: str) -> list[str]:
    """Relative paths that differ between two build trees."""
    diffs = []

    def walk(rel: str) -> None:
        a, b = os.path.join(built, rel), os.path.join(committed, rel)
        cmp = filecmp.dircmp(a, b)
        diffs.extend(os.path.join(rel, x) for x in cmp.left_only + cmp.right_only)
        _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
        diffs.extend(os.path.join(rel, x) for x in mismatch + errors)
        for sub in cmp.common_dirs:
            walk(os.path.join(rel, sub))

    if not os.path.isdir(committed):
        return ["build/ is missing"]
    walk("")
    return sorted(diffs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--check", action="store_true", help="exit 1 if build/ or README is stale")
    g.add_argument("--validate", action="store_true", help="validate the cases only")
    a = ap.parse_args(argv)
    try:
        if a.validate:
            cases = load_cases()
            print(f"{len(cases)} cases valid")
            return 0
        if a.check:
            with tempfile.TemporaryDirectory() as tmp:
                cases = build_all(os.path.join(tmp, "build"))
                diffs = stale_files(os.path.join(tmp, "build"), BUILD)
            new = readme_with_coverage(cases)
            with open(README) as f:
                current = f.read()
            if new is not None and new != current:
                diffs.append("README.md (coverage table)")
            for d in diffs:
                print(f"stale: {d}", file=sys.stderr)
            if diffs:
                print("build.py: the committed build is stale; run python3 eval/realworld/build.py",
                      file=sys.stderr)
            return 1 if diffs else 0
        cases = build_all(BUILD)
        new = readme_with_coverage(cases)
        if new is not None:
            with open(README, "w") as f:
                f.write(new)
        print(f"built {len(cases)} cases into {os.path.relpath(BUILD)}")
        return 0
    except CaseError as e:
        for line in str(e).splitlines():
            print(f"build.py: {line}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
