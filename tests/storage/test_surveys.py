"""Pulse surveys kept: rounds, answers, reminders, closing, anonymity (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Engine

from core.surveys import parse_definition
from core.text import themes
from storage import outbox
from storage import surveys as store
from storage.models import Alert, Response, SurveyAnswer

TEAM = "T0PULSE"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
USERS = [f"U0P{i:03d}" for i in range(30)]

DEFINITION = parse_definition(
    {
        "name": "Team pulse",
        "audience": "C0PULSE01",
        "anonymous": True,
        "questions": [
            {"id": "enps", "type": "nps", "text": "Recommend working here?"},
            {"id": "impact", "type": "likert", "text": "I know how my work affects customers"},
            {"id": "idea", "type": "text", "text": "One idea", "optional": True},
        ],
        "reminder_after_hours": 24,
        "close_after_hours": 72,
    }
)


def _payload(round_id: int, locale: str) -> dict[str, Any]:
    return {"text": f"survey {round_id} in {locale}", "blocks": []}


def _survey(engine: Engine, definition: Any = DEFINITION, team: str = TEAM) -> store.SurveyInfo:
    sid = store.create_survey(
        engine, team_id=team, definition=definition, created_by="U0ADMIN", now=NOW
    )
    info = store.get_survey(engine, team_id=team, survey_id=sid)
    assert info is not None
    return info


def _open(
    engine: Engine, survey: store.SurveyInfo, users: list[str] = USERS, **kw: Any
) -> store.OpenedRound:
    opened = store.open_round(
        engine,
        team_id=survey.team_id,
        survey=survey,
        members=[store.Member(u, "nb" if i % 2 else "en") for i, u in enumerate(users)],
        now=kw.pop("now", NOW),
        payload_for=_payload,
        **kw,
    )
    assert opened is not None
    return opened


def test_open_round_queues_one_dm_per_person(engine: Engine) -> None:
    survey = _survey(engine)
    opened = _open(engine, survey, USERS + USERS[:3])  # duplicates collapse
    r = opened.round
    assert opened.asked == 30 and r.audience_size == 30
    assert r.closes_at == NOW + timedelta(hours=72) and r.remind_at == NOW + timedelta(hours=24)
    keys = [store.dm_key(r.id, u) for u in USERS]
    states = outbox.statuses(engine, team_id=TEAM, keys=keys)
    assert len(states) == 30 and set(states.values()) == {"pending"}
    claimed = outbox.claim_due(engine, now=NOW + timedelta(seconds=1), limit=100)
    by_channel = {c.payload["channel"]: c.payload["text"] for c in claimed}
    assert by_channel[USERS[1]] == f"survey {r.id} in nb" and by_channel[USERS[0]].endswith("en")
    assert store.asked_users(engine, team_id=TEAM, round_id=r.id) == sorted(USERS)


def test_scheduled_occurrence_opens_once(engine: Engine) -> None:
    survey = _survey(engine)
    slot = NOW.replace(minute=0)
    first = store.open_round(
        engine,
        team_id=TEAM,
        survey=survey,
        members=[store.Member("U0P001")],
        now=NOW,
        payload_for=_payload,
        occurrence=slot,
    )
    again = store.open_round(
        engine,
        team_id=TEAM,
        survey=survey,
        members=[store.Member("U0P001")],
        now=NOW,
        payload_for=_payload,
        occurrence=slot,
    )
    assert first is not None and again is None
    assert store.has_occurrence(engine, team_id=TEAM, survey_id=survey.id, occurrence=slot)


def test_cooldown_between_different_surveys_only(engine: Engine) -> None:
    a = _survey(engine)
    b = _survey(engine)
    first = _open(engine, a, USERS[:10])
    store.close_round(engine, team_id=TEAM, round_id=first.round.id, now=NOW, results_channel=None)
    # Survey B three days later: the ten asked by A are left out.
    later = NOW + timedelta(days=3)
    opened_b = _open(engine, b, USERS[:20], now=later, cooldown_days=7)
    assert opened_b.asked == 10 and opened_b.skipped_cooldown == 10
    assert set(store.asked_users(engine, team_id=TEAM, round_id=opened_b.round.id)) == set(
        USERS[10:20]
    )
    # A's own next round is not blocked by its own earlier one.
    opened_a = _open(engine, a, USERS[:10], now=later, cooldown_days=7)
    assert opened_a.asked == 10
    # After the cooldown B reaches everyone again.
    b_round = opened_b.round.id
    store.close_round(engine, team_id=TEAM, round_id=b_round, now=later, results_channel=None)
    store.close_round(
        engine, team_id=TEAM, round_id=opened_a.round.id, now=later, results_channel=None
    )
    again = _open(engine, b, USERS[:20], now=later + timedelta(days=8), cooldown_days=7)
    assert again.asked == 20


def test_answers_replace_and_check(engine: Engine) -> None:
    survey = _survey(engine)
    r = _open(engine, survey).round
    kw: dict[str, Any] = {"team_id": TEAM, "round_id": r.id, "now": NOW + timedelta(hours=1)}
    assert (
        store.record_answer(engine, user_id=USERS[0], question_id="enps", score=3, **kw)
        == "recorded"
    )
    assert (
        store.record_answer(engine, user_id=USERS[0], question_id="enps", score=9, **kw)
        == "changed"
    )
    assert (
        store.record_answer(engine, user_id=USERS[0], question_id="idea", value=" more ", **kw)
        == "recorded"
    )
    assert store.my_answers(engine, team_id=TEAM, round_id=r.id, user_id=USERS[0]) == {
        "enps": 9,
        "idea": "more",
    }
    assert (
        store.record_answer(engine, user_id="U0STRANGER", question_id="enps", score=9, **kw)
        == "not_asked"
    )
    assert (
        store.record_answer(engine, user_id=USERS[1], question_id="enps", score=11, **kw)
        == "invalid"
    )
    assert (
        store.record_answer(engine, user_id=USERS[1], question_id="nope", score=1, **kw)
        == "invalid"
    )
    assert (
        store.record_answer(engine, user_id=USERS[1], question_id="idea", value="  ", **kw)
        == "invalid"
    )
    late = {**kw, "now": r.closes_at}
    assert (
        store.record_answer(engine, user_id=USERS[1], question_id="enps", score=5, **late)
        == "closed"
    )
    assert (
        store.record_answer(
            engine,
            team_id="T0OTHER",
            round_id=r.id,
            user_id=USERS[1],
            question_id="enps",
            score=5,
            now=NOW,
        )
        == "unknown"
    )
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM surveystaged")).scalar_one()
        early = conn.execute(text("SELECT count(*) FROM surveyanswer")).scalar_one()
    assert n == 2  # one person, two questions: the second click replaced the first
    assert early == 0  # an open anonymous round's answers are staged apart
    part = store.participation(engine, team_id=TEAM, round_id=r.id)
    assert (part.asked, part.answered) == (30, 1)


def test_reminders_go_to_non_answerers_once(engine: Engine) -> None:
    survey = _survey(engine)
    r = _open(engine, survey).round
    for u in USERS[:12]:
        store.record_answer(
            engine, team_id=TEAM, round_id=r.id, user_id=u, question_id="enps", score=8, now=NOW
        )
    assert store.due_reminders(engine, now=NOW + timedelta(hours=23)) == []
    due = store.due_reminders(engine, now=NOW + timedelta(hours=24))
    assert due == [(TEAM, r.id)]
    n = store.queue_reminders(
        engine, team_id=TEAM, round_id=r.id, now=NOW + timedelta(hours=24), payload_for=_payload
    )
    assert n == 18
    again = store.queue_reminders(
        engine, team_id=TEAM, round_id=r.id, now=NOW + timedelta(hours=25), payload_for=_payload
    )
    assert again == 0 and store.due_reminders(engine, now=NOW + timedelta(hours=25)) == []
    reminded = outbox.statuses(
        engine, team_id=TEAM, keys=[store.reminder_key(r.id, u) for u in USERS]
    )
    assert set(reminded) == {store.reminder_key(r.id, u) for u in USERS[12:]}


def _answer_all(engine: Engine, round_id: int, users: list[str]) -> None:
    for i, u in enumerate(users):
        kw: dict[str, Any] = {"team_id": TEAM, "round_id": round_id, "user_id": u, "now": NOW}
        store.record_answer(engine, question_id="enps", score=i % 11, **kw)
        store.record_answer(engine, question_id="impact", score=1 + i % 5, **kw)
        if i % 3 == 0:
            store.record_answer(engine, question_id="idea", value=f"better onboarding {i}", **kw)


def test_anonymous_round_leaves_no_way_to_join_answers_to_people(engine: Engine) -> None:
    """The issue's must-show: read the database after an anonymous round and find no link."""
    survey = _survey(engine)
    r = _open(engine, survey).round
    with engine.connect() as conn:
        key = conn.execute(
            text("SELECT key FROM surveyroundkey WHERE round_id = :i"), {"i": r.id}
        ).scalar_one()
    assert key is not None and len(bytes(key)) == 32
    answer_order = list(reversed(USERS))  # answered in a different order than asked
    _answer_all(engine, r.id, answer_order)
    closed = store.close_round(
        engine,
        team_id=TEAM,
        round_id=r.id,
        now=NOW + timedelta(hours=72),
        results_channel="C0RESULTS",
        themes=themes,
    )
    assert closed is not None and closed.results is not None and closed.results.answered == 30

    # 1. The answer table has no person and no time: its columns say so.
    cols = {c["name"]: str(c["type"]) for c in inspect(engine).get_columns("surveyanswer")}
    assert set(cols) == {"id", "team_id", "round_id", "question_id", "slot", "score", "value"}
    assert not any("TIME" in t.upper() or "DATE" in t.upper() for t in cols.values())

    with engine.connect() as conn:
        answers = conn.execute(
            text("SELECT id, slot, question_id, score, value FROM surveyanswer ORDER BY id")
        ).all()
        dumps = {
            table: [
                tuple(str(v) for v in row) for row in conn.execute(text(f'SELECT * FROM "{table}"'))
            ]
            for table in inspect(engine).get_table_names()
            if table not in ("surveyanswer", "alembic_version")
        }
        key_after = conn.execute(
            text("SELECT count(*) FROM surveyroundkey WHERE round_id = :i"), {"i": r.id}
        ).scalar_one()
        staged_after = conn.execute(text("SELECT count(*) FROM surveystaged")).scalar_one()

    # 2. The key that made slots stable while the round was open is gone, and so are the
    #    staged answers under it.
    assert key_after == 0 and staged_after == 0
    slots = {a.slot for a in answers}
    assert len(slots) == 30
    # 3. No slot is a user id or the keyed hash of one (with the old key or without a key).
    for user in USERS:
        assert user not in slots
        assert hmac.new(bytes(key), user.encode(), hashlib.sha256).hexdigest() not in slots
        assert hashlib.sha256(user.encode()).hexdigest() not in slots
    # 4. No slot appears anywhere else in the database (nothing to join on).
    everything = " ".join(" ".join(row) for rows in dumps.values() for row in rows)
    assert not any(slot in everything for slot in slots)
    # 5. Answer ids are not in the order people answered (nor asked): the rows were rewritten
    #    shuffled, so an id sequence cannot be lined up with participation.
    first_seen: list[str] = []
    for a in answers:
        if a.slot not in first_seen:
            first_seen.append(a.slot)
    enps_by_slot = {a.slot: a.score for a in answers if a.question_id == "enps"}
    order_scores = [enps_by_slot[s] for s in first_seen]
    answered_scores = [i % 11 for i in range(30)]
    assert order_scores != answered_scores and order_scores != list(reversed(answered_scores))
    # 6. Participation (who answered) remains, without any time of answering.
    part_cols = {c["name"] for c in inspect(engine).get_columns("surveyparticipation")}
    assert "answered_at" not in part_cols
    # Content survives: every person's answers are still together under one slot.
    assert sorted(enps_by_slot.values()) == sorted(i % 11 for i in range(30))


def test_named_round_keeps_the_person(engine: Engine) -> None:
    named = parse_definition({**DEFINITION.to_json(), "anonymous": False})
    survey = _survey(engine, named)
    r = _open(engine, survey, USERS[:5]).round
    _answer_all(engine, r.id, USERS[:5])
    store.close_round(engine, team_id=TEAM, round_id=r.id, now=NOW, results_channel=None)
    with engine.connect() as conn:
        slots = set(conn.execute(select(SurveyAnswer.__table__.c.slot)).scalars())  # type: ignore[attr-defined]
    assert slots == set(USERS[:5])


def test_close_computes_results_and_queues_them_once(engine: Engine) -> None:
    survey = _survey(engine)
    r = _open(engine, survey).round
    _answer_all(engine, r.id, USERS[:4])
    assert store.due_closings(engine, now=NOW + timedelta(hours=71)) == []
    assert store.due_closings(engine, now=NOW + timedelta(hours=72)) == [(TEAM, r.id)]
    closed = store.close_round(
        engine,
        team_id=TEAM,
        round_id=r.id,
        now=NOW + timedelta(hours=72),
        results_channel="C0RESULTS",
    )
    assert closed is not None and closed.results is not None
    assert closed.results.answered == 4 and not closed.results.shown
    assert (
        store.close_round(engine, team_id=TEAM, round_id=r.id, now=NOW, results_channel="C0RESULTS")
        is None
    )
    states = outbox.statuses(engine, team_id=TEAM, keys=[store.results_key(r.id)])
    assert states == {store.results_key(r.id): "pending"}
    assert store.my_answers(engine, team_id=TEAM, round_id=r.id, user_id=USERS[0]) == {}


def test_round_results_for_the_digest_and_trend(engine: Engine) -> None:
    survey = _survey(engine)
    ids = []
    for week in range(3):
        start = NOW + timedelta(days=7 * week)
        r = _open(engine, survey, now=start).round
        _answer_all(engine, r.id, USERS[: 5 + week])
        store.close_round(
            engine,
            team_id=TEAM,
            round_id=r.id,
            now=start + timedelta(hours=72),
            results_channel=None,
        )
        ids.append(r.id)
    found = store.round_results(engine, team_id=TEAM, start=NOW, end=NOW + timedelta(days=11))
    assert [s.round_id for s in found] == ids[:2]
    assert found[0].results.shown and found[0].headline["enps"] is not None
    assert found[0].headline["culture"] == pytest.approx(3.0)
    assert (
        store.round_results(engine, team_id="T0OTHER", start=NOW, end=NOW + timedelta(days=30))
        == []
    )
    trend = store.earlier_results(engine, team_id=TEAM, survey_id=survey.id, before_round=ids[2])
    assert [res.answered for _when, res in trend] == [5, 6]
    latest = store.latest_closed_round(engine, team_id=TEAM, survey_id=survey.id)
    assert latest is not None and latest.id == ids[2]


def test_customer_round_becomes_customer_answers_with_alerts(engine: Engine) -> None:
    from storage.responses import insert_responses

    definition = parse_definition(
        {
            "name": "How did we do?",
            "audience": "C0CUSTOMER",
            "anonymous": False,
            "questions": [
                {"id": "nps", "type": "nps", "text": "Recommend us?"},
                {"id": "why", "type": "text", "text": "Why?", "optional": True},
            ],
        }
    )
    survey = _survey(engine, definition)
    r = _open(engine, survey, ["U0CUST1", "U0CUST2"], customer_facing=True).round
    kw: dict[str, Any] = {"team_id": TEAM, "round_id": r.id, "now": NOW}
    store.record_answer(engine, user_id="U0CUST1", question_id="nps", score=2, **kw)
    store.record_answer(engine, user_id="U0CUST1", question_id="why", value="Slow support", **kw)
    store.record_answer(engine, user_id="U0CUST2", question_id="nps", score=10, **kw)
    store.close_round(
        engine, team_id=TEAM, round_id=r.id, now=NOW + timedelta(hours=72), results_channel=None
    )
    assert store.unrecorded_customer_rounds(engine) == [(TEAM, r.id)]
    frame = store.customer_answers_frame(
        engine, team_id=TEAM, round_id=r.id, tz=ZoneInfo("Europe/Oslo")
    )
    assert sorted(frame["score"].tolist()) == [2, 10]
    first = insert_responses(engine, team_id=TEAM, frame=frame, source="pulse")
    again = insert_responses(engine, team_id=TEAM, frame=frame, source="pulse")
    assert (first.inserted, again.inserted) == (2, 0)
    store.mark_metrics_recorded(engine, team_id=TEAM, round_id=r.id)
    assert store.unrecorded_customer_rounds(engine) == []
    with engine.connect() as conn:
        rc = Response.__table__.c  # type: ignore[attr-defined]
        rows = conn.execute(select(rc.score, rc.source, rc.comment, rc.customer_id)).all()
        alerts = conn.execute(select(Alert.__table__.c.response_id)).all()  # type: ignore[attr-defined]
    assert {(s, src) for s, src, _c, _cu in rows} == {(2, "pulse"), (10, "pulse")}
    assert "Slow support" in {c for _s, _src, c, _cu in rows}
    assert len(alerts) == 1  # the detractor


def test_rounds_are_numbered_within_their_survey(engine: Engine) -> None:
    a, b = _survey(engine), _survey(engine)
    first_a = _open(engine, a, USERS[:2])
    store.close_round(
        engine, team_id=TEAM, round_id=first_a.round.id, now=NOW, results_channel=None
    )
    first_b = _open(engine, b, USERS[2:4])
    second_a = _open(engine, a, USERS[:2], now=NOW + timedelta(days=1))

    def number(survey: store.SurveyInfo, opened: store.OpenedRound) -> int:
        return store.round_number(
            engine, team_id=TEAM, survey_id=survey.id, round_id=opened.round.id
        )

    # Ids run across surveys (1, 2, 3); each survey counts its own rounds.
    assert (number(a, first_a), number(b, first_b), number(a, second_a)) == (1, 1, 2)
