"""The Grafana dashboard's queries against a real Prometheus scraping a real ``crashwatch run``
with failures in it (tests/e2e/test_operator.py's ``prometheus`` fixture, over this module's
remediating operator): every panel's query, its templating variables substituted from their
own queries' answers as Grafana would, parses and returns series.

The cluster is driven into what the panels show: a container crash-looping for a missing
setting in a promotion that regressed (failing containers, a rollout regression), an
autoscaler's shrink repaired by a memory floor (OOM after shrink, a remediation applied and
verified), and crashwatch's own writes about one workload failing because an admission
webhook it must pass does not answer (handler errors, writes by result)."""

from __future__ import annotations

import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from tests.cluster.controlplane.plane import ControlPlane
from tests.cluster.nodes.kwok import kubelet
from tests.cluster.web import get
from tests.deploy.dashboard import Query, label_values, load, queries, substitute, variables
from tests.e2e import test_operator
from tests.e2e.deploying import kubectl
from tests.e2e.test_operator import (
    REASON,
    Operator,
    annotations,
    make_deployment,
    running_pods,
    start_operator,
    stop_operator,
    wait_for,
)
from tests.e2e.test_remediation import ENV, memory_limit, policy, shrink_and_oom

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(480)]

# The fixture itself, reused: pytest finds fixtures by name in the requesting module, so it
# runs over this module's ``operator`` (remediation on), defined below.
prometheus = test_operator.prometheus

BLOCKED = "crashwatch-e2e/webhook"
SERVICEACCOUNT = "system:serviceaccount:crashwatch:crashwatch"


@pytest.fixture(scope="module")
def operator(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Operator]:
    op = start_operator(control_plane, tmp_path_factory.mktemp("operator"), "remediation", ENV)
    try:
        yield op
    finally:
        stop_operator(op)


def _webhook(name: str, namespace: str) -> str:
    """A validating webhook on crashwatch's pod patches in ``namespace`` (pods labelled
    BLOCKED only) whose server does not answer, with failurePolicy Fail: the API server
    answers 500, as when a policy engine's webhook is down."""
    return f"""
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {{name: {name}}}
webhooks:
  - name: blocked.crashwatch-e2e.dev
    clientConfig: {{url: "https://127.0.0.1:1/validate"}}
    rules:
      - {{operations: [UPDATE], apiGroups: [""], apiVersions: [v1], resources: [pods],
         scope: Namespaced}}
    namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {namespace}}}}}
    objectSelector: {{matchLabels: {{{BLOCKED}: "true"}}}}
    matchConditions:
      - {{name: crashwatch-only, expression: "request.userInfo.username == '{SERVICEACCOUNT}'"}}
    failurePolicy: Fail
    sideEffects: None
    admissionReviewVersions: [v1]
    timeoutSeconds: 2
"""


def _regress(core: client.CoreV1Api, apps: client.AppsV1Api, ns: str, op: Operator) -> str:
    """A promotion whose new revision crash-loops on a missing setting: Rollout.Regression
    on the Deployment, CrashLoop.MissingEnv on the pod (both left failing)."""
    make_deployment(apps, ns, "shop", image="example/shop:1.0")
    running_pods(core, ns, "shop")
    apps.patch_namespaced_deployment("shop", ns, {"spec": {"template": {
        "metadata": {"annotations": {kubelet.SIMULATED_ANNOTATION: "true"}},
        "spec": {"containers": [{"name": "app", "image": "example/shop:1.1"}]}}}})

    def new_pod() -> str | None:
        for p in core.list_namespaced_pod(ns, label_selector="app=shop").items:
            if p.spec.containers[0].image == "example/shop:1.1" and p.spec.node_name:
                return str(p.metadata.name)
        return None
    name = str(wait_for("the new revision's pod", new_pod, timeout=60))
    kubelet.crash_loop(core, (ns, name), "app", exit_code=1, restarts=3,
                       logs_dir=op.logs_dir, log="FATAL: VAULT_ADDR must be set\n")
    wait_for("Rollout.Regression on the Deployment", lambda: annotations(
        apps.read_namespaced_deployment("shop", ns)).get(REASON) == "Rollout.Regression",
        timeout=60, op=op)
    return name


def _series(prom: str, query: str, instant: bool) -> tuple[str, list[Any], str]:
    """(status, result, error) of one query as Grafana sends it: instant, or over the last
    ten minutes in 5 s steps."""
    if instant:
        params = {"query": query}
        path = "/api/v1/query"
    else:
        now = float(get(prom + "/api/v1/query?query=time()")["data"]["result"][0])
        params = {"query": query, "start": str(now - 600), "end": str(now), "step": "5"}
        path = "/api/v1/query_range"
    answer = get(prom + path + "?" + urllib.parse.urlencode(params)) or {}
    return (str(answer.get("status")), list(answer.get("data", {}).get("result", [])),
            str(answer.get("error", "")))


def _label_values(prom: str, selector: str, label: str) -> list[str]:
    answer = get(prom + "/api/v1/series?" + urllib.parse.urlencode({"match[]": selector})) or {}
    assert answer.get("status") == "success", (selector, answer)
    return sorted({s[label] for s in answer["data"] if label in s})


def test_every_panel_query_returns_series_from_a_real_prometheus(
    prometheus: str, operator: Operator, control_plane: ControlPlane, api: client.ApiClient,
    core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str, tmp_path: Path,
) -> None:
    # An autoscaler's shrink, repaired by a memory floor: OOMAfterShrink, floor applied.
    policy(api, namespace, "rails", dryRun=False,
           resourceFloor={"enabled": True, "headroomPercent": 0})
    shrink_and_oom(core, apps, namespace)
    wait_for("floor pinned", lambda: memory_limit(apps, namespace, "rails") == "512Mi",
             timeout=60, op=operator)
    # A regressed promotion, left failing.
    _regress(core, apps, namespace, operator)
    # crashwatch's writes about one workload refused by a webhook that does not answer.
    webhook = f"crashwatch-e2e-{uuid.uuid4().hex[:6]}"
    kubectl(control_plane, "apply", "-f", "-", stdin=_webhook(webhook, namespace))
    try:
        labels = {"app": "blocked", BLOCKED: "true"}
        apps.create_namespaced_deployment(namespace, {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "blocked"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "blocked"}},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                         {"name": "app", "image": "example/app:1.0"}]}}}})
        pod = running_pods(core, namespace, "blocked")[0]
        kubelet.config_error(core, (namespace, pod.metadata.name), "app", kind="secret",
                             name="blocked-credentials", key="password")
        wait_for("a publication failing on the webhook", lambda: operator.sample(
            "crashwatch_handler_errors_total", resource="publish") > 0, timeout=120,
            op=operator)
        wait_for("the floor's rollout verified", lambda: operator.sample(
            "crashwatch_remediations_total", action="floor", result="verified") > 0,
            timeout=90, op=operator)

        dashboard = load()
        # The variables, each from its own query, in order (a later one uses the earlier).
        selected: dict[str, list[str]] = {}
        for variable in variables(dashboard):
            selector, label = label_values(variable)
            values = wait_for(f"${variable['name']} has values", lambda s=selector, lb=label:
                              _label_values(prometheus, substitute(s, selected), lb), timeout=30)
            selected[variable["name"]] = values
        assert selected["job"] == ["crashwatch"]
        assert namespace in selected["namespace"]
        assert {"CrashLoop.OOMAfterShrink", "Rollout.Regression",
                "Config.MissingSecretKey"} <= set(selected["reason"])

        # Each query until it returns series (a rate needs two scrapes of a new counter),
        # all of them within one deadline; one Prometheus refuses is reported at once.
        pending = {q: substitute(q.expr, selected) for q in queries(dashboard)}
        assert len(pending) >= 20
        last: dict[Query, tuple[str, list[Any], str]] = {}
        deadline = time.monotonic() + 90
        while pending and time.monotonic() < deadline:
            for q, expr in list(pending.items()):
                last[q] = _series(prometheus, expr, q.instant)
                assert last[q][0] == "success", f"{q}\n  -> {last[q][0]}: {last[q][2]}"
                if last[q][1]:
                    del pending[q]
            if pending:
                time.sleep(1)
        assert not pending, "no series from:\n" + "\n".join(
            f"{q}\n  as sent: {expr}" for q, expr in pending.items())
    finally:
        kubectl(control_plane, "delete", "validatingwebhookconfiguration", webhook,
                "--ignore-not-found")
