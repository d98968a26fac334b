"""An event is marked handled only once its listener succeeded: a delivery that fails
half-way is handled again when Slack retries it, a retry of one that succeeded is not.

Real app over signed HTTP, real database; the failing listener is a real Bolt listener.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from slack_bolt import App
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.localslack import LocalSlack
from bot.services import Services
from storage import events
from storage.models import ProcessedEvent, utcnow
from tests.bot.slackkit import SlackKit

_E = ProcessedEvent.__table__.c  # type: ignore[attr-defined]


def handled_at(engine: Engine, event_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(_E.handled_at).where(_E.event_id == event_id)).first()


def test_a_delivery_that_failed_half_way_is_handled_again_on_retry(
    slack: SlackKit, bolt_app: App, services: Services, localslack: LocalSlack
) -> None:
    calls: list[str] = []
    finished = threading.Event()

    @bolt_app.event("reaction_added")
    def flaky_listener(event: dict[str, Any], client: Any) -> None:
        calls.append(event["reaction"])
        client.chat_postMessage(channel="C0GENERAL", text=f"try {len(calls)}")
        if len(calls) == 1:
            finished.set()
            raise RuntimeError("the database went away half-way")
        finished.set()

    event = {"type": "reaction_added", "user": "U0ADA", "reaction": "tada", "item": {}}
    assert slack.event(event, event_id="Ev0FLAKY01").status == 200
    assert finished.wait(5)
    # The failure gave the claim back: nothing says the event was handled.
    localslack.wait_for(lambda: handled_at(services.engine, "Ev0FLAKY01") is None)

    finished.clear()
    retry = slack.event(event, event_id="Ev0FLAKY01", retry_num=1)
    assert retry.status == 200
    assert finished.wait(5)
    localslack.wait_for(lambda: (row := handled_at(services.engine, "Ev0FLAKY01")) and row[0])

    # Handled now: Slack's later retries are duplicates.
    for n in (2, 3):
        assert slack.event(event, event_id="Ev0FLAKY01", retry_num=n).status == 200
    done = threading.Event()

    @bolt_app.event("reaction_removed")
    def marker(event: dict[str, Any]) -> None:
        done.set()

    slack.event({**event, "type": "reaction_removed"}, event_id="Ev0FLAKY02")
    assert done.wait(5)
    assert calls == ["tada", "tada"]
    assert [m["text"] for m in localslack.messages("C0GENERAL")] == ["try 1", "try 2"]


def test_an_event_nothing_listens_to_is_settled_as_handled(
    slack: SlackKit, services: Services, localslack: LocalSlack
) -> None:
    r = slack.event(
        {"type": "member_left_channel", "user": "U0ADA", "channel": "C0GENERAL"},
        event_id="Ev0NOBODY1",
    )
    assert r.status == 200
    localslack.wait_for(lambda: (row := handled_at(services.engine, "Ev0NOBODY1")) and row[0])


def test_a_claim_left_by_a_dead_process_is_taken_over_after_the_lease(engine: Engine) -> None:
    start = utcnow()
    assert events.claim(engine, team_id="T1", event_id="Ev1", now=start)
    # Still fresh: the first delivery may be at work.
    assert not events.claim(engine, team_id="T1", event_id="Ev1", now=start + timedelta(seconds=30))
    later = start + events.LEASE + timedelta(seconds=1)
    assert events.claim(engine, team_id="T1", event_id="Ev1", now=later)
    events.handled(engine, event_id="Ev1", now=later)
    # Handled is final, however old.
    assert not events.claim(engine, team_id="T1", event_id="Ev1", now=later + timedelta(days=1))
    events.release(engine, event_id="Ev1")  # a late failure report changes nothing now
    assert not events.claim(engine, team_id="T1", event_id="Ev1", now=later + timedelta(days=1))


def test_a_released_claim_can_be_taken_at_once(engine: Engine) -> None:
    assert events.claim(engine, team_id="T1", event_id="Ev2")
    events.release(engine, event_id="Ev2")
    assert events.claim(engine, team_id="T1", event_id="Ev2")
