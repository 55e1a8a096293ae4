"""``Workload.FailedCreate``: a controller refused its pods (rules/create.py).

The objects are a real v1.36.3 control plane's (kube-apiserver's admission, the real
ReplicaSet, StatefulSet, DaemonSet and Job controllers): captured by
tests/cluster/controlplane/capture_failed_create.py. The messages read one by one are quoted
from public threads, cited beside each.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from crashwatch.diagnosis.engine import diagnose
from crashwatch.diagnosis.rules.create import RECENT_SECONDS, refusal
from crashwatch.diagnosis.view import parse_time
from crashwatch.model import Reason

CAPTURED = (Path(__file__).parents[1] / "cluster" / "controlplane"
            / "observed-failed-create-1.36.json")


def captured() -> list[dict[str, Any]]:
    return list(json.loads(CAPTURED.read_text())["items"])


def by_workload(objects: list[dict[str, Any]]) -> dict[tuple[str, str, str], Any]:
    found = diagnose(objects)
    return {(f.namespace, f.owner.kind, f.owner.name): f for f in found if f.owner}


def test_every_refused_workload_of_the_real_control_plane_is_named_with_its_cause() -> None:
    found = by_workload(captured())
    causes = {k: (f.reason, f.details["cause"]) for k, f in found.items()}
    fc = Reason.WORKLOAD_FAILED_CREATE
    assert causes == {
        ("fc", "Deployment", "psa"): (fc, "PodSecurity"),
        ("fc", "StatefulSet", "psa-sts"): (fc, "PodSecurity"),
        ("fc", "DaemonSet", "psa-ds"): (fc, "PodSecurity"),
        ("fc", "Job", "psa-job"): (fc, "PodSecurity"),
        ("fcq", "Deployment", "nolimits"): (fc, "ResourceQuota"),
        ("fcq", "Deployment", "toobig"): (fc, "ResourceQuota"),
        ("fcl", "Deployment", "overmax"): (fc, "LimitRange"),
        ("fcl", "Deployment", "nosa"): (fc, "ServiceAccount"),
        ("fcw", "Deployment", "hooked"): (fc, "AdmissionWebhook"),
    }
    # no finding names a pod: none exists (but the quota's first pod, which runs)
    assert all(f.pod is None for f in diagnose(captured()))


def test_pod_security_names_each_violation_and_the_field_that_fixes_it() -> None:
    f = by_workload(captured())[("fc", "Deployment", "psa")]
    assert f.details["policy"] == "restricted:latest"
    assert f.details["violations"] == ["allowPrivilegeEscalation != false",
                                       "unrestricted capabilities", "runAsNonRoot != true",
                                       "seccompProfile"]
    assert f.summary.startswith('Deployment psa cannot create its pods: the namespace enforces '
                                'PodSecurity "restricted:latest"')
    assert f.evidence[0] == ('Deployment psa: condition ReplicaFailure=True FailedCreate: '
                             'violates PodSecurity "restricted:latest"')
    assert ('runAsNonRoot != true (pod or container "app" must set '
            'securityContext.runAsNonRoot=true)') in f.evidence


def test_the_statefulset_controllers_own_words_are_read() -> None:
    f = by_workload(captured())[("fc", "StatefulSet", "psa-sts")]
    assert f.evidence[0].startswith("StatefulSet psa-sts: Event FailedCreate (x")
    assert f.details["violations"][0] == "allowPrivilegeEscalation != false"


def test_quota_ask_and_quota_used_up_say_the_quota_and_the_numbers() -> None:
    found = by_workload(captured())
    ask = found[("fcq", "Deployment", "nolimits")]
    assert ask.details == {"cause": "ResourceQuota", "quota": "compute",
                           "mustSpecify": "limits.cpu for: app; limits.memory for: app"}
    used = found[("fcq", "Deployment", "toobig")]
    assert used.details["limited"] == "limits.memory=1Gi"
    assert "ResourceQuota compute is used up" in used.summary


def test_a_limit_range_a_missing_service_account_and_an_unreachable_webhook() -> None:
    found = by_workload(captured())
    assert found[("fcl", "Deployment", "overmax")].summary.endswith(
        "a LimitRange's maximum memory per Container is 512Mi, the template's limit is 1Gi.")
    assert found[("fcl", "Deployment", "nosa")].details["serviceAccount"] == "deployer"
    hooked = found[("fcw", "Deployment", "hooked")]
    assert hooked.details == {"cause": "AdmissionWebhook",
                              "webhook": "validate.policy.example.com", "denied": False}
    assert 'service "policy-webhook" not found' in hooked.summary


def test_a_refused_rollout_is_no_regression() -> None:
    """The newest revision cannot create a pod and its deadline passed, while revision 1
    was available: the rollout rule alone would call that a regression; the refusal is what
    a person fixes."""
    objects = captured()
    dep = next(o for o in objects if o["kind"] == "Deployment"
               and o["metadata"]["name"] == "psa")
    rs = next(o for o in objects if o["kind"] == "ReplicaSet"
              and o["metadata"]["name"].startswith("psa-"))
    old = copy.deepcopy(rs)
    old["metadata"].update(name="psa-5d9c7b6f4", uid="old-uid",
                           annotations={"deployment.kubernetes.io/revision": "1"})
    old["status"] = {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2}
    rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "2"
    dep["status"]["conditions"] = [c for c in dep["status"]["conditions"]
                                   if c["type"] != "Progressing"] + [{
        "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
        "message": f'ReplicaSet "{rs["metadata"]["name"]}" has timed out progressing.'}]
    objects.append(old)
    without_refusal = copy.deepcopy(objects)
    for o in without_refusal:
        if o["kind"] in ("Deployment", "ReplicaSet"):
            o["status"]["conditions"] = [c for c in o["status"].get("conditions") or []
                                         if c["type"] != "ReplicaFailure"]
        if o["kind"] == "Event" and o["reason"] == "FailedCreate":
            o["reason"] = "Other"
    regression = by_workload(without_refusal)[("fc", "Deployment", "psa")]
    assert regression.reason is Reason.ROLLOUT_REGRESSION  # what the refusal replaces
    assert by_workload(objects)[("fc", "Deployment", "psa")].reason is (
        Reason.WORKLOAD_FAILED_CREATE)


def test_a_refusal_that_is_over_is_no_finding() -> None:
    objects = captured()
    for o in objects:
        if o["kind"] in ("Deployment", "ReplicaSet"):  # a create went through since
            o["status"]["conditions"] = [c for c in o["status"].get("conditions") or []
                                         if c["type"] != "ReplicaFailure"]
            o["status"]["replicas"] = o["spec"]["replicas"]
        if o["kind"] == "StatefulSet":  # its pods exist now
            o["status"]["replicas"] = o["spec"]["replicas"]
        if o["kind"] == "DaemonSet":
            o["status"]["currentNumberScheduled"] = o["status"]["desiredNumberScheduled"]
        if o["kind"] == "Job":
            o["status"]["active"] = 1
    assert by_workload(objects) == {}


def test_an_old_failed_create_event_alone_is_history() -> None:
    objects = [o for o in captured() if o["metadata"].get("namespace") == "fc"
               and o["kind"] in ("StatefulSet", "Event")]
    newest = max(parse_time(o.get("lastTimestamp")) or 0.0 for o in objects
                 if o["kind"] == "Event")
    assert set(by_workload(objects)) == {("fc", "StatefulSet", "psa-sts")}
    later = diagnose(objects, now=newest + RECENT_SECONDS + 1)
    assert later == []


# Messages quoted from public threads, read by ``refusal``: (cause, the fact it must keep).
QUOTED = [
    # redhat-developer/odo#6847 (a ReplicaSet's Event, OpenShift 4.14)
    ('Error creating: pods "nodejs-app-8665bd77fb-2dd4n" is forbidden: violates PodSecurity '
     '"restricted:latest": allowPrivilegeEscalation != false (container "runtime" must set '
     'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container '
     '"runtime" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod '
     'or container "runtime" must set securityContext.runAsNonRoot=true), seccompProfile (pod '
     'or container "runtime" must set securityContext.seccompProfile.type to "RuntimeDefault" '
     'or "Localhost")', "PodSecurity", "allowPrivilegeEscalation != false, unrestricted "
     "capabilities, runAsNonRoot != true, seccompProfile"),
    # redhat-best-practices-for-k8s/certsuite#547 (a DaemonSet's Event; the line break before
    # "Localhost" is the thread's)
    ('Error creating: pods "debug-ghjw9" is forbidden: violates PodSecurity "restricted:latest":'
     ' host namespaces (hostNetwork=true, hostPID=true), privileged (container "container-00" '
     'must not set securityContext.privileged=true), restricted volume types (volume "host" '
     'uses restricted volume type "hostPath"), runAsUser=0 (container "container-00" must not '
     'set runAsUser=0), seccompProfile (pod or container "container-00" must set '
     'securityContext.seccompProfile.type to "RuntimeDefault" or\n "Localhost")',
     "PodSecurity", "host namespaces, privileged, restricted volume types, runAsUser=0, "
     "seccompProfile"),
    # ministryofjustice/cloud-platform#590 (aggregated Event)
    ('(combined from similar events): Error creating: pods "allocation-manager-6597bc46dc-2wm8j"'
     ' is forbidden: exceeded quota: namespace-quota, requested: limits.cpu=1,limits.memory=2Gi,'
     ' used: limits.cpu=6,limits.memory=12Gi, limited: limits.cpu=6,limits.memory=12Gi',
     "ResourceQuota", "ResourceQuota namespace-quota is used up (requested "
     "limits.cpu=1,limits.memory=2Gi, used limits.cpu=6,limits.memory=12Gi, limited "
     "limits.cpu=6,limits.memory=12Gi)"),
    # ray-project/kuberay#639 (a Deployment's ReplicaFailure condition, quoted as YAML whose
    # folded lines read back as one)
    (yaml.safe_load("""\
    message: 'pods "nginx-deployment-79499496f5-ndzdk" is forbidden: exceeded quota:
      quota, requested: limits.cpu=11,requests.cpu=11, used: limits.cpu=60,requests.cpu=60,
      limited: limits.cpu=10,requests.cpu=10'
""")["message"], "ResourceQuota", "limited limits.cpu=10"),
    # openshift/origin#10407 (Kubernetes 1.3's wording)
    ('Error creating: pods "test-1-" is forbidden: Exceeded quota: compute-resources, requested:'
     ' limits.cpu=384m,limits.memory=512Mi, used: limits.cpu=384m,limits.memory=512Mi, limited:'
     ' limits.cpu=384m,limits.memory=512Mi', "ResourceQuota", "compute-resources is used up"),
    # kubernetes/kubernetes#88718 (a Job's Event; the pod count)
    ('Error creating: pods "job-test-4-9zfnl" is forbidden: exceeded quota: default, requested:'
     ' pods=1, used: pods=9, limited: pods=9', "ResourceQuota", "limited pods=9"),
    # haproxytech/helm-charts#236 (a Job's Event, the wording naming the container)
    ('Error creating: pods "hap-operator-kubernetes-ingress-crdjob-1-6nxxb" is forbidden: '
     'failed quota: ingress-stack: must specify limits.cpu for: crd; limits.memory for: crd; '
     'requests.cpu for: crd; requests.memory for: crd', "ResourceQuota",
     "ResourceQuota ingress-stack requires what the pod template does not set: must specify "
     "limits.cpu for: crd"),
    # kubernetes/website#641 (Kubernetes 1.3's wording)
    ('Error creating: pods "nginx-3137573019-" is forbidden: Failed quota: compute-resources: '
     'must specify limits.cpu,limits.memory,requests.cpu,requests.memory', "ResourceQuota",
     "must specify limits.cpu,limits.memory,requests.cpu,requests.memory"),
    # hmcts/cnp-flux-config#13765 (the StatefulSet controller's form)
    ('create Pod fpl-case-service-pr-3308-es-master-0 in StatefulSet '
     'fpl-case-service-pr-3308-es-master failed error: pods '
     '"fpl-case-service-pr-3308-es-master-0" is forbidden: failed quota: fpl-quota: must '
     'specify requests.cpu,requests.memory', "ResourceQuota",
     "must specify requests.cpu,requests.memory"),
    # zalando-incubator/kubernetes-on-aws#278 (the period is the message's)
    ('Error creating: pods "hjacobs-test-1668339668-" is forbidden: maximum cpu usage per '
     'Container is 16, but request is 17.', "LimitRange",
     "a LimitRange's maximum cpu per Container is 16, the template's request is 17"),
    # pixiu-io/kubez-ansible#11
    ('Error creating: pods "coredns-546565776c-dhbcc" is forbidden: minimum memory usage per '
     'Container is 90Mi, but request is 70Mi', "LimitRange",
     "minimum memory per Container is 90Mi, the template's request is 70Mi"),
    # werf/kubedog#216 (maxLimitRequestRatio, two violations in brackets)
    ('Error creating: pods "amazing-app-5b4c58fbb9-8gsvl" is forbidden: [cpu max limit to '
     'request ratio per Container is 5, but no request is specified or request is 0, memory '
     'max limit to request ratio per Container is 5, but no request is specified or request '
     'is 0]', "LimitRange", "a LimitRange allows a cpu limit-to-request ratio of at most 5 per "
     "Container, but no request is specified or request is 0"),
    # kserve/kserve#580 (no pod name: the webhook call failed)
    ('Error creating: Internal error occurred: failed calling webhook '
     '"inferenceservice.kfserving-webhook-server.pod-mutator": Post '
     'https://kfserving-webhook-server-service.kubeflow.svc:443/mutate-pods?timeout=30s: '
     'service "kfserving-webhook-server-service" not found', "AdmissionWebhook",
     'admission webhook "inferenceservice.kfserving-webhook-server.pod-mutator" could not be '
     'called'),
    # kubewarden/adm-controller#209
    ('Error creating: Internal error occurred: failed calling webhook '
     '"clusterwide-test-policy.kubewarden.admission": failed to call webhook: the server could '
     'not find the requested resource', "AdmissionWebhook",
     "the server could not find the requested resource"),
    # cruise-automation/k-rail README.md, "Violations from the Events API" (the line break is
    # the README's)
    ('Error creating: admission webhook "k-rail.cruise-automation.github.com" denied the '
     'request:\nbad-pod-5f7cd9bf45-rbhsb had violation: Docker Sock Mount: mounting the Docker '
     'socket is forbidden', "AdmissionWebhook",
     'admission webhook "k-rail.cruise-automation.github.com" denied it: bad-pod-5f7cd9bf45-'
     'rbhsb had violation: Docker Sock Mount'),
    # kubernetes/kubernetes#135831 (a mutating admission: the generateName prefix)
    ('Error creating: pods "my-app-deployment-6ddd76cf44-" is forbidden: error looking up '
     'service account default/not-exist: serviceaccount "not-exist" not found',
     "ServiceAccount", "its ServiceAccount not-exist does not exist in namespace default"),
    # apecloud/kubeblocks#4599 (the StatefulSet controller's form)
    ('create Pod mytest-mysql-0 in StatefulSet mytest-mysql failed error: pods "mytest-mysql-0" '
     'is forbidden: error looking up service account '
     'default/kb-release-name-apecloud-mysql-cluster: serviceaccount '
     '"kb-release-name-apecloud-mysql-cluster" not found', "ServiceAccount",
     "ServiceAccount kb-release-name-apecloud-mysql-cluster does not exist"),
    # jharting/openshift-rabbitmq-cluster#16 (OpenShift 4)
    ('Error creating: pods "rabbitmq-cluster-operator-555fd7d956-" is forbidden: unable to '
     'validate against any security context constraint: [fsGroup: Invalid value: []int64{1000}: '
     '1000 is not an allowed group spec.containers[0].securityContext.securityContext.runAsUser: '
     'Invalid value: 1000: must be in the ranges: [1001030000, 1001039999]]',
     "SecurityContextConstraints", "must be in the ranges: [1001030000, 1001039999]"),
    # kubernetes/kubernetes#72155 (a DaemonSet's; what refused it is not said)
    ("Error creating: the server was unable to return a response in the time allotted, but may "
     "still be processing the request (post pods)", "Other",
     "the server was unable to return a response in the time allotted"),
]


@pytest.mark.parametrize(("message", "cause", "fact"), QUOTED,
                         ids=[f"{c}-{i}" for i, (_, c, _) in enumerate(QUOTED)])
def test_quoted_refusals_are_read_with_their_cause_and_fact(message: str, cause: str,
                                                            fact: str) -> None:
    r = refusal(message)
    assert r.cause == cause
    assert fact in r.said, r.said


@pytest.mark.timeout(20)  # a regex that backtracks without bound hangs here instead
def test_a_hostile_message_is_read_and_bounded() -> None:
    hostile = ("x" * 50_000 + " max limit to request ratio " + "(" * 20_000
               + 'violates PodSecurity "a": ' + "b (c (d), " * 5_000)
    r = refusal(hostile)
    assert r.cause == "Other"  # past the bound: what it would have named is cut away
    assert len(r.words) <= 4096
