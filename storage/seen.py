"""Signatures of Slack requests already taken (bot/replay.py), shared by every instance."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from storage.db import writing
from storage.models import SeenRequest

_T = SeenRequest.__table__  # type: ignore[attr-defined]


def first_sighting(engine: Engine, *, digest: str, expires_at: datetime) -> bool:
    """Record `digest` until `expires_at`; False when it is already recorded.

    Atomic through the primary key: of two copies racing on different instances, exactly
    one gets True.
    """
    with writing(engine) as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(_T).values(digest=digest, expires_at=expires_at)
        stmt = stmt.on_conflict_do_nothing(index_elements=["digest"]).returning(_T.c.digest)
        # RETURNING, not rowcount: psycopg reports -1 for this statement.
        return conn.execute(stmt).first() is not None


def forget_expired(engine: Engine, *, now: datetime) -> int:
    """Drop the signatures that Slack's window would refuse anyway; how many."""
    with writing(engine) as conn:
        return int(conn.execute(delete(_T).where(_T.c.expires_at < now)).rowcount or 0)
