"""The outbox: what the bot must post, kept until Slack has confirmed it.

A message is written in the same transaction as the fact that caused it (an
alert, a shout-out, a survey round), under a key unique per workspace, so the
same cause can never queue it twice. Dispatchers claim due rows with a lease:
on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so several instances never take
the same row; on SQLite the single writer lock does the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from storage.db import reading, writing
from storage.models import OutboxMessage

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


@dataclass(frozen=True)
class Claimed:
    id: int
    team_id: str
    key: str
    method: str
    payload: dict[str, Any]
    attempts: int  # including this one
    maybe_sent: bool  # an earlier attempt may have reached Slack
    # When it was queued: an earlier attempt's message can only be newer than this.
    created_at: datetime | None = None


def _insert_for(bind: Connection | Session) -> Any:
    dialect = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    return pg_insert if dialect == "postgresql" else sqlite_insert


def enqueue(
    bind: Connection | Session,
    *,
    team_id: str,
    key: str,
    method: str,
    payload: dict[str, Any],
    not_before: datetime | None = None,
) -> bool:
    """Queue a Web API call; False when a message with this key was queued before.

    Pass the caller's own session or connection so the message commits (or rolls
    back) together with the fact that caused it.
    """
    values: dict[str, Any] = {
        "team_id": team_id,
        "key": key,
        "method": method,
        "payload": payload,
        "status": PENDING,
        "attempts": 0,
    }
    if not_before is not None:
        values["next_attempt_at"] = not_before
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    stmt = (
        _insert_for(bind)(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["team_id", "key"])
        .returning(table.c.id)
    )
    return bind.execute(stmt).first() is not None


def claim_due(
    engine: Engine, *, now: datetime, limit: int = 50, lease: timedelta = timedelta(seconds=60)
) -> list[Claimed]:
    """Take up to `limit` due messages for sending.

    Due means pending and past `next_attempt_at`, or stuck in `sending` past its
    lease (the instance that took it died); the lease end is kept in
    `next_attempt_at` so one index serves both.
    """
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    due = or_(
        and_(table.c.status == PENDING, table.c.next_attempt_at <= now),
        and_(table.c.status == SENDING, table.c.next_attempt_at <= now),
    )
    cols = (
        table.c.id,
        table.c.team_id,
        table.c.key,
        table.c.method,
        table.c.payload,
        table.c.attempts,
        table.c.maybe_sent,
        table.c.created_at,
    )
    with engine.begin() as conn:
        pick = select(*cols).where(due).order_by(table.c.next_attempt_at, table.c.id).limit(limit)
        if conn.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        else:
            # Take SQLite's write lock before reading, so two dispatchers cannot
            # both read the same due rows.
            conn.exec_driver_sql("UPDATE outboxmessage SET id = id WHERE 0")
        rows = conn.execute(pick).all()
        if not rows:
            return []
        conn.execute(
            update(table)
            .where(table.c.id.in_([r.id for r in rows]))
            .values(
                status=SENDING,
                attempts=table.c.attempts + 1,
                maybe_sent=True,
                next_attempt_at=now + lease,
            )
        )
    return [
        Claimed(
            r.id, r.team_id, r.key, r.method, r.payload, r.attempts + 1, r.maybe_sent, r.created_at
        )
        for r in rows
    ]


def mark_sent(
    bind: Engine | Connection,
    message_id: int,
    *,
    now: datetime,
    channel: str | None,
    ts: str | None,
) -> None:
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    with writing(bind) as conn:
        conn.execute(
            update(table)
            .where(table.c.id == message_id)
            .values(status=SENT, sent_at=now, result_channel=channel, result_ts=ts, last_error=None)
        )


def mark_retry(
    engine: Engine,
    message_id: int,
    *,
    at: datetime,
    error: str,
    maybe_sent: bool,
    counts: bool = True,
) -> None:
    """Try again at `at`; `maybe_sent` when the failed attempt may still have reached Slack.

    A rate-limited attempt does not count (`counts=False`): waiting is Slack's
    instruction, not a failure, and must not use up the message's attempts.
    """
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    attempts = table.c.attempts if counts else table.c.attempts - 1
    with engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.id == message_id)
            .values(
                status=PENDING,
                next_attempt_at=at,
                last_error=error[:2000],
                maybe_sent=maybe_sent,
                attempts=attempts,
            )
        )


def wake_unreachable(engine: Engine, *, prefix: str, now: datetime) -> int:
    """Make due now the pending messages, of every workspace, whose last attempt failed
    because Slack could not be reached (their error starts with `prefix`); returns how many."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        return (
            conn.execute(
                update(table)
                .where(
                    table.c.status == PENDING,
                    table.c.next_attempt_at > now,
                    table.c.last_error.like(prefix + "%"),  # a prefix without % or _
                )
                .values(next_attempt_at=now)
            ).rowcount
            or 0
        )


def mark_failed(engine: Engine, message_id: int, *, error: str) -> None:
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.id == message_id)
            .values(status=FAILED, last_error=error[:2000])
        )


def backlog(engine: Engine) -> int:
    """Messages not yet sent (pending or in flight), across workspaces: for health checks."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    with reading(engine) as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(table)
                .where(table.c.status.in_((PENDING, SENDING)))
            ).scalar_one()
        )


def oldest_due_age(engine: Engine, *, now: datetime) -> float | None:
    """Seconds the longest-waiting due message has been due, across workspaces; None when
    nothing is due: for health checks (a dispatcher that stopped sending shows here).

    Due as in `claim_due`: pending past `next_attempt_at`, or in `sending` past its lease.
    A message waiting out a rate limit's Retry-After, a back-off or a scheduled send has
    its `next_attempt_at` in the future and is not due, so Slack's pace never counts as
    a stuck dispatcher; the age runs from `next_attempt_at`, when it became due.
    """
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    with reading(engine) as conn:
        oldest: datetime | None = conn.execute(
            select(func.min(table.c.next_attempt_at)).where(
                table.c.status.in_((PENDING, SENDING)), table.c.next_attempt_at <= now
            )
        ).scalar_one_or_none()
    if oldest is None:
        return None
    if oldest.tzinfo is None:  # the column type marks it UTC; a bare driver value may not
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (now - oldest).total_seconds())


def sent_result(engine: Engine, *, team_id: str, key: str) -> tuple[str | None, str | None] | None:
    """(channel, ts) of a sent message, or None while it is not sent."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    with reading(engine) as conn:
        row = conn.execute(
            select(table.c.result_channel, table.c.result_ts).where(
                table.c.team_id == team_id, table.c.key == key, table.c.status == SENT
            )
        ).first()
    return (row[0], row[1]) if row else None


def statuses(engine: Engine, *, team_id: str, keys: Sequence[str] | None = None) -> dict[str, str]:
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    stmt = select(table.c.key, table.c.status).where(table.c.team_id == team_id)
    if keys is not None:
        stmt = stmt.where(table.c.key.in_(list(keys)))
    with reading(engine) as conn:
        return {k: s for k, s in conn.execute(stmt)}
