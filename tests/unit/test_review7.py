"""Review of the seventh holdout round's mechanisms: where they over-matched, under-matched
or cost more than the engine's bounds allow.

Log text quoted from public threads carries the thread's URL next to it.
"""

from __future__ import annotations

from helpers import generic_reading, only, run

from crashwatch.diagnosis.generic import host_and_port
from crashwatch.diagnosis.logread import Level, read_log
from crashwatch.diagnosis.rules import crash
from crashwatch.model import Reason

# grpc-js's connect deadline with no address in the log
# (https://github.com/tryretool/retool-helm/issues/111), in a Next.js server whose every
# frame says ``next``
NEXT_APP = (
    "Error: Failed to connect before the deadline\n"
    " at checkState (/app/node_modules/@grpc/grpc-js/build/src/client.js:77:26)\n"
    " at /app/node_modules/next/dist/server/next-server.js:12:3\n")


def with_env(objects: list[dict], env: list[dict[str, str]]) -> list[dict]:
    objects[0]["spec"]["containers"][0]["env"] = env
    return objects


def test_a_framework_word_in_the_log_vouches_for_no_public_url(crashing) -> None:
    # Next.js's browser-exposed settings (``NEXT_PUBLIC_*``) hold the app's own public URL
    objects, logs = crashing(NEXT_APP)
    with_env(objects, [{"name": "NEXT_PUBLIC_SITE_URL", "value": "https://shop.example.com"},
                       {"name": "DATABASE_HOST", "value": "shop-db"}])
    f = only(run(objects, logs))
    assert f.reason is Reason.DEPENDENCY_UNREACHABLE
    assert f.details["configuredPeers"] == ["DATABASE_HOST=shop-db"]


def test_the_word_the_log_says_in_the_address_still_vouches(crashing) -> None:
    objects, logs = crashing(NEXT_APP.replace("next", "temporalio"))
    with_env(objects, [{"name": "DATABASE_HOST", "value": "shop-db"},
                       {"name": "WORKFLOW_TEMPORAL_CLUSTER_FRONTEND_HOST",
                        "value": "retool-temporal-services-helm-frontend"}])
    assert only(run(objects, logs)).details["configuredPeers"] == [
        "WORKFLOW_TEMPORAL_CLUSTER_FRONTEND_HOST=retool-temporal-services-helm-frontend",
        "DATABASE_HOST=shop-db"]


def test_an_env_name_of_many_words_is_looked_for_by_its_first_words_only(
        crashing, monkeypatch) -> None:
    # each word of a name is a search of the whole log: a hostile name of thousands of
    # words must not cost thousands of searches
    searched: list[str] = []

    class Log(str):
        def __contains__(self, word: object) -> bool:
            searched.append(str(word))
            return str.__contains__(self, word)

    name = "_".join(f"WORD{j}" for j in range(5000)) + "_HOST"
    words = crash._owner_words(name, Log("word1 word2 " * 10))
    assert words == ["word1", "word2"]
    assert len(searched) <= crash.PEER_NAME_WORDS
    objects, logs = crashing(NEXT_APP)
    with_env(objects, [{"name": name, "value": "shop-db"}])
    assert only(run(objects, logs)).reason is Reason.DEPENDENCY_UNREACHABLE


def test_a_torn_tail_whose_cut_value_says_the_failure_is_read_as_it_reads(crashing) -> None:
    # Temporal's records (https://github.com/airbytehq/airbyte/issues/16437) cut inside
    # the value that says what failed
    tail = ('"Could not open /data/db.lock: permission denied",'
            '"logging-call-at":"server.go:123"}\n')
    line = only(read_log(tail))
    assert line.level is not Level.DEBUG and not line.structured
    f = only(run(*crashing(tail)))
    assert f.reason is Reason.PERMISSION_DENIED
    assert f.details["path"] == "/data/db.lock"
    # a dial that timed out says so without an error word
    timeout = '"dial tcp 10.1.2.3:5432: i/o timeout","logging-call-at":"server.go:123"}\n'
    assert only(run(*crashing(timeout))).reason is Reason.DEPENDENCY_UNREACHABLE
    # a tail whose cut value says nothing still says nothing
    quiet = '"Starting server for services","logging-call-at":"server.go:123"}'
    assert only(read_log(quiet)).level is Level.DEBUG


def test_a_json_bodys_quoted_403_is_no_file_permission() -> None:
    # Google's API error body (https://github.com/google/generative-ai-docs/issues/356)
    # as a JSON logger writes it, on one line
    body = ('{"error":{"code":403,"message":"Permission denied: Consumer \'api_key:X\' has '
            'been suspended.","status":"PERMISSION_DENIED"}}')
    assert generic_reading(body)[0] is None
    assert generic_reading(body.replace("'", '"').replace('"code":403', "'code': 403"))[0] \
        is None
    assert generic_reading("open /data/x: permission denied")[0] is Reason.PERMISSION_DENIED


def test_a_source_file_at_the_end_of_a_path_is_no_host_whatever_its_dots() -> None:
    # gunicorn's default configuration file is ``gunicorn.conf.py``
    # (https://github.com/mozilla/fx-private-relay/pull/4884), named by its path
    # (``/root/wgdashboard/src/gunicorn.conf.py``,
    # https://github.com/WGDashboard/WGDashboard/issues/178); Python's warnings name a file
    # and its line as ``/app/gunicorn.conf.py:12: ...``
    assert host_and_port("/app/gunicorn.conf.py:12: ConnectionRefusedError: [Errno 111] "
                         "Connection refused") == {}
    assert host_and_port("/srv/lib/proto/api.pb.cc:120 connect failed") == {}
    # a URL's host of the same shape is still a host
    assert host_and_port("dial http://db.example.pl:5432 refused") == {
        "host": "db.example.pl", "port": "5432"}
    assert host_and_port("connect to db.example.pl:5432 failed") == {
        "host": "db.example.pl", "port": "5432"}
