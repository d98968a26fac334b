"""Mail with the customer behind an alert: what was sent, what came back, opt-outs.

Every change is one transaction that also queues, in the outbox, what shows it:

    mailout:{alert_id}:{mail_id}          send:mail, the SMTP hand-over (bot.handlers.mail.posting)
    alert:{alert_id}:mail:{mail_id}       the thread post "X wrote to the customer"
    alert:{alert_id}:reply:{mail_id}      the customer's reply, in the thread
    alert:{alert_id}:replydm:{mail_id}    a DM telling the alert's owner
    alert:{alert_id}:rated:{mail_id}      the follow-up rating, in the thread
    alert:{alert_id}:update:...           the alert message, re-rendered

The `alert:` keys go with the alert when it is erased (storage.forget), Slack messages
included; `erase_alerts` here removes the mails, the mailbox and the `mailout:` rows.
The customer's address is personal data of the answer (`Response.customer_email`);
an outgoing mail keeps a copy of it until it is erased with the alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from core import mail as core_mail
from storage import outbox
from storage.db import reading
from storage.models import Alert, AlertMail, AlertMailbox, MailOptOut, OutboxMessage, Response

_A = Alert.__table__  # type: ignore[attr-defined]
_R = Response.__table__  # type: ignore[attr-defined]
_M = AlertMail.__table__  # type: ignore[attr-defined]
_B = AlertMailbox.__table__  # type: ignore[attr-defined]
_X = MailOptOut.__table__  # type: ignore[attr-defined]
_O = OutboxMessage.__table__  # type: ignore[attr-defined]

OUT, IN = "out", "in"
SEND_METHOD = "send:mail"
RENDER_METHOD = "render:mail"
SEND_PREFIX = "mailout:"
ALERT_RENDER = "render:alert"


def _insert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Contact:
    """What the reply form needs about an alert's customer (personal data: shown only to
    members who may act on the alert)."""

    alert_id: int
    email: str | None
    name: str | None
    comment: str | None
    language: str | None
    opted_out_at: datetime | None


@dataclass(frozen=True)
class Summary:
    """What the alert message shows of its mail thread (no address, no name)."""

    has_email: bool = False
    opted_out: bool = False
    sent: int = 0
    replies: int = 0
    rating: int | None = None


def contact(bind: Engine | Connection, *, team_id: str, alert_id: int) -> Contact | None:
    if isinstance(bind, Engine):
        with reading(bind) as conn:
            return contact(conn, team_id=team_id, alert_id=alert_id)
    # The answer by its id, found from the alert's: as a join, PostgreSQL's generic plan
    # without statistics yet (a new database, before autovacuum's first ANALYZE) read the
    # team's answers once per alert of the team: 4,004,000 rows at 2,000 alerts
    # (tests/storage/test_query_plans.py).
    answer_of_alert = (
        select(_A.c.response_id)
        .where(_A.c.id == alert_id, _A.c.team_id == team_id)
        .scalar_subquery()
    )
    row = bind.execute(
        select(
            _R.c.customer_email,
            _R.c.customer_name,
            _R.c.comment,
            _R.c.language,
        ).where(_R.c.id == answer_of_alert, _R.c.team_id == team_id)
    ).first()
    if row is None:
        return None
    opted = None
    if row.customer_email:
        opted = bind.execute(
            select(_X.c.created_at).where(
                _X.c.team_id == team_id,
                _X.c.address_hash == core_mail.address_hash(team_id, row.customer_email),
            )
        ).scalar_one_or_none()
    return Contact(
        alert_id, row.customer_email, row.customer_name, row.comment, row.language, opted
    )


def summary(bind: Engine | Connection, *, team_id: str, alert_id: int) -> Summary:
    if isinstance(bind, Engine):
        with reading(bind) as conn:
            return summary(conn, team_id=team_id, alert_id=alert_id)
    found = contact(bind, team_id=team_id, alert_id=alert_id)
    # Sent is what the mail server took: a mail still queued, or refused for good, is not.
    sent = and_(_M.c.direction == OUT, _M.c.accepted_at.is_not(None))
    counts = bind.execute(
        select(
            func.coalesce(func.sum(case((sent, 1), else_=0)), 0),
            func.coalesce(func.sum(case((_M.c.direction == IN, 1), else_=0)), 0),
        ).where(_M.c.team_id == team_id, _M.c.alert_id == alert_id)
    ).one()
    rating = bind.execute(
        select(_M.c.rating)
        .where(_M.c.team_id == team_id, _M.c.alert_id == alert_id, _M.c.rating.is_not(None))
        .order_by(_M.c.rated_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    return Summary(
        has_email=bool(found and found.email),
        opted_out=bool(found and found.opted_out_at),
        sent=int(counts[0]),
        replies=int(counts[1]),
        rating=rating,
    )


def get_mail(bind: Engine | Connection, *, team_id: str, mail_id: int) -> dict[str, Any] | None:
    if isinstance(bind, Engine):
        with reading(bind) as conn:
            return get_mail(conn, team_id=team_id, mail_id=mail_id)
    row = bind.execute(select(_M).where(_M.c.team_id == team_id, _M.c.id == mail_id)).first()
    return dict(row._mapping) if row else None


def mail_by_id(engine: Engine, *, mail_id: int) -> dict[str, Any] | None:
    """An outgoing mail by id alone (a rating or unsubscribe link names no workspace)."""
    with reading(engine) as conn:
        row = conn.execute(select(_M).where(_M.c.id == mail_id, _M.c.direction == OUT)).first()
    return dict(row._mapping) if row else None


def mailbox_token(engine: Engine, *, team_id: str, alert_id: int) -> str | None:
    with reading(engine) as conn:
        return conn.execute(
            select(_B.c.token).where(_B.c.team_id == team_id, _B.c.alert_id == alert_id)
        ).scalar_one_or_none()


def _latest_message_id(bind: Connection, *, team_id: str, alert_id: int) -> str | None:
    """The Message-ID of the alert's latest mail, either way: what a new mail answers."""
    return bind.execute(
        select(_M.c.message_id)
        .where(_M.c.team_id == team_id, _M.c.alert_id == alert_id)
        .order_by(_M.c.created_at.desc(), _M.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()


# --------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class Queued:
    """What a reply submission did: `mail_id` None with `refused` saying why."""

    mail_id: int | None
    refused: str | None = None  # no_email, opted_out, gone
    repeated: bool = False


def queue_reply(
    engine: Engine,
    *,
    team_id: str,
    alert_id: int,
    user_id: str,
    subject: str,
    body: str,
    locale: str,
    reply_domain: str,
    now: datetime,
    request_key: str | None = None,
    ask_rating: bool = True,
) -> Queued:
    """Store a mail to the alert's customer and queue its sending, in one transaction.

    The address is read here, not taken from the form: what a member typed cannot send
    mail to anyone else, and an address that opted out is refused even if the form was
    opened before."""
    body = body.strip()[: core_mail.MAX_BODY]
    if not body:
        raise ValueError("a mail needs some text")
    with engine.begin() as conn:
        found = contact(conn, team_id=team_id, alert_id=alert_id)
        if found is None:
            return Queued(None, "gone")
        if not found.email:
            return Queued(None, "no_email")
        if found.opted_out_at is not None:
            return Queued(None, "opted_out")
        if request_key:
            earlier = conn.execute(
                select(_M.c.id).where(_M.c.team_id == team_id, _M.c.request_key == request_key)
            ).scalar_one_or_none()
            if earlier is not None:
                return Queued(int(earlier), repeated=True)
        conn.execute(
            _insert(conn)(_B)
            .values(
                alert_id=alert_id,
                team_id=team_id,
                token=core_mail.new_token(),
                locale=locale,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["alert_id"])
        )
        latest = _latest_message_id(conn, team_id=team_id, alert_id=alert_id)
        mail_id = conn.execute(
            _M.insert()
            .values(
                team_id=team_id,
                alert_id=alert_id,
                direction=OUT,
                user_id=user_id,
                address=found.email,
                subject=subject.strip()[:300] or core_mail.texts(locale)["subject"],
                body=body,
                message_id=core_mail.message_id(reply_domain),
                in_reply_to=latest,
                locale=locale,
                request_key=request_key,
                rating_key=core_mail.new_key(),
                created_at=now,
            )
            .returning(_M.c.id)
        ).scalar_one()
        outbox.enqueue(
            conn,
            team_id=team_id,
            key=f"{SEND_PREFIX}{alert_id}:{mail_id}",
            method=SEND_METHOD,
            payload={"mail_id": int(mail_id), "alert_id": alert_id, "rate": ask_rating},
            not_before=now,
        )
    return Queued(int(mail_id))


def mark_accepted(engine: Engine, *, team_id: str, mail_id: int, now: datetime) -> None:
    """The mail server took the mail: an uncertain retry must not hand it over again."""
    with engine.begin() as conn:
        conn.execute(
            update(_M)
            .where(_M.c.team_id == team_id, _M.c.id == mail_id, _M.c.accepted_at.is_(None))
            .values(accepted_at=now)
        )


def after_sent(
    conn: Connection, *, team_id: str, alert_id: int, mail_id: int, now: datetime
) -> None:
    """In the transaction that marks the send done: the first mail stops the alert's
    first-response clock, and the thread and the alert message show it."""
    conn.execute(
        update(_A)
        .where(_A.c.team_id == team_id, _A.c.id == alert_id)
        .values(first_response_at=func.coalesce(_A.c.first_response_at, now))
    )
    _queue_thread(conn, team_id, alert_id, "mail", mail_id, now)


def _queue_thread(
    conn: Connection, team_id: str, alert_id: int, what: str, mail_id: int, now: datetime
) -> None:
    outbox.enqueue(
        conn,
        team_id=team_id,
        key=f"alert:{alert_id}:{what}:{mail_id}",
        method=RENDER_METHOD,
        payload={"action": what, "alert_id": alert_id, "mail_id": mail_id},
        not_before=now,
    )
    outbox.enqueue(
        conn,
        team_id=team_id,
        key=f"alert:{alert_id}:update:{what}:{mail_id}",
        method=ALERT_RENDER,
        payload={"action": "update", "alert_id": alert_id},
        not_before=now,
    )


# --------------------------------------------------------------------------- receiving


@dataclass(frozen=True)
class Received:
    """What became of an inbound mail: `posted`, `duplicate`, or `unknown` (no such
    token, or a token of another workspace than the route that brought it)."""

    status: str
    team_id: str | None = None
    alert_id: int | None = None
    mail_id: int | None = None


def record_reply(
    engine: Engine,
    *,
    token: str,
    inbound: core_mail.Inbound,
    now: datetime,
    team_id: str | None = None,
) -> Received:
    """Keep a customer's reply (its text and the names of its attachments, never their
    bytes) and queue the thread post, the alert update and the owner's DM."""
    with engine.begin() as conn:
        box = conn.execute(select(_B.c.team_id, _B.c.alert_id).where(_B.c.token == token)).first()
        if box is None or (team_id is not None and box.team_id != team_id):
            return Received("unknown")
        team, alert_id = str(box.team_id), int(box.alert_id)
        attachments = [
            {"name": a.name, "type": a.content_type, "size": a.size} for a in inbound.attachments
        ]
        mail_id = conn.execute(
            _insert(conn)(_M)
            .values(
                team_id=team,
                alert_id=alert_id,
                direction=IN,
                address=(inbound.sender or "")[: core_mail.MAX_ADDRESS],
                subject=inbound.subject[:300],
                body=inbound.text[: core_mail.MAX_BODY],
                message_id=inbound.message_id[:300] or core_mail.message_id("cxbot.invalid"),
                in_reply_to=(inbound.in_reply_to or None) and inbound.in_reply_to[:300],
                attachments=attachments or None,
                locale="",
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["team_id", "message_id"])
            .returning(_M.c.id)
        ).scalar_one_or_none()
        if mail_id is None:
            return Received("duplicate", team, alert_id)
        conn.execute(update(_B).where(_B.c.alert_id == alert_id).values(replied_at=now))
        _queue_thread(conn, team, alert_id, "reply", int(mail_id), now)
        owner = conn.execute(
            select(_A.c.owner).where(_A.c.team_id == team, _A.c.id == alert_id)
        ).scalar_one_or_none()
        if owner:
            outbox.enqueue(
                conn,
                team_id=team,
                key=f"alert:{alert_id}:replydm:{mail_id}",
                method=RENDER_METHOD,
                payload={"action": "replydm", "alert_id": alert_id, "mail_id": int(mail_id)},
                not_before=now,
            )
    return Received("posted", team, alert_id, int(mail_id))


# --------------------------------------------------------------------------- links


@dataclass(frozen=True)
class LinkTarget:
    """The mail a rating or unsubscribe link names, once its signature is checked."""

    mail_id: int
    team_id: str
    alert_id: int
    locale: str
    rating: int | None
    address: str


def resolve_link(engine: Engine, token: str, purpose: str) -> LinkTarget | None:
    mail_id = core_mail.signed_id(token)
    if mail_id is None:
        return None
    row = mail_by_id(engine, mail_id=mail_id)
    if row is None or not row.get("rating_key"):
        return None
    if not core_mail.verify(token, str(row["rating_key"]), purpose):
        return None
    return LinkTarget(
        int(row["id"]), str(row["team_id"]), int(row["alert_id"]), str(row["locale"] or "en"),
        row["rating"], str(row["address"]),
    )  # fmt: skip


def record_rating(engine: Engine, *, target: LinkTarget, score: int, now: datetime) -> bool:
    """Keep the follow-up CSAT of one mail: the first answer only (False for a repeat)."""
    if score not in core_mail.RATINGS:
        raise ValueError(f"a rating is one of {core_mail.RATINGS}, not {score!r}")
    with engine.begin() as conn:
        done = conn.execute(
            update(_M)
            .where(_M.c.id == target.mail_id, _M.c.team_id == target.team_id, _M.c.rating.is_(None))
            .values(rating=score, rated_at=now)
            .returning(_M.c.id)
        ).first()
        if done is None:
            return False
        _queue_thread(conn, target.team_id, target.alert_id, "rated", target.mail_id, now)
    return True


def opt_out(engine: Engine, *, team_id: str, address: str, now: datetime) -> bool:
    """Never mail `address` again from this workspace; False when it had opted out before."""
    with engine.begin() as conn:
        done = conn.execute(
            _insert(conn)(_X)
            .values(
                team_id=team_id,
                address_hash=core_mail.address_hash(team_id, address),
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["team_id", "address_hash"])
            .returning(_X.c.address_hash)
        ).first()
    return done is not None


def is_opted_out(bind: Engine | Connection, *, team_id: str, address: str) -> bool:
    query = select(_X.c.created_at).where(
        _X.c.team_id == team_id, _X.c.address_hash == core_mail.address_hash(team_id, address)
    )
    if isinstance(bind, Connection):
        return bind.execute(query).first() is not None
    with reading(bind) as conn:
        return conn.execute(query).first() is not None


# --------------------------------------------------------------------------- erasing


def erase_alerts(conn: Connection, *, team_id: str, alert_ids: Sequence[int]) -> dict[str, int]:
    """Remove the mails (sent and received), the mailbox and the queued sends of these
    alerts: called by storage.forget before the alerts themselves go."""
    mails = boxes = rows = 0
    ids = [int(i) for i in alert_ids]
    for start in range(0, len(ids), 100):
        chunk = ids[start : start + 100]
        mails += (
            conn.execute(
                delete(_M).where(_M.c.team_id == team_id, _M.c.alert_id.in_(chunk))
            ).rowcount
            or 0
        )
        boxes += (
            conn.execute(
                delete(_B).where(_B.c.team_id == team_id, _B.c.alert_id.in_(chunk))
            ).rowcount
            or 0
        )
        rows += (
            conn.execute(
                delete(_O).where(
                    _O.c.team_id == team_id,
                    or_(*(_O.c.key.like(f"{SEND_PREFIX}{i}:%") for i in chunk)),
                )
            ).rowcount
            or 0
        )
    return {"mails": mails, "mailboxes": boxes, "outbox": rows}


# --------------------------------------------------------------------------- digest


def loop_rows(
    engine: Engine, *, team_id: str, start_utc: datetime, end_utc: datetime
) -> list[core_mail.LoopRow]:
    """Per posted alert raised in [start_utc, end_utc): mailed, replied, latest rating."""
    sent = (
        select(func.count())
        .where(
            _M.c.team_id == team_id,
            _M.c.alert_id == _A.c.id,
            _M.c.direction == OUT,
            _M.c.accepted_at.is_not(None),
        )
        .scalar_subquery()
    )
    replies = (
        select(func.count())
        .where(_M.c.team_id == team_id, _M.c.alert_id == _A.c.id, _M.c.direction == IN)
        .scalar_subquery()
    )
    rating = (
        select(_M.c.rating)
        .where(_M.c.team_id == team_id, _M.c.alert_id == _A.c.id, _M.c.rating.is_not(None))
        .order_by(_M.c.rated_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    with reading(engine) as conn:
        rows = conn.execute(
            select(sent, replies, rating).where(
                _A.c.team_id == team_id,
                _A.c.posted.is_(True),
                _A.c.created_at >= start_utc,
                _A.c.created_at < end_utc,
            )
        ).all()
    return [core_mail.LoopRow(bool(r[0]), bool(r[1]), r[2]) for r in rows]
