"""Typed text with NUL characters on PostgreSQL, whose text columns cannot hold them."""

from __future__ import annotations

import pytest

from bot.localslack import LocalSlack
from bot.services import Services
from bot.settings import Settings
from storage import insights as store
from tests.bot.conftest import make_settings
from tests.bot.slackkit import SlackKit


@pytest.fixture
def bot_settings(localslack: LocalSlack, pg_url: str) -> Settings:
    return make_settings(localslack, pg_url)


def test_an_insight_with_nul_characters_is_kept_without_them(
    slack: SlackKit, services: Services, localslack: LocalSlack
) -> None:
    r = slack.command("/insight", "The invoice\x00 was wrong\x00 again", user="U0ADA")
    assert r.status == 200
    reply = slack.wait_ephemeral(r)
    assert "error id" not in reply["text"].lower()
    cards, total = store.list_insights(services.engine, team_id=localslack.team_id, kind="open")
    assert total == 1
    assert cards[0].text == "The invoice was wrong again"

    # The analysis after the ack stores its result in the same database too.
    def analysed() -> bool:
        card = store.get_card(services.engine, team_id=localslack.team_id, insight_id=cards[0].id)
        return card is not None and card.analysed

    localslack.wait_for(analysed, timeout=10)
