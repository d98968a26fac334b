"""The digest's paragraph: offline templates, and the number check for a model's text."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from babel.numbers import format_decimal

from core.digest import build_digest, digest_facts
from core.narrative import check_narrative, fact_numbers, numbers_in, offline_narrative
from core.periods import period_containing
from core.themes import Comment

WEEK = period_containing("week", date(2026, 11, 18))
NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NPS 42,5 % and 42.5% and 42.50", {"42.5"}),
        ("fell −3 then -3 and – 4", {"-3", "4"}),
        ("up +3,2 points", {"3.2"}),
        (f"1{NBSP}234,5 kr, 1,234.5 kr, 1.234,5 kr", {"1234.5"}),
        # A plain space does not group digits (only the no-break spaces locales use).
        ("9,000 and 12 000", {"9000", "12", "0"}),
        ("week 2026-W47, 2026-Q4", {"2026"}),
        ("from 2026-11-16 to 2026-11-22", {"2026", "11", "16", "22"}),
        ("range 16,4–30,6", {"16.4", "30.6"}),
        ("0.5 and 0,50 and 007 and -0", {"0.5", "7", "0"}),
        ("It ended. Then 3. And 4,", {"3", "4"}),
        ("no numbers here", set()),
    ],
)
def test_numbers_in_normalises_the_ways_people_write_numbers(text: str, expected: set) -> None:
    assert numbers_in(text) == expected


def test_fact_numbers_walks_the_facts() -> None:
    facts = {"a": 42.0, "b": [-3.25, {"c": 7}], "label": "2026-W47", "flag": True, "none": None}
    assert fact_numbers(facts) == {"42", "-3.25", "7", "2026"}


FACTS = {
    "headline": {"nps": {"value": 41.5, "previous": 44.9, "delta": -3.4, "n": 150}},
    "drivers": [{"main": [{"key": "Delivery", "score_now": -44.0, "score_before": 60.4}]}],
    "answers": 1234,
    "response_rate": 12.5,
}


@pytest.mark.parametrize(
    "text",
    [
        "NPS was 41.5 on 150 answers, down 3.4 from 44.9.",
        "NPS var 41,5 (150 svar), ned 3,4 fra 44,9.",
        "Delivery fell from 60.4 to −44.0; 1,234 answers, a 12.5 % response rate.",
        f"1{NBSP}234 svar, svarprosent 12,5{NBSP}%.",
        "Customers were less happy this week.",
    ],
)
def test_check_accepts_numbers_from_the_facts(text: str) -> None:
    assert check_narrative(text, FACTS)


@pytest.mark.parametrize(
    "text",
    [
        "NPS was 41.5, down 3 points.",  # 3 is not 3.4
        "NPS fell 7.6 % in a week.",  # computed, not given
        "NPS was 42 on 150 answers.",  # rounded differently
        "NPS was -41.5.",  # wrong sign
        "Delivery went from 60.4 to 44.0 and 1,235 answered.",
        "",
        "   ",
    ],
)
def test_check_rejects_other_numbers(text: str) -> None:
    assert not check_narrative(text, FACTS)


def _counts(rows: list[tuple[str, int, str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["metric", "score", "segment", "touchpoint", "n"])


def _facts() -> dict:
    before = _counts(
        [
            ("nps", 10, "Private", "Delivery", 1500),
            ("nps", 8, "Private", "Delivery", 1000),
            ("nps", 3, "Private", "Delivery", 500),
            ("nps", 10, "SMB", "Support", 1500),
            ("nps", 3, "SMB", "Support", 500),
            ("csat", 5, "SMB", "Support", 80),
            ("csat", 2, "SMB", "Support", 20),
        ]
    )
    now = _counts(
        [
            ("nps", 10, "Private", "Delivery", 500),
            ("nps", 8, "Private", "Delivery", 1000),
            ("nps", 3, "Private", "Delivery", 1500),
            ("nps", 10, "SMB", "Support", 1500),
            ("nps", 3, "SMB", "Support", 500),
            ("csat", 5, "SMB", "Support", 20),
            ("csat", 2, "SMB", "Support", 5),
        ]
    )
    d = build_digest(
        cadence="week",
        period=WEEK,
        previous=WEEK.previous(),
        counts_now=now,
        counts_before=before,
        series_counts={},
        metrics_report={
            "churn": {"rate": 10.0},
            "retention": {"rate": 90.0},
            "detractor_followup": {"alerts": 1500, "handled_within_24h": 1200, "open_overdue": 3},
        },
        # Detractors now and promoters before write about late parcels: the fall's theme.
        comments_now=[Comment("The parcel arrived days late", "nps", 3)] * 1300
        + [Comment("Far too expensive", "nps", 3)] * 40,
        comments_before=[Comment("The parcel arrived days late", "nps", 10)] * 25
        + [Comment("Far too expensive", "nps", 3)] * 60,
        response_rate=31.25,
    )
    return digest_facts(d)


def test_offline_text_passes_its_own_check_in_english() -> None:
    facts = _facts()
    text = offline_narrative(facts, lambda msgid: msgid)
    assert "NPS fell to 0.0 from 40.0 (5000 answers)." in text
    assert "By segment, the fall in NPS came mainly from Private (33.3 → -33.3)." in text
    assert (
        "In the comments, the fall in NPS came mostly from answers about late delivery"
        " (25 → 1300 comments, " in text
    )
    assert "1500 detractor alerts: 1200 handled within 24 hours, 3 overdue." in text
    assert "Only 25 answers for CSAT" in text
    assert check_narrative(text, facts)


@pytest.mark.parametrize("locale", ["nb", "da", "sv", "en"])
def test_offline_text_in_locale_number_formats_passes_the_check(locale: str) -> None:
    def number(value: float, digits: int) -> str:
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=locale)

    facts = _facts()
    text = offline_narrative(facts, lambda msgid: msgid, number=number)
    assert ("5,000" if locale == "en" else "5.000" if locale == "da" else f"5{NBSP}000") in text
    assert check_narrative(text, facts)
    # The same paragraph with one number changed is refused.
    assert not check_narrative(text.replace("1", "7", 1), facts)


def test_every_sentence_goes_through_translate() -> None:
    seen: list[str] = []

    def translate(msgid: str) -> str:
        seen.append(msgid)
        return "«" + msgid + "»"

    text = offline_narrative(_facts(), translate)
    assert (
        "«{metric} fell to {value} from {previous} ({n} answers).»".format(
            metric="NPS", value="0.0", previous="40.0", n="5000"
        )
        in text
    )
    assert "«By segment»" in text
    # Only ids with placeholders or plain text were looked up, nothing pre-filled.
    assert all("NPS" not in msgid for msgid in seen)
    assert len(seen) >= 8


def test_join_is_the_callers() -> None:
    facts = _facts()
    facts["themes"].append(
        {"theme": "app", "now": 9, "before": 1, "change": 8, "share": 1.0}
        | {"nps": -50.0, "effect": -2.0}
    )
    facts["themes_behind"].append("app")
    text = offline_narrative(facts, lambda s: s, join=lambda items: " + ".join(items))
    assert "comments, " in text and ") + app (1 → 9 comments, -2.0 points)" in text


def test_without_a_theme_behind_the_change_the_most_named_are_listed() -> None:
    facts = _facts()
    facts["themes_behind"] = []
    text = offline_narrative(facts, lambda s: s)
    listed = "late delivery (1300 comments) and high prices (40 comments)"
    assert f"Customers wrote most about {listed}." in text
    assert check_narrative(text, facts)


def test_a_broken_translation_falls_back_to_english() -> None:
    def translate(msgid: str) -> str:
        return "{oops} " + msgid if msgid.startswith("{metric}") else msgid

    text = offline_narrative(_facts(), translate)
    assert "NPS fell to 0.0 from 40.0 (5000 answers)." in text
    assert "oops" not in text
