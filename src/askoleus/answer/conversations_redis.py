"""Conversations in Redis, shared by every replica: a capped list of turns per conversation, with a TTL."""

from __future__ import annotations

import json

import redis

from askoleus.redisconn import SharedRedis

from .conversations import Conversations, Turn


def _dump(turn: Turn) -> str:
    return json.dumps(
        {"q": turn.question, "p": list(turn.chunk_positions), "g": turn.generation, "s": sorted(turn.shown)}
    )


def _load(raw: str) -> Turn:
    data = json.loads(raw)
    shown = frozenset(str(k) for k in data.get("s", ()))
    return Turn(str(data["q"]), tuple(int(p) for p in data["p"]), str(data["g"]), shown)


class RedisConversations:
    """Each conversation a Redis list of its last max_turns turns, expiring ttl seconds after the last one.

    While Redis is unreachable, turns go to (and are read from) the local in-memory store: a follow-up
    then continues only on the replica that saw the turn, or starts a fresh conversation.
    """

    def __init__(self, shared: SharedRedis, fallback: Conversations, max_turns: int, ttl_seconds: int) -> None:
        self.shared = shared
        self.fallback = fallback
        self.max_turns = max_turns
        self.ttl = ttl_seconds

    def last(self, conversation_id: str | None) -> Turn | None:
        """The previous turn of a live conversation, if any."""
        if not conversation_id:
            return None
        cid = conversation_id

        def read(client: redis.Redis) -> Turn | None:
            raw = client.lindex(self.shared.key("conv", cid), -1)
            return _load(str(raw)) if raw is not None else self.fallback.last(cid)

        return self.shared.call("conversation_read", read, lambda: self.fallback.last(cid))

    def add(self, conversation_id: str, turn: Turn) -> None:
        """Append a turn, keep the last max_turns and restart the TTL, in one transaction."""
        key = self.shared.key("conv", conversation_id)

        def write(client: redis.Redis) -> None:
            with client.pipeline(transaction=True) as pipe:
                pipe.rpush(key, _dump(turn))
                pipe.ltrim(key, -self.max_turns, -1)
                pipe.expire(key, self.ttl)
                pipe.execute()

        self.shared.call("conversation_write", write, lambda: self.fallback.add(conversation_id, turn))
