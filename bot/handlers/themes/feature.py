"""`/cx themes [week|month|quarter]`: what customers' comments were about in the last
complete period, with trend, NPS, effect on the change and quotes (private reply)."""

from __future__ import annotations

from bot.feature import Feature, Subcommand
from bot.handlers.cx.call import CxCall, parse_period
from bot.handlers.metrics.blocks import period_title
from bot.handlers.themes.blocks import themes_blocks, themes_fallback
from bot.handlers.themes.report import period_themes, with_summaries
from bot.i18n import N_


def themes_subcommand(call: CxCall) -> None:
    words = call.args.split()
    kind = parse_period(words[0] if words else "", call.t)
    found = period_themes(call.services, call.team_id, kind)
    report = with_summaries(call.services.analyzer, found.report, call.t.locale)
    label = period_title(kind, found.period.start, found.period.end, call.t)
    call.reply(
        themes_fallback(report, kind, call.t),
        themes_blocks(report, kind, call.t, period_label=label),
    )


FEATURE = Feature(
    name="themes",
    subcommands=(
        Subcommand(
            "themes",
            themes_subcommand,
            N_("/cx themes [week|month|quarter]"),
            N_("What customers wrote about: the top comment themes with trend, NPS and quotes."),
        ),
    ),
)
