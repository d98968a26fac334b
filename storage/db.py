"""Engines, sessions and schema migrations."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError

if TYPE_CHECKING:
    # Alembic and SQLModel take longer to import than a command like `cxbot metrics`
    # takes to answer: imported where migrations run and sessions open.
    from alembic.config import Config
    from sqlmodel import Session

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine tuned for the backend: WAL and a busy timeout on SQLite, a pool on PostgreSQL."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            # WAL lets the web server read while the outbox or an import writes.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # Deleted rows and freed pages are zeroed, not left readable in the file: an
            # anonymous round's key and slots must be gone once it closes (storage.surveys).
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    # A database that is away should fail a request quickly (and /healthz with it), not hang.
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        ping_when_idle(engine, IDLE_PING_SECONDS)
    return engine


# A pooled connection unused for longer than this is checked with a ping before it is
# handed out (one that idled past a firewall's or the server's timeout is replaced).
IDLE_PING_SECONDS = 10.0


def ping_when_idle(engine: Engine, seconds: float) -> None:
    """Ping a pooled connection at checkout only when it has idled `seconds` or more.

    SQLAlchemy's `pool_pre_ping` pings at every checkout: a round trip, and on PostgreSQL
    a separate BEGIN ... ROLLBACK, for each of the several checkouts a request makes. A
    connection broken while in use (the server restarted under load) fails its statement
    instead; SQLAlchemy then invalidates the whole pool, so one operation per process
    fails and the next ones get new connections.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the driver's own error type for a dead connection
            raise DisconnectionError(str(exc)) from exc
        if not alive:
            raise DisconnectionError("the database connection did not answer a ping")


@contextmanager
def writing(bind: Engine | Connection) -> Iterator[Connection]:
    """A transaction of its own for an engine; for a connection, the caller's transaction."""
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.begin() as conn:
        yield conn


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads only, in autocommit mode.

    On PostgreSQL a read in a transaction costs a BEGIN and a ROLLBACK round trip on top
    of its query, and the rollback also drops psycopg's prepared statements; a request
    that only reads a few rows pays more for those than for the reads.
    """
    with engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


MIGRATION_LOCK = "cxbot:migrate"


def upgrade(engine: Engine, revision: str = "head", *, lock_timeout: float | None = 600) -> None:
    """Apply migrations up to `revision` (idempotent: a current database is left as it is).

    Several instances starting together would otherwise race to create the same tables:
    the first takes a lock shared through the database (storage.locks) and migrates, the
    others wait for it and then find the schema current.
    """
    from alembic import command

    from storage.locks import acquire

    cfg = alembic_config(engine)
    with acquire(engine, MIGRATION_LOCK, timeout=lock_timeout), engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


_REVISION = re.compile(r"^revision(?:: *str)? *= *[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN = re.compile(r"^down_revision[^=]*= *(.+)$", re.MULTILINE)


@cache
def head_revisions() -> frozenset[str]:
    """The migrations' heads, read from the files without loading Alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found:
            revisions.add(found.group(1))
        down = _DOWN.search(source)
        if down:
            parents.update(re.findall(r"[\"']([^\"']+)[\"']", down.group(1)))
    return frozenset(revisions - parents)


def stored_revisions(engine: Engine) -> frozenset[str] | None:
    """What `alembic_version` holds; None when it cannot be read (no schema yet)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except Exception:
        return None
    return frozenset(str(r[0]) for r in rows)


def upgrade_if_behind(engine: Engine) -> None:
    """`upgrade` unless the database already stands at the heads: a command's start-up
    then costs one query instead of loading Alembic and its migration scripts."""
    if stored_revisions(engine) != head_revisions():
        upgrade(engine)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back on any error."""
    from sqlmodel import Session

    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# Tables that libraries create and manage themselves (APScheduler's job store,
# slack_sdk's installation and OAuth state stores): migrations leave them alone.
FOREIGN_TABLES = ("apscheduler_", "slack_")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's `include_name` hook: compare and migrate only the product's own tables."""
    return not (type_ == "table" and name is not None and name.startswith(FOREIGN_TABLES))
