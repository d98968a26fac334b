"""Storing survey answers: one transaction per chunk, duplicates skipped, counts kept in step.

Each call inserts a frame of answers (the columns of `core.ingest.RESPONSE_COLUMNS`)
under a fresh batch id and adds that batch to the `responsedaily` counts in the
same transaction, so an interrupted import leaves whole chunks and the counts
always match the answers. Re-running an import skips what is already there:
the unique key (team_id, response_key) turns a repeated answer into a no-op.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from core.alerts import any_detractor
from core.ingest import CONTACT_COLUMNS, RESPONSE_COLUMNS
from core.workspace_settings import WorkspaceSettings
from storage import alerts, rollup, settings_store, shoutouts
from storage.db import reading
from storage.models import Response
from storage.newest import team_match

_T = Response.__table__  # type: ignore[attr-defined]

# Order of the values in each inserted row: the frame's columns between the team and
# what the batch adds.
_INSERTED = ("team_id", *RESPONSE_COLUMNS, *CONTACT_COLUMNS, "source", "batch_id", "created_at")


_BIG_BATCH = 5_000
_IMPORT_CACHE_KIB = 256 * 1024


@dataclass(frozen=True)
class InsertResult:
    batch_id: str
    inserted: int
    duplicates: int
    # Every answer of the batch has an id above this: pass it to `batch_response_ids`,
    # which then reads the newest rows instead of searching the team's answers.
    after_id: int | None = None
    # The new answers' ids, oldest first, when the insert returned them (a few answers).
    ids: tuple[int, ...] | None = None


@cache
def _insert_sql(dialect_name: str) -> str:
    """The INSERT .. ON CONFLICT DO NOTHING statement as the driver's positional SQL.

    Rows go straight to the DBAPI cursor's executemany: building one bound
    statement per row through the ORM or the type system costs more than the
    insert itself on a million answers.
    """
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql.psycopg import dialect as pg_dialect

        stmt: Any = postgresql.insert(_T)
        dialect: Any = pg_dialect(paramstyle="format")
    else:
        stmt = sqlite.insert(_T)
        dialect = sqlite.dialect(paramstyle="qmark")
    stmt = stmt.on_conflict_do_nothing(index_elements=["team_id", "response_key"])
    compiled = stmt.compile(dialect=dialect, column_keys=list(_INSERTED), for_executemany=True)
    if tuple(compiled.positiontup or ()) != _INSERTED:
        raise RuntimeError(f"unexpected parameter order {compiled.positiontup}")
    return str(compiled)


def _utc_text(column: pd.Series) -> list[str]:
    """Aware datetimes as the text SQLAlchemy stores for them (UTC, microseconds).

    SQLite keeps this text as is (and `storage.types.UTCDateTime` reads it back as
    UTC); PostgreSQL reads the offset.
    """
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        moments = column.dt.tz_convert("UTC")
    else:
        values = column.tolist()
        if any(getattr(v, "tzinfo", None) is None for v in values):
            raise ValueError("responded_at must hold timezone-aware datetimes")
        moments = pd.to_datetime(pd.Series(values, dtype=object), utc=True)
    naive = moments.dt.tz_localize(None).to_numpy().astype("datetime64[us]")
    if np.isnat(naive).any():
        raise ValueError("responded_at is missing in some rows")
    iso = np.datetime_as_string(naive, unit="us")
    if not len(iso):
        return []
    # "2026-11-20T14:03:00.000000" -> "2026-11-20 14:03:00.000000": the 'T' of every value
    # at once, through the array's code points.
    chars = iso.view(np.uint32).reshape(len(iso), -1)
    chars[:, 10] = ord(" ")
    return cast(list[str], iso.tolist())


def _day_text(column: pd.Series) -> list[str]:
    values = column.tolist()
    if not set(map(type, values)) <= {date}:
        if not all(isinstance(v, date) for v in values):
            raise ValueError("local_day must hold dates in every row")
        values = [v.date() if isinstance(v, datetime) else v for v in values]
    # A chunk spans a few hundred days at most: format each day once.
    text = {day: day.isoformat() for day in set(values)}
    return [text[v] for v in values]


def _texts(column: pd.Series, name: str, *, optional: bool = True) -> list[Any]:
    """The column as a list of str (or None where optional), checked without copying it."""
    values = column.tolist()
    kinds = set(map(type, values))
    allowed = {str, type(None)} if optional else {str}
    if kinds <= allowed:
        return values
    if optional:
        return [None if v is None or v != v else str(v) for v in values]
    raise ValueError(f"{name} must hold text in every row")


def _columns(
    frame: pd.DataFrame, *, team_id: str, source: str, batch_id: str, pg: bool
) -> dict[str, list[Any]]:
    """The frame's values as stored, one list per column of `_INSERTED`.

    Lists rather than rows: zipped lazily for the insert (a million tuples take
    room) and read again for the counts.
    """
    n = len(frame)
    when = _utc_text(frame["responded_at"])
    if pg:
        when = [w + "+00:00" for w in when]
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + ("+00:00" if pg else "")
    scores = frame["score"].to_numpy()
    if not np.issubdtype(scores.dtype, np.integer):
        raise ValueError("score must hold whole numbers")
    columns: dict[str, list[Any]] = {
        "team_id": [team_id] * n,
        "response_key": _texts(frame["response_key"], "response_key", optional=False),
        "responded_at": when,
        "local_day": _day_text(frame["local_day"]),
        "metric": _texts(frame["metric"], "metric", optional=False),
        "score": scores.tolist(),
    }
    for name in ("customer_id", "segment", "touchpoint", "comment", "employee"):
        columns[name] = _texts(frame[name], name)
    # Contact details are optional columns: a frame without them stores none.
    for name in CONTACT_COLUMNS:
        columns[name] = _texts(frame[name], name) if name in frame.columns else [None] * n
    columns.update(source=[source] * n, batch_id=[batch_id] * n, created_at=[now] * n)
    return columns


def _in_batch(team_id: str, batch_id: str, after_id: int | None, dialect: str) -> list[Any]:
    if after_id is None:
        return [_T.c.team_id == team_id, _T.c.batch_id == batch_id]
    return [
        team_match(_T.c.team_id, team_id, dialect),
        _T.c.batch_id == batch_id,
        _T.c.id > after_id,
    ]


def largest_id(conn: Connection) -> int:
    """The largest answer id now (0 when there are none).

    Answers inserted after this call get larger ids: SQLite gives a new row the
    largest rowid + 1 and its writer lock keeps other inserts out of an open
    write; PostgreSQL draws ids from an increasing sequence, so a row another
    transaction commits later may land above it too, which the batch_id filter
    of every reader drops.
    """
    return int(conn.execute(select(func.max(_T.c.id))).scalar() or 0)


def count_batch(
    conn: Connection, *, team_id: str, batch_id: str, after_id: int | None = None
) -> int:
    """How many answers the batch has; `after_id` (from `largest_id` before the insert)
    narrows the search to the newest rows."""
    where = _in_batch(team_id, batch_id, after_id, conn.dialect.name)
    query = select(func.count()).select_from(_T).where(*where)
    return int(conn.execute(query).scalar_one())


def insert_responses(
    engine: Engine,
    *,
    team_id: str,
    frame: pd.DataFrame,
    source: str = "import",
    batch_id: str | None = None,
    settings: WorkspaceSettings | None = None,
) -> InsertResult:
    """Insert answers (columns of RESPONSE_COLUMNS) as one batch, skipping duplicates.

    One transaction: the rows whose response_key the team does not have yet are
    inserted under `batch_id` (a fresh uuid4 hex when not given) and added to the
    daily counts. `inserted` counts the new rows, `duplicates` the rest of the frame
    (repeats inside the frame included). `settings`: the team's settings when
    the caller has read them already (they decide alerts and praise).
    """
    missing = [c for c in RESPONSE_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"the frame has no column {', '.join(missing)}")
    batch_id = batch_id or uuid.uuid4().hex
    if frame.empty:
        return InsertResult(batch_id, 0, 0)
    unique = frame.drop_duplicates("response_key", keep="first")
    ids: tuple[int, ...] | None = None
    with engine.begin() as conn:
        pg = conn.dialect.name == "postgresql"
        if not pg and len(unique) > _BIG_BATCH:
            # The default 2 MB page cache thrashes on four indexes of a growing table.
            conn.exec_driver_sql(f"PRAGMA cache_size=-{_IMPORT_CACHE_KIB}")
        columns = _columns(unique, team_id=team_id, source=source, batch_id=batch_id, pg=pg)
        if len(unique) <= _FEW:
            # A webhook's few answers: each insert names its new id, so nothing is read
            # back afterwards.
            ids, kept = _insert_returning(conn, columns)
            inserted = len(ids)
            # Every answer of the batch has an id above this (see InsertResult.after_id).
            after_id: int | None = min(ids) - 1 if ids else None
            if inserted != len(unique):
                columns = {name: [values[i] for i in kept] for name, values in columns.items()}
        else:
            # Readers of the batch below scan ids above this one instead of an index on
            # batch_id.
            after_id = largest_id(conn)
            counted = _insert_many(conn, columns)
            if counted is None or counted < 0:
                counted = count_batch(conn, team_id=team_id, batch_id=batch_id, after_id=after_id)
            inserted = counted
        if inserted:
            if settings is None:
                settings = settings_store.load(conn, team_id=team_id)
            # Detractor alerts and their messages commit (or roll back) with the answers.
            alert_cfg = alerts.load_config(conn, team_id=team_id, settings=settings)
            if any_detractor(alert_cfg, columns["metric"], columns["score"]):
                alerts.raise_for_batch(
                    conn,
                    team_id=team_id,
                    batch_id=batch_id,
                    now=datetime.now(UTC),
                    config=alert_cfg,
                    after_id=after_id,
                )
            praise_cfg = shoutouts.load_config(conn, team_id=team_id, settings=settings)
            if shoutouts.any_praise(
                conn,
                team_id=team_id,
                cfg=praise_cfg,
                metrics=columns["metric"],
                scores=columns["score"],
                employees=columns["employee"],
                comments=columns["comment"],
            ):
                shoutouts.praise_for_batch(
                    conn,
                    team_id=team_id,
                    batch_id=batch_id,
                    now=datetime.now(UTC),
                    config=praise_cfg,
                    after_id=after_id,
                )
        # The counts last: concurrent batches of the same day and score update the same
        # count rows, and each holds their row locks until it commits.
        if inserted == len(columns["response_key"]):
            # Every row went in (the usual case): count them from what was inserted
            # instead of reading the batch back.
            with _committed_with_last_statements(conn, pg and ids is not None):
                rollup.add_counts(
                    conn,
                    team_id=team_id,
                    days=columns["local_day"],
                    metrics=columns["metric"],
                    segments=columns["segment"],
                    touchpoints=columns["touchpoint"],
                    scores=columns["score"],
                )
        elif inserted:
            rollup.add_batch(conn, team_id=team_id, batch_id=batch_id, after_id=after_id)
    return InsertResult(batch_id, inserted, len(frame) - inserted, after_id, ids)


@contextmanager
def _committed_with_last_statements(conn: Connection, pipelined: bool) -> Iterator[None]:
    """On PostgreSQL, send the block's statements and the COMMIT in one round trip.

    Webhook answers of the same day and score all update one count row, whose lock each
    transaction holds from its update to its commit; under load the wait for a thread
    to run again between the two made those updates queue up behind each other. In a
    psycopg pipeline the server runs the updates and the commit back to back. The
    transaction that `engine.begin()` then commits is already committed (a no-op), and
    an error rolls it back as usual.
    """
    if not pipelined:
        yield
        return
    raw = conn.connection.dbapi_connection
    with raw.pipeline():  # type: ignore[union-attr]
        yield
        raw.commit()  # type: ignore[union-attr]


# Up to this many answers are inserted one statement each, with their ids returned.
_FEW = 50


def _insert_returning(
    conn: Connection, columns: dict[str, list[Any]]
) -> tuple[tuple[int, ...], list[int]]:
    """(new ids, positions of the rows they belong to); a duplicate gets neither."""
    sql = _insert_sql(conn.dialect.name) + " RETURNING id"
    ids: list[int] = []
    kept: list[int] = []
    cursor = conn.connection.cursor()
    try:
        for position, row in enumerate(zip(*(columns[c] for c in _INSERTED), strict=True)):
            cursor.execute(sql, row)
            new = cursor.fetchone()
            if new is not None:
                ids.append(int(new[0]))
                kept.append(position)
    finally:
        cursor.close()
    return tuple(ids), kept


def _insert_many(conn: Connection, columns: dict[str, list[Any]]) -> int | None:
    """Insert the rows in one executemany; how many went in (None when unknown)."""
    rows = zip(*(columns[c] for c in _INSERTED), strict=True)
    # Straight to the DBAPI cursor of this transaction's connection, rows made lazily.
    cursor = conn.connection.cursor()
    try:
        # sqlite3 and psycopg both take any iterable of rows, typeshed aside.
        cursor.executemany(_insert_sql(conn.dialect.name), cast(Any, rows))
        # Both sum the rows each statement inserted (a skipped duplicate adds 0).
        inserted: int | None = cursor.rowcount
    finally:
        cursor.close()
    return inserted


def batch_response_ids(
    engine: Engine, *, team_id: str, batch_id: str, after_id: int | None = None
) -> list[int]:
    """The ids of the answers a batch inserted, oldest first (for alerts and webhook replies).

    Pass the batch's `InsertResult.after_id`: there is no index on batch_id (it
    would slow every import), so without it this reads all the team's answers.
    """
    where = _in_batch(team_id, batch_id, after_id, engine.dialect.name)
    query = select(_T.c.id).where(*where).order_by(_T.c.id)
    with reading(engine) as conn:
        return [int(i) for i in conn.execute(query).scalars()]
