#!/usr/bin/env python3
"""Generate the blind evaluation scenarios (snapshot + logs + expected.json).

Run: python3 eval/blind/make_scenarios.py   (idempotent; rewrites NN-*/ dirs)
"""
from __future__ import annotations

import datetime as dt
import sys
import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from k8sfixture import (Scenario, container, env_cm, env_secret, env_val, http_probe,  # noqa: E402
                        iso, mkuid, resources, safe, backoff, h)

D = dt.timedelta
UTC = dt.timezone.utc


def T(*a):
    return dt.datetime(*a, tzinfo=UTC)


def pname(rsname, seed):
    return f"{rsname}-{safe(rsname + seed, 5)}"


def rs_owner(out, rev):
    rsname, rsuid, _, tmpl = out[rev]
    return ("apps/v1", "ReplicaSet", rsname, rsuid), tmpl, rsname


def single(s, ns, name, tmpl, *, created, replicas, ready, prog=None, labels=None,
           annotations=None, avail_since=None):
    avail_ok = ready >= replicas - (replicas * 25 // 100)
    if prog is None:
        if ready == replicas:
            prog = "complete"
        elif s.T - created > D(minutes=10):
            prog = "deadline"
        else:
            prog = "progressing"
    prog_since = created if prog != "deadline" else created + D(minutes=10)
    out = s.deployment(ns, name, revisions=[{"rev": 1, "template": tmpl, "created": created,
                                             "replicas": replicas, "ready": ready,
                                             "available": ready}],
                       replicas=replicas, created=created, labels=labels or tmpl["metadata"]["labels"],
                       annotations=annotations,
                       status=s.dep_status(replicas=replicas, updated=replicas, ready=ready,
                                           available=ready, avail_ok=avail_ok,
                                           avail_since=avail_since or created + D(seconds=2),
                                           progressing=prog, prog_since=prog_since,
                                           prog_update=prog_since, rsname="{RS}"))
    return out


def L(name, **extra):
    d = {"app.kubernetes.io/name": name}
    d.update(extra)
    return d


SCENARIOS = []


def scenario(fn):
    SCENARIOS.append(fn)
    return fn


# ----------------------------------------------------------------------------------------------
@scenario
def s01():
    s = Scenario("01-rails-secret-key-base-promotion", T(2026, 3, 14, 9, 42, 17),
                 "Rails storefront promoted from staging: revision 7 reads env from a ConfigMap "
                 "that lacks SECRET_KEY_BASE; Rails aborts at boot. Revision 6 is still serving.")
    ns, name = "shop", "storefront"
    labels = L(name, **{"app.kubernetes.io/component": "web"})
    old_img = "registry.example.com/shop/storefront:2026.02.4"
    new_img = "registry.example.com/shop/storefront:2026.03.1"
    common_env = [env_val("RAILS_ENV", "production"), env_val("RAILS_LOG_TO_STDOUT", "1"),
                  env_val("RAILS_SERVE_STATIC_FILES", "1"), env_val("WEB_CONCURRENCY", "2"),
                  env_secret("DATABASE_URL", "storefront-secrets", "database-url")]
    def web(img, rev):
        env = list(common_env)
        ef = None
        if rev == 6:
            env.append(env_secret("SECRET_KEY_BASE", "storefront-secrets", "secret-key-base"))
        else:
            ef = [{"configMapRef": {"name": "storefront-env"}}]
        return container("web", img, command=["./bin/thrust", "./bin/rails", "server"],
                         ports=[("http", 3000)], env=env, env_from=ef,
                         res=resources("250m", "512Mi", None, "768Mi"),
                         readiness=http_probe("/up", 3000, delay=5, period=10),
                         liveness=http_probe("/up", 3000, delay=30, period=20))
    t6 = s.template(labels, [web(old_img, 6)])
    t7 = s.template(labels, [web(new_img, 7)])
    created = s.at(days=212)
    r6 = s.at(days=9, hours=3)
    r7 = s.at(minutes=26, seconds=40)
    out = s.deployment(ns, name, replicas=4, created=created, labels=labels,
                       annotations={"argocd.argoproj.io/tracking-id": "storefront-prod:apps/Deployment:shop/storefront"},
                       revisions=[{"rev": 6, "template": t6, "created": r6, "replicas": 3,
                                   "ready": 3, "available": 3, "gen": 3},
                                  {"rev": 7, "template": t7, "created": r7, "replicas": 2,
                                   "ready": 0, "available": 0, "gen": 2}],
                       status=s.dep_status(replicas=5, updated=2, ready=3, available=3,
                                           avail_ok=True, avail_since=r6 + D(minutes=2),
                                           progressing="deadline", prog_since=r7 + D(minutes=10),
                                           prog_update=r7 + D(minutes=10), rsname="{RS}"))
    o6, tm6, rs6 = rs_owner(out, 6)
    o7, tm7, rs7 = rs_owner(out, 7)
    nodes = ["ip-10-20-33-118.eu-central-1.compute.internal",
             "ip-10-20-41-7.eu-central-1.compute.internal",
             "ip-10-20-52-230.eu-central-1.compute.internal"]
    for i in range(3):
        p = pname(rs6, str(i))
        st = r6 + D(seconds=20 + i * 30)
        s.pod(ns, p, owner=o6, template=tm6, node=nodes[i], ip=f"10.20.{33 + i * 8}.{140 + i}",
              created=r6 + D(seconds=i * 30), phase="Running", ready_since=st + D(seconds=9),
              cstatuses=[s.running(p, "web", old_img, st)])
    for i in range(2):
        p = pname(rs7, str(i))
        c0 = r7 + D(seconds=i)
        s.pod(ns, p, owner=o7, template=tm7, node=nodes[i + 1], ip=f"10.20.{41 + i * 11}.{60 + i}",
              created=c0, phase="Running",
              cstatuses=[s.crashloop(ns, p, "web", new_img, 9, exit_code=1, reason="Error",
                                     started=s.at(minutes=3, seconds=11 - i * 20),
                                     finished=s.at(minutes=3, seconds=6 - i * 20))])
        s.scheduled(ns, p, nodes[i + 1], c0)
        s.started_events(ns, p, nodes[i + 1], "web", new_img, c0 + D(seconds=1), count=10,
                         last=s.at(minutes=3, seconds=12 - i * 20), pulled_fresh=(i == 0))
        s.backoff_event(ns, p, nodes[i + 1], "web", c0 + D(seconds=30), 117 - i)
        s.log(ns, p, "web", RAILS_LOG.format(ts="2026-03-14T09:39:0" + str(5 + i)))
        s.expect(ns, p, "web", "CrashLoop.MissingEnv", ["secret_key_base"],
                 owner={"kind": "Deployment", "name": name})
    for msg, t in ((f"Scaled up replica set {rs7} to 1", r7),
                   (f"Scaled down replica set {rs6} to 3 from 4", r7 + D(seconds=1)),
                   (f"Scaled up replica set {rs7} to 2 from 1", r7 + D(seconds=1))):
        s.event(ns, name, "ScalingReplicaSet", msg, kind="Deployment", api="apps/v1",
                component="deployment-controller", first=t, last=t)
    s.expect(ns, None, None, "Rollout.Regression", [old_img],
             owner={"kind": "Deployment", "name": name})
    s.healthy_deployment(ns, "cart-service", "registry.example.com/shop/cart-service:1.42.0",
                         replicas=2, age_days=17, ip_base="10.20.44",
                         node_pool=nodes)
    s.completed_job(ns, "abandoned-carts", "registry.example.com/shop/storefront:2026.02.4",
                    scheduled=s.at(minutes=42, seconds=17), node=nodes[0],
                    command=["./bin/rails", "carts:remind"])
    s.coredns()
    return s


RAILS_LOG = """\
{ts}.114Z + ./bin/rails db:prepare
{ts}.901Z bin/rails aborted!
{ts}.901Z ArgumentError: Missing `secret_key_base` for 'production' environment, set this string with `bin/rails credentials:edit` (ArgumentError)
{ts}.901Z
{ts}.901Z           raise ArgumentError, "Missing `secret_key_base` for '#{{Rails.env}}' environment, set this string with `bin/rails credentials:edit`"
{ts}.901Z                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
{ts}.902Z /usr/local/bundle/ruby/3.3.0/gems/railties-7.2.2.1/lib/rails/application.rb:493:in `validate_secret_key_base'
{ts}.902Z /usr/local/bundle/ruby/3.3.0/gems/railties-7.2.2.1/lib/rails/application.rb:466:in `secret_key_base'
{ts}.902Z /usr/local/bundle/ruby/3.3.0/gems/railties-7.2.2.1/lib/rails/application.rb:185:in `key_generator'
{ts}.902Z /usr/local/bundle/ruby/3.3.0/gems/activestorage-7.2.2.1/lib/active_storage/engine.rb:136:in `block (2 levels) in <class:Engine>'
{ts}.902Z /rails/config/environment.rb:5:in `<main>'
{ts}.902Z Tasks: TOP => db:prepare => db:load_config => environment
{ts}.902Z (See full trace by running task with --trace)
"""


# ----------------------------------------------------------------------------------------------
@scenario
def s02():
    s = Scenario("02-go-vault-addr-statefulset", T(2026, 2, 3, 16, 5, 51),
                 "Go ledger service (StatefulSet) exits: envconfig reports VAULT_ADDR missing.")
    ns, name = "payments", "ledger"
    img = "ghcr.io/acme-pay/ledger:1.14.2"
    labels = L(name)
    tmpl = s.template(labels, [container(
        "ledger", img, args=["serve", "--config=/etc/ledger/config.yaml"],
        ports=[("grpc", 9090), ("metrics", 9102)],
        env=[env_val("VAULT_ROLE", "ledger"), env_val("VAULT_SECRET_PATH", "kv/data/payments/ledger"),
             env_val("LOG_LEVEL", "info")],
        res=resources("200m", "256Mi", None, "512Mi"),
        mounts=[{"mountPath": "/var/lib/ledger", "name": "data"},
                {"mountPath": "/etc/ledger", "name": "config", "readOnly": True}])],
        sa="ledger", volumes=[{"configMap": {"defaultMode": 420, "name": "ledger-config"},
                               "name": "config"}])
    created = s.at(minutes=38)
    suid, rev = s.statefulset(ns, name, template=tmpl, replicas=3, created=created, ready=0)
    node = "gke-prod-payments-pool-2b8c41f0-k3vd"
    p = "ledger-0"
    def patch(spec):
        spec["hostname"] = p
        spec["subdomain"] = name
        spec["volumes"].insert(0, {"name": "data", "persistentVolumeClaim": {"claimName": "data-ledger-0"}})
    s.pod(ns, p, owner=("apps/v1", "StatefulSet", name, suid), template=tmpl, node=node,
          ip="10.52.3.17", created=created + D(seconds=3), phase="Running",
          extra_labels={"apps.kubernetes.io/pod-index": "0", "controller-revision-hash": rev,
                        "statefulset.kubernetes.io/pod-name": p}, spec_patch=patch,
          cstatuses=[s.crashloop(ns, p, "ledger", img, 11, exit_code=1, reason="Error",
                                 started=s.at(minutes=1, seconds=40),
                                 finished=s.at(minutes=1, seconds=39))])
    s.scheduled(ns, p, node, created + D(seconds=3))
    s.event(ns, p, "SuccessfulAttachVolume",
            'AttachVolume.Attach succeeded for volume "pvc-3f1c9a2e-8d44-4b7f-9c1e-2a7b6d5e0f13" ',
            component="attachdetach-controller", first=created + D(seconds=9), last=created + D(seconds=9))
    s.started_events(ns, p, node, "ledger", img, created + D(seconds=20), count=12,
                     last=s.at(minutes=1, seconds=40), pulled_fresh=True)
    s.backoff_event(ns, p, node, "ledger", created + D(seconds=60), 171)
    s.log(ns, p, "ledger", """
{"level":"info","ts":1770134510.2214,"caller":"ledger/main.go:41","msg":"starting ledger","version":"1.14.2","commit":"9f3c2ab","go":"go1.23.5"}
{"level":"info","ts":1770134510.2219,"caller":"config/load.go:33","msg":"loading configuration","file":"/etc/ledger/config.yaml"}
{"level":"fatal","ts":1770134510.2223,"caller":"ledger/main.go:52","msg":"invalid configuration","error":"envconfig.Process: required key VAULT_ADDR missing value","stacktrace":"main.main\\n\\t/src/cmd/ledger/main.go:52\\nruntime.main\\n\\t/usr/local/go/src/runtime/proc.go:272"}
""")
    s.expect(ns, p, "ledger", "CrashLoop.MissingEnv", ["VAULT_ADDR"],
             owner={"kind": "StatefulSet", "name": name})
    s.event(ns, name, "SuccessfulCreate",
            f"create Pod {p} in StatefulSet {name} successful", kind="StatefulSet", api="apps/v1",
            component="statefulset-controller", first=created + D(seconds=3), last=created + D(seconds=3))
    s.healthy_deployment(ns, "payment-gateway", "ghcr.io/acme-pay/payment-gateway:3.2.0", replicas=3,
                         age_days=12, node_pool=[node, "gke-prod-payments-pool-2b8c41f0-w9rl"],
                         ip_base="10.52.4")
    s.coredns()
    return s


# ----------------------------------------------------------------------------------------------
@scenario
def s03():
    s = Scenario("03-python-keyerror-cronjob", T(2026, 1, 20, 2, 31, 8),
                 "Nightly export CronJob pod (restartPolicy OnFailure) crash-loops on "
                 "KeyError: 'EXPORT_BUCKET'. Top owner is the CronJob.")
    ns = "analytics"
    cj = "nightly-export"
    img = "europe-docker.pkg.dev/acme-data/jobs/nightly-export:0.9.3"
    sched = T(2026, 1, 20, 2, 0, 0)
    jname = f"{cj}-{int(sched.timestamp()) // 60}"
    juid = mkuid(f"{ns}/job/{jname}")
    labels = {"batch.kubernetes.io/controller-uid": juid, "batch.kubernetes.io/job-name": jname,
              "controller-uid": juid, "job-name": jname}
    tmpl = s.template(labels, [container(
        "export", img, command=["python", "-m", "exporter"],
        env=[env_val("EXPORT_FORMAT", "parquet"), env_secret("WAREHOUSE_DSN", "warehouse", "dsn")],
        res=resources("500m", "1Gi", None, "2Gi"))], restart="OnFailure", sa="exporter")
    s.add({"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"creationTimestamp": iso(sched), "generation": 1, "labels": dict(labels),
                        "name": jname, "namespace": ns,
                        "ownerReferences": [{"apiVersion": "batch/v1", "blockOwnerDeletion": True,
                                             "controller": True, "kind": "CronJob", "name": cj,
                                             "uid": mkuid(f"{ns}/cronjob/{cj}")}],
                        "resourceVersion": s.rv(), "uid": juid},
           "spec": {"backoffLimit": 6, "completionMode": "NonIndexed", "completions": 1,
                    "manualSelector": False, "parallelism": 1,
                    "podReplacementPolicy": "TerminatingOrFailed",
                    "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": juid}},
                    "suspend": False, "template": tmpl},
           "status": {"active": 1, "ready": 0, "startTime": iso(sched), "terminating": 0,
                      "uncountedTerminatedPods": {}}})
    p = f"{jname}-{safe(jname, 5)}"
    node = "gke-data-batch-pool-7e1d2c33-5vqn"
    s.pod(ns, p, owner=("batch/v1", "Job", jname, juid), template=tmpl, node=node, ip="10.60.8.44",
          created=sched, phase="Running",
          cstatuses=[s.crashloop(ns, p, "export", img, 10, exit_code=1, reason="Error",
                                 started=s.at(minutes=2, seconds=2), finished=s.at(minutes=2))])
    s.scheduled(ns, p, node, sched)
    s.started_events(ns, p, node, "export", img, sched + D(seconds=1), count=11,
                     last=s.at(minutes=2, seconds=3), pulled_fresh=True)
    s.backoff_event(ns, p, node, "export", sched + D(seconds=40), 139)
    s.event(ns, jname, "SuccessfulCreate", f"Created pod: {p}", kind="Job", api="batch/v1",
            component="job-controller", first=sched, last=sched)
    s.log(ns, p, "export", """
2026-01-20 02:29:06,412 INFO exporter: starting nightly export (format=parquet)
Traceback (most recent call last):
  File "<frozen runpy>", line 198, in _run_module_as_main
  File "<frozen runpy>", line 88, in _run_code
  File "/app/exporter/__main__.py", line 3, in <module>
    from exporter.cli import main
  File "/app/exporter/cli.py", line 11, in <module>
    from exporter import settings
  File "/app/exporter/settings.py", line 14, in <module>
    EXPORT_BUCKET = os.environ["EXPORT_BUCKET"]
                    ~~~~~~~~~~^^^^^^^^^^^^^^^^^
  File "<frozen os>", line 714, in __getitem__
KeyError: 'EXPORT_BUCKET'
""")
    s.expect(ns, p, "export", "CrashLoop.MissingEnv", ["EXPORT_BUCKET"],
             owner={"kind": "CronJob", "name": cj})
    s.completed_job(ns, "hourly-rollup", "europe-docker.pkg.dev/acme-data/jobs/rollup:2.1.0",
                    scheduled=T(2026, 1, 20, 2, 0, 0), node=node)
    s.completed_job(ns, "hourly-rollup", "europe-docker.pkg.dev/acme-data/jobs/rollup:2.1.0",
                    scheduled=T(2026, 1, 20, 1, 0, 0), node=node)
    s.healthy_deployment(ns, "superset", "apache/superset:4.1.1", replicas=1, age_days=40,
                         port=8088, node_pool=[node], ip_base="10.60.9", mem=("1Gi", "2Gi"))
    return s


# ----------------------------------------------------------------------------------------------
@scenario
def s04():
    s = Scenario("04-node-envalid-termination-message", T(2026, 4, 2, 11, 18, 44),
                 "Node.js checkout worker exits via envalid (STRIPE_API_KEY missing). No log file: "
                 "the output is only in lastState.terminated.message (FallbackToLogsOnError).")
    ns, name = "checkout", "checkout-worker"
    img = "registry.gitlab.com/acme/checkout/worker:3.2.0"
    labels = L(name)
    tmpl = s.template(labels, [container(
        "worker", img, command=["npm", "start"], ports=[("metrics", 9464)],
        env=[env_val("NODE_ENV", "production"), env_val("QUEUE_URL", "amqp://rabbitmq.checkout.svc:5672"),
             env_secret("STRIPE_WEBHOOK_SECRET", "stripe", "webhook-secret")],
        res=resources("100m", "192Mi", None, "384Mi"), tmp="FallbackToLogsOnError")])
    created = s.at(hours=1, minutes=52)
    out = single(s, ns, name, tmpl, created=created, replicas=2, ready=0)
    own, tm, rs = rs_owner(out, 1)
    msg = """
> checkout-worker@3.2.0 start
> node dist/main.js

================================
 Missing environment variables:
    STRIPE_API_KEY: undefined
 Exiting with error code 1
================================
npm notice
npm notice New major version of npm available! 10.8.2 -> 11.2.0
npm notice To update run: npm install -g npm@11.2.0
npm notice
""".lstrip("\n")
    nodes = ["aks-apps-31877432-vmss000004", "aks-apps-31877432-vmss000007"]
    for i in range(2):
        p = pname(rs, str(i))
        c0 = created + D(seconds=i)
        s.pod(ns, p, owner=own, template=tm, node=nodes[i], ip=f"10.244.{4 + i * 3}.{88 + i}",
              created=c0, phase="Running",
              cstatuses=[s.crashloop(ns, p, "worker", img, 23, exit_code=1, reason="Error",
                                     started=s.at(minutes=4 - i, seconds=10),
                                     finished=s.at(minutes=4 - i, seconds=8), message=msg)])
        s.scheduled(ns, p, nodes[i], c0)
        s.started_events(ns, p, nodes[i], "worker", img, c0 + D(seconds=1), count=24,
                         last=s.at(minutes=4 - i, seconds=10), pulled_fresh=True)
        s.backoff_event(ns, p, nodes[i], "worker", c0 + D(seconds=30), 480 + i)
        s.expect(ns, p, "worker", "CrashLoop.MissingEnv", ["STRIPE_API_KEY"],
                 owner={"kind": "Deployment", "name": name})
    s.healthy_deployment(ns, "checkout-api", "registry.gitlab.com/acme/checkout/api:3.2.0",
                         replicas=3, age_days=6, node_pool=nodes, ip_base="10.244.5")
    s.coredns()
    return s


# ----------------------------------------------------------------------------------------------
@scenario
def s05():
    s = Scenario("05-pydantic-settings-after-secret-edit", T(2026, 2, 17, 14, 3, 9),
                 "FastAPI service on a revision that rolled out fine 3 days ago; REDIS_URL was "
                 "removed from its env Secret, and after a node-pool upgrade the recreated pods "
                 "fail pydantic-settings validation. Not a rollout regression.")
    ns, name = "catalog", "catalog-api"
    labels = L(name)
    img1 = "ghcr.io/acme/catalog-api:5.3.0"
    img2 = "ghcr.io/acme/catalog-api:5.4.1"
    def tpl(img):
        return s.template(labels, [container(
            "api", img, command=["uvicorn", "catalog.main:app", "--host", "0.0.0.0", "--port", "8000"],
            ports=[("http", 8000)], env_from=[{"secretRef": {"name": "catalog-api-env", "optional": True}}],
            env=[env_val("APP_ENV", "production")],
            res=resources("200m", "256Mi", None, "512Mi"),
            readiness=http_probe("/health", 8000, period=5))])
    created = s.at(days=88)
    r1 = s.at(days=19)
    r2 = s.at(days=3, hours=2)
    out = s.deployment(ns, name, replicas=2, created=created, labels=labels, revisions=[
        {"rev": 1, "template": tpl(img1), "created": r1, "replicas": 0, "ready": 0, "available": 0, "gen": 3},
        {"rev": 2, "template": tpl(img2), "created": r2, "replicas": 2, "ready": 0, "available": 0, "gen": 1}],
        status=s.dep_status(replicas=2, updated=2, ready=0, available=0, avail_ok=False,
                            avail_since=s.at(minutes=47), progressing="complete",
                            prog_since=r2, prog_update=r2 + D(minutes=1), rsname="{RS}"))
    own, tm, rs = rs_owner(out, 2)
    nodes = ["gke-prod-default-pool-v2-91c0e1ab-2kqp", "gke-prod-default-pool-v2-91c0e1ab-f7mz"]
    for i in range(2):
        p = pname(rs, "n" + str(i))
        c0 = s.at(minutes=48, seconds=30 - i * 11)
        s.pod(ns, p, owner=own, template=tm, node=nodes[i], ip=f"10.72.{11 + i}.{23 + i * 9}",
              created=c0, phase="Running",
              cstatuses=[s.crashloop(ns, p, "api", img2, 14, exit_code=1, reason="Error",
                                     started=s.at(minutes=2 + i * 3, seconds=14),
                                     finished=s.at(minutes=2 + i * 3, seconds=12))])
        s.scheduled(ns, p, nodes[i], c0)
        s.started_events(ns, p, nodes[i], "api", img2, c0 + D(seconds=1), count=15,
                         last=s.at(minutes=2 + i * 3, seconds=14), pulled_fresh=True)
        s.backoff_event(ns, p, nodes[i], "api", c0 + D(seconds=25), 214 - i * 9)
        s.log(ns, p, "api", PYDANTIC_LOG)
        s.expect(ns, p, "api", "CrashLoop.MissingEnv", ["redis_url"],
                 owner={"kind": "Deployment", "name": name})
    s.add({"apiVersion": "v1", "kind": "Secret",
           "metadata": {"creationTimestamp": iso(s.at(days=88)), "name": "catalog-api-env",
                        "namespace": ns, "resourceVersion": s.rv(),
                        "uid": mkuid("secret:catalog-api-env")}, "type": "Opaque"})
    s.healthy_deployment(ns, "catalog-search", "ghcr.io/acme/catalog-search:2.0.7", replicas=2,
                         age_days=1, node_pool=nodes, ip_base="10.72.12")
    s.coredns()
    return s


PYDANTIC_LOG = """\
INFO:     Started server process [1]
INFO:     Waiting for application startup.
Traceback (most recent call last):
  File "/usr/local/bin/uvicorn", line 8, in <module>
    sys.exit(main())
             ^^^^^^
  File "/usr/local/lib/python3.12/site-packages/uvicorn/importer.py", line 19, in import_from_string
    module = importlib.import_module(module_str)
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/app/catalog/main.py", line 9, in <module>
    from catalog.config import settings
  File "/app/catalog/config.py", line 38, in <module>
    settings = Settings()
               ^^^^^^^^^^
  File "/usr/local/lib/python3.12/site-packages/pydantic_settings/main.py", line 171, in __init__
    super().__init__(
  File "/usr/local/lib/python3.12/site-packages/pydantic/main.py", line 214, in __init__
    validated_self = self.__pydantic_validator__.validate_python(data, self_instance=self)
                     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings
redis_url
  Field required [type=missing, input_value={'app_env': 'production',...ql+asyncpg://catalog'}, input_type=dict]
    For further information visit https://errors.pydantic.dev/2.10/v/missing
"""


# ----------------------------------------------------------------------------------------------
@scenario
def s06():
    s = Scenario("06-oom-after-rightsizer-revision", T(2026, 3, 2, 8, 12, 30),
                 "A rightsizing bot patched the Deployment: revision 5 has memory 32Mi (revision 4 "
                 "had 512Mi limit / 256Mi request). New pod is OOMKilled at startup.")
    ns, name = "media", "image-resizer"
    img = "ghcr.io/acme/image-resizer:4.8.2"
    labels = L(name)
    def tpl(req, lim, ann=None):
        return s.template(labels, [container(
            "resizer", img, ports=[("http", 8080)], command=["node", "dist/server.js"],
            env=[env_val("UV_THREADPOOL_SIZE", "8"), env_val("SHARP_CONCURRENCY", "4")],
            res=resources("250m", req, None, lim),
            readiness=http_probe("/ready", 8080, period=5),
            liveness=http_probe("/live", 8080, delay=15, period=20))], annotations=ann)
    created = s.at(days=301)
    r4 = s.at(days=20)
    r5 = s.at(hours=2, minutes=4)
    out = s.deployment(ns, name, replicas=3, created=created, labels=labels,
                       annotations={"kubernetes.io/change-cause":
                                    "rightsizer: memory request/limit set from p95 usage (21Mi)"},
                       revisions=[
                           {"rev": 4, "template": tpl("256Mi", "512Mi"), "created": r4, "replicas": 3,
                            "ready": 3, "available": 3, "gen": 2},
                           {"rev": 5, "template": tpl("32Mi", "32Mi", {"rightsizer.acme.io/applied-at": iso(r5)}),
                            "created": r5, "replicas": 1, "ready": 0, "available": 0}],
                       strategy={"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
                                 "type": "RollingUpdate"},
                       status=s.dep_status(replicas=4, updated=1, ready=3, available=3, avail_ok=True,
                                           avail_since=r4 + D(minutes=1), progressing="deadline",
                                           prog_since=r5 + D(minutes=10), prog_update=r5 + D(minutes=10),
                                           rsname="{RS}"))
    o4, t4, rs4 = rs_owner(out, 4)
    o5, t5, rs5 = rs_owner(out, 5)
    nodes = ["ip-172-31-8-201.ec2.internal", "ip-172-31-24-99.ec2.internal", "ip-172-31-40-12.ec2.internal"]
    for i in range(3):
        p = pname(rs4, str(i))
        st = r4 + D(seconds=10 + i * 20)
        s.pod(ns, p, owner=o4, template=t4, node=nodes[i], ip=f"172.31.{9 + i * 16}.{70 + i}",
              created=r4 + D(seconds=i * 20), phase="Running", ready_since=st + D(seconds=4),
              cstatuses=[s.running(p, "resizer", img, st)])
    p = pname(rs5, "0")
    s.pod(ns, p, owner=o5, template=t5, node=nodes[1], ip="172.31.26.140", created=r5, phase="Running",
          cstatuses=[s.crashloop(ns, p, "resizer", img, 26, exit_code=137, reason="OOMKilled",
                                 started=s.at(minutes=1, seconds=5), finished=s.at(minutes=1, seconds=3))])
    s.scheduled(ns, p, nodes[1], r5)
    s.started_events(ns, p, nodes[1], "resizer", img, r5 + D(seconds=1), count=27,
                     last=s.at(minutes=1, seconds=5))
    s.backoff_event(ns, p, nodes[1], "resizer", r5 + D(seconds=20), 562)
    s.log(ns, p, "resizer", """
{"level":30,"time":1772439081402,"pid":1,"hostname":"%s","msg":"loading libvips 8.16.0 (sharp 0.33.5)"}
{"level":30,"time":1772439081419,"pid":1,"hostname":"%s","msg":"warming thumbnail cache","entries":2048}
""" % (p, p))
    s.event("", nodes[1], "OOMKilling",
            "Memory cgroup out of memory: Killed process 2284117 (node) total-vm:1187420kB, "
            "anon-rss:31876kB, file-rss:18240kB, shmem-rss:0kB, UID:1000 pgtables:772kB oom_score_adj:999",
            type_="Warning", kind="Node", api="v1", component="kernel-monitor",
            count=26, first=r5 + D(seconds=9), last=s.at(minutes=1, seconds=3),
            )
    s.expect(ns, p, "resizer", "CrashLoop.OOMAfterShrink", ["32Mi", "512Mi"],
             owner={"kind": "Deployment", "name": name})
    s.allow(ns, None, None, "Rollout.Regression",
            "revision 5 fails while revision 4 is available; the image is unchanged, so the "
            "regression is in the resources: acceptable either way")
    s.healthy_deployment(ns, "thumbor", "ghcr.io/acme/thumbor:7.3.2", replicas=2, age_days=33,
                         node_pool=nodes, ip_base="172.31.30")
    s.coredns()
    return s


# ----------------------------------------------------------------------------------------------
@scenario
def s07():
    s = Scenario("07-oom-after-vpa-update", T(2026, 5, 11, 21, 47, 3),
                 "VPA (updateMode Recreate) rewrote the pods to request 64Mi / limit 128Mi (template: "
                 "512Mi / 1Gi) after a crash-before-allocation feedback loop. Pods are OOMKilled.")
    ns, name = "search", "search-indexer"
    img = "registry.acme.io/search/indexer:2.19.0"
    labels = L(name)
    tmpl = s.template(labels, [container(
        "indexer", img, ports=[("http", 8080), ("management", 9000)],
        env=[env_val("JAVA_TOOL_OPTIONS", "-XX:MaxRAMPercentage=70 -XX:+ExitOnOutOfMemoryError"),
             env_val("QUARKUS_PROFILE", "prod")],
        res=resources("500m", "512Mi", None, "1Gi"),
        readiness=http_probe("/q/health/ready", 9000, period=10),
        liveness=http_probe("/q/health/live", 9000, delay=20, period=20))])
    created = s.at(days=45)
    out = single(s, ns, name, tmpl, created=created, replicas=2, ready=0, prog="complete",
                 avail_since=s.at(hours=2, minutes=51))
    own, tm, rs = rs_owner(out, 1)
    s.add({"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
           "metadata": {"creationTimestamp": iso(s.at(days=30)), "generation": 2,
                        "name": name, "namespace": ns, "resourceVersion": s.rv(),
                        "uid": mkuid("vpa:" + name)},
           "spec": {"resourcePolicy": {"containerPolicies": [{
                        "containerName": "*", "controlledResources": ["cpu", "memory"],
                        "minAllowed": {"cpu": "25m", "memory": "64Mi"},
                        "maxAllowed": {"cpu": "2", "memory": "4Gi"}}]},
                    "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                    "updatePolicy": {"updateMode": "Recreate"}},
           "status": {"conditions": [{"lastTransitionTime": iso(s.at(days=30, minutes=-2)),
                                      "status": "True", "type": "RecommendationProvided"}],
                      "recommendation": {"containerRecommendations": [{
                          "containerName": "indexer",
                          "lowerBound": {"cpu": "25m", "memory": "64Mi"},
                          "target": {"cpu": "25m", "memory": "64Mi"},
                          "uncappedTarget": {"cpu": "11m", "memory": "27262976"},
                          "upperBound": {"cpu": "25m", "memory": "183500800"}}]}}})
    nodes = ["aks-search-20419871-vmss00000a", "aks-search-20419871-vmss00000c"]
    ann = {"vpaObservedContainers": "indexer",
           "vpaUpdates": f"Pod resources updated by {name}: container 0: cpu request, memory request, memory limit"}
    def vpa_patch(spec):
        spec["containers"][0]["resources"] = {"limits": {"memory": "128Mi"},
                                              "requests": {"cpu": "25m", "memory": "64Mi"}}
    for i in range(2):
        p = pname(rs, "v" + str(i))
        c0 = s.at(hours=2, minutes=51 - i * 3)
        s.pod(ns, p, owner=own, template=tm, node=nodes[i], ip=f"10.244.{21 + i}.{51 + i * 7}",
              created=c0, phase="Running", annotations=ann, spec_patch=vpa_patch,
              cstatuses=[s.crashloop(ns, p, "indexer", img, 31 - i, exit_code=137, reason="OOMKilled",
                                     started=s.at(minutes=3 + i, seconds=22),
                                     finished=s.at(minutes=3 + i, seconds=9))])
        s.scheduled(ns, p, nodes[i], c0)
        s.started_events(ns, p, nodes[i], "indexer", img, c0 + D(seconds=1), count=32 - i,
                         last=s.at(minutes=3 + i, seconds=22))
        s.backoff_event(ns, p, nodes[i], "indexer", c0 + D(seconds=40), 655 - i * 30)
        s.log(ns, p, "indexer", """
__  ____  __  _____   ___  __ ____  ______ 
 --/ __ \\/ / / / _ | / _ \\/ //_/ / / / __/ 
 -/ /_/ / /_/ / __ |/ , _/ ,< / /_/ /\\ \\   
--\\___\\_\\____/_/ |_/_/|_/_/|_|\\____/___/   
2026-05-11 21:4%d:41,118 INFO  [io.quarkus] (main) search-indexer 2.19.0 on JVM (powered by Quarkus 3.15.1) started in 2.884s. Listening on: http://0.0.0.0:8080
2026-05-11 21:4%d:41,120 INFO  [io.quarkus] (main) Profile prod activated.
2026-05-11 21:4%d:41,402 INFO  [com.acme.search.IndexBootstrap] (executor-thread-1) loading shard map (12 shards) and warming term dictionaries
""" % ((3 - i,) * 3))
        s.expect(ns, p, "indexer", "CrashLoop.OOMAfterShrink", ["128Mi", "1Gi"],
                 owner={"kind": "Deployment", "name": name})
    for i, (old, t) in enumerate(((pname(rs, "o0"), s.at(hours=2, minutes=51)),
                                  (pname(rs, "o1"), s.at(hours=2, minutes=48)))):
        s.event(ns, old, "EvictedByVPA",
                "Pod was evicted by VPA Updater to apply resource recommendation.",
                type_="Normal", component="vpa-updater", first=t - D(seconds=2), last=t - D(seconds=2))
    s.healthy_deployment(ns, "search-api", "registry.acme.io/search/api:2.19.0", replicas=2,
                         age_days=8, node_pool=nodes, ip_base="10.244.22")
    s.coredns()
    return s


# ----------------------------------------------------------------------------------------------
@scenario
def s08():
    s = Scenario("08-oom-plain-jvm", T(2026, 1, 8, 7, 55, 0),
                 "Report generator (limit 1Gi, unchanged since creation) keeps being OOMKilled "
                 "while rendering a large batch.")
    ns, name = "reporting", "report-generator"
    img = "registry.acme.io/reporting/report-generator:1.31.4"
    labels = L(name)
    tmpl = s.template(labels, [container(
        "generator", img, ports=[("http", 8080)],
        env=[env_val("JAVA_OPTS", "-Xms512m -Xmx900m"), env_val("SPRING_PROFILES_ACTIVE", "prod")],
        res=resources("1", "1Gi", "1", "1Gi"),
        readiness=http_probe("/actuator/health/readiness", 8080, delay=20, period=10))])
    created = s.at(days=14)
    out = single(s, ns, name, tmpl, created=created, replicas=1, ready=0, prog="complete",
                 avail_since=s.at(minutes=58))
    own, tm, rs = rs_owner(out, 1)
    node = "worker-pool-b-7fd9c"
    p = pname(rs, "0")
    s.pod(ns, p, owner=own, template=tm, node=node, ip="10.42.3.201", created=created, phase="Running",
          cstatuses=[s.crashloop(ns, p, "generator", img, 12, exit_code=137, reason="OOMKilled",
                                 started=s.at(minutes=6, seconds=40), finished=s.at(minutes=3, seconds=2))])
    s.started_events(ns, p, node, "generator", img, s.at(minutes=58), count=6,
                     last=s.at(minutes=6, seconds=40))
    s.backoff_event(ns, p, node, "generator", s.at(minutes=50), 31)
    s.event("", node, "OOMKilling",
            "Memory cgroup out of memory: Killed process 88213 (java) total-vm:4217336kB, "
            "anon-rss:1042884kB, file-rss:21460kB, shmem-rss:0kB, UID:1001 pgtables:2620kB oom_score_adj:-997",
            type_="Warning", kind="Node", component="kernel-monitor", count=6,
            first=s.at(minutes=55), last=s.at(minutes=3, seconds=2))
    s.log(ns, p, "generator", """
2026-01-08T07:48:21.512Z  INFO 1 --- [report-generator] [           main] c.a.r.ReportGeneratorApplication         : Started ReportGeneratorApplication in 9.84 seconds (process running for 10.6)
2026-01-08T07:48:22.004Z  INFO 1 --- [report-generator] [   scheduling-1] c.a.r.batch.MonthlyStatementJob          : picked up batch 2026-01/eu-west (41,208 statements)
2026-01-08T07:50:47.339Z  INFO 1 --- [report-generator] [   scheduling-1] c.a.r.batch.MonthlyStatementJob          : rendered 12,000/41,208 statements
2026-01-08T07:51:51.870Z  WARN 1 --- [report-generator] [   scheduling-1] c.a.r.pdf.PdfRenderer                    : font cache grew to 412 MB, consider reducing batch size
""")
    s.expect(ns, p, "generator", "CrashLoop.OOMKilled", ["1Gi"],
             owner={"kind": "Deployment", "name": name})
    s.healthy_deployment(ns, "report-api", "registry.acme.io/reporting/report-api:1.31.4",
                         replicas=2, age_days=14, node_pool=[node, "worker-pool-b-k2m8q"],
                         ip_base="10.42.4")
    s.completed_job(ns, "statement-mailer", "registry.acme.io/reporting/mailer:0.7.0",
                    scheduled=s.at(minutes=55), node=node)
    return s


# ----------------------------------------------------------------------------------------------
def config_error_deploy(s, ns, name, img, *, containers, replicas, created, message, cname,
                        nodes, ip_base, pod_sc=None, volumes=None):
    labels = L(name)
    tmpl = s.template(labels, containers, pod_sc=pod_sc, volumes=volumes)
    out = single(s, ns, name, tmpl, created=created, replicas=replicas, ready=0)
    own, tm, rs = rs_owner(out, 1)
    pods = []
    for i in range(replicas):
        p = pname(rs, str(i))
        c0 = created + D(seconds=i)
        msg = message(p) if callable(message) else message
        s.pod(ns, p, owner=own, template=tm, node=nodes[i % len(nodes)], ip=f"{ip_base}.{30 + i}",
              created=c0, phase="Pending",
              cstatuses=[s.waiting(cname, img, "CreateContainerConfigError", msg)])
        s.scheduled(ns, p, nodes[i % len(nodes)], c0)
        f = f"spec.containers{{{cname}}}"
        n = int((s.T - c0).total_seconds() // 12)
        s.event(ns, p, "Pulling", f'Pulling image "{img}"', field=f, node=nodes[i % len(nodes)],
                first=c0 + D(seconds=1), last=c0 + D(seconds=1))
        s.event(ns, p, "Pulled", f'Successfully pulled image "{img}" in 2.337s (2.337s including waiting). Image size: 48213776 bytes.',
                field=f, node=nodes[i % len(nodes)], first=c0 + D(seconds=4), last=c0 + D(seconds=4))
        s.event(ns, p, "Failed", f"Error: {msg}", type_="Warning", field=f, node=nodes[i % len(nodes)],
                count=n, first=c0 + D(seconds=4), last=s.T - D(seconds=3 * i))
        s.event(ns, p, "Pulled", f'Container image "{img}" already present on machine', field=f,
                node=nodes[i % len(nodes)], count=n - 1, first=c0 + D(seconds=17), last=s.T - D(seconds=3 * i))
        pods.append(p)
    return pods


@scenario
def s09():
    s = Scenario("09-missing-configmap-key", T(2026, 2, 25, 13, 20, 0),
                 "frontend references FEATURE_FLAGS_URL in ConfigMap frontend-config, which has no such key.")
    ns, name = "web", "frontend"
    img = "registry.acme.io/web/frontend:7.0.0"
    c = container("frontend", img, ports=[("http", 3000)],
                  env=[env_val("NODE_ENV", "production"),
                       env_cm("API_BASE_URL", "frontend-config", "API_BASE_URL"),
                       env_cm("FEATURE_FLAGS_URL", "frontend-config", "FEATURE_FLAGS_URL")],
                  res=resources("100m", "256Mi", None, "512Mi"))
    pods = config_error_deploy(s, ns, name, img, containers=[c], replicas=2, created=s.at(minutes=12),
                               message="couldn't find key FEATURE_FLAGS_URL in ConfigMap web/frontend-config",
                               cname="frontend", nodes=["node-pool-a-1", "node-pool-a-2"],
                               ip_base="10.244.17")
    for p in pods:
        s.expect(ns, p, "frontend", "Config.MissingConfigMapKey", ["FEATURE_FLAGS_URL", "frontend-config"],
                 owner={"kind": "Deployment", "name": name})
    s.add({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"creationTimestamp": iso(s.at(days=60)), "name": "frontend-config",
                        "namespace": ns, "resourceVersion": s.rv(), "uid": mkuid("cm:frontend-config")}})
    s.healthy_deployment(ns, "web-bff", "registry.acme.io/web/bff:7.0.0", replicas=2, age_days=2,
                         node_pool=["node-pool-a-1", "node-pool-a-2"], ip_base="10.244.18")
    s.coredns()
    return s


@scenario
def s10():
    s = Scenario("10-secret-lost-kustomize-prefix", T(2026, 3, 30, 10, 1, 12),
                 "invoice-api references Secret db-credentials; kustomize generated "
                 "prod-db-credentials-8k7h2m9gtb (namePrefix + hash) and the reference lost its prefix.")
    ns, name = "billing", "invoice-api"
    img = "ghcr.io/acme/invoice-api:2.2.0"
    c = container("api", img, ports=[("http", 8080)],
                  env=[env_secret("DB_USER", "db-credentials", "username"),
                       env_secret("DB_PASSWORD", "db-credentials", "password"),
                       env_cm("DB_HOST", "prod-invoice-config-4tb7dkg8c2", "db-host")],
                  res=resources("100m", "128Mi", None, "256Mi"))
    pods = config_error_deploy(s, ns, name, img, containers=[c], replicas=2, created=s.at(minutes=7),
                               message='secret "db-credentials" not found', cname="api",
                               nodes=["pool-prod-2x8kq", "pool-prod-2x8kt"], ip_base="10.112.3")
    for p in pods:
        s.expect(ns, p, "api", "Config.MissingSecret", ["db-credentials"],
                 owner={"kind": "Deployment", "name": name})
    for sec in ("prod-db-credentials-8k7h2m9gtb", "prod-stripe-webhook-6c9d4b2f7t"):
        s.add({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"creationTimestamp": iso(s.at(minutes=7, seconds=2)), "name": sec,
                            "namespace": ns, "labels": {"app.kubernetes.io/part-of": "billing"},
                            "resourceVersion": s.rv(), "uid": mkuid("secret:" + sec)},
               "type": "Opaque"})
    s.add({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"creationTimestamp": iso(s.at(minutes=7, seconds=2)),
                        "name": "prod-invoice-config-4tb7dkg8c2", "namespace": ns,
                        "resourceVersion": s.rv(), "uid": mkuid("cm:invoice")}})
    s.healthy_deployment(ns, "billing-ui", "ghcr.io/acme/billing-ui:2.2.0", replicas=1, age_days=21,
                         node_pool=["pool-prod-2x8kq"], ip_base="10.112.4")
    return s


@scenario
def s11():
    s = Scenario("11-secret-volume-failedmount", T(2026, 6, 9, 18, 30, 45),
                 "grafana mounts secret volume grafana-tls which does not exist: pod stays "
                 "ContainerCreating with FailedMount events.")
    ns, name = "monitoring", "grafana"
    img = "docker.io/grafana/grafana:11.4.0"
    labels = L(name)
    tmpl = s.template(labels, [container(
        "grafana", img, ports=[("grafana", 3000)],
        env=[env_val("GF_SERVER_PROTOCOL", "https"),
             env_val("GF_SERVER_CERT_FILE", "/etc/grafana/tls/tls.crt"),
             env_val("GF_SERVER_CERT_KEY", "/etc/grafana/tls/tls.key")],
        res=resources("100m", "256Mi", None, "512Mi"),
        readiness=http_probe("/api/health", 3000, period=10),
        mounts=[{"mountPath": "/var/lib/grafana", "name": "storage"},
                {"mountPath": "/etc/grafana/tls", "name": "tls-certs", "readOnly": True}])],
        volumes=[{"emptyDir": {}, "name": "storage"},
                 {"name": "tls-certs", "secret": {"defaultMode": 420, "secretName": "grafana-tls"}}],
        pod_sc={"fsGroup": 472, "runAsGroup": 472, "runAsUser": 472})
    created = s.at(minutes=9, seconds=20)
    out = single(s, ns, name, tmpl, created=created, replicas=1, ready=0)
    own, tm, rs = rs_owner(out, 1)
    node = "k3s-agent-2"
    p = pname(rs, "0")
    s.pod(ns, p, owner=own, template=tm, node=node, ip=None, created=created, phase="Pending",
          sandbox=False, cstatuses=[s.waiting("grafana", img, "ContainerCreating")])
    s.scheduled(ns, p, node, created)
    s.event(ns, p, "FailedMount",
            'MountVolume.SetUp failed for volume "tls-certs" : secret "grafana-tls" not found',
            type_="Warning", node=node, count=12, first=created + D(seconds=1), last=s.at(seconds=44))
    s.expect(ns, p, "grafana", "Config.MissingSecret", ["grafana-tls"],
             owner={"kind": "Deployment", "name": name})
    s.healthy_deployment(ns, "prometheus-operator", "quay.io/prometheus-operator/prometheus-operator:v0.79.2",
                         replicas=1, age_days=70, node_pool=["k3s-agent-1"], ip_base="10.42.1")
    # a DaemonSet, healthy
    dl = {"app.kubernetes.io/name": "node-exporter"}
    dt_ = s.template(dl, [container("node-exporter", "quay.io/prometheus/node-exporter:v1.8.2",
                                    ports=[("metrics", 9100)], res=resources("10m", "32Mi", None, "64Mi"))])
    duid = s.daemonset(ns, "node-exporter", template=dt_, created=s.at(days=70), nodes=2, ready=2)
    for i, n in enumerate(["k3s-agent-1", "k3s-agent-2"]):
        dp = f"node-exporter-{safe(n, 5)}"
        s.pod(ns, dp, owner=("apps/v1", "DaemonSet", "node-exporter", duid), template=dt_, node=n,
              ip=f"10.0.0.{11 + i}", created=s.at(days=70), phase="Running",
              ready_since=s.at(days=70, seconds=-9),
              extra_labels={"controller-revision-hash": "6b9c7d8f5c", "pod-template-generation": "4"},
              cstatuses=[s.running(dp, "node-exporter", "quay.io/prometheus/node-exporter:v1.8.2",
                                   s.at(days=70, seconds=-6))])
    s.event(ns, "prometheus-k8s-0", "Pulled", 'Container image "quay.io/prometheus/prometheus:v3.1.0" already present on machine',
            node="k3s-agent-1", field="spec.containers{prometheus}", first=s.at(seconds=2), last=s.at(seconds=2))
    return s


@scenario
def s12():
    s = Scenario("12-runasnonroot-root-image", T(2026, 2, 11, 9, 9, 9),
                 "Pod securityContext runAsNonRoot: true with the stock nginx image that runs as root.")
    ns, name = "tools", "edge-proxy"
    img = "docker.io/library/nginx:1.27.3"
    c = container("nginx", img, ports=[("http", 80)], res=resources("50m", "64Mi", None, "128Mi"),
                  sc={"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                  mounts=[{"mountPath": "/etc/nginx/conf.d", "name": "conf"}])
    nodes = ["aks-system-18273645-vmss000000", "aks-system-18273645-vmss000001"]
    def msg(p):
        return (f'container has runAsNonRoot and image will run as root (pod: "{p}_{ns}('
                f'{mkuid(f"{ns}/pod/{p}")})", container: nginx)')
    pods = config_error_deploy(s, ns, name, img, containers=[c], replicas=2, created=s.at(minutes=31),
                               message=msg, cname="nginx", nodes=nodes, ip_base="10.244.2",
                               pod_sc={"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                               volumes=[{"configMap": {"defaultMode": 420, "name": "edge-proxy-conf"},
                                         "name": "conf"}])
    for p in pods:
        s.expect(ns, p, "nginx", "Config.SecurityContext", ["runAsNonRoot"],
                 owner={"kind": "Deployment", "name": name})
    s.healthy_deployment(ns, "oauth2-proxy", "quay.io/oauth2-proxy/oauth2-proxy:v7.8.1", replicas=2,
                         age_days=120, port=4180, node_pool=nodes, ip_base="10.244.3")
    s.coredns()
    return s


# ----------------------------------------------------------------------------------------------
def pull_events(s, ns, p, node, cname, img, first, err, *, n_fail=6, n_backoff=40):
    f = f"spec.containers{{{cname}}}"
    s.event(ns, p, "Pulling", f'Pulling image "{img}"', field=f, node=node, count=n_fail,
            first=first, last=s.at(minutes=2, seconds=50))
    s.event(ns, p, "Failed", f'Failed to pull image "{img}": {err}', type_="Warning", field=f,
            node=node, count=n_fail, first=first + D(seconds=1), last=s.at(minutes=2, seconds=49))
    s.event(ns, p, "Failed", "Error: ErrImagePull", type_="Warning", field=f, node=node,
            count=n_fail, first=first + D(seconds=1), last=s.at(minutes=2, seconds=49))
    s.event(ns, p, "BackOff", f'Back-off pulling image "{img}"', field=f, node=node,
            count=n_backoff, first=first + D(seconds=2), last=s.at(seconds=6))
    s.event(ns, p, "Failed", "Error: ImagePullBackOff", type_="Warning", field=f, node=node,
            count=n_backoff, first=first + D(seconds=2), last=s.at(seconds=6))


@scenario
def s13():
    s = Scenario("13-image-tag-not-found-regression", T(2026, 4, 22, 15, 44, 2),
                 "public-api revision 12 points at ECR tag v2.14.0 that was never pushed; "
                 "revision 11 (v2.13.2) keeps serving.")
    ns, name = "api", "public-api"
    repo = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/public-api"
    old, new = f"{repo}:v2.13.2", f"{repo}:v2.14.0"
    labels = L(name)
    def tpl(img):
        return s.template(labels, [container(
            "api", img, ports=[("http", 8080)], res=resources("250m", "256Mi", None, "512Mi"),
            env=[env_val("GOMAXPROCS", "2")],
            readiness=http_probe("/readyz", 8080, period=5), liveness=http_probe("/livez", 8080, period=10))],
            sa="public-api")
    created = s.at(days=400)
    r11, r12 = s.at(days=6), s.at(minutes=17)
    out = s.deployment(ns, name, replicas=3, created=created, labels=labels, revisions=[
        {"rev": 11, "template": tpl(old), "created": r11, "replicas": 3, "ready": 3, "available": 3, "gen": 2},
        {"rev": 12, "template": tpl(new), "created": r12, "replicas": 1, "ready": 0, "available": 0}],
        strategy={"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}, "type": "RollingUpdate"},
        status=s.dep_status(replicas=4, updated=1, ready=3, available=3, avail_ok=True,
                            avail_since=r11 + D(minutes=1), progressing="deadline",
                            prog_since=r12 + D(minutes=10), prog_update=r12 + D(minutes=10), rsname="{RS}"))
    o11, t11, rs11 = rs_owner(out, 11)
    o12, t12, rs12 = rs_owner(out, 12)
    nodes = ["ip-10-1-10-55.eu-west-1.compute.internal", "ip-10-1-20-31.eu-west-1.compute.internal",
             "ip-10-1-30-9.eu-west-1.compute.internal"]
    for i in range(3):
        p = pname(rs11, str(i))
        st = r11 + D(seconds=8 + i * 15)
        s.pod(ns, p, owner=o11, template=t11, node=nodes[i], ip=f"10.1.{10 * (i + 1)}.{100 + i}",
              created=r11 + D(seconds=i * 15), phase="Running", ready_since=st + D(seconds=3),
              cstatuses=[s.running(p, "api", old, st)])
    p = pname(rs12, "0")
    s.pod(ns, p, owner=o12, template=t12, node=nodes[2], ip="10.1.30.177", created=r12, phase="Pending",
          cstatuses=[s.waiting("api", new, "ImagePullBackOff", f'Back-off pulling image "{new}"')])
    s.scheduled(ns, p, nodes[2], r12)
    pull_events(s, ns, p, nodes[2], "api", new, r12 + D(seconds=1),
                f'rpc error: code = NotFound desc = failed to pull and unpack image "{new}": '
                f'failed to resolve reference "{new}": {new}: not found', n_fail=8, n_backoff=71)
    s.expect(ns, p, "api", "Image.NotFound", [new], owner={"kind": "Deployment", "name": name})
    s.expect(ns, None, None, "Rollout.Regression", [old], owner={"kind": "Deployment", "name": name})
    s.event(ns, name, "ScalingReplicaSet", f"Scaled up replica set {rs12} to 1", kind="Deployment",
            api="apps/v1", component="deployment-controller", first=r12, last=r12)
    s.healthy_deployment(ns, "internal-api", f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/internal-api:v2.13.2",
                         replicas=2, age_days=6, node_pool=nodes, ip_base="10.1.40")
    s.coredns()
    return s


@scenario
def s14():
    s = Scenario("14-image-pull-unauthorized", T(2026, 3, 5, 12, 0, 30),
                 "First deployment of ledger-sync from a private GHCR repo; the imagePullSecret "
                 "ghcr-pull does not exist in the namespace, so the anonymous token request gets 401.")
    ns, name = "fin", "ledger-sync"
    img = "ghcr.io/acme-fin/ledger-sync:1.8.0"
    labels = L(name)
    tmpl = s.template(labels, [container("sync", img, res=resources("100m", "128Mi", None, "256Mi"))])
    tmpl["spec"]["imagePullSecrets"] = [{"name": "ghcr-pull"}]
    created = s.at(minutes=14)
    out = single(s, ns, name, tmpl, created=created, replicas=1, ready=0)
    own, tm, rs = rs_owner(out, 1)
    node = "worker-03"
    p = pname(rs, "0")
    s.pod(ns, p, owner=own, template=tm, node=node, ip="10.233.70.14", created=created, phase="Pending",
          cstatuses=[s.waiting("sync", img, "ImagePullBackOff", f'Back-off pulling image "{img}"')])
    s.scheduled(ns, p, node, created)
    s.event(ns, p, "FailedToRetrieveImagePullSecret",
            "Unable to retrieve some image pull secrets (ghcr-pull); attempting to pull the image may not succeed.",
            type_="Warning", node=node, count=64, first=created + D(seconds=1), last=s.at(seconds=30))
    pull_events(s, ns, p, node, "sync", img, created + D(seconds=1),
                f'rpc error: code = Unknown desc = failed to pull and unpack image "{img}": '
                f'failed to resolve reference "{img}": failed to authorize: failed to fetch anonymous '
                'token: unexpected status from GET request to https://ghcr.io/token?scope=repository%3A'
                'acme-fin%2Fledger-sync%3Apull&service=ghcr.io: 401 Unauthorized', n_fail=7, n_backoff=58)
    s.expect(ns, p, "sync", "Image.Unauthorized", [img], owner={"kind": "Deployment", "name": name})
    s.healthy_deployment(ns, "fx-rates", "ghcr.io/acme-fin/fx-rates:0.4.2", replicas=1, age_days=3,
                         node_pool=[node], ip_base="10.233.70")
    return s


@scenario
def s15():
    s = Scenario("15-invalid-image-name", T(2026, 7, 1, 6, 15, 0),
                 "Image reference with an upper-case repository path (Data-Team) cannot be parsed.")
    ns, name = "data", "etl-runner"
    img = "registry.internal:5000/Data-Team/etl-runner:2.3"
    labels = L(name)
    tmpl = s.template(labels, [container("etl", img, res=resources("500m", "1Gi", None, "2Gi"))])
    created = s.at(minutes=22)
    out = single(s, ns, name, tmpl, created=created, replicas=1, ready=0)
    own, tm, rs = rs_owner(out, 1)
    node = "onprem-w-14"
    p = pname(rs, "0")
    err = (f'Failed to apply default image tag "{img}": couldn\'t parse image reference "{img}": '
           'invalid reference format: repository name must be lowercase')
    s.pod(ns, p, owner=own, template=tm, node=node, ip="10.10.14.90", created=created, phase="Pending",
          cstatuses=[s.waiting("etl", img, "InvalidImageName", err)])
    s.scheduled(ns, p, node, created)
    f = "spec.containers{etl}"
    s.event(ns, p, "InspectFailed", err, type_="Warning", field=f, node=node, count=104,
            first=created + D(seconds=1), last=s.at(seconds=12))
    s.event(ns, p, "Failed", "Error: InvalidImageName", type_="Warning", field=f, node=node, count=104,
            first=created + D(seconds=1), last=s.at(seconds=12))
    s.expect(ns, p, "etl", "Image.InvalidName", ["Data-Team"], owner={"kind": "Deployment", "name": name})
    s.healthy_deployment(ns, "airflow-webserver", "registry.internal:5000/data-team/airflow:2.10.4",
                         replicas=1, age_days=15, node_pool=[node], ip_base="10.10.14", mem=("1Gi", "2Gi"))
    s.event(ns, "airflow-webserver", "ScalingReplicaSet", "Scaled up replica set airflow-webserver-7c9b8d6f4d to 1",
            kind="Deployment", api="apps/v1", component="deployment-controller",
            first=s.at(days=15), last=s.at(days=15))
    return s


@scenario
def s16():
    s = Scenario("16-image-pull-registry-timeout", T(2026, 8, 19, 3, 3, 3),
                 "Registry harbor.corp.example unreachable from the node (i/o timeout): generic pull "
                 "back-off, not an app dependency problem.")
    ns, name = "edge", "envoy-gateway"
    img = "harbor.corp.example/platform/envoy:v1.29.1"
    labels = L(name)
    tmpl = s.template(labels, [container("envoy", img, ports=[("http", 8080), ("admin", 9901)],
                                         res=resources("100m", "128Mi", None, "256Mi"))])
    created = s.at(minutes=33)
    out = single(s, ns, name, tmpl, created=created, replicas=1, ready=0)
    own, tm, rs = rs_owner(out, 1)
    node = "edge-node-02"
    p = pname(rs, "0")
    s.pod(ns, p, owner=own, template=tm, node=node, ip="10.9.2.31", created=created, phase="Pending",
          cstatuses=[s.waiting("envoy", img, "ImagePullBackOff", f'Back-off pulling image "{img}"')])
    s.scheduled(ns, p, node, created)
    pull_events(s, ns, p, node, "envoy", img, created + D(seconds=1),
                f'rpc error: code = DeadlineExceeded desc = failed to pull and unpack image "{img}": '
                f'failed to resolve reference "{img}": failed to do request: Head '
                '"https://harbor.corp.example/v2/platform/envoy/manifests/v1.29.1": dial tcp '
                '10.20.0.15:443: i/o timeout', n_fail=9, n_backoff=120)
    s.expect(ns, p, "envoy", "Image.PullBackOff", [img], owner={"kind": "Deployment", "name": name})
    s.healthy_deployment(ns, "edge-dns", "docker.io/coredns/coredns:1.11.4", replicas=1, age_days=200,
                         node_pool=[node], ip_base="10.9.2", port=8181)
    return s


# ----------------------------------------------------------------------------------------------
@scenario
def s17():
    s = Scenario("17-liveness-404-moved-route-regression", T(2026, 5, 28, 10, 10, 10),
                 "accounts-api 3.5.0 removed the custom /healthz endpoint (moved to "
                 "/actuator/health/liveness); the liveness probe gets 404 and the kubelet kills it. "
                 "Revision with 3.4.1 still available.")
    ns, name = "accounts", "accounts-api"
    repo = "registry.gitlab.com/acme/accounts-api"
    old, new = f"{repo}:3.4.1", f"{repo}:3.5.0"
    labels = L(name)
    def tpl(img):
        return s.template(labels, [container(
            "accounts-api", img, ports=[("http", 8080)],
            env=[env_val("SPRING_PROFILES_ACTIVE", "prod"), env_val("JAVA_TOOL_OPTIONS", "-XX:MaxRAMPercentage=75")],
            res=resources("500m", "768Mi", None, "1Gi"),
            readiness=http_probe("/actuator/health/readiness", 8080, delay=20, period=5),
            liveness=http_probe("/healthz", 8080, delay=30, period=10, failure=3))])
    created = s.at(days=500)
    r8, r9 = s.at(days=11), s.at(minutes=24)
    out = s.deployment(ns, name, replicas=3, created=created, labels=labels, revisions=[
        {"rev": 8, "template": tpl(old), "created": r8, "replicas": 3, "ready": 3, "available": 3, "gen": 2},
        {"rev": 9, "template": tpl(new), "created": r9, "replicas": 1, "ready": 0, "available": 0}],
        strategy={"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}, "type": "RollingUpdate"},
        status=s.dep_status(replicas=4, updated=1, ready=3, available=3, avail_ok=True,
                            avail_since=r8 + D(minutes=2), progressing="deadline",
                            prog_since=r9 + D(minutes=10), prog_update=r9 + D(minutes=10), rsname="{RS}"))
    o8, t8, rs8 = rs_owner(out, 8)
    o9, t9, rs9 = rs_owner(out, 9)
    nodes = ["gke-acc-pool-1-5e2a1b7c-9x2d", "gke-acc-pool-1-5e2a1b7c-hq4m", "gke-acc-pool-1-5e2a1b7c-t8vw"]
    for i in range(3):
        p = pname(rs8, str(i))
        st = r8 + D(seconds=10 + 40 * i)
        s.pod(ns, p, owner=o8, template=t8, node=nodes[i], ip=f"10.88.{i}.{40 + i}",
              created=r8 + D(seconds=40 * i), phase="Running", ready_since=st + D(seconds=31),
              cstatuses=[s.running(p, "accounts-api", old, st)])
    p = pname(rs9, "0")
    node = nodes[0]
    s.pod(ns, p, owner=o9, template=t9, node=node, ip="10.88.0.97", created=r9, phase="Running",
          cstatuses=[s.crashloop(ns, p, "accounts-api", new, 6, exit_code=143, reason="Error",
                                 started=s.at(minutes=4, seconds=44), finished=s.at(minutes=3, seconds=52))])
    s.scheduled(ns, p, node, r9)
    f = "spec.containers{accounts-api}"
    s.started_events(ns, p, node, "accounts-api", new, r9 + D(seconds=1), count=7,
                     last=s.at(minutes=4, seconds=44), pulled_fresh=True)
    s.event(ns, p, "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 404",
            type_="Warning", field=f, node=node, count=18, first=r9 + D(seconds=38),
            last=s.at(minutes=3, seconds=54))
    s.event(ns, p, "Killing", "Container accounts-api failed liveness probe, will be restarted",
            field=f, node=node, count=6, first=r9 + D(seconds=58), last=s.at(minutes=3, seconds=54))
    s.event(ns, p, "Unhealthy", "Readiness probe failed: Get \"http://10.88.0.97:8080/actuator/health/readiness\": dial tcp 10.88.0.97:8080: connect: connection refused",
            type_="Warning", field=f, node=node, count=21, first=r9 + D(seconds=21),
            last=s.at(minutes=4, seconds=30))
    s.backoff_event(ns, p, node, "accounts-api", r9 + D(seconds=300), 22)
    s.log(ns, p, "accounts-api", """
  .   ____          _            __ _ _
 /\\\\ / ___'_ __ _ _(_)_ __  __ _ \\ \\ \\ \\
( ( )\\___ | '_ | '_| | '_ \\/ _` | \\ \\ \\ \\
 \\\\/  ___)| |_)| | | | | || (_| |  ) ) ) )
  '  |____| .__|_| |_|_| |_\\__, | / / / /
 =========|_|==============|___/=/_/_/_/

 :: Spring Boot ::                (v3.4.5)

2026-05-28T10:05:49.118Z  INFO 1 --- [accounts-api] [           main] c.a.accounts.AccountsApiApplication      : Starting AccountsApiApplication v3.5.0 using Java 21.0.7 with PID 1
2026-05-28T10:06:02.441Z  INFO 1 --- [accounts-api] [           main] o.s.b.w.embedded.tomcat.TomcatWebServer  : Tomcat started on port 8080 (http) with context path '/'
2026-05-28T10:06:02.463Z  INFO 1 --- [accounts-api] [           main] c.a.accounts.AccountsApiApplication      : Started AccountsApiApplication in 13.9 seconds (process running for 14.6)
2026-05-28T10:06:18.002Z  INFO 1 --- [accounts-api] [ionShutdownHook] o.s.b.w.e.tomcat.GracefulShutdown        : Commencing graceful shutdown. Waiting for active requests to complete
2026-05-28T10:06:18.011Z  INFO 1 --- [accounts-api] [tomcat-shutdown] o.s.b.w.e.tomcat.GracefulShutdown        : Graceful shutdown complete
""")
    s.expect(ns, p, "accounts-api", "CrashLoop.LivenessProbe", ["404"], owner={"kind": "Deployment", "name": name})
    s.expect(ns, None, None, "Rollout.Regression", [old], owner={"kind": "Deployment", "name": name})
    s.healthy_deployment(ns, "accounts-ui", "registry.gitlab.com/acme/accounts-ui:3.5.0", replicas=2,
                         age_days=0.3, node_pool=nodes, ip_base="10.88.5")
    s.coredns()
    return s


@scenario
def s18():
    s = Scenario("18-sidecar-liveness-port-refused", T(2026, 9, 14, 19, 0, 0),
                 "orders-api is fine; its cloud-sql-proxy sidecar has a liveness probe on :9801 but "
                 "was started without --health-check, so nothing listens there: killed every ~40s.")
    ns, name = "orders", "orders-api"
    img = "europe-docker.pkg.dev/acme/orders/orders-api:12.0.3"
    pimg = "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.3"
    labels = L(name)
    tmpl = s.template(labels, [
        container("orders-api", img, ports=[("http", 8080)],
                  env=[env_val("DB_HOST", "127.0.0.1"), env_val("DB_PORT", "5432")],
                  res=resources("250m", "384Mi", None, "512Mi"),
                  readiness=http_probe("/ready", 8080, period=5)),
        container("cloud-sql-proxy", pimg,
                  args=["--structured-logs", "--port=5432", "acme-prod:europe-west1:orders-pg"],
                  res=resources("50m", "64Mi", None, "128Mi"),
                  liveness=http_probe("/liveness", 9801, delay=10, period=10, failure=3),
                  sc={"runAsNonRoot": True})], sa="orders-api")
    created = s.at(hours=3, minutes=10)
    out = single(s, ns, name, tmpl, created=created, replicas=2, ready=0, prog="complete",
                 avail_since=created + D(seconds=2))
    own, tm, rs = rs_owner(out, 1)
    nodes = ["gke-orders-pool-ad41f2c9-0m3n", "gke-orders-pool-ad41f2c9-z1p4"]
    for i in range(2):
        p = pname(rs, str(i))
        node = nodes[i]
        ip = f"10.56.{7 + i}.{31 + i}"
        st = created + D(seconds=12)
        s.pod(ns, p, owner=own, template=tm, node=node, ip=ip, created=created, phase="Running",
              cstatuses=[s.crashloop(ns, p, "cloud-sql-proxy", pimg, 36 - i, exit_code=143, reason="Error",
                                     started=s.at(minutes=4, seconds=51 - i * 7),
                                     finished=s.at(minutes=4, seconds=16 - i * 7)),
                         s.running(p, "orders-api", img, st, ready=True)])
        s.scheduled(ns, p, node, created)
        s.started_events(ns, p, node, "orders-api", img, created + D(seconds=1), pulled_fresh=True)
        s.started_events(ns, p, node, "cloud-sql-proxy", pimg, created + D(seconds=2), count=37 - i,
                         last=s.at(minutes=4, seconds=51 - i * 7))
        f = "spec.containers{cloud-sql-proxy}"
        s.event(ns, p, "Unhealthy",
                f'Liveness probe failed: Get "http://{ip}:9801/liveness": dial tcp {ip}:9801: connect: connection refused',
                type_="Warning", field=f, node=node, count=108 - i * 3, first=created + D(seconds=22),
                last=s.at(minutes=4, seconds=17 - i * 7))
        s.event(ns, p, "Killing", "Container cloud-sql-proxy failed liveness probe, will be restarted",
                field=f, node=node, count=36 - i, first=created + D(seconds=42), last=s.at(minutes=4, seconds=17 - i * 7))
        s.backoff_event(ns, p, node, "cloud-sql-proxy", created + D(minutes=6), 700 - i * 20)
        s.log(ns, p, "cloud-sql-proxy", """
{"severity":"INFO","timestamp":"2026-09-14T18:55:09.204Z","message":"Authorizing with Application Default Credentials"}
{"severity":"INFO","timestamp":"2026-09-14T18:55:09.611Z","message":"[acme-prod:europe-west1:orders-pg] Listening on 127.0.0.1:5432"}
{"severity":"INFO","timestamp":"2026-09-14T18:55:09.611Z","message":"The proxy has started successfully and is ready for new connections!"}
{"severity":"INFO","timestamp":"2026-09-14T18:55:44.002Z","message":"SIGTERM signal received. Shutting down..."}
{"severity":"INFO","timestamp":"2026-09-14T18:55:44.003Z","message":"[acme-prod:europe-west1:orders-pg] instance closed"}
""")
        s.expect(ns, p, "cloud-sql-proxy", "CrashLoop.LivenessProbe", ["9801"],
                 owner={"kind": "Deployment", "name": name})
    s.healthy_deployment(ns, "orders-consumer", "europe-docker.pkg.dev/acme/orders/orders-consumer:12.0.3",
                         replicas=2, age_days=30, node_pool=nodes, ip_base="10.56.9")
    return s


@scenario
def s19():
    s = Scenario("19-readiness-failing", T(2026, 10, 3, 8, 0, 5),
                 "One notification-hub pod runs but never becomes ready: readiness gets 503 "
                 "(the other replica is fine). No restarts.")
    ns, name = "notifications", "notification-hub"
    img = "ghcr.io/acme/notification-hub:0.22.1"
    labels = L(name)
    tmpl = s.template(labels, [container(
        "hub", img, ports=[("http", 8080)], res=resources("100m", "128Mi", None, "256Mi"),
        readiness=http_probe("/ready", 8080, period=10, failure=3),
        liveness=http_probe("/live", 8080, delay=10, period=20))])
    created = s.at(days=4)
    out = single(s, ns, name, tmpl, created=created, replicas=2, ready=1, prog="complete",
                 avail_since=created + D(seconds=30))
    own, tm, rs = rs_owner(out, 1)
    nodes = ["node-7", "node-9"]
    p0 = pname(rs, "0")
    s.pod(ns, p0, owner=own, template=tm, node=nodes[0], ip="10.244.70.12", created=created,
          phase="Running", ready_since=created + D(seconds=20),
          cstatuses=[s.running(p0, "hub", img, created + D(seconds=9))])
    p = pname(rs, "1")
    c0 = s.at(minutes=47)
    s.pod(ns, p, owner=own, template=tm, node=nodes[1], ip="10.244.90.66", created=c0, phase="Running",
          cstatuses=[s.running(p, "hub", img, c0 + D(seconds=6), ready=False)])
    s.scheduled(ns, p, nodes[1], c0)
    s.started_events(ns, p, nodes[1], "hub", img, c0 + D(seconds=1))
    s.event(ns, p, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503",
            type_="Warning", field="spec.containers{hub}", node=nodes[1], count=279,
            first=c0 + D(seconds=16), last=s.at(seconds=5))
    s.log(ns, p, "hub", """
time=2026-10-03T07:13:12.004Z level=INFO msg="starting notification-hub" version=0.22.1
time=2026-10-03T07:13:12.010Z level=INFO msg="http server listening" addr=:8080
time=2026-10-03T07:13:13.551Z level=WARN msg="shard assignment pending" shard=7 owner=notification-hub-0
time=2026-10-03T07:58:03.551Z level=WARN msg="shard assignment pending" shard=7 owner=notification-hub-0
""")
    s.expect(ns, p, "hub", "Probe.ReadinessFailing", ["503"], owner={"kind": "Deployment", "name": name})
    s.coredns()
    return s


@scenario
def s20():
    s = Scenario("20-keycloak-readonly-rootfs", T(2026, 4, 9, 17, 25, 40),
                 "Keycloak StatefulSet hardened with readOnlyRootFilesystem: 'start' triggers an "
                 "auto-build that writes /opt/keycloak/lib/quarkus.")
    ns, name = "iam", "keycloak"
    img = "quay.io/keycloak/keycloak:26.1.4"
    labels = L(name, **{"app.kubernetes.io/instance": "keycloak"})
    tmpl = s.template(labels, [container(
        "keycloak", img, args=["start", "--http-enabled=true", "--proxy-headers=xforwarded"],
        ports=[("http", 8080), ("management", 9000)],
        env=[env_val("KC_DB", "postgres"), env_val("KC_DB_URL", "jdbc:postgresql://keycloak-db:5432/keycloak"),
             env_secret("KC_DB_PASSWORD", "keycloak-db", "password"), env_val("KC_HEALTH_ENABLED", "true"),
             env_val("KC_HOSTNAME", "https://sso.acme.example")],
        res=resources("500m", "1Gi", None, "2Gi"),
        sc={"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]}},
        readiness=http_probe("/health/ready", 9000, delay=30, period=10),
        mounts=[{"mountPath": "/tmp", "name": "tmp"}])],
        volumes=[{"emptyDir": {}, "name": "tmp"}], sa="keycloak")
    created = s.at(days=160)
    suid, rev = s.statefulset(ns, name, template=tmpl, replicas=2, created=created, ready=0,
                              service="keycloak-headless")
    node = "ip-10-3-1-44.ec2.internal"
    p = "keycloak-0"
    c0 = s.at(minutes=29)
    def patch(spec):
        spec["hostname"] = p
        spec["subdomain"] = "keycloak-headless"
    s.pod(ns, p, owner=("apps/v1", "StatefulSet", name, suid), template=tmpl, node=node, ip="10.3.1.201",
          created=c0, phase="Running", spec_patch=patch,
          extra_labels={"apps.kubernetes.io/pod-index": "0", "controller-revision-hash": rev,
                        "statefulset.kubernetes.io/pod-name": p},
          cstatuses=[s.crashloop(ns, p, "keycloak", img, 9, exit_code=1, reason="Error",
                                 started=s.at(minutes=2, seconds=15), finished=s.at(minutes=2, seconds=4))])
    s.scheduled(ns, p, node, c0)
    s.started_events(ns, p, node, "keycloak", img, c0 + D(seconds=1), count=10, last=s.at(minutes=2, seconds=15),
                     pulled_fresh=True)
    s.backoff_event(ns, p, node, "keycloak", c0 + D(seconds=50), 128)
    s.event(ns, name, "SuccessfulDelete", f"delete Pod {p} in StatefulSet {name} successful",
            kind="StatefulSet", api="apps/v1", component="statefulset-controller", first=c0 - D(seconds=31), last=c0 - D(seconds=31))
    s.log(ns, p, "keycloak", """
Updating the configuration and installing your custom providers, if any. Please wait.
2026-04-09 17:23:28,911 WARN  [io.quarkus.bootstrap.util.IoUtils] (build-41) Unable to delete file /opt/keycloak/lib/quarkus/build-system.properties: java.nio.file.FileSystemException: /opt/keycloak/lib/quarkus/build-system.properties: Read-only file system
ERROR: Failed to run 'build' command.
ERROR: io.quarkus.builder.BuildException: Build failure: Build failed due to errors
	[error]: Build step io.quarkus.deployment.pkg.steps.JarResultBuildStep#buildRunnerJar threw an exception: java.lang.IllegalStateException: java.nio.file.FileSystemException: /opt/keycloak/lib/quarkus/build-system.properties: Read-only file system
	at io.quarkus.deployment.pkg.steps.JarResultBuildStep.buildRunnerJar(JarResultBuildStep.java:229)
	at java.base/java.lang.reflect.Method.invoke(Method.java:580)
	at io.quarkus.deployment.ExtensionLoader$3.execute(ExtensionLoader.java:856)
	at io.quarkus.builder.BuildContext.run(BuildContext.java:255)
	at java.base/java.lang.Thread.run(Thread.java:1583)
Caused by: java.nio.file.FileSystemException: /opt/keycloak/lib/quarkus/build-system.properties: Read-only file system
	at java.base/sun.nio.fs.UnixException.translateToIOException(UnixException.java:100)
	at java.base/sun.nio.fs.UnixFileSystemProvider.newByteChannel(UnixFileSystemProvider.java:261)
	at java.base/java.nio.file.Files.newOutputStream(Files.java:226)
	... 11 more
ERROR: For more details run the same command passing the '--verbose' option. Also you can use '--help' to see the details about the usage of the particular command.
""")
    s.expect(ns, p, "keycloak", "CrashLoop.ReadOnlyFilesystem", ["/opt/keycloak/lib/quarkus"],
             owner={"kind": "StatefulSet", "name": name})
    # keycloak-db healthy statefulset
    dbl = L("keycloak-db")
    dbt = s.template(dbl, [container("postgres", "docker.io/library/postgres:16.6", ports=[("tcp-postgresql", 5432)],
                                     res=resources("250m", "512Mi", None, "1Gi"))])
    dbuid, dbrev = s.statefulset(ns, "keycloak-db", template=dbt, replicas=1, created=created, ready=1)
    s.pod(ns, "keycloak-db-0", owner=("apps/v1", "StatefulSet", "keycloak-db", dbuid), template=dbt,
          node=node, ip="10.3.1.77", created=s.at(days=33), phase="Running", ready_since=s.at(days=33, seconds=-12),
          extra_labels={"apps.kubernetes.io/pod-index": "0", "controller-revision-hash": dbrev,
                        "statefulset.kubernetes.io/pod-name": "keycloak-db-0"},
          cstatuses=[s.running("keycloak-db-0", "postgres", "docker.io/library/postgres:16.6", s.at(days=33, seconds=-8))])
    return s


# ----------------------------------------------------------------------------------------------
@scenario
def s21():
    s = Scenario("21-init-container-dns-failure", T(2026, 11, 23, 4, 44, 44),
                 "wiki's db-migrate init container cannot resolve postgres-primary.data.svc.cluster.local "
                 "(the Service was renamed); the pod is stuck in Init:CrashLoopBackOff.")
    ns, name = "wiki", "wiki"
    img = "ghcr.io/acme/wiki:2026.11.2"
    labels = L(name)
    env = [env_val("DATABASE_HOST", "postgres-primary.data.svc.cluster.local"),
           env_val("DJANGO_SETTINGS_MODULE", "wiki.settings.production"),
           env_secret("DATABASE_PASSWORD", "wiki-db", "password")]
    tmpl = s.template(labels, [container("wiki", img, ports=[("http", 8000)], env=env,
                                         command=["gunicorn", "wiki.wsgi", "-b", "0.0.0.0:8000"],
                                         res=resources("200m", "384Mi", None, "768Mi"),
                                         readiness=http_probe("/healthz", 8000, period=10))],
                      init=[container("db-migrate", img, command=["python", "manage.py", "migrate", "--noinput"],
                                      env=env, res=resources("100m", "256Mi", None, "512Mi"))])
    created = s.at(minutes=35)
    out = single(s, ns, name, tmpl, created=created, replicas=1, ready=0)
    own, tm, rs = rs_owner(out, 1)
    node = "scw-prod-pool-general-3f2b1c"
    p = pname(rs, "0")
    ist = s.crashloop(ns, p, "db-migrate", img, 8, exit_code=1, reason="Error",
                      started=s.at(minutes=3, seconds=30), finished=s.at(minutes=3, seconds=27))
    s.pod(ns, p, owner=own, template=tm, node=node, ip="100.64.3.18", created=created, phase="Pending",
          initialized=False, istatuses=[ist],
          cstatuses=[s.waiting("wiki", img, "PodInitializing")])
    s.scheduled(ns, p, node, created)
    f = "spec.initContainers{db-migrate}"
    s.event(ns, p, "Pulling", f'Pulling image "{img}"', field=f, node=node, first=created + D(seconds=1), last=created + D(seconds=1))
    s.event(ns, p, "Pulled", f'Successfully pulled image "{img}" in 6.1s (6.1s including waiting). Image size: 187336412 bytes.',
            field=f, node=node, first=created + D(seconds=7), last=created + D(seconds=7))
    s.event(ns, p, "Pulled", f'Container image "{img}" already present on machine', field=f, node=node,
            count=8, first=created + D(seconds=30), last=s.at(minutes=3, seconds=31))
    s.event(ns, p, "Created", "Created container db-migrate", field=f, node=node, count=9,
            first=created + D(seconds=8), last=s.at(minutes=3, seconds=31))
    s.event(ns, p, "Started", "Started container db-migrate", field=f, node=node, count=9,
            first=created + D(seconds=8), last=s.at(minutes=3, seconds=30))
    s.backoff_event(ns, p, node, "db-migrate", created + D(seconds=40), 152, init=True)
    s.log(ns, p, "db-migrate", """
Traceback (most recent call last):
  File "/usr/local/lib/python3.12/site-packages/django/db/backends/base/base.py", line 279, in ensure_connection
    self.connect()
  File "/usr/local/lib/python3.12/site-packages/django/db/backends/postgresql/base.py", line 332, in get_new_connection
    connection = self.Database.connect(**conn_params)
                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/local/lib/python3.12/site-packages/psycopg2/__init__.py", line 122, in connect
    conn = _connect(dsn, connection_factory=connection_factory, **kwasync)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
psycopg2.OperationalError: could not translate host name "postgres-primary.data.svc.cluster.local" to address: Name or service not known


The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/app/manage.py", line 22, in <module>
    main()
  File "/usr/local/lib/python3.12/site-packages/django/core/management/commands/migrate.py", line 114, in handle
    executor = MigrationExecutor(connection, self.migration_progress_callback)
  File "/usr/local/lib/python3.12/site-packages/django/db/backends/base/base.py", line 256, in connect
    self.connection = self.get_new_connection(conn_params)
                      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
django.db.utils.OperationalError: could not translate host name "postgres-primary.data.svc.cluster.local" to address: Name or service not known
""")
    s.expect(ns, p, "db-migrate", "CrashLoop.DependencyUnreachable",
             ["postgres-primary.data.svc.cluster.local"], owner={"kind": "Deployment", "name": name})
    s.healthy_deployment(ns, "wiki-search", "docker.io/getmeili/meilisearch:v1.12", replicas=1, age_days=90,
                         port=7700, node_pool=[node], ip_base="100.64.3")
    return s


@scenario
def s22():
    s = Scenario("22-spring-db-connection-refused", T(2026, 1, 29, 12, 34, 56),
                 "Spring Boot shipment-service: Hikari gets connection refused from "
                 "shipments-db.fulfilment.svc.cluster.local:5432 (database scaled to zero).")
    ns, name = "fulfilment", "shipment-service"
    img = "acr-acme.azurecr.io/fulfilment/shipment-service:8.1.0"
    labels = L(name)
    tmpl = s.template(labels, [container(
        "shipment-service", img, ports=[("http", 8080)],
        env=[env_val("SPRING_DATASOURCE_URL", "jdbc:postgresql://shipments-db.fulfilment.svc.cluster.local:5432/shipments"),
             env_secret("SPRING_DATASOURCE_PASSWORD", "shipments-db", "password")],
        res=resources("500m", "768Mi", None, "1Gi"),
        readiness=http_probe("/actuator/health/readiness", 8080, delay=30, period=10))])
    created = s.at(days=27)
    out = single(s, ns, name, tmpl, created=created, replicas=2, ready=0, prog="complete",
                 avail_since=s.at(minutes=41))
    own, tm, rs = rs_owner(out, 1)
    nodes = ["aks-fulfil-41126683-vmss000002", "aks-fulfil-41126683-vmss000005"]
    for i in range(2):
        p = pname(rs, str(i))
        s.pod(ns, p, owner=own, template=tm, node=nodes[i], ip=f"10.240.{i}.{52 + i}", created=created,
              phase="Running",
              cstatuses=[s.crashloop(ns, p, "shipment-service", img, 13, exit_code=1, reason="Error",
                                     started=s.at(minutes=3 + i, seconds=41), finished=s.at(minutes=3 + i, seconds=22))])
        s.started_events(ns, p, nodes[i], "shipment-service", img, s.at(minutes=42), count=9,
                         last=s.at(minutes=3 + i, seconds=41))
        s.backoff_event(ns, p, nodes[i], "shipment-service", s.at(minutes=40), 160 + i)
        s.log(ns, p, "shipment-service", SPRING_REFUSED)
        s.expect(ns, p, "shipment-service", "CrashLoop.DependencyUnreachable",
                 ["shipments-db.fulfilment.svc.cluster.local", "5432"], owner={"kind": "Deployment", "name": name})
    s.completed_job(ns, "label-printer-sync", "acr-acme.azurecr.io/fulfilment/label-sync:1.0.4",
                    scheduled=s.at(minutes=30), node=nodes[0])
    s.coredns()
    return s


SPRING_REFUSED = """\
2026-01-29T12:31:02.871Z  INFO 1 --- [shipment-service] [           main] c.a.f.ShipmentServiceApplication         : Starting ShipmentServiceApplication v8.1.0 using Java 17.0.13 with PID 1
2026-01-29T12:31:09.114Z  INFO 1 --- [shipment-service] [           main] com.zaxxer.hikari.HikariDataSource       : HikariPool-1 - Starting...
2026-01-29T12:31:09.301Z ERROR 1 --- [shipment-service] [           main] com.zaxxer.hikari.pool.HikariPool        : HikariPool-1 - Exception during pool initialization.

org.postgresql.util.PSQLException: Connection to shipments-db.fulfilment.svc.cluster.local:5432 refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.
	at org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:352) ~[postgresql-42.7.4.jar!/:42.7.4]
	at org.postgresql.core.ConnectionFactory.openConnection(ConnectionFactory.java:54) ~[postgresql-42.7.4.jar!/:42.7.4]
	at org.postgresql.jdbc.PgConnection.<init>(PgConnection.java:273) ~[postgresql-42.7.4.jar!/:42.7.4]
	at com.zaxxer.hikari.pool.PoolBase.newConnection(PoolBase.java:368) ~[HikariCP-5.1.0.jar!/:na]
	at com.zaxxer.hikari.pool.HikariPool.<init>(HikariPool.java:115) ~[HikariCP-5.1.0.jar!/:na]
Caused by: java.net.ConnectException: Connection refused
	at java.base/sun.nio.ch.Net.pollConnect(Native Method) ~[na:na]
	at java.base/sun.nio.ch.NioSocketImpl.timedFinishConnect(NioSocketImpl.java:547) ~[na:na]
	... 68 common frames omitted

2026-01-29T12:31:09.322Z  WARN 1 --- [shipment-service] [           main] ConfigServletWebServerApplicationContext : Exception encountered during context initialization - cancelling refresh attempt: org.springframework.beans.factory.BeanCreationException: Error creating bean with name 'flywayInitializer' defined in class path resource [org/springframework/boot/autoconfigure/flyway/FlywayAutoConfiguration$FlywayConfiguration.class]: Unable to obtain connection from database: Connection to shipments-db.fulfilment.svc.cluster.local:5432 refused.
2026-01-29T12:31:09.401Z ERROR 1 --- [shipment-service] [           main] o.s.boot.SpringApplication               : Application run failed
"""


@scenario
def s23():
    s = Scenario("23-go-amqp-dial-timeout", T(2026, 6, 30, 23, 58, 1),
                 "Go event-router (logrus JSON) cannot reach RabbitMQ 10.0.12.40:5672 (i/o timeout; "
                 "a NetworkPolicy blocks egress).")
    ns, name = "events", "event-router"
    img = "registry.acme.io/platform/event-router:0.31.0"
    labels = L(name)
    tmpl = s.template(labels, [container(
        "router", img, env=[env_val("AMQP_URL", "amqp://router@10.0.12.40:5672/events")],
        ports=[("metrics", 2112)], res=resources("50m", "64Mi", None, "128Mi"))])
    created = s.at(days=2)
    out = single(s, ns, name, tmpl, created=created, replicas=1, ready=0, prog="complete",
                 avail_since=s.at(minutes=29))
    own, tm, rs = rs_owner(out, 1)
    node = "worker-b-12"
    p = pname(rs, "0")
    s.pod(ns, p, owner=own, template=tm, node=node, ip="10.244.12.9", created=created, phase="Running",
          cstatuses=[s.crashloop(ns, p, "router", img, 8, exit_code=1, reason="Error",
                                 started=s.at(minutes=4, seconds=31), finished=s.at(minutes=4))])
    s.started_events(ns, p, node, "router", img, s.at(minutes=30), count=8, last=s.at(minutes=4, seconds=31))
    s.backoff_event(ns, p, node, "router", s.at(minutes=28), 97)
    s.log(ns, p, "router", """
{"level":"info","msg":"event-router 0.31.0 starting","time":"2026-06-30T23:53:30Z"}
{"level":"info","msg":"connecting to broker","broker":"10.0.12.40:5672","time":"2026-06-30T23:53:30Z"}
{"level":"warning","msg":"broker connection attempt failed, retrying","attempt":1,"error":"dial tcp 10.0.12.40:5672: i/o timeout","time":"2026-06-30T23:53:40Z"}
{"level":"warning","msg":"broker connection attempt failed, retrying","attempt":2,"error":"dial tcp 10.0.12.40:5672: i/o timeout","time":"2026-06-30T23:53:50Z"}
{"level":"fatal","msg":"cannot connect to RabbitMQ: dial tcp 10.0.12.40:5672: i/o timeout","time":"2026-06-31T00:00:00Z"}
""".replace("2026-06-31T00:00:00Z", "2026-06-30T23:54:01Z"))
    s.expect(ns, p, "router", "CrashLoop.DependencyUnreachable", ["10.0.12.40", "5672"],
             owner={"kind": "Deployment", "name": name})
    s.add({"apiVersion": "v1", "kind": "Event", "count": 1, "eventTime": None,
           "firstTimestamp": iso(s.at(minutes=31)), "lastTimestamp": iso(s.at(minutes=31)),
           "involvedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                              "name": "default-deny-egress", "namespace": ns},
           "kind": "Event", "message": "Policy created by argocd", "reason": "Created",
           "metadata": {"creationTimestamp": iso(s.at(minutes=31)), "name": "default-deny-egress.18a2b3c4d5e6f708",
                        "namespace": ns, "resourceVersion": s.rv(), "uid": mkuid("ev:np")},
           "reportingComponent": "", "reportingInstance": "", "source": {"component": "argocd-application-controller"},
           "type": "Normal"})
    s.healthy_deployment(ns, "event-archiver", "registry.acme.io/platform/event-archiver:0.31.0",
                         replicas=1, age_days=2, node_pool=[node], ip_base="10.244.12")
    return s


# ----------------------------------------------------------------------------------------------
@scenario
def s24():
    s = Scenario("24-starterror-executable-not-found", T(2026, 2, 14, 20, 20, 20),
                 "model-server's command is gunicorn, which the slim image does not contain: "
                 "containerd StartError (exit 128) executable file not found in $PATH.")
    ns, name = "ml", "model-server"
    img = "ghcr.io/acme-ml/model-server:0.5.0-slim"
    labels = L(name)
    tmpl = s.template(labels, [container(
        "server", img, command=["gunicorn"], args=["serve:app", "-k", "uvicorn.workers.UvicornWorker", "-b", "0.0.0.0:8080"],
        ports=[("http", 8080)], res=resources("1", "2Gi", None, "4Gi"))])
    created = s.at(minutes=16)
    out = single(s, ns, name, tmpl, created=created, replicas=1, ready=0)
    own, tm, rs = rs_owner(out, 1)
    node = "gpu-pool-a100-0"
    p = pname(rs, "0")
    err = ('failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create '
           'failed: unable to start container process: exec: "gunicorn": executable file not found in $PATH: unknown')
    s.pod(ns, p, owner=own, template=tm, node=node, ip="10.8.0.23", created=created, phase="Running",
          cstatuses=[s.crashloop(ns, p, "server", img, 8, exit_code=128, reason="StartError",
                                 started=None, finished=s.at(minutes=1, seconds=58), message=err)])
    s.scheduled(ns, p, node, created)
    f = "spec.containers{server}"
    s.event(ns, p, "Pulling", f'Pulling image "{img}"', field=f, node=node, first=created + D(seconds=1), last=created + D(seconds=1))
    s.event(ns, p, "Pulled", f'Successfully pulled image "{img}" in 11.204s (11.204s including waiting). Image size: 412883002 bytes.',
            field=f, node=node, first=created + D(seconds=12), last=created + D(seconds=12))
    s.event(ns, p, "Created", "Created container server", field=f, node=node, count=9,
            first=created + D(seconds=12), last=s.at(minutes=1, seconds=58))
    s.event(ns, p, "Failed", f"Error: {err}", type_="Warning", field=f, node=node, count=9,
            first=created + D(seconds=12), last=s.at(minutes=1, seconds=58))
    s.event(ns, p, "Pulled", f'Container image "{img}" already present on machine', field=f, node=node,
            count=8, first=created + D(seconds=25), last=s.at(minutes=1, seconds=58))
    s.backoff_event(ns, p, node, "server", created + D(seconds=26), 70)
    s.expect(ns, p, "server", "CrashLoop.CommandNotFound", ["gunicorn"], owner={"kind": "Deployment", "name": name})
    s.healthy_deployment(ns, "feature-api", "ghcr.io/acme-ml/feature-api:1.3.0", replicas=1, age_days=5,
                         node_pool=["cpu-pool-0"], ip_base="10.8.1")
    return s


@scenario
def s25():
    s = Scenario("25-exit127-daemonset-binary-missing", T(2026, 3, 21, 1, 2, 3),
                 "node-agent DaemonSet: the shell wrapper execs /usr/local/bin/node-agent which the "
                 "new image moved to /usr/bin; exit 127 on every node.")
    ns, name = "observability", "node-agent"
    img = "ghcr.io/acme/node-agent:5.0.0"
    labels = L(name)
    tmpl = s.template(labels, [container(
        "agent", img, command=["/bin/sh", "-c", "exec /usr/local/bin/node-agent --config /etc/node-agent/agent.yaml"],
        res=resources("20m", "64Mi", None, "128Mi"))])
    tmpl["spec"]["hostNetwork"] = True
    created = s.at(days=90)
    nodes = ["ip-10-4-1-10.ec2.internal", "ip-10-4-2-11.ec2.internal", "ip-10-4-3-12.ec2.internal"]
    duid = s.daemonset(ns, name, template=tmpl, created=created, nodes=3, ready=0)
    for i, node in enumerate(nodes):
        p = f"{name}-{safe(node, 5)}"
        c0 = s.at(minutes=19, seconds=-40 * i)
        s.pod(ns, p, owner=("apps/v1", "DaemonSet", name, duid), template=tmpl, node=node,
              ip=f"10.4.{i + 1}.{10 + i}", created=c0, phase="Running",
              extra_labels={"controller-revision-hash": "7d9f8b6c5d", "pod-template-generation": "4"},
              cstatuses=[s.crashloop(ns, p, "agent", img, 8, exit_code=127, reason="Error",
                                     started=s.at(minutes=2, seconds=40 - i * 9),
                                     finished=s.at(minutes=2, seconds=40 - i * 9))])
        s.scheduled(ns, p, node, c0)
        s.started_events(ns, p, node, "agent", img, c0 + D(seconds=1), count=9,
                         last=s.at(minutes=2, seconds=40 - i * 9), pulled_fresh=True)
        s.backoff_event(ns, p, node, "agent", c0 + D(seconds=20), 86 - i * 3)
        s.log(ns, p, "agent", "/bin/sh: 1: exec: /usr/local/bin/node-agent: not found\n")
        s.expect(ns, p, "agent", "CrashLoop.CommandNotFound", ["/usr/local/bin/node-agent"],
                 owner={"kind": "DaemonSet", "name": name})
    s.event(ns, name, "SuccessfulDelete", f"Deleted pod: {name}-{safe('old0', 5)}", kind="DaemonSet",
            api="apps/v1", component="daemonset-controller", first=s.at(minutes=19, seconds=3), last=s.at(minutes=19, seconds=3))
    s.coredns()
    return s


@scenario
def s26():
    s = Scenario("26-exit126-script-not-executable", T(2026, 4, 4, 4, 4, 4),
                 "legacy-portal's start script lost its executable bit in the new image: "
                 "/bin/sh reports Permission denied, exit 126.")
    ns, name = "legacy", "legacy-portal"
    img = "registry.acme.io/legacy/portal:2026.04.1"
    labels = L(name)
    tmpl = s.template(labels, [container(
        "portal", img, command=["/bin/sh", "-c", "/app/start.sh"], ports=[("http", 8080)],
        res=resources("100m", "256Mi", None, "512Mi"))])
    created = s.at(minutes=12)
    out = single(s, ns, name, tmpl, created=created, replicas=1, ready=0)
    own, tm, rs = rs_owner(out, 1)
    node = "vm-k8s-worker-2"
    p = pname(rs, "0")
    s.pod(ns, p, owner=own, template=tm, node=node, ip="192.168.120.33", created=created, phase="Running",
          cstatuses=[s.crashloop(ns, p, "portal", img, 7, exit_code=126, reason="Error",
                                 started=s.at(minutes=1, seconds=30), finished=s.at(minutes=1, seconds=30))])
    s.scheduled(ns, p, node, created)
    s.started_events(ns, p, node, "portal", img, created + D(seconds=1), count=8,
                     last=s.at(minutes=1, seconds=30), pulled_fresh=True)
    s.backoff_event(ns, p, node, "portal", created + D(seconds=20), 52)
    s.log(ns, p, "portal", "/bin/sh: 1: /app/start.sh: Permission denied\n")
    s.expect(ns, p, "portal", "CrashLoop.PermissionDenied", ["/app/start.sh"],
             owner={"kind": "Deployment", "name": name})
    s.healthy_deployment(ns, "legacy-db-proxy", "docker.io/edoburu/pgbouncer:1.23.1", replicas=1, age_days=300,
                         port=5432, node_pool=[node], ip_base="192.168.120")
    return s


@scenario
def s27():
    s = Scenario("27-go-nil-pointer-panic", T(2026, 12, 1, 13, 13, 13),
                 "geo-router panics with a nil pointer dereference while loading its routing table (exit 2).")
    ns, name = "routing", "geo-router"
    img = "ghcr.io/acme/geo-router:1.9.0"
    labels = L(name)
    tmpl = s.template(labels, [container("geo-router", img, ports=[("http", 8080)],
                                         env=[env_val("TABLE_SOURCE", "s3://acme-routing/tables/current.json")],
                                         res=resources("100m", "256Mi", None, "512Mi"))])
    created = s.at(minutes=44)
    out = single(s, ns, name, tmpl, created=created, replicas=2, ready=0)
    own, tm, rs = rs_owner(out, 1)
    nodes = ["n1-highmem-abc1", "n1-highmem-abc2"]
    for i in range(2):
        p = pname(rs, str(i))
        s.pod(ns, p, owner=own, template=tm, node=nodes[i], ip=f"10.16.{i}.{8 + i}", created=created,
              phase="Running",
              cstatuses=[s.crashloop(ns, p, "geo-router", img, 13, exit_code=2, reason="Error",
                                     started=s.at(minutes=3 - i, seconds=1), finished=s.at(minutes=3 - i))])
        s.scheduled(ns, p, nodes[i], created)
        s.started_events(ns, p, nodes[i], "geo-router", img, created + D(seconds=1), count=14,
                         last=s.at(minutes=3 - i, seconds=1), pulled_fresh=True)
        s.backoff_event(ns, p, nodes[i], "geo-router", created + D(seconds=25), 190)
        s.log(ns, p, "geo-router", """
{"level":"info","ts":"2026-12-01T13:10:12.401Z","msg":"starting geo-router","version":"1.9.0"}
{"level":"info","ts":"2026-12-01T13:10:12.877Z","msg":"loaded routing table","source":"s3://acme-routing/tables/current.json","regions":41}
panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x28 pc=0x9b2f14]

goroutine 1 [running]:
github.com/acme/geo-router/internal/table.(*Table).Fallback(0x0, {0xc0001a4180, 0x5})
	/src/internal/table/table.go:88 +0x14
github.com/acme/geo-router/internal/table.Load({0x7ffd5c1e3f20, 0x2a})
	/src/internal/table/load.go:61 +0x3b2
main.main()
	/src/cmd/geo-router/main.go:64 +0x2d4
""")
        s.expect(ns, p, "geo-router", "CrashLoop.AppError", ["nil pointer dereference"],
                 owner={"kind": "Deployment", "name": name})
    s.coredns()
    return s


@scenario
def s28():
    s = Scenario("28-node-typeerror-stacktrace", T(2026, 8, 8, 8, 8, 8),
                 "content-api (Node 20) crashes at startup with TypeError reading .map of undefined.")
    ns, name = "cms", "content-api"
    img = "registry.gitlab.com/acme/cms/content-api:4.2.0"
    labels = L(name)
    tmpl = s.template(labels, [container("api", img, command=["npm", "start"], ports=[("http", 4000)],
                                         env=[env_val("NODE_ENV", "production"),
                                              env_val("SCHEMA_DIR", "/app/schemas")],
                                         res=resources("100m", "256Mi", None, "512Mi"))])
    created = s.at(minutes=18)
    out = single(s, ns, name, tmpl, created=created, replicas=1, ready=0)
    own, tm, rs = rs_owner(out, 1)
    node = "lke1234-5678-abcdef"
    p = pname(rs, "0")
    s.pod(ns, p, owner=own, template=tm, node=node, ip="10.2.1.55", created=created, phase="Running",
          cstatuses=[s.crashloop(ns, p, "api", img, 8, exit_code=1, reason="Error",
                                 started=s.at(minutes=2, seconds=12), finished=s.at(minutes=2, seconds=10))])
    s.scheduled(ns, p, node, created)
    s.started_events(ns, p, node, "api", img, created + D(seconds=1), count=9, last=s.at(minutes=2, seconds=12),
                     pulled_fresh=True)
    s.backoff_event(ns, p, node, "api", created + D(seconds=30), 77)
    s.log(ns, p, "api", """
> content-api@4.2.0 start
> node dist/server.js

{"level":30,"time":1786176365402,"pid":18,"hostname":"%s","msg":"loading content types","dir":"/app/schemas"}
/app/dist/loaders/schema.js:41
    const fields = schema.fields.map((f) => normalizeField(f));
                                 ^

TypeError: Cannot read properties of undefined (reading 'map')
    at buildContentType (/app/dist/loaders/schema.js:41:34)
    at Array.map (<anonymous>)
    at loadSchemas (/app/dist/loaders/schema.js:18:22)
    at async main (/app/dist/server.js:27:3)

Node.js v20.18.1
npm error path /app
npm error command failed
npm error signal SIGTERM
npm error command sh -c node dist/server.js
""" % p)
    s.expect(ns, p, "api", "CrashLoop.AppError", ["Cannot read properties of undefined"],
             owner={"kind": "Deployment", "name": name})
    s.healthy_deployment(ns, "cms-admin", "registry.gitlab.com/acme/cms/admin:4.2.0", replicas=1, age_days=3,
                         node_pool=[node], ip_base="10.2.1")
    return s


# ----------------------------------------------------------------------------------------------
@scenario
def s29():
    s = Scenario("29-evicted-memory-pressure", T(2026, 10, 20, 16, 40, 0),
                 "feature-store pod evicted for node memory pressure; its replacement is running.")
    ns, name = "ml-platform", "feature-store"
    img = "ghcr.io/acme-ml/feature-store:3.0.2"
    labels = L(name)
    tmpl = s.template(labels, [container("feature-store", img, ports=[("grpc", 6566)],
                                         res=resources("500m", "512Mi", None, None))])
    created = s.at(days=12)
    out = single(s, ns, name, tmpl, created=created, replicas=2, ready=2)
    own, tm, rs = rs_owner(out, 1)
    nodes = ["gke-ml-highmem-e2b1a9f0-6d7c", "gke-ml-highmem-e2b1a9f0-q2r8"]
    ev_t = s.at(minutes=26)
    msg = ("The node was low on resource: memory. Threshold quantity: 100Mi, available: 87040Ki. "
           "Container feature-store was using 1843200Ki, request is 512Mi, has larger consumption of memory. ")
    pe = pname(rs, "old")
    s.pod(ns, pe, owner=own, template=tm, node=nodes[0], ip=None, created=s.at(days=12), phase="Failed",
          cstatuses=[{"containerID": s.cid(pe, "feature-store", 0), "image": img, "imageID": "ghcr.io/acme-ml/feature-store@sha256:" + h("fs", 64),
                      "lastState": {}, "name": "feature-store", "ready": False, "restartCount": 0, "started": False,
                      "state": {"terminated": {"containerID": s.cid(pe, "feature-store", 0), "exitCode": 137,
                                               "finishedAt": iso(ev_t + D(seconds=1)), "reason": "Error",
                                               "startedAt": iso(s.at(days=12, seconds=-10))}}}],
          extra_conditions=[{"lastProbeTime": None, "lastTransitionTime": iso(ev_t),
                             "message": msg.strip(), "reason": "TerminationByKubelet", "status": "True",
                             "type": "DisruptionTarget"}],
          status_extra={"message": msg, "reason": "Evicted"})
    s.event(ns, pe, "Evicted", msg.strip(), type_="Warning", node=nodes[0], first=ev_t, last=ev_t)
    s.event(ns, pe, "Killing", "Stopping container feature-store", field="spec.containers{feature-store}",
            node=nodes[0], first=ev_t, last=ev_t)
    s.event("", nodes[0], "EvictionThresholdMet", "Attempting to reclaim memory", type_="Warning",
            kind="Node", node=nodes[0], first=ev_t - D(seconds=10), last=ev_t - D(seconds=10))
    s.expect(ns, pe, None, "Pod.Evicted", ["memory"], owner={"kind": "Deployment", "name": name})
    p1 = pname(rs, "1")
    s.pod(ns, p1, owner=own, template=tm, node=nodes[1], ip="10.100.2.14", created=created, phase="Running",
          ready_since=created + D(seconds=25), cstatuses=[s.running(p1, "feature-store", img, created + D(seconds=15))])
    p2 = pname(rs, "new")
    s.pod(ns, p2, owner=own, template=tm, node=nodes[1], ip="10.100.2.61", created=ev_t + D(seconds=1),
          phase="Running", ready_since=ev_t + D(seconds=30),
          cstatuses=[s.running(p2, "feature-store", img, ev_t + D(seconds=20))])
    s.scheduled(ns, p2, nodes[1], ev_t + D(seconds=1))
    s.started_events(ns, p2, nodes[1], "feature-store", img, ev_t + D(seconds=2))
    s.event(ns, rs, "SuccessfulCreate", f"Created pod: {p2}", kind="ReplicaSet", api="apps/v1",
            component="replicaset-controller", first=ev_t + D(seconds=1), last=ev_t + D(seconds=1))
    s.completed_job(ns, "materialize-features", "ghcr.io/acme-ml/feature-store:3.0.2",
                    scheduled=s.at(minutes=10), node=nodes[1], duration=300)
    return s


@scenario
def s30():
    s = Scenario("30-missing-configmap-yaml", T(2026, 9, 9, 9, 9, 9),
                 "Multi-document YAML snapshot: nginx-gateway envFrom ConfigMap gateway-env which "
                 "does not exist.", fmt="yaml")
    ns, name = "payments-gw", "nginx-gateway"
    img = "docker.io/nginxinc/nginx-unprivileged:1.27-alpine"
    c = container("nginx", img, ports=[("http", 8080)], env_from=[{"configMapRef": {"name": "gateway-env"}}],
                  res=resources("50m", "64Mi", None, "128Mi"))
    pods = config_error_deploy(s, ns, name, img, containers=[c], replicas=2, created=s.at(minutes=6),
                               message='configmap "gateway-env" not found', cname="nginx",
                               nodes=["worker-1", "worker-2"], ip_base="10.233.64")
    for p in pods:
        s.expect(ns, p, "nginx", "Config.MissingConfigMap", ["gateway-env"],
                 owner={"kind": "Deployment", "name": name})
    s.add({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"creationTimestamp": iso(s.at(days=4)), "name": "gateway-nginx-conf",
                        "namespace": ns, "resourceVersion": s.rv(), "uid": mkuid("cm:gw")}})
    s.healthy_deployment(ns, "psp-adapter", "docker.io/acme/psp-adapter:1.0.9", replicas=2, age_days=4,
                         node_pool=["worker-1", "worker-2"], ip_base="10.233.65")
    return s


def to_events_v1(ev):
    if ev.get("kind") != "Event" or ev.get("apiVersion") != "v1":
        return ev
    out = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": ev["metadata"],
           "eventTime": ev.get("eventTime"), "reason": ev["reason"], "regarding": ev["involvedObject"],
           "note": ev["message"], "type": ev["type"],
           "reportingController": ev.get("reportingComponent") or ev.get("source", {}).get("component", ""),
           "reportingInstance": ev.get("reportingInstance", "")}
    if ev.get("action"):
        out["action"] = ev["action"]
    if ev.get("count") is not None:
        out["deprecatedCount"] = ev["count"]
    if ev.get("firstTimestamp"):
        out["deprecatedFirstTimestamp"] = ev["firstTimestamp"]
    if ev.get("lastTimestamp"):
        out["deprecatedLastTimestamp"] = ev["lastTimestamp"]
    if ev.get("source"):
        out["deprecatedSource"] = ev["source"]
    return out


@scenario
def s31():
    s = Scenario("31-missing-secret-key-events-v1", T(2026, 5, 5, 5, 5, 5),
                 "Events in events.k8s.io/v1 shape. clickhouse-exporter needs key 'password' in Secret "
                 "clickhouse-credentials, which only has 'admin-password'.")
    ns, name = "reporting", "clickhouse-exporter"
    img = "docker.io/f1yegor/clickhouse-exporter:v0.1.2"
    c = container("exporter", img, ports=[("metrics", 9116)],
                  args=["-scrape_uri=http://clickhouse.reporting.svc:8123/"],
                  env=[env_val("CLICKHOUSE_USER", "exporter"),
                       env_secret("CLICKHOUSE_PASSWORD", "clickhouse-credentials", "password")],
                  res=resources("10m", "32Mi", None, "64Mi"))
    pods = config_error_deploy(s, ns, name, img, containers=[c], replicas=1, created=s.at(minutes=40),
                               message="couldn't find key password in Secret reporting/clickhouse-credentials",
                               cname="exporter", nodes=["k8s-w-04"], ip_base="10.32.4")
    for p in pods:
        s.expect(ns, p, "exporter", "Config.MissingSecretKey", ["password", "clickhouse-credentials"],
                 owner={"kind": "Deployment", "name": name})
    s.add({"apiVersion": "v1", "kind": "Secret",
           "metadata": {"creationTimestamp": iso(s.at(days=100)), "name": "clickhouse-credentials",
                        "namespace": ns, "resourceVersion": s.rv(), "uid": mkuid("secret:ch")}, "type": "Opaque"})
    s.healthy_deployment(ns, "grafana-image-renderer", "docker.io/grafana/grafana-image-renderer:3.11.6",
                         replicas=1, age_days=9, port=8081, node_pool=["k8s-w-04"], ip_base="10.32.5")
    s.event(ns, name, "ScalingReplicaSet", f"Scaled up replica set {name}-x to 1", kind="Deployment",
            api="apps/v1", component="deployment-controller", first=s.at(minutes=40), last=s.at(minutes=40))
    s.items = [to_events_v1(i) for i in s.items]
    return s


# ---------------------------------------------------------------------------------------- negatives
@scenario
def s32():
    s = Scenario("32-neg-all-healthy", T(2026, 6, 6, 6, 6, 6),
                 "NEGATIVE: healthy workloads only; one pod logged a readiness failure during its "
                 "warm-up 20 minutes ago and has been ready since; completed CronJob pods.")
    s.coredns()
    nodes = ["node-1", "node-2", "node-3"]
    s.healthy_deployment("shop", "catalog", "registry.example.com/shop/catalog:3.3.0", replicas=3,
                         age_days=5, node_pool=nodes, ip_base="10.244.30")
    out = s.healthy_deployment("shop", "checkout", "registry.example.com/shop/checkout:3.3.0", replicas=2,
                               age_days=0.014, node_pool=nodes, ip_base="10.244.31")
    rsname = out[1][0]
    p = pname(rsname, "x")
    # name used by healthy_deployment:
    p = f"{rsname}-{safe('checkout0', 5)}"
    s.event("shop", p, "Unhealthy", 'Readiness probe failed: Get "http://10.244.31.20:8080/healthz": dial tcp 10.244.31.20:8080: connect: connection refused',
            type_="Warning", field="spec.containers{checkout}", node=nodes[0], count=2,
            first=s.at(minutes=20, seconds=8), last=s.at(minutes=20, seconds=2))
    s.started_events("shop", p, nodes[0], "checkout", "registry.example.com/shop/checkout:3.3.0",
                     s.at(minutes=20, seconds=14), pulled_fresh=True)
    for k in range(3):
        s.completed_job("shop", "sitemap-refresh", "registry.example.com/shop/catalog:3.3.0",
                        scheduled=s.at(minutes=5 + 60 * k), node=nodes[k])
    dl = {"app.kubernetes.io/name": "fluent-bit"}
    dtp = s.template(dl, [container("fluent-bit", "cr.fluentbit.io/fluent/fluent-bit:3.2.4",
                                    ports=[("http", 2020)], res=resources("50m", "64Mi", None, "128Mi"))])
    duid = s.daemonset("logging", "fluent-bit", template=dtp, created=s.at(days=30), nodes=3, ready=3)
    for i, n in enumerate(nodes):
        dp = f"fluent-bit-{safe(n, 5)}"
        s.pod("logging", dp, owner=("apps/v1", "DaemonSet", "fluent-bit", duid), template=dtp, node=n,
              ip=f"10.244.40.{i + 2}", created=s.at(days=30), phase="Running", ready_since=s.at(days=30, seconds=-5),
              extra_labels={"controller-revision-hash": "5c7d9b8f6d", "pod-template-generation": "1"},
              cstatuses=[s.running(dp, "fluent-bit", "cr.fluentbit.io/fluent/fluent-bit:3.2.4", s.at(days=30, seconds=-3))])
    s.event("shop", "catalog", "ScalingReplicaSet", "Scaled up replica set catalog-6f8d9c7b5 to 3 from 2",
            kind="Deployment", api="apps/v1", component="deployment-controller", first=s.at(seconds=30), last=s.at(seconds=0))
    return s


@scenario
def s33():
    s = Scenario("33-neg-restarted-long-ago", T(2026, 7, 17, 12, 0, 0),
                 "NEGATIVE: pods whose last restarts (an OOMKill 6 days ago, an exit 1 4 days ago) "
                 "are long past; running and ready since.")
    ns = "search"
    img = "registry.acme.io/search/query-api:5.5.0"
    labels = L("query-api")
    tmpl = s.template(labels, [container("query-api", img, ports=[("http", 8080)],
                                         res=resources("500m", "1Gi", None, "1Gi"))])
    created = s.at(days=20)
    out = single(s, ns, "query-api", tmpl, created=created, replicas=2, ready=2)
    own, tm, rs = rs_owner(out, 1)
    nodes = ["node-a1", "node-a2"]
    p0 = pname(rs, "0")
    s.pod(ns, p0, owner=own, template=tm, node=nodes[0], ip="10.244.1.10", created=created, phase="Running",
          ready_since=s.at(days=6, seconds=-25),
          cstatuses=[s.running(p0, "query-api", img, s.at(days=6, seconds=-10), restarts=3,
                               last={"terminated": s.terminated(p0, "query-api", 2, 137, "OOMKilled",
                                                                s.at(days=6, hours=2), s.at(days=6))})])
    p1 = pname(rs, "1")
    s.pod(ns, p1, owner=own, template=tm, node=nodes[1], ip="10.244.2.10", created=created, phase="Running",
          ready_since=s.at(days=4, seconds=-30),
          cstatuses=[s.running(p1, "query-api", img, s.at(days=4, seconds=-12), restarts=1,
                               last={"terminated": s.terminated(p1, "query-api", 0, 1, "Error",
                                                                s.at(days=20), s.at(days=4))})])
    s.healthy_deployment(ns, "indexer-ui", "registry.acme.io/search/indexer-ui:5.5.0", replicas=1, age_days=0.5,
                         node_pool=nodes, ip_base="10.244.3")
    s.completed_job(ns, "reindex", "registry.acme.io/search/reindex:5.5.0", scheduled=s.at(minutes=15),
                    node=nodes[0])
    s.event(ns, "indexer-ui", "ScalingReplicaSet", "Scaled up replica set indexer-ui-5d6f7c8b9 to 1",
            kind="Deployment", api="apps/v1", component="deployment-controller", first=s.at(seconds=5), last=s.T)
    return s


@scenario
def s34():
    s = Scenario("34-neg-starting-pods", T(2026, 2, 2, 2, 2, 2),
                 "NEGATIVE: a pod created 15s ago in ContainerCreating (image still pulling) and a "
                 "pod whose init container is running (PodInitializing). No errors.")
    ns = "jobs"
    img = "registry.acme.io/jobs/dispatcher:9.0.0"
    labels = L("dispatcher")
    tmpl = s.template(labels, [container("dispatcher", img, res=resources("100m", "128Mi", None, "256Mi"))],
                      init=[container("wait-for-schema", "docker.io/library/busybox:1.37",
                                      command=["sh", "-c", "until nc -z schema-registry 8081; do sleep 2; done"])])
    created = s.at(seconds=15)
    out = single(s, ns, "dispatcher", tmpl, created=created, replicas=2, ready=0)
    own, tm, rs = rs_owner(out, 1)
    p0 = pname(rs, "0")
    s.pod(ns, p0, owner=own, template=tm, node="node-x1", ip="10.244.9.4", created=created, phase="Pending",
          initialized=False,
          istatuses=[s.running(p0, "wait-for-schema", "docker.io/library/busybox:1.37", created + D(seconds=3), ready=False)],
          cstatuses=[s.waiting("dispatcher", img, "PodInitializing")])
    s.scheduled(ns, p0, "node-x1", created)
    s.event(ns, p0, "Pulled", 'Container image "docker.io/library/busybox:1.37" already present on machine',
            field="spec.initContainers{wait-for-schema}", node="node-x1", first=created + D(seconds=2), last=created + D(seconds=2))
    s.event(ns, p0, "Created", "Created container wait-for-schema", field="spec.initContainers{wait-for-schema}",
            node="node-x1", first=created + D(seconds=2), last=created + D(seconds=2))
    s.event(ns, p0, "Started", "Started container wait-for-schema", field="spec.initContainers{wait-for-schema}",
            node="node-x1", first=created + D(seconds=3), last=created + D(seconds=3))
    # second pod: init done, main container image pulling
    p1 = pname(rs, "1")
    s.pod(ns, p1, owner=own, template=tm, node="node-x2", ip="10.244.10.4", created=created, phase="Pending",
          istatuses=[s.completed(p1, "wait-for-schema", "docker.io/library/busybox:1.37", created + D(seconds=3),
                                 created + D(seconds=6), init=True)],
          cstatuses=[s.waiting("dispatcher", img, "ContainerCreating")])
    s.scheduled(ns, p1, "node-x2", created)
    s.event(ns, p1, "Pulling", f'Pulling image "{img}"', field="spec.containers{dispatcher}", node="node-x2",
            first=s.T, last=s.T)
    s.healthy_deployment(ns, "scheduler", "registry.acme.io/jobs/scheduler:9.0.0", replicas=1, age_days=10,
                         node_pool=["node-x1"], ip_base="10.244.9")
    s.coredns()
    return s


@scenario
def s35():
    s = Scenario("35-neg-completed-jobs", T(2026, 3, 3, 3, 33, 0),
                 "NEGATIVE: completed Job pods, one of which (restartPolicy OnFailure) failed once "
                 "before succeeding.")
    ns = "batch"
    for k in range(3):
        s.completed_job(ns, "db-backup", "docker.io/library/postgres:16.6", scheduled=s.at(hours=k, minutes=33),
                        node="node-b1", command=["pg_dump"])
    # a Job whose pod restarted once then completed
    jname = "data-import-29541237"
    juid = mkuid(f"{ns}/job/{jname}")
    labels = {"batch.kubernetes.io/controller-uid": juid, "batch.kubernetes.io/job-name": jname,
              "controller-uid": juid, "job-name": jname}
    img = "registry.acme.io/batch/importer:1.4.0"
    tmpl = s.template(labels, [container("importer", img, res=resources("200m", "256Mi", None, "512Mi"))],
                      restart="OnFailure")
    start = s.at(minutes=20)
    s.add({"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"creationTimestamp": iso(start), "generation": 1, "labels": dict(labels), "name": jname,
                        "namespace": ns, "resourceVersion": s.rv(), "uid": juid},
           "spec": {"backoffLimit": 4, "completionMode": "NonIndexed", "completions": 1, "manualSelector": False,
                    "parallelism": 1, "podReplacementPolicy": "TerminatingOrFailed",
                    "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": juid}},
                    "suspend": False, "template": tmpl},
           "status": {"completionTime": iso(s.at(minutes=4)),
                      "conditions": [{"lastProbeTime": iso(s.at(minutes=4)), "lastTransitionTime": iso(s.at(minutes=4)),
                                      "message": "Reached expected number of succeeded pods",
                                      "reason": "CompletionsReached", "status": "True", "type": "SuccessCriteriaMet"},
                                     {"lastProbeTime": iso(s.at(minutes=4)), "lastTransitionTime": iso(s.at(minutes=4)),
                                      "message": "Reached expected number of succeeded pods",
                                      "reason": "CompletionsReached", "status": "True", "type": "Complete"}],
                      "ready": 0, "startTime": iso(start), "succeeded": 1, "terminating": 0,
                      "uncountedTerminatedPods": {}}})
    p = f"{jname}-{safe(jname, 5)}"
    cs = s.completed(p, "importer", img, s.at(minutes=18), s.at(minutes=4, seconds=2), restarts=1)
    cs["lastState"] = {"terminated": s.terminated(p, "importer", 0, 1, "Error", s.at(minutes=19, seconds=58),
                                                  s.at(minutes=18, seconds=40))}
    s.pod(ns, p, owner=("batch/v1", "Job", jname, juid), template=tmpl, node="node-b2", ip=None, created=start,
          phase="Succeeded", ready_since=s.at(minutes=4), cstatuses=[cs])
    s.scheduled(ns, p, "node-b2", start)
    s.event(ns, p, "BackOff", f"Back-off restarting failed container importer in pod {p}_{ns}({mkuid(f'{ns}/pod/{p}')})",
            type_="Warning", field="spec.containers{importer}", node="node-b2", first=s.at(minutes=18, seconds=39),
            last=s.at(minutes=18, seconds=39))
    s.event(ns, jname, "Completed", "Job completed", kind="Job", api="batch/v1", component="job-controller",
            first=s.at(minutes=4), last=s.at(minutes=4))
    s.healthy_deployment(ns, "queue-ui", "registry.acme.io/batch/queue-ui:1.0.0", replicas=1, age_days=40,
                         node_pool=["node-b1"], ip_base="10.244.50")
    s.event(ns, "db-backup", "SawCompletedJob", "Saw completed job: db-backup-29541213, condition: Complete",
            kind="CronJob", api="batch/v1", component="cronjob-controller", first=s.T, last=s.T)
    return s


@scenario
def s36():
    s = Scenario("36-never-available-two-revisions", T(2026, 11, 11, 11, 11, 11),
                 "A new Deployment whose first revision never became available; a quick fix "
                 "(revision 2) crashes too. Pod findings only, NO Rollout.Regression.")
    ns, name = "pricing", "pricing-engine"
    labels = L(name)
    def tpl(img):
        return s.template(labels, [container("engine", img, command=["python", "-m", "pricing"],
                                             ports=[("http", 8000)], res=resources("200m", "256Mi", None, "512Mi"),
                                             mounts=[{"mountPath": "/etc/pricing", "name": "rules"}])],
                          volumes=[{"configMap": {"defaultMode": 420, "name": "pricing-rules"}, "name": "rules"}])
    img1, img2 = "ghcr.io/acme/pricing-engine:0.1.0", "ghcr.io/acme/pricing-engine:0.1.1"
    created = s.at(minutes=25)
    r2 = s.at(minutes=11)
    out = s.deployment(ns, name, replicas=2, created=created, labels=labels, revisions=[
        {"rev": 1, "template": tpl(img1), "created": created, "replicas": 0, "ready": 0, "available": 0, "gen": 2},
        {"rev": 2, "template": tpl(img2), "created": r2, "replicas": 2, "ready": 0, "available": 0}],
        status=s.dep_status(replicas=2, updated=2, ready=0, available=0, avail_ok=False, avail_since=created,
                            progressing="progressing", prog_since=created, prog_update=r2, rsname="{RS}"))
    own, tm, rs2 = rs_owner(out, 2)
    rs1 = out[1][0]
    nodes = ["pool-1-a", "pool-1-b"]
    for i in range(2):
        p = pname(rs2, str(i))
        c0 = r2 + D(seconds=i)
        s.pod(ns, p, owner=own, template=tm, node=nodes[i], ip=f"10.50.{i}.{70 + i}", created=c0, phase="Running",
              cstatuses=[s.crashloop(ns, p, "engine", img2, 7, exit_code=1, reason="Error",
                                     started=s.at(minutes=1, seconds=50 - i * 10), finished=s.at(minutes=1, seconds=49 - i * 10))])
        s.scheduled(ns, p, nodes[i], c0)
        s.started_events(ns, p, nodes[i], "engine", img2, c0 + D(seconds=1), count=8,
                         last=s.at(minutes=1, seconds=50 - i * 10), pulled_fresh=True)
        s.backoff_event(ns, p, nodes[i], "engine", c0 + D(seconds=20), 48)
        s.log(ns, p, "engine", """
2026-11-11 11:09:20,118 INFO pricing.app: pricing-engine 0.1.1 starting
2026-11-11 11:09:20,121 INFO pricing.rules: loading rules from /etc/pricing/rules.json
Traceback (most recent call last):
  File "<frozen runpy>", line 198, in _run_module_as_main
  File "<frozen runpy>", line 88, in _run_code
  File "/app/pricing/__main__.py", line 5, in <module>
    main()
  File "/app/pricing/app.py", line 31, in main
    rules = load_rules(settings.rules_path)
            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/app/pricing/rules.py", line 17, in load_rules
    return json.load(fh)
           ^^^^^^^^^^^^^
  File "/usr/local/lib/python3.12/json/__init__.py", line 293, in load
    return loads(fp.read(),
           ^^^^^^^^^^^^^^^^
  File "/usr/local/lib/python3.12/json/decoder.py", line 353, in raw_decode
    obj, end = self.scan_once(s, idx)
               ^^^^^^^^^^^^^^^^^^^^^^
json.decoder.JSONDecodeError: Expecting ',' delimiter: line 14 column 5 (char 312)
""")
        s.expect(ns, p, "engine", "CrashLoop.AppError", ["JSONDecodeError"],
                 owner={"kind": "Deployment", "name": name})
    for msg, t in ((f"Scaled up replica set {rs1} to 2", created),
                   (f"Scaled up replica set {rs2} to 1", r2),
                   (f"Scaled down replica set {rs1} to 0 from 2", r2 + D(seconds=1)),
                   (f"Scaled up replica set {rs2} to 2 from 1", r2 + D(seconds=1))):
        s.event(ns, name, "ScalingReplicaSet", msg, kind="Deployment", api="apps/v1",
                component="deployment-controller", first=t, last=t)
    s.healthy_deployment(ns, "pricing-ui", "ghcr.io/acme/pricing-ui:1.2.0", replicas=1, age_days=60,
                         node_pool=nodes, ip_base="10.50.3")
    return s


@scenario
def s37():
    s = Scenario("37-older-kubelet-wording", T(2026, 1, 12, 10, 30, 0),
                 "Older kubelet wording: 'Couldn't find key ...' (capitalised) and the plural "
                 "'secrets \"NAME\" not found'.")
    ns = "legacy-pay"
    nodes = ["k8s-node-117", "k8s-node-118"]
    img1 = "registry.acme.io/pay/notifier:1.0.3"
    c1 = container("notifier", img1, env=[env_secret("API_TOKEN", "notifier-token", "API_TOKEN")],
                   res=resources("50m", "64Mi", None, "128Mi"))
    pods = config_error_deploy(s, ns, "notifier", img1, containers=[c1], replicas=1, created=s.at(minutes=9),
                               message="Couldn't find key API_TOKEN in Secret legacy-pay/notifier-token",
                               cname="notifier", nodes=nodes, ip_base="10.200.1")
    for p in pods:
        s.expect(ns, p, "notifier", "Config.MissingSecretKey", ["API_TOKEN", "notifier-token"],
                 owner={"kind": "Deployment", "name": "notifier"})
    img2 = "registry.acme.io/pay/settlement:2.7.1"
    c2 = container("settlement", img2, env_from=[{"secretRef": {"name": "stripe-keys"}}],
                   res=resources("100m", "128Mi", None, "256Mi"))
    pods = config_error_deploy(s, ns, "settlement", img2, containers=[c2], replicas=1, created=s.at(minutes=14),
                               message='secrets "stripe-keys" not found', cname="settlement", nodes=nodes[1:],
                               ip_base="10.200.2")
    for p in pods:
        s.expect(ns, p, "settlement", "Config.MissingSecret", ["stripe-keys"],
                 owner={"kind": "Deployment", "name": "settlement"})
    s.healthy_deployment(ns, "pay-ui", "registry.acme.io/pay/ui:2.7.1", replicas=1, age_days=200,
                         node_pool=nodes, ip_base="10.200.3")
    return s


@scenario
def s38():
    s = Scenario("38-two-containers-two-causes", T(2026, 4, 18, 22, 10, 0),
                 "One pod, two failing containers with different causes: relay exits because "
                 "SMTP_PASSWORD is unset; the dkim-signer sidecar's entrypoint does not exist "
                 "(StartError, no such file or directory). One finding per container.")
    ns, name = "mail", "mail-relay"
    img = "ghcr.io/acme/mail-relay:1.2.0"
    simg = "ghcr.io/acme/dkim-signer:0.3.0"
    labels = L(name)
    tmpl = s.template(labels, [
        container("relay", img, ports=[("smtp", 2525)],
                  env=[env_val("SMTP_USER", "relay@acme.example"), env_val("SMTP_HOST", "smtp.sendgrid.net")],
                  res=resources("50m", "64Mi", None, "128Mi")),
        container("dkim-signer", simg, command=["/usr/sbin/opendkim"], args=["-f", "-x", "/etc/opendkim.conf"],
                  res=resources("20m", "32Mi", None, "64Mi"))])
    created = s.at(minutes=21)
    out = single(s, ns, name, tmpl, created=created, replicas=1, ready=0)
    own, tm, rs = rs_owner(out, 1)
    node = "worker-pool-1-x7p"
    p = pname(rs, "0")
    err = ('failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create '
           'failed: unable to start container process: exec: "/usr/sbin/opendkim": stat /usr/sbin/opendkim: '
           'no such file or directory: unknown')
    s.pod(ns, p, owner=own, template=tm, node=node, ip="10.244.61.9", created=created, phase="Running",
          cstatuses=[s.crashloop(ns, p, "dkim-signer", simg, 9, exit_code=128, reason="StartError",
                                 started=None, finished=s.at(minutes=2, seconds=3), message=err),
                     s.crashloop(ns, p, "relay", img, 9, exit_code=1, reason="Error",
                                 started=s.at(minutes=3, seconds=1), finished=s.at(minutes=3))])
    s.scheduled(ns, p, node, created)
    s.started_events(ns, p, node, "relay", img, created + D(seconds=1), count=10,
                     last=s.at(minutes=3, seconds=1), pulled_fresh=True)
    f = "spec.containers{dkim-signer}"
    s.event(ns, p, "Pulled", f'Container image "{simg}" already present on machine', field=f, node=node,
            count=10, first=created + D(seconds=2), last=s.at(minutes=2, seconds=3))
    s.event(ns, p, "Created", "Created container dkim-signer", field=f, node=node, count=10,
            first=created + D(seconds=2), last=s.at(minutes=2, seconds=3))
    s.event(ns, p, "Failed", f"Error: {err}", type_="Warning", field=f, node=node, count=10,
            first=created + D(seconds=2), last=s.at(minutes=2, seconds=3))
    s.backoff_event(ns, p, node, "relay", created + D(seconds=30), 90)
    s.backoff_event(ns, p, node, "dkim-signer", created + D(seconds=31), 92)
    s.log(ns, p, "relay", """
2026/04/18 22:07:00 mail-relay 1.2.0 starting (smtp listener :2525)
2026/04/18 22:07:00 config: SMTP_HOST=smtp.sendgrid.net SMTP_USER=relay@acme.example
2026/04/18 22:07:00 FATAL: SMTP_PASSWORD must be set
""")
    s.expect(ns, p, "relay", "CrashLoop.MissingEnv", ["SMTP_PASSWORD"], owner={"kind": "Deployment", "name": name})
    s.expect(ns, p, "dkim-signer", "CrashLoop.CommandNotFound", ["/usr/sbin/opendkim"],
             owner={"kind": "Deployment", "name": name})
    s.coredns()
    return s


def main():
    only = sys.argv[1:]
    for fn in SCENARIOS:
        s = fn()
        if only and not any(o in s.dirname for o in only):
            continue
        s.write()
        print(f"{s.dirname}: {len(s.items)} items, {len(s.expected)} expected findings")


if __name__ == "__main__":
    main()
