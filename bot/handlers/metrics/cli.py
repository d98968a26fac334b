"""`cxbot metrics`, `cxbot export` and `cxbot config show|set|unset` (CONTRACT.md).

Only Typer is imported at the top; each command imports what it uses when it runs."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bot.commands import common
from core import periods
from core.periods import PeriodKind

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console
    from sqlalchemy.engine import Engine

# core.metrics.SMALL_SAMPLE, kept here so that printing a table needs no numerical library
# (tests/bot/test_cli_reporting.py checks they agree).
SMALL_SAMPLE = 30

TABLE, JSON = "table", "json"
BY_CHOICES = ("segment", "touchpoint")
SMALL = "*"

config_app = typer.Typer(help="Workspace settings kept in the database.", no_args_is_help=True)


# --------------------------------------------------------------------------- parsing


def parse_kind(value: str) -> PeriodKind:
    """`--period` (also `cxbot digest`'s)."""
    try:
        return periods.parse_kind(value)
    except ValueError as exc:
        common.fail(f"--period: {exc}", common.EXIT_USAGE)


def parse_day(value: str | None) -> date | None:
    """`--date` (also `cxbot digest`'s)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        common.fail(
            f"--date: expected a date like 2026-11-20 (YYYY-MM-DD), got {value!r}",
            common.EXIT_USAGE,
        )


def parse_choice(option: str, value: str | None, choices: tuple[str, ...]) -> str | None:
    """An option's value among `choices`, any case (also `cxbot digest --locale`)."""
    if value is None:
        return None
    normalised = value.strip().lower()
    if normalised not in choices:
        common.fail(
            f"{option}: expected one of {', '.join(choices)}, got {value!r}", common.EXIT_USAGE
        )
    return normalised


def _required(option: str, value: str, choices: tuple[str, ...]) -> str:
    chosen = parse_choice(option, value, choices)
    assert chosen is not None  # a str in gives a str out
    return chosen


# --------------------------------------------------------------------------- metrics table


def _num(value: float | None, digits: int = 1, suffix: str = "") -> str:
    return "-" if value is None else f"{value:,.{digits}f}{suffix}"


def _small(n: int) -> str:
    return SMALL if 0 < n < SMALL_SAMPLE else ""


def _metric_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    nps, csat, ces, csi = report["nps"], report["csat"], report["ces"], report["csi"]
    ci = nps["ci95"]
    return [
        (
            "NPS",
            _num(nps["score"]) + _small(nps["n"]),
            f"{ci[0]:.1f} to {ci[1]:.1f}" if ci else "",
            str(nps["n"]),
            _num(nps["previous"]),
            nps["change"],
        ),
        (
            "CSAT",
            _num(csat["score"], suffix="%") + _small(csat["n"]),
            "",
            str(csat["n"]),
            _num(csat["previous"], suffix="%"),
            csat["change"],
        ),
        (
            "CES",
            _num(ces["score"], 2) + _small(ces["n"]),
            "",
            str(ces["n"]),
            _num(ces["previous"], 2),
            ces["change"],
        ),
        ("CSI", _num(csi["score"]), "", "", _num(csi["previous"]), ""),
    ]


def _money(value: float | None, currency: str | None) -> str:
    if value is None or not currency:
        return _num(value, 2)
    from babel.numbers import format_currency

    return format_currency(value, currency, locale="en")


def _other_rows(report: dict[str, Any], currency: str | None = None) -> list[tuple[str, str, str]]:
    churn, follow = report["churn"], report["detractor_followup"]
    return [
        (
            "Churn",
            _num(churn["rate"], suffix="%"),
            f"{churn['lost']} lost, {churn['average_customers']:,.1f} customers on average",
        ),
        ("Retention", _num(report["retention"]["rate"], suffix="%"), ""),
        ("CLV (average)", _money(report["clv"]["average"], currency), ""),
        ("Detractor alerts", str(follow["alerts"]), "raised in the period"),
        ("Handled within 24 h", str(follow["handled_within_24h"]), ""),
        ("Open and overdue", str(follow["open_overdue"]), ""),
        (
            "First response",
            _num(follow["median_hours_to_first_response"], suffix=" h"),
            "median",
        ),
    ]


def _print_table(
    report: dict[str, Any], kind: str, console: Console, currency: str | None = None
) -> None:
    from rich.table import Table

    period = report["period"]
    table = Table(title=f"Metrics, {kind} {period['start']} to {period['end']}")
    for name in ("metric", "value", "95% interval", "n", "previous", "change"):
        table.add_column(name, justify="left" if name in ("metric", "change") else "right")
    for row in _metric_rows(report):
        table.add_row(*row)
    console.print(table)
    others = Table(title="Customers (churn window) and detractor follow-up")
    for name in ("figure", "value", "detail"):
        others.add_column(name, justify="right" if name == "value" else "left")
    for other in _other_rows(report, currency):
        others.add_row(*other)
    console.print(others)
    small = any(_small(report[m]["n"]) for m in ("nps", "csat", "ces"))
    if "breakdown" in report and not report["breakdown"]:
        console.print("Breakdown: no answers in this period")
    elif "breakdown" in report:
        by = Table(title="Breakdown")
        for name in ("key", "NPS", "CSAT", "CES", "n"):
            by.add_column(name, justify="left" if name == "key" else "right")
        for line in report["breakdown"]:
            small = small or bool(_small(line["n"]))
            by.add_row(
                line["key"],
                _num(line["nps"]),
                _num(line["csat"], suffix="%"),
                _num(line["ces"], 2),
                str(line["n"]) + _small(line["n"]),
            )
        console.print(by)
    if small:
        console.print(f"{SMALL} small sample: fewer than {SMALL_SAMPLE} answers")


def _console() -> Console:
    from rich.console import Console

    # Piped output gets a fixed width so scripts see whole rows, not wrapped cells.
    return Console(width=None if sys.stdout.isatty() else 120, highlight=False)


def _print_goals(goals: list[Any], console: Any) -> None:
    from bot.handlers.goals.blocks import goal_lines
    from bot.i18n import translator

    # The command line speaks English, as its other output does; bold marks become plain.
    for line in goal_lines(goals, translator("en")):
        console.print(line.replace("*", ""), markup=False)


def metrics(
    period: str = typer.Option("week", "--period", help="week, month, quarter or year"),
    day: str = typer.Option(
        None, "--date", help="a day in the period (YYYY-MM-DD); default: the last complete one"
    ),
    by: str = typer.Option(None, "--by", help="break down by segment or touchpoint"),
    fmt: str = typer.Option(TABLE, "--format", help="table or json"),
    team: str = typer.Option(None, "--team", help="workspace (team) ID"),
) -> None:
    """The metrics of the period containing --date (default: the last complete period)."""
    from bot.handlers.goals.progress import goals_json, workspace_goals
    from bot.handlers.metrics.report import compute_metrics, workspace_currency, workspace_tz

    kind = parse_kind(period)
    when = parse_day(day)
    by_column = parse_choice("--by", by, BY_CHOICES)
    output = _required("--format", fmt, (TABLE, JSON))
    cfg = common.settings()
    eng = common.engine(cfg)
    team_id = common.resolve_team(cfg, eng, team)
    tz = workspace_tz(eng, team_id=team_id, default=cfg.cxbot_timezone)
    now = datetime.now(UTC)
    report = compute_metrics(
        eng, team_id=team_id, kind=kind, day=when, tz=tz, now=now, by=by_column
    )
    goals = workspace_goals(eng, team_id, tz, now)
    if output == JSON:
        typer.echo(json.dumps({**report, "goals": goals_json(goals)}, indent=2, ensure_ascii=False))
    else:
        currency = workspace_currency(eng, team_id=team_id)
        _print_table(report, kind, _console(), currency)
        _print_goals(goals, _console())


# --------------------------------------------------------------------------- export


def export(
    kind: str = typer.Argument(
        ..., help="responses, customers, insights, shoutouts, alerts, surveys"
    ),
    fmt: str = typer.Option("csv", "--format", help="csv or json"),
    out: Path = typer.Option(None, "--out", help="file to write (default: standard output)"),
    team: str = typer.Option(None, "--team", help="workspace (team) ID"),
    personal_data: bool = typer.Option(
        False,
        "--personal-data",
        help="include customers' e-mail addresses and names, and free text unmasked",
    ),
    quiet: bool = common.QUIET,
) -> None:
    """Export a workspace's records as CSV or JSON (anonymous answers carry no person)."""
    from bot.text import literal_parts
    from core.text import redact
    from storage.exports import EXPORT_KINDS, FORMATS, write_export

    def mask(text: str) -> str:
        return literal_parts(text, redact)

    what = _required("KIND", kind, EXPORT_KINDS)
    output = _required("--format", fmt, FORMATS)
    cfg = common.settings()
    eng = common.engine(cfg)
    team_id = common.resolve_team(cfg, eng, team)
    if out is None:
        count = write_export(
            eng,
            team_id=team_id,
            kind=what,
            fmt=output,
            out=sys.stdout,
            personal_data=personal_data,
            mask=mask,
        )
        sys.stdout.flush()
        common.say(f"exported {count} {what}", err=True)
        return
    # Written beside the target and renamed at the end: a failed export never
    # leaves a half-written file under the requested name.
    partial = out.with_name(f".{out.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as fh:
            count = write_export(
                eng,
                team_id=team_id,
                kind=what,
                fmt=output,
                out=fh,
                personal_data=personal_data,
                mask=mask,
            )
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        common.fail(f"--out: cannot write {out}: {exc.strerror or exc}")
    common.say(f"exported {count} {what} to {out}", err=True)


# --------------------------------------------------------------------------- config


def _shown_default(key: str, default: str | None, env: dict[str, str]) -> str:
    if key in env:
        return env[key]
    return "(not set)" if default is None else default


@config_app.command("show")
def config_show(
    team: str = typer.Option(None, "--team", help="workspace (team) ID"),
    fmt: str = common.FORMAT,
) -> None:
    """Every setting with its value and default."""
    from rich.table import Table

    from core import config_keys
    from storage.settings_store import get_settings

    cfg = common.settings()
    eng = common.engine(cfg)
    team_id = common.resolve_team(cfg, eng, team)
    stored = get_settings(eng, team_id=team_id)
    env = {
        key: f"{variable} ({getattr(cfg, variable.lower())})"
        for key, variable in config_keys.ENVIRONMENT.items()
    }
    if common.output_format(fmt) == common.JSON:
        rows = [
            {
                "key": row.key,
                "value": row.value,
                "default": _shown_default(row.key, row.default, env),
                "description": row.spec.description,
            }
            for row in config_keys.listing(stored)
        ]
        common.summary(fmt, {"team_id": team_id, "settings": rows}, [])
        return
    table = Table(title=f"Settings of workspace {team_id}")
    for name in ("key", "value", "default", "what it does"):
        table.add_column(name)
    for row in config_keys.listing(stored):
        table.add_row(
            row.key,
            row.value or "",
            _shown_default(row.key, row.default, env),
            row.spec.description,
        )
    _console().print(table)


def _change_setting(
    team: str | None, fmt: str, change: Callable[[Engine, str], tuple[dict[str, Any], str]]
) -> None:
    """`change(engine, team_id)` in the chosen workspace; a refused key or value fails."""
    from core import config_keys

    cfg = common.settings()
    eng = common.engine(cfg)
    team_id = common.resolve_team(cfg, eng, team)
    try:
        data, line = change(eng, team_id)
    except config_keys.ConfigError as exc:
        common.fail(str(exc))
    common.summary(fmt, data, [line])


@config_app.command("set")
def config_set(
    key: str = typer.Argument(..., help="setting name, e.g. alerts.channel"),
    value: str = typer.Argument(..., help="new value"),
    team: str = typer.Option(None, "--team", help="workspace (team) ID"),
    fmt: str = common.FORMAT,
    quiet: bool = common.QUIET,
) -> None:
    """Change a setting (checked before it is stored)."""
    from core import config_keys
    from storage import settings_store

    def change(eng: Engine, team_id: str) -> tuple[dict[str, Any], str]:
        name, stored = settings_store.set(eng, team_id=team_id, key=key, value=value)
        shown = config_keys.mask(name, stored)
        return {"key": name, "value": shown}, f"{name} = {shown}"

    _change_setting(team, fmt, change)


@config_app.command("unset")
def config_unset(
    key: str = typer.Argument(..., help="setting name"),
    team: str = typer.Option(None, "--team", help="workspace (team) ID"),
    fmt: str = common.FORMAT,
    quiet: bool = common.QUIET,
) -> None:
    """Remove a setting so its default applies again."""
    from storage import settings_store

    def change(eng: Engine, team_id: str) -> tuple[dict[str, Any], str]:
        removed = settings_store.unset(eng, team_id=team_id, key=key)
        line = f"{key} unset" if removed else f"{key} was not set"
        return {"key": key, "removed": removed}, line

    _change_setting(team, fmt, change)


def register(app: typer.Typer) -> None:
    app.command("metrics")(metrics)
    app.command("export")(export)
    app.add_typer(config_app, name="config")
