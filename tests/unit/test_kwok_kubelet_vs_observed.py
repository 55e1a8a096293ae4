"""The simulated kubelet (tests/cluster/nodes/kwok/kubelet.py) against the real one: what the
kit writes, step by step, is what the real 1.36 node wrote (tests/cluster/nodes/real/
observed-1.36.txt): the sequence of states a watch sees, the status fields, the Events'
texts, the pull and config error messages and the ``pods/log`` answers.

The kit runs here against an in-memory API (only the calls it makes: read and patch a pod,
replace its status, create and patch an Event), so this checks the kit's shapes without a
control plane; tests/e2e/test_e2e_controlplane.py runs it against the real API server."""

from __future__ import annotations

import copy
import itertools
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from observed import OBSERVED_PODS, TIMELINE
from tests.cluster.nodes.kwok import kubelet
from tests.cluster.nodes.kwok.logs import DirectoryLogSource, PodLogAnswer

NS = "facts"
_HOSTS = itertools.count()


class MemoryCore(client.CoreV1Api):
    """The calls kubelet.py makes, on dicts held in memory; every status write is kept (what
    a watch would see)."""

    def __init__(self) -> None:
        api = client.ApiClient()
        api.configuration.host = f"memory://{next(_HOSTS)}"  # the kit's pull cache is per host
        super().__init__(api)
        self.pods: dict[tuple[str, str], dict[str, Any]] = {}
        self.events: dict[tuple[str, str], dict[str, Any]] = {}
        self.writes: list[dict[str, Any]] = []

    def add_pod(self, name: str, container: dict[str, Any]) -> dict[str, Any]:
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": NS, "uid": str(uuid.uuid4()),
                            "creationTimestamp": kubelet.rfc3339(),
                            "annotations": {kubelet.SIMULATED_ANNOTATION: "true"}},
               "spec": {"nodeName": "kwok-node-0", "containers": [
                   {"name": "app", "image": "127.0.0.1:37883/testapp:1", **container,
                    "volumeMounts": [{"name": "kube-api-access-gdzs5", "readOnly": True,
                                      "mountPath": "/var/run/secrets/kubernetes.io/"
                                                   "serviceaccount"}]}]},
               "status": {"phase": "Pending"}}  # fmt: skip
        self.pods[(NS, name)] = pod
        return pod

    def read_namespaced_pod(self, name: str, namespace: str, **_: Any) -> Any:
        return copy.deepcopy(self.pods[(namespace, name)])

    def patch_namespaced_pod(self, name: str, namespace: str, body: Any, **_: Any) -> Any:
        pod = self.pods[(namespace, name)]
        pod["metadata"].setdefault("annotations", {}).update(
            body.get("metadata", {}).get("annotations", {}))
        return copy.deepcopy(pod)

    def replace_namespaced_pod_status(self, name: str, namespace: str, body: Any,
                                      **_: Any) -> Any:  # fmt: skip
        pod = self.pods[(namespace, name)]
        pod["status"] = copy.deepcopy(body["status"])
        self.writes.append(copy.deepcopy(pod))
        return copy.deepcopy(pod)

    def create_namespaced_event(self, namespace: str, body: Any, **_: Any) -> Any:
        self.events[(namespace, body["metadata"]["name"])] = copy.deepcopy(body)
        return copy.deepcopy(body)

    def patch_namespaced_event(self, name: str, namespace: str, body: Any, **_: Any) -> Any:
        ev = self.events[(namespace, name)]
        ev.update(copy.deepcopy(body))
        return copy.deepcopy(ev)

    def kubelet_events(self, pod: str) -> list[tuple[str, str, int, str]]:
        return [(e["type"], e["reason"], e["count"], e["message"]) for e in self.events.values()
                if e["involvedObject"]["name"] == pod]


def _shape(state: dict[str, Any]) -> str:
    """A state as the comparison reads it: its kind, an exit's code and reason, a
    CrashLoopBackOff's back-off."""
    (kind, body), = state.items()
    if kind == "terminated":
        return f"terminated {body['reason']}"
    if kind == "waiting":
        reason = body.get("reason", "")
        if reason == "CrashLoopBackOff":
            return f"{reason} {body['message'].split(' restarting')[0]}"
        return str(reason)
    return str(kind)


def _observed_steps(pod: str) -> list[tuple[int, str]]:
    return [(restarts, _shape(state)) for restarts, state in TIMELINE[pod]
            if _shape(state) != "ContainerCreating"]  # kwok's part, before the kit's


def _written_steps(core: MemoryCore) -> list[tuple[int, str]]:
    steps = []
    for pod in core.writes:
        (cs,) = pod["status"]["containerStatuses"]
        step = (cs["restartCount"], _shape(cs["state"]))
        if not steps or steps[-1] != step:
            steps.append(step)
    return steps


def _final_restarts(pod: str) -> int:
    return int(OBSERVED_PODS[pod]["status"]["restartCount"])


# ------------------------------------------------------------------------ the sequences


@pytest.mark.parametrize(("pod", "drive"), [
    ("crash", lambda core, p, n: kubelet.crash_loop(core, p, "app", exit_code=3, restarts=n)),
    ("oom", lambda core, p, n: kubelet.oom_kill(core, p, "app", restarts=n)),
])
def test_a_crash_loop_goes_through_the_states_the_real_node_showed(pod, drive) -> None:
    """running, terminated, and CrashLoopBackOff only from the second exit on and, from the
    third, only just before the next start: change for change as a watch saw it."""
    core = MemoryCore()
    core.add_pod(pod, {})
    drive(core, (NS, pod), _final_restarts(pod))
    assert _written_steps(core) == _observed_steps(pod)


@pytest.mark.parametrize(("pod", "probe"), [
    ("liveness404", {"httpGet": {"path": "/healthz", "port": 8080}}),
    ("refused", {"tcpSocket": {"port": 5432}}),
])
def test_liveness_kills_go_through_the_states_the_real_node_showed(pod, probe) -> None:
    """Killed twice and started again at once, then CrashLoopBackOff 10s, 20s, ... before
    each start; the app's own exit on SIGTERM (0, Completed) as lastState."""
    core = MemoryCore()
    core.add_pod(pod, {"livenessProbe": {**probe, "periodSeconds": 2, "failureThreshold": 2}})
    real = OBSERVED_PODS[pod]["status"]
    out = kubelet.liveness_kill(core, (NS, pod), "app", kills=real["restartCount"] + 1,
                                failures=2)  # fmt: skip
    assert _written_steps(core) == _observed_steps(pod)
    (cs,) = out["status"]["containerStatuses"]
    term, real_term = cs["lastState"]["terminated"], real["lastState"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (real_term["exitCode"], real_term["reason"])


# ------------------------------------------------------------------------ the fields


def _keys(cs: dict[str, Any]) -> dict[str, Any]:
    """The status's field names, and those of its states, nested."""
    return {k: sorted(v) if isinstance(v, dict) and k in ("user", "resources") else
            ({kind: sorted(body) for kind, body in v.items()} if k in ("state", "lastState")
             else None) for k, v in cs.items()}  # fmt: skip


def test_a_crashed_containers_status_has_the_real_fields() -> None:
    core = MemoryCore()
    core.add_pod("oom", {"resources": {"limits": {"memory": "32Mi"},
                                       "requests": {"memory": "32Mi"}}})  # fmt: skip
    out = kubelet.oom_kill(core, (NS, "oom"), "app", restarts=5)
    (cs,) = out["status"]["containerStatuses"]
    real = OBSERVED_PODS["oom"]["status"]
    assert _keys(cs) == _keys(real)
    for key in ("allocatedResources", "resources", "user"):
        assert cs[key] == real[key], key
    assert [{k: v for k, v in m.items() if k != "name"} for m in cs["volumeMounts"]] == [
        {k: v for k, v in m.items() if k != "name"} for m in real["volumeMounts"]]
    assert cs["containerID"] == cs["state"]["terminated"]["containerID"]
    assert cs["containerID"] != cs["lastState"]["terminated"]["containerID"]


@pytest.mark.parametrize(("pod", "drive"), [
    ("cm-missing", lambda core, p: kubelet.config_error(core, p, "app", kind="configmap",
                                                        name="nope")),
    ("missing-tag", lambda core, p: kubelet.image_pull_error(core, p, "app")),
])
def test_a_container_that_never_ran_has_the_real_fields(pod, drive) -> None:
    core = MemoryCore()
    core.add_pod(pod, {})
    (cs,) = drive(core, (NS, pod))["status"]["containerStatuses"]
    real = OBSERVED_PODS[pod]["status"]
    assert _keys(cs) == _keys(real)
    assert cs["imageID"] == "" and cs["image"] == core.pods[(NS, pod)]["spec"][
        "containers"][0]["image"]


# ------------------------------------------------------------------------ the texts


def _generic(message: str) -> str:
    """A message with what differs between two runs taken out: image references, pod
    references, durations, sizes, IPs."""
    message = re.sub(r'"[^"\s]*(?:/|sha256:)[^"\s]*"', '"IMAGE"', message)
    message = re.sub(r"\S+_facts\([0-9a-f-]{36}\)", "POD", message)
    message = re.sub(r"\d+(?:\.\d+)?m?s\b", "DURATION", message)
    message = re.sub(r"\d+(?:\.\d+){3}(:\d+)?", "IP", message)
    return re.sub(r"Image size: \d+ bytes", "Image size: N bytes", message)


def _event_texts(events: list[tuple[str, str, int, str]]) -> set[tuple[str, str, str]]:
    return {(type_, reason, _generic(message)) for type_, reason, _, message in events}


@pytest.mark.parametrize(("pod", "drive", "spec"), [
    ("crash", lambda core, p: kubelet.crash_loop(core, p, "app", exit_code=3, restarts=5),
     {}),
    ("liveness404", lambda core, p: kubelet.liveness_kill(core, p, "app", kills=7), {
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}}),
    ("refused", lambda core, p: kubelet.liveness_kill(core, p, "app", kills=7), {
        "livenessProbe": {"tcpSocket": {"port": 5432}}}),
    ("cm-key", lambda core, p: kubelet.config_error(core, p, "app", kind="configmap",
                                                    name="app-config", key="DATABASE_URL"), {}),
    ("secret-missing", lambda core, p: kubelet.config_error(core, p, "app", kind="secret",
                                                            name="nope"), {}),
    ("missing-tag", lambda core, p: kubelet.image_pull_error(core, p, "app"), {}),
    ("unauthorized", lambda core, p: kubelet.image_pull_error(core, p, "app",
                                                              kind="unauthorized"), {}),
])
def test_the_kubelet_events_say_what_the_real_ones_said(pod, drive, spec) -> None:
    """Type, reason and message of every kubelet Event (first pull ``Pulling`` and
    ``Successfully pulled ... in Xs (Xs including waiting). Image size: N bytes.``, then
    ``already present ... can be accessed by the pod``, ``Container created``, ``Container
    started``, ``Unhealthy``, ``Killing``, ``BackOff``, ``Failed``), the same set both ways."""
    core = MemoryCore()
    seen = OBSERVED_PODS[pod]["events"]
    real = OBSERVED_PODS[pod]["status"]
    spec = {**spec, "image": real["imageID"] or real["image"]}
    if not any(reason == "Pulling" for _, reason, _, _ in seen):
        # the real node had the image already (another pod pulled it): so has this one
        core.add_pod("warm", {"image": spec["image"]})
        kubelet.recover(core, (NS, "warm"), "app")
    core.add_pod(pod, spec)
    drive(core, (NS, pod))
    assert _event_texts(core.kubelet_events(pod)) == _event_texts(OBSERVED_PODS[pod]["events"])


@pytest.mark.parametrize(("pod", "kind"), [("missing-tag", "notfound"),
                                           ("unauthorized", "unauthorized")])
def test_containerd_2_pull_errors_word_for_word(pod, kind) -> None:
    """ErrImagePull with containerd's error (no ``rpc error`` prefix for the credentials
    case), then ImagePullBackOff carrying it: every state the real node alternated between."""
    image = OBSERVED_PODS[pod]["status"]["image"]
    core = MemoryCore()
    core.add_pod(pod, {"image": image})
    kubelet.image_pull_error(core, (NS, pod), "app", kind=kind)
    written = [p["status"]["containerStatuses"][0]["state"] for p in core.writes]
    real = [state for _, state in TIMELINE[pod] if _shape(state) != "ContainerCreating"]
    assert written == real[:2]
    assert {_key(s) for s in written} == {_key(s) for s in real}


def _key(state: dict[str, Any]) -> str:
    return repr(sorted(state["waiting"].items()))


@pytest.mark.parametrize(("pod", "kind", "name", "key"), [
    ("cm-missing", "configmap", "nope", None),
    ("cm-key", "configmap", "app-config", "DATABASE_URL"),
    ("secret-missing", "secret", "nope", None),
    ("secret-key", "secret", "app-secrets", "DATABASE_URL"),
])
def test_config_errors_word_for_word(pod, kind, name, key) -> None:
    core = MemoryCore()
    core.add_pod(pod, {})
    (cs,) = kubelet.config_error(core, (NS, pod), "app", kind=kind, name=name, key=key)[
        "status"]["containerStatuses"]
    assert cs["state"] == OBSERVED_PODS[pod]["status"]["state"]


# ------------------------------------------------------------------------ pods/log


@pytest.mark.parametrize(("pod", "drive"), [
    ("crash", lambda core, p, d: kubelet.crash_loop(core, p, "app", exit_code=3, restarts=5,
                                                    log="FATAL: boom\n", logs_dir=d)),
    ("liveness404", lambda core, p, d: kubelet.liveness_kill(
        core, p, "app", kills=7, log="listening on :8080\n", logs_dir=d)),
    ("cm-missing", lambda core, p, d: kubelet.config_error(core, p, "app", kind="configmap",
                                                           name="nope")),
    ("missing-tag", lambda core, p, d: kubelet.image_pull_error(core, p, "app")),
])
def test_pods_log_answers_as_the_real_kubelet_did(pod, drive, tmp_path: Path) -> None:
    """Per ``previous``: the HTTP status and the kind of body (the app's log, the kubelet's
    ``unable to retrieve container logs for containerd://<id>`` for a gone instance, or the
    API server's 400 text)."""
    core = MemoryCore()
    core.add_pod(pod, {})
    out = drive(core, (NS, pod), tmp_path)
    src = DirectoryLogSource(tmp_path)
    for previous in (True, False):
        got: PodLogAnswer = src.pods_log(out, "app", previous=previous)
        status, body = OBSERVED_PODS[pod]["logs"][previous]
        assert got.status == status, previous
        if body.startswith("unable to retrieve container logs for containerd://"):
            assert re.fullmatch(r"unable to retrieve container logs for containerd://[0-9a-f]{64}",
                                got.body), got.body
        elif status == 400:
            assert got.body == body, previous
        else:
            assert got.body and not got.body.startswith("unable to retrieve"), previous


def test_a_status_write_retried_after_a_conflict_keeps_what_was_asked() -> None:
    """A status written while crashwatch annotates the pod meets a 409; the retry once
    dropped the phase, the conditions and the extra statuses it was asked to write (an init
    container's Completed), so the pod kept looking stuck."""
    from kubernetes.client.exceptions import ApiException  # noqa: PLC0415

    class Conflicting(MemoryCore):
        conflicts = 1

        def replace_namespaced_pod_status(self, name: str, namespace: str, body: Any,
                                          **kw: Any) -> Any:  # fmt: skip
            if self.conflicts:
                self.conflicts -= 1
                raise ApiException(status=409, reason="Conflict")
            return super().replace_namespaced_pod_status(name, namespace, body, **kw)

    core = Conflicting()
    pod = core.add_pod("p", {})
    done = {"name": "init", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    conds = [{"type": "Initialized", "status": "True"}]
    kubelet._write_status(core, pod, "app", None, phase="Succeeded", conditions=conds,
                          extra={"initContainerStatuses": [done]})
    (written,) = core.writes
    assert written["status"]["phase"] == "Succeeded"
    assert written["status"]["initContainerStatuses"] == [done]
    assert written["status"]["conditions"] == conds
