"""Slack event ids already handled: Slack re-delivers an event it thinks we missed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from storage.models import ProcessedEvent, utcnow

_T = ProcessedEvent.__table__  # type: ignore[attr-defined]


def mark_processed(
    engine: Engine, *, team_id: str, event_id: str, now: datetime | None = None
) -> bool:
    """Record `event_id` as handled; False when it already was (so the caller skips it).

    Atomic through the primary key: of two deliveries racing in different processes, exactly
    one gets True.
    """
    with engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(_T).values(
            event_id=event_id, team_id=team_id, received_at=now or utcnow()
        )
        stmt = stmt.on_conflict_do_nothing(index_elements=["event_id"]).returning(_T.c.event_id)
        # RETURNING, not rowcount: psycopg reports -1 for this statement.
        return conn.execute(stmt).first() is not None
