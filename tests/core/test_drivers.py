"""Shift-share decomposition on constructed data where the answer is known."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import metrics as m
from core.drivers import decompose


def frame(metric: str, groups: dict[str, dict[int, int]], by: str = "segment") -> pd.DataFrame:
    """Answer counts like the storage layer returns: one row per group and score."""
    rows = [
        {"metric": metric, "score": score, by: group, "n": n}
        for group, counts in groups.items()
        for score, n in counts.items()
    ]
    return pd.DataFrame(rows, columns=["metric", "score", by, "n"])


# 100 answers with NPS +40: 50 promoters, 40 passives, 10 detractors.
GOOD = {10: 50, 8: 40, 3: 10}
# NPS -20: 20 promoters, 40 passives, 40 detractors.
BAD = {10: 20, 8: 40, 3: 40}


def test_one_segment_falls_the_others_stay() -> None:
    before = frame("nps", {"Private": GOOD, "SMB": GOOD, "Enterprise": GOOD})
    now = frame("nps", {"Private": BAD, "SMB": GOOD, "Enterprise": GOOD})
    d = decompose("nps", now, before, "segment")

    # Overall: 40 -> (40 + 40 - 20) / 3 = 20; Private's share 1/3 fell 60 points.
    assert d.change == pytest.approx(-20.0)
    assert [c.key for c in d.main] == ["Private"]
    private = d.main[0]
    assert private.rate == pytest.approx(-20.0)
    assert private.mix == pytest.approx(0.0)
    assert (private.score_before, private.score_now) == (40.0, -20.0)
    assert (private.n_before, private.n_now) == (100, 100)
    assert d.rate_total == pytest.approx(-20.0)
    assert d.mix_total == pytest.approx(0.0)
    assert not d.mix_driven
    others = [c for c in d.contributions if c.key != "Private"]
    assert all(c.total == pytest.approx(0.0) for c in others)
    assert d.contributions[0].key == "Private"  # sorted by size


def test_only_the_mix_shifts() -> None:
    # Same score in every segment, but Enterprise (low) now gives most answers.
    before = frame("nps", {"Private": {10: 60, 8: 30, 3: 10}, "Enterprise": {10: 2, 8: 4, 3: 4}})
    now = frame("nps", {"Private": {10: 6, 8: 3, 3: 1}, "Enterprise": {10: 20, 8: 40, 3: 40}})
    d = decompose("nps", now, before, "segment")

    # Private +50, Enterprise -20 in both periods; shares 100/110 -> 10/110.
    m0 = (100 * 50 + 10 * -20) / 110
    m1 = (10 * 50 + 100 * -20) / 110
    assert d.change == pytest.approx(m1 - m0)
    assert d.rate_total == pytest.approx(0.0, abs=1e-9)
    assert d.mix_total == pytest.approx(m1 - m0)
    assert d.mix_driven
    assert {c.key for c in d.main} <= {"Private", "Enterprise"}
    assert d.main  # the mix is named, not left unexplained
    for c in d.contributions:
        assert c.rate == pytest.approx(0.0, abs=1e-9)
    # Private lost share and scores above average, Enterprise gained share and scores
    # below: both pulled the metric down.
    assert all(c.mix < 0 for c in d.contributions)


def test_new_and_vanished_groups_count_as_mix() -> None:
    before = frame("csat", {"Web shop": {5: 40, 2: 10}, "Fax": {1: 10}}, by="touchpoint")
    now = frame("csat", {"Web shop": {5: 40, 2: 10}, "App": {5: 30}}, by="touchpoint")
    d = decompose("csat", now, before, "touchpoint")

    by_key = {c.key: c for c in d.contributions}
    assert set(by_key) == {"Web shop", "Fax", "App"}
    fax, app = by_key["Fax"], by_key["App"]
    assert (fax.n_now, fax.score_now, fax.rate) == (0, None, 0.0)
    assert (app.n_before, app.score_before, app.rate) == (0, None, 0.0)
    # CSAT 40/60 = 66.7 -> 70/80 = 87.5: a rise carried by the new App and the lost Fax.
    assert d.change == pytest.approx(87.5 - 200 / 3)
    assert math.fsum(c.total for c in d.contributions) == pytest.approx(d.change)
    assert fax.total > 0 and app.total > 0
    assert {c.key for c in d.main} <= {"Fax", "App"}
    assert d.mix_driven


def test_missing_group_values_are_one_group() -> None:
    before = frame("ces", {"A": {7: 10}, "": {1: 10}})
    now = frame("ces", {"A": {7: 10}, "": {1: 10}})
    now.loc[now["segment"] == "", "segment"] = None
    d = decompose("ces", now, before, "segment")
    assert {c.key for c in d.contributions} == {"A", m.NONE_KEY}
    assert d.change == pytest.approx(0.0)
    assert d.main == []
    assert not d.mix_driven


def test_no_answers_on_one_side_explains_nothing() -> None:
    before = frame("nps", {})
    now = frame("nps", {"Private": GOOD})
    d = decompose("nps", now, before, "segment")
    assert d.change is None
    assert d.main == [] and not d.mix_driven
    assert [(c.key, c.n_now, c.n_before, c.total) for c in d.contributions] == [
        ("Private", 100, 0, 0.0)
    ]


def test_other_metrics_in_the_frame_are_ignored() -> None:
    before = pd.concat([frame("nps", {"A": GOOD}), frame("csat", {"A": {1: 50}, "B": {5: 9}})])
    now = pd.concat([frame("nps", {"A": BAD}), frame("csat", {"A": {5: 50}})])
    d = decompose("nps", now, before, "segment")
    assert [c.key for c in d.contributions] == ["A"]
    assert d.change == pytest.approx(-60.0)


def test_main_stops_at_most_three_and_at_eighty_percent() -> None:
    # Six equal segments each fall: no three explain 80 %, so three are named.
    names = [f"S{i}" for i in range(6)]
    d = decompose(
        "nps",
        frame("nps", dict.fromkeys(names, BAD)),
        frame("nps", dict.fromkeys(names, GOOD)),
        "segment",
    )
    assert len(d.main) == 3
    # One big fall and a small one: the big one alone explains over 80 %.
    before = frame("nps", {"A": GOOD, "B": GOOD})
    now = frame("nps", {"A": BAD, "B": {10: 48, 8: 40, 3: 12}})
    d = decompose("nps", now, before, "segment")
    assert [c.key for c in d.main] == ["A"]


def test_bad_input_says_what() -> None:
    with pytest.raises(ValueError, match="metric must be one of"):
        decompose("eps", frame("nps", {}), frame("nps", {}), "segment")
    with pytest.raises(ValueError, match="missing column"):
        decompose("nps", frame("nps", {"A": GOOD}), frame("nps", {"A": GOOD}), "touchpoint")


# --------------------------------------------------------------------------- property

SCALES = {"nps": range(0, 11), "csat": range(1, 6), "ces": range(1, 8)}


@st.composite
def period_counts(draw: st.DrawFn, metric: str) -> dict[str, dict[int, int]]:
    groups = draw(st.lists(st.sampled_from("ABCDE"), min_size=1, max_size=5, unique=True))
    return {
        g: draw(
            st.dictionaries(
                st.sampled_from(list(SCALES[metric])),
                st.integers(1, 500),
                min_size=1,
                max_size=4,
            )
        )
        for g in groups
    }


@st.composite
def two_periods(draw: st.DrawFn) -> tuple[str, dict, dict]:
    metric = draw(st.sampled_from(m.METRICS))
    return metric, draw(period_counts(metric)), draw(period_counts(metric))


@settings(max_examples=80, deadline=None)
@given(two_periods())
def test_decomposition_sums_exactly_to_the_change(case: tuple[str, dict, dict]) -> None:
    metric, groups_now, groups_before = case
    now, before = frame(metric, groups_now), frame(metric, groups_before)
    d = decompose(metric, now, before, "segment")
    m1 = getattr(m.summarize(now), metric).score
    m0 = getattr(m.summarize(before), metric).score
    assert d.change == pytest.approx(m1 - m0, abs=1e-9)
    assert d.rate_total + d.mix_total == pytest.approx(d.change, abs=1e-9)
    assert math.fsum(c.total for c in d.contributions) == pytest.approx(d.change, abs=1e-9)
    for c in d.contributions:
        assert c.rate + c.mix == pytest.approx(c.total, abs=1e-12)
        if c.n_now == 0 or c.n_before == 0:
            assert c.rate == 0.0
    assert [abs(c.total) for c in d.contributions] == sorted(
        (abs(c.total) for c in d.contributions), reverse=True
    )
    assert len(d.main) <= 3
    change = d.change
    assert change is not None
    assert all(c.total * change > 0 for c in d.main)
