"""Keeping the demo's insights and shout-outs (answers and customers use the import path).

Demo rows are marked with `source = 'demo'`, so they can be found, skipped on a
second run and deleted without touching anything people recorded themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.engine import Connection, Engine

from core.demo import DemoInsight, DemoShoutout
from storage.models import Insight, InsightVote, Shoutout, ShoutoutReceiver

DEMO_SOURCE = "demo"

_I = Insight.__table__  # type: ignore[attr-defined]
_V = InsightVote.__table__  # type: ignore[attr-defined]
_S = Shoutout.__table__  # type: ignore[attr-defined]
_R = ShoutoutReceiver.__table__  # type: ignore[attr-defined]


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
