"""The digest's inputs on SQLite and PostgreSQL: counts by segment and touchpoint per
period, the comment sample and its themes, insights, shout-outs, and team isolation."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from core.ingest import RESPONSE_COLUMNS
from core.periods import Period, PeriodKind, period_containing
from core.themes import theme_counts
from storage import digest_queries as dq
from storage.models import Insight, InsightVote, Shoutout, ShoutoutReceiver
from storage.responses import insert_responses

TEAM, OTHER = "T0DIGEST", "T0OTHER"
OSLO = ZoneInfo("Europe/Oslo")
WEEK = period_containing("week", date(2026, 11, 16))  # 2026-W47
BEFORE = WEEK.previous()


def store(engine: Engine, team: str, rows: list[tuple[Any, ...]], *, prefix: str = "a") -> None:
    """(day, metric, score, segment, touchpoint, comment) answers, as one import."""
    frame = pd.DataFrame(
        [
            {
                "response_key": f"id:{prefix}{i}",
                "responded_at": datetime.combine(day, time(12), tzinfo=UTC),
                "local_day": day,
                "metric": metric,
                "score": score,
                "customer_id": None,
                "segment": segment,
                "touchpoint": touchpoint,
                "comment": comment,
                "employee": None,
            }
            for i, (day, metric, score, segment, touchpoint, comment) in enumerate(rows)
        ],
        columns=RESPONSE_COLUMNS,
    )
    insert_responses(engine, team_id=team, frame=frame)


def test_counts_per_period_by_segment_and_touchpoint(engine: Engine) -> None:
    monday = WEEK.start
    store(
        engine,
        TEAM,
        [
            (monday, "nps", 10, "Private", "Delivery", None),
            (monday, "nps", 10, "Private", "Delivery", None),
            (monday + timedelta(days=6), "nps", 2, "SMB", None, None),
            (BEFORE.start, "csat", 5, None, "Support", None),
            (WEEK.start - timedelta(days=30), "ces", 7, "Private", "Web", None),
        ],
    )
    store(engine, OTHER, [(monday, "nps", 0, "Private", "Delivery", None)], prefix="o")
    periods = dq.chart_periods(WEEK)
    assert len(periods) == 13 and periods[-1] == WEEK and periods[-2] == BEFORE
    counts = dq.answer_counts(engine, team_id=TEAM, periods=periods)
    assert set(counts) == set(periods)
    now = counts[WEEK].sort_values(["score"]).reset_index(drop=True)
    assert list(now.columns) == ["metric", "score", "segment", "touchpoint", "n"]
    rows = {tuple(r) for r in now.itertuples(index=False)}
    # Unknown touchpoint is '' as in the counts tables; the other team's 0 is not here.
    assert rows == {("nps", 10, "Private", "Delivery", 2), ("nps", 2, "SMB", "", 1)}
    assert {tuple(r) for r in counts[BEFORE].itertuples(index=False)} == {
        ("csat", 5, "", "Support", 1)
    }
    assert int(sum(f["n"].sum() for f in counts.values())) == 5  # 30 days back: in range too
    assert counts[periods[0]].empty and counts[periods[0]]["n"].dtype == "int64"


def test_overlapping_periods_are_refused(engine: Engine) -> None:
    month = period_containing("month", WEEK.start)
    with pytest.raises(ValueError, match="overlap"):
        dq.answer_counts(engine, team_id=TEAM, periods=[WEEK, month])


def test_comment_sample_is_bounded_and_themes_count_comments(engine: Engine) -> None:
    day = WEEK.start + timedelta(days=2)
    rows = [
        (day, "nps", 3, "Private", "Delivery", "The parcel arrived late again") for _ in range(30)
    ]
    rows += [(day, "nps", 9, "SMB", "Support", "Friendly support team") for _ in range(10)]
    rows += [(day, "nps", 9, "SMB", "Support", "") for _ in range(5)]  # empty: not a comment
    rows += [(BEFORE.start, "nps", 9, "SMB", "Support", "Friendly support team")] * 12
    store(engine, TEAM, rows)
    store(engine, OTHER, [(day, "nps", 1, None, None, "Invoice was wrong")] * 9, prefix="o")

    everything = dq.period_comments(engine, team_id=TEAM, period=WEEK)
    assert len(everything) == 40
    sample = dq.period_comments(engine, team_id=TEAM, period=WEEK, limit=8)
    assert 1 <= len(sample) <= 8
    assert set(sample) <= set(everything)

    comments, scale = dq.theme_comments(engine, team_id=TEAM, period=WEEK)
    assert scale == 1.0 and len(comments) == 40
    assert {(c.metric, c.score) for c in comments} == {("nps", 3), ("nps", 9)}
    themes = dict(theme_counts([c.text for c in comments]))
    assert themes.get("late delivery") == 30
    assert "invoice errors" not in themes  # another team's comment
    before, _ = dq.theme_comments(engine, team_id=TEAM, period=BEFORE)
    assert dict(theme_counts([c.text for c in before])).get("friendly customer service") == 12
    assert dq.period_comments(engine, team_id=TEAM, period=WEEK.next()) == []
    # A sample smaller than the period's comments stands for all of them.
    sampled, scale = dq.theme_comments(engine, team_id=TEAM, period=WEEK, limit=7)
    assert len(sampled) == 1 and scale == 40.0  # one a day: the day with comments


def _insight(team: str, text: str, created: datetime, **kw: Any) -> dict[str, Any]:
    values = {
        "team_id": team,
        "reporter": "U0ADA",
        "text": text,
        "source": "command",
        "status": "new",
        "created_at": created,
        "updated_at": created,
    }
    values.update(kw)
    return values


def test_insights_of_the_period_by_priority_with_votes(engine: Engine) -> None:
    start, end = WEEK.utc_bounds(OSLO)
    inside = start + timedelta(days=1)
    long_ago = start - timedelta(days=40)
    table = Insight.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        ids = [
            conn.execute(insert(table).values(**row).returning(table.c.id)).scalar_one()
            for row in (
                _insight(TEAM, "Low priority idea", inside, priority=0.2),
                _insight(
                    TEAM, "Parcels late " * 40, inside, priority=0.9, permalink="https://x/p1"
                ),
                _insight(TEAM, "No priority yet", inside),
                _insight(
                    TEAM,
                    "Older, planned this week",
                    long_ago,
                    status="planned",
                    priority=0.5,
                    updated_at=inside,
                ),
                _insight(TEAM, "Older, untouched", long_ago, priority=1.0),
                _insight(TEAM, "Next week", end + timedelta(hours=1), priority=1.0),
                _insight(OTHER, "Other team", inside, priority=1.0),
            )
        ]
        conn.execute(
            insert(table).values(
                **_insight(TEAM, "Same again", inside, priority=1.0, duplicate_of=ids[1])
            )
        )
        conn.execute(
            insert(InsightVote.__table__),  # type: ignore[attr-defined]
            [
                {"insight_id": ids[0], "user_id": u, "team_id": TEAM, "created_at": inside}
                for u in ("U1", "U2")
            ],
        )
    found = dq.period_insights(engine, team_id=TEAM, start_utc=start, end_utc=end)
    texts = [i["text"] for i in found]
    assert texts[0].startswith("Parcels late") and texts[0].endswith("…")
    assert len(texts[0]) <= dq.INSIGHT_TEXT
    assert texts[1:] == ["Older, planned this week", "Low priority idea", "No priority yet"]
    assert found[0]["permalink"] == "https://x/p1"
    assert found[2]["votes"] == 2 and found[0]["votes"] == 0
    assert [i["new"] for i in found] == [True, False, True, True]
    assert found[1]["status"] == "planned"


def test_shoutout_summary_names_the_promise_lived_most(engine: Engine) -> None:
    start, end = WEEK.utc_bounds(OSLO)
    at = start + timedelta(hours=30)
    s, r = Shoutout.__table__, ShoutoutReceiver.__table__  # type: ignore[attr-defined]
    given = [
        (TEAM, "U1", ("U2",), "We make it easy", at),
        (TEAM, "U1", ("U2", "U3"), "We make it easy", at),
        (TEAM, None, ("U3",), None, at),  # a customer's praise
        (TEAM, "U4", ("U2",), "We keep our promises", at),
        (TEAM, "U4", ("U5",), "We make it easy", end + timedelta(hours=2)),  # next week
        (OTHER, "U9", ("U8",), "We keep our promises", at),
    ]
    with engine.begin() as conn:
        for i, (team, giver, receivers, promise, created) in enumerate(given):
            sid = conn.execute(
                insert(s)
                .values(
                    team_id=team,
                    giver=giver,
                    text="Thanks!",
                    promise=promise,
                    source="command" if giver else "customer",
                    created_at=created,
                    request_key=f"k{i}",
                    seconds=1,
                )
                .returning(s.c.id)
            ).scalar_one()
            conn.execute(
                insert(r), [{"shoutout_id": sid, "user_id": u, "team_id": team} for u in receivers]
            )
    promises = ["We make it easy", "We keep our promises", "We answer within a day"]
    summary = dq.shoutout_summary(
        engine, team_id=TEAM, start_utc=start, end_utc=end, promises=promises
    )
    assert summary["count"] == 4
    assert summary["from_customers"] == 1
    assert summary["top_promise"] == "We make it easy" and summary["top_promise_count"] == 2
    assert summary["top_receivers"][0] == "U2"
    assert summary["promises_unlived"] == ["We answer within a day"]


def test_gather_on_an_empty_workspace(engine: Engine) -> None:
    inputs = dq.gather(engine, team_id=TEAM, period=WEEK, tz=OSLO, promises=["Be kind"])
    assert all(frame.empty for frame in inputs.counts.values())
    assert inputs.comments_now == [] and inputs.comments_before == []
    assert inputs.comment_scale == (1.0, 1.0)
    assert inputs.insights == [] and inputs.pulse == []
    assert inputs.shoutouts["count"] == 0 and inputs.shoutouts["top_promise"] is None
    assert inputs.response_rate is None
    assert set(inputs.timings) == {"counts", "themes", "feedback"}


def test_chart_periods_for_every_cadence() -> None:
    kinds: tuple[PeriodKind, ...] = ("week", "month", "quarter", "year")
    for kind in kinds:
        period: Period = period_containing(kind, date(2026, 11, 16))
        shown = dq.chart_periods(period)
        assert len(shown) == 13
        assert all(a.next() == b for a, b in itertools.pairwise(shown))


def test_pulse_rounds_closed_in_the_window(engine: Engine) -> None:
    from core.surveys import QuestionResult, RoundResults
    from storage.models import Survey, SurveyRound

    definition = {
        "name": "Customer focus pulse",
        "audience": "C0123ABCD",
        "anonymous": True,
        "questions": [
            {"id": "enps", "type": "nps", "text": "How likely are you to recommend working here?"},
            {"id": "impact", "type": "likert", "text": "I know how my work affects customers"},
        ],
    }
    results = RoundResults(
        asked=40,
        answered=10,
        min_answers=5,
        shown=True,
        questions=[
            QuestionResult("enps", "nps", "q", 10, True, score=20.0),
            QuestionResult("impact", "likert", "q", 10, True, score=4.2),
        ],
    )
    start, end = WEEK.utc_bounds(OSLO)
    s, r = Survey.__table__, SurveyRound.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        sid = conn.execute(
            insert(s)
            .values(team_id=TEAM, name="Customer focus pulse", definition=definition)
            .returning(s.c.id)
        ).scalar_one()
        for closed, data in ((start + timedelta(days=2), results), (end, results)):
            conn.execute(
                insert(r).values(
                    team_id=TEAM,
                    survey_id=sid,
                    opened_at=closed - timedelta(days=3),
                    closes_at=closed,
                    closed_at=closed,
                    results=data.to_json(),
                )
            )
    (pulse,) = dq.pulse_summaries(engine, team_id=TEAM, start_utc=start, end_utc=end)
    assert pulse == {
        "name": "Customer focus pulse",
        "enps": 20.0,
        "culture": 4.2,
        "answers": 10,
        "asked": 40,
        "response_rate": 25.0,
        "enough": True,
    }
    assert dq.pulse_summaries(engine, team_id=OTHER, start_utc=start, end_utc=end) == []
