"""Mechanisms the ninth real-world holdout round (eval/realworld, "Holdout round 9") showed
missing: a program that echoes the commands it runs (``> iptables ...``, ``< output``, or a
record whose message is a command line) and the command's own error after it; Go's
``Error: exit status 1`` and ``Aborting ...`` as wrappers; a shutdown that failed after the
start-up did; a cause chain printed one line per cause (Keycloak's JDBC lines) and the host of
a JDBC URL in the env (never an app's own ``KC_HOSTNAME``); a sentence that goes on about the
line above (initdb's ``It contains a lost+found directory``); Redis's echo of the offending
configuration line after what is wrong with it.

Log text quoted from public threads carries the thread's URL next to it.
"""

from __future__ import annotations

from helpers import evidence_text, only, run

from crashwatch.diagnosis import chains
from crashwatch.diagnosis.logcause import read_crash
from crashwatch.diagnosis.logread import Level, read_log
from crashwatch.model import Reason

# https://github.com/linkerd/linkerd2/issues/3160
PROXY_INIT = (
    "2019/07/29 19:00:59 > iptables -t nat -A PROXY_INIT_REDIRECT -p tcp -j REDIRECT --to-port "
    "4143 -m comment --comment proxy-init/redirect-all-incoming-to-proxy-port/1564426859\n"
    "2019/07/29 19:00:59 < iptables: No chain/target/match by that name.\n"
    "\n"
    "2019/07/29 19:00:59 Aborting firewall configuration\n"
    "Error: exit status 1\n"
    "Usage:\n"
    "  proxy-init [flags]\n")
# https://github.com/linkerd/linkerd2/issues/7767
PROXY_INIT_JSON = (
    '{"level":"info","msg":"iptables-save -t nat","time":"2022-06-05T20:34:09Z"}\n'
    '{"level":"info","msg":"iptables-save v1.8.7 (legacy): Cannot initialize: Permission '
    'denied\\n\\n","time":"2022-06-05T20:34:09Z"}\n'
    '{"level":"error","msg":"aborting firewall configuration","time":"2022-06-05T20:34:09Z"}\n'
    "Error: exit status 1\n")
# https://github.com/keycloak/keycloak/issues/29306
KEYCLOAK = (
    "2024-05-06 09:29:49,354 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] "
    "(main) ERROR: Failed to start server in (production) mode\n"
    "2024-05-06 09:29:49,355 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] "
    "(main) ERROR: Failed to obtain JDBC connection\n"
    "2024-05-06 09:29:49,355 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] "
    "(main) ERROR: Acquisition timeout while waiting for new connection\n"
    "2024-05-06 09:29:49,355 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] "
    "(main) For more details run the same command passing the '--verbose' option. Also you can "
    "use '--help' to see the details about the usage of the particular command.\n"
    "2024-05-06 09:29:49,303 ERROR [io.quarkus.runtime.StartupContext] (main) Running a shutdown "
    "task failed: java.lang.RuntimeException: Failed to start caches\n"
    "at org.keycloak.quarkus.runtime.storage.legacy.infinispan.CacheManagerFactory.getOrCreate("
    "CacheManagerFactory.java:89)\n")
# https://github.com/tensorchord/envd-server/issues/250
INITDB = (
    "Data page checksums are disabled.\n"
    'initdb: directory "/var/lib/postgresql/data" exists but is not empty\n'
    "It contains a lost+found directory, perhaps due to it being a mount point.\n"
    "Using a mount point directly as the data directory is not recommended.\n"
    "Create a subdirectory under the mount point.\n")
# https://github.com/bitnami/charts/issues/926
REDIS = ("INFO  ==> ** Starting Redis **\n"
         "*** FATAL CONFIG FILE ERROR ***\n"
         "Reading the configuration file, at line 1322\n"
         ">>> 'maxmemory 256mb --maxmemory-samples 5'\n"
         "Bad directive or wrong number of arguments\n")


def test_a_programs_echoed_command_and_its_output_tell_why() -> None:
    assert read_crash(PROXY_INIT).telling[0].endswith(
        "< iptables: No chain/target/match by that name.")
    assert chains.is_generic("Error: exit status 1")
    assert chains.is_generic("Aborting firewall configuration")
    assert not chains.is_generic("Aborting: cannot open /etc/app.conf: permission denied")


def test_a_record_that_ran_a_command_then_its_failure_is_an_error(crashing) -> None:
    lines = read_log(PROXY_INIT_JSON)
    assert lines[1].level is Level.ERROR
    f = only(run(*crashing(PROXY_INIT_JSON)))
    assert f.reason is Reason.PERMISSION_DENIED
    assert "Cannot initialize: Permission denied" in evidence_text(f)
    # an info record that is no command line leaves the next one alone
    calm = ('{"level":"info","msg":"connecting to db"}\n'
            '{"level":"info","msg":"connecting to db failed, will retry"}\n')
    assert read_log(calm)[1].level is Level.INFO


def test_a_jdbc_cause_chain_is_unreachable_with_both_lines_and_the_urls_host(crashing) -> None:
    objects, logs = crashing(KEYCLOAK)
    objects[0]["spec"]["containers"][0]["env"] = [
        {"name": "KC_DB_URL", "value": "jdbc:postgresql://keycloak-db:5432/keycloak"},
        {"name": "KC_HOSTNAME", "value": "sso.example.com"}]
    f = only(run(objects, logs))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    text = evidence_text(f)
    assert "Failed to obtain JDBC connection" in text
    assert "Acquisition timeout while waiting for new connection" in text
    assert "Running a shutdown task failed" not in text
    assert f.details["configuredPeers"] == ["KC_DB_URL=keycloak-db:5432"]


def test_a_retry_of_the_same_message_is_not_reported_twice(crashing) -> None:
    log = ("2024-05-06 09:29:47,100 ERROR [x] (main) ERROR: Failed to obtain JDBC connection\n"
           "2024-05-06 09:29:48,100 ERROR [x] (main) ERROR: Failed to obtain JDBC connection\n")
    f = only(run(*crashing(log)))
    assert sum("Failed to obtain JDBC connection" in e for e in f.evidence) == 1


def test_a_sentence_that_goes_on_about_the_line_above_is_its_detail() -> None:
    assert read_crash(INITDB).telling[0] == (
        'initdb: directory "/var/lib/postgresql/data" exists but is not empty It contains a '
        "lost+found directory, perhaps due to it being a mount point.")


def test_redis_echo_of_the_bad_line_follows_what_is_wrong_with_it() -> None:
    assert read_crash(REDIS).telling == [
        "Bad directive or wrong number of arguments",
        ">>> 'maxmemory 256mb --maxmemory-samples 5'"]
