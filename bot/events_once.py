"""Each Slack event handled once, and handled again when a try failed.

Slack re-delivers an event whose ack was late or lost, with `X-Slack-Retry-Num`. The
first global middleware (bot/middleware.py) claims the event id before any listener runs
and drops a delivery whose event is claimed already (storage/events.py). The claim
becomes final here when the listener returns, and is given back when it raises, so the
next retry handles the event from the start instead of being dropped as a duplicate. A
retry that arrives while the first delivery is still at work is dropped: that one may
still succeed, and if it fails, Slack's later retries find the claim given back.

Listeners run on Bolt's executor after the ack, so the outcome is taken from Bolt's
listener runner (its error and completion handlers), not from a middleware, which returns
as soon as the ack is sent. `install` must come after `app.error(...)`, which replaces the
runner's error handler.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.listener.listener_completion_handler import ListenerCompletionHandler
from slack_bolt.listener.listener_error_handler import ListenerErrorHandler

from bot.services import Services
from storage import events

log = logging.getLogger("cxbot.events")

_FAILED = "event_failed"  # set in the request's context when its listener raised


def install(app: App, services: Services) -> None:
    """Settle each event's claim when its listener ends (see the module docstring)."""
    runner = app.listener_runner
    runner.listener_error_handler = _NoteFailure(runner.listener_error_handler)
    runner.listener_completion_handler = _Settle(services, runner.listener_completion_handler)


def event_id(body: dict[str, Any] | None) -> str | None:
    """The Events API delivery's event id; None for anything else."""
    body = body or {}
    value = body.get("event_id") if body.get("type") == "event_callback" else None
    return str(value) if value else None


def settle(services: Services, request: BoltRequest, *, failed: bool = False) -> None:
    """Make the claim on the request's event final, or give it back when its listener
    `failed`. Never raises: the event is answered already, and the lease frees a claim
    left behind."""
    claimed = event_id(request.body)
    if claimed is None:
        return
    try:
        if failed:
            events.release(services.engine, event_id=claimed)
            log.info("event %s failed; Slack's next retry will handle it again", claimed)
        else:
            events.handled(services.engine, event_id=claimed)
    except Exception:
        log.warning("could not settle event %s", claimed, exc_info=True)


class _NoteFailure(ListenerErrorHandler):
    def __init__(self, inner: ListenerErrorHandler) -> None:
        self.inner = inner

    def handle(self, error: Exception, request: BoltRequest, response: BoltResponse | None) -> None:
        request.context[_FAILED] = True
        self.inner.handle(error=error, request=request, response=response)


class _Settle(ListenerCompletionHandler):
    def __init__(self, services: Services, inner: ListenerCompletionHandler) -> None:
        self.services = services
        self.inner = inner

    def handle(self, request: BoltRequest, response: BoltResponse | None) -> None:
        try:
            self.inner.handle(request=request, response=response)
        finally:
            settle(self.services, request, failed=bool(request.context.get(_FAILED)))
