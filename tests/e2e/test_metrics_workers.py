"""`/metrics` of one `cxbot serve --workers 2`: every worker's requests in one scrape.

The real server (gunicorn, two worker processes sharing PROMETHEUS_MULTIPROC_DIR) is
loaded with requests of known kinds until both workers have served some; one scrape
must then count exactly what was sent, whichever worker answers it.
"""

from __future__ import annotations

import http.client
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.localslack import LocalSlack
from tests.e2e.instances import Instance, start_instances
from tests.e2e.test_serve import cxbot_env

pytestmark = pytest.mark.slow
BATCH = 60
MAX_BATCHES = 20  # bounded: at most 1,200 requests to 127.0.0.1


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels` (0 when none)."""
    total = 0.0
    for line in text.splitlines():
        found = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if not found or found.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', found.group(2) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(found.group(3))
    return total


def call(url: str, method: str, path: str) -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        # A new connection each time: the kernel hands it to either worker.
        conn.request(method, path, body=b"{}" if method == "POST" else None)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.fixture
def served(localslack: LocalSlack, tmp_path: Path) -> Iterator[tuple[Instance, Path]]:
    env = cxbot_env(localslack, f"sqlite:///{tmp_path / 'cxbot.db'}")
    shared = tmp_path / "prometheus"
    shared.mkdir()
    (shared / "counter_1.db").write_bytes(b"left by an earlier run")  # must be cleared
    env["PROMETHEUS_MULTIPROC_DIR"] = str(shared)
    with start_instances(env, 1, tmp_path, timeout=90, extra_args=("--workers", "2")) as (one,):
        yield one, shared


def test_one_scrape_counts_the_requests_of_both_workers(served: tuple[Instance, Path]) -> None:
    instance, shared = served
    assert not (shared / "counter_1.db").exists()
    sent = {"other": 0, "webhook": 0}
    with ThreadPoolExecutor(8) as pool:
        for _ in range(MAX_BATCHES):
            misses = list(pool.map(lambda _: call(instance.url, "GET", "/nowhere"), range(BATCH)))
            unsigned = list(
                pool.map(
                    lambda _: call(instance.url, "POST", "/webhooks/responses?team=T0NOPE"),
                    range(BATCH // 3),
                )
            )
            assert set(misses) == {404}
            assert all(status >= 400 for status in unsigned)
            sent["other"] += len(misses)
            sent["webhook"] += len(unsigned)
            # Both workers have counted requests: each keeps its own file of counters.
            if len(list(shared.glob("counter_*.db"))) >= 2:
                break
    assert len(list(shared.glob("counter_*.db"))) >= 2, "one worker served everything"

    text = instance.metrics()
    assert sample(text, "cxbot_workers") == 2
    assert sample(text, "cxbot_http_requests_total", route="other") == sent["other"]
    assert sample(text, "cxbot_http_requests_total", route="other", status="404") == sent["other"]
    assert sample(text, "cxbot_http_request_duration_seconds_count", route="other") == sent["other"]
    assert (
        sample(text, "cxbot_http_request_duration_seconds_bucket", route="other", le="+Inf")
        == sent["other"]
    )
    webhook = sample(text, "cxbot_http_requests_total", route="/webhooks/responses")
    assert webhook == sent["webhook"]
    # Every worker's samples, whichever answered: a second scrape adds the first scrape only.
    again = instance.metrics()
    assert sample(again, "cxbot_http_requests_total", route="/metrics") >= 1
    assert sample(again, "cxbot_http_requests_total", route="other") == sent["other"]
    # The database-wide gauges come once, not once per worker.
    assert sample(text, "cxbot_database_up") == 1
    assert sample(text, "cxbot_alerts_open", status="open", sla="overdue") == 0
    assert sample(text, "cxbot_scheduler_leader") == 1
    assert time.time() - sample(text, "cxbot_process_start_time_seconds") < 600
