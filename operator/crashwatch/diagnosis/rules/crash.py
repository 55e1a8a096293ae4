"""Containers that keep exiting: read the runtime's termination record, the kubelet's
probe and hook kills and the previous container's log, most certain evidence first.

Order: a runtime that could not start the process at all (a missing or non-executable
entrypoint, a binary for another CPU, any other OCI runtime error); the kernel's OOM
killer; a failed post-start hook; the kubelet killing it for a liveness or startup probe;
a failed pre-stop hook; a segmentation fault (exit 139); the log (the catalogue and the
generic layer, ranked by :mod:`crashwatch.diagnosis.logcause`); what the exit code alone
says; and last, an application error with its most telling log lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from crashwatch.diagnosis import generic, rx
from crashwatch.diagnosis.context import (
    ContainerContext,
    event_line,
    terminated_line,
    waiting_line,
)
from crashwatch.diagnosis.logcause import ENV_READ, Cause, Context, LogReading, read_crash
from crashwatch.diagnosis.logread import MAX_LOG_BYTES, Level
from crashwatch.diagnosis.rules.config import classify_message
from crashwatch.diagnosis.rules.memory import diagnose_oom, memory_of
from crashwatch.diagnosis.rules.probes import diagnose_liveness
from crashwatch.diagnosis.trace import ContainerTrace, LogTrace
from crashwatch.diagnosis.view import as_dict, as_int, as_list, as_str, as_text
from crashwatch.model import Confidence, Finding, Reason

_EXEC_TARGET = rx.compile(r'exec(?::| ) ?"?(?P<command>[^":\s]+)"?: (?P<what>[^\n]*)')
_STAT_TARGET = rx.compile(r"stat (?P<command>/[^:\s]+): no such file")
_NOT_FOUND = rx.compile(
    r"executable file not found|no such file or directory|not found in \$PATH|"
    r"required file not found", ignorecase=True)
_PERMISSION = rx.compile(r"permission denied", ignorecase=True)
_EXEC_FORMAT = rx.compile(r"exec format error", ignorecase=True)
_NOT_ENTRYPOINT = rx.compile(r"error mounting|mount |rootfs|cgroup|apparmor|seccomp|chdir|"
                             r"setns|namespace|sysctl|oom_score_adj|device", ignorecase=True)

#: What a shell's exit code alone says, when no log line said more.
_EXIT_MEANING = {
    127: (Reason.COMMAND_NOT_FOUND, "is not found"),
    126: (Reason.PERMISSION_DENIED, "is not executable"),
}

#: The dynamic loader's refusals (it exits 127, as a shell does for a missing command):
#: ``/sloop: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found (required by
#: /sloop)``, ``error while loading shared libraries: libssl.so.1.1: cannot open shared
#: object file``, ``symbol lookup error``.
_LOADER = rx.compile(
    r"error while loading shared librar(?:y|ies)|version [`'][^`']+' not found \(required by|"
    r"cannot open shared object file|symbol lookup error|"
    r"Error (?:relocating |loading shared librar)|"
    r"(?:^|\s)ld(?:-linux[\w.-]*)?\.so[.\d]*: ")


def _loader_failure(reading: LogReading) -> bool:
    """Whether the log's last lines are the dynamic loader refusing the program (not its
    harmless ``object '...' from LD_PRELOAD cannot be preloaded ...: ignored.``)."""
    return any(_LOADER.search(line.text) is not None and "LD_PRELOAD" not in line.text
               for line in reading.lines[-20:])


START_FAILURE_WAITING = frozenset(
    {"RunContainerError", "CreateContainerError", "StartError", "ContainerCannotRun",
     "PreStartHookError", "PostStartHookError", "PreCreateHookError"}
)

_SHELLS = frozenset({"sh", "bash", "dash", "ash", "/bin/sh", "/bin/bash", "/bin/dash",
                     "/bin/ash", "/usr/bin/bash", "/usr/bin/env"})


def _command(ctx: ContainerContext) -> list[str]:
    """The entrypoint as the spec gives it; for ``sh -c "X ..."``, the script's first word."""
    spec = ctx.spec
    argv = [str(x) for x in as_list(spec.get("command")) + as_list(spec.get("args"))]
    if len(argv) >= 3 and argv[0] in _SHELLS and argv[1] == "-c" and argv[2].split():
        words = argv[2].split()
        words = words[1:] if words[0] == "exec" and len(words) > 1 else words
        return [words[0], *argv[3:]]
    return argv


#: Env names that say where a dependency is (``WORDPRESS_DB_HOST``, ``DATABASE_URL``,
#: ``KAFKA_BOOTSTRAP_SERVERS``); not the process's own address or its public URL.
_PEER_ENV = rx.compile(
    r"(?:^|_)(?:HOST|HOSTNAME|HOSTS|ADDR|ADDRESS|SERVER|SERVERS|ENDPOINT|BROKERS|URL|URI|DSN)$")
_NOT_PEER_ENV = rx.compile(
    r"(?:^|_)(?:PUBLIC|BASE|SITE|EXTERNAL|CALLBACK|REDIRECT|WEBHOOK|ROOT|APP|LISTEN|BIND|NEXTAUTH|"
    r"ADVERTISED|SELF|POD|NODE|METRICS|HEALTH|CDN|STATIC|ASSET|ASSETS|FRONTEND|ISSUER|OIDC|"
    r"LOGIN|LOGOUT|AUTH)_")
#: ``PREFIX_HOSTNAME``: the app's own host name when its prefix also holds another
#: address (Keycloak's ``KC_HOSTNAME`` beside ``KC_DB_URL``), see :func:`_own_hostname`.
_OWN_HOSTNAME = rx.compile(r"^(?P<prefix>[A-Z0-9]+)_HOSTNAME$")
ENV_NAMES = 256
"""How many env names are read to tell an app's own prefix (a hostile pod may have thousands)."""


def _own_hostname(name: str, names: list[str]) -> bool:
    """Whether ``PREFIX_HOSTNAME`` is the app's own host name: its prefix is the app's
    namespace, under which another name holds a dependency's address (Keycloak's
    ``KC_HOSTNAME`` beside ``KC_DB_URL``). A prefix that is the dependency itself (Immich's
    ``DB_HOSTNAME`` and ``REDIS_HOSTNAME``, Guacamole's ``POSTGRES_HOSTNAME``) names a peer."""
    m = _OWN_HOSTNAME.search(name)
    if m is None:
        return False
    head = f"{m['prefix']}_"
    return any(other.startswith(head) and other != name and other.count("_") >= 2
               and _PEER_ENV.search(other) is not None for other in names)


#: A bare value that is a host name (RFC 1123 labels, lower case, as Kubernetes names
#: Services) or an IPv4 address, with a port or not; nothing else is shown.
_PEER_VALUE = rx.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)"
    r"(?::\d{1,5})?$")
#: A label that looks like a token, not a name: long, no hyphen, letters and digits mixed.
_TOKEN_LABEL = rx.compile(r"^(?:[a-z]+[0-9]|[0-9]+[a-z])[a-z0-9]{14,}$")
PEERS = 3
"""How many configured peers a DependencyUnreachable whose log names none reports."""


#: One ``key=value`` pair of an ADO.NET or ODBC connection string in an env value
#: (``Server=mssql-service;Database=TestDb;...``). A value may be quoted (``"..."`` or
#: ``'...'``, a quote inside doubled) or braced (``{...}``): a password's quoted ``;`` and
#: ``Server=`` are part of the password, never a pair of their own.
_CONNECTION_PAIR = rx.compile(
    r"\s*(?P<key>[^=;]*?)\s*=\s*(?P<value>\"(?:[^\"]|\"\")*\"|'(?:[^']|'')*'|"
    r"\{(?:[^}]|\}\})*\}|[^;]*?)\s*(?:;|$)")
_SERVER_KEY = rx.compile(r"(?i)^(?:server|host|data source|address|addr)$")
#: A server's value: ``mssql-service,1433``, ``db:5432``, ``tcp:sql.example.com,1433``.
_SERVER_VALUE = rx.compile(
    r"^(?i:tcp:)?(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*)(?:[,:](?P<port>\d{1,5}))?$")
_PORT_VALUE = rx.compile(r"^\d{1,5}$")
CONNECTION_CHARS = 2048
"""How much of a connection string is read for its server (a real one is short)."""


def _connection_server(value: str) -> tuple[str, str | None] | None:
    """The server (and port) an ADO.NET or ODBC connection string names, or None; never a
    part of another key's value. The port is the server's own (``db,1433``) or a ``Port=``
    pair's (Npgsql's ``Host=db;Port=5432``). A quote or brace that does not close makes the
    rest unreadable: nothing more is taken from it."""
    host: str | None = None
    port: str | None = None
    for pair in _CONNECTION_PAIR.finditer(value[:CONNECTION_CHARS]):
        raw = pair["value"] or ""
        if raw[:1] in ("\"", "'", "{") and not (
                len(raw) > 1 and raw[-1] == {"\"": "\"", "'": "'", "{": "}"}[raw[0]]):
            break
        key = (pair["key"] or "").strip()
        if host is None and _SERVER_KEY.search(key) is not None:
            server = _SERVER_VALUE.search(raw)
            if server is None or ("." in server["host"] and server["host"].rsplit(".", 1)[
                    -1].lower() in _DATABASE_FILES):
                # SQLite's or LocalDB's file (``Data Source=app.db``), no server; a host
                # named ``db`` is one
                return None
            host, port = server["host"], server["port"] or port
        elif key.lower() == "port" and _PORT_VALUE.search(raw) is not None:
            port = port or raw
    return (host, port) if host is not None else None


_DATABASE_FILES = frozenset({"db", "sqlite", "sqlite3", "mdf", "sdf", "ldf"})
#: Words of an env name that say what kind of address it holds, not whose it is.
_PEER_ENV_WORDS = frozenset({
    "HOST", "HOSTNAME", "HOSTS", "ADDR", "ADDRESS", "SERVER", "SERVERS", "ENDPOINT", "BROKERS",
    "URL", "URI", "DSN", "PORT", "CLUSTER", "SERVICE", "SERVICES", "CLIENT", "NAME", "TARGET"})
PEER_WORD_CHARS = 4
"""How long a word of an env name must be to tie it to a word of the log (``TEMPORAL``)."""
PEER_SCAN = 64
"""How many env entries that name an address are read, at most (a hostile pod may have
thousands)."""
PEER_NAME_WORDS = 8
"""How many words of one env name are looked for in the log, at most (a hostile name may
have thousands, each a search of the whole log)."""


def _owner_words(name: str, log: str) -> list[str]:
    """The words that say whose address an env name holds (``TEMPORAL`` in
    ``WORKFLOW_TEMPORAL_CLUSTER_FRONTEND_HOST``) and that the log says
    (``@temporalio/client``), lower case."""
    return [word.lower() for word in name.split("_", PEER_NAME_WORDS)[:PEER_NAME_WORDS]
            if len(word) >= PEER_WORD_CHARS and word not in _PEER_ENV_WORDS
            and _NOT_PEER_ENV.search(f"{word}_") is None and word.lower() in log]


def _configured_peers(ctx: ContainerContext) -> list[str]:
    """Where the container's env says its dependencies are, when the log names none:
    ``WORDPRESS_DB_HOST=wordpress-mysql``. Only literal values; a URL gives its host and
    port, never its user or password. A name whose own word is in the log comes first, and
    such a word also vouches for a name that would otherwise read as the process's own
    address (``WORKFLOW_TEMPORAL_CLUSTER_FRONTEND_HOST`` beside a ``@temporalio/client``
    frame)."""
    log = ctx.log[-MAX_LOG_BYTES:].lower()
    names = [as_str(as_dict(entry).get("name"))
             for entry in as_list(ctx.spec.get("env"))[:ENV_NAMES]]
    named: list[str] = []
    out: list[str] = []
    seen = 0
    for entry in as_list(ctx.spec.get("env")):
        env = as_dict(entry)
        name, value = as_str(env.get("name")), env.get("value")
        connection = "connection" in name.lower()
        peer = _PEER_ENV.search(name) is not None
        if not isinstance(value, str) or not value or name == "HOSTNAME" or (
                not connection and not peer):
            continue
        seen += 1
        if seen > PEER_SCAN:
            break
        server = _connection_server(value) if connection else None
        if server is not None:
            # an ADO.NET connection string: its server only, never its password
            server_host, server_port = server
            # a host name has no case: ``Server=SQLPROD01`` is as good as ``sqlprod01``
            if _PEER_VALUE.search(server_host.lower()) is not None:
                at = f"{server_host}:{server_port}" if server_port else server_host
                # ``name=host`` would read as a connection string to redaction
                (named if _owner_words(name.upper(), log) else out).append(
                    f"{at} (the server in {name})")
            continue
        if not peer:
            continue
        owners = _owner_words(name, log)
        in_log = bool(owners)
        if (_NOT_PEER_ENV.search(name) is not None or _own_hostname(name, names)) \
                and not any(word in value.lower() for word in owners):
            # the process's own address, unless the word the log says is also in the
            # address (``retool-temporal-...``): a framework's word in every frame
            # (``next`` of ``NEXT_PUBLIC_SITE_URL``) vouches for nothing
            continue
        targets = []
        for part in value.split(",")[:2]:
            part = part.strip()
            if "://" in part:
                try:
                    # a JDBC URL wraps another: ``jdbc:postgresql://keycloak-db:5432/kc``
                    url = urlsplit(part[5:] if part.lower().startswith("jdbc:") else part)
                    host, port = url.hostname, url.port
                except ValueError:
                    continue
                if not host:
                    continue
                shown = f"[{host}]" if ":" in host else host
                targets.append(f"{shown}:{port}" if port else shown)
            elif _PEER_VALUE.search(part) is not None and not any(
                    _TOKEN_LABEL.search(label) for label in part.split(":")[0].split(".")):
                targets.append(part)
        if targets:
            (named if in_log else out).append(f"{name}={','.join(targets)}")
    return (named + out)[:PEERS]


def _node_arch(ctx: ContainerContext) -> str | None:
    node = as_str(ctx.pod_spec.get("nodeName"))
    obj = ctx.view.nodes.get(node) if node else None
    if obj is None:
        return None
    info = as_dict(as_dict(obj.get("status")).get("nodeInfo"))
    arch, os_ = as_str(info.get("architecture")), as_str(info.get("operatingSystem"))
    return f"{os_ or 'linux'}/{arch}" if arch else None


def _exec_format(ctx: ContainerContext, command: str, evidence: list[str],
                 exit_code: int | None, via: str) -> Finding:
    arch = _node_arch(ctx)
    node = as_str(ctx.pod_spec.get("nodeName"))
    if arch:
        evidence.append(f"node {node} runs {arch}")
    image = as_str(ctx.spec.get("image"))
    return ctx.finding(
        Reason.EXEC_FORMAT_ERROR,
        f"Container {ctx.name} cannot run {command} on its node: exec format error, a "
        f"binary built for another CPU architecture" + (f" than the node's {arch}" if arch else "")
        + (f" (image {image})." if image else "."),
        evidence,
        remediation={"action": "fix-image-platform", "container": ctx.name, "image": image,
                     "nodeArchitecture": arch},
        details={"command": command, "exitCode": exit_code, "via": via,
                 "nodeArchitecture": arch, "image": image},
    )


#: The OCI hook that failed, as runc names it: ``running prestart hook 0 caused`` (runc
#: 1.0-rc), ``Running hook #1::`` (runc 1.0), ``error running hook #0:`` (runc 1.1 on).
_OCI_HOOK = rx.compile(r"(?i)\brunning (?:\w+ )?hook(?: #?\d+)?")


def _runtime_start_failure(
    ctx: ContainerContext, message: str, evidence: list[str], exit_code: int | None,
    *, generic: bool = True,
) -> Finding | None:
    """The runtime could not start the process (containerd ``StartError``, exit 128): a
    missing or non-executable entrypoint, a binary for another CPU, or (``generic``) any
    other OCI runtime error."""
    m = _EXEC_TARGET.search(message)
    stat = _STAT_TARGET.search(message)
    command = m["command"] if m else stat["command"] if stat else (_command(ctx)[:1] or ["?"])[0]
    what = m["what"] if m else message
    if m:  # the runtime's message is long; its telling part goes first
        # from the OCI hook that ran the command, when one did (``running prestart hook 0
        # caused \"error running hook: ... exec command: [/usr/bin/nvidia-container-cli ...``)
        hook = _OCI_HOOK.search(message[:m.start()])
        start = hook.start() if hook is not None else m.start()
        evidence.insert(0, f"runtime: {message[start:].strip()}")
    if _EXEC_FORMAT.search(message):
        return _exec_format(ctx, command, evidence, exit_code, "runtime")
    about_exec = m is not None or stat is not None or "$PATH" in message
    if about_exec and _NOT_ENTRYPOINT.search(what) is None:
        for pattern, reason, how in (
            (_PERMISSION, Reason.PERMISSION_DENIED, "is not executable (permission denied)"),
            (_NOT_FOUND, Reason.COMMAND_NOT_FOUND, "does not exist in the image"),
        ):
            if pattern.search(what) or (stat and reason is Reason.COMMAND_NOT_FOUND):
                return ctx.finding(
                    reason,
                    f"Container {ctx.name}'s entrypoint {command} {how}.",
                    evidence,
                    remediation={"action": "fix-entrypoint", "container": ctx.name,
                                 "command": command},
                    details={"command": command, "exitCode": exit_code},
                )
    if not generic:
        return None
    if not m and message:
        # from the OCI hook that failed, when one did: the wrappers above it say nothing
        hook = _OCI_HOOK.search(message)
        evidence.insert(0, f"runtime: {message[hook.start() if hook else 0:].strip()}")
    return ctx.finding(
        Reason.RUNTIME_START_ERROR,
        f"The container runtime cannot start container {ctx.name}: "
        + (_runtime_gist(message) or "no message") + ".",
        evidence,
        remediation={"action": "check-runtime-error", "container": ctx.name},
        details={"exitCode": exit_code, "message": message or None},
        confidence=Confidence.HIGH if message else Confidence.MEDIUM,
    )


_RUNTIME_NOISE = ("failed to create containerd task: ", "failed to create shim task: ",
                  "OCI runtime create failed: ", "OCI runtime start failed: ",
                  "runc create failed: ", "unable to start container process: ",
                  "error during container init: ", "failed to start containerd task ")


def _runtime_gist(message: str) -> str:
    """The telling end of a runtime's nested message (the wrappers cut off)."""
    text = message.strip()
    changed = True
    while changed:
        changed = False
        for prefix in _RUNTIME_NOISE:
            at = text.find(prefix)
            if at >= 0:
                text, changed = text[at + len(prefix):], True
    return text.removesuffix(": unknown").strip()


_EITHER_BOTH = rx.compile(
    rf"(?i:either)\s+['\"`]?\$?(?P<a>{generic.VAR})['\"`]?\s+(?i:or)\s+['\"`]?\$?"
    rf"(?P<b>{generic.VAR})['\"`]?.*?(?i:\bnot both\b)")


def _both_set(ctx: ContainerContext, cause: Cause) -> tuple[str, str] | None:
    """The two settings of an ``Either X or Y ..., but not both`` line when the spec sets
    both (a literal value that is not empty, or a reference that is not optional)."""
    if cause.rule != "generic-missing-setting-either":
        return None
    m = next((m for line in cause.lines if (m := _EITHER_BOTH.search(line))), None)
    if m is None:
        return None
    both = (m["a"], m["b"])
    return both if len(_spec_sets(_env_entries(ctx), list(both))) == 2 else None


def _env_entries(ctx: ContainerContext) -> dict[str, Mapping[str, Any]]:
    """The container's env entries by name (the last entry of a name wins, as the kubelet
    gives it)."""
    return {as_str(e.get("name")): e for e in map(as_dict, as_list(ctx.spec.get("env")))}


def _describe_ref(ref: Mapping[str, Any]) -> str:
    """``key k of Secret s`` for an env ``valueFrom``."""
    for field, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
        r = as_dict(ref.get(field))
        if r:
            return f"key {as_str(r.get('key'))} of {kind} {as_str(r.get('name'))}"
    if ref.get("fieldRef"):
        return f"field {as_str(as_dict(ref.get('fieldRef')).get('fieldPath'))}"
    if ref.get("resourceFieldRef"):
        return f"resource {as_str(as_dict(ref.get('resourceFieldRef')).get('resource'))}"
    return "a reference"


def _spec_sets(env: Mapping[str, Mapping[str, Any]], names: list[str]) -> list[str]:
    """Which of ``names`` the env entries (:func:`_env_entries`) set to a value that is not
    empty (a reference that is not optional counts)."""
    return [n for n in names if n in env and _env_value(env[n]) != ""]


def _log_lines(cause: Cause) -> list[str]:
    return [f"log: {line}" for line in cause.lines]


def _from_cause(ctx: ContainerContext, cause: Cause, evidence: list[str],
                exit_code: int | None) -> Finding:
    g = cause.groups
    evidence = evidence + _log_lines(cause)
    details: dict[str, Any] = {"signature": cause.rule, "layer": cause.layer,
                               "exitCode": exit_code, **g}
    reason = cause.reason
    remediation: dict[str, Any] | None = None
    confidence = Confidence.HIGH if cause.layer == "catalogue" else Confidence.MEDIUM
    path = g.get("path")
    both = _both_set(ctx, cause) if reason is Reason.MISSING_ENV else None
    if both is not None:
        # ``Either "X" or "Y" must be set, but not both`` where the spec sets both: too many
        # settings, not a missing one
        details["variables"] = list(both)
        evidence.append(f"the container's env sets both {both[0]} and {both[1]}")
        return ctx.finding(
            Reason.APP_ERROR,
            f"Container {ctx.name} exits because it takes either {both[0]} or {both[1]}, "
            "and its env sets both.", evidence,
            remediation={"action": "set-env", "container": ctx.name, "unset": list(both)},
            details=details, confidence=Confidence.MEDIUM)
    if reason is Reason.MISSING_ENV:
        var = g.get("variable", "?")
        names = list(cause.variables) or [var]
        in_file = cause.rule == "generic-missing-config-field"
        env = _env_entries(ctx)
        listed_set = _spec_sets(env, names) if len(names) > 1 and not in_file else []
        if listed_set and len(listed_set) < len(names):
            # a list of settings some of which the env gives (the Software Collections
            # images print their whole usage whatever is missing): the others are missing
            details["listedButSet"] = listed_set
            evidence.append(f"the container's env sets {', '.join(listed_set)}")
            names = [n for n in names if n not in listed_set]
            var = names[0]
            g = {**g, "variable": var}
            details["variable"] = var
        alternative = g.get("alternative")
        instead = f" (or {alternative} instead)" if alternative else ""
        if len(names) > 1:
            details["variables"] = names
            evidence.append(f"missing variables: {', '.join(names)}")
            listed = ", ".join(names[:-1]) + f" and {names[-1]}"
            summary = (f"Container {ctx.name} exits because required settings {listed}"
                       f"{instead} are not set.")
        elif "variable" not in g:
            summary = (f"Container {ctx.name} exits because a required environment variable "
                       "is not set (the log does not name it).")
        else:
            evidence.append(f"missing variable: {var}")
            summary = (f"Container {ctx.name} exits because required setting {var}{instead} "
                       "is not set.")
        remediation = {"action": "set-env", "container": ctx.name,
                       "variable": g.get("variable")}
        confidence = Confidence.HIGH if "variable" in g else Confidence.MEDIUM
        if in_file:
            # a field of a configuration file (``no s3 endpoint in config file``, serde's
            # ``missing field `topics```): no env variable of that name to set
            remediation = {"action": "set-config", "container": ctx.name,
                           "field": g.get("variable")}
        given = _spec_sets(env, names) if "variable" in g and not in_file else []
        literal = [n for n in given if env[n].get("valueFrom") is None]
        referenced = [n for n in given if n not in literal]
        if literal:
            # the app says it lacks a setting its env gives a value: it reads it from somewhere
            # else (a config cache built without it, a file that wins, another name)
            details["setInSpec"] = literal
            evidence.append(f"the container's env sets {', '.join(literal)}, but the app does "
                            "not see it (a config cache or file that wins over the env, or "
                            "another name?)")
            summary = summary.removesuffix(".") + (
                f" for the app, although the container's env sets {', '.join(literal)} (the "
                "app does not read it from there).")
            confidence = Confidence.MEDIUM
        for name in referenced:
            # a reference the kubelet resolved (the container started): the value it holds
            # may be empty, which most apps take for unset
            ref = _describe_ref(as_dict(env[name].get("valueFrom")))
            details.setdefault("fromReference", []).append(name)
            evidence.append(f"env {name} of container {ctx.name} comes from {ref}: is that "
                            "value empty?")
    elif reason is Reason.READ_ONLY_FILESYSTEM:
        if path:
            evidence.append(f"read-only path: {path}")
        sc = as_dict(ctx.spec.get("securityContext"))
        if sc.get("readOnlyRootFilesystem") is True:
            evidence.append("securityContext.readOnlyRootFilesystem: true")
            confidence = Confidence.HIGH
        summary = (
            f"Container {ctx.name} exits because it writes to a read-only filesystem"
            + (f" ({path})" if path else "")
            + "; mount a writable emptyDir there."
        )
        remediation = {"action": "mount-writable-volume", "container": ctx.name, "path": path}
    elif reason is Reason.DEPENDENCY_UNREACHABLE:
        host, port = g.get("host"), g.get("port")
        target = f"{host}:{port}" if host and port else host or (f"port {port}" if port else None)
        peers = [] if target else _configured_peers(ctx)
        if target:
            evidence.append(f"unreachable: {target}")
        elif peers:
            details["configuredPeers"] = peers
            evidence.append(f"the log names no host; the container's env points at: "
                            f"{', '.join(peers)}")
        summary = f"Container {ctx.name} exits because it cannot reach a dependency" + (
            f" ({target})." if target else
            f" (the log names none; its env points at {', '.join(peers)})." if peers else "."
        )
        remediation = {"action": "check-dependency", "host": host, "port": port}
    elif reason is Reason.COMMAND_NOT_FOUND:
        # a line that names none (runc's ``exec user process caused: no such file or
        # directory``) is about the program runc executes: the spec's command (a shell's
        # ``-c`` script never ran), else the image's entrypoint (``args`` are only its
        # arguments); the program may be there and the loader or interpreter it names not
        # (a glibc binary in an Alpine or scratch image)
        cmd = g.get("command") or ""
        if not cmd:
            cmd = next((str(x) for x in as_list(ctx.spec.get("command"))[:1]), "?")
            where = "its image's entrypoint" if cmd == "?" else f"its entrypoint {cmd}"
            summary = (f"Container {ctx.name} exits because {where} (or the loader it "
                       "needs) is not found.")
        elif any("nsenter" in line for line in cause.lines):
            # run in the host's namespaces (a storage or network agent's check of the node)
            summary = (f"Container {ctx.name} exits because command {cmd} is not found on "
                       "the node (it runs it through nsenter in the host's namespaces).")
        else:
            summary = f"Container {ctx.name} exits because command {cmd} is not found."
        if cmd.endswith(("^M", "\r")) or cmd == "$'\\r'":
            evidence.append("the script's interpreter line ends in a carriage return: the "
                            "script has Windows (CRLF) line endings")
            summary = (f"Container {ctx.name} exits because a script it runs has Windows "
                       f"(CRLF) line endings: its interpreter {cmd} is not found.")
        remediation = {"action": "fix-entrypoint", "container": ctx.name, "command": cmd}
    elif reason is Reason.PERMISSION_DENIED:
        if g.get("command"):
            summary = f"Container {ctx.name} exits because {g['command']} is not executable."
            remediation = {"action": "fix-entrypoint", "container": ctx.name,
                           "command": g["command"]}
        elif path:
            evidence.append(f"denied path: {path}")
            summary = (f"Container {ctx.name} exits because it is denied access to {path} "
                       "(permission denied): check the files' owner and the pod's runAsUser/"
                       "fsGroup.")
            remediation = {"action": "fix-permissions", "container": ctx.name, "path": path}
        elif g.get("port"):
            privileged = g["port"].isdigit() and int(g["port"]) < 1024
            denied = (f"Container {ctx.name} exits because it may not listen on port "
                      f"{g['port']} (permission denied): ")
            summary = denied + (
                "a port below 1024 needs root or NET_BIND_SERVICE." if privileged else
                "not a privileged port, so a policy denies it (SELinux, AppArmor, or "
                "net.ipv4.ip_unprivileged_port_start set above it).")
            user = _non_root_with_bind_capability(ctx) if privileged else None
            if user is not None:
                blocked = as_dict(ctx.spec.get("securityContext")).get(
                    "allowPrivilegeEscalation") is False
                runs = "runAsNonRoot true" if user == NON_ROOT else f"runAsUser {user}"
                evidence.append(f"securityContext: {runs}, capabilities.add NET_BIND_SERVICE"
                                + (", allowPrivilegeEscalation false" if blocked else ""))
                who = "a non-root user" if user == NON_ROOT else f"user {user}"
                summary = (denied + f"it runs as {who}, and "
                           "the NET_BIND_SERVICE its securityContext adds does not reach a "
                           "process that is not root (only file capabilities on the binary "
                           "grant it" + (", and allowPrivilegeEscalation: false blocks those"
                                         if blocked else "")
                           + "); listen on a port above 1023.")
            remediation = {"action": "fix-permissions", "container": ctx.name,
                           "port": g["port"]}
        else:
            summary = (f"Container {ctx.name} exits because an operation is denied "
                       f"(permission denied): {cause.lines[0] if cause.lines else ''}")
            remediation = {"action": "fix-permissions", "container": ctx.name}
    elif reason is Reason.DISK_FULL:
        if path:
            evidence.append(f"full at: {path}")
        summary = (f"Container {ctx.name} exits because a disk is full (no space left on "
                   f"device{' writing ' + path if path else ''}).")
        remediation = {"action": "free-or-grow-volume", "container": ctx.name, "path": path}
    elif reason is Reason.TOO_MANY_OPEN_FILES:
        summary = (f"Container {ctx.name} exits because it hit a limit on open files or "
                   "inotify watches (raise the node's fs.inotify / nofile limits or open "
                   "fewer).")
        remediation = {"action": "raise-file-limits", "container": ctx.name}
    elif reason is Reason.HEAP_EXHAUSTED:
        limit = memory_of(ctx.spec).get("limit")
        if limit:
            evidence.append(f"memory limit {limit}")
        summary = (f"Container {ctx.name} exits because its runtime ran out of heap before "
                   "the kernel's OOM killer acted (raise the runtime's heap limit, e.g. JVM "
                   "-Xmx or -XX:MaxRAMPercentage, Node --max-old-space-size"
                   + (f"; container memory limit {limit}" if limit else "") + ").")
        remediation = {"action": "raise-heap-limit", "container": ctx.name, "memoryLimit": limit}
        details["memoryLimit"] = limit
    elif reason is Reason.SEGFAULT:
        summary = f"Container {ctx.name} crashes with a segmentation fault (SIGSEGV)."
        remediation = None
    elif reason is Reason.EXEC_FORMAT_ERROR:
        command = g.get("command") or (_command(ctx)[:1] or ["its entrypoint"])[0]
        return _exec_format(ctx, command, evidence, exit_code, "log")
    else:
        summary = f"Container {ctx.name} exits: {cause.lines[-1] if cause.lines else cause.rule}."
    return ctx.finding(reason, summary, evidence, remediation=remediation, details=details,
                       confidence=confidence)


def hook_failure(ctx: ContainerContext, evidence: list[str], *hooks: str) -> Finding | None:
    """A container killed because its postStart (or preStop) hook failed."""
    events = ctx.container_events(*hooks) or [
        ev for ev in ctx.pod_events(*hooks) if ctx.name in ev.message]
    if not events:
        return None
    ev = events[-1]
    hook = "postStart" if ev.reason == "FailedPostStartHook" else "preStop"
    handler = as_dict(as_dict(ctx.spec.get("lifecycle")).get(hook))
    evidence = [event_line(ev), *evidence]
    output = _HOOK_OUTPUT.search(ev.message)
    if output is not None:
        said = output["output"].replace("\\n", " ").replace("\\r", " ").strip()
        evidence.insert(0, f"hook exited with {output['code']}" + (f": {said}" if said else ""))
    if handler:
        evidence.append(f"lifecycle.{hook}: {_describe_handler(handler)}")
    return ctx.finding(
        Reason.HOOK_FAILED,
        f"Container {ctx.name}'s {hook} hook fails, so the kubelet kills it: {ev.message}",
        evidence,
        remediation={"action": "fix-lifecycle-hook", "container": ctx.name, "hook": hook},
        details={"hook": hook, "message": ev.message},
    )


_HOOK_OUTPUT = rx.compile(r"exited with (?P<code>\d+): [^\n]*?message: \"(?P<output>.*?)\"?$")


def _describe_handler(handler: Mapping[str, Any]) -> str:
    if handler.get("exec"):
        return f"exec {as_list(as_dict(handler.get('exec')).get('command'))}"
    if handler.get("httpGet"):
        get = as_dict(handler.get("httpGet"))
        return f"GET :{get.get('port')}{as_str(get.get('path')) or '/'}"
    if handler.get("sleep"):
        return f"sleep {as_dict(handler.get('sleep')).get('seconds')}"
    return "?"


def _segfault(ctx: ContainerContext, term: Mapping[str, Any], evidence: list[str],
              reading: LogReading, exit_code: int | None) -> Finding:
    lines = [f"log: {line}" for line in reading.telling[:1]]
    return ctx.finding(
        Reason.SEGFAULT,
        f"Container {ctx.name} crashes with a segmentation fault (exit code "
        f"{exit_code}, SIGSEGV).",
        evidence + lines,
        details={"exitCode": exit_code, "signal": as_int(term.get("signal")) or 11},
    )


def _env_value(entry: Mapping[str, Any]) -> str | None:
    """What an env entry tells the log reading: its literal value; None for a reference
    (``valueFrom``), which sets it to something; ``""`` for an ``optional`` reference, which
    may set nothing (the key or object may be absent, and the log's words then win over the
    spec's maybe, as they do for ``envFrom``, whose names the snapshot cannot see)."""
    ref = entry.get("valueFrom")
    if ref is None:
        return as_str(entry.get("value"))
    if any(as_dict(r).get("optional") is True for r in as_dict(ref).values()):
        return ""
    return None


def _context(ctx: ContainerContext) -> Context:
    sc = as_dict(ctx.spec.get("securityContext"))
    mounts = [as_dict(m) for m in as_list(ctx.spec.get("volumeMounts"))]
    return Context(
        read_only_root=sc.get("readOnlyRootFilesystem") is True,
        writable_paths=tuple(as_str(m.get("mountPath")) for m in mounts
                             if m.get("readOnly") is not True and as_str(m.get("mountPath"))),
        # every entry of the names read, however long the list (the last entry wins, so a
        # cut would keep the wrong one): a name's look-up is all each costs
        env=tuple((name, _env_value(e))
                  for e in map(as_dict, as_list(ctx.spec.get("env")))
                  if (name := as_str(e.get("name"))) in ENV_READ),
    )


def log_reading(ctx: ContainerContext) -> LogReading:
    """The reading of the container's log alone (a container that has not exited: no
    termination message)."""
    return _reading(ctx, "")[1]


def _reading(ctx: ContainerContext, message: str) -> tuple[str, LogReading]:
    log = ctx.log
    if message and message not in log:
        log = f"{log}\n{message}" if log else message
    try:
        if ctx.trace is not None:
            ctx.trace.log = LogTrace()
            return log, read_crash(log, ctx.budget, context=_context(ctx),
                                   trace=ctx.trace.log)
        return log, read_crash(log, ctx.budget, context=_context(ctx))
    except Exception:
        # a log that trips the reading (a bug) is read as no log: the container is still
        # named from its status and Events, never dropped
        return "", LogReading(lines=[], cause=None, telling=[])


#: A cause the log states this close to its end, at error level or worse, explains a
#: crash better than its signal does (V8 running out of heap may die of SIGSEGV).
DECISIVE_TAIL = 10


def _decisive(cause: Cause | None) -> bool:
    return cause is not None and cause.level >= Level.ERROR and cause.from_end < DECISIVE_TAIL


def diagnose_termination(
    ctx: ContainerContext,
    term: Mapping[str, Any],
    waiting: Mapping[str, Any] | None = None,
) -> Finding:
    """A container that exited (and, in a crash loop, keeps exiting)."""
    evidence: list[str] = []
    if waiting:
        evidence.append(waiting_line(waiting))
    if term:
        evidence.append(terminated_line(term, ctx.restarts))
    t_reason = as_str(term.get("reason"))
    exit_code = as_int(term.get("exitCode"), -1) if "exitCode" in term else None
    message = as_text(term.get("message"))
    t = ctx.trace
    said = f"reason {t_reason or '?'}, exit code {exit_code}"

    if t_reason in ("StartError", "ContainerCannotRun") or exit_code == 128:
        found = _runtime_start_failure(
            ctx, message, evidence, exit_code,
            generic=t_reason in ("StartError", "ContainerCannotRun"))
        if found is not None:
            if t is not None:
                _verdict(t, "runtime start failure", f"{said}: the runtime could not start "
                         "the process", found)
            return found
        if t is not None:
            t.step("runtime start failure", f"{said}, but the message names no entrypoint "
                   "problem")
    elif t is not None:
        t.step("runtime start failure", f"no: {said}")

    if t_reason == "OOMKilled":
        found = diagnose_oom(ctx, term, evidence=evidence)
        if t is not None:
            _verdict(t, "OOM kill", "terminated reason OOMKilled: the kernel's OOM killer",
                     found)
        return found
    if t is not None:
        t.step("OOM kill", f"no: {said}")

    hook = hook_failure(ctx, list(evidence), "FailedPostStartHook")
    if hook is not None:
        if t is not None:
            _verdict(t, "postStart hook", "a FailedPostStartHook Event", hook)
        return hook
    if t is not None:
        t.step("postStart hook", "no FailedPostStartHook Event")

    live = diagnose_liveness(ctx, term, this_instance=True)
    if live is not None:
        if t is not None:
            _verdict(t, "probe kill", "a Killing Event for a failed liveness or startup "
                     "probe, within this instance's life", live)
        return live
    if t is not None:
        t.step("probe kill", "no Killing Event for a failed liveness or startup probe "
               "within this instance's life")

    hook = hook_failure(ctx, list(evidence), "FailedPreStopHook")
    if hook is not None:
        if t is not None:
            _verdict(t, "preStop hook", "a FailedPreStopHook Event", hook)
        return hook
    if t is not None:
        t.step("preStop hook", "no FailedPreStopHook Event")

    _, reading = _reading(ctx, message)
    segv = exit_code == 139 or as_int(term.get("signal")) == 11
    if segv and not _decisive(reading.cause):
        found = _segfault(ctx, term, evidence, reading, exit_code)
        if t is not None:
            _verdict(t, "segmentation fault", f"exit code {exit_code} (SIGSEGV) and no "
                     "error-level cause stated near the end of the log", found)
        return found
    if t is not None:
        t.step("segmentation fault", "exit 139, but the log states an error-level cause just "
               "before it: the log decides" if segv else f"no: exit code {exit_code}")
    if reading.cause is not None:
        found = _from_cause(ctx, reading.cause, evidence, exit_code)
        if t is not None:
            cause = reading.cause
            _verdict(t, "the log", f"{cause.layer} rule {cause.rule} on log line "
                     f"{cause.line + 1}: {cause.lines[0] if cause.lines else ''}", found)
        return found
    if t is not None:
        t.step("the log", "no log was read" if not reading.lines else
               "no line the signature catalogue or the generic layer explains")

    live = diagnose_liveness(ctx, term)
    if live is not None:
        if t is not None:
            _verdict(t, "an older probe kill", "a Killing Event for a failed liveness or "
                     "startup probe, stamped before this instance (the kubelet stops updating "
                     "an Event it repeats often), and nothing else explains the exit", live)
        return live
    if t is not None:
        t.step("an older probe kill", "none")

    if exit_code in (137, 143):
        live = diagnose_liveness(ctx, term, require_kill=False)
        if live is not None:
            if t is not None:
                _verdict(t, "probe failures", f"exit code {exit_code} after failing liveness "
                         "or startup probes (no Killing Event seen)", live)
            return live
        if t is not None:
            t.step("probe failures", f"exit code {exit_code}, but no failing liveness or "
                   "startup probe Event")
    if exit_code == 137:
        found = diagnose_oom(ctx, term, confidence=Confidence.LOW, evidence=evidence)
        if t is not None:
            _verdict(t, "exit code 137", "SIGKILL with no probe to blame: most likely the OOM "
                     "killer (low confidence)", found)
        return found
    loader = exit_code == 127 and _loader_failure(reading)
    if t is not None and loader:
        t.step(f"exit code {exit_code}", "the dynamic loader refused the program (a library "
               "or its version is missing): the command exists, the log says why it failed")
    if exit_code in _EXIT_MEANING and not loader:
        reason, what = _EXIT_MEANING[exit_code]
        evidence += [f"log: {line}" for line in reading.telling[:1]]
        cmd = (_command(ctx)[:1] or ["?"])[0]
        found = ctx.finding(
            reason,
            f"Container {ctx.name} exits with code {exit_code}: a command it runs {what}.",
            evidence,
            remediation={"action": "fix-entrypoint", "container": ctx.name, "command": cmd},
            details={"exitCode": exit_code, "command": cmd},
            confidence=Confidence.MEDIUM,
        )
        if t is not None:
            _verdict(t, f"exit code {exit_code}", f"a shell's code for a command that {what}",
                     found)
        return found
    image = as_str(ctx.spec.get("image")) if loader else ""
    found = _app_error(ctx, reading, evidence, exit_code, t_reason, image=image)
    if t is not None:
        _verdict(t, "application error", "nothing more specific: it keeps exiting; the most "
                 "telling log lines are its evidence", found)
    return found


def _verdict(t: ContainerTrace, rule: str, why: str, found: Finding) -> None:
    t.step(rule, f"{why} -> {found.reason.value}: {found.summary}", decided=True)


def _non_root_with_bind_capability(ctx: ContainerContext) -> str | None:
    """The user a container runs as when it is not root and its securityContext adds
    ``NET_BIND_SERVICE`` (or ``ALL``): the kubelet sets no ambient capabilities, so the
    process does not get it (the HAProxy ingress chart's ``cannot bind socket (Permission
    denied)`` on port 80)."""
    sc = as_dict(ctx.spec.get("securityContext"))
    pod_sc = as_dict(ctx.pod_spec.get("securityContext"))
    added = {str(c).upper().removeprefix("CAP_")
             for c in as_list(as_dict(sc.get("capabilities")).get("add"))}
    user = sc.get("runAsUser", pod_sc.get("runAsUser"))
    if not added & {"NET_BIND_SERVICE", "ALL"} or user == 0:
        return None
    if isinstance(user, int) and not isinstance(user, bool):
        return str(user)
    if user is None and sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True:
        # no user given, but the kubelet starts the container only as a non-root user
        return NON_ROOT
    return None


NON_ROOT = "non-root"
"""What :func:`_non_root_with_bind_capability` returns when only ``runAsNonRoot`` says the
user is not root."""


#: The signals that end a process by default and that end containers (an exit code of
#: 128 + N; Linux's numbers, signal(7)); another code above 128 is the program's own (the
#: .NET host's 150 for a missing framework is no SIGTTOU).
_FATAL_SIGNALS = {1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP",
                  6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1",
                  11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
                  16: "SIGSTKFLT", 24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM",
                  27: "SIGPROF", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS"}
#: The .NET host's own failures (``A fatal error occurred. The required library
#: libhostfxr.so could not be found.``, ``You must install or update .NET to run this
#: application.``): it exits with the low byte of its 0x800080xx status, 129 to 159 (131 for
#: a missing hostfxr), none of them a signal.
_DOTNET_HOST = rx.compile(r"(?i)\bhostfxr\b|\bhostpolicy\b|^A fatal error occurred[.,] |"
                          r"\binstall (?:or update )?\.NET\b|\.NET location:")


def _app_error(ctx: ContainerContext, reading: LogReading, evidence: list[str],
               exit_code: int | None, t_reason: str, image: str = "") -> Finding:
    """``image``: the image whose program the dynamic loader refused (a library, or the
    version it needs, is not in it: pin or rebuild that image)."""
    line = reading.telling[0] if reading.telling else None
    evidence = evidence + [f"log: {text}" for text in reading.telling[:2]]
    details: dict[str, Any] = {"exitCode": exit_code, "terminationReason": t_reason or None,
                               "logLine": line}
    if image:
        evidence.append(f"image: {image} (a library the program needs, or its version, is "
                        "not in it)")
        details["image"] = image
    if exit_code == 0:
        what = "exits with code 0 (Completed) but its pod restarts it"
    elif exit_code is not None:
        name = (None if any(_DOTNET_HOST.search(text) is not None
                            for text in reading.telling[:2])
                else _FATAL_SIGNALS.get(exit_code - 128))
        signal = f", signal {exit_code - 128} ({name})" if name else ""
        what = f"keeps exiting with code {exit_code}{signal}"
    else:
        what = "keeps failing"
    summary = f"Container {ctx.name} {what}" + (f": {line}" if line else "; no log was available.")
    return ctx.finding(
        Reason.APP_ERROR,
        summary,
        evidence,
        details=details,
        confidence=Confidence.MEDIUM if line else Confidence.LOW,
    )


def diagnose_start_failure(ctx: ContainerContext, waiting: Mapping[str, Any]) -> Finding:
    """``RunContainerError``/``CreateContainerError``/hook errors: nothing ran, or a hook
    failed. The message is the runtime's; it may also be a configuration error."""
    evidence = [waiting_line(waiting)]
    reason = as_str(waiting.get("reason"))
    message = as_text(waiting.get("message"))
    if reason == "PostStartHookError":
        hook = hook_failure(ctx, evidence, "FailedPostStartHook")
        if hook is not None:
            return hook
        return ctx.finding(
            Reason.HOOK_FAILED,
            f"Container {ctx.name}'s postStart hook fails, so the kubelet kills it"
            + (f": {message}" if message else "."),
            evidence,
            remediation={"action": "fix-lifecycle-hook", "container": ctx.name,
                         "hook": "postStart"},
            details={"hook": "postStart", "message": message or None},
        )
    failed = ctx.container_events("Failed")
    if failed and not message:
        message = failed[-1].message
    elif failed:
        evidence.append(event_line(failed[-1]))
    found = _runtime_start_failure(ctx, message, evidence, None, generic=False)
    if found is not None:
        return found
    config = classify_message(ctx, message, evidence, via="env")
    if config is not None:
        return config
    if reason == "CreateContainerError":
        text = message.removeprefix("Error: ")
        return ctx.finding(
            Reason.CREATE_CONTAINER_ERROR,
            f"Container {ctx.name} cannot be created: {text or 'no message'}.",
            evidence,
            remediation={"action": "fix-container-spec", "container": ctx.name},
            details={"message": text or None},
        )
    last = as_dict(ctx.last_state.get("terminated"))
    if last:
        return diagnose_termination(ctx, last, waiting)
    return _runtime_start_failure(ctx, message, evidence, None, generic=True) or ctx.finding(
        Reason.RUNTIME_START_ERROR, f"Container {ctx.name} cannot start.", evidence)

