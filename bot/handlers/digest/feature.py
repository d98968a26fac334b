"""The digest's registry entry: `/cx digest [week|month|quarter|year]`, a private preview
of the report; the minute sweep that posts the scheduled reports (`sweeps.run_schedule`);
and the outbox sender of the chart (`posting.send_chart`)."""

from __future__ import annotations

from bot.feature import Feature, Subcommand, Sweep
from bot.handlers.cx.call import CxCall, parse_period
from bot.handlers.digest.compose import CHANNEL_KEYS, build, render, workspace
from bot.handlers.digest.posting import CHART_SENDER, send_chart
from bot.handlers.digest.sweeps import run_schedule
from bot.i18n import N_
from bot.services import Services

PREVIEW_CHANNEL = N_("Preview: only you can see this. It goes to <#{channel}> on schedule.")
PREVIEW_NO_CHANNEL = N_(
    "Preview: only you can see this. No channel is set for it yet "
    "(`/cx config` or `cxbot config set {key} C0123ABCD`)."
)


def digest_subcommand(call: CxCall) -> None:
    words = call.args.split()
    kind = parse_period(words[0] if words else "", call.t)
    services = call.services
    place = workspace(services, call.team_id)
    channel = place.channels.get(kind)
    if channel:
        note = call.t.gettext(PREVIEW_CHANNEL, channel=channel)
    else:
        note = call.t.gettext(PREVIEW_NO_CHANNEL, key=CHANNEL_KEYS[kind])
    report = build(services, call.team_id, kind, place=place)
    # The chart is uploaded with the posted report; an ephemeral message cannot carry it.
    rendered = render(
        services, report, call.t, tz=place.tz, note=note, chart=False, currency=place.currency
    )
    call.reply(rendered.text, rendered.blocks)


def digest_sweep(services: Services) -> None:
    """Every minute: queue the reports whose time has come (idempotent)."""
    run_schedule(services)


FEATURE = Feature(
    name="digest",
    subcommands=(
        Subcommand(
            "digest",
            digest_subcommand,
            N_("/cx digest [week|month|quarter|year]"),
            N_("Preview the one-page report, with the reasons the numbers moved."),
        ),
    ),
    sweeps=(Sweep("digest", digest_sweep, 60),),
    senders={CHART_SENDER: send_chart},
)
