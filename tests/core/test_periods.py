from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.periods import (
    KINDS,
    Period,
    current,
    last_complete,
    local_day,
    parse_kind,
    period_containing,
    periods_back,
)

OSLO = ZoneInfo("Europe/Oslo")
NEW_YORK = ZoneInfo("America/New_York")


def test_parse_kind_accepts_each_kind_in_any_case() -> None:
    assert [parse_kind(k) for k in KINDS] == list(KINDS)
    assert parse_kind(" Month ") == "month"


def test_parse_kind_names_the_choices_and_the_bad_value() -> None:
    with pytest.raises(ValueError) as err:
        parse_kind("fortnight")
    assert str(err.value) == "period must be one of week, month, quarter, year, not 'fortnight'"


def test_week_is_iso_monday_to_sunday_matching_the_contract_example() -> None:
    week = period_containing("week", date(2026, 11, 18))
    assert (week.start, week.end) == (date(2026, 11, 16), date(2026, 11, 22))
    assert week.start.weekday() == 0 and week.end.weekday() == 6
    assert week.days == 7
    assert week.label() == "2026-W47"


def test_iso_week_53_spans_the_year_boundary() -> None:
    week = period_containing("week", date(2027, 1, 1))
    assert (week.start, week.end) == (date(2026, 12, 28), date(2027, 1, 3))
    assert week.label() == "2026-W53"
    assert week.next().label() == "2027-W01"
    assert week.next().start == date(2027, 1, 4)
    assert week.previous().label() == "2026-W52"


def test_week_label_uses_iso_week_year_at_the_start_of_january() -> None:
    # 2027-01-01 is in 2026-W53; 2025-12-29 starts 2026-W01.
    assert period_containing("week", date(2025, 12, 31)).label() == "2026-W01"


def test_month_quarter_year_bounds_and_labels() -> None:
    feb = period_containing("month", date(2028, 2, 10))
    assert (feb.start, feb.end, feb.days, feb.label()) == (
        date(2028, 2, 1),
        date(2028, 2, 29),
        29,
        "2028-02",
    )
    q4 = period_containing("quarter", date(2026, 11, 20))
    assert (q4.start, q4.end, q4.label()) == (date(2026, 10, 1), date(2026, 12, 31), "2026-Q4")
    q1 = period_containing("quarter", date(2026, 3, 31))
    assert (q1.start, q1.end, q1.days) == (date(2026, 1, 1), date(2026, 3, 31), 90)
    year = period_containing("year", date(2026, 7, 1))
    assert (year.start, year.end, year.days, year.label()) == (
        date(2026, 1, 1),
        date(2026, 12, 31),
        365,
        "2026",
    )


def test_previous_and_next_cross_year_boundaries() -> None:
    jan = period_containing("month", date(2027, 1, 15))
    assert jan.previous() == period_containing("month", date(2026, 12, 1))
    assert jan.previous().next() == jan
    q1 = period_containing("quarter", date(2027, 2, 1))
    assert q1.previous().label() == "2026-Q4"
    assert period_containing("year", date(2026, 5, 5)).next().label() == "2027"


def test_contains_includes_both_ends() -> None:
    week = period_containing("week", date(2026, 11, 18))
    assert week.contains(date(2026, 11, 16)) and week.contains(date(2026, 11, 22))
    assert not week.contains(date(2026, 11, 15)) and not week.contains(date(2026, 11, 23))


def test_period_rejects_ranges_that_are_not_whole_periods() -> None:
    with pytest.raises(ValueError, match="not a whole week"):
        Period("week", date(2026, 11, 17), date(2026, 11, 23))
    with pytest.raises(ValueError, match="period must be one of"):
        Period("day", date(2026, 11, 17), date(2026, 11, 17))  # type: ignore[arg-type]
    assert Period("month", date(2026, 11, 1), date(2026, 11, 30)).label() == "2026-11"


def test_periods_sort_by_start_within_a_kind() -> None:
    weeks = periods_back(period_containing("week", date(2026, 11, 18)), 3)
    assert sorted(reversed(weeks)) == weeks


def test_utc_bounds_of_the_week_dst_starts_in_oslo_is_167_hours() -> None:
    week = period_containing("week", date(2026, 3, 29))  # DST starts Sunday 29 March
    start, end = week.utc_bounds(OSLO)
    assert start == datetime(2026, 3, 22, 23, 0, tzinfo=UTC)  # Monday 00:00 CET
    assert end == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)  # next Monday 00:00 CEST
    assert end - start == timedelta(hours=167)
    assert start.tzinfo == UTC and end.tzinfo == UTC


def test_utc_bounds_of_the_week_dst_ends_in_oslo_is_169_hours() -> None:
    start, end = period_containing("week", date(2026, 10, 25)).utc_bounds(OSLO)
    assert start == datetime(2026, 10, 18, 22, 0, tzinfo=UTC)
    assert end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=169)


def test_utc_bounds_when_local_midnight_does_not_exist() -> None:
    # Tehran skipped 00:00-01:00 on Monday 2021-03-22: the week starts at the jump.
    tehran = ZoneInfo("Asia/Tehran")
    week = period_containing("week", date(2021, 3, 22))
    start, _ = week.utc_bounds(tehran)
    assert start == datetime(2021, 3, 21, 20, 30, tzinfo=UTC)
    assert week.previous().utc_bounds(tehran)[1] == start
    assert local_day(start, tehran) == date(2021, 3, 22)
    assert local_day(start - timedelta(seconds=1), tehran) == date(2021, 3, 21)


def test_consecutive_weeks_tile_a_year_without_gaps_in_a_dst_zone() -> None:
    weeks = periods_back(period_containing("week", date(2026, 12, 31)), 53)
    bounds = [w.utc_bounds(NEW_YORK) for w in weeks]
    assert all(a[1] == b[0] for a, b in pairwise(bounds))
    lengths = sorted({end - start for start, end in bounds})
    assert lengths == [timedelta(hours=167), timedelta(hours=168), timedelta(hours=169)]


def test_local_day_converts_and_refuses_naive_timestamps() -> None:
    assert local_day(datetime(2026, 11, 22, 23, 30, tzinfo=UTC), OSLO) == date(2026, 11, 23)
    assert local_day(datetime(2026, 11, 23, 3, 0, tzinfo=UTC), NEW_YORK) == date(2026, 11, 22)
    with pytest.raises(ValueError, match="no timezone"):
        local_day(datetime(2026, 11, 22, 23, 30), OSLO)


def test_period_containing_refuses_a_datetime() -> None:
    with pytest.raises(TypeError, match="local_day"):
        period_containing("week", datetime(2026, 11, 22, 23, 30, tzinfo=UTC))


def test_last_complete_near_midnight_in_oslo() -> None:
    # Sunday 23:30 in Oslo: the week is still running, so the last complete one is W46.
    sunday_night = datetime(2026, 11, 22, 22, 30, tzinfo=UTC)
    assert current("week", sunday_night, OSLO).label() == "2026-W47"
    assert last_complete("week", sunday_night, OSLO).label() == "2026-W46"
    # 00:30 Monday in Oslo is still Sunday in UTC, but W47 has ended locally.
    monday_early = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    assert last_complete("week", monday_early, OSLO).label() == "2026-W47"
    assert last_complete("week", monday_early, ZoneInfo("UTC")).label() == "2026-W46"


def test_last_complete_month_and_year_at_new_year_in_new_york() -> None:
    # 2027-01-01 02:00 UTC is still 31 December in New York.
    now = datetime(2027, 1, 1, 2, 0, tzinfo=UTC)
    assert last_complete("month", now, NEW_YORK).label() == "2026-11"
    assert last_complete("year", now, NEW_YORK).label() == "2025"
    assert last_complete("month", now, OSLO).label() == "2026-12"
    assert last_complete("quarter", now, OSLO).label() == "2026-Q4"
    assert last_complete("year", now, OSLO).label() == "2026"


def test_periods_back_oldest_first_and_edge_counts() -> None:
    month = period_containing("month", date(2027, 2, 1))
    assert [p.label() for p in periods_back(month, 4)] == [
        "2026-11",
        "2026-12",
        "2027-01",
        "2027-02",
    ]
    assert periods_back(month, 1) == [month]
    assert periods_back(month, 0) == []
    with pytest.raises(ValueError, match="0 or more"):
        periods_back(month, -1)


@given(
    kind=st.sampled_from(KINDS),
    day=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
)
def test_period_properties(kind: str, day: date) -> None:
    period = period_containing(kind, day)  # type: ignore[arg-type]
    assert period.contains(day)
    assert period.previous().end + timedelta(days=1) == period.start
    assert period.next().start == period.end + timedelta(days=1)
    assert period.next().previous() == period
    assert period_containing(period.kind, period.end) == period
    assert (
        period.days
        in {"week": {7}, "month": {28, 29, 30, 31}, "quarter": {90, 91, 92}, "year": {365, 366}}[
            kind
        ]
    )
