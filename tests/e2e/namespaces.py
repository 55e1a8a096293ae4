"""Namespaces for end-to-end tests (the ``namespace`` fixture's, and a module's own)."""

from __future__ import annotations

import time
import uuid

from kubernetes import client


def usable_namespace(core: client.CoreV1Api, prefix: str = "e2e") -> str:
    """A fresh namespace, returned once pods can be created in it."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    deadline = time.monotonic() + 30
    while True:  # pods are refused until kcm made the namespace's default ServiceAccount
        try:
            core.read_namespaced_service_account("default", name)
            return name
        except client.ApiException as e:
            if e.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
