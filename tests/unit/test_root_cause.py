"""Issue #13, items 2 and 3: the root-cause line of a crash report is the evidence, and a
generic layer on the vocabulary of the OS and the runtimes catches what the signature
catalogue does not know (below it).

Log text quoted from public threads carries the thread's URL next to it.
"""

from __future__ import annotations

import pytest
from helpers import evidence_text, only, run

from crashwatch.diagnosis import generic
from crashwatch.diagnosis.chains import shape
from crashwatch.diagnosis.logcause import read_crash
from crashwatch.diagnosis.logread import read_log
from crashwatch.model import Reason

# https://github.com/cachix/devenv/pull/1806 (Keycloak 26 under a read-only store)
KEYCLOAK = (
    "ERROR: Failed to run 'build' command.\n"
    "ERROR: io.quarkus.builder.BuildException: Build failure: Build failed due to errors\n"
    "\t[error]: Build step io.quarkus.deployment.pkg.steps.JarResultBuildStep#buildRunnerJar "
    "threw an exception: java.nio.file.ReadOnlyFileSystemException\n"
    "\tat jdk.zipfs/jdk.nio.zipfs.ZipFileSystem.checkWritable(ZipFileSystem.java:370)\n"
    "\tat jdk.zipfs/jdk.nio.zipfs.ZipFileSystem.createDirectory(ZipFileSystem.java:708)\n"
    "ERROR: For more details run the same command passing the '--verbose' option\n"
)
# issue #13: the same incident as our post-mortem, as the issue quotes it
KEYCLOAK_ISSUE = ("ERROR: java.nio.file.ReadOnlyFileSystemException\n"
                  "ERROR: For more details run the same command passing the '--verbose' option\n")
# https://github.com/strimzi/strimzi-kafka-operator/issues/7484
KAFKA = (
    "2022-10-14 22:52:00,580 ERROR [KafkaServer id=2] Fatal error during KafkaServer startup. "
    "Prepare to shutdown (kafka.server.KafkaServer) [main]\n"
    "org.apache.kafka.common.errors.KafkaStorageException: Error while writing to checkpoint "
    "file /var/lib/kafka/data-0/kafka-log2/__consumer_offsets-20/leader-epoch-checkpoint\n"
    "Caused by: java.io.IOException: No space left on device\n"
    "        at java.base/java.io.FileOutputStream.writeBytes(Native Method)\n"
    "        at java.base/java.io.FileOutputStream.write(FileOutputStream.java:354)\n"
)
# https://github.com/CrunchyData/postgres-operator/issues/3270 (Patroni)
PATRONI = (
    "2022-06-23 09:50:41,498 ERROR: Exception when saving file: "
    "/pgdata/productionets-tvhl/patroni.dynamic.json\n"
    "OSError: [Errno 28] No space left on device\n"
    "\n"
    "During handling of the above exception, another exception occurred:\n"
    "\n"
    "Traceback (most recent call last):\n"
    '  File "/usr/local/lib/python3.6/site-packages/patroni/config.py", line 167, in save_cache\n'
    "    json.dump(self.dynamic_configuration, f)\n"
    "OSError: [Errno 28] No space left on device\n"
)
# https://github.com/tomkerkhove/promitor/issues/1561
KESTREL = (
    "[09:47:03 FTL] Unable to start Kestrel.\n"
    "System.Net.Sockets.SocketException (13): Permission denied\n"
    "   at System.Net.Sockets.Socket.UpdateStatusAfterSocketErrorAndThrowException(SocketError "
    "error, String callerName)\n"
    "   at System.Net.Sockets.Socket.DoBind(EndPoint endPointSnapshot, SocketAddress "
    "socketAddress)\n"
)
# https://github.com/bitnami/charts/issues/30441
POSTGRES = (
    "chmod: changing permissions of '/var/run/postgresql': Operation not permitted\n"
    "\n"
    "PostgreSQL Database directory appears to contain a database; Skipping initialization\n"
    "\n"
    '2024-11-13 13:38:10.680 UTC [1] FATAL:  could not write lock file "postmaster.pid": No space '
    "left on device\n"
)
# https://github.com/oam-dev/rudr/issues/50
RUST = ("thread 'main' panicked at 'component reflector cannot be created: Error(Status(403), "
        '"https://10.0.0.1/apis/core.hydra.io/v1alpha1/namespaces/default/components?")\', '
        "src/libcore/result.rs:999:5\n"
        "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace.\n")
GO_NIL = (
    "panic: runtime error: invalid memory address or nil pointer dereference\n"
    "[signal SIGSEGV: segmentation violation code=0x1 addr=0x28 pc=0x9b2f14]\n"
    "\n"
    "goroutine 1 [running]:\n"
    "main.main()\n"
    "\t/src/cmd/geo-router/main.go:64 +0x2d4\n"
)
NODE = (
    "/app/dist/loaders/schema.js:41\n"
    "    const fields = schema.fields.map((f) => normalizeField(f));\n"
    "                                 ^\n"
    "\n"
    "TypeError: Cannot read properties of undefined (reading 'map')\n"
    "    at buildContentType (/app/dist/loaders/schema.js:41:34)\n"
    "\n"
    "Node.js v20.18.1\n"
    "npm error command failed\n"
)


def test_keycloak_read_only_store_is_named_by_its_exception(crashing):
    f = only(run(*crashing(KEYCLOAK, read_only=True)))
    assert f.reason is Reason.READ_ONLY_FILESYSTEM
    assert "ReadOnlyFileSystemException" in evidence_text(f)
    assert "For more details" not in evidence_text(f)


def test_the_issue_13_keycloak_lines_are_not_an_app_error(crashing):
    f = only(run(*crashing(KEYCLOAK_ISSUE, read_only=True)))
    assert f.reason is Reason.READ_ONLY_FILESYSTEM
    assert "log: ERROR: java.nio.file.ReadOnlyFileSystemException" in f.evidence


def test_javas_last_caused_by_is_the_root_and_its_report_names_the_path(crashing):
    f = only(run(*crashing(KAFKA)))
    assert f.reason is Reason.DISK_FULL
    assert f.evidence[2] == "log: Caused by: java.io.IOException: No space left on device"
    assert f.details["path"].startswith("/var/lib/kafka/data-0/")


def test_a_python_chain_reports_its_first_exception_as_root():
    lines = read_log(PATRONI)
    sh = shape(lines)
    (block,) = sh.blocks
    assert lines[block.root].text == "OSError: [Errno 28] No space left on device"
    assert block.root < block.top


def test_a_dotnet_socket_exception_13_is_a_permission_error(crashing):
    f = only(run(*crashing(KESTREL)))
    assert f.reason is Reason.PERMISSION_DENIED
    assert "SocketException (13): Permission denied" in evidence_text(f)


def test_a_fatal_line_outranks_an_earlier_unleveled_error(crashing):
    f = only(run(*crashing(POSTGRES)))
    assert f.reason is Reason.DISK_FULL
    assert 'could not write lock file "postmaster.pid"' in evidence_text(f)


def test_a_rust_panic_is_the_telling_line():
    reading = read_crash(RUST)
    assert reading.cause is None
    assert reading.telling[0].startswith("thread 'main' panicked at 'component reflector")


def test_a_go_nil_pointer_panic_is_an_app_error_not_a_segfault(crashing):
    f = only(run(*crashing(GO_NIL, exit_code=2)))
    assert f.reason is Reason.APP_ERROR
    assert f.details["logLine"].startswith("panic: runtime error: invalid memory address")


def test_nodes_error_line_beats_npm_and_node_trailers(crashing):
    f = only(run(*crashing(NODE)))
    assert f.details["logLine"] == "TypeError: Cannot read properties of undefined (reading 'map')"


def test_a_generic_wrapper_gives_way_to_the_line_that_says_which_check(crashing):
    # https://github.com/pires/kubernetes-elasticsearch-cluster/issues/137
    log = ("ERROR: [1] bootstrap checks failed\n"
           "[1]: max virtual memory areas vm.max_map_count [65530] is too low, increase to at "
           "least [262144]\n"
           "[2017-09-29T09:33:20,559][INFO ][o.e.n.Node               ] [es-data1-0] stopping\n")
    f = only(run(*crashing(log, exit_code=78)))
    assert f.reason is Reason.APP_ERROR
    assert f.details["logLine"].startswith("[1]: max virtual memory areas vm.max_map_count")
    assert "bootstrap checks failed" in evidence_text(f)


def test_info_records_never_explain_a_crash(crashing):
    log = ('{"level":"info","msg":"OIDC_CLIENT_SECRET is not set; OIDC login disabled"}\n'
           "panic: assignment to entry in nil map\n")
    f = only(run(*crashing(log, exit_code=2)))
    assert f.reason is Reason.APP_ERROR
    assert f.details["logLine"] == "panic: assignment to entry in nil map"


def test_retries_early_in_a_log_are_not_why_it_exited(crashing):
    log = "WARN connect: connection refused, retrying\n" + "INFO serving\n" * 60 + (
        "panic: index out of range [3] with length 3\n")
    f = only(run(*crashing(log, exit_code=2)))
    assert f.reason is Reason.APP_ERROR


# --- the generic layer ----------------------------------------------------------------

@pytest.mark.parametrize(("line", "reason", "groups"), [
    # https://github.com/hjacobs/kube-resource-report/issues/146
    ("nginx: [emerg] bind() to 0.0.0.0:80 failed (13: Permission denied)",
     Reason.PERMISSION_DENIED, {"port": "80"}),
    ("PermissionError: [Errno 13] Permission denied: '/app/logs/app.log'",
     Reason.PERMISSION_DENIED, {"path": "/app/logs/app.log"}),
    ("Error: EACCES: permission denied, open '/data/app.db'", Reason.PERMISSION_DENIED,
     {"path": "/data/app.db"}),
    # https://github.com/bitnami/charts/issues/30441
    ("chmod: changing permissions of '/var/run/postgresql': Operation not permitted",
     Reason.PERMISSION_DENIED, {"path": "/var/run/postgresql"}),
    ('FATAL:  data directory "/var/lib/postgresql/data" has group or world access',
     Reason.PERMISSION_DENIED, {"path": "/var/lib/postgresql/data"}),
    ("mkdir: cannot create directory '/var/lib/x': No space left on device",
     Reason.DISK_FULL, {"path": "/var/lib/x"}),
    # https://github.com/apecloud/kubeblocks/issues/8460
    ("failed to create fsnotify watcher: too many open files", Reason.TOO_MANY_OPEN_FILES, {}),
    # https://github.com/siutsin/otaru/issues/3169
    ("Unhandled exception. System.IO.IOException: The configured user limit (128) on the "
     "number of inotify instances has been reached", Reason.TOO_MANY_OPEN_FILES, {}),
    ("Error: ENOSPC: System limit for number of file watchers reached, watch '/app/public'",
     Reason.TOO_MANY_OPEN_FILES, {"path": "/app/public"}),
    ("inotify_add_watch(/etc/conf.d) failed: No space left on device",
     Reason.TOO_MANY_OPEN_FILES, {}),
    # https://github.com/kubernetes/node-problem-detector/issues/797
    ("exec /node-problem-detector: exec format error", Reason.EXEC_FORMAT_ERROR,
     {"command": "/node-problem-detector"}),
    # https://github.com/Unitech/pm2/issues/5133
    ("FATAL ERROR: Ineffective mark-compacts near heap limit Allocation failed - JavaScript "
     "heap out of memory", Reason.HEAP_EXHAUSTED, {}),
    ("java.lang.OutOfMemoryError: Java heap space", Reason.HEAP_EXHAUSTED, {}),
    ("fatal error: runtime: out of memory", Reason.HEAP_EXHAUSTED, {}),
    ("Segmentation fault (core dumped)", Reason.SEGFAULT, {}),
    ("java.net.UnknownHostException: kafka-0.kafka", Reason.DEPENDENCY_UNREACHABLE,
     {"host": "kafka-0.kafka"}),
    ("panic: dial tcp: lookup postgres.db.svc.cluster.local on 10.96.0.10:53: no such host",
     Reason.DEPENDENCY_UNREACHABLE, {"host": "postgres.db.svc.cluster.local"}),
    ("Caused by: java.net.ConnectException: Connection refused", Reason.DEPENDENCY_UNREACHABLE,
     {}),
    ("bash: line 3: DATABASE_URL: unbound variable", Reason.MISSING_ENV,
     {"variable": "DATABASE_URL"}),
    ("FATAL: VAULT_ADDR must be set", Reason.MISSING_ENV, {"variable": "VAULT_ADDR"}),
    ("missing required env var: STRIPE_KEY", Reason.MISSING_ENV, {"variable": "STRIPE_KEY"}),
    ("Please set the DATABASE_URL environment variable", Reason.MISSING_ENV,
     {"variable": "DATABASE_URL"}),
    ("  You need to specify one of MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD and "
     "MYSQL_RANDOM_ROOT_PASSWORD", Reason.MISSING_ENV, {"variable": "MYSQL_ROOT_PASSWORD"}),
    ('Missing required configuration "bootstrap.servers" which has no default value.',
     Reason.MISSING_ENV, {"variable": "bootstrap.servers"}),
    ('Error: required flag(s) "config" not set', Reason.MISSING_ENV, {"variable": "config"}),
    ("Unhandled exception. System.InvalidOperationException: No connection string named "
     "'Default' could be found in the application config file.", Reason.MISSING_ENV,
     {"variable": "Default"}),
    ('nginx: [emerg] host not found in upstream "backend:8080" in /etc/nginx/conf.d/x.conf:12',
     Reason.DEPENDENCY_UNREACHABLE, {"host": "backend", "port": "8080"}),
])
def test_the_generic_vocabulary(line, reason, groups):
    found = generic.match_line(line)
    assert found is not None, line
    assert found.rule.reason is reason
    assert found.groups == groups


@pytest.mark.parametrize("line", [
    # https://github.com/docker-library/docs/issues/744: a missing argument, not a setting
    "./docker-entrypoint.sh: line 5: $1: unbound variable",
    "pq: permission denied for table users",  # a database privilege, not errno
    "level ERROR is required for this",  # a log level is never a variable
    "connected to db:5432 in 3 ms",
    # gunicorn binding its own port: not a dependency
    "[2024-01-01 10:00:05 +0000] [1] [ERROR] Can't connect to ('0.0.0.0', 8000)",
])
def test_near_misses_of_the_generic_vocabulary(line):
    assert generic.match_line(line) is None


def test_the_catalogue_outranks_the_generic_layer_on_one_line(crashing):
    log = 'connect ECONNREFUSED 10.0.0.7:5432\n'
    f = only(run(*crashing(log)))
    assert f.details["layer"] == "catalogue"
    assert (f.details["host"], f.details["port"]) == ("10.0.0.7", "5432")


def test_a_missing_variable_rust_does_not_name_is_still_missing_env(crashing):
    log = ("thread 'main' panicked at src/main.rs:12:45:\n"
           "called `Result::unwrap()` on an `Err` value: NotPresent\n")
    f = only(run(*crashing(log, exit_code=101)))
    assert f.reason is Reason.MISSING_ENV
    assert "does not name it" in f.summary


def test_several_missing_settings_are_all_named(crashing):
    log = ("pydantic_core._pydantic_core.ValidationError: 2 validation errors for Settings\n"
           "API_ID\n  Field required [type=missing, input_value={}, input_type=dict]\n"
           "API_HASH\n  Field required [type=missing, input_value={}, input_type=dict]\n")
    f = only(run(*crashing(log)))
    assert f.details["variables"] == ["API_ID", "API_HASH"]
    assert "API_ID and API_HASH" in f.summary


def test_a_write_that_fails_without_a_reason_is_read_only_only_where_the_root_is(crashing):
    # https://github.com/spring-projects/spring-boot/issues/8578 (the corpus case
    # jvm-spring-boot-tomcat-tmpdir-readonly quotes it)
    log = ("org.springframework.context.ApplicationContextException: Unable to start embedded "
           "container; nested exception is org.springframework.boot.context.embedded."
           "EmbeddedServletContainerException: Unable to create tempDir. java.io.tmpdir is set "
           "to /tmp\n")
    assert only(run(*crashing(log, read_only=True))).reason is Reason.READ_ONLY_FILESYSTEM
    assert only(run(*crashing(log))).reason is Reason.APP_ERROR


def test_one_setting_named_two_ways_is_one_setting(crashing):
    # Rails names SECRET_KEY_BASE as `secret_key_base`: the catalogue and the generic
    # phrasing both see it; it is one missing setting.
    log = ("bin/rails aborted!\nArgumentError: Missing `secret_key_base` for 'production' "
           "environment, set this string with `bin/rails credentials:edit` (ArgumentError)\n")
    f = only(run(*crashing(log)))
    assert f.details["variable"] == "SECRET_KEY_BASE"
    assert "variables" not in f.details
    assert f.summary == "Container app exits because required setting SECRET_KEY_BASE is not set."
