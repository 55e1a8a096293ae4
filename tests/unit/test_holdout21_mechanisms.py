"""The mechanisms holdout round 21 of eval/realworld asked for (README, "Holdout round 21"):
security contexts and admission, wrong commands, arguments and config files, process and
kernel limits.

Every log and message is quoted from the public thread cited next to it; invented text says
so.
"""

from __future__ import annotations

import kube as k
from helpers import evidence_text, only, run

from crashwatch.diagnosis.logcause import read_crash
from crashwatch.model import Reason

# https://github.com/grafana/loki/issues/16990
LOKI = (
    "failed parsing config: /etc/loki/local-config.yaml: yaml: unmarshal errors:\n"
    "  line 29: field metric_aggregation_enabled not found in type validation.plain\n"
    "  line 43: field metric_aggregation not found in type pattern.Config\n"
    "  line 54: field enable_multi_variant_queries not found in type logql.EngineOpts.\n"
)


def test_an_indented_item_is_told_with_the_heading_that_names_its_file(crashing) -> None:
    telling = read_crash(LOKI).telling
    assert telling[0].startswith("line 29: field metric_aggregation_enabled not found")
    assert telling[1] == ("failed parsing config: /etc/loki/local-config.yaml: yaml: "
                          "unmarshal errors:")
    f = only(run(*crashing(LOKI)))
    assert f.reason is Reason.APP_ERROR
    assert "/etc/loki/local-config.yaml" in evidence_text(f)


def test_a_heading_that_names_nothing_is_not_added() -> None:
    # invented: a bare heading adds no fact
    log = "Errors:\n  line 29: field metric_aggregation_enabled not found in type x.plain\n"
    assert read_crash(log).telling == [
        "line 29: field metric_aggregation_enabled not found in type x.plain"]


# https://github.com/kubernetes-sigs/security-profiles-operator/issues/878
SECCOMP = (
    'failed to generate security options for container "test-container": failed to generate '
    "seccomp security options for container: cannot load seccomp profile "
    '"/var/lib/kubelet/seccomp/operator/profiles/audit.json": open '
    "/var/lib/kubelet/seccomp/operator/profiles/audit.json: no such file or directory"
)
# https://github.com/cilium/cilium/issues/32198
APPARMOR = ("applying apparmor profile to container 43ed6b4ba299559e8eac46a32f3246d9c54aca71a9b"
            "460576828b662147558fa: empty localhost AppArmor profile is forbidden")


def test_a_seccomp_profile_the_node_lacks_is_a_security_context_cause() -> None:
    c = k.container(name="test-container", securityContext={"seccompProfile": {
        "type": "Localhost", "localhostProfile": "operator/profiles/audit.json"}})
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.waiting_status(c, "CreateContainerError", SECCOMP)]
    f = only(run([p]))
    assert f.reason is Reason.SECURITY_CONTEXT
    assert "the seccomp profile /var/lib/kubelet/seccomp/operator/profiles/audit.json" in f.summary
    assert f.details["path"] == "/var/lib/kubelet/seccomp/operator/profiles/audit.json"
    assert any("securityContext.seccompProfile" in e and "Localhost" in e for e in f.evidence)


def test_an_apparmor_profile_the_kubelet_forbids_is_a_security_context_cause() -> None:
    init, main = k.container(name="mount-cgroup"), k.container()
    p = k.pod(containers=[main], init_containers=[init], phase="Pending")
    p["status"]["initContainerStatuses"] = [
        k.waiting_status(init, "CreateContainerError", APPARMOR)]
    p["status"]["containerStatuses"] = [k.waiting_status(main, "PodInitializing")]
    f = only(run([p]))
    assert f.reason is Reason.SECURITY_CONTEXT
    assert f.container == "mount-cgroup"
    assert "AppArmor profile" in f.summary
    assert "empty localhost AppArmor profile is forbidden" in f.summary


def test_other_create_errors_keep_their_code() -> None:
    # https://github.com/kubernetes/minikube/issues/12705: a privileged container's caps
    caps = ('container create failed: time="2021-10-11T08:28:03Z" level=error '
            'msg="container_linux.go:380: starting container process caused: apply caps: '
            'operation not permitted"')
    c = k.container()
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.waiting_status(c, "CreateContainerError", caps)]
    assert only(run([p])).reason is Reason.CREATE_CONTAINER_ERROR


# https://github.com/nats-nui/k8s/issues/6
NUI = (
    "chown: /db/lost+found: Operation not permitted\n"
    "chown: /db/lost+found: Operation not permitted\n"
    "chown: /db: Operation not permitted\n"
    "chown: /db: Operation not permitted\n"
    "su: must be suid to work properly\n"
)


def test_su_that_may_not_become_root_is_the_exit_and_the_denied_path_stays(crashing) -> None:
    f = only(run(*crashing(NUI)))
    assert f.reason is Reason.PERMISSION_DENIED
    text = evidence_text(f)
    assert "su: must be suid to work properly" in text
    assert "chown: /db: Operation not permitted" in text


def test_sudo_under_no_new_privileges_is_a_denial(crashing) -> None:
    # sudo's own words under allowPrivilegeEscalation: false (invented log around them)
    log = ('starting\nsudo: The "no new privileges" flag is set, which prevents sudo from '
           "running as root.\n")
    assert only(run(*crashing(log))).reason is Reason.PERMISSION_DENIED


# https://github.com/Mirantis/cri-dockerd/issues/189
HAPROXY_FD = "[ALERT]    (1) : [haproxy.main()] Cannot raise FD limit to 200052, limit is 65535.\n"


def test_haproxy_that_cannot_raise_its_fd_limit_hit_the_open_files_limit(crashing) -> None:
    f = only(run(*crashing(HAPROXY_FD)))
    assert f.reason is Reason.TOO_MANY_OPEN_FILES
    assert "Cannot raise FD limit to 200052, limit is 65535" in evidence_text(f)


# https://github.com/arkmq-org/arkmq-org-broker-operator/issues/1071
ARTEMIS = (
    "Executing entrypoint\n"
    "exec /home/activemq-artemis-operator/bin/activemq-artemis-operator\n"
    "runtime/cgo: pthread_create failed: Operation not permitted\n"
    "SIGABRT: abort\n"
    "PC=0x7fc111e74a6c m=0 sigcode=18446744073709551610\n"
)


def test_a_thread_the_kernel_refused_is_no_denied_file(crashing) -> None:
    f = only(run(*crashing(ARTEMIS, exit_code=2)))
    assert f.reason is Reason.APP_ERROR
    assert "pthread_create failed: Operation not permitted" in f.summary
    # a file the same words deny is still a denial (invented)
    g = only(run(*crashing("open /data/x: operation not permitted\n")))
    assert g.reason is Reason.PERMISSION_DENIED


# https://github.com/bitnami/charts/issues/13830
RABBITMQ = (
    "==> ** RabbitMQ setup finished! **\n"
    "==> No custom scripts in /docker-entrypoint-initdb.d\n"
    "\n"
    "==> ** Starting RabbitMQ **\n"
    "Failed to create poll thread\n"
    "Aborted\n"
)


def test_a_thread_that_could_not_be_created_tells_more_than_a_path(crashing) -> None:
    f = only(run(*crashing(RABBITMQ, exit_code=134)))
    assert f.reason is Reason.APP_ERROR
    assert f.summary.endswith(": Failed to create poll thread")


# https://github.com/nats-io/nack/issues/264
NATS_RELOADER = ("2025/07/07 10:13:59 Starting NATS Server Reloader v0.16.0   "
                 "Error: no space left on device\n")


def test_enospc_naming_no_file_from_a_file_watcher_is_its_watch_limit(crashing) -> None:
    f = only(run(*crashing(NATS_RELOADER, name="reloader")))
    assert f.reason is Reason.TOO_MANY_OPEN_FILES
    # a full disk that names its file stays one, watcher or not (invented)
    full = ("Starting config reloader\n"
            "write /data/wal/000123: no space left on device\n")
    assert only(run(*crashing(full))).reason is Reason.DISK_FULL
    # and no watcher: a disk (invented)
    assert only(run(*crashing("Error: no space left on device\n"))).reason is Reason.DISK_FULL
