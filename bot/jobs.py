"""Scheduled work: periodic sweeps run by APScheduler with a persistent job store.

Each feature registers a *sweep*: a function that looks at the clock and the
database and does whatever is due (post last week's digest, remind an alert's
owner, open a survey round). Sweeps are idempotent — what they post goes
through the outbox under a key per cause — so running one twice, late, or after
a restart posts nothing twice, and a run missed while the bot was down happens
at the next tick. APScheduler only supplies the tick: one job per sweep, with
an explicit id, `replace_existing`, `coalesce` and a misfire grace time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sweep:
    name: str
    run: Callable[[Services], None]
    every_seconds: int


SWEEPS: dict[str, Sweep] = {}

# APScheduler's persistent store pickles jobs by reference, so the job function is a
# module-level function that finds the process's services here.
_running: Services | None = None


def sweep(
    name: str, *, every_seconds: int = 60
) -> Callable[[Callable[[Services], None]], Callable[[Services], None]]:
    """Register `fn(services)` to run every `every_seconds` in the scheduler process."""

    def decorator(fn: Callable[[Services], None]) -> Callable[[Services], None]:
        SWEEPS[name] = Sweep(name, fn, every_seconds)
        return fn

    return decorator


def run_sweep(name: str) -> None:
    services = _running
    if services is None or name not in SWEEPS:
        return
    try:
        SWEEPS[name].run(services)
    except Exception:
        log.exception("sweep %s failed", name)


def run_all(services: Services) -> None:
    """Run every registered sweep once, now (tests, and `--once` style commands)."""
    for item in list(SWEEPS.values()):
        item.run(services)


def load_features() -> None:
    """Import the modules that register sweeps (they live with their features)."""
    import importlib
    import pkgutil

    import bot.handlers as handlers

    for module in pkgutil.iter_modules(handlers.__path__):
        importlib.import_module(f"{handlers.__name__}.{module.name}")


def start_scheduler(services: Services) -> BackgroundScheduler:
    global _running
    _running = services
    load_features()
    scheduler = BackgroundScheduler(
        jobstores={
            "default": SQLAlchemyJobStore(engine=services.engine, tablename="apscheduler_jobs")
        },
        job_defaults={"coalesce": True, "misfire_grace_time": 300, "max_instances": 1},
        timezone="UTC",
    )
    for item in SWEEPS.values():
        scheduler.add_job(
            run_sweep,
            "interval",
            seconds=item.every_seconds,
            args=[item.name],
            id=f"sweep:{item.name}",
            replace_existing=True,
        )
    scheduler.start()
    return scheduler


def start(services: Services) -> Callable[[], None]:
    """Background starter (bot.runtime_hooks.STARTERS): run the sweeps in this process."""
    scheduler = start_scheduler(services)
    return lambda: scheduler.shutdown(wait=False)
