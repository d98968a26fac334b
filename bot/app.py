"""The Bolt app: built by `create_app(settings, services)`; no module-level state.

Every module in `bot.handlers` is registered automatically (`register(app, services)`), so
a feature adds a module and nothing else. Whatever no feature handles is still acknowledged
(see CxApp), so Slack never shows `dispatch_failed` or retries an event.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

from bot import events_once, manifest
from bot.errors import describe, install_error_handler
from bot.i18n import N_, translator
from bot.middleware import install_middleware
from bot.observability import observe_slack_errors
from bot.priority import AckFirst, ListenerExecutor
from bot.services import Services
from bot.settings import Settings
from bot.slack_client import make_client

log = logging.getLogger("cxbot.app")

# Listeners run on this pool after the request thread hands them over; the request waits
# for their ack(). Bolt's default of 5 threads would make the 6th concurrent command wait
# for a slow one to finish before it is even acknowledged.
LISTENER_THREADS = 64
HELPER_THREADS = 8

NOT_AVAILABLE = N_("{command} is not available yet. Type /cx help to see what you can do.")


def create_app(settings: Settings, services: Services, *, verify_token: bool = True) -> App:
    """The Bolt app for `settings`, with every handler module, middleware and error handler.

    `verify_token` calls auth.test now, so requests never wait for it later (Bolt would
    otherwise call it on the first request, before that request's ack).
    """
    if not settings.can_call_slack:
        raise ValueError(
            "SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) is required "
            "to build the Slack app"
        )
    client = make_client(settings)
    priority: AckFirst = services.extras.setdefault("ack_first", AckFirst())
    oauth: dict[str, Any] = {}
    if settings.oauth_enabled:
        # Many workspaces: each request's token comes from the installation store.
        from bot.oauth import setup

        oauth = setup(services, client).bolt_kwargs()
        verify_token = False
    app = CxApp(
        name="cxbot",
        signing_secret=settings.slack_signing_secret,
        client=client,
        process_before_response=False,
        token_verification_enabled=verify_token,
        listener_executor=services.extras.setdefault(
            LISTENERS, ListenerExecutor(LISTENER_THREADS, priority)
        ),
        logger=logging.getLogger("cxbot.bolt"),
        **oauth,
    )
    if oauth:
        app.enable_token_revocation_listeners()
    observe_slack_errors(app)
    helpers = ThreadPoolExecutor(HELPER_THREADS, thread_name_prefix="cxbot-helper")
    team = TeamResolver(services, client=client)
    services.extras.setdefault("team_resolver", team)
    install_error_handler(app, default_locale=settings.cxbot_locale, executor=helpers)
    events_once.install(app, services)
    install_middleware(app, services, executor=helpers, default_team=team.get)
    for name in handler_modules():
        module = importlib.import_module(name)
        module.register(app, services)
    unheard = sorted(manifest.bot_event_types() - app.event_types)
    if unheard:
        log.warning("manifest.yml subscribes events no listener handles: %s", unheard)
    return app


def handler_modules() -> list[str]:
    """The feature modules under bot.handlers, in a stable order."""
    import bot.handlers

    return sorted(
        f"bot.handlers.{m.name}"
        for m in pkgutil.iter_modules(bot.handlers.__path__)
        if not m.name.startswith("_")
    )


class TeamResolver:
    """The workspace meant when a request does not say (webhooks, background work).

    One bot token: its workspace, from auth.test once, then cached. Installs (OAuth mode):
    the one installed workspace, None when there are several (the caller must ask which);
    looked up every time, since a workspace may be installed at any moment. Requests from
    Slack name their team themselves.
    """

    def __init__(self, services: Services, client: Any = None) -> None:
        self._services = services
        self._client = client
        self._team: str | None = None
        self._lock = threading.Lock()

    def get(self) -> str | None:
        if self._services.settings.oauth_enabled:
            return self._installed()
        if self._team is not None:
            return self._team
        with self._lock:
            if self._team is None:
                self._team = self._resolve()
        return self._team

    def _installed(self) -> str | None:
        from bot.oauth import installed_teams

        teams = installed_teams(self._services)
        return teams[0] if len(teams) == 1 else None

    def _resolve(self) -> str | None:
        settings = self._services.settings
        if settings.slack_bot_token:
            client = self._client or make_client(settings)
            try:
                return str(client.auth_test()["team_id"])
            except Exception as exc:
                log.warning("auth.test failed, the workspace is not known yet: %s", exc)
                return None
        from storage.workspaces import known_teams

        teams = known_teams(self._services.engine)
        return teams[0] if len(teams) == 1 else None


# The listeners' thread pool, kept in services.extras so a stopping server can drain it.
LISTENERS = "listener_executor"
# Set in a request's context when Slack was answered before Bolt ran (bot/web.py).
ACKNOWLEDGED = "acknowledged"


class CxApp(App):
    """Bolt's App, answering what no listener handles instead of returning 404.

    A 404 makes Slack show `dispatch_failed` for a command or an error icon on a button, and
    makes it retry an event (in the end switching event delivery off). Unmatched requests
    are handled here rather than by catch-all listeners so that listeners added later (by
    a test, or a plug-in) still get their turn.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Event types with a listener, for the check against manifest.yml's subscriptions.
        self.event_types: set[str] = set()

    def event(self, event: Any, *args: Any, **kwargs: Any) -> Any:
        kind = event.get("type") if isinstance(event, dict) else event
        if isinstance(kind, str):
            self.event_types.add(kind)
        return super().event(event, *args, **kwargs)

    def _handle_unmatched_requests(self, req: BoltRequest, resp: BoltResponse) -> BoltResponse:
        body = req.body or {}
        services = req.context.get("services")
        if services is not None:
            # Nothing to do for this event is done: its retries are duplicates.
            events_once.settle(services, req)
        if "command" in body:
            _ = translator(str(req.context.get("locale") or "en")).gettext
            text = _(NOT_AVAILABLE, command=str(body.get("command") or ""))
            respond = req.context.respond
            if req.context.get(ACKNOWLEDGED) and respond is not None:
                # Slack has had its ack (bot/web.py): the answer goes to the response URL.
                respond(text=text, response_type="ephemeral")
                return BoltResponse(status=200, body="")
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": text})
        if body.get("type") == "block_suggestion":
            return BoltResponse(status=200, body={"options": []})
        log.debug("nothing handles %s; acknowledged", describe(body))
        return BoltResponse(status=200, body="")
