"""After-send hooks run in the transaction that marks a message sent; one that fails
leaves the message sent (Slack has it) and its own write undone."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from bot.clients import dispatch_client
from bot.feature import Feature, Registry, Sent
from bot.localslack import LocalSlack
from bot.outbox import Dispatcher
from bot.services import Services
from bot.settings import Settings
from storage import outbox as store
from tests.bot.conftest import enqueue_posts
from tests.conftest import FakeClock

PREFIX = "hooktest:"


@pytest.fixture
def hook_calls() -> list[tuple[str, str | None, str | None]]:
    return []


def hooked(calls: list[tuple[str, str | None, str | None]]) -> Feature:
    """A feature whose after-send hook records each call and fails on `...:boom`."""

    def hook(conn: Connection, sent: Sent) -> None:
        key = sent.key
        calls.append((key, sent.channel, sent.ts))
        # Written in the same transaction as the message's status.
        conn.execute(text("CREATE TABLE IF NOT EXISTS hook_seen (k text)"))
        conn.execute(text("INSERT INTO hook_seen VALUES (:k)"), {"k": key})
        if key.endswith(":boom"):
            raise RuntimeError("the hook failed")

    return Feature("hooktest", sent_hooks={PREFIX: hook})


def test_a_hook_writes_with_the_sent_mark_and_a_failing_one_undoes_only_itself(
    localslack: LocalSlack,
    bot_settings: Settings,
    sqlite_engine: Engine,
    clock: FakeClock,
    hook_calls: list[tuple[str, str | None, str | None]],
) -> None:
    team = localslack.team_id
    enqueue_posts(sqlite_engine, team, clock, [PREFIX + "fine"])
    enqueue_posts(sqlite_engine, team, clock, [PREFIX + "boom"])
    client = dispatch_client(bot_settings)
    services = Services(bot_settings, sqlite_engine, clock, registry=Registry([hooked(hook_calls)]))
    dispatcher = Dispatcher(services, lambda _team: client)
    assert dispatcher.run_once() == 2

    assert [key for key, _channel, _ts in hook_calls] == [PREFIX + "fine", PREFIX + "boom"]
    assert all(channel == "C0ALERTS" and ts for _key, channel, ts in hook_calls)
    # Both are sent, once each, and stay sent: nothing is posted again.
    assert store.statuses(sqlite_engine, team_id=team) == {
        PREFIX + "fine": "sent",
        PREFIX + "boom": "sent",
    }
    clock.advance(seconds=600)
    assert dispatcher.run_once() == 0
    assert sorted(m["text"] for m in localslack.messages("C0ALERTS")) == [
        PREFIX + "boom",
        PREFIX + "fine",
    ]
    with sqlite_engine.connect() as conn:
        seen = [k for (k,) in conn.execute(text("SELECT k FROM hook_seen"))]
    assert seen == [PREFIX + "fine"]
    assert store.sent_result(sqlite_engine, team_id=team, key=PREFIX + "boom") is not None
