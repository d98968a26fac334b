"""The HTTP side of mail with customers (routes of bot/web.py):

    POST /webhooks/email        Postmark's inbound JSON, authenticated by HTTP basic auth in
                                the webhook URL: https://cxbot:<mail.inbound_secret>@host/
                                webhooks/email?team=T... (Postmark's own way of protecting a
                                webhook: https://postmarkapp.com/developer/webhooks/
                                webhooks-overview). 403 on a refusal: Postmark stops retrying
                                on 403 (https://postmarkapp.com/developer/user-guide/inbound/
                                parse-an-email).
    GET/POST /mail/rate         "How do you feel about it now?": five buttons in a plain
                                form (no JavaScript), one answer per mail.
    GET/POST /mail/unsubscribe  the List-Unsubscribe target; a POST unsubscribes (RFC 8058
                                one-click, `List-Unsubscribe=One-Click`), a GET asks first,
                                so a mail scanner that follows links unsubscribes nobody.

The pages are in the language the mail was written in; they name no one and show
nothing of the alert.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import html
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs

from bot.handlers.mail.inbound import receive
from bot.handlers.mail.posting import RATE_PATH, UNSUBSCRIBE_PATH
from core import mail as core_mail
from storage import mail as store
from storage.settings_store import load

if TYPE_CHECKING:
    from bot.web import Environ, Reply, WebApp

log = logging.getLogger("cxbot.mail")

MAX_FORM: Final = 4096
_PAGE_HEADERS: Final = (
    ("Content-Type", "text/html; charset=utf-8"),
    # No script runs, nothing loads from elsewhere, the page cannot be framed, and the
    # token in the address is not sent on as a referrer.
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
    ("Cache-Control", "no-store"),
)


def webhook_email(app: WebApp, environ: Environ) -> Reply:
    from bot.web import TEAM_ID, Reply

    query = parse_qs(environ.get("QUERY_STRING", ""))
    team_id = (query.get("team") or [None])[0] or app.default_team()
    raw = app.read_body(environ)
    secret = None
    if team_id and TEAM_ID.fullmatch(team_id) and app.installed(team_id):
        secret = load(app.services.engine, team_id=team_id).mail_inbound_secret
    if not secret or not _basic_auth_ok(environ.get("HTTP_AUTHORIZATION") or "", secret):
        log.info("refused a request to /webhooks/email: no key, or wrong credentials")
        return Reply.json(
            403,
            {
                "error": "forbidden",
                "message": "missing or wrong basic auth: put https://cxbot:<mail.inbound_secret>@"
                "host/webhooks/email?team=T... in the provider's webhook URL",
            },
            [("WWW-Authenticate", 'Basic realm="cxbot"')],
        )
    assert team_id is not None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return Reply.json(400, {"error": "invalid_json", "message": "the body is not JSON"})
    if not isinstance(data, dict):
        return Reply.json(400, {"error": "invalid_json", "message": "the body is not an object"})
    inbound = core_mail.from_postmark(data)
    results = receive(app.services.engine, inbound, now=app.services.clock(), team_id=team_id)
    if any(r.status == "posted" for r in results):
        from bot.outbox import wake

        wake(app.services)
    # 200 even for an unknown token: the provider must not retry, nor learn which exist.
    return Reply.json(200, {"received": sum(r.status != "unknown" for r in results)})


def _basic_auth_ok(header: str, secret: str) -> bool:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return False
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    _, _, password = decoded.partition(":")
    return hmac.compare_digest(password.encode(), secret.encode())


# --------------------------------------------------------------------------- pages


@dataclass(frozen=True)
class _Link:
    """A request that opened one of our links: its fields, token, the mail it names and
    that mail's language's page texts."""

    posted: bool
    fields: dict[str, list[str]]
    token: str
    target: store.LinkTarget
    t: Mapping[str, str]

    def page(self, title: str, body: str = "") -> Reply:
        return _page(200, self.target.locale, self.t[title], body)

    def form(self, lead: str, path: str, controls: str) -> str:
        """The page's lead and its form, which posts the link's token back to `path`."""
        return (
            f"<p>{html.escape(self.t[lead])}</p>"
            f'<form method="post" action="{path}">'
            f'<input type="hidden" name="t" value="{html.escape(self.token)}">{controls}</form>'
        )


def rate_page(app: WebApp, environ: Environ) -> Reply:
    link = _opened(app, environ, "rate")
    if link is None:
        return _invalid()
    target, t = link.target, link.t
    if target.rating is not None:
        return link.page("already")
    score_text = (link.fields.get("score") or [""])[0]
    score = (
        int(score_text) if score_text.isdigit() and int(score_text) in core_mail.RATINGS else None
    )
    if link.posted and score is not None:
        saved = store.record_rating(
            app.services.engine, target=target, score=score, now=app.services.clock()
        )
        if saved:
            from bot.outbox import wake

            wake(app.services)
        return link.page("thanks" if saved else "already")
    buttons = "".join(
        f'<button type="submit" name="score" value="{n}" class="r{n}'
        f'{" picked" if n == score else ""}"><b>{n}</b>'
        f"<span>{html.escape(t[f'r{n}'])}</span></button>"
        for n in core_mail.RATINGS
    )
    return link.page(
        "page_title", link.form("page_lead", RATE_PATH, f'<div class="scale">{buttons}</div>')
    )


def unsubscribe_page(app: WebApp, environ: Environ) -> Reply:
    link = _opened(app, environ, "unsubscribe")
    if link is None:
        return _invalid()
    if link.posted:
        store.opt_out(
            app.services.engine,
            team_id=link.target.team_id,
            address=link.target.address,
            now=app.services.clock(),
        )
        log.info("mail: an address of %s unsubscribed", link.target.team_id)
        return link.page("unsub_done")
    button = f'<button type="submit" class="wide">{html.escape(link.t["unsub_button"])}</button>'
    return link.page("unsub_title", link.form("unsub_lead", UNSUBSCRIBE_PATH, button))


def _opened(app: WebApp, environ: Environ, purpose: str) -> _Link | None:
    """The request's link, once its token's signature is checked for `purpose` (None for
    any other token)."""
    fields = _fields(app, environ)
    token = (fields.get("t") or [""])[0]
    target = store.resolve_link(app.services.engine, token, purpose) if token else None
    if target is None:
        return None
    posted = environ.get("REQUEST_METHOD", "GET").upper() == "POST"
    return _Link(posted, fields, token, target, core_mail.texts(target.locale))


def _invalid() -> Reply:
    return _page(404, "en", core_mail.texts("en")["invalid"], "")


def _fields(app: WebApp, environ: Environ) -> dict[str, list[str]]:
    """The query's fields, and a POSTed form's over them (RFC 8058 posts the token in the
    URL and `List-Unsubscribe=One-Click` as the body)."""
    try:
        fields = parse_qs(environ.get("QUERY_STRING", ""), max_num_fields=8)
        if environ.get("REQUEST_METHOD", "GET").upper() == "POST":
            raw = app.read_body(environ)[:MAX_FORM]
            fields.update(parse_qs(raw.decode("utf-8", "replace"), max_num_fields=8))
    except ValueError:
        return {}  # more fields than our links and forms have: no link of ours
    return fields


_STYLE: Final = """
body{font:17px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;
color:#1d1c1d;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;border-radius:14px;box-shadow:0 2px 12px rgba(0,0,0,.08);
padding:2rem 2.2rem;max-width:34rem;width:100%;box-sizing:border-box}
h1{font-size:1.5rem;margin:0 0 .5rem}
.scale{display:flex;gap:.5rem;flex-wrap:wrap;margin-top:1.2rem}
button{flex:1 1 5rem;border:2px solid #d0d4da;border-radius:10px;background:#fff;
padding:.7rem .3rem;cursor:pointer;font:inherit;display:flex;flex-direction:column;
align-items:center;gap:.2rem}
button b{font-size:1.6rem}button span{font-size:.8rem;color:#555}
button:hover,button:focus,button.picked{border-color:#1264a3;background:#eef5fb}
.r1 b{color:#c0392b}.r2 b{color:#e67e22}.r3 b{color:#7f8c8d}.r4 b{color:#27ae60}
.r5 b{color:#1e8449}.wide{width:100%;flex-direction:row;justify-content:center}
"""


def _page(status: int, locale: str, title: str, body: str) -> Reply:
    from bot.web import Reply

    page = (
        f'<!doctype html><html lang="{html.escape(locale)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )
    return Reply(status, page.encode("utf-8"), list(_PAGE_HEADERS))


def routes(app: WebApp) -> dict[str, dict[str, Any]]:
    return {
        "/webhooks/email": {"POST": lambda env: webhook_email(app, env)},
        RATE_PATH: {
            "GET": lambda env: rate_page(app, env),
            "POST": lambda env: rate_page(app, env),
        },
        UNSUBSCRIBE_PATH: {
            "GET": lambda env: unsubscribe_page(app, env),
            "POST": lambda env: unsubscribe_page(app, env),
        },
    }
