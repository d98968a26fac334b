from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core.metrics import (
    NONE_KEY,
    CesResult,
    CsatResult,
    breakdown,
    ces,
    ces_change,
    churn,
    clv,
    counts_by_metric,
    csat,
    csat_change,
    csi,
    enps,
    is_detractor,
    is_promoter,
    nps,
    nps_change,
    nps_variance,
    retention,
    summarize,
)

Z95 = 1.959963984540054


def nps_counts(promoters: int, passives: int, detractors: int) -> dict[int, int]:
    return {10: promoters, 8: passives, 3: detractors}


# --- NPS ---------------------------------------------------------------------------------


def test_nps_counts_promoters_passives_and_detractors_by_score() -> None:
    result = nps({0: 1, 6: 2, 7: 3, 8: 4, 9: 5, 10: 6})
    assert (result.promoters, result.passives, result.detractors, result.n) == (11, 7, 3, 21)
    assert result.score == pytest.approx(100 * (11 - 3) / 21)


def test_nps_of_the_contract_example_with_its_95_percent_interval() -> None:
    result = nps(nps_counts(180, 134, 86))
    assert result.score == pytest.approx(23.5)
    assert result.n == 400 and not result.small_sample
    p, d = 180 / 400, 86 / 400
    half = Z95 * 100 * math.sqrt((p + d - (p - d) ** 2) / 400)
    assert half == pytest.approx(7.6525, abs=1e-4)
    assert result.ci95 == pytest.approx((23.5 - half, 23.5 + half))
    assert nps_variance(result) == pytest.approx((p + d - (p - d) ** 2) / 400)


def test_small_sample_interval_uses_adjusted_wald_counts_centred_on_the_observed_score() -> None:
    result = nps(nps_counts(5, 3, 2))
    assert result.score == pytest.approx(30.0)
    assert result.small_sample
    p, d = 5.75 / 13, 2.75 / 13
    half = Z95 * 100 * math.sqrt((p + d - (p - d) ** 2) / 13)
    assert half == pytest.approx(42.13, abs=0.01)
    assert result.ci95 == pytest.approx((30.0 - half, 30.0 + half))


def test_interval_of_an_all_promoter_small_sample_is_clipped_and_not_empty() -> None:
    result = nps({9: 4, 10: 6})
    assert result.score == 100.0
    assert result.ci95 is not None
    low, high = result.ci95
    assert high == 100.0
    assert 0 < low < 100  # the adjusted form keeps a real width where plain Wald gives 0


def test_interval_switches_to_the_plain_form_at_thirty_answers() -> None:
    assert nps(nps_counts(15, 5, 9)).small_sample  # n = 29
    thirty = nps(nps_counts(15, 6, 9))
    assert not thirty.small_sample
    p, d = 15 / 30, 9 / 30
    assert nps_variance(thirty) == pytest.approx((p + d - (p - d) ** 2) / 30)


def test_nps_without_answers_has_no_score_and_no_warning() -> None:
    for result in (nps({}), nps({7: 0, 10: 0})):
        assert result.score is None and result.ci95 is None and result.n == 0
        assert not result.small_sample
        assert nps_variance(result) is None


def test_enps_is_computed_like_nps() -> None:
    counts = {2: 3, 7: 4, 9: 10}
    assert enps(counts) == nps(counts)


def test_nps_accepts_numpy_integers() -> None:
    # Counts taken from numpy arrays or pandas cells are numpy integers.
    counts: dict[Any, Any] = {np.int64(10): np.int64(3), np.int64(0): np.int64(1)}
    result = nps(counts)
    assert result.score == pytest.approx(50.0)


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ({11: 1}, "nps score must be between 0 and 10, not 11"),
        ({-1: 1}, "nps score must be between 0 and 10, not -1"),
        ({5: -2}, "nps count for score 5 must be 0 or more, not -2"),
        ({5: 1.5}, "nps count for score 5 must be a whole number"),
        ({9.5: 1}, "nps score must be a whole number"),
    ],
)
def test_nps_rejects_bad_counts_with_a_clear_message(counts: dict, message: str) -> None:
    with pytest.raises(ValueError) as err:
        nps(counts)
    assert message in str(err.value)


# --- CSAT and CES ---------------------------------------------------------------------------


def test_csat_is_the_share_of_fours_and_fives() -> None:
    result = csat({1: 5, 2: 5, 3: 10, 4: 40, 5: 40})
    assert (result.score, result.n, result.satisfied) == (80.0, 100, 80)
    assert not result.small_sample
    assert csat({5: 3}) == CsatResult(100.0, 3, 3, True)
    assert csat({}) == CsatResult(None, 0, 0, False)


def test_csat_rejects_scores_outside_one_to_five() -> None:
    with pytest.raises(ValueError, match="csat score must be between 1 and 5, not 0"):
        csat({0: 1})


def test_ces_is_the_mean_with_sample_variance() -> None:
    counts = {1: 2, 4: 3, 7: 5}
    answers = np.repeat(list(counts), list(counts.values()))
    result = ces(counts)
    assert result.score == pytest.approx(answers.mean())
    assert result.variance == pytest.approx(answers.var(ddof=1))
    assert result.n == 10 and result.small_sample
    assert ces({6: 1}) == CesResult(6.0, 1, None, True)
    assert ces({}) == CesResult(None, 0, None, False)


def test_ces_rejects_scores_outside_one_to_seven() -> None:
    with pytest.raises(ValueError, match="ces score must be between 1 and 7, not 8"):
        ces({8: 1})


# --- detractors and promoters -------------------------------------------------------------


def test_detractor_thresholds_default_to_the_domain_brief() -> None:
    assert [s for s in range(11) if is_detractor("nps", s)] == list(range(7))
    assert [s for s in range(1, 6) if is_detractor("csat", s)] == [1, 2]
    assert [s for s in range(1, 8) if is_detractor("ces", s)] == [1, 2, 3]


def test_configured_thresholds_override_only_their_metric() -> None:
    config = {"nps": 4}
    assert not is_detractor("nps", 5, config)
    assert is_detractor("nps", 4, config)
    assert is_detractor("csat", 2, config)
    with pytest.raises(ValueError, match="csat detractor threshold must be between 1 and 5"):
        is_detractor("csat", 2, {"csat": 9})


def test_promoters_are_nps_9_10_csat_5_ces_7() -> None:
    assert [s for s in range(11) if is_promoter("nps", s)] == [9, 10]
    assert [s for s in range(1, 6) if is_promoter("csat", s)] == [5]
    assert [s for s in range(1, 8) if is_promoter("ces", s)] == [7]


def test_unknown_metric_or_out_of_range_score_is_refused() -> None:
    with pytest.raises(ValueError, match="metric must be one of nps, csat, ces, not 'ltr'"):
        is_detractor("ltr", 3)
    with pytest.raises(ValueError, match="nps score must be between 0 and 10, not 12"):
        is_promoter("nps", 12)


# --- significance ---------------------------------------------------------------------------


def test_nps_change_of_the_contract_example_is_stable() -> None:
    now, before = nps(nps_counts(180, 134, 86)), nps(nps_counts(170, 136, 94))
    assert before.score == pytest.approx(19.0)
    assert nps_change(now, before) == "stable"


def test_nps_change_rise_and_fall_when_significant() -> None:
    high, low = nps(nps_counts(500, 300, 200)), nps(nps_counts(400, 300, 300))  # 30 vs 10
    assert nps_change(high, low) == "rise"
    assert nps_change(low, high) == "fall"


def test_nps_change_matches_the_z_test_at_the_boundary() -> None:
    # 1000 answers each; find the smallest promoter gain that is significant by hand.
    before = nps(nps_counts(400, 300, 300))
    for extra in range(60, 90):
        now = nps(nps_counts(400 + extra, 300 - extra, 300))
        v1, v2 = nps_variance(now), nps_variance(before)
        assert v1 is not None and v2 is not None
        z = (now.score - before.score) / 100 / math.sqrt(v1 + v2)  # type: ignore[operator]
        assert nps_change(now, before) == ("rise" if z > Z95 else "stable")
    # NPS 17.5 vs 10: z = 0.075 / sqrt(0.000744 + 0.00069) = 1.98; one answer less is not.
    assert nps_change(nps(nps_counts(475, 225, 300)), before) == "rise"
    assert nps_change(nps(nps_counts(474, 226, 300)), before) == "stable"


def test_nps_change_is_stable_when_a_side_has_no_answers() -> None:
    assert nps_change(nps({10: 500}), nps({})) == "stable"
    assert nps_change(nps({}), nps({0: 500})) == "stable"


def test_nps_change_on_small_samples_uses_the_wider_variance() -> None:
    # 10 of 10 promoters against 10 of 10 detractors: plain Wald gives zero variance.
    assert nps_change(nps({10: 10}), nps({0: 10})) == "rise"
    # One answer each way is not evidence of anything: the adjusted estimates are
    # +25 and -25 with a standard error of 53 points.
    assert nps_change(nps({10: 1}), nps({0: 1})) == "stable"
    assert nps_change(nps({10: 3}), nps({0: 3})) == "rise"


def test_csat_change_two_proportion_z_test() -> None:
    # 80/100 vs 70/100: z = 0.1 / sqrt(.75 * .25 * .02) = 1.63 -> stable.
    assert csat_change(csat({5: 80, 1: 20}), csat({5: 70, 1: 30})) == "stable"
    # 80/100 vs 65/100: z = 0.15 / sqrt(.725 * .275 * .02) = 2.38 -> rise.
    assert csat_change(csat({5: 80, 1: 20}), csat({5: 65, 1: 35})) == "rise"
    assert csat_change(csat({5: 65, 1: 35}), csat({5: 80, 1: 20})) == "fall"
    assert csat_change(csat({5: 10}), csat({4: 7})) == "stable"  # both 100 %
    assert csat_change(csat({5: 10}), csat({})) == "stable"


def test_ces_change_welch_matches_scipy() -> None:
    from scipy.stats import ttest_ind

    cases = [
        ({5: 40, 6: 40, 7: 20}, {4: 50, 5: 30, 6: 20}),
        ({5: 10, 6: 10}, {5: 11, 6: 9}),
        ({2: 3, 7: 3}, {4: 30, 5: 30}),
    ]
    for a, b in cases:
        xs = np.repeat(list(a), list(a.values()))
        ys = np.repeat(list(b), list(b.values()))
        test = ttest_ind(xs, ys, equal_var=False)
        expected = "stable"
        if test.pvalue < 0.05:
            expected = "rise" if xs.mean() > ys.mean() else "fall"
        assert ces_change(ces(a), ces(b)) == expected
    assert ces_change(ces({5: 40, 6: 40, 7: 20}), ces({4: 50, 5: 30, 6: 20})) == "rise"
    assert ces_change(ces({5: 10, 6: 10}), ces({5: 11, 6: 9})) == "stable"


def test_ces_change_needs_two_answers_a_side() -> None:
    assert ces_change(ces({7: 1}), ces({1: 50})) == "stable"
    assert ces_change(ces({7: 50}), ces({})) == "stable"
    # No spread at all on either side: the difference is certain.
    assert ces_change(ces({7: 5}), ces({2: 5})) == "rise"
    assert ces_change(ces({4: 5}), ces({4: 9})) == "stable"


# --- CSI ----------------------------------------------------------------------------------


def test_csi_is_the_mean_of_components_on_zero_to_hundred() -> None:
    # (20 + 100) / 2 = 60, CSAT 80, (5.5 - 1) / 6 * 100 = 75.
    assert csi(20.0, 80.0, 5.5) == pytest.approx((60 + 80 + 75) / 3)
    assert csi(-100.0, 0.0, 1.0) == 0.0
    assert csi(100.0, 100.0, 7.0) == 100.0


def test_csi_with_missing_parts_uses_the_rest() -> None:
    assert csi(None, 80.0, None) == pytest.approx(80.0)
    assert csi(20.0, None, 7.0) == pytest.approx((60 + 100) / 2)
    assert csi(float("nan"), 50.0, None) == pytest.approx(50.0)
    assert csi(None, None, None) is None


def test_csi_weights() -> None:
    assert csi(20.0, 80.0, 5.5, weights=(2.0, 1.0, 1.0)) == pytest.approx((120 + 80 + 75) / 4)
    assert csi(20.0, None, None, weights=(0.0, 1.0, 1.0)) is None
    assert csi(20.0, 80.0, None, weights=(0.0, 1.0, 1.0)) == pytest.approx(80.0)
    with pytest.raises(ValueError, match="CSI weight for CSAT must be a number 0 or more"):
        csi(20.0, 80.0, 5.5, weights=(1.0, -1.0, 1.0))


def test_csi_rejects_components_outside_their_scale() -> None:
    with pytest.raises(ValueError, match=r"CES must be between 1 and 7, not 0\.5"):
        csi(None, None, 0.5)
    with pytest.raises(ValueError, match="NPS must be between -100 and 100, not 150"):
        csi(150.0, None, None)


# --- churn, retention, CLV ------------------------------------------------------------------


def test_churn_over_the_average_customer_base() -> None:
    result = churn(50, 480, 520)
    assert result.rate == pytest.approx(10.0)
    assert (result.lost, result.average_customers) == (50, 500.0)
    assert retention(result.rate) == pytest.approx(90.0)


def test_churn_without_customers_has_no_rate() -> None:
    result = churn(0, 0, 0)
    assert result.rate is None and result.average_customers == 0.0
    assert retention(result.rate) is None


def test_churn_rejects_negative_numbers() -> None:
    with pytest.raises(ValueError, match="lost customers must be 0 or more, not -1"):
        churn(-1, 10, 10)
    with pytest.raises(ValueError, match="active customers at end must be 0 or more"):
        churn(1, 10, -10)


def test_clv_worked_example_from_the_domain_brief() -> None:
    revenue, cost = Decimal("1000"), Decimal("1000")
    assert clv(revenue, cost, expected_years=10) == Decimal("9000")
    assert clv(revenue, cost, churn_rate_pct=10.0) == Decimal("9000")
    assert isinstance(clv(revenue, cost, churn_rate_pct=10.0), Decimal)


def test_clv_expected_years_win_over_churn() -> None:
    assert clv(Decimal("1000"), Decimal("1000"), churn_rate_pct=50.0, expected_years=10) == 9000


def test_clv_is_unknown_without_years_or_with_zero_churn() -> None:
    assert clv(Decimal("1000"), Decimal("1000")) is None
    assert clv(Decimal("1000"), Decimal("1000"), churn_rate_pct=0.0) is None


def test_clv_keeps_money_exact() -> None:
    # 1 / 0.25 = 4 years exactly; 99.99 * 4 - 0.01 with no float drift.
    assert clv(Decimal("99.99"), Decimal("0.01"), churn_rate_pct=25.0) == Decimal("399.95")


def test_clv_rejects_negative_rates_and_years() -> None:
    with pytest.raises(ValueError, match="churn rate must be 0 or more"):
        clv(Decimal("1000"), Decimal("1000"), churn_rate_pct=-5.0)
    with pytest.raises(ValueError, match="expected relationship length must be 0 or more"):
        clv(Decimal("1000"), Decimal("1000"), expected_years=-1)
    with pytest.raises(ValueError, match="annual revenue must be a finite number"):
        clv(Decimal("NaN"), Decimal("1000"), expected_years=1)


# --- frames ---------------------------------------------------------------------------------


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            # day, metric, segment, touchpoint, score, n
            ("2026-11-16", "nps", "enterprise", "support", 10, 30),
            ("2026-11-17", "nps", "enterprise", "support", 10, 20),
            ("2026-11-17", "nps", "enterprise", "onboarding", 3, 10),
            ("2026-11-16", "nps", "smb", "support", 8, 5),
            ("2026-11-16", "nps", "", "support", 0, 4),
            ("2026-11-18", "nps", None, "", 9, 1),
            ("2026-11-16", "csat", "smb", "support", 5, 7),
            ("2026-11-16", "csat", "smb", "support", 2, 3),
            ("2026-11-16", "ces", "enterprise", "support", 6, 2),
            ("2026-11-16", "ces", "enterprise", "onboarding", 4, 2),
        ],
        columns=["day", "metric", "segment", "touchpoint", "score", "n"],
    )


def test_counts_by_metric_sums_over_other_columns() -> None:
    counts = counts_by_metric(_frame())
    assert counts == {
        "nps": {10: 50, 3: 10, 8: 5, 0: 4, 9: 1},
        "csat": {5: 7, 2: 3},
        "ces": {6: 2, 4: 2},
    }


def test_summarize_a_frame() -> None:
    result = summarize(_frame())
    assert result.nps == nps({10: 50, 3: 10, 8: 5, 0: 4, 9: 1})
    assert result.csat.score == pytest.approx(70.0) and result.csat.n == 10
    assert result.ces.score == pytest.approx(5.0) and result.ces.n == 4


def test_summarize_an_empty_frame_gives_empty_results() -> None:
    result = summarize(pd.DataFrame(columns=["metric", "score", "n"]))
    assert (result.nps.n, result.csat.n, result.ces.n) == (0, 0, 0)
    assert result.nps.score is None and result.csat.score is None and result.ces.score is None


def test_breakdown_by_segment_sorted_by_answers_with_none_bucket() -> None:
    rows = breakdown(_frame(), "segment")
    assert [(r.key, r.n) for r in rows] == [("enterprise", 64), ("smb", 15), (NONE_KEY, 5)]
    smb = rows[1]
    assert smb.nps.n == 5 and smb.csat.n == 10 and smb.ces.n == 0
    none = rows[2]
    assert (none.nps.promoters, none.nps.detractors) == (1, 4)


def test_breakdown_ties_sort_by_key() -> None:
    frame = pd.DataFrame(
        {"metric": ["nps"] * 3, "score": [10, 10, 10], "n": [2, 2, 5], "touchpoint": list("bac")}
    )
    assert [r.key for r in breakdown(frame, "touchpoint")] == ["c", "a", "b"]


def test_breakdown_of_an_empty_frame_is_empty() -> None:
    assert breakdown(pd.DataFrame(columns=["metric", "score", "n", "segment"]), "segment") == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n": -1}, "answer count must be a whole number 0 or more, not -1 (row 1)"),
        ({"score": 11}, "nps score must be between 0 and 10, not 11"),
        ({"metric": "ltr"}, "metric must be one of nps, csat, ces, not 'ltr'"),
    ],
)
def test_frames_with_bad_rows_are_refused(change: dict, message: str) -> None:
    frame = _frame()
    for column, value in change.items():
        frame.loc[0, column] = value
    with pytest.raises(ValueError) as err:
        summarize(frame)
    assert message in str(err.value)


def test_a_negative_count_cannot_hide_in_a_sum() -> None:
    frame = pd.DataFrame({"metric": ["nps", "nps"], "score": [10, 10], "n": [5, -2]})
    with pytest.raises(ValueError, match="0 or more"):
        summarize(frame)


def test_frames_missing_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="missing column"):
        summarize(pd.DataFrame({"metric": ["nps"], "score": [3]}))
    with pytest.raises(ValueError, match=r"missing column.*segment"):
        breakdown(pd.DataFrame({"metric": ["nps"], "score": [3], "n": [1]}), "segment")


def test_metric_names_in_frames_are_case_insensitive() -> None:
    frame = pd.DataFrame({"metric": ["NPS", " Csat "], "score": [10, 4], "n": [1, 1]})
    assert counts_by_metric(frame) == {"nps": {10: 1}, "csat": {4: 1}, "ces": {}}
