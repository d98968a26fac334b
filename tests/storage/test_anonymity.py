"""Anonymous pulse rounds, attacked on disk (issue 16).

The attacker has full read access to the database's files, and also the round key (as
if they had read it while the round was open). They try to link each of 6 people to
their own answer:
- SQLite: every byte of the database file, its -wal, -journal and -shm, searched for the
  key, for HMAC(key, user id) and for a user id in the same page as that person's
  answer; while the bot process runs with its engine open, and after it is killed with
  SIGKILL (no clean shutdown).
- PostgreSQL: every system column a normal reader can select (xmin, xmax, cmin, cmax,
  ctid) of participation and answer rows, joined every way that could line a person up
  with an answer, and the answer rows' physical order against the order of answering.
Answering goes through the real Bolt app with signed requests (SQLite and PostgreSQL),
and through the storage calls the handlers make in a separate process that is killed.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.localslack import LocalSlack
from bot.services import Services
from bot.settings import Settings
from storage import exports
from storage import surveys as store
from storage.db import make_engine
from tests.bot.conftest import (  # noqa: F401  (fixtures used by name)
    bolt_app,
    localslack,
    make_settings,
    server,
    services,
    slack,
)
from tests.bot.slackkit import SlackKit, text_input
from tests.bot.test_pulse import ADMIN, CHANNEL, RESULTS, _create_and_send, _press, _survey_dm
from tests.bot.test_pulse import open_modal as _open_modal
from tests.conftest import FakeClock
from tests.storage.anonymity_child import DEFINITION, NOW, TEAM

ROOT = Path(__file__).resolve().parents[2]
LOCAL_TEAM = "T0CXLOCAL"
# Six people, answering in an order that is neither the order they were asked in (sorted)
# nor its reverse. Each written answer is unique and says nothing about its author.
PEOPLE = ["U0AN0003", "U0AN0000", "U0AN0005", "U0AN0001", "U0AN0004", "U0AN0002"]
ANSWERS: list[dict[str, Any]] = [
    {"user": u, "score": s, "reason": r}
    for u, s, r in zip(
        PEOPLE,
        [9, 2, 7, 10, 4, 6],
        [
            "qxalpha canteen",
            "qxbravo deadlines",
            "qxcharlie tooling",
            "qxdelta onboarding",
            "qxecho meetings",
            "qxfoxtrot parking",
        ],
        strict=True,
    )
]


def _slot(key: bytes, user: str) -> str:
    return hmac.new(key, user.encode(), hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- SQLite attack


@dataclass(frozen=True)
class DiskFindings:
    key_found: bool
    slots_found: int  # people whose HMAC(key, user id) is somewhere in the files
    beside_own_answer: int  # people whose user id shares a page with their own answer
    beside_any_answer: int  # people whose user id shares a page with any answer
    files: dict[str, int]  # file -> bytes read


def _sqlite_files(db: Path) -> dict[str, bytes]:
    found = {}
    for suffix in ("", "-wal", "-journal", "-shm"):
        path = Path(str(db) + suffix)
        if path.exists():
            found[path.name] = path.read_bytes()
    return found


def _pages(name: str, blob: bytes) -> Iterator[bytes]:
    """The database pages in a file: the main file's pages, or the WAL's frames."""
    if name.endswith("-wal"):
        if len(blob) < 32:
            return
        page_size = int.from_bytes(blob[8:12], "big")
        at = 32
        while at + 24 + page_size <= len(blob):
            yield blob[at + 24 : at + 24 + page_size]
            at += 24 + page_size
        return
    if name.endswith(("-journal", "-shm")):
        yield blob
        return
    page_size = int.from_bytes(blob[16:18], "big") if len(blob) >= 100 else 4096
    page_size = 65536 if page_size == 1 else page_size
    for at in range(0, len(blob), page_size):
        yield blob[at : at + page_size]


def attack_sqlite(db: Path, key: bytes) -> DiskFindings:
    files = _sqlite_files(db)
    everything = list(files.items())
    key_found = any(key in blob or key.hex().encode() in blob for _n, blob in everything)
    slots_found = 0
    for user in PEOPLE:
        slot = _slot(key, user)
        digest = bytes.fromhex(slot)
        if any(slot.encode() in blob or digest in blob for _n, blob in everything):
            slots_found += 1
    own = anywhere = 0
    reasons = [a["reason"].encode() for a in ANSWERS]
    for a in ANSWERS:
        user, reason = a["user"].encode(), a["reason"].encode()
        pages = [p for name, blob in everything for p in _pages(name, blob) if user in p]
        own += any(reason in p for p in pages)
        anywhere += any(r in p for p in pages for r in reasons)
    return DiskFindings(
        key_found,
        slots_found,
        own,
        anywhere,
        {name: len(blob) for name, blob in everything},
    )


def _assert_nothing_links(found: DiskFindings, *, idle: bool = True) -> None:
    assert not found.key_found, found
    assert found.slots_found == 0, found
    assert found.beside_own_answer == 0 and found.beside_any_answer == 0, found
    assert found.files.get("cxbot.db-journal", 0) == 0, found
    if idle:
        # Truncated at close: no frame from before it. (A running bot writes new frames
        # afterwards, the outbox's for instance; those hold nothing of the round.)
        assert found.files.get("cxbot.db-wal", 0) == 0, found


def _db_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


# --------------------------------------------------------------------------- PostgreSQL attack


SYSTEM = "xmin::text AS xmin, xmax::text AS xmax, cmin::text AS cmin, cmax::text AS cmax, ctid"


def _system_rows(engine: Engine, table: str, columns: str, round_id: int) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(f"SELECT {columns}, {SYSTEM} FROM {table} WHERE round_id = :r ORDER BY ctid"),
                {"r": round_id},
            )
        )


def _xids(row: Any) -> set[int]:
    return {int(x) for x in (row.xmin, row.xmax) if x and x != "0"}


def _own_xids(xids_of: dict[str, set[int]]) -> dict[str, set[int]]:
    """Each person's transaction ids that no one else's rows carry (a shared one, the
    open's for instance, points at no one)."""
    count: dict[int, int] = {}
    for xids in xids_of.values():
        for x in xids:
            count[x] = count.get(x, 0) + 1
    return {u: {x for x in xids if count[x] == 1} for u, xids in xids_of.items()}


def attack_postgres(engine: Engine, round_id: int, *, reasons: dict[str, str]) -> int:
    """How many people a join on system columns links to their own answer.

    A person's participation row is joined to every answer row carrying one of the
    transaction ids (xmin, xmax) only that person's row carries, or the same (xmin,
    cmin); the person is linked when the rows found all belong to one respondent, theirs.
    """
    part = _system_rows(engine, "surveyparticipation", "user_id, answered", round_id)
    answers = [
        *_system_rows(engine, "surveyanswer", "slot, value", round_id),
        *_system_rows(engine, "surveystaged", "slot, value", round_id),
    ]
    slot_of_reason = {a.value: a.slot for a in answers if a.value}
    own = _own_xids({p.user_id: _xids(p) for p in part})
    linked = 0
    for p in part:
        if p.user_id not in reasons:
            continue
        found = {
            a.slot
            for a in answers
            if own[p.user_id] & _xids(a)
            or (own[p.user_id] and (a.xmin, a.cmin) == (p.xmin, p.cmin))
        }
        linked += found == {slot_of_reason.get(reasons[p.user_id])}
    return linked


PAGE_TABLES = (
    "surveyparticipation",
    "surveyanswer",
    "surveystaged",
    "surveyroundkey",
    "surveyround",
)


def _pageinspect(engine: Engine) -> bool:
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        return True
    except Exception:  # not a superuser, or the extension is not installed
        return False


def attack_postgres_pages(engine: Engine, key: bytes, reasons: dict[str, str]) -> tuple[bool, int]:
    """With pageinspect (a superuser, or anyone who can read the table files): is the key
    anywhere in the survey tables' pages, and how many people do dead and live tuples
    link, joining participation tuples to answer tuples on nearby transaction ids."""
    found_key = False
    tuples: dict[str, list[tuple[int, int, bytes]]] = {}
    with engine.connect() as conn:
        for table in PAGE_TABLES:
            blocks = conn.execute(
                text("SELECT pg_relation_size(:t) / current_setting('block_size')::int"),
                {"t": table},
            ).scalar_one()
            tuples[table] = []
            for block in range(int(blocks)):
                page = bytes(
                    conn.execute(
                        text("SELECT get_raw_page(:t, :b)"), {"t": table, "b": block}
                    ).scalar_one()
                )
                found_key = found_key or key in page
                for xmin, xmax, data in conn.execute(
                    text(
                        "SELECT t_xmin::text, t_xmax::text, t_data FROM "
                        "heap_page_items(get_raw_page(:t, :b)) WHERE t_data IS NOT NULL"
                    ),
                    {"t": table, "b": block},
                ):
                    tuples[table].append((int(xmin), int(xmax), bytes(data)))
    answers = tuples["surveyanswer"] + tuples["surveystaged"]
    own = _own_xids(
        {
            user: {
                x
                for xmin, xmax, data in tuples["surveyparticipation"]
                if user.encode() in data
                for x in (xmin, xmax)
                if x
            }
            for user in reasons
        }
    )
    linked = 0
    for user, reason in reasons.items():
        mine = {user.encode(), _slot(key, user).encode(), reason.encode()}
        found = [data for xmin, xmax, data in answers if own[user] & {xmin, xmax}]
        linked += bool(found) and all(any(m in data for m in mine) for data in found)
    return found_key, linked


def order_links(answer_rows: Sequence[Any], answered_in: list[str], reasons: dict[str, str]) -> int:
    """People at the same place in the answers' physical order as in the answering order
    (an attacker who knows when each person answered zips the two)."""
    by_slot: dict[str, str] = {}
    for a in answer_rows:
        if a.value:
            by_slot[a.slot] = a.value
    firsts: list[str] = []
    for a in answer_rows:
        if a.slot not in firsts:
            firsts.append(a.slot)
    physical = [by_slot.get(s) for s in firsts]
    return sum(physical[i] == reasons[u] for i, u in enumerate(answered_in) if i < len(physical))


# --------------------------------------------------------------------------- a killed process


def _spawn(url: str, tmp_path: Path, answers: list[dict[str, Any]], close: bool = True) -> Any:
    spec = tmp_path / "order.json"
    spec.write_text(json.dumps({"answers": answers, "close": close}))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.storage.anonymity_child", url, str(spec)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def _read_until(proc: Any, word: str) -> dict[str, str]:
    seen: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        head, _, rest = line.strip().partition(" ")
        seen[head] = rest
        if head == word:
            return seen
    raise AssertionError(f"the child ended before {word}: {seen}, rc {proc.wait()}")


def test_sqlite_files_link_no_one_while_running_and_after_kill_9(
    sqlite_url: str, tmp_path: Path
) -> None:
    proc = _spawn(sqlite_url, tmp_path, ANSWERS)
    try:
        seen = _read_until(proc, "CLOSED")
        key = bytes.fromhex(seen["KEY"])
        db = _db_path(sqlite_url)
        running = attack_sqlite(db, key)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    killed = attack_sqlite(db, key)
    for found in (running, killed):
        _assert_nothing_links(found)
    # The answers are all there, without anyone's name: results and export still work.
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            values = set(conn.execute(text("SELECT value FROM surveyanswer")).scalars())
            answered = set(
                conn.execute(
                    text("SELECT user_id FROM surveyparticipation WHERE answered")
                ).scalars()
            )
        assert {a["reason"] for a in ANSWERS} <= values
        assert answered == set(PEOPLE)
    finally:
        engine.dispose()


def test_a_process_killed_mid_round_leaves_no_order(sqlite_url: str, tmp_path: Path) -> None:
    """While the round is open the key is on disk (a second click must find the answer
    it replaces), but nothing per person was written when they answered: participation
    is as the open left it, and the staged answers sit in slot order."""
    proc = _spawn(sqlite_url, tmp_path, ANSWERS, close=False)
    try:
        seen = _read_until(proc, "OPEN")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    round_id = int(seen["OPEN"])
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            part = conn.execute(
                text(
                    "SELECT user_id, asked_at, answered, reminded_at FROM surveyparticipation "
                    "WHERE round_id = :r"
                ),
                {"r": round_id},
            ).all()
            staged = conn.execute(
                text("SELECT slot, question_id, value FROM surveystaged WHERE round_id = :r"),
                {"r": round_id},
            ).all()
    finally:
        engine.dispose()
    assert len(part) == 6 and {p.answered for p in part} == {False}
    assert len({p.asked_at for p in part}) == 1 and {p.reminded_at for p in part} == {None}
    assert len(staged) == 12  # two questions each; the changed score replaced, not added
    slots = [s.slot for s in staged]
    assert slots == sorted(slots)  # keyed order: no trace of who answered first


# --------------------------------------------------------------------------- the real app


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def bot_settings(request: pytest.FixtureRequest, localslack: LocalSlack) -> Settings:  # noqa: F811
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return make_settings(localslack, str(url))


@pytest.fixture
def six(localslack: LocalSlack) -> list[str]:  # noqa: F811
    for i, user in enumerate(PEOPLE):
        localslack.add_user(user, f"anon{i}")
    localslack.add_channel(CHANNEL, "pulse-anon", members=PEOPLE)
    localslack.add_channel(RESULTS, "pulse-results", members=[ADMIN])
    return PEOPLE


def _write(slack: SlackKit, localslack: LocalSlack, user: str, reason: str) -> None:  # noqa: F811
    msg = _survey_dm(localslack, user)
    button = next(
        e
        for b in msg["blocks"]
        if b.get("type") == "actions"
        for e in b["elements"]
        if e["action_id"] == "pulse_text"
    )
    r = slack.block_action("pulse_text", button["value"], user=user, message=msg, block_id="x")
    assert r.status == 200
    modal = _open_modal(localslack, "pulse_text_modal")
    sub = slack.view_submission(
        "pulse_text_modal",
        {"answer": {"text": text_input(reason)}},
        modal["private_metadata"],
        user=user,
    )
    assert sub.status == 200


def _has(engine: Engine, round_id: int, user: str, score: int) -> bool:
    mine = store.my_answers(engine, team_id=LOCAL_TEAM, round_id=round_id, user_id=user)
    return mine.get("enps") == score


def test_six_people_through_the_app_then_nothing_links(
    slack: SlackKit,  # noqa: F811
    localslack: LocalSlack,  # noqa: F811
    services: Services,  # noqa: F811
    clock: FakeClock,
    six: list[str],
) -> None:
    engine = services.engine
    _create_and_send(slack, localslack)
    localslack.wait_for(lambda: all(localslack.messages("D" + u[1:]) for u in PEOPLE), timeout=15)
    info = store.open_round_of(
        engine,
        team_id=LOCAL_TEAM,
        survey_id=store.list_surveys(engine, team_id=LOCAL_TEAM)[0].id,
    )
    assert info is not None
    with engine.connect() as conn:
        key = bytes(
            conn.execute(
                text("SELECT key FROM surveyroundkey WHERE round_id = :r"), {"r": info.id}
            ).scalar_one()
        )
        before = (
            conn.execute(
                text(f"SELECT user_id, {SYSTEM} FROM surveyparticipation WHERE round_id = :r"),
                {"r": info.id},
            ).all()
            if engine.dialect.name == "postgresql"
            else []
        )
    reasons = {a["user"]: a["reason"] for a in ANSWERS}
    for a in ANSWERS:
        user = a["user"]
        first = (a["score"] + 3) % 11
        _press(slack, _survey_dm(localslack, user), user, "enps", first)
        _write(slack, localslack, user, a["reason"])
        # Handlers run after the ack: the first click is stored before the second is sent.
        localslack.wait_for(partial(_has, engine, info.id, user, first), timeout=10)
        # A change of mind: the second click replaces the first.
        _press(slack, _survey_dm(localslack, user), user, "enps", a["score"])

    def all_in() -> bool:
        return all(
            store.my_answers(engine, team_id=LOCAL_TEAM, round_id=info.id, user_id=a["user"])
            == {"enps": a["score"], "reason": a["reason"]}
            for a in ANSWERS
        )

    localslack.wait_for(all_in, timeout=15)
    part = store.participation(engine, team_id=LOCAL_TEAM, round_id=info.id)
    assert (part.asked, part.answered) == (6, 6)

    if engine.dialect.name == "postgresql":
        # Open: answering rewrote no participation row, so it has no order to give.
        after = _system_rows(engine, "surveyparticipation", "user_id", info.id)
        assert sorted((r.user_id, r.xmin) for r in after) == sorted(
            (r.user_id, r.xmin) for r in before
        )
        assert attack_postgres(engine, info.id, reasons=reasons) == 0

    r = slack.command("/pulse", f"close {info.survey_id}", user=ADMIN)
    assert r.status == 200
    assert "is closed" in slack.wait_reply(r, timeout=15)["text"]
    closed = store.get_round(engine, team_id=LOCAL_TEAM, round_id=info.id)
    assert closed is not None and closed.results is not None
    assert closed.results.answered == 6  # at the threshold of 5: results are shown
    posted = localslack.wait_for(lambda: localslack.messages(RESULTS), timeout=10)[0]
    assert "6 of 6 answered" in str(posted["blocks"])

    if engine.dialect.name == "sqlite":
        _assert_nothing_links(attack_sqlite(_db_path(str(engine.url)), key), idle=False)
    else:
        assert attack_postgres(engine, info.id, reasons=reasons) == 0
        part_rows = _system_rows(engine, "surveyparticipation", "user_id, answered", info.id)
        answer_rows = _system_rows(engine, "surveyanswer", "slot, value", info.id)
        # Who answered was marked in one transaction, the answers written in another.
        assert len({p.xmin for p in part_rows}) == 1
        assert len({a.xmin for a in answer_rows}) == 1
        assert {p.xmin for p in part_rows}.isdisjoint({a.xmin for a in answer_rows})
        with engine.connect() as conn:
            left = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM surveystaged), "
                    "(SELECT count(*) FROM surveyroundkey)"
                )
            ).one()
            # Rewritten by VACUUM FULL: no page left, so no dead tuple and no stale byte.
            pages = conn.execute(
                text("SELECT pg_relation_size('surveystaged') + pg_relation_size('surveyroundkey')")
            ).scalar_one()
        assert tuple(left) == (0, 0)
        assert int(pages) == 0
        if _pageinspect(engine):
            # Dead tuples and page bytes too, not only what a normal reader sees.
            assert attack_postgres_pages(engine, key, reasons) == (False, 0)
    # `cxbot export surveys` has the answers, and no person.
    out = io.StringIO()
    assert exports.write_export(engine, team_id=LOCAL_TEAM, kind="surveys", fmt="csv", out=out)
    assert all(a["reason"] in out.getvalue() for a in ANSWERS)
    assert not any(u in out.getvalue() for u in PEOPLE)


# --------------------------------------------------------------------------- order, many people


MANY = [f"U0ORD{i:03d}" for i in range(40)]


def test_answering_order_is_not_in_the_tables_open_or_closed(engine: Engine) -> None:
    """40 people answer in a known order. Open: the staged answers are in keyed order on
    SQLite and no participation row changed; closed: the answers' ids and physical order
    (ctid) follow neither the answering nor the asking order."""
    sid = store.create_survey(engine, team_id=TEAM, definition=DEFINITION, created_by=None, now=NOW)
    survey = store.get_survey(engine, team_id=TEAM, survey_id=sid)
    assert survey is not None
    opened = store.open_round(
        engine,
        team_id=TEAM,
        survey=survey,
        members=[store.Member(u) for u in MANY],
        now=NOW,
        payload_for=lambda r, loc: {"text": "pulse", "blocks": []},
    )
    assert opened is not None
    rid = opened.round.id
    order = MANY[1::2] + MANY[0::2]
    reasons = {u: f"qxreason {i:02d}" for i, u in enumerate(order)}
    pg = engine.dialect.name == "postgresql"
    part_before = _system_rows(engine, "surveyparticipation", "user_id", rid) if pg else []

    def asked(user: str) -> list[tuple[int, bool]]:
        rounds = store.open_rounds_asking(engine, team_id=TEAM, user_id=user, now=NOW)
        return [(r.round_id, r.answered) for r in rounds]

    assert asked(order[0]) == [(rid, False)]
    for i, u in enumerate(order):
        kw: dict[str, Any] = {"team_id": TEAM, "round_id": rid, "user_id": u}
        at = NOW + timedelta(minutes=i)
        store.record_answer(engine, question_id="enps", score=i % 11, now=at, **kw)
        store.record_answer(engine, question_id="reason", value=reasons[u], now=at, **kw)
    with engine.connect() as conn:
        key = bytes(
            conn.execute(
                text("SELECT key FROM surveyroundkey WHERE round_id = :r"), {"r": rid}
            ).scalar_one()
        )
        natural = [s for s in conn.execute(text("SELECT slot FROM surveystaged")).scalars()]
        flags = conn.execute(
            text("SELECT count(*) FROM surveyparticipation WHERE answered")
        ).scalar_one()
    assert flags == 0  # nothing per person was written when they answered
    assert asked(order[0]) == [(rid, True)]  # found under the keyed slot instead
    user_of = {_slot(key, u): u for u in MANY}
    seen: list[str] = []
    for s in natural:
        if user_of[s] not in seen:
            seen.append(user_of[s])
    if pg:
        after = _system_rows(engine, "surveyparticipation", "user_id", rid)
        assert {(r.user_id, r.xmin) for r in after} == {(r.user_id, r.xmin) for r in part_before}
        assert len({r.xmin for r in after}) == 1  # all from the open: no answering order
    else:
        assert seen != order and seen != MANY
        assert seen == sorted(seen, key=lambda u: _slot(key, u))  # keyed order

    store.close_round(
        engine, team_id=TEAM, round_id=rid, now=NOW + timedelta(hours=72), results_channel=None
    )
    with engine.connect() as conn:
        by_id = conn.execute(
            text("SELECT slot, value FROM surveyanswer WHERE round_id = :r ORDER BY id"),
            {"r": rid},
        ).all()
    rows = _system_rows(engine, "surveyanswer", "slot, value", rid) if pg else by_id
    for listing in (by_id, rows):
        assert order_links(listing, order, reasons) < len(order) // 2
        assert order_links(listing, sorted(order), reasons) < len(order) // 2
