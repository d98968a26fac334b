"""The counts tables: answers counted per day (`responsedaily`) and per month (`responsemonthly`),
metric, segment, touchpoint and score.

Metrics read these counts instead of the answers themselves, so a year over
millions of answers aggregates a few thousand rows. The counts change in the
same transaction as the answers they count: callers pass their open
`Connection` and commit it themselves.

The statements are plain SQL that SQLite (3.24+) and PostgreSQL both accept,
except for the one expression that turns a day into its month.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import TextClause

# Unknown segment/touchpoint become '' because NULLs never collide in a primary key.
_GROUPED = """
    SELECT team_id, {period}, metric, coalesce(segment, ''), coalesce(touchpoint, ''), score,
           {sign}count(*)
    FROM response
    WHERE {where}
    GROUP BY team_id, {period}, metric, coalesce(segment, ''), coalesce(touchpoint, ''), score
"""

# `HAVING true` ends the SELECT unambiguously: without it SQLite's parser may read
# the ON of ON CONFLICT as a join constraint in an INSERT .. SELECT.
_MERGE = """
    INSERT INTO {table} (team_id, {column}, metric, segment, touchpoint, score, n)
    {select}
    HAVING true
    ON CONFLICT (team_id, {column}, metric, segment, touchpoint, score)
    DO UPDATE SET n = {table}.n + excluded.n
"""

_DAY = "local_day"
# The first day of the answer's month, as a DATE on both backends.
_MONTH = {
    "sqlite": "date(local_day, 'start of month')",
    "postgresql": "CAST(date_trunc('month', local_day) AS DATE)",
}
_TABLES = (("responsedaily", "day"), ("responsemonthly", "month"))

_BATCH = "team_id = :team_id AND batch_id = :batch_id"
_IDS = "team_id = :team_id AND id IN :ids"

# Keeps each IN list well below SQLite's and psycopg's bound-parameter limits.
_ID_CHUNK = 5_000


def _period(table: str, dialect: str) -> str:
    return _DAY if table == "responsedaily" else _MONTH.get(dialect, _MONTH["postgresql"])


def _merge(conn: Connection, *, where: str, sign: str = "") -> list[TextClause]:
    dialect = conn.dialect.name
    return [
        text(
            _MERGE.format(
                table=table,
                column=column,
                select=_GROUPED.format(period=_period(table, dialect), sign=sign, where=where),
            )
        )
        for table, column in _TABLES
    ]


def add_batch(conn: Connection, *, team_id: str, batch_id: str) -> None:
    """Add the answers inserted under `batch_id` to the counts (call once per batch)."""
    for statement in _merge(conn, where=_BATCH):
        conn.execute(statement, {"team_id": team_id, "batch_id": batch_id})


def remove_responses(conn: Connection, *, team_id: str, response_ids: Sequence[int]) -> None:
    """Take these answers out of the counts; call it before deleting the answers themselves.

    Ids that do not exist or belong to another team are ignored.
    """
    ids = list(dict.fromkeys(int(i) for i in response_ids))
    if not ids:
        return
    # Subtracting is the same upsert with negative counts; rows that reach zero
    # are then dropped so the tables hold only days and months that have answers.
    statements = [
        s.bindparams(bindparam("ids", expanding=True)) for s in _merge(conn, where=_IDS, sign="-")
    ]
    for start in range(0, len(ids), _ID_CHUNK):
        for statement in statements:
            conn.execute(statement, {"team_id": team_id, "ids": ids[start : start + _ID_CHUNK]})
    for table, _ in _TABLES:
        conn.execute(
            text(f"DELETE FROM {table} WHERE team_id = :team_id AND n <= 0"), {"team_id": team_id}
        )


def rebuild(conn: Connection, *, team_id: str) -> None:
    """Recompute the team's counts from its answers (after local days were recomputed, say)."""
    dialect = conn.dialect.name
    for table, column in _TABLES:
        conn.execute(text(f"DELETE FROM {table} WHERE team_id = :team_id"), {"team_id": team_id})
        conn.execute(
            text(
                f"INSERT INTO {table} (team_id, {column}, metric, segment, touchpoint, score, n)"
                + _GROUPED.format(
                    period=_period(table, dialect), sign="", where="team_id = :team_id"
                )
            ),
            {"team_id": team_id},
        )
