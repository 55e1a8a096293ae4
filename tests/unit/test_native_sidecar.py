"""Native sidecars (an init container with ``restartPolicy: Always``, GA in Kubernetes 1.33):
the kubelet starts them before the app and restarts them beside it, so a crash-looping
sidecar leaves the pod Running and its app containers ready. Only the sidecar's own status,
in ``initContainerStatuses``, shows it. Before, such a pod passed the quick "running, every
container ready, never restarted" look and was never diagnosed."""

from typing import Any

import kube as k
from helpers import evidence_text, only, run

from crashwatch.diagnosis.engine import is_quiet_status
from crashwatch.model import Reason

ENVOY = "error initializing configuration '/etc/envoy/envoy.yaml': Unable to parse JSON as proto"


def _sidecar(**extra: Any) -> dict[str, Any]:
    return k.container(name="proxy", image="envoyproxy/envoy:v1.30.1", restartPolicy="Always",
                       **extra)


def _pod(proxy: dict[str, Any], proxy_status: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    app = k.container()
    p = k.pod(containers=[app], init_containers=[proxy])
    p["status"]["containerStatuses"] = [k.running_status(app)]
    p["status"]["initContainerStatuses"] = [proxy_status(p) if callable(proxy_status)
                                            else proxy_status]
    return p, app


def _logs(p: dict[str, Any], text: str) -> dict[tuple[str, str, str], str]:
    return {("shop", p["metadata"]["name"], "proxy"): text}


def test_a_crash_looping_sidecar_beside_a_ready_app_is_diagnosed():
    proxy = _sidecar()
    p, _ = _pod(proxy, lambda p: k.crashloop_status(proxy, p, k.terminated("Error", 1),
                                                    restarts=7))
    assert not is_quiet_status(p["status"])
    f = only(run([p], _logs(p, ENVOY)))
    assert (f.container, f.reason) == ("proxy", Reason.APP_ERROR)
    assert f.summary.startswith("Sidecar container proxy ")
    assert f.details["initContainer"] is True and f.details["sidecar"] is True
    assert "/etc/envoy/envoy.yaml" in evidence_text(f)


def test_a_sidecar_between_restarts_on_a_1_36_kubelet_is_diagnosed():
    """From the third exit on a 1.36 kubelet leaves the state ``terminated`` for the back-off."""
    proxy = _sidecar()
    p, _ = _pod(proxy, k.crashed_status(proxy, k.terminated("Error", 1), restarts=5))
    f = only(run([p], _logs(p, ENVOY)))
    assert (f.container, f.reason) == ("proxy", Reason.APP_ERROR)
    assert f.summary.startswith("Sidecar container proxy ")


def test_a_sidecar_the_kubelet_keeps_killing_for_its_liveness_probe():
    proxy = _sidecar(livenessProbe={"tcpSocket": {"port": 15021}, "periodSeconds": 2,
                                    "failureThreshold": 2})
    p, _ = _pod(proxy, lambda p: k.crashloop_status(proxy, p, k.terminated("Error", 2,
                                                                           ran_for=5)))
    evs = [k.event(p, "Unhealthy", "Liveness probe failed: dial tcp 10.8.0.5:15021: connect: "
                   "connection refused", container_name="proxy", init=True, count=14),
           k.event(p, "Killing", "Container proxy failed liveness probe, will be restarted",
                   type_="Normal", container_name="proxy", init=True, count=7)]
    f = only(run([p, *evs]))
    assert (f.container, f.reason) == ("proxy", Reason.LIVENESS_PROBE)
    assert "killing sidecar container proxy" in f.summary
    assert "15021" in evidence_text(f)


def test_a_running_sidecar_that_never_gets_ready_is_a_readiness_failure():
    """A sidecar's readiness counts toward the pod's (a regular init container has none)."""
    proxy = _sidecar(readinessProbe={"httpGet": {"path": "/ready", "port": 15021}})
    p, _ = _pod(proxy, k.running_status(proxy, started_ago=900, ready=False))
    ev = k.event(p, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503",
                 container_name="proxy", init=True, count=88)
    assert not is_quiet_status(p["status"])
    f = only(run([p, ev]))
    assert (f.container, f.reason) == ("proxy", Reason.READINESS_FAILING)
    assert f.details["statusCode"] == 503


def test_a_healthy_sidecar_and_a_completed_init_container_are_quiet():
    proxy = _sidecar()
    migrate = k.container(name="migrate")
    app = k.container()
    p = k.pod(containers=[app], init_containers=[migrate, proxy])
    p["status"]["containerStatuses"] = [k.running_status(app)]
    p["status"]["initContainerStatuses"] = [
        k.ran(migrate, {"name": "migrate", "ready": True, "restartCount": 0, "started": False,
                        "lastState": {},
                        "state": {"terminated": k.terminated("Completed", 0, finished_ago=7000,
                                                             ran_for=5)},
                        "containerID": k.container_id("migrate")}),
        k.running_status(proxy, started_ago=7000),
    ]
    assert is_quiet_status(p["status"])
    assert run([p]) == []


def test_a_sidecar_that_restarted_long_ago_and_runs_is_no_finding():
    """One restart hours ago, running and ready since: history, not a crash loop."""
    proxy = _sidecar()
    p, _ = _pod(proxy, k.running_status(proxy, started_ago=5000, restarts=1,
                                        last=k.terminated("Error", 1, finished_ago=5001)))
    assert not is_quiet_status(p["status"])  # a closer look, which finds nothing
    assert run([p], _logs(p, ENVOY)) == []


def test_a_regular_init_container_failing_keeps_its_wording():
    init = k.container(name="migrate")
    app = k.container()
    p = k.pod(containers=[app], init_containers=[init], phase="Pending")
    p["status"]["initContainerStatuses"] = [k.crashloop_status(init, p, k.terminated("Error", 1))]
    p["status"]["containerStatuses"] = [k.waiting_status(app, "PodInitializing")]
    f = only(run([p], {("shop", p["metadata"]["name"], "migrate"): "FATAL: boom"}))
    assert f.summary.startswith("Init container migrate ")
    assert "sidecar" not in f.details
