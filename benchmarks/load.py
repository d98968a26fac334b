"""Sustained mixed load on three `cxbot serve` instances on PostgreSQL, beside one on SQLite.

    .venv/bin/python benchmarks/load.py [--rate 200] [--duration 60] [--instances 3]
                                        [--only postgres|sqlite]

A local Slack (bot/localslack, in a process of its own) stands in for Slack. After a
warm-up (alerts to click on; one insight and one help per instance, so each has trained
its insight model), requests go round-robin to the instances over kept-alive
connections, as from a load balancer, on a fixed timetable (open loop):
20 % `/cx help`, 20 % `/insight <text>`, 30 % Claim buttons on detractor alerts, 30 %
webhook answers (half of them detractors, each raising an alert that the outbox must
post). Prints requests per second, p50 / p99 / max latency and errors per setup and per
kind, and checks afterwards that every detractor's alert was posted exactly once.
Target: zero errors, p99 under 500 ms at 200 requests per second.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from cluster import (
    SHARED_PG,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    Load,
    LoadKit,
    channel_keys,
    fresh_database,
    instances,
    slack_process,
    summary,
)
from sqlalchemy import select

from bot.localslack import LocalSlack
from storage import settings_store
from storage.db import make_engine
from storage.models import Alert

USERS = ("U0ADA", "U0BJORN", "U0FREJA", "U0SVEA", "U0GRACE", "U0KARI")
WARM_ALERTS = 200


def run_setup(
    name: str, slack: LocalSlack, database_url: str, n: int, rate: float, duration: float
) -> dict[str, Any]:
    # Response URLs (command replies) go to `slack` here; the Web API to its own process.
    with (
        slack_process() as api_url,
        tempfile.TemporaryDirectory() as tmp,
        instances(slack, database_url, n, Path(tmp), api_url) as insts,
    ):
        engine = make_engine(database_url, pool_size=2)
        team = slack.team_id
        settings_store.set(engine, team_id=team, key="alerts.channel", value="C0ALERTS")
        kits = [LoadKit(i.url, SIGNING_SECRET, slack, webhook_secret=WEBHOOK_SECRET) for i in insts]
        today = time.strftime("%Y-%m-%d")
        run_id = int(time.time())
        # Alerts to click on.
        for k in range(WARM_ALERTS):
            kits[k % n].webhook(
                [
                    {
                        "responded_at": today,
                        "metric": "nps",
                        "score": 2,
                        "response_id": f"warm-{run_id}-{k}",
                    }
                ]
            )
        with engine.connect() as conn:
            alert_ids = [int(a) for a in conn.execute(select(Alert.id)).scalars()]  # type: ignore[call-overload]
        # Steady state, not start-up: each instance trains its insight model (1-2 s of CPU)
        # on its first insight, which the timed load would otherwise pay in its first
        # seconds.
        for kit in kits:
            kit.command("/insight", "Warm-up: the invoice PDF is hard to read", user=USERS[0])
            kit.command("/cx", "help", user=USERS[0])
        time.sleep(5)
        posted_before = len(channel_keys(api_url, slack.bot_token, "C0ALERTS"))
        counter = itertools.count()
        detractors = 0
        claim = claim_action_id()

        def pick(i: int) -> tuple[str, Any, frozenset[int]]:
            nonlocal detractors
            kit = kits[i % n]
            user = USERS[i % len(USERS)]
            slot = i % 10
            if slot < 2:
                return (
                    "command /cx help",
                    lambda: kit.command("/cx", "help", user=user).status,
                    frozenset({200}),
                )
            if slot < 4:
                text = f"Customer {i} says the invoice PDF is hard to read"
                return (
                    "command /insight",
                    lambda: kit.command("/insight", text, user=user).status,
                    frozenset({200}),
                )
            if slot < 7:
                alert = alert_ids[i % len(alert_ids)]
                return (
                    "button Claim",
                    lambda: kit.block_action(claim, str(alert), user=user).status,
                    frozenset({200}),
                )
            score = 3 if slot == 7 else 9
            if score <= 6:
                detractors += 1
            answer = {
                "responded_at": today,
                "metric": "nps",
                "score": score,
                "response_id": f"load-{run_id}-{next(counter)}",
                "comment": "slow delivery" if score <= 6 else "great",
            }
            return "webhook", lambda: kit.webhook([answer]).status, frozenset({202})

        load = Load(rate=rate, duration=duration, pick=pick)
        load.run()
        # Nothing lost, nothing twice: every detractor of the run gets one message.
        expected = posted_before + detractors
        deadline = time.monotonic() + 120
        drained_at = None
        while time.monotonic() < deadline:
            if len(channel_keys(api_url, slack.bot_token, "C0ALERTS")) >= expected:
                drained_at = time.monotonic()
                break
            time.sleep(2)
        time.sleep(2)
        keys = channel_keys(api_url, slack.bot_token, "C0ALERTS")
        messages = keys
        result = summary(load.samples, load.elapsed)
        by_kind: dict[str, list[Any]] = defaultdict(list)
        for s in load.samples:
            by_kind[s.kind].append(s)
        engine.dispose()
        return {
            "setup": name,
            **result,
            "late_starts": load.late_starts,
            "drain_seconds": (drained_at - (load.started + load.elapsed)) if drained_at else None,
            "alerts_expected": expected,
            "alerts_posted": len(messages),
            "alerts_duplicated": len(keys) - len(set(keys)),
            "kinds": {k: summary(v, load.elapsed) for k, v in sorted(by_kind.items())},
            "status_codes": sorted({s.status for s in load.samples if not s.ok}),
        }


def claim_action_id() -> str:
    from bot.views import alerts as views

    return str(views.CLAIM_ACTION)


def figures(r: dict[str, Any]) -> str:
    times = " ".join(f"{r[k]:8.1f}" for k in ("rps", "p50_ms", "p99_ms", "max_ms"))
    return f"{times} {r['errors']:8d}"


def print_table(rows: list[dict[str, Any]]) -> None:
    cols = ("req/s", "p50 ms", "p99 ms", "max ms", "errors")
    head = f"{'setup':34} " + " ".join(f"{c:>8}" for c in cols) + f" {'alerts':>11} {'dup':>4}"
    print(head)
    print("-" * len(head))
    for r in rows:
        alerts = f"{r['alerts_posted']}/{r['alerts_expected']}"
        print(f"{r['setup']:34} {figures(r)} {alerts:>11} {r['alerts_duplicated']:4d}")
        for kind, k in r["kinds"].items():
            print(f"  {kind:32} {figures(k)}")
        if r["drain_seconds"] is not None:
            print(f"  alerts all posted {r['drain_seconds']:.1f} s after the load ended")
        if r["late_starts"]:
            print(f"  (the load generator started {r['late_starts']} requests over 50 ms late)")
        if r["status_codes"]:
            print(f"  failing statuses: {r['status_codes']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--only", choices=("postgres", "sqlite"))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    rows = []
    with LocalSlack.demo(rate_limits=False) as slack:
        if args.only in (None, "postgres"):
            with fresh_database(SHARED_PG) as url:
                rows.append(
                    run_setup(
                        f"{args.instances} x serve, PostgreSQL",
                        slack,
                        url,
                        args.instances,
                        args.rate,
                        args.duration,
                    )
                )
        if args.only in (None, "sqlite"):
            with tempfile.TemporaryDirectory() as tmp:
                rows.append(
                    run_setup(
                        "1 x serve, SQLite",
                        slack,
                        f"sqlite:///{tmp}/cxbot.db",
                        1,
                        args.rate,
                        args.duration,
                    )
                )
    print(
        f"\nmixed load at {args.rate:g} req/s for {args.duration:g} s "
        "(target: 0 errors, p99 < 500 ms)\n"
    )
    print_table(rows)
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
