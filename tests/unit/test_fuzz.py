"""Property test: random and adversarial logs and objects never make the engine raise.

The inputs come from tests/unit/fuzzgen.py (long lines up to 2 MB, binary decoded with
replacement, nested JSON, deep ``Caused by`` chains, ANSI and CRI prefixes, huge restart
counts, wrong types); ``make bench`` runs the same generator and prints the slowest
diagnosis. Nothing here is timed: the engine's bounds are held by test_bounded_diagnosis.py.
"""

from __future__ import annotations

import random

import fuzzgen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crashwatch.diagnosis import diagnose
from crashwatch.diagnosis.context import MAX_EVIDENCE
from crashwatch.diagnosis.engine import diagnose_pod
from crashwatch.diagnosis.rules.rollout import diagnose_regressions
from crashwatch.diagnosis.view import ClusterView

#: The generator draws from a seeded ``random.Random``: a failing seed replays exactly
#: (``fuzzgen.generate(random.Random(seed))``), and a draw costs hypothesis one integer.
SEEDS = st.integers(min_value=0, max_value=2**64 - 1)


@settings(max_examples=10_000, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(SEEDS)
def test_random_and_adversarial_inputs_never_raise_and_stay_bounded(seed: int) -> None:
    objects, logs = fuzzgen.generate(random.Random(seed))
    view = ClusterView(objects)
    findings = []
    # The rules without diagnose()'s safety net: they themselves must not raise.
    for pod in view.pods:
        findings += diagnose_pod(view, pod, lambda ns, p, c: logs.get((ns, p, c)))
    diagnose_regressions(view, findings)
    for f in findings:
        f.to_dict()
        assert len(f.evidence) <= MAX_EVIDENCE
        assert all(len(line) <= 300 for line in f.evidence)
        assert len(f.summary) <= 400


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(SEEDS)
def test_the_engine_entry_point_takes_the_same_inputs(seed: int) -> None:
    objects, logs = fuzzgen.generate(random.Random(seed))
    diagnose(objects, lambda ns, p, c: logs.get((ns, p, c)))
