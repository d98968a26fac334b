"""Which workspaces the database knows."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

from storage.db import reading

_TABLES = ("response", "customer", "workspacesetting", "insight", "survey")


def known_teams(engine: Engine) -> list[str]:
    sql = " UNION ".join(f"SELECT DISTINCT team_id FROM {t}" for t in _TABLES)
    with reading(engine) as conn:
        return [row[0] for row in conn.execute(text(sql))]
