"""Issue #13, item 1: logs read the way they are written. Each line is normalised (ANSI,
CRI and --timestamps prefixes, klog headers), JSON and logfmt records are matched on their
message and error with escapes undone, and an API server's answer about logs is no log.

Log text quoted from public threads carries the thread's URL next to it.
"""

from __future__ import annotations

import json

import pytest
from helpers import evidence_text, only, run

from crashwatch.diagnosis.logread import (
    Level,
    is_api_answer,
    level_of,
    parse_logfmt,
    read_log,
)
from crashwatch.model import Reason

# issue #13's example of a Go service's zap line
ZAP = ('{"level":"fatal","ts":1732098581.2,"caller":"cmd/main.go:41","msg":"config: required '
       'environment variable \\"OIDC_CLIENT_SECRET\\" is not set"}\n')
# https://github.com/grafana/loki/issues/599
LOKI_LOGFMT = ('level=error ts=2019-05-17T12:36:27.607054242Z caller=main.go:46 msg="error loading '
               'config" filename=/etc/loki/loki.yaml err="parsing time \\"0\\" as '
               '\\"2006-01-02\\": cannot parse \\"0\\" as \\"2006\\""\n')
# https://github.com/apecloud/kubeblocks/issues/2003 (Prometheus, logfmt)
PROMETHEUS_LOGFMT = ('ts=2023-03-21T09:44:48.040Z caller=main.go:1159 level=error '
                     'err="opening storage failed: lock DB directory: open /data/lock: no space '
                     'left on device"\n')


def test_a_zap_record_is_matched_on_its_message_with_escapes_undone(crashing):
    f = only(run(*crashing(ZAP)))
    assert f.reason is Reason.MISSING_ENV
    assert f.details["variable"] == "OIDC_CLIENT_SECRET"
    assert 'required environment variable "OIDC_CLIENT_SECRET" is not set' in evidence_text(f)
    assert '\\"' not in evidence_text(f)


def test_logfmt_records_give_their_message_and_error():
    (line,) = read_log(LOKI_LOGFMT)
    assert line.structured and line.level is Level.ERROR
    # the file the record names in a field of its own comes with the message it is about
    assert line.text == ('error loading config (/etc/loki/loki.yaml): parsing time "0" as '
                         '"2006-01-02": cannot parse "0" as "2006"')


def test_a_logfmt_error_names_the_errno_text(crashing):
    f = only(run(*crashing(PROMETHEUS_LOGFMT)))
    assert f.reason is Reason.DISK_FULL
    assert f.details["path"] == "/data/lock"


def test_the_logfmt_parser_keeps_quoted_values_and_escapes():
    assert parse_logfmt('level=warn msg="a \\"quoted\\" word" n=3 flag') == {
        "level": "warn", "msg": 'a "quoted" word', "n": "3"}
    assert parse_logfmt("GET /healthz 200 level") is None  # not key=value first
    assert parse_logfmt("a=1 b=2") is None  # no level, message or error key
    assert parse_logfmt('msg="unterminated') == {"msg": "unterminated"}


@pytest.mark.parametrize(("record", "level", "text"), [
    # bunyan/pino: numeric levels, err {type, message, stack}
    ({"level": 60, "time": 1, "msg": "boot failed", "err": {
        "type": "Error", "message": "connect ECONNREFUSED 10.0.0.7:5432",
        "stack": "Error: connect ECONNREFUSED 10.0.0.7:5432\n    at TCPConnectWrap"}},
     Level.FATAL, "boot failed: Error: connect ECONNREFUSED 10.0.0.7:5432"),
    # zerolog
    ({"level": "error", "error": "dial tcp: lookup db: no such host", "message": "cannot start"},
     Level.ERROR, "cannot start: dial tcp: lookup db: no such host"),
    # ECS (dotted and nested)
    ({"@timestamp": "x", "log.level": "error", "message": "startup failed",
      "error": {"type": "java.net.UnknownHostException", "message": "kafka-0"}},
     Level.ERROR, "startup failed: java.net.UnknownHostException: kafka-0"),
    ({"log": {"level": "warn"}, "message": "slow"}, Level.WARN, "slow"),
    # Serilog compact: the message template filled from the record
    ({"@t": "x", "@l": "Fatal", "@mt": "Cannot bind {Port}", "Port": 80},
     Level.FATAL, "Cannot bind 80"),
    # Serilog JSON formatter
    ({"Level": "Error", "RenderedMessage": "Host terminated", "Exception":
      "System.IO.IOException: Read-only file system : '/app/data'"},
     Level.ERROR, "Host terminated: System.IO.IOException: Read-only file system : '/app/data'"),
    # GCP / logstash-logback
    ({"severity": "CRITICAL", "message": "x", "stack_trace": "java.lang.Error: y\n\tat a.b(C)"},
     Level.FATAL, "x"),
    # structlog
    ({"event": "worker crashed", "level": "error", "exception": "Traceback (most recent call "
      "last):\n  File \"w.py\", line 1, in <module>\nKeyError: 'QUEUE_URL'"},
     Level.ERROR, "worker crashed"),
    # MongoDB: severity s, the error one level down in attr
    ({"t": {"$date": "x"}, "s": "E", "c": "STORAGE", "msg": "WiredTiger error",
      "attr": {"error": 1, "message": "open: Operation not permitted"}},
     Level.ERROR, "WiredTiger error: open: Operation not permitted"),
])
def test_structured_records_of_the_common_loggers(record, level, text):
    lines = read_log(json.dumps(record))
    assert lines[0].level is level
    assert lines[0].text == text


def test_an_exception_field_becomes_lines_of_its_own():
    record = {"event": "worker crashed", "level": "error", "exception": (
        "Traceback (most recent call last):\n  File \"/app/w.py\", line 3, in <module>\n"
        "    url = os.environ['QUEUE_URL']\nKeyError: 'QUEUE_URL'")}
    texts = [line.text for line in read_log(json.dumps(record))]
    assert texts[0] == "worker crashed"
    assert texts[1] == "Traceback (most recent call last):"
    assert texts[-1] == "KeyError: 'QUEUE_URL'"


def test_prefixes_and_colours_are_stripped_before_matching(crashing):
    log = (
        "2026-11-20T10:29:39.512345678Z stderr F \x1b[31mFATAL\x1b[0m: \x1b]0;x\x07"
        "VAULT_ADDR must be set\n"
        "2026-11-20T10:29:39.6Z stderr P partial start of a \n"
        "2026-11-20T10:29:39.7Z stderr F line that continues\n"
    )
    lines = read_log(log)
    assert [line.text for line in lines] == [
        "FATAL: VAULT_ADDR must be set", "partial start of a line that continues"]
    assert lines[0].level is Level.FATAL
    f = only(run(*crashing(log)))
    assert f.details["variable"] == "VAULT_ADDR"


def test_a_klog_header_gives_the_level_and_the_message():
    # https://github.com/kubernetes/ingress-nginx/issues/2062
    (line,) = read_log("F0210 01:36:39.123645       5 main.go:59] Port 80 is already in use.\n")
    assert line.level is Level.FATAL
    assert line.text == "Port 80 is already in use."


def test_dockers_json_file_wrapper_is_unwrapped():
    raw = json.dumps({"log": '{"level":"error","msg":"boom"}\n', "stream": "stderr",
                      "time": "2026-11-20T10:29:39Z"})
    (line,) = read_log(raw)
    assert (line.text, line.level, line.structured) == ("boom", Level.ERROR, True)


@pytest.mark.parametrize("value", [60, "60", "fatal", "F", "CRITICAL", "panic", 2])
def test_level_names_numbers_and_letters(value):
    assert level_of(value) is Level.FATAL


@pytest.mark.parametrize("answer", [
    # /work/shared/REAL-NODE.md: a real 1.36 kubelet's answer while the state is terminated
    "unable to retrieve container logs for containerd://55d7a42bb61dd7d610f21189cc30ceb9bcc5697"
    "6dd088ec10533484c1b907cb4",
    'Error from server (BadRequest): previous terminated container "app" in pod "crash" '
    "not found",
    'container "app" in pod "cm-missing" is waiting to start: CreateContainerConfigError',
    'failed to try resolving symlinks in path "/var/log/pods/shop_web_1/app/2.log": lstat '
    "/var/log/pods/shop_web_1/app/2.log: no such file or directory",
])
def test_an_api_answer_about_logs_is_no_log(crashing, answer):
    assert is_api_answer(answer)
    f = only(run(*crashing(answer)))
    assert f.reason is Reason.APP_ERROR
    assert "no log was available" in f.summary
    assert "containerd://" not in evidence_text(f)


def test_a_log_that_mentions_such_an_answer_is_still_a_log():
    log = "starting\nunable to retrieve container logs for docker://abc\nFATAL: X_Y must be set\n"
    assert not is_api_answer(log)


def test_a_plain_line_continuing_an_error_record_takes_its_level():
    # https://github.com/pires/kubernetes-elasticsearch-cluster/issues/137
    lines = read_log(
        "ERROR: [1] bootstrap checks failed\n"
        "[1]: max virtual memory areas vm.max_map_count [65530] is too low, increase to at "
        "least [262144]\n"
        "[2017-09-29T09:33:20,559][INFO ][o.e.n.Node               ] [es-data1-0] stopping ...\n")
    assert [line.level for line in lines] == [Level.ERROR, Level.ERROR, Level.INFO]
