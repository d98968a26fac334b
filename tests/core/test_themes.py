"""core.themes: named themes across languages and inflections, their numbers, quotes and
effect on the change, and the labelled holdout reaching the F1 target per language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core import themes
from core.periods import Period
from core.themes import QUOTES_FROM, Comment, NpsTally, analyse, assign, check_summary

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize(
    "text",
    [
        "Bestillingen kom 7 dager for sent.",
        "Venter fortsatt på leveransen.",
        "Pakken var forsinket igjen.",
        "Min ordre kom 6 dage for sent.",
        "Paketet var försenat igen.",
        "The parcel was late again.",
        "pakken came a week late",  # mixed languages
    ],
)
def test_late_delivery_holds_across_languages_and_inflections(text: str) -> None:
    assert "late_delivery" in assign(text)


def test_named_themes_and_nothing_for_an_empty_remark() -> None:
    assert assign("Fakturaen var feil igjen, jeg ble belastet to ganger.") == ("invoice_errors",)
    assert assign("Vänlig och hjälpsam kundtjänst, tack så mycket!") == ("friendly_support",)
    assert assign("ok") == () and assign("") == ()
    # A negation turns praise off: "not easy to use" is no praise of ease.
    assert "easy_to_use" not in assign("The app is not easy to use")
    assert themes.primary("Late delivery AND a wrong invoice.") in (
        "late_delivery",
        "invoice_errors",
    )


def test_deterministic_and_counted_once_per_comment() -> None:
    texts = ["Late delivery, late delivery, late!", "Pakken kom for sent", "Great quality"]
    first = themes.theme_counts(texts)
    assert first == themes.theme_counts(texts)
    assert dict(first)["late delivery"] == 2


def _period(late: int, late_score: int, others: int) -> list[Comment]:
    rows = [
        Comment(f"The parcel arrived {2 + i % 5} days late", "nps", late_score) for i in range(late)
    ]
    rows += [Comment("Friendly and helpful support", "nps", 10)] * others
    return rows


def test_counts_share_nps_effect_and_quotes() -> None:
    now = _period(late=10, late_score=2, others=10)
    before = _period(late=1, late_score=2, others=19)
    # All answers: 20 now (10 detractors, 10 promoters) vs 20 before (1 and 19).
    report = analyse(now, before, nps_now=NpsTally.of(10, 0, 10), nps_before=NpsTally.of(19, 0, 1))
    late = report.stat("late_delivery")
    assert late is not None
    assert (late.count, late.before, late.share) == (10, 1, 50.0)
    assert late.nps == -100.0 and late.sentiment == "negative"
    assert report.nps_change == pytest.approx(-90.0)
    # Shift-share over "late delivery" and the rest: the detractors' growing share is
    # most of the fall; praise becoming rarer is the rest, and is not named as a reason.
    friendly = report.stat("friendly_support")
    assert friendly is not None and friendly.effect is not None and late.effect is not None
    assert late.effect == pytest.approx((-100 - 45) * (0.5 - 0.05))
    assert late.effect + friendly.effect == pytest.approx(-90.0)
    assert report.behind_change() == [late]
    assert 2 <= len(late.quotes) <= 3


def test_quotes_are_redacted_and_only_from_five_comments() -> None:
    few = [Comment("Pakken kom for sent, ring meg på 91234567")] * (QUOTES_FROM - 1)
    assert analyse(few).themes[0].quotes == ()
    many = [Comment(f"Pakken kom {i} dager for sent, ring meg på 91234567") for i in range(6)]
    quotes = analyse(many).themes[0].quotes
    assert quotes and all("91234567" not in q and "[PHONE]" in q for q in quotes)


def test_a_sample_stands_for_the_answers_it_was_drawn_from() -> None:
    sample = _period(late=5, late_score=0, others=5)
    whole = analyse(
        sample,
        (),
        nps_now=NpsTally.of(50, 0, 50),
        nps_before=NpsTally.of(100, 0, 0),
        scale_now=10.0,
    )
    late = whole.stat("late_delivery")
    # 5 sampled comments stand for 50 detractors: half the answers, new this period.
    assert late is not None and late.effect == pytest.approx((-100 - 50) * 0.5)


def test_model_summary_check() -> None:
    report = analyse(_period(late=6, late_score=2, others=0))
    facts = themes.summary_facts(report.themes[0])
    assert check_summary("Six customers say parcels come late: 6 comments, NPS -100.", facts)
    assert not check_summary("Parcels were 40 % late for 3 weeks.", facts)
    assert not check_summary("", facts)


def _f1_by_language(path: Path) -> dict[str, float]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    result = {}
    for lang in ("en", "nb", "da", "sv"):
        tp = fp = fn = 0
        for r in (r for r in rows if r["lang"] == lang):
            want, got = set(r["themes"]), set(assign(r["text"]))
            tp, fp, fn = tp + len(want & got), fp + len(got - want), fn + len(want - got)
        result[lang] = 2 * tp / (2 * tp + fp + fn)
    return result


def test_the_holdout_reaches_the_f1_target_in_every_language() -> None:
    scores = _f1_by_language(DATA / "themes_holdout.jsonl")
    assert all(f1 >= 0.8 for f1 in scores.values()), scores


def test_labelled_sets_are_big_enough_and_use_known_themes() -> None:
    for name, least in (("themes_labelled.jsonl", 400), ("themes_holdout.jsonl", 100)):
        rows = [json.loads(x) for x in (DATA / name).read_text(encoding="utf-8").splitlines()]
        assert len(rows) >= least
        assert {t for r in rows for t in r["themes"]} <= set(themes.KEYS)
        assert {r["lang"] for r in rows} == {"en", "nb", "da", "sv"}


def test_demo_week_30_names_late_delivery_behind_the_fall() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from core.demo import generate

    tz = ZoneInfo("Europe/Oslo")
    data = generate(seed=42, now=datetime(2026, 11, 23, 8, 0, tzinfo=UTC), tz=tz)
    frame = data.responses
    days = frame["responded_at"].map(lambda t: t.astimezone(tz).date())

    def period(p: Period) -> tuple[list[Comment], NpsTally]:
        rows = frame[(days >= p.start) & (days <= p.end)]
        nps = rows[rows["metric"] == "nps"]["score"]
        tally = NpsTally.of(
            int((nps >= 9).sum()), int(nps.between(7, 8).sum()), int((nps <= 6).sum())
        )
        comments = [
            Comment(str(r.comment), str(r.metric), int(r.score))
            for r in rows.itertuples()
            if isinstance(r.comment, str) and r.comment
        ]
        return comments, tally

    week = data.dip.weeks[0]
    assert week.label() == "2026-W30"
    (now, tally_now), (before, tally_before) = period(week), period(week.previous())
    report = analyse(now, before, nps_now=tally_now, nps_before=tally_before)
    assert [t.key for t in report.behind_change()][:1] == ["late_delivery"]
    assert report.top(1)[0].key == "late_delivery"
