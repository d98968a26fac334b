"""One call from a period to the metrics JSON, for the CLI, App Home, `/cx metrics` and digest."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from core import metrics, report
from core.periods import Period, PeriodKind, last_complete, period_containing
from storage import metrics_queries, settings_store


def report_period(kind: PeriodKind, day: date | None, now: datetime, tz: ZoneInfo) -> Period:
    """The period containing `day`, or the last complete one at `now` in `tz`."""
    return period_containing(kind, day) if day is not None else last_complete(kind, now, tz)


def workspace_tz(engine: Engine, *, team_id: str, default: str) -> ZoneInfo:
    """The workspace's `timezone` setting, else `default` (CXBOT_TIMEZONE)."""
    return settings_store.load(engine, team_id=team_id).zone(default)


def workspace_currency(engine: Engine, *, team_id: str) -> str | None:
    """The workspace's `currency` setting (ISO 4217), None for plain numbers."""
    return settings_store.load(engine, team_id=team_id).currency


def compute_metrics(
    engine: Engine,
    *,
    team_id: str,
    kind: PeriodKind,
    day: date | None,
    tz: ZoneInfo,
    now: datetime,
    by: str | None = None,
) -> dict[str, Any]:
    """The CONTRACT.md metrics JSON of the `kind` period containing `day` (default: last complete).

    The CSI weights, churn window and expected relationship length come from the
    workspace settings (`metrics.*`), so every screen shows the same numbers.
    """
    period = report_period(kind, day, now, tz)
    previous = period.previous()
    settings = settings_store.load(engine, team_id=team_id)
    churn_months = settings.metrics_churn_months

    # Both periods (and the breakdown) come from one scan of the counts table, as plain
    # rows: a few hundred of them, summed without loading pandas (CLI start-up).
    keyed = metrics_queries.series_count_rows(
        engine, team_id=team_id, periods=[period, previous], by=by
    )
    counts = {p: [r[1:] for r in rows] for p, rows in keyed.items()} if by else keyed
    start, end = report.churn_window(period, churn_months)
    customers = metrics_queries.customer_counts(engine, team_id=team_id, start=start, end=end)
    start_utc, end_utc = period.utc_bounds(tz)
    followup = metrics_queries.followup_counts(
        engine, team_id=team_id, start_utc=start_utc, end_utc=end_utc, now=now
    )
    return report.metrics_report(
        period,
        metrics.summarize_rows(counts[period]),
        metrics.summarize_rows(counts[previous]),
        customers,
        followup,
        metrics.breakdown_rows(keyed[period]) if by else None,
        csi_weights=settings.metrics_csi_weights,
        churn_months=churn_months,
        expected_years=settings.metrics_expected_years,
    )
