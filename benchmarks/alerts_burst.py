"""Detractor alerts: what raising them costs an import, and how fast the outbox posts them.

    .venv/bin/python benchmarks/alerts_burst.py [--answers 200000] [--burst 1000]

1. An import of N answers from last year (history: alerts stored, nothing posted):
   time of `insert_responses` and of the alert step inside it.
2. A burst of B recent detractors posted to a local Slack by one Dispatcher, without
   faults and with 30 % of calls failing (429 / 500): alerts per second.
Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from slack_sdk import WebClient

from bot.localslack import LocalSlack
from bot.outbox import Dispatcher
from bot.services import Services
from bot.settings import load_settings
from core.ingest import RESPONSE_COLUMNS
from storage import alerts, outbox, settings_store
from storage.db import make_engine, upgrade
from storage.responses import insert_responses

TEAM = "T0BENCH"


def frame(n: int, start: datetime, spread: timedelta, prefix: str) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    moments = [start + spread * float(x) for x in rng.random(n)]
    data = {
        "response_key": [f"{prefix}{i}" for i in range(n)],
        "responded_at": pd.to_datetime(moments, utc=True),
        "local_day": [m.date() for m in moments],
        "metric": "nps",
        "score": rng.integers(0, 11, n),
        "customer_id": [f"C{i % 5000}" for i in range(n)],
        "segment": "Retail",
        "touchpoint": "Support",
        "comment": None,
        "employee": None,
    }
    return pd.DataFrame(data, columns=RESPONSE_COLUMNS)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=200_000)
    parser.add_argument("--burst", type=int, default=1_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    engine = make_engine(f"sqlite:///{tmp / 'bench.db'}")
    upgrade(engine)
    settings_store.set(engine, team_id=TEAM, key="alerts.channel", value="C0ALERTS")
    settings_store.set(engine, team_id=TEAM, key="alerts.storm_size", value="1000")
    now = datetime.now(UTC)

    history = frame(args.answers, now - timedelta(days=400), timedelta(days=300), "h")
    started = time.perf_counter()
    insert_responses(engine, team_id=TEAM, frame=history)
    total = time.perf_counter() - started
    # The alert step alone: the same batch raised again after dropping its alerts.
    with engine.begin() as conn:
        batch = conn.exec_driver_sql("SELECT batch_id FROM response LIMIT 1").scalar_one()
        started = time.perf_counter()
        conn.exec_driver_sql("DELETE FROM alert")
        alerts.raise_for_batch(conn, team_id=TEAM, batch_id=batch, now=now)
        step = time.perf_counter() - started
        raised = conn.exec_driver_sql("SELECT count(*) FROM alert").scalar_one()
    print(
        f"history import of {args.answers:,} answers: {total:.2f} s in all, "
        f"alert step {step:.2f} s ({raised:,} alerts stored, none posted)"
    )

    for rate in (0.0, 0.3):
        with LocalSlack.demo(rate_limits=False, seed=3) as slack:
            if rate:
                slack.set_faults(rate, statuses=(429, 500))
            recent = frame(args.burst, now - timedelta(hours=2), timedelta(hours=1), f"b{rate}")
            insert_responses(engine, team_id=TEAM, frame=recent)
            backlog = outbox.backlog(engine)
            fast = _FastClock(speed=50.0)
            services = Services(load_settings(_env_file=None), engine, fast)
            dispatcher = Dispatcher(services, _client_for(slack), idle_wait=0.01)
            started = time.perf_counter()
            dispatcher.start()
            while outbox.backlog(engine):
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            dispatcher.stop()
            posted = len(slack.messages("C0ALERTS"))
            print(
                f"burst of {backlog:,} alerts, {rate:.0%} faults: {elapsed:.2f} s "
                f"({backlog / elapsed:,.0f} alerts/s; {posted:,} in the channel; "
                f"back-offs on a clock 50x real time)"
            )


def _client_for(slack: LocalSlack) -> Callable[[str], WebClient]:
    client = WebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
    return lambda _team: client


class _FastClock:
    """Retry back-offs of seconds pass in tens of milliseconds; the figures are about
    throughput, not about waiting."""

    def __init__(self, speed: float) -> None:
        self.start = datetime.now(UTC)
        self.t0 = time.monotonic()
        self.speed = speed

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self.t0) * self.speed)


if __name__ == "__main__":
    main()
