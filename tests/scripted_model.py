"""A scripted OpenAI-compatible server on 127.0.0.1: each test says what the "model" does next."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

Behaviour = Callable[[str], Response]


def passage_number(prompt: str, phrase: str) -> int:
    """The [n] of the passage in the prompt that contains phrase (how a model would cite it)."""
    for m in re.finditer(r'<passage n="(\d+)"[^>]*>(.*?)</passage>', prompt, re.DOTALL):
        if phrase in re.sub(r"\s+", " ", m.group(2)):
            return int(m.group(1))
    raise AssertionError(f"no passage contains {phrase!r}")


def _chunk(content: str | None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    body = {
        "id": "scripted",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


def _pieces(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)


def say(draft: Callable[[str], str], *, finish: bool = True, stall_after: float = 0.0, cut: bool = False) -> Behaviour:
    """Stream draft(prompt) a word at a time; optionally stall, end without a finish reason, or break."""

    def respond(prompt: str) -> Response:
        text = draft(prompt)

        async def events() -> AsyncIterator[bytes]:
            pieces = _pieces(text)
            for i, piece in enumerate(pieces):
                yield _chunk(piece)
                if stall_after and i == len(pieces) // 2:
                    await asyncio.sleep(stall_after)
                if cut and i == len(pieces) // 2:
                    raise ConnectionResetError("scripted cut")  # uvicorn drops the connection mid-body
            if finish:
                yield _chunk(None, "stop")
                yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return respond


def raw(body: bytes) -> Behaviour:
    """Send these bytes as the event stream."""
    return lambda prompt: Response(body, media_type="text/event-stream")


def status(code: int) -> Behaviour:
    """Answer with an HTTP error."""
    return lambda prompt: JSONResponse({"error": {"message": "scripted failure"}}, status_code=code)


def stall(seconds: float) -> Behaviour:
    """Say nothing for a while (longer than any budget in the tests)."""

    def respond(prompt: str) -> Response:
        async def events() -> AsyncIterator[bytes]:
            await asyncio.sleep(seconds)
            yield _chunk(None, "stop")

        return StreamingResponse(events(), media_type="text/event-stream")

    return respond


@dataclass
class ScriptedModel:
    """The server's state: the next behaviour and what it was asked."""

    url: str = ""
    behaviour: Behaviour = field(default_factory=lambda: status(503))
    prompts: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def completions(request: Request) -> Response:
            body = await request.json()
            self.headers.append(dict(request.headers))
            prompt = body["messages"][-1]["content"]
            self.prompts.append(prompt)
            return self.behaviour(prompt)

        return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


def serve(model: ScriptedModel, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    """Run the scripted model in a thread on 127.0.0.1:port until server.should_exit."""
    server = uvicorn.Server(uvicorn.Config(model.app(), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("scripted model did not start")
        time.sleep(0.02)
    model.url = f"http://127.0.0.1:{port}/v1"
    return server, thread
