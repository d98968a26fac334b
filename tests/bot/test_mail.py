"""Closing the loop with the customer, through the real bot and real mail servers:

a signed webhook brings an answer with the customer's address; Reply to customer opens
the form, the submission goes through the outbox to an SMTP server on loopback (aiosmtpd)
that refuses the first attempt, while Slack fails 30 % of calls; the customer's answer
comes back through `cxbot mail-in` (a process of its own) and Postmark's webhook, into the
right thread once; forged tokens post nothing; the rating and unsubscribe links work.
"""

from __future__ import annotations

import base64
import json
import os
import re
import smtplib
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from bot.handlers.alerts import blocks as alert_views
from bot.handlers.mail import blocks as views
from bot.handlers.mail.posting import RATE_PATH, UNSUBSCRIBE_PATH
from bot.localslack import LocalSlack
from bot.services import Services
from core import mail as core_mail
from storage import outbox, settings_store
from storage.forget import forget_customer
from storage.models import AlertMail, AlertMailbox, Response
from tests.bot.conftest import RunningServer
from tests.bot.slackkit import SlackKit, text_input
from tests.bot.test_alerts import alert_posts, flat, key_of

pytestmark = pytest.mark.real_time

TEAM = "T0CXLOCAL"
ADDRESS = "kari.nordmann@kunde.example"
DOMAIN = "replies.acme.example"


class Sink:
    """An SMTP server that refuses the first `refuse` mails with 451 and keeps the rest."""

    def __init__(self, refuse: int = 1) -> None:
        self.refuse = refuse
        self.refused = 0
        self.received: list[tuple[list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.refused < self.refuse:
                self.refused += 1
                return "451 4.3.0 Try again later"
            self.received.append((list(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 OK"


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def configure(services: Services, server: RunningServer, smtp_port: int) -> None:
    for key, value in {
        "alerts.channel": "C0ALERTS",
        "mail.smtp": f"smtp://127.0.0.1:{smtp_port}",
        "mail.from": "Acme Care <care@acme.example>",
        "mail.reply_domain": DOMAIN,
        "mail.public_url": server.url,
        "mail.inbound_secret": "postmark-inbound-0123456789",
    }.items():
        settings_store.set(services.engine, team_id=TEAM, key=key, value=value)


def raise_alert(slack: SlackKit, localslack: LocalSlack) -> tuple[int, dict[str, Any]]:
    answer = {
        "responded_at": datetime.now(UTC).isoformat(),
        "metric": "nps",
        "score": 2,
        "customer_id": "KUNDE-9",
        "customer_email": ADDRESS,
        "customer_name": "Kari Nordmann",
        "comment": "Jeg ventet i en time og ingen ringte meg tilbake, det er ikke greit",
        "response_id": "mail-1",
    }
    assert slack.webhook(answer).status == 202
    (msg,) = localslack.wait_for(lambda: alert_posts(localslack, "C0ALERTS"), timeout=10)
    return int(key_of(msg).split(":")[1]), {**msg, "channel": "C0ALERTS"}


def current(localslack: LocalSlack, ts: str) -> dict[str, Any]:
    found: dict[str, Any] = next(m for m in localslack.messages("C0ALERTS") if m["ts"] == ts)
    return found


def thread(localslack: LocalSlack, ts: str) -> list[dict[str, Any]]:
    return [
        m for m in localslack.messages("C0ALERTS") if m.get("thread_ts") == ts and m["ts"] != ts
    ]


def settle(services: Services, localslack: LocalSlack, timeout: float = 60) -> None:
    """Until the outbox has sent everything queued so far (polled: LocalSlack's own wait
    wakes only on Slack calls, not on the database)."""
    deadline = time.monotonic() + timeout
    while outbox.backlog(services.engine):
        assert time.monotonic() < deadline, "the outbox did not drain"
        time.sleep(0.1)


def open_form(localslack: LocalSlack) -> dict[str, Any]:
    def modal() -> dict[str, Any]:
        return next(
            (v for v in localslack.open_views() if v.get("callback_id") == views.MAIL_MODAL), {}
        )

    return localslack.wait_for(modal, timeout=5)


def form_values(
    body: str, subject: str = "Om tilbakemeldingen din", locale: str = "nb"
) -> dict[str, Any]:
    rate = {"value": "yes", "text": {"type": "plain_text", "text": "rate"}}
    return {
        views.LANG_BLOCK: {
            views.LANG_INPUT: {"type": "static_select", "selected_option": {"value": locale}}
        },
        views.drafted(views.SUBJECT_BLOCK, locale): {views.SUBJECT_INPUT: text_input(subject)},
        views.drafted(views.BODY_BLOCK, locale): {views.BODY_INPUT: text_input(body)},
        views.RATE_BLOCK: {views.RATE_INPUT: {"type": "checkboxes", "selected_options": [rate]}},
    }


def count(services: Services, table: Any, *where: Any) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def reply_mail(to: str, in_reply_to: str, text: str, *, message_id: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Kari Nordmann <{ADDRESS}>"
    msg["To"] = to
    msg["Subject"] = "Re: Om tilbakemeldingen din"
    msg["Message-ID"] = message_id or make_msgid(domain="kunde.example")
    msg["In-Reply-To"] = in_reply_to
    msg.set_content(
        f"{text}\n\nDen 23. nov. 2026 skrev Acme Care <care@acme.example>:\n"
        "> Hei Kari,\n> Takk for at du sa fra <@U0ADA> <!channel>\n"
    )
    msg.add_attachment(b"%PDF-1.4 " + b"x" * 3000, maintype="application", subtype="pdf",
                       filename="kvittering.pdf")  # fmt: skip
    return msg.as_bytes(policy=policy.SMTP)


@pytest.fixture
def mail_in(services: Services) -> Iterator[int]:
    """`cxbot mail-in` as its own process, on the test's database."""
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CXBOT_"))},
        "DATABASE_URL": services.settings.database_url,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "mail-in", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    out = proc.stdout.read().decode() if proc.stdout else "died"
                    raise AssertionError(out) from None
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def smtp_send(port: int, to: list[str], raw: bytes) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        return smtp.sendmail(ADDRESS, to, raw)


def test_reply_goes_out_once_and_the_answer_comes_back(
    slack: SlackKit,
    localslack: LocalSlack,
    services: Services,
    server: RunningServer,
    sink: tuple[Sink, int],
    mail_in: int,
) -> None:
    smtp, smtp_port = sink
    configure(services, server, smtp_port)
    alert_id, msg = raise_alert(slack, localslack)
    ts = msg["ts"]
    # The channel sees that a customer can be written to, never who they are.
    assert views.MAIL_ACTION in flat(msg) and ADDRESS not in json.dumps(msg)
    assert "Kari" not in flat(msg)
    slack.block_action(alert_views.CLAIM_ACTION, str(alert_id), user="U0BJORN", message=msg)
    localslack.wait_for(
        lambda: "Claimed by <@U0BJORN>" in flat(current(localslack, ts)), timeout=10
    )

    # Someone who may not act on it is told so, and sees no address.
    other = slack.block_action(views.MAIL_ACTION, str(alert_id), user="U0SVEA", message=msg)
    seen = slack.wait_reply(other, where=lambda r: r["kind"] in ("response", "ephemeral"))
    assert ADDRESS not in json.dumps(seen)

    # The owner opens the form: address, Norwegian draft (from the comment), rating on.
    slack.block_action(views.MAIL_ACTION, str(alert_id), user="U0BJORN", message=msg)
    form = open_form(localslack)
    dumped = json.dumps(form, ensure_ascii=False)
    assert ADDRESS in dumped and "Hei Kari" in dumped and "ventet i en time" in dumped

    # Slack fails 30 % of calls from now on; the SMTP server refuses the first attempt.
    faulted_from = time.time()
    localslack.set_faults(0.3, (500, 503), after_effect=True)
    body = "Hei Kari,\n\nBeklager ventetiden. Vi har ringt deg tilbake i dag.\n\nAda"
    for _ in range(2):  # a double submission
        done = slack.view_submission(
            views.MAIL_MODAL, form_values(body), str(alert_id), user="U0BJORN", view_id=form["id"]
        )
        assert done.status == 200 and done.text in ("", "null"), done.text
    deadline = time.monotonic() + 60
    while not smtp.received:
        assert time.monotonic() < deadline, "no mail reached the SMTP server"
        time.sleep(0.1)
    settle(services, localslack, timeout=90)
    assert smtp.refused == 1 and len(smtp.received) == 1
    rcpt, raw = smtp.received[0]
    assert rcpt == [ADDRESS]
    sent = message_from_bytes(raw, policy=policy.default)
    token = core_mail.token_of(str(sent["Reply-To"]))
    assert token and str(sent["Reply-To"]).endswith("@" + DOMAIN)
    assert str(sent["Message-ID"]).startswith("<cxbot.")
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.sub(r"\s+", "", str(sent["List-Unsubscribe"])).strip("<>")
    text = sent.get_body(("plain",)).get_content()
    assert "Beklager ventetiden" in text and "Hvordan opplever du det nå?" in text
    rating = re.search(r"(http://\S+/mail/rate\?t=[^&\s]+)&score=5", text)
    assert rating is not None

    posts = [m for m in thread(localslack, ts) if "wrote to the customer" in flat(m)]
    assert len(posts) == 1 and "<@U0BJORN>" in flat(posts[0]) and "Beklager" in flat(posts[0])
    assert ADDRESS not in json.dumps(posts[0])
    with services.engine.connect() as conn:
        first = conn.execute(
            select(func.min(AlertMail.__table__.c.accepted_at))  # type: ignore[attr-defined]
        ).scalar_one()
    assert first is not None

    # The customer answers through `cxbot mail-in`; the same mail arrives twice.
    reply_to = str(sent["Reply-To"])
    raw_reply = reply_mail(reply_to, str(sent["Message-ID"]), "Takk, nå fungerer det! <@U0ADA>")
    assert smtp_send(mail_in, [reply_to], raw_reply) == {}
    assert smtp_send(mail_in, [reply_to], raw_reply) == {}

    def replies() -> list[dict[str, Any]]:
        return [m for m in thread(localslack, ts) if "The customer replied" in flat(m)]

    localslack.wait_for(replies, timeout=20)
    settle(services, localslack)
    (answer,) = replies()
    shown = flat(answer)
    assert "nå fungerer det" in shown and "kvittering.pdf" in shown and "not kept" in shown
    assert "Hei Kari" not in shown  # the quoted history is stripped
    assert "<@U0ADA>" not in shown and "<!channel>" not in shown  # no live mention
    dm = localslack.open_dm("U0BJORN")
    assert len([m for m in localslack.messages(dm) if "replied" in flat(m)]) == 1
    localslack.wait_for(lambda: "customer replied" in flat(current(localslack, ts)), timeout=10)

    # A forged token posts nothing; an address that is no reply address is refused.
    before = len(thread(localslack, ts))
    forged = core_mail.reply_address(core_mail.new_token(), DOMAIN)
    assert smtp_send(mail_in, [forged], reply_mail(forged, "<x@y>", "Hack")) == {}
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        smtp_send(mail_in, [f"postmaster@{DOMAIN}"], raw_reply)
    time.sleep(1.5)
    settle(services, localslack)
    assert len(thread(localslack, ts)) == before
    assert count(services, AlertMail.__table__, AlertMail.__table__.c.direction == "in") == 1  # type: ignore[attr-defined]

    # The rating link: one answer per mail, shown on the alert.
    page = urllib.request.urlopen(rating.group(1) + "&score=5", timeout=10).read().decode()
    assert 'lang="nb"' in page and "Svært fornøyd" in page and "<script" not in page
    form_token = urllib.parse.parse_qs(urllib.parse.urlsplit(rating.group(1)).query)["t"][0]
    posted = _post(f"{server.url}/mail/rate", {"t": form_token, "score": "5"})
    assert "Takk! Svaret ditt er lagret." in posted
    again = _post(f"{server.url}/mail/rate", {"t": form_token, "score": "1"})
    assert "allerede" in again
    assert "404" in _post_status(f"{server.url}/mail/rate", {"t": form_token + "x", "score": "1"})
    settle(services, localslack)
    localslack.wait_for(lambda: "follow-up rating 5/5" in flat(current(localslack, ts)), timeout=10)

    localslack.set_faults(0.0)
    calls = [c for c in list(localslack.calls) if c.at >= faulted_from]
    failed = [c for c in calls if c.status >= 500]
    print(
        f"under faults: {len(failed)} of {len(calls)} Slack calls failed; SMTP refused "
        f"{smtp.refused}, took {len(smtp.received)}"
    )
    assert failed and len(calls) > len(failed)
    assert len(smtp.received) == 1

    # One-click unsubscribe (RFC 8058): then the button says why no more mail can go.
    done_page = _post(unsubscribe, {"List-Unsubscribe": "One-Click"})
    assert "Ferdig" in done_page
    refused = slack.block_action(views.MAIL_ACTION, str(alert_id), user="U0BJORN", message=msg)
    told = slack.wait_reply(refused, where=lambda r: r["kind"] in ("response", "ephemeral"))
    assert "meldt seg av" in told["text"]  # Bjørn reads Norwegian

    # Forgetting the customer (by their address) takes the contact and every mail.
    erased = forget_customer(
        services.engine, team_id=TEAM, customer_id=ADDRESS, now=services.clock()
    )
    assert erased.responses == 1 and erased.mails == 2
    r = Response.__table__  # type: ignore[attr-defined]
    assert count(services, r, r.c.customer_email.is_not(None)) == 0
    assert (
        count(services, AlertMail.__table__) == 0 and count(services, AlertMailbox.__table__) == 0
    )


def _post(url: str, fields: dict[str, str]) -> str:
    data = urllib.parse.urlencode(fields).encode()
    return (
        urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10).read().decode()
    )


def _post_status(url: str, fields: dict[str, str]) -> str:
    try:
        return _post(url, fields)
    except urllib.error.HTTPError as exc:
        return f"{exc.code}"


def test_link_pages_refuse_what_no_link_of_ours_is(server: RunningServer) -> None:
    """A made-up or mangled address gets the "not valid" page, never a server error."""
    many = "&".join(f"f{i}=x" for i in range(20))
    for path in (RATE_PATH, UNSUBSCRIBE_PATH):
        for query in (many, f"t=1.x&{many}", "t=1.forged", ""):
            req = urllib.request.Request(f"{server.url}{path}?{query}")
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(req, timeout=10)
            assert refused.value.code == 404
            assert "This link is not valid." in refused.value.read().decode()
        posted = urllib.request.Request(
            f"{server.url}{path}?t=1.x", data=many.encode(), method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(posted, timeout=10)
        assert refused.value.code == 404


def test_a_mail_counts_as_sent_once_the_server_took_it(
    slack: SlackKit, localslack: LocalSlack, services: Services
) -> None:
    from storage import mail as store

    # No mail server set up: the outbox gives the mail up for good.
    settings_store.set(services.engine, team_id=TEAM, key="alerts.channel", value="C0ALERTS")
    alert_id, _ = raise_alert(slack, localslack)
    queued = store.queue_reply(
        services.engine, team_id=TEAM, alert_id=alert_id, user_id="U0ADA", subject="",
        body="Hei Kari", locale="nb", reply_domain=DOMAIN, now=services.clock(),
    )  # fmt: skip
    assert queued.mail_id is not None
    # Queued, then refused for good: the alert must not say "1 mail sent".
    assert store.summary(services.engine, team_id=TEAM, alert_id=alert_id).sent == 0
    settle(services, localslack)
    assert store.summary(services.engine, team_id=TEAM, alert_id=alert_id).sent == 0
    store.mark_accepted(services.engine, team_id=TEAM, mail_id=queued.mail_id, now=services.clock())
    assert store.summary(services.engine, team_id=TEAM, alert_id=alert_id).sent == 1


def test_another_language_drafts_the_mail_again(
    slack: SlackKit,
    localslack: LocalSlack,
    services: Services,
    server: RunningServer,
    sink: tuple[Sink, int],
) -> None:
    """Slack keeps what an input holds across views.update while its block_id stays
    (https://api.slack.com/reference/block-kit/views): the Swedish draft must come in
    blocks of its own, or the Norwegian one would stay on screen."""
    from storage import mail as store

    configure(services, server, sink[1])
    alert_id, msg = raise_alert(slack, localslack)
    slack.block_action(views.MAIL_ACTION, str(alert_id), user="U0BJORN", message=msg)
    form = open_form(localslack)
    ids = {b.get("block_id") for b in form["blocks"]}
    assert views.drafted(views.BODY_BLOCK, "nb") in ids

    pick = {"type": "static_select", "selected_option": {"value": "sv"}}
    typed = {**form, "state": {"values": {**form_values("Hei Kari, redigert"),
                                          views.LANG_BLOCK: {views.LANG_INPUT: pick}}}}  # fmt: skip
    slack.block_action(
        views.LANG_INPUT, view=typed, user="U0BJORN", block_id=views.LANG_BLOCK,
        action={"type": "static_select", "action_id": views.LANG_INPUT, "selected_option": pick},
    )  # fmt: skip

    def swedish() -> dict[str, Any] | None:
        found = next((v for v in localslack.open_views() if v.get("id") == form["id"]), None)
        ids = {b.get("block_id") for b in (found or {}).get("blocks", [])}
        return found if views.drafted(views.BODY_BLOCK, "sv") in ids else None

    redrafted = localslack.wait_for(swedish, timeout=5)
    ids = {b.get("block_id") for b in redrafted["blocks"]}
    assert views.drafted(views.BODY_BLOCK, "nb") not in ids
    assert "Om din återkoppling" in json.dumps(redrafted, ensure_ascii=False)

    body = "Hej Kari,\n\nFörlåt väntan.\n\nAda"
    done = slack.view_submission(
        views.MAIL_MODAL, form_values(body, "Om din återkoppling", "sv"), str(alert_id),
        user="U0BJORN", view_id=form["id"],
    )  # fmt: skip
    assert done.status == 200 and done.text in ("", "null"), done.text
    with services.engine.connect() as conn:
        mail_id = conn.execute(select(func.max(AlertMail.__table__.c.id))).scalar_one()  # type: ignore[attr-defined]
    sent = store.get_mail(services.engine, team_id=TEAM, mail_id=int(mail_id))
    assert sent is not None and sent["locale"] == "sv" and sent["body"] == body.strip()


def test_postmark_webhook(
    slack: SlackKit,
    localslack: LocalSlack,
    services: Services,
    server: RunningServer,
    sink: tuple[Sink, int],
) -> None:
    """Postmark's inbound JSON, authenticated with basic auth per workspace."""
    configure(services, server, sink[1])
    alert_id, msg = raise_alert(slack, localslack)
    token = core_mail.new_token()
    with services.engine.begin() as conn:
        conn.execute(
            AlertMailbox.__table__.insert().values(  # type: ignore[attr-defined]
                alert_id=alert_id,
                team_id=TEAM,
                token=token,
                locale="nb",
                created_at=datetime.now(UTC),
            )
        )
    to = core_mail.reply_address(token, DOMAIN)
    body = {
        "From": f"Kari Nordmann <{ADDRESS}>",
        "FromFull": {"Email": ADDRESS, "Name": "Kari Nordmann", "MailboxHash": ""},
        "To": to,
        "ToFull": [{"Email": to, "Name": "", "MailboxHash": token}],
        "OriginalRecipient": to,
        "Subject": "Re: Om tilbakemeldingen din",
        "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
        "TextBody": "Det ordnet seg, takk.\n\nOn Mon, 23 Nov 2026 Acme wrote:\n> old",
        "StrippedTextReply": "Det ordnet seg, takk.",
        "HtmlBody": "<p>Det ordnet seg, takk.</p>",
        "Headers": [
            {"Name": "Message-ID", "Value": "<CAFz1@mail.kunde.example>"},
            {"Name": "In-Reply-To", "Value": "<cxbot.abc@replies.acme.example>"},
        ],
        "Attachments": [
            {"Name": "bilde.png", "Content": "aGVsbG8=", "ContentType": "image/png",
             "ContentLength": 2048}
        ],
    }  # fmt: skip
    url = f"{server.url}/webhooks/email?team={TEAM}"

    def call(password: str | None, data: dict[str, Any]) -> int:
        req = urllib.request.Request(url, data=json.dumps(data).encode(), method="POST")
        req.add_header("Content-Type", "application/json")
        if password is not None:
            cred = base64.b64encode(f"cxbot:{password}".encode()).decode()
            req.add_header("Authorization", f"Basic {cred}")
        try:
            return urllib.request.urlopen(req, timeout=10).status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert call(None, body) == 403
    assert call("wrong-password-0123456789", body) == 403
    assert call("postmark-inbound-0123456789", body) == 200
    assert call("postmark-inbound-0123456789", body) == 200  # Postmark's retry
    forged = {**body, "ToFull": [{"Email": core_mail.reply_address(core_mail.new_token(), DOMAIN)}],
              "To": "", "OriginalRecipient": "", "Headers": []}  # fmt: skip
    assert call("postmark-inbound-0123456789", forged) == 200
    localslack.wait_for(
        lambda: [m for m in thread(localslack, msg["ts"]) if "The customer replied" in flat(m)],
        timeout=10,
    )
    settle(services, localslack)
    replies = [m for m in thread(localslack, msg["ts"]) if "The customer replied" in flat(m)]
    assert len(replies) == 1
    assert "Det ordnet seg" in flat(replies[0]) and "bilde.png" in flat(replies[0])
    assert "old" not in flat(replies[0])
    assert count(services, AlertMail.__table__) == 1


def test_export_keeps_contact_out_unless_asked(services: Services, slack: SlackKit,
                                               localslack: LocalSlack, server: RunningServer,
                                               sink: tuple[Sink, int]) -> None:  # fmt: skip
    import io

    from storage.exports import write_export

    configure(services, server, sink[1])
    raise_alert(slack, localslack)
    for kind in ("responses", "alerts"):
        plain, full = io.StringIO(), io.StringIO()
        write_export(services.engine, team_id=TEAM, kind=kind, fmt="json", out=plain)
        write_export(
            services.engine, team_id=TEAM, kind=kind, fmt="json", out=full, personal_data=True
        )
        assert ADDRESS not in plain.getvalue() and "Kari" not in plain.getvalue()
        (row,) = json.loads(full.getvalue())
        assert row["customer_email"] == ADDRESS and row["customer_name"] == "Kari Nordmann"


def test_mail_settings_are_checked_and_hidden() -> None:
    from core.config_keys import BadValueError, mask, validate

    assert validate("mail.smtp", "smtps://u:p%40ss@smtp.example:465")[1].startswith("smtps://")
    assert mask("mail.smtp", "smtp://u:secret@h:587") == "(set, hidden)"
    with pytest.raises(BadValueError) as refused:
        validate("mail.smtp", "http://u:secret@h")
    assert "secret" not in str(refused.value)
    assert (
        validate("mail.from", "Acme Care <care@acme.example>")[1] == "Acme Care <care@acme.example>"
    )
    assert validate("mail.reply_domain", "Replies.Acme.Example.")[1] == "replies.acme.example"


def test_the_smtp_password_is_never_sent_in_the_clear_to_another_machine() -> None:
    from bot.handlers.mail.posting import password_may_go

    assert password_may_go("smtp.example.com", encrypted=True)
    assert not password_may_go("smtp.example.com", encrypted=False)
    assert not password_may_go("192.0.2.10", encrypted=False)
    # The test server and a local relay on this machine take it without TLS.
    assert password_may_go("127.0.0.1", encrypted=False)
    assert password_may_go("::1", encrypted=False)
    assert password_may_go("localhost", encrypted=False)
