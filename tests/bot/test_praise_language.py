"""The first customer-praise DMs are in the receiver's language, even when the answer
named the employee by Slack id before the bot had read the member directory."""

from __future__ import annotations

import pytest

from bot.localslack import LocalSlack
from bot.services import Services
from tests.bot.slackkit import SlackKit
from tests.bot.test_shoutouts import answer, flat
from tests.bot.test_shoutouts import configured as configured  # a fixture

pytestmark = pytest.mark.real_time  # the dispatcher's time moves


def test_first_praise_dm_by_slack_id_is_in_the_receivers_language(
    slack: SlackKit, localslack: LocalSlack, configured: Services
) -> None:
    promoter = answer(score=10, response_id="r-1", employee="U0BJORN",
                      comment="Quick and friendly help with my invoice")  # fmt: skip
    assert slack.webhook(promoter).status == 202
    dm = localslack.wait_for(lambda: localslack.messages("D0BJORN"), timeout=10)[0]
    assert "En kunde roste deg" in flat(dm)  # Bjørn reads Norwegian
