"""When kopf lists a resource: a narrow adapter over kopf's watch streams.

A watch stream that breaks and cannot resume (410 Gone after a compaction, an API server that
restarted) is replaced by a fresh listing, and a listing reports nothing about what vanished
in between: no DELETED. To check what a relist did not show again, crashwatch must know when
each listing began and when it was over, including a listing of nothing. kopf offers no hook
for that; its watch stream (``kopf._cogs.clients.watching.continuous_watch``) begins every
(re)connection that has no resourceVersion to resume from with a listing and marks its end
with ``Bookmark.LISTED``. This module wraps that one function to report both.

Written for kopf 1.45 (``KOPF_VERSIONS``); ``install()`` checks the function and the marker it
relies on and declines (returns False, the caller falls back to periodic checks) on a kopf
that lacks them. tests/unit/test_listings.py holds it to the kopf the lock file pins.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog

log = structlog.get_logger("crashwatch.listings")

KOPF_VERSIONS = ("1.45.",)
"""kopf releases this adapter was written and tested for."""

#: ``(plural, namespace or None, "started" | "listed")``
ListingCallback = Callable[[str, str | None, str], None]

_installed: list[Any] = []


def install(callback: ListingCallback) -> bool:
    """Report every listing's start and end to ``callback``. True when installed."""
    try:
        import kopf  # noqa: PLC0415
        from kopf._cogs.clients import watching  # noqa: PLC0415
    except ImportError:
        return False
    version = str(getattr(kopf, "__version__", ""))
    original = getattr(watching, "continuous_watch", None)
    bookmark = getattr(getattr(watching, "Bookmark", None), "LISTED", None)
    if original is None or bookmark is None or not inspect.isasyncgenfunction(original):
        log.warning("kopf's listings cannot be followed; relists are checked periodically",
                    kopf=version)
        return False
    if not version.startswith(KOPF_VERSIONS):
        log.info("kopf version not known to the listing adapter; it applies anyway",
                 kopf=version, known=list(KOPF_VERSIONS))
    original = getattr(original, "__wrapped__", original)

    async def continuous_watch(*, resource: Any, namespace: str | None,
                               **kwargs: Any) -> AsyncIterator[Any]:
        plural = str(getattr(resource, "plural", ""))
        callback(plural, namespace, "started")
        async for event in original(resource=resource, namespace=namespace, **kwargs):
            if event is bookmark:
                callback(plural, namespace, "listed")
            yield event

    continuous_watch.__wrapped__ = original  # type: ignore[attr-defined]
    watching.continuous_watch = continuous_watch
    _installed.append(continuous_watch)
    return True


def uninstall() -> None:
    """Put kopf's own function back (tests)."""
    from kopf._cogs.clients import watching  # noqa: PLC0415

    current = watching.continuous_watch
    watching.continuous_watch = getattr(current, "__wrapped__", current)
    _installed.clear()
