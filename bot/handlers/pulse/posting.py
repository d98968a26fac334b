"""What pulse surveys hand the outbox: the results message, rendered at send time from the
round's stored results (`render:pulse_results`)."""

from __future__ import annotations

from typing import Any

from bot.handlers.pulse import blocks
from bot.handlers.pulse.rounds import workspace_reader
from bot.i18n import Translator, translator
from bot.services import Services
from storage import surveys as store


def results_of(
    services: Services,
    team_id: str,
    survey: store.SurveyInfo,
    info: store.RoundInfo,
    t: Translator | None = None,
) -> dict[str, Any]:
    """A closed round's results message, with the earlier rounds' trend; in `t`'s language,
    else the workspace's."""
    if info.results is None:
        raise ValueError(f"round {info.id} has no results")
    locale, tz = workspace_reader(services, team_id)
    trend = store.earlier_results(
        services.engine, team_id=team_id, survey_id=survey.id, before_round=info.id
    )
    return blocks.results_message(
        survey.definition,
        info.results,
        t or translator(locale),
        opened_at=info.opened_at,
        tz=tz,
        trend=trend,
    )


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
    message = results_of(services, team_id, survey, info)
    return "chat.postMessage", {**message, "channel": payload["channel"]}
