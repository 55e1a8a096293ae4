"""The blind evaluation set (eval/blind/, written independently of the code from the
reason-code contract and the kubelet's formats) as a regression suite: every scenario
must be diagnosed exactly, with the expected owners and evidence, through the real CLI."""

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

BLIND = Path(__file__).resolve().parents[2] / "eval" / "blind"
SCENARIOS = sorted(p for p in BLIND.iterdir() if p.is_dir() and (p / "expected.json").exists())

_spec = importlib.util.spec_from_file_location("blind_score", BLIND / "score.py")
assert _spec is not None and _spec.loader is not None
score = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(score)


def test_the_set_is_there():
    assert len(SCENARIOS) >= 30


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_scenario_is_diagnosed_exactly(scenario: Path) -> None:
    expected = json.loads((scenario / "expected.json").read_text())
    binary = shutil.which("crashwatch", path=str(Path(sys.executable).parent))
    assert binary, "the crashwatch console script is not installed in this environment"
    produced, error = score.run(binary, str(scenario))
    assert error is None, error
    result = score.score_one(expected.get("findings", []),
                             expected.get("optional_findings", []), produced)
    assert result["notes"] == []
    assert (result["fp"], result["fn"]) == (0, 0)
    assert result["ev_found"] == result["ev_total"]
    assert result["own_ok"] == result["own_total"]
