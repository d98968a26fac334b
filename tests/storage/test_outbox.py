"""The outbox store on SQLite and PostgreSQL: idempotent queueing, exclusive claims, leases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import outbox

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _queue(engine: Engine, n: int, team: str = "T1") -> None:
    with Session(engine) as session:
        for i in range(n):
            outbox.enqueue(
                session,
                team_id=team,
                key=f"test:{i}",
                method="chat.postMessage",
                payload={"channel": "C1", "text": f"message {i}"},
                not_before=NOW,
            )
        session.commit()


def test_enqueue_is_idempotent_per_team(engine: Engine) -> None:
    with Session(engine) as session:
        args = {"key": "alert:1", "method": "chat.postMessage", "payload": {"text": "x"}}
        assert outbox.enqueue(session, team_id="T1", **args) is True
        assert outbox.enqueue(session, team_id="T1", **args) is False
        assert outbox.enqueue(session, team_id="T2", **args) is True
        session.commit()
    assert outbox.backlog(engine) == 2


def test_rolled_back_cause_queues_nothing(engine: Engine) -> None:
    with Session(engine) as session:
        outbox.enqueue(session, team_id="T1", key="k", method="chat.postMessage", payload={})
        session.rollback()
    assert outbox.backlog(engine) == 0


def test_claim_sent_retry_failed(engine: Engine) -> None:
    _queue(engine, 3)
    first = outbox.claim_due(engine, now=NOW, limit=2)
    assert [c.key for c in first] == ["test:0", "test:1"]
    assert all(c.attempts == 1 and not c.maybe_sent for c in first)
    # Claimed rows are leased: a second claim only gets the third.
    second = outbox.claim_due(engine, now=NOW, limit=10)
    assert [c.key for c in second] == ["test:2"]
    outbox.mark_sent(engine, first[0].id, now=NOW, channel="C1", ts="1.0")
    outbox.mark_retry(
        engine,
        first[1].id,
        at=NOW + timedelta(seconds=5),
        error="ratelimited",
        maybe_sent=False,
        counts=False,
    )
    outbox.mark_failed(engine, second[0].id, error="channel_not_found")
    assert outbox.claim_due(engine, now=NOW + timedelta(seconds=4)) == []
    again = outbox.claim_due(engine, now=NOW + timedelta(seconds=5))
    assert [(c.key, c.attempts) for c in again] == [("test:1", 1)]
    assert outbox.sent_result(engine, team_id="T1", key="test:0") == ("C1", "1.0")
    assert outbox.statuses(engine, team_id="T1") == {
        "test:0": "sent",
        "test:1": "sending",
        "test:2": "failed",
    }


def test_expired_lease_is_claimed_again_as_maybe_sent(engine: Engine) -> None:
    _queue(engine, 1)
    (taken,) = outbox.claim_due(engine, now=NOW, lease=timedelta(seconds=30))
    assert outbox.claim_due(engine, now=NOW + timedelta(seconds=29)) == []
    (retaken,) = outbox.claim_due(engine, now=NOW + timedelta(seconds=31))
    assert retaken.id == taken.id
    assert retaken.maybe_sent is True
    assert retaken.attempts == 2


def test_concurrent_claims_never_share_a_message(engine: Engine) -> None:
    _queue(engine, 200)
    taken: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        while True:
            batch = outbox.claim_due(engine, now=NOW, limit=7)
            if not batch:
                return
            with lock:
                taken.extend(c.id for c in batch)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 200
    assert len(set(taken)) == 200


def test_oldest_due_age_counts_only_messages_that_are_due(engine: Engine) -> None:
    assert outbox.oldest_due_age(engine, now=NOW) is None
    with Session(engine) as session:
        for key, at in (
            ("due:early", NOW - timedelta(minutes=10)),
            ("due:late", NOW - timedelta(minutes=1)),
            ("scheduled", NOW + timedelta(hours=1)),  # a scheduled send is not due yet
        ):
            outbox.enqueue(
                session,
                team_id="T1",
                key=key,
                method="chat.postMessage",
                payload={"channel": "C1", "text": key},
                not_before=at,
            )
        session.commit()
    assert outbox.oldest_due_age(engine, now=NOW) == 600.0

    # Slack said "Retry-After: 30": the message waits for Slack, not for a dispatcher.
    claimed = outbox.claim_due(engine, now=NOW, limit=1)
    assert [c.key for c in claimed] == ["due:early"]
    assert outbox.oldest_due_age(engine, now=NOW) == 60.0  # a leased message is not due
    outbox.mark_retry(
        engine,
        claimed[0].id,
        at=NOW + timedelta(seconds=30),
        error="ratelimited (30s)",
        maybe_sent=False,
        counts=False,
    )
    assert outbox.oldest_due_age(engine, now=NOW) == 60.0
    # Sent and failed messages never count.
    late = outbox.claim_due(engine, now=NOW, limit=1)
    outbox.mark_sent(engine, late[0].id, now=NOW, channel="C1", ts="1.0")
    assert outbox.oldest_due_age(engine, now=NOW) is None
    # An instance died mid-send: once its lease ends the message is due again.
    later = NOW + timedelta(seconds=40)
    stuck = outbox.claim_due(engine, now=later, limit=1, lease=timedelta(seconds=60))
    assert [c.key for c in stuck] == ["due:early"]
    assert outbox.oldest_due_age(engine, now=later) is None
    assert outbox.oldest_due_age(engine, now=later + timedelta(seconds=90)) == 30.0
