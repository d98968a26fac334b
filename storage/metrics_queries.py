"""What the metrics read: answer counts (`responsedaily`, `responsemonthly`), customers, alerts.

All aggregation happens in the database; Python receives at most a few hundred
rows (counts per metric and score, optionally per segment or touchpoint).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, union_all
from sqlalchemy.engine import Engine

from core.periods import Period
from core.report import CustomerCounts
from storage import light

if TYPE_CHECKING:
    import pandas as pd

BY_COLUMNS = ("segment", "touchpoint")

# Not the models' tables: importing storage.models would double `cxbot metrics`' start-up.
_RD: Any = light.response_daily
_RM: Any = light.response_monthly
_CU: Any = light.customer
_AL: Any = light.alert


def _check_by(by: str | None) -> list[str]:
    if by is None:
        return []
    if by not in BY_COLUMNS:
        raise ValueError(f"by must be one of {', '.join(BY_COLUMNS)}, not {by!r}")
    return [by]


def _frame(rows: Sequence[Any], columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    # Integer columns even when empty, so callers can sum and compare without casting.
    for name in ("score", "n"):
        frame[name] = frame[name].astype("int64")
    return frame


def _month_split(
    start: date, end: date
) -> tuple[list[tuple[date, date]], tuple[date, date] | None]:
    """Day ranges for the ragged edges of start..end, and the whole months in between.

    The months come back as (first month's first day, last month's first day).
    """
    first = start if start.day == 1 else _next_month(start)
    after = _next_month(end)  # the first day after the last whole month ...
    if after - timedelta(days=1) != end:
        after = end.replace(day=1)  # ... unless `end` is a month's last day
    if first >= after:
        return [(start, end)], None
    days = [(a, b) for a, b in ((start, first - timedelta(days=1)), (after, end)) if a <= b]
    last_month = (after - timedelta(days=1)).replace(day=1)
    return days, (first, last_month)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _counts(
    engine: Engine, team_id: str, spans: Sequence[tuple[date, date]], extra: list[str]
) -> list[Any]:
    """Rows (bucket, metric, score, *extra, n) with bucket = index of the span in `spans`.

    Whole months are read from the monthly counts, the rest from the daily counts,
    all in one statement.
    """
    day_ranges: list[tuple[int, date, date]] = []
    month_ranges: list[tuple[int, date, date]] = []
    for i, (start, end) in enumerate(spans):
        days, months = _month_split(start, end)
        day_ranges += [(i, a, b) for a, b in days]
        if months is not None:
            month_ranges.append((i, *months))
    parts = []
    for table, column, ranges in ((_RD, "day", day_ranges), (_RM, "month", month_ranges)):
        if not ranges:
            continue
        col = table.c[column]
        bucket = case(*((col.between(a, b), literal(i)) for i, a, b in ranges), else_=literal(-1))
        parts.append(
            select(
                bucket.label("bucket"),
                table.c.metric,
                table.c.score,
                *(table.c[c] for c in extra),
                table.c.n,
            ).where(table.c.team_id == team_id, or_(*(col.between(a, b) for _, a, b in ranges)))
        )
    if not parts:
        return []
    rows = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    keys = [rows.c.bucket, rows.c.metric, rows.c.score, *(rows.c[c] for c in extra)]
    query = select(*keys, func.sum(rows.c.n)).group_by(*keys)
    with engine.connect() as conn:
        return list(conn.execute(query).all())


def metric_counts(
    engine: Engine, *, team_id: str, start: date, end: date, by: str | None = None
) -> pd.DataFrame:
    """Answers per metric and score (and `by` column) on local days start..end inclusive."""
    extra = _check_by(by)
    rows = _counts(engine, team_id, [(start, end)], extra) if start <= end else []
    return _frame([r[1:] for r in rows], ["metric", "score", *extra, "n"])


def _ordered(periods: Sequence[Period]) -> list[Period]:
    ordered = sorted(set(periods), key=lambda p: (p.start, p.end))
    for before, after in itertools.pairwise(ordered):
        if after.start <= before.end:
            raise ValueError(f"periods {before.label()} and {after.label()} overlap")
    return ordered


def series_count_rows(
    engine: Engine, *, team_id: str, periods: Sequence[Period], by: str | None = None
) -> dict[Period, list[tuple[Any, ...]]]:
    """The answer counts of several periods in one query (periods must not overlap), as
    plain rows: (metric, score, n), or (`by` value, metric, score, n) with `by`; for
    `core.metrics.summarize_rows` and `breakdown_rows` (no pandas)."""
    extra = _check_by(by)
    ordered = _ordered(periods)
    out: dict[Period, list[tuple[Any, ...]]] = {p: [] for p in ordered}
    if not ordered:
        return out
    for row in _counts(engine, team_id, [(p.start, p.end) for p in ordered], extra):
        bucket, metric, score, *rest = row
        if extra:
            key, n = rest
            out[ordered[bucket]].append((key, metric, int(score), int(n)))
        else:
            out[ordered[bucket]].append((metric, int(score), int(rest[0])))
    return out


def series_counts(
    engine: Engine, *, team_id: str, periods: Sequence[Period], by: str | None = None
) -> dict[Period, pd.DataFrame]:
    """`metric_counts` of several periods in one query (periods must not overlap): the
    frames of `series_count_rows`."""
    extra = _check_by(by)
    columns = ["metric", "score", *extra, "n"]
    rows = series_count_rows(engine, team_id=team_id, periods=periods, by=by)
    if extra:  # the key comes first in a row, after the score in a frame
        rows = {p: [(m, s, key, n) for key, m, s, n in found] for p, found in rows.items()}
    return {p: _frame(found, columns) for p, found in rows.items()}


def _money(value: Any) -> Decimal | None:
    if value is None:
        return None
    # SQLite averages NUMERIC as a float; str() keeps the float's shortest form.
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return number.quantize(Decimal("0.01"))


def customer_counts(engine: Engine, *, team_id: str, start: date, end: date) -> CustomerCounts:
    """Customers active at the window's start and end, lost within it, and their averages.

    Active on a day: started on or before it and not ended before it. Lost: ended
    within start..end. The money averages cover customers active at any time in
    the window and skip customers without the figure.
    """
    started, ended = _CU.c.started_at, _CU.c.ended_at

    def count(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    in_window = and_(started <= end, or_(ended.is_(None), ended >= start))
    query = select(
        count(and_(started <= start, or_(ended.is_(None), ended >= start))),
        count(and_(started <= end, or_(ended.is_(None), ended > end))),
        count(ended.between(start, end)),
        func.avg(case((in_window, _CU.c.annual_revenue))),
        func.avg(case((in_window, _CU.c.acquisition_cost))),
    ).where(_CU.c.team_id == team_id)
    with engine.connect() as conn:
        row = conn.execute(query).one()
    return CustomerCounts(
        active_start=int(row[0]),
        active_end=int(row[1]),
        lost=int(row[2]),
        avg_annual_revenue=_money(row[3]),
        avg_acquisition_cost=_money(row[4]),
    )


def _seconds(later: Any, earlier: Any, dialect: str) -> ColumnElement[Any]:
    """`later - earlier` in seconds: interval arithmetic is the one thing the backends spell
    differently."""
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def followup_counts(
    engine: Engine,
    *,
    team_id: str,
    start_utc: datetime,
    end_utc: datetime,
    now: datetime,
    handled_hours: float = 24,
) -> dict[str, Any]:
    """Detractor follow-up of the alerts raised in [start_utc, end_utc).

    Only alerts that were posted count: history imported past the alerting age
    never asked anyone to act. `handled_within_24h`: resolved within
    `handled_hours` of being raised; `open_overdue`: not resolved and past due at
    `now`; `median_hours_to_first_response`: over alerts someone responded to.
    """
    window = and_(
        _AL.c.team_id == team_id,
        _AL.c.posted.is_(True),
        _AL.c.created_at >= start_utc,
        _AL.c.created_at < end_utc,
    )
    with engine.connect() as conn:
        dialect = conn.dialect.name
        resolved_in = _seconds(_AL.c.resolved_at, _AL.c.created_at, dialect)
        # A millisecond of slack: SQLite's julianday() is a float of days.
        handled = and_(_AL.c.resolved_at.is_not(None), resolved_in <= handled_hours * 3600 + 1e-3)
        overdue = and_(_AL.c.resolved_at.is_(None), _AL.c.due_at < now)
        answered = _AL.c.first_response_at.is_not(None)
        alerts, handled_n, overdue_n, answered_n = conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((handled, 1), else_=0)), 0),
                func.coalesce(func.sum(case((overdue, 1), else_=0)), 0),
                func.coalesce(func.sum(case((answered, 1), else_=0)), 0),
            ).where(window)
        ).one()
        median = None
        if answered_n:
            # The median as the middle one or two values: the same SQL on both backends.
            delay = _seconds(_AL.c.first_response_at, _AL.c.created_at, dialect)
            middle = conn.execute(
                select(delay)
                .where(window, answered)
                .order_by(delay)
                .limit(2 - answered_n % 2)
                .offset((answered_n - 1) // 2)
            ).scalars()
            values = [float(v) for v in middle]
            median = sum(values) / len(values) / 3600
    return {
        "alerts": int(alerts),
        "handled_within_24h": int(handled_n),
        "open_overdue": int(overdue_n),
        "median_hours_to_first_response": median,
    }


UNRESOLVED_ALERTS = ("open", "claimed")
SLA_STATES = ("on_time", "overdue")


def open_alert_states(engine: Engine, *, now: datetime) -> dict[tuple[str, str], int]:
    """Posted, unresolved detractor alerts across workspaces, counted by (status, SLA
    state): `overdue` when past their follow-up target at `now`, else `on_time`."""
    overdue = case((_AL.c.due_at < now, "overdue"), else_="on_time")
    query = (
        select(_AL.c.status, overdue, func.count())
        .where(_AL.c.posted.is_(True), _AL.c.status.in_(UNRESOLVED_ALERTS))
        .group_by(_AL.c.status, overdue)
    )
    with engine.connect() as conn:
        return {(str(status), str(sla)): int(n) for status, sla, n in conn.execute(query)}
