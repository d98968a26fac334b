"""The detractor clock: due times in calendar and business hours, reminders, escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import sla

OSLO = ZoneInfo("Europe/Oslo")
WEEKDAYS_8_16 = sla.parse_business_hours("mon-fri 08:00-16:00 Europe/Oslo")


def oslo(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=OSLO)


def test_calendar_hours_by_default() -> None:
    created = datetime(2026, 11, 20, 17, 30, tzinfo=UTC)  # a Friday evening
    policy = sla.SlaPolicy()
    assert policy.due(created) == created + timedelta(hours=24)
    assert policy.reminder_at(created, 0) == created + timedelta(hours=12)
    assert policy.reminder_at(created, 1) == created + timedelta(hours=18)


def test_business_hours_skip_nights_and_weekends() -> None:
    # Friday 15:00 in Oslo: one working hour left on Friday, then 7 on Monday.
    assert sla.add_hours(oslo(2026, 11, 20, 15), 8, WEEKDAYS_8_16) == oslo(2026, 11, 23, 15)
    # Arriving on Saturday: the clock starts on Monday at 08:00.
    assert sla.add_hours(oslo(2026, 11, 21, 11), 2, WEEKDAYS_8_16) == oslo(2026, 11, 23, 10)
    # 24 working hours are three working days.
    assert sla.add_hours(oslo(2026, 11, 23, 8), 24, WEEKDAYS_8_16) == oslo(2026, 11, 25, 16)
    # Before opening: counted from opening.
    assert sla.add_hours(oslo(2026, 11, 24, 6), 1, WEEKDAYS_8_16) == oslo(2026, 11, 24, 9)


def test_business_hours_follow_daylight_saving_time() -> None:
    # 29 March 2026: Oslo moves from UTC+1 to UTC+2 overnight (a Sunday).
    friday = oslo(2026, 3, 27, 15)
    due = sla.add_hours(friday, 2, WEEKDAYS_8_16)
    assert due == oslo(2026, 3, 30, 9)
    assert due.astimezone(UTC).hour == 7  # 09:00 local is 07:00 UTC in summer time


def test_hours_between_counts_working_time_only() -> None:
    start, end = oslo(2026, 11, 20, 15), oslo(2026, 11, 23, 10)
    assert sla.hours_between(start, end) == pytest.approx(67)
    assert sla.hours_between(start, end, WEEKDAYS_8_16) == pytest.approx(3)
    assert sla.hours_between(end, start, WEEKDAYS_8_16) == pytest.approx(-3)


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    hours=st.floats(min_value=0.25, max_value=200),
)
def test_adding_then_measuring_gives_the_hours_back(start: datetime, hours: float) -> None:
    due = sla.add_hours(start, hours, WEEKDAYS_8_16)
    assert due > start
    assert sla.hours_between(start, due, WEEKDAYS_8_16) == pytest.approx(hours, abs=1e-6)
    local = due.astimezone(OSLO)
    assert local.weekday() < 5 and 8 <= local.hour + local.minute / 60 <= 16


def test_next_action_reminds_once_per_point_then_escalates() -> None:
    policy = sla.SlaPolicy()
    created = datetime(2026, 11, 23, 8, tzinfo=UTC)
    due = policy.due(created)

    def at(hours: float, sent: int = 0, escalated: bool = False) -> sla.ClockAction:
        return sla.next_action(
            policy,
            created=created,
            due=due,
            now=created + timedelta(hours=hours),
            reminders_sent=sent,
            escalated=escalated,
            resolved=False,
        )

    assert not at(11.9).anything
    assert at(12) == sla.ClockAction(remind=0, reminders_done=1)
    assert not at(12, sent=1).anything
    assert at(18, sent=1) == sla.ClockAction(remind=1, reminders_done=2)
    # Down for a while: only the latest reminder, not both.
    assert at(19, sent=0) == sla.ClockAction(remind=1, reminders_done=2)
    assert at(24, sent=2) == sla.ClockAction(reminders_done=2, escalate=True)
    assert not at(30, sent=2, escalated=True).anything


def test_nothing_once_resolved() -> None:
    policy = sla.SlaPolicy()
    created = datetime(2026, 11, 23, 8, tzinfo=UTC)
    action = sla.next_action(
        policy,
        created=created,
        due=policy.due(created),
        now=created + timedelta(hours=48),
        reminders_sent=0,
        escalated=False,
        resolved=True,
    )
    assert not action.anything


def test_parsing_settings() -> None:
    hours = sla.parse_business_hours("Sat-Mon, wed 7:30-24:00", default_tz="Europe/Stockholm")
    assert hours.days == frozenset({5, 6, 0, 2})
    assert hours.tz.key == "Europe/Stockholm"
    assert sla.normalise_business_hours("mon-fri 8:00-16:00") == "mon,tue,wed,thu,fri 08:00-16:00"
    assert sla.parse_reminders("75%, 0.5") == (0.5, 0.75)
    assert sla.parse_reminders("none") == ()
    for bad in ("weekdays", "mon-fri 16:00-08:00", "xyz 08:00-16:00", "mon 08:00-16:00 Mars/X"):
        with pytest.raises(sla.SlaConfigError):
            sla.parse_business_hours(bad)
    for bad in ("1.5", "abc", "0"):
        with pytest.raises(sla.SlaConfigError):
            sla.parse_reminders(bad)


NORWAY_8_16 = sla.parse_business_hours("mon-fri 08:00-16:00 Europe/Oslo holidays:no")


def test_norways_17_may_is_no_working_day() -> None:
    # Friday 14 May 2027, 15:00: one working hour left on Friday. Monday 17 May is
    # Constitution Day (and Whit Monday that year), so the 24-hour target runs on from
    # Tuesday: 1 + 8 + 8 + 7 hours lands on Thursday at 15:00, a day later than without.
    created = oslo(2027, 5, 14, 15)
    assert sla.add_hours(created, 24, WEEKDAYS_8_16) == oslo(2027, 5, 19, 15)
    policy = sla.SlaPolicy(hours=24, business=NORWAY_8_16)
    assert policy.due(created) == oslo(2027, 5, 20, 15)
    assert NORWAY_8_16.window(oslo(2027, 5, 17, 12)) is None
    assert sla.hours_between(oslo(2027, 5, 17, 8), oslo(2027, 5, 17, 16), NORWAY_8_16) == 0
    # 17 May on a Wednesday (2028) is a day off as well; the day after is not.
    assert NORWAY_8_16.window(oslo(2028, 5, 17, 12)) is None
    assert NORWAY_8_16.window(oslo(2028, 5, 18, 12)) is not None


def test_each_country_has_its_own_holidays() -> None:
    denmark = sla.parse_business_hours("mon-fri 08:00-16:00 Europe/Copenhagen holidays:dk")
    sweden = sla.parse_business_hours("mon-fri 08:00-16:00 Europe/Stockholm holidays:se")
    # Sweden's National Day (6 June 2025, a Friday) is a working day in Denmark; Whit
    # Monday (17 May 2027) is a holiday in Denmark and, since 2005, not in Sweden.
    assert sweden.window(datetime(2025, 6, 6, 10, tzinfo=UTC)) is None
    assert denmark.window(datetime(2025, 6, 6, 10, tzinfo=UTC)) is not None
    assert denmark.window(datetime(2027, 5, 17, 10, tzinfo=UTC)) is None  # Whit Monday
    assert sweden.window(datetime(2027, 5, 17, 10, tzinfo=UTC)) is not None
    # A region's own holidays: Epiphany is a holiday in Bavaria, not in Berlin.
    bavaria = sla.parse_business_hours("mon-fri 09:00-17:00 Europe/Berlin holidays:de-by")
    berlin = sla.parse_business_hours("mon-fri 09:00-17:00 Europe/Berlin holidays:de-be")
    assert bavaria.window(datetime(2026, 1, 6, 10, tzinfo=UTC)) is None
    assert berlin.window(datetime(2026, 1, 6, 10, tzinfo=UTC)) is not None


def test_holiday_settings_are_checked_and_kept() -> None:
    assert NORWAY_8_16.country == "no" and NORWAY_8_16.tz.key == "Europe/Oslo"
    assert (
        sla.normalise_business_hours("Mon-Fri 8:00-16:00 Europe/Oslo holidays:NO")
        == "mon,tue,wed,thu,fri 08:00-16:00 Europe/Oslo holidays:no"
    )
    # Without a timezone the workspace's applies, as before.
    assert sla.normalise_business_hours("mon-fri 8:00-16:00 holidays:se") == (
        "mon,tue,wed,thu,fri 08:00-16:00 holidays:se"
    )
    no_tz = sla.parse_business_hours("mon-fri 8:00-16:00 holidays:dk", default_tz="Europe/Oslo")
    assert no_tz.tz.key == "Europe/Oslo" and no_tz.country == "dk"
    for bad in ("mon-fri 08:00-16:00 holidays:zz", "mon-fri 08:00-16:00 holidays:de-xx"):
        with pytest.raises(sla.SlaConfigError, match="holidays"):
            sla.parse_business_hours(bad)
