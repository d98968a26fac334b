"""What mail with the customer hands the outbox, and how it goes out.

- the outbox sender `send:mail`: hands one stored mail to the workspace's SMTP server
  (mail.smtp), once: the moment the server accepts it is recorded before anything else,
  so an uncertain retry (`maybe_sent`) does not hand it over again;
- the renderer `render:mail`: the thread posts (what was sent, the customer's reply, the
  follow-up rating) and the owner's DM, built from the stored mail when sent;
- the after-send hook of `mailout:` keys: the thread shows the mail, the clock stops.

Exactly once towards the customer: SMTP has no idempotency key, so the window between
the server's 250 and `mark_accepted` committing is the one place a crash can send a mail
twice; the copy carries the same Message-ID, which mail clients show as one message.
"""

from __future__ import annotations

import ipaddress
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any, Final

from slack_sdk import WebClient
from sqlalchemy.engine import Connection

from bot import outbox as dispatch
from bot.feature import Sent
from bot.handlers.alerts import posting as alert_posting
from bot.handlers.mail import blocks
from bot.services import Services
from core import mail as core_mail
from core.workspace_settings import WorkspaceSettings
from storage import alerts as alert_store
from storage import mail as store
from storage.settings_store import load

log = logging.getLogger("cxbot.mail")

SMTP_TIMEOUT: Final = 30.0
RATE_PATH: Final = "/mail/rate"
UNSUBSCRIBE_PATH: Final = "/mail/unsubscribe"


class Refused(dispatch.Undeliverable):
    """The mail server refused the mail for good (5xx), or the mail may no longer go
    (unsubscribed, not configured, no encryption for the password): the outbox parks it
    as failed, it is never retried."""


@dataclass(frozen=True)
class Setup:
    """A workspace's mail settings, every one set."""

    smtp: str
    sender: str
    reply_domain: str
    public_url: str


def _settings(ws: WorkspaceSettings) -> dict[str, str | None]:
    return {
        "mail.smtp": ws.mail_smtp,
        "mail.from": ws.mail_from,
        "mail.reply_domain": ws.mail_reply_domain,
        "mail.public_url": ws.mail_public_url,
    }


def missing_settings(ws: WorkspaceSettings) -> list[str]:
    """The mail settings a workspace still has to set before anyone can write to a customer."""
    return [key for key, value in _settings(ws).items() if not (value or "").strip()]


def setup(ws: WorkspaceSettings) -> Setup | None:
    """The workspace's mail settings, or None while one is missing."""
    smtp, sender, domain, url = ws.mail_smtp, ws.mail_from, ws.mail_reply_domain, ws.mail_public_url
    if not (smtp and sender and domain and url):
        return None
    return Setup(smtp, sender, domain, url)


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
    ws = load(engine, team_id=team_id)
    ready = setup(ws)
    if ready is None:
        raise Refused(f"not configured: {', '.join(missing_settings(ws))}")
    if store.is_opted_out(engine, team_id=team_id, address=row["address"]):
        raise Refused("the customer unsubscribed")
    token = store.mailbox_token(engine, team_id=team_id, alert_id=int(row["alert_id"]))
    if token is None:
        raise Refused(f"alert {row['alert_id']} has no mailbox")
    message = core_mail.compose(outgoing(row, ready, token, rate=bool(payload.get("rate"))))
    target = core_mail.parse_smtp_url(ready.smtp)
    envelope_from = parseaddr(ready.sender)[1]
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


def outgoing(row: dict[str, Any], ready: Setup, token: str, *, rate: bool) -> core_mail.Outgoing:
    base = ready.public_url
    key = str(row["rating_key"])
    mail_id = int(row["id"])
    rating = core_mail.link(base, RATE_PATH, core_mail.sign(mail_id, key, "rate")) if rate else None
    return core_mail.Outgoing(
        mail_id=mail_id,
        to=str(row["address"]),
        sender=ready.sender,
        reply_to=core_mail.reply_address(token, ready.reply_domain),
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
        raise alert_posting.Gone(f"mail {payload.get('mail_id')} or its alert is gone")
    t, tz = alert_posting.reader(services, alert_store.load_config(engine, team_id=team_id))
    if action == "replydm":
        if not card.owner:
            raise alert_posting.Gone("the alert has no owner to tell")
        text, shown = blocks.reply_dm(card.channel, card.ts, t)
        return "chat.postMessage", {"channel": card.owner, "text": text, "blocks": shown}
    if action == "mail":
        when = mail["accepted_at"] or mail["created_at"]
        text, shown = blocks.sent_message(mail["user_id"], str(mail["body"]), when, t, tz)
    elif action == "reply":
        text, shown = blocks.reply_message(
            str(mail["body"]), mail["attachments"], mail["created_at"], t, tz
        )
    elif action == "rated" and mail["rating"] is not None:
        text, shown = blocks.rated_message(int(mail["rating"]), mail["rated_at"], t, tz)
    else:
        raise alert_posting.Gone(f"unknown mail action {action!r}")
    channel, ts = alert_posting.posted_at(engine, card)
    return "chat.postMessage", {
        "channel": channel,
        "thread_ts": alert_posting.thread_of(engine, card, ts),
        "text": text,
        "blocks": shown,
    }
