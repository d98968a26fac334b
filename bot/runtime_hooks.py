"""Background work that runs beside the HTTP server (outbox dispatcher, scheduler, ...).

`cxbot serve` calls `start_background(services)` in each worker after it has forked (a
thread started before the fork would not survive it), `cxbot run` and the sandbox call it
once. A feature plugs in by adding "module:function" to STARTERS; the function gets the
Services and returns a callable that stops what it started (or None).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from bot.services import Services

log = logging.getLogger("cxbot.runtime")

Starter = Callable[[Services], Callable[[], None] | None]

# "module:function" names, started in this order and stopped in reverse.
STARTERS: list[str] = [
    "bot.alerts:start",
    "bot.shoutouts:start",
    "bot.insights:start",
    "bot.mail:start",
    "bot.outbox:start_dispatcher",
    # The scheduler runs in one instance at a time: the one holding the leader lock.
    "bot.leader:start",
]

_STOPS = "background_stops"


def start_background(services: Services) -> None:
    """Start every registered background task; their stop functions go into `services.extras`."""
    stops: list[Callable[[], None]] = services.extras.setdefault(_STOPS, [])
    for name in STARTERS:
        module_name, _, func_name = name.partition(":")
        starter: Starter = getattr(importlib.import_module(module_name), func_name)
        stop = starter(services)
        if stop is not None:
            stops.append(stop)
        log.info("started %s", name)


def stop_background(services: Services) -> None:
    """Stop what `start_background` started, newest first; errors are logged, not raised."""
    stops: list[Callable[[], None]] = services.extras.get(_STOPS, [])
    while stops:
        stop = stops.pop()
        try:
            stop()
        except Exception:
            log.exception("stopping background work failed")


# "module:function" names called with (services, team_id=..., response_ids=[...]) after
# answers were stored from outside an import (the webhook): e.g. raising detractor alerts.
ANSWERS_STORED: list[str] = ["bot.alerts:answers_stored", "bot.shoutouts:answers_stored"]


def answers_stored(services: Services, *, team_id: str, response_ids: list[int]) -> None:
    """Run the ANSWERS_STORED hooks; a failing hook is logged (the answers are kept)."""
    for name in ANSWERS_STORED:
        module_name, _, func_name = name.partition(":")
        try:
            hook = getattr(importlib.import_module(module_name), func_name)
            hook(services, team_id=team_id, response_ids=response_ids)
        except Exception:
            log.exception("%s failed for %d stored answers", name, len(response_ids))
