"""Customer insights' scheduled work: analysing the insights whose after-ack analysis was
cut short (the process stopped)."""

from __future__ import annotations

from datetime import timedelta

from bot.handlers.insights.analysis import analyze_logged
from bot.services import Services
from storage import insights as store

# An insight still unanalysed this long after it was recorded lost its analysis (the
# process stopped): the sweep does it.
STALE_AFTER = timedelta(minutes=2)


def analysis_sweep(services: Services) -> None:
    """The scheduled catch-up: see `run_pending`."""
    run_pending(services)


def run_pending(services: Services) -> int:
    """Analyse the insights whose after-ack analysis never finished; returns how many."""
    done = 0
    before = services.clock() - STALE_AFTER
    for team_id, insight_id in store.pending_analysis(services.engine, before=before):
        if analyze_logged(services, team_id, insight_id):
            done += 1
    return done
