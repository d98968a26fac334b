"""Detractor alerts' registry entry."""

from __future__ import annotations

from bot.feature import Feature, Subcommand, Sweep
from bot.handlers.alerts import listeners, posting, sweeps
from bot.i18n import N_

FEATURE = Feature(
    name="alerts",
    listeners=listeners.register,
    subcommands=(
        Subcommand(
            "alerts",
            listeners.alerts_subcommand,
            N_("/cx alerts [open|mine|overdue]"),
            N_("Open detractor alerts, who owns them and which are overdue."),
        ),
    ),
    sweeps=(Sweep("alerts", sweeps.alert_clock_sweep, 60),),
    renderers={posting.RENDERER: posting.render_alert},
    sent_hooks={"alert:": posting.after_post},
    answers_stored=(posting.answers_stored,),
)
