"""One ask path for the API and the CLI: check the question, answer it, record it and count it."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass

from askoleus.answer import Answer, Answerer
from askoleus.config import Settings
from askoleus.errors import InvalidRequest
from askoleus.index.loaded import LoadedIndex
from askoleus.qlog import QuestionLog
from askoleus.retrieve import Hit, Mode

questions_log = logging.getLogger("askoleus.questions")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_question(value: str) -> str:
    """Reject empty and control-character questions; never echo the input in the error."""
    if _CONTROL.search(value) or any(unicodedata.category(ch) == "Cs" for ch in value):
        raise ValueError("question contains control characters")
    if not value.strip():
        raise ValueError("question is empty")
    return value.strip()


def check_question(value: str, max_chars: int) -> str:
    """The question cleaned and at most max_chars long, or InvalidRequest (a 422) that never echoes it."""
    try:
        question = clean_question(value)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    if len(question) > max_chars:
        raise InvalidRequest(f"question is longer than {max_chars} characters")
    return question


@dataclass(frozen=True)
class Asked:
    """An answer and the id it was recorded under ("" when nothing is recorded)."""

    answer: Answer
    answer_id: str


class Asking:
    """Questions in, answers out: the same checks, question log and metrics for every entry point."""

    def __init__(
        self,
        settings: Settings,
        answerer: Answerer,
        qlog: QuestionLog | None = None,
        count: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.answerer = answerer
        self.qlog = qlog  # None: nothing is recorded (the CLI)
        self.count = count  # called with each answer's status

    def check(self, question: str) -> str:
        """The question cleaned and within ASKOLEUS_MAX_QUESTION_CHARS, or InvalidRequest."""
        return check_question(question, self.settings.max_question_chars)

    def ask(
        self,
        index: LoadedIndex,
        question: str,
        top_k: int | None = None,
        conversation_id: str | None = None,
        request_id: str = "",
    ) -> Asked:
        """Answer a question, record it in the question log, count it, and log it when enabled."""
        question = self.check(question)
        answer = self.answerer.ask(index, question, top_k, conversation_id)
        answer_id = ""
        if self.qlog is not None:
            answer_id = self.qlog.record(
                question,
                answer.status,
                answer.answer,
                [c.model_dump() for c in answer.citations],
                answer.index_generation,
                max((c.score for c in answer.citations), default=None),
            )
        if self.count is not None:
            self.count(answer.status)
        if self.settings.log_questions:  # off by default: question text can be personal
            questions_log.info(
                "question", extra={"request_id": request_id, "question": question, "status": answer.status}
            )
        return Asked(answer, answer_id)

    def search(
        self, index: LoadedIndex, query: str, k: int, kinds: Collection[str] | None = None, mode: Mode = "hybrid"
    ) -> list[Hit]:
        """Ranked passages for a (checked) query, fused as the answers fuse them."""
        return self.answerer.retriever(index).search(query, k, kinds=kinds, mode=mode)
