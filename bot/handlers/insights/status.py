"""Votes and status changes on an insight's card, with the reporter's language looked up
for the DM the change sends."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.admins import is_admin
from bot.i18n import user_locale
from bot.outbox import wake
from bot.services import Services
from storage import insights as store


def vote(services: Services, *, team_id: str, insight_id: int, user_id: str) -> store.Voted:
    result = store.vote(
        services.engine,
        team_id=team_id,
        insight_id=insight_id,
        user_id=user_id,
        now=services.clock(),
    )
    if result.changed:
        wake(services)
    return result


def may_change_status(
    services: Services, client: WebClient, card: store.InsightCard, user_id: str
) -> bool:
    """Who decides what happens to an insight: the colleague who recorded it, whoever last
    took it on (set its status), or an admin. Anyone else can +1 it."""
    if user_id in (card.reporter, card.status_by):
        return True
    return is_admin(services, client, user_id)


def change_status(
    services: Services,
    client: WebClient,
    *,
    team_id: str,
    insight_id: int,
    status: str,
    user_id: str,
) -> store.StatusChange | None:
    """Set the status; the reporter's DM is written in the reporter's language. None when
    `user_id` may not change it (see may_change_status)."""
    engine = services.engine
    card = store.get_card(engine, team_id=team_id, insight_id=insight_id)
    if card is None:
        return store.StatusChange(False, None)
    if card.status != status and not may_change_status(services, client, card, user_id):
        return None
    locale = None
    if card.reporter != user_id and card.status != status:
        config = store.load_config(engine, team_id=team_id)
        locale = user_locale(client, card.reporter, config.locale or services.settings.cxbot_locale)
    result = store.set_status(
        engine,
        team_id=team_id,
        insight_id=insight_id,
        status=status,
        user_id=user_id,
        now=services.clock(),
        reporter_locale=locale,
    )
    if result.changed:
        wake(services)
    return result
