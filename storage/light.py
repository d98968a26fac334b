"""The columns that `cxbot metrics` and the settings reads touch, as plain SQLAlchemy tables.

storage.models builds every SQLModel class (pydantic models too) when imported, which
takes longer than the metrics query itself; the command line's read paths use these
instead. They name the same tables and columns with the same column types:
tests/storage/test_light_tables.py compares them with the models.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Date, Integer, Numeric, String, Text, column, table
from sqlalchemy.sql.expression import TableClause

from storage.types import UTCDateTime


def _counts(name: str, period: str) -> TableClause:
    return table(
        name,
        column("team_id", String),
        column(period, Date),
        column("metric", String),
        column("segment", String),
        column("touchpoint", String),
        column("score", Integer),
        column("n", Integer),
    )


response_daily = _counts("responsedaily", "day")
response_monthly = _counts("responsemonthly", "month")
customer = table(
    "customer",
    column("team_id", String),
    column("started_at", Date),
    column("ended_at", Date),
    column("annual_revenue", Numeric(16, 2)),
    column("acquisition_cost", Numeric(16, 2)),
)
alert = table(
    "alert",
    column("team_id", String),
    column("status", String),
    column("posted", Boolean),
    column("due_at", UTCDateTime),
    column("first_response_at", UTCDateTime),
    column("resolved_at", UTCDateTime),
    column("created_at", UTCDateTime),
)
workspace_setting = table(
    "workspacesetting",
    column("team_id", String),
    column("key", String),
    column("value", Text),
    column("updated_at", UTCDateTime),
)
