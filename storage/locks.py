"""Named locks shared by every process using the same database.

On PostgreSQL these are session-level advisory locks, each held on a connection of its
own: the lock lives exactly as long as that connection, so a process that dies (or loses
the database) lets go of it without anyone cleaning up. SQLite has no such thing; a file
database gets an exclusive `flock` on a file beside it (processes on one machine is all
SQLite serves anyway), an in-memory database a lock inside this process. Both give the
same API:

    held = try_acquire(engine, "scheduler")   # None when another holder has it
    ...
    held.alive()                               # still ours? (False once the connection died)
    held.release()

    with acquire(engine, "migrate", timeout=60):   # wait for it
        ...
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, ClassVar, Protocol

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

POLL_SECONDS = 0.1


class LockTimeout(TimeoutError):
    """The lock was still held by someone else when the wait ran out."""


class HeldLock(Protocol):
    name: str

    def alive(self) -> bool:
        """True while the lock is still held by us (PostgreSQL: the session still exists)."""
        ...

    def release(self) -> None:
        """Let go of the lock; safe to call twice or after the connection died."""
        ...


def lock_id(name: str) -> int:
    """The signed 64-bit key PostgreSQL's advisory lock functions take, stable across runs."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def try_acquire(engine: Engine, name: str) -> HeldLock | None:
    """Take the lock `name` if nobody holds it; None otherwise. Never waits."""
    if engine.dialect.name == "postgresql":
        return _PgLock.try_take(engine, name)
    return _local_lock(engine, name).try_take()


@contextmanager
def acquire(engine: Engine, name: str, *, timeout: float | None = None) -> Iterator[HeldLock]:
    """Hold the lock `name` for the block, waiting up to `timeout` seconds (None: forever)."""
    held = _wait(engine, name, timeout)
    try:
        yield held
    finally:
        held.release()


def _wait(engine: Engine, name: str, timeout: float | None) -> HeldLock:
    if timeout is None:
        if engine.dialect.name == "postgresql":
            return _PgLock.take(engine, name)
        return _local_lock(engine, name).take()
    deadline = time.monotonic() + timeout
    while True:
        held = try_acquire(engine, name)
        if held is not None:
            return held
        if time.monotonic() >= deadline:
            raise LockTimeout(f"lock {name!r} is still held elsewhere after {timeout:g} s")
        time.sleep(POLL_SECONDS)


# --------------------------------------------------------------------------- PostgreSQL


def _halves(key: int) -> dict[str, int]:
    """How pg_locks shows a bigint advisory key: two unsigned 32-bit halves."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF}


def _dedicated(engine: Engine) -> Engine:
    """An unpooled engine on the same database: a lock's connection must never return to a
    pool (another thread would inherit the lock) and must really close on release."""
    cached: Engine | None = engine.__dict__.get("_cxbot_lock_engine")
    if cached is None:
        cached = create_engine(engine.url, poolclass=NullPool, connect_args={"connect_timeout": 5})
        engine.__dict__["_cxbot_lock_engine"] = cached
    return cached


class _PgLock:
    def __init__(self, name: str, conn: Connection) -> None:
        self.name = name
        self._conn: Connection | None = conn
        self._guard = threading.Lock()

    @classmethod
    def try_take(cls, engine: Engine, name: str) -> _PgLock | None:
        conn = _dedicated(engine).connect()
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_id(name)})
            taken = bool(got.scalar_one())
            conn.commit()
        except BaseException:
            conn.close()
            raise
        if not taken:
            conn.close()
            return None
        return cls(name, conn)

    @classmethod
    def take(cls, engine: Engine, name: str) -> _PgLock:
        conn = _dedicated(engine).connect()
        try:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_id(name)})
            conn.commit()
        except BaseException:
            conn.close()
            raise
        return cls(name, conn)

    def alive(self) -> bool:
        with self._guard:
            if self._conn is None:
                return False
            try:
                # Asking pg_locks (not just SELECT 1) also catches an unlock by hand.
                held = self._conn.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND pid = pg_backend_pid() AND granted "
                        "AND classid = :hi AND objid = :lo AND objsubid = 1"
                    ),
                    _halves(lock_id(self.name)),
                ).scalar_one()
                self._conn.commit()
                return bool(held)
            except Exception:
                self._drop()
                return False

    def release(self) -> None:
        with self._guard:
            if self._conn is None:
                return
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_id(self.name)})
                self._conn.commit()
            except Exception:
                pass  # the session is gone, and the lock with it
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(Exception):  # closing a connection the server already dropped
                conn.close()


# --------------------------------------------------------------------------- SQLite


class _FileLock:
    """An exclusive flock on `path`; each holder opens the file itself, so two holders in
    one process exclude each other as two processes do."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path

    def try_take(self) -> _HeldFile | None:
        return self._open(fcntl.LOCK_EX | fcntl.LOCK_NB)

    def take(self) -> _HeldFile:
        held = self._open(fcntl.LOCK_EX)
        assert held is not None
        return held

    def _open(self, mode: int) -> _HeldFile | None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, mode)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return _HeldFile(self.name, fd)


class _HeldFile:
    def __init__(self, name: str, fd: int) -> None:
        self.name = name
        self._fd: int | None = fd
        self._guard = threading.Lock()

    def alive(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        with self._guard:
            fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class _MemoryLock:
    """An in-memory SQLite database exists in one process only: a thread lock will do."""

    _locks: ClassVar[dict[str, threading.Lock]] = {}
    _registry = threading.Lock()

    def __init__(self, name: str) -> None:
        self.name = name
        with self._registry:
            self._lock = self._locks.setdefault(name, threading.Lock())

    def try_take(self) -> _HeldMemory | None:
        return _HeldMemory(self.name, self._lock) if self._lock.acquire(blocking=False) else None

    def take(self) -> _HeldMemory:
        self._lock.acquire()
        return _HeldMemory(self.name, self._lock)


class _HeldMemory:
    def __init__(self, name: str, lock: threading.Lock) -> None:
        self.name = name
        self._lock: threading.Lock | None = lock

    def alive(self) -> bool:
        return self._lock is not None

    def release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _local_lock(engine: Engine, name: str) -> Any:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return _MemoryLock(f"{id(engine)}:{name}")
    path = Path(database)
    return _FileLock(name, path.with_name(f"{path.name}.{_SAFE.sub('_', name)}.lock"))
