"""What one person's App Home shows: their insights, shout-outs and the alerts they own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage.models import Alert, Insight, Response, Shoutout, ShoutoutReceiver


@dataclass(frozen=True)
class HomeInsight:
    id: int
    text: str
    customer: str | None
    category: str | None
    status: str
    created_at: datetime


@dataclass(frozen=True)
class HomeShoutout:
    id: int
    giver: str | None  # None for praise that came from a customer
    receivers: tuple[str, ...]
    text: str
    promise: str | None
    created_at: datetime


@dataclass(frozen=True)
class HomeAlert:
    id: int
    metric: str
    score: int
    customer_id: str | None
    segment: str | None
    comment: str | None
    status: str
    due_at: datetime
    channel: str | None
    ts: str | None


def recent_insights(
    engine: Engine, *, team_id: str, user_id: str, limit: int = 5
) -> list[HomeInsight]:
    """The insights `user_id` recorded, newest first."""
    stmt = (
        select(Insight)
        .where(Insight.team_id == team_id, Insight.reporter == user_id)
        .order_by(col(Insight.created_at).desc(), col(Insight.id).desc())
        .limit(limit)
    )
    with Session(engine) as session:
        return [
            HomeInsight(
                id=row.id or 0,
                text=row.text,
                customer=row.customer,
                category=row.category,
                status=row.status,
                created_at=row.created_at,
            )
            for row in session.exec(stmt)
        ]


def recent_shoutouts(
    engine: Engine, *, team_id: str, user_id: str, limit: int = 5
) -> list[HomeShoutout]:
    """Shout-outs `user_id` gave or received, newest first, with all their receivers."""
    received = select(ShoutoutReceiver.shoutout_id).where(
        ShoutoutReceiver.team_id == team_id, ShoutoutReceiver.user_id == user_id
    )
    stmt = (
        select(Shoutout)
        .where(
            Shoutout.team_id == team_id,
            or_(col(Shoutout.giver) == user_id, col(Shoutout.id).in_(received)),
        )
        .order_by(col(Shoutout.created_at).desc(), col(Shoutout.id).desc())
        .limit(limit)
    )
    with Session(engine) as session:
        rows = list(session.exec(stmt))
        ids = [row.id for row in rows]
        receivers: dict[int, list[str]] = {}
        if ids:
            for rec in session.exec(
                select(ShoutoutReceiver)
                .where(
                    ShoutoutReceiver.team_id == team_id,
                    col(ShoutoutReceiver.shoutout_id).in_(ids),
                )
                .order_by(col(ShoutoutReceiver.user_id))
            ):
                receivers.setdefault(rec.shoutout_id, []).append(rec.user_id)
        return [
            HomeShoutout(
                id=row.id or 0,
                giver=row.giver,
                receivers=tuple(receivers.get(row.id or 0, ())),
                text=row.text,
                promise=row.promise,
                created_at=row.created_at,
            )
            for row in rows
        ]


def open_alerts(engine: Engine, *, team_id: str, owner: str, limit: int = 20) -> list[HomeAlert]:
    """Alerts `owner` claimed and has not resolved yet, the most urgent first."""
    stmt = (
        select(Alert, Response)
        .join(Response, col(Response.id) == col(Alert.response_id))
        .where(
            Alert.team_id == team_id,
            Response.team_id == team_id,
            Alert.owner == owner,
            Alert.status != "resolved",
        )
        .order_by(col(Alert.due_at), col(Alert.id))
        .limit(limit)
    )
    with Session(engine) as session:
        return [
            HomeAlert(
                id=alert.id or 0,
                metric=response.metric,
                score=response.score,
                customer_id=response.customer_id,
                segment=response.segment,
                comment=response.comment,
                status=alert.status,
                due_at=alert.due_at,
                channel=alert.channel,
                ts=alert.ts,
            )
            for alert, response in session.exec(stmt)
        ]


def has_responses(engine: Engine, *, team_id: str) -> bool:
    """Whether the workspace has any answers (the sandbox seeds demo data when not)."""
    with Session(engine) as session:
        return (
            session.exec(select(Response.id).where(Response.team_id == team_id).limit(1)).first()
            is not None
        )
