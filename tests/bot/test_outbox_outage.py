"""Slack unreachable for a long time: the outbox keeps every message for a day of retries,
and sends what backed off at once when Slack answers again (found by benchmarks/faults.py:
after a 30 s outage the backlog took 25 s to clear, waiting out back-offs)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.clients import dispatch_client
from bot.localslack import LocalSlack
from bot.outbox import UNREACHABLE, Dispatcher
from bot.services import Services
from bot.settings import Settings
from storage import outbox as store
from tests.bot.conftest import enqueue_post, enqueue_posts
from tests.conftest import FakeClock


def _nobody_listening() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/api/"


def _unreachable(localslack: LocalSlack) -> WebClient:
    """A client for a Slack that does not answer (no retries of its own: the outbox's)."""
    return WebClient(
        token=localslack.bot_token, base_url=_nobody_listening(), timeout=2, retry_handlers=[]
    )


def _pending(engine: Engine, clock: FakeClock) -> int:
    return len(store.claim_due(engine, now=clock() + timedelta(days=3), limit=1000))


def test_back_offs_end_when_slack_answers_again(
    localslack: LocalSlack, bot_settings: Settings, sqlite_engine: Engine, clock: FakeClock
) -> None:
    engine, team = sqlite_engine, localslack.team_id
    down = _unreachable(localslack)
    up = dispatch_client(bot_settings)
    client = {"now": down}
    dispatcher = Dispatcher(Services(bot_settings, engine, clock), lambda _team: client["now"])
    enqueue_posts(engine, team, clock, [f"test:outage-{n}" for n in range(5)])
    # Slack is away for a while: every round fails, and the back-offs grow.
    for _ in range(6):
        dispatcher.run_once()
        clock.advance(seconds=20)
    errors = store.statuses(engine, team_id=team)
    assert set(errors.values()) == {"pending"}
    # Slack is back; one new message gets through ...
    client["now"] = up
    enqueue_posts(engine, team, clock, ["test:after"])
    assert dispatcher.run_once() >= 1
    # ... and the ones that backed off are due at once, not minutes later.
    while dispatcher.run_once():
        pass
    statuses = store.statuses(engine, team_id=team)
    assert statuses == {key: "sent" for key in statuses}, statuses
    texts = sorted(m["text"] for m in localslack.messages("C0ALERTS"))
    assert texts == sorted(["test:after", *(f"test:outage-{n}" for n in range(5))])


def test_an_hour_without_slack_loses_nothing(
    localslack: LocalSlack, bot_settings: Settings, sqlite_engine: Engine, clock: FakeClock
) -> None:
    engine, team = sqlite_engine, localslack.team_id
    clock.now = datetime.now(UTC)  # the message's age counts from its stored created_at
    down = _unreachable(localslack)
    dispatcher = Dispatcher(
        Services(bot_settings, engine, clock), lambda _team: down, max_attempts=3
    )
    enqueue_posts(engine, team, clock, ["test:alert"])
    # Well past max_attempts, but within a day: still waiting to be sent.
    for _ in range(12):
        clock.advance(seconds=300)
        dispatcher.run_once()
    assert store.statuses(engine, team_id=team) == {"test:alert": "pending"}
    with engine.connect() as conn:
        error = conn.exec_driver_sql("SELECT last_error FROM outboxmessage").scalar_one()
    assert error.startswith(UNREACHABLE)
    # A day later it is given up (and logged), not retried forever.
    clock.advance(hours=25)
    dispatcher.run_once()
    assert store.statuses(engine, team_id=team) == {"test:alert": "failed"}
    assert _pending(engine, clock) == 0


def test_a_refused_connection_needs_no_history_check(
    localslack: LocalSlack, bot_settings: Settings, sqlite_engine: Engine, clock: FakeClock
) -> None:
    engine, team = sqlite_engine, localslack.team_id
    down = _unreachable(localslack)
    client = {"now": down}
    dispatcher = Dispatcher(Services(bot_settings, engine, clock), lambda _team: client["now"])
    enqueue_posts(engine, team, clock, ["test:refused"])
    dispatcher.run_once()
    client["now"] = dispatch_client(bot_settings)
    clock.advance(seconds=5)
    assert dispatcher.run_once() == 1
    assert [m["text"] for m in localslack.messages("C0ALERTS")] == ["test:refused"]
    # Nothing can have reached Slack, so it was posted without looking for an earlier copy.
    assert localslack.calls_to("conversations.history") == []


def test_an_error_of_slacks_own_is_given_up_after_its_attempts(
    localslack: LocalSlack, bot_settings: Settings, sqlite_engine: Engine, clock: FakeClock
) -> None:
    """Only Slack's absence (or its 5xx) earns a day of retries; an error that Slack answers
    with, and no retry cures, ends after `max_attempts` as before."""
    engine, team = sqlite_engine, localslack.team_id
    clock.now = datetime.now(UTC)
    dispatcher = Dispatcher(
        Services(bot_settings, engine, clock),
        lambda _team: dispatch_client(bot_settings),
        max_attempts=3,
    )
    enqueue_post(engine, team, clock, "test:odd", text="x", method="chat.noSuchMethod")
    for _ in range(3):
        dispatcher.run_once()
        clock.advance(seconds=10)
    assert store.statuses(engine, team_id=team) == {"test:odd": "failed"}
