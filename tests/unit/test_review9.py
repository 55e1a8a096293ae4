"""Review of holdout round 9's mechanisms (eval/realworld README, "Holdout round 9"): where
they over- or under-matched on realistic input.

Log text quoted from public threads carries the thread's URL next to it.
"""

from __future__ import annotations

from helpers import evidence_text, only, run

from crashwatch.diagnosis import chains
from crashwatch.diagnosis.logcause import read_crash
from crashwatch.diagnosis.logread import Level, read_log
from crashwatch.model import Reason

# the record header and the first two cause lines: https://github.com/keycloak/keycloak/issues/29306
_KC = ("2024-05-06 09:29:49,355 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] "
       "(main) ")


def _keycloak(cause: str) -> str:
    return (f"{_KC}ERROR: Failed to start server in (production) mode\n"
            f"{_KC}ERROR: Failed to obtain JDBC connection\n"
            f"{_KC}ERROR: {cause}\n"
            f"{_KC}For more details run the same command passing the '--verbose' option. Also "
            "you can use '--help' to see the details about the usage of the particular command.\n")


def test_a_jdbc_wrapper_whose_next_cause_is_a_wrong_password_is_no_unreachable_database(
        crashing) -> None:
    # PostgreSQL's message for a wrong password, as PgJDBC passes it on:
    # https://github.com/bitnami/charts/issues/7536
    f = only(run(*crashing(_keycloak(
        'FATAL: password authentication failed for user "bn_keycloak"'))))
    assert f.reason is not Reason.DEPENDENCY_UNREACHABLE
    f = only(run(*crashing(_keycloak('FATAL: database "keycloak" does not exist'))))
    assert f.reason is not Reason.DEPENDENCY_UNREACHABLE
    # a TLS cause below the wrapper is no unreachable database either
    f = only(run(*crashing(_keycloak(
        "SSL error: PKIX path building failed: sun.security.provider.certpath."
        "SunCertPathBuilderException: unable to find valid certification path to requested "
        "target"))))
    assert f.reason is not Reason.DEPENDENCY_UNREACHABLE
    # the cause that is an unreachable database still is one
    f = only(run(*crashing(_keycloak(
        "Acquisition timeout while waiting for new connection"))))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE


_REFUSED = ("2024-01-01 10:00:00 ERROR main Exception in thread main\n"
            "java.net.ConnectException: Connection refused (Connection refused)\n"
            "\tat java.base/sun.nio.ch.Net.connect0(Native Method)\n")


def test_a_dependency_named_hostname_is_a_peer_and_only_an_app_prefix_is_its_own(
        crashing) -> None:
    # Immich's env names its database and Redis ``DB_HOSTNAME`` and ``REDIS_HOSTNAME``
    # (https://github.com/immich-app/immich, docker/example.env); Guacamole's image
    # ``POSTGRES_HOSTNAME``
    for name, value in (("DB_HOSTNAME", "immich-postgres"), ("POSTGRES_HOSTNAME", "postgres"),
                        ("REDIS_HOSTNAME", "immich-redis")):
        objects, logs = crashing(_REFUSED)
        objects[0]["spec"]["containers"][0]["env"] = [
            {"name": name, "value": value}, {"name": "DB_USERNAME", "value": "postgres"}]
        f = only(run(objects, logs))
        assert f.details["configuredPeers"] == [f"{name}={value}"]
    # Keycloak's own public name beside the database URL under the same prefix is no peer
    objects, logs = crashing(_REFUSED)
    objects[0]["spec"]["containers"][0]["env"] = [
        {"name": "KC_HOSTNAME", "value": "sso.example.com"},
        {"name": "KC_DB_URL_HOST", "value": "keycloak-db"}]
    f = only(run(objects, logs))
    assert f.details["configuredPeers"] == ["KC_DB_URL_HOST=keycloak-db"]


def test_a_retry_whose_backoff_grew_is_not_reported_as_another_cause(crashing) -> None:
    log = "".join(
        f"2024-01-01T00:00:0{k}Z ERROR failed to connect to db-0: connection refused, "
        f"retrying in {wait}\n" for k, wait in enumerate(("500ms", "1s", "1.5s", "2s")))
    f = only(run(*crashing(log)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert sum("retrying in" in e for e in f.evidence) == 1, evidence_text(f)


def test_an_info_record_that_starts_like_the_command_line_above_stays_info() -> None:
    # a record that is a command line, then the tool's own failure (its name and version):
    # https://github.com/linkerd/linkerd2/issues/7767
    lines = read_log('{"level":"info","msg":"iptables-save -t nat"}\n'
                     '{"level":"info","msg":"iptables-save v1.8.7 (legacy): Cannot initialize: '
                     'Permission denied"}\n')
    assert lines[1].level is Level.ERROR
    # a healthy pod's progress: the same first word, a count of failures, no tool speaking
    for first, second in (("Running migrations --dir /migrations",
                           "Running migrations: 0 failed, 12 applied"),
                          ("Using config -c /etc/app.yaml", "Using defaults for missing keys"),
                          ("starting server --port 8080", "starting cache, 3 entries missing")):
        lines = read_log(f'{{"level":"info","msg":"{first}"}}\n'
                         f'{{"level":"info","msg":"{second}"}}\n')
        assert lines[1].level is Level.INFO, second


def test_aborting_with_its_reason_is_no_wrapper_and_a_go_timed_one_is() -> None:
    # HotSpot with -XX:+CrashOnOutOfMemoryError gives up saying why
    assert not chains.is_generic("Aborting due to java.lang.OutOfMemoryError: Java heap space")
    assert not chains.is_generic("Aborting due to invalid license key")
    # linkerd's proxy-init, after Go's log time: https://github.com/linkerd/linkerd2/issues/3160
    assert chains.is_generic("2019/07/29 19:00:59 Aborting firewall configuration")
    lines = read_log("2024-01-01 WARN deprecated option --foo\n"
                     "Aborting due to invalid license key\n")
    sh = chains.shape(lines)
    assert lines[chains.telling(lines, sh)[0]].text == "Aborting due to invalid license key"


def test_a_sentence_that_names_a_secret_is_never_a_detail() -> None:
    log = ("Error: could not reach vault\n"
           "This is the unseal key: 3Zk9vQm2Lp8xR4tW\n")
    assert not any("3Zk9vQm2Lp8xR4tW" in t for t in read_crash(log).telling)
    # https://github.com/tensorchord/envd-server/issues/250 stays as it was
    initdb = ('initdb: directory "/var/lib/postgresql/data" exists but is not empty\n'
              "It contains a lost+found directory, perhaps due to it being a mount point.\n")
    assert "lost+found" in read_crash(initdb).telling[0]
