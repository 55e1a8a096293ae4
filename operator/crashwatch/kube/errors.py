"""What the API server said when it refused or failed a request."""

from __future__ import annotations

import json

from kubernetes.client.exceptions import ApiException


def api_message(err: ApiException) -> str:
    """What the API server said: the Status message of its answer (why a 422 is invalid,
    which RBAC rule a 403 lacks), else the HTTP reason."""
    try:
        status = json.loads(err.body) if err.body else {}
    except (TypeError, ValueError):
        status = {}
    message = status.get("message") if isinstance(status, dict) else None
    return str(message or err.reason or err.status)[:500]
