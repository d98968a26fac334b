"""Storing answers (storage.responses) on SQLite and PostgreSQL: duplicates, batches, counts."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.ingest import RESPONSE_COLUMNS, read_responses, response_keys
from storage.models import Response
from storage.responses import batch_response_ids, insert_responses

OSLO = ZoneInfo("Europe/Oslo")
TEAM = "T0TEST"

CSV = (
    "responded_at,metric,score,customer_id,segment,touchpoint,comment,employee,response_id\n"
    "2026-11-20T09:15:00+01:00,nps,9,C1,Private,Delivery,Rask og grei,,R1\n"
    "2026-11-20,nps,3,C2,Private,Delivery,For sent,U0BJORN,\n"
    "2026-11-21T23:30:00Z,csat,4,,SMB,,,,\n"
    "22.11.2026,ces,6,C3,,Web shop,Enkelt,,R4\n"
    "2026-11-22,nps,3,C2,Private,Delivery,For sent,U0BJORN,\n"  # line 3 on another day
)


def frame_of(csv_text: str) -> pd.DataFrame:
    frames = [f for f, _ in read_responses(io.BytesIO(csv_text.encode()), OSLO)]
    return pd.concat(frames, ignore_index=True)


def stored(engine: Engine, team: str = TEAM) -> list[Response]:
    with Session(engine) as session:
        query = select(Response).where(Response.team_id == team).order_by(Response.response_key)
        return list(session.exec(query))


def rollup_matches_answers(engine: Engine, team: str = TEAM) -> None:
    """The daily counts equal a GROUP BY over the answers themselves."""
    with engine.connect() as conn:
        counted = conn.execute(
            text(
                "SELECT day, metric, segment, touchpoint, score, n FROM responsedaily "
                "WHERE team_id = :t ORDER BY 1, 2, 3, 4, 5"
            ),
            {"t": team},
        ).all()
        grouped = conn.execute(
            text(
                "SELECT local_day, metric, coalesce(segment, ''), coalesce(touchpoint, ''), score, "
                "count(*) FROM response WHERE team_id = :t GROUP BY 1, 2, 3, 4, 5 "
                "ORDER BY 1, 2, 3, 4, 5"
            ),
            {"t": team},
        ).all()
    assert [tuple(r) for r in counted] == [tuple(r) for r in grouped]


def test_insert_stores_every_column(engine: Engine) -> None:
    frame = frame_of(CSV)
    result = insert_responses(engine, team_id=TEAM, frame=frame)
    # the last row differs from the second only in its day: a different answer
    assert (result.inserted, result.duplicates) == (5, 0)
    assert len(result.batch_id) == 32
    rows = {r.response_key: r for r in stored(engine)}
    first = rows["id:R1"]
    assert first.responded_at == datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
    assert first.local_day == date(2026, 11, 20)
    assert (first.metric, first.score, first.customer_id) == ("nps", 9, "C1")
    assert (first.segment, first.touchpoint, first.comment) == (
        "Private",
        "Delivery",
        "Rask og grei",
    )
    assert first.employee is None
    assert first.source == "import"
    assert first.batch_id == result.batch_id
    assert first.created_at.tzinfo is not None
    late = next(r for r in rows.values() if r.metric == "csat")
    assert late.local_day == date(2026, 11, 22)  # 23:30 UTC is past midnight in Oslo
    assert late.customer_id is None and late.touchpoint is None
    rollup_matches_answers(engine)


def test_reimport_adds_nothing(engine: Engine) -> None:
    frame = frame_of(CSV)
    insert_responses(engine, team_id=TEAM, frame=frame)
    again = insert_responses(engine, team_id=TEAM, frame=frame)
    assert (again.inserted, again.duplicates) == (0, 5)
    assert len(stored(engine)) == 5
    rollup_matches_answers(engine)
    assert batch_response_ids(engine, team_id=TEAM, batch_id=again.batch_id) == []


def test_duplicates_inside_one_frame(engine: Engine) -> None:
    text_ = CSV + "2026-11-20T09:15:00+01:00,nps,0,C1,,,,,R1\n"  # same id, other score
    text_ += "2026-11-20,nps,3,C2,Private,Delivery,For sent,U0BJORN,\n"  # identical row
    frame = frame_of(text_)
    result = insert_responses(engine, team_id=TEAM, frame=frame)
    assert (result.inserted, result.duplicates) == (5, 2)
    # the first occurrence wins
    assert next(r for r in stored(engine) if r.response_key == "id:R1").score == 9
    rollup_matches_answers(engine)


def test_partly_known_batch(engine: Engine) -> None:
    frame = frame_of(CSV)
    insert_responses(engine, team_id=TEAM, frame=frame.iloc[:2])
    result = insert_responses(engine, team_id=TEAM, frame=frame)
    assert (result.inserted, result.duplicates) == (3, 2)
    ids = batch_response_ids(engine, team_id=TEAM, batch_id=result.batch_id)
    assert len(ids) == 3 and ids == sorted(ids)
    rollup_matches_answers(engine)


def test_teams_are_kept_apart(engine: Engine) -> None:
    frame = frame_of(CSV)
    insert_responses(engine, team_id=TEAM, frame=frame)
    other = insert_responses(engine, team_id="T0OTHER", frame=frame)
    assert other.inserted == 5
    assert len(stored(engine)) == 5 and len(stored(engine, "T0OTHER")) == 5
    rollup_matches_answers(engine)
    rollup_matches_answers(engine, "T0OTHER")


def test_given_batch_id_and_source(engine: Engine) -> None:
    result = insert_responses(
        engine, team_id=TEAM, frame=frame_of(CSV), source="webhook", batch_id="b" * 32
    )
    assert result.batch_id == "b" * 32
    assert {r.source for r in stored(engine)} == {"webhook"}
    assert len(batch_response_ids(engine, team_id=TEAM, batch_id="b" * 32)) == 5


def test_hand_built_frame_with_python_objects(engine: Engine) -> None:
    """Other callers (demo data, the webhook) may build frames themselves."""
    frame = pd.DataFrame(
        {
            "responded_at": [datetime(2026, 11, 20, 12, 0, tzinfo=UTC)] * 2,
            "local_day": [date(2026, 11, 20)] * 2,
            "metric": ["nps", "csat"],
            "score": [10, 5],
            "customer_id": ["C1", None],
            "segment": [None, "SMB"],
            "touchpoint": [None, None],
            "comment": ["Takk!", None],
            "employee": [None, None],
        }
    )
    frame.insert(0, "response_key", response_keys(frame))
    assert list(frame.columns) == RESPONSE_COLUMNS
    result = insert_responses(engine, team_id=TEAM, frame=frame)
    assert result.inserted == 2
    assert sorted(r.score for r in stored(engine)) == [5, 10]
    assert insert_responses(engine, team_id=TEAM, frame=frame).duplicates == 2
    rollup_matches_answers(engine)


def test_bad_frames_are_refused_before_anything_is_stored(engine: Engine) -> None:
    frame = frame_of(CSV)
    naive = frame.copy()
    naive["responded_at"] = [datetime(2026, 11, 20, 12, 0)] * len(frame)
    with pytest.raises(ValueError, match="timezone-aware"):
        insert_responses(engine, team_id=TEAM, frame=naive)
    no_day = frame.copy()
    no_day.loc[2, "local_day"] = None
    with pytest.raises(ValueError, match="local_day"):
        insert_responses(engine, team_id=TEAM, frame=no_day)
    with pytest.raises(ValueError, match="no column score"):
        insert_responses(engine, team_id=TEAM, frame=frame.drop(columns=["score"]))
    assert stored(engine) == []


def test_empty_frame(engine: Engine) -> None:
    empty = frame_of(CSV).iloc[:0]
    result = insert_responses(engine, team_id=TEAM, frame=empty)
    assert (result.inserted, result.duplicates) == (0, 0)
    assert stored(engine) == []


def test_large_batch_takes_the_bulk_path(engine: Engine) -> None:
    rows = ["responded_at,metric,score,customer_id"]
    rows += [f"2026-11-{1 + i % 28:02d}T10:00:00Z,nps,{i % 11},C{i}" for i in range(6_000)]
    frame = frame_of("\n".join(rows))
    result = insert_responses(engine, team_id=TEAM, frame=frame)
    assert result.inserted == 6_000
    with engine.connect() as conn:
        total = conn.execute(
            text("SELECT sum(n) FROM responsedaily WHERE team_id = :t"), {"t": TEAM}
        ).scalar_one()
    assert total == 6_000
    rollup_matches_answers(engine)


def test_batch_is_found_above_the_largest_id_before_it(engine: Engine) -> None:
    frame = frame_of(CSV)
    first = insert_responses(engine, team_id=TEAM, frame=frame.iloc[:2], batch_id="c" * 32)
    other = insert_responses(engine, team_id="T0OTHER", frame=frame, batch_id="c" * 32)
    later = insert_responses(engine, team_id=TEAM, frame=frame, batch_id="c" * 32)
    assert first.after_id is not None and later.after_id is not None
    assert later.after_id >= first.after_id + 2
    every = batch_response_ids(engine, team_id=TEAM, batch_id="c" * 32)
    newest = batch_response_ids(engine, team_id=TEAM, batch_id="c" * 32, after_id=later.after_id)
    assert len(every) == 5 and len(newest) == later.inserted == 3
    assert newest == [i for i in every if i > later.after_id]
    assert batch_response_ids(
        engine, team_id="T0OTHER", batch_id="c" * 32, after_id=other.after_id
    ) == batch_response_ids(engine, team_id="T0OTHER", batch_id="c" * 32)
    rollup_matches_answers(engine)


def test_sqlite_reads_a_batch_by_id_range(sqlite_engine: Engine) -> None:
    # An index on team_id would make SQLite read every answer of the team for each batch.
    from storage.newest import TEAM_SQL

    with sqlite_engine.connect() as conn:
        plan = conn.exec_driver_sql(
            f"EXPLAIN QUERY PLAN SELECT id FROM response WHERE {TEAM_SQL['sqlite']} "
            "AND batch_id = :batch_id AND id > :after_id",
            {"team_id": TEAM, "batch_id": "x", "after_id": 0},
        ).all()
    assert "INTEGER PRIMARY KEY" in " ".join(str(row[-1]) for row in plan)


def test_few_answers_commit_with_their_counts_in_one_go(pg_engine: Engine) -> None:
    # The webhook's path on PostgreSQL: the counts and the commit go out together.
    result = insert_responses(pg_engine, team_id=TEAM, frame=frame_of(CSV), source="webhook")
    assert result.ids is not None and len(result.ids) == result.inserted == 5
    assert len(stored(pg_engine)) == 5
    rollup_matches_answers(pg_engine)
    again = insert_responses(pg_engine, team_id=TEAM, frame=frame_of(CSV), source="webhook")
    assert (again.inserted, again.duplicates) == (0, 5)
    rollup_matches_answers(pg_engine)


def test_a_count_that_fails_at_the_commit_leaves_no_answer(pg_engine: Engine) -> None:
    with pg_engine.begin() as conn:
        conn.execute(
            text(
                "CREATE FUNCTION refuse_counts() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'counts refused'; END $$"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON responsemonthly "
                "FOR EACH ROW EXECUTE FUNCTION refuse_counts()"
            )
        )
    try:
        with pytest.raises(Exception, match="counts refused"):
            insert_responses(pg_engine, team_id=TEAM, frame=frame_of(CSV), source="webhook")
        assert stored(pg_engine) == []
        with pg_engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM responsedaily")).scalar_one() == 0
            assert conn.execute(text("SELECT count(*) FROM alert")).scalar_one() == 0
        # The pooled connection is usable again afterwards.
        with pg_engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        with pg_engine.begin() as conn:
            conn.execute(text("DROP TRIGGER refuse ON responsemonthly"))
            conn.execute(text("DROP FUNCTION refuse_counts()"))
