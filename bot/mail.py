"""Mail with the customer behind an alert, the parts that run outside a Slack request.

- the outbox sender `send:mail`: hands one stored mail to the workspace's SMTP server
  (mail.smtp), once: the moment the server accepts it is recorded before anything else,
  so an uncertain retry (`maybe_sent`) does not hand it over again;
- the renderer `render:mail`: the thread posts (what was sent, the customer's reply, the
  follow-up rating) and the owner's DM, built from the stored mail when sent;
- `receive`: a mail that arrived (SMTP or a provider's webhook) into its alert's thread,
  by the token of its reply address; a mail to an unknown token is dropped and logged;
- `MailIn`: the SMTP receiver behind `cxbot mail-in` (aiosmtpd).

Exactly once towards the customer: SMTP has no idempotency key, so the window between
the server's 250 and `mark_accepted` committing is the one place a crash can send a mail
twice; the copy carries the same Message-ID, which mail clients show as one message.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import smtplib
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.engine import Connection, Engine

from bot import outbox as dispatch
from bot.feature import Sent
from bot.handlers.alerts import posting
from bot.services import Services
from bot.views import mail as views
from core import mail as core_mail
from storage import alerts as alert_store
from storage import mail as store
from storage.settings_store import get_settings

log = logging.getLogger("cxbot.mail")

SMTP_TIMEOUT = 30.0
SETTINGS = ("mail.smtp", "mail.from", "mail.reply_domain", "mail.public_url")
RATE_PATH = "/mail/rate"
UNSUBSCRIBE_PATH = "/mail/unsubscribe"
# Larger mails are refused at DATA by `cxbot mail-in`: attachments are listed, not kept.
MAX_INBOUND_BYTES = 25 * 1024 * 1024


class Refused(dispatch.Undeliverable):
    """The mail server refused the mail for good (5xx), or the mail may no longer go
    (unsubscribed, not configured, no encryption for the password): the outbox parks it
    as failed, it is never retried."""


def missing_settings(settings: dict[str, str]) -> list[str]:
    """The mail settings a workspace still has to set before anyone can write to a customer."""
    return [key for key in SETTINGS if not (settings.get(key) or "").strip()]


# --------------------------------------------------------------------------- sending


def send_mail(
    client: WebClient,
    services: Services,
    team_id: str,
    key: str,
    payload: dict[str, Any],
    maybe_sent: bool,
) -> tuple[str | None, str | None]:
    """`send:mail`: a mail server failing for now raises TryLater (retried with back-off,
    Slack still taken to be up); a 5xx answer raises Refused (failed for good)."""
    engine = services.engine
    mail_id = int(payload["mail_id"])
    row = store.get_mail(engine, team_id=team_id, mail_id=mail_id)
    if row is None:
        raise Refused(f"mail {mail_id} was erased")
    if row["accepted_at"] is not None:
        return None, None  # an earlier attempt got through: only the after-send work is left
    settings = get_settings(engine, team_id=team_id)
    missing = missing_settings(settings)
    if missing:
        raise Refused(f"not configured: {', '.join(missing)}")
    if store.is_opted_out(engine, team_id=team_id, address=row["address"]):
        raise Refused("the customer unsubscribed")
    token = store.mailbox_token(engine, team_id=team_id, alert_id=int(row["alert_id"]))
    if token is None:
        raise Refused(f"alert {row['alert_id']} has no mailbox")
    message = core_mail.compose(outgoing(row, settings, token, rate=bool(payload.get("rate"))))
    target = core_mail.parse_smtp_url(settings["mail.smtp"])
    envelope_from = parseaddr(settings["mail.from"])[1]
    try:
        _hand_over(target, message, envelope_from, str(row["address"]))
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            raise Refused(f"recipient refused: {codes[0]}") from exc
        raise dispatch.TryLater(f"recipient deferred: {codes[:1]}") from exc
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code >= 500:
            raise Refused(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        raise dispatch.TryLater(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise dispatch.TryLater(f"{type(exc).__name__}: {exc}") from exc
    store.mark_accepted(engine, team_id=team_id, mail_id=mail_id, now=services.clock())
    return None, None


def outgoing(
    row: dict[str, Any], settings: dict[str, str], token: str, *, rate: bool
) -> core_mail.Outgoing:
    base = settings["mail.public_url"]
    key = str(row["rating_key"])
    mail_id = int(row["id"])
    rating = core_mail.link(base, RATE_PATH, core_mail.sign(mail_id, key, "rate")) if rate else None
    return core_mail.Outgoing(
        mail_id=mail_id,
        to=str(row["address"]),
        sender=settings["mail.from"],
        reply_to=core_mail.reply_address(token, settings["mail.reply_domain"]),
        subject=str(row["subject"]),
        body=str(row["body"]),
        locale=str(row["locale"] or "en"),
        message_id=str(row["message_id"]),
        in_reply_to=row.get("in_reply_to"),
        rating_url=rating,
        unsubscribe_url=core_mail.link(
            base, UNSUBSCRIBE_PATH, core_mail.sign(mail_id, key, "unsubscribe")
        ),
        when=row.get("created_at"),
    )


def _hand_over(target: core_mail.SmtpTarget, message: Any, envelope_from: str, to: str) -> None:
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if target.tls:
        smtp = smtplib.SMTP_SSL(target.host, target.port, timeout=SMTP_TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT)
    try:
        smtp.ehlo()
        encrypted = target.tls
        if not target.tls and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
            encrypted = True
        if target.user:
            if not password_may_go(target.host, encrypted=encrypted):
                # A server that offers no STARTTLS (or an attacker who stripped it) would
                # read the password: it is only ever sent encrypted, or to this machine.
                raise Refused(
                    f"{target.host} offers no encryption; the password is not sent in the "
                    "clear (use smtps:// or a server with STARTTLS)"
                )
            smtp.login(target.user, target.password or "")
        smtp.send_message(message, from_addr=envelope_from, to_addrs=[to])
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()  # the mail was taken or refused already; QUIT is a courtesy


def password_may_go(host: str, *, encrypted: bool) -> bool:
    """Whether the SMTP login may be sent: encrypted, or to a server on this machine."""
    if encrypted:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def after_send(conn: Connection, sent: Sent) -> None:
    """`mailout:{alert}:{mail}` went out: the thread shows it, the clock stops."""
    parts = sent.key.split(":")
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        store.after_sent(
            conn, team_id=sent.team_id, alert_id=int(parts[1]), mail_id=int(parts[2]), now=sent.at
        )


# --------------------------------------------------------------------------- rendering


def render_mail(
    services: Services, team_id: str, payload: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    engine = services.engine
    action = str(payload.get("action") or "")
    mail = store.get_mail(engine, team_id=team_id, mail_id=int(payload["mail_id"]))
    card = alert_store.get_card(engine, team_id=team_id, alert_id=int(payload["alert_id"]))
    if mail is None or card is None:
        raise posting.Gone(f"mail {payload.get('mail_id')} or its alert is gone")
    t, tz = posting.reader(services, alert_store.load_config(engine, team_id=team_id))
    if action == "replydm":
        if not card.owner:
            raise posting.Gone("the alert has no owner to tell")
        text, blocks = views.reply_dm(card.channel, card.ts, t)
        return "chat.postMessage", {"channel": card.owner, "text": text, "blocks": blocks}
    if action == "mail":
        when = mail["accepted_at"] or mail["created_at"]
        text, blocks = views.sent_message(mail["user_id"], str(mail["body"]), when, t, tz)
    elif action == "reply":
        text, blocks = views.reply_message(
            str(mail["body"]), mail["attachments"], mail["created_at"], t, tz
        )
    elif action == "rated" and mail["rating"] is not None:
        text, blocks = views.rated_message(int(mail["rating"]), mail["rated_at"], t, tz)
    else:
        raise posting.Gone(f"unknown mail action {action!r}")
    channel, ts = posting.posted_at(engine, card)
    return "chat.postMessage", {
        "channel": channel,
        "thread_ts": posting.thread_of(engine, card, ts),
        "text": text,
        "blocks": blocks,
    }


# --------------------------------------------------------------------------- receiving


def receive(
    engine: Engine,
    inbound: core_mail.Inbound,
    *,
    now: datetime,
    team_id: str | None = None,
) -> list[store.Received]:
    """Post a customer's mail in the thread of each alert whose reply address it was sent
    to (normally one). `team_id` (a provider webhook's workspace) limits it to that
    workspace's alerts. Unknown tokens are logged and dropped, never posted."""
    tokens = inbound.tokens()
    if not tokens:
        log.info("mail in: dropped a mail sent to no reply address (from a %s address)",
                 core_mail.domain_of(inbound.sender) or "missing")  # fmt: skip
        return []
    results = []
    for token in tokens[:5]:
        result = store.record_reply(engine, token=token, inbound=inbound, now=now, team_id=team_id)
        if result.status == "unknown":
            # The token is not logged whole: a log line must not open a thread to anyone.
            log.warning("mail in: dropped a mail to an unknown reply token %s…", token[:4])
        elif result.status == "duplicate":
            log.info("mail in: %s was received before", inbound.message_id[:80])
        else:
            log.info("mail in: reply for alert %s of %s", result.alert_id, result.team_id)
        results.append(result)
    return results


class _Handler:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        # Any well-formed reply address is taken, known or not: refusing unknown tokens here
        # would tell a sender which ones exist.
        if core_mail.token_of(address) is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            inbound = core_mail.parse_message(raw, list(envelope.rcpt_tos))
        except Exception:
            # No retry reads it better: refused for good, the sender's server says so.
            log.exception("mail in: could not read a mail")
            return "554 5.6.0 Cannot read this mail"
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: receive(self.engine, inbound, now=self.clock())
            )
        except Exception:
            log.exception("mail in: could not store a mail")
            return "451 4.3.0 Cannot take the mail now, try again later"
        return "250 2.0.0 Message accepted"


class MailIn:
    """`cxbot mail-in`: an SMTP server taking the customers' replies (reply+<token>@...)."""

    def __init__(
        self,
        engine: Engine,
        *,
        host: str = "127.0.0.1",
        port: int = 2525,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(
            _Handler(engine, clock or (lambda: datetime.now(UTC))),
            hostname=host,
            port=port,
            server_kwargs={"data_size_limit": MAX_INBOUND_BYTES},
        )

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def start(self) -> MailIn:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
