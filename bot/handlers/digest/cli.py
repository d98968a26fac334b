"""`cxbot digest [--period ...] [--date ...] [--post] [--team ...]`: the one-page report in
the terminal, as the sandbox shows the Slack message; `--post` sends it to the channel."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.commands import common
from bot.handlers.metrics.cli import parse_choice, parse_day, parse_kind
from core.periods import period_containing

if TYPE_CHECKING:
    from bot.handlers.digest.compose import Rendered
    from bot.services import Services
    from core.digest import Digest


def digest(
    period: str = typer.Option("week", "--period", help="week, month, quarter or year"),
    day: str = typer.Option(
        None, "--date", help="a day in the period (YYYY-MM-DD); default: the last complete one"
    ),
    post: bool = typer.Option(False, "--post", help="send it to the configured channel"),
    team: str = typer.Option(None, "--team", help="workspace (team) ID"),
    chart: Path = typer.Option(None, "--chart", help="also write the chart (PNG) to this file"),
    locale: str = typer.Option(
        None, "--locale", help="en, nb, da or sv (default: the workspace's language)"
    ),
) -> None:
    """Print the one-page report of the period containing --date; --post sends it."""
    from bot.handlers.digest.compose import CHANNEL_KEYS, ENABLED_KEYS, build, render, workspace
    from bot.i18n import translator
    from bot.services import Services
    from bot.views.text import render_blocks
    from core.analyzer import make_analyzer
    from core.locales import LOCALES

    kind = parse_kind(period)
    when = parse_day(day)
    language = parse_choice("--locale", locale, LOCALES)
    cfg = common.settings()
    eng = common.engine(cfg)
    team_id = common.resolve_team(cfg, eng, team)
    services = Services(
        settings=cfg,
        engine=eng,
        analyzer=make_analyzer(cfg.openai_api_key, cfg.openai_base_url, cfg.openai_model),
    )
    try:
        place = workspace(services, team_id)
    except ValueError as exc:
        common.fail(f"workspace settings of {team_id}: {exc} (see `cxbot config show`)")
    channel = place.channels.get(kind)
    if post:
        # Before any work: the workspace's token (its own one when installed by OAuth).
        common.slack_client(services, team_id, why="to post (set them, or leave out --post)")
        if not channel:
            key = CHANNEL_KEYS[kind]
            common.fail(
                f"{key}: no channel to post the {kind} report to "
                f"(cxbot config set {key} C0123ABCD), or it is switched off "
                f"({ENABLED_KEYS[kind]})"
            )
    chosen = period_containing(kind, when) if when is not None else None
    report = build(services, team_id, kind, chosen, place=place)
    t = translator(language or place.locale)
    rendered = render(
        services, report, t, tz=place.tz, chart=bool(chart) or post, currency=place.currency
    )
    typer.echo(render_blocks([*rendered.blocks]).text)
    if chart is not None and rendered.chart is not None:
        try:
            chart.write_bytes(rendered.chart)
        except OSError as exc:
            common.fail(f"--chart: cannot write {chart}: {exc.strerror or exc}")
        typer.echo(f"\nchart written to {chart}")
    if post:
        assert channel is not None  # checked above
        _post(services, team_id, channel, report, rendered)


def _post(
    services: Services, team_id: str, channel: str, report: Digest, rendered: Rendered
) -> None:
    """Queue the report under its key (a scheduled post of the same period is the same
    message) and send it now."""
    from bot.handlers.digest.posting import chart_key, enqueue, message_key
    from storage import outbox as queue

    key = message_key(report.cadence, channel, report.period)
    keys = [key, chart_key(report.cadence, channel, report.period)]
    if not enqueue(
        services.engine,
        team_id=team_id,
        channel=channel,
        d=report,
        rendered=rendered,
        now=services.clock(),
    ):
        typer.echo(f"\n{key} was queued before; sending what is still due")
    states = common.send_queued(services, team_id, keys, "Posting the report")
    for k in keys:
        state = states.get(k, "not queued")
        typer.echo(f"{k}: {state}")
    if states.get(key) != queue.SENT:
        common.fail(f"the report was not posted to {channel} yet (the bot retries it)")


def register(app: typer.Typer) -> None:
    app.command("digest")(digest)
