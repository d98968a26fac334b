"""Finding the answers an insert just added among the newest rows of `response`.

An insert's answers all get ids above the largest id before it (see
`storage.responses.largest_id`), so readers of a batch scan that id range
instead of an index on batch_id, which would slow every import.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.sql.elements import ColumnElement


def team_match(column: Any, team_id: str, dialect_name: str) -> ColumnElement[bool]:
    """`column = team_id`, written so SQLite walks the id range rather than the team.

    SQLite's planner (without statistics) prefers an equality on an indexed column
    to a range on the rowid, and would read every answer of the team; `team_id || ''`
    is the same test that no index serves. PostgreSQL's planner estimates the id
    range itself, so it gets the plain comparison.
    """
    if dialect_name == "sqlite":
        return column.concat("") == team_id
    return column == team_id


# The same for the plain SQL of storage.rollup.
TEAM_SQL = {"sqlite": "team_id || '' = :team_id"}
