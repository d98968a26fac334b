"""Pulse surveys' scheduled work: open the rounds whose time has come, remind who has not
answered, close the rounds whose time is up and feed customer metrics."""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.clients import NotInstalledError
from bot.handlers.pulse.audience import AudienceError
from bot.handlers.pulse.rounds import (
    close,
    payload_maker,
    record_customer_metrics,
    start_round,
    workspace_reader,
)
from bot.outbox import wake
from bot.services import Services
from core.surveys import due_occurrence
from storage import surveys as store

log = logging.getLogger(__name__)


def schedule_sweep(services: Services) -> None:
    """Open the rounds whose scheduled time has come (once per occurrence)."""
    now = services.clock()
    # One client per workspace: each reads its own members with its own token.
    clients: dict[str, WebClient] = {}
    for survey in store.active_surveys(services.engine):
        schedule = survey.definition.schedule
        if not schedule.automatic:
            continue
        _locale, tz = workspace_reader(services, survey.team_id)
        due = due_occurrence(schedule, anchor=survey.created_at, now=now, default_tz=str(tz))
        if due is None or store.has_occurrence(
            services.engine, team_id=survey.team_id, survey_id=survey.id, occurrence=due
        ):
            continue
        if store.open_round_of(services.engine, team_id=survey.team_id, survey_id=survey.id):
            continue  # the previous round is still open; validation keeps this rare
        try:
            client = clients.get(survey.team_id) or services.slack.for_team(survey.team_id)
            clients[survey.team_id] = client
            start_round(
                services, team_id=survey.team_id, survey=survey, occurrence=due, client=client
            )
        except (AudienceError, NotInstalledError) as exc:
            log.warning("pulse: survey %s cannot start its round: %s", survey.id, exc)
        except Exception:
            # One workspace's trouble (a revoked token, Slack down) must not keep the
            # others' rounds back; this occurrence is tried again on the next tick.
            log.exception("pulse: survey %s of %s failed to start", survey.id, survey.team_id)


def rounds_sweep(services: Services) -> None:
    """Remind non-answerers, close rounds whose time is up, feed customer metrics."""
    run_rounds(services)


def run_rounds(services: Services) -> dict[str, int]:
    """One pass of the rounds sweep; returns what it did (for tests and logs)."""
    now = services.clock()
    done = {"reminded": 0, "closed": 0, "recorded": 0}
    for team_id, round_id in store.due_reminders(services.engine, now=now):
        info = store.get_round(services.engine, team_id=team_id, round_id=round_id)
        if info is None:
            continue
        survey = store.get_survey(services.engine, team_id=team_id, survey_id=info.survey_id)
        if survey is None:
            continue
        done["reminded"] += store.queue_reminders(
            services.engine,
            team_id=team_id,
            round_id=round_id,
            now=now,
            payload_for=payload_maker(
                services, team_id, survey.definition, closes_at=info.closes_at, reminder=True
            ),
        )
    for team_id, round_id in store.due_closings(services.engine, now=now):
        if close(services, team_id=team_id, round_id=round_id) is not None:
            done["closed"] += 1
    for team_id, round_id in store.unrecorded_customer_rounds(services.engine):
        done["recorded"] += record_customer_metrics(services, team_id=team_id, round_id=round_id)
    if done["reminded"]:
        wake(services)
    return done
