"""Review of holdout round 19's mechanisms (a7a8aa2, 0a3d8e3): the secrets they let through,
the lines they misread, and the close variants they missed.

Log text quoted from public threads carries the thread's URL next to it; invented text says
so.
"""

from __future__ import annotations

import time
from typing import Any

from helpers import evidence_text, only, run

from crashwatch.model import Reason
from crashwatch.redact import redact


def _run(crashing, log: str, exit_code: int = 1,  # type: ignore[no-untyped-def]
         sc: dict[str, Any] | None = None, pod_sc: dict[str, Any] | None = None) -> Any:
    objects, logs = crashing(log, exit_code=exit_code)
    if sc is not None:
        objects[0]["spec"]["containers"][0]["securityContext"] = sc
    if pod_sc is not None:
        objects[0]["spec"]["securityContext"] = pod_sc
    return only(run(objects, logs))


# --------------------------------------------------------------------------- redact

def test_a_key_path_ending_in_a_secret_word_still_masks_its_value() -> None:
    # invented: a KV store's key path and its value (Vault's, Consul's, a config dump): only
    # an operating system's error after the path is no value
    assert redact("secret/data/app/password: hunter2xyz", 200) == (
        "secret/data/app/password: ***")
    assert redact("consul kv get config/db/password: p4ssw0rd", 200) == (
        "consul kv get config/db/password: ***")
    assert redact("app/token:s3cr3tT0ken", 200) == "app/token:***"
    # the path and the error about it stay
    for said in ("mkdir /run/secrets: read-only file system",
                 "open /etc/app/token: permission denied",
                 "open /var/run/secrets/kubernetes.io/serviceaccount/token: no such file or "
                 "directory",
                 "stat /etc/app/password: not a directory",
                 "dial unix /run/app/token: connect: connection refused"):
        assert redact(said, 300) == said


# --------------------------------------------------------------------------- bind

# https://github.com/docker-library/haproxy/issues/158
HAPROXY_UNIX = ("[ALERT]    (1) : Starting frontend GLOBAL: cannot bind UNIX socket (Permission "
                "denied) [/var/run/haproxy.stat]\n"
                "[ALERT]    (1) : [haproxy.main()] Some protocols failed to start their "
                "listeners! Exiting.\n")


def test_a_denied_bind_of_a_unix_socket_names_its_path(crashing) -> None:
    f = _run(crashing, HAPROXY_UNIX)
    assert f.reason is Reason.PERMISSION_DENIED
    assert f.details.get("path") == "/var/run/haproxy.stat" and "port" not in f.details
    # invented: HAProxy 2.6's shape of the same (the configuration's line first, as in its
    # ``Binding [/etc/haproxy/haproxy.cfg:58] for frontend http: cannot bind socket ...``):
    # the line number is no port
    g = _run(crashing, "[ALERT]    (1) : Binding [/usr/local/etc/haproxy/haproxy.cfg:10] for "
                       "frontend GLOBAL: cannot bind UNIX socket (Permission denied) for "
                       "[/var/run/haproxy.stat]\n")
    assert g.details.get("port") != "10" and "port 10" not in g.summary
    assert g.details.get("path") == "/var/run/haproxy.stat"
    # invented, after nginx's ``bind() to 0.0.0.0:80 failed (13: Permission denied)``: a unix
    # socket, with a timestamp whose ``:00`` is no port
    h = _run(crashing, "2023/01/01 10:00:00 [emerg] 1#1: bind() to unix:/var/run/app.sock "
                       "failed (13: Permission denied)\n")
    assert h.details.get("path") == "/var/run/app.sock" and "port" not in h.details


# https://github.com/haproxytech/helm-charts/issues/178
CANNOT_BIND_80 = ("[ALERT]    (287) : Binding [/etc/haproxy/haproxy.cfg:58] for frontend http: "
                  "cannot bind socket (Permission denied) for [:::80]\n")


def test_the_capability_explanation_is_only_for_a_privileged_port(crashing) -> None:
    # invented: a denied bind on 8080 is no matter of NET_BIND_SERVICE; "listen on a port
    # above 1023" would be wrong advice
    f = _run(crashing, "2020/04/15 02:38:08 [emerg] 1#1: bind() to 0.0.0.0:8080 failed "
                       "(13: Permission denied)\n",
             sc={"runAsUser": 1000, "capabilities": {"add": ["NET_BIND_SERVICE"]}})
    assert "port above 1023" not in f.summary and "NET_BIND_SERVICE its" not in f.summary


def test_run_as_non_root_without_a_user_is_still_non_root(crashing) -> None:
    # runAsNonRoot: the kubelet refuses to start the container as root, so the added
    # capability does not reach the process either (securityContext invented)
    f = _run(crashing, CANNOT_BIND_80,
             sc={"runAsNonRoot": True, "capabilities": {"add": ["NET_BIND_SERVICE"]}})
    assert "runs as a non-root user" in f.summary
    assert "does not reach a process that is not root" in f.summary
    # a container-level runAsUser 0 overrides the pod's 1000: root, the plain advice
    g = _run(crashing, CANNOT_BIND_80,
             sc={"runAsUser": 0, "capabilities": {"add": ["NET_BIND_SERVICE"]}},
             pod_sc={"runAsUser": 1000, "runAsNonRoot": True})
    assert "runs as" not in g.summary
    # the pod's runAsUser is the container's when it sets none
    h = _run(crashing, CANNOT_BIND_80, sc={"capabilities": {"add": ["NET_BIND_SERVICE"]}},
             pod_sc={"runAsUser": 1000})
    assert "it runs as user 1000" in h.summary


# --------------------------------------------------------------------------- exit codes

def test_the_dotnet_hosts_codes_are_no_signals(crashing) -> None:
    # https://github.com/dotnet/core/issues/5054 (the host's message; on Linux it names
    # libhostfxr.so): the host exits 0x80008083 & 0xff = 131, no SIGQUIT
    f = _run(crashing, "A fatal error occurred. The required library libhostfxr.so could not "
                       "be found.\n", exit_code=131)
    assert "signal" not in f.summary and "exiting with code 131" in f.summary


def test_sigusr1_and_sigusr2_end_a_process(crashing) -> None:
    # SIGUSR1 and SIGUSR2 terminate by default (signal(7)): 138 and 140 are signals (invented)
    f = _run(crashing, "ERROR: assertion failed in worker\n", exit_code=138)
    assert "code 138, signal 10 (SIGUSR1)" in f.summary
    g = _run(crashing, "ERROR: assertion failed in worker\n", exit_code=140)
    assert "code 140, signal 12 (SIGUSR2)" in g.summary


# --------------------------------------------------------------------------- inventory

def test_a_list_of_commands_or_resources_is_no_inventory_of_what_is_wanted(crashing) -> None:
    # invented, in cobra's shape: the commands a CLI has say nothing of an unknown flag
    f = _run(crashing, "Error: unknown flag: --foo\nUsage:\n  app [command]\n\n"
                       "Available Commands:\n"
                       "  completion  Generate the autocompletion script for the specified "
                       "shell\n  help        Help about any command\n")
    assert "Available Commands" not in evidence_text(f)
    # invented: a list below an error about something else
    g = _run(crashing, "ERROR: connection to db:5432 refused\nAvailable memory:\n  512Mi\n")
    assert "Available memory" not in evidence_text(g)
    # what is wanted and what is there, of the same thing, stays (invented)
    h = _run(crashing, "Error: Python version 3.12 is required\nAvailable versions:\n"
                       "  3.9.18\n  3.10.13\n")
    assert "Available versions: 3.9.18" in evidence_text(h)


# --------------------------------------------------------------------------- cost

def test_hostile_lists_stay_cheap(crashing) -> None:
    head = "You must either specify the following environment variables:\n"
    for log in (head + "".join(f"  VAR_{i}_NAME\n" for i in range(10_000)),
                (head + "  MYSQL_USER\n") * 5_000,
                head + "  MYSQL_USER\n  " + "A_B" * 700_000 + "\n",
                "ERROR: failed\nThe following frameworks were found:\n  " + "7" * 2_000_000,
                "#  SIGSEGV (0xb) at pc=0x1\n" + "# Problematic frame:\n" * 20_000,
                CANNOT_BIND_80 * 20_000):
        objects, logs = crashing(log, exit_code=139)
        start = time.perf_counter()
        run(objects, logs)
        assert time.perf_counter() - start < 0.1
