"""A real uvicorn server: server-sent events, hot reload under traffic, refusing corrupt generations.

Uses its own server over a private copy of the session index (the tests here change the index)."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from askoleus import DISCLAIMER
from askoleus.config import Settings
from askoleus.index import IndexStore
from askoleus.index.store import new_generation_id
from askoleus.pipeline import build_index
from conftest import ADMIN_KEY, SEED, STAFF_KEY, start_server, stop_server

IRON = "why is iron important for runners?"
NEW_PARAGRAPH = (
    "Beetroot juice is a different story from iron. It is rich in dietary nitrate, which can lower the "
    "oxygen cost of running at a steady pace."
)
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@dataclass
class Server:
    url: str
    settings: Settings
    client: httpx.Client

    @property
    def store(self) -> IndexStore:
        return IndexStore(self.settings.index_dir)

    def generation(self) -> str:
        r = self.client.get("/readyz")
        assert r.status_code == 200, r.text
        return r.json()["index_generation"]  # type: ignore[no-any-return]

    def ask(self, question: str, **extra: Any) -> dict[str, Any]:
        r = self.client.post("/v1/ask", json={"question": question, **extra})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, built: Settings) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("server")
    shutil.copytree(built.index_dir, base / "index", ignore=shutil.ignore_patterns("*.sqlite3*"))
    settings = Settings(corpus_dir=built.corpus_dir, index_dir=base / "index")
    url, proc = start_server(
        settings,
        {
            "ASKOLEUS_STAFF_KEY": STAFF_KEY,
            "ASKOLEUS_ADMIN_KEY": ADMIN_KEY,
            "ASKOLEUS_DB_PATH": str(base / "q.sqlite3"),
            "ASKOLEUS_RATE_LIMIT_PER_MINUTE": "100000",
            "ASKOLEUS_RATE_LIMIT_BURST": "100000",
            "ASKOLEUS_RELOAD_POLL_SECONDS": "0.5",
        },
    )
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            yield Server(url, settings, client)
    finally:
        stop_server(proc)


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def stream(server: Server, question: str) -> tuple[httpx.Response, list[tuple[str, dict[str, Any]]]]:
    with server.client.stream("POST", "/v1/ask/stream", json={"question": question}) as r:
        body = r.read().decode()
    return r, sse_events(body)


# -- server-sent events -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        IRON,
        "What's the capital of France?",
        "I have chest pain while running",
        "I'm pregnant, can I take iron supplements?",
    ],
)
def test_stream_events_match_the_json_answer(server: Server, question: str) -> None:
    r, events = stream(server, question)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["cache-control"] == "no-store"
    names = [name for name, _ in events]
    assert names[:2] == ["meta", "citations"]
    assert names[-2:] == ["disclaimer", "done"]
    deltas = names[2:-2]
    assert deltas
    assert set(deltas) == {"delta"}

    data = [d for _, d in events]
    meta, citations, disclaimer, done = data[0], data[1], data[-2], data[-1]
    answer = server.ask(question)
    assert set(meta) == set(answer) - {"answer"}  # every field but the text, which comes as deltas
    assert meta["status"] == answer["status"] == done["status"]
    assert meta["index_generation"] == answer["index_generation"]
    assert meta["answer_id"]
    assert meta["conversation_id"]
    assert citations["citations"] == meta["citations"]
    assert [c["chunk_id"] for c in citations["citations"]] == [c["chunk_id"] for c in answer["citations"]]
    assert disclaimer["disclaimer"] == DISCLAIMER
    assert done["took_ms"] >= 0
    text = "".join(d["text"] for d in data[2:-2])
    assert f"{text}\n\n{disclaimer['disclaimer']}" == answer["answer"]


def test_stream_rejects_bad_input_with_a_json_error(server: Server) -> None:
    r = server.client.post("/v1/ask/stream", json={"question": "   "})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]["code"] == "invalid_request"


def test_stream_follow_up_uses_the_conversation(server: Server) -> None:
    first = server.ask(IRON)
    with server.client.stream(
        "POST", "/v1/ask/stream", json={"question": "and magnesium?", "conversation_id": first["conversation_id"]}
    ) as r:
        events = sse_events(r.read().decode())
    meta = events[0][1]
    assert meta["conversation_id"] == first["conversation_id"]
    assert "magnesium" in "".join(d["text"] for name, d in events if name == "delta").lower()


# -- hot reload (these change the server's index: keep them after the read-only tests) ----------


def _edited_corpus(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    article = dst / SEED
    text = article.read_text(encoding="utf-8")
    anchor = "The wider picture is in our guide to the micronutrients most endurance athletes are deficient in.\n"
    assert anchor in text
    article.write_text(text.replace(anchor, anchor + "\n" + NEW_PARAGRAPH + "\n", 1), encoding="utf-8")
    return dst


def test_hot_reload_under_traffic(server: Server, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    old = server.generation()
    assert "nitrate" not in server.ask("does beetroot juice help runners?")["answer"]
    results: list[tuple[int, str]] = []
    errors: list[str] = []
    switched = threading.Event()
    new_gen: list[str] = []

    def traffic() -> None:
        deadline = time.monotonic() + 30
        with httpx.Client(base_url=server.url, timeout=10) as c:
            while time.monotonic() < deadline:
                try:
                    r = c.post("/v1/ask", json={"question": IRON})
                except httpx.HTTPError as exc:
                    errors.append(repr(exc))
                    continue
                gen = r.json().get("index_generation", "") if r.status_code == 200 else ""
                results.append((r.status_code, gen))
                if new_gen and gen == new_gen[0]:
                    switched.set()
                if len(results) >= 60 and switched.is_set() and sum(g == new_gen[0] for _, g in results) >= 5:
                    return

    thread = threading.Thread(target=traffic, daemon=True)
    thread.start()
    time.sleep(0.5)  # some requests on the old generation first
    corpus = _edited_corpus(server.settings.corpus_dir, tmp_path / "corpus")
    report = build_index(Settings(corpus_dir=corpus, index_dir=server.settings.index_dir), embedder)
    assert report.generation != old
    assert not report.unchanged
    assert report.reused > 0  # unchanged passages are not embedded again
    new_gen.append(report.generation)
    assert switched.wait(10), "the server did not switch to the new generation within 10 s"
    thread.join(30)
    assert not thread.is_alive()

    assert errors == []
    assert len(results) >= 60
    assert all(status == 200 for status, _ in results), {s for s, _ in results}
    gens = [g for _, g in results]
    assert gens[0] == old
    assert gens[-1] == report.generation
    assert gens.count(old) >= 5
    assert gens.count(report.generation) >= 5
    assert set(gens) == {old, report.generation}
    first_new = gens.index(report.generation)
    assert all(g == report.generation for g in gens[first_new:])  # no flapping back
    assert server.generation() == report.generation

    answer = server.ask("does beetroot juice help runners?")
    assert answer["status"] == "answered"
    assert "nitrate" in answer["answer"]

    r = server.client.post("/v1/admin/reload", headers=ADMIN)
    assert r.status_code == 200
    assert r.json() == {"reloaded": False, "index_generation": report.generation, "error": None}
    assert server.client.post("/v1/admin/reload").status_code == 401
    metrics = server.client.get("/metrics").text
    assert f'askoleus_index_generation_info{{generation="{report.generation}"}} 1.0' in metrics
    assert f'generation="{old}"' not in metrics


def _point_current_at(index_dir: Path, gen: str) -> None:
    tmp = index_dir / "CURRENT.test.tmp"
    tmp.write_text(gen + "\n", encoding="utf-8")
    os.replace(tmp, index_dir / "CURRENT")


def _copy_generation(server: Server) -> tuple[str, Path]:
    good = server.store.current_id()
    assert good
    gen = new_generation_id()
    dst = server.store.generations / gen
    shutil.copytree(server.store.generations / good, dst)
    return gen, dst


def _assert_still_serving(server: Server, good: str, problem: str) -> None:
    time.sleep(1.6)  # a few poll cycles of 0.5 s
    assert server.generation() == good
    answer = server.ask(IRON)
    assert answer["status"] == "answered"
    assert answer["index_generation"] == good
    r = server.client.post("/v1/admin/reload", headers=ADMIN)
    assert r.status_code == 200
    body = r.json()
    assert body["reloaded"] is False
    assert body["index_generation"] == good
    assert problem in body["error"]
    assert server.client.get("/healthz").status_code == 200


def test_corrupt_generation_is_refused(server: Server) -> None:
    good = server.generation()
    assert server.store.current_id() == good
    bad, bad_dir = _copy_generation(server)
    vectors = bad_dir / "vectors.npy"
    raw = bytearray(vectors.read_bytes())
    raw[-3] ^= 0xFF  # one flipped bit pattern in the last vector: still a valid .npy, wrong checksum
    vectors.write_bytes(bytes(raw))
    _point_current_at(server.settings.index_dir, bad)
    try:
        _assert_still_serving(server, good, "sha256")
    finally:
        _point_current_at(server.settings.index_dir, good)


def test_generation_of_another_model_is_refused(server: Server) -> None:
    good = server.generation()
    other, other_dir = _copy_generation(server)
    manifest = json.loads((other_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest["model"]["name"] = "some-other-model"
    manifest["generation"] = other
    (other_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    server.store.activate(other)  # checksums are fine: only the model check can refuse it
    try:
        _assert_still_serving(server, good, "some-other-model")
    finally:
        _point_current_at(server.settings.index_dir, good)
    # back on the served generation: nothing to report any more
    r = server.client.post("/v1/admin/reload", headers=ADMIN)
    assert r.json() == {"reloaded": False, "index_generation": good, "error": None}
