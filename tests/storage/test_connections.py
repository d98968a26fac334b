"""Pooled connections: reads without a transaction, pings only after idling, and a
connection the server dropped replaced without the caller noticing more than once."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from storage.db import make_engine, ping_when_idle, reading


def test_reads_run_outside_a_transaction_and_leave_the_pool_as_it_was(pg_engine: Engine) -> None:
    from psycopg.pq import TransactionStatus

    def status(conn: Connection) -> TransactionStatus:
        return conn.connection.dbapi_connection.info.transaction_status  # type: ignore[union-attr]

    with reading(pg_engine) as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
        # No BEGIN was sent, so no ROLLBACK is owed when the connection goes back.
        assert status(conn) == TransactionStatus.IDLE
    with pg_engine.connect() as conn:
        # The next borrower of the same pooled connection gets transactions again.
        conn.execute(text("SELECT 1"))
        assert status(conn) == TransactionStatus.INTRANS


def test_reads_on_sqlite_work_the_same(sqlite_engine: Engine) -> None:
    with reading(sqlite_engine) as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    with sqlite_engine.begin() as conn:
        conn.execute(text("CREATE TABLE kept (x integer)"))
        conn.execute(text("INSERT INTO kept VALUES (1)"))
    with pytest.raises(ZeroDivisionError), sqlite_engine.begin() as conn:
        conn.execute(text("INSERT INTO kept VALUES (2)"))
        raise ZeroDivisionError
    # Transactions still roll back after a read borrowed the connection in autocommit.
    with reading(sqlite_engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM kept")).scalar_one() == 1


def _kill_backends(admin: Engine, database: str) -> int:
    with admin.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": database},
        ).scalar_one()
    return int(killed)


def test_a_connection_dropped_while_idle_is_replaced_at_checkout(pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=2)
    admin = make_engine(pg_url.rsplit("/", 1)[0] + "/postgres", pool_size=1)
    try:
        ping_when_idle(engine, 0.2)
        with reading(engine) as conn:
            conn.execute(text("SELECT 1"))
        assert _kill_backends(admin, engine.url.database or "") >= 1
        time.sleep(0.3)
        # The ping finds the connection dead and the pool hands out a new one.
        with reading(engine) as conn:
            assert conn.execute(text("SELECT 2")).scalar_one() == 2
    finally:
        engine.dispose()
        admin.dispose()


def test_a_connection_dropped_while_busy_fails_once_then_the_pool_recovers(pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=3)
    admin = make_engine(pg_url.rsplit("/", 1)[0] + "/postgres", pool_size=1)
    try:
        # Three connections in the pool, all recently used: none is pinged.
        held = [engine.connect() for _ in range(3)]
        for conn in held:
            conn.execute(text("SELECT 1"))
        for conn in held:
            conn.close()
        assert _kill_backends(admin, engine.url.database or "") >= 3
        with pytest.raises(OperationalError), reading(engine) as conn:
            conn.execute(text("SELECT 1"))
        # The failure invalidated the whole pool: every later checkout gets a new connection.
        for _ in range(3):
            with engine.begin() as conn:
                assert conn.execute(text("SELECT 3")).scalar_one() == 3
    finally:
        engine.dispose()
        admin.dispose()
