"""The answer's public shape (also the API's response schema)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from askoleus.retrieve import Hit

Status = Literal["answered", "not_covered", "medical_referral", "emergency"]


class Study(BaseModel):
    """A study from the article's Sources list that a cited passage relies on."""

    n: int = Field(description="Number of the entry in the article's Sources list")
    text: str = Field(description="The entry as published")
    authors: str = ""
    year: str = ""
    title: str = ""
    journal: str = ""


class Citation(BaseModel):
    """A passage the answer quotes; `n` is the number of its marker in the answer text."""

    n: int = Field(description="Marker number, [n] in the answer text; numbered in order of appearance")
    title: str = Field(description="Article title")
    url: str = Field(description="Deep link to the article section (with #anchor)")
    section: str = Field(description="Section heading")
    snippet: str = Field(description="The quoted sentence(s) of this passage")
    source: str = Field(description="Corpus-relative path of the article file")
    score: float = Field(description="Retrieval score of the passage (higher is better)")
    chunk_id: str = Field(description="Id of the passage in the index generation")
    references: list[Study] = Field(default_factory=list, description="Studies the passage relies on")


class Related(BaseModel):
    """A nearby article offered when a question is not covered."""

    title: str
    url: str


class Answer(BaseModel):
    """What /v1/ask returns and `askoleus ask --json` prints."""

    answer: str = Field(description="Answer text with [n] citation markers, ending with the disclaimer")
    status: Status = Field(description="answered, not_covered, medical_referral or emergency")
    citations: list[Citation] = Field(default_factory=list, description="The passages quoted, one per [n] marker")
    related: list[Related] = Field(default_factory=list, description="Closest articles (not_covered only)")
    suggestions: list[str] = Field(
        default_factory=list,
        description="Up to 3 questions to ask next (answered only): headings of sections near the answer "
        "that this conversation has not shown yet",
    )
    language: str = Field("en", description="ISO 639-1 code of the language of the reply")
    disclaimer: str = Field(description="The supplement disclaimer, also appended to `answer`")
    conversation_id: str = Field(description="Pass back to ask a follow-up question")
    index_generation: str = Field(description="Index generation that produced this answer")
    took_ms: float = Field(description="Server-side time to answer, in milliseconds")
    # the passages retrieved for this answer, for staff debugging: never serialised or documented
    passages: SkipJsonSchema[list[Hit]] = Field(default_factory=list, exclude=True, repr=False)
