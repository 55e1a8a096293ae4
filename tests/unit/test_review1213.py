"""Review of the mechanisms holdout rounds 12 and 13 added (tests/unit/test_holdout12_mechanisms.py,
tests/unit/test_holdout13_mechanisms.py, and the kubelet object name kept by redact): where they
over- or under-matched on realistic or hostile input.

Log text quoted from public threads carries the thread's URL next to it; invented text says
so.
"""

from __future__ import annotations

import time

from helpers import evidence_text, generic_reading, only, run

from crashwatch.diagnosis.logcause import read_crash
from crashwatch.diagnosis.logread import parse_logfmt
from crashwatch.model import Reason
from crashwatch.redact import redact

# --- redact: the kubelet's object name, never a password that is a kind's name ----------------


def test_a_password_that_is_an_object_kinds_name_is_still_masked() -> None:
    """``secret`` is a common password; ``password=secret "db" ...`` is a key and its value,
    not the kubelet's ``volume "secret" : secret "matrix-secret" not found`` (whose key is
    quoted and followed by a colon alone). All lines invented."""
    for said, masked in (
            ('password=secret "db" failed', 'password=*** "db" failed'),
            ('POSTGRES_PASSWORD=secret "postgres" is rejected',
             'POSTGRES_PASSWORD=*** "postgres" is rejected'),
            ('token: secret "abc" expired', 'token: *** "abc" expired'),
            ('client_secret=node "x" invalid', 'client_secret=*** "x" invalid')):
        assert redact(said, 1000) == masked, said
    # the kubelet's words are still kept (https://github.com/remram44/matrix-helm/issues/9)
    said = 'MountVolume.SetUp failed for volume "secret" : secret "matrix-secret" not found'
    assert redact(said, 1000) == said


# --- Rust's resolver error names no host ------------------------------------------------------

# https://github.com/astral-sh/uv/issues/8450 (uv's cause chain, its build-step prefix left off)
RUST_DNS = "  Caused by: failed to lookup address information: Name does not resolve"


def test_rusts_lookup_address_information_names_no_host() -> None:
    reason, groups = generic_reading(RUST_DNS)
    assert reason is Reason.DEPENDENCY_UNREACHABLE
    assert groups.get("host") != "information"
    # a host after ``look up the host`` is the host (invented)
    reason, groups = generic_reading("Error: couldn't look up the host db.example.com")
    assert reason is Reason.DEPENDENCY_UNREACHABLE and groups.get("host") == "db.example.com"


# --- a prohibition after Go's timestamp is no advice ------------------------------------------


def test_a_prohibition_after_gos_timestamp_says_what_is_wrong() -> None:
    """``You can't ...`` says what is wrong, with or without Go's log timestamp before it
    (invented: the prohibition of tests/unit's advice tests under Go's ``log`` prefix)."""
    log = ("2021/08/27 23:03:50 Starting\n"
           "2021/08/27 23:03:50 You can't run this program as root!\n"
           "2021/08/27 23:03:50 exiting\n")
    assert read_crash(log).telling[0].endswith("You can't run this program as root!")


# --- a GPU's name beside a runtime's heap -----------------------------------------------------


def test_a_gpu_named_thread_does_not_hide_a_java_heap() -> None:
    """The CUDA/GPU veto is for a GPU's memory; a line that names the Java heap is the heap's
    even when its thread or host is called ``gpu-...`` (invented thread name)."""
    line = 'Exception in thread "gpu-worker-1" java.lang.OutOfMemoryError: Java heap space'
    assert generic_reading(line)[0] is Reason.HEAP_EXHAUSTED
    # a GPU's own out-of-memory is still no heap
    # (https://github.com/llm-d-incubation/llm-d-infra/pull/195)
    cuda = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 330.00 MiB."
    assert generic_reading(cuda)[0] is not Reason.HEAP_EXHAUSTED


# --- BusyBox's sh given a script that is not there --------------------------------------------

# https://github.com/pictuga/morss/issues/72
BUSYBOX = "/bin/sh: can't open '/app/docker-entry.sh': No such file or directory\n" * 3


def test_busybox_sh_given_a_missing_script_is_command_not_found(crashing) -> None:
    f = only(run(*crashing(BUSYBOX)))
    assert f.reason is Reason.COMMAND_NOT_FOUND
    assert "/app/docker-entry.sh" in f.summary
    # a script's own redirect names the script and its line: no missing command (invented)
    line = "/app/run.sh: line 3: can't open '/data/in.txt': No such file or directory"
    assert generic_reading(line)[0] is not Reason.COMMAND_NOT_FOUND


# --- settings to provide: a product's name is no variable -------------------------------------


def test_a_product_name_after_provide_for_is_no_variable() -> None:
    """``set a token for GITHUB access``: the upper-case word is followed by the noun it
    qualifies (invented); the Langfuse sentence still names DATABASE_URL
    (tests/unit/test_holdout12_mechanisms.py)."""
    assert generic_reading("Error: token required; set a token for GITHUB access")[0] \
        is not Reason.MISSING_ENV
    assert generic_reading("FATAL: license key missing. Please provide a license key for "
                           "SONARQUBE server")[0] is not Reason.MISSING_ENV
    reason, groups = generic_reading("Required database environment variables are not set. "
                                     "Provide a postgres url for DATABASE_URL.")
    assert reason is Reason.MISSING_ENV and groups["variable"] == "DATABASE_URL"
    reason, groups = generic_reading("Error: API key missing. Set it in OPENAI_API_KEY "
                                     "environment variable")
    assert reason is Reason.MISSING_ENV and groups["variable"] == "OPENAI_API_KEY"


# --- logfmt: the pairs after a message whose quotes lost their escapes ------------------------


def test_pairs_after_an_unescaped_message_are_still_read() -> None:
    """A message read to its real closing quote leaves the pairs after it (invented lines in
    the shape of https://github.com/traefik/traefik/issues/2568)."""
    assert parse_logfmt('msg="get "x" failed" level=error') == {
        "msg": 'get "x" failed', "level": "error"}
    assert parse_logfmt('level=error msg="get "x" failed" err="boom"') == {
        "level": "error", "msg": 'get "x" failed', "err": "boom"}


def test_many_messages_whose_quotes_close_nowhere_cost_little() -> None:
    """Hostile: 5,000 lines of 256 ``msg="x"y`` pairs, no quote closing a message."""
    log = ('msg="x"y ' * 256 + "\n") * 5000
    began = time.perf_counter()
    for line in log.splitlines()[:200]:
        parse_logfmt(line)
    assert time.perf_counter() - began < 1.0


def test_hostile_logs_stay_cheap(crashing) -> None:
    """Each diagnosis stays well under 100 ms on 2 MB lines, 10,000 NCCL frames and 10,000
    lines above a failed write (invented)."""
    nccl = ("[3] include/shm.h:28 NCCL WARN Call to posix_fallocate failed : No space left "
            "on device\n")
    for log in ('level=error msg="' + 'a "b"c ' * 300000 + '"\n',
                "Error: required " + "x " * 1000000 + ". provide a for FOO\n",
                nccl * 10000,
                "[3] NCCL INFO x y\n" * 10000 + nccl,
                "If " + "a" * 2000000 + ", did you\n",
                ("If this is a GPU node, did you set it?\n" * 10000) + "Error: boom\n",
                "/bin/sh: can't open '" + "a" * 2000000 + "': No such file or directory\n"):
        objects, logs = crashing(log)
        began = time.perf_counter()
        findings = run(objects, logs)
        assert time.perf_counter() - began < 0.5, log[:40]
        assert len(findings) == 1
        assert evidence_text(findings[0])


# --- the error below a path-less failed write: the same writer, not the same first word --------


def test_an_unrelated_error_below_a_failed_write_is_not_what_it_wrote(crashing) -> None:
    """``_outer_error_below`` compared lines' first words: two lines opening with ``Error:``
    were read as one writer's, and an unrelated error became "what it was writing"
    (invented lines; NCCL's rank prefix still pairs, tests/unit/test_holdout13_mechanisms.py)."""
    log = "Error: ENOSPC: no space left on device, write\nError: Cannot find module 'x'\n"
    f = only(run(*crashing(log)))
    assert f.reason is Reason.DISK_FULL
    assert "Cannot find module" not in evidence_text(f)


# --- node-postgres's timeout through a promise library ----------------------------------------


def test_node_postgres_timeout_as_an_unhandled_rejection_is_unreachable(crashing) -> None:
    """Bluebird prints an unhandled rejection as ``Unhandled rejection Error: ...``; the
    frame is node-postgres's connect timer as in https://github.com/supabase/storage/pull/797
    (the prefix invented on its line)."""
    log = ("Unhandled rejection Error: timeout expired\n"
           "    at Timeout._onTimeout (/app/node_modules/pg/lib/client.js:108:28)\n"
           "    at listOnTimeout (node:internal/timers:588:17)\n")
    f = only(run(*crashing(log)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
