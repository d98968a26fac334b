"""The alert's mail look-up stays linear on a PostgreSQL database that has no statistics
yet: a new database, before autovacuum's first ANALYZE, as every new install and every
benchmark run starts. The rows the executor reads are counted from EXPLAIN ANALYZE of
the statement the function really sends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from storage import mail
from storage.db import make_engine
from tests.conftest import migrated_pg_database

ANSWERS = 2000
TEAM = "T0PLAN"


@pytest.fixture
def unanalyzed() -> Iterator[Engine]:
    """A migrated database of its own with 2,000 answers, each with an alert, never analysed."""
    with migrated_pg_database("cxbot_plan") as url:
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                # Autovacuum must not analyse the tables in the middle of the test.
                for table in ("response", "alert"):
                    conn.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
                conn.execute(
                    text(
                        "INSERT INTO response (team_id, response_key, responded_at, local_day,"
                        " metric, score, created_at, batch_id, source)"
                        " SELECT :team, 'k' || g, now(), current_date, 'nps', 3, now(), 'b',"
                        " 'webhook' FROM generate_series(1, :n) g"
                    ),
                    {"team": TEAM, "n": ANSWERS},
                )
                conn.execute(
                    text(
                        "INSERT INTO alert (team_id, response_id, status, posted, due_at,"
                        " reminders_sent, created_at)"
                        " SELECT team_id, id, 'open', true, now(), 0, now() FROM response"
                    )
                )
            yield engine
        finally:
            engine.dispose()


def rows_read(plan: dict[str, Any]) -> float:
    """Every row a plan node produced or threw away, times its loops, summed over the tree."""
    loops = plan.get("Actual Loops", 1)
    here = (
        plan.get("Actual Rows", 0)
        + plan.get("Rows Removed by Filter", 0)
        + plan.get("Rows Removed by Join Filter", 0)
        + plan.get("Rows Removed by Index Recheck", 0)
    ) * loops
    return here + sum(rows_read(child) for child in plan.get("Plans", ()))


def test_an_alerts_contact_reads_the_answers_once_not_once_per_alert(
    unanalyzed: Engine,
) -> None:
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "customer_email" in statement:
            sent.append((statement, params))

    event.listen(unanalyzed, "before_cursor_execute", record)
    with unanalyzed.connect() as conn:
        last = int(conn.execute(text("SELECT max(id) FROM alert")).scalar_one())
    found = mail.contact(unanalyzed, team_id=TEAM, alert_id=last)
    event.remove(unanalyzed, "before_cursor_execute", record)
    assert found is not None and found.alert_id == last
    statement, params = sent[0]
    with unanalyzed.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cursor:
            # psycopg prepares a statement run five times on a connection, and PostgreSQL
            # then plans it once for any values: the generic plan is the one that served.
            cursor.execute("SET plan_cache_mode = force_generic_plan")
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
            plan = cursor.fetchone()[0][0]["Plan"]
    # A plan that walks the team's answers once per alert reads about 2,000 x 2,000 rows.
    assert rows_read(plan) <= 3 * ANSWERS, plan
