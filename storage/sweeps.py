"""The scheduler's timetable: when each sweep is next due, shared by every instance."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from storage.models import SweepRun

_T = SweepRun.__table__  # type: ignore[attr-defined]


def next_runs(engine: Engine) -> dict[str, datetime]:
    """Sweep name -> when it is next due (empty before the first scheduler ever ran)."""
    with engine.connect() as conn:
        return {str(r.name): r.next_run_at for r in conn.execute(select(_T)).all()}


def set_next_run(engine: Engine, name: str, at: datetime) -> None:
    """Record that sweep `name` is next due at `at`."""
    with engine.begin() as conn:
        conn.execute(delete(_T).where(_T.c.name == name))
        conn.execute(insert(_T).values(name=name, next_run_at=at))
