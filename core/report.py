"""The metrics of one period as the JSON of CONTRACT.md ("`cxbot metrics --format json`").

Pure: the numbers come in already counted (core.metrics results, customer and
alert counts) and leave as a plain dict every screen renders from: the CLI, the
App Home, `/cx metrics` and the digest.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from core import metrics as m
from core.periods import Period

CHURN_MONTHS = 12
CSI_WEIGHTS: tuple[float, float, float] = (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class CustomerCounts:
    """Customer records over a window (`storage.metrics_queries.customer_counts`)."""

    active_start: int
    active_end: int
    lost: int
    # Averages over customers active at some point in the window; None without data.
    avg_annual_revenue: Decimal | None
    avg_acquisition_cost: Decimal | None


EMPTY_FOLLOWUP: dict[str, Any] = {
    "alerts": 0,
    "handled_within_24h": 0,
    "open_overdue": 0,
    "median_hours_to_first_response": None,
}


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier, clamped to the month's last day (31 Mar - 1 = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def churn_window(period: Period, months: int = CHURN_MONTHS) -> tuple[date, date]:
    """The `months` ending with the period's last day, both ends included.

    Counted back from the day after the end, so a period ending on a month's last
    day gets whole calendar months (a year ending 31 Dec starts on 1 Jan).
    """
    if months < 1:
        raise ValueError(f"churn window must be at least 1 month, not {months}")
    return months_before(period.end + timedelta(days=1), months), period.end


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _nps(current: m.NpsResult, previous: m.NpsResult) -> dict[str, Any]:
    return {
        "score": _r(current.score, 1),
        "n": current.n,
        "promoters": current.promoters,
        "passives": current.passives,
        "detractors": current.detractors,
        "ci95": [round(current.ci95[0], 1), round(current.ci95[1], 1)] if current.ci95 else None,
        "previous": _r(previous.score, 1),
        "change": m.nps_change(current, previous),
    }


def _csat(current: m.CsatResult, previous: m.CsatResult) -> dict[str, Any]:
    return {
        "score": _r(current.score, 1),
        "n": current.n,
        "previous": _r(previous.score, 1),
        "change": m.csat_change(current, previous),
    }


def _ces(current: m.CesResult, previous: m.CesResult) -> dict[str, Any]:
    return {
        "score": _r(current.score, 2),
        "n": current.n,
        "previous": _r(previous.score, 2),
        "change": m.ces_change(current, previous),
    }


def _csi(metrics: m.MetricSet, weights: tuple[float, float, float]) -> float | None:
    return m.csi(metrics.nps.score, metrics.csat.score, metrics.ces.score, weights)


def _clv(
    customers: CustomerCounts,
    churn: m.ChurnResult,
    churn_months: int,
    expected_years: float | None,
) -> float | None:
    if customers.avg_annual_revenue is None or customers.avg_acquisition_cost is None:
        return None
    # The expected relationship is 1 / annual churn: a window of other length is scaled.
    annual = None if churn.rate is None else churn.rate * 12 / churn_months
    value = m.clv(
        customers.avg_annual_revenue,
        customers.avg_acquisition_cost,
        churn_rate_pct=annual,
        expected_years=expected_years,
    )
    return None if value is None else float(round(value, 2))


def metrics_report(
    period: Period,
    current: m.MetricSet,
    previous: m.MetricSet,
    customers: CustomerCounts,
    followup: Mapping[str, Any] | None,
    breakdown: list[m.BreakdownRow] | None = None,
    *,
    csi_weights: tuple[float, float, float] = CSI_WEIGHTS,
    churn_months: int = CHURN_MONTHS,
    expected_years: float | None = None,
) -> dict[str, Any]:
    """The CONTRACT.md metrics JSON of `period`, compared with `previous`.

    `customers` covers the churn window (`churn_window(period, churn_months)`);
    `followup` is the detractor follow-up of alerts raised in the period. With
    `breakdown`, a "breakdown" list of {key, nps, csat, ces, n} is added.
    """
    churn = m.churn(customers.lost, customers.active_start, customers.active_end)
    follow = {**EMPTY_FOLLOWUP, **(followup or {})}
    report: dict[str, Any] = {
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "nps": _nps(current.nps, previous.nps),
        "csat": _csat(current.csat, previous.csat),
        "ces": _ces(current.ces, previous.ces),
        "csi": {
            "score": _r(_csi(current, csi_weights), 1),
            "previous": _r(_csi(previous, csi_weights), 1),
        },
        "churn": {
            "rate": _r(churn.rate, 1),
            "lost": churn.lost,
            "average_customers": round(churn.average_customers, 1),
        },
        "retention": {"rate": _r(m.retention(churn.rate), 1)},
        "clv": {"average": _clv(customers, churn, churn_months, expected_years)},
        "detractor_followup": {
            "alerts": int(follow["alerts"]),
            "handled_within_24h": int(follow["handled_within_24h"]),
            "open_overdue": int(follow["open_overdue"]),
            "median_hours_to_first_response": _r(follow["median_hours_to_first_response"], 1),
        },
    }
    if breakdown is not None:
        report["breakdown"] = [
            {
                "key": row.key,
                "nps": _r(row.nps.score, 1),
                "csat": _r(row.csat.score, 1),
                "ces": _r(row.ces.score, 2),
                "n": row.n,
            }
            for row in breakdown
        ]
    return report
