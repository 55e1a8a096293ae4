"""Mechanisms the fourth real-world holdout round (eval/realworld, "Holdout round 4") showed
missing: a JSON record's stack field read as frames (zap's ``stacktrace``), every backend of
a client down (``no Elasticsearch node available``), EADDRNOTAVAIL on a connect, JDBC's
``The connection attempt failed.`` and SQLSTATE 08001, the legacy Elasticsearch JS client's
request timeout, two more phrasings of a missing setting (Temporal's ``"visibility": must
provide config``, a named configuration section, Backstage's ``config value at 'x'``,
Strapi's ``set configuration variable "x"``), Node's source excerpt above an uncaught
error, a head that announces its details (``...:``), a descriptor-limit start-up check,
the dynamic loader's exit 127, Grafana's ``reason=`` field, and the port or host a cause
line leaves to the line above it.

Log text quoted from public threads carries the thread's URL next to it.
"""

from __future__ import annotations

import pytest
from helpers import evidence_text, generic_reading, generic_reason, only, run, telling_texts

from crashwatch.diagnosis import chains, generic
from crashwatch.diagnosis.logread import Level, read_log
from crashwatch.model import Reason

# https://github.com/jaegertracing/jaeger-operator/issues/496
JAEGER_ZAP = (
    '{"level":"fatal","ts":1603192251.3967118,"caller":"command-line-arguments/main.go:70",'
    '"msg":"Failed to init storage factory","error":"failed to create primary Elasticsearch '
    'client: health check timeout: no Elasticsearch node available","stacktrace":'
    '"main.main.func1\\n\\tcommand-line-arguments/main.go:70\\ngithub.com/spf13/cobra.'
    '(*Command).execute\\n\\tgithub.com/spf13/cobra@v0.0.3/command.go:762\\nmain.main\\n\\t'
    'command-line-arguments/main.go:129\\nruntime.main\\n\\truntime/proc.go:204"}\n')
# https://github.com/serverlessworkflow/synapse/issues/86
SYNAPSE = (
    "Unhandled exception. System.Net.Http.HttpRequestException: Connection failed\n"
    " ---> System.Net.Sockets.SocketException (99): Cannot assign requested address\n"
    "   at System.Net.Sockets.Socket.AwaitableSocketAsyncEventArgs.ConnectAsync(Socket socket)\n"
    "   at Docker.DotNet.DockerClient.<>c__DisplayClass6_0.<<-ctor>b__1>d.MoveNext()\n")
# https://github.com/kubeflow/community-distribution/issues/1910
FEAST = (
    "2021-07-05 16:04:37.859 ERROR kf-feast-feast-core-xbw866522c-7l5d2 --- [           main] "
    "c.z.h.p.HikariPool                       : HikariPool-1 - Exception during pool "
    "initialization.\n"
    "org.postgresql.util.PSQLException: The connection attempt failed.\n"
    "\tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl("
    "ConnectionFactoryImpl.java:297)\n")
# https://github.com/keycloak/keycloak/issues/11566
KEYCLOAK_JDBC = (
    "2022-04-21 08:59:42,252 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] "
    "(main) ERROR: Failed to obtain JDBC connection\n"
    "2022-04-21 08:59:42,253 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] "
    "(main) ERROR: The connection attempt failed.\n"
    "2022-04-21 08:59:42,254 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] "
    "(main) ERROR: 10.70.81.70:5432\n")
# https://github.com/openshift/origin-aggregated-logging/issues/250
KIBANA_BUNYAN = (
    '{"name":"Kibana","hostname":"logging-kibana-1-bo5zq","pid":1,"level":60,"err":{"message":'
    '"Request Timeout after 5000ms","name":"Error","stack":"Error: Request Timeout after 5000ms'
    '\\n    at null.<anonymous> (/opt/app-root/src/src/node_modules/elasticsearch/src/lib/'
    'transport.js:282:15)\\n    at Timer.listOnTimeout (timers.js:92:15)"},"msg":"",'
    '"time":"2016-09-29T10:59:15.483Z","v":0}\n')
# https://github.com/temporalio/helm-charts/issues/507
TEMPORAL = ('config validation error: persistence config: datastore "visibility": must provide '
            'config for one and only one datastore: elasticsearch, cassandra, sql or custom store')
# https://github.com/backstage/backstage/issues/26216
BACKSTAGE_CAUSE = (
    "/app/node_modules/@backstage/backend-app-api/dist/index.cjs.js:677\n"
    "            throw new errors.ForwardedError(\n"
    "                  ^\n"
    "\n"
    "ForwardedError: Plugin 'kubernetes' startup failed; caused by Error: Kubernetes "
    "configuration is missing\n"
    "    at /app/node_modules/@backstage/backend-app-api/dist/index.cjs.js:677:19\n")
# https://github.com/backstage/backstage/issues/9418
BACKSTAGE_LOCATOR = ("Backend failed to start up, Error: Missing required config value at "
                     "'kubernetes.clusterLocatorMethods'")
# https://github.com/strapi/strapi/issues/18914
STRAPI = ('Error: Missing jwtSecret. Please, set configuration variable "jwtSecret" for the '
          'users-permissions plugin in config/plugins.js')
# https://github.com/nickjj/docker-phoenix-example/issues/14
ELIXIR_ARGS = (
    "ERROR! Config provider Config.Reader failed with:\n"
    "** (ArgumentError) errors were found at the given arguments:\n"
    "\n"
    "  * 1st argument: not a textual representation of an integer\n"
    "\n"
    '    :erlang.binary_to_integer("tcp://10.96.174.248:5432")\n'
    "    /app/releases/0.1.0/runtime.exs:37: (file)\n"
    "    (elixir 1.16.2) src/elixir.erl:405: :elixir.eval_external_handler/3\n"
    "    (stdlib 5.2.2) erl_eval.erl:750: :erl_eval.do_apply/7\n")
# https://github.com/kubernetes/kubernetes/issues/59321
ES_FD = ("[1]: max file descriptors [1024] for elasticsearch process is too low, increase to at "
         "least [65536]")
# https://github.com/salesforce/sloop/issues/270
SLOOP = ("/sloop: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.32' not found (required by "
         "/sloop)\n"
         "/sloop: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by "
         "/sloop)\n")
# https://github.com/helm/charts/issues/9701
KAFKA_ZK = (
    "[main] INFO org.apache.zookeeper.ZooKeeper - Initiating client connection, connectString="
    "kafka-zookeeper:2181 sessionTimeout=40000 watcher=io.confluent.admin.utils."
    "ZookeeperConnectionWatcher@1ddc4ec2\n"
    "[main] ERROR io.confluent.admin.utils.ClusterStatus - Error while waiting for Zookeeper "
    "client to connect to the server [kafka-zookeeper:2181].\n"
    "java.net.UnknownHostException: kafka-zookeeper: Name or service not known\n"
    "\tat java.net.Inet6AddressImpl.lookupAllHostAddr(Native Method)\n"
    "\tat org.apache.zookeeper.ZooKeeper.<init>(ZooKeeper.java:445)\n")
# https://github.com/eclipse-mosquitto/mosquitto/issues/1716
MOSQUITTO = (
    "2020-06-04T21:19:13: mosquitto version 1.6.9 starting\n"
    "2020-06-04T21:19:13: Config loaded from /mosquitto/config/mosquitto.conf.\n"
    "2020-06-04T21:19:13: Opening ipv4 listen socket on port 443.\n"
    "2020-06-04T21:19:13: Error: Permission denied\n")
# https://github.com/helm/charts/issues/22596
GRAFANA_LOGFMT = (
    't=2020-05-29T18:43:46+0000 lvl=eror msg="Server shutdown" logger=server reason="Service init '
    'failed: Datasource provisioning error: read /etc/grafana/provisioning/datasources/'
    'datasources.yaml: is a directory"\n')


def test_a_records_stack_field_is_frames_not_causes() -> None:
    lines = read_log(JAEGER_ZAP)
    sh = chains.shape(lines)
    assert lines[0].text.endswith("no Elasticsearch node available")
    assert not lines[0].stack
    assert all(line.stack for line in lines[1:])
    assert sh.roles[1:] == [chains.Role.FRAME] * (len(lines) - 1)
    assert telling_texts(JAEGER_ZAP) == [lines[0].text]  # never ``runtime.main``


def test_a_stack_field_keeps_its_exception_lines() -> None:
    """A Java ``stack_trace`` field's ``Caused by:`` is still an exception line, and so is
    a Python traceback's last line: only plain text in a stack field becomes a frame."""
    java = ('{"level":"ERROR","message":"Application run failed","stack_trace":"java.lang.'
            'IllegalStateException: boom\\n\\tat a.B.c(B.java:1)\\nCaused by: java.net.'
            'ConnectException: Connection refused\\n\\tat d.E.f(E.java:2)"}')
    lines = read_log(java)
    roles = chains.shape(lines).roles
    caused = next(i for i, line in enumerate(lines) if line.text.startswith("Caused by:"))
    assert lines[caused].stack
    assert roles[caused] is chains.Role.EXCEPTION
    python = ('{"level":"error","event":"crashed","exception":"Traceback (most recent call last):'
              '\\n  File \\"/app/main.py\\", line 3, in <module>\\n    main()\\nKeyError: '
              '\'DATABASE_URL\'"}')
    lines = read_log(python)
    roles = chains.shape(lines).roles
    assert lines[-1].text == "KeyError: 'DATABASE_URL'"
    assert roles[-1] is chains.Role.EXCEPTION


@pytest.mark.parametrize("line", [
    "health check timeout: no Elasticsearch node available",
    "no reachable servers",
    "kafka.errors.NoBrokersAvailable: NoBrokersAvailable",
    "Error: No Living connections",
    "com.datastax.driver.core.exceptions.NoHostAvailableException: All host(s) tried for query "
    "failed",
])
def test_every_backend_down_is_a_dependency_unreachable(line: str) -> None:
    assert generic_reason(line) is Reason.DEPENDENCY_UNREACHABLE


@pytest.mark.parametrize("line", [
    "no nodes available to schedule pods",
    "0/3 nodes are available: 3 Insufficient memory.",
    "no available connections in the pool",
])
def test_what_no_backend_available_does_not_cover(line: str) -> None:
    assert generic_reason(line) is not Reason.DEPENDENCY_UNREACHABLE


def test_cannot_assign_requested_address_on_a_connect_is_unreachable(crashing) -> None:
    f = only(run(*crashing(SYNAPSE, exit_code=134)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert "Cannot assign requested address" in evidence_text(f)
    assert generic_reason("dial tcp [::1]:5432: connect: cannot assign requested address") \
        is Reason.DEPENDENCY_UNREACHABLE


@pytest.mark.parametrize("line", [
    # https://github.com/LemmyNet/lemmy-ansible/issues/191 (the process's own address)
    'could not bind IPv6 address "::1": Cannot assign requested address',
    "listen tcp 10.0.0.5:8080: bind: cannot assign requested address",
    "java.net.BindException: Cannot assign requested address",
])
def test_cannot_assign_requested_address_on_a_bind_is_not_a_dependency(line: str) -> None:
    assert generic_reason(line) is not Reason.DEPENDENCY_UNREACHABLE


@pytest.mark.parametrize("log", [FEAST, KEYCLOAK_JDBC])
def test_the_jdbc_connection_attempt_failed_is_unreachable(crashing, log: str) -> None:
    f = only(run(*crashing(log)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert "The connection attempt failed" in evidence_text(f)


def test_the_jdbc_failure_lends_its_neighbours_host(crashing) -> None:
    f = only(run(*crashing(KEYCLOAK_JDBC)))
    assert f.details["host"] == "10.70.81.70"
    assert f.details["port"] == "5432"


@pytest.mark.parametrize("line", [
    "SQL State  : 08001",
    "SQLSTATE[08006] [7] could not connect",
    "Unable to obtain connection from database: The connection attempt failed.",
])
def test_sql_connection_exception_states_are_unreachable(line: str) -> None:
    assert generic_reason(line) is Reason.DEPENDENCY_UNREACHABLE


def test_sql_states_that_are_no_connection_failure_are_not() -> None:
    for line in ("SQL State  : 42P01", "Unable to obtain connection from database: FATAL: "
                 "password authentication failed for user \"keycloak\""):
        assert generic_reason(line) is not Reason.DEPENDENCY_UNREACHABLE


def test_the_elasticsearch_js_request_timeout_is_unreachable(crashing) -> None:
    lines = read_log(KIBANA_BUNYAN)
    assert lines[0].level is Level.FATAL
    f = only(run(*crashing(KIBANA_BUNYAN)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert f.details["signature"] == "elasticsearch-js-request-timeout"
    assert "Request Timeout after 5000ms" in evidence_text(f)


@pytest.mark.parametrize(("line", "variable"), [
    (TEMPORAL, "visibility"),
    ("must specify a value for 'region'", "region"),
    (BACKSTAGE_CAUSE.splitlines()[4], "Kubernetes"),
    (BACKSTAGE_LOCATOR, "kubernetes.clusterLocatorMethods"),
    (STRAPI, "jwtSecret"),
])
def test_more_phrasings_of_a_missing_setting(line: str, variable: str) -> None:
    assert generic_reading(line) == (Reason.MISSING_ENV, {"variable": variable})


@pytest.mark.parametrize("line", [
    "Error: The configuration is missing",
    "Error: Default configuration not found",
    "Error: configuration is missing",
])
def test_a_configuration_said_missing_without_a_name_names_no_setting(line: str) -> None:
    found = generic.match_line(line)
    assert found is None or found.rule.id != "generic-missing-setting-section"


def test_nodes_source_excerpt_above_an_uncaught_error_is_a_frame(crashing) -> None:
    lines = read_log(BACKSTAGE_CAUSE)
    roles = chains.shape(lines).roles
    assert roles[0] is roles[1] is chains.Role.FRAME
    assert telling_texts(BACKSTAGE_CAUSE)[0].startswith("ForwardedError: Plugin 'kubernetes'")
    f = only(run(*crashing(BACKSTAGE_CAUSE)))
    assert f.reason is Reason.MISSING_ENV
    assert "throw new errors.ForwardedError(" not in evidence_text(f)


def test_a_head_that_announces_details_is_reported_with_them(crashing) -> None:
    f = only(run(*crashing(ELIXIR_ARGS)))
    assert f.reason is Reason.APP_ERROR
    text = evidence_text(f)
    assert "errors were found at the given arguments:" in text
    assert "not a textual representation of an integer" in text
    assert '"tcp://10.96.174.248:5432"' in text
    assert "runtime.exs" not in text  # two details at most; frames never


def test_a_descriptor_limit_check_is_too_many_open_files() -> None:
    assert generic_reason(ES_FD) is Reason.TOO_MANY_OPEN_FILES
    assert generic_reason("max file descriptors: 1048576") is not Reason.TOO_MANY_OPEN_FILES


def test_the_dynamic_loaders_exit_127_is_no_missing_command(crashing) -> None:
    f = only(run(*crashing(SLOOP, exit_code=127)))
    assert f.reason is Reason.APP_ERROR
    assert "GLIBC_2.34" in evidence_text(f)
    musl = "Error loading shared library libstdc++.so.6: No such file or directory (needed by /app)"
    assert only(run(*crashing(musl, exit_code=127))).reason is Reason.APP_ERROR
    # without the loader's words, 127 is still a command that is not found
    missing = "/docker-entrypoint.sh: line 8: gosu: command not found"
    assert only(run(*crashing(missing, exit_code=127))).reason is Reason.COMMAND_NOT_FOUND


def test_a_logfmt_reason_field_is_the_records_error() -> None:
    lines = read_log(GRAFANA_LOGFMT)
    assert lines[0].level is Level.ERROR
    assert lines[0].text.startswith("Server shutdown: Service init failed")
    assert lines[0].text.endswith("datasources.yaml: is a directory")


def test_a_host_named_without_its_port_takes_it_from_the_report_above(crashing) -> None:
    f = only(run(*crashing(KAFKA_ZK)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert (f.details["host"], f.details["port"]) == ("kafka-zookeeper", "2181")
    assert "kafka-zookeeper:2181" in evidence_text(f)


def test_a_denied_errno_takes_the_port_from_the_line_above(crashing) -> None:
    f = only(run(*crashing(MOSQUITTO)))
    assert f.reason is Reason.PERMISSION_DENIED
    assert f.details["port"] == "443"
    assert "port 443" in evidence_text(f)
    # a line above that opens no port lends nothing
    plain = "2020-06-04T21:19:13: Loading plugins.\n2020-06-04T21:19:13: Error: Permission denied\n"
    assert "port" not in only(run(*crashing(plain))).details

