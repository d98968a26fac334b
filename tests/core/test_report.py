"""The metrics JSON (CONTRACT.md) from known counts, computed by hand."""

from __future__ import annotations

import json
import math
from datetime import date
from decimal import Decimal

import pytest

from core import metrics as m
from core.periods import period_containing
from core.report import CustomerCounts, churn_window, metrics_report, months_before

WEEK = period_containing("week", date(2026, 11, 18))
NO_CUSTOMERS = CustomerCounts(0, 0, 0, None, None)
EMPTY = m.MetricSet(m.nps({}), m.csat({}), m.ces({}))

CONTRACT_KEYS = {
    "period": {"start", "end"},
    "nps": {"score", "n", "promoters", "passives", "detractors", "ci95", "previous", "change"},
    "csat": {"score", "n", "previous", "change"},
    "ces": {"score", "n", "previous", "change"},
    "csi": {"score", "previous"},
    "churn": {"rate", "lost", "average_customers"},
    "retention": {"rate"},
    "clv": {"average"},
    "detractor_followup": {
        "alerts",
        "handled_within_24h",
        "open_overdue",
        "median_hours_to_first_response",
    },
}


def _shape(report: dict) -> dict:
    return {k: set(v) for k, v in report.items() if isinstance(v, dict)}


def test_empty_has_every_key_with_null_and_zero() -> None:
    report = metrics_report(WEEK, EMPTY, EMPTY, NO_CUSTOMERS, None)
    assert _shape(report) == CONTRACT_KEYS
    assert report["period"] == {"start": "2026-11-16", "end": "2026-11-22"}
    assert report["nps"] == {
        "score": None,
        "n": 0,
        "promoters": 0,
        "passives": 0,
        "detractors": 0,
        "ci95": None,
        "previous": None,
        "change": "stable",
    }
    assert report["csat"] == {"score": None, "n": 0, "previous": None, "change": "stable"}
    assert report["ces"] == {"score": None, "n": 0, "previous": None, "change": "stable"}
    assert report["csi"] == {"score": None, "previous": None}
    assert report["churn"] == {"rate": None, "lost": 0, "average_customers": 0.0}
    assert report["retention"] == {"rate": None}
    assert report["clv"] == {"average": None}
    assert report["detractor_followup"] == {
        "alerts": 0,
        "handled_within_24h": 0,
        "open_overdue": 0,
        "median_hours_to_first_response": None,
    }
    assert "breakdown" not in report
    json.dumps(report)  # plain JSON types only


def test_known_numbers() -> None:
    # 10 promoters, 5 passives, 5 detractors: NPS (10 - 5) / 20 = 25.
    current = m.MetricSet(
        m.nps({10: 6, 9: 4, 8: 3, 7: 2, 6: 1, 0: 4}),
        m.csat({5: 3, 4: 1, 2: 1, 1: 1}),  # 4 of 6 satisfied: 66.7
        m.ces({7: 2, 6: 1, 1: 1}),  # (14 + 6 + 1) / 4 = 5.25
    )
    previous = m.MetricSet(m.nps({9: 1, 0: 1}), m.csat({5: 1}), m.ces({}))  # NPS 0, CSAT 100
    customers = CustomerCounts(510, 490, 50, Decimal("1000.00"), Decimal("1000.00"))
    followup = {
        "alerts": 12,
        "handled_within_24h": 10,
        "open_overdue": 1,
        "median_hours_to_first_response": 3.2449,
    }
    report = metrics_report(WEEK, current, previous, customers, followup)

    nps = report["nps"]
    assert (nps["score"], nps["n"], nps["promoters"], nps["passives"], nps["detractors"]) == (
        25.0,
        20,
        10,
        5,
        5,
    )
    # Fewer than 30 answers: adjusted Wald (+0.75 promoters and detractors, n + 3).
    p, d = 10.75 / 23, 5.75 / 23
    half = 1.959964 * 100 * math.sqrt((p + d - (p - d) ** 2) / 23)
    assert nps["ci95"] == [round(25 - half, 1), round(25 + half, 1)] == [-8.5, 58.5]
    assert nps["previous"] == 0.0 and nps["change"] == "stable"

    assert report["csat"] == {"score": 66.7, "n": 6, "previous": 100.0, "change": "stable"}
    assert report["ces"] == {"score": 5.25, "n": 4, "previous": None, "change": "stable"}
    # CSI: mean of (25 + 100) / 2 = 62.5, 66.67 and (5.25 - 1) / 6 * 100 = 70.83.
    assert report["csi"]["score"] == round((62.5 + 400 / 6 + 425 / 6) / 3, 1) == 66.7
    # Previous: NPS 0 -> 50, CSAT 100, no CES: (50 + 100) / 2.
    assert report["csi"]["previous"] == 75.0
    # Seed 001: 10 % churn, 1,000 a year, 1,000 acquisition -> 9,000.
    assert report["churn"] == {"rate": 10.0, "lost": 50, "average_customers": 500.0}
    assert report["retention"] == {"rate": 90.0}
    assert report["clv"] == {"average": 9000.0}
    assert report["detractor_followup"]["median_hours_to_first_response"] == 3.2
    assert report["detractor_followup"]["alerts"] == 12


def test_significant_changes_and_rounding_of_ces() -> None:
    big_up = m.MetricSet(m.nps({10: 300, 0: 100}), m.csat({5: 380, 1: 20}), m.ces({7: 300, 5: 100}))
    big_down = m.MetricSet(
        m.nps({10: 100, 0: 300}), m.csat({5: 200, 1: 200}), m.ces({2: 300, 3: 100})
    )
    up = metrics_report(WEEK, big_up, big_down, NO_CUSTOMERS, {})
    assert (up["nps"]["change"], up["csat"]["change"], up["ces"]["change"]) == ("rise",) * 3
    down = metrics_report(WEEK, big_down, big_up, NO_CUSTOMERS, {})
    assert (down["nps"]["change"], down["csat"]["change"], down["ces"]["change"]) == ("fall",) * 3
    assert up["ces"]["score"] == 6.5 and up["ces"]["previous"] == 2.25
    assert up["nps"]["ci95"][0] < 50.0 < up["nps"]["ci95"][1]


def test_csi_weights_churn_window_and_expected_years() -> None:
    current = m.MetricSet(m.nps({10: 1}), m.csat({1: 1}), m.ces({}))  # 100 and 0 on 0..100
    customers = CustomerCounts(100, 100, 10, Decimal("1000"), Decimal("1000"))
    report = metrics_report(WEEK, current, EMPTY, customers, {}, csi_weights=(3, 1, 1))
    assert report["csi"]["score"] == 75.0
    # 10 % lost over 6 months is 20 % a year: 5 years -> 1,000 x 5 - 1,000.
    half_year = metrics_report(WEEK, current, EMPTY, customers, {}, churn_months=6)
    assert half_year["churn"]["rate"] == 10.0
    assert half_year["clv"]["average"] == 4000.0
    fixed = metrics_report(WEEK, current, EMPTY, customers, {}, expected_years=2.5)
    assert fixed["clv"]["average"] == 1500.0


def test_clv_needs_revenue_cost_and_churn() -> None:
    no_churn = CustomerCounts(100, 100, 0, Decimal("1000"), Decimal("100"))
    assert metrics_report(WEEK, EMPTY, EMPTY, no_churn, {})["clv"]["average"] is None
    assert metrics_report(WEEK, EMPTY, EMPTY, no_churn, {})["churn"]["rate"] == 0.0
    no_cost = CustomerCounts(100, 100, 10, Decimal("1000"), None)
    assert metrics_report(WEEK, EMPTY, EMPTY, no_cost, {})["clv"]["average"] is None


def test_breakdown_rows() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        [("nps", 10, "retail", 3), ("nps", 0, "retail", 1), ("csat", 4, "", 2), ("ces", 6, "", 1)],
        columns=["metric", "score", "segment", "n"],
    )
    report = metrics_report(
        WEEK, m.summarize(frame), EMPTY, NO_CUSTOMERS, {}, m.breakdown(frame, "segment")
    )
    assert report["breakdown"] == [
        {"key": "retail", "nps": 50.0, "csat": None, "ces": None, "n": 4},
        {"key": "(none)", "nps": None, "csat": 100.0, "ces": 6.0, "n": 3},
    ]
    assert metrics_report(WEEK, EMPTY, EMPTY, NO_CUSTOMERS, {}, [])["breakdown"] == []


@pytest.mark.parametrize(
    ("end", "months", "expected_start"),
    [
        (date(2026, 11, 22), 12, date(2025, 11, 23)),
        (date(2026, 12, 31), 12, date(2026, 1, 1)),
        (date(2024, 2, 29), 12, date(2023, 3, 1)),  # 28 Feb 2023 + 1 day
        (date(2026, 3, 31), 1, date(2026, 3, 1)),  # 28 Feb + 1 day
        (date(2026, 6, 30), 6, date(2026, 1, 1)),
    ],
)
def test_churn_window(end: date, months: int, expected_start: date) -> None:
    period = next(
        period_containing(k, end)
        for k in ("week", "month", "quarter", "year")
        if period_containing(k, end).end == end
    )
    assert churn_window(period, months) == (expected_start, end)


def test_months_before_and_bad_window() -> None:
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2026, 1, 15), 13) == date(2024, 12, 15)
    with pytest.raises(ValueError, match="at least 1 month"):
        churn_window(WEEK, 0)
