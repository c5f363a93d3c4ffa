"""Request and error models of the HTTP API."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_question(value: str) -> str:
    """Reject empty and control-character questions; never echo the input in the error."""
    if _CONTROL.search(value) or any(unicodedata.category(ch) == "Cs" for ch in value):
        raise ValueError("question contains control characters")
    if not value.strip():
        raise ValueError("question is empty")
    return value.strip()


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
