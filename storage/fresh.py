"""Short-lived copies of rarely changing rows (settings, the member directory), per process.

A request reads a workspace's settings several times and every instance serves many
requests a second, while those rows change a few times a day. Each process keeps what it
read for a second or so: a change made in the process is seen at once (the writer drops
the copy), one made by another instance within the freshness window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy.engine import Connection, Engine

V = TypeVar("V")

_all: list[FreshCache[object]] = []


class FreshCache(Generic[V]):
    """Values by key, each answered from memory for `seconds` after it was loaded."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._values: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()
        _all.append(self)  # type: ignore[arg-type]

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        now = time.monotonic()
        with self._lock:
            hit = self._values.get(key)
        if hit is not None and now - hit[0] < self.seconds:
            return hit[1]
        value = load()
        with self._lock:
            self._values[key] = (now, value)
        return value

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._values.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


def database_key(bind: Engine | Connection) -> str:
    """Which database: the URL, not the engine, since the command line's engine and the
    server's share one."""
    return bind.engine.url.render_as_string(hide_password=True)


def forget_everything() -> None:
    """Drop every copy this process keeps (a database emptied or replaced under it)."""
    for cache in _all:
        cache.clear()
