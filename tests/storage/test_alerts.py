"""Detractor alerts in the database (SQLite and PostgreSQL): raising, routing, storms,
idempotent transitions, the clock's bookkeeping, and agreement with the follow-up metric."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from core import sla
from core.alerts import ListKind
from core.ingest import validate_response_objects
from storage import alerts, settings_store
from storage.metrics_queries import followup_counts
from storage.models import Alert, AlertNote, OutboxMessage
from storage.responses import insert_responses
from tests.storage.alerts_kit import store_answers

T = "T0ALERTS"
A = Alert.__table__  # type: ignore[attr-defined]
N = AlertNote.__table__  # type: ignore[attr-defined]
OB = OutboxMessage.__table__  # type: ignore[attr-defined]
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TODAY = NOW.date()


def raise_batch(engine: Engine, batch: str, now: datetime = NOW) -> int:
    with engine.begin() as conn:
        return alerts.raise_for_batch(conn, team_id=T, batch_id=batch, now=now)


def outbox_keys(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(select(OB.c.key).where(OB.c.team_id == T).order_by(OB.c.id))
        return [str(r[0]) for r in rows]


def alert_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(A).where(A.c.team_id == T).order_by(A.c.id)))


def configure(engine: Engine, **values: str) -> None:
    for key, value in values.items():
        settings_store.set(engine, team_id=T, key=key.replace("__", "."), value=value)


def one_alert(engine: Engine, score: int = 2) -> int:
    configure(engine, alerts__channel="C0ALERTS")
    raise_batch(engine, store_answers(engine, T, [(TODAY, "nps", score)], key_prefix=f"one{score}"))
    return int(alert_rows(engine)[-1].id)


def test_one_alert_per_detractor_answer(engine: Engine) -> None:
    configure(engine, alerts__channel="C0ALERTS", thresholds__nps="5", alerts__storm_size="20")
    answers = [(TODAY, "nps", s) for s in range(11)]
    answers += [(TODAY, "csat", s) for s in range(1, 6)] + [(TODAY, "ces", s) for s in range(1, 8)]
    batch = store_answers(engine, T, answers)
    # NPS 0-5 (threshold set to 5), CSAT 1-2, CES 1-3.
    assert raise_batch(engine, batch) == 6 + 2 + 3
    assert raise_batch(engine, batch) == 0  # unique per answer: running it again adds nothing
    rows = alert_rows(engine)
    assert len(rows) == 11
    assert all(r.posted and r.channel == "C0ALERTS" and r.status == "open" for r in rows)
    assert all(r.due_at == NOW + timedelta(hours=24) for r in rows)
    assert outbox_keys(engine) == [f"alert:{r.id}:post" for r in rows]


def test_history_is_stored_but_not_posted(engine: Engine) -> None:
    configure(engine, alerts__channel="C0ALERTS", alerts__history_days="7")
    old, recent = TODAY - timedelta(days=30), TODAY - timedelta(days=2)
    batch = store_answers(engine, T, [(old, "nps", 1), (old, "csat", 1), (recent, "nps", 3)])
    assert raise_batch(engine, batch) == 3
    rows = alert_rows(engine)
    assert [r.posted for r in rows] == [False, False, True]
    assert outbox_keys(engine) == [f"alert:{rows[2].id}:post"]


def test_without_any_channel_nothing_is_posted(engine: Engine) -> None:
    batch = store_answers(engine, T, [(TODAY, "nps", 0)])
    assert raise_batch(engine, batch) == 1
    assert [r.posted for r in alert_rows(engine)] == [False]
    assert outbox_keys(engine) == []


def test_routes_by_segment_touchpoint_and_metric(engine: Engine) -> None:
    configure(
        engine,
        alerts__channel="C0ALERTS",
        **{
            "alerts.route.Retail": "C0RETAIL",
            "alerts.route.touchpoint:Checkout": "C0CHECKOUT",
            "alerts.route.metric:ces": "C0EFFORT",
        },
    )
    batch = store_answers(
        engine,
        T,
        [
            (TODAY, "nps", 1, "retail", "checkout"),  # segment wins (case-insensitive)
            (TODAY, "nps", 1, "B2B", "Checkout"),
            (TODAY, "ces", 1, "B2B", "Support"),
            (TODAY, "csat", 1, "B2B", "Support"),
        ],
    )
    raise_batch(engine, batch)
    assert [r.channel for r in alert_rows(engine)] == [
        "C0RETAIL",
        "C0CHECKOUT",
        "C0EFFORT",
        "C0ALERTS",
    ]


def test_a_storm_becomes_one_summary_with_a_thread(engine: Engine) -> None:
    configure(engine, alerts__channel="C0ALERTS", alerts__storm_size="3")
    answers: list[tuple[Any, ...]] = [(TODAY, "nps", i % 7) for i in range(5)]
    answers.append((TODAY, "csat", 1, "Retail"))
    configure(engine, **{"alerts.route.Retail": "C0RETAIL"})
    batch = store_answers(engine, T, answers)
    raise_batch(engine, batch)
    rows = alert_rows(engine)
    grouped = [r for r in rows if r.channel == "C0ALERTS"]
    assert len(grouped) == 5 and {r.group_key for r in grouped} == {f"alertstorm:{batch}:C0ALERTS"}
    # The single Retail alert is under the storm size: posted on its own.
    assert [r.group_key for r in rows if r.channel == "C0RETAIL"] == [None]
    keys = outbox_keys(engine)
    assert keys[0] == f"alertstorm:{batch}:C0ALERTS"  # the summary is queued before its thread
    assert sorted(keys[1:]) == sorted(f"alert:{r.id}:post" for r in rows)


def test_every_import_path_raises_alerts(engine: Engine) -> None:
    configure(engine, alerts__channel="C0ALERTS")
    now = datetime.now(UTC)
    objects = [
        {
            "responded_at": (now - timedelta(hours=score)).isoformat(),
            "metric": "nps",
            "score": score,
            "customer_id": "C-42",
            "response_id": f"r{score}",
            "comment": f"score {score}",
        }
        for score in (9, 8, 2)
    ]
    frame, rejected = validate_response_objects(objects, ZoneInfo("Europe/Oslo"))
    assert rejected == []
    result = insert_responses(engine, team_id=T, frame=frame, source="webhook")
    assert result.inserted == 3
    (row,) = alert_rows(engine)
    card = alerts.get_card(engine, team_id=T, alert_id=row.id)
    assert card is not None and card.score == 2 and card.comment == "score 2"
    assert [(e.metric, e.score) for e in card.earlier] == [("nps", 8), ("nps", 9)]
    # A re-sent answer is a duplicate: no second alert.
    insert_responses(engine, team_id=T, frame=frame, source="webhook")
    assert len(alert_rows(engine)) == 1


def test_claim_is_idempotent(engine: Engine) -> None:
    alert_id = one_alert(engine)
    later = NOW + timedelta(hours=2)
    first = alerts.claim(engine, team_id=T, alert_id=alert_id, user_id="U1", now=later)
    assert first.changed and first.card is not None
    assert (first.card.status, first.card.owner, first.card.first_response_at) == (
        "claimed",
        "U1",
        later,
    )
    again = alerts.claim(engine, team_id=T, alert_id=alert_id, user_id="U1", now=later)
    other = alerts.claim(engine, team_id=T, alert_id=alert_id, user_id="U2", now=later)
    assert not again.changed and not other.changed
    assert other.card is not None and other.card.owner == "U1"
    assert outbox_keys(engine).count(f"alert:{alert_id}:update:claim") == 1
    # Another team cannot touch it.
    stranger = alerts.claim(engine, team_id="T0OTHER", alert_id=alert_id, user_id="U9", now=later)
    assert not stranger.changed and stranger.card is None


def test_a_note_submitted_twice_is_kept_once(engine: Engine) -> None:
    alert_id = one_alert(engine)
    at = NOW + timedelta(minutes=30)
    for _ in range(2):
        change = alerts.add_note(
            engine,
            team_id=T,
            alert_id=alert_id,
            user_id="U2",
            text="  Called, no answer  ",
            now=at,
            request_key="V123:1",
        )
    assert not change.changed
    with engine.connect() as conn:
        notes = list(conn.execute(select(N.c.text, N.c.user_id)))
    assert notes == [("Called, no answer", "U2")]
    card = alerts.get_card(engine, team_id=T, alert_id=alert_id)
    assert card is not None and card.notes == 1 and card.first_response_at == at
    assert card.status == "open"  # a note is a response, not a claim
    keys = [k for k in outbox_keys(engine) if k != f"alert:{alert_id}:post"]
    assert len(keys) == 2 and keys[0].startswith(f"alert:{alert_id}:note:")
    with pytest.raises(ValueError):
        alerts.add_note(engine, team_id=T, alert_id=alert_id, user_id="U2", text=" ", now=at)


def test_resolve_once_and_the_resolver_owns_an_unclaimed_alert(engine: Engine) -> None:
    alert_id = one_alert(engine)
    at = NOW + timedelta(hours=5)
    done = alerts.resolve(
        engine,
        team_id=T,
        alert_id=alert_id,
        user_id="U3",
        outcome="called",
        view_changed=True,
        now=at,
        note="Apologised and refunded the fee",
        request_key="V9:1",
    )
    assert done.changed and done.card is not None
    card = done.card
    assert (card.status, card.owner, card.resolved_by, card.outcome, card.view_changed) == (
        "resolved",
        "U3",
        "U3",
        "called",
        True,
    )
    assert card.resolved_at == at and card.first_response_at == at and card.notes == 1
    again = alerts.resolve(
        engine,
        team_id=T,
        alert_id=alert_id,
        user_id="U4",
        outcome="fixed",
        view_changed=False,
        now=at + timedelta(hours=1),
    )
    assert not again.changed and again.card is not None and again.card.outcome == "called"
    assert outbox_keys(engine).count(f"alert:{alert_id}:update:resolve") == 1
    with pytest.raises(ValueError):
        alerts.resolve(
            engine,
            team_id=T,
            alert_id=alert_id,
            user_id="U4",
            outcome="ignored",
            view_changed=None,
            now=at,
        )


def test_clock_steps_are_recorded_once(engine: Engine) -> None:
    alert_id = one_alert(engine)
    action = sla.ClockAction(remind=0, reminders_done=1)
    args: dict[str, Any] = {"team_id": T, "alert_id": alert_id, "escalation_channel": "C0ESCAL"}
    at = NOW + timedelta(hours=12)
    assert alerts.record_clock(engine, action=action, now=at, **args) == [
        f"alert:{alert_id}:remind:0"
    ]
    assert alerts.record_clock(engine, action=action, now=at, **args) == []
    escalate = sla.ClockAction(reminders_done=2, escalate=True)
    at = NOW + timedelta(hours=24)
    assert alerts.record_clock(engine, action=escalate, now=at, **args) == [
        f"alert:{alert_id}:escalate"
    ]
    assert alerts.record_clock(engine, action=escalate, now=at, **args) == []
    assert [r.id for r in alerts.running(engine)] == []  # escalated: nothing left to say
    with engine.connect() as conn:
        payload = conn.execute(
            select(OB.c.payload).where(OB.c.key == f"alert:{alert_id}:escalate")
        ).scalar_one()
    assert payload["channel"] == "C0ESCAL"


def test_resolved_alerts_leave_the_clock(engine: Engine) -> None:
    alert_id = one_alert(engine)
    assert [r.id for r in alerts.running(engine)] == [alert_id]
    alerts.resolve(
        engine,
        team_id=T,
        alert_id=alert_id,
        user_id="U1",
        outcome="fixed",
        view_changed=None,
        now=NOW + timedelta(hours=1),
    )
    assert alerts.running(engine) == []
    late = sla.ClockAction(reminders_done=2, escalate=True)
    assert (
        alerts.record_clock(
            engine,
            team_id=T,
            alert_id=alert_id,
            action=late,
            now=NOW + timedelta(hours=30),
            escalation_channel=None,
        )
        == []
    )


def test_lists(engine: Engine) -> None:
    configure(engine, alerts__channel="C0ALERTS")
    raise_batch(engine, store_answers(engine, T, [(TODAY, "nps", s) for s in (1, 2, 3)]))
    first = NOW - timedelta(hours=30)
    raise_batch(engine, store_answers(engine, T, [(TODAY, "csat", 1)], key_prefix="x"), first)
    ids = [r.id for r in alert_rows(engine)]
    alerts.claim(engine, team_id=T, alert_id=ids[0], user_id="U1", now=NOW)
    alerts.resolve(
        engine,
        team_id=T,
        alert_id=ids[1],
        user_id="U1",
        outcome="fixed",
        view_changed=None,
        now=NOW,
    )

    def listed(kind: ListKind) -> tuple[list[int], int]:
        cards, total = alerts.list_alerts(engine, team_id=T, kind=kind, user_id="U1", now=NOW)
        return [c.id for c in cards], total

    # The overdue one (raised 30 hours ago) comes first.
    assert listed("open") == ([ids[3], ids[0], ids[2]], 3)
    assert listed("mine") == ([ids[0]], 1)
    assert listed("overdue") == ([ids[3]], 1)
    cards, total = alerts.list_alerts(
        engine, team_id=T, kind="open", user_id="U1", now=NOW, limit=1
    )
    assert len(cards) == 1 and total == 3


def test_the_followup_metric_agrees_with_the_alerts(engine: Engine) -> None:
    configure(engine, alerts__channel="C0ALERTS")
    raise_batch(engine, store_answers(engine, T, [(TODAY, "nps", s) for s in (0, 1, 2, 3)]))
    ids = [r.id for r in alert_rows(engine)]
    resolve: dict[str, Any] = {
        "team_id": T,
        "user_id": "U1",
        "outcome": "called",
        "view_changed": None,
    }
    alerts.claim(engine, team_id=T, alert_id=ids[0], user_id="U1", now=NOW + timedelta(hours=1))
    alerts.resolve(engine, alert_id=ids[0], now=NOW + timedelta(hours=3), **resolve)
    alerts.resolve(engine, alert_id=ids[1], now=NOW + timedelta(hours=30), **resolve)
    alerts.add_note(
        engine,
        team_id=T,
        alert_id=ids[2],
        user_id="U2",
        text="left a voicemail",
        now=NOW + timedelta(hours=5),
    )
    later = NOW + timedelta(hours=40)
    counts = followup_counts(
        engine, team_id=T, start_utc=NOW - timedelta(days=1), end_utc=later, now=later
    )
    # Handled within 24 h: only the first; overdue: the two still open; first responses
    # after 1, 5 and 30 hours -> median 5.
    assert counts == {
        "alerts": 4,
        "handled_within_24h": 1,
        "open_overdue": 2,
        "median_hours_to_first_response": pytest.approx(5.0, abs=1e-3),
    }
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alert")).scalar_one() == 4
