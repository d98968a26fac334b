"""Keeping shout-outs on SQLite and PostgreSQL: giving under limits, the queued messages,
customer praise inside the import transaction, seconds, the week's rows, the directory."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from core.ingest import RESPONSE_COLUMNS
from core.shoutouts import Limits, Person
from storage import settings_store
from storage import shoutouts as store
from storage.home_queries import recent_shoutouts
from storage.models import OutboxMessage, Response, Shoutout, ShoutoutReceiver
from storage.responses import insert_responses

TEAM = "T0SHOUT"
OTHER = "T0OTHER"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAY_START = datetime(2026, 11, 19, 23, 0, tzinfo=UTC)  # midnight in Oslo
PEOPLE = [
    Person("U0ADA", "ada", "Ada Lovelace", "ada", "ada@example.com", locale="en-US"),
    Person("U0BJORN", "bjorn", "Bjørn Hansen", "bjorn", "Bjorn@Example.com", locale="nb-NO"),
    Person("U0KARI", "kari", "Kari Nordmann", "kari", "kari@example.com", locale="nb-NO"),
    Person("U0GONE", "former", "Former Colleague", "", "former@example.com", deleted=True),
]


def give(
    engine: Engine,
    giver: str = "U0ADA",
    receivers: tuple[str, ...] = ("U0BJORN",),
    *,
    now: datetime = NOW,
    limits: Limits = Limits(5, 3),
    key: str | None = None,
    team: str = TEAM,
    channel: str | None = "C0SHOUT",
) -> store.GiveResult:
    return store.give(
        engine,
        team_id=team,
        shout=store.NewShoutout(
            giver, receivers, "Called the customer back", "Keep it simple", request_key=key
        ),
        limits=limits,
        day_start=DAY_START,
        now=now,
        delivery=store.Delivery(channel, "nb", {"U0BJORN": "nb-NO"}),
    )


def outbox(engine: Engine, team: str = TEAM) -> list[tuple[str, str, dict[str, Any]]]:
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(
            select(table.c.key, table.c.method, table.c.payload)
            .where(table.c.team_id == team)
            .order_by(table.c.id)
        ).all()
    return [(r.key, r.method, r.payload) for r in rows]


def count(engine: Engine, model: Any, team: str = TEAM) -> int:
    table = model.__table__
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(table).where(table.c.team_id == team)
            ).scalar_one()
        )


# --------------------------------------------------------------------------- giving


def test_give_stores_and_queues_post_and_dms(engine: Engine) -> None:
    result = give(engine, receivers=("U0BJORN", "U0KARI", "U0BJORN"))
    assert result.allowance.allowed and result.shoutout_id is not None
    assert result.allowance.remaining == 4
    sid = result.shoutout_id
    assert outbox(engine) == [
        (f"shoutout:{sid}:post", "render:shoutout",
         {"shoutout_id": sid, "kind": "post", "channel": "C0SHOUT", "locale": "nb"}),
        (f"shoutout:{sid}:dm:U0BJORN", "render:shoutout",
         {"shoutout_id": sid, "kind": "dm", "user": "U0BJORN", "locale": "nb-NO"}),
        (f"shoutout:{sid}:dm:U0KARI", "render:shoutout",
         {"shoutout_id": sid, "kind": "dm", "user": "U0KARI", "locale": None}),
    ]  # fmt: skip
    detail = store.get(engine, team_id=TEAM, shoutout_id=sid)
    assert detail is not None
    assert (detail.giver, detail.receivers, detail.promise, detail.source) == (
        "U0ADA",
        ("U0BJORN", "U0KARI"),
        "Keep it simple",
        "command",
    )
    assert detail.created_at == NOW
    assert store.get(engine, team_id=OTHER, shoutout_id=sid) is None


def test_without_a_channel_only_dms_are_queued(engine: Engine) -> None:
    sid = give(engine, channel=None).shoutout_id
    assert [k for k, _m, _p in outbox(engine)] == [f"shoutout:{sid}:dm:U0BJORN"]


def test_daily_limit_refuses_and_queues_nothing(engine: Engine) -> None:
    limits = Limits(2, 0)
    remaining = [give(engine, now=NOW + timedelta(minutes=i), limits=limits) for i in range(2)]
    assert [r.allowance.remaining for r in remaining] == [1, 0]
    before = outbox(engine)
    refused = give(engine, now=NOW + timedelta(minutes=5), limits=limits)
    assert refused.shoutout_id is None
    assert (refused.allowance.reason, refused.allowance.limit) == ("daily", 2)
    assert outbox(engine) == before
    assert count(engine, Shoutout) == 2
    # Yesterday's shout-outs do not count; another giver has their own limit.
    assert give(engine, giver="U0KARI", limits=limits).shoutout_id is not None


def test_daily_limit_counts_from_the_given_day_start(engine: Engine) -> None:
    limits = Limits(1, 0)
    assert give(engine, now=DAY_START - timedelta(minutes=1), limits=limits).shoutout_id
    assert give(engine, now=DAY_START + timedelta(minutes=1), limits=limits).shoutout_id
    assert give(engine, now=DAY_START + timedelta(minutes=2), limits=limits).shoutout_id is None


def test_pair_limit_over_seven_days(engine: Engine) -> None:
    limits = Limits(0, 2)
    for days in (6, 3):
        assert give(engine, now=NOW - timedelta(days=days), limits=limits).shoutout_id
    refused = give(engine, receivers=("U0KARI", "U0BJORN"), limits=limits)
    assert (refused.allowance.reason, refused.allowance.pair_user) == ("pair", "U0BJORN")
    assert give(engine, receivers=("U0KARI",), limits=limits).shoutout_id
    # A week after the first, the pair may meet again.
    assert give(engine, now=NOW + timedelta(days=1, hours=1), limits=limits).shoutout_id


def test_the_same_request_records_one_shoutout(engine: Engine) -> None:
    first = give(engine, key="V0MODAL1")
    again = give(engine, key="V0MODAL1", now=NOW + timedelta(seconds=2))
    assert again.duplicate and again.shoutout_id == first.shoutout_id
    assert again.allowance.remaining == first.allowance.remaining
    assert count(engine, Shoutout) == 1
    assert len(outbox(engine)) == 2


def test_concurrent_gives_respect_the_daily_limit(engine: Engine) -> None:
    limits = Limits(3, 0)
    results: list[store.GiveResult] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        r = give(engine, receivers=(f"U0R{i:02d}",), now=NOW + timedelta(seconds=i), limits=limits)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(1 for r in results if r.shoutout_id is not None) == 3
    assert count(engine, Shoutout) == 3


# --------------------------------------------------------------------------- reading


def test_week_rows_and_team_isolation(engine: Engine) -> None:
    a = give(engine, now=NOW - timedelta(days=8)).shoutout_id
    b = give(engine, receivers=("U0KARI", "U0BJORN"), now=NOW).shoutout_id
    give(engine, team=OTHER, now=NOW)
    rows = store.week_rows(
        engine, team_id=TEAM, start=NOW - timedelta(days=7), end=NOW + timedelta(1)
    )
    assert [(r.id, r.giver, r.receivers, r.promise) for r in rows] == [
        (b, "U0ADA", ("U0BJORN", "U0KARI"), "Keep it simple")
    ]
    assert a not in [r.id for r in rows]
    assert store.week_rows(engine, team_id=TEAM, start=NOW, end=NOW) == []


# --------------------------------------------------------------------------- seconds


def test_reactions_count_once_per_person_and_emoji(engine: Engine) -> None:
    sid = give(engine).shoutout_id
    assert sid is not None
    store.record_post(engine, team_id=TEAM, shoutout_id=sid, channel="C0SHOUT", ts="1.000100")
    assert store.is_posted(engine, team_id=TEAM, channel="C0SHOUT", ts="1.000100")
    assert not store.is_posted(engine, team_id=OTHER, channel="C0SHOUT", ts="1.000100")

    def react(user: str, emoji: str = "clap", added: bool = True) -> int | None:
        return store.second(engine, team_id=TEAM, channel="C0SHOUT", ts="1.000100",
                            user_id=user, reaction=emoji, now=NOW, added=added)  # fmt: skip

    assert react("U0KARI") == 1
    assert react("U0KARI") == 1  # the same reaction delivered twice
    assert react("U0KARI", "tada") == 2
    assert react("U0SVEA") == 3
    assert react("U0ADA") == 3  # the giver
    assert react("U0BJORN") == 3  # the receiver
    assert react("U0SVEA", added=False) == 2
    assert react("U0SVEA", added=False) == 2  # removed twice
    assert react("U0OLLE", added=False) == 2  # never added
    assert store.second(engine, team_id=TEAM, channel="C0SHOUT", ts="9.9", user_id="U0KARI",
                        reaction="clap", now=NOW) is None  # fmt: skip
    detail = store.get(engine, team_id=TEAM, shoutout_id=sid)
    assert detail is not None and detail.seconds == 2


# --------------------------------------------------------------------------- directory


def test_directory_replaced_per_team(engine: Engine) -> None:
    assert store.directory_refreshed_at(engine, team_id=TEAM) is None
    assert store.replace_directory(engine, team_id=TEAM, people=PEOPLE, now=NOW) == 4
    store.replace_directory(engine, team_id=OTHER, people=PEOPLE[:1], now=NOW)
    people = store.directory(engine, team_id=TEAM)
    assert [p.user_id for p in people] == ["U0ADA", "U0BJORN", "U0GONE", "U0KARI"]
    bjorn = people[1]
    assert (bjorn.real_name, bjorn.email, bjorn.locale) == (
        "Bjørn Hansen",
        "bjorn@example.com",
        "nb-NO",
    )
    # A member who left is kept by id only: no name, no e-mail.
    gone = people[2]
    assert gone.deleted and (gone.name, gone.real_name, gone.email, gone.locale) == (
        "",
        "",
        None,
        None,
    )
    store.replace_directory(engine, team_id=TEAM, people=PEOPLE[1:2], now=NOW + timedelta(hours=2))
    assert [p.user_id for p in store.directory(engine, team_id=TEAM)] == ["U0BJORN"]
    assert store.directory_refreshed_at(engine, team_id=TEAM) == NOW + timedelta(hours=2)
    assert len(store.directory(engine, team_id=OTHER)) == 1


# --------------------------------------------------------------------------- customer praise


def answers(rows: list[dict[str, Any]], *, age: timedelta = timedelta(hours=1)) -> pd.DataFrame:
    when = datetime.now(UTC) - age
    full = [
        {
            "response_key": f"id:{r['key']}",
            "responded_at": when,
            "local_day": when.date(),
            "metric": r.get("metric", "nps"),
            "score": r["score"],
            "customer_id": "CUST-1",
            "segment": "Private",
            "touchpoint": r.get("touchpoint", "support"),
            "comment": r.get("comment"),
            "employee": r.get("employee"),
        }
        for r in rows
    ]
    return pd.DataFrame(full, columns=RESPONSE_COLUMNS)


def response_ids(engine: Engine) -> list[int]:
    table = Response.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return [int(i) for i in conn.execute(select(table.c.id).order_by(table.c.id)).scalars()]


def praise_rows(engine: Engine, team: str = TEAM) -> list[tuple[Any, ...]]:
    s = Shoutout.__table__  # type: ignore[attr-defined]
    r = ShoutoutReceiver.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(
            select(s.c.id, s.c.giver, s.c.text, s.c.source, s.c.response_id, r.c.user_id)
            .join(r, r.c.shoutout_id == s.c.id)
            .where(s.c.team_id == team, s.c.source == "customer")
            .order_by(s.c.id, r.c.user_id)
        ).all()
    return [tuple(x) for x in rows]


def test_a_promoter_naming_an_employee_gives_exactly_one_praise(engine: Engine) -> None:
    store.replace_directory(engine, team_id=TEAM, people=PEOPLE, now=NOW)
    settings_store.set(engine, team_id=TEAM, key="shoutouts.channel", value="C0SHOUT")
    frame = answers(
        [
            {"key": "p1", "score": 10, "employee": "bjorn@example.com",
             "comment": "Bjørn fixed it in minutes, call me on 912 34 567"},
            {"key": "d1", "score": 2, "employee": "kari@example.com", "comment": "Kari was rude"},
            {"key": "n1", "score": 8, "employee": "U0KARI", "comment": "ok"},
            {"key": "p2", "score": 9, "comment": "Thanks to Ada Lovelace!"},
            {"key": "p3", "score": 10, "comment": "Great service"},
            {"key": "p4", "metric": "csat", "score": 5, "employee": "U0GONE"},
        ]
    )  # fmt: skip
    insert_responses(engine, team_id=TEAM, frame=frame)
    found = praise_rows(engine)
    assert [(giver, source, user) for _i, giver, _t, source, _r, user in found] == [
        (None, "customer", "U0BJORN"),
        (None, "customer", "U0ADA"),
    ]
    assert "[PHONE]" in found[0][2] and "912" not in found[0][2]  # redacted before posting
    keys = [k for k, _m, _p in outbox(engine)]
    sid = found[0][0]
    assert f"shoutout:{sid}:post" in keys and f"shoutout:{sid}:dm:U0BJORN" in keys
    dm = next(p for k, _m, p in outbox(engine) if k == f"shoutout:{sid}:dm:U0BJORN")
    assert dm["locale"] == "nb-NO"
    detail = store.get(engine, team_id=TEAM, shoutout_id=sid)
    assert detail is not None and (detail.metric, detail.score) == ("nps", 10)

    # Importing the same answers again, or asking again, adds nothing.
    insert_responses(engine, team_id=TEAM, frame=frame)
    ids = response_ids(engine)
    assert store.praise_for_responses(engine, team_id=TEAM, response_ids=ids, now=NOW) == 0
    assert len(praise_rows(engine)) == 2


def test_detractors_old_answers_and_switched_off_praise_give_none(engine: Engine) -> None:
    store.replace_directory(engine, team_id=TEAM, people=PEOPLE, now=NOW)
    insert_responses(
        engine,
        team_id=TEAM,
        frame=answers([{"key": "d", "score": 0, "employee": "U0BJORN", "comment": "Bjørn Hansen"}]),
    )
    insert_responses(
        engine,
        team_id=TEAM,
        frame=answers([{"key": "old", "score": 10, "employee": "U0BJORN"}], age=timedelta(days=30)),
    )
    settings_store.set(engine, team_id=TEAM, key="shoutouts.customer_praise", value="off")
    insert_responses(
        engine, team_id=TEAM, frame=answers([{"key": "off", "score": 10, "employee": "U0BJORN"}])
    )
    assert praise_rows(engine) == []
    assert outbox(engine) == []
    settings_store.set(engine, team_id=TEAM, key="shoutouts.customer_praise", value="on")
    ids = response_ids(engine)
    # Turned on again: the recent promoter is praised, the detractor and the old one never.
    assert (
        store.praise_for_responses(engine, team_id=TEAM, response_ids=ids, now=datetime.now(UTC))
        == 1
    )
    assert [row[5] for row in praise_rows(engine)] == ["U0BJORN"]


def test_praise_shows_on_the_app_home(engine: Engine) -> None:
    insert_responses(
        engine, team_id=TEAM, frame=answers([{"key": "h", "score": 10, "employee": "U0KARI",
                                               "comment": "Kari saved my day"}])
    )  # fmt: skip
    home = recent_shoutouts(engine, team_id=TEAM, user_id="U0KARI")
    assert [(h.giver, h.receivers, h.text) for h in home] == [
        (None, ("U0KARI",), "Kari saved my day")
    ]


def test_without_a_directory_a_user_id_still_works(engine: Engine) -> None:
    insert_responses(
        engine,
        team_id=TEAM,
        frame=answers(
            [
                {"key": "a", "score": 10, "employee": "U0KARI"},
                {"key": "b", "score": 10, "employee": "kari@example.com"},
                {"key": "c", "score": 10, "comment": "Kari Nordmann rocks"},
            ]
        ),
    )
    assert [row[5] for row in praise_rows(engine)] == ["U0KARI"]
    # Once the directory knows the e-mail and the name, the others are praised too.
    store.replace_directory(engine, team_id=TEAM, people=PEOPLE, now=NOW)
    ids = response_ids(engine)
    assert (
        store.praise_for_responses(engine, team_id=TEAM, response_ids=ids, now=datetime.now(UTC))
        == 2
    )
    assert len(praise_rows(engine)) == 3


def test_a_big_batch_posts_a_few_and_records_all(engine: Engine) -> None:
    store.replace_directory(engine, team_id=TEAM, people=PEOPLE, now=NOW)
    settings_store.set(engine, team_id=TEAM, key="shoutouts.channel", value="C0SHOUT")
    frame = answers(
        [
            {"key": f"k{i}", "score": 10 if i % 3 else 3,
             "comment": "Ada Lovelace helped" if i % 2 else "Bjørn Hansen helped"}
            for i in range(60)
        ]
    )  # fmt: skip
    insert_responses(engine, team_id=TEAM, frame=frame)
    assert len(praise_rows(engine)) == 40
    keys = [k for k, _m, _p in outbox(engine)]
    assert sum(k.endswith(":post") for k in keys) == store.PRAISE_POSTS_PER_BATCH
    assert sum(k.endswith(":dm:U0ADA") for k in keys) == store.PRAISE_DMS_PER_PERSON
    assert sum(k.endswith(":dm:U0BJORN") for k in keys) == store.PRAISE_DMS_PER_PERSON
