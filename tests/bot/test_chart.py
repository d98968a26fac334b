"""The digest chart: a real PNG, readable size, with gaps and with a single period."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import date

import pytest

from bot.handlers.digest.chart import SeriesPoint, render_chart
from core.digest import HeadlineMetric
from core.periods import Period, period_containing, periods_back

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LAST = period_containing("week", date(2026, 11, 18))


def point(metric: str, value: float | None, n: int = 120) -> HeadlineMetric:
    ci = (value - 9.0, value + 9.0) if metric == "nps" and value is not None else None
    return HeadlineMetric(
        metric, value, ci, n if value is not None else 0, None, None, "stable", 0 < n < 30
    )


def series(
    values: Sequence[tuple[float | None, float | None, float | None]], n: int = 120
) -> list[SeriesPoint]:
    periods = periods_back(LAST, len(values))
    return [
        (p, point("nps", a, n), point("csat", b, n), point("ces", c, n))
        for p, (a, b, c) in zip(periods, values, strict=True)
    ]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def check_png(data: bytes) -> None:
    width, height = png_size(data)
    # Wide enough to read at Slack's preview, small enough to upload quickly.
    assert 600 <= width <= 1400 and 450 <= height <= 1100
    assert 10_000 < len(data) < 500_000
    assert data.endswith(b"IEND\xaeB`\x82")


def test_twelve_periods_render_as_png() -> None:
    values = [(30.0 + i, 70.0 + i / 2, 5.0 + i / 20) for i in range(12)]
    data = render_chart(series(values), title="Week 47, 2026", locale_labels={"nps": "NPS"})
    check_png(data)


def test_missing_periods_and_small_samples_render() -> None:
    values = [(30.0, 70.0, 5.2), (None, None, None), (-12.5, 44.0, None), (None, 60.0, 4.1)] * 3
    data = render_chart(
        series(values, n=12),
        title="Uke 47, 2026",
        locale_labels={"nps": "NPS", "csat": "CSAT %", "ces": "CES", "interval": "95 % intervall"},
        number=lambda v, d: f"{v:.{d}f}".replace(".", ","),
    )
    check_png(data)


def test_one_period_and_no_data_at_all_render() -> None:
    check_png(render_chart(series([(41.5, 70.5, 5.0)]), title="W47", locale_labels={}))
    check_png(render_chart(series([(None, None, None)] * 12), title="W47", locale_labels={}))


def test_other_cadences_and_own_labels() -> None:
    months = periods_back(Period("month", date(2026, 11, 1), date(2026, 11, 30)), 3)
    points = [(p, point("nps", 10.0), point("csat", 80.0), point("ces", 6.0)) for p in months]
    labels = ["sep.", "okt.", "nov."]
    check_png(render_chart(points, title="Q", locale_labels={}, period_labels=labels))
    with pytest.raises(ValueError, match="2 period labels given for 3 periods"):
        render_chart(points, title="Q", locale_labels={}, period_labels=labels[:2])


def test_nothing_to_chart_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one period"):
        render_chart([], title="W47", locale_labels={})


def test_same_input_same_picture() -> None:
    values = [(30.0 + i, 70.0, 5.0) for i in range(5)]
    first = render_chart(series(values), title="W47", locale_labels={})
    assert render_chart(series(values), title="W47", locale_labels={}) == first
    assert render_chart(series(values), title="W48", locale_labels={}) != first
