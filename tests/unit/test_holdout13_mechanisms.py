"""The mechanisms holdout round 13 of eval/realworld asked for (README, "Holdout round 13"):
a GPU's memory is no runtime's heap; NCCL's WARN is its error level, its rank is no frame, and
the error below a path-less failed write says what was written; Cassandra's seed provider that
cannot look up its seed; advice after Go's log timestamp and in an ``If ..., did you`` line; a
child's exit code announcing its output below; a logfmt message whose inner quotes lost their
escapes; and a log that trips the reading never hides the failure.

Every log line is quoted from the public thread cited next to it; invented text says so.
"""

from __future__ import annotations

import pytest
from helpers import evidence_text, generic_reading, only, run

from crashwatch.diagnosis import engine, logcause
from crashwatch.diagnosis.logcause import read_crash
from crashwatch.diagnosis.logread import Level, parse_logfmt, prefix_level
from crashwatch.diagnosis.rules import crash
from crashwatch.model import Reason

# https://github.com/llm-d-incubation/llm-d-infra/pull/195 (its head line)
CUDA_OOM = ("ERROR 08-25 22:00:44 [core.py:632] torch.OutOfMemoryError: CUDA out of memory. "
            "Tried to allocate 330.00 MiB.\n"
            "GPU 0 has a total capacity of 22.03 GiB of which 319.12 MiB is free.\n")
# https://github.com/NVIDIA/nccl/issues/525
NCCL = ("[3] include/shm.h:28 NCCL WARN Call to posix_fallocate failed : No space left on device\n"
        "[3] NCCL INFO include/shm.h:41 -> 2\n"
        "[3] include/shm.h:48 NCCL WARN Error while creating shared memory segment "
        "nccl-shm-recv-1462445a6f01cbfc-1-2-3 (size 9637888)\n")
# https://github.com/temporalio/helm-charts/issues/747
SEEDS = (
    "WARN  [main] 2025-09-17 22:07:15,208 SimpleSeedProvider.java:60 - Seed provider couldn't "
    "lookup host temporaltest-cassandra-0.temporaltest-cassandra.datalakedemo.svc.cluster.local\n"
    "Exception (org.apache.cassandra.exceptions.ConfigurationException) encountered during "
    "startup: The seed provider lists no seeds.\n"
    "The seed provider lists no seeds.\n"
    "ERROR [main] 2025-09-17 22:07:15,210 CassandraDaemon.java:708 - Exception encountered "
    "during startup: The seed provider lists no seeds.\n")
# https://github.com/NVIDIA/gpu-operator/issues/250
NVML = (
    "2021/08/27 23:03:50 Loading NVML\n"
    "2021/08/27 23:03:50 Failed to initialize NVML: could not load NVML library.\n"
    "2021/08/27 23:03:50 If this is a GPU node, did you set the docker default runtime to "
    "`nvidia`?\n"
    "2021/08/27 23:03:50 You can check the prerequisites at: "
    "https://github.com/NVIDIA/k8s-device-plugin#prerequisites\n"
    "2021/08/27 23:03:50 You can learn how to set the runtime at: "
    "https://github.com/NVIDIA/k8s-device-plugin#quick-start\n"
    "2021/08/27 23:03:50 If this is not a GPU node, you should set up a toleration or "
    "nodeSelector to only deploy this plugin on GPU nodes\n")
# https://github.com/kubernetes-retired/dashboard/issues/8967
KONG = (
    "Error: could not prepare Kong prefix at /kong_prefix: nginx configuration is invalid "
    "(exit code 1):\n"
    'nginx: [warn] the "user" directive makes sense only if the master process runs with '
    "super-user privileges, ignored in /kong_prefix/nginx.conf:7\n"
    "nginx: the configuration file /kong_prefix/nginx.conf syntax is ok\n"
    "nginx: [emerg] bind() to [::1]:8444 failed (99: Cannot assign requested address)\n"
    "nginx: configuration file /kong_prefix/nginx.conf test failed\n")
# https://github.com/traefik/traefik/issues/2568 (the reporter's line, inner escapes lost)
TRAEFIK = (
    "msg=\"Error preparing server: get directory at 'https://acme-v01.api.letsencrypt.org/"
    "directory': failed to get json \"https://acme-v01.api.letsencrypt.org/directory\": Get "
    "https://acme-v01.api.letsencrypt.org/directory: net/http: request canceled while waiting "
    "for connection (Client.Timeout exceeded while awaiting headers)\"\n")


def test_a_gpus_memory_is_no_runtimes_heap(crashing) -> None:
    f = only(run(*crashing(CUDA_OOM)))
    assert f.reason is Reason.APP_ERROR
    assert "CUDA out of memory" in evidence_text(f)
    # a JVM's heap still is one (invented line in the JVM's words)
    assert generic_reading("java.lang.OutOfMemoryError: Java heap space")[0] is \
        Reason.HEAP_EXHAUSTED


def test_nccls_warn_is_an_error_and_the_line_below_says_what_was_written(crashing) -> None:
    assert prefix_level(NCCL.splitlines()[0]) is Level.ERROR
    f = only(run(*crashing(NCCL)))
    assert f.reason is Reason.DISK_FULL
    text = evidence_text(f)
    assert "No space left on device" in text and "nccl-shm-recv" in text


def test_a_seed_that_cannot_be_looked_up_is_unreachable(crashing) -> None:
    f = only(run(*crashing(SEEDS, exit_code=3)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert ("temporaltest-cassandra-0.temporaltest-cassandra.datalakedemo.svc.cluster.local"
            in f.summary)


def test_advice_after_gos_timestamp_tells_less_than_what_failed() -> None:
    assert read_crash(NVML).telling[0].endswith(
        "Failed to initialize NVML: could not load NVML library.")


def test_a_childs_exit_code_announcing_its_output_defers_to_that_output() -> None:
    telling = read_crash(KONG).telling
    assert telling[0] == "nginx: [emerg] bind() to [::1]:8444 failed (99: Cannot assign " \
        "requested address)"


def test_a_logfmt_message_whose_inner_quotes_lost_their_escapes_is_read_whole(crashing) -> None:
    record = parse_logfmt(TRAEFIK.strip())
    assert record is not None and record["msg"].endswith("awaiting headers)")
    f = only(run(*crashing(TRAEFIK)))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert "Client.Timeout exceeded" in evidence_text(f)
    # well-formed pairs after a message are still pairs (invented)
    assert parse_logfmt('msg="a \\"b\\" c" level=error') == {"msg": 'a "b" c', "level": "error"}


def test_a_log_that_trips_the_reading_never_hides_the_failure(
        crashing, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in reading one log (this test makes every reading raise) leaves the container
    diagnosed from its status, not dropped (before, the engine skipped the pod: a Traefik
    line of this round made the logfmt reading raise, and the case had no finding)."""
    def broken(*_a: object, **_k: object) -> object:
        raise RuntimeError("a bug in the log reading")

    monkeypatch.setattr(crash, "read_crash", broken)
    monkeypatch.setattr(logcause, "read_crash", broken)
    f = only(run(*crashing("anything\n")))
    assert f.reason is Reason.APP_ERROR
    assert f.pod == "web-7d9c5b8f6d-x2x9k"


def test_a_diagnosis_that_raises_on_its_log_is_made_again_without_it(
        crashing, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any step that handles the log raising (here, bounding it) costs the log, not the
    finding: the engine diagnoses the pod again without logs."""
    def broken(*_a: object, **_k: object) -> str:
        raise RuntimeError("a bug in handling the log")

    monkeypatch.setattr(engine, "bound_log", broken)
    f = only(run(*crashing("anything\n")))
    assert f.reason is Reason.APP_ERROR
    assert "no log was available" in f.summary
