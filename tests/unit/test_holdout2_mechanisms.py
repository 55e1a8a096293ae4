"""Mechanisms the second real-world holdout round (eval/realworld, "Holdout round 2") showed
missing: the vocabulary of a missing setting (a bare ``Missing DATABASE_URL``, a quoted
``'url' attribute is not specified``, Spring Boot's DataSource failure analysis), a usage
dump printed after a flag error, and an Erlang term printed over several lines.

Log text quoted from public threads carries the thread's URL next to it.
"""

from __future__ import annotations

import pytest
from helpers import evidence_text, only, run, telling_texts

from crashwatch.diagnosis import chains, generic
from crashwatch.diagnosis.logread import read_log
from crashwatch.model import Reason

# https://github.com/helium/blockchain-http/issues/352
ERLANG_MISSING_DATABASE_URL = (
    '11:58:06.967 [error] CRASH REPORT Process <0.828.0> with 0 neighbours crashed with reason: '
    'no match of right hand value {error,"Missing DATABASE_URL.~n"} in bh_sup:pool_opts/1line 73\n')
# https://github.com/apache/servicecomb-java-chassis/issues/1272
SPRING_DATASOURCE = (
    "Error starting ApplicationContext. To display the conditions report re-run your "
    "application with 'debug' enabled.\n"
    "2019-07-12 18:25:20 ERROR (LoggingFailureAnalysisReporter.java:42)- \n"
    "\n"
    "***************************\n"
    "APPLICATION FAILED TO START\n"
    "***************************\n"
    "\n"
    "Description:\n"
    "\n"
    "Failed to configure a DataSource: 'url' attribute is not specified and no embedded "
    "datasource could be configured.\n"
    "\n"
    "Reason: Failed to determine a suitable driver class\n"
    "\n"
    "Action:\n"
    "\n"
    "Consider the following:\n"
    "\tIf you want an embedded database (H2, HSQL or Derby), please put it on the classpath.\n"
    "\tIf you have database settings to be loaded from a particular profile you may need to "
    "activate it (no profiles are currently active).\n")


def test_a_bare_missing_snake_case_name_is_a_missing_setting(crashing) -> None:
    found = generic.match_line(ERLANG_MISSING_DATABASE_URL.strip())
    assert found is not None
    assert found.rule.reason is Reason.MISSING_ENV
    assert found.groups == {"variable": "DATABASE_URL"}
    f = only(run(*crashing(ERLANG_MISSING_DATABASE_URL)))
    assert f.reason is Reason.MISSING_ENV
    assert f.details["variable"] == "DATABASE_URL"


@pytest.mark.parametrize("line", [
    "Missing HTTP header",                                  # no underscore: no setting
    "error: missing CAP_NET_ADMIN capability",              # a capability, not a setting
    "undefined reference to FOO_BAR",                       # a linker's symbol
    "NameError: name 'foo' is not defined",                 # Python's NameError
    "+ unset HTTP_PROXY",                                   # a shell command, traced
])
def test_what_a_bare_missing_word_does_not_name(line: str) -> None:
    found = generic.match_line(line)
    assert found is None or found.rule.reason is not Reason.MISSING_ENV


def test_a_quoted_setting_with_its_kind_not_specified_is_a_missing_setting() -> None:
    found = generic.match_line("Failed to configure a DataSource: 'url' attribute is not "
                               "specified and no embedded datasource could be configured.")
    assert found is not None
    assert found.rule.reason is Reason.MISSING_ENV
    assert found.groups == {"variable": "url"}


def test_spring_boots_datasource_failure_names_the_property(crashing) -> None:
    f = only(run(*crashing(SPRING_DATASOURCE)))
    assert f.reason is Reason.MISSING_ENV
    assert f.details["variable"] == "spring.datasource.url"
    assert "'url' attribute is not specified" in evidence_text(f)
    # the generic reading of the same line ("url") is not a second setting
    assert "missing variable: spring.datasource.url" in f.evidence


# https://github.com/mpolden/echoip/issues/104 (Go's flag package: the error, then usage)
GO_FLAG_USAGE = (
    "flag provided but not defined: -H X-Forwarded-For\n"
    "Usage of /opt/echoip/echoip:\n"
    "  -C int\n"
    "    \tSize of response cache. Set to 0 to disable\n"
    "  -H value\n"
    "    \tHeader to trust for remote IP, if present (e.g. X-Real-IP)\n"
    "  -P\tEnables profiling handlers\n"
    "  -l string\n"
    "    \tListening address (default \":8080\")\n"
    "  -t string\n"
    "    \tPath to template (default \"index.html\")\n")
# https://github.com/mvisonneau/gitlab-ci-pipelines-exporter/issues/299 (urfave/cli)
URFAVE_USAGE = (
    "Incorrect Usage. flag provided but not defined: -config\n"
    "\n"
    "NAME:\n"
    "   gitlab-ci-pipelines-exporter - Export metrics about GitLab CI pipelines statuses\n"
    "\n"
    "USAGE:\n"
    "   gitlab-ci-pipelines-exporter [global options] command [command options] "
    "[arguments...]\n"
    "\n"
    "VERSION:\n"
    "   0.5.1-5-g519f8b2\n"
    "\n"
    "GLOBAL OPTIONS:\n"
    "   --internal-monitoring-listener-address value, -m value  internal monitoring listener "
    "address [$GCPE_INTERNAL_MONITORING_LISTENER_ADDRESS]\n"
    "   --help, -h                                              show help (default: false)\n"
    "flag provided but not defined: -config\n")
# https://github.com/stolostron/multicloud-operators-subscription/pull/411 (spf13/pflag)
PFLAG_USAGE = (
    "unknown flag: --debug\n"
    "unknown flag: --debug\n"
    "Usage of /usr/local/bin/multicluster-operators-channel:\n"
    "      --kubeconfig string                Paths to a kubeconfig. Only required if "
    "out-of-cluster.\n"
    "      --logtostderr                      log to standard error instead of files "
    "(default true)\n"
    "      --metrics-addr string              The address the metric endpoint binds to.\n"
    "      --sync-interval int                Setting up the cache sync time. (default 60)\n")


@pytest.mark.parametrize(("log", "why"), [
    (GO_FLAG_USAGE, "flag provided but not defined: -H X-Forwarded-For"),
    (URFAVE_USAGE, "flag provided but not defined: -config"),
    (PFLAG_USAGE, "unknown flag: --debug"),
])
def test_a_usage_text_after_a_flag_error_is_noise(crashing, log: str, why: str) -> None:
    lines = read_log(log)
    sh = chains.shape(lines)
    usage = [i for i, line in enumerate(lines) if line.text.startswith((" ", "\t", "Usage",
                                                                          "NAME:", "USAGE:"))]
    assert usage and all(sh.roles[i] is chains.Role.NOISE for i in usage)
    assert telling_texts(log) and all(why in t for t in telling_texts(log))
    f = only(run(*crashing(log, exit_code=2)))
    assert f.reason is Reason.APP_ERROR
    assert why in evidence_text(f)
    # "Only required if out-of-cluster." in an option's description is not a missing setting
    assert f.reason is not Reason.MISSING_ENV


def test_a_usage_text_ends_at_the_first_line_that_is_not_part_of_it() -> None:
    lines = read_log(URFAVE_USAGE)
    roles = chains.shape(lines).roles
    assert lines[0].text.startswith("Incorrect Usage.")  # the error, before the usage text
    assert roles[0] is not chains.Role.NOISE
    assert roles[1:-1] == [chains.Role.NOISE] * (len(lines) - 2)
    assert roles[-1] is not chains.Role.NOISE  # the error again, after it


# https://github.com/bitnami/charts/issues/20671 (RabbitMQ's BOOT FAILED report)
RABBIT_HEADER = "2023-11-08 12:36:12.103911+00:00 [error] <0.239.0> "
RABBIT_BOOT_FAILED = (
    f"{RABBIT_HEADER}\n"
    f"{RABBIT_HEADER}BOOT FAILED\n"
    f"{RABBIT_HEADER}===========\n"
    f"{RABBIT_HEADER}Error during startup: {{error,\n"
    f"{RABBIT_HEADER}                          {{cannot_create_plugins_expand_dir,\n"
    f'{RABBIT_HEADER}                              ["/bitnami/rabbitmq/mnesia/rabbit@rabbitmq-0.'
    'rabbitmq-headless.third-party-apps.svc.cluster.local-plugins-expand",\n'
    f"{RABBIT_HEADER}                               eacces]}}}}\n"
    f"{RABBIT_HEADER}\n")
RABBIT_PLAIN = (
    "BOOT FAILED\n"
    "===========\n"
    "Error during startup: {error,\n"
    "                          {cannot_create_plugins_expand_dir,\n"
    '                              ["/bitnami/rabbitmq/mnesia/rabbit@rabbitmq-0.rabbitmq-'
    'headless.third-party-apps.svc.cluster.local-plugins-expand",\n'
    "                               eacces]}}\n")
RABBIT_TERM = ('Error during startup: {error, {cannot_create_plugins_expand_dir, '
               '["/bitnami/rabbitmq/mnesia/rabbit@rabbitmq-0.rabbitmq-headless.third-party-apps.'
               'svc.cluster.local-plugins-expand", eacces]}}')


@pytest.mark.parametrize(("log", "header"), [(RABBIT_BOOT_FAILED, RABBIT_HEADER),
                                             (RABBIT_PLAIN, "")])
def test_an_erlang_term_over_several_lines_is_one_line(log: str, header: str) -> None:
    texts = [line.text for line in read_log(log)]
    assert header + RABBIT_TERM in texts
    assert not any(t.strip().endswith("eacces]}}") and "/bitnami" not in t for t in texts)


def test_the_errno_of_a_term_over_lines_is_reported_with_its_path(crashing) -> None:
    f = only(run(*crashing(RABBIT_BOOT_FAILED)))
    assert f.reason is Reason.PERMISSION_DENIED
    assert f.details["path"].startswith("/bitnami/rabbitmq/mnesia/rabbit@rabbitmq-0")
    assert "cannot_create_plugins_expand_dir" in evidence_text(f)


def test_a_term_is_joined_only_under_one_header_and_only_when_it_closes() -> None:
    other_record = ("2023-11-08 12:36:12.103911+00:00 [error] <0.239.0> Error: {error,\n"
                    "2023-11-08 12:36:13.000000+00:00 [error] <0.239.0>    eacces}\n")
    assert len(read_log(other_record)) == 2
    never_closed = "Error during startup: {error,\n    {a,\n    b,\n\nnext record\n"
    assert len(read_log(never_closed)) == 5
