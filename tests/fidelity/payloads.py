"""Slack's request bodies in the shapes of bolt-python's scenario fixtures
(slackapi/bolt-python tests/scenario_tests/*.py), filled with cxbot's local ids, and sent
signed to the running app.

Each builder names the fixture whose shape it follows. Nothing here fills in what a
fixture leaves out: the point is to send what Slack sends, including the fields the bot
does not read (enterprise ids, `app_installed_team_id`, `authorizations`, ...).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from tests.bot.slackkit import Result, SlackKit

TEAM = "T0CXLOCAL"  # the workspace that installed cxbot (localslack's)
ENTERPRISE = "E0CXORG"  # its Enterprise Grid org
PARTNER_TEAM = "T0PARTNER"  # a Slack Connect partner's workspace
PARTNER_ENTERPRISE = "E0PARTNER"
PARTNER_USER = "W0PARTNER"  # Grid user ids start with W
APP = "A0CXBOT"
BOT_USER = "U0CXBOT"
FORM = "application/x-www-form-urlencoded"
_ids = itertools.count(1)


def ts() -> str:
    return f"{time.time():.6f}"


def event_id() -> str:
    return f"Ev0FID{next(_ids):06d}"


def slash_command(
    kit: SlackKit, command: str, text: str, *, user: str, channel: str = "C0GENERAL"
) -> dict[str, str]:
    """tests/scenario_tests/test_slash_command.py `slash_command_body`: form fields,
    Enterprise Grid ids included."""
    return {
        "token": "verification_token",
        "team_id": TEAM,
        "team_domain": "cxlocal",
        "channel_id": channel,
        "channel_name": "general",
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "enterprise_id": ENTERPRISE,
        "enterprise_name": "CX Org",
        "api_app_id": APP,
        "is_enterprise_install": "false",
        "response_url": kit.localslack.response_url(channel=channel, user=user),
        "trigger_id": kit.localslack.new_trigger_id(user=user),
    }


def block_actions(
    kit: SlackKit,
    action: Mapping[str, Any],
    *,
    user: str,
    channel: str,
    message_ts: str,
    ephemeral: bool,
    message: Mapping[str, Any] | None = None,
    team: str = TEAM,
    enterprise: str = ENTERPRISE,
) -> dict[str, Any]:
    """tests/scenario_tests/test_block_actions.py `body`: a press in a message, whose
    `container` says whether that message is ephemeral. An ephemeral message carries no
    `message` object: only its ts in the container (and a response URL)."""
    body: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
        "api_app_id": APP,
        "token": "verification_token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": kit.localslack.new_trigger_id(user=user),
        "team": {
            "id": team,
            "domain": "cxlocal" if team == TEAM else "partner",
            "enterprise_id": enterprise,
            "enterprise_name": "CX Org" if enterprise == ENTERPRISE else "Partner Org",
        },
        "enterprise": {"id": enterprise, "name": "CX Org"},
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": channel.lower()},
        "response_url": kit.localslack.response_url(
            channel=channel, user=user, message_ts=message_ts
        ),
        "state": {"values": {}},
        "actions": [{**action, "action_ts": ts()}],
    }
    if message is not None:
        body["message"] = dict(message)
    return body


def view_submission(
    kit: SlackKit,
    callback_id: str,
    values: Mapping[str, Any],
    *,
    user: str,
    private_metadata: str = "",
    team: str = TEAM,
    enterprise: str = ENTERPRISE,
) -> dict[str, Any]:
    """tests/scenario_tests/test_view_submission.py `body`, and with `team` set to a
    partner's, its `connect_channel_payload`: a modal opened in a Slack Connect channel
    and submitted by a member of the other organisation, whose `team`, `user.team_id` and
    `view.team_id` are theirs while `view.app_installed_team_id` is the installer's."""
    view_id = f"V0FID{next(_ids):05d}"
    return {
        "type": "view_submission",
        "team": {
            "id": team,
            "domain": "cxlocal" if team == TEAM else "partner",
            "enterprise_id": enterprise,
            "enterprise_name": "CX Org" if enterprise == ENTERPRISE else "Partner Org",
        },
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
        "api_app_id": APP,
        "token": "verification_token",
        "trigger_id": kit.localslack.new_trigger_id(user=user),
        "view": {
            "id": view_id,
            "team_id": team,
            "type": "modal",
            "blocks": [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": dict(values)},
            "hash": f"{int(time.time())}.3wRYuk3R",
            "title": {"type": "plain_text", "text": "cxbot"},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel"},
            "submit": {"type": "plain_text", "text": "Save"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": APP,
            "external_id": "",
            "app_installed_team_id": TEAM,
            "bot_id": "B0CXBOT",
        },
        "response_urls": [],
        "enterprise": {"id": enterprise, "name": "CX Org"} if team != TEAM else None,
    }


def message_action(
    kit: SlackKit, callback_id: str, *, user: str, channel: str, author: str, text: str
) -> dict[str, Any]:
    """tests/scenario_tests/test_shortcut.py `message_shortcut_body`: the message as
    Slack holds it (text Slack-encoded, rich_text blocks, `team`); the presser's user
    object has no `team_id`."""
    message_ts = ts()
    return {
        "type": "message_action",
        "token": "verification_token",
        "action_ts": ts(),
        "team": {
            "id": TEAM,
            "domain": "cxlocal",
            "enterprise_id": ENTERPRISE,
            "enterprise_name": "CX Org",
        },
        "user": {"id": user, "name": user.lower()},
        "channel": {"id": channel, "name": channel.lower()},
        "callback_id": callback_id,
        "trigger_id": kit.localslack.new_trigger_id(user=user),
        "message_ts": message_ts,
        "message": {
            "client_msg_id": f"fid-{next(_ids)}",
            "type": "message",
            "text": text,
            "user": author,
            "ts": message_ts,
            "team": TEAM,
            "blocks": [
                {
                    "type": "rich_text",
                    "block_id": "d7eJ",
                    "elements": [
                        {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
                    ],
                }
            ],
        },
        "response_url": kit.localslack.response_url(channel=channel, user=user),
    }


def event_callback(
    event: Mapping[str, Any], *, event_id_: str | None = None, enterprise: str | None = ENTERPRISE
) -> dict[str, Any]:
    """tests/scenario_tests/test_events_org_apps.py / test_message_bot.py: an Events API
    delivery with `authorizations` (the installation the event is for) and Grid ids."""
    return {
        "token": "verification_token",
        "team_id": TEAM,
        "enterprise_id": enterprise,
        "api_app_id": APP,
        "event": {"event_ts": ts(), **event},
        "type": "event_callback",
        "event_id": event_id_ or event_id(),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": enterprise,
                "team_id": TEAM,
                "user_id": BOT_USER,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event.get('type', 'event')}-{TEAM}-{event.get('channel', '')}",
    }


def send_form(kit: SlackKit, fields: Mapping[str, str], **kw: Any) -> Result:
    result = kit.send(urlencode(dict(fields)), content_type=FORM, **kw)
    result.sent = dict(fields)
    result.user, result.channel = fields.get("user_id"), fields.get("channel_id")
    result.response_url = fields.get("response_url")
    return result


def send_payload(kit: SlackKit, payload: Mapping[str, Any], **kw: Any) -> Result:
    """An interactivity request: the JSON in a form field `payload`, as Slack posts it."""
    result = kit.send(urlencode({"payload": json.dumps(payload)}), content_type=FORM, **kw)
    result.sent = dict(payload)
    result.user = (payload.get("user") or {}).get("id")
    result.channel = (payload.get("channel") or {}).get("id")
    result.response_url = payload.get("response_url")
    return result


def send_event(
    kit: SlackKit, body: Mapping[str, Any], *, retry: int | None = None, reason: str = ""
) -> Result:
    """An Events API delivery; a retry carries Slack's `X-Slack-Retry-Num` and
    `X-Slack-Retry-Reason` headers (https://api.slack.com/apis/events-api#retries)."""
    headers = {}
    if retry is not None:
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": reason}
    result = kit.send(json.dumps(body), content_type="application/json", headers=headers)
    result.sent = dict(body)
    result.user = (body.get("event") or {}).get("user")
    result.channel = (body.get("event") or {}).get("channel")
    return result
