"""Storing customer records: new ones inserted, known ones updated, identical ones left alone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from core.ingest import CUSTOMER_COLUMNS, CUSTOMER_REQUIRED
from storage.models import Customer, utcnow

_T = Customer.__table__  # type: ignore[attr-defined]
_CENT = Decimal("0.01")
# Keeps each IN list well below SQLite's and psycopg's bound-parameter limits.
_LOOKUP = 1_000


@dataclass(frozen=True)
class CustomerImportResult:
    inserted: int
    updated: int
    unchanged: int


def _normalised(column: str, value: Any) -> Any:
    """A value as stored, so a re-import of the same file compares equal."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if column in ("started_at", "ended_at"):
        if isinstance(value, pd.Timestamp):
            return value.date()
        if not isinstance(value, date):
            raise ValueError(f"{column} must hold dates, not {value!r}")
        return value
    if column in ("annual_revenue", "acquisition_cost"):
        return Decimal(str(value)).quantize(_CENT)
    return str(value)


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing(
    conn: Connection, team_id: str, ids: list[str], columns: list[str]
) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    selected = [_T.c.customer_id, *(_T.c[c] for c in columns)]
    for batch in _batches(ids, _LOOKUP):
        query = select(*selected).where(_T.c.team_id == team_id, _T.c.customer_id.in_(batch))
        for row in conn.execute(query).mappings():
            found[row["customer_id"]] = {c: _normalised(c, row[c]) for c in columns}
    return found


def upsert_customers(engine: Engine, *, team_id: str, frame: pd.DataFrame) -> CustomerImportResult:
    """Insert new customers and update changed ones, in one transaction.

    The frame has customer_id and started_at and any of name, ended_at, segment,
    annual_revenue and acquisition_cost; a column the frame lacks keeps its stored
    value, while None in a column it has clears it (an empty ended_at means the
    customer is active again). When a customer_id repeats, its last row wins.
    """
    missing = [c for c in CUSTOMER_REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"the frame has no column {', '.join(missing)}")
    if frame.empty:
        return CustomerImportResult(0, 0, 0)
    columns = [c for c in CUSTOMER_COLUMNS if c in frame.columns and c != "customer_id"]
    latest: dict[str, dict[str, Any]] = {}
    for record in frame[["customer_id", *columns]].to_dict("records"):
        cid = str(record["customer_id"])
        latest[cid] = {c: _normalised(c, record[c]) for c in columns}

    now = utcnow()
    with engine.begin() as conn:
        stored = _existing(conn, team_id, list(latest), columns)
        new = [
            {"team_id": team_id, "customer_id": cid, **values, "updated_at": now}
            for cid, values in latest.items()
            if cid not in stored
        ]
        changed = [
            {
                "b_team": team_id,
                "b_customer": cid,
                "v_updated_at": now,
                **{f"v_{c}": v for c, v in values.items()},
            }
            for cid, values in latest.items()
            if cid in stored and stored[cid] != values
        ]
        if new:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            stmt = dialect.insert(_T)
            # A customer another import added meanwhile is updated instead of failing.
            stmt = stmt.on_conflict_do_update(
                index_elements=["team_id", "customer_id"],
                set_={c: stmt.excluded[c] for c in [*columns, "updated_at"]},
            )
            conn.execute(stmt, new)
        if changed:
            conn.execute(
                update(_T)
                .where(
                    _T.c.team_id == bindparam("b_team"),
                    _T.c.customer_id == bindparam("b_customer"),
                )
                .values({c: bindparam(f"v_{c}") for c in [*columns, "updated_at"]}),
                changed,
            )
    unchanged = len(latest) - len(new) - len(changed)
    return CustomerImportResult(len(new), len(changed), unchanged)
