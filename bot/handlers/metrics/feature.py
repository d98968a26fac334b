"""The metrics' registry entry: `/cx metrics [week|month|quarter|year]`, the last
complete period's NPS, CSAT, CES and CSI, answered privately."""

from __future__ import annotations

from bot.feature import Feature, Subcommand
from bot.handlers.cx.call import CxCall, parse_period
from bot.handlers.metrics.blocks import metrics_blocks, metrics_fallback
from bot.handlers.metrics.report import compute_metrics, workspace_currency, workspace_tz
from bot.i18n import N_


def metrics_subcommand(call: CxCall) -> None:
    words = call.args.split()
    kind = parse_period(words[0] if words else "", call.t)
    services = call.services
    tz = workspace_tz(
        services.engine, team_id=call.team_id, default=services.settings.cxbot_timezone
    )
    report = compute_metrics(
        services.engine, team_id=call.team_id, kind=kind, day=None, tz=tz, now=services.clock()
    )
    currency = workspace_currency(services.engine, team_id=call.team_id)
    call.reply(
        metrics_fallback(report, kind, call.t),
        metrics_blocks(report, kind, call.t, currency),
    )


FEATURE = Feature(
    name="metrics",
    subcommands=(
        Subcommand(
            "metrics",
            metrics_subcommand,
            N_("/cx metrics [week|month|quarter|year]"),
            N_("NPS, CSAT, CES and CSI of the last complete period, with change and sample size."),
        ),
    ),
)
