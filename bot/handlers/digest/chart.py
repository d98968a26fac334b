"""The digest's chart: NPS, CSAT and CES over the last periods, as a PNG for Slack.

Three small panels share the time axis, NPS on top with its 95 % interval as a band,
so each metric keeps its own scale (-100..100, 0..100 %, 1..7). Sizes and fonts are
chosen for Slack's preview, which shows the image at roughly half its width. Periods
without answers are gaps, never zeros; small samples get hollow markers.

Matplotlib is used through `Figure` and the Agg canvas directly: no pyplot state, no
display, safe to call from the bot's worker threads.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Final

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from core.digest import HeadlineMetric
from core.periods import Period

SeriesPoint = tuple[Period, HeadlineMetric, HeadlineMetric, HeadlineMetric]
NumberFormat = Callable[[float, int], str]

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 6.4, 110
COLORS: Final = MappingProxyType({"nps": "#1f5fa8", "csat": "#2e8b57", "ces": "#c26a12"})
DIGITS: Final = MappingProxyType({"nps": 1, "csat": 1, "ces": 2})
# Each metric's own range, and the least span shown so one period does not fill a panel.
LIMITS: Final = MappingProxyType({"nps": (-100.0, 100.0), "csat": (0.0, 100.0), "ces": (1.0, 7.0)})
MIN_SPAN: Final = MappingProxyType({"nps": 30.0, "csat": 15.0, "ces": 1.0})
DEFAULT_LABELS: Final = MappingProxyType(
    {
        "nps": "NPS",
        "csat": "CSAT %",
        "ces": "CES (1–7)",
        "interval": "95 % interval",
        "small_sample": "fewer than 30 answers",
    }
)


def _plain_number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def _short_label(period: Period) -> str:
    if period.kind == "week":
        return f"W{period.start.isocalendar().week}"
    return period.label()


def _values(points: Sequence[HeadlineMetric]) -> list[float]:
    return [math.nan if p.value is None else float(p.value) for p in points]


def _zoom(values: list[float], key: str) -> tuple[float, float]:
    """Y range that shows the data with some room, inside the metric's own range."""
    low, high = LIMITS[key]
    present = [v for v in values if not math.isnan(v)]
    if not present:
        return low, high
    lo, hi = min(present), max(present)
    pad = max((hi - lo) * 0.2, (MIN_SPAN[key] - (hi - lo)) / 2)
    return max(low, lo - pad), min(high, hi + pad)


def _tick_digits(ax: Axes) -> int:
    """Decimals the y ticks need: none for steps of 1 or more, one for 0.5, two for 0.25."""
    ticks = ax.yaxis.get_majorticklocs()
    if len(ticks) < 2:
        return 0
    step = abs(float(ticks[1] - ticks[0]))
    for digits in range(3):
        if abs(step * 10**digits - round(step * 10**digits)) < 1e-6:
            return digits
    return 3


def _panel(
    ax: Axes,
    x: list[int],
    points: Sequence[HeadlineMetric],
    key: str,
    label: str,
    number: NumberFormat,
) -> None:
    color = COLORS[key]
    y = _values(points)
    ax.plot(x, y, color=color, linewidth=2.4, zorder=3)
    small = [p.small_sample for p in points]
    for filled in (True, False):
        xs = [
            xi for xi, yi, s in zip(x, y, small, strict=True) if s != filled and not math.isnan(yi)
        ]
        ys = [yi for yi, s in zip(y, small, strict=True) if s != filled and not math.isnan(yi)]
        ax.plot(
            xs,
            ys,
            linestyle="none",
            marker="o",
            markersize=7,
            markeredgewidth=2,
            markeredgecolor=color,
            markerfacecolor=color if filled else "white",
            zorder=4,
        )
    last = max((i for i, v in enumerate(y) if not math.isnan(v)), default=None)
    if last is not None:
        ax.annotate(
            number(y[last], DIGITS[key]),
            (x[last], y[last]),
            xytext=(8, 0),
            textcoords="offset points",
            va="center",
            fontsize=12,
            fontweight="bold",
            color=color,
        )
    ax.set_ylabel(label, fontsize=12, color=color)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 5, 10]))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: number(v, _tick_digits(ax))))
    ax.tick_params(labelsize=11)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _interval_band(ax: Axes, x: list[int], points: Sequence[HeadlineMetric]) -> None:
    low = [math.nan if p.ci95 is None else p.ci95[0] for p in points]
    high = [math.nan if p.ci95 is None else p.ci95[1] for p in points]
    color = COLORS["nps"]
    ax.fill_between(x, low, high, color=color, alpha=0.18, linewidth=0, zorder=1)
    # A point with no neighbour to join shows its interval as a bar instead of a band.
    for i, xi in enumerate(x):
        if math.isnan(low[i]):
            continue
        alone = all(j < 0 or j >= len(x) or math.isnan(low[j]) for j in (i - 1, i + 1))
        if alone:
            ax.plot([xi, xi], [low[i], high[i]], color=color, alpha=0.35, linewidth=8, zorder=1)


def render_chart(
    series: Sequence[SeriesPoint],
    *,
    title: str,
    locale_labels: Mapping[str, str],
    period_labels: Sequence[str] | None = None,
    number: NumberFormat | None = None,
) -> bytes:
    """A PNG of NPS (with its 95 % interval band), CSAT and CES over ``series``.

    ``series`` is `Digest.series` (oldest first). ``locale_labels`` gives the texts in
    the reader's language (keys nps, csat, ces, interval, small_sample; English for any
    left out); ``period_labels`` the x-axis labels (default W47, 2026-11, 2026-Q4,
    2026); ``number(value, digits)`` formats the axis and value labels.
    """
    if not series:
        raise ValueError("the chart needs at least one period")
    if period_labels is not None and len(period_labels) != len(series):
        raise ValueError(f"{len(period_labels)} period labels given for {len(series)} periods")
    labels = {**DEFAULT_LABELS, **locale_labels}
    fmt = number or _plain_number
    x = list(range(len(series)))
    nps = [s[1] for s in series]
    csat = [s[2] for s in series]
    ces = [s[3] for s in series]

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [1.5, 1, 1]})
    _interval_band(axes[0], x, nps)
    _panel(axes[0], x, nps, "nps", labels["nps"], fmt)
    _panel(axes[1], x, csat, "csat", labels["csat"], fmt)
    _panel(axes[2], x, ces, "ces", labels["ces"], fmt)
    axes[0].set_ylim(*_zoom([v for p in nps if p.ci95 for v in p.ci95], "nps"))
    axes[1].set_ylim(*_zoom(_values(csat), "csat"))
    axes[2].set_ylim(*_zoom(_values(ces), "ces"))

    ticks = (
        list(period_labels) if period_labels is not None else [_short_label(s[0]) for s in series]
    )
    axes[2].set_xticks(x, ticks, fontsize=11)
    # Room on the right for the last value's label, and on both sides for one period.
    axes[2].set_xlim(-0.5, len(series) - 0.5 + max(0.6, len(series) * 0.08))
    if len(series) > 8 and max(len(t) for t in ticks) > 4:
        for tick in axes[2].get_xticklabels():
            tick.set_rotation(45)
            tick.set_horizontalalignment("right")

    legend = [
        Line2D([], [], color=COLORS["nps"], alpha=0.3, linewidth=8, label=labels["interval"]),
        Line2D(
            [],
            [],
            linestyle="none",
            marker="o",
            markersize=7,
            markeredgewidth=2,
            markeredgecolor="#555555",
            markerfacecolor="white",
            label=labels["small_sample"],
        ),
    ]
    # Above the NPS panel, where it cannot hide a data point.
    axes[0].legend(
        handles=legend,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        fontsize=10,
        frameon=False,
        ncols=2,
        borderaxespad=0.2,
    )
    figure.suptitle(title, fontsize=14, fontweight="bold")

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
