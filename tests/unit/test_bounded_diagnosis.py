"""Issue #12, defect 2: one long log line froze the operator (``panic: `` + 65,000 ``A``
took 82 s to diagnose, quadratic in the line's length).

These tests hold the mechanism, never a wall clock: every pattern of the diagnosis runs on
RE2 (linear time), the text any pattern sees is bounded (lines and their length, bytes),
and a diagnosis has a time budget, checked between steps, that degrades the finding
instead of blocking. ``make bench`` prints the figures.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import kube as k
import pytest
import re2
import yaml
from helpers import evidence_text, only, run

import crashwatch.diagnosis
from crashwatch.diagnosis import diagnose
from crashwatch.model import Confidence, Reason

# Names new with the fix are imported inside the tests (noqa: PLC0415), so that on the code
# before it each test fails on its own instead of the module failing to import.
CATALOGUE = Path(crashwatch.diagnosis.__file__).parent / "signatures.yaml"
LONG_PANIC = "panic: " + "A" * 2_000_000 + " END"


def _crashing(log: str) -> tuple[list[dict[str, Any]], dict[tuple[str, str, str], str]]:
    c = k.container()
    p = k.pod(containers=[c])
    p["status"]["containerStatuses"] = [k.crashloop_status(c, p, k.terminated("Error", 1))]
    return [p], {("shop", p["metadata"]["name"], "app"): log}


def _entries() -> list[dict[str, Any]]:
    return list(yaml.safe_load(CATALOGUE.read_text()))


@pytest.mark.parametrize("entry", _entries(), ids=lambda e: e["id"])
def test_every_catalogue_pattern_compiles_with_re2(entry: dict[str, Any]) -> None:
    """RE2 refuses lookaround and backreferences: a pattern that needs a backtracking
    engine cannot enter the catalogue."""
    options = re2.Options()
    options.log_errors = False
    re2.compile(entry["pattern"], options)


def test_the_catalogue_is_matched_by_re2() -> None:
    from crashwatch.diagnosis.signatures import catalogue  # noqa: PLC0415

    engines = {type(sig.regex.engine).__module__ for sig in catalogue()}
    assert engines == {"re2"}


def _module_patterns(value: object) -> list[object]:
    if isinstance(value, re.Pattern):
        return [value]
    if isinstance(value, (tuple, list, frozenset, set)):
        return [p for item in value for p in _module_patterns(item)]
    if isinstance(value, dict):
        return [p for item in value.values() for p in _module_patterns(item)]
    return []


def test_no_module_of_the_diagnosis_holds_a_backtracking_pattern() -> None:
    """Kubelet messages, Event texts and termination messages are untrusted too: every
    pattern the rules use is compiled through crashwatch.diagnosis.rx (RE2)."""
    found = {}
    package = crashwatch.diagnosis
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if _module_patterns(value):
                found[f"{info.name}.{name}"] = _module_patterns(value)
    assert found == {}


def test_a_long_line_keeps_its_head_and_tail_within_the_line_bound() -> None:
    from crashwatch.diagnosis.logread import MAX_LINE_CHARS, bound_lines  # noqa: PLC0415

    lines = bound_lines(LONG_PANIC)
    assert len(lines) == 1
    assert len(lines[0]) <= MAX_LINE_CHARS
    assert lines[0].startswith("panic: AAAA")
    assert lines[0].endswith("AAAA END")


def test_a_log_is_bounded_in_lines_and_characters() -> None:
    from crashwatch.diagnosis.logread import MAX_LOG_BYTES, MAX_LOG_LINES, bound_lines  # noqa: PLC0415

    many = "".join(f"line {i}\n" for i in range(50_000))
    lines = bound_lines(many)
    assert len(lines) == MAX_LOG_LINES
    assert lines[-1] == "line 49999"  # the tail is kept
    wide = ("x" * 5000 + "\n") * 200
    assert sum(len(line) + 1 for line in bound_lines(wide)) <= MAX_LOG_BYTES


def test_every_pattern_sees_only_the_bounded_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the log's size, no pattern is ever run on more than the bounded tail
    (and no single line longer than the line bound reaches a pattern)."""
    from crashwatch.diagnosis import rx  # noqa: PLC0415
    from crashwatch.diagnosis.logread import MAX_LOG_BYTES  # noqa: PLC0415

    seen: list[int] = []
    search, finditer = rx.Regex.search, rx.Regex.finditer

    def spy_search(self: rx.Regex, text: str) -> Any:
        seen.append(len(text))
        return search(self, text)

    def spy_finditer(self: rx.Regex, text: str) -> Any:
        seen.append(len(text))
        return finditer(self, text)

    monkeypatch.setattr(rx.Regex, "search", spy_search)
    monkeypatch.setattr(rx.Regex, "finditer", spy_finditer)
    log = ("FATAL: VAULT_ADDR must be set " * 70_000 + "\n") * 3 + LONG_PANIC
    f = only(run(*_crashing(log)))
    assert seen, "no pattern ran"
    assert max(seen) <= MAX_LOG_BYTES
    assert f.reason is Reason.MISSING_ENV


def test_a_spent_time_budget_degrades_the_finding_instead_of_blocking() -> None:
    """A clock that jumps a second per reading: the budget is spent before the log's
    signatures run, so the finding falls back to the exit code and the last log line,
    with low confidence, and says why."""
    objects, logs = _crashing("2026/11/20 10:29:39 FATAL: VAULT_ADDR must be set\n")
    ticks = iter(range(10**6))

    def source(ns: str, p: str, c: str) -> str | None:
        return logs.get((ns, p, c))

    f = only(diagnose(objects, source, time_budget=0.5, clock=lambda: float(next(ticks))))
    assert f.reason is Reason.APP_ERROR
    assert f.confidence is Confidence.LOW
    assert "timeBudget" in f.details
    assert "VAULT_ADDR must be set" in evidence_text(f)

    unlimited = only(diagnose(objects, source, time_budget=None))
    assert unlimited.reason is Reason.MISSING_ENV
    assert "timeBudget" not in unlimited.details


def test_the_budget_is_read_between_steps_and_remembers_where_it_ran_out() -> None:
    from crashwatch.diagnosis.budget import Budget  # noqa: PLC0415

    now = [0.0]
    budget = Budget(1.0, clock=lambda: now[0])
    assert not budget.spent("first")
    now[0] = 1.0
    assert budget.spent("second")
    now[0] = 0.0  # once spent, it stays spent
    assert budget.spent("third")
    assert budget.spent_at == "second"
    assert not Budget(None).spent("anything")


def test_the_budget_does_not_count_a_garbage_collection_it_happens_to_trigger() -> None:
    """A full collection of a large heap runs in whichever thread allocates at the time: it
    is no work of the diagnosis, and once took a 7 ms diagnosis past its budget (the unit
    suite's heap). ``work_time`` leaves it out; the thread's CPU clock alone does not."""
    import gc  # noqa: PLC0415
    import time  # noqa: PLC0415

    from crashwatch.diagnosis.budget import Budget, work_time  # noqa: PLC0415

    heap = [[i] for i in range(1_500_000)]  # a collection walks every one of them
    gc.collect()
    start = time.thread_time()
    gc.collect()
    took = time.thread_time() - start
    budget, cpu = Budget(took / 2, clock=work_time), Budget(took / 2, clock=time.thread_time)
    gc.collect()
    assert cpu.spent("after a collection")  # the collection alone spends the CPU clock's
    assert not budget.spent("after a collection")
    del heap


def test_a_log_level_is_never_taken_for_a_missing_variable() -> None:
    """The generic phrasings used a negative lookahead (which RE2 has not) to refuse
    ``ERROR is required``; a stop-list after the match does it now."""
    objects, logs = _crashing("level ERROR is required for this\nWARNING missing env var FATAL\n")
    f = only(run(objects, logs))
    assert f.reason is Reason.APP_ERROR


def test_a_quantity_is_bounded_before_its_backtracking_pattern_runs() -> None:
    """crashwatch.quantity's pattern backtracks (a 10,000-digit value took 4.8 s); a
    memory value comes from tenant-editable annotations too, so longer strings are refused
    before it runs. (No quantity the API server accepts is that long.)"""
    from crashwatch.quantity import parse_quantity  # noqa: PLC0415

    assert parse_quantity("512Mi") is not None
    assert parse_quantity("1" * 100 + "Mi") is None
    assert parse_quantity("1" * 1_000_000 + "x") is None
