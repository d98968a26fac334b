"""`cxbot serve` as a real process: health, a signed command, graceful stop mid-request."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.localslack import LocalSlack
from tests.bot.slackkit import SlackKit, get, webhook_signature

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # starts real server processes: several seconds each
SIGNING_SECRET = "e2e-signing-secret"
WEBHOOK_SECRET = "e2e-webhook-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cxbot_env(localslack: LocalSlack, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CXBOT_"))}
    env.update(
        SLACK_API_URL=localslack.base_url,
        SLACK_BOT_TOKEN=localslack.bot_token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        CXBOT_WEBHOOK_SECRET=WEBHOOK_SECRET,
        DATABASE_URL=database_url,
        CXBOT_TIMEZONE="Europe/Oslo",
        PYTHONPATH=str(ROOT),
    )
    return env


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[bytes]


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise AssertionError(f"cxbot serve exited with {proc.returncode}:\n{out}")
        try:
            if get(url + "/healthz", timeout=1)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("cxbot serve did not become healthy")


@pytest.fixture
def served(localslack: LocalSlack, tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,  # no stray .env
        env=cxbot_env(localslack, f"sqlite:///{tmp_path}/cxbot.db"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as in a terminal
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield Served(url, proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_serve_answers_a_signed_command(served: Served, localslack: LocalSlack) -> None:
    kit = SlackKit(served.url, SIGNING_SECRET, localslack)
    r = kit.command("/cx", "help", user="U0BJORN")
    assert r.status == 200
    reply = kit.wait_reply(r, timeout=10)
    assert "/insight" in reply["text"]
    # Norwegian for U0BJORN: the locale lookup went through localslack's users.info.
    assert localslack.calls_to("users.info")
    assert kit.command("/cx", "help", ts=int(time.time()) - 600).status == 401


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_lets_the_request_in_flight_finish(served: Served, signum: int) -> None:
    body = json.dumps(
        [{"responded_at": "2026-11-20", "metric": "nps", "score": 3, "response_id": "slow-1"}]
    ).encode()
    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        head = (
            "POST /webhooks/responses HTTP/1.1\r\n"
            f"Host: {host}\r\nContent-Type: application/json\r\n"
            f"X-CXBot-Signature: {webhook_signature(WEBHOOK_SECRET, body)}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        # Headers and half the body: the server is now reading this request.
        sock.sendall(head.encode() + body[:10])
        time.sleep(0.5)
        if signum == signal.SIGINT:
            # Ctrl-C in a terminal reaches the whole group: the master and its workers.
            os.killpg(served.proc.pid, signum)
        else:
            served.proc.send_signal(signum)  # what a process manager sends to the master
        time.sleep(1.0)
        assert served.proc.poll() is None, "the server quit with a request in flight"
        sock.sendall(body[10:])
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        answer = json.loads(resp.read())
    assert resp.status == 202, answer
    assert len(answer["stored"]) == 1
    assert served.proc.wait(timeout=15) == 0
    # Once stopped, it takes no new requests.
    with pytest.raises(OSError):
        get(served.url + "/healthz", timeout=1)
