"""Mechanisms the sixth real-world holdout round (eval/realworld, "Holdout round 6") showed
missing: the probe failure behind a kill (not a later one), tini's ``exec x failed: No such
file or directory``, a directory said not to be writable, a wrapper's words followed by what
failed, Elasticsearch's ``Unable to access 'path.logs'``, the same error about several paths,
ClickHouse's numbered frames, a bare ``Warning:`` label, a name that does not resolve with
the name on the line above, MinIO's ``file access denied``, Go's HTTP client timing out,
details under a heading that are not indented, the errno a line above says, a time's
milliseconds read as an HTTP status, and a wrapped record's severity (CloudNativePG).

Log text quoted from public threads carries the thread's URL next to it.
"""

from __future__ import annotations

import kube as k
import pytest
from helpers import evidence_text, generic_reading, generic_reason, only, run

from crashwatch.diagnosis import chains
from crashwatch.diagnosis.evidence import TELLING
from crashwatch.diagnosis.logcause import read_crash
from crashwatch.diagnosis.logread import Level, read_log
from crashwatch.model import Reason

# https://github.com/helm/charts/issues/10491
LOGSTASH = (
    "Sending Logstash logs to /usr/share/logstash/logs which is now configured via "
    "log4j2.properties\n"
    "[2019-01-09T05:27:37,011][FATAL][logstash.runner          ] An unexpected error occurred! "
    '{:error=>#<ArgumentError: Path "/usr/share/logstash/data" must be a writable directory. It '
    "is not writable.>\n")
# https://github.com/grafana/helm-charts/issues/3699
CHOWN = ("chown: /var/lib/grafana/csv: Permission denied\n"
         "chown: /var/lib/grafana/png: Permission denied\n"
         "chown: /var/lib/grafana/pdf: Permission denied\n")
# https://github.com/Altinity/clickhouse-operator/issues/717
CLICKHOUSE = (
    " <Error> Application: Caught exception while loading metadata: Code: 62, e.displayText() = "
    "DB::Exception: Incorrect user[:password]@host:port#default_database format detached, Stack "
    "trace (when copying this message, always include the lines below):\n"
    "\n"
    "0. Poco::Exception::Exception(std::__1::basic_string<char, std::__1::char_traits<char>, "
    "std::__1::allocator<char> > const&, int) @ 0x12723a80 in /usr/bin/clickhouse\n"
    "1. DB::Exception::Exception(std::__1::basic_string<char, std::__1::char_traits<char>, "
    "std::__1::allocator<char> > const&, int) @ 0xa3f52bd in /usr/bin/clickhouse\n"
    "2. ? @ 0xf291887 in /usr/bin/clickhouse\n")
# https://github.com/helm/charts/issues/14766
SENTINEL = (
    "Getting information about current running sentinels\n"
    "Warning: Using a password with '-a' or '-u' option on the command line interface may not be "
    "safe.\n"
    "\n"
    "*** FATAL CONFIG FILE ERROR ***\n"
    "Reading the configuration file, at line 4\n"
    ">>> 'sentinel monitor michele-test-redis-master michele-test-redis-master-0.michele-test-"
    "redis-headless.default.svc.cluster.local 6379 2'\n"
    "Can't resolve master instance hostname.\n")
# https://github.com/aws/aws-app-mesh-controller-for-k8s/issues/260
APPMESH = (
    'E0608 18:51:04.249990       1 leaderelection.go:320] error retrieving resource lock '
    'appmesh-system/f4abe831.k8s.aws: Get "https://10.100.0.1:443/api/v1/namespaces/'
    'appmesh-system/configmaps/f4abe831.k8s.aws": context deadline exceeded\n'
    "I0608 18:51:04.250036       1 leaderelection.go:277] failed to renew lease "
    "appmesh-system/f4abe831.k8s.aws: timed out waiting for the condition\n")
# https://github.com/cockroachdb/cockroach/issues/50007
COCKROACH = (
    "F200609 09:23:56.697073 1 cli/start.go:481  From /cockroach/cockroach-data/auxiliary/"
    "_CRITICAL_ALERT.txt:\n"
    "\n"
    "ATTENTION:\n"
    "\n"
    "this node is terminating because a replica inconsistency was detected between "
    "[n3,s3,r148/3:/System/tsd/cr.node.{sy…-tx…}]\n"
    "and its other replicas. Please check your cluster-wide log files for more\n")
# https://github.com/noobaa/noobaa-core/issues/6611
NOOBAA = (
    "2021-08-03 11:59:16.586 UTC [28] LOG:  could not read from log segment "
    "000000010000000000000001, offset 0: Input/output error\n"
    "2021-08-03 11:59:16.586 UTC [28] LOG:  invalid primary checkpoint record\n"
    "2021-08-03 11:59:16.586 UTC [28] PANIC:  could not locate a valid checkpoint record\n")
# https://github.com/cloudnative-pg/cloudnative-pg/issues/6450
CNPG = (
    '{"level":"info","ts":"2024-11-12T19:46:52+08:00","logger":"postgres","msg":"record",'
    '"logging_pod":"shop-1","record":{"log_time":"2024-11-12 19:46:52.812 CST","process_id":"26",'
    '"error_severity":"FATAL","sql_state_code":"58P01","message":"could not open directory '
    '\\"pg_replslot\\": No such file or directory"}}\n')


def test_the_probe_failure_behind_the_kill_is_the_evidence() -> None:
    # https://github.com/dirsigler/uptime-kuma-helm/pull/67
    c = k.container(name="app", livenessProbe={"exec": {"command": ["node",
                                                                    "extra/healthcheck.js"]}})
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, k.terminated("Error", 137,
                                                                              finished_ago=90))]
    timed_out = k.event(p, "Unhealthy", 'Liveness probe failed: command "node '
                        'extra/healthcheck.js" timed out', container_name="app", count=3,
                        first_ago=160, last_ago=100)
    killing = k.event(p, "Killing", "Container app failed liveness probe, will be restarted",
                      type_="Normal", container_name="app", count=12, first_ago=2000,
                      last_ago=90)
    later = k.event(p, "Unhealthy", "Liveness probe failed: Health Check ERROR",
                    container_name="app", count=1, first_ago=30, last_ago=30)
    f = only(run([p, timed_out, killing, later]))
    assert f.reason is Reason.LIVENESS_PROBE
    assert "timed out" in evidence_text(f)
    assert "Health Check ERROR" not in evidence_text(f)


@pytest.mark.parametrize(("line", "reason", "groups"), [
    # https://github.com/argoproj/argo-cd/issues/10325
    ("[FATAL tini (8)] exec argocd-applicationset-controller failed: No such file or directory",
     Reason.COMMAND_NOT_FOUND, {"command": "argocd-applicationset-controller"}),
    (LOGSTASH.splitlines()[1], Reason.PERMISSION_DENIED, {"path": "/usr/share/logstash/data"}),
    # https://github.com/NVIDIA/GenerativeAIExamples/issues/25
    ("Error: unable to rename (/minio_data/.minio.sys/tmp -> /minio_data/.minio.sys/tmp-old/"
     "1b3cd0ff-d3b4-4be1-9267-d7765af26ff5) file access denied, drive may be faulty please "
     "investigate (*fmt.wrapError)", Reason.PERMISSION_DENIED,
     {"path": "/minio_data/.minio.sys/tmp-old/1b3cd0ff-d3b4-4be1-9267-d7765af26ff5"}),
    (SENTINEL.splitlines()[-1], Reason.DEPENDENCY_UNREACHABLE, {}),
])
def test_more_vocabulary(line: str, reason: Reason, groups: dict[str, str]) -> None:
    assert generic_reading(line) == (reason, groups)


def test_a_go_http_request_that_timed_out_is_unreachable_with_its_host(crashing) -> None:
    f = only(run(*crashing(APPMESH)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert (f.details["host"], f.details["port"]) == ("10.100.0.1", "443")
    # a source file and its line is no host and port
    found = generic_reading('main.go:320 Get "http://x/": context deadline exceeded')
    assert found[1].get("host") != "main.go"


def test_not_writable_under_a_read_only_root_is_a_read_only_filesystem(crashing) -> None:
    assert only(run(*crashing(LOGSTASH))).reason is Reason.PERMISSION_DENIED
    assert only(run(*crashing(LOGSTASH, read_only=True))).reason \
        is Reason.READ_ONLY_FILESYSTEM


def test_a_wrappers_words_followed_by_what_failed_are_no_wrapper() -> None:
    assert not chains.is_generic(LOGSTASH.splitlines()[1])
    assert chains.is_generic("An unexpected error occurred!")
    assert read_crash(LOGSTASH).telling[0].endswith("It is not writable.>")


def test_elasticsearchs_path_check_is_permission_denied(crashing) -> None:
    # https://github.com/lalamove/helm-elasticsearch/issues/22
    log = ("org.elasticsearch.bootstrap.StartupException: java.lang.IllegalStateException: "
           "Unable to access 'path.logs' (/storage/logs)\n")
    f = only(run(*crashing(log)))
    assert f.reason is Reason.PERMISSION_DENIED
    assert f.details["path"] == "/storage/logs"


def test_the_same_error_about_several_paths_names_each(crashing) -> None:
    f = only(run(*crashing(CHOWN)))
    assert f.reason is Reason.PERMISSION_DENIED
    for path in ("/var/lib/grafana/csv", "/var/lib/grafana/png", "/var/lib/grafana/pdf"):
        assert path in evidence_text(f)


def test_numbered_native_frames_are_frames() -> None:
    lines = read_log(CLICKHOUSE)
    roles = chains.shape(lines).roles
    assert roles[2:] == [chains.Role.FRAME] * 3
    assert "Incorrect user[:password]@host:port" in read_crash(CLICKHOUSE).telling[0]


def test_a_warning_label_is_no_exception() -> None:
    lines = read_log(SENTINEL)
    assert lines[1].level is Level.WARN
    assert chains.shape(lines).roles[1] is chains.Role.TEXT


def test_an_unresolvable_name_is_taken_from_the_line_above(crashing) -> None:
    f = only(run(*crashing(SENTINEL)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    host = "michele-test-redis-master-0.michele-test-redis-headless.default.svc.cluster.local"
    assert f.details["host"] == host
    # a config file's name on the line above is no host
    log = "Reading /etc/redis/sentinel.conf\nCan't resolve master instance hostname.\n"
    assert "host" not in only(run(*crashing(log))).details


def test_unindented_details_under_a_heading_are_reported(crashing) -> None:
    f = only(run(*crashing(COCKROACH, exit_code=255)))
    assert f.reason is Reason.APP_ERROR
    assert "replica inconsistency" in evidence_text(f)


def test_the_errno_a_line_above_says_is_reported_with_the_cause() -> None:
    telling = read_crash(NOOBAA).telling
    assert telling[0].endswith("PANIC:  could not locate a valid checkpoint record")
    assert any("Input/output error" in t for t in telling)


def test_a_times_milliseconds_are_no_http_status() -> None:
    assert TELLING.search("2021-08-03 11:59:16.586 UTC [28] PANIC:  could not locate") is None
    assert TELLING.search("upstream answered 503 Service Unavailable") is not None


def test_a_wrapped_records_severity_counts(crashing) -> None:
    lines = read_log(CNPG)
    assert lines[0].level is Level.FATAL
    assert "pg_replslot" in lines[0].text
    f = only(run(*crashing(CNPG)))
    assert "pg_replslot" in evidence_text(f)
    # a wrapped LOG record stays the wrapper's info
    quiet = CNPG.replace('"error_severity":"FATAL"', '"error_severity":"LOG"')
    assert read_log(quiet)[0].level is Level.INFO


def test_an_exec_that_is_denied_is_no_missing_command() -> None:
    assert generic_reason("exec /app failed: permission denied") is not Reason.COMMAND_NOT_FOUND


# --- what the round 6 mechanisms must leave alone (a second review's inputs) ------------
# Lines without a URL are constructed to the shape of the phrasing they test.

@pytest.mark.parametrize("log", [
    # a warning that carries on, then the real crash
    'level=warn msg="/data is not writable, falling back to memory"\n'
    "panic: runtime error: index out of range [3] with length 3\n\ngoroutine 1 [running]:\n"
    "main.main()\n\t/app/main.go:12 +0x1d\n",
    # a telemetry post that timed out in a warning, then the real error
    'W0101 00:00:01.000000 1 reporter.go:55] Post "https://stats.example.com/v1": context '
    "deadline exceeded\n"
    'E0101 00:00:02.000000 1 main.go:99] invalid configuration: unknown field "foo"\n',
    "Loading plugin libfoo.so\nFATAL: failed to resolve symbol address for foo_init\n",
])
def test_what_round_six_leaves_alone(crashing, log: str) -> None:
    assert only(run(*crashing(log, exit_code=2))).reason is Reason.APP_ERROR


def test_a_frames_name_never_vetoes_a_connection_failure(crashing) -> None:
    log = ("org.postgresql.util.PSQLException: The connection attempt failed.\n"
           "\tat com.example.auth.PasswordResetService.init(PasswordResetService.java:40)\n"
           "Caused by: java.net.SocketTimeoutException: connect timed out\n"
           "\tat java.net.PlainSocketImpl.socketConnect(Native Method)\n")
    assert only(run(*crashing(log))).reason is Reason.DEPENDENCY_UNREACHABLE
    py = ('Traceback (most recent call last):\n  File "/app/main.py", line 9, in '
          'listen_for_jobs\n    s.connect((host, 6379))\n'
          "OSError: [Errno 99] Cannot assign requested address\n")
    assert only(run(*crashing(py))).reason is Reason.DEPENDENCY_UNREACHABLE


@pytest.mark.parametrize("above", [
    "Node v18.17.1", "contact admin@mail.example.com",
    "see https://docs.example.com/dns for help",
])
def test_no_name_is_borrowed_from_a_version_a_mail_or_a_url(crashing, above: str) -> None:
    f = only(run(*crashing(f"{above}\nfatal: unable to resolve host\n")))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert "host" not in f.details


def test_a_replicas_routine_session_fatal_is_no_server_fatal() -> None:
    # https://github.com/Panfactum/stack/issues/124 (a walreceiver reconnecting)
    log = ('{"level":"info","msg":"record","record":{"error_severity":"FATAL","sql_state_code":'
           '"08006","message":"could not connect to the primary server: connection to server at '
           '\\"pg-c2f3-rw\\" (172.20.172.56), port 5432 failed: Connection refused",'
           '"backend_type":"walreceiver"}}\n')
    assert read_log(log)[0].level is Level.INFO


def test_the_failure_seen_last_before_the_kill_is_the_evidence() -> None:
    c = k.container(name="app")
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, k.terminated("Error", 137,
                                                                              finished_ago=90))]
    old = k.event(p, "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500",
                  container_name="app", count=30, first_ago=3000, last_ago=1500)
    recent = k.event(p, "Unhealthy", 'Liveness probe failed: Get "http://10.0.0.5:8080/healthz": '
                     "context deadline exceeded", container_name="app", count=3, first_ago=130,
                     last_ago=95)
    killing = k.event(p, "Killing", "Container app failed liveness probe, will be restarted",
                      type_="Normal", container_name="app", count=12, first_ago=3000,
                      last_ago=90)
    f = only(run([p, old, recent, killing]))
    assert "context deadline exceeded" in evidence_text(f)
    assert "statuscode: 500" not in evidence_text(f)


def test_unindented_lines_under_a_heading_are_details_only_when_they_say_what_failed() -> None:
    log = ("ERROR: failed to start:\nLicense:\n"
           "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    assert "wJalrXUtnFEMI" not in " ".join(read_crash(log).telling)


def test_an_access_log_line_is_no_errno_partner() -> None:
    log = "GET /favicon.ico 404 Not Found\nFATAL: cannot start worker pool\n"
    assert read_crash(log).telling == ["FATAL: cannot start worker pool"]


def test_a_status_after_a_colon_is_still_a_status() -> None:
    assert TELLING.search("upstream status code:502 Bad Gateway") is not None
