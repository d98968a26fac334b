"""Three `cxbot serve` processes on one fresh PostgreSQL database, as behind a load balancer:
they migrate once between them, 500 detractor answers through all three webhooks give
exactly 500 alert messages, the scheduler runs in one of them, and killing that one moves
the schedule to another within seconds (within 15 s at the default retry interval), which
keeps the timetable: the scheduled digest is posted once. About 75 s: the digest sweep
ticks once a minute."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func, select, text

from bot.localslack import LocalSlack
from storage import settings_store
from storage.db import current_revision, make_engine
from storage.models import Alert, OutboxMessage
from tests.bot.slackkit import SlackKit, get
from tests.e2e.instances import Instance, start_instances
from tests.e2e.test_serve import SIGNING_SECRET, WEBHOOK_SECRET, cxbot_env

pytestmark = pytest.mark.slow

ANSWERS = 500
INSTANCES = 3
RETRY_SECONDS = 1.0
TZ = "Europe/Oslo"


@pytest.fixture
def fresh_pg(pg_database_url: str) -> Iterator[str]:
    """An empty database: the instances bring the schema themselves."""
    server = pg_database_url.rsplit("/", 1)[0]
    admin = create_engine(server + "/postgres", isolation_level="AUTOCOMMIT")
    name = f"cxbot_multi_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def cluster(localslack: LocalSlack, fresh_pg: str, tmp_path: Path) -> Iterator[list[Instance]]:
    env = cxbot_env(localslack, fresh_pg)
    env["CXBOT_LEADER_RETRY_SECONDS"] = str(RETRY_SECONDS)
    env["CXBOT_TIMEZONE"] = TZ
    # All three started together: they race to migrate.
    with start_instances(env, INSTANCES, tmp_path, timeout=60) as instances:
        yield instances


def wait_for(predicate: Any, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(0.1)
    return time.monotonic() - started


def leaders(instances: list[Instance]) -> list[Instance]:
    return [i for i in instances if i.alive() and i.leads()]


def test_three_instances_share_the_work(
    cluster: list[Instance], localslack: LocalSlack, fresh_pg: str
) -> None:
    engine = make_engine(fresh_pg, pool_size=2)
    try:
        assert current_revision(engine) is not None
        team = localslack.team_id
        settings_store.set(engine, team_id=team, key="alerts.channel", value="C0ALERTS")
        settings_store.set(engine, team_id=team, key="digest.channel", value="C0DIGEST")
        # The weekly digest fell due a minute ago: whichever instance leads posts it.
        due = datetime.now(ZoneInfo(TZ)) - timedelta(minutes=1)
        schedule = f"{due.strftime('%a').lower()} {due:%H:%M}"
        settings_store.set(engine, team_id=team, key="digest.schedule", value=schedule)

        kits = [
            SlackKit(i.url, SIGNING_SECRET, localslack, webhook_secret=WEBHOOK_SECRET)
            for i in cluster
        ]
        today = datetime.now(ZoneInfo(TZ)).date().isoformat()

        def send(n: int) -> int:
            answer = {
                "responded_at": today,
                "metric": "nps",
                "score": n % 7,  # 0-6: every one a detractor
                "response_id": f"multi-{n}",
                "customer_id": f"cust-{n}",
                "comment": f"answer {n}",
            }
            return kits[n % INSTANCES].webhook([answer]).status

        started = time.monotonic()
        with ThreadPoolExecutor(12) as pool:
            statuses = list(pool.map(send, range(ANSWERS)))
        assert statuses == [202] * ANSWERS
        took = wait_for(
            lambda: len(localslack.messages("C0ALERTS")) >= ANSWERS, 45, "500 alert messages"
        )
        time.sleep(1.0)  # nothing more may come
        messages = localslack.messages("C0ALERTS")
        keys = [m["metadata"]["event_payload"]["key"] for m in messages]
        assert len(messages) == ANSWERS and len(set(keys)) == ANSWERS
        posts = [
            c
            for c in localslack.calls_to("chat.postMessage")
            if c.args.get("channel") == "C0ALERTS"
        ]
        assert len(posts) == ANSWERS  # each posted once: no instance sent another's message
        with engine.connect() as conn:
            alerts = conn.execute(select(func.count()).select_from(Alert.__table__)).scalar_one()  # type: ignore[attr-defined]
            unsent = conn.execute(
                select(func.count())
                .select_from(OutboxMessage.__table__)  # type: ignore[attr-defined]
                .where(OutboxMessage.__table__.c.status != "sent")  # type: ignore[attr-defined]
            ).scalar_one()
        assert alerts == ANSWERS and unsent == 0
        print(
            f"\n500 answers in and 500 alerts posted by 3 instances in "
            f"{time.monotonic() - started:.1f} s "
            f"(alerts done {took:.1f} s after the last answer)"
        )

        # Exactly one instance runs the scheduler; kill it, twice.
        wait_for(lambda: len(leaders(cluster)) == 1, 10, "one leader")
        for round_ in range(2):
            leader = leaders(cluster)[0]
            leader.kill()
            moved = wait_for(lambda: len(leaders(cluster)) == 1, 60, "a new leader")
            assert leaders(cluster)[0] is not leader
            print(f"leader {round_ + 1} killed: the schedule moved in {moved:.1f} s")
            assert moved < RETRY_SECONDS * 5
        # The digest sweep ticks a minute after the first leader started; the leader of the
        # moment keeps that timetable and posts each report that is due (the week's, and
        # early in a month the month's too), once.
        localslack.wait_for(lambda: len(localslack.messages("C0DIGEST")) >= 1, timeout=90)
        time.sleep(2.0)
        digests = [
            str((m.get("metadata") or {}).get("event_payload", {}).get("key", ""))
            for m in localslack.messages("C0DIGEST")
        ]
        digests = [key for key in digests if key.startswith("digest:")]
        assert any(key.startswith("digest:week:") for key in digests), digests
        assert len(digests) == len(set(digests)), digests
        # The last one standing still answers.
        survivor = [i for i in cluster if i.alive()]
        assert len(survivor) == 1 and get(survivor[0].url + "/healthz")[0] == 200
    finally:
        engine.dispose()
