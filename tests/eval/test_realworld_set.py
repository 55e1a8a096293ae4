"""The real-world corpus (eval/realworld/: failures quoted from public issue threads and docs,
each case citing its sources) as a regression suite, like eval/blind: every case must be
diagnosed exactly, with the expected owners and evidence, through the real CLI. The set itself
is held to its promises: big and varied enough, every reason code covered, every case cited,
and the committed build generated from the committed cases."""

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

from crashwatch.model import Reason

REALWORLD = Path(__file__).resolve().parents[2] / "eval" / "realworld"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load("realworld_build", REALWORLD / "build.py")
score = _load("realworld_score", REALWORLD / "score.py")
CASES: list[dict[str, object]] = build.load_cases()
BUILT = sorted(p for p in (REALWORLD / "build").iterdir() if (p / "expected.json").exists())


def test_the_committed_build_is_current(tmp_path: Path) -> None:
    out = tmp_path / "build"
    cases = build.build_all(str(out))
    assert build.stale_files(str(out), str(REALWORLD / "build")) == []
    assert build.readme_with_coverage(cases) == (REALWORLD / "README.md").read_text()


def test_the_set_is_big_and_varied() -> None:
    assert len(CASES) >= 60
    assert len({c["ecosystem"] for c in CASES}) >= 12


def test_every_reason_code_is_expected_somewhere() -> None:
    expected = {e["reason"] for c in CASES for e in c["expected"]}  # type: ignore[attr-defined]
    assert sorted(r.value for r in Reason if r.value not in expected) == []


def test_there_are_healthy_negatives() -> None:
    assert any(not c["expected"] for c in CASES)


def test_every_case_is_cited() -> None:
    for c in CASES:
        sources = c["sources"]
        assert isinstance(sources, list) and sources, c["id"]
        assert all(str(s["url"]).startswith(("https://", "http://")) for s in sources), c["id"]
        assert str(c["quoted"]).strip(), c["id"]
        built = json.loads((REALWORLD / "build" / str(c["id"]) / "expected.json").read_text())
        assert built["sources"] == sources


@pytest.mark.parametrize("case", BUILT, ids=lambda p: p.name)
def test_case_is_diagnosed_exactly(case: Path) -> None:
    binary = shutil.which("crashwatch", path=str(Path(sys.executable).parent))
    assert binary, "the crashwatch console script is not installed in this environment"
    _, result, _ = score.score_case(binary, str(case))
    assert result["notes"] == []
    assert (result["fp"], result["fn"]) == (0, 0)
    assert result["ev_found"] == result["ev_total"]
    assert result["own_ok"] == result["own_total"]


GOOD = {
    "id": "go-example", "ecosystem": "go", "title": "an example",
    "sources": [{"url": "https://github.com/example/example/issues/1", "what": "the log"}],
    "quoted": "panic: config: required environment variable \"DB_URL\" is not set",
    "adapted": "nothing", "namespace": "shop",
    "workload": {"kind": "Deployment", "name": "api"},
    "containers": [{"name": "api", "spec": {"image": "ghcr.io/example/api:1.0"},
                    "failure": {"type": "crashloop", "exitCode": 2, "log":
                                "panic: config: required environment variable \"DB_URL\" is "
                                "not set\n"}}],
    "expected": [{"container": "api", "reason": "CrashLoop.MissingEnv",
                  "evidence_contains": ["DB_URL"]}],
}


def _write(tmp_path: Path, case: dict[str, object]) -> Path:
    cases = tmp_path / "cases"
    cases.mkdir(exist_ok=True)
    (cases / f"{case['id']}.yaml").write_text(json.dumps(case))  # JSON is YAML
    return cases


def test_a_good_case_builds(tmp_path: Path) -> None:
    cases = _write(tmp_path, GOOD)
    build.build_all(str(tmp_path / "build"), str(cases))
    expected = json.loads((tmp_path / "build" / "go-example" / "expected.json").read_text())
    (finding,) = expected["findings"]
    assert finding["owner"] == {"kind": "Deployment", "name": "api"}
    assert finding["pod"].startswith("api-")
    log = tmp_path / "build" / "go-example" / "logs" / "shop" / finding["pod"] / "api.log"
    assert "DB_URL" in log.read_text()


def _broken(change: str) -> dict[str, object]:
    case = json.loads(json.dumps(GOOD))
    container = case["containers"][0]
    if change == "unknown top field":
        case["severity"] = "high"
    elif change == "unknown failure field":
        container["failure"]["exitcode"] = 1
    elif change == "missing source url":
        del case["sources"][0]["url"]
    elif change == "no sources":
        case["sources"] = []
    elif change == "empty quoted":
        case["quoted"] = "  \n"
    elif change == "evidence nowhere":
        case["expected"][0]["evidence_contains"] = ["DATABASE_PASSWORD"]
    elif change == "unknown reason":
        case["expected"][0]["reason"] = "CrashLoop.Unknown"
    elif change == "unknown type":
        container["failure"]["type"] = "crash"
    elif change == "log not quoted":
        container["failure"]["log"] = "something the app never said\n"
    return case


@pytest.mark.parametrize(("change", "field"), [
    ("unknown top field", "severity"),
    ("unknown failure field", "containers[0].failure.exitcode"),
    ("missing source url", "sources[0].url"),
    ("no sources", "sources"),
    ("empty quoted", "quoted"),
    ("evidence nowhere", "expected[0].evidence_contains"),
    ("unknown reason", "expected[0].reason"),
    ("unknown type", "containers[0].failure.type"),
    ("log not quoted", "containers[0].failure.log"),
])
def test_a_broken_case_fails_the_build_naming_case_and_field(
        tmp_path: Path, change: str, field: str) -> None:
    cases = _write(tmp_path, _broken(change))
    with pytest.raises(build.CaseError) as err:
        build.build_all(str(tmp_path / "build"), str(cases))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"case go-example: {field}:")
    assert not (tmp_path / "build").exists()
