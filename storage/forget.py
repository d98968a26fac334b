"""Erasing data: one customer on request (`cxbot forget customer ID`), and old data by the
retention settings (`retention.*`). Both go through `erase_responses`, so an answer
leaves the same way whichever reason removes it:

- its counts leave the daily and monthly tables (storage.rollup.remove_responses),
- its detractor alert goes, with the alert's notes and queued messages, and the mails
  to and from the customer in its thread (storage.mail; the answer's `customer_email` and
  `customer_name` go with the answer),
- a "the customer said" shout-out made from it goes, with its receivers and seconds,
- the Slack messages that showed any of these are deleted in Slack (chat.delete,
  queued in the outbox in the same transaction, so they are deleted even if Slack is
  down right now),
- and then the answer itself.

`forget_customer` also deletes the customer record and clears the customer field of
insights that named them; for those insights the name also leaves the stored payloads of
their outbox messages, and their card in the insights channel is re-rendered without it
(a chat.update queued in the outbox). Everything happens in one transaction per call (per
batch for retention): it is all gone or nothing is.

Retention (`purge_old`) also erases old shout-outs, the answers of pulse rounds closed long
ago (their results, computed at close, stay), and member-directory entries Slack has not
listed for a while.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.engine import Connection, Engine

from storage import insights as insight_store
from storage import mail as mail_store
from storage import outbox, rollup
from storage.models import (
    Alert,
    AlertNote,
    Customer,
    Insight,
    InsightVote,
    OutboxMessage,
    ProcessedEvent,
    Response,
    Shoutout,
    ShoutoutReceiver,
    ShoutoutSecond,
    SlackUser,
    SurveyAnswer,
    SurveyParticipation,
    SurveyRound,
)

_R = Response.__table__  # type: ignore[attr-defined]
_A = Alert.__table__  # type: ignore[attr-defined]
_N = AlertNote.__table__  # type: ignore[attr-defined]
_S = Shoutout.__table__  # type: ignore[attr-defined]
_SR = ShoutoutReceiver.__table__  # type: ignore[attr-defined]
_SS = ShoutoutSecond.__table__  # type: ignore[attr-defined]
_C = Customer.__table__  # type: ignore[attr-defined]
_I = Insight.__table__  # type: ignore[attr-defined]
_V = InsightVote.__table__  # type: ignore[attr-defined]
_O = OutboxMessage.__table__  # type: ignore[attr-defined]
_E = ProcessedEvent.__table__  # type: ignore[attr-defined]
_U = SlackUser.__table__  # type: ignore[attr-defined]
_SRD = SurveyRound.__table__  # type: ignore[attr-defined]
_SA = SurveyAnswer.__table__  # type: ignore[attr-defined]
_SP = SurveyParticipation.__table__  # type: ignore[attr-defined]

CHUNK = 500  # ids per IN list / LIKE group
PURGE_BATCH = 2_000  # answers erased per transaction by retention
DELETE_KEY_PREFIX = "erase:"
ERASED = "[erased]"  # what an erased name reads as in a stored payload
# Payload fields that hold ids, enums and addresses, never what a person typed: a
# customer called "post" or "C0123" must not break the message that refers to them.
_STRUCTURAL = frozenset(
    {
        "action",
        "action_id",
        "block_id",
        "by",
        "channel",
        "event_type",
        "insight_id",
        "key",
        "locale",
        "status",
        "style",
        "team",
        "thread_ts",
        "ts",
        "type",
        "user",
    }
)
# Who a pulse survey asked is kept at least as long as the longest cooldown between two
# surveys (`pulse.cooldown_days`, at most 90): the cooldown looks it up.
PARTICIPATION_KEEP_DAYS = 90


@dataclass(frozen=True)
class Erased:
    """What an erasure removed (or, for a preview, would remove)."""

    responses: int = 0
    alerts: int = 0
    notes: int = 0
    shoutouts: int = 0
    customers: int = 0
    insights_cleared: int = 0  # insights whose customer field was emptied
    insight_cards: int = 0  # their messages in Slack, queued for a re-render without it
    payloads_scrubbed: int = 0  # stored outbox payloads the name was taken out of
    insights: int = 0  # insights deleted (retention)
    outbox: int = 0  # queued or sent messages of erased alerts and shout-outs
    slack_messages: int = 0  # messages queued for deletion in Slack
    payloads: int = 0  # old outbox payloads emptied (retention)
    survey_answers: int = 0  # answers of long-closed pulse rounds (retention)
    directory: int = 0  # member-directory entries not listed by Slack lately (retention)
    mails: int = 0  # mails to and from customers, with their alerts

    def __add__(self, other: Erased) -> Erased:
        return Erased(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    @property
    def anything(self) -> bool:
        return any(asdict(self).values())

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _chunks(ids: Sequence[int], size: int = CHUNK) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _key_prefixes(prefix: str, ids: Sequence[int]) -> Any:
    # `alert:12:%` cannot match alert 123: the id ends at the colon.
    return or_(*(_O.c.key.like(f"{prefix}{i}:%") for i in ids))


def _drop_outbox_rows(conn: Connection, team_id: str, prefix: str, ids: Sequence[int]) -> int:
    """Delete the outbox rows of these erased items. Dropped, not kept as sent: on SQLite a
    deleted row's id can come back, and a new item with it must not find its key used."""
    stmt = delete(_O).where(_O.c.team_id == team_id, _key_prefixes(prefix, ids))
    return conn.execute(stmt).rowcount or 0


def erase_responses(
    conn: Connection, *, team_id: str, response_ids: Sequence[int], now: datetime
) -> Erased:
    """Erase these answers of `team_id` and everything made from them (see the module doc).

    Runs in the caller's transaction. Ids of another workspace, or that do not exist, are
    ignored.
    """
    wanted = list(dict.fromkeys(int(i) for i in response_ids))
    if not wanted:
        return Erased()
    ids: list[int] = []
    for chunk in _chunks(wanted):
        ids += (
            conn.execute(select(_R.c.id).where(_R.c.team_id == team_id, _R.c.id.in_(chunk)))
            .scalars()
            .all()
        )
    if not ids:
        return Erased()
    alert_ids: list[int] = []
    shout_ids: list[int] = []
    messages: dict[tuple[str, str], None] = {}
    for chunk in _chunks(ids):
        # Alerts and shout-outs raised by these answers, and where they were posted.
        for table, found in ((_A, alert_ids), (_S, shout_ids)):
            for row in conn.execute(
                select(table.c.id, table.c.channel, table.c.ts).where(
                    table.c.team_id == team_id, table.c.response_id.in_(chunk)
                )
            ):
                found.append(row.id)
                if row.channel and row.ts:
                    messages[(row.channel, row.ts)] = None

    notes = alerts = shoutouts = outbox_rows = 0
    for prefix, owners in (("alert:", alert_ids), ("shoutout:", shout_ids)):
        for chunk in _chunks(owners, 100):
            mine = (_O.c.team_id == team_id) & _key_prefixes(prefix, chunk)
            # What was posted (notes, reminders, DMs) is deleted in Slack too.
            for row in conn.execute(
                select(_O.c.result_channel, _O.c.result_ts).where(
                    mine, _O.c.status == outbox.SENT, _O.c.result_ts.is_not(None)
                )
            ):
                if row.result_channel:
                    messages[(row.result_channel, row.result_ts)] = None
            # Dropped, not kept as sent: on SQLite a deleted row's id can come back, and a
            # new alert with it must not find its key already used.
            outbox_rows += conn.execute(delete(_O).where(mine)).rowcount or 0

    # Mails with the customer (both ways) and their mailbox go before the alerts they hang on.
    mails = mail_store.erase_alerts(conn, team_id=team_id, alert_ids=alert_ids)["mails"]
    for chunk in _chunks(alert_ids):
        notes += (
            conn.execute(
                delete(_N).where(_N.c.team_id == team_id, _N.c.alert_id.in_(chunk))
            ).rowcount
            or 0
        )
        alerts += (
            conn.execute(delete(_A).where(_A.c.team_id == team_id, _A.c.id.in_(chunk))).rowcount
            or 0
        )
    for chunk in _chunks(shout_ids):
        conn.execute(delete(_SR).where(_SR.c.shoutout_id.in_(chunk)))
        conn.execute(delete(_SS).where(_SS.c.shoutout_id.in_(chunk)))
        shoutouts += (
            conn.execute(delete(_S).where(_S.c.team_id == team_id, _S.c.id.in_(chunk))).rowcount
            or 0
        )

    # The counts first: remove_responses reads the answers it subtracts.
    rollup.remove_responses(conn, team_id=team_id, response_ids=ids)
    responses = 0
    for chunk in _chunks(ids):
        responses += (
            conn.execute(delete(_R).where(_R.c.team_id == team_id, _R.c.id.in_(chunk))).rowcount
            or 0
        )

    queued = _queue_slack_deletes(conn, team_id=team_id, messages=list(messages), now=now)
    return Erased(
        responses=responses,
        alerts=alerts,
        notes=notes,
        shoutouts=shoutouts,
        outbox=outbox_rows,
        slack_messages=queued,
        mails=mails,
    )


def _queue_slack_deletes(
    conn: Connection, *, team_id: str, messages: Sequence[tuple[str, str]], now: datetime
) -> int:
    queued = 0
    for channel, ts in messages:
        digest = hashlib.sha256(f"{channel}:{ts}".encode()).hexdigest()[:32]
        if outbox.enqueue(
            conn,
            team_id=team_id,
            key=f"{DELETE_KEY_PREFIX}{digest}",
            method="chat.delete",
            payload={"channel": channel, "ts": ts},
            not_before=now,
        ):
            queued += 1
    return queued


def _customer_erasure(conn: Connection, *, team_id: str, customer_id: str, now: datetime) -> Erased:
    # A customer is named by their id or, where answers carry one, their e-mail address.
    response_ids = (
        conn.execute(
            select(_R.c.id).where(
                _R.c.team_id == team_id,
                or_(
                    _R.c.customer_id == customer_id,
                    func.lower(_R.c.customer_email) == customer_id.lower(),
                ),
            )
        )
        .scalars()
        .all()
    )
    erased = erase_responses(conn, team_id=team_id, response_ids=response_ids, now=now)
    customers = (
        conn.execute(
            delete(_C).where(_C.c.team_id == team_id, _C.c.customer_id == customer_id)
        ).rowcount
        or 0
    )
    # People type a customer's name as they like: match insights without regard to case.
    named = conn.execute(
        select(_I.c.id, _I.c.customer).where(
            _I.c.team_id == team_id, func.lower(_I.c.customer) == customer_id.strip().lower()
        )
    ).all()
    insight_ids = [int(row.id) for row in named]
    cleared = 0
    for chunk in _chunks(insight_ids):
        cleared += (
            conn.execute(
                update(_I)
                .where(_I.c.team_id == team_id, _I.c.id.in_(chunk))
                .values(customer=None, updated_at=now)
            ).rowcount
            or 0
        )
    spellings = {customer_id, *(str(row.customer) for row in named)}
    scrubbed = _scrub_insight_payloads(
        conn, team_id=team_id, insight_ids=insight_ids, names=spellings
    )
    # The card already in the channel still says "Customer: ...": re-render it from the
    # insight as it is now. Queued after the rows changed, so the update shows no name.
    cards = sum(
        insight_store.queue_card_update(conn, team_id=team_id, insight_id=i, now=now)
        for i in insight_ids
    )
    return erased + Erased(
        customers=customers,
        insights_cleared=cleared,
        insight_cards=cards,
        payloads_scrubbed=scrubbed,
    )


def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    # Whole words only, longest first: "ACME" must not eat into "ACMEGATE" or an id.
    words = sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(
        r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.IGNORECASE
    )


def scrub(value: Any, pattern: re.Pattern[str], key: str | None = None) -> Any:
    """`value` (a JSON payload) with every match of `pattern` in free text replaced by
    ERASED; ids and enums (`_STRUCTURAL` fields) are left as they are."""
    if isinstance(value, dict):
        return {k: scrub(v, pattern, k) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, pattern, key) for v in value]
    if isinstance(value, str) and key not in _STRUCTURAL:
        return pattern.sub(ERASED, value)
    return value


def _scrub_insight_payloads(
    conn: Connection, *, team_id: str, insight_ids: Sequence[int], names: Iterable[str]
) -> int:
    """Take the names out of what the insights' outbox messages (post, updates, DMs) keep;
    returns how many payloads changed. Queued messages are built when sent (render:insight
    names only the insight), so this matters for payloads that carry text."""
    pattern = _name_pattern(names)
    if pattern is None:
        return 0
    changed = 0
    for chunk in _chunks(insight_ids, 100):
        rows = conn.execute(
            select(_O.c.id, _O.c.payload).where(
                _O.c.team_id == team_id, _key_prefixes(insight_store.KEY_PREFIX, chunk)
            )
        ).all()
        for row in rows:
            cleaned = scrub(row.payload, pattern)
            if cleaned != row.payload:
                conn.execute(
                    update(_O)
                    .where(_O.c.team_id == team_id, _O.c.id == row.id)
                    .values(payload=cleaned)
                )
                changed += 1
    return changed


def forget_customer(
    engine: Engine, *, team_id: str, customer_id: str, now: datetime, dry_run: bool = False
) -> Erased:
    """Erase everything stored about one customer of `team_id`; `dry_run` only counts."""
    customer_id = customer_id.strip()
    if not customer_id:
        raise ValueError("the customer id is empty")
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            erased = _customer_erasure(conn, team_id=team_id, customer_id=customer_id, now=now)
        except BaseException:
            transaction.rollback()
            raise
        if dry_run:
            transaction.rollback()
        else:
            transaction.commit()
    return erased


# --------------------------------------------------------------------------- retention


@dataclass(frozen=True)
class Retention:
    """Cut-off times of one workspace's retention settings; None keeps that data forever."""

    responses_before: datetime | None = None
    insights_before: datetime | None = None
    payloads_before: datetime | None = None
    events_before: datetime | None = None
    shoutouts_before: datetime | None = None
    surveys_before: datetime | None = None  # pulse rounds closed before this
    directory_before: datetime | None = None  # member entries Slack last listed before this


def purge_old(
    engine: Engine, *, team_id: str, retention: Retention, now: datetime, batch: int = PURGE_BATCH
) -> Erased:
    """Erase what the retention settings no longer keep; each batch its own transaction, so
    a big first purge neither holds locks for long nor loses its progress to a crash."""
    total = Erased()
    if retention.responses_before is not None:
        while True:
            with engine.begin() as conn:
                ids = (
                    conn.execute(
                        select(_R.c.id)
                        .where(
                            _R.c.team_id == team_id, _R.c.responded_at < retention.responses_before
                        )
                        .order_by(_R.c.id)
                        .limit(batch)
                    )
                    .scalars()
                    .all()
                )
                if not ids:
                    break
                total += erase_responses(conn, team_id=team_id, response_ids=ids, now=now)
            if len(ids) < batch:
                break
    if retention.insights_before is not None:
        with engine.begin() as conn:
            total += _purge_insights(conn, team_id=team_id, before=retention.insights_before)
    if retention.payloads_before is not None:
        with engine.begin() as conn:
            # The row stays (its key keeps the message from being sent twice); what it said
            # (names, comments) goes.
            emptied = (
                conn.execute(
                    update(_O)
                    .where(
                        _O.c.team_id == team_id,
                        _O.c.status.in_((outbox.SENT, outbox.FAILED)),
                        _O.c.created_at < retention.payloads_before,
                        _O.c.method != "emptied",
                    )
                    .values(payload={}, method="emptied", last_error=None)
                ).rowcount
                or 0
            )
            total += Erased(payloads=emptied)
    if retention.events_before is not None:
        with engine.begin() as conn:
            conn.execute(
                delete(_E).where(
                    _E.c.team_id == team_id, _E.c.received_at < retention.events_before
                )
            )
    if retention.shoutouts_before is not None:
        while True:
            with engine.begin() as conn:
                purged = _purge_shoutouts(
                    conn, team_id=team_id, before=retention.shoutouts_before, limit=batch
                )
            total += purged
            if purged.shoutouts < batch:
                break
    if retention.surveys_before is not None:
        with engine.begin() as conn:
            total += _purge_survey_answers(
                conn, team_id=team_id, before=retention.surveys_before, now=now
            )
    if retention.directory_before is not None:
        with engine.begin() as conn:
            dropped = (
                conn.execute(
                    delete(_U).where(
                        _U.c.team_id == team_id, _U.c.refreshed_at < retention.directory_before
                    )
                ).rowcount
                or 0
            )
            total += Erased(directory=dropped)
    return total


def _purge_shoutouts(conn: Connection, *, team_id: str, before: datetime, limit: int) -> Erased:
    """Up to `limit` shout-outs given before `before`, with their receivers, seconds and
    outbox rows. Their messages stay in Slack (Slack's own retention governs those), like
    the insights' cards."""
    ids = (
        conn.execute(
            select(_S.c.id)
            .where(_S.c.team_id == team_id, _S.c.created_at < before)
            .order_by(_S.c.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    shoutouts = outbox_rows = 0
    for chunk in _chunks(ids, 100):
        outbox_rows += _drop_outbox_rows(conn, team_id, "shoutout:", chunk)
        conn.execute(delete(_SR).where(_SR.c.team_id == team_id, _SR.c.shoutout_id.in_(chunk)))
        conn.execute(delete(_SS).where(_SS.c.team_id == team_id, _SS.c.shoutout_id.in_(chunk)))
        shoutouts += (
            conn.execute(delete(_S).where(_S.c.team_id == team_id, _S.c.id.in_(chunk))).rowcount
            or 0
        )
    return Erased(shoutouts=shoutouts, outbox=outbox_rows)


def _purge_survey_answers(
    conn: Connection, *, team_id: str, before: datetime, now: datetime
) -> Erased:
    """The answers of pulse rounds closed before `before`. A round's results were computed
    and kept when it closed (`SurveyRound.results`), so reports and digests still show them;
    a customer-facing round keeps its answers until they are in the metrics."""
    rounds = (
        conn.execute(
            select(_SRD.c.id).where(
                _SRD.c.team_id == team_id,
                _SRD.c.closed_at.is_not(None),
                _SRD.c.closed_at < before,
                or_(_SRD.c.customer_facing.is_(False), _SRD.c.metrics_recorded.is_(True)),
            )
        )
        .scalars()
        .all()
    )
    answers = 0
    keep_asked = now - timedelta(days=PARTICIPATION_KEEP_DAYS)
    for chunk in _chunks(rounds):
        answers += (
            conn.execute(
                delete(_SA).where(_SA.c.team_id == team_id, _SA.c.round_id.in_(chunk))
            ).rowcount
            or 0
        )
        # Who was asked and who answered goes too, once no cooldown can need it.
        conn.execute(
            delete(_SP).where(
                _SP.c.team_id == team_id,
                _SP.c.round_id.in_(chunk),
                or_(_SP.c.asked_at.is_(None), _SP.c.asked_at < keep_asked),
            )
        )
    return Erased(survey_answers=answers)


def _purge_insights(conn: Connection, *, team_id: str, before: datetime) -> Erased:
    ids = (
        conn.execute(select(_I.c.id).where(_I.c.team_id == team_id, _I.c.created_at < before))
        .scalars()
        .all()
    )
    deleted = outbox_rows = 0
    for chunk in _chunks(ids):
        conn.execute(delete(_V).where(_V.c.insight_id.in_(chunk)))
        for few in _chunks(chunk, 100):
            outbox_rows += _drop_outbox_rows(conn, team_id, "insight:", few)
        # Newer insights marked as duplicates of these lose the link, not themselves.
        conn.execute(
            update(_I)
            .where(_I.c.team_id == team_id, _I.c.duplicate_of.in_(chunk))
            .values(duplicate_of=None)
        )
    for chunk in _chunks(ids):
        deleted += (
            conn.execute(delete(_I).where(_I.c.team_id == team_id, _I.c.id.in_(chunk))).rowcount
            or 0
        )
    return Erased(insights=deleted, outbox=outbox_rows)


def teams_with_data(engine: Engine) -> list[str]:
    """Workspaces that keep anything retention erases (what retention has to look at)."""
    teams: set[str] = set()
    with engine.connect() as conn:
        for table in (_R, _I, _O, _S, _SA, _U):
            teams |= set(conn.execute(select(table.c.team_id).distinct()).scalars())
    return sorted(teams)
