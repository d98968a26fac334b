"""The demo's detractor alerts are a history that happened: followed up, closed, a few open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.demo import KEEP_OPEN_ALERTS, seed
from core.demo import alert_history
from storage import settings_store
from storage.alerts import list_alerts
from storage.metrics_queries import followup_counts
from storage.models import Alert, OutboxMessage

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TEAM = "T0DEMOAL"
_A = Alert.__table__  # type: ignore[attr-defined]
_O = OutboxMessage.__table__  # type: ignore[attr-defined]


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def alerts(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(_A).where(_A.c.team_id == TEAM))]


def test_old_alerts_are_resolved_and_only_the_newest_are_open_and_posted(
    sqlite_engine: Engine,
) -> None:
    settings_store.set(sqlite_engine, team_id=TEAM, key="alerts.channel", value="C0ALERTS")
    summary = seed(sqlite_engine, team_id=TEAM, tz=ZoneInfo("Europe/Oslo"), now=NOW, customers=300)
    rows = alerts(sqlite_engine)
    assert summary.alerts_open == KEEP_OPEN_ALERTS
    assert summary.alerts_resolved == len(rows) - KEEP_OPEN_ALERTS > 50

    open_ = [r for r in rows if r["status"] != "resolved"]
    assert len(open_) == KEEP_OPEN_ALERTS
    # Open ones were raised just now and are due within the target, not all at once later.
    assert all(r["posted"] and r["channel"] == "C0ALERTS" for r in open_)
    assert all(NOW - timedelta(hours=3) < aware(r["created_at"]) < NOW for r in open_)
    cards, total = list_alerts(sqlite_engine, team_id=TEAM, kind="open", user_id="U0ADA", now=NOW)
    assert total == KEEP_OPEN_ALERTS and len(cards) == KEEP_OPEN_ALERTS

    resolved = [r for r in rows if r["status"] == "resolved"]
    for r in resolved:
        created, first, done = (
            aware(r[k]) for k in ("created_at", "first_response_at", "resolved_at")
        )
        assert created <= first <= done < NOW
        assert r["owner"] and r["outcome"]

    # Only the open ones are waiting to be posted; the history's storm was never sent.
    with sqlite_engine.connect() as conn:
        keys = [k for (k,) in conn.execute(select(_O.c.key).where(_O.c.team_id == TEAM))]
    posts = [k for k in keys if k.startswith("alert:")]
    assert len(posts) == KEEP_OPEN_ALERTS and not [k for k in keys if "alertstorm" in k]

    # The follow-up a year of it reports is believable: hours, not zero and not days.
    follow = followup_counts(
        sqlite_engine,
        team_id=TEAM,
        start_utc=NOW - timedelta(days=365),
        end_utc=NOW,
        now=NOW,
    )
    assert follow["alerts"] == len(rows)
    assert 1 < follow["median_hours_to_first_response"] < 8
    assert 0.4 < follow["handled_within_24h"] / follow["alerts"] < 0.9
    assert follow["open_overdue"] == 0


def test_a_second_seed_changes_no_alert(sqlite_engine: Engine) -> None:
    seed(sqlite_engine, team_id=TEAM, tz=ZoneInfo("UTC"), now=NOW, customers=300)
    before = alerts(sqlite_engine)
    again = seed(sqlite_engine, team_id=TEAM, tz=ZoneInfo("UTC"), now=NOW, customers=300)
    assert again.alerts_resolved == 0 and again.alerts_open == 0
    assert alerts(sqlite_engine) == before
    # Without an alerts channel nothing could be posted: the open ones wait unposted.
    assert sum(1 for r in before if r["status"] == "open" and not r["posted"]) == KEEP_OPEN_ALERTS


def test_the_follow_up_story_is_deterministic_and_slower_in_the_carrier_weeks() -> None:
    at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert alert_history(17, at) == alert_history(17, at)
    normal = sorted(
        (alert_history(k, at).first_response_at - at).total_seconds() for k in range(400)
    )
    dip = sorted(
        (alert_history(k, at, in_dip=True).first_response_at - at).total_seconds()
        for k in range(400)
    )
    assert dip[200] > 1.5 * normal[200]
