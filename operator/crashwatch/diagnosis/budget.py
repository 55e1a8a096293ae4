"""A time budget for one container's diagnosis, checked between steps.

Every step of the log analysis is linear in its (bounded) input, so none runs long; the
budget is the last guard: when it is spent, the remaining, more specific steps are skipped
and the finding says so (``details.timeBudget``) instead of the diagnosis blocking.

The default clock is the thread's CPU time less its garbage collections (:func:`work_time`):
the budget counts the work a diagnosis does, not the time the process waited for a core on a
busy machine, nor a collection of the whole heap that the diagnosis happened to trigger (either
would make the same input give a different finding under load: a full collection in a large
process took a 7 ms diagnosis past its 250 ms once).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from typing import Any

#: Seconds of analysis one container gets by default.
DEFAULT_TIME_BUDGET = 0.25

Clock = Callable[[], float]

_collections = threading.local()


def _on_collection(phase: str, _info: dict[str, Any]) -> None:
    """Time each garbage collection on the CPU clock of the thread that runs it."""
    if phase == "start":
        _collections.began = time.thread_time()
        return
    began = getattr(_collections, "began", None)
    if began is not None:
        _collections.spent = getattr(_collections, "spent", 0.0) + time.thread_time() - began
        _collections.began = None


if _on_collection not in gc.callbacks:
    gc.callbacks.append(_on_collection)


def work_time() -> float:
    """This thread's CPU time, less what garbage collections running in it took."""
    return time.thread_time() - getattr(_collections, "spent", 0.0)


class Budget:
    """``seconds`` from creation (``None``: unlimited), read on ``clock``."""

    __slots__ = ("_clock", "_deadline", "spent_at")

    def __init__(self, seconds: float | None = DEFAULT_TIME_BUDGET,
                 clock: Clock = work_time) -> None:
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
