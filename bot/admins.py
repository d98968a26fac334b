"""The one rule of who is an admin of cxbot in a workspace."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services import Services


def is_admin(services: Services, client: WebClient, user_id: str) -> bool:
    """CXBOT_ADMINS, or a Slack workspace admin or owner (users.info)."""
    if user_id in services.settings.admins:
        return True
    try:
        user = client.users_info(user=user_id).get("user") or {}
    except SlackApiError:
        return False
    return bool(user.get("is_admin") or user.get("is_owner"))
