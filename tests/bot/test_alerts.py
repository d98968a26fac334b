"""Detractor alerts through the real bot: a signed webhook in, the alert in the routed
channel, Claim / Add note / Resolve as Slack sends them, the message updated each time,
double clicks and retries changing nothing twice, the SLA clock, and `/cx alerts`.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.clients import dispatch_client
from bot.handlers.alerts import blocks as views
from bot.handlers.alerts.sweeps import run_clock
from bot.localslack import LocalSlack
from bot.outbox import Dispatcher
from bot.services import Services
from storage import alerts as store
from storage import outbox, settings_store
from storage.exports import write_export
from storage.models import Alert
from tests.bot.slackkit import SlackKit, static_select, text_input
from tests.conftest import FakeClock
from tests.storage.alerts_kit import store_answers

pytestmark = pytest.mark.real_time

TEAM = "T0CXLOCAL"


def configure(engine: Engine, **values: str) -> None:
    for key, value in values.items():
        settings_store.set(engine, team_id=TEAM, key=key, value=value)


def key_of(message: dict[str, Any]) -> str:
    return str(((message.get("metadata") or {}).get("event_payload") or {}).get("key") or "")


def alert_posts(slack: LocalSlack, channel: str | None = None) -> list[dict[str, Any]]:
    return [
        m
        for m in slack.messages(channel)
        if key_of(m).startswith("alert:") and key_of(m).endswith(":post")
    ]


def flat(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks") or [], ensure_ascii=False)


def buttons(message: dict[str, Any]) -> list[str]:
    found = []
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("type") == "button":
                found.append(element["action_id"])
    return found


def settle(services: Services, slack: LocalSlack) -> None:
    """Wait until the outbox has sent everything queued so far."""
    slack.wait_for(lambda: outbox.backlog(services.engine) == 0, timeout=10)


def current(slack: LocalSlack, channel: str, ts: str) -> dict[str, Any]:
    found: dict[str, Any] = next(m for m in slack.messages(channel) if m["ts"] == ts)
    return found


def wait_message(
    slack: LocalSlack, channel: str, ts: str, check: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    def found() -> dict[str, Any]:
        msg = current(slack, channel, ts)
        return msg if check(msg) else {}

    return slack.wait_for(found, timeout=5)


def open_modal(slack: LocalSlack, callback: str) -> dict[str, Any]:
    def modal() -> dict[str, Any]:
        return next((v for v in slack.open_views() if v.get("callback_id") == callback), {})

    return slack.wait_for(modal)


def test_webhook_to_resolved_alert(
    slack: SlackKit, localslack: LocalSlack, services: Services
) -> None:
    engine = services.engine
    configure(engine, **{"alerts.channel": "C0GENERAL", "alerts.route.Retail": "C0ALERTS"})
    earlier = {
        "responded_at": (datetime.now(UTC) - timedelta(days=20)).isoformat(),
        "metric": "csat",
        "score": 4,
        "customer_id": "ACME-7",
        "response_id": "ext-1",
    }
    assert slack.webhook(earlier).status == 202
    answer = {
        "responded_at": datetime.now(UTC).isoformat(),
        "metric": "nps",
        "score": 3,
        "customer_id": "ACME-7",
        "segment": "Retail",
        "touchpoint": "Checkout",
        "comment": "Waited 40 minutes <again> & nobody called back",
        "employee": "U0BJORN",
        "response_id": "ext-2",
    }
    started = time.monotonic()
    reply = slack.webhook(answer)
    assert reply.status == 202, reply.text
    posted = localslack.wait_for(lambda: alert_posts(localslack, "C0ALERTS"), timeout=5)
    assert time.monotonic() - started < 5
    assert alert_posts(localslack, "C0GENERAL") == []  # routed by segment, not the default
    msg = posted[0]
    alert_id = int(key_of(msg).split(":")[1])
    body = flat(msg)
    for expected in (
        "NPS 3",
        "ACME-7",
        "Retail · Checkout",
        "Waited 40 minutes &lt;again&gt; &amp; nobody called back",
        "<@U0BJORN>",
        "CSAT 4",  # the customer's earlier answer
        "Unclaimed",
    ):
        assert expected in body, expected
    assert buttons(msg) == [views.CLAIM_ACTION, views.NOTE_ACTION, views.RESOLVE_ACTION]
    ts = msg["ts"]
    in_channel = {**msg, "channel": "C0ALERTS"}

    # Claim, twice (a double click), and the very same request again (a retry).
    first = slack.block_action(views.CLAIM_ACTION, str(alert_id), user="U0ADA", message=in_channel)
    assert first.status == 200
    slack.block_action(views.CLAIM_ACTION, str(alert_id), user="U0ADA", message=in_channel)
    slack.send(_form(first.sent))
    claimed = wait_message(localslack, "C0ALERTS", ts, lambda m: "Claimed by <@U0ADA>" in flat(m))
    assert buttons(claimed) == [views.NOTE_ACTION, views.RESOLVE_ACTION]
    settle(services, localslack)
    assert len(localslack.calls_to("chat.update")) == 1

    # Someone else tries to claim it: told who has it, nothing changes.
    other = slack.block_action(views.CLAIM_ACTION, str(alert_id), user="U0SVEA", message=in_channel)
    seen = slack.wait_reply(other, where=lambda r: r["kind"] in ("response", "ephemeral"))
    assert "<@U0ADA>" in seen["text"] and "redan" in seen["text"]  # Svea reads Swedish

    # A note: the button opens a modal, the submission goes into the thread, submitted twice.
    slack.block_action(views.NOTE_ACTION, str(alert_id), user="U0GRACE", message=in_channel)
    modal = open_modal(localslack, views.NOTE_MODAL)
    assert modal["private_metadata"] == str(alert_id)
    values = {views.NOTE_BLOCK: {views.NOTE_INPUT: text_input("Called her; refund agreed")}}
    for _ in range(2):
        done = slack.view_submission(
            views.NOTE_MODAL, values, str(alert_id), user="U0GRACE", view_id=modal["id"]
        )
        assert done.status == 200 and done.text in ("", "null")
    wait_message(localslack, "C0ALERTS", ts, lambda m: "1 note in the thread" in flat(m))
    settle(services, localslack)
    replies = [
        m for m in localslack.messages("C0ALERTS") if m.get("thread_ts") == ts and m["ts"] != ts
    ]
    assert len(replies) == 1 and "Called her; refund agreed" in flat(replies[0])
    assert "<@U0GRACE>" in flat(replies[0])

    # An empty note is refused inside the modal.
    empty = {views.NOTE_BLOCK: {views.NOTE_INPUT: text_input("   ")}}
    refused = slack.view_submission(views.NOTE_MODAL, empty, str(alert_id), view_id="V0EMPTY")
    assert refused.json()["response_action"] == "errors"

    # Resolve through its modal.
    slack.block_action(views.RESOLVE_ACTION, str(alert_id), user="U0ADA", message=in_channel)
    modal = open_modal(localslack, views.RESOLVE_MODAL)
    values = {
        views.OUTCOME_BLOCK: {views.OUTCOME_INPUT: static_select("compensated")},
        views.VIEW_BLOCK: {views.VIEW_INPUT: static_select("yes")},
        views.NOTE_BLOCK: {views.NOTE_INPUT: text_input(None)},
    }
    for _ in range(2):
        slack.view_submission(
            views.RESOLVE_MODAL, values, str(alert_id), user="U0ADA", view_id=modal["id"]
        )
    resolved = wait_message(localslack, "C0ALERTS", ts, lambda m: "Resolved by" in flat(m))
    assert "Compensated the customer" in flat(resolved)
    assert "the customer's view changed" in flat(resolved)
    assert buttons(resolved) == [views.NOTE_ACTION]
    settle(services, localslack)
    assert len(localslack.calls_to("chat.update")) == 3  # claim, note, resolve: once each

    # Resolving again from an old modal: refused, nothing changes.
    late = slack.view_submission(views.RESOLVE_MODAL, values, str(alert_id), user="U0SVEA")
    assert late.json()["response_action"] == "errors"

    # The export shows the times.
    out = io.StringIO()
    write_export(engine, team_id=TEAM, kind="alerts", fmt="json", out=out)
    (row,) = json.loads(out.getvalue())
    assert row["status"] == "resolved" and row["outcome"] == "compensated"
    assert row["owner"] == "U0ADA" and row["customer_id"] == "ACME-7"
    created = datetime.fromisoformat(row["created_at"])
    first_response = datetime.fromisoformat(row["first_response_at"])
    resolved_at = datetime.fromisoformat(row["resolved_at"])
    assert created <= first_response <= resolved_at
    assert row["channel"] == "C0ALERTS" and row["ts"] == ts


def _form(payload: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode({"payload": json.dumps(payload)})


def test_cx_alerts_lists(slack: SlackKit, localslack: LocalSlack, services: Services) -> None:
    engine = services.engine
    configure(engine, **{"alerts.channel": "C0ALERTS"})
    now = services.clock()
    batch = store_answers(engine, TEAM, [(now.date(), "nps", 1), (now.date(), "csat", 2)])
    with engine.begin() as conn:
        store.raise_for_batch(conn, team_id=TEAM, batch_id=batch, now=now - timedelta(hours=30))
    ids = [a.id for a in _alerts(engine)]
    store.claim(engine, team_id=TEAM, alert_id=ids[1], user_id="U0ADA", now=now)

    def listing(args: str, user: str = "U0ADA") -> str:
        reply = slack.wait_reply(slack.command("/cx", f"alerts {args}", user=user))
        return reply["text"] + json.dumps(reply.get("blocks") or [], ensure_ascii=False)

    text = listing("")
    assert "Open detractor alerts" in text and "(2)" in text and "overdue" in text
    assert "NPS 1" in text and "CSAT 2" in text
    mine = listing("mine")
    assert "CSAT 2" in mine and "NPS 1" not in mine and "Claimed by <@U0ADA>" in mine
    assert "(2)" in listing("overdue")
    assert "Du eier ingen" in listing("mine", user="U0BJORN")  # Norwegian, and empty
    bad = listing("everything")
    assert "open, mine or overdue" in bad


def _alerts(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        table = Alert.__table__  # type: ignore[attr-defined]
        return list(conn.execute(select(table).order_by(table.c.id)))


# --------------------------------------------------------------------------- the clock


@pytest.fixture
def fixed_clock() -> FakeClock:
    return FakeClock()


def test_reminders_and_escalation_once_each(
    localslack: LocalSlack, services: Services, fixed_clock: FakeClock
) -> None:
    """The SLA sweep with an injected clock: two reminders and one escalation for the open
    alert, however often the sweep runs; nothing at all for the alert resolved early."""
    services.clock = fixed_clock
    engine = services.engine
    configure(engine, **{"alerts.channel": "C0ALERTS", "alerts.escalation_channel": "C0ESCAL"})
    batch = store_answers(
        engine, TEAM, [(fixed_clock().date(), "nps", 2), (fixed_clock().date(), "ces", 1)]
    )
    with engine.begin() as conn:
        store.raise_for_batch(conn, team_id=TEAM, batch_id=batch, now=fixed_clock())
    open_id, early_id = [a.id for a in _alerts(engine)]
    client: WebClient = dispatch_client(services.settings)
    dispatcher = Dispatcher(services, lambda _team: client)
    dispatcher.drain()
    assert len(alert_posts(localslack, "C0ALERTS")) == 2

    def tick(hours: float) -> int:
        fixed_clock.advance(hours=hours)
        queued = sum(run_clock(services) for _ in range(3))  # a sweep run thrice
        dispatcher.drain()
        return queued

    assert tick(5) == 0
    store.resolve(
        engine,
        team_id=TEAM,
        alert_id=early_id,
        user_id="U0FREJA",
        outcome="fixed",
        view_changed=None,
        now=fixed_clock(),
    )
    assert tick(6.9) == 0  # 11.9 hours
    assert tick(0.1) == 1  # 12 hours: the first reminder, in the thread (nobody owns it)
    (parent,) = [
        m for m in alert_posts(localslack, "C0ALERTS") if key_of(m) == f"alert:{open_id}:post"
    ]
    reminders = [
        m
        for m in localslack.messages("C0ALERTS")
        if m.get("thread_ts") == parent["ts"] and m["ts"] != parent["ts"]
    ]
    assert len(reminders) == 1 and "Nobody has claimed" in flat(reminders[0])
    assert tick(1) == 0
    store.claim(engine, team_id=TEAM, alert_id=open_id, user_id="U0BJORN", now=fixed_clock())
    dispatcher.drain()
    assert tick(5) == 1  # 18 hours: the second reminder, to the owner directly
    dm = localslack.open_dm("U0BJORN")
    (direct,) = localslack.messages(dm)
    assert "Påminnelse" in flat(direct) or "Reminder" in flat(direct)
    assert tick(5.9) == 0
    assert tick(0.1) == 1  # 24 hours: escalated
    (escalation,) = localslack.messages("C0ESCAL")
    assert "<@U0BJORN>" in flat(escalation) and "NPS 2" in flat(escalation)
    assert tick(24) == 0 and tick(100) == 0
    # The original message shows it is overdue.
    assert "overdue" in flat(current(localslack, "C0ALERTS", parent["ts"]))
    # Nothing ever went out about the alert resolved after five hours.
    keys = outbox.statuses(engine, team_id=TEAM)
    assert not [
        k
        for k in keys
        if k.startswith(f"alert:{early_id}:remind") or k == f"alert:{early_id}:escalate"
    ]
    assert len(localslack.messages("C0ESCAL")) == 1
    assert len(localslack.messages(dm)) == 1


def test_business_hours_move_the_clock(
    localslack: LocalSlack, services: Services, fixed_clock: FakeClock
) -> None:
    """Raised on Friday evening with working hours Mon-Fri 08-16: no reminder over the
    weekend; due on Tuesday morning."""
    services.clock = fixed_clock
    engine = services.engine
    configure(
        engine,
        **{
            "alerts.channel": "C0ALERTS",
            "alerts.business_hours": "mon-fri 08:00-16:00 Europe/Oslo",
        },
    )
    fixed_clock.now = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # Friday 19:00 in Oslo
    batch = store_answers(engine, TEAM, [(fixed_clock().date(), "nps", 0)])
    with engine.begin() as conn:
        store.raise_for_batch(conn, team_id=TEAM, batch_id=batch, now=fixed_clock())
    (alert,) = _alerts(engine)
    # 24 working hours from Monday 08:00: Wednesday 16:00 in Oslo.
    assert alert.due_at == datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    fixed_clock.now = datetime(2026, 11, 23, 6, 59, tzinfo=UTC)  # Monday 07:59 Oslo
    assert run_clock(services) == 0
    fixed_clock.now = datetime(2026, 11, 24, 10, 59, tzinfo=UTC)  # Tuesday 11:59 Oslo
    assert run_clock(services) == 0
    fixed_clock.now = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # 12 working hours in
    assert run_clock(services) == 1
