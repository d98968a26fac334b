"""Shared by benchmarks/load.py and benchmarks/faults.py: `cxbot serve` instances, fresh
PostgreSQL databases (on the shared server or on a private cluster this script owns), and
an open-loop load generator. Run by hand, never in CI."""

from __future__ import annotations

import http.client
import os
import pwd
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from bot.localslack import LocalSlack  # noqa: E402
from tests.bot.slackkit import SlackKit  # noqa: E402
from tests.e2e.instances import Instance, start_instances  # noqa: E402


class LoadKit(SlackKit):
    """SlackKit as a load balancer sends: without the per-request bookkeeping (`marks()`
    copies everything the local Slack recorded so far, for `wait_reply`, which would make
    the generator slower with every request sent), and over kept-alive connections, one
    per generator thread and instance, as a proxy keeps its upstream connections open."""

    _local = threading.local()

    def marks(self) -> dict[str, int]:
        return {}

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, str, dict[str, str], float]:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conns: dict[str, http.client.HTTPConnection] = self._local.__dict__.setdefault("c", {})
        for attempt in (1, 2):
            conn = conns.get(self.server_url)
            reused = conn is not None
            if conn is None:
                conn = conns[self.server_url] = http.client.HTTPConnection(
                    parts.hostname or "127.0.0.1", parts.port, timeout=30
                )
            start = time.perf_counter()
            try:
                conn.request("POST", path or "/", body=body, headers=dict(headers))
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                del conns[self.server_url]
                # On a kept-alive connection this is the server having closed it while
                # idle (its keep-alive timeout): send once more on a new one, as HTTP
                # clients do.
                if reused and attempt == 1:
                    continue
                raise
            except OSError:
                conn.close()
                del conns[self.server_url]
                raise
            elapsed = time.perf_counter() - start
            return resp.status, data.decode("utf-8", "replace"), dict(resp.getheaders()), elapsed
        raise AssertionError("unreachable")


SIGNING_SECRET = "bench-signing-secret"
WEBHOOK_SECRET = "bench-webhook-secret"
SHARED_PG = os.environ.get("CXBOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- databases


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new empty database on the server of `server_url`, dropped afterwards."""
    base = server_url.rsplit("/", 1)[0]
    # Unpooled: the server may restart in between (benchmarks/faults.py).
    admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"cxbot_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{base}/{name}"
    finally:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()


class PrivateCluster:
    """A PostgreSQL cluster in a temporary directory, on its own port: restarting it hurts
    nobody else using the machine's server."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cxbot-pg-"))
        self.port = free_port()
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self._user = "postgres"

    def _run(self, *args: str | Path) -> None:
        cmd = [str(a) for a in args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def start(self) -> PrivateCluster:
        if os.geteuid() == 0:
            pw = pwd.getpwnam(self._user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run(PG_BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.dir}'\nmax_connections = 200\n"
                "fsync = off\nsynchronous_commit = off\n"
            )
        self._ctl("start")
        return self

    def _ctl(self, action: str, *extra: str | Path) -> None:
        self._run(
            PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-m", "fast", action, *extra
        )

    def restart(self) -> None:
        self._ctl("restart")

    def stop(self) -> None:
        try:
            self._ctl("stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


# --------------------------------------------------------------------------- instances


@contextmanager
def slack_process() -> Iterator[str]:
    """The demo workspace's Web API in a process of its own (no rate limits): under load, a
    Slack sharing the load generator's interpreter would measure the generator's GIL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.localslack", "--port", str(port), "--no-rate-limits"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().decode().strip()
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def channel_keys(api_url: str, token: str, channel: str) -> list[str]:
    """The outbox keys of the bot's messages in `channel`, read through the Web API."""
    from slack_sdk import WebClient

    client = WebClient(token=token, base_url=api_url, timeout=60)
    keys: list[str] = []
    cursor = None
    while True:
        page = client.conversations_history(
            channel=channel, limit=999, include_all_metadata=True, cursor=cursor
        )
        for m in page["messages"]:
            key = ((m.get("metadata") or {}).get("event_payload") or {}).get("key")
            if key:
                keys.append(str(key))
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return keys


def cxbot_env(
    slack: LocalSlack,
    database_url: str,
    api_url: str | None = None,
    *,
    tree: Path = ROOT,
    **extra: str,
) -> dict[str, str]:
    """The environment of `cxbot serve` running `tree`'s code (default: this checkout's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CXBOT_"))}
    env.update(
        SLACK_API_URL=api_url or slack.base_url,
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        CXBOT_WEBHOOK_SECRET=WEBHOOK_SECRET,
        DATABASE_URL=database_url,
        CXBOT_TIMEZONE="Europe/Oslo",
        CXBOT_LOG_FORMAT="json",
        PYTHONPATH=str(tree),
        **extra,
    )
    return env


@contextmanager
def instances(
    slack: LocalSlack,
    database_url: str,
    n: int,
    workdir: Path,
    api_url: str | None = None,
    *,
    tree: Path = ROOT,
    **env: str,
) -> Iterator[list[Instance]]:
    """`n` `cxbot serve` processes started together on one database, running `tree`'s code."""
    environment = cxbot_env(slack, database_url, api_url, tree=tree, **env)
    with start_instances(environment, n, workdir) as started:
        yield started


# --------------------------------------------------------------------------- load


@dataclass
class Sample:
    kind: str
    started: float
    seconds: float
    ok: bool
    status: int


@dataclass
class Load:
    """An open-loop generator: requests start on a fixed timetable (`rate` per second),
    whatever the answers' speed, so a slow server shows as latency, not as fewer requests."""

    rate: float
    duration: float
    pick: Callable[[int], tuple[str, Callable[[], int], frozenset[int]]]
    threads: int = 128
    samples: list[Sample] = field(default_factory=list)
    late_starts: int = 0
    started: float = 0.0
    elapsed: float = 0.0

    def run(self) -> None:
        lock = threading.Lock()

        def fire(n: int) -> None:
            kind, call, good = self.pick(n)
            start = time.perf_counter()
            try:
                status = call()
            except Exception:
                status = 0
            sample = Sample(kind, start, time.perf_counter() - start, status in good, status)
            with lock:
                self.samples.append(sample)

        total = int(self.rate * self.duration)
        begin = time.perf_counter()
        self.started = time.monotonic()
        with ThreadPoolExecutor(self.threads) as pool:
            for n in range(total):
                at = begin + n / self.rate
                wait = at - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                elif wait < -0.05:
                    self.late_starts += 1
                pool.submit(fire, n)
        self.elapsed = time.perf_counter() - begin  # until the last answer came back


def summary(samples: list[Sample], elapsed: float) -> dict[str, float]:
    times = sorted(s.seconds for s in samples)
    if not times:
        return {"requests": 0, "rps": 0, "p50_ms": 0, "p99_ms": 0, "max_ms": 0, "errors": 0}
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return {
        "requests": len(times),
        "rps": len(times) / elapsed,
        "p50_ms": statistics.median(times) * 1000,
        "p99_ms": p99 * 1000,
        "max_ms": times[-1] * 1000,
        "errors": sum(not s.ok for s in samples),
    }
