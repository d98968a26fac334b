"""Several LocalSlack workspaces behind one Web API URL, with Slack's OAuth token endpoint.

What Slack itself is to an app installed in many workspaces: one `https://slack.com/api/`
that knows, from the token of each call, which workspace it is about. Calls are passed to
that workspace's LocalSlack (with the LocalSlack's own token), so everything the bot did
lands in the right workspace's record. `oauth.v2.access` is answered here:

- `grant_type` absent: exchanges a code from `code_for(team_id)` (what Slack appends to
  the redirect after the installer approves) for a bot token;
- `grant_type=refresh_token`: token rotation, a new bot token for a refresh token.

Issued tokens expire after `token_ttl` seconds (Slack: 12 hours); a call with an expired
or unknown token gets `token_expired` / `invalid_auth`, as from Slack. A refresh spends its
refresh token and ends the workspace's earlier bot tokens at once, so a caller still using
an old token is caught rather than served. `used` records (team, token, method) of every
call passed on: which workspace's token each call came with.
"""

from __future__ import annotations

import base64
import http.client
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.localslack import LocalSlack
from tests.bot.slackkit import send_http, serve_http, stop_http


@dataclass
class Issued:
    team_id: str
    expires_at: float


class MultiSlack:
    def __init__(
        self,
        workspaces: list[LocalSlack],
        *,
        client_id: str,
        client_secret: str,
        token_ttl: float = 12 * 3600,
    ) -> None:
        self.workspaces = {w.team_id: w for w in workspaces}
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.tokens: dict[str, Issued] = {}
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> team
        self.codes: dict[str, str] = {}  # code -> team
        self.grants: list[tuple[str, str]] = []  # (grant, team) in order
        self.used: list[tuple[str, str, str]] = []  # (team, token, method) passed on
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/"

    def start(self) -> MultiSlack:
        self._server = serve_http(self._handle)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        return self

    def _handle(self, handler: Any, verb: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        status, headers, data = self._route(
            handler.command, handler.path, dict(handler.headers), body
        )
        send_http(handler, status, headers.items(), data)

    def stop(self) -> None:
        stop_http(self._server)
        self._server = None

    # ------------------------------------------------------------------ tests' side

    def code_for(self, team_id: str) -> str:
        code = f"code-{team_id}-{secrets.token_hex(6)}"
        with self._lock:
            self.codes[code] = team_id
        return code

    def tokens_used(self, team_id: str, method: str | None = None) -> set[str]:
        """The tokens calls about `team_id` (of `method`, if given) came with."""
        with self._lock:
            return {
                token
                for team, token, m in self.used
                if team == team_id and (method is None or m == method)
            }

    def valid_tokens(self, team_id: str) -> list[str]:
        now = time.time()
        with self._lock:
            return [
                t for t, i in self.tokens.items() if i.team_id == team_id and i.expires_at > now
            ]

    # ------------------------------------------------------------------ serving

    def _route(
        self, verb: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(path)
        if not parts.path.startswith("/api/"):
            return 404, {}, b"not found"
        method = parts.path.removeprefix("/api/")
        args = self._args(parts.query, headers, body)
        if method == "oauth.v2.access":
            return self._json(self._oauth(args, headers))
        token = (
            (headers.get("Authorization") or headers.get("authorization") or "")
            .removeprefix("Bearer ")
            .strip()
        )
        token = token or str(args.get("token") or "")
        with self._lock:
            issued = self.tokens.get(token)
        if issued is None:
            return self._json({"ok": False, "error": "invalid_auth" if token else "not_authed"})
        if issued.expires_at <= time.time():
            return self._json({"ok": False, "error": "token_expired"})
        with self._lock:
            self.used.append((issued.team_id, token, method))
        return self._forward(self.workspaces[issued.team_id], verb, path, headers, body)

    @staticmethod
    def _json(data: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(data).encode()

    @staticmethod
    def _args(query: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        args: dict[str, Any] = {k: v[0] for k, v in parse_qs(query).items()}
        ctype = (headers.get("Content-Type") or headers.get("content-type") or "").lower()
        if body and "json" in ctype:
            args.update(json.loads(body))
        elif body:
            args.update({k: v[0] for k, v in parse_qs(body.decode()).items()})
        return args

    def _oauth(self, args: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        client_id, client_secret = args.get("client_id"), args.get("client_secret")
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        if auth.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        if client_id != self.client_id or client_secret != self.client_secret:
            return {"ok": False, "error": "invalid_client_id"}
        with self._lock:
            if args.get("grant_type") == "refresh_token":
                team = self.refresh_tokens.pop(str(args.get("refresh_token")), None)
                grant = "refresh"
                if team is not None:
                    # The refreshed token replaces the workspace's earlier ones.
                    for old in [t for t, i in self.tokens.items() if i.team_id == team]:
                        del self.tokens[old]
            else:
                team = self.codes.pop(str(args.get("code")), None)
                grant = "code"
            if team is None:
                return {
                    "ok": False,
                    "error": "invalid_refresh_token" if grant == "refresh" else "invalid_code",
                }
            token = f"xoxe.xoxb-{team}-{secrets.token_hex(8)}"
            refresh = f"xoxe-1-{secrets.token_hex(12)}"
            self.tokens[token] = Issued(team, time.time() + self.token_ttl)
            self.refresh_tokens[refresh] = team
            self.grants.append((grant, team))
        slack = self.workspaces[team]
        return {
            "ok": True,
            "app_id": slack.app_id,
            "access_token": token,
            "token_type": "bot",
            "scope": "chat:write,commands",
            "bot_user_id": slack.bot_user_id,
            "refresh_token": refresh,
            "expires_in": int(self.token_ttl),
            "team": {"id": team, "name": slack.team_name},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": "U0ADA"},
        }

    @staticmethod
    def _forward(
        slack: LocalSlack, verb: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        target = urlsplit(slack.url)
        out = {
            k: v
            for k, v in headers.items()
            if k.lower() not in ("host", "authorization", "content-length", "connection")
        }
        out["Authorization"] = f"Bearer {slack.bot_token}"
        if body and "json" not in (headers.get("Content-Type") or "").lower():
            # A form body may carry the workspace-level token too: swap it.
            form = {k: v for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
            if "token" in form:
                form["token"] = [slack.bot_token]
                from urllib.parse import urlencode

                body = urlencode(form, doseq=True).encode()
        conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=30)
        try:
            conn.request(verb, path, body=body or None, headers=out)
            resp = conn.getresponse()
            data = resp.read()
            keep = {
                k: v for k, v in resp.getheaders() if k.lower() in ("content-type", "retry-after")
            }
            return resp.status, keep, data
        finally:
            conn.close()
