"""The outbox under fire: a burst of 200 detractors while Slack fails 30 % of calls with
429 and 500, and the sending process is killed (SIGKILL) half-way and started again.
Every alert must reach its channel exactly once, counted on the local Slack."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.localslack import LocalSlack
from core.ingest import RESPONSE_COLUMNS
from storage import alerts, outbox, settings_store
from storage.db import make_engine
from storage.models import Alert, OutboxMessage
from storage.responses import insert_responses

pytestmark = pytest.mark.slow  # two worker processes and a lease to run out: ~10 s

TEAM = "T0CXLOCAL"
ROOT = Path(__file__).resolve().parents[2]
A = Alert.__table__  # type: ignore[attr-defined]
OB = OutboxMessage.__table__  # type: ignore[attr-defined]
SPEED = 60.0  # worker clocks: a one-minute lease passes in a second


@pytest.fixture
def faulty_slack() -> Iterator[LocalSlack]:
    slack = LocalSlack.demo(rate_limits=False, seed=7).start()
    slack.set_faults(0.3, statuses=(429, 500))
    try:
        yield slack
    finally:
        slack.stop()


class Worker:
    def __init__(self, db_url: str, slack: LocalSlack, epoch: float) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        args = [db_url, slack.base_url, slack.bot_token, str(epoch), str(SPEED)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.bot.outbox_worker", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


def burst(engine: Engine, n: int) -> str:
    """`n` detractor answers in one import: 3 of 4 to the default channel (a storm, in one
    thread), every 4th from the B2B segment, routed to #general one by one."""
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = [
        {
            "response_key": f"burst-{i}",
            "responded_at": now - timedelta(minutes=i),
            "local_day": now.date(),
            "metric": "nps",
            "score": i % 7,
            "customer_id": f"C{i % 37}",
            "segment": "B2B" if i % 4 == 0 else "Retail",
            "touchpoint": "Support",
            "comment": f"answer {i}",
            "employee": None,
        }
        for i in range(n)
    ]
    frame = pd.DataFrame(rows, columns=RESPONSE_COLUMNS)
    frame["responded_at"] = pd.to_datetime(frame["responded_at"], utc=True)
    result = insert_responses(engine, team_id=TEAM, frame=frame)
    assert result.inserted == n
    return result.batch_id


def delivered(slack: LocalSlack) -> Counter[str]:
    keys: Counter[str] = Counter()
    for message in slack.messages():
        key = ((message.get("metadata") or {}).get("event_payload") or {}).get("key")
        if key:
            keys[str(key)] += 1
    return keys


def test_burst_of_200_under_faults_with_a_kill(
    faulty_slack: LocalSlack, sqlite_url: str, tmp_path: Path
) -> None:
    engine = make_engine(sqlite_url)
    for key, value in {
        "alerts.channel": "C0ALERTS",
        "alerts.route.B2B": "C0GENERAL",
        "alerts.storm_size": "100",
    }.items():
        settings_store.set(engine, team_id=TEAM, key=key, value=value)
    batch = burst(engine, 200)
    with engine.connect() as conn:
        ids = list(conn.execute(select(A.c.id).order_by(A.c.id)).scalars())
        queued = conn.execute(select(OB.c.key)).scalars().all()
    assert len(ids) == 200 and len(queued) == 201  # 200 alerts and the storm's summary
    expected = {f"alert:{i}:post" for i in ids} | {f"alertstorm:{batch}:C0ALERTS"}

    epoch = time.time()
    first = Worker(sqlite_url, faulty_slack, epoch)
    try:
        faulty_slack.wait_for(lambda: len(delivered(faulty_slack)) >= 60, timeout=20)
    finally:
        first.kill()
    at_kill = len(delivered(faulty_slack))
    assert 0 < at_kill < len(expected), "the kill must land in the middle of the burst"
    with engine.connect() as conn:
        # Claimed by the dead worker: they come back when their lease runs out.
        in_flight = conn.execute(select(OB.c.key).where(OB.c.status == outbox.SENDING)).all()
    print(f"killed after {at_kill} messages with {len(in_flight)} in flight")

    second = Worker(sqlite_url, faulty_slack, epoch)
    try:
        faulty_slack.wait_for(lambda: set(delivered(faulty_slack)) >= expected, timeout=60)
        deadline = time.monotonic() + 20
        while outbox.backlog(engine) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        second.kill()

    counts = delivered(faulty_slack)
    assert set(counts) == expected
    assert [k for k, n in counts.items() if n != 1] == []  # every alert posted exactly once
    assert outbox.backlog(engine) == 0
    assert set(outbox.statuses(engine, team_id=TEAM).values()) == {"sent"}
    # Slack really did fail: both kinds of fault were injected and survived.
    statuses = Counter(call.status for call in faulty_slack.calls)
    assert statuses[429] > 10 and statuses[500] > 10
    # The storm is one summary in #cx-alerts with 150 alerts in its thread; B2B went to #general.
    summary = next(
        m
        for m in faulty_slack.messages("C0ALERTS")
        if not m.get("thread_ts") or m["thread_ts"] == m["ts"]
    )
    in_thread = [
        m
        for m in faulty_slack.messages("C0ALERTS")
        if m.get("thread_ts") == summary["ts"] and m["ts"] != summary["ts"]
    ]
    assert len(in_thread) == 150
    assert len(faulty_slack.messages("C0GENERAL")) == 50
    # Every alert knows where its message is, even one whose after-send hook died with
    # the first worker.
    for alert_id in ids:
        assert alerts.post_location(engine, team_id=TEAM, alert_id=alert_id) is not None
    engine.dispose()
