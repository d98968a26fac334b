"""Global Bolt middleware: skip Slack's event retries, and fill the listener context.

Middleware runs on the request thread before the listener gets to `ack()`, so nothing here
may wait on Slack for long: the locale lookup has a time budget and falls back to the
workspace default when Slack is slow (the answer still fills the cache for the next request).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse

from bot import events_once
from bot.i18n import cached_user_locale, user_locale
from bot.services import Services
from bot.text import clean, from_slack
from storage import settings_store
from storage.events import claim

log = logging.getLogger("cxbot.middleware")

# Of Slack's 3 seconds for an ack, the most a cold locale lookup may take.
LOCALE_BUDGET_SECONDS = 0.5


def install_middleware(
    app: App,
    services: Services,
    *,
    executor: Executor,
) -> None:
    """Register the middleware below on `app`, in order."""
    locales = LocaleLookup(executor)
    priority = services.ack_first
    default_team = services.slack.default_team
    workspace_locale = WorkspaceDefault(services, "locale", services.settings.cxbot_locale)

    @app.middleware
    def skip_event_retries(
        request: BoltRequest, body: dict[str, Any], context: BoltContext, next: Callable[[], Any]
    ) -> BoltResponse | None:
        """Ack and drop an event already handled (or still being handled) by any instance.

        Slack re-delivers an event when our ack was late, with `X-Slack-Retry-Num`. The
        event id is claimed when the first delivery starts, so a retry that arrives while
        it still runs is dropped too; bot.events_once makes the claim final when the
        listener succeeds and gives it back when it fails, for the next retry.
        """
        event_id = events_once.event_id(body)
        if not event_id:
            return next()
        team_id = context.team_id or body.get("team_id") or default_team() or ""
        if claim(services.engine, team_id=team_id, event_id=event_id):
            return next()
        retry = (request.headers.get("x-slack-retry-num") or ["0"])[0]
        log.info("event %s already handled; skipping delivery (retry %s)", event_id, retry)
        return BoltResponse(status=200, body="")

    @app.middleware
    def read_typed_text(body: dict[str, Any], next: Callable[[], Any]) -> BoltResponse | None:
        """What people typed, read once before any listener sees it (bot.text).

        A slash command's text and a shortcut's message text arrive Slack-encoded and are
        decoded; modal values arrive as typed and are only made storable.
        """
        if isinstance(body.get("text"), str) and "command" in body:
            body["text"] = from_slack(body["text"])
        message = body.get("message") if body.get("type") == "message_action" else None
        if isinstance(message, dict) and isinstance(message.get("text"), str):
            message["text"] = from_slack(message["text"])
        state = (body.get("view") or {}).get("state") or {}
        for block in (state.get("values") or {}).values():
            for element in block.values() if isinstance(block, dict) else ():
                value = element.get("value") if isinstance(element, dict) else None
                if isinstance(value, str):
                    element["value"] = clean(value)
        return next()

    @app.middleware
    def fill_context(
        body: dict[str, Any], context: BoltContext, next: Callable[[], Any]
    ) -> BoltResponse | None:
        """Put `services`, `team_id` and the user's `locale` where every listener finds them."""
        context["services"] = services
        installed = getattr(context.authorize_result, "team_id", None)
        if installed:
            # The workspace whose token answered: in a Slack Connect channel a partner's
            # press carries the partner's own team, where nothing of ours is stored.
            context["team_id"] = installed
        elif not context.team_id:
            context["team_id"] = body.get("team_id") or default_team()
        default = workspace_locale.get(context.team_id or "")
        user, client = context.user_id, context.client
        context["locale"] = locales.get(client, user, default) if user and client else default
        return next()

    @app.middleware
    def ack_early(
        body: dict[str, Any], context: BoltContext, next: Callable[[], Any]
    ) -> BoltResponse | None:
        """Acknowledge commands, buttons and shortcuts before their listener even starts.

        Bolt would answer Slack only once the listener, on a worker thread, calls ack(): a
        busy pool delays every ack. Slack ignores an ack's body for these requests except
        a slash command's text, which EarlyAck still delivers, through the response URL.
        """
        if "command" in body or body.get("type") in EARLY_ACK_TYPES:
            context["ack"] = EarlyAck(context)
            priority.acked()
        return next()


EARLY_ACK_TYPES = frozenset({"block_actions", "shortcut", "message_action"})


class EarlyAck(Ack):
    """An ack already sent (HTTP 200, empty body); a later ack(text=...) becomes a reply."""

    def __init__(self, context: BoltContext) -> None:
        super().__init__()
        self.response = BoltResponse(status=200, body="")
        self._context = context

    def __call__(  # type: ignore[override]
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[Any] | None = None,
        attachments: Sequence[Any] | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        response_type: str | None = None,
        **_ignored: Any,
    ) -> BoltResponse:
        if isinstance(text, dict):
            blocks = blocks or text.get("blocks")
            response_type = response_type or text.get("response_type")
            text = str(text.get("text") or "")
        respond = self._context.respond if self._context.response_url else None
        if (text or blocks or attachments) and respond is not None:
            respond(
                text=text,
                blocks=blocks,
                attachments=attachments,
                response_type=response_type or "ephemeral",
                replace_original=False,
                unfurl_links=unfurl_links,
                unfurl_media=unfurl_media,
            )
        assert self.response is not None
        return self.response


class WorkspaceDefault:
    """A workspace setting (`cxbot config set locale nb`) read at most once a minute per team."""

    TTL_SECONDS = 60.0

    def __init__(self, services: Services, key: str, fallback: str) -> None:
        self._services = services
        self._key = key
        self._fallback = fallback
        self._cache: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, team_id: str) -> str:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(team_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        try:
            value = settings_store.get(self._services.engine, team_id=team_id, key=self._key)
        except Exception:
            log.warning("cannot read workspace setting %s", self._key, exc_info=True)
            value = None
        value = value or self._fallback
        with self._lock:
            self._cache[team_id] = (value, now + self.TTL_SECONDS)
        return value


class LocaleLookup:
    """The reader's locale within a time budget (see the module docstring).

    bot.i18n caches users.info answers; a cached answer is used at once, and only a cold
    lookup is handed to a helper thread so it cannot hold up the ack.
    """

    def __init__(self, executor: Executor, budget: float = LOCALE_BUDGET_SECONDS) -> None:
        self._executor = executor
        self._budget = budget
        # One users.info call per user at a time: a burst of commands from someone not
        # yet cached shares the first lookup instead of queueing a call each.
        self._pending: dict[tuple[str, str], Future[str]] = {}
        self._lock = threading.Lock()

    def get(self, client: Any, user: str, default: str) -> str:
        cached = cached_user_locale(client, user, default)
        if cached is not None:
            return cached
        key = (user, default)
        with self._lock:
            future = self._pending.get(key)
            created = future is None
            if future is None:
                future = self._executor.submit(user_locale, client, user, default)
                self._pending[key] = future
        if created:
            # Outside the lock: a lookup already finished runs the callback right here.
            future.add_done_callback(self._done)
        try:
            # Kept in bot.i18n's cache even when it arrives after the budget.
            return str(future.result(timeout=self._budget))
        except FutureTimeout:
            log.info("users.info for %s is slow; answering in %s this time", user, default)
            return default

    def _done(self, future: Future[str]) -> None:
        with self._lock:
            for key, pending in list(self._pending.items()):
                if pending is future:
                    del self._pending[key]
