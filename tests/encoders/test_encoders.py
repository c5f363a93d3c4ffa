"""The encoder backends: onnx computes torch's vectors, int8 is its own vector space, exports are local and cached."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from askoleus.config import Settings
from askoleus.encoders import BatchingEmbedder, load_backend
from askoleus.encoders import export as export_module
from askoleus.errors import IndexCorrupt
from askoleus.index import load_current
from askoleus.pipeline import build_index

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = [
    "Why do my legs feel heavy when I run?",
    "iron",
    "How much magnesium should an endurance runner take, and does it prevent cramps at night?",
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh export cache for this module: the first load below exports, offline."""
    return tmp_path_factory.mktemp("encoder-cache")


@pytest.fixture(scope="module")
def backends(cache_dir: Path) -> dict[str, object]:
    """torch, onnx and onnx-int8 loaded side by side, with the network unreachable while exporting."""
    settings = Settings(encoder_cache_dir=cache_dir)

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the encoders must never touch the network")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", no_network)
        return {b: load_backend(settings, b) for b in ("torch", "onnx", "onnx-int8")}


def passages() -> tuple[list[str], list[list[tuple[int, int]]]]:
    """The seed article's paragraphs, each split into two spans."""
    text = (ROOT / "corpus" / "why-your-legs-feel-heavy-when-you-run.txt").read_text(encoding="utf-8")
    texts = [p for p in text.split("\n\n") if p.strip()][:24]
    return texts, [[(0, len(t) // 2), (len(t) // 2, len(t))] for t in texts]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1))


def test_onnx_fp32_computes_the_torch_vectors(backends) -> None:  # type: ignore[no-untyped-def]
    torch, onnx = backends["torch"], backends["onnx"]
    assert cosines(torch.encode(QUESTIONS), onnx.encode(QUESTIONS)).min() >= 0.9999
    texts, spans = passages()
    tv, ts = torch.encode_passages(texts, spans)
    ov, os_ = onnx.encode_passages(texts, spans)
    assert cosines(tv, ov).min() >= 0.9999
    assert min(cosines(a, b).min() for a, b in zip(ts, os_, strict=True)) >= 0.9999
    assert [onnx.count_tokens(t) for t in texts] == [torch.count_tokens(t) for t in texts]
    assert (onnx.name, onnx.dim, onnx.max_tokens) == (torch.name, torch.dim, torch.max_tokens)


def test_long_texts_go_in_smaller_batches_with_the_same_vectors(backends) -> None:  # type: ignore[no-untyped-def]
    """A forward pass holds at most BATCH_TOKENS word pieces (build memory), and batching changes no vector."""
    from askoleus.encoders.onnx import BATCH_TOKENS

    onnx = backends["onnx"]
    texts, _ = passages()
    texts = texts + [" ".join(texts)] * 3 + ["iron", "heavy legs"]  # three at the 256-piece limit
    batches = onnx._batches(texts, 32)
    assert sorted(i for b in batches for i in b) == list(range(len(texts)))
    for batch in batches:
        widths = [min(onnx.count_tokens(texts[i]), onnx.max_tokens) for i in batch]
        assert widths[0] == max(widths)
        assert len(batch) == 1 or len(batch) * widths[0] <= BATCH_TOKENS
    assert len(batches[0]) == BATCH_TOKENS // onnx.max_tokens < 32
    one_by_one = np.stack([onnx.encode([t])[0] for t in texts])
    assert cosines(onnx.encode(texts), one_by_one).min() >= 0.9999


def test_int8_is_close_but_a_vector_space_of_its_own(backends) -> None:  # type: ignore[no-untyped-def]
    onnx, int8 = backends["onnx"], backends["onnx-int8"]
    assert cosines(onnx.encode(QUESTIONS), int8.encode(QUESTIONS)).min() >= 0.95
    assert int8.name != onnx.name
    assert int8.name.endswith(int8.info["onnx_sha256"][:12])


def test_the_export_is_cached_and_reused(backends, cache_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def must_not_export(*args: object) -> None:
        raise AssertionError("the cached export should have been used")

    monkeypatch.setattr(export_module, "_torch_export", must_not_export)
    monkeypatch.setattr(export_module, "_quantise", must_not_export)
    again = load_backend(Settings(encoder_cache_dir=cache_dir), "onnx-int8")
    assert again.info == backends["onnx-int8"].info
    (folder,) = [p for p in cache_dir.iterdir() if p.is_dir()]
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert set(meta["files"]) == {"model.onnx", "model-int8.onnx"}
    assert meta["files"]["model-int8.onnx"]["sha256"] == again.info["onnx_sha256"]


def test_an_index_of_another_encoder_is_refused(backends, corpus_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index")
    build_index(settings, backends["onnx-int8"])
    manifest = json.loads(next((tmp_path / "index" / "generations").glob("*/manifest.json")).read_text())
    assert manifest["model"]["encoder"]["backend"] == "onnx-int8"
    assert manifest["model"]["encoder"]["onnx_sha256"] == backends["onnx-int8"].info["onnx_sha256"]
    for other in ("onnx", "torch"):
        with pytest.raises(IndexCorrupt, match="ASKOLEUS_ENCODER_BACKEND"):
            load_current(settings.index_dir, backends[other].name, backends[other].dim)


def test_fp32_onnx_and_torch_share_an_index(backends, corpus_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The documented rule: same function, same vector space; a switch re-embeds nothing."""
    settings = Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index")
    first = build_index(settings, backends["torch"])
    second = build_index(settings, backends["onnx"])
    assert second.unchanged
    assert second.generation == first.generation
    assert load_current(settings.index_dir, backends["onnx"].name, backends["onnx"].dim).generation == first.generation


def test_serving_with_onnx_does_not_import_torch(backends, cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    code = (
        "import sys; from askoleus.config import Settings; from askoleus.encoders import load_embedder; "
        "e = load_embedder(Settings()); e.encode(['why do my legs feel heavy']); "
        "import askoleus.retrieve, askoleus.answer, askoleus.index.loaded; "
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))"
    )
    env = {"ASKOLEUS_ENCODER_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class BlockingEmbedder:
    """Vectors from text length; the first call blocks until released, so others must queue."""

    name, dim, max_tokens = "blocking", 4, 256

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.release = threading.Event()

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        self.calls.append(list(texts))
        if len(self.calls) == 1:
            self.release.wait(30)
        return np.array([[len(t), 1, 0, 0] for t in texts], dtype=np.float32)

    def encode_passages(self, texts, spans, batch_size=32):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def count_tokens(self, text: str) -> int:
        return len(text)


def test_questions_waiting_together_are_encoded_in_one_call() -> None:
    inner = BlockingEmbedder()
    batching = BatchingEmbedder(inner)
    results: dict[str, np.ndarray] = {}

    def ask(q: str) -> None:
        results[q] = batching.encode([q])

    first = threading.Thread(target=ask, args=("a",))
    first.start()
    while not inner.calls:  # the model is busy with "a"
        threading.Event().wait(0.001)
    waiting = [threading.Thread(target=ask, args=(q,)) for q in ("bb", "ccc", "dddd")]
    for t in waiting:
        t.start()
    while len(batching._queue) < 3:
        threading.Event().wait(0.001)
    inner.release.set()
    for t in [first, *waiting]:
        t.join(30)
    assert inner.calls[0] == ["a"]
    assert sorted(inner.calls[1]) == ["bb", "ccc", "dddd"]
    assert len(inner.calls) == 2
    assert {q: float(v[0, 0]) for q, v in results.items()} == {"a": 1, "bb": 2, "ccc": 3, "dddd": 4}


def test_with_two_calls_allowed_a_question_does_not_wait_for_a_busy_model() -> None:
    """ASKOLEUS_ENCODER_CALLS=2: a second question starts its own call while the first is still running,
    and every caller still gets its own rows (nobody spins on an empty call)."""
    inner = BlockingEmbedder()
    batching = BatchingEmbedder(inner, parallel=2)
    results: dict[str, np.ndarray] = {}

    def ask(q: str) -> None:
        results[q] = batching.encode([q])

    first = threading.Thread(target=ask, args=("a",))
    first.start()
    while not inner.calls:  # the first call blocks until released
        threading.Event().wait(0.001)
    second = threading.Thread(target=ask, args=("bb",))
    second.start()
    second.join(30)
    assert inner.calls == [["a"], ["bb"]]  # served beside the blocked call
    inner.release.set()
    first.join(30)
    more = [threading.Thread(target=ask, args=(q,)) for q in ("ccc", "dddd", "eeeee")]
    for t in more:
        t.start()
    for t in more:
        t.join(30)
    assert all(call for call in inner.calls)
    assert sorted(t for call in inner.calls for t in call) == ["a", "bb", "ccc", "dddd", "eeeee"]
    assert {q: float(v[0, 0]) for q, v in results.items()} == {"a": 1, "bb": 2, "ccc": 3, "dddd": 4, "eeeee": 5}
