"""Keeping customer insights: recorded at once, analysed later, voted on, moved through
their statuses, listed and searched.

An insight is stored the moment someone records it, before any analysis, so nothing
typed is lost to a slow or failing model. The analysis is written in one transaction
that also queues the insight's channel post in the outbox; every later change (a +1, a
status) queues an update of that post, and a status change a DM to the reporter.
Those calls are queued as `render:insight` with a small payload naming the insight;
`bot.handlers.insights.posting` builds the message from the insight's state when it is sent.

Changes are conditional updates (`... WHERE status <> 'done'`, `... WHERE category IS
NULL`) and votes have a primary key per person, so a double click or a repeated
request changes nothing the second time, on any number of instances.

Outbox keys (unique per workspace):
    insight:{id}:post              the message in the insights channel
    insight:{id}:update:{n}        the n-th chat.update of that message
    insight:{id}:dm:{n}            the n-th status DM to the reporter
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from core.text import search_words
from storage import outbox, settings_store
from storage.db import reading, writing
from storage.models import Insight, InsightVote, OutboxMessage

_I = Insight.__table__  # type: ignore[attr-defined]
_V = InsightVote.__table__  # type: ignore[attr-defined]
_O = OutboxMessage.__table__  # type: ignore[attr-defined]

NEW, PLANNED, DONE, NOT_RELEVANT = "new", "planned", "done", "not_relevant"
STATUSES = (NEW, PLANNED, DONE, NOT_RELEVANT)
OPEN_STATUSES = (NEW, PLANNED)
SOURCES = ("command", "modal", "shortcut")
RENDER_METHOD = "render:insight"
KEY_PREFIX = "insight:"
# How many earlier open insights a new one is compared with for near-duplicates: enough
# for months of a busy team, few enough that the comparison stays well under a second.
SIMILAR_WINDOW = 500
FIELD_MAX = 200  # customer, segment, touchpoint (the columns' length)

ListKind = Literal["open", "mine", "category"]


def post_key(insight_id: int) -> str:
    return f"{KEY_PREFIX}{insight_id}:post"


def _insert_for(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class InsightConfig:
    channel: str | None  # insights.channel; None: insights are kept but not shared
    categories: tuple[str, ...]
    locale: str | None  # the workspace's language setting (None: the process default)
    timezone: str | None


def load_config(bind: Engine | Connection, *, team_id: str) -> InsightConfig:
    settings = settings_store.load(bind, team_id=team_id)
    return InsightConfig(
        channel=settings.insights_channel,
        categories=settings.insights_categories,
        locale=settings.locale,
        timezone=settings.timezone,
    )


# --------------------------------------------------------------------------- recording


@dataclass(frozen=True)
class NewInsight:
    reporter: str
    text: str
    customer: str | None = None
    segment: str | None = None
    touchpoint: str | None = None
    source: str = "command"  # command, modal or shortcut
    permalink: str | None = None  # the saved message (shortcut)
    message_author: str | None = None  # who wrote the saved message (shortcut)
    # The same request delivered twice (a form's view id, a message saved again by the
    # same person) records one insight.
    request_key: str | None = None


@dataclass(frozen=True)
class Recorded:
    insight_id: int
    created: bool  # False: the request had been recorded before


def _field(value: str | None) -> str | None:
    value = " ".join(value.split()) if value else None
    return value[:FIELD_MAX] if value else None


def record(engine: Engine, *, team_id: str, insight: NewInsight, now: datetime) -> Recorded:
    """Store an insight as typed (whole, however long). ValueError for an empty text."""
    text = insight.text.strip()
    if not text:
        raise ValueError("an insight needs some text")
    if insight.source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}")
    values = {
        "team_id": team_id,
        "reporter": insight.reporter,
        "text": text,
        "customer": _field(insight.customer),
        "segment": _field(insight.segment),
        "touchpoint": _field(insight.touchpoint),
        "source": insight.source,
        "permalink": (insight.permalink or None) and insight.permalink[:500],
        "message_author": insight.message_author,
        "request_key": insight.request_key,
        "status": NEW,
        "created_at": now,
        "updated_at": now,
    }
    with engine.begin() as conn:
        row = conn.execute(
            _insert_for(conn)(_I)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["team_id", "request_key"])
            .returning(_I.c.id)
        ).first()
        if row is not None:
            return Recorded(int(row[0]), True)
        existing = conn.execute(
            select(_I.c.id).where(_I.c.team_id == team_id, _I.c.request_key == insight.request_key)
        ).scalar_one()
        return Recorded(int(existing), False)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class InsightCard:
    """An insight with everything its message, DM or list line shows."""

    id: int
    team_id: str
    reporter: str
    text: str
    customer: str | None
    segment: str | None
    touchpoint: str | None
    source: str
    permalink: str | None
    message_author: str | None
    category: str | None
    sentiment: str | None
    impact: int | None
    priority: float | None
    duplicate_of: int | None
    status: str
    status_by: str | None
    channel: str | None
    ts: str | None
    created_at: datetime
    updated_at: datetime
    votes: int = 0

    @property
    def analysed(self) -> bool:
        return self.category is not None


_CARD_COLUMNS = (
    _I.c.id,
    _I.c.team_id,
    _I.c.reporter,
    _I.c.text,
    _I.c.customer,
    _I.c.segment,
    _I.c.touchpoint,
    _I.c.source,
    _I.c.permalink,
    _I.c.message_author,
    _I.c.category,
    _I.c.sentiment,
    _I.c.impact,
    _I.c.priority,
    _I.c.duplicate_of,
    _I.c.status,
    _I.c.status_by,
    _I.c.channel,
    _I.c.ts,
    _I.c.created_at,
    _I.c.updated_at,
)


def _votes_column(team_id: str) -> Any:
    return (
        select(func.count())
        .where(_V.c.team_id == team_id, _V.c.insight_id == _I.c.id)
        .correlate(_I)
        .scalar_subquery()
        .label("votes")
    )


def _cards(team_id: str) -> Any:
    return select(*_CARD_COLUMNS, _votes_column(team_id)).where(_I.c.team_id == team_id)


def _card(row: Any) -> InsightCard:
    data = row._asdict()
    data["votes"] = int(data.get("votes") or 0)
    return InsightCard(**data)


def get_card(bind: Engine | Connection, *, team_id: str, insight_id: int) -> InsightCard | None:
    if isinstance(bind, Engine):
        with reading(bind) as conn:
            return get_card(conn, team_id=team_id, insight_id=insight_id)
    row = bind.execute(_cards(team_id).where(_I.c.id == insight_id)).first()
    return _card(row) if row is not None else None


def analysis_window(
    engine: Engine, *, team_id: str, insight_id: int, limit: int = SIMILAR_WINDOW
) -> list[tuple[int, str]]:
    """(id, text) of the open insights recorded before `insight_id`, newest first: what a
    new insight is compared with for near-duplicates."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(_I.c.id, _I.c.text)
            .where(
                _I.c.team_id == team_id,
                _I.c.id < insight_id,
                _I.c.status.in_(OPEN_STATUSES),
            )
            .order_by(_I.c.id.desc())
            .limit(limit)
        ).all()
    return [(int(r.id), str(r.text)) for r in rows]


def pending_analysis(engine: Engine, *, before: datetime, limit: int = 50) -> list[tuple[str, int]]:
    """(team id, insight id) of insights recorded before `before` and never analysed: the
    ones whose after-ack analysis was cut short (a restart, a crash)."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(_I.c.team_id, _I.c.id)
            .where(_I.c.category.is_(None), _I.c.created_at <= before)
            .order_by(_I.c.id)
            .limit(limit)
        ).all()
    return [(str(r.team_id), int(r.id)) for r in rows]


# --------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class Analysed:
    """What `apply_analysis` did: `changed` False when the insight was analysed before."""

    changed: bool
    duplicate_of: int | None = None
    queued_post: bool = False


def apply_analysis(
    engine: Engine,
    *,
    team_id: str,
    insight_id: int,
    category: str,
    sentiment: str,
    impact: int,
    priority: float,
    similar_ids: Sequence[int],
    now: datetime,
) -> Analysed:
    """Write the analysis and queue the channel post, in one transaction; only once.

    The insight is linked to the first insight of the best match's group (so a group
    points at one original), and that original's priority rises by its own impact: one
    more customer says the same thing.
    """
    channel = load_config(engine, team_id=team_id).channel
    with engine.begin() as conn:
        duplicate_of: int | None = None
        if similar_ids:
            best = conn.execute(
                select(_I.c.id, _I.c.duplicate_of).where(
                    _I.c.team_id == team_id, _I.c.id == int(similar_ids[0])
                )
            ).first()
            if best is not None:
                duplicate_of = int(best.duplicate_of or best.id)
        done = conn.execute(
            update(_I)
            .where(_I.c.team_id == team_id, _I.c.id == insight_id, _I.c.category.is_(None))
            .values(
                category=category[:40],
                sentiment=sentiment,
                impact=impact,
                priority=priority,
                duplicate_of=duplicate_of if duplicate_of != insight_id else None,
                updated_at=now,
            )
            .returning(_I.c.id)
        ).first()
        if done is None:
            return Analysed(False)
        queued = False
        if channel:
            queued = outbox.enqueue(
                conn,
                team_id=team_id,
                key=post_key(insight_id),
                method=RENDER_METHOD,
                payload={"action": "post", "insight_id": insight_id, "channel": channel},
                not_before=now,
            )
        # The original's row last: every insight saying the same thing updates it, and
        # each holds its lock until it commits.
        if duplicate_of is not None and duplicate_of != insight_id:
            conn.execute(
                update(_I)
                .where(_I.c.team_id == team_id, _I.c.id == duplicate_of)
                .values(priority=func.coalesce(_I.c.priority, 0) + func.coalesce(_I.c.impact, 1))
            )
            queue_card_update(conn, team_id, duplicate_of, now)
        return Analysed(True, duplicate_of, queued)


# --------------------------------------------------------------------------- the message


def _has_post(conn: Connection, team_id: str, insight_id: int) -> bool:
    """Whether the insight has a channel message, sent or on its way."""
    found = conn.execute(
        select(_O.c.id).where(
            _O.c.team_id == team_id,
            _O.c.key == post_key(insight_id),
            _O.c.status != outbox.FAILED,
        )
    ).first()
    return found is not None


def _next_key(conn: Connection, team_id: str, insight_id: int, what: str) -> str:
    # Changes of one insight are serialised by the conditional update on its row, which
    # comes first in the transaction, so counting the earlier ones gives a fresh number.
    prefix = f"{KEY_PREFIX}{insight_id}:{what}:"
    count = conn.execute(
        select(func.count()).where(_O.c.team_id == team_id, _O.c.key.startswith(prefix))
    ).scalar_one()
    return f"{prefix}{int(count) + 1}"


def queue_card_update(conn: Connection, team_id: str, insight_id: int, now: datetime) -> bool:
    """Queue a chat.update of the insight's message, if it has one."""
    if not _has_post(conn, team_id, insight_id):
        return False
    return outbox.enqueue(
        conn,
        team_id=team_id,
        key=_next_key(conn, team_id, insight_id, "update"),
        method=RENDER_METHOD,
        payload={"action": "update", "insight_id": insight_id},
        not_before=now,
    )


def record_post(
    bind: Engine | Connection,
    *,
    team_id: str,
    insight_id: int,
    channel: str | None,
    ts: str | None,
) -> None:
    """Remember where the insight's message landed (outbox after-send hook)."""
    if not ts:
        return
    with writing(bind) as conn:
        conn.execute(
            update(_I)
            .where(_I.c.team_id == team_id, _I.c.id == insight_id)
            .values(channel=channel, ts=ts)
        )


PostState = Literal["posted", "pending", "none"]


def post_location(
    engine: Engine, *, team_id: str, insight_id: int
) -> tuple[PostState, tuple[str, str] | None]:
    """Where the insight's message is: ("posted", (channel, ts)), ("pending", None) while
    it is still queued, ("none", None) when it never was or will be posted."""
    with reading(engine) as conn:
        row = conn.execute(
            select(_I.c.channel, _I.c.ts).where(_I.c.team_id == team_id, _I.c.id == insight_id)
        ).first()
    if row is not None and row.channel and row.ts:
        return "posted", (str(row.channel), str(row.ts))
    # The after-send hook may not have run (a crash right after the send): the outbox knows.
    key = post_key(insight_id)
    sent = outbox.sent_result(engine, team_id=team_id, key=key)
    if sent and sent[0] and sent[1]:
        return "posted", (str(sent[0]), str(sent[1]))
    status = outbox.statuses(engine, team_id=team_id, keys=[key]).get(key)
    if status in (outbox.PENDING, outbox.SENDING):
        return "pending", None
    return "none", None


# --------------------------------------------------------------------------- votes


VoteOutcome = Literal["added", "repeat", "own", "gone"]


@dataclass(frozen=True)
class Voted:
    outcome: VoteOutcome
    card: InsightCard | None

    @property
    def changed(self) -> bool:
        return self.outcome == "added"


def vote(engine: Engine, *, team_id: str, insight_id: int, user_id: str, now: datetime) -> Voted:
    """'+1, I heard this too': once per person; the reporter's own does not count.

    Each +1 is one more customer saying the same thing, so the priority rises by the
    insight's impact (priority = impact x how many say it).
    """
    with engine.begin() as conn:
        row = conn.execute(
            select(_I.c.reporter).where(_I.c.team_id == team_id, _I.c.id == insight_id)
        ).first()
        if row is None:
            return Voted("gone", None)
        if row.reporter == user_id:
            return Voted("own", get_card(conn, team_id=team_id, insight_id=insight_id))
        added = conn.execute(
            _insert_for(conn)(_V)
            .values(insight_id=insight_id, user_id=user_id, team_id=team_id, created_at=now)
            .on_conflict_do_nothing(index_elements=["insight_id", "user_id"])
            .returning(_V.c.insight_id)
        ).first()
        if added is None:
            return Voted("repeat", get_card(conn, team_id=team_id, insight_id=insight_id))
        conn.execute(
            update(_I)
            .where(_I.c.team_id == team_id, _I.c.id == insight_id)
            .values(
                priority=func.coalesce(_I.c.priority, 0) + func.coalesce(_I.c.impact, 1),
                updated_at=now,
            )
        )
        queue_card_update(conn, team_id, insight_id, now)
        return Voted("added", get_card(conn, team_id=team_id, insight_id=insight_id))


# --------------------------------------------------------------------------- status


@dataclass(frozen=True)
class StatusChange:
    changed: bool  # False: the insight already had this status (a double click) or is gone
    card: InsightCard | None
    previous: str | None = None


def set_status(
    engine: Engine,
    *,
    team_id: str,
    insight_id: int,
    status: str,
    user_id: str,
    now: datetime,
    reporter_locale: str | None = None,
) -> StatusChange:
    """Move the insight to `status`, update its message, and tell the reporter in a DM
    (in `reporter_locale`) unless they made the change themselves."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    with engine.begin() as conn:
        before = conn.execute(
            select(_I.c.status).where(_I.c.team_id == team_id, _I.c.id == insight_id)
        ).first()
        if before is None:
            return StatusChange(False, None)
        done = conn.execute(
            update(_I)
            .where(_I.c.team_id == team_id, _I.c.id == insight_id, _I.c.status != status)
            .values(status=status, status_by=user_id, updated_at=now)
            .returning(_I.c.reporter)
        ).first()
        card = get_card(conn, team_id=team_id, insight_id=insight_id)
        if done is None:
            return StatusChange(False, card)
        queue_card_update(conn, team_id, insight_id, now)
        if done.reporter != user_id:
            outbox.enqueue(
                conn,
                team_id=team_id,
                key=_next_key(conn, team_id, insight_id, "dm"),
                method=RENDER_METHOD,
                payload={
                    "action": "dm",
                    "insight_id": insight_id,
                    "status": status,
                    "by": user_id,
                    "locale": reporter_locale,
                },
                not_before=now,
            )
        return StatusChange(True, card, str(before.status))


# --------------------------------------------------------------------------- lists


def list_insights(
    engine: Engine,
    *,
    team_id: str,
    kind: ListKind,
    user_id: str = "",
    category: str | None = None,
    limit: int = 10,
    offset: int = 0,
) -> tuple[list[InsightCard], int]:
    """`open`: open insights, the highest priority first; `mine`: the user's own, newest
    first, whatever their status; `category`: the open insights of `category`, by priority.
    Returns (up to `limit` cards after the first `offset`, how many in all)."""
    where: list[Any] = [_I.c.team_id == team_id]
    if kind == "mine":
        where.append(_I.c.reporter == user_id)
        order = [_I.c.created_at.desc(), _I.c.id.desc()]
    elif kind in ("open", "category"):
        where.append(_I.c.status.in_(OPEN_STATUSES))
        if kind == "category":
            where.append(_I.c.category == (category or ""))
        order = [func.coalesce(_I.c.priority, 0).desc(), _I.c.id.desc()]
    else:
        raise ValueError(f"unknown list {kind!r}")
    return _page(engine, team_id, where, order, limit, offset)


def _page(
    engine: Engine,
    team_id: str,
    where: list[Any],
    order: list[Any],
    limit: int,
    offset: int = 0,
) -> tuple[list[InsightCard], int]:
    with reading(engine) as conn:
        total = conn.execute(select(func.count()).select_from(_I).where(*where)).scalar_one()
        query = _cards(team_id).where(*where).order_by(*order).limit(limit)
        rows = conn.execute(query.offset(max(offset, 0))).all()
    return [_card(r) for r in rows], int(total)


SEARCHED = (_I.c.text, _I.c.customer, _I.c.segment, _I.c.touchpoint)


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fold_sqlite(conn: Connection) -> None:
    # SQLite's lower() and LIKE fold ASCII letters only: "ØL" would not find "øl". Python's
    # lower() folds every script, as PostgreSQL's lower() does in a UTF-8 database.
    raw = conn.connection.driver_connection
    raw.create_function(  # type: ignore[union-attr]
        "cx_lower", 1, lambda v: v.lower() if isinstance(v, str) else v, deterministic=True
    )


def search(
    engine: Engine, *, team_id: str, words: Sequence[str], limit: int = 10
) -> tuple[list[InsightCard], int]:
    """Insights whose text, customer, segment or touchpoint contain every word (case does
    not matter, in any language), newest first; (up to `limit` cards, how many in all)."""
    terms = [w.lower() for w in words if w.strip()]
    if not terms:
        return [], 0
    with reading(engine) as conn:
        if conn.dialect.name == "sqlite":
            _fold_sqlite(conn)
            fold: Any = func.cx_lower
        else:
            fold = func.lower
        where: list[Any] = [_I.c.team_id == team_id]
        for term in terms:
            # Every word must be there, in any of the four languages.
            patterns = [_like_pattern(w) for w in search_words(term)]
            where.append(
                or_(*(fold(col).like(p, escape="\\") for col in SEARCHED for p in patterns))
            )
        total = conn.execute(select(func.count()).select_from(_I).where(and_(*where))).scalar_one()
        rows = conn.execute(
            _cards(team_id)
            .where(and_(*where))
            .order_by(_I.c.created_at.desc(), _I.c.id.desc())
            .limit(limit)
        ).all()
    return [_card(r) for r in rows], int(total)
