"""Review of the holdout-16 mechanisms (native sidecars, env doubts, f91b6fc): the false
positives, false negatives and costs found in them, each with the line that shows it.

Lines quoted from public threads carry their URL; invented lines say so.
"""

from __future__ import annotations

import time
from typing import Any

import kube as k
from helpers import generic_reading, only, run

from crashwatch.diagnosis.engine import is_quiet_status
from crashwatch.diagnosis.logcause import read_crash
from crashwatch.diagnosis.logread import read_log
from crashwatch.model import Reason
from crashwatch.watch.store import is_quiet


def _crashing(log: str, exit_code: int = 1) -> tuple[list[dict[str, Any]],
                                                       dict[tuple[str, str, str], str]]:
    c = k.container(name="app")
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, k.terminated("Error",
                                                                              exit_code))]
    return [p], {("shop", p["metadata"]["name"], "app"): log}


# --- native sidecars ---------------------------------------------------------------------

def _job_pod(phase: str, app_exit: int, sidecar_exit: int) -> dict[str, Any]:
    """A Job's pod whose app container has exited and whose native sidecar the kubelet then
    stopped (SIGTERM, 143; or SIGKILL after the grace period, 137), before the phase moves
    on from Running."""
    proxy = k.container(name="proxy", restartPolicy="Always")
    app = k.container(name="job")
    p = k.pod(name="backup-28912345-abcde", containers=[app], init_containers=[proxy],
              owner=("Job", "backup-28912345"), phase=phase)
    p["status"]["containerStatuses"] = [
        k.crashed_status(app, k.terminated("Completed" if app_exit == 0 else "Error", app_exit,
                                           finished_ago=5, ran_for=60), restarts=0)]
    p["status"]["initContainerStatuses"] = [
        k.crashed_status(proxy, k.terminated("Error", sidecar_exit, finished_ago=3,
                                             ran_for=70), restarts=0)]
    return p


def test_a_sidecar_the_kubelet_stops_after_the_jobs_app_exits_is_no_finding() -> None:
    for code in (143, 137):
        p = _job_pod("Running", 0, code)
        assert run([p], {("shop", p["metadata"]["name"], "proxy"): "shutting down\n"}) == []


def test_a_failed_jobs_app_is_the_finding_not_its_stopped_sidecar() -> None:
    p = _job_pod("Running", 1, 143)
    logs = {("shop", p["metadata"]["name"], "job"): "Error: backup failed\n",
            ("shop", p["metadata"]["name"], "proxy"): "shutting down\n"}
    assert [f.container for f in run([p], logs)] == ["job"]


def _beside_a_running_app(term: dict[str, Any], restarts: int) -> dict[str, Any]:
    """A pod whose app runs and whose native sidecar ``proxy`` just exited with ``term``."""
    proxy = k.container(name="proxy", restartPolicy="Always")
    app = k.container()
    p = k.pod(containers=[app], init_containers=[proxy])
    p["status"]["containerStatuses"] = [k.running_status(app)]
    p["status"]["initContainerStatuses"] = [k.crashed_status(proxy, term, restarts=restarts)]
    return p


def test_a_sidecar_that_crashes_beside_a_running_app_is_still_diagnosed() -> None:
    p = _beside_a_running_app(k.terminated("Error", 137, finished_ago=3), restarts=0)
    assert not is_quiet_status(p["status"])
    assert only(run([p])).container == "proxy"


# --- logfmt values over several lines (logread._logfmt_values) ---------------------------

def test_records_that_each_end_in_an_empty_open_value_stay_apart() -> None:
    # invented: a logger that cut each record at an empty quoted value
    log = "".join(f'ts=2024-05-01T10:00:0{i}Z caller=x.go:{i} level=error msg="boom {i}" '
                  'err="\n' for i in range(3))
    lines = read_log(log)
    assert [line.text.count("boom") for line in lines] == [1, 1, 1]
    assert len({line.record for line in lines}) == 3


def test_an_unclosed_value_does_not_swallow_the_records_below_it() -> None:
    # invented: a value never closed (a truncated line), then records of their own
    log = ('level=error msg="cannot load plugin" err="open /plugins/x.so: no such file\n'
           'level=info msg="retrying in 5s"\n'
           'level=info msg="shutting down"\n')
    lines = read_log(log)
    assert [line.record for line in lines] == [1, 2, 3]
    assert sum("shutting down" in line.text for line in lines) == 1


def test_a_multi_line_value_with_go_frames_is_read_as_its_error_not_its_last_frame() -> None:
    # invented in the shape of Mimir's (https://github.com/dudo/turing-pi/issues/6): an
    # error the rules do not know, then the frames pkg/errors prints with %+v
    log = ('ts=2023-08-06T17:09:26Z caller=log.go:65 level=error msg="error running '
           'application" err="\n'
           '  failed to frobnicate the widget store: widget counter overflow\n'
           '  github.com/grafana/dskit/modules.(*Manager).initModule\n'
           '    /__w/mimir/mimir/vendor/github.com/grafana/dskit/modules/modules.go:138\n'
           '  runtime.main\n'
           '    /usr/local/go/src/runtime/proc.go:250"\n')
    f = only(run(*_crashing(log)))
    assert "widget counter overflow" in f.summary
    assert "proc.go:250" not in f.summary


# --- generic: missing-config-field ---------------------------------------------------------

def test_a_manifests_schema_validation_is_no_missing_setting() -> None:
    # https://github.com/Pelado-Nerdworks/peladonerd/pull/118 (kubectl apply in a Job)
    line = ('error: error validating "03-fluentd-daemonset.yaml": error validating data: '
            'ValidationError(DaemonSet.spec): missing required field "selector" in '
            'io.k8s.api.apps.v1.DaemonSetSpec; if you choose to ignore these errors, turn '
            'validation off with --validate=false')
    assert generic_reading(line)[0] is not Reason.MISSING_ENV


def test_an_api_answer_about_settings_that_lacks_a_field_is_no_missing_setting() -> None:
    # invented, in the words of https://github.com/llm-edge/hal-9100/issues/96
    # ("Deserialization Error: missing field `id` at line 8 column 1")
    line = ("failed to fetch settings from API: Deserialization Error: missing field "
            "`id` at line 8 column 1")
    assert generic_reading(line)[0] is not Reason.MISSING_ENV
    # still one: the configuration's own missing field (https://github.com/k8sstormcenter/
    # soc/issues/15)
    assert generic_reading("ERROR vector::cli: Configuration error. error=missing field "
                           "`topics`") == (Reason.MISSING_ENV, {"variable": "topics"})


def test_a_report_that_a_config_file_has_no_errors_is_no_missing_setting() -> None:
    # invented: a checker's and a reloader's reports
    for line in ("no errors found in config file.", "No changes in config file, skipping reload",
                 "no issues in configuration file"):
        assert generic_reading(line)[0] is None, line


# --- generic: a runner that cannot execute a program ---------------------------------------

def test_chroot_in_a_utf8_locale_and_busyboxs_chroot_are_read() -> None:
    for line, name in (
            # https://github.com/tongchen126/Boot-Debian-On-Litex-Rocket/issues/3
            ("chroot: failed to run command \u2018/bin/bash\u2019: No such file or directory",
             "/bin/bash"),
            # https://github.com/emmett1/lfs-scripts/issues/22
            ("chroot: failed to run command \u2018/usr/bin/env\u2019: No such file or directory",
             "/usr/bin/env"),
            # https://github.com/ovo-Tim/Youdao-DictPenS6P/issues/1
            ("chroot: can't execute '/bin/bash': No such file or directory", "/bin/bash")):
        assert generic_reading(line) == (Reason.COMMAND_NOT_FOUND, {"command": name}), line


# --- chains: a ``[N] `` line that is no frame ---------------------------------------------

def test_nats_server_without_log_times_is_read_as_its_records() -> None:
    # invented: nats-server run with -logtime=false (its records are ``[pid] [LVL] ...``,
    # https://github.com/nats-io/k8s/issues/896 with the date left out)
    log = ("[7] [INF] Starting JetStream\n"
           "[7] [FTL] Can't start JetStream: could not create storage directory - mkdir /data: "
           "permission denied\n")
    f = only(run(*_crashing(log)))
    assert f.reason is Reason.PERMISSION_DENIED
    assert f.details["path"] == "/data"


def test_a_process_id_before_a_dashed_date_is_no_frame() -> None:
    # invented: the same record with an ISO date
    log = ("[40] 2024-04-26 18:15:07.716450 [FTL] Can't start JetStream: could not create "
           "storage directory - mkdir /data: permission denied\n")
    assert only(run(*_crashing(log))).reason is Reason.PERMISSION_DENIED


# --- logcause: a line above that restates the error --------------------------------------

def test_a_short_common_panic_value_in_an_unrelated_line_above_is_not_shown_with_it() -> None:
    # invented: a lease renewal that timed out earlier, then a panic elsewhere whose value
    # is the same three words (the words of https://github.com/rancher/rancher/issues/33685)
    log = ("E0719 19:15:20.421340      36 leaderelection.go:361] Failed to update lock: Put "
           "\"https://10.43.0.1:443/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/"
           "x?timeout=10s\": context deadline exceeded\n"
           "I0719 19:15:21.000000      36 sync.go:40] synced 12 objects\n"
           "panic: context deadline exceeded\n"
           "\n"
           "goroutine 1 [running]:\n"
           "main.main()\n"
           "\t/app/main.go:155 +0xf27\n")
    assert not any("Failed to update lock" in t for t in read_crash(log).telling)


def test_hostile_logs_for_the_round_16_mechanisms_stay_cheap() -> None:
    """Each diagnosis stays well under 100 ms (the bound is loose for a loaded machine):
    10,000 lines each ending in ``err="``, 10,000 cut values, 2 MB lines, 10,000 ``Error:
    P1234`` lines, 10,000 ``[N] [FTL]`` records (invented)."""
    for log in ("".join(f'ts=2024-05-01T10:00:00Z level=error msg="boom {i}" err="\n'
                        for i in range(10000)),
                "".join(f'level=info msg="foo bar {i}\n' for i in range(10000)),
                'level=error err="' + "a " * 1_000_000 + "\n",
                "x" * 2_000_000 + ' err="\n',
                "Error: P1234\n" * 10000,
                "Error: P1234\n\nmigrate found failed migrations\n" * 3000,
                "[7] [FTL] Can't start: mkdir /data: permission denied\n" * 10000,
                "".join(f"/etc/nats.conf:{i}:1: interface conversion: interface {{}} is bool\n"
                        for i in range(10000))):
        objects, logs = _crashing(log)
        run(objects, logs)
        began = time.perf_counter()
        run(objects, logs)
        assert time.perf_counter() - began < 0.5, log[:40]


def test_a_field_missing_from_a_configuration_file_is_not_suggested_as_an_env_variable() -> None:
    # https://github.com/dudo/turing-pi/issues/6 (Mimir), https://github.com/k8sstormcenter/
    # soc/issues/15 (Vector): the suggestion was set-env with variable 's3 endpoint'
    for log, field in (("failed to create bucket client: no s3 endpoint in config file\n",
                        "s3 endpoint"),
                       ("ERROR vector::cli: Configuration error. error=missing field `topics`\n",
                        "topics")):
        f = only(run(*_crashing(log)))
        assert f.reason is Reason.MISSING_ENV and f.details["variable"] == field
        assert f.remediation == {"action": "set-config", "container": "app", "field": field}


def _init_failed_once_pod() -> dict[str, Any]:
    """A pod whose regular init container failed once (its dependency was not up yet), then
    completed; its app has run, ready, for an hour."""
    init = k.container(name="wait-db")
    app = k.container()
    p = k.pod(containers=[app], init_containers=[init])
    p["status"]["containerStatuses"] = [k.running_status(app, started_ago=3000)]
    completed = k.crashed_status(init, k.terminated("Completed", 0, finished_ago=3001, ran_for=20),
                                 restarts=1, last=k.terminated("Error", 1, finished_ago=3100,
                                                               ran_for=5, instance=1))
    completed["ready"] = True  # the kubelet's mark of an init container that completed
    p["status"]["initContainerStatuses"] = [completed]
    return p


def test_a_regular_init_container_that_failed_once_then_completed_keeps_the_pod_quiet() -> None:
    """Before native sidecars were read its pod was quiet; since, it was kept by the watch
    and diagnosed on every pass for nothing (invented; a common wait-for-db pattern)."""
    p = _init_failed_once_pod()
    assert is_quiet_status(p["status"], p["spec"])
    assert is_quiet(p)
    assert run([p]) == []


def test_a_sidecar_that_keeps_exiting_0_is_no_quiet_pod() -> None:
    p = _beside_a_running_app(k.terminated("Completed", 0, finished_ago=3), restarts=4)
    assert not is_quiet_status(p["status"], p["spec"])
    assert not is_quiet_status(p["status"])


def test_the_toml_crates_report_of_a_missing_field_is_a_missing_setting() -> None:
    # https://github.com/cea-sec/openwec/issues/112: the toml crate says the field on a line
    # of its own, below the file's position
    log = ("An error occurred: Failed to retrieve configuration: TOML parse error at line 1, "
           "column 1\n"
           "  |\n"
           "1 | # /etc/openwec.conf.toml\n"
           "  | ^\n"
           "missing field `logging`\n")
    f = only(run(*_crashing(log)))
    assert f.reason is Reason.MISSING_ENV and f.details["variable"] == "logging"
    # https://github.com/tisonkun/morax/pull/17 (indented, under error-stack's report)
    log = ("Error: failed to parse config content\n"
           "\u251c\u2574at cmd/morax/src/command.rs:66:18\n"
           "\u2502\n"
           "\u2570\u2500\u25b6 TOML parse error at line 18, column 1\n"
           "       |\n"
           "    18 | [server.kafka_broker]\n"
           "       | ^^^^^^^^^^^^^^^^^^^^^\n"
           "    missing field `listen_addr`\n"
           "    \u2570\u2574at cmd/morax/src/command.rs:66:18\n")
    f = only(run(*_crashing(log)))
    assert f.reason is Reason.MISSING_ENV and f.details["variable"] == "listen_addr"
    # serde_json's words about an API's answer stay no setting (the line says where in the
    # answer: https://github.com/llm-edge/hal-9100/issues/96)
    assert generic_reading("missing field `id` at line 8 column 1")[0] is None
