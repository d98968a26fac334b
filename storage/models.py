"""The tables. Every row carries the Slack workspace (team) id it belongs to.

Alembic migrations in `storage/migrations` are generated from this metadata;
`tests/storage/test_migrations.py` fails when the two drift apart.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, Numeric, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

TEAM = 32  # Slack team ids are short; the bound keeps indexes small on PostgreSQL


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


# --------------------------------------------------------------------------- answers


class Response(SQLModel, table=True):
    """One customer's answer to one survey question (NPS, CSAT or CES)."""

    __table_args__ = (
        UniqueConstraint("team_id", "response_key", name="uq_response_team_key"),
        Index("ix_response_team_day", "team_id", "local_day"),
        Index("ix_response_team_customer", "team_id", "customer_id"),
        # No index on batch_id: each one slows every import, and readers of a batch
        # find it among the ids above the largest id before its insert.
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM)
    # The source's response_id, or a hash of the whole row when it has none:
    # re-importing the same answer hits the unique constraint instead of adding a row.
    response_key: str = Field(max_length=200)
    responded_at: datetime = _ts()
    # The answer's calendar day in the workspace timezone at import time; periods
    # (ISO weeks, months, ...) are unions of these days.
    local_day: date
    metric: str = Field(max_length=8)
    score: int
    customer_id: str | None = Field(default=None, max_length=200)
    segment: str | None = Field(default=None, max_length=200)
    touchpoint: str | None = Field(default=None, max_length=200)
    comment: str | None = Field(default=None, sa_type=Text)
    employee: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=8)
    # Personal data: erased with the answer (forget, retention), exported only on request,
    # shown only to members who may act on the answer's alert (storage/mail.py).
    customer_email: str | None = Field(default=None, max_length=320)
    customer_name: str | None = Field(default=None, max_length=200)
    source: str = Field(default="import", max_length=16)
    batch_id: str = Field(max_length=40)
    created_at: datetime = _ts(default_factory=utcnow)


class ResponseDaily(SQLModel, table=True):
    """Answer counts per day, metric, segment, touchpoint and score.

    Kept up to date in the same transaction as every insert, so a year's metrics
    read a few thousand rows instead of millions of answers. Unknown segment or
    touchpoint is stored as '' because NULLs never collide in a primary key.
    """

    team_id: str = Field(max_length=TEAM, primary_key=True)
    day: date = Field(primary_key=True)
    metric: str = Field(max_length=8, primary_key=True)
    segment: str = Field(default="", max_length=200, primary_key=True)
    touchpoint: str = Field(default="", max_length=200, primary_key=True)
    score: int = Field(primary_key=True)
    n: int = 0


class ResponseMonthly(SQLModel, table=True):
    """`responsedaily` summed per calendar month (`month` is the month's first day).

    Months, quarters and years are whole months: they read 12 rows per combination
    instead of 365, which keeps a year over millions of answers fast.
    """

    team_id: str = Field(max_length=TEAM, primary_key=True)
    month: date = Field(primary_key=True)
    metric: str = Field(max_length=8, primary_key=True)
    segment: str = Field(default="", max_length=200, primary_key=True)
    touchpoint: str = Field(default="", max_length=200, primary_key=True)
    score: int = Field(primary_key=True)
    n: int = 0


class Customer(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("team_id", "customer_id", name="uq_customer_team_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM, index=True)
    customer_id: str = Field(max_length=200)
    name: str | None = Field(default=None, max_length=200)
    started_at: date
    ended_at: date | None = None
    segment: str | None = Field(default=None, max_length=200)
    annual_revenue: Decimal | None = Field(default=None, sa_type=Numeric(16, 2))
    acquisition_cost: Decimal | None = Field(default=None, sa_type=Numeric(16, 2))
    updated_at: datetime = _ts(default_factory=utcnow)


# --------------------------------------------------------------------------- insights


class Insight(SQLModel, table=True):
    __table_args__ = (
        Index("ix_insight_team_status", "team_id", "status"),
        # A form submitted twice, or the same message saved twice by one person, is one insight.
        UniqueConstraint("team_id", "request_key", name="uq_insight_request"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM)
    reporter: str = Field(max_length=32)
    text: str = Field(sa_type=Text)
    customer: str | None = Field(default=None, max_length=200)
    segment: str | None = Field(default=None, max_length=200)
    touchpoint: str | None = Field(default=None, max_length=200)
    source: str = Field(default="command", max_length=16)  # command, modal, shortcut
    permalink: str | None = Field(default=None, max_length=500)
    message_author: str | None = Field(default=None, max_length=32)
    category: str | None = Field(default=None, max_length=40)
    sentiment: str | None = Field(default=None, max_length=16)
    impact: int | None = None  # 1-3 from the analysis; each +1 adds it to the priority again
    priority: float | None = None
    duplicate_of: int | None = Field(default=None, foreign_key="insight.id")
    status: str = Field(default="new", max_length=16)  # new, planned, done, not_relevant
    status_by: str | None = Field(default=None, max_length=32)  # who set the status last
    channel: str | None = Field(default=None, max_length=32)
    ts: str | None = Field(default=None, max_length=32)
    request_key: str | None = Field(default=None, max_length=200)
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class InsightVote(SQLModel, table=True):
    """'+1, I heard this too': one per person and insight."""

    insight_id: int = Field(foreign_key="insight.id", primary_key=True)
    user_id: str = Field(max_length=32, primary_key=True)
    team_id: str = Field(max_length=TEAM, index=True)
    created_at: datetime = _ts(default_factory=utcnow)


# --------------------------------------------------------------------------- shout-outs


class Shoutout(SQLModel, table=True):
    __table_args__ = (
        Index("ix_shoutout_team_created", "team_id", "created_at"),
        # Reactions find their shout-out by the posted message.
        Index("ix_shoutout_team_message", "team_id", "channel", "ts"),
        # The same command or form delivered twice records one shout-out.
        UniqueConstraint("team_id", "request_key", name="uq_shoutout_request"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM)
    giver: str | None = Field(default=None, max_length=32)  # None for customer praise
    text: str = Field(sa_type=Text)
    promise: str | None = Field(default=None, max_length=200)
    source: str = Field(default="command", max_length=16)  # command, modal, customer
    response_id: int | None = Field(default=None, foreign_key="response.id", unique=True)
    channel: str | None = Field(default=None, max_length=32)
    ts: str | None = Field(default=None, max_length=32)
    seconds: int = 0
    request_key: str | None = Field(default=None, max_length=100)
    created_at: datetime = _ts(default_factory=utcnow)


class ShoutoutReceiver(SQLModel, table=True):
    shoutout_id: int = Field(foreign_key="shoutout.id", primary_key=True)
    user_id: str = Field(max_length=32, primary_key=True)
    team_id: str = Field(max_length=TEAM, index=True)


class ShoutoutSecond(SQLModel, table=True):
    """A reaction on a shout-out's message: counted once per person and emoji."""

    shoutout_id: int = Field(foreign_key="shoutout.id", primary_key=True)
    user_id: str = Field(max_length=32, primary_key=True)
    reaction: str = Field(max_length=100, primary_key=True)
    team_id: str = Field(max_length=TEAM, index=True)
    created_at: datetime = _ts(default_factory=utcnow)


class SlackUser(SQLModel, table=True):
    """The workspace's members as users.list last showed them.

    Customer answers name employees by e-mail or name; matching them happens inside the
    transaction that stores the answers, where Slack cannot be asked.
    """

    team_id: str = Field(max_length=TEAM, primary_key=True)
    user_id: str = Field(max_length=32, primary_key=True)
    name: str = Field(default="", max_length=200)
    real_name: str = Field(default="", max_length=200)
    display_name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=320)
    is_bot: bool = False
    deleted: bool = False
    locale: str | None = Field(default=None, max_length=16)
    refreshed_at: datetime = _ts(default_factory=utcnow)


# --------------------------------------------------------------------------- alerts


class Alert(SQLModel, table=True):
    __table_args__ = (Index("ix_alert_team_status", "team_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM)
    response_id: int = Field(foreign_key="response.id", unique=True)
    channel: str | None = Field(default=None, max_length=32)
    ts: str | None = Field(default=None, max_length=32)
    status: str = Field(default="open", max_length=16)  # open, claimed, resolved
    owner: str | None = Field(default=None, max_length=32)
    posted: bool = True  # False for history imported past the alerting age
    due_at: datetime = _ts()
    first_response_at: datetime | None = _ts(default=None)
    resolved_at: datetime | None = _ts(default=None)
    outcome: str | None = Field(default=None, max_length=32)
    view_changed: bool | None = None
    resolved_by: str | None = Field(default=None, max_length=32)
    # The outbox key of the summary message whose thread holds this alert (a storm).
    group_key: str | None = Field(default=None, max_length=200)
    reminders_sent: int = 0
    escalated_at: datetime | None = _ts(default=None)
    created_at: datetime = _ts(default_factory=utcnow)


class AlertNote(SQLModel, table=True):
    # A modal submitted twice (double click, Slack retry) carries the same view id.
    __table_args__ = (UniqueConstraint("team_id", "request_key", name="uq_alertnote_request"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM, index=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    user_id: str = Field(max_length=32)
    text: str = Field(sa_type=Text)
    request_key: str | None = Field(default=None, max_length=100)
    created_at: datetime = _ts(default_factory=utcnow)


class AlertMailbox(SQLModel, table=True):
    """An alert's mail thread with its customer: the token of its reply address.

    The token is the only way in from outside (`reply+<token>@<mail.reply_domain>`), so it
    is random (32 bytes) and never derived from the alert id."""

    alert_id: int = Field(foreign_key="alert.id", primary_key=True)
    team_id: str = Field(max_length=TEAM, index=True)
    token: str = Field(max_length=64, unique=True)
    locale: str = Field(default="en", max_length=8)
    created_at: datetime = _ts(default_factory=utcnow)
    replied_at: datetime | None = _ts(default=None)  # the customer's latest reply


class AlertMail(SQLModel, table=True):
    """A mail to the customer (`direction` out) or their reply (in), in an alert's thread."""

    __table_args__ = (
        # The same reply delivered twice (a sender's retry, both inbound routes) is one.
        UniqueConstraint("team_id", "message_id", name="uq_alertmail_message"),
        # A modal submitted twice sends one mail.
        UniqueConstraint("team_id", "request_key", name="uq_alertmail_request"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    direction: str = Field(max_length=4)  # out, in
    user_id: str | None = Field(default=None, max_length=32)  # who sent it (out)
    address: str = Field(max_length=320)  # to (out) or from (in)
    subject: str = Field(default="", max_length=300)
    body: str = Field(default="", sa_type=Text)
    message_id: str = Field(max_length=300)
    in_reply_to: str | None = Field(default=None, max_length=300)
    attachments: list[Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    locale: str = Field(default="en", max_length=8)
    request_key: str | None = Field(default=None, max_length=100)
    # The key the rating link of an outgoing mail is signed with (one answer per mail).
    rating_key: str | None = Field(default=None, max_length=64)
    rating: int | None = None
    rated_at: datetime | None = _ts(default=None)
    # When the SMTP server took it (250 to DATA): an uncertain retry does not send again.
    accepted_at: datetime | None = _ts(default=None)
    created_at: datetime = _ts(default_factory=utcnow)


class MailOptOut(SQLModel, table=True):
    """Addresses that unsubscribed, as a keyed hash: kept after `forget` (the address itself
    is gone), so a customer who opted out is never mailed again."""

    team_id: str = Field(max_length=TEAM, primary_key=True)
    address_hash: str = Field(max_length=64, primary_key=True)
    created_at: datetime = _ts(default_factory=utcnow)


# --------------------------------------------------------------------------- pulse surveys


class Survey(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM, index=True)
    name: str = Field(max_length=200)
    definition: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    anonymous: bool = True
    active: bool = True
    created_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = _ts(default_factory=utcnow)


class SurveyRound(SQLModel, table=True):
    # A scheduled time opens one round however many sweeps see it due.
    __table_args__ = (
        UniqueConstraint("survey_id", "occurrence", name="uq_surveyround_occurrence"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM, index=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    occurrence: datetime | None = _ts(default=None)  # the schedule's time; None when sent by hand
    opened_at: datetime = _ts(default_factory=utcnow)
    closes_at: datetime = _ts()
    closed_at: datetime | None = _ts(default=None)
    remind_at: datetime | None = _ts(default=None)
    reminded_at: datetime | None = _ts(default=None)
    audience_size: int = 0
    # Sent into a Slack Connect channel: the answers also count as customer answers.
    customer_facing: bool = False
    # The anonymity-safe results computed at close (core.surveys.RoundResults JSON).
    results: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    metrics_recorded: bool = False


class SurveyParticipation(SQLModel, table=True):
    """Who was asked and who answered: kept apart from the answers, for reminders.

    `answered` of an anonymous round is set when the round closes, never at the moment
    someone answers (storage.surveys says why)."""

    # The cooldown between surveys looks up who was asked lately.
    __table_args__ = (Index("ix_participation_team_user", "team_id", "user_id", "asked_at"),)

    round_id: int = Field(foreign_key="surveyround.id", primary_key=True)
    user_id: str = Field(max_length=32, primary_key=True)
    team_id: str = Field(max_length=TEAM, index=True)
    asked_at: datetime | None = _ts(default=None)
    answered: bool = False
    reminded_at: datetime | None = _ts(default=None)
    locale: str | None = Field(default=None, max_length=8)  # the language the DMs use


class SurveyRoundKey(SQLModel, table=True):
    """The key of an open anonymous round's per-person slots (storage.surveys).

    A table of its own, not a column of the round: the round row is rewritten while the
    round is open (reminders, closing), and each old version would carry a copy of the
    key. This row is written once at open and deleted at close, and the table is then
    scrubbed (VACUUM FULL on PostgreSQL, secure_delete and a WAL truncate on SQLite).
    """

    round_id: int = Field(foreign_key="surveyround.id", primary_key=True)
    key: bytes = Field(sa_type=LargeBinary)


class SurveyStaged(SQLModel, table=True):
    """An open anonymous round's answers, under HMAC(round key, user id).

    No id and no time: on SQLite the table is WITHOUT ROWID, so rows sit in slot order
    (pseudo-random), not in the order people answered. Closing moves them to
    `surveyanswer` under random slots, shuffled, and empties this table.
    """

    __table_args__ = {"sqlite_with_rowid": False}

    round_id: int = Field(foreign_key="surveyround.id", primary_key=True)
    slot: str = Field(max_length=64, primary_key=True)
    question_id: str = Field(max_length=64, primary_key=True)
    team_id: str = Field(max_length=TEAM)
    score: int | None = None
    value: str | None = Field(default=None, sa_type=Text)


class SurveyAnswer(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("round_id", "slot", "question_id", name="uq_surveyanswer_slot"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM, index=True)
    round_id: int = Field(foreign_key="surveyround.id", index=True)
    question_id: str = Field(max_length=64)
    # Named surveys: the user id. Anonymous: a random value, written at close (the open
    # round's answers are in `surveystaged`).
    slot: str = Field(max_length=64)
    score: int | None = None
    value: str | None = Field(default=None, sa_type=Text)


# --------------------------------------------------------------------------- delivery


class OutboxMessage(SQLModel, table=True):
    """Everything the bot must post, written in the same transaction as its cause."""

    __table_args__ = (
        UniqueConstraint("team_id", "key", name="uq_outbox_team_key"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM)
    key: str = Field(max_length=200)
    method: str = Field(max_length=64)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending, sending, sent, failed
    attempts: int = 0
    # Set while an attempt is under way or ended without a clear answer (timeout,
    # 5xx, crash): the next attempt first checks whether Slack already has it.
    maybe_sent: bool = False
    next_attempt_at: datetime = _ts(default_factory=utcnow)
    last_error: str | None = Field(default=None, sa_type=Text)
    result_channel: str | None = Field(default=None, max_length=32)
    result_ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = _ts(default_factory=utcnow)
    sent_at: datetime | None = _ts(default=None)


class ProcessedEvent(SQLModel, table=True):
    """Slack event ids taken for handling, so Slack's retries are not processed twice.

    A row without `handled_at` is a delivery still being handled (or one whose process
    died); only a handled one makes every later retry a duplicate (storage/events.py).
    """

    event_id: str = Field(max_length=64, primary_key=True)
    team_id: str = Field(max_length=TEAM)
    received_at: datetime = _ts(default_factory=utcnow)  # when the current claim was taken
    handled_at: datetime | None = _ts(default=None)


class WorkspaceSetting(SQLModel, table=True):
    """Settings admins change at run time (`cxbot config set`, `/cx config`)."""

    team_id: str = Field(max_length=TEAM, primary_key=True)
    key: str = Field(max_length=100, primary_key=True)
    value: str = Field(sa_type=Text)
    updated_at: datetime = _ts(default_factory=utcnow)


class SeenRequest(SQLModel, table=True):
    """Signatures of Slack requests already taken, kept while Slack's timestamp window
    would still accept them (bot/replay.py): a captured request sent again is dropped,
    whichever instance it reaches."""

    digest: str = Field(max_length=64, primary_key=True)  # sha256 of the signature
    expires_at: datetime = _ts(index=True)


class SweepRun(SQLModel, table=True):
    """When each scheduled sweep is next due (bot/jobs.py): a newly elected leader keeps
    the timetable of the one before instead of starting every interval again."""

    name: str = Field(max_length=100, primary_key=True)
    next_run_at: datetime = _ts()


# --------------------------------------------------------------------------- goals


class Goal(SQLModel, table=True):
    """A workspace's goal for one metric (`/cx goal`, storage/goals.py): one per metric,
    set again replaces it."""

    team_id: str = Field(max_length=TEAM, primary_key=True)
    metric: str = Field(max_length=8, primary_key=True)  # nps, csat, ces, csi
    target: float
    baseline: float | None = None  # the last complete month's value when it was set
    deadline_at: datetime = _ts()  # the end of the deadline's period, local midnight in UTC
    deadline_label: str = Field(max_length=16)  # as written back: 2027-Q2, 2027-06, 2027-06-30
    set_at: datetime = _ts()
    set_by: str = Field(max_length=32)  # the Slack user id
