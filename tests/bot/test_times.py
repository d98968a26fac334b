"""Times that say which timezone: an alert in the channel names its zone ("14:00 CET"),
a list shown in its reader's own timezone does not, and an answer given as a date only
is shown as that date, never as "12:00 AM"."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import translator
from bot.localslack import LocalSlack
from bot.services import Services
from storage import settings_store
from tests.bot.slackkit import SlackKit
from tests.bot.test_alerts import alert_posts, flat

pytestmark = pytest.mark.real_time

TEAM = "T0CXLOCAL"
OSLO = ZoneInfo("Europe/Oslo")


def test_timestamp_names_its_zone_only_when_asked() -> None:
    t = translator("en")
    winter = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    assert t.timestamp(winter, OSLO) == "Dec 1, 2026 2:00\u202fPM"
    assert t.timestamp(winter, OSLO, zone=True).endswith("2:00\u202fPM CET")
    assert t.timestamp(winter.replace(month=7), OSLO, zone=True).endswith("CEST")
    assert translator("nb").timestamp(winter, OSLO, zone=True).endswith("14:00 CET")


def test_a_date_without_a_time_is_shown_as_a_date() -> None:
    t = translator("en")
    midnight = datetime(2026, 11, 20, tzinfo=OSLO)
    assert t.moment(midnight, OSLO, zone=True) == "Nov 20, 2026"
    assert "12:00" not in t.moment(midnight, OSLO)
    assert t.moment(midnight + timedelta(hours=9), OSLO, zone=True).endswith("9:00\u202fAM CET")


def test_channel_card_names_the_zone_the_list_is_the_readers(
    slack: SlackKit, localslack: LocalSlack, services: Services
) -> None:
    for key, value in {"alerts.channel": "C0ALERTS", "timezone": "Europe/Oslo"}.items():
        settings_store.set(services.engine, team_id=TEAM, key=key, value=value)
    day = (services.clock().astimezone(OSLO) - timedelta(days=1)).date()
    answer = {"responded_at": day.isoformat(), "metric": "nps", "score": 2,
              "customer_id": "ACME-7", "response_id": "ext-1"}  # fmt: skip
    assert slack.webhook(answer).status == 202
    (post,) = localslack.wait_for(lambda: alert_posts(localslack, "C0ALERTS"), timeout=5)
    card = flat(post)
    assert "CET" in card  # the follow-up deadline, in the workspace's time, says so
    answered = translator("en").date(day)
    assert f"Answered {answered}" in card and "12:00" not in card

    reply = slack.wait_reply(slack.command("/cx", "alerts", user="U0ADA"))
    listed = reply["text"] + json.dumps(reply.get("blocks") or [], ensure_ascii=False)
    assert "ACME-7" in listed and "CET" not in listed and "UTC" not in listed
