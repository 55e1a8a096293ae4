"""Entrypoints that cannot run, and probes: liveness kills and readiness failures."""

import kube as k
from helpers import evidence_text, only, run

from crashwatch.model import Confidence, Reason


def _crash(c, term, events=(), log=None):
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, term, restarts=4)]
    evs = [e(p) for e in events]
    logs = {("shop", p["metadata"]["name"], c["name"]): log} if log else None
    return [p, *evs], logs


def test_start_error_executable_not_found():
    msg = ('failed to create containerd task: failed to create shim task: OCI runtime create '
           'failed: runc create failed: unable to start container process: exec: "gunicorn": '
           'executable file not found in $PATH: unknown')
    objs, _ = _crash(k.container(command=["gunicorn", "app:app"]),
                     k.terminated("StartError", 128, ran_for=0, message=msg))
    f = only(run(objs))
    assert f.reason is Reason.COMMAND_NOT_FOUND
    assert f.details["command"] == "gunicorn"
    assert "executable file not found" in evidence_text(f)


def test_start_error_no_such_file():
    msg = ("failed to create containerd task: failed to create shim task: OCI runtime create "
           "failed: runc create failed: unable to start container process: error during "
           "container init: exec: \"/app/run\": stat /app/run: no such file or directory: unknown")
    objs, _ = _crash(k.container(), k.terminated("StartError", 128, ran_for=0, message=msg))
    f = only(run(objs))
    assert f.reason is Reason.COMMAND_NOT_FOUND
    assert f.details["command"] == "/app/run"


def test_start_error_permission_denied():
    msg = ("failed to create containerd task: failed to create shim task: OCI runtime create "
           "failed: runc create failed: unable to start container process: exec: "
           "\"/docker-entrypoint.sh\": permission denied: unknown")
    objs, _ = _crash(k.container(), k.terminated("StartError", 128, ran_for=0, message=msg))
    f = only(run(objs))
    assert f.reason is Reason.PERMISSION_DENIED
    assert f.details["command"] == "/docker-entrypoint.sh"


def test_exit_127_from_a_shell_names_the_command():
    log = "/docker-entrypoint.sh: line 12: bundle: command not found\n"
    objs, logs = _crash(k.container(command=["/docker-entrypoint.sh"]),
                        k.terminated("Error", 127), log=log)
    f = only(run(objs, logs))
    assert f.reason is Reason.COMMAND_NOT_FOUND
    assert f.details["command"] == "bundle"


def test_exit_126_without_log_is_permission_denied():
    objs, _ = _crash(k.container(command=["/app/start.sh"]), k.terminated("Error", 126))
    f = only(run(objs))
    assert f.reason is Reason.PERMISSION_DENIED
    assert f.details["command"] == "/app/start.sh"


def _liveness(status_code=404):
    probe = {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
             "periodSeconds": 10, "failureThreshold": 3, "timeoutSeconds": 1}
    return k.container(livenessProbe=probe)


def test_liveness_kill_gives_status_code():
    c = _liveness()
    objs, _ = _crash(c, k.terminated("Error", 137, ran_for=35), events=[
        lambda p: k.event(p, "Unhealthy",
                          "Liveness probe failed: HTTP probe failed with statuscode: 404",
                          container_name="app", count=12),
        lambda p: k.event(p, "Killing", "Container app failed liveness probe, will be restarted",
                          type_="Normal", container_name="app", count=4),
    ])
    f = only(run(objs))
    assert f.reason is Reason.LIVENESS_PROBE
    assert f.details["statusCode"] == 404
    assert "404" in evidence_text(f) and "/healthz" in evidence_text(f)
    assert f.confidence is Confidence.HIGH


def test_liveness_kill_of_sidecar_with_refused_port():
    app = k.container()
    proxy = k.container(name="cloud-sql-proxy", image="gcr.io/cloud-sql-connectors/proxy:2.8.0",
                        livenessProbe={"tcpSocket": {"port": 9801}})
    p = k.pod(containers=[app, proxy])
    p["status"]["containerStatuses"] = [
        k.running_status(app),
        k.running_status(proxy, started_ago=20, ready=False, restarts=7,
                         last=k.terminated("Error", 137, finished_ago=21, ran_for=40)),
    ]
    evs = [
        k.event(p, "Unhealthy", 'Liveness probe failed: dial tcp 10.8.0.5:9801: connect: '
                "connection refused", container_name="cloud-sql-proxy", count=21),
        k.event(p, "Killing", "Container cloud-sql-proxy failed liveness probe, will be "
                "restarted", type_="Normal", container_name="cloud-sql-proxy", count=7),
    ]
    f = only(run([p, *evs]))
    assert f.container == "cloud-sql-proxy"
    assert f.reason is Reason.LIVENESS_PROBE
    assert f.details["refusedPort"] == 9801
    assert "9801" in evidence_text(f)


def test_app_that_crashes_by_itself_is_not_blamed_on_its_probe():
    c = _liveness()
    objs, logs = _crash(c, k.terminated("Error", 1), events=[
        lambda p: k.event(p, "Unhealthy",
                          "Liveness probe failed: HTTP probe failed with statuscode: 503",
                          container_name="app", count=2),
    ], log="KeyError: 'SECRET_KEY'\n")
    assert only(run(objs, logs)).reason is Reason.MISSING_ENV


def test_readiness_failing_gives_status_code():
    c = k.container(readinessProbe={"httpGet": {"path": "/ready", "port": "http"}})
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.running_status(c, started_ago=900, ready=False)]
    ev = k.event(p, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503",
                 container_name="app", count=88)
    f = only(run([p, ev]))
    assert f.reason is Reason.READINESS_FAILING
    assert f.details["statusCode"] == 503
    assert f.details["target"] == "HTTP GET :8080 (http)/ready"


def test_readiness_probe_timeout():
    c = k.container(readinessProbe={"httpGet": {"path": "/ready", "port": 8080}})
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.running_status(c, started_ago=900, ready=False)]
    ev = k.event(p, "Unhealthy", 'Readiness probe failed: Get "http://10.8.0.5:8080/ready": '
                 "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                 container_name="app", count=30)
    f = only(run([p, ev]))
    assert f.reason is Reason.READINESS_FAILING and f.details["timeout"] is True


def test_just_started_unready_container_without_failures_is_starting():
    c = k.container(readinessProbe={"httpGet": {"path": "/ready", "port": 8080}})
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.running_status(c, started_ago=5, ready=False)]
    assert run([p]) == []


def test_old_readiness_events_of_a_ready_container_are_history():
    c = k.container(readinessProbe={"httpGet": {"path": "/ready", "port": 8080}})
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.running_status(c, started_ago=900, ready=True)]
    ev = k.event(p, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503",
                 container_name="app", count=3, last_ago=800)
    assert run([p, ev]) == []


def test_exit_127_shell_exec_names_the_missing_binary():
    log = "/bin/sh: 1: exec: /usr/local/bin/node-agent: not found\n"
    objs, logs = _crash(k.container(command=["/bin/sh", "-c", "exec /usr/local/bin/node-agent"]),
                        k.terminated("Error", 127), log=log)
    f = only(run(objs, logs))
    assert f.reason is Reason.COMMAND_NOT_FOUND
    assert f.details["command"] == "/usr/local/bin/node-agent"


def test_exit_126_shell_permission_denied_names_the_script():
    log = "/bin/sh: 1: /app/start.sh: Permission denied\n"
    objs, logs = _crash(k.container(command=["/bin/sh", "-c", "/app/start.sh"]),
                        k.terminated("Error", 126), log=log)
    f = only(run(objs, logs))
    assert f.reason is Reason.PERMISSION_DENIED
    assert f.details["command"] == "/app/start.sh"
    assert "/app/start.sh" in evidence_text(f)


def _slow_start(seconds_running: float, message: str, probe: dict | None = None):
    c = k.container(readinessProbe=probe or {"httpGet": {"path": "/ready", "port": 8080},
                                             "periodSeconds": 10, "failureThreshold": 3})
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.running_status(c, started_ago=seconds_running,
                                                         ready=False)]
    ev = k.event(p, "Unhealthy", message, container_name="app", count=3, last_ago=1,
                 first_ago=seconds_running)
    return [p, ev]


REFUSED = ('Readiness probe failed: Get "http://10.244.0.7:8080/ready": dial tcp '
           "10.244.0.7:8080: connect: connection refused")


def test_a_slow_start_whose_first_readiness_probes_are_refused_is_no_failure():
    """Real apps take seconds to listen; the kubelet's first readiness probes are refused
    meanwhile (the real-node tier saw ReadinessFailing published, then recovered 0.3-3 s
    later, for crashwatch's own pod on every install)."""
    assert run(_slow_start(8, REFUSED)) == []
    # still refused a minute later (twice the probe's 30 s allowance): that is news
    late = run(_slow_start(75, REFUSED))
    assert [f.reason.value for f in late] == ["Probe.ReadinessFailing"]


def test_an_app_that_answers_not_ready_is_news_once_its_probe_gives_up():
    not_ready = "Readiness probe failed: HTTP probe failed with statuscode: 503"
    assert run(_slow_start(20, not_ready)) == []  # within 10 s x 3
    assert [f.reason.value for f in run(_slow_start(35, not_ready))] == [
        "Probe.ReadinessFailing"]
