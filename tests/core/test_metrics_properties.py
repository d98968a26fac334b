"""Properties every metric keeps, whatever the answers."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.metrics import (
    SMALL_SAMPLE,
    breakdown,
    ces,
    ces_change,
    churn,
    clv,
    csat,
    csat_change,
    csi,
    nps,
    nps_change,
    retention,
    summarize,
)

COUNT = st.integers(min_value=0, max_value=5000)


def counts_for(low: int, high: int) -> st.SearchStrategy[dict[int, int]]:
    return st.dictionaries(
        st.integers(min_value=low, max_value=high), COUNT, max_size=high - low + 1
    )


NPS_COUNTS = counts_for(0, 10)
CSAT_COUNTS = counts_for(1, 5)
CES_COUNTS = counts_for(1, 7)


@given(NPS_COUNTS)
def test_nps_stays_within_minus_and_plus_hundred(counts: dict[int, int]) -> None:
    result = nps(counts)
    assert result.n == sum(counts.values())
    assert result.promoters + result.passives + result.detractors == result.n
    if result.n == 0:
        assert result.score is None and result.ci95 is None
    else:
        assert result.score is not None and -100 <= result.score <= 100
        assert result.small_sample == (result.n < SMALL_SAMPLE)


@given(NPS_COUNTS, st.sampled_from([9, 10]))
def test_adding_a_promoter_never_lowers_nps(counts: dict[int, int], promoter: int) -> None:
    before = nps(counts)
    more = dict(counts)
    more[promoter] = more.get(promoter, 0) + 1
    after = nps(more)
    assert after.score is not None
    assert before.score is None or after.score >= before.score


@given(NPS_COUNTS)
def test_interval_contains_the_estimate_and_stays_in_range(counts: dict[int, int]) -> None:
    result = nps(counts)
    assume(result.n > 0)
    assert result.ci95 is not None and result.score is not None
    low, high = result.ci95
    assert -100 <= low <= result.score <= high <= 100


@given(NPS_COUNTS)
def test_nps_compared_with_itself_is_stable(counts: dict[int, int]) -> None:
    result = nps(counts)
    assert nps_change(result, result) == "stable"


@given(NPS_COUNTS, NPS_COUNTS)
def test_nps_change_is_antisymmetric(a: dict[int, int], b: dict[int, int]) -> None:
    flipped = {"rise": "fall", "fall": "rise", "stable": "stable"}
    assert nps_change(nps(b), nps(a)) == flipped[nps_change(nps(a), nps(b))]


@given(CSAT_COUNTS)
def test_csat_stays_within_zero_and_hundred(counts: dict[int, int]) -> None:
    result = csat(counts)
    assert result.n == sum(counts.values())
    if result.n == 0:
        assert result.score is None
    else:
        assert result.score is not None and 0 <= result.score <= 100
    assert csat_change(result, result) == "stable"


@settings(deadline=None)  # the first ces_change loads scipy.stats
@given(CES_COUNTS)
def test_ces_stays_within_one_and_seven(counts: dict[int, int]) -> None:
    result = ces(counts)
    if result.n == 0:
        assert result.score is None
    else:
        assert result.score is not None and 1 <= result.score <= 7
        assert result.variance is None or result.variance >= 0
    assert ces_change(result, result) == "stable"


# scipy warns when answers are nearly identical; the comparison stays valid.
@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")
@settings(max_examples=60, deadline=None)
@given(counts_for(1, 7), counts_for(1, 7))
def test_ces_change_agrees_with_scipy_welch(a: dict[int, int], b: dict[int, int]) -> None:
    from scipy.stats import ttest_ind

    xs = np.repeat(list(a), list(a.values()))
    ys = np.repeat(list(b), list(b.values()))
    assume(len(xs) >= 2 and len(ys) >= 2 and (xs.var() > 0 or ys.var() > 0))
    pvalue = ttest_ind(xs, ys, equal_var=False).pvalue
    # Leave out p-values on the knife edge, where two correct programs may round apart.
    assume(abs(pvalue - 0.05) > 1e-9)
    expected = "stable"
    if pvalue < 0.05:
        expected = "rise" if xs.mean() > ys.mean() else "fall"
    assert ces_change(ces(a), ces(b)) == expected


WEIGHT = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@given(
    st.none() | st.floats(min_value=-100, max_value=100),
    st.none() | st.floats(min_value=0, max_value=100),
    st.none() | st.floats(min_value=1, max_value=7),
    st.tuples(WEIGHT, WEIGHT, WEIGHT),
)
def test_csi_stays_within_zero_and_hundred(
    nps_score: float | None,
    csat_score: float | None,
    ces_score: float | None,
    weights: tuple[float, float, float],
) -> None:
    index = csi(nps_score, csat_score, ces_score, weights)
    parts = [(nps_score, weights[0]), (csat_score, weights[1]), (ces_score, weights[2])]
    if not any(v is not None and w > 0 for v, w in parts):
        assert index is None
    else:
        assert index is not None and 0 <= index <= 100


@given(st.integers(min_value=0, max_value=10**6))
def test_churn_of_an_unchanged_base_is_zero(base: int) -> None:
    result = churn(0, base, base)
    if base == 0:
        assert result.rate is None
    else:
        assert result.rate == 0 and retention(result.rate) == 100


@given(
    st.integers(min_value=0, max_value=10**5),
    st.integers(min_value=0, max_value=10**5),
    st.integers(min_value=0, max_value=10**5),
)
def test_churn_and_retention_add_up_to_hundred(lost: int, start: int, end: int) -> None:
    result = churn(lost, start, end)
    assert result.average_customers == (start + end) / 2
    if result.rate is not None:
        assert result.rate >= 0
        assert result.rate + retention(result.rate) == 100  # type: ignore[operator]


@given(
    st.decimals(min_value=0, max_value=10**7, places=2),
    st.decimals(min_value=0, max_value=10**6, places=2),
    st.integers(min_value=1, max_value=100),
)
def test_clv_from_churn_equals_clv_from_its_years(
    revenue: Decimal, cost: Decimal, churn_pct: int
) -> None:
    from_churn = clv(revenue, cost, churn_rate_pct=float(churn_pct))
    from_years = clv(revenue, cost, expected_years=Decimal(100) / Decimal(churn_pct))  # type: ignore[arg-type]
    assert from_churn == from_years
    assert from_churn is not None and from_churn >= -cost


ROWS = st.lists(
    st.tuples(
        st.sampled_from(["nps", "csat", "ces"]),
        st.integers(min_value=1, max_value=5),  # in range for every metric
        st.integers(min_value=0, max_value=50),
        st.sampled_from(["a", "b", "", None]),
    ),
    max_size=40,
)


@given(ROWS)
def test_breakdown_parts_add_up_to_the_summary(
    rows: list[tuple[str, int, int, str | None]],
) -> None:
    frame = pd.DataFrame(rows, columns=["metric", "score", "n", "segment"])
    total = summarize(frame)
    parts = breakdown(frame, "segment")
    assert sum(p.n for p in parts) == total.nps.n + total.csat.n + total.ces.n
    assert sum(p.nps.promoters for p in parts) == total.nps.promoters
    assert sum(p.csat.satisfied for p in parts) == total.csat.satisfied
    assert [p.n for p in parts] == sorted((p.n for p in parts), reverse=True)
    assert len({p.key for p in parts}) == len(parts)


_ROW = st.one_of(
    st.tuples(st.just("nps"), st.integers(0, 10)),
    st.tuples(st.just("csat"), st.integers(1, 5)),
    st.tuples(st.just("ces"), st.integers(1, 7)),
)


@given(
    st.lists(
        st.tuples(st.sampled_from(["retail", "SMB", "", None]), _ROW, st.integers(0, 500)),
        max_size=40,
    )
)
@settings(max_examples=80, deadline=None)
def test_plain_rows_give_what_frames_give(
    rows: list[tuple[str | None, tuple[str, int], int]],
) -> None:
    """`cxbot metrics` sums the counts tables' rows without pandas: the same figures."""
    from core import metrics

    keyed = [(key, metric, score, n) for key, (metric, score), n in rows]
    frame = pd.DataFrame(keyed, columns=["segment", "metric", "score", "n"])
    assert metrics.summarize_rows([r[1:] for r in keyed]) == metrics.summarize(frame)
    assert metrics.breakdown_rows(keyed) == metrics.breakdown(frame, "segment")


def test_plain_rows_are_checked_like_frames() -> None:
    from core import metrics

    for bad, message in (
        ([("nps", 11, 1)], "between 0 and 10"),
        ([("promoters", 9, 1)], "metric must be one of"),
        ([("csat", 4, -1)], "0 or more"),
        ([("ces", 2, 1.5)], "whole number"),
    ):
        with pytest.raises(ValueError, match=message):
            metrics.summarize_rows(bad)
