"""Search in any of the four languages: `/insight search invoice` finds "faktura"."""

from __future__ import annotations

from typing import Any

from bot.services import Services
from core.text import search_words
from tests.bot.slackkit import SlackKit
from tests.bot.test_insights import mrkdwn, record
from tests.bot.test_insights import team as team  # a fixture


def test_a_word_brings_its_other_languages() -> None:
    assert {"faktura", "regning", "räkning"} <= set(search_words("Invoices"))
    assert "invoice" in search_words("fakturaen")
    assert search_words("prison") == ("prison",)  # "pris" names prices only as a whole word
    assert search_words("zebra") == ("zebra",)


def test_search_in_one_language_finds_the_others(
    slack: SlackKit, services: Services, team: str
) -> None:
    norsk = record(services, team, "Kunden fikk fakturaen to ganger", "U0ADA")
    svensk = record(services, team, "Fel belopp på räkningen igen", "U0BJORN")
    english = record(services, team, "The invoice had the wrong address", "U0ADA")
    other = record(services, team, "Billig og bra levering", "U0ADA")

    def search(words: str, user: str = "U0ADA") -> dict[str, Any]:
        r = slack.command("/insight", f"search {words}", user=user)
        return slack.wait_reply(r, where=lambda x: x["kind"] in ("ephemeral", "response"))

    found = search("invoice")
    body = mrkdwn(found)
    assert found["text"] == "Customer insights mentioning “invoice”: 3"
    for insight in (norsk, svensk, english):
        assert f"*#{insight}*" in body
    assert f"*#{other}*" not in body
    # Every word must be found, each in whichever language.
    assert search("faktura wrong")["text"].endswith(": 1")
