"""Wording: a receipt for one receiver speaks of one, a `#tag` that cannot be used is
explained to the giver, and an optional field's label does not say "optional" twice."""

from __future__ import annotations

import pytest

from bot.localslack import LocalSlack
from bot.services import Services
from storage import settings_store
from tests.bot.slackkit import SlackKit
from tests.bot.test_pulse import open_modal
from tests.bot.test_shoutouts import reply_text

pytestmark = pytest.mark.real_time

TEAM = "T0CXLOCAL"


def test_one_receiver_is_one_and_several_are_each(
    slack: SlackKit, localslack: LocalSlack, services: Services
) -> None:
    settings_store.set(services.engine, team_id=TEAM, key="shoutouts.channel", value="C0SHOUT")
    one = reply_text(slack, slack.command("/shoutout", "<@U0BJORN> great call", user="U0ADA"))
    assert "and they get a direct message too." in one and "each of them" not in one
    two = reply_text(
        slack, slack.command("/shoutout", "<@U0BJORN> <@U0FREJA> great call", user="U0ADA")
    )
    assert "and each of them gets a direct message." in two
    norsk = reply_text(slack, slack.command("/shoutout", "<@U0ADA> godt jobba", user="U0BJORN"))
    assert "og vedkommende får også en direktemelding." in norsk


def test_a_tag_without_promises_is_explained(
    slack: SlackKit, localslack: LocalSlack, services: Services
) -> None:
    said = "<@U0BJORN> called the customer back #promise"
    receipt = reply_text(slack, slack.command("/shoutout", said, user="U0ADA"))
    assert "“#promise” is not tagged: no customer promises are set up yet." in receipt
    norsk = reply_text(slack, slack.command("/shoutout", "<@U0ADA> takk #raskt", user="U0BJORN"))
    assert "“#raskt” ble ikke brukt som merke" in norsk


def test_pulse_form_says_optional_once(slack: SlackKit, localslack: LocalSlack) -> None:
    assert slack.command("/pulse", "", user="U0ADA").status == 200
    modal = open_modal(localslack, "pulse_create_modal")
    labels = {b["block_id"]: b["label"]["text"] for b in modal["blocks"] if b.get("label")}
    assert labels["name"] == "Name" and labels["results"] == "Post results in"
    assert not any("(optional)" in label for label in labels.values())


def test_a_long_shout_out_counts_the_readers_way(slack: SlackKit) -> None:
    said = "<@U0ADA> " + "takk " * 8000
    refused = reply_text(slack, slack.command("/shoutout", said, user="U0BJORN"))
    assert "Det er 39\u00a0999 tegn; skryt kan være på høyst 2\u00a0000." in refused
    english = reply_text(
        slack, slack.command("/shoutout", said.replace("U0ADA", "U0BJORN"), user="U0ADA")
    )
    assert "That is 39,999 characters; a shout-out holds at most 2,000." in english


def test_a_pulse_that_reaches_no_one_says_why(
    slack: SlackKit, localslack: LocalSlack, services: Services
) -> None:
    from tests.bot.test_pulse import _create_and_send
    from tests.bot.test_pulse import team as pulse_team

    people = pulse_team.__wrapped__(localslack)  # type: ignore[attr-defined]

    def told() -> list[str]:
        return [str(m.get("text", "")) for m in localslack.messages("U0ADA")]

    _create_and_send(slack, localslack)
    localslack.wait_for(lambda: any("is going out to" in m for m in told()), timeout=10)
    assert any(f"is going out to {len(people)} people." in m for m in told())

    # A second survey to the same people within the cooldown reaches no one, and says why.
    _create_and_send(slack, localslack)
    again = localslack.wait_for(
        lambda: [m for m in told() if "went out to no one" in m], timeout=10
    )[0]
    assert f"all {len(people)} people in its audience were asked within the last 7 days" in again
