"""The Bolt app: built by `create_app(settings, services)`; no module-level state.

Every feature of the registry (bot.features) adds its listeners. Whatever no feature
handles is still acknowledged (see CxApp), so Slack never shows `dispatch_failed` or
retries an event.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

from bot import events_once, manifest
from bot.errors import describe, install_error_handler
from bot.i18n import N_, translator
from bot.middleware import install_middleware
from bot.observability import observe_slack_errors
from bot.priority import ListenerExecutor
from bot.services import Services
from bot.settings import Settings

log = logging.getLogger("cxbot.app")

# Listeners run on this pool after the request thread hands them over; the request waits
# for their ack(). Bolt's default of 5 threads would make the 6th concurrent command wait
# for a slow one to finish before it is even acknowledged.
LISTENER_THREADS = 64
HELPER_THREADS = 8

NOT_AVAILABLE = N_("{command} is not available yet. Type /cx help to see what you can do.")


def create_app(settings: Settings, services: Services, *, verify_token: bool = True) -> App:
    """The Bolt app for `settings`, with every feature's listeners, the middleware and the
    error handler.

    `verify_token` calls auth.test now, so requests never wait for it later (Bolt would
    otherwise call it on the first request, before that request's ack).
    """
    if not settings.can_call_slack:
        raise ValueError(
            "SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) is required "
            "to build the Slack app"
        )
    client = services.slack.for_request()
    oauth: dict[str, Any] = {}
    if settings.oauth_enabled:
        # Many workspaces: each request's token comes from the installation store.
        oauth = services.slack.oauth.bolt_kwargs()
        verify_token = False
    if services.listeners is None:
        services.listeners = ListenerExecutor(LISTENER_THREADS, services.ack_first)
    app = CxApp(
        name="cxbot",
        signing_secret=settings.slack_signing_secret,
        client=client,
        process_before_response=False,
        token_verification_enabled=verify_token,
        listener_executor=services.listeners,
        logger=logging.getLogger("cxbot.bolt"),
        **oauth,
    )
    if oauth:
        app.enable_token_revocation_listeners()
    observe_slack_errors(app)
    helpers = ThreadPoolExecutor(HELPER_THREADS, thread_name_prefix="cxbot-helper")
    install_error_handler(app, default_locale=settings.cxbot_locale, executor=helpers)
    events_once.install(app, services)
    install_middleware(app, services, executor=helpers)
    for feature in services.registry.features:
        if feature.listeners is not None:
            feature.listeners(app, services)
    unheard = sorted(manifest.bot_event_types() - app.event_types)
    if unheard:
        log.warning("manifest.yml subscribes events no listener handles: %s", unheard)
    return app


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
