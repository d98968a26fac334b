"""Erasing one customer (`cxbot forget customer`) and old data (retention), on SQLite and
PostgreSQL: answers, counts, alerts, notes, shout-outs, records, insights, Slack messages."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot.services import Services
from bot.settings import load_settings
from core.ingest import RESPONSE_COLUMNS
from core.shoutouts import Limits, Person
from storage import alerts, settings_store
from storage import outbox as queue
from storage import shoutouts as shoutout_store
from storage.forget import Retention, forget_customer, purge_old
from storage.models import (
    Alert,
    AlertNote,
    Customer,
    Insight,
    OutboxMessage,
    Response,
    ResponseDaily,
    ResponseMonthly,
    Shoutout,
    ShoutoutReceiver,
    ShoutoutSecond,
    Survey,
    SurveyAnswer,
    SurveyParticipation,
    SurveyRound,
)
from storage.responses import insert_responses
from tests.conftest import FakeClock

T, OTHER = "T0FORGET", "T0OTHER"
R = Response.__table__  # type: ignore[attr-defined]
A = Alert.__table__  # type: ignore[attr-defined]
N = AlertNote.__table__  # type: ignore[attr-defined]
C = Customer.__table__  # type: ignore[attr-defined]
I = Insight.__table__  # type: ignore[attr-defined]  # noqa: E741
O = OutboxMessage.__table__  # type: ignore[attr-defined]  # noqa: E741
S = Shoutout.__table__  # type: ignore[attr-defined]
SR = ShoutoutReceiver.__table__  # type: ignore[attr-defined]
SS = ShoutoutSecond.__table__  # type: ignore[attr-defined]
SV = Survey.__table__  # type: ignore[attr-defined]
SRD = SurveyRound.__table__  # type: ignore[attr-defined]
SA = SurveyAnswer.__table__  # type: ignore[attr-defined]
SP = SurveyParticipation.__table__  # type: ignore[attr-defined]
NOW = datetime.now(UTC).replace(microsecond=0)
_TS = itertools.count(1)
_POSTED: dict[str, str] = {}


def answers(engine: Engine, team: str, rows: list[tuple[str, str, int, datetime]]) -> None:
    """(key, customer, nps score, when) -> stored through the import path (alerts raised)."""
    frame = pd.DataFrame(
        [
            {
                "response_key": f"id:{team}:{key}",
                "responded_at": when,
                "local_day": when.date(),
                "metric": "nps",
                "score": score,
                "customer_id": customer,
                "segment": "smb",
                "touchpoint": "support",
                "comment": f"comment from {customer}",
                "employee": None,
            }
            for key, customer, score, when in rows
        ],
        columns=RESPONSE_COLUMNS,
    )
    insert_responses(engine, team_id=team, frame=frame)


def send_all(engine: Engine) -> None:
    """What the dispatcher would record: every queued message sent, with a channel and ts."""
    claimed = queue.claim_due(engine, now=NOW + timedelta(hours=1), limit=1000)
    for message in claimed:
        owner = message.key.split(":update:")[0]
        if ":update:" in message.key:
            ts = _POSTED[owner]  # chat.update answers with the updated message's ts
        else:
            ts = _POSTED.setdefault(message.key.removesuffix(":post"), f"17000.{next(_TS):06d}")
        queue.mark_sent(engine, message.id, now=NOW, channel="C0ALERTS", ts=ts)


def count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def rollup_total(engine: Engine, team: str, monthly: bool = False) -> int:
    model: Any = ResponseMonthly if monthly else ResponseDaily
    table = model.__table__
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.coalesce(func.sum(table.c.n), 0)).where(table.c.team_id == team)
            ).scalar_one()
        )


@pytest.fixture
def stocked(engine: Engine) -> Engine:
    """Two customers in T (C-1: two detractors and a promoter; C-2: one detractor), and
    a customer with the same id in another workspace."""
    for team in (T, OTHER):
        settings_store.set(engine, team_id=team, key="alerts.channel", value="C0ALERTS")
    recent = NOW - timedelta(days=1)
    answers(
        engine,
        T,
        [("a1", "C-1", 2, recent), ("a2", "C-1", 5, recent), ("a3", "C-1", 10, recent)],
    )
    answers(engine, T, [("b1", "C-2", 3, recent)])
    answers(engine, OTHER, [("x1", "C-1", 1, recent)])
    send_all(engine)
    with engine.begin() as conn:
        first_alert = (
            conn.execute(
                select(A.c.id)
                .join(R, R.c.id == A.c.response_id)
                .where(A.c.team_id == T, R.c.customer_id == "C-1")
                .order_by(A.c.id)
            )
            .scalars()
            .first()
        )
        promoter = conn.execute(
            select(R.c.id).where(R.c.team_id == T, R.c.response_key == f"id:{T}:a3")
        ).scalar_one()
        shout = conn.execute(
            insert(S)
            .values(
                team_id=T,
                text="comment from C-1",
                source="customer",
                response_id=promoter,
                channel="C0SHOUT",
                ts="1700000100.000001",
                seconds=0,
                created_at=NOW,
            )
            .returning(S.c.id)
        ).scalar_one()
        conn.execute(insert(SR).values(shoutout_id=shout, user_id="U0ADA", team_id=T))
        for team, customer in ((T, "C-1"), (T, "C-2"), (OTHER, "C-1")):
            conn.execute(
                insert(C).values(
                    team_id=team, customer_id=customer, started_at=date(2025, 1, 1), updated_at=NOW
                )
            )
        named: list[tuple[str, str | None]] = [(T, "c-1"), (T, "C-2"), (OTHER, "C-1"), (T, None)]
        for team, named_customer in named:
            conn.execute(
                insert(I).values(
                    team_id=team,
                    reporter="U0ADA",
                    text=f"heard from {named_customer}",
                    customer=named_customer,
                    source="command",
                    status="new",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    assert first_alert is not None
    alerts.add_note(
        engine, team_id=T, alert_id=first_alert, user_id="U0ADA", text="called", now=NOW
    )
    send_all(engine)
    return engine


def test_forget_erases_one_customer_everywhere(stocked: Engine) -> None:
    engine = stocked
    before_other = (count(engine, R, R.c.team_id == OTHER), rollup_total(engine, OTHER))
    preview = forget_customer(engine, team_id=T, customer_id="C-1", now=NOW, dry_run=True)
    assert count(engine, R, R.c.customer_id == "C-1", R.c.team_id == T) == 3  # untouched

    erased = forget_customer(engine, team_id=T, customer_id="C-1", now=NOW)
    assert erased == preview
    assert (erased.responses, erased.alerts, erased.notes) == (3, 2, 1)
    assert (erased.shoutouts, erased.customers, erased.insights_cleared) == (1, 1, 1)
    # Two alert posts, the note in the thread, the shout-out's post.
    assert erased.slack_messages == 4

    assert count(engine, R, R.c.team_id == T, R.c.customer_id == "C-1") == 0
    assert count(engine, R, R.c.team_id == T) == 1
    assert rollup_total(engine, T) == 1 and rollup_total(engine, T, monthly=True) == 1
    assert count(engine, A, A.c.team_id == T) == 1  # C-2's
    assert count(engine, N) == 0
    assert count(engine, S) == 0 and count(engine, SR) == 0
    assert count(engine, C, C.c.team_id == T) == 1
    with engine.connect() as conn:
        named = sorted(
            str(c) for c in conn.execute(select(I.c.customer).where(I.c.team_id == T)).scalars()
        )
        deletes = conn.execute(
            select(O.c.method, O.c.payload, O.c.status).where(O.c.key.like("erase:%"))
        ).all()
        alert_keys = (
            conn.execute(select(O.c.key).where(O.c.team_id == T, O.c.key.like("alert:%")))
            .scalars()
            .all()
        )
    assert named == ["C-2", "None", "None"]
    assert len(deletes) == 4
    assert {d.method for d in deletes} == {"chat.delete"}
    assert {d.status for d in deletes} == {"pending"}
    assert {(d.payload["channel"]) for d in deletes} == {"C0ALERTS", "C0SHOUT"}
    assert len(alert_keys) == 1  # C-2's alert post is still on record
    # Nothing of the other workspace moved, though its customer has the same id.
    assert (count(engine, R, R.c.team_id == OTHER), rollup_total(engine, OTHER)) == before_other
    assert count(engine, C, C.c.team_id == OTHER) == 1
    assert count(engine, I, I.c.team_id == OTHER, I.c.customer == "C-1") == 1

    again = forget_customer(engine, team_id=T, customer_id="C-1", now=NOW)
    assert not again.anything


def test_retention_erases_old_answers_insights_and_payloads(stocked: Engine) -> None:
    engine = stocked
    old = NOW - timedelta(days=400)
    answers(engine, T, [("old1", "C-9", 1, old), ("old2", "C-9", 9, old)])
    send_all(engine)
    total_before = count(engine, R, R.c.team_id == T)
    erased = purge_old(
        engine,
        team_id=T,
        retention=Retention(responses_before=NOW - timedelta(days=365)),
        now=NOW,
        batch=1,  # several transactions, as a big purge takes
    )
    assert erased.responses == 2
    assert count(engine, R, R.c.team_id == T) == total_before - 2
    assert rollup_total(engine, T) == total_before - 2
    assert count(engine, R, R.c.customer_id == "C-9") == 0

    later = NOW + timedelta(days=2)
    erased = purge_old(
        engine,
        team_id=T,
        retention=Retention(insights_before=later, payloads_before=later),
        now=later,
    )
    assert erased.insights == 3
    assert count(engine, I, I.c.team_id == T) == 0
    assert count(engine, I, I.c.team_id == OTHER) == 1
    assert erased.payloads > 0
    with engine.connect() as conn:
        sent = conn.execute(
            select(O.c.payload, O.c.key).where(O.c.team_id == T, O.c.status == "sent")
        ).all()
    assert sent and all(row.payload == {} for row in sent)
    # The keys stay: nothing already sent can be queued again.
    with engine.begin() as conn:
        again = queue.enqueue(
            conn, team_id=T, key=sent[0].key, method="chat.postMessage", payload={"text": "x"}
        )
    assert again is False


def test_retention_sweep_reads_the_workspace_settings(stocked: Engine, tmp_path: Path) -> None:
    from bot.retention import run_retention

    engine = stocked
    answers(engine, T, [("old1", "C-9", 1, NOW - timedelta(days=100))])
    answers(engine, OTHER, [("old1", "C-9", 1, NOW - timedelta(days=100))])
    settings_store.set(engine, team_id=T, key="retention.responses_days", value="90")
    settings = load_settings(_env_file=None, database_url=str(engine.url))
    services = Services(settings=settings, engine=engine, clock=FakeClock(NOW))
    done = run_retention(services)
    assert done[T].responses == 1
    assert count(engine, R, R.c.team_id == T, R.c.customer_id == "C-9") == 0
    # OTHER keeps answers forever (no retention set).
    assert count(engine, R, R.c.team_id == OTHER, R.c.customer_id == "C-9") == 1


def test_cli_forget_customer_confirms_and_reports(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from bot.cli import app

    engine = sqlite_engine
    settings_store.set(engine, team_id=T, key="alerts.channel", value="C0ALERTS")
    answers(engine, T, [("a1", "C-1", 2, NOW - timedelta(days=1))])
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    refused = runner.invoke(app, ["forget", "customer", "C-1", "--team", T], input="n\n")
    assert refused.exit_code == 1
    assert "1 answer" in refused.output and "1 detractor alert" in refused.output
    assert count(engine, R, R.c.team_id == T) == 1

    done = runner.invoke(app, ["forget", "customer", "C-1", "--team", T, "--yes"])
    assert done.exit_code == 0, done.output
    assert f"erased customer 'C-1' in workspace {T}" in done.output
    assert count(engine, R, R.c.team_id == T) == 0

    nothing = runner.invoke(app, ["forget", "customer", "C-1", "--team", T, "--yes"])
    assert nothing.exit_code == 0
    assert "nothing stored about customer 'C-1'" in nothing.output

    blank = runner.invoke(app, ["forget", "customer", "  ", "--team", T])
    assert blank.exit_code == 2


# --------------------------------------------------------------------------- insight cards


def _insight(engine: Engine, team: str, customer: str | None) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(I)
                .values(
                    team_id=team,
                    reporter="U0ADA",
                    text="the parcel came late",
                    customer=customer,
                    source="command",
                    status="new",
                    category="delivery",
                    channel="C0INSIGHT",
                    ts="1700000200.000001",
                    created_at=NOW,
                    updated_at=NOW,
                )
                .returning(I.c.id)
            ).scalar_one()
        )


def _sent(engine: Engine, team: str, key: str, payload: dict[str, Any]) -> None:
    with engine.begin() as conn:
        queue.enqueue(conn, team_id=team, key=key, method="render:insight", payload=payload)
    with engine.begin() as conn:
        conn.execute(
            O.update()
            .where(O.c.team_id == team, O.c.key == key)
            .values(status="sent", result_channel="C0INSIGHT", result_ts="1700000200.000001")
        )


def test_forget_takes_the_name_off_insight_messages(engine: Engine) -> None:
    named = _insight(engine, T, "Acme AB")
    near = _insight(engine, T, "Acme ABC")  # another customer, whose name starts alike
    elsewhere = _insight(engine, OTHER, "Acme AB")
    said = {
        "channel": "C0INSIGHT",
        "ts": "1700000200.000001",
        "action": "acme ab",  # an id or enum field is never touched
        "text": "Customer: ACME AB · also seen at Acme ABC",
        "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "acme ab!"}]}],
    }
    for team, insight in ((T, named), (T, near), (OTHER, elsewhere)):
        _sent(engine, team, f"insight:{insight}:post", {"action": "post", "insight_id": insight})
        _sent(engine, team, f"insight:{insight}:dm:1", said)

    preview = forget_customer(engine, team_id=T, customer_id=" acme ab ", now=NOW, dry_run=True)
    erased = forget_customer(engine, team_id=T, customer_id=" acme ab ", now=NOW)
    assert erased == preview
    assert (erased.insights_cleared, erased.insight_cards, erased.payloads_scrubbed) == (1, 1, 1)

    with engine.connect() as conn:
        rows = {
            (r.team_id, r.key): r
            for r in conn.execute(select(O.c.team_id, O.c.key, O.c.payload, O.c.status))
        }
        customers = dict(conn.execute(select(I.c.id, I.c.customer)).all())
    assert customers == {named: None, near: "Acme ABC", elsewhere: "Acme AB"}
    scrubbed = rows[(T, f"insight:{named}:dm:1")].payload
    assert scrubbed == {
        **said,
        "text": "Customer: [erased] · also seen at Acme ABC",
        "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "[erased]!"}]}],
    }
    assert rows[(T, f"insight:{near}:dm:1")].payload == said
    assert rows[(OTHER, f"insight:{elsewhere}:dm:1")].payload == said
    # The card in the channel is re-rendered from the insight as it is now.
    update = rows[(T, f"insight:{named}:update:1")]
    assert update.status == "pending"
    assert update.payload == {"action": "update", "insight_id": named}
    assert (T, f"insight:{near}:update:1") not in rows
    assert (OTHER, f"insight:{elsewhere}:update:1") not in rows

    assert not forget_customer(engine, team_id=T, customer_id="acme ab", now=NOW).anything


# --------------------------------------------------------------------------- more retention


def _shoutout(engine: Engine, team: str, when: datetime) -> int:
    result = shoutout_store.give(
        engine,
        team_id=team,
        shout=shoutout_store.NewShoutout("U0ADA", ("U0BJORN",), "Called back", None),
        limits=Limits(0, 0),
        day_start=when - timedelta(hours=1),
        now=when,
        delivery=shoutout_store.Delivery("C0SHOUT"),
    )
    assert result.shoutout_id is not None
    with engine.begin() as conn:
        conn.execute(
            insert(SS).values(
                shoutout_id=result.shoutout_id,
                user_id="U0KARI",
                reaction="clap",
                team_id=team,
                created_at=when,
            )
        )
    return result.shoutout_id


def _round(
    engine: Engine,
    team: str,
    *,
    closed: datetime | None,
    customer_facing: bool = False,
    recorded: bool = False,
) -> int:
    opened = (closed or NOW) - timedelta(days=3)
    with engine.begin() as conn:
        survey = conn.execute(
            insert(SV)
            .values(
                team_id=team,
                name="pulse",
                definition={"questions": []},
                anonymous=False,
                active=True,
                created_at=opened,
            )
            .returning(SV.c.id)
        ).scalar_one()
        round_id = conn.execute(
            insert(SRD)
            .values(
                team_id=team,
                survey_id=survey,
                opened_at=opened,
                closes_at=opened + timedelta(days=3),
                closed_at=closed,
                audience_size=2,
                customer_facing=customer_facing,
                metrics_recorded=recorded,
                results={"asked": 2, "answered": 2, "min_answers": 1, "shown": True},
            )
            .returning(SRD.c.id)
        ).scalar_one()
        for user in ("U0ADA", "U0BJORN"):
            conn.execute(
                insert(SP).values(
                    round_id=round_id, user_id=user, team_id=team, asked_at=opened, answered=True
                )
            )
            conn.execute(
                insert(SA).values(
                    team_id=team, round_id=round_id, question_id="enps", slot=user, score=9
                )
            )
    return int(round_id)


def test_retention_erases_old_shoutouts_survey_answers_and_directory(engine: Engine) -> None:
    old, recent = NOW - timedelta(days=400), NOW - timedelta(days=2)
    gone = [_shoutout(engine, T, old), _shoutout(engine, T, old)]
    kept = _shoutout(engine, T, recent)
    theirs = _shoutout(engine, OTHER, old)
    closed_long_ago = _round(engine, T, closed=old)
    closed_lately = _round(engine, T, closed=recent)
    still_open = _round(engine, T, closed=None)
    unrecorded = _round(engine, T, closed=old, customer_facing=True)
    recorded = _round(engine, T, closed=old, customer_facing=True, recorded=True)
    their_round = _round(engine, OTHER, closed=old)
    people = [Person("U0ADA", "ada", "Ada", "ada", "ada@example.com")]
    shoutout_store.replace_directory(engine, team_id=T, people=people, now=old)
    shoutout_store.replace_directory(engine, team_id=OTHER, people=people, now=old)

    cutoff = NOW - timedelta(days=365)
    erased = purge_old(
        engine,
        team_id=T,
        retention=Retention(
            shoutouts_before=cutoff,
            surveys_before=cutoff,
            directory_before=NOW - timedelta(days=30),
        ),
        now=NOW,
        batch=1,  # several transactions, as a big purge takes
    )
    assert (erased.shoutouts, erased.survey_answers, erased.directory) == (2, 4, 1)
    assert count(engine, S, S.c.team_id == T) == 1
    assert count(engine, S, S.c.id.in_(gone)) == 0
    assert count(engine, SR, SR.c.shoutout_id.in_(gone)) == 0
    assert count(engine, SS, SS.c.shoutout_id.in_(gone)) == 0
    shout_keys = [f"shoutout:{i}:%" for i in gone]
    assert all(count(engine, O, O.c.team_id == T, O.c.key.like(k)) == 0 for k in shout_keys)
    assert count(engine, O, O.c.key.like(f"shoutout:{kept}:%")) > 0
    assert count(engine, SR, SR.c.shoutout_id == kept) == 1

    def answers(round_id: int) -> int:
        return count(engine, SA, SA.c.round_id == round_id)

    assert answers(closed_long_ago) == 0 and answers(recorded) == 0
    assert answers(closed_lately) == answers(still_open) == answers(unrecorded) == 2
    # Who was asked 400 days ago no cooldown needs any more; the results stay.
    assert count(engine, SP, SP.c.round_id == closed_long_ago) == 0
    assert count(engine, SP, SP.c.round_id == closed_lately) == 2
    with engine.connect() as conn:
        results = conn.execute(select(SRD.c.results).where(SRD.c.id == closed_long_ago)).scalar()
    assert results == {"asked": 2, "answered": 2, "min_answers": 1, "shown": True}
    assert shoutout_store.directory(engine, team_id=T) == []

    # Nothing of the other workspace moved.
    assert count(engine, S, S.c.id == theirs) == 1
    assert count(engine, SA, SA.c.round_id == their_round) == 2
    assert len(shoutout_store.directory(engine, team_id=OTHER)) == 1

    # A round closed 40 days ago under a 30-day limit: its answers go, but who was asked
    # stays while a survey's cooldown (up to 90 days) may still look it up.
    fresh = _round(engine, T, closed=NOW - timedelta(days=40))
    erased = purge_old(
        engine,
        team_id=T,
        retention=Retention(surveys_before=NOW - timedelta(days=30)),
        now=NOW,
    )
    assert erased.survey_answers == 2  # closed_lately (2 days ago) is still newer
    assert count(engine, SA, SA.c.round_id == fresh) == 0
    assert count(engine, SP, SP.c.round_id == fresh) == 2


def test_retention_sweep_reads_the_new_settings(engine: Engine) -> None:
    from bot.retention import run_retention

    old = NOW - timedelta(days=100)
    _shoutout(engine, T, old)
    _shoutout(engine, OTHER, old)
    _round(engine, T, closed=old)
    _round(engine, OTHER, closed=old)
    settings_store.set(engine, team_id=T, key="retention.shoutouts_days", value="90")
    settings_store.set(engine, team_id=T, key="retention.surveys_days", value="60")
    settings = load_settings(_env_file=None, database_url=str(engine.url))
    done = run_retention(Services(settings=settings, engine=engine, clock=FakeClock(NOW)))
    assert (done[T].shoutouts, done[T].survey_answers) == (1, 2)
    assert OTHER not in done or (done[OTHER].shoutouts, done[OTHER].survey_answers) == (0, 0)
    assert count(engine, S, S.c.team_id == OTHER) == 1
    assert count(engine, SA, SA.c.team_id == OTHER) == 2


def test_retention_drops_old_insights_outbox_rows_so_a_reused_id_can_post(
    engine: Engine,
) -> None:
    old = _insight(engine, T, None)
    kept = _insight(engine, OTHER, None)
    for team, insight in ((T, old), (OTHER, kept)):
        _sent(engine, team, f"insight:{insight}:post", {"action": "post", "insight_id": insight})
    later = NOW + timedelta(days=2)
    erased = purge_old(engine, team_id=T, retention=Retention(insights_before=later), now=later)
    assert (erased.insights, erased.outbox) == (1, 1)
    with engine.connect() as conn:
        keys = {(row.team_id, row.key) for row in conn.execute(select(O.c.team_id, O.c.key))}
    assert (T, f"insight:{old}:post") not in keys
    assert (OTHER, f"insight:{kept}:post") in keys  # the other workspace keeps its own
    # An insight that gets the erased one's id (SQLite hands freed ids out again) is posted.
    with engine.begin() as conn:
        assert queue.enqueue(
            conn,
            team_id=T,
            key=f"insight:{old}:post",
            method="render:insight",
            payload={"action": "post", "insight_id": old},
        )
