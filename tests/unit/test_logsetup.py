"""kopf's and the HTTP clients' repeated complaints while the API server is away are folded:
one line per kind of complaint per minute, the next saying how many were folded; crashwatch's
own lines and anything below WARNING pass untouched."""

import logging

from crashwatch.logsetup import Repeats


def _record(name: str, level: int, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_an_outage_makes_one_line_per_minute_per_complaint_not_one_per_retry():
    now = [0.0]
    f = Repeats(every=60, clock=lambda: now[0])
    passed = []
    for attempt in range(1, 10):
        for resource in ("pods", "events", "replicasets", "deployments"):
            rec = _record("kopf._cogs.clients.watching", logging.ERROR,
                          "Request attempt #%d/9 failed; will retry: GET "
                          "https://127.0.0.1:52499/api/v1/%s?watch=true -> "
                          "ClientConnectorError", attempt, resource)
            if f.filter(rec):
                passed.append(rec.getMessage())
        now[0] += 5
    assert len(passed) == 1
    now[0] += 60
    rec = _record("kopf._cogs.clients.watching", logging.ERROR,
                  "Request attempt #1/9 failed; will retry: GET https://x/api/v1/pods -> "
                  "ClientConnectorError")
    assert f.filter(rec) and rec.getMessage().endswith("(and 35 more like it)")


def test_crashwatch_lines_and_quiet_levels_are_never_folded():
    f = Repeats(every=60, clock=lambda: 0.0)
    for _ in range(3):
        assert f.filter(_record("crashwatch.kube", logging.WARNING, "annotate failed"))
        assert f.filter(_record("kopf.objects", logging.INFO, "Handler succeeded"))
