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

import math
from collections import Counter
from collections.abc import Sequence
from functools import cache
from typing import Any, cast

import numpy as np
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
    # Each column becomes small integer codes in the order of its values, and a row
    # one integer of its codes: counting is then a sort of integers, and the sorted
    # integers are already in the order of the tables' primary keys.
    days, metrics, segments, touchpoints, scores = answers
    codes, values = zip(
        *(
            _codes(column, known)
            for column, known in (
                (days, False),
                (metrics, False),
                (segments, True),
                (touchpoints, True),
                (scores, False),
            )
        ),
        strict=True,
    )
    sizes = [len(v) for v in values]
    if math.prod(sizes) >= 1 << 62:
        return _counted_small(answers)  # too many combinations for one integer each
    daily, n = np.unique(_combined(codes, sizes), return_counts=True)
    day_codes = _split(daily, sizes)
    # A month is a group of days: the daily counts summed by the day's month.
    month_of_day, months = pd.factorize(
        np.array([day[:8] + "01" for day in values[0]], dtype=object), sort=True
    )
    month_sizes = [len(months), *sizes[1:]]
    month_keys = _combined([month_of_day[day_codes[0]], *day_codes[1:]], month_sizes)
    monthly, position = np.unique(month_keys, return_inverse=True)
    month_n = np.bincount(position, weights=n).astype(np.int64)
    return (
        _rows([values[0], *values[1:]], day_codes, n),
        _rows([list(months), *values[1:]], _split(monthly, month_sizes), month_n),
    )


def _codes(column: Sequence[Any], known: bool) -> tuple[np.ndarray, list[Any]]:
    """(code per answer, the distinct values in order) of one column."""
    array = np.asarray(column, dtype=np.int64 if _whole(column) else object)
    if not known:
        codes, distinct = pd.factorize(array, sort=True)
        return codes, distinct.tolist()
    # None and NaN count as '' (see _known), which may also be there already.
    codes, distinct = pd.factorize(array, use_na_sentinel=False)
    again, values = pd.factorize(np.array([_known(v) for v in distinct], dtype=object), sort=True)
    return again[codes], values.tolist()


def _whole(column: Sequence[Any]) -> bool:
    return isinstance(column[0], int | np.integer)


def _combined(codes: Sequence[np.ndarray], sizes: Sequence[int]) -> np.ndarray:
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for column, size in zip(codes, sizes, strict=True):
        key = key * size + column
    return key


def _split(keys: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    codes = []
    for size in reversed(sizes):
        keys, column = np.divmod(keys, size)
        codes.append(column)
    return codes[::-1]


def _rows(values: Sequence[list[Any]], codes: Sequence[np.ndarray], n: np.ndarray) -> _Counted:
    columns = [np.array(v, dtype=object)[c].tolist() for v, c in zip(values, codes, strict=True)]
    return list(zip(*columns, n.tolist(), strict=True))


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
