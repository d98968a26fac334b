"""CX metrics: NPS, CSAT, CES, CSI, churn, retention, CLV, with intervals and significance.

The definitions are the ones in the domain brief (DOMAIN.md, "Metrics"). Every score
function takes answer counts per score (``{9: 120, 10: 60, ...}``) rather than raw
answers, because storage keeps daily counts, and returns full-precision numbers:
rounding happens only when a number is shown.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from statistics import NormalDist
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    # Imported by the frame functions only: `cxbot metrics` sums a few hundred rows of
    # the counts tables with `summarize_rows`, faster than pandas takes to import.
    import pandas as pd

Change = Literal["rise", "fall", "stable"]

METRICS: tuple[str, ...] = ("nps", "csat", "ces")
SMALL_SAMPLE = 30
SCORE_RANGES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
# A score at or below the threshold is a detractor.
DETRACTOR_THRESHOLDS = {"nps": 6, "csat": 2, "ces": 3}
# A score at or above this is a promoter: NPS's own 9-10, and the top answer of the
# CSAT and CES scales (the "delighted" customers worth thanking or quoting).
PROMOTER_THRESHOLDS = {"nps": 9, "csat": 5, "ces": 7}
NPS_PASSIVE_MIN = 7
CSAT_SATISFIED_MIN = 4
SIGNIFICANCE = 0.05
NONE_KEY = "(none)"

_Z95 = NormalDist().inv_cdf(1 - SIGNIFICANCE / 2)  # 1.959963984540054


# --- validation ---------------------------------------------------------------------


def _check_metric(metric: str) -> str:
    if metric not in SCORE_RANGES:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    return metric


def _shown(value: object) -> object:
    """``value`` as a plain Python object, so messages say -1 rather than np.int64(-1)."""
    item = getattr(value, "item", None)
    return item() if callable(item) and getattr(value, "shape", None) == () else value


def _as_int(value: object, what: str) -> int:
    """``value`` as an int when it is a whole number (numpy and pandas give their own types)."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a whole number, not {_shown(value)!r}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(float(value)):
        as_float = float(value)
        if as_float.is_integer():
            return int(as_float)
    raise ValueError(f"{what} must be a whole number, not {_shown(value)!r}")


def _check_score(metric: str, score: object) -> int:
    low, high = SCORE_RANGES[_check_metric(metric)]
    value = _as_int(score, f"{metric} score")
    if not low <= value <= high:
        raise ValueError(f"{metric} score must be between {low} and {high}, not {value}")
    return value


def _validated_counts(metric: str, counts: Mapping[int, int]) -> dict[int, int]:
    """Counts per score with every score in range and every count a whole number >= 0."""
    clean: dict[int, int] = {}
    for score, count in counts.items():
        s = _check_score(metric, score)
        c = _as_int(count, f"{metric} count for score {s}")
        if c < 0:
            raise ValueError(f"{metric} count for score {s} must be 0 or more, not {c}")
        clean[s] = clean.get(s, 0) + c
    return clean


# --- detractors and promoters ---------------------------------------------------------


def is_detractor(metric: str, score: int, thresholds: Mapping[str, int] | None = None) -> bool:
    """True when ``score`` is at or below the metric's detractor threshold.

    ``thresholds`` overrides the defaults per metric (a workspace's configuration);
    metrics it leaves out keep the default.
    """
    value = _check_score(metric, score)
    threshold = DETRACTOR_THRESHOLDS[metric]
    if thresholds is not None and metric in thresholds:
        low, high = SCORE_RANGES[metric]
        threshold = _as_int(thresholds[metric], f"{metric} detractor threshold")
        if not low <= threshold <= high:
            raise ValueError(
                f"{metric} detractor threshold must be between {low} and {high}, not {threshold}"
            )
    return value <= threshold


def is_promoter(metric: str, score: int) -> bool:
    """True for NPS 9-10, CSAT 5 and CES 7 (see ``PROMOTER_THRESHOLDS``)."""
    return _check_score(metric, score) >= PROMOTER_THRESHOLDS[metric]


# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NpsResult:
    """Net Promoter Score of a set of 0-10 answers; ``score`` in -100..100, None when n is 0."""

    score: float | None
    n: int
    promoters: int
    passives: int
    detractors: int
    ci95: tuple[float, float] | None
    small_sample: bool


@dataclass(frozen=True)
class CsatResult:
    """Share of 1-5 answers that are 4 or 5, in percent; None when n is 0."""

    score: float | None
    n: int
    satisfied: int
    small_sample: bool


@dataclass(frozen=True)
class CesResult:
    """Mean of 1-7 answers; ``variance`` is the sample variance (None when n < 2)."""

    score: float | None
    n: int
    variance: float | None
    small_sample: bool


def _is_small(n: int) -> bool:
    return 0 < n < SMALL_SAMPLE


# --- NPS --------------------------------------------------------------------------------


def _nps_fraction_and_variance(promoters: int, detractors: int, n: int) -> tuple[float, float]:
    """NPS as a fraction (-1..1) and its variance; adjusted-Wald below SMALL_SAMPLE answers.

    The adjusted form (Rocks 2016, as MeasuringU recommends) adds 3/4 of an answer to
    promoters and to detractors and 3/2 to passives: it keeps 95 % coverage where the
    plain form is too narrow, e.g. gives a real spread to ten promoters out of ten.
    """
    if n < SMALL_SAMPLE:
        p, d, size = (promoters + 0.75) / (n + 3), (detractors + 0.75) / (n + 3), n + 3
    else:
        p, d, size = promoters / n, detractors / n, n
    # max() absorbs rounding that could leave a tiny negative when p + d is 1.
    return p - d, max(0.0, (p + d - (p - d) ** 2) / size)


def nps_variance(result: NpsResult) -> float | None:
    """Variance of the NPS as a fraction (-1..1), the basis of its interval and tests.

    Below ``SMALL_SAMPLE`` answers it comes from the adjusted-Wald counts. None when
    there are no answers.
    """
    if result.n == 0:
        return None
    return _nps_fraction_and_variance(result.promoters, result.detractors, result.n)[1]


def nps(counts: Mapping[int, int]) -> NpsResult:
    """NPS from answer counts per score 0..10 (missing scores count as 0)."""
    clean = _validated_counts("nps", counts)
    promoters = sum(c for s, c in clean.items() if s >= PROMOTER_THRESHOLDS["nps"])
    passives = sum(c for s, c in clean.items() if NPS_PASSIVE_MIN <= s < PROMOTER_THRESHOLDS["nps"])
    detractors = sum(c for s, c in clean.items() if s < NPS_PASSIVE_MIN)
    n = promoters + passives + detractors
    if n == 0:
        return NpsResult(None, 0, 0, 0, 0, None, False)
    score = 100 * (promoters - detractors) / n
    _, variance = _nps_fraction_and_variance(promoters, detractors, n)
    half = _Z95 * 100 * math.sqrt(variance)
    # Centred on the observed score so the interval always contains what is shown.
    ci = (max(-100.0, score - half), min(100.0, score + half))
    return NpsResult(score, n, promoters, passives, detractors, ci, _is_small(n))


def enps(counts: Mapping[int, int]) -> NpsResult:
    """Employee NPS of a pulse survey: computed exactly like NPS."""
    return nps(counts)


# --- CSAT and CES -------------------------------------------------------------------------


def csat(counts: Mapping[int, int]) -> CsatResult:
    """CSAT from answer counts per score 1..5: percent of answers that are 4 or 5."""
    clean = _validated_counts("csat", counts)
    n = sum(clean.values())
    satisfied = sum(c for s, c in clean.items() if s >= CSAT_SATISFIED_MIN)
    if n == 0:
        return CsatResult(None, 0, 0, False)
    return CsatResult(100 * satisfied / n, n, satisfied, _is_small(n))


def ces(counts: Mapping[int, int]) -> CesResult:
    """CES from answer counts per score 1..7: the mean score (7 = very easy)."""
    clean = _validated_counts("ces", counts)
    n = sum(clean.values())
    if n == 0:
        return CesResult(None, 0, None, False)
    # Integer sums keep the mean and variance exact up to the final division.
    total = sum(s * c for s, c in clean.items())
    squares = sum(s * s * c for s, c in clean.items())
    variance = (n * squares - total * total) / (n * (n - 1)) if n > 1 else None
    return CesResult(total / n, n, variance, _is_small(n))


# --- significance of a change ---------------------------------------------------------


def _direction(difference: float) -> Change:
    if difference > 0:
        return "rise"
    if difference < 0:
        return "fall"
    return "stable"


def _z_change(difference: float, standard_error: float) -> Change:
    if standard_error == 0:
        # No spread on either side: any difference is certain, none is stable.
        return _direction(difference)
    return _direction(difference) if abs(difference / standard_error) > _Z95 else "stable"


def shown_change(value: float | None, previous: float | None, digits: int) -> float | None:
    """The change between two values as a reader sees them: each rounded to `digits`
    first, so "20.3, previous 38.0" always reads "−17.7"; None unless both exist.

    The one place a change is rounded: the metrics reply, the digest and its facts all
    take it from here and agree to the last digit.
    """
    if value is None or previous is None:
        return None
    change = round(round(float(value), digits) - round(float(previous), digits), digits)
    return 0.0 if change == 0 else change  # no "-0.0"


def nps_change(current: NpsResult, previous: NpsResult) -> Change:
    """Rise or fall when the NPS moved significantly at 95 % (z-test), else stable.

    The z statistic is the difference of the two NPS fractions over sqrt(var1 + var2).
    """
    if current.score is None or previous.score is None:
        return "stable"
    # Small samples compare the adjusted estimates, which the variance belongs to: one
    # promoter against one detractor is not a significant rise.
    f1, v1 = _nps_fraction_and_variance(current.promoters, current.detractors, current.n)
    f2, v2 = _nps_fraction_and_variance(previous.promoters, previous.detractors, previous.n)
    return _z_change(f1 - f2, math.sqrt(v1 + v2))


def csat_change(current: CsatResult, previous: CsatResult) -> Change:
    """Rise or fall when CSAT moved significantly at 95 % (two-proportion z-test)."""
    if current.score is None or previous.score is None:
        return "stable"
    pooled = (current.satisfied + previous.satisfied) / (current.n + previous.n)
    standard_error = math.sqrt(pooled * (1 - pooled) * (1 / current.n + 1 / previous.n))
    difference = current.satisfied / current.n - previous.satisfied / previous.n
    if standard_error == 0:
        # Pooled share 0 % or 100 %: both sides are identical.
        return "stable"
    return _z_change(difference, standard_error)


def ces_change(current: CesResult, previous: CesResult) -> Change:
    """Rise or fall when CES moved significantly at 95 % (Welch's t-test), else stable.

    Needs at least two answers on each side to estimate their spread.
    """
    if current.score is None or previous.score is None:
        return "stable"
    if current.variance is None or previous.variance is None:
        return "stable"
    difference = current.score - previous.score
    a, b = current.variance / current.n, previous.variance / previous.n
    if a + b == 0:
        return _direction(difference)
    t = difference / math.sqrt(a + b)
    df = (a + b) ** 2 / (a * a / (current.n - 1) + b * b / (previous.n - 1))
    # Imported here: scipy.stats takes a while to load and only this test needs it.
    from scipy.stats import t as student_t

    p_value = 2 * float(student_t.sf(abs(t), df))
    return _direction(difference) if p_value < SIGNIFICANCE else "stable"


# --- CSI --------------------------------------------------------------------------------


def _present(value: float | None, name: str, low: float, high: float) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    number = float(value)
    if not low <= number <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}, not {number:g}")
    return number


def csi(
    nps: float | None,
    csat: float | None,
    ces: float | None,
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> float | None:
    """Customer satisfaction index, 0..100: weighted mean of the components with data.

    Each component is first put on 0..100: (NPS + 100) / 2, CSAT, (CES - 1) / 6 * 100.
    A missing (None or NaN) component is left out and the remaining weights carry
    the index; None when nothing with a positive weight is present.
    """
    if len(weights) != 3:
        raise ValueError(f"CSI needs three weights (NPS, CSAT, CES), not {len(weights)}")
    for name, w in zip(("NPS", "CSAT", "CES"), weights, strict=True):
        if not (math.isfinite(w) and w >= 0):
            raise ValueError(f"CSI weight for {name} must be a number 0 or more, not {w!r}")
    n_value = _present(nps, "NPS", -100, 100)
    s_value = _present(csat, "CSAT", 0, 100)
    e_value = _present(ces, "CES", 1, 7)
    parts = [
        ((n_value + 100) / 2 if n_value is not None else None, weights[0]),
        (s_value, weights[1]),
        ((e_value - 1) / 6 * 100 if e_value is not None else None, weights[2]),
    ]
    present = [(v, w) for v, w in parts if v is not None and w > 0]
    total_weight = sum(w for _, w in present)
    if not present or total_weight == 0:
        return None
    index = sum(v * w for v, w in present) / total_weight
    # Rounding in the weighted sum can step a hair outside the scale.
    return min(100.0, max(0.0, index))


# --- churn, retention, CLV ----------------------------------------------------------------


@dataclass(frozen=True)
class ChurnResult:
    """Customers lost over the average customer base, in percent (None when the base is 0)."""

    rate: float | None
    lost: int
    average_customers: float


def churn(lost: int, active_start: int, active_end: int) -> ChurnResult:
    """Churn rate: lost / ((active at start + active at end) / 2) * 100."""
    values = {}
    for name, value in (
        ("lost customers", lost),
        ("active customers at start", active_start),
        ("active customers at end", active_end),
    ):
        v = _as_int(value, name)
        if v < 0:
            raise ValueError(f"{name} must be 0 or more, not {v}")
        values[name] = v
    lost_n = values["lost customers"]
    average = (values["active customers at start"] + values["active customers at end"]) / 2
    if average == 0:
        return ChurnResult(None, lost_n, 0.0)
    return ChurnResult(100 * lost_n / average, lost_n, average)


def retention(churn_rate: float | None) -> float | None:
    """Retention rate in percent: 100 - churn rate (None when churn is unknown)."""
    if churn_rate is None or math.isnan(churn_rate):
        return None
    return 100 - churn_rate


def _to_decimal(value: object, what: str) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number, not {value!r}")
    try:
        # str() of a float is its shortest repr, so 0.1 becomes Decimal("0.1").
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"{what} must be a number, not {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"{what} must be a finite number, not {value!r}")
    return number


def clv(
    annual_revenue: Decimal,
    acquisition_cost: Decimal,
    churn_rate_pct: float | None = None,
    expected_years: float | None = None,
) -> Decimal | None:
    """Customer lifetime value: annual revenue x expected years - acquisition cost.

    ``expected_years`` wins when given; otherwise it is 1 / annual churn rate. None when
    neither is known or churn is 0 (an endless relationship has no finite value).
    Example: 1,000 a year, 10 years (or 10 % churn), 1,000 acquisition -> 9,000.
    """
    revenue = _to_decimal(annual_revenue, "annual revenue")
    cost = _to_decimal(acquisition_cost, "acquisition cost")
    if expected_years is not None:
        years = _to_decimal(expected_years, "expected relationship length in years")
        if years < 0:
            raise ValueError(f"expected relationship length must be 0 or more, not {years}")
    elif churn_rate_pct is not None:
        rate = _to_decimal(churn_rate_pct, "churn rate")
        if rate < 0:
            raise ValueError(f"churn rate must be 0 or more, not {rate}")
        if rate == 0:
            return None
        years = Decimal(100) / rate
    else:
        return None
    return revenue * years - cost


# --- from count frames ------------------------------------------------------------------


@dataclass(frozen=True)
class MetricSet:
    nps: NpsResult
    csat: CsatResult
    ces: CesResult


@dataclass(frozen=True)
class BreakdownRow:
    key: str
    nps: NpsResult
    csat: CsatResult
    ces: CesResult
    n: int


_FRAME_COLUMNS = ("metric", "score", "n")


def _check_frame(frame: pd.DataFrame, extra: tuple[str, ...] = ()) -> None:
    missing = [c for c in (*_FRAME_COLUMNS, *extra) if c not in frame.columns]
    if missing:
        raise ValueError(f"answer counts are missing column(s): {', '.join(missing)}")


def counts_by_metric(frame: pd.DataFrame) -> dict[str, dict[int, int]]:
    """Answer counts per score for each of nps, csat and ces, summed over other columns.

    ``frame`` has columns ``metric``, ``score`` and ``n``; every metric is a key of the
    result, with an empty dict when it has no rows.
    """
    _check_frame(frame)
    result: dict[str, dict[int, int]] = {m: {} for m in METRICS}
    if frame.empty:
        return result
    return _sum_by_metric(_summed(frame, ["metric", "score"]))


def _checked_counts(frame: pd.DataFrame) -> pd.Series:
    import pandas as pd

    counts = pd.to_numeric(frame["n"], errors="coerce")
    # Checked row by row before summing, so a negative count cannot hide in a total.
    bad = counts.isna() | (counts < 0) | (counts != counts.round())
    if bad.any():
        first = int(bad.to_numpy().nonzero()[0][0])
        value = _shown(frame["n"].iloc[first])
        raise ValueError(
            f"answer count must be a whole number 0 or more, not {value!r} (row {first + 1})"
        )
    return counts


def _summed(frame: pd.DataFrame, keys: list[str], extra: pd.Series | None = None) -> pd.Series:
    """Checked counts summed per ``keys`` (and ``extra`` first, when given).

    Validation of metric names and scores happens on the sums, which are a few dozen
    rows where the frame may have a million.
    """
    import pandas as pd

    data = {"metric": frame["metric"], "score": frame["score"], "n": _checked_counts(frame)}
    if extra is not None:
        data = {"key": extra, **data}
        keys = ["key", *keys]
    return pd.DataFrame(data).groupby(keys, dropna=False, sort=False)["n"].sum()


def _sum_by_metric(grouped: pd.Series) -> dict[str, dict[int, int]]:
    return counts_of_rows((metric, score, n) for (metric, score), n in grouped.items())


def _metric_set(counts: Mapping[str, Mapping[int, int]]) -> MetricSet:
    return MetricSet(nps(counts["nps"]), csat(counts["csat"]), ces(counts["ces"]))


def summarize(frame: pd.DataFrame) -> MetricSet:
    """NPS, CSAT and CES of all the answer counts in ``frame`` (see ``counts_by_metric``)."""
    return _metric_set(counts_by_metric(frame))


def _key(value: object) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return NONE_KEY
    text = str(value)
    return text if text != "" else NONE_KEY


def breakdown(frame: pd.DataFrame, by: str) -> list[BreakdownRow]:
    """The metrics per value of column ``by`` (e.g. segment, touchpoint).

    An empty or missing value is shown as ``(none)``. Rows are sorted by number of
    answers, largest first, then by key.
    """
    _check_frame(frame, (by,))
    if by in _FRAME_COLUMNS:
        raise ValueError(f"cannot break down by {by!r}; use a column such as segment or touchpoint")
    if frame.empty:
        return []
    import numpy as np
    import pandas as pd

    # Keys are named once per distinct value, not once per row.
    codes, uniques = pd.factorize(frame[by], use_na_sentinel=True)
    names = np.array([*(_key(u) for u in uniques), NONE_KEY], dtype=object)
    keys = pd.Series(names[codes], index=frame.index)  # code -1 (missing) picks NONE_KEY
    sums = _summed(frame, ["metric", "score"], extra=keys)
    # pandas only sums the frame; the few dozen sums take the plain rows' path.
    return breakdown_rows((key, metric, score, n) for (key, metric, score), n in sums.items())


# --- plain rows (what the counts tables give; the frame functions above end here too) ----

CountRow = tuple[object, object, int]  # (metric, score, n)
KeyedRow = tuple[object, object, object, int]  # (key, metric, score, n)


def _row_count(value: object) -> int:
    n = _as_int(value, "answer count")
    if n < 0:
        raise ValueError(f"answer count must be a whole number 0 or more, not {n!r}")
    return n


def counts_of_rows(rows: Iterable[CountRow]) -> dict[str, dict[int, int]]:
    """`counts_by_metric` of plain (metric, score, n) rows, checked the same way."""
    result: dict[str, dict[int, int]] = {m: {} for m in METRICS}
    for raw, score, count in rows:
        name = raw.strip().lower() if isinstance(raw, str) else raw
        if name not in result:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {_shown(raw)!r}")
        assert isinstance(name, str)
        s = _check_score(name, score)
        result[name][s] = result[name].get(s, 0) + _row_count(count)
    return result


def summarize_rows(rows: Iterable[CountRow]) -> MetricSet:
    """`summarize` of plain (metric, score, n) rows: what the counts tables give."""
    return _metric_set(counts_of_rows(rows))


def _row_key(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NONE_KEY
    text = str(value)
    return text if text != "" else NONE_KEY


def breakdown_rows(rows: Iterable[KeyedRow]) -> list[BreakdownRow]:
    """`breakdown` of plain (key, metric, score, n) rows, in the same order."""
    grouped: dict[str, list[CountRow]] = {}
    for key, metric, score, count in rows:
        grouped.setdefault(_row_key(key), []).append((metric, score, count))
    out: list[BreakdownRow] = []
    for key, group in grouped.items():
        metrics = summarize_rows(group)
        n = metrics.nps.n + metrics.csat.n + metrics.ces.n
        out.append(BreakdownRow(key, metrics.nps, metrics.csat, metrics.ces, n))
    out.sort(key=lambda r: (-r.n, r.key))
    return out
