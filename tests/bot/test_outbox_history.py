"""A message whose earlier attempt may have reached Slack is looked up before it is sent
again, however many messages were posted on top of it meanwhile (Slack back from an outage
with a backlog: found by benchmarks/faults.py)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bot.clients import dispatch_client
from bot.localslack import LocalSlack
from bot.outbox import METADATA_EVENT, Dispatcher
from bot.services import Services
from bot.settings import Settings
from storage import outbox as store
from tests.bot.conftest import enqueue_post
from tests.conftest import FakeClock


def test_an_earlier_post_deep_in_the_history_is_found(
    localslack: LocalSlack, bot_settings: Settings, sqlite_engine: Engine, clock: FakeClock
) -> None:
    engine = sqlite_engine
    team = localslack.team_id
    enqueue_post(engine, team, clock, "test:lost-answer", text="the one")
    # The first attempt reached Slack, but its answer never came back ...
    claimed = store.claim_due(engine, now=clock(), limit=1)
    client = dispatch_client(bot_settings)
    client.chat_postMessage(
        channel="C0ALERTS",
        text="the one",
        metadata={"event_type": METADATA_EVENT, "event_payload": {"key": "test:lost-answer"}},
    )
    store.mark_retry(engine, claimed[0].id, at=clock(), error="timeout", maybe_sent=True)
    # ... and 450 other messages went out on top of it before the retry.
    for n in range(450):
        client.chat_postMessage(channel="C0ALERTS", text=f"other {n}")
    clock.advance(seconds=30)

    dispatcher = Dispatcher(Services(bot_settings, engine, clock), lambda _team: client)
    assert dispatcher.run_once() == 1
    texts = [m["text"] for m in localslack.messages("C0ALERTS")]
    assert texts.count("the one") == 1
    assert store.statuses(engine, team_id=team) == {"test:lost-answer": "sent"}
    # Paged through the history (200 a page) from when the message was queued.
    pages = [c for c in localslack.calls_to("conversations.history") if c.args.get("oldest")]
    assert len(pages) >= 3
