"""What detractor alerts hand the outbox.

- the renderer `render:alert`: turns a queued alert call into the real Web API call from
  the alert's state at send time (post, update, note, reminder, escalation, storm
  summary); `reader`, `posted_at` and `thread_of` serve the mail feature's renderer too;
- the after-send hook that remembers where an alert message landed;
- the "answers stored" hook that wakes the dispatcher.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import Connection, Engine

from bot import outbox as dispatch
from bot.feature import Sent
from bot.handlers.alerts import blocks
from bot.i18n import Translator, translator
from bot.outbox import wake
from bot.services import Services
from core import alerts as rules
from storage import alerts as store
from storage import outbox as queue

RENDERER = store.RENDER_METHOD.removeprefix("render:")


class Gone(Exception):
    """The alert or the message a call refers to no longer exists or will never exist."""


def reader(services: Services, config: rules.AlertConfig) -> tuple[Translator, ZoneInfo]:
    """The language and timezone of a workspace's channel messages."""
    settings = services.settings
    try:
        tz = ZoneInfo(config.timezone or settings.cxbot_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return translator(config.locale or settings.cxbot_locale), tz


# --------------------------------------------------------------------------- rendering


def render_alert(
    services: Services, team_id: str, payload: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """`render:alert` -> (method, payload) for the dispatcher; NotReady while the message
    it refers to is still queued."""
    engine = services.engine
    action = str(payload.get("action") or "")
    config = store.load_config(engine, team_id=team_id)
    t, tz = reader(services, config)
    now = services.clock()
    if action == "storm":
        key = str(payload["group_key"])
        cards = store.group_alerts(engine, team_id=team_id, group_key=key)
        count = len(cards) or int(payload.get("count") or 0)
        counts = rules.storm_counts(c.metric for c in cards)
        return _post(payload["channel"], blocks.storm_message(count, counts, t))
    card = store.get_card(engine, team_id=team_id, alert_id=int(payload["alert_id"]))
    if card is None:
        raise Gone(f"alert {payload.get('alert_id')} does not exist")
    if action == "post":
        parent = _storm_parent(engine, team_id, card.group_key) if card.group_key else None
        message = blocks.alert_message(card, t, tz, now, _mail(engine, card))
        return _post(card.channel, message, **({"thread_ts": parent} if parent else {}))
    if action == "escalate" and payload.get("channel"):
        return _post(payload["channel"], blocks.escalation_message(card, t, tz))
    if action == "remind" and card.owner:
        return _post(card.owner, blocks.reminder_message(card, t, tz, to_owner=True))
    # Everything else refers to the alert message itself.
    channel, ts = posted_at(engine, card)
    if action == "update":
        text, shown = blocks.alert_message(card, t, tz, now, _mail(engine, card))
        return "chat.update", {"channel": channel, "ts": ts, "text": text, "blocks": shown}
    thread = thread_of(engine, card, ts)
    if action == "note":
        note = store.get_note(engine, team_id=team_id, note_id=int(payload["note_id"]))
        if note is None:
            raise Gone(f"note {payload.get('note_id')} does not exist")
        return _post(channel, blocks.note_message(note[1], note[2], t), thread_ts=thread)
    if action == "remind":
        message = blocks.reminder_message(card, t, tz, to_owner=False)
    elif action == "escalate":
        message = blocks.escalation_message(card, t, tz)
    else:
        raise Gone(f"unknown alert action {action!r}")
    # Seen in the thread and, broadcast, in the channel itself.
    return _post(channel, message, thread_ts=thread, reply_broadcast=True)


def _post(
    channel: str | None, message: tuple[str, list[dict[str, Any]]], **extra: Any
) -> tuple[str, dict[str, Any]]:
    text, shown = message
    return "chat.postMessage", {"channel": channel, **extra, "text": text, "blocks": shown}


def _mail(engine: Engine, card: store.AlertCard) -> Any:
    from storage import mail as mail_store

    return mail_store.summary(engine, team_id=card.team_id, alert_id=card.id)


def _storm_parent(engine: Engine, team_id: str, group_key: str) -> str | None:
    """The summary's ts; None when the summary failed for good (post on its own then)."""
    sent = queue.sent_result(engine, team_id=team_id, key=group_key)
    if sent and sent[1]:
        return sent[1]
    status = queue.statuses(engine, team_id=team_id, keys=[group_key]).get(group_key)
    if status in (None, queue.FAILED):
        return None
    raise dispatch.NotReady(f"summary {group_key} not sent yet")


def posted_at(engine: Engine, card: store.AlertCard) -> tuple[str, str]:
    """(channel, ts) of the alert's message; NotReady while it is queued, Gone if never."""
    found = store.post_location(engine, team_id=card.team_id, alert_id=card.id)
    if found is not None:
        return found
    key = f"alert:{card.id}:post"
    status = queue.statuses(engine, team_id=card.team_id, keys=[key]).get(key)
    if status in (None, queue.FAILED):
        raise Gone(f"alert {card.id} was never posted")
    raise dispatch.NotReady(f"alert {card.id} not posted yet")


def thread_of(engine: Engine, card: store.AlertCard, ts: str) -> str:
    """Replies go where the alert message is: its own thread, or the storm's thread."""
    if card.group_key:
        sent = queue.sent_result(engine, team_id=card.team_id, key=card.group_key)
        if sent and sent[1]:
            return sent[1]
    return ts


def after_post(conn: Connection, sent: Sent) -> None:
    """Remember where `alert:{id}:post` landed, for updates, threads and links."""
    parts = sent.key.split(":")
    if len(parts) == 3 and parts[2] == "post" and parts[1].isdigit():
        store.record_posted(
            conn, team_id=sent.team_id, alert_id=int(parts[1]), channel=sent.channel, ts=sent.ts
        )


# --------------------------------------------------------------------------- background


def answers_stored(services: Services, *, team_id: str, response_ids: list[int]) -> None:
    """bot.features (answers_stored): alerts were queued with the answers; send them now."""
    wake(services)
