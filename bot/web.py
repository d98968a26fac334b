"""The HTTP surface (CONTRACT.md "HTTP"): a plain WSGI application, served by bot/server.py.

    POST /slack/events         slash commands, interactivity and events, handed to Bolt
    POST /webhooks/responses   survey answers from other systems (HMAC-signed JSON)
    POST /webhooks/<tool>      a survey tool's own payload and signature (core/webhook_adapters.py)
    POST /webhooks/email       a customer's mail reply as Postmark's inbound JSON (basic auth)
    GET|POST /mail/rate        the follow-up rating page; /mail/unsubscribe the opt-out
                               (bot/mail_web.py)
    GET  /healthz              200 with the outbox backlog and whether it moves; 503 when the
                               database does not answer (and, with ?strict=1, when a due outbox
                               message waits too long: nothing is sending)
    GET  /metrics              Prometheus text: requests, latency, outbox backlog, alert SLA
                               states, Slack errors (all gunicorn workers: bot/observability.py)
    GET  /slack/install        starts Slack's install flow (OAuth mode only)
    GET  /slack/oauth_redirect where Slack sends the installer back (OAuth mode only)

Everything else is a JSON 404 (unknown path) or 405 (known path, wrong method). Every
answer carries an `X-Request-Id` (the proxy's, or a new one) that the log lines of the
request carry too (bot/observability.py).
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot import observability
from bot.app import ACKNOWLEDGED
from bot.background import answers_stored
from bot.middleware import EARLY_ACK_TYPES
from bot.replay import WINDOW_SECONDS as REPLAY_WINDOW_SECONDS
from bot.replay import ReplayGuard, is_slack_retry
from bot.services import Services
from bot.settings import Settings
from core.ingest import TOO_DEEP_REASON, json_array_items
from core.webhook_adapters import TOOLS, Refused, Tool

log = logging.getLogger("cxbot.web")

MAX_BODY_BYTES = 5 * 1024 * 1024
LATER_THREADS = 16
SIGNATURE_HEADER = "X-CXBot-Signature"
WORKSPACE_SECRET_KEY = "webhook.secret"  # a workspace setting (core/workspace_settings.py)
# Matched whole (fullmatch): `$` alone would also let a trailing newline through.
TEAM_ID = re.compile(r"[TE][A-Z0-9]{2,31}")
# What Slack sends: Unix seconds. Anything else (empty, a fraction, 400 digits) is refused
# here, before Bolt, whose verifier would fail on it with a traceback.
SLACK_TIMESTAMP = re.compile(r"[0-9]{1,12}")

StartResponse = Callable[..., Any]
Environ = dict[str, Any]


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, status: int, data: Any, headers: Iterable[tuple[str, str]] = ()) -> Reply:
        # "replace": a lone surrogate somewhere in `data` must not turn the answer into a 500.
        body = json.dumps(data, ensure_ascii=False).encode("utf-8", "replace")
        return cls(status, body, [("Content-Type", "application/json; charset=utf-8"), *headers])


class BodyTooLarge(Exception):
    pass


class WebApp:
    """The WSGI callable. `services` and `bolt_app` are exposed for the server's hooks."""

    def __init__(
        self,
        services: Services,
        bolt_app: App,
        *,
        default_team: Callable[[], str | None] | None = None,
        max_body: int = MAX_BODY_BYTES,
        metrics: observability.Metrics | None = None,
    ) -> None:
        self.services = services
        self.bolt_app = bolt_app
        self.max_body = max_body
        self.default_team = default_team or services.slack.default_team
        self.metrics = metrics or observability.METRICS
        self.routes: dict[str, dict[str, Callable[[Environ], Reply]]] = {
            "/slack/events": {"POST": self.slack_events},
            "/webhooks/responses": {"POST": self.webhook_responses},
            "/healthz": {"GET": self.healthz, "HEAD": self.healthz},
            "/metrics": {"GET": self.metrics_text},
        }
        for tool in TOOLS.values():
            self.routes[f"/webhooks/{tool.name}"] = {
                "POST": functools.partial(self.webhook_tool, tool)
            }
        secret = services.settings.slack_signing_secret
        self._verifier = SignatureVerifier(secret) if secret else None
        self._replays = ReplayGuard(services.engine)
        # Bolt's work for requests acknowledged at once (see `_ack_now`).
        self._later = ThreadPoolExecutor(LATER_THREADS, thread_name_prefix="cxbot-acked")
        from bot.handlers.mail.pages import routes as mail_routes  # mail, ratings, opt-outs

        self.routes.update(mail_routes(self))
        if getattr(bolt_app, "oauth_flow", None) is not None:
            self.routes["/slack/install"] = {"GET": self.slack_install}
            self.routes["/slack/oauth_redirect"] = {"GET": self.slack_oauth_redirect}

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        request_id = observability.clean_request_id(environ.get("HTTP_X_REQUEST_ID"))
        with observability.request_context(request_id):
            status, headers, body = self._serve(environ)
        start_response(status, [*headers, (observability.REQUEST_ID_HEADER, request_id)])
        path = environ.get("PATH_INFO") or "/"
        self.metrics.observe_request(
            observability.route_label(path, list(self.routes)),
            environ.get("REQUEST_METHOD", "GET").upper(),
            int(status.split(" ", 1)[0]),
            time.perf_counter() - started,
        )
        return [body]

    def _serve(self, environ: Environ) -> tuple[str, list[tuple[str, str]], bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET").upper()
        methods = self.routes.get(path.rstrip("/") or "/")
        try:
            if methods is None:
                reply = Reply.json(404, {"error": "not_found", "message": f"no such path: {path}"})
            elif method not in methods:
                allowed = ", ".join(sorted(methods))
                reply = Reply.json(
                    405,
                    {"error": "method_not_allowed", "message": f"{path} accepts {allowed}"},
                    [("Allow", allowed)],
                )
            else:
                reply = methods[method](environ)
        except BodyTooLarge:
            reply = Reply.json(
                413,
                {"error": "too_large", "message": f"the body is over {self.max_body} bytes"},
            )
        except Exception:
            log.exception("unhandled error serving %s %s", method, path)
            reply = Reply.json(500, {"error": "internal", "message": "internal server error"})
        status = HTTPStatus(reply.status)
        body = b"" if method == "HEAD" else reply.body
        headers = [*reply.headers, ("Content-Length", str(len(reply.body)))]
        return f"{status.value} {status.phrase}", headers, body

    # ------------------------------------------------------------------ routes

    def slack_events(self, environ: Environ) -> Reply:
        raw = self.read_body(environ)
        refused = self._slack_refusal(raw, environ)
        if refused is not None:
            return refused
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return Reply.json(400, {"error": "bad_request", "message": "the body is not UTF-8"})
        if not self._first_delivery(body, environ):
            return Reply(200)
        request = BoltRequest(
            body=body, query=environ.get("QUERY_STRING", ""), headers=_headers(environ)
        )
        with self.services.ack_first.request():
            if self._ack_now(body, environ):
                request.context[ACKNOWLEDGED] = True
                self._later.submit(
                    contextvars.copy_context().run,
                    self._dispatch_later,
                    request,
                    time.monotonic(),
                )
                return Reply(200)
            return _from_bolt(self.bolt_app.dispatch(request))

    def close(self) -> None:
        """Finish handling the requests already acknowledged, listeners included (on
        shutdown); nothing new is taken after this."""
        self._later.shutdown(wait=True)
        listeners = self.services.listeners
        if listeners is not None:
            listeners.shutdown(wait=True)

    def _ack_now(self, body: str, environ: Environ) -> bool:
        """A signed command, button or shortcut: Slack reads nothing from its ack but the
        status (bot.middleware.EarlyAck sends any reply through the response URL), so it
        is answered before Bolt runs at all. Anything else goes through Bolt on this
        thread, which answers it. The signature was checked by `_slack_refusal`."""
        return self._verifier is not None and early_ack_body(body)

    def _slack_refusal(self, raw: bytes, environ: Environ) -> Reply | None:
        """401 for a request to /slack/events that is not signed by Slack (None when it is,
        or when no signing secret is set and Bolt decides)."""
        if self._verifier is None:
            return None
        stamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or ""
        signature = environ.get("HTTP_X_SLACK_SIGNATURE") or ""
        secret = self.services.settings.slack_signing_secret or ""
        if _slack_signed(secret, raw, stamp, signature, now=time.time()):
            return None
        log.info(
            "refused a request to /slack/events: missing, malformed or wrong signature or timestamp"
        )
        return Reply.json(
            401,
            {
                "error": "unauthorized",
                "message": "missing or wrong X-Slack-Signature or X-Slack-Request-Timestamp "
                "(Unix seconds, within five minutes of now)",
            },
        )

    def _first_delivery(self, body: str, environ: Environ) -> bool:
        """False for a copy of a signed request already taken (bot/replay.py)."""
        if self._verifier is None or is_slack_retry(_header_values(environ), body):
            return True
        stamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "0"
        if self._replays.first_time(environ.get("HTTP_X_SLACK_SIGNATURE") or "", int(stamp)):
            return True
        log.info("dropped a copy of a Slack request already taken (same signature)")
        return False

    def _dispatch_later(self, request: BoltRequest, acked_at: float) -> None:
        # After the acks still pending: a burst's last request is answered first.
        self.services.ack_first.wait_turn(acked_at)
        try:
            response = self.bolt_app.dispatch(request)
        except Exception:
            log.exception("handling an acknowledged Slack request failed")
            return
        if response.status >= 400:
            log.warning(
                "an acknowledged Slack request was refused: %s %s",
                response.status,
                response.body[:200],
            )

    def webhook_responses(self, environ: Environ) -> Reply:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        team_id = (query.get("team") or [None])[0] or self.default_team()
        shared = self.services.settings.cxbot_webhook_secret
        bad_id = not team_id or not TEAM_ID.fullmatch(team_id)
        if bad_id or not self.installed(team_id or ""):
            # Which key applies is not known without the workspace: a caller holding the
            # shared one is told what is wrong, anyone else only that they are refused.
            if not shared:
                return _webhook_off("; a workspace's own webhook.secret needs ?team=T...")
            if not self._webhook_signed(environ, shared)[0]:
                return _webhook_refused()
            if not team_id:
                message = (
                    "which workspace? pass ?team=T... (there is no single workspace "
                    "to default to: none or several are installed)"
                )
            elif bad_id:
                message = f"team {team_id!r} is not a Slack team ID (like T0123ABCD)"
            else:
                message = f"workspace {team_id} is not installed: answers cannot be stored for it"
            return Reply.json(400, {"error": "bad_team", "message": message})
        assert team_id is not None  # checked above
        # A workspace with its own key opens with that key only: the shared one, which
        # every workspace's survey tool holds, cannot write into it.
        secret = self._workspace_webhook_secret(team_id) or shared
        if not secret:
            # The same answer as a wrong signature: an unsigned caller must not learn which
            # workspaces have a key of their own.
            return _webhook_refused()
        signed, raw = self._webhook_signed(environ, secret)
        if not signed:
            return _webhook_refused()
        data, bad = _json_body(raw)
        if bad is not None:
            return bad
        return self._store_answers(team_id, data)

    def webhook_tool(self, tool: Tool, environ: Environ) -> Reply:
        """A survey tool's own delivery: its signature with the workspace's secret for that
        tool, its payload turned into answers, stored like /webhooks/responses."""
        from storage import settings_store

        query = parse_qs(environ.get("QUERY_STRING", ""))
        team_id = (query.get("team") or [None])[0] or self.default_team()
        raw = self.read_body(environ)
        secret = None
        # Without a workspace there is no key, so an unknown ?team= is refused like a
        # wrong signature: an unsigned caller learns nothing about which workspaces exist.
        if team_id and TEAM_ID.fullmatch(team_id) and self.installed(team_id):
            secret = settings_store.get(self.services.engine, team_id=team_id, key=tool.secret_key)
        if not secret or not tool.verify(secret, raw, _header_values(environ), time.time()):
            log.info("refused a request to /webhooks/%s: no key, or a wrong signature", tool.name)
            return Reply.json(
                401,
                {
                    "error": "unauthorized",
                    "message": f"missing or wrong {tool.signature}, with the workspace's "
                    f"{tool.secret_key} (?team=T... names the workspace; where the key is not "
                    "set this webhook is off)",
                },
            )
        assert team_id is not None  # a key was found for it
        data, bad = _json_body(raw)
        if bad is not None:
            return bad
        adapted = tool.adapt(data, query)
        if adapted.ignored is not None:
            log.info("ignored a %s delivery: %s", tool.title, adapted.ignored)
            return Reply.json(202, {"stored": [], "duplicates": 0, "ignored": adapted.ignored})
        return self._store_answers(team_id, adapted.items, source=tool.name, labels=adapted.labels)

    def installed(self, team_id: str) -> bool:
        """Whether `team_id` is a workspace this deployment serves: one that installed the
        app (OAuth mode), or the bot token's own."""
        if self.services.settings.oauth_enabled:
            return team_id in self.services.slack.installed_teams()
        own = self.default_team()
        if own is not None:
            return team_id == own
        # auth.test has not answered yet (Slack unreachable at start): the workspaces
        # this database already holds are the bot token's.
        from storage.workspaces import known_teams

        return team_id in known_teams(self.services.engine)

    def healthz(self, environ: Environ) -> Reply:
        engine = self.services.engine
        try:
            # The backlog's query is the database check too.
            backlog = outbox_backlog(engine)
            waited = observability.outbox_wait_seconds(engine, now=self.services.clock())
        except Exception as exc:
            log.warning("health check: the database does not answer: %s", _first_line(exc))
            return Reply.json(
                503, {"status": "unavailable", "message": "the database does not answer"}
            )
        body: dict[str, Any] = {
            "status": "ok",
            "outbox_backlog": backlog,
            "outbox_oldest_due_seconds": round(waited, 1),
            "outbox": "moving",
        }
        limit = self.services.settings.cxbot_health_max_backlog_seconds
        if waited > limit:
            message = (
                f"the oldest due outbox message has waited {waited:.0f} s "
                f"(CXBOT_HEALTH_MAX_BACKLOG_SECONDS={limit:g}): no instance is sending"
            )
            log.warning("health check: %s", message)
            body.update(outbox="stuck", message=message)
            # The outbox is shared: a load balancer acting on this would take every
            # instance out at once and stop Slack's requests too, so this instance still
            # answers "ok" (it can serve). `?strict=1` is for monitors that read nothing
            # but the status code.
            query = parse_qs(environ.get("QUERY_STRING", ""))
            if (query.get("strict") or ["0"])[0].lower() in ("1", "true", "yes"):
                return Reply.json(503, {**body, "status": "degraded"})
        return Reply.json(200, body)

    def metrics_text(self, environ: Environ) -> Reply:
        try:
            backlog: float | None = outbox_backlog(self.services.engine)
        except Exception as exc:
            log.warning(
                "metrics: no outbox backlog, the database does not answer: %s", _first_line(exc)
            )
            backlog = None
        leader = self.services.leader
        # The leader's own process says so too (bot.leader); this keeps the answer current.
        self.metrics.set_leader(leader is not None and leader.is_leader)
        gauges: list[observability.Gauge_] = [
            (
                "cxbot_outbox_backlog",
                "Messages queued for Slack and not yet sent, across workspaces.",
                backlog,
            ),
            (
                "cxbot_database_up",
                "1 when the database answered this scrape.",
                0.0 if backlog is None else 1.0,
            ),
        ]
        gauges.append(observability.outbox_wait_gauge(self.services.engine, self.services.clock()))
        gauges.append(observability.alert_sla_gauge(self.services.engine, self.services.clock()))
        body = self.metrics.render(gauges).encode()
        return Reply(200, body, [("Content-Type", observability.CONTENT_TYPE)])

    def slack_install(self, environ: Environ) -> Reply:
        flow = self.bolt_app.oauth_flow
        assert flow is not None  # the route exists only in OAuth mode
        return _from_bolt(flow.handle_installation(self._bolt_get(environ)))

    def slack_oauth_redirect(self, environ: Environ) -> Reply:
        flow = self.bolt_app.oauth_flow
        assert flow is not None
        return _from_bolt(flow.handle_callback(self._bolt_get(environ)))

    def _bolt_get(self, environ: Environ) -> BoltRequest:
        return BoltRequest(
            body="", query=environ.get("QUERY_STRING", ""), headers=_headers(environ)
        )

    # ------------------------------------------------------------------ helpers

    def read_body(self, environ: Environ) -> bytes:
        stream = environ["wsgi.input"]
        length_text = environ.get("CONTENT_LENGTH") or ""
        if length_text.strip():
            try:
                length = int(length_text)
            except ValueError:
                length = 0
            if length > self.max_body:
                raise BodyTooLarge
            return bytes(stream.read(length)) if length > 0 else b""
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            data = bytes(stream.read(self.max_body + 1))
            if len(data) > self.max_body:
                raise BodyTooLarge
            return data
        return b""

    def _webhook_signed(self, environ: Environ, secret: str) -> tuple[bool, bytes]:
        """(whether the body is signed with `secret`, the body)."""
        raw = self.read_body(environ)
        return _signature_ok(secret, raw, environ.get("HTTP_X_CXBOT_SIGNATURE")), raw

    def _workspace_webhook_secret(self, team_id: str) -> str | None:
        """The workspace's own webhook key (`webhook.secret`), if it has one.

        Read before the signature is checked, so not through the settings cache: a cache
        entry per team id that anyone may name would let unsigned requests grow it.
        """
        from storage import settings_store

        return settings_store.get(self.services.engine, team_id=team_id, key=WORKSPACE_SECRET_KEY)

    def _store_answers(
        self,
        team_id: str,
        data: Any,
        *,
        source: str = "webhook",
        labels: Sequence[str] = (),
    ) -> Reply:
        from storage.answers_in import store_answer_objects

        items = data if isinstance(data, list) else [data]
        if not items:
            return Reply.json(
                400, {"error": "empty", "message": "the body holds no answers", "errors": []}
            )
        errors: list[dict[str, Any]] = []
        objects: list[dict[str, Any]] = []
        positions: list[int] = []  # objects[k] came from items[positions[k]]
        for index, item in enumerate(items):
            if isinstance(item, _TooDeep):
                errors.append({"index": index, "reason": TOO_DEEP_REASON})
            elif isinstance(item, Refused):
                errors.append({"index": index, "reason": item.reason})
            elif isinstance(item, dict):
                objects.append(item)
                positions.append(index)
            else:
                errors.append({"index": index, "reason": "an answer must be a JSON object"})
        stored: list[int] = []
        duplicates = 0
        if objects:
            result, rejected = store_answer_objects(
                self.services.engine,
                team_id=team_id,
                objects=objects,
                default_timezone=self.services.settings.cxbot_timezone,
                now=self.services.clock(),
                source=source,
            )
            for r in rejected:
                errors.append({"index": positions[r.line - 1], "reason": r.reason})
            stored, duplicates = result.ids, result.duplicates
            if stored:
                answers_stored(self.services, team_id=team_id, response_ids=stored)
        if not errors:
            return Reply.json(202, {"stored": stored, "duplicates": duplicates})
        errors.sort(key=lambda e: e["index"])
        if labels:
            # A tool's delivery is one response: which of its questions each reason is for.
            for e in errors:
                e["question"] = labels[e["index"]]
        kept = len(items) - len(errors)
        return Reply.json(
            400,
            {
                "message": (
                    f"{len(errors)} of {len(items)} answers rejected; the other {kept} were "
                    f"accepted ({len(stored)} stored, {duplicates} duplicates)"
                ),
                "errors": errors,
                "stored": stored,
                "duplicates": duplicates,
            },
        )


class _TooDeep:
    """An item of a webhook body nested too deeply to parse."""


def _json_body(raw: bytes) -> tuple[Any, Reply | None]:
    """A webhook's body as JSON, or the 400 that says why it is not.

    An array nested too deeply for the parser somewhere is read item by item, so the
    answers beside the deep one are still stored (`_TooDeep` in its place).
    """
    try:
        text = raw.decode("utf-8")
        return json.loads(text), None
    except UnicodeDecodeError:
        return None, _invalid_json("the body is not UTF-8")
    except json.JSONDecodeError as exc:
        return None, _invalid_json(exc)
    except RecursionError:
        parts = json_array_items(text)
    if parts is None:
        return None, _invalid_json(TOO_DEEP_REASON)
    data: list[Any] = []
    for part in parts:
        try:
            data.append(json.loads(part))
        except RecursionError:
            data.append(_TooDeep())
        except json.JSONDecodeError as exc:
            return None, _invalid_json(exc)
    return data, None


def _invalid_json(why: json.JSONDecodeError | str) -> Reply:
    if isinstance(why, json.JSONDecodeError):
        why = f"invalid JSON at line {why.lineno} column {why.colno}: {why.msg}"
    return Reply.json(400, {"error": "invalid_json", "message": why})


def _header_values(environ: Environ) -> dict[str, str]:
    return {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k[:5] == "HTTP_"}


def early_ack_body(body: str) -> bool:
    """Whether a form-encoded Slack request is a slash command, a button or a shortcut."""
    try:
        fields = parse_qs(body, max_num_fields=64)
    except ValueError:  # not Slack's form: Bolt answers it
        return False
    if "command" in fields:
        return True
    payload = (fields.get("payload") or [""])[0]
    if not payload:
        return False
    try:
        kind = json.loads(payload).get("type")
    except (ValueError, AttributeError):
        return False
    return kind in EARLY_ACK_TYPES


def _from_bolt(response: BoltResponse) -> Reply:
    headers = [(k, v) for k, values in response.headers.items() for v in values]
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
    return Reply(response.status, response.body.encode("utf-8"), headers)


def outbox_backlog(engine: Any) -> int:
    from storage.outbox import backlog

    return backlog(engine)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _webhook_off(detail: str) -> Reply:
    return Reply.json(
        401,
        {
            "error": "unauthorized",
            "message": f"the webhook is switched off: CXBOT_WEBHOOK_SECRET is not set{detail}",
        },
    )


def _webhook_refused() -> Reply:
    return Reply.json(
        401,
        {
            "error": "unauthorized",
            "message": f"missing or wrong {SIGNATURE_HEADER} (sha256=<hex HMAC-SHA256 of the "
            "body with CXBOT_WEBHOOK_SECRET, or with the workspace's webhook.secret where it "
            "has one; where neither is set the webhook is off>)",
        },
    )


def _slack_signed(secret: str, body: bytes, stamp: str, signature: str, *, now: float) -> bool:
    """Slack's v0 signature over the raw bytes, with a timestamp within five minutes."""
    if not SLACK_TIMESTAMP.fullmatch(stamp) or not signature.isascii():
        return False
    if abs(now - int(stamp)) > REPLAY_WINDOW_SECONDS:
        return False
    base = b"v0:" + stamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode())


def _signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not header:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode())


def _headers(environ: Environ) -> dict[str, str | Sequence[str]]:
    headers: dict[str, str | Sequence[str]] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = [value]
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = [environ[key]]
    return headers


def build_web_app(settings: Settings, services: Services | None = None) -> WebApp:
    """The whole HTTP side for `settings`: services (unless given), the Bolt app, the routes."""
    from bot.app import create_app
    from core.analyzer import make_analyzer
    from storage.db import make_engine

    observability.configure_logging(settings.cxbot_log_format)
    if services is None:
        services = Services(
            settings=settings,
            engine=make_engine(settings.database_url),
            analyzer=make_analyzer(
                settings.openai_api_key, settings.openai_base_url, settings.openai_model
            ),
        )
    return WebApp(services, create_app(settings, services))
