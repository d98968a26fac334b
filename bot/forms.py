"""What a submitted modal holds, and the private answer a listener gives the person.

Slack sends a view's inputs as `view.state.values[block_id][action_id]`
(https://api.slack.com/reference/interaction-payloads/views#view_submission): a text
input's `value`, a select's `selected_option.value`.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.i18n import Translator, translator

log = logging.getLogger(__name__)


def _element(view: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    values = (view.get("state") or {}).get("values") or {}
    element = (values.get(block) or {}).get(action)
    return element if isinstance(element, dict) else {}


def text_value(view: dict[str, Any], block: str, action: str) -> str:
    """A text input's value ("" when left empty)."""
    return str(_element(view, block, action).get("value") or "")


def selected_value(view: dict[str, Any], block: str, action: str) -> str | None:
    """A select's chosen option value, or None."""
    option = _element(view, block, action).get("selected_option") or {}
    value = option.get("value") if isinstance(option, dict) else None
    return str(value) if value else None


def tell(respond: Respond, text: str) -> None:
    """A reply only the person sees, beside the message they acted on."""
    respond(text=text, response_type="ephemeral", replace_original=False)


def reader(context: BoltContext, fallback: str) -> Translator:
    """The translator in the reader's language (bot.middleware filled it in), else `fallback`."""
    return translator(str(context.get("locale") or fallback))


def actor(body: dict[str, Any], context: BoltContext) -> tuple[str, str]:
    """(user, workspace) of a click or a submission."""
    user = str((body.get("user") or {}).get("id") or "")
    team = str(context.team_id or (body.get("team") or {}).get("id") or "")
    return user, team


def pressed_id(value: Any, gone: str) -> int:
    """A button's value (or a modal's private metadata) as an id; `UserError(gone)` if not one."""
    try:
        return int(str(value))
    except (TypeError, ValueError):
        raise UserError(gone) from None


def confirm(client: WebClient, user: str, channel: str | None, text: str) -> None:
    """An ephemeral note in the channel a form came from, else a DM (a DM's error is raised)."""
    if channel:
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
            return
        except SlackApiError as exc:
            # The bot is not in that channel (a DM between two people): DM instead.
            log.info("cannot confirm in %s (%s); sending a DM", channel, exc.response.get("error"))
    client.chat_postMessage(channel=user, text=text)
