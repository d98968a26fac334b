"""The detractor clock: when an alert is due, when to remind, when to escalate.

A detractor is to be followed up within a target (24 hours by default). The
target counts calendar hours unless business hours are configured, in which case
only working time counts (e.g. Monday to Friday 08:00-16:00 in Europe/Oslo): an
answer that arrives on Friday evening is due on Tuesday morning, not Saturday.
With a country (`holidays:no`) its public holidays are days off too, from the
`holidays` package: Norway's 17 May is no working day.

Reminders go out at fractions of the target (default 50 % and 75 %), the
escalation when the target has passed. Everything here is pure: the caller
passes the moments and gets moments or decisions back.
"""

from __future__ import annotations

import re
from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HOURS = 24.0
DEFAULT_REMINDERS = (0.5, 0.75)

# A year of calendar days is more than any target up to 720 hours can need, even
# with one working hour a week; the bound keeps a bad configuration from looping.
_MAX_DAYS = 3700


class SlaConfigError(ValueError):
    """A business-hours or reminder setting that cannot be read; says what is expected."""


@dataclass(frozen=True)
class BusinessHours:
    """Working time: the same hours on each working day, in one timezone."""

    tz: ZoneInfo
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time
    # ISO 3166 code, optionally with a subdivision (`de-by`): its public holidays are off.
    country: str | None = None

    def __post_init__(self) -> None:
        if not self.days:
            raise SlaConfigError("business hours need at least one working day")
        if self.start >= self.end:
            raise SlaConfigError("business hours must start before they end on the same day")
        if self.country is not None:
            holiday_calendar(self.country)  # an unknown country fails here, not mid-count

    def day_off(self, day: date) -> bool:
        if day.weekday() not in self.days:
            return True
        return self.country is not None and day in holiday_calendar(self.country)

    def window(self, day: datetime) -> tuple[datetime, datetime] | None:
        """The working window (UTC) of the local calendar day of `day`, or None on a day off.

        Built from local wall-clock times, so a DST change moves the window with it.
        """
        local = day.astimezone(self.tz)
        d = local.date()
        if self.day_off(d):
            return None
        opens = datetime.combine(d, self.start, tzinfo=self.tz).astimezone(UTC)
        closes = datetime.combine(d, self.end, tzinfo=self.tz).astimezone(UTC)
        return opens, closes


@dataclass(frozen=True)
class SlaPolicy:
    """The follow-up target of a workspace."""

    hours: float = DEFAULT_HOURS
    reminders: tuple[float, ...] = DEFAULT_REMINDERS
    business: BusinessHours | None = field(default=None)

    def __post_init__(self) -> None:
        if not self.hours > 0:
            raise SlaConfigError("the follow-up target must be more than 0 hours")
        if any(not 0 < f < 1 for f in self.reminders):
            raise SlaConfigError("reminders are fractions of the target between 0 and 1")

    def due(self, created: datetime) -> datetime:
        return add_hours(created, self.hours, self.business)

    def reminder_at(self, created: datetime, index: int) -> datetime:
        return add_hours(created, self.hours * self.reminders[index], self.business)

    def elapsed_hours(self, start: datetime, end: datetime) -> float:
        """Hours between two moments as this policy counts them (working time or calendar)."""
        return hours_between(start, end, self.business)


@dataclass(frozen=True)
class ClockAction:
    """What the clock asks for now.

    `remind` is the index of the reminder to send (the latest one whose time has
    passed: after downtime, one reminder rather than a burst of stale ones);
    `reminders_done` is how many reminders count as sent afterwards; `escalate`
    when the target has passed and nobody has escalated yet.
    """

    remind: int | None = None
    reminders_done: int = 0
    escalate: bool = False

    @property
    def anything(self) -> bool:
        return self.remind is not None or self.escalate


def next_action(
    policy: SlaPolicy,
    *,
    created: datetime,
    due: datetime,
    now: datetime,
    reminders_sent: int,
    escalated: bool,
    resolved: bool,
) -> ClockAction:
    """The reminder or escalation due at `now` for one alert (nothing once resolved).

    `due` is the alert's stored due time (fixed when it was raised, so a later
    change of the target does not move alerts already running).
    """
    if resolved:
        return ClockAction(reminders_done=reminders_sent)
    if now >= due:
        # Past the target a reminder says nothing the escalation does not: skip them.
        done = max(reminders_sent, len(policy.reminders))
        return ClockAction(reminders_done=done, escalate=not escalated)
    passed = sum(1 for i in range(len(policy.reminders)) if policy.reminder_at(created, i) <= now)
    if passed > reminders_sent:
        return ClockAction(remind=passed - 1, reminders_done=passed)
    return ClockAction(reminders_done=reminders_sent)


# --------------------------------------------------------------------------- arithmetic


def add_hours(start: datetime, hours: float, business: BusinessHours | None = None) -> datetime:
    """`start` plus `hours` of calendar time, or of working time when `business` is given."""
    _aware(start)
    if business is None:
        return start + timedelta(hours=hours)
    left = timedelta(hours=hours)
    cursor = start.astimezone(UTC)
    for _ in range(_MAX_DAYS):
        window = business.window(cursor)
        if window is not None:
            opens, closes = window
            begin = max(cursor, opens)
            if begin < closes:
                available = closes - begin
                if left <= available:
                    return begin + left
                left -= available
        cursor = _next_local_midnight(cursor, business.tz)
    raise SlaConfigError("business hours leave no working time to count")


def hours_between(start: datetime, end: datetime, business: BusinessHours | None = None) -> float:
    """Hours from `start` to `end` (negative when `end` is earlier), calendar or working time."""
    _aware(start)
    _aware(end)
    if end < start:
        return -hours_between(end, start, business)
    if business is None:
        return (end - start).total_seconds() / 3600
    total = timedelta()
    cursor = start.astimezone(UTC)
    while cursor < end:
        window = business.window(cursor)
        if window is not None:
            begin, finish = max(cursor, window[0]), min(end, window[1])
            if finish > begin:
                total += finish - begin
        cursor = _next_local_midnight(cursor, business.tz)
    return total.total_seconds() / 3600


def _next_local_midnight(moment: datetime, tz: ZoneInfo) -> datetime:
    local = moment.astimezone(tz)
    tomorrow = local.date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=tz).astimezone(UTC)


def _aware(value: datetime) -> None:
    if value.tzinfo is None:
        raise ValueError("the SLA clock needs timezone-aware datetimes")


# --------------------------------------------------------------------------- holidays

HOLIDAYS_EXPECTED = "a country code like no, dk, se or fi (a region after a dash: de-by)"


@cache
def holiday_calendar(country: str) -> Container[date]:
    """The public holidays of `country` (`no`, `de-by`), every year, from `holidays`.

    Imported here only: the package loads its country tables on first use, and most
    workspaces never set a country.
    """
    import holidays

    code, _, subdiv = country.upper().partition("-")
    supported = holidays.list_supported_countries()
    if code not in supported:
        raise SlaConfigError(
            f"unknown country {country!r} for holidays; expected {HOLIDAYS_EXPECTED}"
        )
    if subdiv and subdiv not in supported[code]:
        raise SlaConfigError(
            f"unknown region {subdiv!r} of {code} for holidays; known: {', '.join(supported[code])}"
        )
    # Years are filled in as dates are asked about; observed days count as holidays too.
    return holidays.country_holidays(code, subdiv=subdiv or None)


# --------------------------------------------------------------------------- settings

_BUSINESS = re.compile(
    r"^\s*(?P<days>[a-z]{3}(?:\s*-\s*[a-z]{3})?(?:\s*,\s*[a-z]{3}(?:\s*-\s*[a-z]{3})?)*)"
    r"\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})"
    r"(?:\s+(?!holidays:)(?P<tz>[A-Za-z][A-Za-z0-9_+\-/]*))?"
    r"(?:\s+holidays:(?P<country>[a-z]{2}(?:-[a-z0-9]{1,3})?))?\s*$"
)
BUSINESS_EXPECTED = (
    "working days and hours like 'mon-fri 08:00-16:00' (optionally a timezone, and "
    "'holidays:no' to skip a country's public holidays)"
)


def parse_business_hours(value: str, default_tz: str = "UTC") -> BusinessHours:
    """`mon-fri 08:00-16:00 Europe/Oslo holidays:no` -> BusinessHours; the timezone defaults
    to `default_tz`, and without `holidays:` only the weekdays decide.

    Days are a list of names or ranges (`mon-thu,sat`); hours are local wall-clock times.
    """
    match = _BUSINESS.match(value.lower() if value else "")
    if not match:
        raise SlaConfigError(f"expected {BUSINESS_EXPECTED}, got {value!r}")
    days: set[int] = set()
    for part in match.group("days").split(","):
        first, _, last = (p.strip() for p in part.partition("-"))
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise SlaConfigError(f"unknown weekday in {value!r}; use mon, tue, ... sun")
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    start, end = _clock(match.group("start"), value), _clock(match.group("end"), value)
    # The regex lower-cases the text; timezone names are case-sensitive, so read it raw.
    country = match.group("country")
    raw = value.split()
    tz_name = raw[-2 if country else -1] if match.group("tz") else default_tz
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SlaConfigError(f"unknown timezone {tz_name!r} in business hours") from exc
    return BusinessHours(tz=tz, days=frozenset(days), start=start, end=end, country=country)


def normalise_business_hours(value: str) -> str:
    """The text the settings store keeps: days listed, times padded, the timezone only when
    given (without one, the workspace timezone applies when the hours are used)."""
    hours = parse_business_hours(value)
    days = ",".join(WEEKDAYS[d] for d in sorted(hours.days))
    end = "24:00" if hours.end == time(23, 59, 59, 999999) else f"{hours.end:%H:%M}"
    text = f"{days} {hours.start:%H:%M}-{end}"
    match = _BUSINESS.match(value.lower())
    if match and match.group("tz"):
        text += f" {hours.tz.key}"
    return f"{text} holidays:{hours.country}" if hours.country else text


def _clock(text: str, whole: str) -> time:
    hour, minute = (int(p) for p in text.split(":"))
    if hour == 24 and minute == 0:
        return time(23, 59, 59, 999999)
    if hour > 23 or minute > 59:
        raise SlaConfigError(f"expected times between 00:00 and 24:00 in {whole!r}")
    return time(hour, minute)


def parse_reminders(value: str) -> tuple[float, ...]:
    """`0.5, 0.75` (or `50%, 75%`) -> (0.5, 0.75): sorted, distinct fractions of the target.

    An empty value or `none` means no reminders.
    """
    text = (value or "").strip().lower()
    if text in ("", "none", "off"):
        return ()
    fractions: set[float] = set()
    for part in re.split(r"[,;\s]+", text):
        if not part:
            continue
        try:
            number = float(part.rstrip("%")) / (100 if part.endswith("%") else 1)
        except ValueError:
            raise SlaConfigError(f"expected fractions like '0.5,0.75', got {value!r}") from None
        if not 0 < number < 1:
            raise SlaConfigError(f"reminder points must lie between 0 and 1, got {part!r}")
        fractions.add(number)
    return tuple(sorted(fractions))


def format_reminders(fractions: Sequence[float]) -> str:
    return ",".join(f"{f:g}" for f in fractions) or "none"
