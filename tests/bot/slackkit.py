"""Send what Slack sends: signed slash commands, button presses, modal submissions,
shortcuts and events, and signed webhook bodies, over real HTTP to the bot's server.

    kit = SlackKit(server.url, signing_secret, localslack, webhook_secret="...")
    r = kit.command("/cx", "help")            # r.status == 200, r.json(), r.elapsed
    reply = kit.wait_reply(r)                 # what the user saw (ephemeral / response_url)

Payload shapes follow Slack's documented ones (slash command form fields; block_actions,
view_submission, shortcut and message_action as a form field `payload` holding JSON;
events as a JSON body). Response URLs and trigger ids come from localslack, so the bot's
`respond()` and `views.open` work against it.

Text a person wrote arrives encoded as Slack encodes it (bot.localslack.formatting): a
command's `text` by the command's `should_escape` in manifest.yml (`@kari` ->
`<@U0KARI|kari>` when true; `&` -> `&amp;` always), a message's `text` in shortcuts and
message events as Slack stores it. Already-encoded text passes unchanged. A partner
organisation's member (localslack.add_external_user) presses and submits with their own
team, as in Slack Connect.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from bot.localslack.formatting import should_escape as manifest_should_escape

DEFAULT_USER = "U0ADA"
DEFAULT_CHANNEL = "C0GENERAL"
_NOT_SET: Any = object()
_counter = itertools.count(1)


@dataclass
class Result:
    """The server's answer to one request (httpx-like: `.status_code`, `.json()`, `.text`)."""

    status: int
    text: str
    headers: dict[str, str]
    elapsed: float  # seconds from sending the request to the whole answer read
    response_url: str | None = None
    trigger_id: str | None = None
    user: str | None = None
    channel: str | None = None
    sent: dict[str, Any] = field(default_factory=dict)  # the payload as sent
    marks: dict[str, int] = field(default_factory=dict)  # localslack's counts before sending

    @property
    def status_code(self) -> int:
        return self.status

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


def sign(secret: str, body: bytes | str, ts: int | str | None = None) -> dict[str, str]:
    """Slack's v0 request signature headers for `body`."""
    raw = body.encode() if isinstance(body, str) else body
    stamp = str(int(time.time()) if ts is None else ts)
    base = b"v0:" + stamp.encode() + b":" + raw
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(
    url: str, body: bytes, headers: Mapping[str, str], timeout: float = 30.0
) -> tuple[int, str, dict[str, str], float]:
    """POST over a fresh connection; (status, text, headers, elapsed seconds). Never raises
    for HTTP error statuses."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        start = time.perf_counter()
        conn.request("POST", path or "/", body=body, headers=dict(headers))
        resp = conn.getresponse()
        data = resp.read()
        elapsed = time.perf_counter() - start
        return resp.status, data.decode("utf-8", "replace"), dict(resp.getheaders()), elapsed
    finally:
        conn.close()


def get(url: str, timeout: float = 10.0) -> tuple[int, str]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path or "/")
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def text_input(value: str | None) -> dict[str, Any]:
    """A plain_text_input's state, for `view_submission(values=...)`."""
    return {"type": "plain_text_input", "value": value}


def static_select(value: str | None, text: str | None = None) -> dict[str, Any]:
    option = (
        None
        if value is None
        else {"value": value, "text": {"type": "plain_text", "text": text or value}}
    )
    return {"type": "static_select", "selected_option": option}


def users_select(user: str | None) -> dict[str, Any]:
    return {"type": "users_select", "selected_user": user}


def multi_users_select(users: list[str]) -> dict[str, Any]:
    return {"type": "multi_users_select", "selected_users": users}


def conversations_select(channel: str | None) -> dict[str, Any]:
    return {"type": "conversations_select", "selected_conversation": channel}


class SlackKit:
    """Builds, signs and POSTs Slack requests to `server_url` + /slack/events."""

    def __init__(
        self,
        server_url: str,
        signing_secret: str,
        localslack: Any,
        *,
        webhook_secret: str | None = None,
        team_id: str | None = None,
        api_app_id: str = "A0CXBOT",
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self.signing_secret = signing_secret
        self.localslack = localslack
        self.webhook_secret = webhook_secret
        self.team_id = team_id or getattr(localslack, "team_id", "T0CXLOCAL")
        self.api_app_id = api_app_id

    # ------------------------------------------------------------------ transport

    def sign(self, body: bytes | str, ts: int | str | None = None) -> dict[str, str]:
        return sign(self.signing_secret, body, ts)

    def send(
        self,
        body: bytes | str,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        headers: Mapping[str, str] | None = None,
        signed: bool = True,
        ts: int | str | None = None,
        path: str = "/slack/events",
    ) -> Result:
        """POST a raw body (signed unless `signed=False`); the building block of the rest."""
        raw = body.encode() if isinstance(body, str) else body
        marks = self.marks()
        all_headers = {"Content-Type": content_type}
        if signed:
            all_headers.update(self.sign(raw, ts))
        all_headers.update(headers or {})
        status, text, resp_headers, elapsed = self.post(self.server_url + path, raw, all_headers)
        return Result(status, text, resp_headers, elapsed, marks=marks)

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, str, dict[str, str], float]:
        """How every request goes out: a fresh connection each (see the module's `post`)."""
        return post(url, body, headers)

    def _interactive(self, payload: dict[str, Any], **kw: Any) -> Result:
        result = self.send(urlencode({"payload": json.dumps(payload)}), **kw)
        result.sent = payload
        result.response_url = payload.get("response_url")
        result.trigger_id = payload.get("trigger_id")
        result.user = (payload.get("user") or {}).get("id")
        result.channel = (payload.get("channel") or {}).get("id")
        return result

    # ------------------------------------------------------------------ Slack payloads

    def user_obj(self, user: str) -> dict[str, Any]:
        return dict(self.identity(user)["user"])

    def team_obj(self, user: str | None = None) -> dict[str, Any]:
        if user is None:
            return {"id": self.team_id, "domain": "local"}
        return dict(self.identity(user)["team"])

    def identity(self, user: str) -> dict[str, Any]:
        """team / user / enterprise / is_enterprise_install of an interaction by `user`:
        localslack's (a partner's member brings their own team), with this kit's team_id
        standing for the workspace's own members."""
        ident: dict[str, Any] = self.localslack.interaction_identity(user)
        if ident["team"]["id"] == getattr(self.localslack, "team_id", self.team_id):
            ident["team"] = {"id": self.team_id, "domain": "local"}
            ident["user"] = {**ident["user"], "team_id": self.team_id}
        return ident

    def command(
        self,
        command: str,
        text: str = "",
        *,
        user: str = DEFAULT_USER,
        channel: str = DEFAULT_CHANNEL,
        channel_name: str = "general",
        should_escape: bool | None = None,
        **kw: Any,
    ) -> Result:
        """A slash command, as Slack's form-encoded POST. `text` is what the person typed
        (or already Slack's encoding of it); it is sent encoded as Slack would for the
        command's manifest `should_escape`, or `should_escape` when given."""
        escape = manifest_should_escape(command) if should_escape is None else should_escape
        text = self.localslack.command_text(text, should_escape=escape)
        response_url = self.localslack.response_url(channel=channel, user=user)
        trigger_id = self.localslack.new_trigger_id(user=user)
        fields = {
            "token": "verification-token-unused",
            "team_id": self.team_id,
            "team_domain": "local",
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
        result = self.send(urlencode(fields), **kw)
        result.sent = fields
        result.response_url, result.trigger_id = response_url, trigger_id
        result.user, result.channel = user, channel
        return result

    def block_action(
        self,
        action_id: str,
        value: str | None = None,
        *,
        user: str = DEFAULT_USER,
        message: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        channel: str = DEFAULT_CHANNEL,
        block_id: str = "actions",
        action: dict[str, Any] | None = None,
        **kw: Any,
    ) -> Result:
        """A button press (or any block action) in `message` (default) or in `view`.

        `action` overrides the action object (e.g. a select's `selected_option`).
        """
        act = action or {
            "type": "button",
            "action_id": action_id,
            "block_id": block_id,
            "text": {"type": "plain_text", "text": action_id, "emoji": True},
            "value": value,
            "action_ts": _ts(),
        }
        act.setdefault("action_id", action_id)
        act.setdefault("block_id", block_id)
        act.setdefault("action_ts", _ts())
        ident = self.identity(user)
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": ident["user"],
            "api_app_id": self.api_app_id,
            "token": "verification-token-unused",
            "trigger_id": self.localslack.new_trigger_id(user=user),
            "team": ident["team"],
            "enterprise": ident["enterprise"],
            "is_enterprise_install": ident["is_enterprise_install"],
            "state": {"values": {}},
            "actions": [act],
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id", "V0LOCAL")}
            payload["view"] = view
            payload["state"] = view.get("state", {"values": {}})
        else:
            msg = message or {"type": "message", "ts": _ts(), "text": "", "blocks": []}
            msg_channel = msg.get("channel", channel)
            payload["container"] = {
                "type": "message",
                "message_ts": msg.get("ts"),
                "channel_id": msg_channel,
                "is_ephemeral": bool(msg.get("is_ephemeral", False)),
            }
            payload["channel"] = {"id": msg_channel, "name": str(msg_channel).lower()}
            payload["message"] = msg
            payload["response_url"] = self.localslack.response_url(channel=msg_channel, user=user)
        return self._interactive(payload, **kw)

    def view_submission(
        self,
        callback_id: str,
        values: dict[str, dict[str, Any]],
        private_metadata: str = "",
        *,
        user: str = DEFAULT_USER,
        view_id: str = "V0LOCAL",
        blocks: list[dict[str, Any]] | None = None,
        **kw: Any,
    ) -> Result:
        """A modal submitted with `values` as Slack's `view.state.values`:
        `{block_id: {action_id: text_input("...")}}` (see the helpers above)."""
        ident = self.identity(user)
        view = {
            "id": view_id,
            "team_id": ident["team"]["id"],
            "app_installed_team_id": self.team_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "blocks": blocks or [],
            "state": {"values": values},
            "hash": f"{int(time.time())}.local",
            "title": {"type": "plain_text", "text": "cxbot"},
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": self.api_app_id,
            "bot_id": "B0CXBOT",
            "external_id": "",
        }
        payload = {
            "type": "view_submission",
            "team": ident["team"],
            "user": ident["user"],
            "api_app_id": self.api_app_id,
            "token": "verification-token-unused",
            "trigger_id": self.localslack.new_trigger_id(user=user),
            "view": view,
            "response_urls": [],
            "is_enterprise_install": ident["is_enterprise_install"],
            "enterprise": ident["enterprise"],
        }
        return self._interactive(payload, **kw)

    def shortcut(
        self,
        callback_id: str,
        message: dict[str, Any] | None = None,
        *,
        user: str = DEFAULT_USER,
        channel: str = DEFAULT_CHANNEL,
        **kw: Any,
    ) -> Result:
        """A global shortcut, or a message shortcut when `message` is given."""
        if message is not None:
            return self.message_shortcut(callback_id, message, user=user, channel=channel, **kw)
        ident = self.identity(user)
        payload = {
            "type": "shortcut",
            "token": "verification-token-unused",
            "action_ts": _ts(),
            "team": ident["team"],
            "user": ident["user"],
            "is_enterprise_install": ident["is_enterprise_install"],
            "enterprise": ident["enterprise"],
            "callback_id": callback_id,
            "trigger_id": self.localslack.new_trigger_id(user=user),
        }
        return self._interactive(payload, **kw)

    def message_shortcut(
        self,
        callback_id: str,
        message: dict[str, Any],
        *,
        user: str = DEFAULT_USER,
        channel: str | None = None,
        **kw: Any,
    ) -> Result:
        """A message shortcut (`message_action`) on `message` ({"ts", "text", "user", ...}).
        `message["text"]` is sent as Slack stores a message's text (see the module doc);
        left out, it is the text of the message localslack holds at that ts."""
        msg_channel = channel or message.get("channel") or DEFAULT_CHANNEL
        msg = {"type": "message", **message}
        if "text" not in msg:
            stored = [m for m in self.localslack.messages(msg_channel) if m["ts"] == msg.get("ts")]
            msg["text"] = stored[0]["text"] if stored else ""
        msg["text"] = self.localslack.stored_text(str(msg["text"]))
        ident = self.identity(user)
        payload = {
            "type": "message_action",
            "token": "verification-token-unused",
            "action_ts": _ts(),
            "team": ident["team"],
            "user": ident["user"],
            "channel": {"id": msg_channel, "name": str(msg_channel).lower()},
            "is_enterprise_install": ident["is_enterprise_install"],
            "enterprise": ident["enterprise"],
            "callback_id": callback_id,
            "trigger_id": self.localslack.new_trigger_id(user=user),
            "message_ts": msg.get("ts"),
            "message": msg,
            "response_url": self.localslack.response_url(channel=msg_channel, user=user),
        }
        return self._interactive(payload, **kw)

    def event(
        self,
        event: dict[str, Any],
        event_id: str | None = None,
        retry_num: int | None = None,
        **kw: Any,
    ) -> Result:
        """An Events API delivery; `retry_num` adds Slack's retry headers. A person's
        message event carries its text as Slack stores it (see the module doc)."""
        event = {"event_ts": _ts(), **event}
        if event.get("type") == "message" and not event.get("bot_id") and "text" in event:
            event["text"] = self.localslack.stored_text(str(event["text"]))
        body = {
            "token": "verification-token-unused",
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(_counter):010d}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": getattr(self.localslack, "bot_user_id", "U0CXBOT"),
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        headers = dict(kw.pop("headers", None) or {})
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        result = self.send(json.dumps(body), content_type="application/json", headers=headers, **kw)
        result.sent = body
        result.user = event.get("user")
        result.channel = event.get("channel")
        return result

    def webhook(
        self,
        body: Any,
        secret: str | None = _NOT_SET,
        *,
        team: str | None = None,
        raw: bytes | None = None,
        signature: str | None = None,
    ) -> Result:
        """POST /webhooks/responses. `body` is JSON-encoded unless `raw` bytes are given;
        signed with the kit's webhook secret, or `secret`; `secret=None` sends no signature."""
        data = raw if raw is not None else json.dumps(body).encode()
        key = self.webhook_secret if secret is _NOT_SET else secret
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-CXBot-Signature"] = signature
        elif key is not None:
            headers["X-CXBot-Signature"] = webhook_signature(key, data)
        path = "/webhooks/responses" + (f"?team={team}" if team else "")
        status, text, resp_headers, elapsed = self.post(self.server_url + path, data, headers)
        return Result(status, text, resp_headers, elapsed)

    # ------------------------------------------------------------------ what the user saw

    def marks(self) -> dict[str, int]:
        """How much localslack has recorded so far (replies are what comes after)."""
        ls = self.localslack
        return {
            "responses": len(ls.responses()),
            "ephemerals": len(ls.ephemerals()),
            "views": len(ls.open_views()),
            "messages": len(ls.messages()),
        }

    def replies(self, result: Result) -> list[dict[str, Any]]:
        """What the user of `result` was shown since it was sent, each with a "kind": the
        ack's own text ("ack"), bodies posted to response URLs ("response"; an ephemeral one
        shows up again as "ephemeral"), ephemerals for the user ("ephemeral"), modals opened
        for them ("modal"), and messages posted in the request's channel ("message").

        Requests sent at the same time by the same user cannot be told apart here."""
        seen: list[dict[str, Any]] = []
        body = result.json() if result.text.strip().startswith("{") else None
        if isinstance(body, dict) and (body.get("text") or body.get("blocks")):
            seen.append({"kind": "ack", **body})
        ls, m = self.localslack, result.marks
        for item in ls.responses()[m.get("responses", 0) :]:
            if item.get("user") in (None, result.user):
                seen.append({"kind": "response", **item})
        for item in ls.ephemerals()[m.get("ephemerals", 0) :]:
            if item.get("user") == result.user:
                seen.append({"kind": "ephemeral", **item})
        for view in ls.open_views()[m.get("views", 0) :]:
            if view.get("user") in (None, result.user):
                seen.append({"kind": "modal", **view})
        if result.channel:
            for msg in ls.messages()[m.get("messages", 0) :]:
                if msg.get("channel") == result.channel:
                    seen.append({"kind": "message", **msg})
        return seen

    def wait_reply(
        self,
        result: Result,
        timeout: float = 5.0,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        """The first reply (see `replies`) matching `where`; TimeoutError after `timeout`."""

        def first_reply() -> dict[str, Any] | None:
            return next((r for r in self.replies(result) if where is None or where(r)), None)

        value: dict[str, Any] = self.localslack.wait_for(first_reply, timeout=timeout)
        return value

    def wait_ephemeral(self, result: Result, timeout: float = 5.0) -> dict[str, Any]:
        """The first ephemeral reply to `result` (see `wait_reply`)."""
        return self.wait_reply(result, timeout=timeout, where=lambda x: x["kind"] == "ephemeral")


def assert_contains(text: str, *parts: str) -> None:
    """Every one of `parts` is in `text`; the failure names the missing ones."""
    missing = [part for part in parts if part not in text]
    assert not missing, f"missing {missing!r} in {text!r}"


def serve_http(handle: Callable[[Any, str], None]) -> Any:
    """A ThreadingHTTPServer on a free 127.0.0.1 port, served from a daemon thread, that
    passes every GET and POST to `handle(request_handler, verb)`."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            handle(self, "GET")

        def do_POST(self) -> None:
            handle(self, "POST")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def stop_http(server: Any) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()


def send_http(handler: Any, status: int, headers: Any, data: bytes) -> None:
    """Answer on `handler` with `status`, `headers` ((name, value) pairs) and `data`."""
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _ts() -> str:
    return f"{time.time():.6f}"


class SlowSlack:
    """A proxy in front of localslack's Web API that answers every call `delay` seconds late:
    Slack having a bad day. Point SLACK_API_URL at `.base_url`.

    Response URLs are not proxied (they carry localslack's own address).
    """

    def __init__(self, target_url: str, delay: float) -> None:
        self.target = urlsplit(target_url)
        self.delay = delay
        self._server: Any = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/"

    def start(self) -> SlowSlack:
        self._server = serve_http(self._forward)
        return self

    def _forward(self, handler: Any, verb: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        time.sleep(self.delay)
        conn = http.client.HTTPConnection(
            self.target.hostname or "127.0.0.1", self.target.port, timeout=30
        )
        keep = ("content-type", "authorization", "user-agent")
        headers = {k: v for k, v in handler.headers.items() if k.lower() in keep}
        try:
            conn.request(verb, handler.path, body=body, headers=headers)
            resp = conn.getresponse()
            status, data, resp_headers = resp.status, resp.read(), resp.getheaders()
        except OSError:  # localslack already stopped at the end of a test
            status, data, resp_headers = 502, b"", []
        finally:
            conn.close()
        passed = [(n, v) for n, v in resp_headers if n.lower() in ("content-type", "retry-after")]
        send_http(handler, status, passed, data)

    def stop(self) -> None:
        stop_http(self._server)
        self._server = None

    def __enter__(self) -> SlowSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
