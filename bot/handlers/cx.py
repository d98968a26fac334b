"""`/cx`: help, metrics, and a registry other features plug their subcommands into.

A feature adds a subcommand from its own handler module:

    from bot.handlers.cx import CxCall, subcommand

    @subcommand("digest")
    def digest_subcommand(call: CxCall) -> None:
        call.respond(text=call.t.gettext("..."), response_type="ephemeral")

The `/cx` listener has already acknowledged the command when the subcommand runs.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.errors import UserError
from bot.i18n import N_, Translator, translator, user_locale
from bot.reporting import compute_metrics, workspace_currency, workspace_tz
from bot.services import Services
from bot.text import echo
from bot.views.help import SLASH_COMMANDS, HelpEntry, help_blocks, help_fallback
from bot.views.metrics import PERIOD_NAMES, metrics_blocks, metrics_fallback
from core.periods import KINDS, PeriodKind, parse_kind


@dataclass
class CxCall:
    """One `/cx NAME ARGS` request, with what a subcommand needs to answer it."""

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


Subcommand = Callable[[CxCall], None]

SUBCOMMANDS: dict[str, Subcommand] = {}

# How each subcommand of CONTRACT.md is typed and what it does; a feature may replace its
# entry through `subcommand(name, usage=..., summary=...)`.
HELP_ENTRIES: dict[str, HelpEntry] = {
    "help": HelpEntry(N_("/cx help"), N_("Show this list.")),
    "metrics": HelpEntry(
        N_("/cx metrics [week|month|quarter|year]"),
        N_("NPS, CSAT, CES and CSI of the last complete period, with change and sample size."),
    ),
    "digest": HelpEntry(
        N_("/cx digest [week|month|quarter|year]"),
        N_("Preview the one-page report, with the reasons the numbers moved."),
    ),
    "config": HelpEntry(
        N_("/cx config [show | set KEY VALUE | unset KEY]"),
        N_("Workspace settings: channels, schedules, customer promises (admins only)."),
    ),
    "alerts": HelpEntry(
        N_("/cx alerts [open|mine|overdue]"),
        N_("Open detractor alerts, who owns them and which are overdue."),
    ),
}

NOT_AVAILABLE = N_("`/cx {name}` is not available yet in this workspace.")
UNKNOWN = N_("`/cx {name}` is not a command. Did you mean `/cx {suggestion}`?")
UNKNOWN_NO_SUGGESTION = N_("`/cx {name}` is not a command.")
BAD_PERIOD = N_(
    "“{value}” is not a period. Use week, month, quarter or year, e.g. `/cx metrics month`."
)


def subcommand(
    name: str, *, usage: str | None = None, summary: str | None = None
) -> Callable[[Subcommand], Subcommand]:
    """Register `fn` as `/cx NAME`; `usage` and `summary` (English msgids) feed `/cx help`."""

    def register(fn: Subcommand) -> Subcommand:
        SUBCOMMANDS[name] = fn
        if usage and summary:
            HELP_ENTRIES[name] = HelpEntry(usage, summary)
        elif name not in HELP_ENTRIES:
            HELP_ENTRIES[name] = HelpEntry(f"/cx {name}", summary or "")
        return fn

    return register


def available_entries() -> list[HelpEntry]:
    """Every command a user can run now: the other slash commands, then /cx's working ones."""
    cx = [HELP_ENTRIES[name] for name in HELP_ENTRIES if name in SUBCOMMANDS]
    return [*SLASH_COMMANDS, *cx]


def register(app: App, services: Services) -> None:
    @app.command("/cx")
    def cx_callback(
        ack: Ack,
        command: dict[str, Any],
        respond: Respond,
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        words = (command.get("text") or "").split(maxsplit=1)
        name = words[0].lower() if words else ""
        rest = words[1] if len(words) > 1 else ""
        locale = _locale(context, client, command, services)
        call = CxCall(
            name=name or "help",
            args=rest.strip(),
            command=command,
            user_id=str(command.get("user_id") or ""),
            team_id=str(context.team_id or command.get("team_id") or ""),
            channel_id=str(command.get("channel_id") or ""),
            locale=locale,
            t=translator(locale),
            respond=respond,
            client=client,
            services=services,
            context=context,
        )
        handler = SUBCOMMANDS.get(call.name)
        if handler is not None:
            handler(call)
        elif call.name in HELP_ENTRIES:
            _reply(call, text=call.t.gettext(NOT_AVAILABLE, name=call.name))
        else:
            _unknown(call)


def _locale(
    context: BoltContext, client: WebClient, command: dict[str, Any], services: Services
) -> str:
    # The middleware puts the reader's locale in the context; ask Slack only without it.
    locale = context.get("locale")
    if locale:
        return str(locale)
    return user_locale(client, str(command.get("user_id") or ""), services.settings.cxbot_locale)


def _reply(call: CxCall, *, text: str, blocks: list[Any] | None = None) -> None:
    call.respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


def _unknown(call: CxCall) -> None:
    shown = _shown(call.name)
    choices = [name for name in HELP_ENTRIES if name in SUBCOMMANDS]
    close = difflib.get_close_matches(call.name, choices, n=1, cutoff=0.5)
    if close:
        notice = call.t.gettext(UNKNOWN, name=shown, suggestion=close[0])
    else:
        notice = call.t.gettext(UNKNOWN_NO_SUGGESTION, name=shown)
    entries = available_entries()
    _reply(call, text=notice, blocks=help_blocks(entries, call.t, notice=notice))


def _shown(text: str) -> str:
    return echo(text, 30)


@subcommand("help")
def help_subcommand(call: CxCall) -> None:
    entries = available_entries()
    _reply(call, text=help_fallback(entries, call.t), blocks=help_blocks(entries, call.t))


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
        raise UserError(BAD_PERIOD, value=_shown(word)) from None


@subcommand("metrics")
def metrics_subcommand(call: CxCall) -> None:
    words = call.args.split()
    kind = parse_period(words[0] if words else "", call.t)
    settings = call.services.settings
    tz = workspace_tz(call.services.engine, team_id=call.team_id, default=settings.cxbot_timezone)
    report = compute_metrics(
        call.services.engine,
        team_id=call.team_id,
        kind=kind,
        day=None,
        tz=tz,
        now=call.services.clock(),
    )
    _reply(
        call,
        text=metrics_fallback(report, kind, call.t),
        blocks=metrics_blocks(
            report,
            kind,
            call.t,
            workspace_currency(call.services.engine, team_id=call.team_id),
        ),
    )
