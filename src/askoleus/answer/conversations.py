"""Bounded, expiring conversation memory for follow-up questions (per process)."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from threading import Lock


@dataclass
class Turn:
    """What a follow-up may lean on: the resolved question and the passages used."""

    question: str
    chunk_positions: tuple[int, ...]
    generation: str
    shown: frozenset[str] = frozenset()  # sections quoted or suggested so far ("article_id#anchor")


@dataclass
class _Conversation:
    turns: deque[Turn]
    touched: float = field(default_factory=time.monotonic)


class Conversations:
    """LRU of conversations, each keeping its last few turns, dropped after ttl seconds idle."""

    def __init__(self, max_conversations: int = 10_000, max_turns: int = 4, ttl_seconds: float = 1800) -> None:
        self.max_conversations = max_conversations
        self.max_turns = max_turns
        self.ttl = ttl_seconds
        self._items: OrderedDict[str, _Conversation] = OrderedDict()
        self._lock = Lock()

    def __len__(self) -> int:
        return len(self._items)

    @staticmethod
    def new_id() -> str:
        """An unguessable conversation id."""
        return secrets.token_urlsafe(16)

    def last(self, conversation_id: str | None) -> Turn | None:
        """The previous turn of a live conversation, if any."""
        if not conversation_id:
            return None
        now = time.monotonic()
        with self._lock:
            conv = self._items.get(conversation_id)
            if conv is None or now - conv.touched > self.ttl:
                self._items.pop(conversation_id, None)
                return None
            return conv.turns[-1] if conv.turns else None

    def add(self, conversation_id: str, turn: Turn) -> None:
        """Remember a turn, evicting expired and least recently used conversations."""
        now = time.monotonic()
        with self._lock:
            conv = self._items.pop(conversation_id, None) or _Conversation(deque(maxlen=self.max_turns))
            conv.turns.append(turn)
            conv.touched = now
            self._items[conversation_id] = conv
            while self._items:
                oldest_id, oldest = next(iter(self._items.items()))
                if len(self._items) > self.max_conversations or now - oldest.touched > self.ttl:
                    self._items.pop(oldest_id)
                else:
                    break
