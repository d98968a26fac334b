"""The `/cx` command's registry entry."""

from __future__ import annotations

from slack_bolt import App

from bot.feature import Feature, Subcommand
from bot.handlers.cx import listeners, messages
from bot.i18n import N_
from bot.services import Services


def _listeners(app: App, services: Services) -> None:
    listeners.register(app, services)
    messages.register(app, services)


FEATURE = Feature(
    name="cx",
    listeners=_listeners,
    subcommands=(
        Subcommand("help", listeners.help_subcommand, N_("/cx help"), N_("Show this list.")),
    ),
)
