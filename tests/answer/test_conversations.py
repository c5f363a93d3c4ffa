"""Conversation memory is bounded in size and expires."""

from __future__ import annotations

from askoleus.answer.conversations import Conversations, Turn


def _turn(q: str) -> Turn:
    return Turn(q, (0,), "g1")


def test_last_turn_is_remembered() -> None:
    """The previous turn of a conversation is what a follow-up leans on."""
    conv = Conversations()
    conv.add("abc12345", _turn("first"))
    conv.add("abc12345", _turn("second"))
    last = conv.last("abc12345")
    assert last is not None
    assert last.question == "second"
    assert conv.last("unknown1") is None
    assert conv.last(None) is None


def test_least_recently_used_conversations_are_evicted() -> None:
    """Past max_conversations the oldest conversation is forgotten."""
    conv = Conversations(max_conversations=2)
    for cid in ("aaaaaaaa", "bbbbbbbb", "cccccccc"):
        conv.add(cid, _turn(cid))
    assert len(conv) == 2
    assert conv.last("aaaaaaaa") is None
    assert conv.last("cccccccc") is not None


def test_idle_conversations_expire() -> None:
    """A conversation idle for longer than the TTL is gone."""
    conv = Conversations(ttl_seconds=0)
    conv.add("aaaaaaaa", _turn("q"))
    assert conv.last("aaaaaaaa") is None


def test_turns_per_conversation_are_bounded() -> None:
    """Only the last max_turns turns are kept."""
    conv = Conversations(max_turns=2)
    for i in range(5):
        conv.add("aaaaaaaa", _turn(str(i)))
    assert len(conv._items["aaaaaaaa"].turns) == 2
