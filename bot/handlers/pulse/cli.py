"""`cxbot pulse create FILE | send SURVEY | close SURVEY`: pulse surveys for automation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.commands import common

if TYPE_CHECKING:
    from bot.services import Services
    from storage.surveys import SurveyInfo

pulse_app = typer.Typer(
    help="Pulse surveys: create, send a round, close a round.", no_args_is_help=True
)

TEAM = typer.Option(None, "--team", help="The workspace (team id) when several are installed.")
WAIT = typer.Option(True, "--wait/--no-wait", help="Deliver the messages before returning.")
SURVEY = typer.Argument(..., help="The survey's id (printed by `cxbot pulse create`).")


def register(app: typer.Typer) -> None:
    app.add_typer(pulse_app, name="pulse")


def _services(team: str | None) -> tuple[Services, str]:
    from bot.services import Services, system_clock

    cfg = common.settings()
    eng = common.engine(cfg)
    services = Services(settings=cfg, engine=eng, clock=system_clock)
    return services, common.resolve_team(cfg, eng, team)


@pulse_app.command("create")
def create_command(
    file: Path = typer.Argument(..., help="A YAML or JSON survey definition."),
    team: str | None = TEAM,
    fmt: str = common.FORMAT,
    quiet: bool = common.QUIET,
) -> None:
    """Create a survey from a definition file; prints its id."""
    from bot.handlers.pulse.rounds import workspace_reader
    from core.surveys import DefinitionError, load_definition, next_occurrence
    from storage import surveys as store

    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        common.fail(f"{file}: no such file")
    except (OSError, UnicodeDecodeError) as exc:
        common.fail(f"{file}: cannot read it as UTF-8 text: {exc}")
    try:
        definition = load_definition(text, source=str(file))
    except DefinitionError as exc:
        lines = [p if p.startswith(str(file)) else f"{file}: {p}" for p in exc.problems]
        common.fail("\n".join(lines))
    services, team_id = _services(team)
    now = services.clock()
    survey_id = store.create_survey(
        services.engine, team_id=team_id, definition=definition, created_by=None, now=now
    )
    _locale, tz = workspace_reader(services, team_id)
    upcoming = next_occurrence(definition.schedule, anchor=now, after=now, default_tz=str(tz))
    if common.output_format(fmt) == common.JSON:
        data = {
            "survey_id": survey_id,
            "name": definition.name,
            "next_round": upcoming.astimezone(tz).isoformat() if upcoming else None,
        }
        common.summary(fmt, data, [])
        return
    typer.echo(str(survey_id))  # the answer itself: printed even with --quiet
    note = f"created survey {survey_id} “{definition.name}”"
    note += f"; next round {upcoming.astimezone(tz):%Y-%m-%d %H:%M %Z}" if upcoming else ""
    common.say(note, err=True)


def _survey(fmt: str, team: str | None, survey_id: int) -> tuple[Services, str, SurveyInfo]:
    """The command's services, workspace and survey (or its failure)."""
    common.output_format(fmt)
    from storage import surveys as store

    services, team_id = _services(team)
    survey = store.get_survey(services.engine, team_id=team_id, survey_id=survey_id)
    if survey is None:
        common.fail(f"SURVEY: there is no survey {survey_id} in workspace {team_id}")
    return services, team_id, survey


NEEDED = "to reach Slack (set them, or use `cxbot sandbox`)"


def _deliver(services: Services, team_id: str, keys: list[str], label: str) -> tuple[int, int, int]:
    """Send `keys` now (see common.send_queued); (sent, failed, still queued)."""
    from storage import outbox

    states = list(common.send_queued(services, team_id, keys, label).values())
    sent, failed = states.count(outbox.SENT), states.count(outbox.FAILED)
    return sent, failed, len(keys) - sent - failed


@pulse_app.command("send")
def send_command(
    survey_id: int = SURVEY,
    team: str | None = TEAM,
    wait: bool = WAIT,
    fmt: str = common.FORMAT,
    quiet: bool = common.QUIET,
) -> None:
    """Start a round now: a DM to everyone in the audience."""
    from bot.handlers.pulse.audience import AudienceError
    from bot.handlers.pulse.rounds import start_round
    from storage import surveys as store

    services, team_id, survey = _survey(fmt, team, survey_id)
    client = common.slack_client(services, team_id, why=NEEDED)
    if store.open_round_of(services.engine, team_id=team_id, survey_id=survey_id):
        common.fail(f"SURVEY: survey {survey_id} already has an open round; close it first")
    try:
        opened = start_round(services, team_id=team_id, survey=survey, client=client)
    except AudienceError as exc:
        common.fail(f"audience {exc}")
    if opened is None:
        common.fail(f"SURVEY: survey {survey_id} could not open a round")
    number = store.round_number(
        services.engine, team_id=team_id, survey_id=survey_id, round_id=opened.round.id
    )
    line = f"round {number} of survey {survey_id}: asking {opened.asked} people"
    if opened.skipped_cooldown:
        line += f" ({opened.skipped_cooldown} left out: asked by another survey lately)"
    lines = [line]
    data: dict[str, object] = {
        "survey_id": survey_id,
        "round_id": opened.round.id,
        "asked": opened.asked,
        "skipped_cooldown": opened.skipped_cooldown,
    }
    if wait and opened.asked:
        users = store.asked_users(services.engine, team_id=team_id, round_id=opened.round.id)
        keys = [store.dm_key(opened.round.id, u) for u in users]
        sent, failed, waiting = _deliver(services, team_id, keys, "Sending the survey")
        line = f"sent {sent} DMs" + (f", {failed} failed (see the log)" if failed else "")
        if waiting:
            line += f"; {waiting} still queued (Slack does not answer: the bot keeps sending them)"
        lines.append(line)
        data.update(sent=sent, failed=failed, queued=waiting)
    common.summary(fmt, data, lines)


@pulse_app.command("close")
def close_command(
    survey_id: int = SURVEY,
    team: str | None = TEAM,
    wait: bool = WAIT,
    fmt: str = common.FORMAT,
    quiet: bool = common.QUIET,
) -> None:
    """End the open round and post its results."""
    from bot.handlers.pulse.rounds import close, results_channel
    from storage import surveys as store

    services, team_id, survey = _survey(fmt, team, survey_id)
    # Posting the results needs the workspace's token: checked before the round is closed.
    post = wait and services.settings.can_call_slack
    if post:
        common.slack_client(services, team_id, why=NEEDED)
    info = store.open_round_of(services.engine, team_id=team_id, survey_id=survey_id)
    if info is None:
        common.fail(f"SURVEY: survey {survey_id} has no open round")
    number = store.round_number(
        services.engine, team_id=team_id, survey_id=survey_id, round_id=info.id
    )
    closed = close(services, team_id=team_id, round_id=info.id)
    if closed is None or closed.results is None:
        common.fail(f"SURVEY: round {number} was closed by someone else meanwhile")
    results = closed.results
    shown = "results shown" if results.shown else "not enough answers to show results"
    answered = f"{results.answered} of {results.asked} answered"
    lines = [f"round {number} of survey {survey_id} closed: {answered}; {shown}"]
    data: dict[str, object] = {
        "survey_id": survey_id,
        "round_id": info.id,
        "asked": results.asked,
        "answered": results.answered,
        "shown": results.shown,
        "results": "not posted",
    }
    channel = results_channel(survey, closed.customer_facing)
    if post and channel:
        sent, _failed, waiting = _deliver(
            services, team_id, [store.results_key(info.id)], "Posting results"
        )
        if sent:
            lines.append(f"results posted to {channel}")
            data.update(results="posted", channel=channel)
        elif waiting:
            lines.append(
                "the results are still queued (Slack does not answer: the bot keeps trying)"
            )
            data.update(results="queued", channel=channel)
        else:
            lines.append("posting the results failed")
            data.update(results="failed", channel=channel)
    common.summary(fmt, data, lines)
