"""The mechanisms holdout round 10 of eval/realworld asked for (README, "Holdout round 10"):
runc's and bash's words for an entrypoint or interpreter that is not there (a script with
Windows line endings said so); a structured record's keys in another case; the AWS SDK for
Go v2's ``operation error <service>`` that timed out; a connect failure whose port was never
configured is no unreachable peer; hyper's ``error trying to connect: dns error``; the node
failing to write a projected token volume; .NET's ``Process terminated.`` above advice; an
outer exception that names what the inner one repeats; a record whose message holds a blank
line; a system call's errno in a warning above the JVM's native-thread error; MongoDB's
invariant and the abort it causes.

Every log line is quoted from the public thread cited next to it; invented text says so.
"""

from __future__ import annotations

import kube as k
from helpers import evidence_text, generic_reading, only, run

from crashwatch.diagnosis.logcause import read_crash
from crashwatch.model import Reason

# https://github.com/dcherman/image-cache-daemon/issues/10
RUNC_NO_ENTRYPOINT = ("standard_init_linux.go:228: exec user process caused: no such file or "
                      "directory\n")
# https://github.com/wso2/kubernetes-apim/issues/59
CRLF_INTERPRETER = (
    "/home/wso2user/scripts/init_carbon.sh: /home/wso2user/wso2am-analytics-2.1.0/bin/"
    "wso2server.sh: /bin/sh^M: bad interpreter: No such file or directory\n")
# https://github.com/leahnp/clair-klar-kubernetes-demo/issues/2
CLAIR = ('{"Event":"pgsql: could not open database: dial tcp: lookup postgres on '
         '10.96.0.10:53: read udp 192.168.2.7:58075-\\u003e10.96.0.10:53: i/o timeout",'
         '"Level":"fatal","Location":"main.go:96","Time":"2020-05-13 12:24:45.602915"}\n')
# https://github.com/kubernetes-sigs/aws-load-balancer-controller/issues/3937
EC2IMDS = ('{"level":"error","ts":"2024-11-07T09:15:49Z","logger":"setup","msg":"unable to '
           'initialize AWS cloud","error":"failed to get VPC ID: failed to fetch VPC ID from '
           'instance metadata: error in fetching vpc id through ec2 metadata: get mac '
           'metadata: operation error ec2imds: GetMetadata, canceled, context deadline '
           'exceeded"}\n')
# https://github.com/backstage/backstage/issues/15299
BAD_PORT = ("Backend failed to start up Error: Failed to connect to the database to make sure "
            "that 'backstage_plugin_catalog' exists, RangeError [ERR_SOCKET_BAD_PORT]: Port "
            "should be >= 0 and < 65536. Received NaN.\n"
            "    at /app/node_modules/@backstage/backend-common/dist/index.cjs.js:1017:17\n")
# https://github.com/penumbra-zone/penumbra/issues/2313
HYPER_DNS = (
    "Error: error sending request for url (http://testnet.penumbra.zone:26657/genesis): error "
    "trying to connect: dns error: Device or resource busy (os error 16)\n\nCaused by:\n"
    "    0: error trying to connect: dns error: Device or resource busy (os error 16)\n"
    "    1: dns error: Device or resource busy (os error 16)\n"
    "    2: Device or resource busy (os error 16)\n")
# https://github.com/microsoft/aspire/issues/2764
NO_ICU = ("Process terminated. Couldn't find a valid ICU package installed on the system.\n"
          "Please install libicu (or icu-libs) using your package manager and try again.\n"
          "Alternatively you can set the configuration flag System.Globalization.Invariant to "
          "true if you want to run with no globalization support\n")
# https://github.com/dotnet/aspnetcore/issues/55782
KESTREL = (
    "fail: Microsoft.Extensions.Hosting.Internal.Host[11]\n"
    "      Hosting failed to start\n"
    "      System.IO.IOException: Failed to bind to address http://127.0.0.1:5010: address "
    "already in use.\n"
    "       ---> Microsoft.AspNetCore.Connections.AddressInUseException: Address already in use\n"
    "       ---> System.Net.Sockets.SocketException (98): Address already in use\n"
    "         at System.Net.Sockets.Socket.DoBind(EndPoint endPointSnapshot, SocketAddress "
    "socketAddress)\n"
    "         at System.Net.Sockets.Socket.Bind(EndPoint localEP)\n")
# https://github.com/kubernetes-sigs/aws-load-balancer-controller/issues/2584
EC2_401 = ('{"level":"error","ts":1648193177.7583256,"logger":"setup","msg":"unable to '
           'initialize AWS cloud","error":"failed to introspect vpcID from EC2Metadata, specify '
           '--aws-vpc-id instead if EC2Metadata is unavailable: EC2MetadataError: failed to '
           'make EC2Metadata request\\n\\n\\tstatus code: 401, request id: "}\n')
# https://github.com/kruize/autotune/issues/1551
NATIVE_THREAD = (
    '[4.281s][warning][os,thread] Failed to start thread "Unknown thread" - pthread_create '
    "failed (EAGAIN) for attributes: stacksize: 1024k, guardsize: 4k, detached.\n"
    '[4.281s][warning][os,thread] Failed to start the native thread for java.lang.Thread '
    '"-2111462181-pool-3-thread-1"\n'
    'Exception in thread "main" java.lang.OutOfMemoryError: unable to create native thread: '
    "possibly out of memory or process/resource limits reached\n"
    "\tat java.base/java.lang.Thread.start0(Native Method)\n")
# https://github.com/docker-library/mongo/issues/601
MONGO_INVARIANT = (
    '{"t":{"$date":"2023-01-11T08:33:07.890+00:00"},"s":"F",  "c":"ASSERT",   "id":23079,   '
    '"ctx":"initandlisten","msg":"Invariant failure","attr":{"expr":"isVersionInitialized()",'
    '"file":"src/mongo/db/server_options.h","line":156}}\n'
    '{"t":{"$date":"2023-01-11T08:33:07.890+00:00"},"s":"F",  "c":"ASSERT",   "id":23080,   '
    '"ctx":"initandlisten","msg":"\\n\\n***aborting after invariant() failure\\n\\n"}\n'
    '{"t":{"$date":"2023-01-11T08:33:07.890+00:00"},"s":"F",  "c":"CONTROL",  "id":6384300, '
    '"ctx":"initandlisten","msg":"Writing fatal message","attr":{"message":"Got signal: 6 '
    '(Aborted).\\n"}}\n')


# --- entrypoints and interpreters ---------------------------------------------------------

def test_runc_finding_no_entrypoint_is_command_not_found(crashing) -> None:
    f = only(run(*crashing(RUNC_NO_ENTRYPOINT)))
    assert f.reason is Reason.COMMAND_NOT_FOUND
    assert "exec user process caused: no such file or directory" in evidence_text(f)
    assert "entrypoint" in f.summary
    # runc before 1.0 quoted it (the same words in another shape)
    assert generic_reading('standard_init_linux.go:211: exec user process caused "no such '
                           'file or directory"')[0] is Reason.COMMAND_NOT_FOUND


def test_a_bad_interpreter_with_a_carriage_return_is_a_crlf_script(crashing) -> None:
    # bash exits 126 for it, the code of a command that is not executable: the log says more
    f = only(run(*crashing(CRLF_INTERPRETER, exit_code=126)))
    assert f.reason is Reason.COMMAND_NOT_FOUND
    assert "CRLF" in f.summary and "/bin/sh^M" in f.summary
    assert "wso2server.sh" in evidence_text(f)
    # bash's own words for such a script (invented line in bash's format)
    assert generic_reading("/entrypoint.sh: line 2: $'\\r': command not found") == (
        Reason.COMMAND_NOT_FOUND, {"command": "$'\\r'"})
    # an interpreter that is simply missing is no CRLF script (invented)
    g = only(run(*crashing("/app/run.py: /usr/bin/python3: bad interpreter: No such file or "
                           "directory\n", exit_code=126)))
    assert g.reason is Reason.COMMAND_NOT_FOUND and "CRLF" not in g.summary


# --- records and vocabulary ----------------------------------------------------------------

def test_a_records_keys_in_another_case_are_read(crashing) -> None:
    f = only(run(*crashing(CLAIR)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert "lookup postgres on 10.96.0.10:53" in evidence_text(f)


def test_the_aws_sdk_v2s_operation_that_timed_out_names_the_service(crashing) -> None:
    f = only(run(*crashing(EC2IMDS)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert "(ec2imds)" in f.summary
    assert "context deadline exceeded" in evidence_text(f)
    # a warning that an operation timed out (a retry) is not why it exited (invented)
    warning = EC2IMDS.replace('"level":"error"', '"level":"warn"')
    assert only(run(*crashing(warning))).reason is Reason.APP_ERROR


def test_a_connect_failure_on_a_port_never_configured_is_no_unreachable_peer(crashing) -> None:
    f = only(run(*crashing(BAD_PORT)))
    assert f.reason is Reason.APP_ERROR
    assert "Received NaN" in evidence_text(f)


def test_hypers_connect_error_with_a_dns_cause_is_unreachable(crashing) -> None:
    f = only(run(*crashing(HYPER_DNS)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert "testnet.penumbra.zone:26657" in f.summary
    assert "dns error" in evidence_text(f)


# --- the node writing a projected volume ---------------------------------------------------

def _stuck_on(volume: dict[str, object], message: str) -> list[dict[str, object]]:
    c = k.container(volumeMounts=[{"name": volume["name"], "mountPath": "/var/run/x"}])
    p = k.pod(containers=[c], phase="Pending", volumes=[volume])
    p["status"]["containerStatuses"] = [k.waiting_status(c, "ContainerCreating")]
    return [p, k.event(p, "FailedMount", message, count=3)]


def test_a_projected_token_the_node_cannot_write_is_a_volume_failure() -> None:
    token = {"name": "kube-api-access-qm2tx", "projected": {"sources": [
        {"serviceAccountToken": {"path": "token"}}]}}
    # https://github.com/MaterializeInc/materialize/pull/24083 (the pod's uid adapted)
    f = only(run(_stuck_on(token, (
        'MountVolume.SetUp failed for volume "kube-api-access-qm2tx" : write /var/lib/kubelet/'
        "pods/59434b57/volumes/kubernetes.io~projected/kube-api-access-qm2tx/"
        "..2024_01_04_18_06_09.3676264842/ca.crt: no space left on device"))))
    assert (f.reason, f.container) == (Reason.VOLUME_MOUNT_FAILED, None)
    assert "no space left on device" in evidence_text(f)
    # the kubelet's passing noise about the same volume is no failure of the pod
    # (https://github.com/kubernetes/kubernetes/issues/111938, its namespace adapted; the
    # noise itself: https://github.com/kubernetes/kubernetes/issues/105204)
    assert run(_stuck_on(token, (
        'MountVolume.SetUp failed for volume "kube-api-access-qm2tx" : object "shop"/'
        '"kube-root-ca.crt" not registered'))) == []


# --- which line tells ---------------------------------------------------------------------

def test_dotnets_process_terminated_line_tells_not_the_advice_below_it() -> None:
    assert read_crash(NO_ICU).telling[0] == (
        "Process terminated. Couldn't find a valid ICU package installed on the system.")


def test_an_outer_exception_that_names_what_the_inner_repeats_is_shown() -> None:
    telling = read_crash(KESTREL).telling
    assert telling[0].endswith("SocketException (98): Address already in use")
    assert telling[1] == ("System.IO.IOException: Failed to bind to address "
                          "http://127.0.0.1:5010: address already in use.")


def test_a_records_message_holding_a_blank_line_is_one_message() -> None:
    telling = read_crash(EC2_401).telling
    assert "EC2MetadataError" in telling[0] and "status code: 401" in telling[0]


def test_a_system_calls_errno_in_a_warning_above_the_jvms_thread_error_is_shown() -> None:
    telling = read_crash(NATIVE_THREAD).telling
    assert "unable to create native thread" in telling[0]
    assert "pthread_create failed (EAGAIN)" in telling[1]
    # a warning without an errno's name is not taken (invented)
    plain = NATIVE_THREAD.replace(" - pthread_create failed (EAGAIN)", "")
    assert not any("Failed to start thread" in t for t in read_crash(plain).telling)


def test_mongodbs_invariant_tells_not_the_abort_it_causes() -> None:
    assert read_crash(MONGO_INVARIANT).telling[0] == "Invariant failure: isVersionInitialized()"
