"""`/cx config`'s registry entry."""

from __future__ import annotations

from bot.feature import Feature, Subcommand
from bot.handlers.config import command
from bot.i18n import N_

FEATURE = Feature(
    name="config",
    subcommands=(
        Subcommand(
            "config",
            command.config_subcommand,
            N_("/cx config [show | set KEY VALUE | unset KEY]"),
            N_("Workspace settings: channels, schedules, customer promises (admins only)."),
        ),
    ),
)
