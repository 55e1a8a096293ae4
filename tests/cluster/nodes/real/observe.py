"""Record what a real kubelet writes, for the fixtures to match: every seed failure as a
bare pod on the real node (no crashwatch), a watch timeline of each container's state with
the kubelet's default syncFrequency, then each pod's final status, its Events and what
``pods/log`` answers with ``previous=true`` and ``false``.

    python -m tests.cluster.nodes.real.observe [SECONDS] > tests/cluster/nodes/real/observed-1.36.txt

(as root, from the repository root; about SECONDS + 1 minute). observed-1.36.txt is one run.
"""
# ruff: noqa: E501, E701, E702
import json
import sys
import threading
import time

from kubernetes import client, watch
from tests.cluster.nodes.real.cluster import RealCluster

SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 200


def p(*a: object) -> None:
    print(*a, flush=True)


with RealCluster() as rc:
    api = rc.plane.api_client(); core = client.CoreV1Api(api)
    ns = "facts"
    core.create_namespace({"metadata": {"name": ns}})
    while True:
        try: core.read_namespaced_service_account("default", ns); break
        except client.ApiException: time.sleep(0.2)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "app-config"}, "data": {"LOG_LEVEL": "info"}})
    core.create_namespaced_secret(ns, {"metadata": {"name": "app-secrets"}, "data": {"LOG_LEVEL": "aW5mbw=="}})
    t = rc.image("testapp:1")
    def c(image, *args, **kw):
        d = {"name": "app", "image": image, "args": list(args)}; d.update(kw); return d
    pods = {
        "crash": c(t, "exit", "-code", "3", "-msg", "FATAL: boom"),
        "oom": c(t, "hog", "-mib", "64", resources={"limits": {"memory": "32Mi"}}),
        "liveness404": c(t, "serve", "-health", "/livez", livenessProbe={"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 2, "failureThreshold": 2}),
        "refused": c(t, "serve", livenessProbe={"tcpSocket": {"port": 5432}, "periodSeconds": 2, "failureThreshold": 2}),
        "ready503": c(t, "serve", "-ready-status", "503", readinessProbe={"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 2}),
        "nginx-rofs": c(rc.image("nginx:1.22"), securityContext={"readOnlyRootFilesystem": True}),
        "shop-noenv": c(rc.image("shop:1")),
        "psql": c(rc.image("psql:15"), "postgresql://report@db:5432/shop", "-c", "select 1"),
        "orders": c(rc.image("orders:1")),
        "cm-missing": c(t, "sleep", env=[{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "X"}}}]),
        "cm-key": c(t, "sleep", env=[{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "DATABASE_URL"}}}]),
        "secret-missing": c(t, "sleep", env=[{"name": "X", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "X"}}}]),
        "secret-key": c(t, "sleep", env=[{"name": "X", "valueFrom": {"secretKeyRef": {"name": "app-secrets", "key": "DATABASE_URL"}}}]),
        "missing-tag": c(rc.tag("testapp:does-not-exist")),
        "unauthorized": c(rc.tag("testapp:1", private=True), "sleep"),
        "envfrom-missing": c(t, "sleep", envFrom=[{"configMapRef": {"name": "nope"}}]),
    }
    timeline = []
    t0 = time.time()
    def watcher():
        w = watch.Watch()
        for ev in w.stream(core.list_namespaced_pod, ns, timeout_seconds=SECONDS + 10):
            pod = ev["object"]
            for cs in pod.status.container_statuses or []:
                timeline.append((round(time.time() - t0, 1), pod.metadata.name, cs.restart_count,
                                 json.dumps(api.sanitize_for_serialization(cs.state)),
                                 json.dumps(api.sanitize_for_serialization(cs.last_state))[:160]))
    th = threading.Thread(target=watcher, daemon=True); th.start()
    time.sleep(1)
    for name, cont in pods.items():
        spec = {"containers": [cont], "terminationGracePeriodSeconds": 2}
        if name == "psql":
            spec["hostAliases"] = [{"ip": "127.0.0.1", "hostnames": ["db"]}]
        core.create_namespaced_pod(ns, {"metadata": {"name": name}, "spec": spec})
    p("created all at", round(time.time() - t0, 1))
    while time.time() - t0 < SECONDS:
        time.sleep(2)
    p("=== TIMELINE")
    last = {}
    for row in timeline:
        key = row[1]
        if last.get(key) != row[2:]:
            p(*row)
            last[key] = row[2:]
    for name in pods:
        pod = core.read_namespaced_pod(name, ns)
        p("=" * 20, "pod", name, pod.status.phase, "ready" if all(cs.ready for cs in pod.status.container_statuses or []) else "notready")
        for cs in pod.status.container_statuses or []:
            p(json.dumps(api.sanitize_for_serialization(cs)))
        for cond in pod.status.conditions or []:
            if cond.status != "True":
                p("condition", cond.type, cond.status, cond.reason, cond.message)
        p("--- events")
        for e in sorted(core.list_namespaced_event(ns, field_selector=f"involvedObject.name={name}").items, key=lambda e: str(e.first_timestamp)):
            p(e.type, e.reason, f"x{e.count}", f"[{e.source.component}] fieldPath={e.involved_object.field_path}:", e.message)
        for prev in (True, False):
            try:
                txt = core.read_namespaced_pod_log(name, ns, previous=prev, _preload_content=False)
                p(f"--- log previous={prev} HTTP {txt.status}:", repr(txt.data.decode()[-1500:]))
            except client.ApiException as e:
                p(f"--- log previous={prev} HTTP {e.status}:", json.loads(e.body).get("message"))
    for e in core.list_event_for_all_namespaces(field_selector="involvedObject.kind=Node").items:
        p("NODE EVENT", e.type, e.reason, e.message)
