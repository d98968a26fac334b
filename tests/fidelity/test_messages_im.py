"""Messages people write to the bot in its Messages tab (`message.im`), in the event
shapes of slackapi/bolt-python's message scenario tests, sent signed to the running app.
"""

from __future__ import annotations

import time
from typing import Any

from bot.handlers.pulse.rounds import start_round
from bot.localslack import LocalSlack
from bot.services import Services
from core.surveys import parse_definition
from storage import surveys as survey_store
from tests.bot.slackkit import SlackKit
from tests.conftest import FakeClock
from tests.fidelity import payloads as p


def im_event(localslack: LocalSlack, user: str, text: str, **extra: Any) -> dict[str, Any]:
    """A person's message in their DM with the bot: slackapi/bolt-python
    tests/scenario_tests/test_message.py's `message` event with `channel_type: im`
    (https://api.slack.com/events/message.im)."""
    return {
        "client_msg_id": f"fid-{time.time_ns()}",
        "type": "message",
        "text": text,
        "user": user,
        "ts": p.ts(),
        "team": p.TEAM,
        "blocks": [
            {
                "type": "rich_text",
                "block_id": "Ow3",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
                ],
            }
        ],
        "channel": localslack.open_dm(user),
        "channel_type": "im",
        **extra,
    }


def bot_replies(localslack: LocalSlack, user: str, since: int = 0) -> list[dict[str, Any]]:
    return [
        m
        for m in localslack.messages(localslack.open_dm(user))[since:]
        if m.get("user") == localslack.bot_user_id or m.get("bot_id")
    ]


def wait_answer(localslack: LocalSlack, user: str, since: int = 0) -> dict[str, Any]:
    found: list[dict[str, Any]] = localslack.wait_for(lambda: bot_replies(localslack, user, since))
    return found[0]


def everything(message: dict[str, Any]) -> str:
    parts = [str(message.get("text") or "")]
    for block in message.get("blocks") or []:
        text = block.get("text")
        if isinstance(text, dict):
            parts.append(str(text.get("text")))
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("text"):
                parts.append(str(element["text"]))
    return "\n".join(parts)


def test_a_message_to_the_bot_is_answered_with_what_it_can_do(
    slack: SlackKit, localslack: LocalSlack
) -> None:
    """slackapi/bolt-python tests/scenario_tests/test_message.py (a `message` event with
    `authorizations`); https://api.slack.com/events/message.im."""
    r = p.send_event(slack, p.event_callback(im_event(localslack, "U0ADA", "hello, what now?")))
    assert r.status == 200 and r.text == "" and r.elapsed < 3.0
    answer = wait_answer(localslack, "U0ADA")
    shown = everything(answer)
    assert "I do not read what is written to me here" in shown
    for command in ("/insight", "/shoutout", "/pulse", "/cx help"):
        assert command in shown
    assert "pulse survey open" not in shown


def test_the_answer_is_in_the_writers_language(slack: SlackKit, localslack: LocalSlack) -> None:
    """https://api.slack.com/events/message.im; the writer's locale from users.info
    (https://api.slack.com/methods/users.info, `include_locale`)."""
    for user, words in (
        ("U0BJORN", "Jeg leser ikke"),
        ("U0FREJA", "Jeg læser ikke"),
        ("U0SVEA", "Jag läser inte"),
    ):
        r = p.send_event(slack, p.event_callback(im_event(localslack, user, "hei")))
        assert r.status == 200
        assert words in everything(wait_answer(localslack, user))


def test_a_reply_in_a_thread_is_answered_in_that_thread(
    slack: SlackKit, localslack: LocalSlack
) -> None:
    """https://api.slack.com/events/message.im and
    https://api.slack.com/messaging/retrieving#finding_threads (`thread_ts`)."""
    parent = p.ts()
    event = im_event(localslack, "U0GRACE", "is this the right place?", thread_ts=parent)
    assert p.send_event(slack, p.event_callback(event)).status == 200
    assert wait_answer(localslack, "U0GRACE")["thread_ts"] == parent


def test_bots_edits_and_joins_get_no_answer(slack: SlackKit, localslack: LocalSlack) -> None:
    """slackapi/bolt-python tests/scenario_tests/test_message_bot.py (`bot_message_event_payload`:
    `bot_id` and `bot_profile`), test_message_changed.py (`subtype: message_changed`),
    test_message_deleted.py; https://api.slack.com/events/message#subtypes."""
    dm = localslack.open_dm("U0KARI")
    quiet = [
        im_event(
            localslack,
            "U0OTHERBOT",
            "beep",
            bot_id="B0OTHER",
            bot_profile={"id": "B0OTHER", "name": "other-app", "app_id": "A0OTHER"},
        ),
        im_event(localslack, "U0KARI", "edited", subtype="message_changed"),
        im_event(localslack, "U0KARI", "", subtype="message_deleted", hidden=True),
        im_event(localslack, "U0KARI", "<@U0KARI> has joined", subtype="channel_join"),
        im_event(localslack, "U0KARI", "also in channel", subtype="thread_broadcast"),
    ]
    for event in quiet:
        event["channel"] = dm
        r = p.send_event(slack, p.event_callback(event))
        assert r.status == 200 and r.text == ""
    # One real message afterwards is answered, so the quiet ones had their chance.
    assert (
        p.send_event(slack, p.event_callback(im_event(localslack, "U0KARI", "hei"))).status == 200
    )
    wait_answer(localslack, "U0KARI")
    time.sleep(0.2)
    assert len(bot_replies(localslack, "U0KARI")) == 1
    assert localslack.calls_to("chat.postMessage")[-1].args.get("channel") == dm


def test_an_open_pulse_dm_gets_instructions_how_to_answer_it(
    slack: SlackKit, localslack: LocalSlack, services: Services, clock: FakeClock
) -> None:
    """https://api.slack.com/events/message.im: someone answers a pulse DM in words; the bot
    says how to answer (the survey message's buttons) in their language."""
    localslack.add_channel("C0PULSEFID", "pulse-fid", members=["U0MADS"])
    definition = parse_definition(
        {
            "name": "Weekly check-in",
            "audience": "C0PULSEFID",
            "anonymous": False,
            "questions": [{"id": "mood", "type": "likert", "text": "I had a good week"}],
        }
    )
    sid = survey_store.create_survey(
        services.engine, team_id=p.TEAM, definition=definition, created_by="U0ADA", now=clock()
    )
    survey = survey_store.get_survey(services.engine, team_id=p.TEAM, survey_id=sid)
    assert survey is not None
    opened = start_round(services, team_id=p.TEAM, survey=survey)
    assert opened is not None and opened.asked == 1
    dm = localslack.open_dm("U0MADS")
    localslack.wait_for(lambda: localslack.messages(dm))  # the survey DM
    before = len(localslack.messages(dm))

    event = im_event(localslack, "U0MADS", "Det var en god uge")
    assert p.send_event(slack, p.event_callback(event)).status == 200
    shown = everything(wait_answer(localslack, "U0MADS", before))
    assert "Du har en pulsundersøgelse åben: *Weekly check-in*" in shown
    assert "»Skriv et svar«" in shown  # the text button's label, in Danish
    assert "/insight" in shown  # and what else the bot can do
