"""Workloads whose pods the API server refuses, captured from the real control plane.

Runs kube-apiserver, kube-controller-manager and kube-scheduler (tests/cluster/controlplane,
Kubernetes v1.36.3) and creates: a Deployment, StatefulSet, DaemonSet and Job in a namespace
enforcing Pod Security "restricted"; a Deployment under a ResourceQuota it exceeds and one
whose template sets no limits the quota asks for; one over a LimitRange's maximum; one naming
a ServiceAccount that does not exist; one in a namespace a validating webhook (whose Service
does not exist) guards. Once every controller has been refused, every object of those
namespaces (managedFields dropped) is written as a ``kubectl get -o json`` List to
observed-failed-create-1.36.json beside this file, which tests/unit/test_failed_create.py
reads::

    .venv/bin/python -m tests.cluster.controlplane.capture_failed_create
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.utils import create_from_dict
from tests.cluster.controlplane.plane import ControlPlane

OUT = Path(__file__).with_name("observed-failed-create-1.36.json")
NAMESPACES = ("fc", "fcq", "fcl", "fcw")
API_VERSIONS = {"Deployment": "apps/v1", "ReplicaSet": "apps/v1", "StatefulSet": "apps/v1",
                "DaemonSet": "apps/v1", "Job": "batch/v1"}


def workload(name: str, kind: str = "Deployment", sa: str | None = None,
             resources: dict[str, Any] | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"name": "app", "image": "example/app:1.0"}
    if resources:
        c["resources"] = resources
    template: dict[str, Any] = {"metadata": {"labels": {"app": name}},
                                "spec": {"containers": [c]}}
    if sa:
        template["spec"]["serviceAccountName"] = sa
    selector = {"matchLabels": {"app": name}}
    spec: dict[str, Any] = {"selector": selector, "template": template}
    if kind in ("Deployment", "StatefulSet"):
        spec["replicas"] = 2
    if kind == "StatefulSet":
        spec["serviceName"] = name
    if kind == "Job":
        template["metadata"] = {}
        template["spec"]["restartPolicy"] = "Never"
        spec = {"template": template}
    return {"apiVersion": API_VERSIONS[kind], "kind": kind, "metadata": {"name": name},
            "spec": spec}


def refused(core: client.CoreV1Api, apps: client.AppsV1Api) -> bool:
    """Every Deployment shows ReplicaFailure, and the others have a FailedCreate Event."""
    for ns in NAMESPACES:
        for dep in apps.list_namespaced_deployment(ns).items:
            if not any(c.type == "ReplicaFailure" for c in dep.status.conditions or []):
                return False
    said = {e.involved_object.name for e in core.list_namespaced_event("fc").items
            if e.reason == "FailedCreate"}
    return {"psa-sts", "psa-ds", "psa-job"} <= said


def main() -> None:
    with ControlPlane() as cp:
        api = cp.api_client()
        core, apps, batch = client.CoreV1Api(api), client.AppsV1Api(api), client.BatchV1Api(api)
        core.create_namespace({"metadata": {"name": "fc", "labels": {
            "pod-security.kubernetes.io/enforce": "restricted"}}})
        for kind, name in (("Deployment", "psa"), ("StatefulSet", "psa-sts"),
                           ("DaemonSet", "psa-ds"), ("Job", "psa-job")):
            create_from_dict(api, workload(name, kind), namespace="fc")
        core.create_namespace({"metadata": {"name": "fcq"}})
        core.create_namespaced_resource_quota("fcq", {"metadata": {"name": "compute"}, "spec": {
            "hard": {"limits.memory": "1Gi", "limits.cpu": "2"}}})
        create_from_dict(api, workload("nolimits"), namespace="fcq")
        create_from_dict(api, workload("toobig", resources={
            "limits": {"memory": "800Mi", "cpu": "1"}}), namespace="fcq")
        core.create_namespace({"metadata": {"name": "fcl"}})
        core.create_namespaced_limit_range("fcl", {"metadata": {"name": "caps"}, "spec": {
            "limits": [{"type": "Container", "max": {"memory": "512Mi"}}]}})
        create_from_dict(api, workload("overmax", resources={"limits": {"memory": "1Gi"}}),
                         namespace="fcl")
        create_from_dict(api, workload("nosa", sa="deployer"), namespace="fcl")
        client.AdmissionregistrationV1Api(api).create_validating_webhook_configuration({
            "metadata": {"name": "policy"}, "webhooks": [{
                "name": "validate.policy.example.com", "admissionReviewVersions": ["v1"],
                "sideEffects": "None", "failurePolicy": "Fail",
                "namespaceSelector": {"matchLabels": {"webhooked": "yes"}},
                "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                           "resources": ["pods"]}],
                "clientConfig": {"service": {"namespace": "policy", "name": "policy-webhook",
                                             "port": 443}}}]})
        core.create_namespace({"metadata": {"name": "fcw", "labels": {"webhooked": "yes"}}})
        create_from_dict(api, workload("hooked"), namespace="fcw")
        deadline = time.monotonic() + 120
        while not refused(core, apps):
            if time.monotonic() > deadline:
                raise SystemExit("the controllers were not all refused within 120 s")
            time.sleep(0.5)
        items: list[dict[str, Any]] = []
        for ns in NAMESPACES:
            for kind, listed in (
                    ("Deployment", apps.list_namespaced_deployment(ns)),
                    ("ReplicaSet", apps.list_namespaced_replica_set(ns)),
                    ("StatefulSet", apps.list_namespaced_stateful_set(ns)),
                    ("DaemonSet", apps.list_namespaced_daemon_set(ns)),
                    ("Job", batch.list_namespaced_job(ns)),
                    ("Pod", core.list_namespaced_pod(ns)),
                    ("Event", core.list_namespaced_event(ns)),
                    ("ResourceQuota", core.list_namespaced_resource_quota(ns)),
                    ("LimitRange", core.list_namespaced_limit_range(ns))):
                for item in api.sanitize_for_serialization(listed)["items"]:
                    item.setdefault("apiVersion", API_VERSIONS.get(kind, "v1"))
                    item.setdefault("kind", kind)
                    item["metadata"].pop("managedFields", None)
                    items.append(item)
        OUT.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items},
                                  indent=1) + "\n")
        print(f"{len(items)} objects -> {OUT}")


if __name__ == "__main__":
    main()
