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

from collections import Counter
from collections.abc import Sequence
from functools import cache
from typing import Any, cast

import pandas as pd
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import TextClause

from storage.newest import TEAM_SQL

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


def add_batch(
    conn: Connection, *, team_id: str, batch_id: str, after_id: int | None = None
) -> None:
    """Add the answers inserted under `batch_id` to the counts (call once per batch).

    `after_id`, when given, is an id every answer of the batch is above (the
    largest id before the insert): the batch is then found among the newest rows.
    """
    where = _BATCH
    params: dict[str, object] = {"team_id": team_id, "batch_id": batch_id}
    if after_id is not None:
        team = TEAM_SQL.get(conn.dialect.name, "team_id = :team_id")
        where = f"{team} AND batch_id = :batch_id AND id > :after_id"
        params["after_id"] = after_id
    for statement in _merge(conn, where=where):
        conn.execute(statement, params)


_KEYS = ["day", "metric", "segment", "touchpoint", "score"]


@cache
def _upsert_sql(table: str, column: str, dialect: str) -> str:
    """The counts upsert in the driver's positional style (rows go to its executemany)."""
    mark = "%s" if dialect == "postgresql" else "?"
    return (
        f"INSERT INTO {table} (team_id, {column}, metric, segment, touchpoint, score, n) "
        f"VALUES ({', '.join([mark] * 7)}) "
        f"ON CONFLICT (team_id, {column}, metric, segment, touchpoint, score) "
        f"DO UPDATE SET n = {table}.n + excluded.n"
    )


def add_counts(
    conn: Connection,
    *,
    team_id: str,
    days: Sequence[str],
    metrics: Sequence[str],
    segments: Sequence[str | None],
    touchpoints: Sequence[str | None],
    scores: Sequence[int],
) -> None:
    """Add answers just inserted, given as their stored values, to the counts.

    The same result as `add_batch` without reading the answers back: the caller
    passes exactly the rows it inserted (every one of them, none skipped as a
    duplicate), days as ISO text. A chunk of answers shrinks to one row per day
    and combination, summed here and upserted in one executemany per table.
    """
    if not len(days):
        return
    # Rows of (day, metric, segment, touchpoint, score, n), sorted in the order of the
    # tables' primary keys: the upserts then walk the index pages in order.
    answers = (days, metrics, segments, touchpoints, scores)
    count = _counted_small if len(days) <= _SMALL else _counted_frame
    daily, monthly = count(answers)
    dialect = conn.dialect.name
    cursor = conn.connection.cursor()
    try:
        for (table, column), counts in zip(_TABLES, (daily, monthly), strict=True):
            rows = ((team_id, *row) for row in counts)
            # sqlite3 and psycopg both take any iterable of rows, typeshed aside.
            cursor.executemany(_upsert_sql(table, column, dialect), cast(Any, rows))
    finally:
        cursor.close()


# Below this many answers (a webhook call, a small file) plain Python counts faster than
# building a DataFrame; above it pandas' grouping wins.
_SMALL = 2_000

_Counted = list[tuple[str, str, str, str, int, int]]
# Days, metrics, segments, touchpoints and scores of the same answers.
_Answers = tuple[
    Sequence[str], Sequence[str], Sequence[str | None], Sequence[str | None], Sequence[int]
]


def _counted_small(answers: _Answers) -> tuple[_Counted, _Counted]:
    # Unknown segment/touchpoint count as '', as in the SQL of add_batch.
    daily = Counter(
        (day, metric, _known(segment), _known(touchpoint), int(score))
        for day, metric, segment, touchpoint, score in zip(*answers, strict=True)
    )
    monthly: Counter[tuple[str, str, str, str, int]] = Counter()
    for (day, metric, segment, touchpoint, score), n in daily.items():
        monthly[(day[:8] + "01", metric, segment, touchpoint, score)] += n
    return (
        [(*key, n) for key, n in sorted(daily.items())],
        [(*key, n) for key, n in sorted(monthly.items())],
    )


def _known(value: str | None) -> str:
    # None and NaN (a missing value from pandas) both mean unknown.
    return "" if value is None or value != value else value


def _counted_frame(answers: _Answers) -> tuple[_Counted, _Counted]:
    days, metrics, segments, touchpoints, scores = answers
    frame = pd.DataFrame(
        {
            "day": pd.Series(days, dtype=object),
            "metric": pd.Series(metrics, dtype=object),
            "segment": pd.Series(segments, dtype=object).fillna(""),
            "touchpoint": pd.Series(touchpoints, dtype=object).fillna(""),
            "score": pd.Series(scores, dtype="int64"),
        }
    )
    daily = frame.groupby(_KEYS).size().reset_index(name="n")
    monthly = daily.assign(day=daily["day"].str.slice(0, 8) + "01")
    monthly = monthly.groupby(_KEYS)["n"].sum().reset_index()
    return _listed(daily), _listed(monthly)


def _listed(counts: pd.DataFrame) -> _Counted:
    columns = [counts[k].tolist() for k in (*_KEYS, "n")]
    return list(zip(*columns, strict=True))


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
