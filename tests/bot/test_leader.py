"""One scheduler leader at a time: election, hand-over when the leader stops or its database
session dies, and the real scheduler running only in the leader."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.feature import Feature, Registry, Sweep
from bot.leader import LOCK_NAME, Leader, start
from bot.services import Services
from bot.settings import load_settings
from storage import locks
from storage.db import make_engine


class Work:
    """What a leader runs: records when it starts and stops."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log
        self.running = False

    def __call__(self) -> Callable[[], None]:
        self.running = True
        self.log.append(f"start {self.name}")

        def stop() -> None:
            self.running = False
            self.log.append(f"stop {self.name}")

        return stop


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def test_one_leader_and_hand_over_on_stop(engine: Engine) -> None:
    log: list[str] = []
    a = Leader(engine, Work("a", log), name="t:leader", retry_seconds=60)
    b = Leader(engine, Work("b", log), name="t:leader", retry_seconds=60)
    assert a.step() is True
    assert b.step() is False
    assert a.step() is True  # still holds it
    assert (a.is_leader, b.is_leader) == (True, False)
    a.stop()
    assert log == ["start a", "stop a"]
    assert b.step() is True
    assert log[-1] == "start b" and b.terms == 1
    b.stop()
    assert not b.is_leader


def test_a_dead_session_moves_the_leadership(pg_engine: Engine) -> None:
    log: list[str] = []
    a = Leader(pg_engine, Work("a", log), name="t:dead-leader", retry_seconds=60)
    b = Leader(pg_engine, Work("b", log), name="t:dead-leader", retry_seconds=60)
    assert a.step() and not b.step()
    halves = locks._halves(locks.lock_id("t:dead-leader"))
    with pg_engine.begin() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid = :hi AND objid = :lo"
            ),
            halves,
        )
    wait_until(lambda: b.step())  # the follower takes over at its next try ...
    assert a.step() is False  # ... and the old leader steps down at its next check
    assert log == ["start a", "start b", "stop a"]
    b.stop()


def test_leaders_in_threads_hand_over_within_one_interval(engine: Engine) -> None:
    log: list[str] = []
    works = [Work(n, log) for n in "abc"]
    leaders = [Leader(engine, w, name="t:threads", retry_seconds=0.05) for w in works]
    for leader in leaders:
        leader.start()
    try:
        wait_until(lambda: sum(w.running for w in works) == 1)
        time.sleep(0.3)  # several rounds later: still exactly one
        assert sum(w.running for w in works) == 1
        first = next(i for i, w in enumerate(works) if w.running)
        stopped = time.monotonic()
        leaders[first].stop()
        wait_until(lambda: sum(w.running for w in works) == 1, timeout=2)
        assert time.monotonic() - stopped < 1.0
        assert not works[first].running
    finally:
        for leader in leaders:
            leader.stop()
    assert sum(w.running for w in works) == 0


def test_work_that_fails_to_start_lets_another_lead(engine: Engine) -> None:
    def broken() -> Callable[[], None]:
        raise RuntimeError("no scheduler today")

    log: list[str] = []
    a = Leader(engine, broken, name="t:broken", retry_seconds=60)
    b = Leader(engine, Work("b", log), name="t:broken", retry_seconds=60)
    assert a.step() is False
    assert b.step() is True
    b.stop()


def test_only_the_leader_runs_the_scheduler(sqlite_url: str, tmp_path: Path) -> None:
    # A sweep that records which services ran it, every second.
    probe: list[int] = []
    probing = Registry(
        [Feature("probe", sweeps=(Sweep("probe", lambda s: probe.append(id(s)), 1),))]
    )
    settings = load_settings(
        _env_file=None, database_url=sqlite_url, cxbot_leader_retry_seconds=0.1
    )
    instances: list[Services] = []
    stops: list[Callable[[], None]] = []
    for _ in range(2):
        eng: Engine = make_engine(sqlite_url)
        services = Services(settings=settings, engine=eng, registry=probing)
        instances.append(services)
        stops.append(start(services))
    try:
        wait_until(lambda: sum(s.leader is not None and s.leader.is_leader for s in instances) == 1)
        leader = next(
            i for i, s in enumerate(instances) if s.leader is not None and s.leader.is_leader
        )
        wait_until(lambda: len(probe) >= 2, timeout=5)
        assert set(probe) == {id(instances[leader])}
        # The leader goes away: the other one takes over the schedule.
        stops[leader]()
        other = instances[1 - leader]
        wait_until(lambda: other.leader is not None and other.leader.is_leader, timeout=3)
        probe.clear()
        wait_until(lambda: len(probe) >= 1, timeout=5)
        assert set(probe) == {id(other)}
        assert locks.try_acquire(other.engine, LOCK_NAME) is None
    finally:
        for stop in stops:
            stop()
        for s in instances:
            s.engine.dispose()
