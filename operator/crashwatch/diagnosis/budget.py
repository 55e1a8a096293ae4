"""A time budget for one container's diagnosis, checked between steps.

Every step of the log analysis is linear in its (bounded) input, so none runs long; the
budget is the last guard: when it is spent, the remaining, more specific steps are skipped
and the finding says so (``details.timeBudget``) instead of the diagnosis blocking.

The default clock is the thread's CPU time: the budget counts the work a diagnosis does,
not the time the process waited for a core on a busy machine (which would make the same
input give a different finding under load).
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: Seconds of analysis one container gets by default.
DEFAULT_TIME_BUDGET = 0.25

Clock = Callable[[], float]


class Budget:
    """``seconds`` from creation (``None``: unlimited), read on ``clock``."""

    __slots__ = ("_clock", "_deadline", "spent_at")

    def __init__(self, seconds: float | None = DEFAULT_TIME_BUDGET,
                 clock: Clock = time.thread_time) -> None:
        self._clock = clock
        self._deadline = None if seconds is None else clock() + max(0.0, seconds)
        self.spent_at: str | None = None
        """The step at which the budget ran out, once it has."""

    def spent(self, step: str) -> bool:
        """Whether the budget is used up before ``step`` (remembered once it is)."""
        if self.spent_at is not None:
            return True
        if self._deadline is not None and self._clock() >= self._deadline:
            self.spent_at = step
            return True
        return False

    @classmethod
    def unlimited(cls) -> Budget:
        return cls(None)
