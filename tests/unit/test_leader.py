"""Leader election on a Lease: one leader at a time, a standby that takes over within a
lease duration of the leader's loss, an immediate hand-over on a clean stop.

The Lease here is held in memory with the API server's one rule that matters: a write that
carries a stale resourceVersion is refused (409). The e2e suite runs the same elector
against a real API server with two operator processes.
"""

import asyncio
import copy
from typing import Any

from crashwatch.watch.leader import LeaderElector


class FakeLease:
    def __init__(self) -> None:
        self.obj: dict[str, Any] | None = None
        self.rv = 0
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise OSError("connection refused")

    async def get(self):
        self._check()
        return copy.deepcopy(self.obj)

    async def create(self, spec):
        self._check()
        if self.obj is not None:
            return False
        self.rv += 1
        self.obj = {"metadata": {"name": "crashwatch", "resourceVersion": str(self.rv)},
                    "spec": dict(spec)}
        return True

    async def replace(self, lease):
        self._check()
        if self.obj is None or lease["metadata"]["resourceVersion"] != (
                self.obj["metadata"]["resourceVersion"]):
            return False
        self.rv += 1
        self.obj = copy.deepcopy(lease)
        self.obj["metadata"]["resourceVersion"] = str(self.rv)
        return True

    @property
    def holder(self) -> str:
        return str(((self.obj or {}).get("spec") or {}).get("holderIdentity") or "")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def pair(lease: FakeLease, clock: Clock) -> tuple[LeaderElector, LeaderElector, list[tuple]]:
    changes: list[tuple[str, bool]] = []
    a = LeaderElector(lease, "a", lambda on: changes.append(("a", on)), lease_seconds=6,
                      clock=clock, wall=clock)
    b = LeaderElector(lease, "b", lambda on: changes.append(("b", on)), lease_seconds=6,
                      clock=clock, wall=clock)
    return a, b, changes


def run(coro):
    return asyncio.run(coro)


def test_exactly_one_of_two_replicas_leads():
    lease, clock = FakeLease(), Clock()
    a, b, changes = pair(lease, clock)

    async def go():
        for _ in range(10):
            await a.try_once()
            await b.try_once()
            clock.t += 1

    run(go())
    assert (a.leading, b.leading) == (True, False)
    assert lease.holder == "a"
    assert changes == [("a", True)]


def test_a_standby_takes_over_once_the_lease_expires_and_not_before():
    lease, clock = FakeLease(), Clock()
    a, b, _ = pair(lease, clock)

    async def go():
        await a.try_once()
        await b.try_once()
        # a is killed: it renews no more; b looks every second
        lost = clock.t
        while not b.leading:
            clock.t += 1
            await b.try_once()
            assert b.leading is False or clock.t - lost >= 6
        return clock.t - lost

    took = run(go())
    assert 6 <= took <= 7
    assert lease.holder == "b"
    assert lease.obj["spec"]["leaseTransitions"] == 1


def test_a_leader_that_cannot_renew_steps_down_before_anyone_may_take_over():
    lease, clock = FakeLease(), Clock()
    a, _, changes = pair(lease, clock)

    async def go():
        await a.try_once()
        lease.down = True
        states = []
        for _ in range(8):
            clock.t += 1
            states.append(await a.try_once())
        return states

    states = run(go())
    # renewed at t, still leading while t+1..t+5 < t+6, then it steps down
    assert states == [True, True, True, True, True, False, False, False]
    assert changes == [("a", True), ("a", False)]


def test_a_clean_stop_hands_over_at_the_standbys_next_try():
    lease, clock = FakeLease(), Clock()
    a, b, _ = pair(lease, clock)

    async def go():
        await a.try_once()
        await b.try_once()
        await a.release()
        clock.t += 1
        await b.try_once()

    run(go())
    assert (a.leading, b.leading) == (False, True)
    assert lease.holder == "b"


def test_two_replicas_racing_for_an_expired_lease_do_not_both_win():
    lease, clock = FakeLease(), Clock()
    a, b, _ = pair(lease, clock)
    c = LeaderElector(lease, "c", lambda on: None, lease_seconds=6, clock=clock, wall=clock)

    async def go():
        await c.try_once()  # c leads, then dies
        await a.try_once()
        await b.try_once()
        clock.t += 7
        # both see the same expired record; both try to replace it with its resourceVersion
        await asyncio.gather(a.try_once(), b.try_once())

    run(go())
    assert [a.leading, b.leading].count(True) == 1
