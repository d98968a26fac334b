"""Metric goals (`/cx goal`): one per workspace and metric, set again replaces it.

Read and written through a plain table of the `goal` columns, not storage.models: the
digest, App Home and `cxbot metrics` show goals, and building the SQLModel classes would
double the command line's start-up (storage/light.py). tests/storage/test_goals.py checks
that the two describe the same table.
"""

from __future__ import annotations

from sqlalchemy import Float, String, column, delete, select, table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from core.goals import Goal, ordered
from storage.db import reading
from storage.types import UTCDateTime

GOAL = table(
    "goal",
    column("team_id", String),
    column("metric", String),
    column("target", Float),
    column("baseline", Float),
    column("deadline_at", UTCDateTime),
    column("deadline_label", String),
    column("set_at", UTCDateTime),
    column("set_by", String),
)
_FIELDS = ("metric", "target", "baseline", "deadline_at", "deadline_label", "set_at", "set_by")


def set_goal(engine: Engine, *, team_id: str, goal: Goal) -> None:
    """Store `goal`, replacing the workspace's goal for the same metric."""
    values = {name: getattr(goal, name) for name in _FIELDS}
    with engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(GOAL).values(team_id=team_id, **values)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["team_id", "metric"],
                set_={name: stmt.excluded[name] for name in _FIELDS if name != "metric"},
            )
        )


def goals(engine: Engine, *, team_id: str) -> list[Goal]:
    """The workspace's goals, NPS, CSAT, CES, CSI in that order."""
    query = select(*(GOAL.c[name] for name in _FIELDS)).where(GOAL.c.team_id == team_id)
    with reading(engine) as conn:
        rows = conn.execute(query).all()
    return ordered(
        [
            Goal(
                metric=str(r.metric),
                target=float(r.target),
                baseline=None if r.baseline is None else float(r.baseline),
                deadline_at=r.deadline_at,
                deadline_label=str(r.deadline_label),
                set_at=r.set_at,
                set_by=str(r.set_by),
            )
            for r in rows
        ]
    )


def remove_goal(engine: Engine, *, team_id: str, metric: str) -> bool:
    """Remove the workspace's goal for `metric`; False when there was none."""
    with engine.begin() as conn:
        result = conn.execute(
            delete(GOAL).where(GOAL.c.team_id == team_id, GOAL.c.metric == metric)
        )
    return bool(result.rowcount)
