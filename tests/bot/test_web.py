"""The HTTP surface: /webhooks/responses, /healthz, and what every other path answers."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
from slack_bolt import App
from sqlalchemy import func, select

from bot.localslack import LocalSlack
from bot.services import Services
from bot.web import WebApp
from storage.db import make_engine
from storage.models import Response, ResponseDaily
from tests.bot.conftest import RunningServer, make_settings, serve_wsgi
from tests.bot.slackkit import SlackKit, get

NPS_9 = {"responded_at": "2026-11-20T14:03:00+01:00", "metric": "nps", "score": 9}


def answer(i: int, **kw: Any) -> dict[str, Any]:
    return {**NPS_9, "response_id": f"ext-{i}", "customer_id": f"C{i}", **kw}


def count(services: Services, team: str = "T0CXLOCAL") -> int:
    with services.engine.connect() as conn:
        query = select(func.count()).select_from(Response).where(Response.team_id == team)  # type: ignore[arg-type]
        return int(conn.execute(query).scalar_one())


# ---------------------------------------------------------------------- signature


def test_webhook_without_signature_is_refused(slack: SlackKit, services: Services) -> None:
    r = slack.webhook([answer(1)], secret=None)
    assert r.status == 401
    assert "X-CXBot-Signature" in r.json()["message"]
    assert count(services) == 0


def test_webhook_with_wrong_signature_is_refused(slack: SlackKit, services: Services) -> None:
    assert slack.webhook([answer(1)], secret="another secret").status == 401
    assert slack.webhook([answer(1)], signature="sha256=" + "ab" * 32).status == 401
    assert slack.webhook([answer(1)], signature="garbage").status == 401
    assert count(services) == 0


def test_webhook_is_off_without_a_secret(
    localslack: LocalSlack, sqlite_url: str, services: Services, bolt_app: App
) -> None:
    settings = make_settings(localslack, sqlite_url, cxbot_webhook_secret=None)
    open_services = Services(settings=settings, engine=services.engine)
    with serve_wsgi(WebApp(open_services, bolt_app)) as server:
        kit = SlackKit(server.url, "unused", localslack, webhook_secret="anything")
        r = kit.webhook([answer(1)])
    assert r.status == 401
    assert "CXBOT_WEBHOOK_SECRET" in r.json()["message"]
    assert count(services) == 0


# ---------------------------------------------------------------------- storing


def test_webhook_stores_answers_and_returns_their_ids(slack: SlackKit, services: Services) -> None:
    r = slack.webhook([answer(1), answer(2, metric="CSAT", score=5, comment="Rask hjelp 👍")])
    assert r.status == 202, r.text
    body = r.json()
    assert body["duplicates"] == 0
    assert len(body["stored"]) == 2
    with services.engine.connect() as conn:
        rows = conn.execute(
            select(Response.id, Response.metric, Response.source, Response.local_day).order_by(  # type: ignore[call-overload]
                Response.id
            )
        ).all()
        daily = conn.execute(select(func.sum(ResponseDaily.n))).scalar_one()
    assert [r.id for r in rows] == body["stored"]
    assert [(r.metric, r.source) for r in rows] == [("nps", "webhook"), ("csat", "webhook")]
    assert str(rows[0].local_day) == "2026-11-20"
    assert daily == 2  # the daily counts moved with the rows


def test_webhook_accepts_a_single_object(slack: SlackKit, services: Services) -> None:
    r = slack.webhook(answer(7))
    assert r.status == 202
    assert len(r.json()["stored"]) == 1
    assert count(services) == 1


def test_duplicates_are_not_stored_twice(slack: SlackKit, services: Services) -> None:
    assert slack.webhook([answer(1), answer(2)]).status == 202
    r = slack.webhook([answer(2), answer(3), answer(3)])
    assert r.status == 202
    assert r.json()["duplicates"] == 2
    assert len(r.json()["stored"]) == 1
    # Without response_id, an identical answer is a duplicate too.
    plain = {"responded_at": "2026-11-21", "metric": "ces", "score": 6}
    assert slack.webhook(plain).json()["stored"]
    assert slack.webhook(plain).json() == {"stored": [], "duplicates": 1}
    assert count(services) == 4


def test_bad_items_are_reported_and_good_ones_kept(slack: SlackKit, services: Services) -> None:
    body = [
        answer(1),
        answer(2, score=11),
        "not an object",
        answer(3, metric="nope"),
        answer(4, responded_at="yesterday"),
        answer(5),
    ]
    r = slack.webhook(body)
    assert r.status == 400
    data = r.json()
    assert [e["index"] for e in data["errors"]] == [1, 2, 3, 4]
    reasons = {e["index"]: e["reason"] for e in data["errors"]}
    assert "11" in reasons[1] and "score" in reasons[1]
    assert "object" in reasons[2]
    assert "metric" in reasons[3]
    assert "responded_at" in reasons[4]
    assert len(data["stored"]) == 2
    assert "2 were accepted" in data["message"] or "other 2" in data["message"]
    assert count(services) == 2


def test_invalid_json_and_odd_bodies(slack: SlackKit, services: Services) -> None:
    r = slack.webhook(None, raw=b'{"metric": "nps",')
    assert r.status == 400
    assert r.json()["error"] == "invalid_json"
    assert "line 1" in r.json()["message"]
    assert slack.webhook(None, raw=b"\xff\xfe\x00").status == 400
    assert slack.webhook([]).status == 400
    assert slack.webhook(42).status == 400
    assert count(services) == 0


def test_team_is_taken_from_the_query_or_the_workspace(slack: SlackKit, services: Services) -> None:
    assert slack.webhook(answer(1), team="T0CXLOCAL").status == 202
    assert slack.webhook(answer(2)).status == 202
    assert count(services) == 2
    r = slack.webhook(answer(1), team="not-a-team")
    assert r.status == 400
    assert r.json()["error"] == "bad_team"


@pytest.mark.parametrize("team", ["T0CXLOCAL%0A", "T0CXLOCAL%0D%0A", "T0OTHER", "T0CXLOCAL%00"])
def test_a_team_that_is_not_an_installed_workspace_is_refused(
    slack: SlackKit, services: Services, team: str
) -> None:
    """`$` matched before a trailing newline, and any well-formed id was taken: answers
    landed under a workspace nobody installed."""
    r = slack.webhook(answer(1), team=team)
    assert r.status == 400, r.text
    assert r.json()["error"] == "bad_team"
    assert slack.webhook(answer(1), secret=None, team=team).status == 401
    with services.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Response)).scalar_one() == 0


def test_a_workspace_with_its_own_key_is_closed_to_the_shared_one(
    slack: SlackKit, services: Services
) -> None:
    from storage import settings_store

    own = "the-workspaces-own-key"
    settings_store.set(services.engine, team_id="T0CXLOCAL", key="webhook.secret", value=own)
    # The shared CXBOT_WEBHOOK_SECRET (what every workspace's tool holds) is refused.
    r = slack.webhook(answer(1), team="T0CXLOCAL")
    assert r.status == 401 and "X-CXBot-Signature" in r.json()["message"]
    assert slack.webhook(answer(1), own, team="T0CXLOCAL").status == 202
    assert slack.webhook(answer(2)).status == 401
    assert slack.webhook(answer(2), own).status == 202
    # The workspace's own key opens that workspace only (two workspaces: tests/e2e).
    assert slack.webhook(answer(3), own, team="T0OTHER").status == 401
    assert count(services) == 2


def announce_body(url: str, length: int) -> tuple[int, dict[str, Any]]:
    """Send only the headers of a POST announcing `length` bytes, and read the answer: the
    limit must be enforced before the body is read."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        head = (
            f"POST {parts.path} HTTP/1.1\r\nHost: {parts.hostname}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        )
        sock.sendall(head.encode())
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        return resp.status, json.loads(resp.read())


def test_body_over_the_limit_is_refused(server: RunningServer) -> None:
    limit = server.app.max_body
    status, body = announce_body(server.url + "/webhooks/responses", limit + 1)
    assert status == 413
    assert body["error"] == "too_large"
    status, _ = announce_body(server.url + "/slack/events", limit + 1)
    assert status == 413


def test_body_at_the_limit_is_read(server: RunningServer, slack: SlackKit) -> None:
    limit = server.app.max_body
    item = json.dumps(answer(1)).encode()
    padded = b"[" + b" " * (limit - len(item) - 2) + item + b"]"
    assert len(padded) == limit
    assert slack.webhook(None, raw=padded).status == 202


# ---------------------------------------------------------------------- health, routing


def test_healthz_ok(server: RunningServer) -> None:
    status, text = get(server.url + "/healthz")
    assert status == 200
    assert json.loads(text) == {
        "status": "ok",
        "outbox_backlog": 0,
        "outbox_oldest_due_seconds": 0,
        "outbox": "moving",
    }


def test_healthz_503_when_the_database_is_gone(
    tmp_path: Any, services: Services, bolt_app: App
) -> None:
    broken = make_engine(f"sqlite:///{tmp_path}/no/such/dir/cxbot.db")
    with serve_wsgi(WebApp(Services(settings=services.settings, engine=broken), bolt_app)) as s:
        status, text = get(s.url + "/healthz")
    assert status == 503
    assert json.loads(text)["status"] == "unavailable"


def test_healthz_503_when_postgres_is_unreachable(services: Services, bolt_app: App) -> None:
    broken = make_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    with serve_wsgi(WebApp(Services(settings=services.settings, engine=broken), bolt_app)) as s:
        status, _ = get(s.url + "/healthz")
    assert status == 503


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 404),
        ("GET", "/nope", 404),
        ("POST", "/healthz", 405),
        ("GET", "/slack/events", 405),
        ("DELETE", "/webhooks/responses", 405),
    ],
)
def test_other_paths_answer_json(
    server: RunningServer, method: str, path: str, status: int
) -> None:
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=5)
    conn.request(method, path, body=b"" if method != "GET" else None)
    resp = conn.getresponse()
    data = json.loads(resp.read())
    conn.close()
    assert resp.status == status
    assert data["error"] in ("not_found", "method_not_allowed")
    if status == 405:
        assert resp.getheader("Allow")
