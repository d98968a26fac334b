"""Messages people write to the bot in its Messages tab (`message.im`).

The bot holds no conversation: whoever writes to it gets, in their language, what it can
do (the commands), and for each pulse survey still open for them, how to answer it (with
the buttons of the survey message: typed words are not recorded as an answer).

Only people's own new messages get an answer: other bots' messages (and the bot's own,
which Bolt drops), edits, deletions, joins, thread broadcasts and the other subtyped
events stay unanswered, or the bot would talk to itself and to other apps.
"""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block, DividerBlock, SectionBlock

from bot.forms import reader
from bot.handlers.cx.blocks import HelpEntry, help_blocks, help_fallback
from bot.handlers.cx.call import available_entries
from bot.handlers.metrics.report import workspace_tz
from bot.i18n import N_, Translator, user_timezone
from bot.outbox import wake
from bot.services import Services
from bot.text import escape
from storage import outbox as queue
from storage.surveys import AskedRound, open_rounds_asking

log = logging.getLogger(__name__)

GREETING = N_(
    "Hi! I do not read what is written to me here, but this is what I can do. "
    "Type a command in any channel, or open my Home tab."
)
PULSE_OPEN = N_(
    "You have a pulse survey open: *{name}*, until {when}. Answer it with the buttons "
    "in the survey message I sent you here; for a question that wants words, press "
    "“{button}”. What you type in this chat is not recorded as an answer."
)
# The label of the survey message's button for written answers (bot/handlers/pulse/blocks.py).
WRITE_BUTTON = N_("Write an answer")
PULSE_ANSWERED = N_(
    "Thank you for answering *{name}*. You can change your answers with the buttons in "
    "the survey message until {when}."
)


def register(app: App, services: Services) -> None:
    @app.event("message", matchers=[written_to_the_bot])
    def direct_message_callback(
        ack: Ack, event: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        ack()
        user = str(event.get("user") or "")
        t = reader(context, services.settings.cxbot_locale)
        team_id = str(context.team_id or "")
        rounds = open_rounds_asking(
            services.engine, team_id=team_id, user_id=user, now=services.clock()
        )
        default_tz = workspace_tz(
            services.engine, team_id=team_id, default=services.settings.cxbot_timezone
        )
        tz = ZoneInfo(user_timezone(client, user, str(default_tz))) if rounds else default_tz
        blocks, text = answer(t, rounds, tz, available_entries(services.registry.subcommands))
        channel = str(event.get("channel") or user)
        thread = event.get("thread_ts")
        payload: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "blocks": [b.to_dict() for b in blocks],
            "unfurl_links": False,
        }
        if thread:
            payload["thread_ts"] = str(thread)
        # Through the outbox like every message: a lost answer from Slack is checked in the
        # channel's history before the reply is sent again, never doubled.
        with services.engine.begin() as conn:
            queue.enqueue(
                conn,
                team_id=team_id,
                key=f"im-reply:{channel}:{event.get('ts')}",
                method="chat.postMessage",
                payload=payload,
                not_before=services.clock(),
            )
        wake(services)


def written_to_the_bot(event: dict[str, Any]) -> bool:
    """A person's own new message in a DM with the bot (see the module docstring)."""
    return (
        event.get("channel_type") == "im"
        and not event.get("subtype")
        and not event.get("bot_id")
        and not event.get("hidden")
        and bool(event.get("user"))
    )


def answer(
    t: Translator, rounds: list[AskedRound], tz: Any, entries: list[HelpEntry]
) -> tuple[list[Block], str]:
    """The reply's blocks and its plain-text fallback."""
    pulse = [
        t.gettext(
            PULSE_ANSWERED if r.answered else PULSE_OPEN,
            name=escape(t.gettext(r.name)),
            when=t.timestamp(r.closes_at, tz),
            button=t.gettext(WRITE_BUTTON),
        )
        for r in rounds
    ]
    blocks: list[Block] = [SectionBlock(text=line) for line in pulse[:10]]
    if blocks:
        blocks.append(DividerBlock())
    blocks.extend(help_blocks(entries, t, notice=t.gettext(GREETING)))
    text = "\n".join([*pulse, t.gettext(GREETING), help_fallback(entries, t)])
    return blocks, text
