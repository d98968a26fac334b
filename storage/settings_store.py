"""Workspace settings kept in the database (`workspacesetting`), one text value per key.

`set` checks the key and value with `core.config_keys` and stores the normalised
text; `load` reads a workspace's text back as `core.workspace_settings.WorkspaceSettings`,
the one way features read settings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from core import config_keys
from core.workspace_settings import WorkspaceSettings
from storage.db import reading
from storage.fresh import FreshCache, database_key
from storage.light import workspace_setting

# storage.light's copy of WorkspaceSetting's table: commands read settings at start-up.
_T: Any = workspace_setting


# A change made in this process is seen at once; one made by another instance, or by
# `cxbot config set`, within this many seconds (see storage.fresh).
FRESH_SECONDS = 1.0

# A workspace's stored text and what it reads as, kept together so the text is parsed
# once per copy rather than by every reader.
_copies: FreshCache[tuple[dict[str, str], WorkspaceSettings]] = FreshCache(FRESH_SECONDS)


def _read(bind: Engine | Connection, team_id: str) -> tuple[dict[str, str], WorkspaceSettings]:
    """Given a connection, reads in its transaction (what it wrote included); given an
    engine, may answer from this process's copy, at most FRESH_SECONDS old."""
    query = select(_T.c.key, _T.c.value).where(_T.c.team_id == team_id).order_by(_T.c.key)

    def parsed(conn: Connection) -> tuple[dict[str, str], WorkspaceSettings]:
        stored = {k: v for k, v in conn.execute(query)}
        return stored, WorkspaceSettings.from_stored(stored)

    if isinstance(bind, Connection):
        return parsed(bind)

    def fresh() -> tuple[dict[str, str], WorkspaceSettings]:
        with reading(bind) as conn:
            return parsed(conn)

    return _copies.get((database_key(bind), team_id), fresh)


def load(bind: Engine | Connection, *, team_id: str) -> WorkspaceSettings:
    """The team's settings, typed, defaults where nothing is stored (see `_read` for how
    fresh)."""
    return _read(bind, team_id)[1]


def get_settings(bind: Engine | Connection, *, team_id: str) -> dict[str, str]:
    """Every setting stored for the team, as stored (defaults not included): for showing
    and copying settings; features read them typed with `load`."""
    return dict(_read(bind, team_id)[0])


def get(engine: Engine, *, team_id: str, key: str) -> str | None:
    """The stored value of `key`, or None when it is not set."""
    query = select(_T.c.value).where(_T.c.team_id == team_id, _T.c.key == key)
    with reading(engine) as conn:
        return conn.execute(query).scalar_one_or_none()


def set(
    engine: Engine, *, team_id: str, key: str, value: str, now: datetime | None = None
) -> tuple[str, str]:
    """Store a setting; returns the (key, value) as stored. ConfigError when invalid.
    `now`: when it was set (the bot's clock; default the wall clock)."""
    name, text = config_keys.validate(key, value)
    with engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(_T).values(
            team_id=team_id, key=name, value=text, updated_at=now or datetime.now(UTC)
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["team_id", "key"],
                set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
            )
        )
    _copies.forget((database_key(engine), team_id))
    return name, text


def set_since(engine: Engine, *, team_id: str, keys: list[str]) -> dict[str, datetime]:
    """When each of `keys` that is set was last changed."""
    query = select(_T.c.key, _T.c.updated_at).where(_T.c.team_id == team_id, _T.c.key.in_(keys))
    with reading(engine) as conn:
        rows = conn.execute(query).all()
    return {str(k): (at if at.tzinfo else at.replace(tzinfo=UTC)) for k, at in rows}


def unset(engine: Engine, *, team_id: str, key: str) -> bool:
    """Remove a setting so its default applies again; False when it was not set."""
    name = config_keys.normalise_key(key)
    with engine.begin() as conn:
        result = conn.execute(delete(_T).where(_T.c.team_id == team_id, _T.c.key == name))
    _copies.forget((database_key(engine), team_id))
    return bool(result.rowcount)
