"""The mechanisms holdout round 12 of eval/realworld asked for (README, "Holdout round 12"):
settings said to be missing and then named in an imperative sentence, and node-postgres giving
up on a connection with its own ``timeout expired``.

Every log line is quoted from the public thread cited next to it; invented text says so.
"""

from __future__ import annotations

import kube as k
from helpers import evidence_text, generic_reading, only, run

from crashwatch.model import Reason

# https://github.com/langfuse/langfuse-k8s/issues/243
LANGFUSE = ("Error: Required database environment variables are not set. Provide a postgres url "
            "for DATABASE_URL.\n")
# https://github.com/logto-io/logto/issues/8557
PG_TIMEOUT = (
    "> start\n"
    "> cd packages/core && NODE_ENV=production node .\n"
    "node:internal/process/promises:394\n"
    "    triggerUncaughtException(err, true /* fromPromise */);\n"
    "    ^\n"
    "Error: timeout expired\n"
    "    at Timeout._onTimeout (/etc/logto/node_modules/.pnpm/pg@8.11.3/node_modules/pg/lib/"
    "client.js:106:28)\n"
    "    at listOnTimeout (node:internal/timers:588:17)\n"
    "    at process.processTimers (node:internal/timers:523:7)\n"
    "Node.js v22.22.0\n"
    "npm notice\n"
    "npm notice New major version of npm available! 10.9.4 -> 11.12.0\n")


def test_settings_said_missing_then_named_in_an_imperative_are_missing_env(crashing) -> None:
    f = only(run(*crashing(LANGFUSE)))
    assert f.reason is Reason.MISSING_ENV
    assert "DATABASE_URL" in f.summary
    # an imperative with nothing said to be missing is no missing setting (invented)
    assert generic_reading("Error: connection failed. Set a longer timeout for "
                           "DB_TIMEOUT_MS.")[0] is not Reason.MISSING_ENV


def test_node_postgres_timeout_expired_is_an_unreachable_database(crashing) -> None:
    f = only(run(*crashing(PG_TIMEOUT)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert "timeout expired" in evidence_text(f)
    # the same words thrown from the application's own timer are not pg's (invented frame)
    other = PG_TIMEOUT.replace("/etc/logto/node_modules/.pnpm/pg@8.11.3/node_modules/pg/lib/"
                               "client.js", "/app/dist/jobs.js")
    assert only(run(*crashing(other))).reason is Reason.APP_ERROR


# https://github.com/immich-app/immich-charts/issues/93
DASH_NO_SCRIPT = "/bin/sh: 0: cannot open ./start-server.sh: No such file\n"


def test_dash_given_a_script_that_is_not_there_is_command_not_found(crashing) -> None:
    f = only(run(*crashing(DASH_NO_SCRIPT, exit_code=2)))
    assert f.reason is Reason.COMMAND_NOT_FOUND
    assert "./start-server.sh" in f.summary
    # older dash's words for it (invented in its format)
    assert generic_reading("sh: 0: Can't open /entrypoint.sh") == (
        Reason.COMMAND_NOT_FOUND, {"command": "/entrypoint.sh"})
    # a redirect inside a script (its line 3) names a data file, no command (invented)
    assert generic_reading("/entrypoint.sh: 3: cannot open /data/seed.sql: No such "
                           "file")[0] is not Reason.COMMAND_NOT_FOUND


def test_a_missing_secret_behind_a_volume_named_secret_keeps_its_name() -> None:
    """The kubelet's FailedMount for a Secret volume named ``secret``: the name of the Secret
    to create is the evidence (redaction took ``secret "matrix-secret"`` for a key's value)."""
    vol = {"name": "secret", "secret": {"secretName": "matrix-secret"}}
    c = k.container(volumeMounts=[{"name": "secret", "mountPath": "/etc/synapse/secret"}])
    p = k.pod(containers=[c], phase="Pending", volumes=[vol])
    p["status"]["containerStatuses"] = [k.waiting_status(c, "ContainerCreating")]
    # https://github.com/remram44/matrix-helm/issues/9
    ev = k.event(p, "FailedMount", 'MountVolume.SetUp failed for volume "secret" : secret '
                 '"matrix-secret" not found', count=18)
    f = only(run([p, ev]))
    assert f.reason is Reason.MISSING_SECRET
    assert 'secret "matrix-secret" not found' in evidence_text(f)
