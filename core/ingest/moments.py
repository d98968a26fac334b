"""Timestamps and dates as answer and customer files write them, read many at a time.

ISO 8601 with or without an offset, and day-first dates (20.11.2026, 20/11/2026 14:03);
a time without an offset is wall-clock time in the workspace's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from core.ingest.checks import spread

_OFFSET = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)"
_DAY_FIRST = re.compile(r"(\d{1,2})[./](\d{1,2})[./](\d{4})(?: (\d{1,2}):(\d{2}(?::\d{2})?))?")
DATE_HINT = "use 2026-11-20, 2026-11-20T14:03:00+01:00 or 20.11.2026"

_EMPTY, _AWARE, _NAIVE, _DAY = 0, 1, 2, 3


def _moment_kind(value: str) -> int:
    """Which parser a timestamp needs; the parsers themselves reject malformed values."""
    if len(value) >= 10 and value[4] == "-" and value[7] == "-":
        tail = value[10:]
        if tail[-1:] in ("Z", "z") or "+" in tail or "-" in tail:
            return _AWARE
        return _NAIVE
    return _DAY if value else _EMPTY


# Longer timestamps are classified one by one: a fixed-width array of them would be big.
_KIND_WIDTH = 64


def _moment_kinds(values: Sequence[str]) -> np.ndarray:
    """`_moment_kind` of every value (int8), on a character matrix instead of per value."""
    n = len(values)
    lengths = np.fromiter(map(len, values), np.intp, n)
    if n < 100 or lengths.max(initial=0) > _KIND_WIDTH:
        return np.fromiter(map(_moment_kind, values), np.int8, n)
    width = max(int(lengths.max()), 11)
    # Code points, one row per value, zero-padded on the right.
    chars = np.asarray(values, dtype=f"<U{width}").view(np.uint32).reshape(n, width)
    dated = (lengths >= 10) & (chars[:, 4] == ord("-")) & (chars[:, 7] == ord("-"))
    tail = chars[:, 10:]
    signed = ((tail == ord("+")) | (tail == ord("-"))).any(axis=1)
    last = chars[np.arange(n), np.maximum(lengths - 1, 0)]
    zulu = (lengths > 10) & ((last == ord("Z")) | (last == ord("z")))
    kinds = np.where(lengths > 0, _DAY, _EMPTY)
    kinds[dated] = np.where(zulu | signed, _AWARE, _NAIVE)[dated]
    return kinds.astype(np.int8)


def _day_first_as_iso(value: str) -> str:
    m = _DAY_FIRST.fullmatch(value)
    if m is None:
        return ""
    day, month, year, hour, rest = m.groups()
    iso = f"{year}-{int(month):02d}-{int(day):02d}"
    return iso + f"T{int(hour):02d}:{rest}" if hour else iso


def _iso(values: Sequence[str], **kw: Any) -> Any:
    # ISO8601 also takes forms like "2026" or "20261120"; the dash check in
    # _moment_kind keeps only full dates.
    return pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601", errors="coerce", **kw)


def _naive_moments(values: Sequence[str]) -> pd.Series:
    """Wall-clock times (naive datetime64) for ISO and day-first strings; NaT where unreadable."""
    kinds = np.fromiter(map(_moment_kind, values), np.int8, len(values))
    text = [
        _day_first_as_iso(v) if k == _DAY else (v if k == _NAIVE else "")
        for v, k in zip(values, kinds, strict=True)
    ]
    text = [t if _moment_kind(t) == _NAIVE else "" for t in text]
    return pd.Series(_iso(text).to_numpy(), dtype="datetime64[us]")


def _naive_utc(aware: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    # An index, not the Series' .dt accessor: the same conversion without a new Series
    # per step, which is most of the cost for a webhook's single answer.
    return pd.DatetimeIndex(aware).tz_convert(None).to_numpy().astype("datetime64[us]")


# Answers before this cannot be real (no survey tool is older), and years like 0001 or
# 9999 break time zone conversion and date arithmetic everywhere downstream.
EARLIEST_ANSWER = datetime(1990, 1, 1, tzinfo=UTC)
# How far ahead of now an answer may be dated: clocks and time zones differ.
FUTURE_SLACK = timedelta(days=1)


def answer_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The earliest and latest moment an answer given at `now` (default: the clock) may
    carry."""
    return EARLIEST_ANSWER, (now or datetime.now(UTC)) + FUTURE_SLACK


def _as_us(moment: datetime) -> np.datetime64:
    return np.datetime64(moment.astimezone(UTC).replace(tzinfo=None), "us")


def parse_moments(
    values: Sequence[str], tz: ZoneInfo, bounds: tuple[datetime, datetime] | None = None
) -> tuple[pd.Series, pd.Series, np.ndarray, np.ndarray]:
    """(UTC instants, local days, ok, outside bounds) for answer timestamps.

    Values with an offset are exact; dates and naive times are wall-clock time in `tz`.
    A naive time that a DST change makes ambiguous is taken as the first (summer-time)
    one, and one that does not exist (spring forward) is moved to the next valid time.
    The values must be stripped of surrounding spaces.
    """
    n = len(values)
    kinds = _moment_kinds(values)
    earliest, latest = (_as_us(b) for b in (bounds or answer_bounds()))
    # Wall-clock times are compared with a margin of two days (every offset is within
    # it) before they are localised: far years make the conversion itself fail.
    margin = np.timedelta64(2, "D")
    # Plain numpy datetime64 (naive UTC) until the end: a tz-aware Series' to_numpy()
    # makes one Timestamp object per row.
    moments = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    aware = kinds == _AWARE
    if aware.any():
        picked = [v for v, a in zip(values, aware, strict=True) if a]
        moments[aware] = _naive_utc(_iso(picked, utc=True))
    local = ~aware & (kinds != _EMPTY)
    if local.any():
        picked = [v for v, a in zip(values, local, strict=True) if a]
        naive = _naive_moments(picked).to_numpy()
        far = (naive < earliest - margin) | (naive > latest + margin)
        if far.any():
            naive = naive.copy()
            naive[far] = np.datetime64(earliest - margin)  # refused below, as outside
        wall = pd.DatetimeIndex(naive)
        localised = wall.tz_localize(
            tz, ambiguous=np.ones(len(wall), dtype=bool), nonexistent="shift_forward"
        )
        moments[local] = _naive_utc(localised)
    ok = ~np.isnat(moments)
    outside = ok & ((moments < earliest) | (moments > latest))
    if outside.any():
        moments[outside] = np.datetime64("NaT")
    instants = pd.DatetimeIndex(moments).tz_localize("UTC")
    utc = pd.Series(instants)
    # numpy's day array turns into datetime.date objects far faster than .dt.date.
    wall = instants.tz_convert(tz).tz_localize(None).to_numpy().astype("datetime64[D]")
    # One datetime.date (None for NaT) per distinct day, shared by the rows of that day.
    codes, distinct = pd.factorize(wall.view(np.int64))
    days = pd.Series(spread(distinct.view("datetime64[D]").astype(object), codes), dtype=object)
    return utc, days, ok & ~outside, outside


_TRAILING_OFFSET = re.compile(_OFFSET + "$")


def parse_dates(values: Sequence[str]) -> tuple[list[date | None], np.ndarray]:
    """Calendar dates as written (a time or offset after the date is ignored)."""
    text = [
        _TRAILING_OFFSET.sub("", v) if _moment_kind(v) == _AWARE else v
        for v in (v.strip() for v in values)
    ]
    moments = _naive_moments(text)
    ok = moments.notna().to_numpy()
    days = [ts.date() if good else None for ts, good in zip(moments, ok, strict=True)]
    return days, ok


DAY_HINT = "use 2026-11-20 or 20.11.2026"
