"""Pulse surveys kept: surveys, rounds, who was asked, and the answers, apart.

Anonymity is a property of the tables, not of the code reading them:
- `surveyparticipation` says who was asked and whether they answered (for reminders);
- `surveyanswer` holds the answers under a `slot`. In an anonymous round the slot is
  HMAC(round_key, user id) while the round is open, so a second click replaces the
  answer instead of adding one. Closing the round, in one transaction, rewrites every
  answer under a fresh random slot, in a shuffled order (new ids say nothing about who
  answered first), and destroys `round_key`. Answers carry no timestamp at all.

Every message a round sends (the DMs, reminders, the results) is queued in the outbox in
the same transaction as the change that causes it, under keys that make it exactly-once:
    pulse:{round}:dm:{user}       the survey DM
    pulse:{round}:remind:{user}   the reminder
    pulse:{round}:results         the results (method render:pulse_results)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import and_, case, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from core.surveys import (
    RoundResults,
    SurveyDefinition,
    compute_results,
    headline,
    parse_definition,
)
from storage import outbox
from storage.models import Survey, SurveyAnswer, SurveyParticipation, SurveyRound

_S = Survey.__table__  # type: ignore[attr-defined]
_R = SurveyRound.__table__  # type: ignore[attr-defined]
_P = SurveyParticipation.__table__  # type: ignore[attr-defined]
_A = SurveyAnswer.__table__  # type: ignore[attr-defined]

RESULTS_RENDERER = "pulse_results"
CUSTOMER_METRICS = {"nps": "nps", "csat": "csat", "ces": "ces"}

AnswerStatus = Literal["recorded", "changed", "closed", "not_asked", "unknown", "invalid"]


def dm_key(round_id: int, user_id: str) -> str:
    return f"pulse:{round_id}:dm:{user_id}"


def reminder_key(round_id: int, user_id: str) -> str:
    return f"pulse:{round_id}:remind:{user_id}"


def results_key(round_id: int) -> str:
    return f"pulse:{round_id}:results"


# --------------------------------------------------------------------------- surveys


@dataclass(frozen=True)
class SurveyInfo:
    id: int
    team_id: str
    name: str
    definition: SurveyDefinition
    active: bool
    created_by: str | None
    created_at: datetime

    @property
    def anonymous(self) -> bool:
        return self.definition.anonymous


def _survey(row: Any) -> SurveyInfo:
    return SurveyInfo(
        id=row.id,
        team_id=row.team_id,
        name=row.name,
        definition=parse_definition(row.definition),
        active=row.active,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def create_survey(
    engine: Engine,
    *,
    team_id: str,
    definition: SurveyDefinition,
    created_by: str | None,
    now: datetime,
) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(_S)
                .values(
                    team_id=team_id,
                    name=definition.name,
                    definition=definition.to_json(),
                    anonymous=definition.anonymous,
                    active=True,
                    created_by=created_by,
                    created_at=now,
                )
                .returning(_S.c.id)
            ).scalar_one()
        )


def get_survey(engine: Engine, *, team_id: str, survey_id: int) -> SurveyInfo | None:
    with engine.connect() as conn:
        row = conn.execute(select(_S).where(_S.c.team_id == team_id, _S.c.id == survey_id)).first()
    return _survey(row) if row else None


def list_surveys(engine: Engine, *, team_id: str, active_only: bool = True) -> list[SurveyInfo]:
    query = select(_S).where(_S.c.team_id == team_id).order_by(_S.c.id)
    if active_only:
        query = query.where(_S.c.active.is_(True))
    with engine.connect() as conn:
        return [_survey(r) for r in conn.execute(query)]


def active_surveys(engine: Engine) -> list[SurveyInfo]:
    """Every workspace's active surveys (the schedule sweep decides per survey)."""
    with engine.connect() as conn:
        rows = conn.execute(select(_S).where(_S.c.active.is_(True)).order_by(_S.c.id)).all()
    return [_survey(r) for r in rows]


def set_active(engine: Engine, *, team_id: str, survey_id: int, active: bool) -> bool:
    with engine.begin() as conn:
        done = conn.execute(
            update(_S).where(_S.c.team_id == team_id, _S.c.id == survey_id).values(active=active)
        )
    return bool(done.rowcount)


# --------------------------------------------------------------------------- rounds


@dataclass(frozen=True)
class RoundInfo:
    id: int
    team_id: str
    survey_id: int
    occurrence: datetime | None
    opened_at: datetime
    closes_at: datetime
    closed_at: datetime | None
    remind_at: datetime | None
    reminded_at: datetime | None
    audience_size: int
    customer_facing: bool
    metrics_recorded: bool
    results: RoundResults | None

    def is_open(self, now: datetime) -> bool:
        return self.closed_at is None and now < self.closes_at


def _round(row: Any) -> RoundInfo:
    return RoundInfo(
        id=row.id,
        team_id=row.team_id,
        survey_id=row.survey_id,
        occurrence=row.occurrence,
        opened_at=row.opened_at,
        closes_at=row.closes_at,
        closed_at=row.closed_at,
        remind_at=row.remind_at,
        reminded_at=row.reminded_at,
        audience_size=row.audience_size,
        customer_facing=row.customer_facing,
        metrics_recorded=row.metrics_recorded,
        results=RoundResults.from_json(row.results) if row.results else None,
    )


_ROUND_COLS = [c for c in _R.c if c.name != "round_key"]


def get_round(engine: Engine, *, team_id: str, round_id: int) -> RoundInfo | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(*_ROUND_COLS).where(_R.c.team_id == team_id, _R.c.id == round_id)
        ).first()
    return _round(row) if row else None


def open_round_of(engine: Engine, *, team_id: str, survey_id: int) -> RoundInfo | None:
    """The survey's round that is not closed yet, if any."""
    with engine.connect() as conn:
        row = conn.execute(
            select(*_ROUND_COLS)
            .where(_R.c.team_id == team_id, _R.c.survey_id == survey_id, _R.c.closed_at.is_(None))
            .order_by(_R.c.id.desc())
        ).first()
    return _round(row) if row else None


def latest_closed_round(engine: Engine, *, team_id: str, survey_id: int) -> RoundInfo | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(*_ROUND_COLS)
            .where(
                _R.c.team_id == team_id,
                _R.c.survey_id == survey_id,
                _R.c.closed_at.is_not(None),
            )
            .order_by(_R.c.id.desc())
        ).first()
    return _round(row) if row else None


def has_occurrence(engine: Engine, *, team_id: str, survey_id: int, occurrence: datetime) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(
                select(_R.c.id).where(
                    _R.c.team_id == team_id,
                    _R.c.survey_id == survey_id,
                    _R.c.occurrence == occurrence,
                )
            ).first()
            is not None
        )


@dataclass(frozen=True)
class Member:
    """Someone in the audience, with the language their DM is written in."""

    user_id: str
    locale: str = "en"


@dataclass(frozen=True)
class OpenedRound:
    round: RoundInfo
    asked: int
    skipped_cooldown: int


PayloadFor = Callable[[int, str], dict[str, Any]]  # (round id, locale) -> chat.postMessage args


def _cooling(
    conn: Connection, *, team_id: str, survey_id: int, users: Sequence[str], since: datetime
) -> set[str]:
    """Who another survey asked since `since` (a survey's own rounds never count)."""
    found: set[str] = set()
    for start in range(0, len(users), 500):
        chunk = list(users[start : start + 500])
        rows = conn.execute(
            select(_P.c.user_id)
            .join(_R, and_(_R.c.id == _P.c.round_id, _R.c.team_id == team_id))
            .where(
                _P.c.team_id == team_id,
                _P.c.user_id.in_(chunk),
                _P.c.asked_at >= since,
                _R.c.survey_id != survey_id,
            )
        )
        found.update(r[0] for r in rows)
    return found


def open_round(
    engine: Engine,
    *,
    team_id: str,
    survey: SurveyInfo,
    members: Sequence[Member],
    now: datetime,
    payload_for: PayloadFor,
    occurrence: datetime | None = None,
    customer_facing: bool = False,
    cooldown_days: int = 7,
) -> OpenedRound | None:
    """Open a round and queue its DMs, in one transaction; None when the occurrence is
    already open (another sweep or instance got there first).

    People another survey asked within `cooldown_days` are left out of this round.
    """
    definition = survey.definition
    reminder = definition.reminder_delay
    unique = list(dict.fromkeys(m.user_id for m in members))
    locale_of = {m.user_id: m.locale for m in members}
    try:
        with engine.begin() as conn:
            cooling = (
                _cooling(
                    conn,
                    team_id=team_id,
                    survey_id=survey.id,
                    users=unique,
                    since=now - timedelta(days=cooldown_days),
                )
                if cooldown_days > 0
                else set()
            )
            asked = [u for u in unique if u not in cooling]
            round_id = int(
                conn.execute(
                    insert(_R)
                    .values(
                        team_id=team_id,
                        survey_id=survey.id,
                        occurrence=occurrence,
                        opened_at=now,
                        closes_at=now + definition.close_delay,
                        remind_at=now + reminder if reminder else None,
                        round_key=secrets.token_bytes(32) if definition.anonymous else None,
                        audience_size=len(asked),
                        customer_facing=customer_facing,
                        metrics_recorded=False,
                    )
                    .returning(_R.c.id)
                ).scalar_one()
            )
            if asked:
                conn.execute(
                    insert(_P),
                    [
                        {
                            "round_id": round_id,
                            "user_id": u,
                            "team_id": team_id,
                            "asked_at": now,
                            "answered": False,
                            "locale": locale_of.get(u, "en"),
                        }
                        for u in asked
                    ],
                )
            payloads: dict[str, dict[str, Any]] = {}
            for user in asked:
                locale = locale_of.get(user, "en")
                if locale not in payloads:
                    payloads[locale] = payload_for(round_id, locale)
                outbox.enqueue(
                    conn,
                    team_id=team_id,
                    key=dm_key(round_id, user),
                    method="chat.postMessage",
                    # A user id as the channel opens the DM implicitly: no conversations.open.
                    payload={**payloads[locale], "channel": user},
                    not_before=now,
                )
    except IntegrityError:
        if occurrence is None:
            raise
        return None
    info = get_round(engine, team_id=team_id, round_id=round_id)
    assert info is not None
    return OpenedRound(info, len(asked), len(cooling))


def asked_users(engine: Engine, *, team_id: str, round_id: int) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(_P.c.user_id)
            .where(_P.c.team_id == team_id, _P.c.round_id == round_id)
            .order_by(_P.c.user_id)
        ).all()
    return [r[0] for r in rows]


# --------------------------------------------------------------------------- answers


def _slot(key: bytes | None, user_id: str) -> str:
    if key is None:
        return user_id  # a named survey
    return hmac.new(key, user_id.encode(), hashlib.sha256).hexdigest()


def _insert_for(conn: Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def record_answer(
    engine: Engine,
    *,
    team_id: str,
    round_id: int,
    user_id: str,
    question_id: str,
    now: datetime,
    score: int | None = None,
    value: str | None = None,
) -> AnswerStatus:
    """Store one person's answer to one question; a later answer replaces it."""
    with engine.begin() as conn:
        # The round row is locked so closing (which rewrites the slots) waits for us.
        row = conn.execute(
            select(_R.c.id, _R.c.closed_at, _R.c.closes_at, _R.c.round_key, _S.c.definition)
            .join(_S, and_(_S.c.id == _R.c.survey_id, _S.c.team_id == team_id))
            .where(_R.c.team_id == team_id, _R.c.id == round_id)
            .with_for_update(of=_R)
        ).first()
        if row is None:
            return "unknown"
        if row.closed_at is not None or now >= row.closes_at:
            return "closed"
        question = parse_definition(row.definition).question(question_id)
        if question is None:
            return "invalid"
        if question.type == "text":
            if value is None or not value.strip():
                return "invalid"
            score, value = None, value.strip()[:3000]
        elif score is None or not question.valid_score(score):
            return "invalid"
        else:
            value = None
        asked = conn.execute(
            select(_P.c.user_id).where(
                _P.c.team_id == team_id, _P.c.round_id == round_id, _P.c.user_id == user_id
            )
        ).first()
        if asked is None:
            return "not_asked"
        slot = _slot(row.round_key, user_id)
        existing = conn.execute(
            select(_A.c.id).where(
                _A.c.round_id == round_id, _A.c.slot == slot, _A.c.question_id == question_id
            )
        ).first()
        stmt = (
            _insert_for(conn)(_A)
            .values(
                team_id=team_id,
                round_id=round_id,
                question_id=question_id,
                slot=slot,
                score=score,
                value=value,
            )
            .on_conflict_do_update(
                index_elements=["round_id", "slot", "question_id"],
                set_={"score": score, "value": value},
            )
        )
        conn.execute(stmt)
        conn.execute(
            update(_P)
            .where(_P.c.team_id == team_id, _P.c.round_id == round_id, _P.c.user_id == user_id)
            .values(answered=True)
        )
    return "changed" if existing else "recorded"


def my_answers(
    engine: Engine, *, team_id: str, round_id: int, user_id: str
) -> dict[str, int | str]:
    """What this person answered so far in an open round (empty once it is closed)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(_R.c.round_key, _R.c.closed_at, _S.c.anonymous)
            .join(_S, _S.c.id == _R.c.survey_id)
            .where(_R.c.team_id == team_id, _R.c.id == round_id)
        ).first()
        if row is None or row.closed_at is not None:
            return {}
        if row.anonymous and row.round_key is None:
            return {}
        slot = _slot(row.round_key, user_id)
        rows = conn.execute(
            select(_A.c.question_id, _A.c.score, _A.c.value).where(
                _A.c.team_id == team_id, _A.c.round_id == round_id, _A.c.slot == slot
            )
        ).all()
    return {q: (v if v is not None else int(s)) for q, s, v in rows}


@dataclass(frozen=True)
class AskedRound:
    """An open round whose DM went to a person: what they may still answer."""

    round_id: int
    survey_id: int
    name: str  # the survey's name, an English msgid for the built-in templates
    closes_at: datetime
    answered: bool


def open_rounds_asking(
    engine: Engine, *, team_id: str, user_id: str, now: datetime
) -> list[AskedRound]:
    """The rounds open at `now` that asked `user_id`, the soonest to close first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(_R.c.id, _R.c.survey_id, _S.c.name, _R.c.closes_at, _P.c.answered)
            .join(_R, _R.c.id == _P.c.round_id)
            .join(_S, _S.c.id == _R.c.survey_id)
            .where(
                _P.c.team_id == team_id,
                _P.c.user_id == user_id,
                _P.c.asked_at.is_not(None),
                _R.c.closed_at.is_(None),
                _R.c.closes_at > now,
            )
            .order_by(_R.c.closes_at, _R.c.id)
        ).all()
    return [AskedRound(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]


@dataclass(frozen=True)
class Participation:
    asked: int
    answered: int


def participation(engine: Engine, *, team_id: str, round_id: int) -> Participation:
    answered = func.coalesce(func.sum(case((_P.c.answered.is_(True), 1), else_=0)), 0)
    with engine.connect() as conn:
        asked, done = conn.execute(
            select(func.count(), answered).where(_P.c.team_id == team_id, _P.c.round_id == round_id)
        ).one()
    return Participation(int(asked), int(done))


# --------------------------------------------------------------------------- reminders


def due_reminders(engine: Engine, *, now: datetime) -> list[tuple[str, int]]:
    """(team, round) of open rounds whose reminder time has come and not been handled."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(_R.c.team_id, _R.c.id).where(
                _R.c.closed_at.is_(None),
                _R.c.reminded_at.is_(None),
                _R.c.remind_at.is_not(None),
                _R.c.remind_at <= now,
                _R.c.closes_at > now,
            )
        ).all()
    return [(r[0], int(r[1])) for r in rows]


def queue_reminders(
    engine: Engine, *, team_id: str, round_id: int, now: datetime, payload_for: PayloadFor
) -> int:
    """Queue a reminder DM to each person who has not answered; returns how many."""
    with engine.begin() as conn:
        claimed = conn.execute(
            update(_R)
            .where(_R.c.team_id == team_id, _R.c.id == round_id, _R.c.reminded_at.is_(None))
            .values(reminded_at=now)
        )
        if not claimed.rowcount:
            return 0  # another sweep did it
        rows = conn.execute(
            select(_P.c.user_id, _P.c.locale).where(
                _P.c.team_id == team_id,
                _P.c.round_id == round_id,
                _P.c.answered.is_(False),
                _P.c.reminded_at.is_(None),
            )
        ).all()
        payloads: dict[str, dict[str, Any]] = {}
        for user, locale in rows:
            locale = locale or "en"
            if locale not in payloads:
                payloads[locale] = payload_for(round_id, locale)
            outbox.enqueue(
                conn,
                team_id=team_id,
                key=reminder_key(round_id, user),
                method="chat.postMessage",
                payload={**payloads[locale], "channel": user},
                not_before=now,
            )
        if rows:
            conn.execute(
                update(_P)
                .where(
                    _P.c.team_id == team_id,
                    _P.c.round_id == round_id,
                    _P.c.user_id.in_([r[0] for r in rows]),
                )
                .values(reminded_at=now)
            )
    return len(rows)


# --------------------------------------------------------------------------- closing


def due_closings(engine: Engine, *, now: datetime) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(_R.c.team_id, _R.c.id).where(_R.c.closed_at.is_(None), _R.c.closes_at <= now)
        ).all()
    return [(r[0], int(r[1])) for r in rows]


Themes = Callable[[Sequence[str]], list[tuple[str, int]]]


def close_round(
    engine: Engine,
    *,
    team_id: str,
    round_id: int,
    now: datetime,
    results_channel: str | None,
    themes: Themes | None = None,
) -> RoundInfo | None:
    """Close an open round: re-slot and shuffle anonymous answers, destroy the key, store
    the safe results and queue them for `results_channel`. None if it was closed already."""
    rng = secrets.SystemRandom()
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            # Freed pages are zeroed, so the old slots and the key do not linger in the file.
            conn.exec_driver_sql("PRAGMA secure_delete=ON")
        row = conn.execute(
            select(_R.c.id, _R.c.closed_at, _R.c.survey_id, _R.c.round_key, _S.c.definition)
            .join(_S, and_(_S.c.id == _R.c.survey_id, _S.c.team_id == team_id))
            .where(_R.c.team_id == team_id, _R.c.id == round_id)
            .with_for_update(of=_R)
        ).first()
        if row is None or row.closed_at is not None:
            return None
        definition = parse_definition(row.definition)
        answers = conn.execute(
            select(_A.c.slot, _A.c.question_id, _A.c.score, _A.c.value).where(
                _A.c.team_id == team_id, _A.c.round_id == round_id
            )
        ).all()
        by_slot: dict[str, dict[str, int | str]] = {}
        for slot, question_id, score, value in answers:
            by_slot.setdefault(slot, {})[question_id] = value if value is not None else int(score)
        respondents = list(by_slot.items())
        rng.shuffle(respondents)
        if definition.anonymous:
            conn.execute(delete(_A).where(_A.c.team_id == team_id, _A.c.round_id == round_id))
            rows = []
            for _old, given in respondents:
                slot = secrets.token_hex(16)
                items = list(given.items())
                rng.shuffle(items)
                for question_id, answer in items:
                    rows.append(
                        {
                            "team_id": team_id,
                            "round_id": round_id,
                            "question_id": question_id,
                            "slot": slot,
                            "score": answer if isinstance(answer, int) else None,
                            "value": answer if isinstance(answer, str) else None,
                        }
                    )
            if rows:
                conn.execute(insert(_A), rows)
        asked = int(
            conn.execute(
                select(func.count()).where(_P.c.team_id == team_id, _P.c.round_id == round_id)
            ).scalar_one()
        )
        results = compute_results(
            definition, [given for _slot_, given in respondents], asked=asked, themes=themes
        )
        conn.execute(
            update(_R)
            .where(_R.c.team_id == team_id, _R.c.id == round_id)
            .values(closed_at=now, round_key=None, results=results.to_json())
        )
        if results_channel:
            outbox.enqueue(
                conn,
                team_id=team_id,
                key=results_key(round_id),
                method=f"render:{RESULTS_RENDERER}",
                payload={"round_id": round_id, "channel": results_channel},
                not_before=now,
            )
    return get_round(engine, team_id=team_id, round_id=round_id)


# --------------------------------------------------------------------------- customer metrics


def unrecorded_customer_rounds(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(_R.c.team_id, _R.c.id).where(
                _R.c.customer_facing.is_(True),
                _R.c.closed_at.is_not(None),
                _R.c.metrics_recorded.is_(False),
            )
        ).all()
    return [(r[0], int(r[1])) for r in rows]


def customer_answers_frame(
    engine: Engine, *, team_id: str, round_id: int, tz: ZoneInfo
) -> pd.DataFrame:
    """A closed customer-facing round's NPS/CSAT/CES answers as rows for
    `storage.responses.insert_responses` (core.ingest.RESPONSE_COLUMNS).

    The answer time is the round's close (answers keep no time of their own); anonymous
    rounds name no customer; free text of the same respondent becomes the comment.
    """
    from core.ingest import RESPONSE_COLUMNS

    with engine.connect() as conn:
        head = conn.execute(
            select(_R.c.closed_at, _S.c.definition, _S.c.anonymous)
            .join(_S, and_(_S.c.id == _R.c.survey_id, _S.c.team_id == team_id))
            .where(_R.c.team_id == team_id, _R.c.id == round_id)
        ).first()
        if head is None or head.closed_at is None:
            raise ValueError(f"round {round_id} is not closed")
        answers = conn.execute(
            select(_A.c.slot, _A.c.question_id, _A.c.score, _A.c.value)
            .where(_A.c.team_id == team_id, _A.c.round_id == round_id)
            .order_by(_A.c.slot, _A.c.question_id)
        ).all()
    definition = parse_definition(head.definition)
    texts: dict[str, list[str]] = {}
    for slot, _q, _s, value in answers:
        if value:
            texts.setdefault(slot, []).append(value)
    closed: datetime = head.closed_at
    day: date = closed.astimezone(tz).date()
    rows = []
    for slot, question_id, score, _value in answers:
        question = definition.question(question_id)
        if question is None or question.type not in CUSTOMER_METRICS or score is None:
            continue
        rows.append(
            {
                "response_key": f"pulse:{round_id}:{slot}:{question_id}",
                "responded_at": closed,
                "local_day": day,
                "metric": CUSTOMER_METRICS[question.type],
                "score": int(score),
                "customer_id": None if head.anonymous else slot,
                "segment": None,
                "touchpoint": "pulse",
                "comment": " / ".join(texts.get(slot, [])) or None,
                "employee": None,
            }
        )
    frame = pd.DataFrame(rows, columns=RESPONSE_COLUMNS)
    if not rows:
        frame["responded_at"] = pd.Series([], dtype="datetime64[us, UTC]")
    frame["score"] = frame["score"].astype("int64")
    return frame


def mark_metrics_recorded(engine: Engine, *, team_id: str, round_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(_R)
            .where(_R.c.team_id == team_id, _R.c.id == round_id)
            .values(metrics_recorded=True)
        )


# --------------------------------------------------------------------------- reading results


@dataclass(frozen=True)
class RoundSummary:
    round_id: int
    survey_id: int
    survey_name: str
    template: str | None
    anonymous: bool
    opened_at: datetime
    closed_at: datetime
    results: RoundResults
    headline: Mapping[str, float | None]  # enps, culture (None when not shown)


def round_results(
    engine: Engine, *, team_id: str, start: datetime, end: datetime
) -> list[RoundSummary]:
    """Rounds closed in [start, end) with their anonymity-safe results (for the digest)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                _R.c.id,
                _R.c.survey_id,
                _R.c.opened_at,
                _R.c.closed_at,
                _R.c.results,
                _S.c.name,
                _S.c.definition,
            )
            .join(_S, and_(_S.c.id == _R.c.survey_id, _S.c.team_id == team_id))
            .where(
                _R.c.team_id == team_id,
                _R.c.closed_at.is_not(None),
                _R.c.closed_at >= start,
                _R.c.closed_at < end,
                _R.c.results.is_not(None),
            )
            .order_by(_R.c.closed_at, _R.c.id)
        ).all()
    out = []
    for r in rows:
        definition = parse_definition(r.definition)
        results = RoundResults.from_json(r.results)
        out.append(
            RoundSummary(
                round_id=r.id,
                survey_id=r.survey_id,
                survey_name=r.name,
                template=definition.template,
                anonymous=definition.anonymous,
                opened_at=r.opened_at,
                closed_at=r.closed_at,
                results=results,
                headline=headline(results, definition),
            )
        )
    return out


def earlier_results(
    engine: Engine, *, team_id: str, survey_id: int, before_round: int, limit: int = 5
) -> list[tuple[datetime, RoundResults]]:
    """The survey's earlier closed rounds, oldest first (a question's trend)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(_R.c.opened_at, _R.c.results)
            .where(
                _R.c.team_id == team_id,
                _R.c.survey_id == survey_id,
                _R.c.id < before_round,
                _R.c.closed_at.is_not(None),
                _R.c.results.is_not(None),
            )
            .order_by(_R.c.id.desc())
            .limit(limit)
        ).all()
    return [(r.opened_at, RoundResults.from_json(r.results)) for r in reversed(rows)]
