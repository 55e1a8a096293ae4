"""Review of holdout round 10's mechanisms (eval/realworld README, "Holdout round 10") and of
the doubts of rounds 7 to 9 (``Context.env``, a rule's ``unless_env``): where they over- or
under-matched on realistic or hostile input.

Log text quoted from public threads carries the thread's URL next to it; invented text says
so.
"""

from __future__ import annotations

from helpers import evidence_text, only, run

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
