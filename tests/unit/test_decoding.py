"""kopf's watch streams decoded by orjson (crashwatch/watch/decoding.py), held to the kopf the
lock file pins: kopf's own api.stream, over a fake HTTP answer, yields the same objects as
with the standard library, and what orjson refuses is decoded as before."""

import asyncio
import inspect
import json
from importlib import metadata

import kube as k
import pytest
from kopf._cogs.clients import api

from crashwatch.watch import decoding, listings


@pytest.fixture
def installed():
    assert decoding.install()
    yield
    decoding.uninstall()


class FakeContent:
    def __init__(self, data: bytes):
        self.data = data

    async def iter_chunked(self, size):
        for i in range(0, len(self.data), 1000):  # lines split across chunks
            yield self.data[i:i + 1000]


class FakeResponse:
    def __init__(self, data: bytes):
        self.content = FakeContent(data)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return None

    def close(self):
        pass


def stream_of(lines: list[bytes], monkeypatch) -> list[object]:
    async def request(**kwargs):
        return FakeResponse(b"\n".join(lines) + b"\n")
    monkeypatch.setattr(api, "request", request)

    async def go():
        return [e async for e in api.stream("/api/v1/pods?watch=true", settings=None,
                                           logger=None)]
    return asyncio.run(go())


def test_the_pinned_kopf_decodes_its_streams_with_its_modules_json():
    assert api.json is json
    source = inspect.getsource(api.stream)
    assert "json.loads(line.decode('utf-8'))" in source
    assert api.stream.__globals__ is vars(api)  # looked up when a line is decoded
    assert metadata.version("kopf").startswith(listings.KOPF_VERSIONS)


def test_kopfs_stream_yields_the_same_events_decoded_by_orjson(installed, monkeypatch):
    c = k.container()
    pod = k.pod(containers=[c], statuses=[k.running_status(c)])
    pod["metadata"]["annotations"] = {"note": "naïve ünïcode ✓", "escaped": "a\"b\\c\u2028"}
    events = [{"type": "ADDED", "object": pod},
              {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "12"}}}]
    lines = [json.dumps(e).encode() for e in events]
    assert isinstance(api.json, decoding._Json)
    assert stream_of(lines, monkeypatch) == events


def test_what_orjson_refuses_decodes_as_before(installed, monkeypatch):
    lone = b'{"type": "MODIFIED", "object": {"metadata": {"name": "\\ud800"}}}'
    assert stream_of([lone], monkeypatch) == [json.loads(lone)]
    with pytest.raises(json.JSONDecodeError):  # the same error kopf saw before
        decoding.loads('{"type": ')


def test_installing_twice_is_once(installed):
    assert decoding.install()
    assert isinstance(api.json, decoding._Json)
    decoding.uninstall()
    assert api.json is json
