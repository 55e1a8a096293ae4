"""Fixtures for the pure unit tests."""

from collections.abc import Callable
from typing import Any

import kube as k
import pytest


@pytest.fixture
def crashing() -> Callable[..., tuple[list[dict[str, Any]], dict[tuple[str, str, str], str]]]:
    """A crash-looping pod of Deployment ``web`` and its previous container log."""

    def make(log: str, exit_code: int = 1, read_only: bool = False, name: str = "app"):
        extra = {"securityContext": {"readOnlyRootFilesystem": True}} if read_only else {}
        c = k.container(name=name, **extra)
        p = k.pod(containers=[c])
        p["status"]["containerStatuses"] = [
            k.crashloop_status(c, p, k.terminated("Error", exit_code))]
        return [p], {("shop", p["metadata"]["name"], name): log}

    return make
