"""Slack's Web API rate limits: per method, per app and workspace, in tiers.

Each limit is a token bucket that holds one minute's allowance (Slack tolerates
bursts within a minute) and refills evenly. chat.postMessage is Slack's special
case: about one message per second per channel with a short burst allowance.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}

# Tiers as Slack documents them for each method we serve; unknown methods get Tier 3.
METHOD_TIERS: dict[str, int] = {
    "auth.test": 4,
    "bots.info": 4,
    "team.info": 3,
    "chat.postEphemeral": 4,
    "chat.update": 3,
    "chat.delete": 3,
    "chat.getPermalink": 4,
    "conversations.open": 3,
    "conversations.members": 4,
    "conversations.info": 3,
    "conversations.history": 3,
    "conversations.replies": 3,
    "conversations.list": 2,
    "users.info": 4,
    "users.list": 2,
    "users.lookupByEmail": 3,
    "usergroups.list": 2,
    "usergroups.users.list": 2,
    "views.open": 4,
    "views.update": 4,
    "views.push": 4,
    "views.publish": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
    "reactions.add": 3,
}

POST_MESSAGE_PER_SECOND = 1.0
POST_MESSAGE_BURST = 3.0


@dataclass
class _Bucket:
    capacity: float
    per_second: float
    tokens: float
    stamp: float


class RateLimiter:
    """Thread-safe token buckets keyed by (token, method[, channel])."""

    def __init__(self, scale: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        if scale <= 0:
            raise ValueError("rate_scale must be positive")
        self.scale = scale
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, ...], _Bucket] = {}

    def _limits(self, method: str) -> tuple[float, float]:
        """(capacity, refill per second) for a method, after scaling."""
        if method == "chat.postMessage":
            return (
                max(1.0, POST_MESSAGE_BURST * self.scale),
                POST_MESSAGE_PER_SECOND * self.scale,
            )
        per_minute = PER_MINUTE[METHOD_TIERS.get(method, 3)] * self.scale
        return max(1.0, per_minute), per_minute / 60.0

    def acquire(self, token: str, method: str, channel: str | None = None) -> int:
        """Takes one call's allowance; returns 0 when allowed, else the Retry-After seconds."""
        key = (token, method, channel or "") if method == "chat.postMessage" else (token, method)
        capacity, per_second = self._limits(method)
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(capacity, per_second, capacity, now)
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.stamp) * per_second)
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0
            # Slack sends whole seconds; never 0, or clients would retry at once.
            return max(1, math.ceil((1.0 - bucket.tokens) / per_second))

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
