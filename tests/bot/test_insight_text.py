"""What a colleague typed shows as they typed it, everywhere an insight appears.

Slack delivers `/insight` text and a shortcut's message text entity-encoded with its
references in angle brackets (https://api.slack.com/interactivity/slash-commands,
https://api.slack.com/reference/surfaces/formatting#escaping): the bot decodes it once,
stores it as meant and escapes it once on the way out. One `&`, one link and one mention,
on the card, in the reporter's DM, in `/insight list`, on the App Home, in the digest and in
the export; never `&amp;amp;` nor a dead `&lt;https://...&gt;`.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from bot.handlers.digest.compose import build, render
from bot.handlers.insights import blocks as insight_blocks
from bot.i18n import translator
from bot.localslack import LocalSlack
from bot.services import Services
from core.periods import period_containing
from storage import insights as store
from storage.exports import write_export
from storage.settings_store import set as set_setting
from tests.bot.slackkit import SlackKit
from tests.bot.test_insights import dms, eventually, mrkdwn, post_of

CHANNEL = "C0INSIGHT"
# As Slack delivers it: what the person typed was
# "Tom & Jerry <3 the guide (a link) but ask @kari".
DELIVERED = (
    "Tom &amp; Jerry &lt;3 <https://docs.example.com/guide?a=1&amp;b=2|the guide> "
    "but ask <@U0KARI|kari>"
)
LINK = "the guide (<https://docs.example.com/guide?a=1&amp;b=2>)"


@pytest.fixture
def shared(services: Services, localslack: LocalSlack) -> str:
    set_setting(services.engine, team_id=localslack.team_id, key="insights.channel", value=CHANNEL)
    return CHANNEL


def assert_once_each(text: str) -> None:
    assert "&amp;amp;" not in text and "&amp;lt;" not in text and "&lt;https" not in text
    assert text.count("Tom &amp; Jerry &lt;3") == 1, text
    assert text.count(LINK) == 1, text
    assert text.count("<@U0KARI>") == 1, text


def record_by(slack: SlackKit, services: Services, team: str, via: str) -> int:
    if via == "command":
        assert slack.command("/insight", DELIVERED, user="U0BJORN").status == 200
    else:
        message = {"ts": "1796000000.000100", "text": DELIVERED, "user": "U0OLLE"}
        assert slack.message_shortcut("save_insight", message, user="U0BJORN").status == 200
    cards = eventually(lambda: store.list_insights(services.engine, team_id=team, kind="open")[0])
    return cards[0].id


@pytest.mark.parametrize("via", ["command", "shortcut"])
def test_one_ampersand_one_link_one_mention_everywhere(
    via: str, slack: SlackKit, services: Services, localslack: LocalSlack, shared: str
) -> None:
    team = str(localslack.team_id)
    insight_id = record_by(slack, services, team, via)
    stored = store.get_card(services.engine, team_id=team, insight_id=insight_id)
    assert stored is not None
    assert stored.text == (
        "Tom & Jerry <3 <https://docs.example.com/guide?a=1&b=2|the guide> but ask <@U0KARI|kari>"
    )

    # The card in the insights channel, its notification text included.
    post = post_of(localslack, insight_id)
    assert_once_each(mrkdwn(post))
    assert "&amp;amp;" not in post["text"] and "<@U0KARI>" in post["text"]

    # The reporter's DM when an admin plans it.
    r = slack.block_action(insight_blocks.PLAN_ACTION, str(insight_id), user="U0ADA", message=post)
    assert r.status == 200
    dm = localslack.wait_for(lambda: dms(localslack, "U0BJORN"))[0]
    assert_once_each(mrkdwn(dm))

    # /insight list.
    listed = slack.command("/insight", "list mine", user="U0BJORN")
    reply = slack.wait_reply(listed, where=lambda x: x["kind"] in ("ephemeral", "response"))
    assert_once_each(mrkdwn(reply))

    # The App Home.
    slack.event({"type": "app_home_opened", "user": "U0BJORN", "tab": "home"})
    home = localslack.wait_for(lambda: localslack.home_views().get("U0BJORN") or {})
    assert_once_each(mrkdwn(home))

    # The digest: an insight line holds no markup in its label; the words show once.
    week = period_containing("week", services.clock().date())
    d = build(services, team, "week", week)
    rendered = render(services, d, translator("en"), chart=False)
    lines = json.dumps(rendered.blocks, ensure_ascii=False)
    assert lines.count("Tom &amp; Jerry &lt;3") == 1 and "&amp;amp;" not in lines

    # The export keeps the stored text: one &, one link, one mention.
    out = io.StringIO()
    write_export(services.engine, team_id=team, kind="insights", fmt="json", out=out)
    exported: Any = json.loads(out.getvalue())
    rows = exported if isinstance(exported, list) else exported.get("insights", [])
    text = next(r["text"] for r in rows if r["id"] == insight_id)
    assert text.count("&") == 2 and "&amp;" not in text  # "Tom & Jerry" and "a=1&b=2"
    assert text.count("<https://docs.example.com/guide") == 1 and text.count("<@U0KARI") == 1
