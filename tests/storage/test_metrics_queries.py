"""Counts for the metrics, read from the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from core.periods import period_containing
from storage.metrics_queries import (
    _month_split,
    customer_counts,
    followup_counts,
    metric_counts,
    series_counts,
)
from tests.storage.answers_kit import add_alert, add_answers, add_customers

WEEK = period_containing("week", date(2026, 11, 16))  # Mon 16 .. Sun 22 Nov 2026
ZONE = ZoneInfo("Europe/Oslo")


def _as_dict(frame, *keys: str) -> dict:
    return {tuple(row[k] for k in keys): int(row["n"]) for _, row in frame.iterrows()}


def test_metric_counts_sums_days_inclusive_and_scopes_team(engine: Engine) -> None:
    add_answers(
        engine,
        "T1",
        [
            (date(2026, 11, 15), "nps", 10),  # the Sunday before: outside
            (date(2026, 11, 16), "nps", 10),
            (date(2026, 11, 16), "nps", 10, "retail"),
            (date(2026, 11, 22), "nps", 3, "retail", "phone"),
            (date(2026, 11, 22), "csat", 5),
            (date(2026, 11, 23), "csat", 1),  # the Monday after: outside
        ],
    )
    add_answers(engine, "T2", [(date(2026, 11, 17), "nps", 0)] * 1, key_prefix="other")
    frame = metric_counts(engine, team_id="T1", start=WEEK.start, end=WEEK.end)
    assert list(frame.columns) == ["metric", "score", "n"]
    assert _as_dict(frame, "metric", "score") == {("nps", 10): 2, ("nps", 3): 1, ("csat", 5): 1}

    by_segment = metric_counts(engine, team_id="T1", start=WEEK.start, end=WEEK.end, by="segment")
    assert list(by_segment.columns) == ["metric", "score", "segment", "n"]
    assert _as_dict(by_segment, "metric", "score", "segment") == {
        ("nps", 10, ""): 1,
        ("nps", 10, "retail"): 1,
        ("nps", 3, "retail"): 1,
        ("csat", 5, ""): 1,
    }
    other = metric_counts(engine, team_id="T2", start=WEEK.start, end=WEEK.end)
    assert _as_dict(other, "metric", "score") == {("nps", 0): 1}


def test_metric_counts_empty_and_bad_by(engine: Engine) -> None:
    frame = metric_counts(engine, team_id="T1", start=WEEK.start, end=WEEK.end, by="touchpoint")
    assert frame.empty
    assert list(frame.columns) == ["metric", "score", "touchpoint", "n"]
    with pytest.raises(ValueError, match="segment, touchpoint"):
        metric_counts(engine, team_id="T1", start=WEEK.start, end=WEEK.end, by="customer_id")


def test_series_counts_one_frame_per_period(engine: Engine) -> None:
    previous = WEEK.previous()
    add_answers(
        engine,
        "T1",
        [
            (previous.start, "nps", 9, "retail"),
            (previous.end, "nps", 9, "business"),
            (WEEK.start, "ces", 7, "retail"),
            (WEEK.end, "ces", 7, "retail"),
            (WEEK.end + timedelta(days=1), "ces", 1),
        ],
    )
    empty = WEEK.next().next()
    result = series_counts(engine, team_id="T1", periods=[WEEK, previous, empty])
    assert set(result) == {WEEK, previous, empty}
    assert _as_dict(result[WEEK], "metric", "score") == {("ces", 7): 2}
    assert _as_dict(result[previous], "metric", "score") == {("nps", 9): 2}
    assert result[empty].empty and list(result[empty].columns) == ["metric", "score", "n"]

    by = series_counts(engine, team_id="T1", periods=[WEEK, previous], by="segment")
    assert _as_dict(by[previous], "metric", "score", "segment") == {
        ("nps", 9, "retail"): 1,
        ("nps", 9, "business"): 1,
    }
    assert series_counts(engine, team_id="T1", periods=[]) == {}
    month = period_containing("month", WEEK.start)
    with pytest.raises(ValueError, match="overlap"):
        series_counts(engine, team_id="T1", periods=[WEEK, month])


def test_customer_counts(engine: Engine) -> None:
    start, end = date(2025, 11, 23), date(2026, 11, 22)
    add_customers(
        engine,
        "T1",
        [
            # active all window
            {"started_at": date(2020, 1, 1), "annual_revenue": 1000, "acquisition_cost": 500},
            # lost inside the window (counted at start, not at end)
            {
                "started_at": date(2021, 1, 1),
                "ended_at": date(2026, 3, 1),
                "annual_revenue": 3000,
                "acquisition_cost": "1000.50",
            },
            # lost on the window's first day: active at start, lost
            {"started_at": date(2021, 1, 1), "ended_at": start, "annual_revenue": 2000},
            # new in the window, still active
            {"started_at": date(2026, 6, 1), "annual_revenue": 3000, "acquisition_cost": 700},
            # ended before the window: ignored everywhere, incl. averages
            {
                "started_at": date(2019, 1, 1),
                "ended_at": date(2024, 1, 1),
                "annual_revenue": 99999,
                "acquisition_cost": 99999,
            },
            # starts after the window
            {"started_at": date(2027, 1, 1), "annual_revenue": 99999},
        ],
    )
    add_customers(engine, "T2", [{"started_at": date(2020, 1, 1), "ended_at": date(2026, 1, 1)}])
    counts = customer_counts(engine, team_id="T1", start=start, end=end)
    assert (counts.active_start, counts.active_end, counts.lost) == (3, 2, 2)
    assert counts.avg_annual_revenue == Decimal("2250.00")
    assert counts.avg_acquisition_cost == Decimal("733.50")

    empty = customer_counts(engine, team_id="T3", start=start, end=end)
    assert (empty.active_start, empty.active_end, empty.lost) == (0, 0, 0)
    assert empty.avg_annual_revenue is None and empty.avg_acquisition_cost is None


def test_followup_counts(engine: Engine) -> None:
    start, end = WEEK.utc_bounds(ZONE)
    t0 = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    # handled in 5 h, first response after 1 h
    add_alert(
        engine,
        "T1",
        created_at=t0,
        first_response_after=timedelta(hours=1),
        resolved_after=timedelta(hours=5),
    )
    # resolved after 30 h: not within 24 h; first response after 3 h
    add_alert(
        engine,
        "T1",
        created_at=t0,
        first_response_after=timedelta(hours=3),
        resolved_after=timedelta(hours=30),
    )
    # open and past due at `now`, claimed after 8 h
    add_alert(
        engine, "T1", created_at=t0 + timedelta(days=1), first_response_after=timedelta(hours=8)
    )
    # open, due after now: not overdue
    add_alert(
        engine,
        "T1",
        created_at=datetime(2026, 11, 22, 22, 0, tzinfo=UTC),
        due_after=timedelta(hours=24),
    )
    # resolved after exactly 24 h still counts; first response after 5 h
    add_alert(
        engine,
        "T1",
        created_at=t0 + timedelta(minutes=17, seconds=3, microseconds=123456),
        first_response_after=timedelta(hours=5),
        resolved_after=timedelta(hours=24),
    )
    # outside the week, not posted, another team: none of them count
    # 23:59 on Sunday in Oslo is still the week before
    add_alert(engine, "T1", created_at=datetime(2026, 11, 15, 22, 59, tzinfo=UTC))
    add_alert(engine, "T1", created_at=t0, posted=False)
    add_alert(engine, "T2", created_at=t0)

    result = followup_counts(engine, team_id="T1", start_utc=start, end_utc=end, now=now)
    assert result == {
        "alerts": 5,
        "handled_within_24h": 2,
        "open_overdue": 1,
        "median_hours_to_first_response": pytest.approx(4.0),  # of 1, 3, 5 and 8 h
    }
    nothing = followup_counts(engine, team_id="T3", start_utc=start, end_utc=end, now=now)
    assert nothing == {
        "alerts": 0,
        "handled_within_24h": 0,
        "open_overdue": 0,
        "median_hours_to_first_response": None,
    }


@pytest.mark.parametrize(
    ("start", "end", "days", "months"),
    [
        (date(2026, 11, 16), date(2026, 11, 22), [(date(2026, 11, 16), date(2026, 11, 22))], None),
        (date(2026, 1, 1), date(2026, 12, 31), [], (date(2026, 1, 1), date(2026, 12, 1))),
        (date(2026, 2, 1), date(2026, 2, 28), [], (date(2026, 2, 1), date(2026, 2, 1))),
        (
            date(2026, 1, 15),
            date(2026, 4, 10),
            [(date(2026, 1, 15), date(2026, 1, 31)), (date(2026, 4, 1), date(2026, 4, 10))],
            (date(2026, 2, 1), date(2026, 3, 1)),
        ),
        (date(2026, 1, 15), date(2026, 2, 10), [(date(2026, 1, 15), date(2026, 2, 10))], None),
        (
            date(2025, 12, 29),
            date(2026, 1, 31),
            [(date(2025, 12, 29), date(2025, 12, 31))],
            (date(2026, 1, 1), date(2026, 1, 1)),
        ),
    ],
)
def test_month_split(start: date, end: date, days: list, months: tuple | None) -> None:
    assert _month_split(start, end) == (days, months)


def test_counts_across_month_edges_equal_the_answers(engine: Engine) -> None:
    rnd = random.Random(42)
    answers = [
        (
            date(2025, 12, 1) + timedelta(days=rnd.randrange(150)),
            "nps",
            rnd.randint(0, 10),
            rnd.choice([None, "retail", "business"]),
        )
        for _ in range(600)
    ]
    add_answers(engine, "T1", answers)
    spans = [
        (date(2025, 12, 1), date(2026, 4, 29)),
        (date(2026, 1, 1), date(2026, 3, 31)),
        (date(2025, 12, 29), date(2026, 2, 3)),
        (date(2026, 2, 27), date(2026, 3, 2)),
        (date(2026, 1, 31), date(2026, 1, 31)),
    ]
    for start, end in spans:
        expected: dict[tuple, int] = {}
        for day, metric, score, segment in answers:
            if start <= day <= end:
                key = (metric, score, segment or "")
                expected[key] = expected.get(key, 0) + 1
        frame = metric_counts(engine, team_id="T1", start=start, end=end, by="segment")
        assert _as_dict(frame, "metric", "score", "segment") == expected, (start, end)
    # Periods of several kinds in one call, each equal to its own metric_counts.
    periods = [
        period_containing("quarter", date(2026, 1, 1)),
        period_containing("week", date(2025, 12, 29)),  # ISO week 1 of 2026 crosses the year
        period_containing("month", date(2025, 12, 1)),
    ]
    with pytest.raises(ValueError, match="overlap"):
        series_counts(engine, team_id="T1", periods=periods)
    periods = [periods[0], period_containing("month", date(2026, 4, 1))]
    for period, frame in series_counts(engine, team_id="T1", periods=periods).items():
        alone = metric_counts(engine, team_id="T1", start=period.start, end=period.end)
        assert _as_dict(frame, "metric", "score") == _as_dict(alone, "metric", "score")
