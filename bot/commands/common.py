"""What every `cxbot` command shares: settings, the database, the workspace, errors, progress,
and the conventions of its output (`--quiet`, `--format json`)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from slack_sdk import WebClient
    from sqlalchemy.engine import Engine

    from bot.services import Services
    from bot.settings import Settings

# Used when no Slack token is configured and the database holds no workspace yet:
# the sandbox and offline imports work under this id.
LOCAL_TEAM = "T0CXLOCAL"

# A command that sends its messages before it returns stops waiting (the bot goes on
# sending them) after this long without progress: Slack unreachable, say.
STALL_SECONDS = 60.0

EXIT_BAD_INPUT = 1
EXIT_USAGE = 2


TEXT, JSON = "text", "json"


# Whether this invocation prints only errors and what was asked for (`--quiet`): a context
# variable, so that one process running several commands (tests, CliRunner) keeps each
# invocation's own setting.
QUIETLY: ContextVar[bool] = ContextVar("cxbot_quiet", default=False)


def quiet() -> bool:
    return QUIETLY.get()


def _set_quiet(value: bool) -> bool:
    if value:
        QUIETLY.set(True)
    return value


# Accepted before the command (`cxbot -q import ...`) and after it.
QUIET = typer.Option(
    False,
    "--quiet",
    "-q",
    callback=_set_quiet,
    help="Print nothing but errors and what was asked for (no progress, no notes).",
)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("cxbot")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"


def output_format(value: str) -> str:
    chosen = value.strip().lower()
    if chosen not in (TEXT, JSON):
        fail(f"--format: expected text or json, got {value!r}", EXIT_USAGE)
    return chosen


# Checked as the command line is read, so a bad --format stops a command before it does
# anything (a setting stored, demo data written) rather than after.
FORMAT = typer.Option(
    TEXT,
    "--format",
    callback=output_format,
    help="text or json (one JSON object on standard output).",
)


def say(line: str, *, err: bool = False) -> None:
    """A note for the person at the terminal; `--quiet` leaves it out."""
    if not quiet():
        typer.echo(line, err=err)


def summary(fmt: str, data: dict[str, Any], lines: Sequence[str]) -> None:
    """What a command did: `data` as one JSON object with `--format json`, else `lines`
    (left out by `--quiet`, which keeps the exit code as the answer)."""
    if output_format(fmt) == JSON:
        typer.echo(json.dumps(data, ensure_ascii=False, default=str))
        return
    for line in lines:
        say(line)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings() -> Settings:
    from bot.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc))


def engine(cfg: Settings) -> Engine:
    """The database with migrations applied (start-up always brings the schema up to date)."""
    from storage.db import make_engine, upgrade_if_behind

    try:
        eng = make_engine(cfg.database_url)
        upgrade_if_behind(eng)
    except Exception as exc:  # the driver's own message names the host or file
        fail(f"DATABASE_URL: cannot open the database: {str(exc).splitlines()[0]}")
    return eng


def resolve_team(cfg: Settings, eng: Engine, explicit: str | None) -> str:
    """Which workspace a command acts on (CONTRACT.md, 'Which workspace')."""
    from storage.workspaces import known_teams

    if explicit:
        return explicit
    if cfg.oauth_enabled:
        # The installed workspaces decide: one with data only (known_teams) must not win
        # over one installed a moment ago that has none yet.
        from bot.clients import SlackClients

        installed = SlackClients(cfg, eng).installed_teams()
        if len(installed) == 1:
            return installed[0]
        if installed:
            known = sorted(set(known_teams(eng)) - set(installed))
            listed = f"installed: {', '.join(installed)}"
            listed += f"; also in the database: {', '.join(known)}" if known else ""
            fail(f"several workspaces ({listed}): pick one with --team", EXIT_USAGE)
    elif cfg.slack_bot_token and cfg.mode != "sandbox":
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


def slack_client(services: Services, team_id: str, *, why: str) -> WebClient:
    """The client a command reaches `team_id`'s Slack with, or a clear failure: no token
    configured at all, or (OAuth mode) the workspace has not installed the app."""
    from bot.clients import NotInstalledError

    if not services.settings.can_call_slack:
        fail(f"SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET): needed {why}")
    try:
        return services.slack.for_team(team_id)
    except NotInstalledError as exc:
        fail(f"--team: {exc}")


def interactive() -> bool:
    return sys.stderr.isatty() and not quiet()


@contextmanager
def progress(description: str, total: int | None = None) -> Iterator[Callable[..., None]]:
    """A progress bar on a terminal, nothing when piped or quiet; yields `advance(n)`."""
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


def send_queued(services: Services, team_id: str, keys: list[str], label: str) -> dict[str, str]:
    """Send the outbox until each of `keys` is sent or failed, or nothing has moved for
    STALL_SECONDS; returns their states (a key never queued is missing)."""
    from bot.outbox import Dispatcher
    from storage import outbox

    dispatcher = Dispatcher(services)
    done = 0
    moved = time.monotonic()
    with progress(label, total=len(keys)) as advance:
        while True:
            states = outbox.statuses(services.engine, team_id=team_id, keys=keys)
            waiting = sum(1 for s in states.values() if s in (outbox.PENDING, outbox.SENDING))
            finished = len(keys) - waiting
            if finished > done:
                advance(finished - done)
                done = finished
                moved = time.monotonic()
            if not waiting or time.monotonic() - moved > STALL_SECONDS:
                return states
            if not dispatcher.run_once():
                time.sleep(0.2)  # an upload waits its turn behind its message
