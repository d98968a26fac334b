"""The goals feature's registry entry."""

from __future__ import annotations

from bot.feature import Feature, Subcommand
from bot.handlers.goals.command import goal_subcommand
from bot.i18n import N_

FEATURE = Feature(
    name="goals",
    subcommands=(
        Subcommand(
            "goal",
            goal_subcommand,
            N_("/cx goal [METRIC TARGET by DEADLINE | remove METRIC]"),
            N_(
                "Goals for NPS, CSAT, CES or CSI with a deadline (2027-Q2, 2027-06 or "
                "2027-06-30) and how far each has come; admins set and remove them."
            ),
        ),
    ),
)
