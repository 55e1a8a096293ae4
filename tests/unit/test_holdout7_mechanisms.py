"""Mechanisms the seventh real-world holdout round (eval/realworld, "Holdout round 7") showed
missing: ``X is a required variable``, GHCR's bare ``denied``, no writable temporary directory
(SQLite's 6410, Python's and Elixir's words), grpc-js's ``Failed to connect before the
deadline`` and the env peer the log's own words name, a JSON record's ``log_message``, the
tail of a torn JSON record, the AWS SDK's ``caused by:`` chain, logrus's unquoted messages,
hclog's multi-line values (and a remote API's 403 is no file permission), a vendor's error
code kept in a shortened line, colour codes whose escape was lost, and a script's name after a
password prompt.

Log text quoted from public threads carries the thread's URL next to it.
"""

from __future__ import annotations

import pytest
from helpers import evidence_text, generic_reading, only, run
from test_config_image import _pull

from crashwatch.diagnosis import chains
from crashwatch.diagnosis.context import EVIDENCE_LINE_CHARS
from crashwatch.diagnosis.evidence import shorten
from crashwatch.diagnosis.logcause import read_crash
from crashwatch.diagnosis.logread import Level, read_log
from crashwatch.model import Reason
from crashwatch.redact import redact

# https://github.com/nre-learning/antidote-selfmedicate/issues/4
SYRINGE = (
    'time="2018-10-22T20:59:21Z" level=error msg="SYRINGE_TIER is a required variable."\n'
    'time="2018-10-22T20:59:21Z" level=fatal msg="Invalid configuration. Please re-run Syringe '
    'with appropriate env variables"\n')
# https://github.com/tryretool/retool-helm/issues/111
RETOOL = (
    '{"level":"error","message":"Ran into error when scheduling UpdateTimedOutWorkflows Error: '
    'Failed to connect before the deadline","timestamp":"2023-07-17T20:17:08.541Z"}\n'
    "/snapshot/retool_development/node_modules/@temporalio/client/node_modules/@grpc/grpc-js/"
    "build/src/client.js:77\n"
    " callback(new Error('Failed to connect before the deadline'));\n"
    " ^\n"
    "\n"
    "Error: Failed to connect before the deadline\n"
    " at checkState (/snapshot/retool_development/node_modules/@temporalio/client/node_modules/"
    "@grpc/grpc-js/build/src/client.js:77:26)\n")
# https://github.com/1Password/connect/issues/36
ONEPASSWORD = (
    '{"log_message":"(E) Server: (txFunc returned error), deleting obsoleted file : remove '
    '/home/opuser/.op/data/files: directory not empty",'
    '"timestamp":"2021-11-30T20:46:20.902654958Z","level":1}\n')
# https://github.com/airbytehq/airbyte/issues/16437
AIRBYTE = (
    '"Starting server for services","value":["history","matching","frontend","worker"],'
    '"logging-call-at":"server.go:123"}\n'
    "Unable to start server. Error: sql schema version compatibility check failed: version "
    'mismatch for keyspace/database: "temporal". Expected version: 1.6 cannot be greater than '
    "Actual version: 1.4\n")
# https://github.com/kubernetes/autoscaler/issues/4282
AUTOSCALER = (
    "F0824 12:17:58.432670       1 aws_cloud_provider.go:389] Failed to create AWS Manager: cannot "
    "autodiscover ASGs: WebIdentityErr: failed to retrieve credentials\n"
    "caused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity\n"
    "\tstatus code: 403, request id: eecdfaa6-d231-4cd8-ae95-f604804b0c71\n")
# https://github.com/ory/hydra/issues/2863
HYDRA = (
    "time=2021-11-18T08:06:16Z level=fatal msg=Could not ensure that signing keys for "
    '"hydra.openid.id-token" exists. If you are running against a persistent SQL database this '
    'is most likely because your "secrets.system" ("SECRETS_SYSTEM" environment variable) is not '
    "set or changed. audience=application error=map[message:cipher: message authentication "
    "failed] service_name=ORY Hydra service_version=v1.9.2\n")
# https://github.com/hashicorp/vault/issues/20772
VAULT = (
    "2023-05-25T05:49:05.463Z [INFO]  agent.auth.handler: auth handler stopped\n"
    "2023-05-25T05:49:05.463Z [ERROR] agent: runtime error encountered:\n"
    "  error=\n"
    "  | template server: vault.read(kv/buhler): vault.read(kv/buhler): Error making API "
    "request.\n"
    "  | \n"
    "  | URL: GET https://vault/v1/kv/buhler\n"
    "  | Code: 403. Errors:\n"
    "  | \n"
    "  | * 1 error occurred:\n"
    "  | \\t* permission denied\n"
    "  | \n"
    "  \n"
    "Error encountered during run, refer to logs for more details.\n")
# https://github.com/Azure/azure-workload-identity/issues/977
AADSTS = (
    "azure.core.exceptions.ClientAuthenticationError: Azure Active Directory error "
    "'(unauthorized_client):\"AADSTS70021: No matching federated identity record found for "
    "presented assertion. Assertion Issuer: 'https://westeurope.oic.prod-aks.azure.com/"
    "<TENANT_ID>/<SOME_ID>/'. Assertion Subject: 'system:serviceaccount:<namespace>:"
    "<service-account-name>'. Assertion Audience: 'api://AzureADTokenExchange'. "
    "https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation")
# https://github.com/monitoringartist/dockbix-xxl/issues/122
DOCKBIX = (
    "?[1m?[32m2019-03-19 20:01:11,000 INFO?(B?[m PHP-FPM status page: allowed address set to "
    "127.0.0.1.\n"
    "?[1m?[32m2019-03-19 20:01:11,000 INFO?(B?[m Preparing server configuration\n"
    "sed: -e expression #1, char 37: unknown option to `s'\n")
# https://github.com/IMC3ofC/db2express-c.docker/issues/7
DB2 = "New password: Retype new password: /entrypoint.sh: line 51: exec: : not found"


def with_env(objects: list[dict], env: list[dict[str, str]]) -> list[dict]:
    objects[0]["spec"]["containers"][0]["env"] = env
    return objects


def test_a_variable_said_to_be_a_required_one_is_missing(crashing) -> None:
    f = only(run(*crashing(SYRINGE)))
    assert f.reason is Reason.MISSING_ENV
    assert f.details["variable"] == "SYRINGE_TIER"
    assert generic_reading("SYRINGE_TIER is a valid variable.")[0] is None


def test_ghcrs_bare_denied_is_unauthorized() -> None:
    # https://github.com/volcano-sh/kthena/issues/486
    image = "ghcr.io/kthena/downloader:latest"
    msg = (f'Failed to pull image "{image}": Error response from daemon: Head '
           '"https://ghcr.io/v2/kthena/downloader/manifests/latest": denied')
    assert only(run(_pull("ImagePullBackOff", f'Back-off pulling image "{image}"', msg,
                          image=image))).reason is Reason.IMAGE_UNAUTHORIZED
    # a tag that is not there stays not found
    missing = (f'Failed to pull image "{image}": Error response from daemon: manifest for '
               f"{image} not found: manifest unknown: manifest unknown")
    assert only(run(_pull("ImagePullBackOff", "", missing, image=image))).reason is (
        Reason.IMAGE_NOT_FOUND)


@pytest.mark.parametrize("log", [
    # https://github.com/seakee/CPA-Manager-Plus/issues/653
    "open sqlite: disk I/O error (6410)\n",
    # https://github.com/metal3-io/ironic-standalone-operator/pull/221
    "FileNotFoundError: [Errno 2] No usable temporary directory found in ['/tmp', '/var/tmp', "
    "'/usr/tmp', '/']\n",
    # https://github.com/falood/file_system/pull/79
    "** (RuntimeError) could not get a writable temporary directory, please set the TMPDIR "
    "environment variable\n",
])
def test_no_writable_temporary_directory(crashing, log: str) -> None:
    read_only = only(run(*crashing(log, read_only=True)))
    assert read_only.reason is Reason.READ_ONLY_FILESYSTEM
    assert "/tmp" in evidence_text(read_only)
    # without a read-only root it is a denial, never a missing TMPDIR
    assert only(run(*crashing(log))).reason is Reason.PERMISSION_DENIED


def test_a_writable_tmp_volume_leaves_a_denial(crashing) -> None:
    objects, logs = crashing("open sqlite: disk I/O error (6410)\n", read_only=True)
    pod = objects[0]
    pod["spec"]["volumes"] = [{"name": "tmp", "emptyDir": {}}]
    pod["spec"]["containers"][0]["volumeMounts"] = [{"name": "tmp", "mountPath": "/tmp"}]
    assert only(run(objects, logs)).reason is Reason.PERMISSION_DENIED


def test_grpc_js_connect_deadline_is_unreachable_with_the_peer_the_log_names(crashing) -> None:
    objects, logs = crashing(RETOOL)
    with_env(objects, [
        {"name": "POSTGRES_HOST", "value": "retool-postgresql"},
        {"name": "WORKFLOW_TEMPORAL_CLUSTER_FRONTEND_HOST",
         "value": "retool-temporal-services-helm-frontend"}])
    f = only(run(objects, logs))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert f.details["configuredPeers"][0] == (
        "WORKFLOW_TEMPORAL_CLUSTER_FRONTEND_HOST=retool-temporal-services-helm-frontend")


def test_an_own_address_whose_word_the_log_never_says_stays_out(crashing) -> None:
    objects, logs = crashing(RETOOL)
    with_env(objects, [{"name": "FRONTEND_URL", "value": "http://shop-frontend:8080"},
                       {"name": "DB_HOST", "value": "shop-db"}])
    assert only(run(objects, logs)).details["configuredPeers"] == ["DB_HOST=shop-db"]


def test_a_records_log_message_is_read() -> None:
    line = only_line(ONEPASSWORD)
    assert line.structured
    assert line.text.endswith("remove /home/opuser/.op/data/files: directory not empty")


def only_line(log: str):  # type: ignore[no-untyped-def]
    lines = read_log(log)
    assert len(lines) == 1
    return lines[0]


def test_a_torn_records_tail_says_nothing_and_the_line_after_it_tells() -> None:
    lines = read_log(AIRBYTE)
    assert lines[0].level is Level.DEBUG
    assert read_crash(AIRBYTE).telling[0].startswith("Unable to start server. Error: sql schema")


def test_a_torn_records_tail_with_its_level_and_message_is_a_record() -> None:
    line = only_line('"caller":"main.go:12","level":"error","msg":"dial tcp: connection refused"}')
    assert (line.level, line.text, line.structured) == (
        Level.ERROR, "dial tcp: connection refused", True)
    # a line in quotes that is no record stays plain text
    assert not only_line('"quoted" words {and braces}').structured


def test_the_aws_sdks_cause_is_reported_with_the_wrapper_above_it() -> None:
    lines = read_log(AUTOSCALER)
    sh = chains.shape(lines)
    assert sh.roles[1] is chains.Role.EXCEPTION
    assert read_crash(AUTOSCALER).telling == [
        "caused by: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity",
        "Failed to create AWS Manager: cannot autodiscover ASGs: WebIdentityErr: failed to "
        "retrieve credentials"]


def test_logrus_unquoted_message_runs_to_the_next_pair() -> None:
    line = only_line(HYDRA)
    assert line.level is Level.FATAL
    assert line.text.startswith('Could not ensure that signing keys for "hydra.openid.id-token"')
    assert "cipher: message authentication failed" in line.text
    assert "service_name" not in line.text
    # a level is one word
    assert only_line("time=x level=error extra words msg=boom").level is Level.ERROR


def test_hclog_multi_line_values_join_their_record() -> None:
    lines = read_log(VAULT)
    joined = [line.text for line in lines if "runtime error encountered" in line.text]
    assert joined == ["[ERROR] agent: runtime error encountered: error=template server: "
                      "vault.read(kv/buhler): vault.read(kv/buhler): Error making API request. "
                      "URL: GET https://vault/v1/kv/buhler Code: 403. Errors: * 1 error "
                      "occurred: * permission denied"]
    assert not any(line.text.lstrip().startswith("|") for line in lines)


def test_a_remote_apis_403_is_no_file_permission(crashing) -> None:
    f = only(run(*crashing(VAULT)))
    assert f.reason is Reason.APP_ERROR
    assert "Code: 403" in evidence_text(f)
    assert generic_reading("open /data/x: permission denied")[0] is Reason.PERMISSION_DENIED
    assert generic_reading("status code: 403, permission denied")[0] is None


def test_a_vendors_error_code_survives_shortening() -> None:
    short = shorten(AADSTS, EVIDENCE_LINE_CHARS)
    assert "AADSTS70021: No matching federated identity record found" in short


def test_colour_codes_that_lost_their_escape_are_dropped() -> None:
    lines = read_log(DOCKBIX)
    assert [line.level for line in lines[:2]] == [Level.INFO, Level.INFO]
    assert lines[1].text.endswith("Preparing server configuration")
    assert read_crash(DOCKBIX).telling == ["sed: -e expression #1, char 37: unknown option to `s'"]


def test_a_script_after_a_password_prompt_is_kept_and_passwords_are_not() -> None:
    assert "/entrypoint.sh: line 51: exec: : not found" in redact(DB2)
    assert "hunter2" not in redact("New password: hunter2")
    assert "/s3cr3t" not in redact("password: /s3cr3t")
