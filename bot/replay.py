"""Replayed Slack requests: a signed request captured on the way (a proxy's log, a
browser extension, a leaked HAR file) stays valid for Slack's five-minute timestamp
window, and sending it again would run its command again. Every signature taken is
recorded in the database, shared by all instances, until that window has passed, and a
request whose signature was already taken is dropped.

Slack's own retries of an event (`X-Slack-Retry-Num`) may repeat the first delivery's
bytes within the same second, and so its signature; they are left to the event id check
(bot/middleware.py), which runs an event again only when its first delivery did not
finish. Nothing else is ever retried by Slack, so the header counts only on events.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from storage.seen import first_sighting, forget_expired

log = logging.getLogger("cxbot.replay")

# Slack (and Bolt's verifier) refuse a timestamp further than this from now, either way.
WINDOW_SECONDS = 300
# Instances' clocks may differ a little: a signature is kept this much longer.
SKEW_SECONDS = 60
PURGE_EVERY_SECONDS = 60.0


class ReplayGuard:
    """`first_time(signature, timestamp)`: True once per signature within the window."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock
        self._purged_at = 0.0
        self._lock = threading.Lock()

    def first_time(self, signature: str, timestamp: int) -> bool:
        digest = hashlib.sha256(signature.strip().lower().encode()).hexdigest()
        expires = datetime.fromtimestamp(timestamp + WINDOW_SECONDS + SKEW_SECONDS, UTC)
        try:
            fresh = first_sighting(self._engine, digest=digest, expires_at=expires)
        except SQLAlchemyError as exc:
            # The request needs the database anyway; refusing here would only turn an
            # outage into a different error for Slack.
            log.warning("cannot record a request signature, handling it anyway: %s", exc)
            return True
        self._purge()
        return fresh

    def _purge(self) -> None:
        now = self._clock()
        with self._lock:
            if now - self._purged_at < PURGE_EVERY_SECONDS:
                return
            self._purged_at = now
        try:
            forget_expired(self._engine, now=datetime.fromtimestamp(now, UTC))
        except SQLAlchemyError as exc:
            log.warning("cannot drop expired request signatures: %s", exc)


def is_slack_retry(headers: dict[str, str], body: str) -> bool:
    """Whether a request says it is Slack retrying an event (see the module docstring)."""
    return bool(headers.get("x-slack-retry-num")) and body.lstrip().startswith("{")
