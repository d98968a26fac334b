"""`cxbot forget customer ID`: erase one customer's answers and personal data everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer

from bot.commands import common

if TYPE_CHECKING:
    from storage.forget import Erased

forget_app = typer.Typer(help="Erase personal data.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(forget_app, name="forget")


_LINES = (
    ("responses", "answer", "answers (and their share of the metrics)"),
    ("alerts", "detractor alert", "detractor alerts"),
    ("notes", "alert note", "alert notes"),
    ("shoutouts", "customer shout-out", "customer shout-outs"),
    ("customers", "customer record", "customer records"),
    (
        "insights_cleared",
        "insight naming the customer (the name is removed)",
        "insights naming the customer (the name is removed)",
    ),
    (
        "insight_cards",
        "insight message in Slack to update (the name is removed)",
        "insight messages in Slack to update (the name is removed)",
    ),
    (
        "payloads_scrubbed",
        "stored message text naming the customer (the name is removed)",
        "stored message texts naming the customer (the name is removed)",
    ),
    ("outbox", "queued or sent message record", "queued or sent message records"),
    ("slack_messages", "Slack message to delete", "Slack messages to delete"),
)


def describe(erased: Erased) -> list[str]:
    """One line per kind of data, only those with something in them."""
    counts = erased.as_dict()
    lines = []
    for field, one, many in _LINES:
        n = counts[field]
        if n:
            lines.append(f"  {n} {one if n == 1 else many}")
    return lines


@forget_app.command("customer")
def forget_customer_command(
    customer_id: str = typer.Argument(..., help="the customer's id, as in the answers and records"),
    team: str = typer.Option(None, "--team", help="workspace (team) ID"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
    fmt: str = common.FORMAT,
    quiet: bool = common.QUIET,
) -> None:
    """Erase one customer's answers, alerts, notes, record and name in insights."""
    from storage.forget import forget_customer

    customer = customer_id.strip()
    if not customer:
        common.fail("CUSTOMER_ID: the customer id is empty", common.EXIT_USAGE)
    cfg = common.settings()
    eng = common.engine(cfg)
    team_id = common.resolve_team(cfg, eng, team)
    now = datetime.now(UTC)
    found = forget_customer(eng, team_id=team_id, customer_id=customer, now=now, dry_run=True)
    base = {"team_id": team_id, "customer_id": customer}
    if not found.anything:
        message = f"nothing stored about customer {customer!r} in workspace {team_id}"
        common.summary(fmt, {**base, "erased": found.as_dict()}, [message])
        return
    if not yes:
        typer.echo(f"customer {customer!r} in workspace {team_id}:")
        typer.echo("\n".join(describe(found)))
        if not typer.confirm("erase all of this? it cannot be undone", default=False):
            typer.echo("nothing erased", err=True)
            raise typer.Exit(common.EXIT_BAD_INPUT)
    erased = forget_customer(eng, team_id=team_id, customer_id=customer, now=now)
    lines = [f"erased customer {customer!r} in workspace {team_id}:", *describe(erased)]
    common.summary(fmt, {**base, "erased": erased.as_dict()}, lines)
