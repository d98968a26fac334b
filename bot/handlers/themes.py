"""`/cx themes [week|month|quarter]`: what customers' comments were about in the last
complete period, with trend, NPS, effect on the change and quotes (private reply)."""

from __future__ import annotations

from slack_bolt import App

from bot import themes
from bot.handlers.cx import CxCall, parse_period, subcommand
from bot.i18n import N_
from bot.services import Services
from bot.views.metrics import period_title
from bot.views.themes import themes_blocks, themes_fallback


@subcommand(
    "themes",
    usage=N_("/cx themes [week|month|quarter]"),
    summary=N_("What customers wrote about: the top comment themes with trend, NPS and quotes."),
)
def themes_subcommand(call: CxCall) -> None:
    words = call.args.split()
    kind = parse_period(words[0] if words else "", call.t)
    found = themes.period_themes(call.services, call.team_id, kind)
    report = themes.with_summaries(call.services.analyzer, found.report, call.t.locale)
    label = period_title(kind, found.period.start, found.period.end, call.t)
    call.respond(
        text=themes_fallback(report, kind, call.t),
        blocks=themes_blocks(report, kind, call.t, period_label=label),
        response_type="ephemeral",
        replace_original=False,
    )


def register(app: App, services: Services) -> None:
    """Nothing to add to the app: `/cx themes` goes through the /cx registry."""
