"""Pulse rounds: opening one (its DMs queued), closing one (its results queued), feeding a
customer-facing round's answers to the customer metrics, and a definition from the create
modal.

Everything posted goes through the outbox: the DMs are queued with the round in one
transaction (`storage.surveys.open_round`), addressed to the user id so Slack opens the
DM itself (no `conversations.open`, Tier 3, per person).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo

from slack_sdk import WebClient

from bot.handlers.pulse import blocks
from bot.handlers.pulse.audience import resolve_audience
from bot.i18n import translator
from bot.outbox import wake
from bot.services import Services
from core.surveys import SurveyDefinition
from core.themes import theme_counts
from storage import settings_store
from storage import surveys as store

log = logging.getLogger(__name__)


def workspace_reader(services: Services, team_id: str) -> tuple[str, ZoneInfo]:
    """(locale, timezone) of a workspace's channel messages and schedules; where the
    workspace sets none, this process's (CXBOT_LOCALE, CXBOT_TIMEZONE)."""
    settings = settings_store.load(services.engine, team_id=team_id)
    defaults = services.settings
    return settings.locale or defaults.cxbot_locale, settings.zone(defaults.cxbot_timezone)


def cooldown_days(services: Services, team_id: str) -> int:
    return settings_store.load(services.engine, team_id=team_id).pulse_cooldown_days


def payload_maker(
    services: Services,
    team_id: str,
    definition: SurveyDefinition,
    *,
    closes_at: datetime,
    reminder: bool = False,
) -> store.PayloadFor:
    """Renders a round's DM (or reminder) once per language; called inside storage's
    transaction, so it reads nothing from the database."""
    _locale, tz = workspace_reader(services, team_id)

    def payload_for(round_id: int, locale: str) -> dict[str, Any]:
        return blocks.survey_message(
            definition,
            round_id,
            translator(locale),
            closes_at=closes_at,
            tz=tz,
            reminder=reminder,
        )

    return payload_for


def start_round(
    services: Services,
    *,
    team_id: str,
    survey: store.SurveyInfo,
    occurrence: datetime | None = None,
    client: WebClient | None = None,
) -> store.OpenedRound | None:
    """Resolve the audience and open a round with its DMs queued; wakes the dispatcher.

    Without `client`, the workspace's own (NotInstalledError when it has none)."""
    client = client or services.slack.for_team(team_id)
    default_locale, _tz = workspace_reader(services, team_id)
    audience = resolve_audience(client, survey.definition, default_locale=default_locale)
    now = services.clock()
    opened = store.open_round(
        services.engine,
        team_id=team_id,
        survey=survey,
        members=audience.members,
        now=now,
        payload_for=payload_maker(
            services, team_id, survey.definition, closes_at=now + survey.definition.close_delay
        ),
        occurrence=occurrence,
        customer_facing=audience.customer_facing,
        cooldown_days=cooldown_days(services, team_id),
    )
    if opened is not None:
        log.info(
            "pulse: round %s of survey %s asks %d people (%d in cooldown, %d bots or deactivated)",
            opened.round.id,
            survey.id,
            opened.asked,
            opened.skipped_cooldown,
            audience.skipped,
        )
        wake(services)
    return opened


def results_channel(survey: store.SurveyInfo, customer_facing: bool) -> str | None:
    """Where a round's results go: the configured channel, else the audience channel (not
    a customer's), else a DM to whoever created the survey."""
    definition = survey.definition
    if definition.results_channel:
        return definition.results_channel
    if definition.audience_kind == "channel" and not customer_facing:
        return str(definition.audience)
    return survey.created_by


def close(services: Services, *, team_id: str, round_id: int) -> store.RoundInfo | None:
    """Close a round, queue its results, and feed customer metrics when it was customer-facing."""
    info = store.get_round(services.engine, team_id=team_id, round_id=round_id)
    if info is None or info.closed_at is not None:
        return None
    survey = store.get_survey(services.engine, team_id=team_id, survey_id=info.survey_id)
    if survey is None:
        return None
    closed = store.close_round(
        services.engine,
        team_id=team_id,
        round_id=round_id,
        now=services.clock(),
        results_channel=results_channel(survey, info.customer_facing),
        themes=theme_counts,
    )
    if closed is not None and closed.customer_facing:
        record_customer_metrics(services, team_id=team_id, round_id=round_id)
    wake(services)
    return closed


def record_customer_metrics(services: Services, *, team_id: str, round_id: int) -> int:
    """Store a customer-facing round's NPS/CSAT/CES answers as customer answers (source
    "pulse"); their detractor alerts are raised by the same insert. Idempotent."""
    from bot.background import answers_stored
    from storage.answers_in import store_answers

    _locale, tz = workspace_reader(services, team_id)
    frame = store.customer_answers_frame(services.engine, team_id=team_id, round_id=round_id, tz=tz)
    inserted = 0
    if not frame.empty:
        result = store_answers(
            services.engine, team_id=team_id, frame=frame, source="pulse", with_ids=True
        )
        inserted = result.inserted
        if result.ids:
            answers_stored(services, team_id=team_id, response_ids=result.ids)
    store.mark_metrics_recorded(services.engine, team_id=team_id, round_id=round_id)
    return inserted


# Which modal block shows a problem with which definition field.
_FIELD_BLOCKS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "audience": "channel",
        "name": "name",
        "questions": "question",
        "schedule": "time",
        "results_channel": "results",
    }
)


def definition_from_modal(values: dict[str, Any], tz_name: str) -> SurveyDefinition:
    """A definition from the create modal's values; DefinitionError names modal blocks
    (`block: message`) so the handler can show each under its field."""
    from core.surveys import DefinitionError, parse_definition, template_definition

    template = values.get("template") or "enps"
    if template == blocks.CUSTOM:
        question = values.get("question")
        if not question:
            raise DefinitionError(["question: write the question to ask"])
        qtype = values.get("qtype") or "likert"
        raw: dict[str, Any] = {
            "name": values.get("name") or question[:200],
            "questions": [{"id": "q1", "type": qtype, "text": question}],
        }
    else:
        raw = template_definition(template)
        if values.get("name"):
            raw["name"] = values["name"]
    audience: Any = values.get("channel") or values.get("users")
    if not audience:
        raise DefinitionError(["channel: pick a channel or people to ask"])
    raw["audience"] = audience
    raw["anonymous"] = values.get("anonymous", "yes") != "no"
    repeat = values.get("repeat") or "once"
    schedule: dict[str, Any] = {"repeat": repeat, "time": values.get("time") or "10:00"}
    schedule["timezone"] = tz_name
    if repeat != "once" or values.get("send_now") == "no":
        schedule["weekday"] = values.get("weekday") or "tue"
    raw["schedule"] = schedule
    if repeat == "weekly":
        raw["close_after_hours"] = min(float(raw.get("close_after_hours", 72)), 7 * 24)
    if values.get("results"):
        raw["results_channel"] = values["results"]
    try:
        return parse_definition(raw)
    except DefinitionError as exc:
        problems = []
        for problem in exc.problems:
            field_name = problem.split(":", 1)[0].split(".", 1)[0].split("[", 1)[0]
            block = _FIELD_BLOCKS.get(field_name, "template")
            problems.append(f"{block}: {problem}")
        raise DefinitionError(problems) from None
