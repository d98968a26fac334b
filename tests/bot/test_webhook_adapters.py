"""Survey tools' own webhooks through the real web app (`cxbot serve`'s WSGI app), the
real database and the local Slack: `POST /webhooks/typeform`, `/webhooks/delighted` and
`/webhooks/formbricks`, each with the tool's payload and signature (core/webhook_adapters.py
cites where each comes from). A correctly signed delivery is stored and counted and a
detractor raises its alert; a wrongly signed one is refused with 401 and stores nothing;
the same delivery again is a duplicate. Typeform also on PostgreSQL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import app as cli_app
from bot.localslack import LocalSlack
from bot.services import Services
from bot.settings import Settings
from storage import settings_store
from storage.models import Response, ResponseDaily
from tests.bot.conftest import RunningServer, make_settings
from tests.bot.slackkit import post
from tests.bot.test_alerts import alert_posts, flat

pytestmark = pytest.mark.real_time

TEAM = "T0CXLOCAL"
ALERTS = "C0ALERTS"
TYPEFORM_SECRET = "typeform-secret-0123456789abcdef"
DELIGHTED_KEY = "delighted-api-key-0123456789abcd"
FORMBRICKS_SECRET = "whsec_" + base64.b64encode(b"formbricks signing key, 32 bytes").decode()


@pytest.fixture
def bot_settings(request: pytest.FixtureRequest, localslack: LocalSlack) -> Settings:
    """SQLite, or PostgreSQL where a test asks for it (indirect parametrisation)."""
    kind = getattr(request, "param", "sqlite")
    url = request.getfixturevalue("pg_url" if kind == "postgres" else "sqlite_url")
    return make_settings(localslack, str(url))


@pytest.fixture
def connected(server: RunningServer, services: Services) -> Iterator[RunningServer]:
    """Alerts go to C0ALERTS; Delighted's and Formbricks' keys set (Typeform's is set
    through the CLI in its test, as a user would)."""
    for key, value in {
        "alerts.channel": ALERTS,
        "webhook.delighted_secret": DELIGHTED_KEY,
        "webhook.formbricks_secret": FORMBRICKS_SECRET,
    }.items():
        settings_store.set(services.engine, team_id=TEAM, key=key, value=value)
    yield server


def send(
    server: RunningServer, tool: str, body: bytes, headers: dict[str, str], query: str = ""
) -> tuple[int, Any]:
    url = f"{server.url}/webhooks/{tool}?team={TEAM}{query}"
    status, text, _, _ = post(url, body, {"Content-Type": "application/json", **headers})
    return status, json.loads(text) if text else None


def stored(services: Services) -> list[Any]:
    with services.engine.connect() as conn:
        query = select(
            Response.response_key,  # type: ignore[call-overload]
            Response.metric,
            Response.score,
            Response.customer_id,
            Response.segment,
            Response.comment,
            Response.source,
        ).order_by(Response.id)
        return list(conn.execute(query).all())


def counted(services: Services) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.sum(ResponseDaily.n), 0))).scalar_one())


def wait_alert(localslack: LocalSlack, text: str) -> str:
    def found() -> str:
        return next((flat(m) for m in alert_posts(localslack, ALERTS) if text in flat(m)), "")

    return localslack.wait_for(found, timeout=10)


def recent(minutes: int = 5) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes)


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert bad == [], [r.getMessage() for r in bad]


# ---------------------------------------------------------------------- Typeform


def typeform_delivery(token: str, *, nps: int, csat_choice: str, comment: str) -> bytes:
    """A Typeform `form_response` webhook, shaped as Typeform's example payload
    (https://www.typeform.com/developers/webhooks/example-payload/): event_id, event_type,
    form_response with token, submitted_at, hidden fields, definition.fields and answers
    (`number` for the NPS question, `choice`, `text`, `email`). The question texts are
    Norwegian and English, as a Nordic CX team's form would be."""
    fields = [
        {"id": "q1NPS", "ref": "nps", "type": "nps",
         "title": "Hvor sannsynlig er det at du vil anbefale oss til en venn?"},
        {"id": "q2CSAT", "ref": "csat", "type": "multiple_choice",
         "title": "How satisfied were you with our support?",
         "choices": [{"id": f"c{i}", "label": label} for i, label in enumerate(
             ["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"])]},
        {"id": "q3WHY", "ref": "why", "type": "long_text", "title": "Hva kan vi gjøre bedre?"},
        {"id": "q4MAIL", "ref": "email", "type": "email", "title": "Your email"},
    ]  # fmt: skip
    answers = [
        {"type": "number", "number": nps, "field": {"id": "q1NPS", "type": "nps", "ref": "nps"}},
        {"type": "choice", "choice": {"label": csat_choice},
         "field": {"id": "q2CSAT", "type": "multiple_choice", "ref": "csat"}},
        {"type": "text", "text": comment,
         "field": {"id": "q3WHY", "type": "long_text", "ref": "why"}},
        {"type": "email", "email": "kari@example.no",
         "field": {"id": "q4MAIL", "type": "email", "ref": "email"}},
    ]  # fmt: skip
    submitted = recent()
    payload = {
        "event_id": "01HTYPEFORMEVENT",
        "event_type": "form_response",
        "form_response": {
            "form_id": "lT4Z3j",
            "token": token,
            "landed_at": (submitted - timedelta(minutes=2)).isoformat().replace("+00:00", "Z"),
            "submitted_at": submitted.isoformat().replace("+00:00", "Z"),
            "hidden": {"customer_id": "ACME-7", "segment": "Retail"},
            "definition": {"id": "lT4Z3j", "title": "Kundeundersøkelse", "fields": fields},
            "answers": answers,
        },
    }
    return json.dumps(payload).encode()


def typeform_signature(secret: str, body: bytes) -> dict[str, str]:
    """Typeform-Signature: sha256=<base64 HMAC-SHA256 of the raw body>
    (https://www.typeform.com/developers/webhooks/secure-your-webhooks/)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {"Typeform-Signature": "sha256=" + base64.b64encode(digest).decode()}


@pytest.mark.parametrize(
    "bot_settings", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_typeform(
    connected: RunningServer,
    services: Services,
    localslack: LocalSlack,
    bot_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Step one of connecting Typeform, as the README says: the secret through the CLI.
    monkeypatch.setenv("DATABASE_URL", bot_settings.database_url)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    done = runner.invoke(cli_app, ["config", "set", "webhook.typeform_secret", TYPEFORM_SECRET])
    assert done.exit_code == 0, done.output
    shown = runner.invoke(cli_app, ["config", "show"]).stdout
    assert TYPEFORM_SECRET not in done.output + shown
    assert "(set, hidden)" in next(x for x in shown.splitlines() if "typeform_secret" in x)

    body = typeform_delivery(
        "a3a12ec67a1365927098a606107fac15", nps=3, csat_choice="Dissatisfied",
        comment="Ventet 40 minutter i telefonkø",
    )  # fmt: skip
    status, reply = send(connected, "typeform", body, typeform_signature(TYPEFORM_SECRET, body))
    assert status == 202, reply
    assert len(reply["stored"]) == 2 and reply["duplicates"] == 0
    rows = stored(services)
    assert [(r.metric, r.score, r.customer_id, r.segment, r.source) for r in rows] == [
        ("nps", 3, "ACME-7", "Retail", "typeform"),
        ("csat", 2, "ACME-7", "Retail", "typeform"),  # "Dissatisfied": 2nd of 5 choices
    ]
    assert rows[0].comment == "Ventet 40 minutter i telefonkø"
    assert counted(services) == 2
    alert = wait_alert(localslack, "NPS 3")
    assert "ACME-7" in alert and "Ventet 40 minutter" in alert

    # Typeform retries a delivery it thinks failed: stored once.
    status, reply = send(connected, "typeform", body, typeform_signature(TYPEFORM_SECRET, body))
    assert (status, reply) == (202, {"stored": [], "duplicates": 2})

    # Wrongly signed: another key, a hex digest instead of base64, none at all.
    other = typeform_delivery("b" * 32, nps=1, csat_choice="Neutral", comment="x")
    for headers in (
        typeform_signature("not-the-workspace-secret-42", other),
        {"Typeform-Signature": "sha256=" + hmac.new(TYPEFORM_SECRET.encode(), other,
                                                    hashlib.sha256).hexdigest()},
        {},
    ):  # fmt: skip
        status, reply = send(connected, "typeform", other, headers)
        assert status == 401 and "Typeform-Signature" in reply["message"]
    assert len(stored(services)) == 2 and counted(services) == 2
    no_traceback(caplog)


def test_typeform_question_it_cannot_place_is_named_and_the_others_kept(
    connected: RunningServer, services: Services
) -> None:
    settings_store.set(services.engine, team_id=TEAM, key="webhook.typeform_secret",
                       value=TYPEFORM_SECRET)  # fmt: skip
    payload = json.loads(typeform_delivery("c" * 32, nps=9, csat_choice="Satisfied", comment=""))
    response = payload["form_response"]
    response["definition"]["fields"].append(
        {"id": "q5X", "type": "opinion_scale", "title": "Hvordan var været?",
         "properties": {"steps": 10, "start_at_one": True}}
    )  # fmt: skip
    response["answers"].append(
        {"type": "number", "number": 4, "field": {"id": "q5X", "type": "opinion_scale"}}
    )
    # An opinion scale that says "easy" is CES; its 1-7 range is checked like any answer.
    response["definition"]["fields"].append(
        {"id": "q6CES", "type": "opinion_scale", "title": "Hvor lett var det å få hjelp?"}
    )
    response["answers"].append(
        {"type": "number", "number": 9, "field": {"id": "q6CES", "type": "opinion_scale"}}
    )
    body = json.dumps(payload).encode()
    status, reply = send(connected, "typeform", body, typeform_signature(TYPEFORM_SECRET, body))
    assert status == 400, reply
    errors = {e["question"]: e["reason"] for e in reply["errors"]}
    assert set(errors) == {"Hvordan var været? (q5X)", "Hvor lett var det å få hjelp? (q6CES)"}
    assert "which metric" in errors["Hvordan var været? (q5X)"]
    assert "1-10" in errors["Hvordan var været? (q5X)"]
    assert "9" in errors["Hvor lett var det å få hjelp? (q6CES)"]
    assert [(r.metric, r.score) for r in stored(services)] == [("nps", 9), ("csat", 4)]

    # Another event type (a partial response) is acknowledged, not stored.
    partial = json.dumps({**payload, "event_type": "form_response_partial"}).encode()
    status, reply = send(connected, "typeform", partial,
                         typeform_signature(TYPEFORM_SECRET, partial))  # fmt: skip
    assert status == 202 and "form_response_partial" in reply["ignored"]
    assert len(stored(services)) == 2


# ---------------------------------------------------------------------- Delighted


def delighted_delivery(response_id: str, *, score: int, comment: str | None, event: str) -> bytes:
    """A Delighted survey-response webhook as its docs show it
    (https://app.delighted.com/docs/api/webhooks): event_type, event_id and event_data
    with id, person {id, email, name, created_at}, survey_type, score, comment, permalink,
    created_at / updated_at in epoch seconds, person_properties, notes, tags."""
    created = int(recent().timestamp())
    payload = {
        "event_type": event,
        "event_id": hashlib.sha256(f"{response_id}:{event}".encode()).hexdigest(),
        "event_data": {
            "id": response_id,
            "person": {"id": "5975", "email": "charlie_gravis@example.com",
                       "name": "Charlie Gravis", "created_at": created - 60},
            "survey_type": "nps",
            "score": score,
            "comment": comment,
            "permalink": "https://app.delighted.com/r/5pFDpmlyC8GUc5oxU6USto5VonSKAqOa",
            "created_at": created,
            "updated_at": created + 600,
            "person_properties": {"Segment": "Enterprise", "Delighted Source": "Email"},
            "notes": [],
            "tags": [],
        },
    }  # fmt: skip
    return json.dumps(payload).encode()


def delighted_signature(key: str, body: bytes) -> dict[str, str]:
    """X-Delighted-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body with the
    project's API key>, the header of https://app.delighted.com/docs/api/webhooks as public
    client code checks it (kiteco/kiteco, kite-go's Delighted webhook verification)."""
    digest = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Delighted-Webhook-Signature": "sha256=" + digest}


def test_delighted(
    connected: RunningServer,
    services: Services,
    localslack: LocalSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = delighted_delivery(
        "5435", score=2, comment="Fakturaen var feil igjen", event="survey_response.created"
    )
    status, reply = send(connected, "delighted", body, delighted_signature(DELIGHTED_KEY, body))
    assert status == 202, reply
    assert len(reply["stored"]) == 1
    rows = stored(services)
    assert [(r.response_key, r.metric, r.score, r.customer_id, r.segment) for r in rows] == [
        ("id:5435", "nps", 2, "charlie_gravis@example.com", "Enterprise")
    ]
    assert counted(services) == 1
    alert = wait_alert(localslack, "NPS 2")
    assert "Fakturaen var feil igjen" in alert

    # The same response again (Delighted's .updated): a duplicate, not a second answer.
    again = delighted_delivery(
        "5435", score=2, comment="Fakturaen var feil igjen", event="survey_response.updated"
    )
    status, reply = send(connected, "delighted", again, delighted_signature(DELIGHTED_KEY, again))
    assert (status, reply) == (202, {"stored": [], "duplicates": 1})

    forged = delighted_delivery("5436", score=0, comment=None, event="survey_response.created")
    for headers in (delighted_signature("some-other-project-api-key", forged), {}):
        status, reply = send(connected, "delighted", forged, headers)
        assert status == 401 and "X-Delighted-Webhook-Signature" in reply["message"]
    assert len(stored(services)) == 1 and counted(services) == 1

    unsubscribe = json.dumps(
        {"event_type": "unsubscribe.created", "event_id": "eb14", "event_data": {}}
    ).encode()
    status, reply = send(
        connected, "delighted", unsubscribe, delighted_signature(DELIGHTED_KEY, unsubscribe)
    )
    assert status == 202 and "unsubscribe.created" in reply["ignored"]
    enps = json.loads(delighted_delivery("5437", score=9, comment=None,
                                         event="survey_response.created"))  # fmt: skip
    enps["event_data"]["survey_type"] = "enps"
    body = json.dumps(enps).encode()
    status, reply = send(connected, "delighted", body, delighted_signature(DELIGHTED_KEY, body))
    assert status == 400 and "enps" in reply["errors"][0]["reason"]
    assert len(stored(services)) == 1
    no_traceback(caplog)


# ---------------------------------------------------------------------- Formbricks


def formbricks_delivery(response_id: str, *, event: str, nps: int, comment: str) -> bytes:
    """A Formbricks webhook body as its response pipeline builds it (github:
    formbricks/formbricks, apps/web/modules/response-pipeline/lib/
    process-response-pipeline-job.ts: {webhookId, event, data: {...response, survey}}),
    with the fields of the example payloads in docs/platform/features/integrations/
    webhooks.mdx: answers in data.data by question id, createdAt, contactAttributes."""
    created = recent().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    payload = {
        "webhookId": "cm5webhook0000000000000",
        "event": event,
        "data": {
            "id": response_id,
            "createdAt": created,
            "updatedAt": created,
            "surveyId": "cm5survey00000000000000",
            "displayId": "displayId",
            "contact": {"id": "cm5contact0000000000000", "userId": "ACME-9"},
            "contactAttributes": {"email": "ola@example.no", "segment": "SMB"},
            "finished": event == "responseFinished",
            "endingId": None,
            "data": {"ra2t4ydvn3vmrkmgu6czvkfu": nps, "oq8w1l2k3j4h5g6f7d8s9a0z": comment},
            "variables": {},
            "ttc": {"ra2t4ydvn3vmrkmgu6czvkfu": 2154.7},
            "tags": [],
            "meta": {"country": "NO", "url": "https://app.formbricks.com/s/cm5survey"},
            "singleUseId": None,
            "language": "nb",
            "survey": {"title": "Kundetilfredshet", "type": "link", "status": "inProgress"},
        },
    }
    return json.dumps(payload).encode()


def formbricks_signature(
    secret: str, body: bytes, message_id: str = "msg_1", stamp: int | None = None
) -> dict[str, str]:
    """Standard Webhooks as Formbricks signs (apps/web/lib/crypto.ts,
    generateStandardWebhookSignature): base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"
    keyed with the base64-decoded part after `whsec_`, sent as `v1,<signature>`."""
    stamp = int(time.time()) if stamp is None else stamp
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{stamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": f"v1,{signature}",
    }


def test_formbricks(
    connected: RunningServer,
    services: Services,
    localslack: LocalSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The URL says which question is NPS and which the comment (Formbricks sends no types).
    query = "&nps=ra2t4ydvn3vmrkmgu6czvkfu&comment=oq8w1l2k3j4h5g6f7d8s9a0z"
    body = formbricks_delivery(
        "cm5resp1", event="responseFinished", nps=4, comment="Leveransen kom aldri"
    )
    headers = formbricks_signature(FORMBRICKS_SECRET, body)
    status, reply = send(connected, "formbricks", body, headers, query)
    assert status == 202, reply
    rows = stored(services)
    assert [(r.response_key, r.metric, r.score, r.customer_id, r.segment) for r in rows] == [
        ("id:cm5resp1", "nps", 4, "ACME-9", "SMB")
    ]
    assert rows[0].comment == "Leveransen kom aldri" and counted(services) == 1
    assert "Leveransen kom aldri" in wait_alert(localslack, "NPS 4")

    # Formbricks retries with a new timestamp: the response is stored once.
    status, reply = send(
        connected, "formbricks", body, formbricks_signature(FORMBRICKS_SECRET, body), query
    )
    assert (status, reply) == (202, {"stored": [], "duplicates": 1})

    other = formbricks_delivery("cm5resp2", event="responseFinished", nps=0, comment="x")
    wrong_key = "whsec_" + base64.b64encode(b"another webhook's signing key!!!").decode()
    for bad in (
        formbricks_signature(wrong_key, other),
        formbricks_signature(FORMBRICKS_SECRET, other, stamp=int(time.time()) - 3600),
        {**formbricks_signature(FORMBRICKS_SECRET, other), "webhook-id": "msg_other"},
        {},
    ):
        status, reply = send(connected, "formbricks", other, bad, query)
        assert status == 401 and "webhook-signature" in reply["message"]
    assert len(stored(services)) == 1 and counted(services) == 1

    # Only a finished response is stored; without the mapping the reason says what to add.
    started = formbricks_delivery("cm5resp3", event="responseCreated", nps=9, comment="")
    status, reply = send(
        connected, "formbricks", started, formbricks_signature(FORMBRICKS_SECRET, started), query
    )
    assert status == 202 and "responseCreated" in reply["ignored"]
    status, reply = send(
        connected, "formbricks", other, formbricks_signature(FORMBRICKS_SECRET, other)
    )
    assert status == 400 and "&nps=<question id>" in reply["errors"][0]["reason"]
    assert len(stored(services)) == 1
    no_traceback(caplog)


def test_a_tool_webhook_needs_its_own_key_and_an_installed_workspace(
    server: RunningServer, services: Services
) -> None:
    body = typeform_delivery("d" * 32, nps=10, csat_choice="Very satisfied", comment="")
    # No webhook.typeform_secret: off, with the same answer as a wrong signature...
    status, reply = send(server, "typeform", body, typeform_signature(TYPEFORM_SECRET, body))
    assert status == 401 and "webhook.typeform_secret" in reply["message"]
    # ...and another tool's key, or the shared CXBOT_WEBHOOK_SECRET, does not open it.
    settings_store.set(services.engine, team_id=TEAM, key="webhook.delighted_secret",
                       value=TYPEFORM_SECRET)  # fmt: skip
    status, _ = send(server, "typeform", body, typeform_signature(TYPEFORM_SECRET, body))
    assert status == 401
    settings_store.set(services.engine, team_id=TEAM, key="webhook.typeform_secret",
                       value=TYPEFORM_SECRET)  # fmt: skip
    url = f"{server.url}/webhooks/typeform?team=T0OTHER"
    status, _, _, _ = post(url, body, typeform_signature(TYPEFORM_SECRET, body))
    assert status == 401  # a workspace that is not installed has no key
    assert stored(services) == []
    status, _, _, _ = post(f"{server.url}/webhooks/typeform", body,
                           typeform_signature(TYPEFORM_SECRET, body))  # fmt: skip
    assert status == 202  # the one workspace is the default, as for /webhooks/responses


def test_signed_but_hostile_bodies_get_a_clear_400_and_no_traceback(
    connected: RunningServer, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    good = json.loads(typeform_delivery("e" * 32, nps=8, csat_choice="Neutral", comment="ok"))
    surrogate = json.dumps(good).replace('"ok"', '"x\\ud800"').encode()
    bodies = {
        b'{"event_type": "form_response",': "invalid JSON",
        b"\xff\xfe": "not UTF-8",
        b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}": "nested too deeply",
        b"[1, 2]": "JSON object",
        b'{"event_type": "form_response", "form_response": []}': "JSON object",
        b'{"event_type": "form_response", "form_response": {"answers": "x"}}': "no NPS",
        b'{"event_type": "form_response", "form_response": {"answers": 5}}': "no NPS",
        # Parts of the right name and the wrong type: a number where a list belongs.
        b'{"event_type": "form_response", "form_response": {"definition": {"fields": 5}, '
        b'"answers": [{"type": "number", "number": 4, "field": {"id": "q", "type": "rating"}}]}}': (
            "which metric"
        ),
        b'{"event_type": "form_response", "form_response": {"definition": {"fields": [{"id": "q", '
        b'"title": "How satisfied were you?", "choices": 5}]}, "answers": [{"type": "choice", '
        b'"choice": 5, "field": {"id": "q", "type": "multiple_choice"}}]}}': "no NPS",
        surrogate: "surrogate",
    }
    settings_store.set(services.engine, team_id=TEAM, key="webhook.typeform_secret",
                       value=TYPEFORM_SECRET)  # fmt: skip
    for body, expected in bodies.items():
        status, reply = send(connected, "typeform", body, typeform_signature(TYPEFORM_SECRET, body))
        assert status == 400 and expected in json.dumps(reply), (body[:40], reply)
    # A survey-response event without its object: the reason names the missing part.
    odd = b'{"event_type": "survey_response.created", "event_data": [1]}'
    status, reply = send(connected, "delighted", odd, delighted_signature(DELIGHTED_KEY, odd))
    assert status == 400 and "event_data" in reply["errors"][0]["reason"]
    assert stored(services) == []
    no_traceback(caplog)
