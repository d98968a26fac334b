"""The digest's schedule: the minute sweep that queues the reports whose time has come.

For each workspace and enabled cadence, the latest period whose scheduled time has passed
is queued unless its key already is. A run missed while the bot was down goes out when it
is back, marked late; one missed by more than `CATCH_UP` is stale news and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from bot import outbox
from bot.handlers.digest.compose import CHANNEL_KEYS, ENABLED_KEYS, build, render, workspace
from bot.handlers.digest.posting import enqueue, message_key
from bot.i18n import translator
from bot.services import Services
from core.periods import Period, last_complete, parse_kind
from storage import outbox as queue
from storage import settings_store
from storage.workspaces import known_teams

log = logging.getLogger(__name__)

# Posted more than this after its scheduled time, a report says it is late.
LATE_AFTER = timedelta(hours=1)
# A missed report is still worth posting this long after its time; later it is stale.
CATCH_UP: Final[Mapping[str, timedelta]] = MappingProxyType(
    {
        "week": timedelta(days=3),
        "month": timedelta(days=7),
        "quarter": timedelta(days=7),
        "year": timedelta(days=7),
    }
)


def due_at(period: Period, schedule: tuple[int, int, int], tz: ZoneInfo) -> datetime:
    """When the report of `period` goes out: the schedule's weekday and time, on the first
    such day after the period ends (Monday 08:00 after an ISO week; the first Monday of
    a month for the month before it)."""
    weekday, hour, minute = schedule
    day = period.end + timedelta(days=1)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def latest_due(
    cadence: str, now: datetime, tz: ZoneInfo, schedule: tuple[int, int, int]
) -> tuple[Period, datetime]:
    """The latest `cadence` period whose report time has come at `now`, and that time."""
    period = last_complete(parse_kind(cadence), now, tz)
    due = due_at(period, schedule, tz)
    while due > now:
        period = period.previous()
        due = due_at(period, schedule, tz)
    return period, due


def _channel_set_after(engine: Engine, team_id: str, cadence: str, due: datetime) -> bool:
    """Whether the setting that sends `cadence` somewhere was changed after `due`."""
    keys = [CHANNEL_KEYS[cadence], CHANNEL_KEYS["week"], ENABLED_KEYS[cadence]]
    changed = settings_store.set_since(engine, team_id=team_id, keys=keys)
    return any(at > due for at in changed.values())


def run_schedule(services: Services) -> list[str]:
    """Queue every report whose time has come and that is not queued yet; the keys queued.

    Safe to run any number of times, in any number of processes: the outbox key of a
    report (cadence, channel, period) is unique, so it is queued once.
    """
    engine, now = services.engine, services.clock()
    queued: list[str] = []
    for team_id in known_teams(engine):
        try:
            ws = workspace(services, team_id)
        except ValueError:
            log.exception("digest: the settings of %s cannot be read", team_id)
            continue
        for cadence, channel in ws.channels.items():
            period, due = latest_due(cadence, now, ws.tz, ws.schedule)
            if now - due > CATCH_UP[cadence]:
                continue
            key = message_key(cadence, channel, period)
            if queue.statuses(engine, team_id=team_id, keys=[key]):
                continue
            late = now - due > LATE_AFTER
            if late and _channel_set_after(engine, team_id, cadence, due):
                # Not missed while the bot was down: nobody had asked for it yet. The
                # next report comes on time; `/cx digest` shows this one.
                continue
            try:
                d = build(services, team_id, cadence, period, late=late, place=ws)
                rendered = render(
                    services, d, translator(ws.locale), tz=ws.tz, due=due, currency=ws.currency
                )
                if enqueue(
                    engine, team_id=team_id, channel=channel, d=d, rendered=rendered, now=now
                ):
                    queued.append(key)
                    log.info("digest: queued %s%s", key, " (late)" if d.late else "")
            except Exception:
                # One workspace's trouble must not keep the others' reports back.
                log.exception("digest: building %s failed", key)
    if queued:
        outbox.wake(services)
    return queued
