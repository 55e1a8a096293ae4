"""The simulated kubelet's real-time plans (tests/cluster/nodes/kwok/realtime.py) keep the
timing a v1.36 kubelet has (k8s.io/kubernetes v1.36.3 kuberuntime.doBackOff and client-go's
flowcontrol.Backoff; nodes/real/observed-1.36.txt)."""

from __future__ import annotations

import itertools
import random

from tests.cluster.nodes.kwok.realtime import RESYNC, crash_loop_plan, image_pull_plan


def test_a_crash_loop_restarts_at_once_then_on_the_doubling_back_off() -> None:
    plan = crash_loop_plan(1.0, 1500.0, random.Random(1))
    assert [c.backoff for c in plan[:8]] == [0, 10, 20, 40, 80, 160, 300, 300]
    first = plan[0]
    assert first.waiting is None and first.restart - first.crash < 1
    for c in plan[1:]:
        assert c.backoff + 0.8 <= c.restart - c.crash <= c.backoff + 16
        assert c.waiting is not None and c.crash < c.waiting < c.restart


def test_the_waiting_state_comes_at_the_next_sync_not_with_the_crash() -> None:
    plan = crash_loop_plan(1.0, 1500.0, random.Random(2))
    second = plan[1]
    assert second.waiting == second.crash + 1.0
    for c in plan[2:]:
        assert c.waiting is not None
        late = c.waiting - c.crash
        # at the periodic resync, or with the restart when the back-off is shorter
        assert RESYNC[0] <= late <= RESYNC[1] or abs(c.waiting - (c.restart - 0.1)) < 1e-9
    # 20 s and 40 s back-offs end before any resync: the waiting state shows with the restart
    assert all(c.waiting == c.restart - 0.1 for c in plan[2:4])
    # 5m0s back-offs: it shows for most of the back-off
    assert all(c.waiting - c.crash <= RESYNC[1] for c in plan if c.backoff == 300)


def test_the_back_off_counts_from_the_crash_however_long_the_container_ran() -> None:
    plan = crash_loop_plan(60.0, 1500.0, random.Random(3))
    assert [c.backoff for c in plan[:5]] == [0, 10, 20, 40, 80]
    assert all(abs(b.crash - a.restart - 60.0) < 1e-6 for a, b in itertools.pairwise(plan))


def test_a_container_that_ran_ten_minutes_starts_the_back_off_over() -> None:
    plan = crash_loop_plan(601.0, 2000.0, random.Random(4))
    assert [c.backoff for c in plan] == [0, 0, 0]


def test_a_liveness_kill_goes_straight_to_waiting() -> None:
    plan = crash_loop_plan(30.0, 600.0, random.Random(5), killed=True)
    assert plan[0].waiting is None
    assert all(c.waiting == c.crash + 1.0 for c in plan[1:])


def test_image_pulls_alternate_and_back_off() -> None:
    pulls = image_pull_plan(600.0, random.Random(6))
    gaps = [b.at - a.at for a, b in itertools.pairwise(pulls)]
    assert all(g >= 26 for g in gaps)
    assert 80 + 2 <= gaps[3] <= 80 + 4  # the fourth back-off: 80 s
    assert all(13 <= p.backoff_at - p.at <= 15 for p in pulls)
