"""The digest paragraph in the reader's language, through the bot's catalog and formats."""

from __future__ import annotations

import pytest

from bot.i18n import LOCALES, translator
from core.narrative import check_narrative, offline_narrative
from tests.core.test_narrative import _facts


@pytest.mark.parametrize("locale", LOCALES)
def test_paragraph_is_translated_and_passes_the_check(locale: str) -> None:
    t = translator(locale)
    facts = _facts()
    text = offline_narrative(facts, t.gettext, number=t.number, join=t.join)
    assert check_narrative(text, facts)
    expected = {
        "en": "NPS fell to 0.0 from 40.0",
        "nb": "NPS falt til 0,0 fra 40,0",
        "da": "NPS faldt til 0,0 fra 40,0",
        "sv": "NPS sjönk till 0,0 från 40,0",
    }[locale]
    assert expected in text
    assert "{" not in text and "}" not in text


@pytest.mark.parametrize("locale", LOCALES)
def test_empty_week_is_one_line_in_every_language(locale: str) -> None:
    t = translator(locale)
    facts = {"cadence": "month", "empty": True}
    text = offline_narrative(facts, t.gettext)
    assert text.count(".") == 2  # what happened, what to check
    if locale != "en":
        assert "No answers" not in text


@pytest.mark.parametrize("locale", LOCALES)
def test_the_paragraph_writes_percentages_as_the_report_does(locale: str) -> None:
    t = translator(locale)
    facts = {**_facts(), "churn": {"rate": 12.0}, "retention": {"rate": 88.0}}
    text = offline_narrative(facts, t.gettext, number=t.number, join=t.join, percent=t.percent)
    # One form per reader: the card's "12.0%" is the paragraph's "12.0%" ("12,0 %" in nb).
    assert t.percent(12.0) in text and t.percent(88.0) in text
    assert check_narrative(text, facts)
