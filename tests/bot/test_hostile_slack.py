"""Hostile Slack requests (issue 16): lone surrogates in forms and shortcuts, survey ids
too large for the database, and a crafted create-survey submission from a non-admin."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select

from bot.handlers.insights import blocks as insight_blocks
from bot.handlers.shoutouts import blocks as shoutout_views
from bot.localslack import LocalSlack
from bot.services import Services
from bot.settings import Settings
from storage import settings_store
from storage.models import Insight, Shoutout, Survey
from tests.bot.conftest import make_settings
from tests.bot.slackkit import SlackKit, multi_users_select, text_input

T = TypeVar("T")
LONE = "Kunden sa \ud800 og \udfff, men ikke mer"
SHOWN = "Kunden sa \ufffd og \ufffd, men ikke mer"


@pytest.fixture
def bot_settings(localslack: LocalSlack, db_url: str) -> Settings:
    return make_settings(localslack, db_url)


def eventually(probe: Callable[[], T | None], timeout: float = 10.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("nothing happened in time")


def texts(services: Services, column: Any) -> list[str]:
    with services.engine.connect() as conn:
        return [str(t) for t in conn.execute(select(column)).scalars()]


def test_a_lone_surrogate_in_the_insight_form_is_stored_replaced(
    slack: SlackKit, services: Services
) -> None:
    r = slack.view_submission(
        insight_blocks.MODAL, {insight_blocks.TEXT_BLOCK: {insight_blocks.INPUT: text_input(LONE)}}
    )
    assert r.status == 200 and "Something went wrong" not in r.text
    assert eventually(lambda: texts(services, Insight.text)) == [SHOWN]


def test_a_lone_surrogate_in_the_message_shortcut_is_stored_replaced(
    slack: SlackKit, services: Services
) -> None:
    r = slack.message_shortcut(
        "save_insight", {"ts": "1700000000.000100", "text": LONE, "user": "U0KARI"}, user="U0ADA"
    )
    assert r.status == 200
    assert eventually(lambda: texts(services, Insight.text)) == [SHOWN]


def test_a_lone_surrogate_in_the_shoutout_form_is_stored_replaced(
    slack: SlackKit, services: Services
) -> None:
    settings_store.set(
        services.engine, team_id="T0CXLOCAL", key="shoutouts.channel", value="C0SHOUT"
    )
    views = shoutout_views
    values = {
        views.RECEIVERS_BLOCK: {views.RECEIVERS_INPUT: multi_users_select(["U0OLLE"])},
        views.TEXT_BLOCK: {views.TEXT_INPUT: text_input(LONE)},
    }
    r = slack.view_submission(views.SHOUTOUT_MODAL, values, user="U0ADA")
    assert r.status == 200 and "errors" not in r.text
    assert eventually(lambda: texts(services, Shoutout.text)) == [SHOWN]


@pytest.mark.parametrize("word", ["99999999999999999999999", "2147483648", "²", "٣"])
def test_pulse_results_of_an_impossible_id_is_a_clear_answer(slack: SlackKit, word: str) -> None:
    r = slack.command("/pulse", f"results {word}", user="U0ADA")
    reply = slack.wait_reply(r).get("text", "")
    assert "There is no pulse survey" in reply, reply
    assert "Something went wrong" not in reply


def test_a_create_survey_submission_from_a_non_admin_is_refused(
    slack: SlackKit, services: Services
) -> None:
    values = {
        "template": {"value": {"type": "static_select", "selected_option": {"value": "enps"}}},
        "channel": {
            "value": {"type": "conversations_select", "selected_conversation": "C0GENERAL"}
        },
        "repeat": {"value": {"type": "static_select", "selected_option": {"value": "once"}}},
        "time": {"value": text_input("10:00")},
    }
    r = slack.view_submission("pulse_create_modal", values, user="U0BJORN")
    assert r.status == 200
    body = r.json()
    assert body["response_action"] == "errors"
    assert "Only admins" in str(body["errors"]) or "administratorer" in str(body["errors"])
    with services.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Survey)).scalar_one() == 0
