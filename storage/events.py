"""Slack event ids taken for handling: Slack re-delivers an event it thinks we missed.

A delivery first claims its event id, and the claim becomes final only when the handler
succeeded. A handler that fails gives the claim back, so Slack's next retry handles the
event again; a claim left by a process that died is taken over once it is `LEASE` old.
A retry that finds the event handled, or a fresh claim (the first delivery still at
work), is a duplicate.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from storage.models import ProcessedEvent, utcnow

_T = ProcessedEvent.__table__  # type: ignore[attr-defined]

# Slack retries after about 1 and 5 minutes: a claim older than this is a dead delivery's,
# not a slow one's, by the time the last retry comes.
LEASE = timedelta(minutes=2)


def claim(
    engine: Engine,
    *,
    team_id: str,
    event_id: str,
    now: datetime | None = None,
    lease: timedelta = LEASE,
) -> bool:
    """Take `event_id` for handling; False when it is handled or a fresh claim holds it.

    Atomic: of deliveries racing in different processes, exactly one gets True.
    """
    now = now or utcnow()
    with engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(_T).values(event_id=event_id, team_id=team_id, received_at=now)
        stmt = stmt.on_conflict_do_nothing(index_elements=["event_id"]).returning(_T.c.event_id)
        # RETURNING, not rowcount: psycopg reports -1 for this statement.
        if conn.execute(stmt).first() is not None:
            return True
        stale = (
            update(_T)
            .where(
                _T.c.event_id == event_id,
                _T.c.handled_at.is_(None),
                _T.c.received_at < now - lease,
            )
            .values(received_at=now, team_id=team_id)
            .returning(_T.c.event_id)
        )
        return conn.execute(stale).first() is not None


def handled(engine: Engine, *, event_id: str, now: datetime | None = None) -> None:
    """Make the claim on `event_id` final: every later delivery of it is a duplicate."""
    with engine.begin() as conn:
        conn.execute(update(_T).where(_T.c.event_id == event_id).values(handled_at=now or utcnow()))


def release(engine: Engine, *, event_id: str) -> None:
    """Give back an unfinished claim (the handler failed) so a retry handles the event."""
    with engine.begin() as conn:
        conn.execute(delete(_T).where(_T.c.event_id == event_id, _T.c.handled_at.is_(None)))
