"""Shared fixtures: the real model, a built index of the seed corpus, and a live uvicorn server."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import numpy as np
import pytest

import localserver
from askoleus.config import Settings
from localserver import free_port, stop_server

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
FIXTURES = Path(__file__).parent / "fixtures"
SEED = "why-your-legs-feel-heavy-when-you-run.txt"
STAFF_KEY = "staff-key-for-tests-0123456789"
ADMIN_KEY = "admin-key-for-tests-0123456789"


class FakeEmbedder:
    """Deterministic hashed bag-of-words vectors: for tests about plumbing, not retrieval quality."""

    name = "fake-hash"
    dim = 64
    max_tokens = 256

    def __init__(self) -> None:
        self.calls = 0

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in text.lower().split():
            v[int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        return v / max(float(np.linalg.norm(v)), 1e-9)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        self.calls += len(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_passages(self, texts, spans, batch_size=32):  # type: ignore[no-untyped-def]
        vecs = self.encode(texts)
        return vecs, [
            np.stack([self._vec(t[s:e]) for s, e in sp]) if sp else np.zeros((0, self.dim), np.float32)
            for t, sp in zip(texts, spans)
        ]

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 2


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    """The real all-MiniLM-L6-v2, loaded offline once per session."""
    from askoleus.embed import load_embedder

    return load_embedder(Settings())


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A private copy of the seed corpus."""
    d = tmp_path / "corpus"
    d.mkdir()
    shutil.copy(CORPUS / SEED, d / SEED)
    return d


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, embedder) -> Settings:  # type: ignore[no-untyped-def]
    """Settings of a session-wide index built from the project's corpus with the real model."""
    from askoleus.pipeline import build_index

    base = tmp_path_factory.mktemp("built")
    corpus = base / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = Settings(corpus_dir=corpus, index_dir=base / "index")
    build_index(settings, embedder)
    return settings


@pytest.fixture(scope="session")
def loaded(built: Settings, embedder):  # type: ignore[no-untyped-def]
    from askoleus.index import load_current

    return load_current(built.index_dir, embedder.name, embedder.dim)


@dataclass
class LiveServer:
    """A real uvicorn process serving a built index on 127.0.0.1."""

    url: str
    settings: Settings
    staff_key: str
    admin_key: str
    host_port: int
    proc: subprocess.Popen[bytes]

    @property
    def host_origin(self) -> str:
        """An extra origin the server allows by CORS (for a separate test host page server)."""
        return f"http://127.0.0.1:{self.host_port}"


def start_server(settings: Settings, env_extra: dict[str, str] | None = None) -> tuple[str, subprocess.Popen[bytes]]:
    """Start uvicorn over settings' index and wait until /readyz answers 200 (log next to the index)."""
    env = {
        "ASKOLEUS_INDEX_DIR": str(settings.index_dir),
        "ASKOLEUS_CORPUS_DIR": str(settings.corpus_dir),
        "ASKOLEUS_SITE_URL": settings.site_url,
        **(env_extra or {}),
    }
    log_path = Path(settings.index_dir).parent / f"server-{time.monotonic_ns()}.log"
    return localserver.start_server(env, log_path, timeout=120)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, built: Settings) -> Iterator[LiveServer]:
    """uvicorn on a free port over a copy of the session index, generous limits, fast reload polling."""
    base = tmp_path_factory.mktemp("live")
    index_dir = base / "index"
    shutil.copytree(built.index_dir, index_dir)
    settings = Settings(corpus_dir=built.corpus_dir, index_dir=index_dir)
    host_port = free_port()
    url, proc = start_server(
        settings,
        {
            "ASKOLEUS_STAFF_KEY": STAFF_KEY,
            "ASKOLEUS_ADMIN_KEY": ADMIN_KEY,
            "ASKOLEUS_RATE_LIMIT_PER_MINUTE": "100000",
            "ASKOLEUS_RATE_LIMIT_BURST": "100000",
            "ASKOLEUS_RELOAD_POLL_SECONDS": "0.5",
            "ASKOLEUS_CORS_ORIGINS": f'["http://127.0.0.1:{host_port}", "http://localhost:{host_port}"]',
        },
    )
    yield LiveServer(url, settings, STAFF_KEY, ADMIN_KEY, host_port, proc)
    stop_server(proc)
