"""`/pulse` and the survey DMs: create (admins), list, send, close, results; answer buttons
and the free-text modal (everyone asked).

Each listener acks first; a round's fan-out (audience lookup, queueing the DMs) runs after
the ack. Answers are one storage call each; the DM is then redrawn with the reader's
choices so a second click visibly changes the answer instead of adding one.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.admins import is_admin
from bot.errors import UserError
from bot.forms import reader, tell, text_value
from bot.handlers.pulse import blocks, rounds
from bot.handlers.pulse.audience import AudienceError
from bot.handlers.pulse.posting import results_of
from bot.i18n import N_, Translator
from bot.services import Services
from bot.text import escape
from core.surveys import DefinitionError, next_occurrence
from storage import surveys as store

log = logging.getLogger(__name__)

MAX_ID_DIGITS = 9  # survey ids are 32-bit integers on PostgreSQL
ADMINS_ONLY = N_("Only admins can {what} pulse surveys. Ask your CX lead.")
UNKNOWN_SURVEY = N_("There is no pulse survey {id}. `/pulse list` shows them.")
USAGE = N_(
    "Use `/pulse create`, `/pulse list`, `/pulse send SURVEY`, `/pulse close SURVEY` "
    "or `/pulse results SURVEY` (SURVEY is the number `/pulse list` shows)."
)
ROUND_OPEN = N_("Survey {id} already has an open round; close it first.")
NO_OPEN_ROUND = N_("Survey {id} has no open round.")
SENT_NOBODY = N_(
    "Round {round} of “{name}” went out to no one: nobody in its audience can be asked "
    "(bots and deactivated members are left out)."
)


def sent_text(
    t: Translator, opened: store.OpenedRound, number: int, name: str, cooldown_days: int
) -> str:
    """What the sender reads once a round opened (`number`: which round of its survey,
    as /pulse close says it); a round that reached no one says why."""
    name = escape(name)
    if opened.asked == 0 and opened.skipped_cooldown:
        return t.ngettext(
            "Round {round} of “{name}” went out to no one: the {skipped} person in its "
            "audience was asked within the last {days} days (pulse.cooldown_days).",
            "Round {round} of “{name}” went out to no one: all {skipped} people in its "
            "audience were asked within the last {days} days (pulse.cooldown_days).",
            opened.skipped_cooldown,
            round=number,
            name=name,
            skipped=t.number(opened.skipped_cooldown, 0),
            days=t.number(cooldown_days, 0),
        )
    if opened.asked == 0:
        return t.gettext(SENT_NOBODY, round=number, name=name)
    return t.ngettext(
        "Round {round} of “{name}” is going out to {count} person.",
        "Round {round} of “{name}” is going out to {count} people.",
        opened.asked,
        round=number,
        name=name,
        count=t.number(opened.asked, 0),
    )


SEND_FAILED = N_("The round could not start: {reason}")
CLOSED = N_("Round {round} of “{name}” is closed; the results are on their way.")
NO_RESULTS = N_("Survey {id} has no closed round yet.")
CREATED = N_("Pulse survey {id} “{name}” is created.")
NEXT_ROUND = N_("Next round: {when}.")
ROUND_CLOSED = N_("This survey is closed; answers are no longer taken.")
NOT_ASKED = N_("This survey was not sent to you.")
ANSWER_INVALID = N_("That answer could not be recorded. Please try again.")
EMPTY_TEXT = N_("Write an answer, or cancel.")
ASK_IN_DM = N_(
    "Pulse surveys arrive as direct messages from me; answer them there. "
    "`/pulse list` shows the surveys of this workspace."
)


def register(app: App, services: Services) -> None:
    @app.command("/pulse")
    def pulse_callback(
        ack: Ack,
        command: dict[str, Any],
        respond: Respond,
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        words = (command.get("text") or "").split()
        verb = words[0].lower() if words else ""
        user, team, t = _reader(services, context)
        if verb in ("", "create"):
            if not is_admin(services, client, user):
                if verb:
                    raise UserError(ADMINS_ONLY, what=t.gettext("create"))
                tell(respond, t.gettext(ASK_IN_DM))
                return
            client.views_open(trigger_id=command["trigger_id"], view=blocks.create_modal(t))
        elif verb == "list":
            _list(respond, team, t)
        elif verb in ("send", "close", "results") and len(words) == 2:
            survey = _survey(team, words[1])
            if verb == "results":
                _results(respond, team, survey, t)
                return
            if not is_admin(services, client, user):
                raise UserError(
                    ADMINS_ONLY, what=t.gettext("send") if verb == "send" else t.gettext("close")
                )
            if verb == "send":
                _send(respond, team, survey, t, client)
            else:
                _close(respond, team, survey, t)
        else:
            tell(respond, t.gettext(USAGE))

    @app.view(blocks.CREATE_MODAL)
    def create_submit_callback(
        ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        user, team, t = _reader(services, context)
        if not is_admin(services, client, user):
            # Checked again here, not only when the form opens: a submission can be
            # crafted (or the form kept open after losing admin rights).
            refusal = t.gettext(ADMINS_ONLY, what=t.gettext("create"))
            ack(response_action="errors", errors={"name": refusal})
            return
        values = blocks.create_values((view.get("state") or {}).get("values") or {})
        _locale, tz = rounds.workspace_reader(services, team)
        try:
            definition = rounds.definition_from_modal(values, str(tz))
        except DefinitionError as exc:
            errors: dict[str, str] = {}
            for problem in exc.problems:
                block, _, message = problem.partition(": ")
                errors.setdefault(block, message)
            ack(response_action="errors", errors=errors)
            return
        ack()
        now = services.clock()
        survey_id = store.create_survey(
            services.engine, team_id=team, definition=definition, created_by=user, now=now
        )
        lines = [t.gettext(CREATED, id=survey_id, name=escape(t.gettext(definition.name)))]
        upcoming = next_occurrence(definition.schedule, anchor=now, after=now, default_tz=str(tz))
        if upcoming is not None:
            lines.append(t.gettext(NEXT_ROUND, when=t.timestamp(upcoming, tz)))
        survey = store.get_survey(services.engine, team_id=team, survey_id=survey_id)
        if survey is not None and values.get("send_now") == "yes":
            try:
                opened = rounds.start_round(services, team_id=team, survey=survey, client=client)
                if opened is not None:
                    lines.append(_sent(team, survey, opened, t))
            except AudienceError as exc:
                lines.append(t.gettext(SEND_FAILED, reason=str(exc)))
        client.chat_postMessage(channel=user, text="\n".join(lines))

    @app.action(re.compile(f"^{blocks.ANSWER_ACTION}_"))
    def answer_callback(
        ack: Ack, body: dict[str, Any], context: BoltContext, respond: Respond
    ) -> None:
        ack()
        pressed = _pressed(body, 3)
        round_id, question_id, score = int(pressed[0]), pressed[1], int(pressed[2])
        user, team, t = _reader(services, context)
        status = _answer(team, user, round_id, question_id, score=score)
        _after_answer(respond, status, team, round_id, user, t)

    @app.action(blocks.TEXT_ACTION)
    def text_button_callback(
        ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        ack()
        pressed = _pressed(body, 2)
        round_id, question_id = int(pressed[0]), pressed[1]
        user, team, t = _reader(services, context)
        info = store.get_round(services.engine, team_id=team, round_id=round_id)
        survey = info and store.get_survey(services.engine, team_id=team, survey_id=info.survey_id)
        question = survey.definition.question(question_id) if survey else None
        if info is None or question is None or not info.is_open(services.clock()):
            tell(respond, t.gettext(ROUND_CLOSED))
            return
        current = store.my_answers(
            services.engine, team_id=team, round_id=round_id, user_id=user
        ).get(question_id)
        container = body.get("container") or {}
        view = blocks.text_modal(
            round_id, question, t, current if isinstance(current, str) else None
        )
        # Where the DM is, so the submission can redraw it.
        view["private_metadata"] += (
            f":{container.get('channel_id', '')}:{container.get('message_ts', '')}"
        )
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(blocks.TEXT_MODAL)
    def text_submit_callback(
        ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        user, team, t = _reader(services, context)
        meta = str(view.get("private_metadata") or "").split(":")
        text = text_value(view, blocks.TEXT_BLOCK, blocks.TEXT_INPUT)
        if not text.strip():
            ack(response_action="errors", errors={blocks.TEXT_BLOCK: t.gettext(EMPTY_TEXT)})
            return
        if len(meta) < 2 or not meta[0].isdigit():
            raise UserError(ANSWER_INVALID)
        round_id, question_id = int(meta[0]), meta[1]
        status = _answer(team, user, round_id, question_id, value=text)
        if status == "closed":
            ack(response_action="errors", errors={blocks.TEXT_BLOCK: t.gettext(ROUND_CLOSED)})
            return
        if status not in ("recorded", "changed"):
            ack(response_action="errors", errors={blocks.TEXT_BLOCK: t.gettext(ANSWER_INVALID)})
            return
        ack()
        channel, ts = (meta[2], meta[3]) if len(meta) >= 4 else ("", "")
        if channel and ts:
            message = _redrawn(team, round_id, user, t)
            if message is not None:
                client.chat_update(channel=channel, ts=ts, **message)

    # ------------------------------------------------------------------ helpers

    def _answer(
        team: str,
        user: str,
        round_id: int,
        question_id: str,
        *,
        score: int | None = None,
        value: str | None = None,
    ) -> store.AnswerStatus:
        return store.record_answer(
            services.engine,
            team_id=team,
            round_id=round_id,
            user_id=user,
            question_id=question_id,
            now=services.clock(),
            score=score,
            value=value,
        )

    def _survey(team: str, word: str) -> store.SurveyInfo:
        survey = (
            store.get_survey(services.engine, team_id=team, survey_id=int(word))
            # ASCII digits within a database integer: "²" or 10**22 are no survey.
            if word.isascii() and word.isdigit() and len(word) <= MAX_ID_DIGITS
            else None
        )
        if survey is None:
            raise UserError(UNKNOWN_SURVEY, id=word[:20])
        return survey

    def _list(respond: Respond, team: str, t: Translator) -> None:
        _locale, tz = rounds.workspace_reader(services, team)
        now = services.clock()
        items = []
        for s in store.list_surveys(services.engine, team_id=team):
            upcoming = next_occurrence(
                s.definition.schedule, anchor=s.created_at, after=now, default_tz=str(tz)
            )
            is_open = store.open_round_of(services.engine, team_id=team, survey_id=s.id)
            items.append(
                (s.id, s.name, s.definition.schedule.repeat, upcoming, is_open is not None)
            )
        message = blocks.survey_list(items, t, tz)
        respond(response_type="ephemeral", replace_original=False, **message)

    def _send(
        respond: Respond, team: str, survey: store.SurveyInfo, t: Translator, client: WebClient
    ) -> None:
        if store.open_round_of(services.engine, team_id=team, survey_id=survey.id):
            raise UserError(ROUND_OPEN, id=survey.id)
        try:
            opened = rounds.start_round(services, team_id=team, survey=survey, client=client)
        except AudienceError as exc:
            tell(respond, t.gettext(SEND_FAILED, reason=str(exc)))
            return
        if opened is not None:
            tell(respond, _sent(team, survey, opened, t))

    def _sent(team: str, survey: store.SurveyInfo, opened: store.OpenedRound, t: Translator) -> str:
        number = store.round_number(
            services.engine, team_id=team, survey_id=survey.id, round_id=opened.round.id
        )
        days = rounds.cooldown_days(services, team)
        return sent_text(t, opened, number, t.gettext(survey.name), days)

    def _close(respond: Respond, team: str, survey: store.SurveyInfo, t: Translator) -> None:
        info = store.open_round_of(services.engine, team_id=team, survey_id=survey.id)
        if info is None:
            raise UserError(NO_OPEN_ROUND, id=survey.id)
        rounds.close(services, team_id=team, round_id=info.id)
        number = store.round_number(
            services.engine, team_id=team, survey_id=survey.id, round_id=info.id
        )
        tell(respond, t.gettext(CLOSED, round=number, name=escape(t.gettext(survey.name))))

    def _results(respond: Respond, team: str, survey: store.SurveyInfo, t: Translator) -> None:
        latest = store.latest_closed_round(services.engine, team_id=team, survey_id=survey.id)
        if latest is None or latest.results is None:
            raise UserError(NO_RESULTS, id=survey.id)
        message = results_of(services, team, survey, latest, t)
        respond(response_type="ephemeral", replace_original=False, **message)

    def _redrawn(team: str, round_id: int, user: str, t: Translator) -> dict[str, Any] | None:
        info = store.get_round(services.engine, team_id=team, round_id=round_id)
        if info is None:
            return None
        survey = store.get_survey(services.engine, team_id=team, survey_id=info.survey_id)
        if survey is None:
            return None
        _locale, tz = rounds.workspace_reader(services, team)
        is_open = info.is_open(services.clock())
        answers = (
            store.my_answers(services.engine, team_id=team, round_id=round_id, user_id=user)
            if is_open
            else {}
        )
        return blocks.survey_message(
            survey.definition,
            round_id,
            t,
            closes_at=info.closes_at,
            tz=tz,
            answers=answers,
            closed=not is_open,
        )

    def _after_answer(
        respond: Respond, status: str, team: str, round_id: int, user: str, t: Translator
    ) -> None:
        if status in ("recorded", "changed", "closed"):
            message = _redrawn(team, round_id, user, t)
            if message is not None:
                respond(replace_original=True, **message)
            if status == "closed":
                tell(respond, t.gettext(ROUND_CLOSED))
        elif status == "not_asked":
            tell(respond, t.gettext(NOT_ASKED))
        else:
            tell(respond, t.gettext(ANSWER_INVALID))


def _reader(services: Services, context: BoltContext) -> tuple[str, str, Translator]:
    """Who acts, in which workspace, in which language (bot.middleware filled them in)."""
    t = reader(context, services.settings.cxbot_locale)
    return str(context.user_id or ""), str(context.team_id or ""), t


def _pressed(body: dict[str, Any], parts: int) -> list[str]:
    """The pressed button's `round:question[:score]`; UserError when it is not one."""
    items = str(((body.get("actions") or [{}])[0]).get("value") or "").split(":")
    if len(items) != parts or not items[0].isdigit():
        raise UserError(ANSWER_INVALID)
    if parts == 3 and not items[2].lstrip("-").isdigit():
        raise UserError(ANSWER_INVALID)
    return items
