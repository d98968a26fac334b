"""What a `/cx` subcommand is given (`CxCall`), and the helpers every subcommand shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from bot.errors import UserError
from bot.feature import Subcommand
from bot.handlers.cx.blocks import SLASH_COMMANDS, HelpEntry
from bot.handlers.metrics.blocks import PERIOD_NAMES
from bot.i18n import N_, Translator
from bot.services import Services
from bot.text import echo
from core.periods import KINDS, PeriodKind, parse_kind

BAD_PERIOD = N_(
    "“{value}” is not a period. Use week, month, quarter or year, e.g. `/cx metrics month`."
)


@dataclass
class CxCall:
    """One `/cx NAME ARGS` request, already acknowledged, with what a subcommand needs."""

    name: str
    args: str  # the text after the subcommand name, stripped
    command: dict[str, Any]  # Slack's slash command payload
    user_id: str
    team_id: str
    channel_id: str
    locale: str
    t: Translator
    respond: Respond
    client: WebClient
    services: Services
    context: BoltContext

    def reply(self, text: str, blocks: list[Any] | None = None) -> None:
        """Answer only the person who typed the command."""
        self.respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


def available_entries(subcommands: Mapping[str, Subcommand]) -> list[HelpEntry]:
    """Every command a user can run: the other slash commands, then /cx's subcommands."""
    return [*SLASH_COMMANDS, *(HelpEntry(s.usage, s.summary) for s in subcommands.values())]


def shown(text: str) -> str:
    """A word someone typed, short and escaped, for a reply that quotes it."""
    return echo(text, 30)


def parse_period(value: str, t: Translator) -> PeriodKind:
    """A period kind in English or the reader's language ("month", "måned", "månad")."""
    word = value.strip().lower()
    if not word:
        return "week"
    for kind in KINDS:
        if word == t.gettext(PERIOD_NAMES[kind]).lower():
            return parse_kind(kind)
    try:
        return parse_kind(word)
    except ValueError:
        raise UserError(BAD_PERIOD, value=shown(word)) from None
