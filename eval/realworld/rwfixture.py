"""What eval/blind/k8sfixture.py lacks for the real-world corpus.

k8sfixture (imported by path, never copied) builds objects the way `kubectl get -o json`
prints them. This module adds, on top of its `Scenario`:

- API-server defaulting of raw container and pod specs as a case author writes them;
- both kubelet wordings of the routine Events (before 1.33: `Created container X`; 1.36:
  `Container created`, `... already present on machine and can be accessed by the pod`);
- the scheduler's Event shape (events.k8s.io/v1 seen through core v1: `eventTime`, `series`,
  no `count`), unscheduled pods, Jobs, CronJobs, failed Job pods;
- the kubelet's phase computation (`getPhase`), so a pod's phase follows its statuses;
- output ordered as `kubectl get pods,events,replicasets,deployments,statefulsets,daemonsets,
  jobs,cronjobs -A -o json` prints it.
"""
from __future__ import annotations

import copy
import datetime as dt
import importlib.util
import json
import os
import re
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
_BLIND = os.path.join(HERE, "..", "blind", "k8sfixture.py")
_spec = importlib.util.spec_from_file_location("blind_k8sfixture", _BLIND)
assert _spec is not None and _spec.loader is not None
kf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kf)

D = dt.timedelta

# Field order of a core/v1 Container as Go's JSON encoder writes it.
CONTAINER_ORDER = [
    "name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources",
    "resizePolicy", "restartPolicy", "volumeMounts", "volumeDevices", "livenessProbe",
    "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath",
    "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin", "stdinOnce", "tty"]

KIND_ORDER = ["Pod", "Event", "ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job",
              "CronJob"]

# Events that are about the pod as a whole: no involvedObject.fieldPath.
POD_LEVEL_EVENTS = {
    "FailedMount", "FailedAttachVolume", "SuccessfulAttachVolume", "FailedScheduling",
    "Scheduled", "Evicted", "FailedCreatePodSandBox", "SandboxChanged", "NetworkNotReady",
    "FailedKillPod", "TriggeredScaleUp", "NotTriggerScaleUp", "FailedMapVolume",
    "ExceededGracePeriod", "Preempted", "TaintManagerEviction", "EvictedByVPA",
    "FailedCreatePodContainer", "FailedSync"}

PLACEHOLDER = re.compile(r"\{(pod|namespace|uid|node|container|image|podIP)\}")


def fill(text: str, values: dict[str, str]) -> str:
    """Replace the case placeholders ({pod}, {namespace}, {uid}, {node}, {container}, {image},
    {podIP}) and nothing else: logs keep their own braces."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def default_pull_policy(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def _default_probe(p: dict[str, Any]) -> dict[str, Any]:
    p = copy.deepcopy(p)
    if "httpGet" in p:
        p["httpGet"].setdefault("scheme", "HTTP")
        p["httpGet"].setdefault("path", "/")
    for k, v in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1),
                 ("failureThreshold", 3)):
        p.setdefault(k, v)
    return p


def _default_handler(hd: dict[str, Any]) -> dict[str, Any]:
    hd = copy.deepcopy(hd)
    if "httpGet" in hd:
        hd["httpGet"].setdefault("scheme", "HTTP")
        hd["httpGet"].setdefault("path", "/")
    return hd


def default_container(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A raw container spec as the API server stores it (defaults filled, Go field order)."""
    c = copy.deepcopy(spec)
    c["name"] = name
    c.setdefault("imagePullPolicy", default_pull_policy(str(c.get("image", ""))))
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for port in c.get("ports", []):
        port.setdefault("protocol", "TCP")
    for pk in ("livenessProbe", "readinessProbe", "startupProbe"):
        if pk in c:
            c[pk] = _default_probe(c[pk])
    for hk in ("postStart", "preStop"):
        if hk in c.get("lifecycle", {}):
            c["lifecycle"][hk] = _default_handler(c["lifecycle"][hk])
    for e in c.get("env", []):
        fr = e.get("valueFrom", {}).get("fieldRef")
        if fr is not None:
            fr.setdefault("apiVersion", "v1")
    order = {k: i for i, k in enumerate(CONTAINER_ORDER)}
    return {k: c[k] for k in sorted(c, key=lambda k: (order.get(k, 99), k))}


def default_volumes(volumes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = copy.deepcopy(volumes)
    for v in out:
        for k in ("configMap", "secret", "projected", "downwardAPI"):
            if k in v:
                v[k].setdefault("defaultMode", 420)
    return out


def get_phase(restart_policy: str, cstatuses: list[dict[str, Any]],
              istatuses: list[dict[str, Any]], sidecars: frozenset[str] = frozenset()) -> str:
    """The kubelet's getPhase (pkg/kubelet/kubelet_pods.go), for regular and init containers:
    a native sidecar (in ``sidecars``) restarting once a regular container has run does not
    put the pod back into Pending."""
    pending_init = False
    regular_ran = any("running" in s["state"] or "terminated" in s["state"]
                      or s.get("lastState") for s in cstatuses)
    for s in istatuses:
        st = s["state"]
        if s["name"] in sidecars and regular_ran:
            continue
        if "terminated" in st and st["terminated"].get("exitCode") == 0:
            continue
        if "running" in st and s.get("started"):  # a sidecar (restartPolicy Always)
            continue
        if "terminated" in st and restart_policy == "Never":
            return "Failed"
        pending_init = True
    if pending_init:
        return "Pending"
    running = stopped = succeeded = waiting = 0
    for s in cstatuses:
        st = s["state"]
        if "running" in st:
            running += 1
        elif "terminated" in st:
            stopped += 1
            if st["terminated"].get("exitCode") == 0:
                succeeded += 1
        elif "terminated" in s.get("lastState", {}):
            stopped += 1
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if restart_policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if restart_policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


class RWScenario(kf.Scenario):  # type: ignore[misc,name-defined]
    """A k8sfixture Scenario that writes into an absolute directory, in kubectl's order,
    with the case's metadata in expected.json."""

    def __init__(self, outdir: str, T: dt.datetime, description: str, *, new_kubelet: bool,
                 meta: dict[str, Any]):
        # k8sfixture derives container ids and resourceVersions from `dirname`: give it the
        # case id so the build does not depend on where it is written
        super().__init__(meta["id"], T, description)
        self.outdir = outdir
        self.new_kubelet = new_kubelet
        self.meta = meta
        self.extra_objects: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ events
    def kubelet_routine(self, ns: str, pod: str, node: str, cname: str, image: str,
                        when: dt.datetime, *, count: int, last: dt.datetime,
                        init: bool = False, pulled_fresh: bool = False) -> None:
        """Pulling/Pulled, Created, Started for `count` starts of one container."""
        f = f"spec.initContainers{{{cname}}}" if init else f"spec.containers{{{cname}}}"
        size = int(kf.h(image), 16) % 90_000_000 + 20_000_000
        if pulled_fresh:
            secs = 1.2 + int(kf.h(pod + cname), 16) % 9000 / 1000
            self.event(ns, pod, "Pulling", f'Pulling image "{image}"', field=f, node=node,
                       first=when, last=when)
            self.event(ns, pod, "Pulled",
                       f'Successfully pulled image "{image}" in {secs:.3f}s ({secs:.3f}s '
                       f"including waiting). Image size: {size} bytes.",
                       field=f, node=node, first=when + D(seconds=3), last=when + D(seconds=3))
        present = count - 1 if pulled_fresh else count
        if present > 0:
            msg = f'Container image "{image}" already present on machine'
            if self.new_kubelet:
                msg += " and can be accessed by the pod"
            self.event(ns, pod, "Pulled", msg, field=f, node=node, count=present,
                       first=when + D(seconds=4 if not pulled_fresh else 40), last=last)
        created = "Container created" if self.new_kubelet else f"Created container {cname}"
        started = "Container started" if self.new_kubelet else f"Started container {cname}"
        self.event(ns, pod, "Created", created, field=f, node=node, count=count,
                   first=when + D(seconds=4), last=last)
        self.event(ns, pod, "Started", started, field=f, node=node, count=count,
                   first=when + D(seconds=4), last=last)

    def scheduler_event(self, ns: str, pod: str, reason: str, message: str, *,
                        type_: str, count: int, first: dt.datetime,
                        last: dt.datetime) -> None:
        """An event the scheduler writes through events.k8s.io/v1, as core v1 shows it."""
        ename = f"{pod}.{kf.h(pod + reason + message, 16)}"
        ev: dict[str, Any] = {
            "action": "Scheduling" if reason == "FailedScheduling" else "Binding",
            "apiVersion": "v1",
            "eventTime": kf.micro(first + D(microseconds=int(kf.h(pod), 16) % 999_999)),
            "firstTimestamp": None,
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod, "namespace": ns,
                               "resourceVersion": str(int(self.rv()) - 900),
                               "uid": kf.mkuid(f"{ns}/pod/{pod}")},
            "kind": "Event", "lastTimestamp": None, "message": message,
            "metadata": {"creationTimestamp": kf.iso(first), "name": ename, "namespace": ns,
                         "resourceVersion": self.rv(), "uid": kf.mkuid("ev:" + ename)},
            "reason": reason, "reportingComponent": "default-scheduler",
            "reportingInstance": "default-scheduler-control-plane-1", "source": {},
            "type": type_}
        if count > 1:
            ev["series"] = {"count": count, "lastObservedTime": kf.micro(last)}
        self.add(ev)

    # ------------------------------------------------------------------ writing
    def write(self) -> None:  # type: ignore[override]
        def order(o: dict[str, Any]) -> tuple[int, str, str]:
            kind = o.get("kind", "")
            md = o.get("metadata", {})
            rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
            return (rank, md.get("namespace", ""), md.get("name", ""))

        self.items = sorted(self.items, key=order) + self.extra_objects
        cid, self.dirname = self.dirname, self.outdir  # k8sfixture writes into HERE/dirname
        try:
            super().write()
        finally:
            self.dirname = cid
        path = os.path.join(self.outdir, "expected.json")
        with open(path) as f:
            exp = json.load(f)
        out = {**self.meta, **exp}
        with open(path, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
