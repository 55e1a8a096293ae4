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
from kopf._cogs.clients import watching

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
