"""Review of holdout round 10's mechanisms (eval/realworld README, "Holdout round 10") and of
the doubts of rounds 7 to 9 (``Context.env``, a rule's ``unless_env``): where they over- or
under-matched on realistic or hostile input.

Log text quoted from public threads carries the thread's URL next to it; invented text says
so.
"""

from __future__ import annotations

from typing import Any

from helpers import evidence_text, only, run

from crashwatch.diagnosis.logcause import read_crash
from crashwatch.model import Reason

# https://github.com/kubernetes-sigs/aws-load-balancer-controller/issues/3955 (the error; the
# record around it is zap's, as the controller writes it)
NESTED_OPERATIONS = (
    '{"level":"error","ts":"2025-05-13T10:00:00Z","msg":"Reconciler error","error":"operation '
    "error Elastic Load Balancing v2: DescribeLoadBalancers, get identity: get credentials: "
    "failed to refresh cached credentials, no EC2 IMDS role found, operation error ec2imds: "
    'GetMetadata, canceled, context deadline exceeded"}\n')


def test_the_innermost_aws_operation_is_the_unreachable_service(crashing) -> None:
    # the load balancer API was never called: the credentials' call to the instance metadata
    # service timed out, and the outer operation only waited for it
    f = only(run(*crashing(NESTED_OPERATIONS)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert "(ec2imds)" in f.summary
    assert "Elastic Load Balancing" not in f.summary
    assert "unreachable: ec2imds" in evidence_text(f)


# https://github.com/kubernetes-sigs/external-dns/pull/1367
MISSING_REGION = 'level=error msg="MissingRegion: could not find region configuration"\n'


def _with_env(objects: list[dict[str, Any]], env: list[dict[str, Any]]) -> list[dict[str, Any]]:
    objects[0]["spec"]["containers"][0]["env"] = env
    return objects


def test_the_last_env_entry_of_a_name_is_the_one_the_container_gets(crashing) -> None:
    # a chart's default and an overlay's empty override (invented values): the kubelet gives
    # the container the last, an empty region, so the SDK finds none and it is missing
    objects, logs = crashing(MISSING_REGION)
    f = only(run(_with_env(objects, [{"name": "AWS_REGION", "value": "eu-west-1"},
                                     {"name": "AWS_REGION", "value": ""}]), logs))
    assert f.reason is Reason.MISSING_ENV
    assert "missing variable: AWS_REGION" in evidence_text(f)
    # the other order sets it: the SDK's line is the evidence, no missing variable
    objects, logs = crashing(MISSING_REGION)
    f = only(run(_with_env(objects, [{"name": "AWS_REGION", "value": ""},
                                     {"name": "AWS_REGION", "value": "eu-west-1"}]), logs))
    assert f.reason is Reason.APP_ERROR


def test_a_setting_after_a_long_env_list_is_read(crashing) -> None:
    # a generated env list of 300 entries (invented names) whose region comes last
    env: list[dict[str, Any]] = [{"name": f"FEATURE_FLAG_{i}", "value": "on"}
                                 for i in range(300)]
    objects, logs = crashing(MISSING_REGION)
    f = only(run(_with_env(objects, [*env, {"name": "AWS_REGION", "value": "eu-west-1"}]),
                 logs))
    assert f.reason is Reason.APP_ERROR
    assert "MissingRegion" in evidence_text(f)


def test_a_prohibition_is_no_advice() -> None:
    # a script's refusal in the words such scripts print (invented line): it says what is
    # wrong, and outranks the info line above it
    log = ("Starting server...\n"
           "You can't run this server as root, exiting.\n")
    assert read_crash(log).telling[0] == "You can't run this server as root, exiting."
    # advice still tells less than the line it follows
    # (https://github.com/microsoft/aspire/issues/2764)
    advice = ("Process terminated. Couldn't find a valid ICU package installed on the system.\n"
              "Please install libicu (or icu-libs) using your package manager and try again.\n")
    assert read_crash(advice).telling[0].startswith("Process terminated.")


# https://github.com/docker-library/golang/issues/444: the binary is in the image, built
# against a libc its ``FROM scratch`` image does not have
RUNC_ENOENT = "standard_init_linux.go:228: exec user process caused: no such file or directory\n"


def test_runcs_enoent_names_the_program_runc_executes(crashing) -> None:
    # the spec's command is the program (the thread's CMD, as a pod would set it): it may be
    # there while the loader it names is not, and the summary says so
    objects, logs = crashing(RUNC_ENOENT)
    objects[0]["spec"]["containers"][0]["command"] = ["/go/app/main"]
    f = only(run(objects, logs))
    assert f.reason is Reason.COMMAND_NOT_FOUND
    assert "/go/app/main" in f.summary and "loader" in f.summary
    # args alone are the image entrypoint's arguments (invented flag), never the program
    objects, logs = crashing(RUNC_ENOENT)
    objects[0]["spec"]["containers"][0]["args"] = ["--config=/etc/app/config.yaml"]
    f = only(run(objects, logs))
    assert "--config" not in f.summary and "image's entrypoint" in f.summary
    # a shell's -c script never ran: runc could not execute the shell (invented script)
    objects, logs = crashing(RUNC_ENOENT)
    objects[0]["spec"]["containers"][0]["command"] = ["/bin/sh", "-c", "./run.sh"]
    f = only(run(objects, logs))
    assert "/bin/sh" in f.summary and "./run.sh" not in f.summary
