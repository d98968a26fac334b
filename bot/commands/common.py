"""What every `cxbot` command shares: settings, the database, the workspace, errors, progress."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from sqlalchemy.engine import Engine

from bot.settings import Settings, SettingsError, load_settings
from storage.db import make_engine, upgrade

# Used when no Slack token is configured and the database holds no workspace yet:
# the sandbox and offline imports work under this id.
LOCAL_TEAM = "T0CXLOCAL"

EXIT_BAD_INPUT = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc))


def engine(cfg: Settings) -> Engine:
    """The database with migrations applied (start-up always brings the schema up to date)."""
    try:
        eng = make_engine(cfg.database_url)
        upgrade(eng)
    except Exception as exc:  # the driver's own message names the host or file
        fail(f"DATABASE_URL: cannot open the database: {str(exc).splitlines()[0]}")
    return eng


def resolve_team(cfg: Settings, eng: Engine, explicit: str | None) -> str:
    """Which workspace a command acts on (CONTRACT.md, 'Which workspace')."""
    from storage.workspaces import known_teams

    if explicit:
        return explicit
    if cfg.slack_bot_token and cfg.mode != "sandbox":
        from slack_sdk import WebClient
        from slack_sdk.errors import SlackApiError

        try:
            team = WebClient(token=cfg.slack_bot_token, base_url=cfg.slack_api_url).auth_test()
            return str(team["team_id"])
        except SlackApiError as exc:
            fail(f"SLACK_BOT_TOKEN: Slack refused the token ({exc.response.get('error')})")
        except Exception as exc:
            fail(f"SLACK_API_URL: cannot reach Slack: {exc}")
    teams = known_teams(eng)
    if len(teams) > 1:
        fail(
            "several workspaces in the database "
            f"({', '.join(sorted(teams))}): pick one with --team",
            EXIT_USAGE,
        )
    return teams[0] if teams else LOCAL_TEAM


def interactive() -> bool:
    return sys.stderr.isatty()


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[callable]:  # type: ignore[valid-type]
    """A progress bar on a terminal, nothing when piped; yields `advance(n)`."""
    if not interactive():
        yield lambda n=1: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)
