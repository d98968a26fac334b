"""Faults under load: PostgreSQL restarted, then Slack (localslack) down for 30 s, while three
`cxbot serve` instances take webhook answers and slash commands.

    .venv/bin/python benchmarks/faults.py [--rate 40] [--slack-down 30] [--shared-server]

By default the database is a private PostgreSQL cluster this script creates in a temporary
directory and restarts with `pg_ctl restart` (the machine's shared server is left alone);
`--shared-server` uses the local server instead and restarts it with
`pg_ctlcluster --skip-systemctl-redirect 15 main restart` (this disturbs everyone using it).

The answer senders behave like a real webhook client: an answer not accepted (5xx, no
connection) is sent again until it is. Checked at the end:
- nothing lost: every answer is stored once and every detractor's alert message is in the
  channel;
- nothing twice: no alert message posted twice, no answer stored twice;
- recovery: seconds from the database's return until every instance is healthy and
  accepts answers again, and from Slack's return until the first message gets through and
  until the backlog is empty. Target: answering again within 10 s.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from cluster import (
    SHARED_PG,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    LoadKit,
    PrivateCluster,
    free_port,
    fresh_database,
    instances,
)
from sqlalchemy import func, select

from bot.localslack import LocalSlack
from storage import settings_store
from storage.db import make_engine
from storage.models import Response


class Sender:
    """Sends detractor and promoter answers at `rate`, re-sending each until accepted."""

    def __init__(self, kits: list[LoadKit], rate: float) -> None:
        self.kits = kits
        self.rate = rate
        self.stop = threading.Event()
        self.accepted: dict[str, int] = {}  # response id -> score
        self.refused = 0
        self.lock = threading.Lock()
        self.last_ok = 0.0
        self.threads: list[threading.Thread] = []
        self.counter = itertools.count()

    def _one(self, n: int) -> None:
        rid = f"fault-{n}"
        score = 2 if n % 2 else 9
        answer = [
            {
                "responded_at": time.strftime("%Y-%m-%d"),
                "metric": "nps",
                "score": score,
                "response_id": rid,
            }
        ]
        attempt = 0
        while True:
            kit = self.kits[(n + attempt) % len(self.kits)]  # the balancer tries another
            try:
                status = kit.webhook(answer).status
            except OSError:
                status = 0
            if status == 202:
                with self.lock:
                    self.accepted[rid] = score
                    self.last_ok = time.monotonic()
                return
            with self.lock:
                self.refused += 1
            attempt += 1
            time.sleep(min(0.2 * attempt, 2.0))

    def run(self) -> None:
        begin = time.monotonic()
        for n in self.counter:
            if self.stop.is_set():
                break
            wait = begin + n / self.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            t = threading.Thread(target=self._one, args=(n,), daemon=True)
            t.start()
            self.threads.append(t)

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))


def wait(predicate: Any, timeout: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.1)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=40.0, help="answers per second")
    parser.add_argument("--slack-down", type=float, default=30.0, help="seconds Slack is away")
    parser.add_argument("--shared-server", action="store_true")
    args = parser.parse_args()

    cluster = None if args.shared_server else PrivateCluster().start()
    server_url = SHARED_PG if cluster is None else cluster.url

    def restart_db() -> None:
        if cluster is not None:
            cluster.restart()
        else:
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"], check=True
            )

    slack = LocalSlack.demo(rate_limits=False, port=free_port()).start()
    report: list[str] = []
    try:
        with fresh_database(server_url) as url, tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(url, pool_size=2)
            with instances(slack, url, 3, Path(tmp), CXBOT_LEADER_RETRY_SECONDS="2") as insts:
                settings_store.set(
                    engine, team_id=slack.team_id, key="alerts.channel", value="C0ALERTS"
                )
                kits = [
                    LoadKit(i.url, SIGNING_SECRET, slack, webhook_secret=WEBHOOK_SECRET)
                    for i in insts
                ]
                sender = Sender(kits, args.rate)
                runner = threading.Thread(target=sender.run, daemon=True)
                runner.start()
                time.sleep(8)

                # 1. The database restarts.
                t0 = time.monotonic()
                restart_db()
                back = time.monotonic()
                report.append(f"PostgreSQL restart took {back - t0:.1f} s")
                healthy = wait(lambda: all(i.healthy() for i in insts), 60)
                report.append(
                    f"all 3 instances healthy {healthy:.1f} s after the database was back"
                    if healthy is not None
                    else "instances NOT healthy within 60 s of the database's return"
                )
                accepting = wait(lambda: sender.last_ok > back, 60)
                report.append(
                    f"answers accepted again {accepting:.1f} s after the database was back"
                    if accepting is not None
                    else "answers NOT accepted within 60 s"
                )
                led = wait(lambda: sum(i.leads() for i in insts) == 1, 60)
                report.append(
                    f"one scheduler leader again {led:.1f} s after the database was back"
                    if led is not None
                    else "NO scheduler leader within 60 s"
                )
                time.sleep(5)

                # 2. Slack goes away for a while.
                slack.stop()
                down_at = time.monotonic()
                time.sleep(args.slack_down)
                posted_before = len(slack.messages("C0ALERTS"))
                slack.start()
                up = time.monotonic()
                first = wait(lambda: len(slack.messages("C0ALERTS")) > posted_before, 120)
                report.append(
                    f"Slack away {up - down_at:.0f} s; first message through "
                    f"{first:.1f} s after it returned"
                    if first is not None
                    else "NO message through within 120 s of Slack's return"
                )
                time.sleep(8)
                sender.stop.set()
                runner.join(10)
                sender.join(120)

                detractors = {rid for rid, score in sender.accepted.items() if score <= 6}
                drained = wait(lambda: len(slack.messages("C0ALERTS")) >= len(detractors), 300)
                report.append(
                    f"backlog empty {time.monotonic() - up:.1f} s after Slack returned"
                    if drained is not None
                    else "backlog NOT empty within 300 s"
                )
                time.sleep(3)
                messages = slack.messages("C0ALERTS")
                keys = [m.get("metadata", {}).get("event_payload", {}).get("key") for m in messages]
                with engine.connect() as conn:
                    responses = Response.__table__  # type: ignore[attr-defined]
                    stored = conn.execute(select(func.count()).select_from(responses)).scalar_one()
                report += [
                    f"answers accepted {len(sender.accepted)}, stored {stored}, refused attempts "
                    f"(re-sent) {sender.refused}",
                    f"detractors {len(detractors)}, alert messages {len(messages)}, "
                    f"posted twice {len(keys) - len(set(keys))}",
                    "nothing lost: "
                    + (
                        "yes"
                        if stored == len(sender.accepted) and len(messages) >= len(detractors)
                        else "NO"
                    ),
                    "nothing twice: "
                    + (
                        "yes"
                        if len(keys) == len(set(keys)) and len(messages) == len(detractors)
                        else "NO"
                    ),
                ]
                leader_lines = [i.url for i in insts if i.leads()]
                report.append(f"scheduler leaders at the end: {len(leader_lines)}")
                print("\n".join(report), flush=True)
            engine.dispose()
    finally:
        slack.stop()
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
