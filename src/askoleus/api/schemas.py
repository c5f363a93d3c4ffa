"""Request, response and error models of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from askoleus.answer import Answer
from askoleus.asking import clean_question


class AskRequest(BaseModel):
    """A reader's question."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="The question, 1 to ASKOLEUS_MAX_QUESTION_CHARS characters")
    top_k: int | None = Field(None, ge=1, le=100, description="Passages to consider (capped by ASKOLEUS_MAX_TOP_K)")
    conversation_id: str | None = Field(None, max_length=64, description="From a previous answer, for follow-ups")
    debug: bool = Field(False, description="Staff only: include the retrieved passages (needs the staff key)")

    @field_validator("question")
    @classmethod
    def _question(cls, v: str) -> str:
        return clean_question(v)


class AskResponse(Answer):
    """An answer plus the id to send feedback about it (and staff-only debug data)."""

    answer_id: str = Field(description="Id for POST /v1/feedback")
    debug: dict[str, Any] | None = Field(None, description="Staff only: retrieved passages with scores")


class SearchHit(BaseModel):
    """One ranked passage."""

    id: str
    text: str
    title: str
    url: str
    section: str
    anchor: str
    source: str
    kind: str
    article_id: str
    score: float
    dense: float
    lexical: float


class SearchResponse(BaseModel):
    """Ranked passages for a query."""

    query: str
    index_generation: str
    hits: list[SearchHit]


class FeedbackRequest(BaseModel):
    """Thumbs up or down on an answer."""

    model_config = ConfigDict(extra="forbid")

    answer_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    rating: Literal["up", "down"]


class ErrorBody(BaseModel):
    """The one error shape: a stable code, a human message, the request id."""

    code: str
    message: str
    request_id: str = ""


class ErrorResponse(BaseModel):
    """Every error the API returns."""

    error: ErrorBody
