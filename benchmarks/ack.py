"""How fast does `cxbot serve` acknowledge slash commands under a burst, and what does it cost?

    .venv/bin/python benchmarks/ack.py [--requests 200] [--command "/insight"] [--text "..."]

Starts a local Slack (bot/localslack), then `cxbot serve` as a subprocess (temporary SQLite),
fires N concurrent signed slash commands at it and prints p50 / p99 of the time to the HTTP
response. Beside it, the same burst against a bare Bolt app that only acks, served by the
same gunicorn configuration, and the idle memory (RSS) of `cxbot serve`.
Targets: p99 < 300 ms, within 1.5x of bare, idle RSS < 200 MB. Run by hand, never in CI.

The command defaults to `/insight <text>` when a handler for it exists, else `/cx help`.

    .venv/bin/python benchmarks/ack.py --baseline 9945e21   # that commit's code, then this one's

`--baseline REV` runs the same measurement twice, on REV's `cxbot serve` (a temporary git
worktree, same interpreter and virtualenv) and then on this checkout's, and prints both
tables and the ratios after / before of p50, p99 and CPU ms per request of cxbot serve.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.baseline import describe, load_average, ratio, served_code, worktree  # noqa: E402
from bot.localslack import LocalSlack  # noqa: E402
from tests.bot.slackkit import SlackKit, get  # noqa: E402

SIGNING_SECRET = "bench-signing-secret"
USERS = ["U0ADA", "U0BJORN", "U0FREJA", "U0SVEA"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int, field: str = "Rss") -> float:
    """Memory of `pid` and all its descendants in MB (Linux /proc): "Rss" counts pages the
    forked worker shares with the master twice, "Pss" splits them between the two."""
    pids = [pid]
    total = 0
    while pids:
        current = pids.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith(f"{field}:"):
                        total += int(line.split()[1])
            with open(f"/proc/{current}/task/{current}/children") as fh:
                pids.extend(int(p) for p in fh.read().split())
        except FileNotFoundError:
            continue
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and its descendants so far (Linux /proc)."""
    pids, total = [pid], 0.0
    tick = os.sysconf("SC_CLK_TCK")
    while pids:
        current = pids.pop()
        try:
            with open(f"/proc/{current}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            with open(f"/proc/{current}/task/{current}/children") as fh:
                pids.extend(int(p) for p in fh.read().split())
        except FileNotFoundError:
            continue
    return total


def wait_idle(pid: int, timeout: float = 60.0) -> None:
    """Until the server has finished the replies of the last burst (its CPU clock stops)."""
    deadline = time.monotonic() + timeout
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = cpu_seconds(pid)
        if now - last < 0.01:
            return
        last = now


def start(args: list[str], env: dict[str, str], cwd: str, port: int) -> subprocess.Popen[bytes]:
    # The server's log goes to a file: an unread pipe would fill up and stall it.
    log = Path(cwd) / f"server-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=sink)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = log.read_text(errors="replace")
            raise SystemExit(f"server exited with {proc.returncode}:\n{err}")
        try:
            status, _ = get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            if status in (200, 404):  # the bare app has no /healthz: any answer means up
                return proc
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def command_fields(slack: LocalSlack, command: str, text: str, user: str) -> dict[str, str]:
    """A slash command as Slack sends it, with a response URL and trigger id from `slack`."""
    return {
        "team_id": slack.team_id,
        "team_domain": "local",
        "channel_id": "C0GENERAL",
        "channel_name": "general",
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A0CXBOT",
        "response_url": slack.response_url(channel="C0GENERAL", user=user),
        "trigger_id": slack.new_trigger_id(user=user),
    }


def fire(url: str, payloads: list[dict[str, str]]) -> list[float]:
    """Runs in a separate process, so the local Slack's own work (it answers the bot's
    replies) does not slow down the clock of the clients: all released at once."""
    from urllib.parse import urlencode

    from tests.bot.slackkit import post, sign

    gate = threading.Barrier(len(payloads))

    def one(fields: dict[str, str]) -> float:
        body = urlencode(fields).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        gate.wait()
        headers.update(sign(SIGNING_SECRET, body))
        status, text, _, elapsed = post(url + "/slack/events", body, headers)
        if status != 200:
            raise RuntimeError(f"{fields['command']} answered {status}: {text[:200]}")
        return elapsed

    with ThreadPoolExecutor(len(payloads)) as pool:
        return list(pool.map(one, payloads))


def burst(slack: LocalSlack, url: str, n: int, command: str, text: str) -> list[float]:
    """N commands released at once; the time each took to get its HTTP answer (seconds)."""
    payloads = [command_fields(slack, command, text, USERS[i % len(USERS)]) for i in range(n)]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fire, url, payloads).result()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def wait_replies(slack: LocalSlack, count: int, timeout: float = 120.0) -> None:
    """Until the local Slack has received `count` response-URL replies in all."""
    slack.wait_for(lambda: len(slack.responses()) >= count, timeout=timeout)


def measure(
    slack: LocalSlack,
    pid: int,
    url: str,
    n: int,
    command: str,
    text: str,
    rounds: int,
    *,
    replying: bool = True,
) -> dict[str, float]:
    kit = SlackKit(url, SIGNING_SECRET, slack)
    before = len(slack.responses())
    for i in range(8):  # warm up: imports, connection pools, the locale cache
        kit.command(command, text, user=USERS[i % len(USERS)])
    if replying:
        wait_replies(slack, before + 8)
    wait_idle(pid)
    times: list[float] = []
    cpu = cpu_seconds(pid)
    replies = len(slack.responses())
    for k in range(1, rounds + 1):
        times += burst(slack, url, n, command, text)
        if replying:  # every command's reply, before the next burst
            wait_replies(slack, replies + k * n)
        wait_idle(pid)  # the replies after the acks: counted in the CPU time, not the next burst
    return {
        # What the users were told through the response URL (a bare ack tells nothing).
        "replies": len(slack.responses()) - replies,
        "p50": percentile(times, 50) * 1000,
        "p99": percentile(times, 99) * 1000,
        "max": max(times) * 1000,
        "mean": statistics.fmean(times) * 1000,
        "cpu": (cpu_seconds(pid) - cpu) / len(times) * 1000,
    }


def bare_server(port: int, api_url: str, token: str) -> None:
    """A Bolt app that only acks every command, on the same gunicorn configuration."""
    import re

    from gunicorn.app.base import BaseApplication
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient

    from bot.server import GracefulArbiter, gunicorn_options

    class Bare(BaseApplication):
        def load_config(self) -> None:
            for key, value in gunicorn_options(host="127.0.0.1", port=port).items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            app = App(
                signing_secret=SIGNING_SECRET,
                client=WebClient(token=token, base_url=api_url),
            )

            @app.command(re.compile(".*"))
            def ack_only(ack: Any) -> None:
                ack()

            return SlackRequestHandler(app)

        def run(self) -> None:
            GracefulArbiter(self).run()

    Bare().run()


def run(tree: Path, opts: argparse.Namespace, command: str, text: str) -> dict[str, Any]:
    """The burst against `tree`'s `cxbot serve`, then against the bare app."""
    with (
        LocalSlack.demo(rate_limits=False, trigger_ttl=600) as slack,
        tempfile.TemporaryDirectory() as tmp,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CXBOT_"))}
        env.update(
            SLACK_API_URL=slack.base_url,
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            DATABASE_URL=f"sqlite:///{tmp}/cxbot.db",
            PYTHONPATH=str(tree),
        )
        if opts.baseline:
            print(f"cxbot serve runs {served_code(tree, env, tmp).parent}", flush=True)
        python = sys.executable

        port = free_port()
        proc = start(
            [python, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env,
            tmp,
            port,
        )
        try:
            time.sleep(2)
            idle, idle_pss = rss_mb(proc.pid), rss_mb(proc.pid, "Pss")
            ours = measure(
                slack,
                proc.pid,
                f"http://127.0.0.1:{port}",
                opts.requests,
                command,
                text,
                opts.rounds,
            )
            busy = rss_mb(proc.pid)
        finally:
            stop(proc)

        # The bare app is this checkout's in both runs: the same yardstick.
        port = free_port()
        bare_args = [python, __file__, "--bare-server", str(port)]
        bare_args += ["--api-url", slack.base_url, "--token", slack.bot_token]
        proc = start(bare_args, env, tmp, port)
        try:
            bare = measure(
                slack,
                proc.pid,
                f"http://127.0.0.1:{port}",
                opts.requests,
                command,
                text,
                opts.rounds,
                replying=False,
            )
        finally:
            stop(proc)
    return {"ours": ours, "bare": bare, "idle": idle, "idle_pss": idle_pss, "busy": busy}


def report(result: dict[str, Any]) -> None:
    ours, bare = result["ours"], result["bare"]
    head = f"{'':14}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'mean ms':>10}{'CPU ms/req':>12}"
    print(head + f"{'replies':>10}")
    for name, row in (("cxbot serve", ours), ("bare Bolt", bare)):
        print(
            f"{name:14}{row['p50']:>10.1f}{row['p99']:>10.1f}{row['max']:>10.1f}"
            f"{row['mean']:>10.1f}{row['cpu']:>12.2f}{row['replies']:>10.0f}"
        )
    vs_bare = ours["p99"] / bare["p99"] if bare["p99"] else float("inf")
    print(f"p99 ratio cxbot / bare: {vs_bare:.2f}x   (target: p99 < 300 ms, ratio < 1.5x)")
    print(
        f"idle memory of cxbot serve (master + worker): RSS {result['idle']:.0f} MB, "
        f"PSS {result['idle_pss']:.0f} MB (target < 200 MB)"
    )
    print(f"RSS after the bursts: {result['busy']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="concurrent commands")
    parser.add_argument("--rounds", type=int, default=3, help="bursts per server")
    parser.add_argument("--command", default=None)
    parser.add_argument("--text", default=None)
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="measure REV's code first (a temporary git worktree), then this checkout's",
    )
    parser.add_argument("--bare-server", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.bare_server:
        bare_server(opts.bare_server, opts.api_url, opts.token)
        return

    command = opts.command or "/insight"
    text = opts.text or ("Kunden savner faktura på e-post" if command == "/insight" else "help")
    print(f"{opts.requests} concurrent `{command} {text}` x {opts.rounds} rounds")

    if not opts.baseline:
        report(run(ROOT, opts, command, text))
        return

    rev = describe(opts.baseline)
    with worktree(opts.baseline) as tree:
        before = run(tree, opts, command, text)
    after = run(ROOT, opts, command, text)
    print(f"\nbefore ({rev})")
    report(before)
    print("\nafter (HEAD)")
    report(after)
    b, a = before["ours"], after["ours"]
    print(
        f"\ncxbot serve, after / before: p50 {ratio(a['p50'], b['p50'])}, "
        f"p99 {ratio(a['p99'], b['p99'])}, CPU ms/req {ratio(a['cpu'], b['cpu'])}"
    )
    print(f"({load_average()} at the end)")


if __name__ == "__main__":
    main()
