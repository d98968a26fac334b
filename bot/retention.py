"""Data retention: the hourly sweep that erases what a workspace's `retention.*` settings no
longer keep, through the same path as `cxbot forget` (storage.forget)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from bot.services import Services
from storage import settings_store
from storage.forget import Erased, Retention, purge_old, teams_with_data

log = logging.getLogger("cxbot.retention")

# Slack retries an event for minutes, not days: older handled-event ids only take space.
EVENTS_DAYS = 7
# The member directory (names and e-mails) is a cache of users.list, refreshed within the
# hour whenever it is used: entries Slack has not listed for this long belong to members
# who left or to a workspace the bot no longer serves, and are asked again if needed.
DIRECTORY_DAYS = 30


def retention_for(engine: Engine, *, team_id: str, now: datetime) -> Retention:
    """The cut-off times of `team_id`'s retention settings (defaults where unset)."""
    settings = settings_store.load(engine, team_id=team_id)

    def before(days: int | None) -> datetime | None:
        return now - timedelta(days=days) if days is not None else None

    return Retention(
        responses_before=before(settings.retention_responses_days),
        insights_before=before(settings.retention_insights_days),
        payloads_before=before(settings.retention_outbox_days),
        events_before=now - timedelta(days=EVENTS_DAYS),
        shoutouts_before=before(settings.retention_shoutouts_days),
        surveys_before=before(settings.retention_surveys_days),
        directory_before=now - timedelta(days=DIRECTORY_DAYS),
    )


def run_retention(services: Services) -> dict[str, Erased]:
    """Apply every workspace's retention now; returns what was erased, per workspace."""
    now = services.clock()
    done: dict[str, Erased] = {}
    for team_id in teams_with_data(services.engine):
        retention = retention_for(services.engine, team_id=team_id, now=now)
        erased = purge_old(services.engine, team_id=team_id, retention=retention, now=now)
        if erased.anything:
            log.info("retention erased data of %s", team_id, extra=erased.as_dict())
            done[team_id] = erased
    return done


def retention_sweep(services: Services) -> None:
    """The scheduled sweep: see `run_retention`."""
    run_retention(services)
