"""Direct messages are sent exactly once when Slack's answers get lost.

Slack takes a user id as chat.postMessage's channel and posts into the D... channel of the
bot's DM (https://api.slack.com/methods/chat.postMessage#channels), but refuses a user id
in conversations.history with channel_not_found
(https://api.slack.com/methods/conversations.history#errors): the check for a message that
may already have arrived reads the D channel conversations.open returns
(https://api.slack.com/methods/conversations.open).
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bot.clients import dispatch_client
from bot.localslack import LocalSlack
from bot.outbox import Dispatcher
from bot.services import Services
from bot.settings import Settings
from storage import outbox as store
from tests.bot.conftest import enqueue_post
from tests.conftest import FakeClock

PEOPLE = 200


def test_200_dms_with_a_fifth_uncertain_reach_everyone_exactly_once(
    localslack: LocalSlack, bot_settings: Settings, sqlite_engine: Engine, clock: FakeClock
) -> None:
    users = [f"U0DM{n:04d}" for n in range(PEOPLE)]
    for user in users:
        localslack.add_user(user, user.lower())
    team = localslack.team_id
    with sqlite_engine.begin() as conn:
        for user in users:
            store.enqueue(
                conn,
                team_id=team,
                key=f"test:dm:{user}",
                method="chat.postMessage",
                payload={"channel": user, "text": f"Hello {user}"},
                not_before=clock(),
            )
    # One post in five is stored by Slack and then answered with a 500 or a dropped
    # connection: the bot cannot tell whether it arrived.
    localslack.uncertain_sends(rate=0.2)
    client = dispatch_client(bot_settings)
    dispatcher = Dispatcher(Services(bot_settings, sqlite_engine, clock), lambda _team: client)
    for _ in range(40):
        dispatcher.run_once()
        statuses = store.statuses(sqlite_engine, team_id=team)
        if all(s == "sent" for s in statuses.values()):
            break
        clock.advance(seconds=600)  # past every back-off
    localslack.uncertain_sends(0)

    uncertain = [c for c in localslack.calls_to("chat.postMessage") if not c.ok and c.took_effect]
    assert len(uncertain) >= PEOPLE // 10  # the faults did happen
    assert set(store.statuses(sqlite_engine, team_id=team).values()) == {"sent"}
    counts = {user: len(localslack.messages(localslack.open_dm(user))) for user in users}
    assert sorted(set(counts.values())) == [1], {u: n for u, n in counts.items() if n != 1}
    # The checks read D channels only; a user id never reached conversations.history.
    checked = {str(c.args.get("channel")) for c in localslack.calls_to("conversations.history")}
    assert checked and all(ch.startswith("D") for ch in checked)


def test_a_dm_whose_person_cannot_be_reached_is_not_checked_in_vain(
    localslack: LocalSlack, bot_settings: Settings, sqlite_engine: Engine, clock: FakeClock
) -> None:
    team = localslack.team_id
    enqueue_post(sqlite_engine, team, clock, "test:dm:gone", channel="U0NOBODY", text="Hello")
    claimed = store.claim_due(sqlite_engine, now=clock(), limit=1)
    store.mark_retry(sqlite_engine, claimed[0].id, at=clock(), error="timeout", maybe_sent=True)
    client = dispatch_client(bot_settings)
    Dispatcher(Services(bot_settings, sqlite_engine, clock), lambda _team: client).run_once()
    # No DM can be opened with an unknown user: the post is tried and refused for good.
    assert store.statuses(sqlite_engine, team_id=team) == {"test:dm:gone": "failed"}
