"""Crash loops explained by the previous container's log: the signature catalogue."""

import pytest
from helpers import evidence_text, only, run

from crashwatch.model import Reason

RAILS = (
    "=> Booting Puma\n=> Rails 7.1.3 application starting in production\n"
    "/usr/local/bundle/gems/railties-7.1.3/lib/rails/application.rb:658:in "
    "`validate_secret_key_base': Missing `secret_key_base` for 'production' environment, set "
    "this string with `bin/rails credentials:edit` (ArgumentError)\n"
    "\tfrom /usr/local/bundle/gems/railties-7.1.3/lib/rails/application.rb:502:in "
    "`secret_key_base'\n"
)
RUBY_FETCH = (
    "/app/config/initializers/vault.rb:3:in `fetch': key not found: \"VAULT_ADDR\" (KeyError)\n"
    "\tfrom /app/config/initializers/vault.rb:3:in `<main>'\n"
)
PYTHON = (
    "Traceback (most recent call last):\n"
    '  File "/app/main.py", line 4, in <module>\n'
    "    from app.settings import settings\n"
    '  File "/app/app/settings.py", line 7, in <module>\n'
    '    DATABASE_URL = os.environ["DATABASE_URL"]\n'
    "                   ~~~~~~~~~~^^^^^^^^^^^^^^^^\n"
    '  File "<frozen os>", line 679, in __getitem__\n'
    "KeyError: 'DATABASE_URL'\n"
)
PYDANTIC = (
    "pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings\n"
    "stripe_api_key\n"
    "  Field required [type=missing, input_value={}, input_type=dict]\n"
    "    For further information visit https://errors.pydantic.dev/2.6/v/missing\n"
)
GO_ENVCONFIG = (
    '{"level":"info","ts":1732098581.1,"msg":"starting payments-api","version":"2.3.0"}\n'
    '{"level":"fatal","ts":1732098581.2,"msg":"config","error":"envconfig.Process: '
    'required key STRIPE_WEBHOOK_SECRET missing value"}\n'
)
NODE = (
    "/app/node_modules/envalid/dist/reporter.js:20\n"
    "================================\n"
    " Missing environment variables:\n"
    "    JWT_SECRET: undefined\n"
    "================================\n"
)
SPRING = (
    "2026-11-20T10:29:39.512Z ERROR 1 --- [main] o.s.boot.SpringApplication : Application "
    "run failed\n"
    "org.springframework.beans.factory.BeanCreationException: Error creating bean with name "
    "'dataSource': Injection of autowired dependencies failed\n"
    "Caused by: java.lang.IllegalArgumentException: Could not resolve placeholder "
    "'DB_PASSWORD' in value \"${DB_PASSWORD}\"\n"
)
GENERIC = "2026/11/20 10:29:39 FATAL: VAULT_ADDR must be set\n"


@pytest.mark.parametrize(
    ("log", "variable"),
    [
        (RAILS, "SECRET_KEY_BASE"),
        (RUBY_FETCH, "VAULT_ADDR"),
        (PYTHON, "DATABASE_URL"),
        (PYDANTIC, "STRIPE_API_KEY"),
        (GO_ENVCONFIG, "STRIPE_WEBHOOK_SECRET"),
        (NODE, "JWT_SECRET"),
        (SPRING, "DB_PASSWORD"),
        (GENERIC, "VAULT_ADDR"),
    ],
    ids=["rails", "ruby-fetch", "python", "pydantic", "go", "node", "spring", "generic"],
)
def test_missing_env_names_the_variable(crashing, log, variable):
    f = only(run(*crashing(log)))
    assert f.reason is Reason.MISSING_ENV
    assert f.details["variable"] == variable
    assert variable in evidence_text(f)
    assert f.remediation == {"action": "set-env", "container": "app", "variable": variable}


def test_lowercase_dict_keyerror_is_not_a_missing_env(crashing):
    log = 'Traceback (most recent call last):\n  File "/app/x.py", line 3\nKeyError: \'id\'\n'
    f = only(run(*crashing(log)))
    assert f.reason is Reason.APP_ERROR
    assert "KeyError: 'id'" in evidence_text(f)


@pytest.mark.parametrize(
    ("log", "path"),
    [
        (
            "2026-11-20 10:29:38,012 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHan"
            "dler] (main) ERROR: Failed to start server in (production) mode\n"
            "2026-11-20 10:29:38,013 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHan"
            "dler] (main) Error details:: java.nio.file.FileSystemException: "
            "/opt/keycloak/lib/quarkus/build-system.properties: Read-only file system\n",
            "/opt/keycloak/lib/quarkus/build-system.properties",
        ),
        ("OSError: [Errno 30] Read-only file system: '/app/tmp/cache'\n", "/app/tmp/cache"),
        ("Error: EROFS: read-only file system, open '/usr/src/app/.next/cache/x'\n",
         "/usr/src/app/.next/cache/x"),
        ('2026/11/20 10:29:38 [emerg] 1#1: mkdir() "/var/cache/nginx/client_temp" failed '
         "(30: Read-only file system)\n", "/var/cache/nginx/client_temp"),
    ],
    ids=["keycloak", "python", "node", "nginx"],
)
def test_read_only_filesystem_names_the_path(crashing, log, path):
    f = only(run(*crashing(log, read_only=True)))
    assert f.reason is Reason.READ_ONLY_FILESYSTEM
    assert f.details["path"] == path
    assert path in evidence_text(f)
    assert "readOnlyRootFilesystem: true" in evidence_text(f)


@pytest.mark.parametrize(
    ("log", "host", "port"),
    [
        ('{"level":"fatal","msg":"ping db","error":"dial tcp 10.96.14.2:5432: connect: '
         'connection refused"}\n', "10.96.14.2", "5432"),
        ("panic: dial tcp: lookup vault.security.svc on 10.96.0.10:53: no such host\n",
         "vault.security.svc", None),
        ('psycopg2.OperationalError: connection to server at "postgres" (10.96.3.4), port 5432 '
         "failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP "
         "connections?\n", "postgres", "5432"),
        ("Error: connect ECONNREFUSED 10.96.7.7:6379\n    at TCPConnectWrap.afterConnect "
         "[as oncomplete] (node:net:1555:16)\n", "10.96.7.7", "6379"),
        ("Redis::CannotConnectError: Error connecting to Redis on redis-master:6379 "
         "(Errno::ECONNREFUSED)\n", "redis-master", "6379"),
        ("Caused by: java.net.UnknownHostException: kafka-broker-0.kafka\n",
         "kafka-broker-0.kafka", None),
    ],
    ids=["go-refused", "go-dns", "psycopg", "node", "ruby-redis", "jvm-dns"],
)
def test_dependency_unreachable_names_host_and_port(crashing, log, host, port):
    f = only(run(*crashing(log)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert f.details["host"] == host
    assert f.details.get("port") == port
    assert host in evidence_text(f)


def test_an_early_retried_refusal_does_not_hide_the_real_crash(crashing):
    log = "WARN connection refused to cache:6379, retrying\n" + "INFO handled request\n" * 80
    log += "panic: runtime error: invalid memory address or nil pointer dereference\n"
    f = only(run(*crashing(log, exit_code=2)))
    assert f.reason is Reason.APP_ERROR
    assert "nil pointer dereference" in evidence_text(f)


def test_app_error_carries_the_most_telling_log_line(crashing):
    log = (
        "INFO starting worker\nTraceback (most recent call last):\n"
        '  File "/app/worker.py", line 12, in <module>\n    main()\n'
        "ValueError: invalid literal for int() with base 10: 'abc'\n"
    )
    f = only(run(*crashing(log)))
    assert f.reason is Reason.APP_ERROR
    assert f.details["logLine"] == "ValueError: invalid literal for int() with base 10: 'abc'"
    assert f.details["exitCode"] == 1


def test_termination_message_from_fallback_to_logs_is_read(crashing):
    objs, _ = crashing("")
    status = objs[0]["status"]["containerStatuses"][0]
    status["lastState"]["terminated"]["message"] = "FATAL: REDIS_URL is not set\n"
    f = only(run(objs))
    assert f.reason is Reason.MISSING_ENV and f.details["variable"] == "REDIS_URL"


def test_secrets_in_logs_are_redacted(crashing):
    log = ("sqlalchemy.exc.OperationalError: could not translate host name \"db\" to address; "
           "url=postgresql://app:Sup3rS3cret@db:5432/shop password=hunter2\n")
    f = only(run(*crashing(log)))
    text = evidence_text(f)
    assert "Sup3rS3cret" not in text and "hunter2" not in text
    assert "***" in text
