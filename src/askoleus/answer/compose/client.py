"""The model call: chat completions, streamed, through the official `openai` client (any /v1 server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Literal

from askoleus.config import Settings

if TYPE_CHECKING:  # openai is imported on the first model call: a server without an LLM never loads it
    import openai
    from openai.types.chat import ChatCompletionMessageParam

FailureReason = Literal[
    "timeout", "connection", "http_4xx", "http_5xx", "malformed", "invalid_utf8", "stream_cut", "error"
]


class ModelFailure(Exception):
    """The model could not give a usable draft; reason is a metric label, never exception text."""

    def __init__(self, reason: FailureReason) -> None:
        super().__init__(reason)
        self.reason: FailureReason = reason


def client(settings: Settings, timeout: float) -> openai.AsyncOpenAI:
    """A client for the configured server; no retries (the budget is one attempt), key never logged."""
    import openai

    return openai.AsyncOpenAI(
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value() or "unused",  # local servers need none
        timeout=openai.Timeout(timeout, connect=min(timeout, 3.0)),
        max_retries=0,
    )


async def stream_draft(
    settings: Settings, messages: list[ChatCompletionMessageParam], timeout: float
) -> AsyncIterator[tuple[str, str | None]]:
    """Yield (text piece, finish reason or None) as the model writes; ModelFailure on any failure.

    The caller bounds the whole call with its own deadline; a stream that ends without a finish
    reason was cut and raises ModelFailure("stream_cut").
    """
    import openai

    finished = False
    try:
        async with client(settings, timeout) as api:
            stream = await api.chat.completions.create(
                model=settings.llm_model or "default",
                messages=messages,
                max_tokens=settings.llm_max_tokens,
                temperature=0,
                stream=True,
            )
            async for chunk in stream:
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                piece = choice.delta.content if choice.delta else None
                if piece is not None and not isinstance(piece, str):
                    raise ModelFailure("malformed")
                if piece and "\ufffd" in piece:  # bytes that were not UTF-8, replaced by the decoder
                    raise ModelFailure("invalid_utf8")
                finished = finished or choice.finish_reason is not None
                yield piece or "", choice.finish_reason
    except ModelFailure:
        raise
    except openai.APITimeoutError as exc:
        raise ModelFailure("timeout") from exc
    except openai.APIConnectionError as exc:
        raise ModelFailure("connection") from exc
    except openai.APIStatusError as exc:
        raise ModelFailure("http_5xx" if exc.status_code >= 500 else "http_4xx") from exc
    except UnicodeDecodeError as exc:
        raise ModelFailure("invalid_utf8") from exc
    except (ValueError, TypeError, AttributeError, openai.APIError) as exc:  # JSON or shape of a chunk
        raise ModelFailure("malformed") from exc
    if not finished:
        raise ModelFailure("stream_cut")
