"""The one-page report as data: headline metrics, why they moved, and what else happened.

Built from answer counts (the frames `storage.metrics_queries` returns) and the
metrics report of `core.report`, so every number is the same one `cxbot metrics`
shows. Nothing here formats text: `bot/views` renders a `Digest` for Slack and the
terminal, and `core.narrative` writes its paragraph from `digest_facts`.

A move is a rise or a fall only when `core.metrics` calls it significant. The
drivers explain the metrics that moved; when none did, the largest move is still
explained (leaders ask "why did it dip?") but flagged with a `not_significant:<metric>`
note so nothing renders it as a rise or a fall.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core import metrics as m
from core.drivers import Decomposition, decompose
from core.goals import Progress
from core.periods import KINDS, Period, periods_back
from core.report import CSI_WEIGHTS, EMPTY_FOLLOWUP
from core.themes import Comment, ThemeReport, ThemeStat, analyse_period

HEADLINE: tuple[str, ...] = ("nps", "csat", "ces", "csi")
# The mail follow-up of the period's detractors (core.mail.loop_figures), 0 without mail.
LOOP_DEFAULTS: dict[str, int] = {"reached": 0, "replied": 0, "rated": 0, "recovered": 0}
DRIVER_COLUMNS: tuple[str, ...] = ("segment", "touchpoint")
SERIES_PERIODS = 12
# Comment themes listed in the report and its facts.
THEMES_SHOWN = 4
# Digits a metric is shown with (as in the metrics JSON of CONTRACT.md).
DIGITS: dict[str, int] = {"nps": 1, "csat": 1, "ces": 2, "csi": 1}
# One point of each metric on the CSI's 0..100 scale, to compare moves across metrics.
_CSI_SCALE: dict[str, float] = {"nps": 0.5, "csat": 1.0, "ces": 100 / 6}
# Detractors are to be handled within this many hours (DOMAIN.md, practice 10).
FOLLOWUP_HOURS = 24
CONFIDENCE_PCT = 95

_FRAME_COLUMNS = ["metric", "score", "n", *DRIVER_COLUMNS]


@dataclass(frozen=True)
class HeadlineMetric:
    """One metric of the period: value, interval, answers and its change from the last one.

    ``delta`` is ``value - previous`` as shown (`core.metrics.shown_change`; None unless
    both exist);
    ``change`` is rise / fall / stable by the metric's significance test.
    """

    metric: str
    value: float | None
    ci95: tuple[float, float] | None
    n: int
    previous: float | None
    delta: float | None
    change: m.Change
    small_sample: bool


@dataclass(frozen=True)
class Digest:
    """Everything the one-page report says, as numbers and short summaries."""

    cadence: str  # week, month, quarter, year
    period: Period
    previous: Period
    late: bool  # posted after its schedule (a missed run)
    headline: list[HeadlineMetric]  # nps, csat, ces, csi
    answers: int
    response_rate: float | None  # percent
    drivers: list[Decomposition]
    themes: ThemeReport  # what the period's comments are about (core.themes)
    churn: dict[str, Any]
    retention: dict[str, Any]
    clv: dict[str, Any]
    followup: dict[str, Any]  # detractor_followup of the metrics report
    insights: list[dict[str, Any]]
    shoutouts: dict[str, Any]
    pulse: list[dict[str, Any]]
    empty: bool  # no answers at all in the period
    notes: list[str]  # e.g. "small_sample:nps", "not_significant:ces", "empty", "late"
    # The last SERIES_PERIODS periods ending with `period`, oldest first: (period, nps, csat, ces).
    series: list[tuple[Period, HeadlineMetric, HeadlineMetric, HeadlineMetric]]
    metrics: dict[str, Any] = field(default_factory=dict)  # the metrics report as given
    goals: tuple[Progress, ...] = ()  # the workspace's goals, at the time of the report

    def metric(self, name: str) -> HeadlineMetric:
        """The headline entry of ``name`` (nps, csat, ces, csi)."""
        for h in self.headline:
            if h.metric == name:
                return h
        raise KeyError(name)


def _empty_counts() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in _FRAME_COLUMNS})
    frame["score"] = frame["score"].astype("int64")
    frame["n"] = frame["n"].astype("int64")
    return frame


def _delta(value: float | None, previous: float | None, metric: str) -> float | None:
    return m.shown_change(value, previous, DIGITS[metric])


def _csi_change(components: list[HeadlineMetric], delta: float | None) -> m.Change:
    """CSI has no sampling test of its own: it rises (falls) only when a component rose
    (fell) significantly, none moved significantly the other way, and the index itself
    moved that way. Anything less is stable, so the index never outruns its parts."""
    if delta is None or delta == 0:
        return "stable"
    changes = {c.change for c in components}
    wanted: m.Change = "rise" if delta > 0 else "fall"
    opposite: m.Change = "fall" if wanted == "rise" else "rise"
    return wanted if wanted in changes and opposite not in changes else "stable"


def headline_metrics(
    now: m.MetricSet,
    before: m.MetricSet,
    csi_weights: tuple[float, float, float] = CSI_WEIGHTS,
) -> list[HeadlineMetric]:
    """NPS, CSAT, CES and CSI of ``now`` compared with ``before``."""
    nps = HeadlineMetric(
        "nps",
        now.nps.score,
        now.nps.ci95,
        now.nps.n,
        before.nps.score,
        _delta(now.nps.score, before.nps.score, "nps"),
        m.nps_change(now.nps, before.nps),
        now.nps.small_sample,
    )
    csat = HeadlineMetric(
        "csat",
        now.csat.score,
        None,
        now.csat.n,
        before.csat.score,
        _delta(now.csat.score, before.csat.score, "csat"),
        m.csat_change(now.csat, before.csat),
        now.csat.small_sample,
    )
    ces = HeadlineMetric(
        "ces",
        now.ces.score,
        None,
        now.ces.n,
        before.ces.score,
        _delta(now.ces.score, before.ces.score, "ces"),
        m.ces_change(now.ces, before.ces),
        now.ces.small_sample,
    )
    value = m.csi(now.nps.score, now.csat.score, now.ces.score, csi_weights)
    previous = m.csi(before.nps.score, before.csat.score, before.ces.score, csi_weights)
    delta = _delta(value, previous, "csi")
    components = [nps, csat, ces]
    csi = HeadlineMetric(
        "csi",
        value,
        None,
        sum(c.n for c in components),
        previous,
        delta,
        _csi_change(components, delta),
        any(c.small_sample for c in components),
    )
    return [nps, csat, ces, csi]


def _answers(frame: pd.DataFrame) -> int:
    counts = m.counts_by_metric(frame)
    return sum(sum(c.values()) for c in counts.values())


def _check_periods(cadence: str, period: Period, previous: Period) -> None:
    if cadence not in KINDS:
        raise ValueError(f"cadence must be one of {', '.join(KINDS)}, not {cadence!r}")
    for name, p in (("period", period), ("previous", previous)):
        if p.kind != cadence:
            raise ValueError(f"{name} {p.label()} is a {p.kind}, but the digest is per {cadence}")
    if previous.end >= period.start:
        raise ValueError(
            f"previous period {previous.label()} must end before {period.label()} starts"
        )


def _check_rate(response_rate: float | None) -> float | None:
    if response_rate is None:
        return None
    if isinstance(response_rate, bool) or not isinstance(response_rate, numbers.Real):
        raise ValueError(f"response rate must be a percentage, not {response_rate!r}")
    rate = float(response_rate)
    if not (math.isfinite(rate) and 0 <= rate <= 100):
        raise ValueError(f"response rate must be between 0 and 100 (percent), not {rate:g}")
    return rate


def _series(
    period: Period,
    previous: Period,
    now: m.MetricSet,
    before: m.MetricSet,
    series_counts: Mapping[Period, pd.DataFrame],
    csi_weights: tuple[float, float, float],
) -> list[tuple[Period, HeadlineMetric, HeadlineMetric, HeadlineMetric]]:
    # The digest's own two periods are already summed; the rest come from series_counts.
    summaries: dict[Period, m.MetricSet] = {period: now, previous: before}

    def summary(p: Period) -> m.MetricSet:
        if p not in summaries:
            summaries[p] = m.summarize(series_counts.get(p, _empty_counts()))
        return summaries[p]

    result = []
    for p in periods_back(period, SERIES_PERIODS):
        nps, csat, ces, _ = headline_metrics(summary(p), summary(p.previous()), csi_weights)
        result.append((p, nps, csat, ces))
    return result


def _columns_for_drivers(*frames: pd.DataFrame) -> list[str]:
    return [c for c in DRIVER_COLUMNS if all(c in f.columns for f in frames)]


def _drivers(
    headline: list[HeadlineMetric], now: pd.DataFrame, before: pd.DataFrame
) -> tuple[list[Decomposition], list[str]]:
    """Decompositions of the metrics that moved, or of the largest move, flagged."""
    components = [h for h in headline if h.metric in m.METRICS]
    explain = [h for h in components if h.change != "stable"]
    notes: list[str] = []
    if not explain:
        moved = [h for h in components if h.delta is not None and h.delta != 0]
        if moved:
            biggest = max(moved, key=lambda h: abs(h.delta or 0.0) * _CSI_SCALE[h.metric])
            explain = [biggest]
            notes.append(f"not_significant:{biggest.metric}")
    result = []
    for h in explain:
        for by in _columns_for_drivers(now, before):
            decomposition = decompose(h.metric, now, before, by)
            # One group (e.g. nobody tags touchpoints) explains nothing.
            if len(decomposition.contributions) > 1:
                result.append(decomposition)
    return result, notes


def _notes(headline: list[HeadlineMetric], empty: bool, late: bool) -> list[str]:
    notes: list[str] = []
    if empty:
        notes.append("empty")
    if late:
        notes.append("late")
    for h in headline:
        if h.metric == "csi":
            continue
        if h.n == 0:
            if not empty:
                notes.append(f"no_data:{h.metric}")
            continue
        if h.small_sample:
            notes.append(f"small_sample:{h.metric}")
        if h.previous is None:
            notes.append(f"no_previous:{h.metric}")
    return notes


def build_digest(
    *,
    cadence: str,
    period: Period,
    previous: Period,
    counts_now: pd.DataFrame,
    counts_before: pd.DataFrame,
    series_counts: Mapping[Period, pd.DataFrame],
    metrics_report: Mapping[str, Any],
    comments_now: Sequence[Comment] = (),
    comments_before: Sequence[Comment] = (),
    comment_scale: tuple[float, float] = (1.0, 1.0),
    insights: Sequence[Mapping[str, Any]] = (),
    shoutouts: Mapping[str, Any] | None = None,
    pulse: Sequence[Mapping[str, Any]] = (),
    response_rate: float | None = None,
    late: bool = False,
    csi_weights: tuple[float, float, float] = CSI_WEIGHTS,
    loop: Mapping[str, int] | None = None,
) -> Digest:
    """The digest of ``period`` compared with ``previous``.

    ``counts_*`` have columns metric, score, n (and segment, touchpoint for the
    drivers); ``series_counts`` gives the earlier periods for the chart (missing ones
    show as gaps). ``metrics_report`` is `core.report.metrics_report` of the period:
    churn, retention, CLV and detractor follow-up are taken from it. ``insights``,
    ``shoutouts`` and ``pulse`` are the callers' summaries, passed through; ``response_rate``
    is in percent. ``comments_*`` are the periods' commented answers (or a sample, each
    standing for ``comment_scale`` answers): their themes, and how much of the NPS change
    came from the answers on each. ``loop`` (`core.mail.loop_figures`) adds to the detractor
    follow-up how many detractors were reached by mail, replied and were recovered.
    """
    _check_periods(cadence, period, previous)
    rate = _check_rate(response_rate)
    now_set, before_set = m.summarize(counts_now), m.summarize(counts_before)
    headline = headline_metrics(now_set, before_set, csi_weights)
    answers = _answers(counts_now)
    empty = answers == 0
    drivers, driver_notes = ([], []) if empty else _drivers(headline, counts_now, counts_before)
    return Digest(
        cadence=cadence,
        period=period,
        previous=previous,
        late=late,
        headline=headline,
        answers=answers,
        response_rate=rate,
        drivers=drivers,
        themes=analyse_period(
            counts_now, counts_before, comments_now, comments_before, comment_scale
        ),
        churn=dict(metrics_report.get("churn") or {}),
        retention=dict(metrics_report.get("retention") or {}),
        clv=dict(metrics_report.get("clv") or {}),
        followup={
            **EMPTY_FOLLOWUP,
            **LOOP_DEFAULTS,
            **(metrics_report.get("detractor_followup") or {}),
            **(loop or {}),
        },
        insights=[dict(i) for i in insights],
        shoutouts=dict(shoutouts or {}),
        pulse=[dict(p) for p in pulse],
        empty=empty,
        notes=_notes(headline, empty, late) + driver_notes,
        series=_series(period, previous, now_set, before_set, series_counts, csi_weights),
        metrics=dict(metrics_report),
    )


# --------------------------------------------------------------------------- facts


def _round(value: float | None, digits: int) -> float | None:
    if value is None:
        return None
    rounded = round(float(value), digits)
    return 0.0 if rounded == 0 else rounded  # no "-0.0" in a paragraph


def _headline_facts(h: HeadlineMetric) -> dict[str, Any]:
    digits = DIGITS[h.metric]
    value, previous = _round(h.value, digits), _round(h.previous, digits)
    return {
        "value": value,
        "ci95": None if h.ci95 is None else [_round(h.ci95[0], digits), _round(h.ci95[1], digits)],
        "n": h.n,
        "previous": previous,
        # From the shown numbers, so "42.4, up 2.4 from 40.0" always adds up.
        "delta": _round(h.delta, digits),
        "change": h.change,
        "small_sample": h.small_sample,
    }


def _driver_facts(d: Decomposition, significant: bool) -> dict[str, Any]:
    digits = DIGITS[d.metric]
    return {
        "metric": d.metric,
        "by": d.by,
        "change": _round(d.change, digits),
        "significant": significant,
        "rate": _round(d.rate_total, digits),
        "mix": _round(d.mix_total, digits),
        "mix_driven": d.mix_driven,
        "main": [
            {
                "key": c.key,
                "total": _round(c.total, digits),
                "rate": _round(c.rate, digits),
                "mix": _round(c.mix, digits),
                "score_now": _round(c.score_now, digits),
                "score_before": _round(c.score_before, digits),
                "n_now": c.n_now,
                "n_before": c.n_before,
            }
            for c in d.main
        ],
    }


def _numbers_only(summary: Mapping[str, Any], keep: Sequence[str] = ()) -> dict[str, Any]:
    """Numeric entries (and the named labels) of a caller's summary: no free text."""
    result: dict[str, Any] = {}
    for key, value in summary.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, numbers.Real):
            # Plain int / float, so numpy numbers from a caller still give JSON.
            plain = int(value) if isinstance(value, numbers.Integral) else float(value)
            result[key] = plain if isinstance(plain, int) else _round(plain, 1)
        elif key in keep and isinstance(value, str):
            result[key] = value
    return result


def _period_facts(p: Period) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "label": p.label(),
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "year": p.start.year,
    }
    if p.kind == "week":
        facts["week"] = p.start.isocalendar().week
        facts["year"] = p.start.isocalendar().year
    elif p.kind == "month":
        facts["month"] = p.start.month
    elif p.kind == "quarter":
        facts["quarter"] = (p.start.month - 1) // 3 + 1
    return facts


def _theme_facts(t: ThemeStat) -> dict[str, Any]:
    return {
        "theme": t.name,
        "now": t.count,
        "before": t.before,
        "change": t.change,
        "share": _round(t.share, 1),
        "nps": _round(t.nps, 1),
        "effect": _round(t.effect, 1),
    }


def digest_facts(d: Digest) -> dict[str, Any]:
    """The digest's numbers as plain JSON types, rounded as shown, with no customer text.

    This is all a language model gets to write the paragraph from, and what
    `core.narrative.check_narrative` checks its numbers against. Labels (segment,
    touchpoint, theme and promise names) are the company's own words, not customers'.
    """
    statuses: dict[str, int] = {}
    for insight in d.insights:
        status = insight.get("status")
        if isinstance(status, str):
            statuses[status] = statuses.get(status, 0) + 1
    significant = {h.metric for h in d.headline if h.change != "stable"}
    return {
        "cadence": d.cadence,
        "period": _period_facts(d.period),
        "previous_period": _period_facts(d.previous),
        "late": d.late,
        "empty": d.empty,
        "answers": d.answers,
        "response_rate": _round(d.response_rate, 1),
        "headline": {h.metric: _headline_facts(h) for h in d.headline},
        "drivers": [_driver_facts(x, x.metric in significant) for x in d.drivers],
        "themes": [_theme_facts(t) for t in d.themes.top(THEMES_SHOWN)],
        "themes_behind": [t.name for t in d.themes.behind_change()],
        "churn": _numbers_only(d.churn),
        "retention": _numbers_only(d.retention),
        "clv": _numbers_only(d.clv),
        "followup": _numbers_only(d.followup),
        "insights": {"count": len(d.insights), "by_status": statuses},
        "shoutouts": _numbers_only(d.shoutouts, keep=("top_promise",)),
        "pulse": [_numbers_only(p, keep=("name",)) for p in d.pulse],
        "notes": list(d.notes),
        "reference": {
            "confidence_pct": CONFIDENCE_PCT,
            "small_sample_below": m.SMALL_SAMPLE,
            "followup_hours": FOLLOWUP_HOURS,
            "series_periods": SERIES_PERIODS,
        },
    }
