"""What the user sees when something fails, and what the operator finds in the log.

Two kinds of failure:
- `UserError`: the user asked for something we cannot do (bad input, missing permission).
  Handlers raise it with an English message id; the user gets it in their language, the
  log stays quiet.
- anything else: logged with a short error id; the user gets "something went wrong" with
  that id, so a report from the user can be matched to the log line.

Slack must never show `dispatch_failed` or a timeout, so the handler always acknowledges:
an unacknowledged slash command is answered in the ack itself, a modal submission gets a
pushed error view (the form underneath keeps what the user typed), anything else is acked
empty and the message is delivered in the background.
"""

from __future__ import annotations

import logging
import secrets
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.views import View

from bot.i18n import N_, translator

log = logging.getLogger("cxbot.errors")

GENERIC_MESSAGE = N_(
    "Something went wrong on our side (error id {error_id}). Please try again; "
    "if it keeps happening, give this id to your admin."
)
ERROR_VIEW_TITLE = N_("Something went wrong")


class UserError(Exception):
    """A mistake the user can fix: shown to them as-is (translated), never logged as an error.

    `message_msgid` is the English text with `{placeholders}` filled from `kwargs`; in a
    modal, `block_id` puts the message under that input instead of in a pushed view.
    """

    def __init__(
        self,
        message_msgid: str,
        *,
        block_id: str | None = None,
        numbers: tuple[str, ...] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(message_msgid)
        self.msgid = message_msgid
        self.kwargs = kwargs
        self.block_id = block_id
        # Counts are written the reader's way ("40 000 tegn"), so they are formatted only
        # once the language is known; ids and the like stay as they are.
        self.numbers = numbers

    def text(self, locale: str) -> str:
        t = translator(locale)
        values = {
            key: t.number(int(value), 0) if key in self.numbers else value
            for key, value in self.kwargs.items()
        }
        return t.gettext(self.msgid, **values)


def new_error_id() -> str:
    return secrets.token_hex(4)


def install_error_handler(app: App, *, default_locale: str, executor: Executor) -> None:
    """Make `app`'s global error handler the one described in the module docstring."""

    @app.error
    def handle_error(
        error: Exception,
        request: BoltRequest,
        response: BoltResponse | None,
        body: dict[str, Any],
    ) -> BoltResponse | None:
        context = request.context
        locale = str(context.get("locale") or default_locale)
        if isinstance(error, UserError):
            text = error.text(locale)
            log.debug("user error: %s", error.msgid)
        else:
            error_id = new_error_id()
            log.error(
                "error id %s: unhandled error in %s",
                error_id,
                describe(body),
                exc_info=(type(error), error, error.__traceback__),
            )
            text = translator(locale).gettext(GENERIC_MESSAGE, error_id=error_id)

        acked = context.ack.response is not None
        # `response` is None when Bolt already sent the ack; a BoltResponse may only be
        # returned while it can still become the HTTP answer.
        if response is None:
            executor.submit(_deliver, context, body, text)
            return None
        if not acked and "command" in body:
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": text})
        if not acked and body.get("type") == "view_submission":
            return BoltResponse(status=200, body=_view_error(error, text, locale))
        executor.submit(_deliver, context, body, text)
        return BoltResponse(status=200, body="")


def describe(body: dict[str, Any]) -> str:
    """A short, PII-free name of the request for the log: which command, action or event."""
    if "command" in body:
        return f"command {body['command']}"
    kind = str(body.get("type") or "request")
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        return f"block_actions {actions[0].get('action_id', '?')}"
    if kind == "view_submission":
        return f"view_submission {(body.get('view') or {}).get('callback_id', '?')}"
    if kind in ("shortcut", "message_action"):
        return f"{kind} {body.get('callback_id', '?')}"
    if kind == "event_callback":
        return f"event {(body.get('event') or {}).get('type', '?')}"
    return kind


def _view_error(error: Exception, text: str, locale: str) -> dict[str, Any]:
    if isinstance(error, UserError) and error.block_id:
        return {"response_action": "errors", "errors": {error.block_id: text}}
    # Pushed on top of the form: closing it returns to the form with its inputs intact.
    view = View(
        type="modal",
        title=translator(locale).gettext(ERROR_VIEW_TITLE)[:24],
        blocks=[SectionBlock(text=text)],
    )
    return {"response_action": "push", "view": view.to_dict()}


def _deliver(context: BoltContext, body: dict[str, Any], text: str) -> None:
    """Tell the user, by the best channel the request offers; never raises."""
    try:
        # (context.respond exists even without a URL; it would fail when called.)
        if context.response_url and context.respond is not None:
            context.respond(text=text, response_type="ephemeral", replace_original=False)
            return
        client: WebClient | None = context.client
        user = context.user_id
        if client is None or not user:
            return
        channel = context.channel_id
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
        else:
            # No channel (a global shortcut, a button in a modal): the app's DM with the user.
            client.chat_postMessage(channel=user, text=text)
    except Exception:
        log.warning("could not tell the user about an error in %s", describe(body), exc_info=True)
