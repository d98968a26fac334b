"""`/cx NAME ARGS`: acknowledged at once, then handed to the feature that declares NAME
(bot.feature.Subcommand); `/cx help` is this package's own."""

from __future__ import annotations

import difflib
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.handlers.cx.blocks import help_blocks, help_fallback
from bot.handlers.cx.call import CxCall, available_entries, shown
from bot.i18n import N_, translator, user_locale
from bot.services import Services

UNKNOWN = N_("`/cx {name}` is not a command. Did you mean `/cx {suggestion}`?")
UNKNOWN_NO_SUGGESTION = N_("`/cx {name}` is not a command.")


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
        found = services.registry.subcommands.get(call.name)
        if found is not None:
            found.run(call)
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


def _unknown(call: CxCall) -> None:
    subcommands = call.services.registry.subcommands
    name = shown(call.name)
    close = difflib.get_close_matches(call.name, list(subcommands), n=1, cutoff=0.5)
    if close:
        notice = call.t.gettext(UNKNOWN, name=name, suggestion=close[0])
    else:
        notice = call.t.gettext(UNKNOWN_NO_SUGGESTION, name=name)
    entries = available_entries(subcommands)
    call.reply(notice, help_blocks(entries, call.t, notice=notice))


def help_subcommand(call: CxCall) -> None:
    entries = available_entries(call.services.registry.subcommands)
    call.reply(help_fallback(entries, call.t), help_blocks(entries, call.t))
