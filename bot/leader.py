"""One scheduler at a time, however many instances run.

APScheduler 3 cannot share its job store between processes, and the sweeps it ticks
should not all run N times. Every instance runs a `Leader`: it tries to take a named
lock (storage.locks: a PostgreSQL session advisory lock held on a connection of its
own, or a file lock beside a SQLite database). The one that gets it starts the
scheduler; the others try again every `retry_seconds`. A leader that dies takes its
connection, and so its lock, with it: a follower takes over at its next try, within
one interval (CXBOT_LEADER_RETRY_SECONDS, 15 s by default). A leader that loses its
connection (the database restarted) notices at its next check, stops its scheduler,
and competes again like everyone else.

Sweeps stay idempotent anyway (bot/jobs.py): in the seconds between a lost connection
and the old leader noticing, two schedulers may tick once each.

Every instance runs the outbox dispatcher regardless (bot.outbox.start_dispatcher):
rows are claimed with SKIP LOCKED, so sending scales out while scheduling does not.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from bot import jobs
from bot.services import Services
from storage.locks import HeldLock, try_acquire

log = logging.getLogger("cxbot.leader")

LOCK_NAME = "cxbot:scheduler"

Work = Callable[[], Callable[[], None] | None]


class Leader:
    """Holds the lock `name` when it can and runs `work` while it does.

    `work()` starts what only the leader runs and returns a function that stops it.
    """

    def __init__(
        self,
        engine: Engine,
        work: Work,
        *,
        name: str = LOCK_NAME,
        retry_seconds: float = 15.0,
    ) -> None:
        self.engine = engine
        self.work = work
        self.name = name
        self.retry_seconds = retry_seconds
        self.elected_at: datetime | None = None
        self.terms = 0  # how many times this instance became leader
        self._held: HeldLock | None = None
        self._stop_work: Callable[[], None] | None = None
        self._step_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_leader(self) -> bool:
        return self._held is not None

    # ------------------------------------------------------------------ running

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="leader", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop competing; a leader stops its work and lets go of the lock at once, so a
        follower can take over at its next try rather than after a timeout."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with self._step_lock:
            self._resign("stopping")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.step()
            self._stop.wait(self.retry_seconds)

    def step(self) -> bool:
        """One round: a leader checks it still holds the lock, a follower tries to take it.
        Returns whether this instance leads afterwards."""
        with self._step_lock:
            if self._stop.is_set():
                return False
            if self._held is not None:
                if self._held.alive():
                    return True
                log.warning("lost the scheduler lock (database connection gone); stepping down")
                self._resign("lock lost")
            try:
                held = try_acquire(self.engine, self.name)
            except Exception as exc:
                log.warning("cannot ask for the scheduler lock: %s", str(exc).splitlines()[0])
                return False
            if held is None:
                return False
            self._held = held
            try:
                self._stop_work = self.work()
            except Exception:
                log.exception("starting the scheduler failed; letting another instance try")
                self._held = None
                held.release()
                return False
            self.elected_at = datetime.now(UTC)
            self.terms += 1
            _show_leader(True)
            log.info("this instance now runs the scheduler", extra={"lock": self.name})
            return True

    def _resign(self, why: str) -> None:
        stop, self._stop_work = self._stop_work, None
        if stop is not None:
            try:
                stop()
            except Exception:
                log.exception("stopping the scheduler failed")
        held, self._held = self._held, None
        if held is not None:
            held.release()
            self.elected_at = None
            _show_leader(False)
            log.info("no longer runs the scheduler (%s)", why)


def _show_leader(leads: bool) -> None:
    # /metrics of any worker shows which process leads (multiprocess gauge, bot.observability).
    from bot.observability import METRICS

    METRICS.set_leader(leads)


def _scheduler(services: Services) -> Callable[[], None]:
    scheduler = jobs.start_scheduler(services)
    return lambda: scheduler.shutdown(wait=False)


def start(services: Services) -> Callable[[], None]:
    """Background starter (bot.features): compete for the scheduler."""
    leader = Leader(
        services.engine,
        lambda: _scheduler(services),
        retry_seconds=services.settings.cxbot_leader_retry_seconds,
    )
    services.leader = leader
    leader.start()

    def stop() -> None:
        leader.stop()
        services.leader = None

    return stop
