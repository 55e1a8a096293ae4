"""The diagnosis on what a real 1.36 kubelet wrote: every pod the real node recorded in
tests/cluster/nodes/real/observed-1.36.txt (kubelet v1.36.3, containerd v2.4.2, default
syncFrequency; written by tests/cluster/nodes/real/observe.py), read back from that file as
it is (container statuses, Events, the answers of ``pods/log``) and diagnosed offline.

The specs are observe.py's. The log read for each container is the ``pods/log`` answer for
the instance crashwatch's rule asks for (:func:`crashwatch.logsource.failed_instance`); a
400 is no log, as through the API.
"""

from __future__ import annotations

import json
import re
from typing import Any

import kube as k
import pytest
from helpers import evidence_text, only, run
from observed import OBSERVED_PODS

from crashwatch.diagnosis.view import as_dict
from crashwatch.logsource import failed_instance
from crashwatch.model import Finding, Reason

NS = "facts"
_UID = re.compile(r"pod=?\S*?_facts\((?P<uid>[0-9a-f-]{36})\)")

#: observe.py's containers (args and probes), by pod.
SPECS: dict[str, dict[str, Any]] = {
    "crash": {"args": ["exit", "-code", "3", "-msg", "FATAL: boom"]},
    "oom": {"args": ["hog", "-mib", "64"],
            "resources": {"limits": {"memory": "32Mi"}, "requests": {"memory": "32Mi"}}},
    "liveness404": {"args": ["serve", "-health", "/livez"], "livenessProbe": {
        "httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 2,
        "failureThreshold": 2}},
    "refused": {"args": ["serve"], "livenessProbe": {
        "tcpSocket": {"port": 5432}, "periodSeconds": 2, "failureThreshold": 2}},
    "ready503": {"args": ["serve", "-ready-status", "503"], "readinessProbe": {
        "httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 2}},
    "nginx-rofs": {"securityContext": {"readOnlyRootFilesystem": True}},
    "shop-noenv": {},
    "psql": {"args": ["postgresql://report@db:5432/shop", "-c", "select 1"]},
    "orders": {},
    "cm-missing": {"args": ["sleep"], "env": [
        {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "X"}}}]},
    "cm-key": {"args": ["sleep"], "env": [{"name": "X", "valueFrom": {
        "configMapKeyRef": {"name": "app-config", "key": "DATABASE_URL"}}}]},
    "secret-missing": {"args": ["sleep"], "env": [
        {"name": "X", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "X"}}}]},
    "secret-key": {"args": ["sleep"], "env": [{"name": "X", "valueFrom": {
        "secretKeyRef": {"name": "app-secrets", "key": "DATABASE_URL"}}}]},
    "missing-tag": {},
    "unauthorized": {"args": ["sleep"]},
    "envfrom-missing": {"args": ["sleep"], "envFrom": [{"configMapRef": {"name": "nope"}}]},
}



#: The end of the observation: the snapshot's Events are stamped then (observe.py records
#: their reasons, counts and messages, not their times) ...
OBSERVED_AT = "2026-11-29T05:11:26Z"


def _killed_at(cs: dict[str, Any]) -> str:
    """... except a probe kill, which the kubelet stamps as it kills: the end of the newest
    instance that ended (``lastState`` or ``state`` terminated)."""
    ends = [as_dict(cs.get(k)).get("terminated", {}).get("finishedAt")
            for k in ("state", "lastState")]
    return max((e for e in ends if e), default=OBSERVED_AT)


def _snapshot(name: str) -> tuple[list[dict[str, Any]], dict[tuple[str, str, str], str]]:
    seen = OBSERVED_PODS[name]
    cs = json.loads(json.dumps(seen["status"]).replace("+00:00", "Z"))
    image = cs["imageID"] or cs["image"]
    c = k.container(image=image, memory_limit=None, memory_request=None, **SPECS[name])
    if "resources" in SPECS[name]:
        c["resources"] = SPECS[name]["resources"]
    p = k.pod(name=name, namespace=NS, containers=[c], owner=None, phase=seen["phase"],
              statuses=[cs])
    messages = " ".join(e[3] for e in seen["events"])
    m = _UID.search(messages) or _UID.search(json.dumps(cs))
    if m:
        p["metadata"]["uid"] = m["uid"]
    events = []
    for type_, reason, count, message in seen["events"]:
        ev = k.event(p, reason, message, type_=type_, container_name="app", count=count)
        ev["lastTimestamp"] = _killed_at(cs) if reason == "Killing" else OBSERVED_AT
        events.append(ev)
    logs: dict[tuple[str, str, str], str] = {}
    asked = failed_instance(cs)
    if asked is not None:
        status, body = seen["logs"][asked[1]]
        if status == 200:
            logs[(NS, name, "app")] = body
    return [p, *events], logs


def diagnosed(name: str) -> Finding:
    objects, logs = _snapshot(name)
    return only(run(objects, logs))


def test_the_file_holds_every_pod_observe_py_made() -> None:
    assert set(OBSERVED_PODS) == set(SPECS)
    for name, seen in OBSERVED_PODS.items():
        assert seen["status"]["name"] == "app", name
        assert set(seen["logs"]) == {True, False}, name


@pytest.mark.parametrize(("name", "reason", "needles"), [
    ("crash", Reason.APP_ERROR, ["FATAL: boom", "exitCode=3"]),
    ("oom", Reason.OOM_KILLED, ["OOMKilled", "32Mi"]),
    ("nginx-rofs", Reason.READ_ONLY_FILESYSTEM, ["/var/lib/nginx/body"]),
    ("shop-noenv", Reason.MISSING_ENV, ["SECRET_KEY"]),
    ("psql", Reason.DEPENDENCY_UNREACHABLE, ["db", "5432"]),
    ("orders", Reason.DEPENDENCY_UNREACHABLE, ["127.0.0.1:5432"]),
])
def test_a_crash_loop_left_terminated_between_restarts(name: str, reason: Reason,
                                                       needles: list[str]) -> None:
    """With the default syncFrequency the real kubelet left these containers ``terminated``
    through the back-off (restartCount 5); the log that says why is the crashed instance's
    own (``previous=false``), while ``previous=true`` answered ``unable to retrieve container
    logs for containerd://...``."""
    cs = OBSERVED_PODS[name]["status"]
    assert "terminated" in cs["state"] and cs["restartCount"] == 5
    assert OBSERVED_PODS[name]["logs"][True][1].startswith(
        "unable to retrieve container logs for containerd://")
    f = diagnosed(name)
    assert f.reason is reason, (f.reason, f.summary, f.evidence)
    text = evidence_text(f) + "\n" + f.summary
    for needle in needles:
        assert needle in text, (needle, text)


def test_the_kubelets_answer_for_a_gone_instance_is_never_the_evidence() -> None:
    """Reading ``previous=true`` of a container left terminated gets the kubelet's words, not
    the app's: no log, so no log line in the evidence (and no invented cause)."""
    objects, _ = _snapshot("shop-noenv")
    gone = OBSERVED_PODS["shop-noenv"]["logs"][True][1]
    f = only(run(objects, {(NS, "shop-noenv", "app"): gone}))
    assert f.reason is Reason.APP_ERROR
    assert "unable to retrieve" not in evidence_text(f) + f.summary


@pytest.mark.parametrize(("name", "details"), [
    ("liveness404", {"statusCode": 404}),
    ("refused", {"refusedPort": 5432, "address": "10.244.0.5:5432"}),
])
def test_a_liveness_kill_of_an_app_that_exits_on_sigterm(name: str,
                                                         details: dict[str, Any]) -> None:
    """The killed app exited 0 (``Completed``, not 137) and the kubelet backs off: the probe
    is still the cause. The TCP probe's message has no ``Get "http://..."`` part."""
    cs = OBSERVED_PODS[name]["status"]
    assert cs["lastState"]["terminated"]["exitCode"] == 0
    assert cs["lastState"]["terminated"]["reason"] == "Completed"
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    f = diagnosed(name)
    assert f.reason is Reason.LIVENESS_PROBE, (f.reason, f.summary)
    for key, value in details.items():
        assert f.details[key] == value
    assert "Completed" in evidence_text(f) or "exit code 0" in evidence_text(f)


def test_readiness_503() -> None:
    f = diagnosed("ready503")
    assert f.reason is Reason.READINESS_FAILING
    assert f.details["statusCode"] == 503


@pytest.mark.parametrize(("name", "reason", "needles"), [
    ("cm-missing", Reason.MISSING_CONFIGMAP, ["nope"]),
    ("envfrom-missing", Reason.MISSING_CONFIGMAP, ["nope"]),
    ("cm-key", Reason.MISSING_CONFIGMAP_KEY, ["DATABASE_URL", "app-config"]),
    ("secret-missing", Reason.MISSING_SECRET, ["nope"]),
    ("secret-key", Reason.MISSING_SECRET_KEY, ["DATABASE_URL", "app-secrets"]),
])
def test_configuration_errors(name: str, reason: Reason, needles: list[str]) -> None:
    """Pending, never ran (``imageID`` empty, ``image`` as the spec writes it); the Events
    repeat every sync (x17 in 200 s) beside ``Container image ... already present``."""
    cs = OBSERVED_PODS[name]["status"]
    assert cs["imageID"] == "" and "containerID" not in cs
    f = diagnosed(name)
    assert f.reason is reason
    for needle in needles:
        assert needle in f.summary


@pytest.mark.parametrize(("name", "reason"), [
    ("missing-tag", Reason.IMAGE_NOT_FOUND),
    ("unauthorized", Reason.IMAGE_UNAUTHORIZED),
])
def test_containerd_2_pull_errors(name: str, reason: Reason) -> None:
    """containerd 2: ``failed to resolve image: R: not found``; no credentials: no ``rpc
    error`` prefix and ``authorization failed: no basic auth credentials``."""
    f = diagnosed(name)
    assert f.reason is reason
    assert OBSERVED_PODS[name]["status"]["image"] in f.summary


def test_statuses_of_containers_that_ran_carry_the_136_fields() -> None:
    """What the builders in kube.py copy: an image pulled by digest shows its config digest
    as ``image``; ``user.linux``, ``resources``, ``volumeMounts[].recursiveReadOnly``, and
    ``allocatedResources`` when the container requests memory."""
    for name in ("crash", "oom", "liveness404", "nginx-rofs"):
        cs = OBSERVED_PODS[name]["status"]
        assert cs["image"].startswith("sha256:") and "@sha256:" in cs["imageID"]
        assert cs["user"] == {"linux": {"gid": 0, "supplementalGroups": [0], "uid": 0}}
        assert "resources" in cs
        assert cs["volumeMounts"][0]["recursiveReadOnly"] == "Disabled"
    assert OBSERVED_PODS["oom"]["status"]["allocatedResources"] == {"memory": "32Mi"}
    built = k.crashed_status(k.container(image=OBSERVED_PODS["oom"]["status"]["imageID"],
                                         memory_limit="32Mi", memory_request="32Mi"),
                             k.terminated("OOMKilled", 137))
    real = OBSERVED_PODS["oom"]["status"]
    assert set(built) == set(real)
    assert built["image"].startswith("sha256:") and built["imageID"] == real["imageID"]
    assert built["volumeMounts"][0]["recursiveReadOnly"] == "Disabled"
