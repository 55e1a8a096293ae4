"""Helpers that build Kubernetes objects the way `kubectl get -o json` prints them.

Written independently of crashwatch's implementation, from the kubelet/controller
shapes (see /work/shared/KUBELET-FORMATS.md and upstream sources).  Everything is
deterministic: uids, hashes and container ids are derived from names.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import os
import uuid
from typing import Any

import yaml

ALNUM = "bcdfghjklmnpqrstvwxz2456789"  # k8s rand.SafeEncodeString alphabet
HERE = os.path.dirname(os.path.abspath(__file__))


def h(s: str, n: int = 64) -> str:
    return hashlib.sha256(s.encode()).hexdigest()[:n]


def mkuid(s: str) -> str:
    return str(uuid.UUID(h("uid:" + s, 32), version=4))


def safe(s: str, n: int) -> str:
    x = int(h("sfx:" + s), 16)
    out = ""
    for _ in range(n):
        out += ALNUM[x % len(ALNUM)]
        x //= len(ALNUM)
    return out


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def micro(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def godur(sec: int) -> str:
    m, s = divmod(sec, 60)
    return f"{m}m{s}s" if m else f"{s}s"


def backoff(restarts: int) -> str:
    return godur(min(10 * 2 ** max(restarts - 1, 0), 300))


def image_id(image: str) -> str:
    repo = image.rsplit(":", 1)[0] if ":" in image.split("/")[-1] else image
    if "/" not in repo:
        repo = "docker.io/library/" + repo
    elif "." not in repo.split("/")[0] and ":" not in repo.split("/")[0]:
        repo = "docker.io/" + repo
    return f"{repo}@sha256:{h('img:' + image)}"


def status_image(image: str) -> str:
    if "/" not in image:
        return "docker.io/library/" + image
    first = image.split("/")[0]
    if "." not in first and ":" not in first and first != "localhost":
        return "docker.io/" + image
    return image


def resources(cpu_req=None, mem_req=None, cpu_lim=None, mem_lim=None) -> dict:
    r: dict[str, dict] = {}
    req = {k: v for k, v in (("cpu", cpu_req), ("memory", mem_req)) if v}
    lim = {k: v for k, v in (("cpu", cpu_lim), ("memory", mem_lim)) if v}
    if lim:
        r["limits"] = lim
    if req:
        r["requests"] = req
    return r


def http_probe(path, port, *, delay=0, period=10, timeout=1, failure=3):
    return {"httpGet": {"path": path, "port": port, "scheme": "HTTP"},
            "initialDelaySeconds": delay, "periodSeconds": period,
            "timeoutSeconds": timeout, "successThreshold": 1, "failureThreshold": failure}


def container(name, image, *, res=None, ports=None, env=None, env_from=None, liveness=None,
              readiness=None, startup=None, sc=None, command=None, args=None, mounts=None,
              pull="IfNotPresent", tmp="File"):
    c: dict[str, Any] = {"name": name, "image": image}
    if command:
        c["command"] = command
    if args:
        c["args"] = args
    if ports:
        c["ports"] = [{"containerPort": p, "name": n, "protocol": "TCP"} for n, p in ports]
    if env:
        c["env"] = env
    if env_from:
        c["envFrom"] = env_from
    c["imagePullPolicy"] = pull
    if liveness:
        c["livenessProbe"] = liveness
    if readiness:
        c["readinessProbe"] = readiness
    if startup:
        c["startupProbe"] = startup
    c["resources"] = res or {}
    if sc:
        c["securityContext"] = sc
    c["terminationMessagePath"] = "/dev/termination-log"
    c["terminationMessagePolicy"] = tmp
    if mounts:
        c["volumeMounts"] = mounts
    return c


def env_val(name, value):
    return {"name": name, "value": value}


def env_secret(name, secret, key, optional=None):
    ref = {"key": key, "name": secret}
    if optional is not None:
        ref["optional"] = optional
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


def env_cm(name, cm, key):
    return {"name": name, "valueFrom": {"configMapKeyRef": {"key": key, "name": cm}}}


class Scenario:
    def __init__(self, dirname: str, T: dt.datetime, description: str, fmt: str = "json"):
        self.dirname = dirname
        self.T = T
        self.description = description
        self.fmt = fmt
        self.items: list[dict] = []
        self.logs: dict[str, str] = {}
        self.expected: list[dict] = []
        self.optional: list[dict] = []
        self._rv = int(h("rv:" + dirname, 6), 16) + 40_000_000

    # ---------------------------------------------------------------- basics
    def at(self, **kw) -> dt.datetime:
        return self.T - dt.timedelta(**kw)

    def rv(self) -> str:
        self._rv += 1 + (self._rv % 7)
        return str(self._rv)

    def add(self, obj: dict) -> dict:
        self.items.append(obj)
        return obj

    def log(self, ns, pod, cname, text):
        self.logs[f"{ns}/{pod}/{cname}.log"] = text.lstrip("\n")

    def expect(self, ns, pod, cname, reason, evidence, owner=None):
        self.expected.append({"namespace": ns, "pod": pod, "container": cname, "reason": reason,
                              "owner": owner, "evidence_contains": evidence})

    def allow(self, ns, pod, cname, reason, why):
        self.optional.append({"namespace": ns, "pod": pod, "container": cname, "reason": reason,
                              "why": why})

    # ------------------------------------------------------------ workloads
    def template(self, labels, containers, *, init=None, pod_sc=None, volumes=None, sa=None,
                 annotations=None, restart="Always", grace=30):
        spec: dict[str, Any] = {"containers": containers}
        if init:
            spec["initContainers"] = init
        spec.update({"dnsPolicy": "ClusterFirst", "restartPolicy": restart,
                     "schedulerName": "default-scheduler", "securityContext": pod_sc or {},
                     "terminationGracePeriodSeconds": grace})
        if sa:
            spec["serviceAccount"] = sa
            spec["serviceAccountName"] = sa
        if volumes:
            spec["volumes"] = volumes
        md: dict[str, Any] = {"creationTimestamp": None, "labels": dict(labels)}
        if annotations:
            md["annotations"] = annotations
        return {"metadata": md, "spec": spec}

    def deployment(self, ns, name, *, revisions, replicas, created, status, strategy=None,
                   labels=None, annotations=None):
        """revisions: list of dicts {rev, template, created, replicas, ready, available}.
        Returns {rev: (rs_name, rs_uid, hash)}."""
        labels = labels or {"app.kubernetes.io/name": name}
        duid = mkuid(f"{ns}/deploy/{name}")
        out = {}
        newest = max(revisions, key=lambda r: r["rev"])
        for r in revisions:
            tmpl = copy.deepcopy(r["template"])
            phash = safe(json.dumps(tmpl, sort_keys=True) + name, 10)
            if r.get("hash"):
                phash = r["hash"]
            tmpl["metadata"]["labels"]["pod-template-hash"] = phash
            rsname = f"{name}-{phash}"
            rsuid = mkuid(f"{ns}/rs/{rsname}")
            out[r["rev"]] = (rsname, rsuid, phash, tmpl)
            rs_status: dict[str, Any] = {"observedGeneration": r.get("gen", 1),
                                         "replicas": r["replicas"]}
            if r["replicas"]:
                rs_status["fullyLabeledReplicas"] = r["replicas"]
            if r.get("ready"):
                rs_status["readyReplicas"] = r["ready"]
            if r.get("available"):
                rs_status["availableReplicas"] = r["available"]
            sel = dict(labels)
            sel["pod-template-hash"] = phash
            self.add({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {
                    "annotations": {
                        "deployment.kubernetes.io/desired-replicas": str(replicas),
                        "deployment.kubernetes.io/max-replicas": str(replicas + 1),
                        "deployment.kubernetes.io/revision": str(r["rev"]),
                    },
                    "creationTimestamp": iso(r["created"]),
                    "generation": r.get("gen", 1 if r["replicas"] else 2),
                    "labels": {**tmpl["metadata"]["labels"]},
                    "name": rsname, "namespace": ns,
                    "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": True,
                                         "controller": True, "kind": "Deployment",
                                         "name": name, "uid": duid}],
                    "resourceVersion": self.rv(), "uid": rsuid},
                "spec": {"replicas": r["replicas"], "selector": {"matchLabels": sel},
                         "template": tmpl},
                "status": rs_status})
        dtmpl = copy.deepcopy(newest["template"])
        ann = {"deployment.kubernetes.io/revision": str(newest["rev"])}
        ann.update(annotations or {})
        dep = {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"annotations": ann, "creationTimestamp": iso(created),
                         "generation": newest["rev"] + 1, "labels": dict(labels), "name": name,
                         "namespace": ns, "resourceVersion": self.rv(), "uid": duid},
            "spec": {"progressDeadlineSeconds": 600, "replicas": replicas,
                     "revisionHistoryLimit": 10, "selector": {"matchLabels": dict(labels)},
                     "strategy": strategy or {"rollingUpdate": {"maxSurge": "25%",
                                                                "maxUnavailable": "25%"},
                                              "type": "RollingUpdate"},
                     "template": dtmpl},
            "status": status,
        }
        dep["status"].setdefault("observedGeneration", newest["rev"] + 1)
        for c in dep["status"].get("conditions", []):
            c["message"] = c["message"].replace("{RS}", out[newest["rev"]][0])
        self.add(dep)
        return out

    def dep_status(self, *, replicas, updated, ready, available, avail_ok, avail_since,
                   progressing, prog_since, prog_update, rsname):
        conds = [{
            "lastTransitionTime": iso(avail_since), "lastUpdateTime": iso(avail_since),
            "message": ("Deployment has minimum availability." if avail_ok
                        else "Deployment does not have minimum availability."),
            "reason": "MinimumReplicasAvailable" if avail_ok else "MinimumReplicasUnavailable",
            "status": "True" if avail_ok else "False", "type": "Available"}]
        if progressing == "complete":
            pc = ("True", "NewReplicaSetAvailable", f'ReplicaSet "{rsname}" has successfully progressed.')
        elif progressing == "progressing":
            pc = ("True", "ReplicaSetUpdated", f'ReplicaSet "{rsname}" is progressing.')
        else:
            pc = ("False", "ProgressDeadlineExceeded", f'ReplicaSet "{rsname}" has timed out progressing.')
        conds.append({"lastTransitionTime": iso(prog_since), "lastUpdateTime": iso(prog_update),
                      "message": pc[2], "reason": pc[1], "status": pc[0], "type": "Progressing"})
        st: dict[str, Any] = {"conditions": conds, "replicas": replicas,
                              "updatedReplicas": updated}
        if ready:
            st["readyReplicas"] = ready
        if available:
            st["availableReplicas"] = available
        if replicas - available > 0:
            st["unavailableReplicas"] = replicas - available
        return st

    def statefulset(self, ns, name, *, template, replicas, created, ready, rev_hash=None,
                    service=None):
        suid = mkuid(f"{ns}/sts/{name}")
        rev = f"{name}-{rev_hash or safe(name + 'rev', 9)}"
        tmpl = copy.deepcopy(template)
        self.add({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"creationTimestamp": iso(created), "generation": 3,
                         "labels": dict(template["metadata"]["labels"]), "name": name,
                         "namespace": ns, "resourceVersion": self.rv(), "uid": suid},
            "spec": {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain",
                                                              "whenScaled": "Retain"},
                     "podManagementPolicy": "OrderedReady", "replicas": replicas,
                     "revisionHistoryLimit": 10,
                     "selector": {"matchLabels": dict(template["metadata"]["labels"])},
                     "serviceName": service or name, "template": tmpl,
                     "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"}},
            "status": {"availableReplicas": ready, "collisionCount": 0, "currentReplicas": replicas,
                       "currentRevision": rev, "observedGeneration": 3, "readyReplicas": ready,
                       "replicas": replicas, "updateRevision": rev, "updatedReplicas": replicas}
            if ready else
            {"availableReplicas": 0, "collisionCount": 0, "currentReplicas": replicas,
             "currentRevision": rev, "observedGeneration": 3, "replicas": replicas,
             "updateRevision": rev, "updatedReplicas": replicas},
        })
        return suid, rev

    def daemonset(self, ns, name, *, template, created, nodes, ready):
        duid = mkuid(f"{ns}/ds/{name}")
        self.add({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"annotations": {"deprecated.daemonset.template.generation": "4"},
                         "creationTimestamp": iso(created), "generation": 4,
                         "labels": dict(template["metadata"]["labels"]), "name": name,
                         "namespace": ns, "resourceVersion": self.rv(), "uid": duid},
            "spec": {"revisionHistoryLimit": 10,
                     "selector": {"matchLabels": dict(template["metadata"]["labels"])},
                     "template": template,
                     "updateStrategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
                                        "type": "RollingUpdate"}},
            "status": {"currentNumberScheduled": nodes, "desiredNumberScheduled": nodes,
                       "numberAvailable": ready, "numberMisscheduled": 0, "numberReady": ready,
                       **({"numberUnavailable": nodes - ready} if nodes - ready else {}),
                       "observedGeneration": 4, "updatedNumberScheduled": nodes},
        })
        return duid

    # ------------------------------------------------------------------ pods
    def pod(self, ns, name, *, owner, template, node, ip, created, phase, cstatuses,
            istatuses=None, ready_since=None, annotations=None, extra_labels=None,
            sandbox=True, initialized=True, status_extra=None, extra_conditions=None,
            spec_patch=None):
        """owner: (apiVersion, kind, name, uid) or None."""
        puid = mkuid(f"{ns}/pod/{name}")
        spec = copy.deepcopy(template["spec"])
        tok = f"kube-api-access-{safe(name + 'tok', 5)}"
        for c in spec["containers"] + spec.get("initContainers", []):
            c.setdefault("volumeMounts", []).append(
                {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                 "name": tok, "readOnly": True})
        spec["enableServiceLinks"] = True
        spec["nodeName"] = node
        spec["preemptionPolicy"] = "PreemptLowerPriority"
        spec["priority"] = 0
        spec.setdefault("serviceAccount", "default")
        spec.setdefault("serviceAccountName", "default")
        spec["tolerations"] = [
            {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready",
             "operator": "Exists", "tolerationSeconds": 300},
            {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable",
             "operator": "Exists", "tolerationSeconds": 300}]
        spec.setdefault("volumes", []).append({
            "name": tok, "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}],
                               "name": "kube-root-ca.crt"}},
                {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1",
                                                         "fieldPath": "metadata.namespace"},
                                            "path": "namespace"}]}}]}})
        if spec_patch:
            spec_patch(spec)
        labels = dict(template["metadata"]["labels"])
        labels.update(extra_labels or {})
        md: dict[str, Any] = {}
        if annotations or template["metadata"].get("annotations"):
            md["annotations"] = {**(template["metadata"].get("annotations") or {}),
                                 **(annotations or {})}
        md.update({"creationTimestamp": iso(created), "generateName": name.rsplit("-", 1)[0] + "-",
                   "labels": labels, "name": name, "namespace": ns})
        if owner:
            md["ownerReferences"] = [{"apiVersion": owner[0], "blockOwnerDeletion": True,
                                      "controller": True, "kind": owner[1], "name": owner[2],
                                      "uid": owner[3]}]
        else:
            del md["generateName"]
        md["resourceVersion"] = self.rv()
        md["uid"] = puid
        sched = created + dt.timedelta(seconds=1)
        all_ready = ready_since is not None
        # the kubelet lists native sidecars (restartable init containers) first
        sidecars = {c["name"] for c in spec.get("initContainers") or []
                    if c.get("restartPolicy") == "Always"}
        names_unready = [cs["name"] for cs in [*(s for s in istatuses or []
                                                  if s["name"] in sidecars), *cstatuses]
                         if not cs.get("ready")]
        conds = []
        if phase not in ("Succeeded",) or True:
            conds.append({"lastProbeTime": None,
                          "lastTransitionTime": iso(sched + dt.timedelta(seconds=3)),
                          "status": "True" if sandbox and phase != "Failed" else "False",
                          "type": "PodReadyToStartContainers"})
        if initialized:
            conds.append({"lastProbeTime": None, "lastTransitionTime": iso(sched + dt.timedelta(seconds=4)),
                          "status": "True", "type": "Initialized"})
        else:
            pending = [s["name"] for s in (istatuses or []) if "terminated" not in s["state"]
                       or s["state"]["terminated"].get("exitCode") != 0]
            conds.append({"lastProbeTime": None, "lastTransitionTime": iso(sched),
                          "message": f"containers with incomplete status: [{' '.join(pending)}]",
                          "reason": "ContainersNotInitialized", "status": "False",
                          "type": "Initialized"})
        if phase == "Succeeded":
            for t in ("Ready", "ContainersReady"):
                conds.append({"lastProbeTime": None, "lastTransitionTime": iso(ready_since or created),
                              "reason": "PodCompleted", "status": "False", "type": t})
        elif all_ready:
            for t in ("Ready", "ContainersReady"):
                conds.append({"lastProbeTime": None, "lastTransitionTime": iso(ready_since),
                              "status": "True", "type": t})
        else:
            lt = iso(sched + dt.timedelta(seconds=4))
            conds.append({"lastProbeTime": None, "lastTransitionTime": lt,
                          "message": f"containers with unready status: [{' '.join(names_unready)}]",
                          "reason": "ContainersNotReady", "status": "False", "type": "Ready"})
            conds.append({"lastProbeTime": None, "lastTransitionTime": lt,
                          "message": f"containers with unready status: [{' '.join(names_unready)}]",
                          "reason": "ContainersNotReady", "status": "False",
                          "type": "ContainersReady"})
        conds.append({"lastProbeTime": None, "lastTransitionTime": iso(sched), "status": "True",
                      "type": "PodScheduled"})
        conds.extend(extra_conditions or [])
        hostip = "10.0." + str(int(h(node), 16) % 200) + "." + str(int(h(node + "x"), 16) % 250 + 2)
        st: dict[str, Any] = {"conditions": conds, "containerStatuses": cstatuses,
                              "hostIP": hostip, "hostIPs": [{"ip": hostip}]}
        if istatuses:
            st["initContainerStatuses"] = istatuses
        st["phase"] = phase
        if ip:
            st["podIP"] = ip
            st["podIPs"] = [{"ip": ip}]
        st["qosClass"] = _qos(spec["containers"])
        st["startTime"] = iso(sched)
        st.update(status_extra or {})
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec, "status": st}
        self.add(pod)
        return puid

    # ------------------------------------------------------------- statuses
    def cid(self, *parts) -> str:
        return "containerd://" + h("cid:" + self.dirname + ":".join(map(str, parts)))

    def running(self, pod, name, image, since, *, ready=True, restarts=0, last=None):
        return {"containerID": self.cid(pod, name, restarts), "image": status_image(image),
                "imageID": image_id(image), "lastState": last or {}, "name": name,
                "ready": ready, "restartCount": restarts, "started": True,
                "state": {"running": {"startedAt": iso(since)}}}

    def terminated(self, pod, name, restarts, exit_code, reason, started, finished,
                   message=None) -> dict:
        t: dict[str, Any] = {"containerID": self.cid(pod, name, restarts), "exitCode": exit_code,
                             "finishedAt": iso(finished)}
        if message:
            t["message"] = message
        t["reason"] = reason
        t["startedAt"] = iso(started) if started else "1970-01-01T00:00:00Z"
        return t

    def crashloop(self, ns, pod, name, image, restarts, *, exit_code, reason, started, finished,
                  message=None, waiting_reason="CrashLoopBackOff"):
        puid = mkuid(f"{ns}/pod/{pod}")
        last = self.terminated(pod, name, restarts - 1, exit_code, reason, started, finished,
                               message)
        wmsg = (f"back-off {backoff(restarts)} restarting failed container={name} "
                f"pod={pod}_{ns}({puid})")
        return {"containerID": self.cid(pod, name, restarts - 1), "image": status_image(image),
                "imageID": image_id(image), "lastState": {"terminated": last}, "name": name,
                "ready": False, "restartCount": restarts, "started": False,
                "state": {"waiting": {"message": wmsg, "reason": waiting_reason}}}

    def waiting(self, name, image, reason, message=None):
        w = {"reason": reason}
        if message:
            w = {"message": message, "reason": reason}
        return {"image": image if reason in ("InvalidImageName", "ErrImagePull",
                                             "ImagePullBackOff") else status_image(image),
                "imageID": "", "lastState": {}, "name": name, "ready": False,
                "restartCount": 0, "started": False, "state": {"waiting": w}}

    def completed(self, pod, name, image, started, finished, restarts=0, init=False):
        # an init container that exited 0 is ready (the kubelet's prober manager, 1.36); a
        # regular container that ran to completion (a Job's) is not
        return {"containerID": self.cid(pod, name, restarts), "image": status_image(image),
                "imageID": image_id(image), "lastState": {}, "name": name, "ready": init,
                "restartCount": restarts, "started": False,
                "state": {"terminated": {"containerID": self.cid(pod, name, restarts),
                                         "exitCode": 0, "finishedAt": iso(finished),
                                         "reason": "Completed", "startedAt": iso(started)}}}

    # ---------------------------------------------------------------- events
    def event(self, ns, obj_name, reason, message, *, type_="Normal", count=1, first=None,
              last=None, field=None, node=None, kind="Pod", api="v1", component="kubelet",
              obj_uid=None):
        last = last or self.T
        first = first or last
        obj_uid = obj_uid or mkuid(f"{ns}/{ {'Pod': 'pod', 'Deployment': 'deploy', 'ReplicaSet': 'rs', 'StatefulSet': 'sts', 'DaemonSet': 'ds', 'Node': 'node', 'Job': 'job'}.get(kind, kind)}/{obj_name}")
        inv: dict[str, Any] = {"apiVersion": api, "kind": kind, "name": obj_name,
                               "resourceVersion": str(int(self.rv()) - 400), "uid": obj_uid}
        if kind != "Node":
            inv["namespace"] = ns
        if field:
            inv["fieldPath"] = field
        ename = f"{obj_name}.{h(obj_name + reason + message + str(first), 16)}"
        evns = ns if kind != "Node" else "default"
        ev = {"apiVersion": "v1", "count": count, "eventTime": None,
              "firstTimestamp": iso(first), "involvedObject": inv, "kind": "Event",
              "lastTimestamp": iso(last), "message": message,
              "metadata": {"creationTimestamp": iso(first), "name": ename, "namespace": evns,
                           "resourceVersion": self.rv(), "uid": mkuid("ev:" + ename)},
              "reason": reason, "reportingComponent": component,
              "reportingInstance": node if component == "kubelet" else "",
              "source": ({"component": component, "host": node} if component == "kubelet"
                         else {"component": component}),
              "type": type_}
        self.add(ev)
        return ev

    def scheduled(self, ns, pod, node, when):
        ename = f"{pod}.{h(pod + 'sched', 16)}"
        self.add({"action": "Binding", "apiVersion": "v1",
                  "eventTime": micro(when + dt.timedelta(microseconds=int(h(pod), 16) % 999999)),
                  "firstTimestamp": None,
                  "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod,
                                     "namespace": ns,
                                     "resourceVersion": str(int(self.rv()) - 900),
                                     "uid": mkuid(f"{ns}/pod/{pod}")},
                  "kind": "Event", "lastTimestamp": None,
                  "message": f"Successfully assigned {ns}/{pod} to {node}",
                  "metadata": {"creationTimestamp": iso(when), "name": ename, "namespace": ns,
                               "resourceVersion": self.rv(), "uid": mkuid("ev:" + ename)},
                  "reason": "Scheduled", "reportingComponent": "default-scheduler",
                  "reportingInstance": "default-scheduler-" + "control-plane-1",
                  "source": {}, "type": "Normal"})

    def started_events(self, ns, pod, node, cname, image, when, *, count=1, last=None,
                       pulled_fresh=False):
        f = f"spec.containers{{{cname}}}"
        if pulled_fresh:
            self.event(ns, pod, "Pulling", f'Pulling image "{image}"', field=f, node=node,
                       first=when, last=when)
            self.event(ns, pod, "Pulled",
                       f'Successfully pulled image "{image}" in 4.812s (4.812s including waiting). '
                       f'Image size: {int(h(image), 16) % 90_000_000 + 20_000_000} bytes.',
                       field=f, node=node, first=when + dt.timedelta(seconds=5),
                       last=when + dt.timedelta(seconds=5))
        if count > 1 or not pulled_fresh:
            self.event(ns, pod, "Pulled",
                       f'Container image "{image}" already present on machine', field=f,
                       node=node, count=count if not pulled_fresh else count - 1,
                       first=when + dt.timedelta(seconds=5 if not pulled_fresh else 40),
                       last=last or when + dt.timedelta(seconds=5))
        self.event(ns, pod, "Created", f"Created container {cname}", field=f, node=node,
                   count=count, first=when + dt.timedelta(seconds=6), last=last or when + dt.timedelta(seconds=6))
        self.event(ns, pod, "Started", f"Started container {cname}", field=f, node=node,
                   count=count, first=when + dt.timedelta(seconds=6), last=last or when + dt.timedelta(seconds=6))

    def backoff_event(self, ns, pod, node, cname, first, count, init=False):
        puid = mkuid(f"{ns}/pod/{pod}")
        f = f"spec.initContainers{{{cname}}}" if init else f"spec.containers{{{cname}}}"
        self.event(ns, pod, "BackOff",
                   f"Back-off restarting failed container {cname} in pod {pod}_{ns}({puid})",
                   type_="Warning", count=count, first=first, last=self.T, field=f, node=node)

    # ----------------------------------------------------------------- noise
    def healthy_deployment(self, ns, name, image, *, replicas=2, age_days=9, port=8080,
                           node_pool=("node-a", "node-b"), mem=("128Mi", "256Mi"), ip_base="10.244.7"):
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": ns}
        created = self.at(days=age_days)
        tmpl = self.template(labels, [container(
            name, image, ports=[("http", port)],
            res=resources("50m", mem[0], None, mem[1]),
            readiness=http_probe("/healthz", port, period=10),
            liveness=http_probe("/healthz", port, delay=10, period=20))])
        out = self.deployment(ns, name, revisions=[{
            "rev": 1, "template": tmpl, "created": created, "replicas": replicas,
            "ready": replicas, "available": replicas}], replicas=replicas, created=created,
            labels=labels,
            status=self.dep_status(replicas=replicas, updated=replicas, ready=replicas,
                                   available=replicas, avail_ok=True,
                                   avail_since=created + dt.timedelta(seconds=40),
                                   progressing="complete", prog_since=created,
                                   prog_update=created + dt.timedelta(seconds=40),
                                   rsname=f"{name}-x"))
        rsname, rsuid, phash, rtmpl = out[1]
        # fix the Progressing message to name the real RS
        self.items[-1]["status"]["conditions"][1]["message"] = f'ReplicaSet "{rsname}" has successfully progressed.'
        for i in range(replicas):
            pname = f"{rsname}-{safe(name + str(i), 5)}"
            since = created + dt.timedelta(seconds=12 + i)
            self.pod(ns, pname, owner=("apps/v1", "ReplicaSet", rsname, rsuid), template=rtmpl,
                     node=node_pool[i % len(node_pool)], ip=f"{ip_base}.{20 + i}", created=created,
                     phase="Running", ready_since=since + dt.timedelta(seconds=8),
                     cstatuses=[self.running(pname, name, image, since)])
        return out

    def completed_job(self, ns, cronjob, image, *, scheduled, duration=42, node="node-a",
                      command=None):
        jname = f"{cronjob}-{int(scheduled.timestamp()) // 60}"
        juid = mkuid(f"{ns}/job/{jname}")
        labels = {"batch.kubernetes.io/controller-uid": juid, "batch.kubernetes.io/job-name": jname,
                  "controller-uid": juid, "job-name": jname}
        tmpl = self.template(labels, [container(cronjob, image, command=command,
                                                res=resources("100m", "128Mi", None, "256Mi"))],
                             restart="OnFailure")
        start = scheduled + dt.timedelta(seconds=1)
        end = start + dt.timedelta(seconds=duration)
        self.add({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"creationTimestamp": iso(scheduled), "generation": 1,
                         "labels": dict(labels), "name": jname, "namespace": ns,
                         "ownerReferences": [{"apiVersion": "batch/v1", "blockOwnerDeletion": True,
                                              "controller": True, "kind": "CronJob",
                                              "name": cronjob,
                                              "uid": mkuid(f"{ns}/cronjob/{cronjob}")}],
                         "resourceVersion": self.rv(), "uid": juid},
            "spec": {"backoffLimit": 6, "completionMode": "NonIndexed", "completions": 1,
                     "manualSelector": False, "parallelism": 1, "podReplacementPolicy": "TerminatingOrFailed",
                     "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": juid}},
                     "suspend": False, "template": tmpl},
            "status": {"completionTime": iso(end + dt.timedelta(seconds=2)),
                       "conditions": [
                           {"lastProbeTime": iso(end + dt.timedelta(seconds=2)),
                            "lastTransitionTime": iso(end + dt.timedelta(seconds=2)),
                            "message": "Reached expected number of succeeded pods",
                            "reason": "CompletionsReached", "status": "True",
                            "type": "SuccessCriteriaMet"},
                           {"lastProbeTime": iso(end + dt.timedelta(seconds=2)),
                            "lastTransitionTime": iso(end + dt.timedelta(seconds=2)),
                            "message": "Reached expected number of succeeded pods",
                            "reason": "CompletionsReached", "status": "True", "type": "Complete"}],
                       "ready": 0, "startTime": iso(scheduled), "succeeded": 1,
                       "terminating": 0, "uncountedTerminatedPods": {}}})
        pname = f"{jname}-{safe(jname, 5)}"
        self.pod(ns, pname, owner=("batch/v1", "Job", jname, juid), template=tmpl, node=node,
                 ip=None, created=scheduled, phase="Succeeded", ready_since=end,
                 cstatuses=[self.completed(pname, cronjob, image, start, end)])
        return pname

    def coredns(self):
        self.healthy_deployment("kube-system", "coredns", "registry.k8s.io/coredns/coredns:v1.11.3",
                                replicas=2, age_days=61, port=8181, mem=("70Mi", "170Mi"),
                                ip_base="10.244.0")

    # ------------------------------------------------------------------ write
    def write(self):
        d = os.path.join(HERE, self.dirname)
        os.makedirs(d, exist_ok=True)
        for old in ("snapshot.json", "snapshot.yaml"):
            p = os.path.join(d, old)
            if os.path.exists(p):
                os.remove(p)
        lst = {"apiVersion": "v1", "items": self.items, "kind": "List",
               "metadata": {"resourceVersion": ""}}
        if self.fmt == "json":
            with open(os.path.join(d, "snapshot.json"), "w") as f:
                json.dump(lst, f, indent=4)
                f.write("\n")
        else:
            with open(os.path.join(d, "snapshot.yaml"), "w") as f:
                yaml.safe_dump_all(self.items, f, sort_keys=True, default_flow_style=False,
                                   width=4096, explicit_start=True)
        for rel, text in self.logs.items():
            p = os.path.join(d, "logs", rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text if text.endswith("\n") else text + "\n")
        import re
        stamps = re.findall(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d", json.dumps(self.items))
        exp: dict[str, Any] = {"description": self.description,
                               "snapshot_time": max(stamps) + "Z",
                               "findings": self.expected}
        if self.optional:
            exp["optional_findings"] = self.optional
        with open(os.path.join(d, "expected.json"), "w") as f:
            json.dump(exp, f, indent=2)
            f.write("\n")


def _qos(containers):
    reqs = [c.get("resources", {}) for c in containers]
    if all(not r for r in reqs):
        return "BestEffort"
    if all(r.get("limits") and r.get("requests") == r.get("limits") for r in reqs):
        return "Guaranteed"
    return "Burstable"
