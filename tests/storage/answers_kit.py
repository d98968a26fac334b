"""Test data for the metrics tests: answers inserted batch by batch, customers, alerts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

from core.ingest import RESPONSE_COLUMNS
from storage import rollup
from storage.models import Alert, Customer, Response
from storage.responses import insert_responses

# (day, metric, score) or (day, metric, score, segment, touchpoint)
Answer = tuple[Any, ...]


def _answer_rows(team_id: str, answers: Iterable[Answer], key_prefix: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i, answer in enumerate(answers):
        day = answer[0]
        rows.append(
            {
                "response_key": f"id:{key_prefix}{i}",
                "responded_at": datetime.combine(day, time(12), tzinfo=UTC),
                "local_day": day,
                "metric": answer[1],
                "score": answer[2],
                "customer_id": None,
                "segment": answer[3] if len(answer) > 3 else None,
                "touchpoint": answer[4] if len(answer) > 4 else None,
                "comment": None,
                "employee": None,
            }
        )
    return rows


def add_answers(
    engine: Engine, team_id: str, answers: Iterable[Answer], *, key_prefix: str = ""
) -> str:
    """Store answers (day, metric, score[, segment, touchpoint]) as one batch, like an import.

    Goes through `storage.responses.insert_responses`, the path every import and
    webhook takes (duplicates skipped, counts kept, detractor alerts raised). Keys
    come from `key_prefix` and the position, so storing the same list again with
    the same prefix gives duplicates.
    """
    frame = pd.DataFrame(_answer_rows(team_id, answers, key_prefix), columns=RESPONSE_COLUMNS)
    return insert_responses(engine, team_id=team_id, frame=frame).batch_id


def rollup_rows(
    engine: Engine, team_id: str | None = None, *, monthly: bool = False
) -> set[tuple[Any, ...]]:
    """Rows of the daily (or monthly) counts table, days and months as ISO text."""
    table, column = ("responsemonthly", "month") if monthly else ("responsedaily", "day")
    where = "" if team_id is None else "WHERE team_id = :t"
    sql = f"SELECT team_id, {column}, metric, segment, touchpoint, score, n FROM {table} {where}"
    with engine.connect() as conn:
        return {_iso(tuple(r)) for r in conn.execute(text(sql), {"t": team_id})}


def grouped_responses(
    engine: Engine, team_id: str | None = None, *, monthly: bool = False
) -> set[tuple[Any, ...]]:
    """The counts as they should be: a GROUP BY over the answers themselves."""
    where = "" if team_id is None else "WHERE team_id = :t"
    sql = (
        "SELECT team_id, local_day, metric, coalesce(segment, ''), coalesce(touchpoint, ''),"
        f" score, count(*) FROM response {where}"
        " GROUP BY team_id, local_day, metric, coalesce(segment, ''), coalesce(touchpoint, ''),"
        " score"
    )
    with engine.connect() as conn:
        daily = [_iso(tuple(r)) for r in conn.execute(text(sql), {"t": team_id})]
    if not monthly:
        return set(daily)
    months: dict[tuple[Any, ...], int] = {}
    for team, day, *rest, n in daily:
        key = (team, day[:8] + "01", *rest)
        months[key] = months.get(key, 0) + n
    return {(*k, n) for k, n in months.items()}


def _iso(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # SQLite hands DATE columns back as text through raw SQL, PostgreSQL as dates.
    return (row[0], str(row[1]), *row[2:])


def add_customers(engine: Engine, team_id: str, customers: Iterable[dict[str, Any]]) -> None:
    rows = []
    for i, c in enumerate(customers):
        row = {
            "team_id": team_id,
            "customer_id": c.get("customer_id", f"C{i}"),
            "started_at": c["started_at"],
            "ended_at": c.get("ended_at"),
            "segment": c.get("segment"),
            "annual_revenue": c.get("annual_revenue"),
            "acquisition_cost": c.get("acquisition_cost"),
            "updated_at": datetime.now(UTC),
        }
        for money in ("annual_revenue", "acquisition_cost"):
            if row[money] is not None:
                row[money] = Decimal(str(row[money]))
        rows.append(row)
    with engine.begin() as conn:
        conn.execute(insert(Customer), rows)


def add_alert(
    engine: Engine,
    team_id: str,
    *,
    created_at: datetime,
    first_response_after: timedelta | None = None,
    resolved_after: timedelta | None = None,
    due_after: timedelta = timedelta(hours=24),
    posted: bool = True,
    day: date | None = None,
) -> int:
    """A detractor answer and its alert (made here, not by the import); returns the alert id."""
    batch = uuid.uuid4().hex
    answer_day = day or created_at.date()
    with engine.begin() as conn:
        (row,) = _answer_rows(team_id, [(answer_day, "nps", 2)], f"alert-{batch}-")
        conn.execute(
            insert(Response).values(
                team_id=team_id, source="import", batch_id=batch, created_at=created_at, **row
            )
        )
        rollup.add_batch(conn, team_id=team_id, batch_id=batch)
        response_id = conn.execute(
            text("SELECT id FROM response WHERE batch_id = :b"), {"b": batch}
        ).scalar_one()
        return int(
            conn.execute(
                insert(Alert)
                .values(
                    team_id=team_id,
                    response_id=response_id,
                    status="resolved" if resolved_after is not None else "open",
                    posted=posted,
                    due_at=created_at + due_after,
                    first_response_at=(
                        created_at + first_response_after if first_response_after else None
                    ),
                    resolved_at=created_at + resolved_after if resolved_after is not None else None,
                    created_at=created_at,
                )
                .returning(Alert.__table__.c.id)  # type: ignore[attr-defined]
            ).scalar_one()
        )
