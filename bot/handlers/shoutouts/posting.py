"""What shout-outs hand the outbox: the renderer `render:shoutout` (the channel post and
each receiver's DM, written at send time in the reader's language), the after-send hook
recording the post's ts, and the hook that sends customer praise after a webhook."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from bot.feature import Sent
from bot.handlers.shoutouts import blocks
from bot.handlers.shoutouts.directory import DirectoryState
from bot.handlers.shoutouts.praise import refresh_for_praise
from bot.i18n import translator
from bot.outbox import NotReady, wake
from bot.services import Services
from storage import shoutouts as store

RENDERER = store.RENDER_METHOD.removeprefix("render:")


class Gone(Exception):
    """The shout-out a queued message refers to does not exist."""


def render_shoutout(
    services: Services, team_id: str, payload: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """`render:shoutout` -> chat.postMessage of the channel post or a receiver's DM."""
    engine = services.engine
    shout = store.get(engine, team_id=team_id, shoutout_id=int(payload["shoutout_id"]))
    if shout is None:
        raise Gone(f"shout-out {payload['shoutout_id']} does not exist")
    locale = payload.get("locale")
    if payload.get("kind") == "dm" and not locale:
        # Queued before the directory knew the receiver (an answer naming a Slack id).
        if team_id in services.state(DirectoryState).reading:
            raise NotReady("the member directory is being read")
        locale = store.member_locale(engine, team_id=team_id, user_id=str(payload["user"]))
    t = translator(str(locale or services.settings.cxbot_locale))
    if payload.get("kind") == "dm":
        user = str(payload["user"])
        text, dm_blocks = blocks.dm_message(shout, t)
        return "chat.postMessage", {"channel": user, "text": text, "blocks": dm_blocks}
    text, post_blocks = blocks.channel_message(shout, t)
    return "chat.postMessage", {
        "channel": str(payload["channel"]),
        "text": text,
        "blocks": post_blocks,
        "unfurl_links": False,
    }


def after_send(conn: Connection, sent: Sent) -> None:
    """Remember where a shout-out was posted, so reactions on it count as seconds."""
    parts = sent.key.split(":")
    if len(parts) == 3 and parts[2] == "post":
        store.record_post(
            conn, team_id=sent.team_id, shoutout_id=int(parts[1]), channel=sent.channel, ts=sent.ts
        )


def answers_stored(services: Services, *, team_id: str, response_ids: list[int]) -> None:
    """bot.features (answers_stored): praise was queued with the answers; send it now.

    When the member directory is stale, answers naming someone by e-mail or name may have
    found nobody: refresh it in the background and try those answers again (praise).
    """
    try:
        refresh_for_praise(services, team_id, response_ids)
    finally:
        # After a refresh is marked pending, so no DM is rendered before it can wait for it.
        wake(services)
