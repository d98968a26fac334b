"""Keeping shout-outs: giving one (limits checked and messages queued in one transaction),
praise from customers' answers, seconds from reactions, the week's rows, the member directory.

Every message a shout-out causes is queued in the outbox in the transaction that stores it,
with method `render:shoutout`: the bot renders it at send time in the reader's language
(`bot.handlers.shoutouts.posting`). Keys: `shoutout:{id}:post` (the shout-outs channel) and
`shoutout:{id}:dm:{user}` (each receiver).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from core.metrics import PROMOTER_THRESHOLDS
from core.shoutouts import (
    PRAISE_MAX_AGE_DAYS,
    Allowance,
    Limits,
    NameFinder,
    Person,
    ShoutoutRow,
    check_limits,
    is_praise,
    praise_receivers,
    suggest_promise,
)
from core.text import redact
from core.workspace_settings import WorkspaceSettings
from storage import outbox, settings_store
from storage.db import reading, writing
from storage.fresh import FreshCache, database_key
from storage.models import Response, Shoutout, ShoutoutReceiver, ShoutoutSecond, SlackUser
from storage.newest import team_match

_S = Shoutout.__table__  # type: ignore[attr-defined]
_SR = ShoutoutReceiver.__table__  # type: ignore[attr-defined]
_SS = ShoutoutSecond.__table__  # type: ignore[attr-defined]
_U = SlackUser.__table__  # type: ignore[attr-defined]
_R = Response.__table__  # type: ignore[attr-defined]

RENDER_METHOD = "render:shoutout"
KEY_PREFIX = "shoutout:"
GIVEN_SOURCES = ("command", "modal")  # what counts against a giver's daily limit
PAIR_WINDOW = timedelta(days=7)
# One import can hold many happy customers: every praise is recorded, but only this many
# are posted to the channel, and each colleague gets at most this many DMs, per batch.
PRAISE_POSTS_PER_BATCH = 10
PRAISE_DMS_PER_PERSON = 3


def post_key(shoutout_id: int) -> str:
    return f"{KEY_PREFIX}{shoutout_id}:post"


def dm_key(shoutout_id: int, user_id: str) -> str:
    return f"{KEY_PREFIX}{shoutout_id}:dm:{user_id}"


def _insert_for(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ShoutoutConfig:
    channel: str | None
    locale: str | None  # the workspace's language setting (None: the process default)
    promises: tuple[str, ...]
    limits: Limits
    customer_praise: bool
    thresholds: dict[str, int] = field(default_factory=dict)


def load_config(
    bind: Engine | Connection, *, team_id: str, settings: WorkspaceSettings | None = None
) -> ShoutoutConfig:
    """The team's shout-out settings. `settings`: the team's settings already read
    (storage.settings_store.load)."""
    if settings is None:
        settings = settings_store.load(bind, team_id=team_id)
    return ShoutoutConfig(
        channel=settings.shoutouts_channel,
        locale=settings.locale,
        promises=settings.promises,
        limits=Limits(
            daily=settings.shoutouts_daily_limit,
            pair_weekly=settings.shoutouts_pair_weekly_limit,
        ),
        customer_praise=settings.shoutouts_customer_praise,
        thresholds=settings.thresholds,
    )


# --------------------------------------------------------------------------- giving


@dataclass(frozen=True)
class NewShoutout:
    giver: str
    receivers: tuple[str, ...]
    text: str
    promise: str | None
    source: str = "command"  # command or modal
    request_key: str | None = None  # the trigger or view id: a repeat records nothing new


@dataclass(frozen=True)
class Delivery:
    """Where the messages go and in which language each is written."""

    channel: str | None  # the shout-outs channel; None: the receivers' DMs only
    channel_locale: str | None = None
    dm_locales: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class GiveResult:
    allowance: Allowance
    shoutout_id: int | None  # None when refused
    duplicate: bool = False


def give(
    engine: Engine,
    *,
    team_id: str,
    shout: NewShoutout,
    limits: Limits,
    day_start: datetime,
    now: datetime,
    delivery: Delivery,
) -> GiveResult:
    """Record a colleague's shout-out and queue its messages, unless a limit refuses it.

    The count and the insert share one transaction holding a per-giver lock, so two
    shout-outs sent at the same moment cannot both slip under the daily limit.
    `day_start` is the start of the giver's day (the workspace's midnight, in UTC).
    """
    with engine.begin() as conn:
        _lock_giver(conn, team_id, shout.giver)
        given_today = _given_since(conn, team_id, shout.giver, day_start)
        if shout.request_key:
            existing = conn.execute(
                select(_S.c.id).where(
                    _S.c.team_id == team_id, _S.c.request_key == shout.request_key
                )
            ).scalar_one_or_none()
            if existing is not None:
                again = check_limits(
                    given_today=max(0, given_today - 1),
                    pair_counts={},
                    receivers=(),
                    limits=Limits(limits.daily, 0),
                )
                return GiveResult(again, int(existing), duplicate=True)
        pairs = _pair_counts(conn, team_id, shout.giver, shout.receivers, now - PAIR_WINDOW)
        allowance = check_limits(
            given_today=given_today, pair_counts=pairs, receivers=shout.receivers, limits=limits
        )
        if not allowance.allowed:
            return GiveResult(allowance, None)
        shoutout_id = int(
            conn.execute(
                insert(_S)
                .values(
                    team_id=team_id,
                    giver=shout.giver,
                    text=shout.text,
                    promise=shout.promise,
                    source=shout.source,
                    seconds=0,
                    request_key=shout.request_key,
                    created_at=now,
                )
                .returning(_S.c.id)
            ).scalar_one()
        )
        _add_receivers(conn, team_id, shoutout_id, shout.receivers)
        _queue(conn, team_id, shoutout_id, shout.receivers, delivery, now)
    return GiveResult(allowance, shoutout_id)


def _lock_giver(conn: Connection, team_id: str, giver: str) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
            {"k": f"shoutout:{team_id}:{giver}"},
        )
    else:
        # Take SQLite's write lock before counting (the database has one writer anyway).
        conn.exec_driver_sql("UPDATE shoutout SET id = id WHERE 0")


def _given_since(conn: Connection, team_id: str, giver: str, since: datetime) -> int:
    query = select(func.count()).where(
        _S.c.team_id == team_id,
        _S.c.giver == giver,
        _S.c.source.in_(GIVEN_SOURCES),
        _S.c.created_at >= since,
    )
    return int(conn.execute(query).scalar_one())


def _pair_counts(
    conn: Connection, team_id: str, giver: str, receivers: Sequence[str], since: datetime
) -> dict[str, int]:
    if not receivers:
        return {}
    query = (
        select(_SR.c.user_id, func.count())
        .select_from(_SR.join(_S, _S.c.id == _SR.c.shoutout_id))
        .where(
            _S.c.team_id == team_id,
            _SR.c.team_id == team_id,
            _S.c.giver == giver,
            _S.c.created_at >= since,
            _SR.c.user_id.in_(list(receivers)),
        )
        .group_by(_SR.c.user_id)
    )
    return {user: int(n) for user, n in conn.execute(query)}


def _add_receivers(
    conn: Connection, team_id: str, shoutout_id: int, receivers: Sequence[str]
) -> None:
    rows = [
        {"shoutout_id": shoutout_id, "user_id": user, "team_id": team_id}
        for user in dict.fromkeys(receivers)
    ]
    if rows:
        conn.execute(insert(_SR), rows)


def _queue(
    conn: Connection,
    team_id: str,
    shoutout_id: int,
    receivers: Sequence[str],
    delivery: Delivery,
    now: datetime,
) -> None:
    if delivery.channel:
        outbox.enqueue(
            conn,
            team_id=team_id,
            key=post_key(shoutout_id),
            method=RENDER_METHOD,
            payload={
                "shoutout_id": shoutout_id,
                "kind": "post",
                "channel": delivery.channel,
                "locale": delivery.channel_locale,
            },
            not_before=now,
        )
    for user in dict.fromkeys(receivers):
        outbox.enqueue(
            conn,
            team_id=team_id,
            key=dm_key(shoutout_id, user),
            method=RENDER_METHOD,
            payload={
                "shoutout_id": shoutout_id,
                "kind": "dm",
                "user": user,
                "locale": delivery.dm_locales.get(user),
            },
            not_before=now,
        )


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class ShoutoutDetail:
    """One shout-out with what its messages show."""

    id: int
    giver: str | None
    receivers: tuple[str, ...]
    text: str
    promise: str | None
    source: str
    seconds: int
    channel: str | None
    ts: str | None
    created_at: datetime
    # The customer's answer behind a "the customer said" shout-out.
    metric: str | None = None
    score: int | None = None
    touchpoint: str | None = None


def get(bind: Engine | Connection, *, team_id: str, shoutout_id: int) -> ShoutoutDetail | None:
    query = (
        select(_S, _R.c.metric, _R.c.score, _R.c.touchpoint)
        .select_from(_S.outerjoin(_R, and_(_R.c.id == _S.c.response_id, _R.c.team_id == team_id)))
        .where(_S.c.team_id == team_id, _S.c.id == shoutout_id)
    )
    receivers = (
        select(_SR.c.user_id)
        .where(_SR.c.team_id == team_id, _SR.c.shoutout_id == shoutout_id)
        .order_by(_SR.c.user_id)
    )
    conn_cm = _connect(bind)
    with conn_cm as conn:
        row = conn.execute(query).first()
        if row is None:
            return None
        users = tuple(conn.execute(receivers).scalars())
    m = row._mapping
    return ShoutoutDetail(
        id=int(m["id"]),
        giver=m["giver"],
        receivers=users,
        text=m["text"],
        promise=m["promise"],
        source=m["source"],
        seconds=int(m["seconds"]),
        channel=m["channel"],
        ts=m["ts"],
        created_at=m["created_at"],
        metric=m["metric"],
        score=m["score"],
        touchpoint=m["touchpoint"],
    )


class _Borrowed:
    """A connection the caller owns, usable in `with` without closing it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def __enter__(self) -> Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        return None


def _connect(bind: Engine | Connection) -> Any:
    return _Borrowed(bind) if isinstance(bind, Connection) else reading(bind)


def week_rows(engine: Engine, *, team_id: str, start: datetime, end: datetime) -> list[ShoutoutRow]:
    """The shout-outs created in [start, end), oldest first, with their receivers."""
    query = (
        select(_S.c.id, _S.c.giver, _S.c.promise, _S.c.seconds, _S.c.source, _S.c.created_at)
        .where(_S.c.team_id == team_id, _S.c.created_at >= start, _S.c.created_at < end)
        .order_by(_S.c.created_at, _S.c.id)
    )
    receivers = (
        select(_SR.c.shoutout_id, _SR.c.user_id)
        .select_from(_SR.join(_S, _S.c.id == _SR.c.shoutout_id))
        .where(
            _SR.c.team_id == team_id,
            _S.c.team_id == team_id,
            _S.c.created_at >= start,
            _S.c.created_at < end,
        )
        .order_by(_SR.c.shoutout_id, _SR.c.user_id)
    )
    with reading(engine) as conn:
        rows = conn.execute(query).all()
        by_id: dict[int, list[str]] = {}
        for shoutout_id, user in conn.execute(receivers):
            by_id.setdefault(int(shoutout_id), []).append(user)
    return [
        ShoutoutRow(
            id=int(r.id),
            giver=r.giver,
            receivers=tuple(by_id.get(int(r.id), ())),
            promise=r.promise,
            seconds=int(r.seconds),
            source=r.source,
            created_at=r.created_at,
        )
        for r in rows
    ]


def record_post(
    bind: Engine | Connection,
    *,
    team_id: str,
    shoutout_id: int,
    channel: str | None,
    ts: str | None,
) -> None:
    """Remember where the shout-out was posted, so reactions on it can be counted."""
    with writing(bind) as conn:
        conn.execute(
            update(_S)
            .where(_S.c.team_id == team_id, _S.c.id == shoutout_id)
            .values(channel=channel, ts=ts)
        )


# --------------------------------------------------------------------------- seconds


def is_posted(engine: Engine, *, team_id: str, channel: str, ts: str) -> bool:
    """Whether the message at (channel, ts) is a shout-out's post."""
    query = select(_S.c.id).where(_S.c.team_id == team_id, _S.c.channel == channel, _S.c.ts == ts)
    with reading(engine) as conn:
        return conn.execute(query.limit(1)).first() is not None


def second(
    engine: Engine,
    *,
    team_id: str,
    channel: str,
    ts: str,
    user_id: str,
    reaction: str,
    now: datetime,
    added: bool = True,
) -> int | None:
    """Count (or, with added=False, take back) a reaction on a shout-out's message.

    Once per person and emoji; the giver's and receivers' own reactions are thanks, not
    seconds, and do not count. Returns the shout-out's seconds after the change, or None
    when the message is not a shout-out.
    """
    with engine.begin() as conn:
        found = conn.execute(
            select(_S.c.id, _S.c.giver, _S.c.seconds).where(
                _S.c.team_id == team_id, _S.c.channel == channel, _S.c.ts == ts
            )
        ).first()
        if found is None:
            return None
        shoutout_id = int(found.id)
        receivers = set(
            conn.execute(
                select(_SR.c.user_id).where(
                    _SR.c.team_id == team_id, _SR.c.shoutout_id == shoutout_id
                )
            ).scalars()
        )
        if user_id == found.giver or user_id in receivers:
            return int(found.seconds)
        if added:
            changed = conn.execute(
                _insert_for(conn)(_SS)
                .values(
                    shoutout_id=shoutout_id,
                    user_id=user_id,
                    reaction=reaction[:100],
                    team_id=team_id,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["shoutout_id", "user_id", "reaction"])
                .returning(_SS.c.shoutout_id)
            ).first()
            step = 1
        else:
            changed = conn.execute(
                delete(_SS)
                .where(
                    _SS.c.team_id == team_id,
                    _SS.c.shoutout_id == shoutout_id,
                    _SS.c.user_id == user_id,
                    _SS.c.reaction == reaction[:100],
                )
                .returning(_SS.c.shoutout_id)
            ).first()
            step = -1
        if changed is None:
            return int(found.seconds)
        return int(
            conn.execute(
                update(_S)
                .where(_S.c.id == shoutout_id)
                .values(seconds=_S.c.seconds + step)
                .returning(_S.c.seconds)
            ).scalar_one()
        )


# --------------------------------------------------------------------------- directory


def replace_directory(
    engine: Engine, *, team_id: str, people: Sequence[Person], now: datetime
) -> int:
    """Store the workspace's members as Slack listed them just now (replacing the last list).

    A deactivated member is kept by id only: Slack goes on listing people who left, with
    their e-mail, but the bot needs no more than to know that the id is not a colleague
    to praise (names and e-mails only ever match active members).
    """
    rows = [
        {
            "team_id": team_id,
            "user_id": p.user_id,
            "name": "" if p.deleted else p.name[:200],
            "real_name": "" if p.deleted else p.real_name[:200],
            "display_name": "" if p.deleted else p.display_name[:200],
            "email": p.email.lower()[:320] if p.email and not p.deleted else None,
            "is_bot": p.is_bot,
            "deleted": p.deleted,
            "locale": p.locale[:16] if p.locale and not p.deleted else None,
            "refreshed_at": now,
        }
        for p in {p.user_id: p for p in people}.values()
    ]
    with engine.begin() as conn:
        conn.execute(delete(_U).where(_U.c.team_id == team_id))
        if rows:
            conn.execute(insert(_U), rows)
    _people.forget((database_key(engine), team_id))
    return len(rows)


def directory(bind: Engine | Connection, *, team_id: str) -> list[Person]:
    query = select(_U).where(_U.c.team_id == team_id).order_by(_U.c.user_id)
    with _connect(bind) as conn:
        return [
            Person(
                user_id=r.user_id,
                name=r.name,
                real_name=r.real_name,
                display_name=r.display_name,
                email=r.email,
                is_bot=bool(r.is_bot),
                deleted=bool(r.deleted),
                locale=r.locale,
            )
            for r in conn.execute(query)
        ]


def directory_refreshed_at(engine: Engine, *, team_id: str) -> datetime | None:
    with reading(engine) as conn:
        value: datetime | None = conn.execute(
            select(func.max(_U.c.refreshed_at)).where(_U.c.team_id == team_id)
        ).scalar_one_or_none()
    return value


def member_locale(engine: Engine, *, team_id: str, user_id: str) -> str | None:
    """The Slack locale the member directory holds for `user_id` (None: not known)."""
    with reading(engine) as conn:
        value: str | None = conn.execute(
            select(_U.c.locale).where(
                _U.c.team_id == team_id, _U.c.user_id == user_id, _U.c.deleted.is_(False)
            )
        ).scalar_one_or_none()
    return value


# --------------------------------------------------------------------------- customer praise


def any_praise(
    conn: Connection,
    *,
    team_id: str,
    cfg: ShoutoutConfig,
    metrics: Sequence[str],
    scores: Sequence[int],
    employees: Sequence[str | None],
    comments: Sequence[str | None],
) -> bool:
    """Whether any of these answers could praise someone: a promoter naming an employee,
    or saying something that names a member of the directory. When none can,
    `praise_for_batch` would find nobody, so it need not look."""
    if not cfg.customer_praise:
        return False
    eligible = [
        (employee, comment)
        for metric, score, employee, comment in zip(
            metrics, scores, employees, comments, strict=True
        )
        if (employee or comment) and is_praise(metric, int(score), cfg.thresholds)
    ]
    if not eligible:
        return False
    if any(employee for employee, _ in eligible):
        return True
    # Comments only: the same directory and name finder that praise_for_batch uses.
    _people_known, finder = _known_people(conn, team_id)
    return finder is not None and any(finder.find(comment or "") for _, comment in eligible)


# The directory changes when Slack's member list is read again (hourly); matching names
# needs it whole, so each process keeps it, with its name finder, for a few seconds.
_people: FreshCache[tuple[list[Person], NameFinder | None]] = FreshCache(5.0)


def _known_people(conn: Connection, team_id: str) -> tuple[list[Person], NameFinder | None]:
    def load() -> tuple[list[Person], NameFinder | None]:
        people = directory(conn, team_id=team_id)
        return people, NameFinder(people) if people else None

    return _people.get((database_key(conn), team_id), load)


def praise_for_batch(
    conn: Connection,
    *,
    team_id: str,
    batch_id: str,
    now: datetime,
    config: ShoutoutConfig | None = None,
    after_id: int | None = None,
) -> int:
    """Turn the batch's promoter answers that name an employee into "the customer said"
    shout-outs, queued for the shout-outs channel and the employee's DM.

    Runs inside the transaction that inserted the batch. One per answer (the unique
    response_id makes a repeat a no-op); detractors never; answers older than
    PRAISE_MAX_AGE_DAYS are history and are skipped. Returns how many were created.
    `after_id`, when given, is an id every answer of the batch is above: the batch
    is then read from the newest rows.
    """
    if after_id is None:
        return _praise(conn, team_id, _R.c.batch_id == batch_id, now, config)
    which = and_(
        team_match(_R.c.team_id, team_id, conn.dialect.name),
        _R.c.batch_id == batch_id,
        _R.c.id > after_id,
    )
    return _praise(conn, team_id, which, now, config, newest=True)


def praise_for_responses(
    engine: Engine,
    *,
    team_id: str,
    response_ids: Sequence[int],
    now: datetime,
    config: ShoutoutConfig | None = None,
) -> int:
    """The same for answers already stored (after the directory learned new members)."""
    if not response_ids:
        return 0
    with engine.begin() as conn:
        return _praise(conn, team_id, _R.c.id.in_(list(response_ids)), now, config)


def _praise(
    conn: Connection,
    team_id: str,
    which: Any,
    now: datetime,
    config: ShoutoutConfig | None,
    *,
    newest: bool = False,
) -> int:
    """`newest`: `which` matches the team itself (see storage.newest), in a way that
    keeps SQLite off the team's index."""
    cfg = config or load_config(conn, team_id=team_id)
    if not cfg.customer_praise:
        return 0
    promoter = or_(
        *(and_(_R.c.metric == m, _R.c.score >= t) for m, t in PROMOTER_THRESHOLDS.items())
    )
    praised = select(_S.c.response_id).where(_S.c.team_id == team_id, _S.c.response_id.is_not(None))
    candidates = conn.execute(
        select(_R.c.id, _R.c.metric, _R.c.score, _R.c.comment, _R.c.employee)
        .where(
            which if newest else and_(_R.c.team_id == team_id, which),
            promoter,
            or_(_R.c.employee.is_not(None), _R.c.comment.is_not(None)),
            _R.c.responded_at >= now - timedelta(days=PRAISE_MAX_AGE_DAYS),
            _R.c.id.not_in(praised),
        )
        .order_by(_R.c.id)
    ).all()
    if not candidates:
        return 0
    people, finder = _known_people(conn, team_id)
    locales = {p.user_id: p.locale for p in people}
    created = 0
    dms: dict[str, int] = {}
    for row in candidates:
        if not is_praise(row.metric, int(row.score), cfg.thresholds):
            continue
        comment = row.comment or ""
        receivers = praise_receivers(row.employee, comment if finder else None, people, finder)
        if not receivers:
            continue
        shown = redact(comment.strip())
        promise = suggest_promise(shown, cfg.promises) if shown and cfg.promises else None
        shoutout_id = conn.execute(
            _insert_for(conn)(_S)
            .values(
                team_id=team_id,
                giver=None,
                text=shown,
                promise=promise,
                source="customer",
                response_id=int(row.id),
                seconds=0,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["response_id"])
            .returning(_S.c.id)
        ).scalar_one_or_none()
        if shoutout_id is None:
            continue
        _add_receivers(conn, team_id, int(shoutout_id), receivers)
        told = [u for u in receivers if dms.get(u, 0) < PRAISE_DMS_PER_PERSON]
        for user in told:
            dms[user] = dms.get(user, 0) + 1
        delivery = Delivery(
            channel=cfg.channel if created < PRAISE_POSTS_PER_BATCH else None,
            channel_locale=cfg.locale,
            dm_locales={u: locales.get(u) for u in told},
        )
        _queue(conn, team_id, int(shoutout_id), told, delivery, now)
        created += 1
    return created
