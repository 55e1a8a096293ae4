"""Secrets in evidence are masked (issue #12, defect 3); ordinary log words survive.

Vendor tokens are assembled at run time (``"sk_" + "live_" + ...``) so that no scanner mistakes
this file for a leak.
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import evidence_text, only, run

from crashwatch import secretscan
from crashwatch.redact import MASK, mask, printable, redact

REPO = Path(__file__).resolve().parents[2]

GITHUB = "ghp" + "_" + "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY2z4A"
SLACK = "xoxb" + "-17653672481-19874698323-" + "pdFZKVeTuE8sk7oOcBrzbqgy"
STRIPE = "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"
# Stripe's newer keys run to 99+ characters; detect-secrets matches their first 24
STRIPE_LONG = ("sk_" + "live_" + "51H8xYzAbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
               + "AbCdEfGhIjKlMnOpQrStUvWx")
AWS_ID = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"  # AWS's documentation example
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" + "." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0" + "."
       + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")
ESC = "\x1b"


def masked(text: str) -> str:
    return redact(text, limit=10_000)


# --- what the adversarial run saw published unmasked (each failed on f5d7d39) -------------


@pytest.mark.parametrize(
    ("line", "secret", "kept"),
    [
        # JSON, no space after the colon
        ('{"level":"error","msg":"db login failed","password":"hunter2","user":"app"}',
         "hunter2", '"user":"app"'),
        # a key and a colon, no space
        ("connecting with password:hunter2 to db:5432", "hunter2", "db:5432"),
        # the key wrapped in colour codes
        (f"{ESC}[1;31mpassword{ESC}[0m=hunter2 user=app", "hunter2", "user=app"),
        # an Authorization header with GitHub's ``token`` scheme
        (f"GET /repos/acme/api Authorization: token {GITHUB} -> 401", GITHUB,
         "Authorization: token"),
        # an env-style name, a space, the value
        (f"AWS_SECRET_ACCESS_KEY {AWS_SECRET} region eu-west-1", AWS_SECRET, "eu-west-1"),
        # mysql's -p with the password attached
        ("+ mysql -h db -u root -phunter2 shop -e 'select 1'", "hunter2", "-u root"),
        # a Slack bot token
        (f"slack: posting with {SLACK} failed: invalid_auth", SLACK, "invalid_auth"),
        # a Stripe live key
        (f"stripe.error.AuthenticationError: Invalid API Key provided: {STRIPE}", STRIPE,
         "Invalid API Key provided:"),
        # a cookie
        ("request headers: Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark",
         "8f14e45fceea167a5a36dedd4bea2543", "Cookie: session="),
    ],
)
def test_the_secrets_seen_published_are_masked(line, secret, kept):
    out = masked(line)
    assert secret not in out
    assert MASK in out
    assert kept in out


def test_a_secret_in_a_crashing_containers_log_never_reaches_the_finding(crashing):
    log = (
        '{"level":"info","msg":"starting","version":"2.3.0"}\n'
        f'{ESC}[31mFATAL{ESC}[0m: login failed {{"password":"hunter2",'
        f'"stripe":"{STRIPE}","auth":"Authorization: token {GITHUB}"}}\n'
    )
    f = only(run(*crashing(log)))
    text = f.summary + "\n" + evidence_text(f)
    for secret in ("hunter2", STRIPE, GITHUB):
        assert secret not in text


# --- every form of key and value --------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"password": "hunter2", "user": "app"}', '{"password": "***", "user": "app"}'),
        (f"password={ESC}[33mhunter2{ESC}[0m user=app", "password=*** user=app"),
        ("{'password': 'hunter2', 'user': 'app'}", "{'password': '***', 'user': 'app'}"),
        # JSON escaped inside a JSON log line's message
        ('{"msg":"{\\"db_password\\":\\"hunter2\\",\\"user\\":\\"app\\"}"}',
         '{"msg":"{\\"db_password\\":\\"***\\",\\"user\\":\\"app\\"}"}'),
        ('level=error msg="login failed" password=hunter2 user=app',
         'level=error msg="login failed" password=*** user=app'),
        ('PASSWORD="correct horse battery staple" HOST=db', 'PASSWORD="***" HOST=db'),
        ("  db_password: hunter2", "db_password: ***"),
        ("User{name=app, password=hunter2, roles=[admin]}",
         "User{name=app, password=***, roles=[admin]}"),
        ("map[password:hunter2 user:app]", "map[password:*** user:app]"),
        ("{ password: 'hunter2', user: 'app' }", "{ password: '***', user: 'app' }"),
        (":password=>\"hunter2\"", ":password=>\"***\""),
        ("GET /callback?code=abc&access_token=ya29.a0AfH6SMB&state=x",
         "GET /callback?code=abc&access_token=***&state=x"),
        ("exec: app --db-password=hunter2 --port=8080",
         "exec: app --db-password=*** --port=8080"),
        ("exec: app --db-password hunter2 --port 8080", "exec: app --db-password *** --port 8080"),
        ("X-Api-Key: 0123456789abcdef0123", "X-Api-Key: ***"),
        ("x-auth-token=0123456789abcdef0123", "x-auth-token=***"),
        ("client_secret=Zm9vYmFyYmF6cXV4 grant_type=client_credentials",
         "client_secret=*** grant_type=client_credentials"),
        ("Set-Cookie: sid=31d4d96e407aad42; Path=/; Secure; HttpOnly",
         "Set-Cookie: sid=***; Path=/; Secure; HttpOnly"),
        ("Authorization: Bearer abc.def-ghi_123", "Authorization: Bearer ***"),
        ("authorization: Basic dXNlcjpodW50ZXIy", "authorization: Basic ***"),
        ("{'Authorization': 'Bearer abc123def456', 'Accept': '*/*'}",
         "{'Authorization': 'Bearer ***', 'Accept': '*/*'}"),
        ("map[Authorization:[Bearer abc123def456] Accept:[*/*]]",
         "map[Authorization:[Bearer ***] Accept:[*/*]]"),
        ("curl -H 'Authorization: Bearer abc123def456' https://api",
         "curl -H 'Authorization: Bearer ***' https://api"),
        ("postgresql://app:Sup3rS3cret@db:5432/shop", "postgresql://app:***@db:5432/shop"),
        # a password with an @ in it: everything up to the host's @ goes
        ("postgresql://app:p@ss@db:5432/shop", "postgresql://app:***@db:5432/shop"),
        ("redis://:hunter2@redis:6379/0", "redis://:***@redis:6379/0"),
        ("mysqldump -uroot -p'hunter2' shop", "mysqldump -uroot -p'***' shop"),
        ("redis-cli -h redis -a hunter2 ping", "redis-cli -h redis -a *** ping"),
        ("sshpass -p hunter2 ssh deploy@host", "sshpass -p *** ssh deploy@host"),
        ("mongosh --host db -u admin -p hunter2 --authenticationDatabase admin",
         "mongosh --host db -u admin -p *** --authenticationDatabase admin"),
        ("docker login -u ci -p hunter2 ghcr.io", "docker login -u ci -p *** ghcr.io"),
        ("curl -sf -u admin:hunter2 http://es:9200/_cluster/health",
         "curl -sf -u admin:*** http://es:9200/_cluster/health"),
        ("jdbc:sqlserver://db:1433;databaseName=shop;user=app;password=hunter2;",
         "jdbc:sqlserver://db:1433;databaseName=shop;user=app;password=***;"),
        ("Server=db;Database=shop;User Id=app;Pwd=hunter2;",
         "Server=db;Database=shop;User Id=app;Pwd=***;"),
        # a pair inside the value of a key that names no secret
        ('{"auth_mode":"password:hunter2"}', '{"auth_mode":"password:***"}'),
        ('  aUTH :password=>"hunter2"', 'aUTH :password=>"***"'),
        ("kubectl create secret generic db --from-literal=password=hunter2",
         "kubectl create secret generic db --from-literal=password=***"),
        (f"aws_secret_access_key = {AWS_SECRET}", "aws_secret_access_key = ***"),
        (f"token {JWT} rejected", "token *** rejected"),
        (f"id_token={JWT}", "id_token=***"),
        ("-----BEGIN RSA PRIVATE KEY----- MIIEowIBAAKCAQEAx4 -----END RSA PRIVATE KEY-----",
         "-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----"),
        # a key cut off before its END line: all of it goes
        ('"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEF',
         '"private_key": "***'),
    ],
)
def test_key_value_forms_mask_the_value_and_keep_the_rest(line, expected):
    assert masked(line) == expected


@pytest.mark.parametrize(
    "token",
    [GITHUB, SLACK, STRIPE, STRIPE_LONG, AWS_ID, JWT,
     "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH",
     "glpat-" + "xYz0123456789abcdEFGH",
     "SG." + "aBcDeFgHiJkLmNoPqRsTuV" + "." + "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789aBcDeFg"],
)
def test_a_vendor_token_in_prose_is_masked_whole(token):
    out = masked(f"request failed using {token}, retrying in 5s")
    assert out == "request failed using ***, retrying in 5s"


@pytest.mark.parametrize(
    ("line", "token"),
    [
        (f"Authorization: token {GITHUB}", GITHUB),
        (f"posting with {SLACK}", SLACK),
        (f"key={STRIPE}", STRIPE),
        (f"key={STRIPE_LONG} end", STRIPE_LONG),
        (f"aws key {AWS_ID}", AWS_ID),
        (f"jwt {JWT}", JWT),
    ],
)
def test_detect_secrets_plugins_find_the_vendor_tokens(line, token):
    """The detect-secrets stage on its own (no crashwatch rule) finds each token and widens
    its span to the whole token (Stripe's plugin matches 24 characters of a longer key)."""
    spans = secretscan.secret_spans(line)
    assert [line[s:e] for s, e in spans] == [token]


def test_the_plugins_left_out_are_the_noisy_ones():
    names = {type(p).__name__ for p in secretscan.PLUGINS}
    assert {"GitHubTokenDetector", "SlackDetector", "StripeDetector", "AWSKeyDetector",
            "JwtTokenDetector"} <= names
    assert not names & {"KeywordDetector", "Base64HighEntropyString", "HexHighEntropyString",
                        "BasicAuthDetector", "IPPublicDetector", "PrivateKeyDetector"}


def test_redacting_twice_changes_nothing():
    for line in ('{"password":"hunter2"}', f"Authorization: token {GITHUB}",
                 "postgresql://app:pw@db/shop", "Cookie: a=1; b=2"):
        once = masked(line)
        assert masked(once) == once


# --- ordinary words survive -------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        # https://github.com/keycloak/keycloak-community/issues/307
        'Caused by: org.postgresql.util.PSQLException: FATAL: password authentication failed '
        'for user "keycloak"',
        # https://github.com/bitnami/charts/issues/9801
        "ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)",
        "mysql: [Warning] Using a password on the command line interface can be insecure.",
        # https://github.com/kubernetes/kubernetes/issues/135450
        'E1126 03:38:26.776766 1 authentication.go:75] "Unable to authenticate the request" '
        'err="[invalid bearer token, service account token has expired]"',
        # https://github.com/auth0-samples/auth0-golang-web-app/issues/2
        "oauth2: cannot fetch token: 401 Unauthorized",
        # https://github.com/rosskukulinski/kubernetes-rethinkdb-cluster/issues/32
        "Readiness probe failed: 2017/02/26 02:32:04 gorethink: Wrong password",
        # a real kubelet 1.36 with containerd 2 (/work/shared/realnode/observed-statuses.txt)
        'Failed to pull image "127.0.0.1:35001/probeapp:1": failed to pull and unpack image '
        '"127.0.0.1:35001/probeapp:1": failed to resolve image: pull access denied, repository '
        "does not exist or may require authorization: authorization failed: no basic auth "
        "credentials",
        # kubelet's messages (/work/shared/KUBELET-FORMATS.md)
        "Error: couldn't find key password in Secret reporting/clickhouse-credentials",
        'MountVolume.SetUp failed for volume "tls-certs" : secret "grafana-tls" not found',
        'Error: secrets "stripe-keys" not found',
        "Error: couldn't find key API_TOKEN in Secret legacy-pay/prod-db-credentials-8k7h2m9gtb",
        'failed to authorize: failed to fetch anonymous token: unexpected status from GET request '
        "to https://ghcr.io/token?scope=repository%3Aacme-fin%2Fledger-sync%3Apull"
        "&service=ghcr.io: 401 Unauthorized",
        'WWW-Authenticate: Bearer realm="https://auth.docker.io/token",service="registry.docker.io"',
        # application messages about secrets, not secrets
        "ArgumentError: Missing `secret_key_base` for 'production' environment, set this string "
        "with `bin/rails credentials:edit` (ArgumentError)",
        "2026/04/18 22:07:00 FATAL: SMTP_PASSWORD must be set",
        "    JWT_SECRET: undefined",
        "Caused by: java.lang.IllegalArgumentException: Could not resolve placeholder "
        "'DB_PASSWORD' in value \"${DB_PASSWORD}\"",
        "env: DB_PASSWORD=${DB_PASSWORD} PGPASSWORD=$(PGPASSWORD)",
        "usage: max_tokens=500 total_tokens=1200 token_type=bearer",
        "config: password_file=/run/secrets/db token_path=/var/run/secrets/token",
        "docker login --password-stdin -u ci ghcr.io",
        "curl -u admin https://api/health",
        "nc -p 8080 db 5432; mongosh --port 27017",
        "auth: token expired, refreshing",
        "tests: 12 passed, 0 failed; bypass=false",
        "sha256:f88000211e3c682e7419ac6e6cbd3a7a4980b483ac416a3b5d5ee81d4f831cc9",
    ],
)
def test_real_log_lines_about_passwords_and_tokens_keep_their_words(line):
    assert masked(line) == printable(line, 10_000)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def fixture_lines() -> list[str]:
    """Every distinct log line and object string shipped in eval/blind and examples/ (also
    bench/bench_redact.py's corpus)."""
    lines: set[str] = set()
    for path in [*REPO.glob("eval/blind/*/logs/**/*"), *REPO.glob("examples/logs/**/*")]:
        if path.is_file():
            lines.update(path.read_text(errors="replace").splitlines())
    for path in [*REPO.glob("eval/blind/*/snapshot.json"), *REPO.glob("examples/*.json")]:
        for text in _strings(json.loads(path.read_text())):
            lines.update(text.splitlines())
    return sorted(line for line in lines if line.strip())


def test_no_line_of_the_bundled_logs_and_objects_loses_a_word():
    """Every log line and every string of the objects shipped with the evaluation set and the
    examples (none holds a secret: names, messages, images, UIDs) comes out of redaction as it
    went in, cleaned."""
    lines = fixture_lines()
    assert len(lines) > 1000
    changed = [line for line in lines if mask(printable(line, 10_000)) != printable(line, 10_000)]
    assert changed == []


def test_a_volume_named_like_a_secret_key_keeps_the_kubelets_object_name() -> None:
    """A Secret volume named ``secret`` (or ``token``, ``credentials``) whose Secret is
    missing: the kubelet's ``volume "secret" : secret "matrix-secret" not found`` read as a
    key and its value masked the name of the Secret to create, the one thing the finding
    needs (https://github.com/remram44/matrix-helm/issues/9)."""
    said = 'MountVolume.SetUp failed for volume "secret" : secret "matrix-secret" not found'
    assert redact(said, 1000) == said
    for volume, kind in (("tls-secret", "secret"), ("credentials", "secret"),
                         ("token", "configmap")):
        said = f'MountVolume.SetUp failed for volume "{volume}" : {kind} "app-x" not found'
        assert redact(said, 1000) == said
    # a value that is no object's kind is still masked, whatever follows it (invented)
    assert redact('password: hunter "x" y', 1000) == 'password: *** "x" y'
    assert redact('{"secret": "secret"}', 1000) == '{"secret": "***"}'


def test_a_secret_valued_key_outside_the_kubelets_volume_shape_is_masked() -> None:
    """Only the kubelet's own shape, ``for volume "X" : secret "Y" not found`` (the word
    ``volume``, a space before the colon), keeps an object's kind as the value: a JSON-ish
    ``"password": secret "x" y`` whose password is ``secret`` is masked (invented: the
    shape the earlier rule let through)."""
    assert redact('"password": secret "x" y', 1000) == '"password": *** "x" y'
    assert redact('{"token": configmap "abc" set}', 1000) == '{"token": *** "abc" set}'
    assert redact('login "password" : secret "x" y', 1000) == 'login "password" : *** "x" y'
    # the kubelet's shape, also escaped inside a JSON string (a controller logging the Event)
    said = 'MountVolume.SetUp failed for volume "password" : secret "db" not found'
    assert redact(said, 1000) == said
    escaped = ('{"msg":"MountVolume.SetUp failed for volume \\"secret\\" : '
               'secret \\"db-creds\\" not found"}')
    assert redact(escaped, 1000) == escaped
