"""Named locks across processes: PostgreSQL advisory locks, SQLite file locks."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from storage import locks
from storage.db import current_revision, make_engine, upgrade

ROOT = Path(__file__).resolve().parents[2]


def test_lock_ids_are_stable_and_distinct() -> None:
    assert locks.lock_id("cxbot:scheduler") == locks.lock_id("cxbot:scheduler")
    assert locks.lock_id("cxbot:scheduler") != locks.lock_id("cxbot:migrate")
    assert -(2**63) <= locks.lock_id("x") < 2**63


def test_one_holder_at_a_time(engine: Engine) -> None:
    first = locks.try_acquire(engine, "t:one")
    assert first is not None and first.alive()
    assert locks.try_acquire(engine, "t:one") is None
    other = locks.try_acquire(engine, "t:other")  # another name is another lock
    assert other is not None
    first.release()
    assert not first.alive()
    first.release()  # twice is harmless
    second = locks.try_acquire(engine, "t:one")
    assert second is not None
    second.release()
    other.release()


def test_acquire_waits_and_times_out(engine: Engine) -> None:
    held = locks.try_acquire(engine, "t:wait")
    assert held is not None
    started = time.monotonic()
    with (
        pytest.raises(locks.LockTimeout, match="t:wait"),
        locks.acquire(engine, "t:wait", timeout=0.3),
    ):
        pass
    assert time.monotonic() - started >= 0.3
    # Released by another thread while we wait: we get it.
    threading.Timer(0.2, held.release).start()
    with locks.acquire(engine, "t:wait", timeout=5) as mine:
        assert mine.alive()
    assert locks.try_acquire(engine, "t:wait") is not None


def test_a_dead_session_frees_the_lock(pg_engine: Engine) -> None:
    held = locks.try_acquire(pg_engine, "t:dead")
    assert held is not None
    halves = locks._halves(locks.lock_id("t:dead"))
    with pg_engine.begin() as conn:
        killed = conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid = :hi AND objid = :lo"
            ),
            halves,
        ).all()
    assert killed == [(True,)]
    # The holder notices on its next check, and someone else can take over.
    deadline = time.monotonic() + 5
    while held.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not held.alive()
    taker = locks.try_acquire(pg_engine, "t:dead")
    assert taker is not None
    taker.release()
    held.release()  # after the connection died: no error


def test_sqlite_file_lock_excludes_another_process(sqlite_engine: Engine) -> None:
    code = (
        "import sys; from storage.db import make_engine; from storage import locks; "
        "held = locks.try_acquire(make_engine(sys.argv[1]), 't:proc'); "
        "print('taken' if held else 'busy')"
    )
    url = str(sqlite_engine.url)

    def other() -> str:
        out = subprocess.run(
            [sys.executable, "-c", code, url], cwd=ROOT, capture_output=True, text=True, check=True
        )
        return out.stdout.strip()

    held = locks.try_acquire(sqlite_engine, "t:proc")
    assert held is not None
    assert other() == "busy"
    held.release()
    assert other() == "taken"


@pytest.fixture
def fresh_pg_url(pg_database_url: str) -> Iterator[str]:
    """An empty PostgreSQL database (not migrated)."""
    admin_url = pg_database_url.rsplit("/", 1)[0] + "/postgres"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"cxbot_locks_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_instances_starting_together_migrate_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path}/fresh.db"
        if backend == "sqlite"
        else str(request.getfixturevalue("fresh_pg_url"))
    )
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        eng = make_engine(url)
        try:
            barrier.wait()
            upgrade(eng)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            eng.dispose()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    eng = make_engine(url)
    try:
        assert current_revision(eng) is not None
        with eng.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM outboxmessage")).scalar_one() == 0
    finally:
        eng.dispose()
