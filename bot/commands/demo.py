"""`cxbot demo-data`: fill the database with a realistic year to try the product on."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from bot.commands import common


def register(app: typer.Typer) -> None:
    app.command("demo-data")(demo_data)


def demo_data(
    team: str | None = typer.Option(None, "--team", help="Workspace (team) ID to fill."),
    seed: int = typer.Option(
        42, "--seed", min=0, help="Random seed: the same seed gives the same data."
    ),
    customers: int = typer.Option(
        3000, "--customers", min=50, max=100_000, help="How many customers to invent."
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace the workspace's demo insights and shout-outs."
    ),
    fmt: str = common.FORMAT,
    quiet: bool = common.QUIET,
) -> None:
    """Fill the database with a realistic sample year (customers, answers, insights, shout-outs)."""
    from bot.demo import STEPS
    from bot.demo import seed as seed_demo
    from bot.handlers.metrics.report import workspace_tz

    cfg = common.settings()
    eng = common.engine(cfg)
    team_id = common.resolve_team(cfg, eng, team)
    tz = workspace_tz(eng, team_id=team_id, default=cfg.cxbot_timezone)
    with common.progress("Demo data", total=STEPS) as advance:
        summary = seed_demo(
            eng,
            team_id=team_id,
            tz=tz,
            now=datetime.now(UTC),
            progress=advance,
            seed=seed,
            customers=customers,
            force=force,
        )

    s = summary
    lines = [
        f"workspace {s.team_id}, timezone {tz.key}",
        f"customers: {s.customers} ({s.customers_added} new)",
        f"answers:   {s.answers} ({s.answers_added} new)",
        f"weeks:     {s.weeks}, {s.first_day.isoformat()} to {s.last_day.isoformat()}",
        f"dip:       Delivery, mostly Private customers, {s.dip_weeks[0]} to {s.dip_weeks[-1]} "
        f"({s.dip_start.isoformat()} to {s.dip_end.isoformat()}), "
        f"recovered by {s.recovered_by.isoformat()}",
        "insights and shout-outs: already there (use --force to replace them)"
        if s.feedback_skipped
        else f"insights: {s.insights_added}, shout-outs: {s.shoutouts_added}",
    ]
    data = {
        "team_id": s.team_id,
        "timezone": tz.key,
        "customers": s.customers,
        "customers_added": s.customers_added,
        "answers": s.answers,
        "answers_added": s.answers_added,
        "weeks": s.weeks,
        "first_day": s.first_day.isoformat(),
        "last_day": s.last_day.isoformat(),
        "insights_added": 0 if s.feedback_skipped else s.insights_added,
        "shoutouts_added": 0 if s.feedback_skipped else s.shoutouts_added,
        "feedback_skipped": s.feedback_skipped,
    }
    common.summary(fmt, data, lines)
