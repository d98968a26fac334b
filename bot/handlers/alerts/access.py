"""Who may act on a detractor alert, where the answer needs Slack (an admin is one by
Slack's word); the rest of the rule is `core.alerts`."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.admins import is_admin
from bot.services import Services
from core.alerts import resolvable_without_admin
from storage.alerts import AlertCard


def may_resolve(services: Services, client: WebClient, card: AlertCard, user_id: str) -> bool:
    """Who may resolve an alert: anyone while nobody has claimed it, then its owner or an
    admin. Notes stay open to all: anyone may add what they know."""
    return resolvable_without_admin(card.owner, user_id) or is_admin(services, client, user_id)
