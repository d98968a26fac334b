"""The first customer-praise DMs are in the receiver's language, even when the answer
named the employee by Slack id before the bot had read the member directory."""

from __future__ import annotations

import pytest

from bot.localslack import LocalSlack
from bot.services import Services
from tests.bot.slackkit import SlackKit
from tests.bot.test_shoutouts import answer, flat, stored
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


def test_stopping_the_bot_lets_a_directory_refresh_finish_and_leaves_no_thread(
    slack: SlackKit, localslack: LocalSlack, configured: Services
) -> None:
    import threading

    from bot.background import stop_background

    # The directory is empty, so the e-mail sends a refresh to the praise worker; Slack is
    # slow to list members, so the refresh is still running when the bot stops.
    localslack.set_latency(0.5, ["users.list"])
    promoter = answer(score=10, response_id="r-1", employee="bjorn@example.com",
                      comment="Bjørn sorted out my invoice")  # fmt: skip
    assert slack.webhook(promoter).status == 202
    localslack.wait_for(lambda: localslack.calls_to("users.list"), timeout=5)
    stop_background(configured)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("cxbot-praise")]
    # The refresh ran to its end: the answer it was for was praised, not dropped.
    assert stored(configured.engine) == 1
