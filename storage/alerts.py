"""Detractor alerts: raised with the answers that cause them, claimed, noted, resolved.

Every change of an alert is one transaction that also queues, in the outbox, the
Slack calls that show it (the message itself, its update, a note in its thread).
Those calls are queued as `render:alert` with a small payload naming the alert;
`bot.handlers.alerts.posting` turns them into Block Kit from the alert's state when they are sent,
so an update always shows the latest truth, whatever order the sends happen in.

Transitions are conditional updates (`... WHERE status = 'open'`), so a double
click or a retried request changes nothing the second time, on any number of
instances at once.

Outbox keys (unique per workspace, so each is sent once):
    alert:{id}:post                    the alert message
    alert:{id}:update:{event}          chat.update after claim / note:{n} / resolve / escalate
    alert:{id}:note:{note_id}          a note, in the alert's thread
    alert:{id}:remind:{i}              the i-th reminder
    alert:{id}:escalate                the escalation
    alertstorm:{batch_id}:{channel}    the summary whose thread holds a burst of alerts
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    and_,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from core import alerts as rules
from core import sla
from core.workspace_settings import WorkspaceSettings
from storage import outbox, settings_store
from storage.db import reading, writing
from storage.models import Alert, AlertNote, Response
from storage.newest import team_match
from storage.types import UTCDateTime

_A = Alert.__table__  # type: ignore[attr-defined]
_N = AlertNote.__table__  # type: ignore[attr-defined]
_R = Response.__table__  # type: ignore[attr-defined]

RENDER_METHOD: Final = "render:alert"
EARLIER_ANSWERS: Final = 3


# --------------------------------------------------------------------------- configuration


def load_config(
    bind: Engine | Connection, *, team_id: str, settings: WorkspaceSettings | None = None
) -> rules.AlertConfig:
    """The team's alert settings. `settings`: the team's settings already read
    (storage.settings_store.load)."""
    if settings is None:
        settings = settings_store.load(bind, team_id=team_id)
    return rules.config_from(settings)


def _detractor(thresholds: Mapping[str, int]) -> ColumnElement[bool]:
    return or_(
        *(and_(_R.c.metric == metric, _R.c.score <= limit) for metric, limit in thresholds.items())
    )


def _dialect_insert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


# --------------------------------------------------------------------------- raising


def raise_for_batch(
    conn: Connection,
    *,
    team_id: str,
    batch_id: str,
    now: datetime,
    config: rules.AlertConfig | None = None,
    after_id: int | None = None,
) -> int:
    """Create one alert per detractor answer of the batch and queue their messages.

    Runs inside the transaction that inserted the batch. Answers older than
    `history_days` get an alert with posted=False (kept for the record, nobody
    asked to act). A channel receiving more than `storm_size` alerts from the
    batch gets one summary message, with the alerts in its thread. Returns the
    number of alerts created. `after_id`, when given, is an id every answer of the
    batch is above (the largest id before the insert): the batch is then read from
    the newest rows rather than searched for among all the team's answers.
    """
    cfg = config or load_config(conn, team_id=team_id)
    due = cfg.policy.due(now)
    cutoff = now - timedelta(days=cfg.history_days)
    if after_id is None:
        team = _R.c.team_id == team_id
    else:
        team = and_(team_match(_R.c.team_id, team_id, conn.dialect.name), _R.c.id > after_id)
    in_batch = and_(team, _R.c.batch_id == batch_id, _detractor(cfg.thresholds))
    insert = _dialect_insert(conn)

    # History: one set-based statement, however many answers an old import brings.
    history = select(
        _R.c.team_id,
        _R.c.id,
        literal(rules.OPEN),
        literal(False),
        literal(due, UTCDateTime),
        literal(0),
        literal(now, UTCDateTime),
    ).where(in_batch, _R.c.responded_at < cutoff)
    cols = ["team_id", "response_id", "status", "posted", "due_at", "reminders_sent", "created_at"]
    # No RETURNING: an old import may bring a million of these, and only the count matters.
    stored = conn.execute(
        insert(_A)
        .from_select(cols, history)
        .on_conflict_do_nothing(index_elements=["response_id"]),
        execution_options={"preserve_rowcount": True},
    ).rowcount
    historic = max(stored or 0, 0)

    recent = conn.execute(
        select(_R.c.id, _R.c.metric, _R.c.segment, _R.c.touchpoint)
        .where(in_batch, _R.c.responded_at >= cutoff)
        .order_by(_R.c.id)
    ).all()
    if not recent:
        return historic
    channels = {
        row.id: cfg.route(segment=row.segment, touchpoint=row.touchpoint, metric=row.metric)
        for row in recent
    }
    groups = rules.storm_groups(channels.values(), batch_id=batch_id, storm_size=cfg.storm_size)
    rows = [
        {
            "team_id": team_id,
            "response_id": response_id,
            "channel": channel,
            "status": rules.OPEN,
            # Without any channel configured there is nowhere to ask for action.
            "posted": channel is not None,
            "due_at": due,
            "reminders_sent": 0,
            "created_at": now,
            "group_key": groups.get(channel) if channel else None,
        }
        for response_id, channel in channels.items()
    ]
    inserted = conn.execute(
        insert(_A)
        .on_conflict_do_nothing(index_elements=["response_id"])
        .returning(_A.c.id, _A.c.channel, _A.c.group_key, _A.c.posted),
        rows,
    ).all()
    by_group: dict[str, list[int]] = defaultdict(list)
    for row in inserted:
        if row.group_key:
            by_group[row.group_key].append(row.id)
    # Summaries first: the dispatcher sends in queue order, so threads have their parent.
    for key, ids in by_group.items():
        channel = rules.storm_channel(key)
        outbox.enqueue(
            conn,
            team_id=team_id,
            key=key,
            method=RENDER_METHOD,
            payload={"action": "storm", "group_key": key, "channel": channel, "count": len(ids)},
            not_before=now,
        )
    for row in sorted(inserted, key=lambda r: r.id):
        if row.posted:
            _queue(conn, team_id, row.id, "post", now)
    return historic + len(inserted)


def _queue(
    conn: Connection,
    team_id: str,
    alert_id: int,
    what: str,
    now: datetime,
    **extra: Any,
) -> bool:
    """Queue a render:alert call under `alert:{id}:{what}`."""
    action = what.split(":", 1)[0]
    return outbox.enqueue(
        conn,
        team_id=team_id,
        key=f"alert:{alert_id}:{what}",
        method=RENDER_METHOD,
        payload={"action": action, "alert_id": alert_id, **extra},
        not_before=now,
    )


def queue_post(conn: Connection, *, team_id: str, alert_id: int, now: datetime) -> bool:
    """Queue the message of an alert raised outside `raise_for_batch` (the demo's newest)."""
    return _queue(conn, team_id, alert_id, "post", now)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class EarlierAnswer:
    metric: str
    score: int
    responded_at: datetime
    comment: str | None


@dataclass(frozen=True)
class AlertCard:
    """Everything an alert message shows."""

    id: int
    team_id: str
    status: str
    owner: str | None
    channel: str | None
    ts: str | None
    posted: bool
    group_key: str | None
    due_at: datetime
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    outcome: str | None
    view_changed: bool | None
    reminders_sent: int
    escalated_at: datetime | None
    metric: str
    score: int
    comment: str | None
    customer_id: str | None
    segment: str | None
    touchpoint: str | None
    employee: str | None
    responded_at: datetime
    notes: int = 0
    earlier: tuple[EarlierAnswer, ...] = ()

    def overdue(self, now: datetime) -> bool:
        return rules.is_overdue(self.status, self.due_at, now)


_CARD_COLUMNS = (
    _A.c.id,
    _A.c.team_id,
    _A.c.status,
    _A.c.owner,
    _A.c.channel,
    _A.c.ts,
    _A.c.posted,
    _A.c.group_key,
    _A.c.due_at,
    _A.c.created_at,
    _A.c.first_response_at,
    _A.c.resolved_at,
    _A.c.resolved_by,
    _A.c.outcome,
    _A.c.view_changed,
    _A.c.reminders_sent,
    _A.c.escalated_at,
    _R.c.metric,
    _R.c.score,
    _R.c.comment,
    _R.c.customer_id,
    _R.c.segment,
    _R.c.touchpoint,
    _R.c.employee,
    _R.c.responded_at,
)


def _cards_query(team_id: str) -> Any:
    return (
        select(*_CARD_COLUMNS)
        .join(_R, and_(_R.c.id == _A.c.response_id, _R.c.team_id == team_id))
        .where(_A.c.team_id == team_id)
    )


def get_card(bind: Engine | Connection, *, team_id: str, alert_id: int) -> AlertCard | None:
    """The alert with its answer, the customer's earlier answers and the number of notes."""
    if isinstance(bind, Engine):
        with reading(bind) as conn:
            return get_card(conn, team_id=team_id, alert_id=alert_id)
    # The notes counted in the same statement: one round trip less for every render.
    notes_of = (
        select(func.count())
        .where(_N.c.team_id == team_id, _N.c.alert_id == alert_id)
        .scalar_subquery()
        .label("notes")
    )
    row = bind.execute(
        _cards_query(team_id).add_columns(notes_of).where(_A.c.id == alert_id)
    ).first()
    if row is None:
        return None
    fields = row._asdict()
    notes = fields.pop("notes")
    earlier: tuple[EarlierAnswer, ...] = ()
    if row.customer_id:
        response_id = select(_A.c.response_id).where(_A.c.id == alert_id).scalar_subquery()
        found = bind.execute(
            select(_R.c.metric, _R.c.score, _R.c.responded_at, _R.c.comment)
            .where(
                _R.c.team_id == team_id,
                _R.c.customer_id == row.customer_id,
                _R.c.id != response_id,
                _R.c.responded_at <= row.responded_at,
            )
            .order_by(_R.c.responded_at.desc(), _R.c.id.desc())
            .limit(EARLIER_ANSWERS)
        ).all()
        earlier = tuple(EarlierAnswer(r.metric, r.score, r.responded_at, r.comment) for r in found)
    return AlertCard(**fields, notes=int(notes), earlier=earlier)


def get_note(bind: Engine, *, team_id: str, note_id: int) -> tuple[int, str, str] | None:
    """(alert id, author, text) of a note."""
    with reading(bind) as conn:
        row = conn.execute(
            select(_N.c.alert_id, _N.c.user_id, _N.c.text).where(
                _N.c.team_id == team_id, _N.c.id == note_id
            )
        ).first()
    return (int(row[0]), str(row[1]), str(row[2])) if row else None


def list_alerts(
    engine: Engine,
    *,
    team_id: str,
    kind: rules.ListKind,
    user_id: str,
    now: datetime,
    limit: int = 15,
) -> tuple[list[AlertCard], int]:
    """Unresolved posted alerts for `/cx alerts`: all (`open`), the user's (`mine`), or
    the overdue ones; the most urgent first. Returns (up to `limit` cards, how many in all)."""
    rules.check_list_kind(kind)
    where = [_A.c.team_id == team_id, _A.c.posted.is_(True), _A.c.status != rules.RESOLVED]
    if kind == "mine":
        where.append(_A.c.owner == user_id)
    elif kind == "overdue":
        where.append(_A.c.due_at <= now)
    with reading(engine) as conn:
        total = conn.execute(select(func.count()).select_from(_A).where(*where)).scalar_one()
        rows = conn.execute(
            _cards_query(team_id).where(*where).order_by(_A.c.due_at, _A.c.id).limit(limit)
        ).all()
    return [AlertCard(**r._asdict()) for r in rows], int(total)


def post_location(engine: Engine, *, team_id: str, alert_id: int) -> tuple[str, str] | None:
    """(channel, ts) of the alert message once Slack has it."""
    with reading(engine) as conn:
        row = conn.execute(
            select(_A.c.channel, _A.c.ts).where(_A.c.team_id == team_id, _A.c.id == alert_id)
        ).first()
    if row is not None and row.channel and row.ts:
        return str(row.channel), str(row.ts)
    # The after-send hook may not have run (a crash right after the send): the outbox knows.
    sent = outbox.sent_result(engine, team_id=team_id, key=f"alert:{alert_id}:post")
    if sent and sent[0] and sent[1]:
        return str(sent[0]), str(sent[1])
    return None


def record_posted(
    bind: Engine | Connection, *, team_id: str, alert_id: int, channel: str | None, ts: str | None
) -> None:
    """Remember where the alert message landed (for updates, threads and links)."""
    if not ts:
        return
    with writing(bind) as conn:
        conn.execute(
            update(_A)
            .where(_A.c.team_id == team_id, _A.c.id == alert_id)
            .values(channel=channel, ts=ts)
        )


def group_alerts(engine: Engine, *, team_id: str, group_key: str) -> list[AlertCard]:
    with reading(engine) as conn:
        rows = conn.execute(
            _cards_query(team_id).where(_A.c.group_key == group_key).order_by(_A.c.id)
        ).all()
    return [AlertCard(**r._asdict()) for r in rows]


# --------------------------------------------------------------------------- transitions


@dataclass(frozen=True)
class Change:
    """What a click or a submission did: `changed` False when it was a repeat or refused."""

    changed: bool
    card: AlertCard | None


def claim(engine: Engine, *, team_id: str, alert_id: int, user_id: str, now: datetime) -> Change:
    """`user_id` takes the alert: only an open alert can be claimed, once."""
    with engine.begin() as conn:
        done = conn.execute(
            update(_A)
            .where(_A.c.team_id == team_id, _A.c.id == alert_id, _A.c.status.in_(rules.CLAIMABLE))
            .values(
                status=rules.CLAIMED,
                owner=user_id,
                first_response_at=func.coalesce(_A.c.first_response_at, now),
            )
            .returning(_A.c.id)
        ).first()
        if done is not None:
            _queue(conn, team_id, alert_id, "update:claim", now)
        return Change(done is not None, get_card(conn, team_id=team_id, alert_id=alert_id))


def add_note(
    engine: Engine,
    *,
    team_id: str,
    alert_id: int,
    user_id: str,
    text: str,
    now: datetime,
    request_key: str | None = None,
) -> Change:
    """Add a note (posted in the alert's thread); a repeated `request_key` adds nothing."""
    text = rules.note_text(text)
    if not text:
        raise ValueError("a note needs some text")
    with engine.begin() as conn:
        return _add_note(conn, team_id, alert_id, user_id, text, now, request_key)


def _add_note(
    conn: Connection,
    team_id: str,
    alert_id: int,
    user_id: str,
    text: str,
    now: datetime,
    request_key: str | None,
) -> Change:
    exists = conn.execute(
        select(_A.c.id).where(_A.c.team_id == team_id, _A.c.id == alert_id)
    ).first()
    if exists is None:
        return Change(False, None)
    note = conn.execute(
        _dialect_insert(conn)(_N)
        .values(
            team_id=team_id,
            alert_id=alert_id,
            user_id=user_id,
            text=text,
            request_key=request_key,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["team_id", "request_key"])
        .returning(_N.c.id)
    ).first()
    if note is not None:
        conn.execute(
            update(_A)
            .where(_A.c.team_id == team_id, _A.c.id == alert_id)
            .values(first_response_at=func.coalesce(_A.c.first_response_at, now))
        )
        _queue(conn, team_id, alert_id, f"note:{note.id}", now, note_id=note.id)
        _queue(conn, team_id, alert_id, f"update:note:{note.id}", now)
    return Change(note is not None, get_card(conn, team_id=team_id, alert_id=alert_id))


def resolve(
    engine: Engine,
    *,
    team_id: str,
    alert_id: int,
    user_id: str,
    outcome: str,
    view_changed: bool | None,
    now: datetime,
    note: str | None = None,
    request_key: str | None = None,
) -> Change:
    """Close the loop: once only; whoever resolves an unclaimed alert becomes its owner."""
    rules.check_outcome(outcome)
    with engine.begin() as conn:
        done = conn.execute(
            update(_A)
            .where(_A.c.team_id == team_id, _A.c.id == alert_id, _A.c.status != rules.RESOLVED)
            .values(
                status=rules.RESOLVED,
                resolved_at=now,
                resolved_by=user_id,
                outcome=outcome,
                view_changed=view_changed,
                owner=func.coalesce(_A.c.owner, user_id),
                first_response_at=func.coalesce(_A.c.first_response_at, now),
            )
            .returning(_A.c.id)
        ).first()
        if done is None:
            return Change(False, get_card(conn, team_id=team_id, alert_id=alert_id))
        kept = rules.note_text(note or "")
        if kept:
            key = f"{request_key}:resolve" if request_key else None
            _add_note(conn, team_id, alert_id, user_id, kept, now, key)
        _queue(conn, team_id, alert_id, "update:resolve", now)
        return Change(True, get_card(conn, team_id=team_id, alert_id=alert_id))


# --------------------------------------------------------------------------- the clock


@dataclass(frozen=True)
class Running:
    """An unresolved, posted alert the clock still has something to say about."""

    id: int
    team_id: str
    created_at: datetime
    due_at: datetime
    reminders_sent: int
    owner: str | None


def running(engine: Engine, *, limit: int = 5000) -> list[Running]:
    """Alerts of every workspace that are posted, unresolved and not yet escalated."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(
                _A.c.id,
                _A.c.team_id,
                _A.c.created_at,
                _A.c.due_at,
                _A.c.reminders_sent,
                _A.c.owner,
            )
            .where(
                _A.c.posted.is_(True), _A.c.status != rules.RESOLVED, _A.c.escalated_at.is_(None)
            )
            .order_by(_A.c.due_at, _A.c.id)
            .limit(limit)
        ).all()
    return [Running(**r._asdict()) for r in rows]


def record_clock(
    engine: Engine,
    *,
    team_id: str,
    alert_id: int,
    action: sla.ClockAction,
    now: datetime,
    escalation_channel: str | None,
) -> list[str]:
    """Queue the reminder or escalation `action` asks for; returns the outbox keys queued.

    Conditional on the alert still being unresolved and the step not yet taken, so
    two sweeps running at once (or one run twice) queue each step once.
    """
    queued: list[str] = []
    with engine.begin() as conn:
        base = [_A.c.team_id == team_id, _A.c.id == alert_id, _A.c.status != rules.RESOLVED]
        if action.escalate:
            done = conn.execute(
                update(_A)
                .where(*base, _A.c.escalated_at.is_(None))
                .values(escalated_at=now, reminders_sent=action.reminders_done)
                .returning(_A.c.id)
            ).first()
            if done is not None:
                if _queue(conn, team_id, alert_id, "escalate", now, channel=escalation_channel):
                    queued.append(f"alert:{alert_id}:escalate")
                _queue(conn, team_id, alert_id, "update:escalate", now)
        elif action.remind is not None:
            done = conn.execute(
                update(_A)
                .where(*base, _A.c.reminders_sent < action.reminders_done)
                .values(reminders_sent=action.reminders_done)
                .returning(_A.c.id)
            ).first()
            if done is not None:
                what = f"remind:{action.remind}"
                if _queue(conn, team_id, alert_id, what, now, index=action.remind):
                    queued.append(f"alert:{alert_id}:{what}")
    return queued
