"""`cxbot demo-data` and `bot.demo.seed` on SQLite and PostgreSQL: the year explains itself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.demo import STEPS, DemoSummary, seed
from core import metrics
from core.periods import Period, period_containing
from storage.db import session_scope
from storage.models import Insight, InsightVote, Shoutout, ShoutoutReceiver

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
OSLO = ZoneInfo("Europe/Oslo")
TEAM = "T0DEMO"
TABLES = ("response", "responsedaily", "customer", "insight", "shoutout", "shoutoutreceiver")


def table_counts(engine: Engine, team_id: str = TEAM) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: int(
                conn.execute(
                    text(f"SELECT count(*) FROM {t} WHERE team_id = :t"), {"t": team_id}
                ).scalar_one()
            )
            for t in TABLES
        }


def stored_counts(engine: Engine, team_id: str = TEAM) -> pd.DataFrame:
    """Answer counts straight from the stored answers (not the counts table)."""
    sql = text(
        "SELECT local_day, metric, segment, touchpoint, score, count(*) AS n FROM response "
        "WHERE team_id = :t GROUP BY local_day, metric, segment, touchpoint, score"
    )
    with engine.connect() as conn:
        rows = conn.execute(sql, {"t": team_id}).all()
    frame = pd.DataFrame(
        rows, columns=["local_day", "metric", "segment", "touchpoint", "score", "n"]
    )
    # SQLite hands dates back as text.
    frame["local_day"] = pd.to_datetime(frame["local_day"]).dt.date
    return frame


def in_week(counts: pd.DataFrame, week: Period) -> pd.DataFrame:
    return counts[counts["local_day"].between(week.start, week.end)]


def week_nps(counts: pd.DataFrame, week: Period) -> metrics.NpsResult:
    return metrics.summarize(in_week(counts, week)).nps


def dip_weeks(summary: DemoSummary) -> tuple[Period, list[Period], Period]:
    first = period_containing("week", summary.dip_start)
    weeks = [first]
    while weeks[-1].end < summary.dip_end:
        weeks.append(weeks[-1].next())
    after = period_containing("week", summary.recovered_by + timedelta(days=1))
    return first.previous(), weeks, after


def test_the_stored_year_shows_the_delivery_dip_and_its_recovery(engine: Engine) -> None:
    steps: list[int] = []
    summary = seed(engine, team_id=TEAM, tz=OSLO, now=NOW, progress=steps.append)
    assert sum(steps) == STEPS

    counts = table_counts(engine)
    assert counts["customer"] == summary.customers == 3000
    assert counts["response"] == summary.answers == summary.answers_added
    assert 52 * 150 <= summary.answers <= 52 * 300
    assert counts["insight"] == summary.insights_added >= 30
    # Customer praise in the answers adds shout-outs of its own (source "customer").
    with engine.connect() as conn:
        demo_shoutouts = conn.execute(
            text("SELECT count(*) FROM shoutout WHERE team_id = :t AND source = 'demo'"),
            {"t": TEAM},
        ).scalar_one()
    assert demo_shoutouts == summary.shoutouts_added >= 20
    assert counts["shoutout"] >= demo_shoutouts
    assert counts["shoutoutreceiver"] >= counts["shoutout"]
    assert summary.weeks == 52
    assert summary.last_day == date(2026, 11, 22)
    assert summary.first_day == date(2025, 11, 24)

    stored = stored_counts(engine)
    assert int(stored["n"].sum()) == summary.answers
    before, dip, after = dip_weeks(summary)
    assert len(dip) == 4
    assert [w.label() for w in dip] == list(summary.dip_weeks)

    # Weekly NPS from the stored rows: a significant fall into the dip, a rise out of it.
    assert metrics.nps_change(week_nps(stored, dip[0]), week_nps(stored, before)) == "fall"
    recovering = week_nps(stored, dip[-1].next())
    assert metrics.nps_change(recovering, week_nps(stored, dip[-1])) == "rise"
    assert metrics.nps_change(week_nps(stored, after), week_nps(stored, dip[-1])) == "rise"

    # The worst week's breakdown names the cause: Delivery, and within it Private customers.
    worst = min(dip, key=lambda w: week_nps(stored, w).score or 0.0)
    by_touchpoint = metrics.breakdown(in_week(stored, worst), "touchpoint")
    assert min(by_touchpoint, key=lambda r: r.nps.score or 0.0).key == "Delivery"
    delivery = in_week(stored, worst)
    delivery = delivery[delivery["touchpoint"] == "Delivery"]
    by_segment = {r.key: r.nps.score for r in metrics.breakdown(delivery, "segment")}
    assert by_segment["Private"] is not None
    assert by_segment["Private"] == min(s for s in by_segment.values() if s is not None)

    # The counts table the reports read agrees with the answers.
    with engine.connect() as conn:
        rolled = conn.execute(
            text("SELECT sum(n) FROM responsedaily WHERE team_id = :t"), {"t": TEAM}
        ).scalar_one()
    assert int(rolled) == summary.answers

    # Comments in four languages, employees on support answers, customers' churn stored.
    with engine.connect() as conn:
        comments = conn.execute(
            text("SELECT count(*) FROM response WHERE team_id = :t AND comment IS NOT NULL"),
            {"t": TEAM},
        ).scalar_one()
        staff = {
            row[0]
            for row in conn.execute(
                text("SELECT DISTINCT employee FROM response WHERE team_id = :t"), {"t": TEAM}
            )
        }
        ended = conn.execute(
            text("SELECT count(*) FROM customer WHERE team_id = :t AND ended_at IS NOT NULL"),
            {"t": TEAM},
        ).scalar_one()
        sources = {
            row[0]
            for row in conn.execute(
                text("SELECT DISTINCT source FROM response WHERE team_id = :t"), {"t": TEAM}
            )
        }
    assert 0.33 < comments / summary.answers < 0.47
    assert staff == {None, "U0ADA", "U0BJORN", "U0FREJA", "U0SVEA"}
    assert 0.08 * 3000 < ended < 0.2 * 3000
    assert sources == {"demo"}


def test_a_second_run_adds_nothing(engine: Engine) -> None:
    first = seed(engine, team_id=TEAM, tz=OSLO, now=NOW, customers=300)
    before = table_counts(engine)
    second = seed(engine, team_id=TEAM, tz=OSLO, now=NOW, customers=300)
    assert table_counts(engine) == before
    assert second.answers == first.answers
    assert second.answers_added == 0
    assert second.customers_added == 0
    assert second.feedback_skipped
    assert second.insights_added == second.shoutouts_added == 0


def test_force_replaces_only_the_demo_insights_and_shoutouts(engine: Engine) -> None:
    seed(engine, team_id=TEAM, tz=OSLO, now=NOW, customers=300)
    demo_counts = table_counts(engine)
    with session_scope(engine) as session:
        own = Insight(team_id=TEAM, reporter="U0ADA", text="Customers ask for gift wrapping.")
        praise = Shoutout(team_id=TEAM, giver="U0SVEA", text="Thanks Ada!")
        session.add_all([own, praise])
        session.flush()
        assert praise.id is not None
        session.add(ShoutoutReceiver(shoutout_id=praise.id, user_id="U0ADA", team_id=TEAM))
        demo_insight = session.exec(select(Insight).where(Insight.source == "demo")).first()
        assert demo_insight is not None and demo_insight.id is not None
        # Someone linked their own insight to a demo one and voted on it.
        own.duplicate_of = demo_insight.id
        session.add(InsightVote(insight_id=demo_insight.id, user_id="U0FREJA", team_id=TEAM))

    again = seed(engine, team_id=TEAM, tz=OSLO, now=NOW, customers=300, force=True)
    assert not again.feedback_skipped
    after = table_counts(engine)
    assert after["insight"] == demo_counts["insight"] + 1
    assert after["shoutout"] == demo_counts["shoutout"] + 1
    assert after["response"] == demo_counts["response"]
    with engine.connect() as conn:
        kept = conn.execute(
            text("SELECT text, duplicate_of FROM insight WHERE team_id = :t AND source <> 'demo'"),
            {"t": TEAM},
        ).one()
        votes = conn.execute(text("SELECT count(*) FROM insightvote")).scalar_one()
        receivers = conn.execute(
            text(
                "SELECT count(*) FROM shoutoutreceiver r JOIN shoutout s ON s.id = r.shoutout_id "
                "WHERE s.source = 'command'"
            )
        ).scalar_one()
    assert kept == ("Customers ask for gift wrapping.", None)
    assert votes == 0
    assert receivers == 1


def test_workspaces_are_kept_apart(sqlite_engine: Engine) -> None:
    seed(sqlite_engine, team_id="T0ONE", tz=OSLO, now=NOW, customers=200)
    one = table_counts(sqlite_engine, "T0ONE")
    seed(sqlite_engine, team_id="T0TWO", tz=OSLO, now=NOW, customers=200)
    assert table_counts(sqlite_engine, "T0ONE") == one
    assert table_counts(sqlite_engine, "T0TWO") == one


# --------------------------------------------------------------------------- the command


@pytest.fixture
def cli(sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Result]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CXBOT_TIMEZONE", "Europe/Oslo")
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run


def test_the_command_prints_a_summary_and_is_idempotent(
    cli: Callable[..., Result], sqlite_engine: Engine
) -> None:
    first = cli("demo-data", "--team", "T0CLI", "--customers", "200", "--seed", "7")
    assert first.exit_code == 0, first.output
    assert "customers: 200 (200 new)" in first.output
    assert "timezone Europe/Oslo" in first.output
    assert "dip:       Delivery" in first.output
    assert "insights: " in first.output
    stored = table_counts(sqlite_engine, "T0CLI")
    assert stored["customer"] == 200
    assert f"answers:   {stored['response']} ({stored['response']} new)" in first.output

    second = cli("demo-data", "--team", "T0CLI", "--customers", "200", "--seed", "7")
    assert second.exit_code == 0, second.output
    assert f"({0} new)" in second.output
    assert "already there" in second.output
    assert table_counts(sqlite_engine, "T0CLI") == stored


def test_the_command_refuses_bad_options(cli: Callable[..., Result]) -> None:
    result = cli("demo-data", "--customers", "10")
    assert result.exit_code == 2
    assert "--customers" in result.output
    result = cli("demo-data", "--seed", "-1")
    assert result.exit_code == 2
    assert "--seed" in result.output
