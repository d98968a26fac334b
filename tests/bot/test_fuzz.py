"""Whatever a user types after a slash command: always a 200 ack and a reply they see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.bot.slackkit import SlackKit

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = [
    c["command"]
    for c in yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))["features"][
        "slash_commands"
    ]
]

# Pieces Slack really sends: escaped mentions, channel and link markup, subcommand words.
MARKUP = st.sampled_from(
    [
        "<@U0BJORN>",
        "<@U123|someone>",
        "<#C0GENERAL|general>",
        "<#C123>",
        "<https://example.com|y>",
        "<mailto:a@b.no|a@b.no>",
        "<!here>",
        "<!subteam^S123|@team>",
        "&lt;&amp;&gt;",
        "help",
        "metrics",
        "week",
        "config",
        "create",
        "digest",
        "--",
        "*bold*",
        "`code`",
    ]
)
NASTY = st.sampled_from(
    [
        "\x00",
        "\x1b[31m",
        "\u202e",  # right-to-left override
        "שלום עולם",
        "مرحبا",
        "👍🏽",
        "🇳🇴",
        "\u200b",
        "\r\n",
        "\t",
        "\ufeff",
        "Ærlig talt, øl på å",
        "'; DROP TABLE response; --",
        "{placeholder}",
        "%s %d",
        "\\",
    ]
)
FRAGMENT = st.one_of(MARKUP, NASTY, st.text(max_size=30))
TEXT = st.one_of(
    st.just(""),
    st.lists(FRAGMENT, max_size=12).map(" ".join),
    st.lists(FRAGMENT, max_size=8).map("".join),
    st.text(max_size=200),
)
LONG = "x" * 39_990 + " 👍🏽 end"
REPLY_KINDS = {"ack", "response", "ephemeral", "modal", "message"}


def _examples(test: Any) -> Any:
    # Every command gets the extremes, whatever hypothesis draws besides.
    for command in COMMANDS:
        test = example(command=command, text="")(test)
        test = example(command=command, text=LONG)(test)
        test = example(command=command, text="\x00 <@U123> <#C123|name> <https://x|y> \u202e")(test)
    return test


@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@_examples
@given(command=st.sampled_from(COMMANDS), text=TEXT)
def test_any_text_gets_an_ack_and_a_reply(slack: SlackKit, command: str, text: str) -> None:
    r = slack.command(command, text)
    assert r.status == 200, (command, text[:80], r.text[:300])
    assert r.elapsed < 3.0
    reply = slack.wait_reply(r, timeout=5)
    assert reply["kind"] in REPLY_KINDS
    shown = reply.get("text") or reply.get("blocks") or reply.get("title")
    assert shown, reply
