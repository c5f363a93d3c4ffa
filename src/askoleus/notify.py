"""Redis pub/sub: whoever activates an index generation tells every replica, which reloads at once.

Polling CURRENT (ASKOLEUS_RELOAD_POLL_SECONDS) stays the fallback when Redis is unset or down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from askoleus.redisconn import REDIS_ERRORS, SharedRedis

log = logging.getLogger("askoleus.notify")
CHANNEL = "generation"


def publish_generation(shared: SharedRedis, generation: str) -> bool:
    """Announce that generation is now current; False (and a warning) when Redis is unreachable."""
    try:
        shared.client.publish(shared.key(CHANNEL), generation)
    except REDIS_ERRORS as exc:
        shared.failed("publish", exc)
        return False
    return True


class GenerationListener:
    """A daemon thread subscribed to the generation channel; calls reload() on each message.

    It reloads once after every (re)subscription too, for announcements missed while disconnected,
    and reconnects on its own after shared.retry_seconds.
    """

    def __init__(self, shared: SharedRedis, reload: Callable[[], object]) -> None:
        self.shared = shared
        self.reload = reload
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="askoleus-generation-listener", daemon=True)

    def start(self) -> None:
        """Start listening."""
        self._thread.start()

    def stop(self) -> None:
        """Stop listening (returns within about a second)."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except REDIS_ERRORS as exc:
                self.shared.failed("subscribe", exc)
                self._stop.wait(self.shared.retry_seconds)
            except Exception:  # a failed reload must not end the listener
                log.exception("generation listener failed; retrying")
                self._stop.wait(self.shared.retry_seconds)

    def _listen(self) -> None:
        pubsub = self.shared.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        try:
            pubsub.subscribe(self.shared.key(CHANNEL))
            self.shared.succeeded()
            self.reload()
            while not self._stop.is_set():  # redis-py pings the idle connection (health_check_interval)
                message = pubsub.get_message(timeout=1.0)
                if message is not None and message.get("type") == "message":
                    log.info("generation %s announced", message.get("data"))
                    self.reload()
        finally:
            pubsub.close()
