"""Pulse surveys kept: surveys, rounds, who was asked, and the answers, apart.

Anonymity is a property of the tables and of the files under them, not of the code
reading them (the threat model is in the README, "Anonymity: what an operator can and
cannot learn"):
- `surveyparticipation` says who was asked and, once the round is closed, who answered.
  An anonymous round does not touch it when someone answers: a per-person write at the
  moment of answering would carry the order of answering (PostgreSQL's xmin, SQLite's WAL
  frames) that lines up with the order of the answer writes. While the round is open,
  "who has not answered" (reminders) is worked out from the slots instead.
- An open anonymous round's answers are in `surveystaged` under HMAC(round key, user id),
  so a second click replaces an answer instead of adding one; no id and no time, and on
  SQLite in slot order. The key is in `surveyroundkey`, written once at open.
- Closing first marks who answered (a transaction of its own), then in a second one
  writes the answers to `surveyanswer` under fresh random slots, shuffled, deletes the
  staged rows and the key. Then the freed bytes are scrubbed: on SQLite (secure_delete on
  every connection) the WAL is checkpointed and truncated, so no old frame keeps the key
  or a slot; on PostgreSQL the two tables are rewritten (VACUUM FULL), so no dead tuple
  does. Answers carry no timestamp at all.

Every message a round sends (the DMs, reminders, the results) is queued in the outbox in
the same transaction as the change that causes it, under keys that make it exactly-once:
    pulse:{round}:dm:{user}       the survey DM
    pulse:{round}:remind:{user}   the reminder
    pulse:{round}:results         the results (method render:pulse_results)
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
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
from sqlalchemy.exc import DBAPIError, IntegrityError

from core.surveys import (
    RoundResults,
    SurveyDefinition,
    compute_results,
    headline,
    parse_definition,
)
from storage import outbox
from storage.models import (
    Survey,
    SurveyAnswer,
    SurveyParticipation,
    SurveyRound,
    SurveyRoundKey,
    SurveyStaged,
)

log = logging.getLogger(__name__)

_S = Survey.__table__  # type: ignore[attr-defined]
_R = SurveyRound.__table__  # type: ignore[attr-defined]
_P = SurveyParticipation.__table__  # type: ignore[attr-defined]
_A = SurveyAnswer.__table__  # type: ignore[attr-defined]
_K = SurveyRoundKey.__table__  # type: ignore[attr-defined]
_ST = SurveyStaged.__table__  # type: ignore[attr-defined]

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


_ROUND_COLS = tuple(_R.c)


def round_number(engine: Engine, *, team_id: str, survey_id: int, round_id: int) -> int:
    """Which round of its survey `round_id` is (1, 2, ...): round ids run across surveys."""
    with engine.connect() as conn:
        count = conn.execute(
            select(func.count())
            .select_from(_R)
            .where(_R.c.team_id == team_id, _R.c.survey_id == survey_id, _R.c.id <= round_id)
        ).scalar_one()
    return int(count)


def _newest_round(engine: Engine, *where: Any) -> RoundInfo | None:
    """The newest round matching `where`, if any."""
    with engine.connect() as conn:
        row = conn.execute(
            select(*_ROUND_COLS).where(*where).order_by(_R.c.id.desc()).limit(1)
        ).first()
    return _round(row) if row else None


def get_round(engine: Engine, *, team_id: str, round_id: int) -> RoundInfo | None:
    return _newest_round(engine, _R.c.team_id == team_id, _R.c.id == round_id)


def open_round_of(engine: Engine, *, team_id: str, survey_id: int) -> RoundInfo | None:
    """The survey's round that is not closed yet, if any."""
    return _newest_round(
        engine, _R.c.team_id == team_id, _R.c.survey_id == survey_id, _R.c.closed_at.is_(None)
    )


def latest_closed_round(engine: Engine, *, team_id: str, survey_id: int) -> RoundInfo | None:
    return _newest_round(
        engine, _R.c.team_id == team_id, _R.c.survey_id == survey_id, _R.c.closed_at.is_not(None)
    )


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
                        audience_size=len(asked),
                        customer_facing=customer_facing,
                        metrics_recorded=False,
                    )
                    .returning(_R.c.id)
                ).scalar_one()
            )
            if definition.anonymous:
                conn.execute(insert(_K).values(round_id=round_id, key=secrets.token_bytes(32)))
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
            _queue_dms(
                conn,
                team_id=team_id,
                round_id=round_id,
                people=[(u, locale_of.get(u)) for u in asked],
                key_of=dm_key,
                payload_for=payload_for,
                now=now,
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


def _round_key(conn: Connection, round_id: int) -> bytes | None:
    """The open anonymous round's key; None for a named round or once it is closed."""
    key = conn.execute(select(_K.c.key).where(_K.c.round_id == round_id)).scalar_one_or_none()
    return bytes(key) if key is not None else None


def _with_staged_answers(
    conn: Connection, *, team_id: str, round_id: int, key: bytes, users: Sequence[str]
) -> set[str]:
    """Who of `users` has an answer staged in the open anonymous round."""
    slots = set(
        conn.execute(
            select(_ST.c.slot)
            .where(_ST.c.team_id == team_id, _ST.c.round_id == round_id)
            .distinct()
        ).scalars()
    )
    return {u for u in users if _slot(key, u) in slots}


def _update_participants(
    conn: Connection, *, team_id: str, round_id: int, users: Sequence[str], **values: Any
) -> None:
    """Set `values` on these people's participation rows, 500 at a time (a bound
    parameter each: SQLite and PostgreSQL both cap how many one statement takes)."""
    for start in range(0, len(users), 500):
        conn.execute(
            update(_P)
            .where(
                _P.c.team_id == team_id,
                _P.c.round_id == round_id,
                _P.c.user_id.in_(users[start : start + 500]),
            )
            .values(**values)
        )


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
    """Store one person's answer to one question; a later answer replaces it.

    An anonymous round's answer is staged under its keyed slot and nothing else is
    written: participation learns who answered only at close.
    """
    with engine.begin() as conn:
        # The round row is locked so closing (which moves the answers) waits for us.
        row = conn.execute(
            select(_R.c.id, _R.c.closed_at, _R.c.closes_at, _S.c.definition)
            .join(_S, and_(_S.c.id == _R.c.survey_id, _S.c.team_id == team_id))
            .where(_R.c.team_id == team_id, _R.c.id == round_id)
            .with_for_update(of=_R)
        ).first()
        if row is None:
            return "unknown"
        if row.closed_at is not None or now >= row.closes_at:
            return "closed"
        definition = parse_definition(row.definition)
        question = definition.question(question_id)
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
        if definition.anonymous:
            key = _round_key(conn, round_id)
            if key is None:
                return "closed"
            table, slot = _ST, _slot(key, user_id)
        else:
            table, slot = _A, user_id
        existing = conn.execute(
            select(table.c.slot).where(
                table.c.round_id == round_id,
                table.c.slot == slot,
                table.c.question_id == question_id,
            )
        ).first()
        conn.execute(
            _insert_for(conn)(table)
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
        if not definition.anonymous:
            _update_participants(
                conn, team_id=team_id, round_id=round_id, users=[user_id], answered=True
            )
    return "changed" if existing else "recorded"


def my_answers(
    engine: Engine, *, team_id: str, round_id: int, user_id: str
) -> dict[str, int | str]:
    """What this person answered so far in an open round (empty once it is closed)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(_R.c.closed_at, _S.c.anonymous)
            .join(_S, _S.c.id == _R.c.survey_id)
            .where(_R.c.team_id == team_id, _R.c.id == round_id)
        ).first()
        if row is None or row.closed_at is not None:
            return {}
        if row.anonymous:
            key = _round_key(conn, round_id)
            if key is None:
                return {}
            table, slot = _ST, _slot(key, user_id)
        else:
            table, slot = _A, user_id
        rows = conn.execute(
            select(table.c.question_id, table.c.score, table.c.value).where(
                table.c.team_id == team_id, table.c.round_id == round_id, table.c.slot == slot
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
    """The rounds open at `now` that asked `user_id`, the soonest to close first.

    An open anonymous round's `answered` is looked up under the person's keyed slot: its
    participation flag is set only at close.
    """
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
        out = []
        for r in rows:
            answered = bool(r[4])
            key = None if answered else _round_key(conn, r[0])
            if key is not None:
                answered = bool(
                    _with_staged_answers(
                        conn, team_id=team_id, round_id=r[0], key=key, users=[user_id]
                    )
                )
            out.append(AskedRound(r[0], r[1], r[2], r[3], answered))
    return out


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
        # An open anonymous round: one slot per person who answered (flags come at close).
        staged = conn.execute(
            select(func.count(func.distinct(_ST.c.slot))).where(
                _ST.c.team_id == team_id, _ST.c.round_id == round_id
            )
        ).scalar_one()
    return Participation(int(asked), max(int(done), int(staged)))


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


def _queue_dms(
    conn: Connection,
    *,
    team_id: str,
    round_id: int,
    people: Sequence[tuple[str, str | None]],
    key_of: Callable[[int, str], str],
    payload_for: PayloadFor,
    now: datetime,
) -> None:
    """One DM of the round to each (user, locale) in the outbox, in the user's language
    (English when not known); the message is built once per language."""
    payloads: dict[str, dict[str, Any]] = {}
    for user, known in people:
        locale = known or "en"
        if locale not in payloads:
            payloads[locale] = payload_for(round_id, locale)
        outbox.enqueue(
            conn,
            team_id=team_id,
            key=key_of(round_id, user),
            method="chat.postMessage",
            # A user id as the channel opens the DM implicitly: no conversations.open.
            payload={**payloads[locale], "channel": user},
            not_before=now,
        )


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
        key = _round_key(conn, round_id)
        if key is not None:
            answered = _with_staged_answers(
                conn, team_id=team_id, round_id=round_id, key=key, users=[r[0] for r in rows]
            )
            rows = [r for r in rows if r[0] not in answered]
        _queue_dms(
            conn,
            team_id=team_id,
            round_id=round_id,
            people=[(r[0], r[1]) for r in rows],
            key_of=reminder_key,
            payload_for=payload_for,
            now=now,
        )
        _update_participants(
            conn, team_id=team_id, round_id=round_id, users=[r[0] for r in rows], reminded_at=now
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


def _mark_answered(conn: Connection, *, team_id: str, round_id: int, key: bytes) -> None:
    """Set `answered` for everyone with a staged answer, all in the caller's transaction."""
    pending = list(
        conn.execute(
            select(_P.c.user_id).where(
                _P.c.team_id == team_id, _P.c.round_id == round_id, _P.c.answered.is_(False)
            )
        ).scalars()
    )
    done = _with_staged_answers(conn, team_id=team_id, round_id=round_id, key=key, users=pending)
    _update_participants(
        conn, team_id=team_id, round_id=round_id, users=sorted(done), answered=True
    )


def close_round(
    engine: Engine,
    *,
    team_id: str,
    round_id: int,
    now: datetime,
    results_channel: str | None,
    themes: Themes | None = None,
) -> RoundInfo | None:
    """Close an open round: store the safe results and queue them for `results_channel`.
    None if it was closed already.

    An anonymous round's staged answers become `surveyanswer` rows under random slots,
    shuffled, and the key and the staged rows are deleted and scrubbed from the files.
    Who answered is marked in a transaction before, never in the one that writes the
    answers: on PostgreSQL a participation row and an answer row never share an xmin.
    """
    with engine.begin() as conn:
        key = _round_key(conn, round_id)
        if key is not None:
            _mark_answered(conn, team_id=team_id, round_id=round_id, key=key)
    rng = secrets.SystemRandom()
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            # Deleted cells and freed pages are zeroed (storage.db sets it on every
            # connection; an engine made elsewhere gets it here).
            conn.exec_driver_sql("PRAGMA secure_delete=ON")
        row = conn.execute(
            select(_R.c.id, _R.c.closed_at, _R.c.survey_id, _S.c.definition)
            .join(_S, and_(_S.c.id == _R.c.survey_id, _S.c.team_id == team_id))
            .where(_R.c.team_id == team_id, _R.c.id == round_id)
            .with_for_update(of=_R)
        ).first()
        if row is None or row.closed_at is not None:
            return None
        definition = parse_definition(row.definition)
        source = _ST if definition.anonymous else _A
        answers = conn.execute(
            select(source.c.slot, source.c.question_id, source.c.score, source.c.value).where(
                source.c.team_id == team_id, source.c.round_id == round_id
            )
        ).all()
        by_slot: dict[str, dict[str, int | str]] = {}
        for slot, question_id, score, value in answers:
            by_slot.setdefault(slot, {})[question_id] = value if value is not None else int(score)
        respondents = list(by_slot.items())
        rng.shuffle(respondents)
        if definition.anonymous:
            key = _round_key(conn, round_id)
            if key is not None:
                # Only those whose first answer came after the marking above: their flag
                # shares this transaction with every answer, so it points at none of them.
                _mark_answered(conn, team_id=team_id, round_id=round_id, key=key)
            conn.execute(delete(_ST).where(_ST.c.team_id == team_id, _ST.c.round_id == round_id))
            conn.execute(delete(_K).where(_K.c.round_id == round_id))
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
            .values(closed_at=now, results=results.to_json())
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
    if definition.anonymous:
        scrub(engine)
    return get_round(engine, team_id=team_id, round_id=round_id)


# Where an open anonymous round keeps what links answers to people.
SCRUBBED_TABLES = (_ST.name, _K.name)


def scrub(engine: Engine, *, attempts: int = 3) -> bool:
    """Make what closing deleted (the round key, the staged slots) unreadable in the
    database's files; False (and a warning) when another connection kept it from
    finishing, in which case the next close does it.

    SQLite: secure_delete has zeroed the deleted cells in the pages, but the WAL still
    holds every earlier version of those pages until a checkpoint truncates it.
    PostgreSQL: the deleted rows and every replaced version of a staged answer stay in
    the table's pages as dead tuples; VACUUM FULL writes the two small tables anew.
    """
    if engine.dialect.name == "sqlite":
        for attempt in range(attempts):
            with engine.connect() as conn:
                busy = (
                    conn.execution_options(isolation_level="AUTOCOMMIT")
                    .exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                    .one()[0]
                )
            if not busy:
                return True
            time.sleep(0.2 * (attempt + 1))
        log.warning("pulse: the WAL could not be truncated after a close (a reader held it)")
        return False
    if engine.dialect.name != "postgresql":
        return True
    done = True
    with engine.connect() as raw:
        conn = raw.execution_options(isolation_level="AUTOCOMMIT")
        # VACUUM FULL waits for every transaction on the table; never for long.
        conn.exec_driver_sql("SET lock_timeout = '10s'")
        try:
            for table in SCRUBBED_TABLES:
                try:
                    conn.exec_driver_sql(f"VACUUM FULL {table}")
                except DBAPIError as exc:
                    done = False
                    log.warning("pulse: VACUUM FULL %s after a close failed: %s", table, exc)
        finally:
            conn.exec_driver_sql("RESET lock_timeout")
    return done


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
