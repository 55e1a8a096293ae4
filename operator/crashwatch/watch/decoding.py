"""A narrow adapter: kopf's watch streams decoded by orjson instead of the standard library.

Decoding the API server's JSON was the largest single cost of a watch event in the operator
(a third of the event loop's time at a cold start into 10,000 pods, a fifth in steady churn:
bench/results/cluster.md). kopf decodes each line of a watch stream with ``json.loads`` of
the module it imports (``kopf._cogs.clients.api``) and offers no setting for it; this module
gives that module a ``json`` whose ``loads`` is orjson's (about three times faster on
Kubernetes objects), falling back to the standard library for what orjson refuses and the
standard library takes (``NaN``, an escaped lone surrogate; the API server writes neither).
One difference remains, and the API server cannot show it: an integer beyond 64 bits becomes
a float (the API server decodes every number into an int64 or a float64 itself,
sigs.k8s.io/json, so it never sends one).

Written for kopf 1.45 (``listings.KOPF_VERSIONS``); tests/unit/test_decoding.py holds it to
the kopf the lock file pins. ``install()`` declines (returns False) on a kopf that lacks what
it relies on.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import orjson
import structlog

log = structlog.get_logger("crashwatch.decoding")


def loads(text: str | bytes) -> Any:
    """orjson's ``loads``; the standard library's for what orjson refuses."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class _Json:
    """What kopf's api module uses of ``json``: ``loads`` (and, to be safe, the rest of the
    standard module)."""

    loads = staticmethod(loads)

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)


def install() -> bool:
    """kopf's watch streams decode with orjson from now on. True when installed."""
    try:
        from kopf._cogs.clients import api  # noqa: PLC0415
    except ImportError:
        return False
    current = getattr(api, "json", None)
    if isinstance(current, _Json):
        return True
    if not isinstance(current, ModuleType) or current is not json:
        log.warning("kopf's JSON decoding cannot be replaced; it decodes with its own")
        return False
    setattr(api, "json", _Json())  # noqa: B010  (not an attribute kopf exports)
    return True


def uninstall() -> None:
    """Put the standard library back (tests)."""
    from kopf._cogs.clients import api  # noqa: PLC0415

    setattr(api, "json", json)  # noqa: B010
