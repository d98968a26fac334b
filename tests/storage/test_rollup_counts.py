"""Counts added from the inserted rows themselves equal the SQL over the batch, on both backends."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from core.ingest import RESPONSE_COLUMNS
from storage import rollup
from storage.responses import insert_responses
from tests.storage.answers_kit import grouped_responses, rollup_rows


def _frame(seed: int, count: int, prefix: str) -> pd.DataFrame:
    rnd = random.Random(seed)
    rows = []
    for i in range(count):
        metric = rnd.choice(["nps", "csat", "ces"])
        low, high = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}[metric]
        # Across a month boundary, so the monthly table gets two months.
        day = date(2026, 1, 20) + timedelta(days=rnd.randrange(20))
        rows.append(
            {
                "response_key": f"id:{prefix}{i}",
                "responded_at": datetime.combine(day, time(12), tzinfo=UTC),
                "local_day": day,
                "metric": metric,
                "score": rnd.randint(low, high),
                "customer_id": None,
                # '' and None are the same unknown segment in the counts.
                "segment": rnd.choice([None, "", "retail", "business"]),
                "touchpoint": rnd.choice([None, "phone", "web"]),
                "comment": None,
                "employee": None,
            }
        )
    return pd.DataFrame(rows, columns=RESPONSE_COLUMNS)


def test_fresh_and_overlapping_batches_keep_counts_equal_to_answers(engine: Engine) -> None:
    first = _frame(1, 400, "a")
    result = insert_responses(engine, team_id="T1", frame=first)
    assert (result.inserted, result.duplicates) == (400, 0)
    assert rollup_rows(engine) == grouped_responses(engine)
    assert rollup_rows(engine, monthly=True) == grouped_responses(engine, monthly=True)
    months = {r[1] for r in rollup_rows(engine, monthly=True)}
    assert months == {"2026-01-01", "2026-02-01"}

    # Fresh rows on top of existing counts add to them (the upsert's update path).
    insert_responses(engine, team_id="T1", frame=_frame(2, 300, "b"))
    # Half known: the counts then come from the SQL over the batch.
    mixed = pd.concat([first.iloc[:150], _frame(3, 100, "c")], ignore_index=True)
    result = insert_responses(engine, team_id="T1", frame=mixed)
    assert (result.inserted, result.duplicates) == (100, 150)

    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM response")).scalar_one()
        counted = conn.execute(text("SELECT sum(n) FROM responsedaily")).scalar_one()
        monthly = conn.execute(text("SELECT sum(n) FROM responsemonthly")).scalar_one()
    assert stored == counted == monthly == 800
    assert rollup_rows(engine) == grouped_responses(engine)
    assert rollup_rows(engine, monthly=True) == grouped_responses(engine, monthly=True)


# A webhook's few answers are counted in plain Python, an import's chunk with pandas.
@pytest.mark.parametrize("count", [250, 2_500])
def test_add_counts_matches_add_batch(engine: Engine, count: int) -> None:
    frame = _frame(4, count, "d")
    # One team counted by add_batch (SQL over the stored batch), the other by add_counts.
    batch = insert_responses(engine, team_id="T1", frame=frame).batch_id
    with engine.begin() as conn:
        for table in ("responsedaily", "responsemonthly"):
            conn.execute(text(f"DELETE FROM {table}"))
        rollup.add_batch(conn, team_id="T1", batch_id=batch)
        rollup.add_counts(
            conn,
            team_id="T2",
            days=[d.isoformat() for d in frame["local_day"]],
            metrics=frame["metric"].tolist(),
            segments=[s or None for s in frame["segment"]],
            touchpoints=frame["touchpoint"].tolist(),
            scores=frame["score"].tolist(),
        )
        # Nothing to add is nothing added.
        rollup.add_counts(
            conn, team_id="T3", days=[], metrics=[], segments=[], touchpoints=[], scores=[]
        )
    for monthly in (False, True):
        by_sql = {r[1:] for r in rollup_rows(engine, "T1", monthly=monthly)}
        by_rows = {r[1:] for r in rollup_rows(engine, "T2", monthly=monthly)}
        assert by_sql == by_rows
        assert sum(r[-1] for r in by_rows) == count
    assert rollup_rows(engine, "T3") == set()


def test_a_few_answers_return_their_ids_and_skip_duplicates(engine: Engine) -> None:
    """A webhook's few answers are inserted one by one with their ids returned: the ids
    are those of the stored rows, a repeat gets none and is not counted twice."""
    from storage.responses import batch_response_ids

    known = _frame(5, 3, "w")
    first = insert_responses(engine, team_id="T1", frame=known)
    assert first.ids is not None and len(first.ids) == 3
    fresh = _frame(6, 2, "x")
    again = insert_responses(
        engine, team_id="T1", frame=pd.concat([known.iloc[1:2], fresh], ignore_index=True)
    )
    assert (again.inserted, again.duplicates) == (2, 1)
    assert again.ids is not None and len(again.ids) == 2
    assert list(again.ids) == batch_response_ids(
        engine, team_id="T1", batch_id=again.batch_id, after_id=again.after_id
    )
    assert min(again.ids) > max(first.ids)
    assert rollup_rows(engine) == grouped_responses(engine)
    assert sum(r[-1] for r in rollup_rows(engine)) == 5
    # A larger batch takes the bulk path and reports no ids.
    assert insert_responses(engine, team_id="T1", frame=_frame(7, 120, "y")).ids is None
