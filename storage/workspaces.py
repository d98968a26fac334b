"""Which workspaces the database knows."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

_TABLES = ("response", "customer", "workspacesetting", "insight", "survey")


def known_teams(engine: Engine) -> list[str]:
    sql = " UNION ".join(f"SELECT DISTINCT team_id FROM {t}" for t in _TABLES)
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(text(sql))]
