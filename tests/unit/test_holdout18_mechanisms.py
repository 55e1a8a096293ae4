"""The mechanism holdout round 18 of eval/realworld asked for (README, "Holdout round 18"):
operators and admission webhooks, home-lab applications. A controller's cause and the error
it then gave up on, each in its own words.

Every log is quoted from the public thread cited next to it; invented text says so.
"""

from __future__ import annotations

from helpers import evidence_text, only, run

from crashwatch.diagnosis.logcause import read_crash

# https://github.com/VictoriaMetrics/operator/issues/165
VMOPERATOR = (
    'E0219 07:13:05.190439       1 leaderelection.go:356] Failed to update lock: etcd'
    'server: request timed out\n'
    'I0219 07:13:06.180317       1 leaderelection.go:277] failed to renew lease monit'
    'oring/57410f0d.victoriametrics.com: timed out waiting for the condition\n'
    '{"level":"error","ts":1613718786.180378,"logger":"setup","msg":"problem running '
    'manager","error":"leader election lost","stacktrace":"github.com/go-logr/zapr.(*'
    'zapLogger).Error\\n\\tgithub.com/go-logr/zapr@v0.1.0/zapr.go:128\\ngithub.com/Victo'
    'riaMetrics/operator/internal/manager.RunManager\\n\\tgithub.com/VictoriaMetrics/op'
    'erator/internal/manager/manager.go:189\\nmain.main\\n\\tcommand-line-arguments/main'
    '.go:41\\nruntime.main\\n\\truntime/proc.go:204"}\n'
    '{"level":"error","ts":1613718786.1805472,"logger":"setup","msg":"cannot setup ma'
    'nager","error":"leader election lost","stacktrace":"github.com/go-logr/zapr.(*za'
    'pLogger).Error\\n\\tgithub.com/go-logr/zapr@v0.1.0/zapr.go:128\\nmain.main\\n\\tcomma'
    'nd-line-arguments/main.go:43\\nruntime.main\\n\\truntime/proc.go:204"}\n'
)


def test_the_error_the_process_gave_up_on_is_shown_with_its_cause(crashing) -> None:
    f = only(run(*crashing(VMOPERATOR)))
    assert f.summary.endswith("Failed to update lock: etcdserver: request timed out")
    assert "leader election lost" in evidence_text(f)


def test_a_generic_last_error_or_one_far_below_is_not_shown() -> None:
    # invented: the exit's words say nothing of their own
    log = ("ERROR failed to open /data/app.db: database is locked\n"
           + "".join(f"WARN retrying job {i} of the queue\n" for i in range(4))
           + "ERROR exiting\n")
    assert read_crash(log).telling == ["ERROR failed to open /data/app.db: database is locked"]
    # invented: seven lines that say something come after the cause; the last is no exit
    log = ("ERROR failed to open /data/app.db: database is locked\n"
           + "".join(f"WARN retrying job {i} of the queue\n" for i in range(6))
           + "ERROR job 7 of the queue failed: timeout\n")
    assert "job 7" not in " ".join(read_crash(log).telling[1:])
