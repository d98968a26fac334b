"""CPU time one `cxbot serve` spends per request, by kind, the work after the ack included.

    .venv/bin/python benchmarks/cost.py [--requests 150] [--database postgres|sqlite]
    .venv/bin/python benchmarks/cost.py --baseline 9945e21   # that commit's code, then this one's

benchmarks/load.py saturates the machine, so its requests per second follow the server's
CPU per request; this script measures that CPU directly, one kind at a time. For each kind
it sends `--requests` requests, four at a time (closed loop), waits until the server is
idle again (alerts posted, insights analysed and shared, replies sent), and divides the
CPU seconds of the server's processes (user + system, every thread, from /proc) by the
number of requests, less what the server spends idling in as long (its sweeps and
polling, measured for 10 s before). The same for the PostgreSQL server's processes: in
load.py the database shares the two cores too. That figure counts the whole server, so
run this when nothing else uses it (a test run beside it inflates the database column).
The local Slack runs in a process of its own and is not counted. The anchor beside each
figure is the same measurement on REV's code (`--baseline`), in the same run.
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from baseline import ROOT, describe, load_average, ratio, served_code, worktree
from cluster import (
    SHARED_PG,
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    LoadKit,
    cxbot_env,
    fresh_database,
    instances,
    slack_process,
)
from sqlalchemy import select

from bot.localslack import LocalSlack
from storage import settings_store
from storage.db import make_engine
from storage.models import Alert

TICKS = os.sysconf("SC_CLK_TCK")
USERS = ("U0ADA", "U0BJORN", "U0FREJA", "U0SVEA", "U0GRACE", "U0KARI")
CONCURRENCY = 4
IDLE_SECONDS = 10.0


def cpu_of(wanted: Callable[[str, list[str]], bool]) -> float:
    """CPU seconds (user + system, every thread) of the processes `wanted(name, fields)`
    picks, living or exited since (a process's exited children count in its own)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone in between
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        # After the name: state ppid pgrp session ... utime(11) stime(12) and the exited
        # children's cutime(13) cstime(14), 0-based here (PostgreSQL's postmaster reaps
        # the backends of closed connections).
        fields = raw[raw.rindex(")") + 2 :].split()
        if wanted(name, fields):
            total += sum(int(f) for f in fields[11:15])
    return total / TICKS


def session_cpu(session: int) -> float:
    """CPU seconds of every process in the session `session` (the server and its workers)."""
    return cpu_of(lambda _name, fields: int(fields[3]) == session)


def database_cpu() -> float:
    """CPU seconds of the PostgreSQL server's processes (its backends do the queries)."""
    return cpu_of(lambda name, _fields: name == "postgres" or name.startswith("postgres:"))


def settle(session: int, quiet: float = 0.02, window: float = 1.0, limit: float = 120) -> None:
    """Wait until the server's processes use under `quiet` CPU seconds in `window`."""
    deadline = time.monotonic() + limit
    before = session_cpu(session)
    while time.monotonic() < deadline:
        time.sleep(window)
        now = session_cpu(session)
        if now - before < quiet:
            return
        before = now
    raise SystemExit(f"the server was still busy after {limit:g} s")


def kinds(kit: LoadKit, alert_ids: list[int], run: int) -> dict[str, Callable[[int], int]]:
    from bot.handlers.alerts import blocks as alert_blocks

    claim = str(alert_blocks.CLAIM_ACTION)

    def answer(i: int, score: int) -> int:
        body = {
            "responded_at": time.strftime("%Y-%m-%d"),
            "metric": "nps",
            "score": score,
            "response_id": f"cost-{run}-{score}-{i}",
            "comment": "slow delivery" if score <= 6 else "great",
        }
        return kit.webhook([body]).status

    return {
        "command /cx help": lambda i: kit.command("/cx", "help", user=USERS[i % 6]).status,
        "command /insight": lambda i: (
            kit.command(
                "/insight", f"Customer {i} says the invoice PDF is hard to read", user=USERS[i % 6]
            ).status
        ),
        "button Claim": lambda i: (
            kit.block_action(claim, str(alert_ids[i % len(alert_ids)]), user=USERS[i % 6]).status
        ),
        "webhook detractor": lambda i: answer(i, 3),
        "webhook promoter": lambda i: answer(i, 9),
    }


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "postgres":
        with fresh_database(SHARED_PG) as url:
            yield url
    else:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/cxbot.db"


def measure(args: argparse.Namespace, tree: Path, label: str) -> dict[str, float]:
    """CPU milliseconds per request of each kind on `tree`'s `cxbot serve`."""
    figures: dict[str, float] = {}
    with (
        LocalSlack.demo(rate_limits=False) as slack,
        slack_process() as api_url,
        database(args.database) as url,
        tempfile.TemporaryDirectory() as tmp,
        instances(slack, url, 1, Path(tmp), api_url, tree=tree) as (inst,),
    ):
        env = cxbot_env(slack, url, api_url, tree=tree)
        print(f"{label}: cxbot serve runs {served_code(tree, env, tmp).parent}", flush=True)
        engine = make_engine(url, pool_size=2)
        settings_store.set(engine, team_id=slack.team_id, key="alerts.channel", value="C0ALERTS")
        kit = LoadKit(inst.url, SIGNING_SECRET, slack, webhook_secret=WEBHOOK_SECRET)
        run = int(time.time())
        # Warm-up, not measured: alerts to claim, the insight model trained, caches filled.
        for k in range(50):
            kit.webhook([{"responded_at": time.strftime("%Y-%m-%d"), "metric": "nps",
                          "score": 2, "response_id": f"warm-{run}-{k}"}])  # fmt: skip
        with engine.connect() as conn:
            alert_ids = [int(a) for a in conn.execute(select(Alert.id)).scalars()]  # type: ignore[call-overload]
        # Each user once per kind: every locale's catalog is compiled before the timing.
        for call in kinds(kit, alert_ids, run).values():
            for i in range(2 * len(USERS)):
                call(10_000 + i)
        session = inst.proc.pid
        counted = database_cpu if args.database == "postgres" else lambda: 0.0

        def cpu() -> tuple[float, float]:
            return session_cpu(session), counted()

        settle(session)
        # The scheduler's sweeps and the outbox's polling run whatever the load: their CPU
        # per second of idling is taken off each kind's figure.
        idle_from, idle_cpu = time.monotonic(), cpu()
        time.sleep(IDLE_SECONDS)
        idle_for = time.monotonic() - idle_from
        idle = [(b - a) / idle_for for a, b in zip(idle_cpu, cpu(), strict=True)]
        print(f"  idle: {1000 * idle[0]:.1f} ms CPU per second, database "
              f"{1000 * idle[1]:.1f}", flush=True)  # fmt: skip
        numbers = itertools.count()
        for name, call in kinds(kit, alert_ids, run).items():
            started, before = time.monotonic(), cpu()
            with ThreadPoolExecutor(CONCURRENCY) as pool:
                statuses = list(pool.map(call, itertools.islice(numbers, args.requests)))
            settle(session)
            took = time.monotonic() - started
            bad = [s for s in statuses if s not in (200, 202)]
            if bad:
                raise SystemExit(f"{name}: {len(bad)} answers were not 200/202: {bad[:5]}")
            server, db = (
                1000 * (b - a - rate * took) / args.requests
                for a, b, rate in zip(before, cpu(), idle, strict=True)
            )
            figures[name], figures[name + " (database)"] = server, db
            print(f"  {name:<22} {server:7.1f} ms CPU per request, database {db:5.1f} ms",
                  flush=True)  # fmt: skip
        engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=150, help="per kind (default 150)")
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--baseline", metavar="REV", help="measure REV's code first, then this")
    args = parser.parse_args()
    print(f"\nCPU per request, {args.requests} of each kind, 1 x serve on {args.database}\n")
    if not args.baseline:
        measure(args, ROOT, "this checkout")
        print(f"({load_average()} at the end)")
        return
    short = describe(args.baseline)
    with worktree(args.baseline) as tree:
        before = measure(args, tree, f"before ({short})")
    after = measure(args, ROOT, "after (HEAD)")
    print("\nafter / before (CPU ms per request; the work after the ack included):")
    for name, value in after.items():
        old = before.get(name, 0.0)
        print(f"  {name:<33} {old:7.1f} -> {value:7.1f}   {ratio(value, old)}")
    print(f"({load_average()} at the end)")


if __name__ == "__main__":
    main()
