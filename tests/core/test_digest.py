"""The one-page report as data, on constructed counts and on the demo year."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from core import metrics as m
from core.demo import generate
from core.digest import Digest, build_digest, digest_facts, headline_metrics
from core.narrative import check_narrative, offline_narrative
from core.periods import Period, period_containing, periods_back

WEEK = period_containing("week", date(2026, 11, 18))
BEFORE = WEEK.previous()
COLUMNS = ["metric", "score", "segment", "touchpoint", "n"]


def counts(rows: list[tuple[str, int, str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def nps_rows(segment: str, touchpoint: str, promoters: int, passives: int, detractors: int):
    return [
        ("nps", 10, segment, touchpoint, promoters),
        ("nps", 8, segment, touchpoint, passives),
        ("nps", 3, segment, touchpoint, detractors),
    ]


def build(now: pd.DataFrame, before: pd.DataFrame, **kw) -> Digest:
    args = {
        "cadence": "week",
        "period": WEEK,
        "previous": BEFORE,
        "counts_now": now,
        "counts_before": before,
        "series_counts": {},
        "metrics_report": {},
    }
    args.update(kw)
    return build_digest(**args)


def english(facts: dict) -> str:
    return offline_narrative(facts, lambda msgid: msgid)


# --------------------------------------------------------------------------- constructed


def test_one_segment_falls_the_digest_names_it() -> None:
    same = nps_rows("SMB", "Support", 150, 100, 50) + nps_rows(
        "Enterprise", "Billing", 150, 100, 50
    )
    before = counts(nps_rows("Private", "Delivery", 150, 100, 50) + same)
    now = counts(nps_rows("Private", "Delivery", 50, 100, 150) + same)
    d = build(now, before)

    nps = d.metric("nps")
    assert nps.value is not None and nps.previous is not None
    assert (round(nps.value, 1), round(nps.previous, 1), nps.change) == (11.1, 33.3, "fall")
    assert nps.delta == -22.2  # 11.1 - 33.3 as shown, not -22.22...
    by_segment = next(x for x in d.drivers if x.metric == "nps" and x.by == "segment")
    assert [c.key for c in by_segment.main] == ["Private"]
    assert not by_segment.mix_driven
    assert d.answers == 900 and not d.empty
    assert "not_significant:nps" not in d.notes

    text = english(digest_facts(d))
    assert "NPS fell to 11.1 from 33.3 (900 answers)." in text
    assert "the fall in NPS came mainly from Private (33.3 → -33.3)" in text
    assert check_narrative(text, digest_facts(d))


def test_only_the_mix_shifts_the_digest_says_so() -> None:
    before = counts(
        nps_rows("Private", "Web", 600, 300, 100) + nps_rows("Enterprise", "Web", 20, 40, 40)
    )
    now = counts(
        nps_rows("Private", "Web", 60, 30, 10) + nps_rows("Enterprise", "Web", 200, 400, 400)
    )
    d = build(now, before)

    assert d.metric("nps").change == "fall"
    split = next(x for x in d.drivers if x.by == "segment")
    assert split.mix_driven
    assert split.rate_total == pytest.approx(0.0, abs=1e-9)
    # Everyone answers at the same touchpoint: nothing to split there.
    assert [x.by for x in d.drivers] == ["segment"]
    text = english(digest_facts(d))
    assert "By segment, the fall in NPS came mostly from a shift in who answered" in text
    assert "not from scores changing within them" in text


def test_a_move_within_the_margin_is_explained_but_never_called_a_rise_or_fall() -> None:
    before = counts(nps_rows("Private", "Web", 40, 30, 30) + nps_rows("SMB", "Support", 40, 30, 30))
    now = counts(nps_rows("Private", "Web", 46, 30, 24) + nps_rows("SMB", "Support", 40, 30, 30))
    d = build(now, before)

    assert all(h.change == "stable" for h in d.headline)
    assert "not_significant:nps" in d.notes
    assert {x.metric for x in d.drivers} == {"nps"}
    text = english(digest_facts(d))
    assert "NPS was 16.0 (200 answers), no significant change from 10.0." in text
    assert "NPS moved within the margin of error." in text
    for word in ("rose", "fell", "rise", "fall"):
        assert word not in text.lower()


def test_small_samples_are_flagged() -> None:
    now = counts([*nps_rows("Private", "Web", 5, 3, 2), ("ces", 6, "Private", "Web", 12)])
    before = counts(nps_rows("Private", "Web", 2, 3, 5))
    d = build(now, before)
    assert d.metric("nps").small_sample and d.metric("ces").small_sample
    assert {"small_sample:nps", "small_sample:ces", "no_previous:ces", "no_data:csat"} <= set(
        d.notes
    )
    # 10 answers, +30 against -30: the adjusted test does not call it a rise.
    assert d.metric("nps").change == "stable"
    text = english(digest_facts(d))
    assert "Only 10 answers for NPS: read it as a hint, not a trend." in text
    assert "rose" not in text


def test_an_empty_week_says_so_in_one_line() -> None:
    d = build(counts([]), counts(nps_rows("Private", "Web", 10, 10, 10)), late=True)
    assert d.empty and d.answers == 0
    assert d.notes[:2] == ["empty", "late"]
    assert d.drivers == [] and d.metric("nps").value is None
    assert d.metric("nps").previous == 0.0
    text = english(digest_facts(d))
    assert text.startswith("This report comes late")
    assert "No answers came in this week. Check that surveys are being sent" in text


def test_series_covers_twelve_periods_with_gaps() -> None:
    old = WEEK.previous().previous().previous()
    series = {old: counts(nps_rows("Private", "Web", 20, 10, 10))}
    d = build(
        counts(nps_rows("Private", "Web", 30, 10, 10)),
        counts(nps_rows("Private", "Web", 10, 10, 20)),
        series_counts=series,
    )
    assert [p for p, *_ in d.series] == periods_back(WEEK, 12)
    values = {p: nps.value for p, nps, _csat, _ces in d.series}
    assert values[WEEK] == 40.0 and values[BEFORE] == -25.0 and values[old] == 25.0
    assert sum(v is None for v in values.values()) == 9
    # Each point compares with the period before it.
    last_nps = d.series[-1][1]
    assert (last_nps.previous, last_nps.delta) == (-25.0, 65.0)
    assert d.series[-1][1] == d.metric("nps")


def test_report_parts_are_taken_from_the_metrics_report() -> None:
    report = {
        "churn": {"rate": 10.0, "lost": 50, "average_customers": 500.0},
        "retention": {"rate": 90.0},
        "clv": {"average": 9000.0},
        "detractor_followup": {"alerts": 12, "handled_within_24h": 10, "open_overdue": 1},
    }
    d = build(
        counts(nps_rows("Private", "Web", 30, 10, 10)),
        counts([]),
        metrics_report=report,
        insights=[{"text": "Customer Kari Nordmann says the app is slow", "status": "open"}],
        shoutouts={"count": 4, "top_promise": "We keep our word", "texts": ["Ola fixed it"]},
        pulse=[{"name": "Customer focus", "enps": 22.46, "answers": 14, "comment": "secret"}],
        response_rate=37.5,
    )
    assert d.churn["rate"] == 10.0 and d.retention == {"rate": 90.0}
    assert d.clv == {"average": 9000.0}
    assert d.followup["alerts"] == 12
    assert d.followup["median_hours_to_first_response"] is None  # default filled in
    assert d.metrics == report

    facts = digest_facts(d)
    dumped = json.dumps(facts, ensure_ascii=False)
    for private in ("Kari", "slow", "Ola fixed", "secret"):
        assert private not in dumped
    assert facts["insights"] == {"count": 1, "by_status": {"open": 1}}
    assert facts["shoutouts"] == {"count": 4, "top_promise": "We keep our word"}
    assert facts["pulse"] == [{"name": "Customer focus", "enps": 22.5, "answers": 14}]
    assert facts["response_rate"] == 37.5
    text = english(facts)
    assert "NPS was 40.0 (50 answers), with nothing earlier to compare." in text
    assert "50 answers in all, a response rate of 37.5%." in text
    assert "12 detractor alerts: 10 handled within 24 hours, 1 overdue." in text
    assert "Churn is 10.0% and retention 90.0%." in text
    assert "Shout-outs: 4; the promise lived most: We keep our word." in text
    assert check_narrative(text, facts)


def test_bad_input_says_what() -> None:
    month = period_containing("month", date(2026, 11, 18))
    with pytest.raises(ValueError, match="cadence must be one of"):
        build(counts([]), counts([]), cadence="fortnight")
    with pytest.raises(ValueError, match="is a month, but the digest is per week"):
        build(counts([]), counts([]), previous=month)
    with pytest.raises(ValueError, match="must end before 2026-W47 starts"):
        build(counts([]), counts([]), previous=WEEK.next())
    with pytest.raises(ValueError, match="between 0 and 100"):
        build(counts([]), counts([]), response_rate=140)
    with pytest.raises(ValueError, match="nps score must be between 0 and 10"):
        build(counts([("nps", 11, "A", "B", 1)]), counts([]))


def test_csi_moves_only_with_a_significant_component() -> None:
    def metric_set(nps: dict, csat: dict) -> m.MetricSet:
        return m.MetricSet(m.nps(nps), m.csat(csat), m.ces({}))

    same_csat = {5: 50, 1: 50}
    rise = headline_metrics(
        metric_set({10: 80, 0: 20}, same_csat), metric_set({10: 20, 0: 80}, same_csat)
    )
    assert [h.change for h in rise] == ["rise", "stable", "stable", "rise"]
    assert rise[3].n == 200 and rise[3].value == pytest.approx(((60 + 100) / 2 + 50) / 2)
    # NPS up significantly, CSAT down significantly: the index does not pick a side.
    mixed = headline_metrics(
        metric_set({10: 80, 0: 20}, {5: 10, 1: 90}), metric_set({10: 20, 0: 80}, {5: 90, 1: 10})
    )
    assert [h.change for h in mixed] == ["rise", "fall", "stable", "stable"]


def test_facts_are_plain_json_rounded_as_shown() -> None:
    before = counts([*nps_rows("Private", "Web", 151, 100, 49), ("ces", 5, "Private", "Web", 40)])
    now = counts([*nps_rows("Private", "Web", 101, 100, 99), ("ces", 7, "Private", "Web", 41)])
    facts = digest_facts(build(now, before))
    json.dumps(facts)
    nps = facts["headline"]["nps"]
    assert nps["value"] == 0.7 and nps["previous"] == 34.0
    assert nps["delta"] == -33.3  # from the shown numbers
    assert facts["headline"]["ces"]["value"] == 7.0
    assert facts["period"] == {
        "label": "2026-W47",
        "start": "2026-11-16",
        "end": "2026-11-22",
        "year": 2026,
        "week": 47,
    }


# --------------------------------------------------------------------------- the demo year


@pytest.fixture(scope="module")
def demo_weeks() -> tuple[object, dict[Period, pd.DataFrame]]:
    data = generate(seed=7, now=datetime(2026, 11, 23, 8, tzinfo=UTC), tz=ZoneInfo("Europe/Oslo"))
    grouped = (
        data.responses.assign(
            week=[period_containing("week", d) for d in data.responses["local_day"]]
        )
        .groupby(["week", "metric", "score", "segment", "touchpoint"], dropna=False)
        .size()
        .rename("n")
        .reset_index()
    )
    frames = {
        week: frame.drop(columns="week").reset_index(drop=True)
        for week, frame in grouped.groupby("week", sort=False)
    }
    return data.dip, frames


def _weekly(frames: dict[Period, pd.DataFrame], week: Period) -> Digest:
    empty = counts([])
    return build_digest(
        cadence="week",
        period=week,
        previous=week.previous(),
        counts_now=frames.get(week, empty),
        counts_before=frames.get(week.previous(), empty),
        series_counts=frames,
        metrics_report={},
    )


def test_demo_dip_is_named_delivery_and_private(demo_weeks) -> None:
    dip, frames = demo_weeks
    d = _weekly(frames, dip.weeks[0])
    assert d.metric("nps").change == "fall"
    touch = next(x for x in d.drivers if x.metric == "nps" and x.by == "touchpoint")
    segment = next(x for x in d.drivers if x.metric == "nps" and x.by == "segment")
    assert touch.main[0].key == "Delivery"
    assert segment.main[0].key == "Private"
    assert not touch.mix_driven
    text = english(digest_facts(d))
    assert "the fall in NPS came mainly from Delivery" in text
    assert check_narrative(text, digest_facts(d))


def test_demo_recovery_is_named_delivery(demo_weeks) -> None:
    dip, frames = demo_weeks
    risen = []
    for week in dip.recovery:
        d = _weekly(frames, week)
        for h in d.headline[:3]:
            if h.change == "rise":
                split = next(x for x in d.drivers if x.metric == h.metric and x.by == "touchpoint")
                assert split.main[0].key == "Delivery", (week.label(), h.metric)
                risen.append(h.metric)
    assert risen  # the recovery shows as a significant rise somewhere
    # The series of the week after the recovery shows the whole dip and back.
    after = _weekly(frames, dip.after)
    by_week = {p: nps.value or 0.0 for p, nps, _c, _e in after.series}
    assert all(nps.n > 0 for _p, nps, _c, _e in after.series)
    assert by_week[dip.weeks[0]] < by_week[dip.before] - 30
    assert by_week[dip.after] > by_week[dip.weeks[-1]] + 30
