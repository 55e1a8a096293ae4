"""The adapter that tells when kopf lists a resource (crashwatch/watch/listings.py), held to
the kopf this project pins: the function it wraps exists with the signature it expects, kopf's
own watch loop reaches it through the module (so the wrapper is what runs), and the start and
the end of a listing (kopf's ``Bookmark.LISTED``) are reported around the events, which pass
through untouched."""

import asyncio
import inspect
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import pytest
from kopf._cogs.clients import fetching, watching
from kopf._cogs.configs.configuration import OperatorSettings

from crashwatch.watch import listings

LOCK = Path(__file__).resolve().parents[2] / "requirements.lock"


@pytest.fixture
def fake_kopf_stream(monkeypatch):
    """kopf's continuous_watch replaced by a stream that lists two pods, then watches."""
    async def continuous_watch(*, settings, resource, namespace, operator_pause_waiter):
        yield {"type": None, "object": {"metadata": {"name": "a"}}}
        yield {"type": None, "object": {"metadata": {"name": "b"}}}
        yield watching.Bookmark.LISTED
        yield {"type": "MODIFIED", "object": {"metadata": {"name": "a"}}}
    monkeypatch.setattr(watching, "continuous_watch", continuous_watch)
    yield
    listings.uninstall()


def test_the_pinned_kopf_is_the_one_the_adapter_was_written_for():
    pinned = next(line.split("==")[1].split()[0] for line in LOCK.read_text().splitlines()
                  if line.startswith("kopf=="))
    assert pinned.startswith(listings.KOPF_VERSIONS)
    assert metadata.version("kopf").startswith(listings.KOPF_VERSIONS)


def test_kopf_still_has_what_the_adapter_relies_on():
    fn = watching.continuous_watch
    assert inspect.isasyncgenfunction(fn)
    params = inspect.signature(fn).parameters
    assert {"settings", "resource", "namespace", "operator_pause_waiter"} <= set(params)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
    # kopf's watch loop calls it by its module-level name: the wrapper is what runs
    assert "continuous_watch(" in inspect.getsource(watching.infinite_watch)
    assert "Bookmark.LISTED" in inspect.getsource(fn)


def test_a_listing_is_reported_as_it_starts_and_ends(fake_kopf_stream):
    seen: list[object] = []
    assert listings.install(lambda plural, ns, phase: seen.append((plural, ns, phase)))

    async def go():
        async for event in watching.continuous_watch(
                settings=None, resource=SimpleNamespace(plural="pods"), namespace="shop",
                operator_pause_waiter=None):
            seen.append(event if isinstance(event, watching.Bookmark) else
                        (event["type"], event["object"]["metadata"]["name"]))

    asyncio.run(go())
    assert seen == [("pods", "shop", "started"), (None, "a"), (None, "b"),
                    ("pods", "shop", "listed"), watching.Bookmark.LISTED, ("MODIFIED", "a")]


def test_installing_twice_wraps_kopf_once(fake_kopf_stream):
    seen: list[str] = []
    listings.install(lambda *a: seen.append("first"))
    listings.install(lambda *a: seen.append("second"))

    async def go():
        async for _ in watching.continuous_watch(
                settings=None, resource=SimpleNamespace(plural="pods"), namespace=None,
                operator_pause_waiter=None):
            pass

    asyncio.run(go())
    assert seen == ["second", "second"]


# --- kopf's own continuous_watch over a fake API stream ----------------------------------

INITIAL_END = {"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1", "metadata": {
    "resourceVersion": "120", "annotations": {"k8s.io/initial-events-end": "true"}}}}


def pod_event(type_, name, rv, namespace="shop"):
    return {"type": type_, "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": name, "namespace": namespace, "resourceVersion": rv, "uid": f"uid-{name}"}}}


class FakeApi:
    """What kopf's watch_objs and fetch_objs would read from the API server: one script per
    call (a list of events; the call after the last script ends the stream for good)."""

    def __init__(self, *streams, pages=None):
        self.streams = list(streams)
        self.pages = pages
        self.calls: list[str | None] = []

    async def watch_objs(self, *, settings, resource, namespace, since=None,
                         operator_pause_waiter):
        self.calls.append(since)
        if not self.streams:
            operator_pause_waiter.set_result(None)  # kopf's loop ends with the pause
            return
        for event in self.streams.pop(0):
            yield event

    async def fetch_objs(self, *, settings, resource, namespace, logger):
        for page in self.pages or []:
            yield page, "100"


def run_kopf_stream(fake, monkeypatch, streaming, **install):
    """kopf's real continuous_watch, with the adapter installed, over ``fake``; returns what
    the adapter reported and what reached kopf's consumer (its per-object workers)."""
    monkeypatch.setattr(watching, "watch_objs", fake.watch_objs)
    monkeypatch.setattr(fetching, "fetch_objs", fake.fetch_objs)
    seen: list[object] = []
    assert listings.install(lambda plural, ns, phase: seen.append(phase), **install)
    settings = OperatorSettings()
    settings.watching.initial_streaming = streaming
    consumed: list[object] = []

    async def go():
        async for event in watching.continuous_watch(
                settings=settings, resource=SimpleNamespace(group="", plural="pods"),
                namespace=None, operator_pause_waiter=asyncio.get_running_loop().create_future()):
            consumed.append(event if isinstance(event, watching.Bookmark) else
                            (event["type"], event["object"]["metadata"].get("name")))

    try:
        asyncio.run(go())
    finally:
        listings.uninstall()
    return seen, consumed


def test_the_end_of_an_initial_streaming_is_a_listing_end(monkeypatch):
    """With kopf's initial_streaming (sendInitialEvents), kopf marks the end of the initial
    events with Bookmark.LISTED at the first BOOKMARK: the adapter reports the listing over
    there, after the initial events (which kopf types None, as listed objects)."""
    fake = FakeApi([pod_event("ADDED", "a", "7"), pod_event("ADDED", "b", "5"), INITIAL_END,
                    pod_event("MODIFIED", "a", "130")])
    seen, consumed = run_kopf_stream(fake, monkeypatch, streaming=True)
    assert seen == ["started", "listed"]
    assert consumed == [(None, "a"), (None, "b"), watching.Bookmark.LISTED,
                        ("BOOKMARK", None), ("MODIFIED", "a")]
    assert fake.calls == [None, "130"]  # resumed after the initial events, from the latest


def test_an_initial_streaming_that_breaks_is_started_over_not_resumed(monkeypatch):
    """kopf 1.45 would resume a stream broken during its initial events from the last
    object's version (initial events come by key, not by version: "b" at 5 would be lost);
    the adapter answers that resumption as a 410, and kopf starts over with a listing."""
    fake = FakeApi([pod_event("ADDED", "a", "7")],  # the connection breaks here
                   [pod_event("ADDED", "b", "5")])
    seen, consumed = run_kopf_stream(fake, monkeypatch, streaming=True)
    assert fake.calls == [None]  # never resumed from "7"
    assert consumed == [(None, "a")]  # the stream ended: kopf's infinite_watch restarts it
    assert seen == ["started"]


def test_direct_handlers_get_every_event_in_order_and_kopf_only_the_marks(monkeypatch):
    handled: list[tuple[object, str]] = []
    fake = FakeApi([pod_event("ADDED", "a", "7"), pod_event("ADDED", "b", "5"), INITIAL_END,
                    pod_event("MODIFIED", "a", "130"), pod_event("DELETED", "b", "131")])
    seen, consumed = run_kopf_stream(
        fake, monkeypatch, streaming=True,
        direct={("", "pods"): lambda e: handled.append(
            (e["type"], e["object"]["metadata"]["name"]))})
    assert handled == [(None, "a"), (None, "b"), ("MODIFIED", "a"), ("DELETED", "b")]
    assert consumed == [watching.Bookmark.LISTED, ("BOOKMARK", None)]
    assert seen == ["started", "listed"]


def test_a_direct_handler_that_raises_does_not_break_the_stream(monkeypatch):
    handled: list[str] = []

    def handler(event):
        name = event["object"]["metadata"]["name"]
        if name == "bad":
            raise KeyError("spec")
        handled.append(name)
    fake = FakeApi([pod_event("ADDED", "bad", "7"), pod_event("ADDED", "good", "8"),
                    INITIAL_END])
    seen, _ = run_kopf_stream(fake, monkeypatch, streaming=True,
                              direct={("", "pods"): handler})
    assert handled == ["good"] and seen == ["started", "listed"]


def test_what_admit_refuses_reaches_neither_handler_nor_kopf(monkeypatch):
    """Another shard's objects (the API server did not shard) are dropped in the stream,
    listed or watched, before anything holds them."""
    handled: list[str] = []
    listed = [pod_event(None, "mine-1", "3", "shop")["object"],
              pod_event(None, "theirs-1", "4", "billing")["object"]]
    fake = FakeApi([pod_event("MODIFIED", "theirs-2", "101", "billing"),
                    pod_event("MODIFIED", "mine-2", "102", "shop")], pages=[listed])
    seen, consumed = run_kopf_stream(
        fake, monkeypatch, streaming=False,
        admit=lambda plural, obj: obj["metadata"]["namespace"] == "shop",
        direct={("", "pods"): lambda e: handled.append(e["object"]["metadata"]["name"])})
    assert handled == ["mine-1", "mine-2"]
    assert consumed == [watching.Bookmark.LISTED]
    assert seen == ["started", "listed"]


def test_without_a_direct_handler_admitted_events_go_to_kopf(monkeypatch):
    fake = FakeApi([pod_event("MODIFIED", "theirs", "101", "billing"),
                    pod_event("MODIFIED", "mine", "102", "shop")], pages=[[]])
    _, consumed = run_kopf_stream(
        fake, monkeypatch, streaming=False,
        admit=lambda plural, obj: obj["metadata"]["namespace"] == "shop")
    assert consumed == [watching.Bookmark.LISTED, ("MODIFIED", "mine")]


def test_kopf_still_resumes_and_restarts_as_the_adapter_expects():
    """What the initial-streaming guard relies on: kopf's continuous_watch resumes through
    watch_objs(since=...) by its module-level name, passes the same pause waiter to it, and
    returns (to start over) on an ERROR with code 410."""
    source = inspect.getsource(watching.continuous_watch)
    assert "watch_objs(" in source and "since=resource_version" in source
    assert "operator_pause_waiter=operator_pause_waiter" in source
    assert "== 410" in source and "in_initial_streaming" in source
    params = inspect.signature(watching.watch_objs).parameters
    assert {"settings", "resource", "namespace", "since", "operator_pause_waiter"} <= set(params)
