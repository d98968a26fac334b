"""Hostile input through the public interfaces (issue 16, "Bad input gets a clear answer,
and nothing valid is lost"): signed webhook bodies that used to give 500 or lose the valid
answers beside a bad one, Slack requests with malformed timestamps, replayed requests,
and files for `cxbot import responses` that broke the import. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import Result

from bot.localslack import LocalSlack
from bot.services import Services
from bot.settings import Settings
from storage.db import make_engine
from storage.models import Insight, Response
from tests.bot.conftest import make_settings
from tests.bot.slackkit import SlackKit
from tests.bot.test_cli_import import cli  # noqa: F401 - the fixture

DEEP = "[" * 100_000 + "]" * 100_000
EDGE_DATES = [
    "0001-01-01",
    "9999-12-31T23:59:59-12:00",
    "0000-01-01",
    "1989-12-31T23:59:59Z",
    "31.12.9999",
    "9999-12-31",
    "2026-11-25T00:00:01Z",  # more than a day after the test clock's now
]


@pytest.fixture
def bot_settings(localslack: LocalSlack, db_url: str) -> Settings:
    return make_settings(localslack, db_url)


def answer(i: int, **kw: Any) -> dict[str, Any]:
    base = {"responded_at": "2026-11-20T14:03:00+01:00", "metric": "nps", "score": 9}
    return {**base, "response_id": f"ext-{i}", "customer_id": f"C{i}", **kw}


def stored_ids(services: Services) -> set[str]:
    with services.engine.connect() as conn:
        keys = conn.execute(select(Response.response_key)).scalars()  # type: ignore[call-overload]
        return {str(k).removeprefix("id:") for k in keys}


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing was logged with a traceback, or at error level."""
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert bad == [], [r.getMessage() for r in bad]
    assert "Traceback" not in caplog.text


def post_items(slack: SlackKit, parts: list[str]) -> Any:
    return slack.webhook(None, raw=("[" + ",".join(parts) + "]").encode())


# ---------------------------------------------------------------------- webhook bodies


def test_a_deeply_nested_item_is_refused_and_the_others_are_stored(
    slack: SlackKit, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    nested_field = json.dumps(answer(3))[:-1] + ', "extra": ' + DEEP + "}"
    r = post_items(slack, [json.dumps(answer(1)), DEEP, json.dumps(answer(2)), nested_field])
    assert r.status == 400, r.text
    body = r.json()
    assert [e["index"] for e in body["errors"]] == [1, 3]
    assert all("nested too deeply" in e["reason"] for e in body["errors"])
    assert stored_ids(services) == {"ext-1", "ext-2"}
    # A single object nested too deeply: a clear 400.
    r = slack.webhook(None, raw=('{"a": ' + DEEP + "}").encode())
    assert r.status == 400 and "nested too deeply" in r.json()["message"]
    no_traceback(caplog)


@pytest.mark.parametrize("field", ["comment", "customer_id", "segment", "metric", "response_id"])
def test_a_lone_surrogate_in_any_field_is_refused_per_item(
    slack: SlackKit, services: Services, caplog: pytest.LogCaptureFixture, field: str
) -> None:
    item = json.dumps(answer(2, comment="c", segment="s"))
    bad = item.replace(f'"{field}": "', f'"{field}": "x\\ud800', 1)
    key = '{"\\udfff": 1, ' + json.dumps(answer(3))[1:]
    r = post_items(slack, [json.dumps(answer(1)), bad, key, json.dumps(answer(4))])
    assert r.status == 400, r.text
    errors = r.json()["errors"]
    assert [e["index"] for e in errors] == [1, 2]
    assert all("surrogate" in e["reason"] for e in errors)
    assert stored_ids(services) == {"ext-1", "ext-4"}
    no_traceback(caplog)


def test_dates_at_the_edges_are_refused_per_item_and_export_still_works(
    slack: SlackKit,
    services: Services,
    cli: Callable[..., Result],  # noqa: F811
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    items = [answer(0)] + [answer(i + 1, responded_at=d) for i, d in enumerate(EDGE_DATES)]
    items.append(answer(99, responded_at="1990-01-01T00:00:00Z"))
    r = slack.webhook(items)
    assert r.status == 400, r.text
    errors = r.json()["errors"]
    assert [e["index"] for e in errors] == list(range(1, len(EDGE_DATES) + 1))
    assert all("outside the dates an answer can have" in e["reason"] for e in errors)
    assert stored_ids(services) == {"ext-0", "ext-99"}
    for fmt in ("csv", "json"):
        out = tmp_path / f"responses.{fmt}"
        result = cli("export", "responses", "--format", fmt, "--out", str(out))
        assert result.exit_code == 0, result.output
        assert "ext-99" in out.read_text(encoding="utf-8-sig")
    no_traceback(caplog)


def test_a_response_id_repeated_with_another_score_gets_a_reason(
    slack: SlackKit, services: Services
) -> None:
    r = slack.webhook([answer(1), answer(1, score=2), answer(1), answer(2)])
    assert r.status == 400, r.text
    body = r.json()
    assert [e["index"] for e in body["errors"]] == [1]
    assert "ext-1" in body["errors"][0]["reason"] and "different" in body["errors"][0]["reason"]
    assert body["duplicates"] == 1 and len(body["stored"]) == 2
    assert stored_ids(services) == {"ext-1", "ext-2"}
    with services.engine.connect() as conn:
        score = conn.execute(
            select(Response.score).where(Response.response_key == "id:ext-1")  # type: ignore[arg-type]
        ).scalar_one()
    assert score == 9


# ---------------------------------------------------------------------- Slack signatures


@pytest.mark.parametrize(
    "stamp", ["9" * 400, "", "abc", "1796641147.5", "-1", " 1796641147", "1e9", "0x6b"]
)
def test_a_malformed_slack_timestamp_is_401_without_a_traceback(
    slack: SlackKit, services: Services, caplog: pytest.LogCaptureFixture, stamp: str
) -> None:
    caplog.set_level(logging.INFO)
    body = "command=/insight&text=hello&team_id=T0CXLOCAL&user_id=U0ADA&channel_id=C0GENERAL"
    headers = slack.sign(body, ts=int(time.time()))
    headers["X-Slack-Request-Timestamp"] = stamp
    r = slack.send(body, signed=False, headers=headers)
    assert r.status == 401, r.text
    assert "Something went wrong" not in r.text
    no_traceback(caplog)


def test_unsigned_and_badly_signed_requests_are_401(
    slack: SlackKit, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = "command=/cx&text=help&team_id=T0CXLOCAL&user_id=U0ADA"
    assert slack.send(body, signed=False).status == 401
    assert slack.send(body, headers={"X-Slack-Signature": "v0=" + "0" * 64}).status == 401
    assert slack.send(body, headers={"X-Slack-Signature": "v0=ü"}).status == 401
    assert slack.send(body, ts=int(time.time()) - 400).status == 401
    assert slack.send(b"\xff\xfe signed but not UTF-8").status == 400
    assert slack.send(b"\xff\xfe", signed=False).status == 401
    no_traceback(caplog)


def test_a_replayed_request_runs_once(slack: SlackKit, services: Services) -> None:
    """Three copies of one signed /insight: one insight, and Slack gets a plain 200."""
    body = (
        "command=%2Finsight&text=Customers+want+invoices+by+mail&team_id=T0CXLOCAL"
        "&user_id=U0ADA&user_name=ada&channel_id=C0GENERAL&channel_name=general"
        f"&response_url={slack.localslack.response_url(channel='C0GENERAL', user='U0ADA')}"
        f"&trigger_id={slack.localslack.new_trigger_id(user='U0ADA')}"
    )
    headers = slack.sign(body)
    answers = [slack.send(body, signed=False, headers=headers) for _ in range(3)]
    assert [a.status for a in answers] == [200, 200, 200]
    assert answers[1].text == answers[2].text == ""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and insights(services) < 1:
        time.sleep(0.05)
    time.sleep(0.5)
    assert insights(services) == 1
    # A new signature (a new timestamp) is a new request.
    again = slack.send(body, ts=int(time.time()) + 1)
    assert again.status == 200


def test_slack_retries_of_an_event_are_left_to_the_event_id(
    slack: SlackKit, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = json.dumps(
        {"type": "event_callback", "team_id": "T0CXLOCAL", "event_id": "Ev0REPLAY1",
         "event": {"type": "app_home_opened", "user": "U0ADA", "tab": "home"}}
    )  # fmt: skip
    headers = slack.sign(body)
    first = slack.send(body, content_type="application/json", signed=False, headers=headers)
    retry = slack.send(
        body,
        content_type="application/json",
        signed=False,
        headers={**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert first.status == retry.status == 200
    assert "copy of a Slack request" not in caplog.text
    no_traceback(caplog)


def insights(services: Services) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Insight)).scalar_one())


# ---------------------------------------------------------------------- cxbot import


def test_import_of_a_json_file_with_deep_nesting_and_surrogates(
    cli: Callable[..., Result],  # noqa: F811
    db_url: str,
    tmp_path: Path,
) -> None:
    good = [json.dumps(answer(i)) for i in range(3)]
    surrogate = json.dumps(answer(9)).replace('"C9"', '"C\\ud800"')
    for name, text in {
        "array.json": "[" + ",".join([good[0], DEEP, surrogate, good[1], good[2]]) + "]",
        "lines.json": "\n".join([good[0], DEEP, surrogate, good[1], good[2]]),
    }.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        result = cli("import", "responses", str(path), "--team", "T0IMPORT" + name[0].upper())
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines()[0] == "accepted: 3"
        assert "rejected: 2" in result.stdout
        assert "nested too deeply" in result.stderr and "surrogate" in result.stderr
        assert "Traceback" not in result.output
        rejects = (tmp_path / (name + ".rejected.csv")).read_text(encoding="utf-8-sig")
        assert "\ufffd" in rejects  # the surrogate is shown replaced, the file is written
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Response)).scalar_one() == 6
    engine.dispose()


def test_an_unclosed_quote_in_a_csv_rejects_its_row_and_keeps_the_next(
    cli: Callable[..., Result],  # noqa: F811
    db_url: str,
    tmp_path: Path,
) -> None:
    path = tmp_path / "answers.csv"
    path.write_text(
        "responded_at,metric,score,comment\n"
        '2026-11-20,nps,9,"this quote is never closed\n'
        "2026-11-21,nps,3,the next row\n"
        '2026-11-22,nps,10,"a real\nmulti-line comment"\n'
        '2026-11-23,nps,7,"and one more never closed\n'
        "at the end of the file\n",
        encoding="utf-8",
    )
    result = cli("import", "responses", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == ["accepted: 2", "duplicates: 0"]
    assert "rejected: 2" in result.stdout
    assert "line 2: a quote opened on line 2 is not closed" in result.stderr
    assert "line 6: a quote opened on line 6 is never closed" in result.stderr
    engine = make_engine(db_url)
    with engine.connect() as conn:
        comments = set(conn.execute(select(Response.comment)).scalars())  # type: ignore[call-overload]
    engine.dispose()
    assert comments == {"the next row", "a real\nmulti-line comment"}
