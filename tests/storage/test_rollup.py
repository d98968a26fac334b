"""The counts table stays equal to a GROUP BY over the answers, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Engine

from storage import rollup
from tests.storage.answers_kit import add_answers, grouped_responses, rollup_rows

SEGMENTS = [None, "retail", "business"]
TOUCHPOINTS = [None, "phone", "web"]


def _random_answers(seed: int, count: int) -> list[tuple]:
    rnd = random.Random(seed)
    answers = []
    for _ in range(count):
        metric = rnd.choice(["nps", "csat", "ces"])
        low, high = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}[metric]
        answers.append(
            (
                date(2026, 1, 1) + timedelta(days=rnd.randrange(75)),
                metric,
                rnd.randint(low, high),
                rnd.choice(SEGMENTS),
                rnd.choice(TOUCHPOINTS),
            )
        )
    return answers


def test_rollup_equals_group_by_after_batches_with_duplicates(engine: Engine) -> None:
    first = _random_answers(1, 300)
    add_answers(engine, "T1", first, key_prefix="a")
    # The same answers again (all duplicates) and a batch that half overlaps.
    add_answers(engine, "T1", first, key_prefix="a")
    second = _random_answers(2, 200)
    add_answers(engine, "T1", first[:100] + second, key_prefix="a")
    add_answers(engine, "T1", second, key_prefix="b")

    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM response")).scalar_one()
        counted = conn.execute(text("SELECT sum(n) FROM responsedaily")).scalar_one()
    # 300 from the first batch, 200 new keys a100..a299 were taken, b0..b199 new.
    assert stored == 300 + 200
    assert counted == stored
    assert rollup_rows(engine) == grouped_responses(engine)
    assert rollup_rows(engine, monthly=True) == grouped_responses(engine, monthly=True)
    # Unknown segment and touchpoint are stored as '', never NULL.
    assert any(r[3] == "" and r[4] == "" for r in rollup_rows(engine))


def test_batches_of_two_teams_stay_apart(engine: Engine) -> None:
    add_answers(engine, "T1", _random_answers(3, 100), key_prefix="x")
    add_answers(engine, "T2", _random_answers(4, 50), key_prefix="x")
    assert sum(r[6] for r in rollup_rows(engine, "T1")) == 100
    assert sum(r[6] for r in rollup_rows(engine, "T2")) == 50
    assert rollup_rows(engine, "T2") == grouped_responses(engine, "T2")


def test_add_batch_of_other_team_or_unknown_batch_adds_nothing(engine: Engine) -> None:
    batch = add_answers(engine, "T1", [(date(2026, 1, 5), "nps", 9)])
    with engine.begin() as conn:
        rollup.add_batch(conn, team_id="T2", batch_id=batch)
        rollup.add_batch(conn, team_id="T1", batch_id="no-such-batch")
    assert rollup_rows(engine) == {("T1", "2026-01-05", "nps", "", "", 9, 1)}
    assert rollup_rows(engine, monthly=True) == {("T1", "2026-01-01", "nps", "", "", 9, 1)}


def test_remove_responses_decrements_and_drops_empty_rows(engine: Engine) -> None:
    add_answers(engine, "T1", _random_answers(5, 200), key_prefix="r")
    add_answers(engine, "T2", _random_answers(6, 20), key_prefix="r")
    with engine.begin() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT id FROM response WHERE team_id = 'T1'"))]
        t2_ids = [r[0] for r in conn.execute(text("SELECT id FROM response WHERE team_id = 'T2'"))]
        gone = ids[::3]
        # Ids of another team are ignored: T2's counts must not move.
        rollup.remove_responses(conn, team_id="T1", response_ids=[*gone, *gone[:5], *t2_ids])
        # The import raised alerts (and maybe shout-outs) for some of them: those go first.
        for table in ("alert", "shoutout", "response"):
            column = "id" if table == "response" else "response_id"
            delete = text(f"DELETE FROM {table} WHERE {column} IN :ids")
            conn.execute(delete.bindparams(bindparam("ids", expanding=True)), {"ids": gone})
    assert rollup_rows(engine) == grouped_responses(engine)
    assert rollup_rows(engine, monthly=True) == grouped_responses(engine, monthly=True)
    assert all(r[6] > 0 for r in rollup_rows(engine) | rollup_rows(engine, monthly=True))
    with engine.begin() as conn:
        rollup.remove_responses(conn, team_id="T1", response_ids=[])
    assert sum(r[6] for r in rollup_rows(engine, "T1")) == len(ids) - len(gone)


def test_rebuild_recomputes_from_answers(engine: Engine) -> None:
    add_answers(engine, "T1", _random_answers(7, 150), key_prefix="q")
    add_answers(engine, "T2", _random_answers(8, 30), key_prefix="q")
    before_t2 = rollup_rows(engine, "T2")
    with engine.begin() as conn:
        # Answers moved to other local days (say the timezone was corrected).
        conn.execute(
            text("UPDATE response SET local_day = :d WHERE team_id = 'T1'"), {"d": date(2026, 2, 1)}
        )
        rollup.rebuild(conn, team_id="T1")
    assert rollup_rows(engine) == grouped_responses(engine)
    assert rollup_rows(engine, monthly=True) == grouped_responses(engine, monthly=True)
    assert {r[1] for r in rollup_rows(engine, "T1")} == {"2026-02-01"}
    assert {r[1] for r in rollup_rows(engine, "T1", monthly=True)} == {"2026-02-01"}
    assert rollup_rows(engine, "T2") == before_t2
