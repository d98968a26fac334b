"""Scheduled work: the features' sweeps, ticked by APScheduler in the leading instance.

A *sweep* (bot.feature.Sweep) is a function that looks at the clock and the database and
does whatever is due (post last week's digest, remind an alert's owner, open a survey
round). Sweeps are idempotent (what they post goes through the outbox under a key per
cause), so running one twice, late, or after a restart posts nothing twice, and a run
missed while the bot was down happens at the next tick. APScheduler only supplies the
tick: one job per sweep, in memory, with `coalesce` and a misfire grace time. When each
sweep is next due is kept in the database (storage.sweeps), so a newly elected leader keeps
the timetable of the one before: it neither postpones a sweep by a whole interval nor
skips one that fell due while nobody led (one already past runs now).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from bot.feature import Sweep
from bot.services import Services
from storage import sweeps as timetable

log = logging.getLogger(__name__)


def run_sweep(services: Services, sweep: Sweep) -> None:
    """Run `sweep` once; a failure is logged, and the next tick tries again."""
    try:
        sweep.run(services)
    except Exception:
        log.exception("sweep %s failed", sweep.name)
    # The scheduler ticks on the wall clock, whatever clock the services keep.
    due = datetime.now(UTC) + timedelta(seconds=sweep.every_seconds)
    try:
        timetable.set_next_run(services.engine, sweep.name, due)
    except Exception:
        log.warning("sweep %s: the timetable could not be kept", sweep.name, exc_info=True)


def start_scheduler(services: Services) -> BackgroundScheduler:
    """Tick every sweep of `services.registry` in this process, on the shared timetable."""
    scheduler = BackgroundScheduler(
        job_defaults={"coalesce": True, "misfire_grace_time": 300, "max_instances": 1},
        timezone="UTC",
    )
    now = datetime.now(UTC)
    try:
        planned = timetable.next_runs(services.engine)
    except Exception:
        log.warning("the sweeps' timetable could not be read; starting it again", exc_info=True)
        planned = {}
    for item in services.registry.sweeps.values():
        due = planned.get(item.name)
        first = max(due, now) if due else now + timedelta(seconds=item.every_seconds)
        if due is None:
            timetable.set_next_run(services.engine, item.name, first)
        scheduler.add_job(
            run_sweep,
            "interval",
            seconds=item.every_seconds,
            args=[services, item],
            id=f"sweep:{item.name}",
            next_run_time=first,
        )
    scheduler.start()
    return scheduler
