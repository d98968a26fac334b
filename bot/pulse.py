"""Pulse survey glue: who is in an audience, opening rounds, and the sweeps that remind,
close and report.

Audience resolution pages through every Slack list (`conversations.members`,
`users.list`; `usergroups.users.list` returns a group whole) and skips bots, the bot
itself and deactivated people. Small audiences are looked up person by person with
`users.info` (Tier 4); large ones read the directory with `users.list` pages of 200
(Tier 2 but 200 people a call), which for thousands of people is the fewer calls. Member
ids come 1,000 a page: every call saved is a retry (and its wait) saved when Slack is busy.

Everything posted goes through the outbox: the DMs are queued with the round in one
transaction (`storage.surveys.open_round`), addressed to the user id so Slack opens the
DM itself (no `conversations.open`, Tier 3, per person).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from bot.clients import NotInstalledError
from bot.i18n import translator
from bot.i18n.translator import locale_code
from bot.outbox import wake
from bot.services import Services
from bot.views import pulse as views
from core.surveys import SurveyDefinition, due_occurrence
from core.themes import theme_counts as themes
from storage import settings_store
from storage import surveys as store

log = logging.getLogger(__name__)

USERS_INFO_MAX = 50  # up to this many people, users.info each; beyond, users.list pages
PAGE = 200  # users.list: Slack recommends pages of at most 200
MEMBERS_PAGE = 1000  # conversations.members returns bare ids: fewer, larger pages
SKIPPED_IDS = frozenset({"USLACKBOT"})


class AudienceError(Exception):
    """The audience cannot be read (unknown channel, bot not in it, ...); says which."""


@dataclass(frozen=True)
class Audience:
    members: list[store.Member]
    customer_facing: bool
    skipped: int  # bots and deactivated people left out


@dataclass
class _Defaults:
    locale: str = "en"
    timezone: str = "UTC"


_defaults = _Defaults()


def configure(services: Services) -> None:
    """Rendered messages fall back on this process's language and timezone."""
    _defaults.locale = services.settings.cxbot_locale
    _defaults.timezone = services.settings.cxbot_timezone


def workspace_reader(engine: Engine, team_id: str) -> tuple[str, ZoneInfo]:
    """(locale, timezone) of a workspace's channel messages and schedules."""
    settings = settings_store.load(engine, team_id=team_id)
    return settings.locale or _defaults.locale, settings.zone(_defaults.timezone)


def cooldown_days(engine: Engine, team_id: str) -> int:
    return settings_store.load(engine, team_id=team_id).pulse_cooldown_days


# --------------------------------------------------------------------------- audience


def _pages(call: Any, key: str, *, page: int = PAGE, **kwargs: Any) -> Iterator[Any]:
    cursor = None
    while True:
        response = (
            call(**kwargs, limit=page, cursor=cursor) if cursor else call(**kwargs, limit=page)
        )
        yield from response.get(key) or []
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return


def _usable(user: dict[str, Any], bot_user_id: str | None) -> bool:
    return not (
        user.get("is_bot")
        or user.get("deleted")
        or user.get("is_app_user")
        or user.get("id") in SKIPPED_IDS
        or user.get("id") == bot_user_id
    )


def resolve_audience(
    client: WebClient, definition: SurveyDefinition, *, default_locale: str = "en"
) -> Audience:
    """The people a round asks, with their language; raises AudienceError with Slack's reason."""
    customer_facing = False
    try:
        bot_user_id = str(client.auth_test().get("user_id") or "") or None
        if definition.audience_kind == "channel":
            channel = str(definition.audience)
            info = client.conversations_info(channel=channel).get("channel") or {}
            customer_facing = bool(info.get("is_ext_shared"))
            ids = list(
                _pages(client.conversations_members, "members", page=MEMBERS_PAGE, channel=channel)
            )
        elif definition.audience_kind == "usergroup":
            group = client.usergroups_users_list(usergroup=str(definition.audience))
            ids = list(group.get("users") or [])
        else:
            ids = list(definition.audience)
        ids = list(dict.fromkeys(i for i in ids if i and i != bot_user_id and i not in SKIPPED_IDS))
        people = _people(client, ids)
    except SlackApiError as exc:
        reason = exc.response.get("error") or exc.response.status_code
        raise AudienceError(f"{definition.audience}: Slack said {reason}") from None
    members = [
        store.Member(u["id"], locale_code(u.get("locale"), default_locale))
        for u in people
        if _usable(u, bot_user_id)
    ]
    return Audience(members, customer_facing, len(ids) - len(members))


def _people(client: WebClient, ids: list[str]) -> list[dict[str, Any]]:
    if len(ids) <= USERS_INFO_MAX:
        found = []
        for user_id in ids:
            try:
                found.append(client.users_info(user=user_id, include_locale=True)["user"])
            except SlackApiError as exc:
                if exc.response.get("error") != "user_not_found":
                    raise
        return found
    wanted = set(ids)
    directory = {
        u["id"]: u
        for u in _pages(client.users_list, "members", include_locale=True)
        if u.get("id") in wanted
    }
    return [directory[i] for i in ids if i in directory]


# --------------------------------------------------------------------------- rounds


def payload_maker(
    engine: Engine,
    team_id: str,
    definition: SurveyDefinition,
    *,
    closes_at: datetime,
    reminder: bool = False,
) -> store.PayloadFor:
    """Renders a round's DM (or reminder) once per language; called inside storage's
    transaction, so it reads nothing from the database."""
    _locale, tz = workspace_reader(engine, team_id)

    def payload_for(round_id: int, locale: str) -> dict[str, Any]:
        return views.survey_message(
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
    default_locale, _tz = workspace_reader(services.engine, team_id)
    audience = resolve_audience(client, survey.definition, default_locale=default_locale)
    now = services.clock()
    opened = store.open_round(
        services.engine,
        team_id=team_id,
        survey=survey,
        members=audience.members,
        now=now,
        payload_for=payload_maker(
            services.engine,
            team_id,
            survey.definition,
            closes_at=now + survey.definition.close_delay,
        ),
        occurrence=occurrence,
        customer_facing=audience.customer_facing,
        cooldown_days=cooldown_days(services.engine, team_id),
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
        themes=themes,
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

    _locale, tz = workspace_reader(services.engine, team_id)
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


# --------------------------------------------------------------------------- results renderer


def render_results(
    services: Services, team_id: str, payload: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """`render:pulse_results`: the results message from the round's stored results."""
    engine = services.engine
    round_id = int(payload["round_id"])
    info = store.get_round(engine, team_id=team_id, round_id=round_id)
    if info is None or info.results is None:
        raise ValueError(f"round {round_id} has no results")
    survey = store.get_survey(engine, team_id=team_id, survey_id=info.survey_id)
    if survey is None:
        raise ValueError(f"survey of round {round_id} is gone")
    locale, tz = workspace_reader(engine, team_id)
    trend = store.earlier_results(
        engine, team_id=team_id, survey_id=survey.id, before_round=round_id
    )
    message = views.results_message(
        survey.definition,
        info.results,
        translator(locale),
        opened_at=info.opened_at,
        tz=tz,
        trend=trend,
    )
    return "chat.postMessage", {**message, "channel": payload["channel"]}


# --------------------------------------------------------------------------- sweeps


def schedule_sweep(services: Services) -> None:
    """Open the rounds whose scheduled time has come (once per occurrence)."""
    configure(services)
    now = services.clock()
    # One client per workspace: each reads its own members with its own token.
    clients: dict[str, WebClient] = {}
    for survey in store.active_surveys(services.engine):
        schedule = survey.definition.schedule
        if not schedule.automatic:
            continue
        _locale, tz = workspace_reader(services.engine, survey.team_id)
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
    configure(services)
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
                services.engine,
                team_id,
                survey.definition,
                closes_at=info.closes_at,
                reminder=True,
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


# --------------------------------------------------------------------------- admins, modal


# Which modal block shows a problem with which definition field.
_FIELD_BLOCKS = {
    "audience": "channel",
    "name": "name",
    "questions": "question",
    "schedule": "time",
    "results_channel": "results",
}


def definition_from_modal(values: dict[str, Any], tz_name: str) -> SurveyDefinition:
    """A definition from the create modal's values; DefinitionError names modal blocks
    (`block: message`) so the handler can show each under its field."""
    from core.surveys import DefinitionError, parse_definition, template_definition

    template = values.get("template") or "enps"
    if template == views.CUSTOM:
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
