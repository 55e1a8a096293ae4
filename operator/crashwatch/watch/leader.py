"""Leader election on a ``coordination.k8s.io/v1`` Lease, as client-go's leaderelection does.

Several replicas watch the cluster; only the one holding the Lease diagnoses and writes.
The others keep their memory of the cluster current (their watches run), so a standby takes
over within one lease duration of the leader's loss without relisting, and publishes only
what differs from what the objects already say (nothing is doubled).

A record is judged expired by this replica's own clock: the time it first saw the record's
current renewal, plus the lease duration (never by comparing another machine's clock). A
leader that cannot renew for a lease duration steps down before anyone may take over. On a
clean stop the leader releases the Lease, so a standby takes over at its next try.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

log = structlog.get_logger("crashwatch.leader")


class LeaseClient(Protocol):
    async def get(self) -> dict[str, Any] | None: ...

    async def create(self, spec: dict[str, Any]) -> bool: ...

    async def replace(self, lease: dict[str, Any]) -> bool: ...


def identity() -> str:
    """This replica's name: the pod's (``POD_NAME`` from the downward API), else the host's
    with a random suffix."""
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}_{secrets.token_hex(4)}"


def _micro(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(self, client: LeaseClient, me: str, on_change: Callable[[bool], None], *,
                 lease_seconds: float = 6.0, renew_seconds: float = 2.0,
                 retry_seconds: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.client = client
        self.me = me
        self.on_change = on_change
        self.lease_seconds = lease_seconds
        self.renew_seconds = renew_seconds
        self.retry_seconds = retry_seconds
        self.clock = clock
        self.wall = wall
        self.leading = False
        self.holder = ""
        self._observed: tuple[str, str] | None = None
        self._observed_at = 0.0
        self._renewed_at = 0.0

    def _set(self, leading: bool) -> None:
        if leading != self.leading:
            self.leading = leading
            log.info("leading" if leading else "standing by", identity=self.me,
                     holder=self.holder)
            self.on_change(leading)

    async def try_once(self) -> bool:
        """One round: acquire, renew or stand by. True while this replica leads."""
        now = self.clock()
        try:
            lease = await self.client.get()
            if lease is None:
                ok = await self.client.create(self._spec(acquire=True, transitions=0))
            else:
                ok = await self._acquire_or_renew(lease, now)
        except Exception as err:  # the API server is away: keep the lead while the lease holds
            log.warning("lease unreachable", error=str(err)[:200])
            ok = self.leading and now - self._renewed_at < self.lease_seconds
            self._set(ok)
            return ok
        if ok:
            self._renewed_at = now
            self.holder = self.me
        elif self.leading and now - self._renewed_at < self.lease_seconds:
            ok = True  # a lost race on the renewal: still ours until it expires
        self._set(ok)
        return ok

    async def _acquire_or_renew(self, lease: dict[str, Any], now: float) -> bool:
        spec = lease.get("spec") or {}
        holder = str(spec.get("holderIdentity") or "")
        renewed = str(spec.get("renewTime") or "")
        self.holder = holder
        if self._observed != (holder, renewed):
            self._observed = (holder, renewed)
            self._observed_at = now
        duration = float(spec.get("leaseDurationSeconds") or self.lease_seconds)
        transitions = int(spec.get("leaseTransitions") or 0)
        if holder == self.me:
            body = {**lease, "spec": {**spec, **self._spec(acquire=False,
                                                            transitions=transitions)}}
            body["spec"]["acquireTime"] = spec.get("acquireTime") or _micro(self.wall())
            return await self.client.replace(body)
        if holder and now - self._observed_at < duration:
            return False  # someone else holds it, and it has not expired
        body = {**lease, "spec": {**spec, **self._spec(acquire=True,
                                                        transitions=transitions + 1)}}
        if await self.client.replace(body):
            log.info("took over the lease", identity=self.me, previous=holder or None)
            return True
        return False

    def _spec(self, *, acquire: bool, transitions: int) -> dict[str, Any]:
        now = _micro(self.wall())
        spec: dict[str, Any] = {"holderIdentity": self.me,
                                "leaseDurationSeconds": int(self.lease_seconds),
                                "renewTime": now, "leaseTransitions": transitions}
        if acquire:
            spec["acquireTime"] = now
        return spec

    async def run(self) -> None:
        while True:
            leading = await self.try_once()
            await asyncio.sleep(self.renew_seconds if leading else self.retry_seconds)

    async def release(self) -> None:
        """Give the Lease up (a clean stop): a standby takes over at its next try."""
        if not self.leading:
            return
        self._set(False)
        try:
            lease = await self.client.get()
            spec = (lease or {}).get("spec") or {}
            if lease is not None and spec.get("holderIdentity") == self.me:
                await self.client.replace({**lease, "spec": {
                    **spec, "holderIdentity": "", "leaseDurationSeconds": 1,
                    "renewTime": _micro(self.wall())}})
        except Exception as err:
            log.warning("lease not released", error=str(err)[:200])
