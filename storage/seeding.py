"""Keeping the demo's insights and shout-outs (answers and customers use the import path).

Demo rows are marked with `source = 'demo'`, so they can be found, skipped on a
second run and deleted without touching anything people recorded themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.engine import Connection, Engine

from core.alerts import OPEN, RESOLVED
from core.demo import DemoInsight, DemoShoutout, alert_history
from storage import alerts as alert_store
from storage.models import (
    Alert,
    Insight,
    InsightVote,
    OutboxMessage,
    Response,
    Shoutout,
    ShoutoutReceiver,
)

DEMO_SOURCE = "demo"

_I = Insight.__table__  # type: ignore[attr-defined]
_V = InsightVote.__table__  # type: ignore[attr-defined]
_S = Shoutout.__table__  # type: ignore[attr-defined]
_R = ShoutoutReceiver.__table__  # type: ignore[attr-defined]
_AL = Alert.__table__  # type: ignore[attr-defined]
_RS = Response.__table__  # type: ignore[attr-defined]
_O = OutboxMessage.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class FeedbackResult:
    insights: int  # inserted
    shoutouts: int  # inserted
    deleted_insights: int
    deleted_shoutouts: int
    skipped: bool  # the team already had demo rows and nothing was replaced


def has_demo_feedback(conn: Connection | Engine, *, team_id: str) -> bool:
    """Whether the team already has demo insights or shout-outs."""
    query = select(
        exists().where(_I.c.team_id == team_id, _I.c.source == DEMO_SOURCE)
        | exists().where(_S.c.team_id == team_id, _S.c.source == DEMO_SOURCE)
    )
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return bool(c.execute(query).scalar())
    return bool(conn.execute(query).scalar())


def _delete_demo(conn: Connection, *, team_id: str) -> tuple[int, int]:
    demo_insights = select(_I.c.id).where(_I.c.team_id == team_id, _I.c.source == DEMO_SOURCE)
    # People may have voted on demo insights or linked their own to them as duplicates.
    conn.execute(delete(_V).where(_V.c.team_id == team_id, _V.c.insight_id.in_(demo_insights)))
    conn.execute(
        update(_I)
        .where(_I.c.team_id == team_id, _I.c.duplicate_of.in_(demo_insights))
        .values(duplicate_of=None)
    )
    insights = conn.execute(
        delete(_I).where(_I.c.team_id == team_id, _I.c.source == DEMO_SOURCE)
    ).rowcount
    demo_shoutouts = select(_S.c.id).where(_S.c.team_id == team_id, _S.c.source == DEMO_SOURCE)
    conn.execute(delete(_R).where(_R.c.team_id == team_id, _R.c.shoutout_id.in_(demo_shoutouts)))
    shoutouts = conn.execute(
        delete(_S).where(_S.c.team_id == team_id, _S.c.source == DEMO_SOURCE)
    ).rowcount
    return int(insights), int(shoutouts)


def store_demo_feedback(
    engine: Engine,
    *,
    team_id: str,
    insights: Sequence[DemoInsight],
    shoutouts: Sequence[DemoShoutout],
    replace: bool = False,
) -> FeedbackResult:
    """Store the demo's insights and shout-outs once per team, in one transaction.

    When the team already has demo rows nothing is added, unless `replace`, which
    first deletes the team's demo rows (and only those).
    """
    with engine.begin() as conn:
        deleted = (0, 0)
        if has_demo_feedback(conn, team_id=team_id):
            if not replace:
                return FeedbackResult(0, 0, 0, 0, skipped=True)
            deleted = _delete_demo(conn, team_id=team_id)
        if insights:
            conn.execute(
                insert(_I),
                [
                    {
                        "team_id": team_id,
                        "reporter": i.reporter,
                        "text": i.text,
                        "customer": i.customer,
                        "segment": i.segment,
                        "touchpoint": i.touchpoint,
                        "source": DEMO_SOURCE,
                        "category": i.category,
                        "sentiment": i.sentiment,
                        "priority": i.priority,
                        "status": i.status,
                        "created_at": i.created_at,
                        "updated_at": i.created_at,
                    }
                    for i in insights
                ],
            )
        for s in shoutouts:
            # One statement each: every shout-out's id is needed for its receivers.
            new_id = conn.execute(
                insert(_S)
                .values(
                    team_id=team_id,
                    giver=s.giver,
                    text=s.text,
                    promise=s.promise,
                    source=DEMO_SOURCE,
                    seconds=0,
                    created_at=s.created_at,
                )
                .returning(_S.c.id)
            ).scalar_one()
            conn.execute(
                insert(_R),
                [{"shoutout_id": new_id, "user_id": r, "team_id": team_id} for r in s.receivers],
            )
        return FeedbackResult(len(insights), len(shoutouts), *deleted, skipped=False)


# --------------------------------------------------------------------------- demo alerts


@dataclass(frozen=True)
class SettledAlerts:
    resolved: int  # history: followed up and closed in the past
    open: int  # kept open (posted when a channel was given)


def settle_demo_alerts(
    engine: Engine,
    *,
    team_id: str,
    now: datetime,
    keep_open: int = 4,
    channel: str | None = None,
    dip: tuple[date, date] | None = None,
) -> SettledAlerts:
    """Turn the demo's untouched detractor alerts into a history that happened.

    Importing a year of answers raises an open alert for every detractor, never posted
    and all due at once: no team works like that. All but the `keep_open` newest are
    resolved with follow-up times drawn by `core.demo.alert_history`; the newest stay
    open as if just raised, and are posted to `channel` when one is given. `dip`: the
    carrier weeks (local days), when follow-up was slower. Alerts anyone has touched
    are left alone, so a second run changes nothing.
    """
    policy = alert_store.load_config(engine, team_id=team_id).policy
    with engine.begin() as conn:
        rows = conn.execute(
            select(_AL.c.id, _AL.c.response_id, _RS.c.responded_at, _RS.c.local_day)
            .join(_RS, _RS.c.id == _AL.c.response_id)
            .where(
                _AL.c.team_id == team_id,
                _RS.c.source == DEMO_SOURCE,
                _AL.c.status == OPEN,
                _AL.c.first_response_at.is_(None),
                _AL.c.ts.is_(None),
            )
            .order_by(_RS.c.responded_at, _AL.c.id)
        ).all()
        if len(rows) <= keep_open:
            # Nothing left to make history of (a second run finds only the open ones).
            return SettledAlerts(0, 0)
        keep = rows[-keep_open:] if keep_open > 0 else []
        history = rows[: len(rows) - len(keep)]
        for row in history:
            in_dip = bool(dip and dip[0] <= row.local_day <= dip[1])
            story = alert_history(int(row.response_id), row.responded_at, in_dip=in_dip)
            created = story.created_at
            # The newest history is a few days old: what would end after now ended by now.
            resolved = min(story.resolved_at, now - timedelta(minutes=5))
            first = min(story.first_response_at, resolved - timedelta(minutes=1))
            conn.execute(
                update(_AL)
                .where(_AL.c.id == row.id)
                .values(
                    status=RESOLVED,
                    posted=True,
                    channel=channel,
                    group_key=None,
                    created_at=created,
                    due_at=policy.due(created),
                    first_response_at=max(first, created),
                    resolved_at=max(resolved, created),
                    resolved_by=story.owner,
                    owner=story.owner,
                    outcome=story.outcome,
                )
            )
        # What an import queued for the alerts now in the past must not be posted.
        queued = [f"alert:{row.id}:post" for row in history]
        for start in range(0, len(queued), 500):
            conn.execute(
                delete(_O).where(
                    _O.c.team_id == team_id,
                    _O.c.status == "pending",
                    _O.c.key.in_(queued[start : start + 500]),
                )
            )
        conn.execute(
            delete(_O).where(
                _O.c.team_id == team_id, _O.c.status == "pending", _O.c.key.like("alertstorm:%")
            )
        )
        for index, row in enumerate(reversed(keep)):
            # Raised a little while ago, one after the other: due within the target.
            created = now - timedelta(minutes=25 * (index + 1))
            conn.execute(
                update(_AL)
                .where(_AL.c.id == row.id)
                .values(
                    posted=channel is not None,
                    channel=channel,
                    group_key=None,
                    created_at=created,
                    due_at=policy.due(created),
                )
            )
        if channel is not None:
            for row in keep:
                alert_store.queue_post(conn, team_id=team_id, alert_id=int(row.id), now=now)
    return SettledAlerts(len(history), len(keep))
