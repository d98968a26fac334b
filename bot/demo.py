"""Filling a workspace with the demo year (`cxbot demo-data`, and the sandbox's first start).

Answers and customers go through the same storage functions as `cxbot import`,
so the demo exercises the real path: the deterministic response ids make a
second run find only duplicates. Insights and shout-outs are stored once per
workspace (see `storage.seeding`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from core import demo
from core.ingest import CUSTOMER_COLUMNS, RESPONSE_COLUMNS
from storage.alerts import load_config
from storage.customers import upsert_customers
from storage.responses import insert_responses
from storage.seeding import settle_demo_alerts, store_demo_feedback

DEFAULT_SEED = 42
DEFAULT_CUSTOMERS = 3000
# Progress is reported once for the customers, once per week of answers, once for
# insights and shout-outs.
STEPS = demo.WEEKS + 2
# A new user should find a few detractors to follow up, not two thousand.
KEEP_OPEN_ALERTS = 4

# The importer's columns (the customers' language is the demo's own, for its comments).
_CUSTOMER_COLUMNS = [c for c in CUSTOMER_COLUMNS if c != "name"]


@dataclass(frozen=True)
class DemoSummary:
    team_id: str
    customers: int  # in the demo
    customers_added: int
    answers: int  # in the demo
    answers_added: int  # 0 on a second run
    weeks: int
    first_day: date
    last_day: date
    dip_weeks: tuple[str, ...]  # ISO week labels of the delivery problem
    dip_start: date
    dip_end: date
    recovered_by: date  # last day of the recovery
    insights_added: int
    shoutouts_added: int
    feedback_skipped: bool  # demo insights and shout-outs were already there
    alerts_resolved: int = 0  # detractor alerts followed up and closed in the past
    alerts_open: int = 0  # the newest, still open (posted when alerts.channel is set)


def seed(
    engine: Engine,
    *,
    team_id: str,
    tz: ZoneInfo,
    now: datetime,
    progress: Callable[[int], None] | None = None,
    seed: int = DEFAULT_SEED,
    customers: int = DEFAULT_CUSTOMERS,
    force: bool = False,
) -> DemoSummary:
    """Store the demo year for `team_id`; running it again adds nothing.

    `force` replaces the team's demo insights and shout-outs (only those). `progress`
    is called with the number of steps done, `STEPS` in all.
    """
    advance = progress or (lambda n: None)
    data = demo.generate(seed=seed, now=now, tz=tz, customers=customers)

    people = upsert_customers(engine, team_id=team_id, frame=data.customers[_CUSTOMER_COLUMNS])
    advance(1)

    answers = data.responses
    added = 0
    for week in data.weeks:
        # One import batch per week keeps each transaction small and the progress bar moving.
        in_week = answers["local_day"].between(week.start, week.end)
        result = insert_responses(
            engine, team_id=team_id, frame=answers.loc[in_week, RESPONSE_COLUMNS], source="demo"
        )
        added += result.inserted
        advance(1)

    settled = settle_demo_alerts(
        engine,
        team_id=team_id,
        now=now,
        keep_open=KEEP_OPEN_ALERTS,
        channel=load_config(engine, team_id=team_id).channel,
        dip=(data.dip.start, data.dip.end),
    )
    feedback = store_demo_feedback(
        engine,
        team_id=team_id,
        insights=data.insights,
        shoutouts=data.shoutouts,
        replace=force,
    )
    advance(1)

    return DemoSummary(
        team_id=team_id,
        customers=len(data.customers),
        customers_added=people.inserted,
        answers=len(answers),
        answers_added=added,
        weeks=len(data.weeks),
        first_day=data.weeks[0].start,
        last_day=data.weeks[-1].end,
        dip_weeks=tuple(w.label() for w in data.dip.weeks),
        dip_start=data.dip.start,
        dip_end=data.dip.end,
        recovered_by=data.dip.recovery[-1].end,
        insights_added=feedback.insights,
        shoutouts_added=feedback.shoutouts,
        feedback_skipped=feedback.skipped,
        alerts_resolved=settled.resolved,
        alerts_open=settled.open,
    )
