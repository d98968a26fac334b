"""Workspace settings kept in the database (`workspacesetting`), one text value per key.

`set` checks the key and value with `core.config_keys` and stores the normalised
text, so whatever reads a setting back can trust it.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from core import config_keys
from storage.models import WorkspaceSetting, utcnow

_T = WorkspaceSetting.__table__  # type: ignore[attr-defined]


def get_settings(engine: Engine | Connection, *, team_id: str) -> dict[str, str]:
    """Every setting stored for the team (defaults not included: see config_keys.effective)."""
    query = select(_T.c.key, _T.c.value).where(_T.c.team_id == team_id).order_by(_T.c.key)
    if isinstance(engine, Connection):
        return {k: v for k, v in engine.execute(query)}
    with engine.connect() as conn:
        return {k: v for k, v in conn.execute(query)}


def get(engine: Engine, *, team_id: str, key: str) -> str | None:
    """The stored value of `key`, or None when it is not set."""
    query = select(_T.c.value).where(_T.c.team_id == team_id, _T.c.key == key)
    with engine.connect() as conn:
        return conn.execute(query).scalar_one_or_none()


def set(engine: Engine, *, team_id: str, key: str, value: str) -> tuple[str, str]:
    """Store a setting; returns the (key, value) as stored. ConfigError when invalid."""
    name, text = config_keys.validate(key, value)
    with engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(_T).values(team_id=team_id, key=name, value=text, updated_at=utcnow())
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["team_id", "key"],
                set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
            )
        )
    return name, text


def unset(engine: Engine, *, team_id: str, key: str) -> bool:
    """Remove a setting so its default applies again; False when it was not set."""
    name = config_keys.normalise_key(key)
    with engine.begin() as conn:
        result = conn.execute(delete(_T).where(_T.c.team_id == team_id, _T.c.key == name))
    return bool(result.rowcount)
