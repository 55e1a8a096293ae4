"""Regenerate the bundled example snapshot (``make examples``): the incidents that
motivated crashwatch, as ``kubectl get ... -o json`` would have printed them.

Built with the same kubelet-exact builders the unit tests use (tests/unit/kube.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "unit"))

import kube as k  # noqa: E402


def rails_shrink() -> tuple[list[dict], dict]:
    ns = "storefront"
    template = k.container(name="rails", image="registry.example.com/storefront/rails:7.4.1",
                           memory_limit="512Mi", memory_request="512Mi")
    shrunk = k.container(name="rails", image=template["image"], memory_limit="32Mi",
                         memory_request="32Mi")
    p = k.pod(name="rails-6d8f7c9b5-t4wzq", namespace=ns, containers=[shrunk],
              owner=("ReplicaSet", "rails-6d8f7c9b5"), annotations={
                  "vpaUpdates": "Pod resources updated by rails: container 0: cpu request, "
                  "memory request, memory limit", "vpaObservedContainers": "rails"})
    p["status"]["containerStatuses"] = [
        k.crashloop_status(shrunk, p, k.terminated("OOMKilled", 137, ran_for=2), restarts=14,
                           backoff="5m0s")]
    return [
        k.deployment("rails", [template], revision=1, namespace=ns, available=0),
        k.replicaset("rails-6d8f7c9b5", "rails", 1, [template], namespace=ns, available=0),
        k.vpa("rails", ("Deployment", "rails"), "rails", "32Mi", namespace=ns),
        p,
    ], {}


def rails_promotion() -> tuple[list[dict], dict]:
    ns = "storefront-prod"
    old = k.container(name="rails", image="registry.example.com/storefront/rails:7.4.1")
    new = k.container(name="rails", image="registry.example.com/storefront/rails:7.5.0")
    healthy = k.pod(name="rails-5c4b8d7f6-8mxvd", namespace=ns, containers=[old],
                    owner=("ReplicaSet", "rails-5c4b8d7f6"))
    healthy["status"]["containerStatuses"] = [k.running_status(old)]
    bad = k.pod(name="rails-7f9d6c5b8-q2kfn", namespace=ns, containers=[new],
                owner=("ReplicaSet", "rails-7f9d6c5b8"))
    bad["status"]["containerStatuses"] = [
        k.crashloop_status(new, bad, k.terminated("Error", 1, ran_for=4), restarts=6)]
    log = (
        "=> Booting Puma\n=> Rails 7.1.3 application starting in production\n"
        "=> Run `bin/rails server --help` for more startup options\n"
        "Exiting\n/usr/local/bundle/gems/railties-7.1.3/lib/rails/application.rb:658:in "
        "`validate_secret_key_base': Missing `secret_key_base` for 'production' environment, "
        "set this string with `bin/rails credentials:edit` (ArgumentError)\n"
    )
    return [
        k.deployment("rails", [new], revision=2, namespace=ns, replicas=1, available=1),
        k.replicaset("rails-5c4b8d7f6", "rails", 1, [old], namespace=ns),
        k.replicaset("rails-7f9d6c5b8", "rails", 2, [new], namespace=ns, available=0),
        healthy, bad,
    ], {(ns, bad["metadata"]["name"], "rails"): log}


def keycloak() -> tuple[list[dict], dict]:
    ns = "identity"
    c = k.container(name="keycloak", image="quay.io/keycloak/keycloak:26.0.5",
                    memory_limit="1Gi", memory_request="1Gi",
                    securityContext={"readOnlyRootFilesystem": True, "runAsNonRoot": True,
                                     "allowPrivilegeEscalation": False})
    p = k.pod(name="keycloak-0", namespace=ns, containers=[c], owner=("StatefulSet", "keycloak"))
    p["status"]["containerStatuses"] = [
        k.crashloop_status(c, p, k.terminated("Error", 1, ran_for=9), restarts=5)]
    log = (
        "Updating the configuration and installing your custom providers, if any. Please "
        "wait.\n2026-11-20 10:29:31,118 ERROR [org.keycloak.quarkus.runtime.cli."
        "ExecutionExceptionHandler] (main) ERROR: Failed to start server in (production) mode\n"
        "2026-11-20 10:29:31,119 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionException"
        "Handler] (main) Error details:: java.nio.file.FileSystemException: /opt/keycloak/lib/"
        "quarkus/build-system.properties: Read-only file system\n"
    )
    return [p], {(ns, "keycloak-0", "keycloak"): log}


def config_errors() -> tuple[list[dict], dict]:
    ns = "billing"
    server = k.container(name="server", image="registry.example.com/billing/server:2.8.0",
                         env=[{"name": "INVOICE_TEMPLATE", "valueFrom": {"configMapKeyRef": {
                             "name": "server-config", "key": "invoice_template"}}}])
    ps = k.pod(name="server-6b7c8d9f5-lm3np", namespace=ns, containers=[server],
               owner=("ReplicaSet", "server-6b7c8d9f5"), phase="Pending")
    msg = "couldn't find key invoice_template in ConfigMap billing/server-config"
    ps["status"]["containerStatuses"] = [
        k.waiting_status(server, "CreateContainerConfigError", msg)]
    worker = k.container(name="worker", image="registry.example.com/billing/worker:2.8.0",
                         envFrom=[{"secretRef": {"name": "worker-env"}}])
    pw = k.pod(name="worker-7d6f5c4b3-hh8rt", namespace=ns, containers=[worker],
               owner=("ReplicaSet", "worker-7d6f5c4b3"), phase="Pending")
    pw["status"]["containerStatuses"] = [
        k.waiting_status(worker, "CreateContainerConfigError", 'secret "worker-env" not found')]
    return [
        ps, k.event(ps, "Failed", f"Error: {msg}", container_name="server", count=12),
        pw, k.event(pw, "Failed", 'Error: secret "worker-env" not found',
                    container_name="worker", count=12),
        k.named("ConfigMap", "server-config", ns),
        k.named("Secret", "billing-worker-env-5m8h2k9c4t", ns),
    ], {}


def hub_image() -> tuple[list[dict], dict]:
    ns = "jupyter"
    image = "quay.io/jupyterhub/k8s-hub:4.9.9"
    c = k.container(name="hub", image=image)
    p = k.pod(name="hub-7c9b8d6f5-x8vbn", namespace=ns, containers=[c],
              owner=("ReplicaSet", "hub-7c9b8d6f5"), phase="Pending")
    p["status"]["containerStatuses"] = [
        k.waiting_status(c, "ImagePullBackOff", f'Back-off pulling image "{image}"')]
    fail = (f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull '
            f'and unpack image "{image}": failed to resolve reference "{image}": {image}: '
            "not found")
    return [
        p,
        k.event(p, "Failed", fail, container_name="hub", count=6),
        k.event(p, "Failed", "Error: ErrImagePull", container_name="hub", count=6),
        k.event(p, "BackOff", f'Back-off pulling image "{image}"', type_="Normal",
                container_name="hub", count=44),
    ], {}


def probes() -> tuple[list[dict], dict]:
    ns = "payments"
    api = k.container(name="api", image="registry.example.com/payments/api:5.2.0",
                      livenessProbe={"httpGet": {"path": "/healthz", "port": 8080},
                                     "periodSeconds": 10, "failureThreshold": 3})
    pa = k.pod(name="api-5f6d7c8b9-kq2zt", namespace=ns, containers=[api],
               owner=("ReplicaSet", "api-5f6d7c8b9"))
    pa["status"]["containerStatuses"] = [
        k.crashloop_status(api, pa, k.terminated("Error", 137, ran_for=31), restarts=8)]
    app = k.container(name="ledger", image="registry.example.com/payments/ledger:1.9.3")
    proxy = k.container(name="db-proxy", image="gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0",
                        livenessProbe={"httpGet": {"path": "/liveness", "port": 9801}})
    pl = k.pod(name="ledger-8c7b6d5f4-w9rtx", namespace=ns, containers=[app, proxy],
               owner=("ReplicaSet", "ledger-8c7b6d5f4"))
    pl["status"]["containerStatuses"] = [
        k.running_status(app),
        k.running_status(proxy, started_ago=12, ready=False, restarts=11,
                         last=k.terminated("Error", 137, finished_ago=13, ran_for=31))]
    return [
        pa,
        k.event(pa, "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 404",
                container_name="api", count=24),
        k.event(pa, "Killing", "Container api failed liveness probe, will be restarted",
                type_="Normal", container_name="api", count=8),
        pl,
        k.event(pl, "Unhealthy", 'Liveness probe failed: Get "http://10.8.0.5:9801/liveness": '
                "dial tcp 10.8.0.5:9801: connect: connection refused",
                container_name="db-proxy", count=33),
        k.event(pl, "Killing", "Container db-proxy failed liveness probe, will be restarted",
                type_="Normal", container_name="db-proxy", count=11),
    ], {}


def main() -> None:
    items: list[dict] = []
    logs: dict = {}
    for scenario in (rails_shrink, rails_promotion, keycloak, config_errors, hub_image, probes):
        objs, scenario_logs = scenario()
        items += objs
        logs.update(scenario_logs)
    snapshot = {"apiVersion": "v1", "kind": "List", "items": items,
                "metadata": {"resourceVersion": ""}}
    (HERE / "incidents.json").write_text(json.dumps(snapshot, indent=2) + "\n")
    for (ns, pod, container), text in logs.items():
        path = HERE / "logs" / ns / pod / f"{container}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


if __name__ == "__main__":
    main()
