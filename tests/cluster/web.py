"""HTTP GETs against the local processes (an operator's /healthz, Prometheus' API)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def get(url: str, timeout: float = 3) -> Any:
    """The answer decoded from JSON, else as text; None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            body = r.read().decode()
    except OSError:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body
