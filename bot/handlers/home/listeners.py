"""The App Home tab: published when a user opens it, and again on "Refresh"."""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.handlers.goals.progress import workspace_goals
from bot.handlers.home.blocks import REFRESH_ACTION, home_view
from bot.handlers.metrics.report import compute_metrics, workspace_tz
from bot.handlers.themes.report import period_themes
from bot.i18n import translator, user_locale, user_timezone
from bot.services import Services
from storage.home_queries import open_alerts, recent_insights, recent_shoutouts

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def home_opened_callback(
        event: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        # The Messages tab fires the same event; only the Home tab has something to draw.
        if event.get("tab", "home") != "home":
            return
        publish_home(client, services, context, str(event.get("user") or ""))

    @app.action(REFRESH_ACTION)
    def home_refresh_callback(
        ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        ack()
        publish_home(client, services, context, str((body.get("user") or {}).get("id") or ""))


def publish_home(client: WebClient, services: Services, context: BoltContext, user_id: str) -> None:
    """Build `user_id`'s Home view from the database and publish it."""
    if not user_id:
        return
    team_id = str(context.team_id or "")
    settings = services.settings
    locale = str(context.get("locale") or "") or user_locale(client, user_id, settings.cxbot_locale)
    team_tz = workspace_tz(services.engine, team_id=team_id, default=settings.cxbot_timezone)
    now = services.clock()
    report = compute_metrics(
        services.engine, team_id=team_id, kind="week", day=None, tz=team_tz, now=now
    )
    view = home_view(
        t=translator(locale),
        tz=ZoneInfo(user_timezone(client, user_id, str(team_tz))),
        now=now,
        report=report,
        insights=recent_insights(services.engine, team_id=team_id, user_id=user_id),
        shoutouts=recent_shoutouts(services.engine, team_id=team_id, user_id=user_id),
        alerts=open_alerts(services.engine, team_id=team_id, owner=user_id),
        themes=period_themes(services, team_id, "week").report,
        goals=workspace_goals(services, team_id, team_tz, now),
    )
    client.views_publish(user_id=user_id, view=view)
