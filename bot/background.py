"""Background work beside the HTTP server: the features' starters (outbox dispatcher,
scheduler leader, ...), started in registry order and stopped in reverse.

`cxbot serve` calls `start_background(services)` in each worker after it has forked (a
thread started before the fork would not survive it); `cxbot run` and the sandbox call it
once. A starter gets the Services and returns a callable that stops what it started (or
None).
"""

from __future__ import annotations

import logging

from bot.services import Services

log = logging.getLogger("cxbot.runtime")


def start_background(services: Services) -> None:
    """Start every feature's background work; the stop functions go into `services.stops`."""
    for starter in services.registry.starters:
        stop = starter(services)
        if stop is not None:
            services.stops.append(stop)
        log.info("started %s.%s", starter.__module__, starter.__qualname__)


def stop_background(services: Services) -> None:
    """Stop what `start_background` started, newest first, then the features' own pools;
    errors are logged, not raised."""
    while services.stops:
        stop = services.stops.pop()
        try:
            stop()
        except Exception:
            log.exception("stopping background work failed")
    services.close_states()


def answers_stored(services: Services, *, team_id: str, response_ids: list[int]) -> None:
    """Tell every feature that answers were stored from outside an import (a webhook): e.g.
    to raise detractor alerts. A failing feature is logged; the answers are kept."""
    for hook in services.registry.answers_stored:
        try:
            hook(services, team_id=team_id, response_ids=response_ids)
        except Exception:
            log.exception("%r failed for %d stored answers", hook, len(response_ids))
