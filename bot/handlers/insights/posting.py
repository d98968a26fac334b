"""What customer insights hand the outbox: the renderer `render:insight` (the channel
post, its updates, the reporter's status DM, each built from the insight's state when it
is sent) and the hook recording where the post landed."""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy.engine import Connection

from bot.feature import Sent
from bot.handlers.insights import blocks
from bot.handlers.insights.analysis import InsightsState
from bot.handlers.metrics.report import workspace_tz
from bot.handlers.themes.blocks import linked_line
from bot.i18n import Translator, translator
from bot.outbox import NotReady
from bot.services import Services
from core.periods import period_containing
from core.themes import linked
from storage import insights as store

log = logging.getLogger(__name__)

RENDERER = store.RENDER_METHOD.removeprefix("render:")
# How long one month's theme counts serve the cards: every vote or status change renders
# the card again, and reading a busy month's comments takes a second or more.
THEMES_FRESH_SECONDS = 600


class Gone(Exception):
    """The insight, or the message a queued call refers to, does not exist."""


def render_insight(
    services: Services, team_id: str, payload: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """`render:insight` -> (method, payload): the channel post, its update, or a status DM,
    built from the insight's state now."""
    engine = services.engine
    insight_id = int(payload["insight_id"])
    card = store.get_card(engine, team_id=team_id, insight_id=insight_id)
    if card is None:
        raise Gone(f"insight {insight_id} does not exist")
    config = store.load_config(engine, team_id=team_id)
    default_locale = config.locale or services.settings.cxbot_locale
    channel_t = translator(default_locale)
    action = str(payload.get("action") or "")
    if action in ("post", "update"):
        heard = customers_line(services, team_id, card, channel_t)
    if action == "post":
        text, message = blocks.insight_message(card, channel_t, heard=heard)
        return "chat.postMessage", {
            "channel": str(payload["channel"]),
            "text": text,
            "blocks": message,
            "unfurl_links": False,
        }
    if action == "update":
        state, where = store.post_location(engine, team_id=team_id, insight_id=insight_id)
        if state == "pending":
            raise NotReady(f"insight {insight_id} not posted yet")
        if where is None:
            raise Gone(f"insight {insight_id} was never posted")
        text, message = blocks.insight_message(card, channel_t, heard=heard)
        return "chat.update", {"channel": where[0], "ts": where[1], "text": text, "blocks": message}
    if action == "dm":
        t = translator(str(payload.get("locale") or default_locale))
        text, message = blocks.status_dm(card, str(payload["status"]), str(payload["by"]), t)
        return "chat.postMessage", {"channel": card.reporter, "text": text, "blocks": message}
    raise Gone(f"unknown insight action {action!r}")


def customers_line(
    services: Services, team_id: str, card: store.InsightCard, t: Translator
) -> str | None:
    """ "12 customers said this this month (late delivery)": the customers' comments of the
    insight's month on the themes it names, or None when none does."""
    engine = services.engine
    tz = workspace_tz(engine, team_id=team_id, default=services.settings.cxbot_timezone)
    month = period_containing("month", card.created_at.astimezone(tz).date())
    window = int(time.time() // THEMES_FRESH_SECONDS)
    try:
        report = services.state(InsightsState).month_themes(engine, team_id, month, window)
    except Exception:
        # The card matters more than the count: post it without the line.
        log.exception("insights: counting the customers on insight %s's themes failed", card.id)
        return None
    return linked_line(linked(card.text, report), "month", t)


def after_send(conn: Connection, sent: Sent) -> None:
    """Remember where `insight:{id}:post` landed, for updates and links."""
    parts = sent.key.split(":")
    if len(parts) == 3 and parts[2] == "post" and parts[1].isdigit():
        store.record_post(
            conn, team_id=sent.team_id, insight_id=int(parts[1]), channel=sent.channel, ts=sent.ts
        )
