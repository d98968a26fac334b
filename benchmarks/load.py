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

    .venv/bin/python benchmarks/load.py --baseline 9945e21   # that commit's code, then this one's

`--baseline REV` runs every setup twice, on REV's `cxbot serve` (a temporary git worktree,
same interpreter and virtualenv) and then on this checkout's, and prints both tables and
the ratios after / before of p99 and requests per second per setup. The local Slack and
the load generator are this checkout's in both runs.

Commands and buttons are acknowledged before their work runs, so the answer's latency
alone would hide work that falls behind. Two more figures follow the work to its end:
each command's first reply on its response URL (served by this script, timed on arrival),
and each detractor's alert in the channel (the outbox's send time against the moment the
webhook was sent).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from baseline import ROOT, describe, load_average, ratio, served_code, worktree
from cluster import (
    SHARED_PG,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    Load,
    LoadKit,
    channel_keys,
    cxbot_env,
    fresh_database,
    instances,
    slack_process,
    summary,
)
from sqlalchemy import select, text

from bot.localslack import LocalSlack
from storage import settings_store
from storage.db import make_engine
from storage.models import Alert

USERS = ("U0ADA", "U0BJORN", "U0FREJA", "U0SVEA", "U0GRACE", "U0KARI")
WARM_ALERTS = 200


class ReplyClock:
    """Response URLs of this script's own: the time from sending a command or button to the
    bot's first reply on its response URL. Everything else goes to the local Slack."""

    def __init__(self, slack: LocalSlack) -> None:
        self.slack = slack
        self.sent: dict[int, tuple[str, float]] = {}
        self.replied: dict[int, float] = {}
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        clock = self

        class Hook(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.perf_counter()
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                number = int(self.path.rsplit("/", 1)[-1])
                with clock._lock:
                    clock.replied.setdefault(number, arrived)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    # The bot gave up waiting (its client's time-out) on a saturated
                    # machine: the reply is timed on arrival, so nothing is lost.
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/r"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.kind = threading.local()

    def response_url(
        self, channel: str = "C0GENERAL", user: str = "U0ADA", *, message_ts: str | None = None
    ) -> str:
        number = next(self._numbers)
        with self._lock:
            # Made just before the request is signed and sent.
            self.sent[number] = (getattr(self.kind, "name", "?"), time.perf_counter())
        return f"{self.url}/{number}"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.slack, name)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def figures(self, since: int) -> dict[str, dict[str, float]]:
        """Per kind: requests sent, replies arrived, p50 / p99 / max of the reply time."""
        with self._lock:
            sent = {n: v for n, v in self.sent.items() if n >= since}
            replied = dict(self.replied)
        by_kind: dict[str, list[float | None]] = defaultdict(list)
        for number, (kind, at) in sent.items():
            got = replied.get(number)
            by_kind[kind].append(None if got is None else got - at)
        return {kind: _spread(times) for kind, times in sorted(by_kind.items())}


def _spread(times: list[float | None]) -> dict[str, float]:
    done = sorted(t for t in times if t is not None)
    if not done:
        return {"sent": len(times), "done": 0, "p50_ms": 0, "p99_ms": 0, "max_ms": 0}
    return {
        "sent": len(times),
        "done": len(done),
        "p50_ms": statistics.median(done) * 1000,
        "p99_ms": done[min(len(done) - 1, int(len(done) * 0.99))] * 1000,
        "max_ms": done[-1] * 1000,
    }


def alert_delays(engine: Any, team: str, sent_at: dict[str, float]) -> dict[str, float]:
    """From each detractor webhook's sending to its alert's message sent to Slack."""
    sql = text(
        "SELECT r.response_key, o.sent_at FROM response r "
        "JOIN alert a ON a.response_id = r.id AND a.team_id = r.team_id "
        "LEFT JOIN outboxmessage o ON o.team_id = a.team_id "
        "AND o.key = 'alert:' || CAST(a.id AS VARCHAR) || :post "
        "WHERE r.team_id = :team"
    )
    with engine.connect() as conn:
        # Stored keys are 'id:' + the sender's response_id.
        rows = {
            str(k).removeprefix("id:"): v
            for k, v in conn.execute(sql, {"team": team, "post": ":post"})
        }
    delays: list[float | None] = []
    for key, began in sent_at.items():
        posted = rows.get(key)
        if isinstance(posted, str):  # SQLite hands back text
            posted = datetime.fromisoformat(posted)
        if posted is None:
            delays.append(None)
            continue
        if posted.tzinfo is None:
            posted = posted.replace(tzinfo=UTC)
        delays.append(max(0.0, posted.timestamp() - began))
    return _spread(delays)


def run_setup(
    name: str,
    slack: LocalSlack,
    database_url: str,
    n: int,
    rate: float,
    duration: float,
    tree: Path = ROOT,
    *,
    show_code: bool = False,
) -> dict[str, Any]:
    """The load on `n` instances of `tree`'s `cxbot serve` (default: this checkout's)."""
    # Response URLs (command replies) go to `slack` here; the Web API to its own process.
    with (
        slack_process() as api_url,
        tempfile.TemporaryDirectory() as tmp,
        instances(slack, database_url, n, Path(tmp), api_url, tree=tree) as insts,
    ):
        if show_code:  # the same interpreter, environment and directory as the instances
            env = cxbot_env(slack, database_url, api_url, tree=tree)
            print(f"{name}: cxbot serve runs {served_code(tree, env, tmp).parent}", flush=True)
        engine = make_engine(database_url, pool_size=2)
        team = slack.team_id
        settings_store.set(engine, team_id=team, key="alerts.channel", value="C0ALERTS")
        replies = ReplyClock(slack)
        kits = [
            LoadKit(i.url, SIGNING_SECRET, replies, webhook_secret=WEBHOOK_SECRET)  # type: ignore[arg-type]
            for i in insts
        ]
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
        detractor_sent: dict[str, float] = {}
        first_reply = len(replies.sent)
        claim = claim_action_id()

        def named(kind: str, call: Any) -> Any:
            def run() -> Any:
                replies.kind.name = kind
                return call()

            return run

        def pick(i: int) -> tuple[str, Any, frozenset[int]]:
            nonlocal detractors
            kit = kits[i % n]
            user = USERS[i % len(USERS)]
            slot = i % 10
            if slot < 2:
                return (
                    "command /cx help",
                    named("command /cx help", lambda: kit.command("/cx", "help", user=user).status),
                    frozenset({200}),
                )
            if slot < 4:
                said = f"Customer {i} says the invoice PDF is hard to read"
                return (
                    "command /insight",
                    named(
                        "command /insight", lambda: kit.command("/insight", said, user=user).status
                    ),
                    frozenset({200}),
                )
            if slot < 7:
                alert = alert_ids[i % len(alert_ids)]
                return (
                    "button Claim",
                    named(
                        "button Claim",
                        lambda: kit.block_action(claim, str(alert), user=user).status,
                    ),
                    frozenset({200}),
                )
            score = 3 if slot == 7 else 9
            key = f"load-{run_id}-{next(counter)}"
            answer = {
                "responded_at": today,
                "metric": "nps",
                "score": score,
                "response_id": key,
                "comment": "slow delivery" if score <= 6 else "great",
            }

            def send() -> int:
                if score <= 6:
                    detractor_sent[key] = time.time()
                return kit.webhook([answer]).status

            if score <= 6:
                detractors += 1
            return "webhook", send, frozenset({202})

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
        done = replies.figures(first_reply)
        done["detractor alert posted"] = alert_delays(engine, team, detractor_sent)
        replies.close()
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
            "done": done,
        }


def claim_action_id() -> str:
    from bot.handlers.alerts import blocks as views

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
        print("  work done after the answer (first reply on the response URL; alert in Slack):")
        for kind, d in r["done"].items():
            if not d["sent"]:
                continue
            # A Claim replies only to someone whose alert another person holds already.
            label = f"{kind} (some)" if kind.startswith("button") else kind
            print(
                f"    {label:30} {d['done']:5d}/{d['sent']:<5d} p50 {d['p50_ms']:7.1f} ms"
                f"  p99 {d['p99_ms']:7.1f} ms  max {d['max_ms']:7.1f} ms"
            )


def run_all(args: argparse.Namespace, tree: Path = ROOT) -> list[dict[str, Any]]:
    """Every chosen setup, on `tree`'s code."""
    show = args.baseline is not None
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
                        tree,
                        show_code=show,
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
                        tree,
                        show_code=show,
                    )
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--only", choices=("postgres", "sqlite"))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="measure REV's code first (a temporary git worktree), then this checkout's",
    )
    args = parser.parse_args()
    heading = (
        f"\nmixed load at {args.rate:g} req/s for {args.duration:g} s "
        "(target: 0 errors, p99 < 500 ms)\n"
    )
    if not args.baseline:
        rows = run_all(args)
        print(heading)
        print_table(rows)
        if args.json:
            print(json.dumps(rows, indent=2))
        return

    rev = describe(args.baseline)
    with worktree(args.baseline) as tree:
        before = run_all(args, tree)
    after = run_all(args)
    print(heading)
    for label, rows in ((f"before ({rev})", before), ("after (HEAD)", after)):
        print(label)
        print_table(rows)
        print()
    print("after / before:")
    for b, a in zip(before, after, strict=True):
        print(
            f"  {a['setup']:32} p99 {ratio(a['p99_ms'], b['p99_ms'])}, "
            f"req/s {ratio(a['rps'], b['rps'])}, errors {b['errors']} -> {a['errors']}"
        )
    print(f"({load_average()} at the end)")
    if args.json:
        print(json.dumps({"before": before, "after": after, "baseline": rev}, indent=2))


if __name__ == "__main__":
    main()
