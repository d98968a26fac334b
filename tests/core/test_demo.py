"""The demo year: deterministic, the right size, and a delivery dip the numbers show."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from core import metrics
from core.demo import EMPLOYEES, SEGMENTS, TOUCHPOINTS, DemoData, generate
from core.demo_texts import COMMENTS, PROMISES
from core.locales import LOCALES
from core.periods import Period, current

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
OSLO = ZoneInfo("Europe/Oslo")
CATEGORIES = ("product", "service", "price", "delivery", "communication", "usability", "other")
NEGATIVE_THEMES = {
    "delivery_late",
    "delivery_damaged",
    "support_wait",
    "invoice_error",
    "price_high",
    "checkout_bug",
    "onboarding_confusing",
}
POSITIVE_THEMES = {
    "delivery_fast",
    "support_friendly",
    "support_friendly_named",
    "billing_clear",
    "app_easy",
    "onboarding_helpful",
    "general_praise",
}


@cache
def year(seed: int = 42, now: datetime = NOW, tz: ZoneInfo = OSLO) -> DemoData:
    return generate(seed=seed, now=now, tz=tz)


def week_answers(data: DemoData, week: Period, touchpoint: str | None = None) -> pd.DataFrame:
    r = data.responses
    mask = r["local_day"].between(week.start, week.end)
    if touchpoint is not None:
        mask &= r["touchpoint"] == touchpoint
    return r[mask]


def nps_of(frame: pd.DataFrame) -> metrics.NpsResult:
    scores = frame.loc[frame["metric"] == "nps", "score"]
    return metrics.nps(scores.value_counts().to_dict())


@cache
def _theme_patterns() -> list[tuple[re.Pattern[str], str, str]]:
    patterns = []
    for theme, by_language in COMMENTS.items():
        for language, templates in by_language.items():
            for template in templates:
                pattern = re.escape(template)
                for slot in ("days", "minutes", "agent"):
                    pattern = pattern.replace(re.escape("{" + slot + "}"), ".+?")
                patterns.append((re.compile(f"^{pattern}$"), theme, language))
    return patterns


def theme_of(comment: str) -> tuple[str, str]:
    for pattern, theme, language in _theme_patterns():
        if pattern.match(comment):
            return theme, language
    raise AssertionError(f"comment from no template: {comment!r}")


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_the_same_year() -> None:
    a = generate(seed=7, now=NOW, tz=OSLO)
    b = generate(seed=7, now=NOW, tz=OSLO)
    pd.testing.assert_frame_equal(a.responses, b.responses)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    assert a.insights == b.insights
    assert a.shoutouts == b.shoutouts
    assert a.dip == b.dip


def test_another_seed_gives_another_year() -> None:
    a, b = year(1), year(2)
    assert not a.responses["score"].equals(b.responses["score"])
    assert a.responses["response_key"].iloc[0] != b.responses["response_key"].iloc[0]


def test_response_keys_are_unique_and_carry_the_seed() -> None:
    keys = year().responses["response_key"]
    assert keys.is_unique
    assert keys.str.startswith("id:demo-42-").all()


# --------------------------------------------------------------------------- shape


def test_the_year_is_the_52_weeks_before_the_current_week() -> None:
    data = year()
    this_week = current("week", NOW, OSLO)
    assert len(data.weeks) == 52
    assert data.weeks[-1].next() == this_week
    assert all(a.next() == b for a, b in zip(data.weeks, data.weeks[1:], strict=False))
    days = data.responses["local_day"]
    assert days.min() >= data.weeks[0].start
    assert days.max() <= data.weeks[-1].end


def test_times_are_utc_and_fall_on_their_local_day() -> None:
    for tz in (OSLO, ZoneInfo("America/New_York")):
        r = year(tz=tz).responses
        assert all(
            ts.tzinfo is not None and ts.utcoffset() == timedelta(0) for ts in r["responded_at"]
        )
        local = [ts.astimezone(tz).date() for ts in r["responded_at"]]
        assert local == r["local_day"].tolist()


def test_volumes_are_in_range() -> None:
    data = year()
    assert len(data.customers) == 3000
    per_week = [len(week_answers(data, w)) for w in data.weeks]
    assert min(per_week) >= 150
    assert max(per_week) <= 300
    share = data.responses["metric"].value_counts(normalize=True)
    assert share["nps"] > 0.5
    assert share["csat"] > 0.1
    assert share["ces"] > 0.05
    commented = data.responses["comment"].notna().mean()
    assert 0.33 <= commented <= 0.47
    assert set(data.responses["touchpoint"]) == set(TOUCHPOINTS)
    assert set(data.responses["segment"]) == set(SEGMENTS)


def test_scores_are_in_each_metrics_range() -> None:
    r = year().responses
    for name, (low, high) in metrics.SCORE_RANGES.items():
        scores = r.loc[r["metric"] == name, "score"]
        assert scores.between(low, high).all()
        assert scores.nunique() > 3


def test_customers_have_segments_money_and_about_twelve_percent_churn() -> None:
    data = year()
    c = data.customers
    assert c["customer_id"].is_unique
    assert set(c["segment"]) == set(SEGMENTS)
    assert (c["segment"] == "Private").mean() > 0.5
    assert all(isinstance(v, Decimal) and v > 0 for v in c["annual_revenue"])
    assert all(isinstance(v, Decimal) and v > 0 for v in c["acquisition_cost"])
    revenue = c.groupby("segment")["annual_revenue"].median()
    assert revenue["Enterprise"] > revenue["SMB"] > revenue["Private"]
    ended = c.dropna(subset=["ended_at"])
    assert (ended["ended_at"] > ended["started_at"]).all()
    first, last = data.weeks[0].start, data.weeks[-1].end

    def active(day: date) -> int:
        return int(
            ((c["started_at"] <= day) & c["ended_at"].map(lambda e: e is None or e > day)).sum()
        )

    lost = int(c["ended_at"].map(lambda e: e is not None and first <= e <= last).sum())
    churn = metrics.churn(lost, active(first - timedelta(days=1)), active(last))
    assert churn.rate is not None
    assert 10.0 <= churn.rate <= 15.0


def test_answers_come_from_active_customers_with_their_segment() -> None:
    data = year()
    people = data.customers.set_index("customer_id")
    r = data.responses
    assert r["customer_id"].isin(people.index).all()
    joined = r.merge(people, left_on="customer_id", right_index=True, suffixes=("", "_customer"))
    assert (joined["segment"] == joined["segment_customer"]).all()
    assert (joined["started_at"] <= joined["local_day"]).all()
    ended = joined["ended_at"].notna()
    assert (joined.loc[ended, "local_day"] < joined.loc[ended, "ended_at"]).all()
    # Comments are written in the customer's own language.
    commented = joined[joined["comment"].notna()]
    assert all(
        theme_of(t)[1] == lang
        for t, lang in zip(commented["comment"], commented["language_customer"], strict=True)
    )


def test_employees_are_named_on_some_support_answers_only() -> None:
    r = year().responses
    named = r[r["employee"].notna()]
    assert set(named["employee"]) == set(EMPLOYEES)
    assert (named["touchpoint"] == "Support").all()
    support = r[r["touchpoint"] == "Support"]
    assert 0.4 < support["employee"].notna().mean() < 0.8


def test_comments_match_the_score_in_all_four_languages() -> None:
    r = year().responses
    nps_comments = r[(r["metric"] == "nps") & r["comment"].notna()]
    assert set(nps_comments["language"]) == set(LOCALES)
    for score, comment in zip(nps_comments["score"], nps_comments["comment"], strict=True):
        theme, _ = theme_of(comment)
        if score >= 9:
            assert theme in POSITIVE_THEMES, (score, comment)
        if score <= 6:
            assert theme in NEGATIVE_THEMES, (score, comment)


# --------------------------------------------------------------------------- the dip


def baseline_weeks(data: DemoData) -> list[Period]:
    dip = set(data.dip.weeks) | set(data.dip.recovery)
    return [w for w in data.weeks if w not in dip]


def test_the_dip_sits_14_to_18_weeks_back_for_four_weeks() -> None:
    data = year()
    this_week = current("week", NOW, OSLO)
    weeks_back = [(this_week.start - w.start).days // 7 for w in data.dip.weeks]
    assert weeks_back == [18, 17, 16, 15]
    assert data.dip.before.next() == data.dip.weeks[0]
    assert data.dip.recovery[0] == data.dip.weeks[-1].next()
    assert data.dip.recovery[-1].next() == data.dip.after
    assert len(data.dip.recovery) in (2, 3)


def test_delivery_falls_far_below_baseline_and_comes_back() -> None:
    data = year()
    base = [week_answers(data, w, "Delivery") for w in baseline_weeks(data)]
    baseline = nps_of(pd.concat(base)).score
    assert baseline is not None
    for week in data.dip.weeks:
        score = nps_of(week_answers(data, week, "Delivery")).score
        assert score is not None and score < baseline - 50, (week.label(), score, baseline)
    after = nps_of(week_answers(data, data.dip.after, "Delivery")).score
    assert after is not None and abs(after - baseline) < 25
    # Mostly Private: its Delivery NPS in the dip is far below the other segments'.
    dip = pd.concat([week_answers(data, w, "Delivery") for w in data.dip.weeks])
    private = nps_of(dip[dip["segment"] == "Private"]).score
    others = nps_of(dip[dip["segment"] != "Private"]).score
    assert private is not None and others is not None and private < others - 25


def test_other_touchpoints_stay_stable_during_the_dip() -> None:
    data = year()
    base = pd.concat([week_answers(data, w) for w in baseline_weeks(data)])
    dip = pd.concat([week_answers(data, w) for w in data.dip.weeks])
    base, dip = base[base["touchpoint"] != "Delivery"], dip[dip["touchpoint"] != "Delivery"]
    assert metrics.nps_change(nps_of(dip), nps_of(base)) == "stable"
    # Each one alone is a small sample over four weeks: it moves only by chance.
    for touchpoint in TOUCHPOINTS[1:]:
        before = nps_of(base[base["touchpoint"] == touchpoint]).score
        during = nps_of(dip[dip["touchpoint"] == touchpoint]).score
        assert before is not None and during is not None
        assert abs(during - before) < 30, touchpoint


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 42])
def test_weekly_nps_falls_into_the_dip_and_rises_out_of_it(seed: int) -> None:
    data = year(seed)
    before = nps_of(week_answers(data, data.dip.before))
    first = nps_of(week_answers(data, data.dip.weeks[0]))
    last = nps_of(week_answers(data, data.dip.weeks[-1]))
    after = nps_of(week_answers(data, data.dip.after))
    recovering = nps_of(week_answers(data, data.dip.recovery[0]))
    assert metrics.nps_change(first, before) == "fall"
    assert metrics.nps_change(recovering, last) == "rise"
    assert metrics.nps_change(after, last) == "rise"


def test_the_worst_weeks_breakdown_puts_delivery_lowest() -> None:
    data = year()
    worst = min(data.dip.weeks, key=lambda w: nps_of(week_answers(data, w)).score or 0.0)
    counts = week_answers(data, worst).assign(n=1)
    rows = metrics.breakdown(counts, "touchpoint")
    lowest = min(rows, key=lambda row: row.nps.score if row.nps.score is not None else 100.0)
    assert lowest.key == "Delivery"


def test_late_delivery_comments_fill_the_dip_in_all_four_languages() -> None:
    data = year()
    dip = pd.concat([week_answers(data, w, "Delivery") for w in data.dip.weeks])
    themes = [theme_of(c) for c in dip["comment"].dropna()]
    late = [lang for theme, lang in themes if theme == "delivery_late"]
    assert set(late) == set(LOCALES)
    assert len(late) > 0.5 * len(themes)
    base = pd.concat([week_answers(data, w, "Delivery") for w in baseline_weeks(data)])
    base_themes = [theme_of(c)[0] for c in base["comment"].dropna()]
    assert base_themes.count("delivery_late") < 0.2 * len(base_themes)


# --------------------------------------------------------------------------- insights, shout-outs


def test_insights_cover_the_year_in_four_languages() -> None:
    data = year()
    insights = data.insights
    assert 30 <= len(insights) <= 60
    assert {i.language for i in insights} == set(LOCALES)
    assert {i.category for i in insights} <= set(CATEGORIES)
    assert len({i.category for i in insights}) >= 5
    assert {i.status for i in insights} <= {"new", "planned", "done", "not_relevant"}
    assert {i.reporter for i in insights} <= set(EMPLOYEES)
    assert all(EMPLOYEES[i.reporter] == i.language for i in insights)
    first = datetime.combine(data.weeks[0].start, datetime.min.time(), tzinfo=OSLO)
    assert all(first <= i.created_at < NOW for i in insights)
    in_dip = [
        i
        for i in insights
        if data.dip.start <= i.created_at.astimezone(OSLO).date() <= data.dip.end
        and i.category == "delivery"
        and i.sentiment == "negative"
    ]
    assert len(in_dip) >= 6
    assert {i.language for i in in_dip} == set(LOCALES)


def test_shoutouts_praise_colleagues_for_keeping_promises() -> None:
    data = year()
    shoutouts = data.shoutouts
    assert 20 <= len(shoutouts) <= 50
    assert {s.promise for s in shoutouts} == set(PROMISES)
    for s in shoutouts:
        assert s.giver not in s.receivers
        assert 1 <= len(s.receivers) <= 2
        assert all(r in EMPLOYEES for r in s.receivers)
        assert "{" not in s.text
    assert [s.created_at for s in shoutouts] == sorted(s.created_at for s in shoutouts)
    assert any(
        data.dip.start <= s.created_at.astimezone(OSLO).date() <= data.dip.end for s in shoutouts
    )


# --------------------------------------------------------------------------- bad input


def test_bad_arguments_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="at least 50 customers"):
        generate(seed=1, now=NOW, tz=OSLO, customers=10)
    with pytest.raises(ValueError, match="timezone-aware"):
        generate(seed=1, now=NOW.replace(tzinfo=None), tz=OSLO)
