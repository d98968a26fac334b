"""Answers from outside stored one way (storage.answers_in), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.ingest import validate_response_objects
from storage import settings_store
from storage.answers_in import store_answer_objects, store_answers
from storage.models import Response

TEAM = "T0TEST"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def answer(key: str, when: str = "2026-11-20T10:00:00+01:00", score: int = 9) -> dict[str, object]:
    return {"response_id": key, "responded_at": when, "metric": "nps", "score": score}


def rows(engine: Engine) -> list[Response]:
    with Session(engine) as session:
        return list(session.exec(select(Response).order_by(Response.id)))


def test_objects_are_checked_in_the_workspace_zone_and_stored_with_their_ids(
    engine: Engine,
) -> None:
    settings_store.set(engine, team_id=TEAM, key="timezone", value="America/New_York")
    objects = [answer("R1", when="2026-11-20T23:30:00"), answer("R2", score=42)]
    stored, rejected = store_answer_objects(
        engine,
        team_id=TEAM,
        objects=objects,
        default_timezone="Europe/Oslo",
        now=NOW,
        source="webhook",
    )
    assert [(r.line, r.reason) for r in rejected] == [(2, "score 42 is outside 0-10 for nps")]
    assert (stored.inserted, stored.duplicates) == (1, 0)
    [row] = rows(engine)
    assert stored.ids == [row.id]
    # 23:30 in New York, not in Oslo (the default): the next day in UTC.
    assert row.responded_at.replace(tzinfo=UTC) == datetime(2026, 11, 21, 4, 30, tzinfo=UTC)
    assert row.local_day == date(2026, 11, 20)
    assert row.source == "webhook"

    again, rejected = store_answer_objects(
        engine,
        team_id=TEAM,
        objects=[answer("R1", when="2026-11-20T23:30:00")],
        default_timezone="Europe/Oslo",
        now=NOW,
        source="webhook",
    )
    assert rejected == []
    assert (again.inserted, again.duplicates, again.ids) == (0, 1, [])


def test_nothing_valid_stores_nothing(engine: Engine) -> None:
    stored, rejected = store_answer_objects(
        engine,
        team_id=TEAM,
        objects=[answer("R1", score=11)],
        default_timezone="Europe/Oslo",
        now=NOW,
        source="webhook",
    )
    assert [r.line for r in rejected] == [1]
    assert (stored.inserted, stored.duplicates, stored.ids) == (0, 0, [])
    assert rows(engine) == []


def test_ids_only_when_asked_and_read_back_for_a_large_batch(engine: Engine) -> None:
    oslo = ZoneInfo("Europe/Oslo")
    few, _ = validate_response_objects([answer("F1"), answer("F2")], oslo, now=NOW)
    stored = store_answers(engine, team_id=TEAM, frame=few)
    assert (stored.inserted, stored.duplicates, stored.ids) == (2, 0, [])
    assert {r.source for r in rows(engine)} == {"import"}

    # More answers than one insert returns the ids of: they are read back from the batch.
    many, _ = validate_response_objects(
        [answer(f"M{i}", score=i % 11) for i in range(120)], oslo, now=NOW
    )
    stored = store_answers(engine, team_id=TEAM, frame=many, source="pulse", with_ids=True)
    assert stored.inserted == 120
    new = [r.id for r in rows(engine) if r.source == "pulse"]
    assert stored.ids == new
    assert len(set(stored.ids)) == 120
