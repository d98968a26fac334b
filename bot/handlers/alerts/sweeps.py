"""Detractor alerts' scheduled work: the SLA clock, which queues each reminder and
escalation once."""

from __future__ import annotations

from bot.outbox import wake
from bot.services import Services
from core import alerts as rules
from core import sla
from storage import alerts as store


def alert_clock_sweep(services: Services) -> None:
    """The scheduled SLA sweep: see `run_clock`."""
    run_clock(services)


def run_clock(services: Services) -> int:
    """Queue the reminders and escalations that are due; returns how many were queued.

    Safe to run at any time and any number of times: each step is taken once.
    """
    now = services.clock()
    configs: dict[str, rules.AlertConfig] = {}
    queued = 0
    for item in store.running(services.engine):
        config = configs.get(item.team_id)
        if config is None:
            config = configs[item.team_id] = store.load_config(
                services.engine, team_id=item.team_id
            )
        action = sla.next_action(
            config.policy,
            created=item.created_at,
            due=item.due_at,
            now=now,
            reminders_sent=item.reminders_sent,
            escalated=False,
            resolved=False,
        )
        if not action.anything:
            continue
        queued += len(
            store.record_clock(
                services.engine,
                team_id=item.team_id,
                alert_id=item.id,
                action=action,
                now=now,
                escalation_channel=config.escalation_channel,
            )
        )
    if queued:
        wake(services)
    return queued
