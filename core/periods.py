"""Reporting periods: ISO weeks, calendar months, quarters and years in a timezone.

A period is a closed range of local calendar days. Answers are bucketed by the day
they were given in the workspace's timezone, so a period's instants are the local
midnights that bound it, converted to UTC (``Period.utc_bounds``).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, cast
from zoneinfo import ZoneInfo

PeriodKind = Literal["week", "month", "quarter", "year"]
KINDS: tuple[str, ...] = ("week", "month", "quarter", "year")


def parse_kind(value: str) -> PeriodKind:
    """The period kind named by ``value`` (case and surrounding spaces ignored)."""
    normalized = value.strip().lower() if isinstance(value, str) else value
    if normalized not in KINDS:
        raise ValueError(f"period must be one of {', '.join(KINDS)}, not {value!r}")
    return cast(PeriodKind, normalized)


@dataclass(frozen=True, order=True)
class Period:
    """A reporting period: local calendar days ``start`` to ``end``, both included."""

    kind: PeriodKind
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"period must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if _span(self.kind, self.start) != (self.start, self.end):
            raise ValueError(
                f"{self.start.isoformat()}..{self.end.isoformat()} is not a whole {self.kind}"
            )

    def previous(self) -> Period:
        return period_containing(self.kind, self.start - timedelta(days=1))

    def next(self) -> Period:
        return period_containing(self.kind, self.end + timedelta(days=1))

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def label(self) -> str:
        """Short name: ``2026-W47`` (ISO week-year), ``2026-11``, ``2026-Q4``, ``2026``."""
        if self.kind == "week":
            iso = self.start.isocalendar()
            return f"{iso.year}-W{iso.week:02d}"
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return str(self.start.year)

    def utc_bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as the half-open UTC range [first local midnight, next local midnight).

        Each bound is converted on its own day, so a period spanning a DST change is
        23 or 25 hours longer or shorter than ``days * 24`` as it should be.
        """
        return _local_midnight_utc(self.start, tz), _local_midnight_utc(
            self.end + timedelta(days=1), tz
        )


def _local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    # fold=0 maps a midnight that falls in a DST gap (e.g. America/Santiago) to the
    # instant the gap starts, which is the first instant of that local day.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _span(kind: str, day: date) -> tuple[date, date]:
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    if kind == "month":
        last = calendar.monthrange(day.year, day.month)[1]
        return day.replace(day=1), day.replace(day=last)
    if kind == "quarter":
        first_month = (day.month - 1) // 3 * 3 + 1
        last_month = first_month + 2
        last = calendar.monthrange(day.year, last_month)[1]
        return date(day.year, first_month, 1), date(day.year, last_month, last)
    if kind == "year":
        return date(day.year, 1, 1), date(day.year, 12, 31)
    raise ValueError(f"period must be one of {', '.join(KINDS)}, not {kind!r}")


def period_containing(kind: PeriodKind, day: date) -> Period:
    """The period of ``kind`` that contains ``day``; weeks are ISO weeks (Monday to Sunday)."""
    if isinstance(day, datetime):
        # A datetime is a date subclass; silently using its date part would ignore
        # its timezone, so callers must say which local day they mean.
        raise TypeError("period_containing needs a date; use local_day(ts, tz) for a datetime")
    start, end = _span(kind, day)
    return Period(kind, start, end)


def local_day(ts: datetime, tz: ZoneInfo) -> date:
    """The calendar day ``ts`` falls on in ``tz``."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"timestamp {ts.isoformat()} has no timezone; attach one (UTC if stored)")
    return ts.astimezone(tz).date()


def current(kind: PeriodKind, now: datetime, tz: ZoneInfo) -> Period:
    """The period containing ``now``'s local date (still running)."""
    return period_containing(kind, local_day(now, tz))


def last_complete(kind: PeriodKind, now: datetime, tz: ZoneInfo) -> Period:
    """The latest period that ended before ``now``'s local date."""
    return current(kind, now, tz).previous()


def periods_back(period: Period, n: int) -> list[Period]:
    """``n`` consecutive periods ending with ``period``, oldest first."""
    if n < 0:
        raise ValueError(f"number of periods must be 0 or more, not {n}")
    result: list[Period] = []
    p = period
    for _ in range(n):
        result.append(p)
        p = p.previous()
    result.reverse()
    return result
