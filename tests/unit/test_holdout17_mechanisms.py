"""The mechanisms holdout round 17 of eval/realworld asked for (README, "Holdout round 17"):
CI/CD runners, identity and secrets, brokers and search servers. gRPC's balancer with no
address to pick; a setting said not provided; Jenkins remoting's inaccessible work directory;
Erlang's stack and crash reason in RabbitMQ's ``BOOT FAILED`` report; memcached's refusal
after a warning's indented lines; OpenSearch's launcher line after its bootstrap check; an
HTTP status that names no request.

Every log is quoted from the public thread cited next to it; invented text says so.
"""

from __future__ import annotations

from helpers import evidence_text, generic_reading, only, run

from crashwatch.diagnosis.logcause import read_crash
from crashwatch.diagnosis.logread import Level, read_log
from crashwatch.model import Reason

# https://github.com/spiffe/helm-charts-hardened/issues/583
SPIRE = (
    'time="2025-05-17T08:25:23Z" level=error msg="Agent crashed" error="could not ope'
    'n attestation stream to SPIRE server: rpc error: code = Unavailable desc = no ch'
    'ildren to pick from"\n'
)
# https://github.com/keycloak/keycloak/issues/23292
KEYCLOAK = (
    'Changes detected in configuration. Updating the server image.\n'
    'Updating the configuration and installing your custom providers, if any. Please wait.\n'
    '2023-09-15 13:40:25,767 INFO  [io.quarkus.deployment.QuarkusAugmentor] (main) Qu'
    'arkus augmentation completed in 13719ms\n'
    'Server configuration updated and persisted. Run the following command to review '
    'the configuration:\n'
    '\n'
    '\tkc.sh show-config\n'
    '\n'
    'Next time you run the server, just run:\n'
    '\n'
    '\tkc.sh start --optimized \n'
    '\n'
    'ERROR: Unexpected error when starting the server in (production) mode\n'
    'ERROR: Failed to start quarkus\n'
    'ERROR: Strict hostname resolution configured but no hostname setting provided\n'
    "For more details run the same command passing the '--verbose' option. Also you c"
    "an use '--help' to see the details about the usage of the particular command.\n"
)
# https://github.com/fluxcd/flux/issues/2106
MEMCACHED = (
    'WARNING: Setting item max size above 1MB is not recommended!\n'
    ' Raising this limit increases the minimum memory requirements\n'
    ' and will decrease your memory efficiency.\n'
    "can't run as root without the -u switch\n"
)
# https://github.com/opensearch-project/opensearch-k8s-operator/issues/241
OPENSEARCH = (
    '[2022-08-08T05:35:03,534][INFO ][o.o.b.BootstrapChecks    ] [opensearch-cluster-'
    'masters-0] bound or publishing to a non-loopback address, enforcing bootstrap checks\n'
    'ERROR: [1] bootstrap checks failed\n'
    '[1]: max virtual memory areas vm.max_map_count [65530] is too low, increase to a'
    't least [262144]\n'
    'ERROR: OpenSearch did not exit normally - check the logs at /usr/share/opensearc'
    'h/logs/opensearch-cluster.log\n'
)
# https://github.com/helm/charts/issues/4519
RABBITMQ = (
    "2018-03-29 17:01:39.595 [info] <0.33.0> Application lager started on node 'rabbi"
    "t@100.107.168.6'\n"
    "2018-03-29 17:01:41.329 [info] <0.33.0> Application mnesia started on node 'rabb"
    "it@100.107.168.6'\n"
    '2018-03-29 17:01:41.331 [info] <0.33.0> Application mnesia exited with reason: stopped\n'
    "2018-03-29 17:01:41.342 [info] <0.33.0> Application mnesia started on node 'rabb"
    "it@100.107.168.6'\n"
    '2018-03-29 17:01:41.345 [info] <0.33.0> Application mnesia exited with reason: stopped\n'
    ' \n'
    'BOOT FAILED\n'
    '===========\n'
    ' \n'
    'Error description:\n'
    '    init:do_boot/3\n'
    '    init:start_em/1\n'
    '    rabbit:start_it/1 line 444\n'
    "    rabbit:'-boot/0-fun-0-'/0 line 300\n"
    '    rabbit_mnesia:check_cluster_consistency/0 line 663\n'
    'throw:{error,{inconsistent_cluster,"Node \'rabbit@100.107.168.6\' thinks it\'s clus'
    'tered with node \'rabbit@100.107.215.1\', but \'rabbit@100.107.215.1\' disagrees"}}\n'
    'Log file(s) (may contain more information):\n'
    '   <stdout>\n'
)
# https://github.com/jenkinsci/docker-inbound-agent/issues/179
JENKINS = (
    'Jun 20, 2020 8:15:47 PM hudson.remoting.jnlp.Main createEngine\n'
    'INFO: Setting up agent: inbound-agent-l6pkk\n'
    'Jun 20, 2020 8:15:47 PM hudson.remoting.jnlp.Main$CuiListener <init>\n'
    'INFO: Jenkins agent is running in headless mode.\n'
    'Jun 20, 2020 8:15:47 PM hudson.remoting.Engine startEngine\n'
    'INFO: Using Remoting version: 4.3\n'
    'Exception in thread "main" java.io.IOException: The specified working directory '
    'should be fully accessible to the remoting executable (RWX): /home/jenkins/agent\n'
    '\tat org.jenkinsci.remoting.engine.WorkDirManager.verifyDirectory(WorkDirManager.'
    'java:249)\n'
    '\tat org.jenkinsci.remoting.engine.WorkDirManager.initializeWorkDir(WorkDirManage'
    'r.java:201)\n'
    '\tat hudson.remoting.Engine.startEngine(Engine.java:288)\n'
    '\tat hudson.remoting.Engine.startEngine(Engine.java:264)\n'
    '\tat hudson.remoting.jnlp.Main.main(Main.java:284)\n'
    '\tat hudson.remoting.jnlp.Main._main(Main.java:279)\n'
)
# https://github.com/actions/actions-runner-controller/issues/1311 (the first registration attempt)
RUNNER = (
    '# Authentication\n'
    '\n'
    "Http response code: NotFound from 'POST https://api.github.com/actions/runner-re"
    "gistration'\n"
    '{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}\n'
    'Response status code does not indicate success: 404 (Not Found).\n'
    'Configuration failed. Retrying\n'
)


def test_a_grpc_balancer_with_no_address_to_pick_is_an_unreachable_dependency(
        crashing) -> None:
    f = only(run(*crashing(SPIRE)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert "no children to pick from" in evidence_text(f)


def test_a_setting_said_not_provided_is_missing(crashing) -> None:
    f = only(run(*crashing(KEYCLOAK)))
    assert f.reason is Reason.MISSING_ENV
    assert f.details["variable"] == "hostname"
    assert "no hostname setting provided" in evidence_text(f)
    # a program that carries on without the setting is not missing it (invented)
    assert generic_reading("no proxy setting provided, using direct connection")[0] is None


def test_a_work_directory_that_must_be_fully_accessible_is_denied(crashing) -> None:
    f = only(run(*crashing(JENKINS)))
    assert f.reason is Reason.PERMISSION_DENIED
    assert f.details["path"] == "/home/jenkins/agent"


def test_erlangs_boot_failure_names_its_crash_reason_not_a_frame() -> None:
    lines = read_log(RABBITMQ)
    reason = next(line for line in lines if line.text.startswith("throw:{error,"))
    assert reason.level is Level.ERROR
    telling = read_crash(RABBITMQ).telling
    assert telling[0].startswith("throw:{error,{inconsistent_cluster,")
    assert "rabbit@100.107.215.1" in telling[0]


def test_a_line_at_the_margin_after_a_warnings_indented_lines_is_its_own() -> None:
    lines = read_log(MEMCACHED)
    assert lines[1].level is Level.WARN  # the warning's indented rest
    assert lines[-1].level is Level.UNKNOWN
    assert read_crash(MEMCACHED).telling[0] == "can't run as root without the -u switch"


def test_the_launchers_line_after_a_failed_bootstrap_check_gives_way(crashing) -> None:
    f = only(run(*crashing(OPENSEARCH, exit_code=78)))
    assert "vm.max_map_count [65530] is too low" in f.summary
    assert "did not exit normally" not in f.summary


def test_an_http_status_that_names_no_request_is_shown_with_the_request(crashing) -> None:
    f = only(run(*crashing(RUNNER)))
    assert "404 (Not Found)" in evidence_text(f)
    assert "POST https://api.github.com/actions/runner-registration" in evidence_text(f)
