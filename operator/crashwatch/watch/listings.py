"""A narrow adapter over kopf's watch streams: listings, other shards' objects, direct handling.

kopf offers no hook for three things crashwatch needs from its watch streams; this module
wraps the one function that produces them (``kopf._cogs.clients.watching.continuous_watch``,
which kopf's watch loop calls by its module-level name) and, for the second, the one it calls
(``watch_objs``):

1. **When each listing begins and ends.** A watch that breaks and cannot resume (410 Gone
   after a compaction, an API server that restarted) is replaced by a fresh listing, and a
   listing reports nothing about what vanished in between: no DELETED. To check what a
   relist did not show again, crashwatch must know when each listing began and when it was
   over, including a listing of nothing. ``continuous_watch`` begins every (re)connection
   that has no resourceVersion to resume from with a listing (a paged list, or the API
   server's initial events when ``settings.watching.initial_streaming`` asks for
   ``sendInitialEvents``) and marks its end with ``Bookmark.LISTED`` (after the last page;
   or at the first BOOKMARK of the stream, which the API server sends, annotated
   ``k8s.io/initial-events-end``, once every initial event is out).
2. **An initial streaming that breaks is started over.** kopf 1.45 resumes a stream that
   broke during its initial events from the last object's resourceVersion: initial events
   are ordered by key, not by version, so objects not yet sent would never be. Such a
   resumption is answered here as a 410 would be (kopf starts the stream over, with a new
   listing).
3. **What crashwatch handles itself, it handles in the stream.** For the resources given in
   ``direct``, each event goes to crashwatch's handler as it is read, and is not queued to
   kopf's per-object workers (a task, a queue, a logger and a memory per object: at a start
   into 10,000 pods, 10,000 of them at once, each holding its object; most of the CPU a watch
   event cost besides JSON decoding, bench/results/cluster.md). crashwatch's handlers are
   ``on.event`` only, synchronous and quick (a diagnosis runs later, off the loop), so the
   order and the content of what they see are the same. And objects ``admit`` refuses
   (another shard's, when the API server does not shard) are dropped before either.

Written for kopf 1.45 (``KOPF_VERSIONS``); ``install()`` checks what it relies on and declines
(returns False: the caller falls back to kopf's own handlers and to periodic checks) on a kopf
that lacks it. tests/unit/test_listings.py holds it to the kopf the lock file pins, running
kopf's own ``continuous_watch`` over a fake API stream.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import structlog

log = structlog.get_logger("crashwatch.listings")

KOPF_VERSIONS = ("1.45.",)
"""kopf releases this adapter was written and tested for."""

#: ``(plural, namespace or None, "started" | "listed")``
ListingCallback = Callable[[str, str | None, str], None]
#: ``(plural, object) -> keep it?``: False drops the event before anything else sees it.
Admit = Callable[[str, Any], bool]
#: ``(group, plural) -> handler`` of a raw watch event (``{"type", "object"}``); it must not
#: raise (crashwatch's count and log their errors themselves).
Direct = Mapping[tuple[str, str], Callable[[Mapping[str, Any]], None]]

_installed: list[Any] = []
_initial_open: set[int] = set()
"""Streams (by their pause waiter, which kopf hands to both functions) still in their
initial events."""


def _gone() -> dict[str, Any]:
    return {"type": "ERROR", "object": {
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 410,
        "reason": "Expired",
        "message": "crashwatch: an initial streaming that broke is started over"}}


def install(callback: ListingCallback, *, admit: Admit | None = None,
            direct: Direct | None = None) -> bool:
    """Report every listing's start and end to ``callback``; drop what ``admit`` refuses;
    hand the events of ``direct``'s resources to their handlers. True when installed."""
    try:
        import kopf  # noqa: PLC0415
        from kopf._cogs.clients import watching  # noqa: PLC0415
    except ImportError:
        return False
    version = str(getattr(kopf, "__version__", ""))
    original = getattr(watching, "continuous_watch", None)
    objs = getattr(watching, "watch_objs", None)
    bookmark = getattr(getattr(watching, "Bookmark", None), "LISTED", None)
    if (original is None or bookmark is None or objs is None
            or not inspect.isasyncgenfunction(original) or not inspect.isasyncgenfunction(objs)):
        log.warning("kopf's watch streams cannot be followed; relists are checked "
                    "periodically", kopf=version)
        return False
    if not version.startswith(KOPF_VERSIONS):
        log.info("kopf version not known to the watch-stream adapter; it applies anyway",
                 kopf=version, known=list(KOPF_VERSIONS))
    original = getattr(original, "__wrapped__", original)
    objs = getattr(objs, "__wrapped__", objs)
    handlers = dict(direct or {})

    async def continuous_watch(*, resource: Any, namespace: str | None,
                               **kwargs: Any) -> AsyncIterator[Any]:
        plural = str(getattr(resource, "plural", ""))
        handler = handlers.get((str(getattr(resource, "group", "")), plural))
        waiter = id(kwargs.get("operator_pause_waiter"))
        callback(plural, namespace, "started")
        _initial_open.add(waiter)
        try:
            async for event in original(resource=resource, namespace=namespace, **kwargs):
                if event is bookmark:
                    _initial_open.discard(waiter)
                    callback(plural, namespace, "listed")
                elif isinstance(event, dict) and event.get("type") != "BOOKMARK":
                    if admit is not None and not admit(plural, event.get("object")):
                        continue
                    if handler is not None:
                        try:
                            handler(event)
                        except Exception as err:  # never break the stream
                            log.warning("handler error", resource=plural, error=str(err)[:300])
                        continue
                yield event
        finally:
            _initial_open.discard(waiter)

    async def watch_objs(*, since: str | None = None, **kwargs: Any) -> AsyncIterator[Any]:
        if since is not None and id(kwargs.get("operator_pause_waiter")) in _initial_open:
            log.debug("an initial streaming broke; starting it over",
                      resource=str(getattr(kwargs.get("resource"), "plural", "")))
            yield _gone()
            return
        async for event in objs(since=since, **kwargs):
            yield event

    continuous_watch.__wrapped__ = original  # type: ignore[attr-defined]
    watch_objs.__wrapped__ = objs  # type: ignore[attr-defined]
    watching.continuous_watch = continuous_watch
    watching.watch_objs = watch_objs
    _installed.append(continuous_watch)
    return True


def uninstall() -> None:
    """Put kopf's own functions back (tests)."""
    from kopf._cogs.clients import watching  # noqa: PLC0415

    for name in ("continuous_watch", "watch_objs"):
        current = getattr(watching, name)
        setattr(watching, name, getattr(current, "__wrapped__", current))
    _installed.clear()
    _initial_open.clear()
