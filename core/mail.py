"""Mail with the customer behind a detractor alert: what is written, what comes back.

Pure: no SMTP, no SQL. The bot sends what `compose` builds and hands what arrives
(`parse_message`, `from_postmark`) to storage; the texts the customer reads are here, in
their language, because they never pass through the Slack message catalogs.

Addresses and links:
- replies come back to `reply+<token>@<mail.reply_domain>`: the token is random per alert
  (`new_token`) and is all that ties a mail to an alert;
- the rating and unsubscribe links carry `<mail id>.<signature>`, an HMAC of the mail id
  under that mail's own random key (`sign`), so a link names one mail and cannot be made
  up for another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, parseaddr
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from core.locales import LOCALES
from core.text import detect_language

RATINGS = (1, 2, 3, 4, 5)
# A follow-up CSAT of 4 or 5 on 1-5 is a satisfied customer (DOMAIN.md: CSAT counts 4-5).
RECOVERED_AT = 4
MAX_BODY = 10_000  # characters of a mail kept and shown
MAX_ADDRESS = 320
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_DOMAIN = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
_TOKEN = re.compile(r"[a-z2-7]{32}")


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class SmtpTarget:
    """Where mail is handed over: `tls` from the first byte (smtps://), else STARTTLS when
    the server offers it."""

    host: str
    port: int
    tls: bool
    user: str | None = None
    password: str | None = None


def parse_smtp_url(url: str) -> SmtpTarget:
    """`smtp://user:password@host:587` or `smtps://...:465`; ValueError says what is wrong."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("the URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("the URL names no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError("the port is not a number from 1 to 65535") from exc
    tls = parts.scheme == "smtps"
    return SmtpTarget(
        host=parts.hostname,
        port=port or (465 if tls else 587),
        tls=tls,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def is_address(value: str) -> bool:
    """A plain mail address (no display name) that a mail server would take."""
    return len(value) <= MAX_ADDRESS and _ADDRESS.fullmatch(value) is not None


def normalise_address(value: str) -> str | None:
    """The address of `Name <addr>` or `addr`, stripped; None when it is not one."""
    _, addr = parseaddr(value.strip())
    addr = addr.strip()
    return addr if is_address(addr) else None


def is_domain(value: str) -> bool:
    return _DOMAIN.fullmatch(value.strip()) is not None


def address_hash(team_id: str, address: str) -> str:
    """What an opt-out keeps of an address: it can be matched, not read back."""
    canonical = address.strip().lower()
    return hashlib.sha256(f"cxbot-optout:{team_id}:{canonical}".encode()).hexdigest()


# --------------------------------------------------------------------------- tokens


def new_token() -> str:
    """A reply-address token: 160 random bits in lower-case base32 (mail servers may fold
    the case of a local part, so it carries no upper case)."""
    return base64.b32encode(secrets.token_bytes(20)).decode().lower().rstrip("=")


def new_key() -> str:
    return secrets.token_urlsafe(32)


def reply_address(token: str, domain: str) -> str:
    return f"reply+{token}@{domain.strip().lower()}"


def token_of(address: str) -> str | None:
    """The token of `reply+<token>@...`; None for any other address."""
    addr = normalise_address(address) or ""
    local = addr.rsplit("@", 1)[0].lower() if "@" in addr else ""
    if not local.startswith("reply+"):
        return None
    token = local.removeprefix("reply+")
    return token if _TOKEN.fullmatch(token) else None


def domain_of(address: str) -> str:
    addr = normalise_address(address) or ""
    return addr.rsplit("@", 1)[1].lower() if "@" in addr else ""


def sign(mail_id: int, key: str, purpose: str) -> str:
    """`<mail id>.<signature>` of a link (`purpose`: rate or unsubscribe)."""
    mac = hmac.new(key.encode(), f"{purpose}:{mail_id}".encode(), hashlib.sha256).digest()
    return f"{mail_id}.{base64.urlsafe_b64encode(mac[:18]).decode()}"


def signed_id(token: str) -> int | None:
    """The mail id a link token names (checked with `verify` once its key is read)."""
    head, _, sig = token.partition(".")
    if not head.isascii() or not head.isdigit() or len(head) > 12 or not sig:
        return None
    return int(head)


def verify(token: str, key: str, purpose: str) -> bool:
    mail_id = signed_id(token)
    if mail_id is None:
        return False
    return hmac.compare_digest(sign(mail_id, key, purpose).encode(), token.encode())


# --------------------------------------------------------------------------- texts

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "subject": "About your feedback",
        "greeting": "Hi {name},",
        "greeting_anonymous": "Hi,",
        "body": (
            "Thank you for telling us how we did. I am sorry we let you down{about}. "
            "I have looked into it and would like to put it right.\n\n"
            "Reply to this mail and it comes straight to me."
        ),
        "about": ": “{comment}”",
        "closing": "Best regards,\n{sender}",
        "rate": "How do you feel about it now? One click tells us:",
        "unsubscribe": "Do not want mail like this? Unsubscribe: {link}",
        "page_title": "How do you feel about it now?",
        "page_lead": "Pick the answer that fits best. One click is enough.",
        "page_send": "Send",
        "thanks": "Thank you! Your answer is saved.",
        "already": "Thank you, we already have your answer.",
        "invalid": "This link is not valid.",
        "unsub_title": "Unsubscribe",
        "unsub_lead": "Stop e-mails like this to your address?",
        "unsub_button": "Unsubscribe",
        "unsub_done": "Done. We will not e-mail you about your feedback again.",
        "r1": "Very unhappy",
        "r2": "Unhappy",
        "r3": "Neutral",
        "r4": "Happy",
        "r5": "Very happy",
    },
    "nb": {
        "subject": "Om tilbakemeldingen din",
        "greeting": "Hei {name},",
        "greeting_anonymous": "Hei,",
        "body": (
            "Takk for at du sa fra om hvordan vi gjorde det. Beklager at vi skuffet deg{about}. "
            "Jeg har sett på saken og vil gjerne rette det opp.\n\n"
            "Svar på denne e-posten, så kommer svaret rett til meg."
        ),
        "about": ": «{comment}»",
        "closing": "Vennlig hilsen\n{sender}",
        "rate": "Hvordan opplever du det nå? Ett klikk holder:",
        "unsubscribe": "Vil du ikke ha slike e-poster? Meld deg av: {link}",
        "page_title": "Hvordan opplever du det nå?",
        "page_lead": "Velg svaret som passer best. Ett klikk holder.",
        "page_send": "Send",
        "thanks": "Takk! Svaret ditt er lagret.",
        "already": "Takk, vi har allerede svaret ditt.",
        "invalid": "Denne lenken er ikke gyldig.",
        "unsub_title": "Meld av",
        "unsub_lead": "Stoppe slike e-poster til adressen din?",
        "unsub_button": "Meld av",
        "unsub_done": "Ferdig. Vi sender deg ikke flere e-poster om tilbakemeldingen din.",
        "r1": "Svært misfornøyd",
        "r2": "Misfornøyd",
        "r3": "Nøytral",
        "r4": "Fornøyd",
        "r5": "Svært fornøyd",
    },
    "da": {
        "subject": "Om din feedback",
        "greeting": "Hej {name},",
        "greeting_anonymous": "Hej,",
        "body": (
            "Tak fordi du fortalte os, hvordan vi klarede det. Jeg beklager, at vi skuffede "
            "dig{about}. Jeg har kigget på sagen og vil gerne gøre det godt igen.\n\n"
            "Svar på denne mail, så kommer dit svar direkte til mig."
        ),
        "about": ": »{comment}«",
        "closing": "Venlig hilsen\n{sender}",
        "rate": "Hvordan har du det med det nu? Ét klik er nok:",
        "unsubscribe": "Vil du ikke have mails som denne? Afmeld: {link}",
        "page_title": "Hvordan har du det med det nu?",
        "page_lead": "Vælg det svar, der passer bedst. Ét klik er nok.",
        "page_send": "Send",
        "thanks": "Tak! Dit svar er gemt.",
        "already": "Tak, vi har allerede dit svar.",
        "invalid": "Dette link er ikke gyldigt.",
        "unsub_title": "Afmeld",
        "unsub_lead": "Stop mails som denne til din adresse?",
        "unsub_button": "Afmeld",
        "unsub_done": "Færdig. Vi sender dig ikke flere mails om din feedback.",
        "r1": "Meget utilfreds",
        "r2": "Utilfreds",
        "r3": "Neutral",
        "r4": "Tilfreds",
        "r5": "Meget tilfreds",
    },
    "sv": {
        "subject": "Om din återkoppling",
        "greeting": "Hej {name},",
        "greeting_anonymous": "Hej,",
        "body": (
            "Tack för att du berättade hur vi skötte oss. Jag är ledsen att vi gjorde dig "
            "besviken{about}. Jag har tittat på saken och vill gärna ställa det till rätta.\n\n"
            "Svara på det här mejlet så kommer svaret direkt till mig."
        ),
        "about": ": ”{comment}”",
        "closing": "Vänliga hälsningar\n{sender}",
        "rate": "Hur känns det nu? Ett klick räcker:",
        "unsubscribe": "Vill du inte få sådana mejl? Avregistrera dig: {link}",
        "page_title": "Hur känns det nu?",
        "page_lead": "Välj det svar som passar bäst. Ett klick räcker.",
        "page_send": "Skicka",
        "thanks": "Tack! Ditt svar är sparat.",
        "already": "Tack, vi har redan ditt svar.",
        "invalid": "Den här länken är inte giltig.",
        "unsub_title": "Avregistrera",
        "unsub_lead": "Sluta skicka sådana mejl till din adress?",
        "unsub_button": "Avregistrera",
        "unsub_done": "Klart. Vi mejlar dig inte mer om din återkoppling.",
        "r1": "Mycket missnöjd",
        "r2": "Missnöjd",
        "r3": "Neutral",
        "r4": "Nöjd",
        "r5": "Mycket nöjd",
    },
}

QUOTED_COMMENT = 160  # characters of the customer's comment the draft quotes back


def texts(locale: str | None) -> Mapping[str, str]:
    return TEXTS.get(locale or "en", TEXTS["en"])


def customer_locale(stored: str | None, comment: str | None) -> str:
    """The language to write in: the answer's own when it has one, else the language of
    the comment, else English."""
    if stored and stored.strip().lower()[:2] in LOCALES:
        return stored.strip().lower()[:2]
    return detect_language(comment) if comment and comment.strip() else "en"


def draft(locale: str, *, name: str | None, comment: str | None, sender: str) -> str:
    """The message a member starts from: greeting, body, closing, in `locale`."""
    t = texts(locale)
    greeting = (
        t["greeting"].format(name=name.strip())
        if name and name.strip()
        else (t["greeting_anonymous"])
    )
    about = ""
    if comment and comment.strip():
        said = " ".join(comment.split())
        if len(said) > QUOTED_COMMENT:
            said = said[: QUOTED_COMMENT - 1].rstrip() + "…"
        about = t["about"].format(comment=said)
    closing = t["closing"].format(sender=sender.strip() or "")
    return f"{greeting}\n\n{t['body'].format(about=about)}\n\n{closing}".strip()


# --------------------------------------------------------------------------- composing


@dataclass(frozen=True)
class Outgoing:
    """One mail to a customer, as stored (storage.mail) and handed to `compose`."""

    mail_id: int
    to: str
    sender: str  # mail.from: `Name <addr>` or `addr`
    reply_to: str
    subject: str
    body: str
    locale: str
    message_id: str
    in_reply_to: str | None = None  # the thread's latest mail, either way
    rating_url: str | None = None  # the page that asks "how do you feel about it now?"
    unsubscribe_url: str | None = None
    when: datetime | None = None


def message_id(domain: str) -> str:
    return f"<cxbot.{secrets.token_hex(12)}@{domain.strip().lower()}>"


def compose(mail: Outgoing) -> EmailMessage:
    """The MIME message: plain text, threaded by Message-ID / In-Reply-To / References,
    with a List-Unsubscribe that one POST honours (RFC 8058)."""
    t = texts(mail.locale)
    lines = [mail.body.rstrip()]
    if mail.rating_url:
        lines += ["", t["rate"]]
        lines += [f"  {n} – {t[f'r{n}']}: {mail.rating_url}&score={n}" for n in RATINGS]
    if mail.unsubscribe_url:
        lines += ["", "--", t["unsubscribe"].format(link=mail.unsubscribe_url)]
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = mail.sender
    msg["To"] = mail.to
    msg["Reply-To"] = mail.reply_to
    msg["Subject"] = mail.subject
    msg["Message-ID"] = mail.message_id
    if mail.when is not None:
        msg["Date"] = format_datetime(mail.when)
    if mail.in_reply_to:
        msg["In-Reply-To"] = mail.in_reply_to
        msg["References"] = mail.in_reply_to
    if mail.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Content-Language"] = mail.locale
    msg.set_content(
        "\n".join(lines) + "\n", subtype="plain", charset="utf-8", cte="quoted-printable"
    )
    return msg


def link(base_url: str, path: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{path}?t={quote(token, safe='.')}"


# --------------------------------------------------------------------------- receiving


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    size: int  # bytes


@dataclass(frozen=True)
class Inbound:
    """A mail that arrived, reduced to what the alert's thread shows."""

    sender: str  # the From address
    recipients: tuple[str, ...]  # every address it was sent to (To, Cc, envelope)
    subject: str
    message_id: str
    in_reply_to: str | None
    text: str  # the new part: quoted history stripped
    attachments: tuple[Attachment, ...] = field(default=())

    def tokens(self) -> list[str]:
        """The reply tokens among the recipients, in order, each once."""
        found = (token_of(r) for r in self.recipients)
        return list(dict.fromkeys(t for t in found if t))


# Where the quoted history of a reply starts, in the four languages and the big clients.
_QUOTE_HEADERS = re.compile(
    r"^\s*(?:"
    r"On\b.{0,200}\bwrote:|"
    r"(?:Den|På)\b.{0,200}\bskrev\b.{0,200}:|"
    r"Am\b.{0,200}\bschrieb.{0,40}:|"
    r"Le\b.{0,200}\ba écrit\s*:|"
    r"-{2,}\s*(?:Original Message|Opprinnelig melding|Oprindelig meddelelse|"
    r"Ursprungligt meddelande|Videresendt melding|Forwarded message)\s*-{2,}|"
    r"_{10,}|"
    r"(?:From|Fra|Från|Sendt|Sent|Skickat):\s.+"
    r")\s*$",
    re.IGNORECASE,
)


def strip_quoted(text: str) -> str:
    """The new part of a reply: everything above the quoted history and the signature
    separator; `>` quoted lines dropped."""
    kept: list[str] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for i, line in enumerate(lines):
        if line.rstrip() == "--" or line == "-- ":
            break
        if _QUOTE_HEADERS.match(line):
            break
        # "On Mon, ... <x@y>" broken over two lines by the client.
        if (
            i + 1 < len(lines)
            and re.match(r"^\s*(?:On|Den|På)\b", line, re.IGNORECASE)
            and re.search(r"(?:wrote|skrev):\s*$", lines[i + 1], re.IGNORECASE)
        ):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    body = "\n".join(kept).strip()
    body = re.sub(r"\n{3,}", "\n\n", body)
    return body[:MAX_BODY]


# No pattern here can scan past a `<`: a mail is text from anyone, and markup full of
# unclosed tags must cost one pass, not one pass per tag.
_TAGS = re.compile(r"<[^<>]*>")
_BLOCK_END = re.compile(r"</?(?:p|div|br|li|tr|h[1-6]|blockquote)\b[^<>]*>", re.IGNORECASE)
_HIDDEN = re.compile(r"<(style|script|head)\b", re.IGNORECASE)
_HIDDEN_END = {
    name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in ("style", "script", "head")
}
_QUOTED_HTML = re.compile(r"<blockquote\b", re.IGNORECASE)


def _drop_hidden(markup: str) -> str:
    """`markup` without what is between <style>, <script> or <head> and its end tag."""
    kept: list[str] = []
    pos = 0
    unclosed: set[str] = set()  # no end tag after some point: none after any later one
    for start in _HIDDEN.finditer(markup):
        name = start.group(1).lower()
        if start.start() < pos or name in unclosed:
            continue
        end = _HIDDEN_END[name].search(markup, start.end())
        if end is None:
            unclosed.add(name)
            continue
        kept.append(markup[pos : start.start()])
        pos = end.end()
    kept.append(markup[pos:])
    return "".join(kept)


def html_text(markup: str) -> str:
    """The words of an HTML body, quoted history (`<blockquote>` on) left out."""
    markup = _drop_hidden(markup)
    quoted = _QUOTED_HTML.search(markup)
    if quoted is not None:
        markup = markup[: quoted.start()]
    markup = _BLOCK_END.sub("\n", markup)
    return html.unescape(_TAGS.sub("", markup))


def _clean_id(value: Any) -> str:
    text = " ".join(str(value or "").split())[:300]
    return text


def parse_message(raw: bytes, envelope_recipients: Sequence[str] = ()) -> Inbound:
    """A mail as received over SMTP (RFC 5322 bytes)."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    text = ""
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is not None:
        try:
            content = body.get_content()
        except (LookupError, ValueError):
            payload = body.get_payload(decode=True)
            content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
        text = html_text(content) if body.get_content_type() == "text/html" else content
    attachments = []
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True)
        attachments.append(
            Attachment(
                name=str(part.get_filename() or "(no name)")[:200],
                content_type=part.get_content_type(),
                size=len(payload) if isinstance(payload, bytes) else 0,
            )
        )
    listed = [v for key in ("To", "Cc", "Delivered-To") for v in _header(msg, key)]
    recipients = [a for _, a in getaddresses(listed) if a] + list(envelope_recipients)
    return Inbound(
        sender=parseaddr(" ".join(_header(msg, "From")[:1]))[1],
        recipients=tuple(dict.fromkeys(recipients)),
        subject=" ".join(" ".join(_header(msg, "Subject")[:1]).split())[:300],
        message_id=_clean_id(" ".join(_header(msg, "Message-ID")[:1])) or _content_id(raw),
        in_reply_to=_clean_id(" ".join(_header(msg, "In-Reply-To")[:1])) or None,
        text=strip_quoted(text),
        attachments=tuple(attachments),
    )


def _header(msg: EmailMessage, name: str) -> list[str]:
    """Every `name` header of `msg` as text, decoded where the standard library can parse
    it and as it came where its parser fails (it raises on an unmatched quote in From or
    `<<` in a Message-ID): only the addresses and ids in these are used, and the legacy
    `getaddresses` reads those from the raw value too."""
    found = []
    for key, raw in msg.raw_items():
        if key.lower() != name.lower():
            continue
        try:
            found.append(str(msg.policy.header_fetch_parse(key, raw)))
        except Exception:  # whatever its parser trips on, the raw value serves
            found.append(str(raw))
    return found


def _content_id(raw: bytes) -> str:
    # A mail without a Message-ID is told apart from others by what it says.
    return f"<sha256.{hashlib.sha256(raw).hexdigest()[:40]}@cxbot.invalid>"


def from_postmark(data: Mapping[str, Any]) -> Inbound:
    """Postmark's inbound webhook JSON
    (https://postmarkapp.com/developer/webhooks/inbound-webhook): ToFull / CcFull /
    OriginalRecipient hold the addresses, Headers the Message-ID and In-Reply-To (the
    top-level MessageID is Postmark's own), StrippedTextReply the reply without its
    history where Postmark could tell; attachments come with their bytes in base64, of
    which only the name, type and ContentLength are kept."""
    headers: dict[str, str] = {}
    for item in data.get("Headers") or []:
        if isinstance(item, Mapping) and item.get("Name"):
            headers.setdefault(str(item["Name"]).lower(), str(item.get("Value") or ""))
    recipients: list[str] = []
    for key in ("ToFull", "CcFull", "BccFull"):
        for item in data.get(key) or []:
            if isinstance(item, Mapping) and item.get("Email"):
                recipients.append(str(item["Email"]))
    for key in ("OriginalRecipient", "To"):
        recipients += [a for _, a in getaddresses([str(data.get(key) or "")]) if a]
    stripped = str(data.get("StrippedTextReply") or "")
    text = stripped or str(data.get("TextBody") or "") or html_text(str(data.get("HtmlBody") or ""))
    attachments = []
    for item in data.get("Attachments") or []:
        if not isinstance(item, Mapping):
            continue
        try:
            size = int(item.get("ContentLength") or 0)
        except (TypeError, ValueError):
            size = 0
        attachments.append(
            Attachment(
                name=str(item.get("Name") or "(no name)")[:200],
                content_type=str(item.get("ContentType") or "application/octet-stream")[:100],
                size=size,
            )
        )
    sender = ""
    full = data.get("FromFull")
    if isinstance(full, Mapping) and full.get("Email"):
        sender = str(full["Email"])
    else:
        sender = parseaddr(str(data.get("From") or ""))[1]
    own_id = _clean_id(headers.get("message-id"))
    postmark_id = _clean_id(data.get("MessageID"))
    return Inbound(
        sender=sender,
        recipients=tuple(dict.fromkeys(recipients)),
        subject=" ".join(str(data.get("Subject") or "").split())[:300],
        message_id=own_id or (f"<{postmark_id}@postmark>" if postmark_id else ""),
        in_reply_to=_clean_id(headers.get("in-reply-to")) or None,
        text=strip_quoted(text),
        attachments=tuple(attachments),
    )


# --------------------------------------------------------------------------- follow-up figures


@dataclass(frozen=True)
class LoopRow:
    """One posted detractor alert, as far as mail with its customer went."""

    mailed: bool  # a mail to the customer was handed to the mail server
    replied: bool  # the customer answered by mail
    rating: int | None  # their follow-up CSAT (1-5), when they gave one


def loop_figures(rows: Iterable[LoopRow], *, recovered_at: int = RECOVERED_AT) -> dict[str, int]:
    """How many detractors were reached by mail, replied, rated the follow-up, and were
    recovered (a follow-up CSAT of `recovered_at` or more). A reply or rating without a
    recorded mail still counts as reached: the customer heard from us."""
    reached = replied = rated = recovered = 0
    for row in rows:
        heard = row.mailed or row.replied or row.rating is not None
        reached += heard
        replied += row.replied
        if row.rating is not None:
            rated += 1
            recovered += row.rating >= recovered_at
    return {"reached": reached, "replied": replied, "rated": rated, "recovered": recovered}
