"""A pulse round to 2,000 people under Slack's rate limits, failures, and a crash.

    .venv/bin/python benchmarks/fanout.py [--people 2000] [--rate-scale 1] [--fault-rate 0.1]
                                          [--kill-at 0.5] [--database-url URL]

Starts a local Slack (bot/localslack) with rate limits on and `--fault-rate` of all Web API
calls failing (429 with Retry-After, or 500), a channel of `--people` members, and a
pulse survey for that channel. Then, timed: the round opens (audience read page by page,
every DM queued in one transaction) and an outbox dispatcher in a separate process sends
the DMs; when `--kill-at` of the people have their DM, that process is killed with
SIGKILL and a new one started. The run ends when everyone has a DM and the outbox holds
no unsent DM. Printed: the time beside the rate-limit bound (the least time the calls that
were made need under the limits that apply), and the DMs counted on localslack per person
(exactly one each is the requirement).

Which limits apply: DMs are posted with the user id as the channel, so Slack opens the DM
itself and no `conversations.open` (Tier 3, 50/min: 40 minutes for 2,000) is needed.
chat.postMessage is limited per channel (1/s, burst 3) and each DM is its own channel, so
it binds only through retries. What binds is checking, before re-posting, whether a message
whose earlier attempt may have got through (a 500, or in flight at the kill) is already in
the DM: `conversations.history` is Tier 3 (50/min). `--rate-scale` multiplies every limit
(localslack's `rate_scale`): use it to shorten the run and say so. Run by hand, never in CI.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEAM = "T0CXLOCAL"
CHANNEL = "C0FANOUT1"
LEASE_SECONDS = 60.0  # storage.outbox.claim_due's default lease on a claimed message


def worker(database_url: str, api_url: str, token: str) -> None:
    """The dispatcher process: sends the outbox until killed (like `cxbot serve` would)."""
    from bot.clients import dispatch_client
    from bot.outbox import Dispatcher
    from bot.services import Services, system_clock
    from bot.settings import load_settings
    from storage.db import make_engine

    settings = load_settings(
        slack_bot_token=token, slack_api_url=api_url, database_url=database_url, _env_file=None
    )
    engine = make_engine(settings.database_url)
    client = dispatch_client(settings)
    dispatcher = Dispatcher(Services(settings, engine, system_clock), lambda _team: client)
    print("ready", flush=True)
    while True:
        if not dispatcher.run_once():
            time.sleep(0.05)


def spawn(database_url: str, api_url: str, token: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--worker", database_url, api_url, token],
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(ROOT),
    )


def bound(
    calls: list[Any], scale: float, t0: float, t_queued: float, t1: float
) -> dict[str, float]:
    """The least time the recorded calls need under localslack's limits.

    Reading the audience is one call after another, so each 429 in it is a wait of at least
    1 s (Slack sends whole seconds) that nothing overlaps; the DMs can only go out after it.
    From then on, per token bucket: the calls the limiter let through (all but the 429s,
    which may under-count an injected 429 that did take a token: the bound stays a lower
    bound) minus the burst, over the refill rate; and per DM, each 429 is a 1 s wait.
    """
    from bot.localslack.ratelimit import RateLimiter

    limiter = RateLimiter(scale)
    through: Counter[tuple[str, str]] = Counter()
    waits: Counter[str] = Counter()
    reading = 0.0
    for c in calls:
        if t0 <= c.at <= t_queued and c.status == 429:
            reading += 1.0
        if not t_queued < c.at <= t1:
            continue
        channel = str(c.args.get("channel") or "") if c.method == "chat.postMessage" else ""
        if c.status == 429:
            if c.method == "chat.postMessage":
                waits[channel] += 1
            continue
        through[(c.method, channel)] += 1
    out: dict[str, float] = {}
    for (method, _channel), n in through.items():
        capacity, rate = limiter._limits(method)
        need = max(0.0, (n - capacity) / rate)
        key = method if method != "chat.postMessage" else "chat.postMessage (per channel)"
        out[key] = max(out.get(key, 0.0), need)
    out["Retry-After waits (longest DM)"] = float(max(waits.values(), default=0))
    return {"audience read: Retry-After waits": reading, **out}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--rate-scale", type=float, default=1.0)
    parser.add_argument("--fault-rate", type=float, default=0.10)
    parser.add_argument("--kill-at", type=float, default=0.5)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args()

    from bot.handlers.pulse.rounds import start_round
    from bot.localslack import LocalSlack
    from bot.services import Services, system_clock
    from bot.settings import load_settings
    from core.surveys import parse_definition
    from storage import outbox
    from storage import surveys as store
    from storage.db import make_engine, upgrade

    tmp = tempfile.TemporaryDirectory(prefix="cxbot-fanout-")
    database_url = args.database_url or f"sqlite:///{tmp.name}/fanout.db"
    engine = make_engine(database_url)
    upgrade(engine)

    slack = LocalSlack(rate_limits=True, rate_scale=args.rate_scale, seed=7).start()
    people = [f"U0F{i:05d}" for i in range(args.people)]
    locales = ("en-US", "nb-NO", "da-DK", "sv-SE")
    for i, user in enumerate(people):
        slack.add_user(user, f"person{i}", locale=locales[i % 4])
    slack.add_channel(CHANNEL, "everyone-fanout", members=people)

    settings = load_settings(
        slack_bot_token=slack.bot_token,
        slack_api_url=slack.base_url,
        database_url=database_url,
        cxbot_timezone="Europe/Oslo",
        _env_file=None,
    )
    services = Services(settings=settings, engine=engine, clock=system_clock)
    definition = parse_definition({"template": "culture", "audience": CHANNEL})
    survey_id = store.create_survey(
        engine, team_id=TEAM, definition=definition, created_by=None, now=system_clock()
    )
    survey = store.get_survey(engine, team_id=TEAM, survey_id=survey_id)
    assert survey is not None

    # Count DMs as localslack records them, without copying its whole state on every look.
    got: Counter[str] = Counter()
    lock = threading.Lock()
    done = threading.Event()
    dm_channels = {"D" + u[1:]: u for u in people}

    def on_record(kind: str, item: dict[str, Any]) -> None:
        if kind == "message" and item.get("channel") in dm_channels:
            with lock:
                got[item["channel"]] += 1
                if len(got) == len(people):
                    done.set()

    slack.subscribe(on_record)

    first = spawn(database_url, slack.base_url, slack.bot_token)
    assert first.stdout is not None and first.stdout.readline().strip() == "ready"
    slack.set_faults(args.fault_rate, (429, 500))

    t0 = time.time()
    opened = start_round(services, team_id=TEAM, survey=survey)
    assert opened is not None
    t_queued = time.time()
    keys = [store.dm_key(opened.round.id, u) for u in people]

    kill_at = max(1, int(args.kill_at * len(people)))
    second: subprocess.Popen[str] | None = None
    t_kill = None
    while not done.is_set():
        if time.time() - t0 > args.timeout:
            print(f"timed out after {args.timeout:g}s", file=sys.stderr)
            break
        with lock:
            delivered = len(got)
        if second is None and delivered >= kill_at:
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
            t_kill = time.time()
            second = spawn(database_url, slack.base_url, slack.bot_token)
        done.wait(0.02)
    t_all = time.time()

    # Nothing may still be on its way: every DM row must be final before counting.
    while True:
        states = outbox.statuses(engine, team_id=TEAM, keys=keys)
        if all(s in (outbox.SENT, outbox.FAILED) for s in states.values()):
            break
        if time.time() - t0 > args.timeout:
            break
        time.sleep(0.2)
    t_final = time.time()
    for proc in (first, second):
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
    slack.set_faults(0.0)

    per_person = Counter(m["channel"] for m in slack.messages() if m["channel"] in dm_channels)
    counts = Counter(per_person.get("D" + u[1:], 0) for u in people)
    failed = sum(1 for s in states.values() if s == outbox.FAILED)
    calls = list(slack.calls)
    faults = sum(1 for c in calls if c.at >= t0 and c.status in (429, 500))
    limits = bound(calls, args.rate_scale, t0, t_queued, t_all)
    reading = limits.pop("audience read: Retry-After waits")
    rate_bound = reading + max(limits.values())
    elapsed = t_all - t0
    recovery = (t_kill - t0 + LEASE_SECONDS) if t_kill is not None else 0.0
    by_method = Counter(c.method for c in calls if c.at >= t0)

    print(f"people                      {len(people):>8}")
    print(f"rate scale                  {args.rate_scale:>8g}   (1 = Slack's published limits)")
    print(
        f"fault rate                  {args.fault_rate:>8.0%}   ({faults} calls answered 429/500)"
    )
    print(f"round opened, DMs queued    {t_queued - t0:>8.2f} s (audience read + one transaction)")
    if t_kill is not None:
        print(f"dispatcher killed at        {t_kill - t0:>8.2f} s (SIGKILL), restarted")
    print(f"everyone has the DM at      {elapsed:>8.2f} s")
    print(f"outbox settled at           {t_final - t0:>8.2f} s")
    print(
        f"rate-limit bound: reading the audience (429 waits) {reading:>6.2f} s, then the most of:"
    )
    for name, need in sorted(limits.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<34}{need:>8.2f} s")
    print(f"rate-limit bound            {rate_bound:>8.2f} s")
    print(
        f"kill + {LEASE_SECONDS:g} s claim lease      {recovery:>8.2f} s (what was in flight waits)"
    )
    floor = max(rate_bound, recovery)
    print(f"time / rate-limit bound     {elapsed / rate_bound if rate_bound else math.inf:>8.2f}x")
    ratio = elapsed / floor if floor else math.inf
    print(f"time / max(bound, lease)    {ratio:>8.2f}x   (target 1.2x)")
    print(
        "calls: "
        + ", ".join(f"{m} {n}" for m, n in sorted(by_method.items(), key=lambda kv: -kv[1]))
    )
    print(f"DMs per person (localslack) {dict(sorted(counts.items()))}   failed rows {failed}")
    ok = counts == Counter({1: len(people)}) and failed == 0
    print("every person got exactly one DM" if ok else "FAILED: not exactly one DM per person")
    slack.stop()
    engine.dispose()
    tmp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(main())
