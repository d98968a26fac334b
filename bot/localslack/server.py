"""LocalSlack: a Slack-compatible Web API server on 127.0.0.1 for the sandbox and the tests.

The real `slack_sdk.WebClient(base_url=ls.base_url)` and Bolt's `respond()` talk to
it over HTTP. It answers like Slack (HTTP 200 with ok/error, 429 with Retry-After,
500 for injected faults) and records everything so tests can look and wait.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.localslack.api import JSON_ARGS, SlackApi
from bot.localslack.ratelimit import RateLimiter
from bot.localslack.validation import ApiError
from bot.localslack.workspace import Call, _Pending

log = logging.getLogger(__name__)

FAULT_ERRORS = {
    429: "ratelimited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}

# A fault "status" meaning: read the request, then close the connection without a word.
DROP = 0

# Pseudo method names for the two non-API endpoints, for `calls` and `set_faults`.
RESPONSE_URL = "response_url"
UPLOAD = "files.upload_bytes"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Hundreds of clients connect at once in tests; the default backlog of 5 would make
    # the kernel drop SYNs and clients stall for a second retrying.
    request_queue_size = 1024

    def __init__(self, slack: LocalSlack) -> None:
        self.slack = slack
        # Threads kept and reused: a thread started and torn down per connection costs
        # the machine more than answering the call does, and under a load test this
        # stand-in for Slack shares the machine with the bot it measures.
        self._pool = ThreadPoolExecutor(256, thread_name_prefix="localslack")
        super().__init__(("127.0.0.1", slack._port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._pool.submit(self.process_request_thread, request, client_address)

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "LocalSlack/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, payload = self.server.slack._route(
                self.command, self.path, dict(self.headers.items()), body
            )
            if status == DROP:
                # What a client sees when Slack's edge goes away mid-request: no status line.
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
        except Exception:
            log.exception("localslack failed on %s %s", self.command, self.path)
            status, headers, payload = (
                500,
                {"Content-Type": "application/json"},
                b'{"ok":false,"error":"internal_error"}',
            )
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _json_reply(
    status: int, data: dict[str, Any], **headers: str
) -> tuple[int, dict[str, str], bytes]:
    return (
        status,
        {"Content-Type": "application/json; charset=utf-8", **headers},
        json.dumps(data).encode(),
    )


def _text_reply(status: int, text: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode()


def _decode_json_args(args: dict[str, Any]) -> dict[str, Any]:
    out = dict(args)
    for key in JSON_ARGS:
        value = out.get(key)
        if isinstance(value, str) and value[:1] in "[{":
            with contextlib.suppress(ValueError):
                out[key] = json.loads(value)
    return out


class LocalSlack(SlackApi):
    """A Slack workspace on this machine, served over real HTTP (see the module docstring)."""

    def __init__(
        self,
        *,
        team_id: str = "T0CXLOCAL",
        team_name: str = "Local workspace",
        bot_token: str = "xoxb-local-token",
        bot_user_id: str = "U0CXBOT",
        rate_limits: bool = True,
        rate_scale: float = 1.0,
        trigger_ttl: float = 3.0,
        seed: int = 0,
        port: int = 0,
    ) -> None:
        super().__init__(
            team_id=team_id,
            team_name=team_name,
            bot_token=bot_token,
            bot_user_id=bot_user_id,
            trigger_ttl=trigger_ttl,
        )
        self.rate_limits = rate_limits
        self.limiter = RateLimiter(rate_scale)
        self._rng = random.Random(seed)
        self._fault_rate = 0.0
        self._fault_statuses: tuple[int, ...] = (429, 500)
        self._fault_methods: frozenset[str] | None = None
        self._fault_count: int | None = None
        self._fault_after_effect = False
        self._latency: dict[str, float] = {}
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        return f"{self.url}/api/"

    def start(self) -> LocalSlack:
        if self._server is not None:
            return self
        self._server = _Server(self)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"localslack-{port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LocalSlack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @classmethod
    def demo(cls, **kw: Any) -> LocalSlack:
        """A populated workspace (see `bot.localslack.demo`); not started yet."""
        from bot.localslack.demo import populate

        slack = cls(**kw)
        populate(slack)
        return slack

    # --------------------------------------------------------------- faults
    def set_faults(
        self,
        rate: float = 1.0,
        statuses: Sequence[int] = (429, 500),
        methods: Iterable[str] | None = None,
        *,
        count: int | None = None,
        after_effect: bool = False,
    ) -> None:
        """Fails a share `rate` of calls with a status drawn from `statuses` (seeded RNG).

        `methods=None` means every Web API method; the response URL and upload endpoints
        take part only when named ("response_url", "files.upload_bytes"). `count` limits
        the faults to the next `count` calls picked (then they stop by themselves).
        `DROP` as a status closes the connection without an answer.

        `after_effect=True` makes the faults uncertain: the call is carried out first (the
        message is stored and shows in conversations.history) and only the answer fails, as
        when Slack's edge times out after the write. Slack documents that a failure does not
        say the call had no effect (https://api.slack.com/methods/chat.postMessage#errors,
        fatal_error: "it's possible some aspect of the operation succeeded before the error
        was raised").
        Calls answered so are recorded with `Call.took_effect=True`.
        """
        if not 0.0 <= rate <= 1.0:
            raise ValueError("fault rate must be between 0 and 1")
        if rate and not statuses:
            raise ValueError("statuses must name at least one HTTP status")
        if count is not None and count < 0:
            raise ValueError("count must not be negative")
        with self._lock:
            self._fault_rate = rate
            self._fault_statuses = tuple(statuses)
            self._fault_methods = None if methods is None else frozenset(methods)
            self._fault_count = count
            self._fault_after_effect = after_effect

    def uncertain_sends(
        self,
        count: int | None = None,
        *,
        rate: float = 1.0,
        statuses: Sequence[int] = (500, DROP),
        methods: Iterable[str] = ("chat.postMessage",),
    ) -> None:
        """The next `count` (or a seeded share `rate`) of chat.postMessage calls store the
        message and then answer HTTP 500 or drop the connection: the app cannot know the
        message got through. `uncertain_sends(0)` ends it. Shorthand for set_faults."""
        self.set_faults(rate, statuses, methods, count=count, after_effect=True)

    def set_latency(self, seconds: float, methods: Iterable[str]) -> None:
        """Answer each call of `methods` `seconds` late (0 ends it): a slow Web API method,
        as users.info is on a large workspace, while the rest answers at once."""
        if seconds < 0:
            raise ValueError("latency must not be negative")
        with self._lock:
            for name in methods:
                if seconds:
                    self._latency[name] = seconds
                else:
                    self._latency.pop(name, None)

    def _fault_for(self, method: str) -> int | None:
        with self._lock:
            if not self._fault_rate or self._fault_count == 0:
                return None
            if self._fault_methods is None:
                if method in (RESPONSE_URL, UPLOAD):
                    return None
            elif method not in self._fault_methods:
                return None
            if self._rng.random() >= self._fault_rate:
                return None
            if self._fault_count is not None:
                self._fault_count -= 1
            return self._rng.choice(self._fault_statuses)

    def _unspend_fault(self) -> None:
        with self._lock:
            if self._fault_count is not None:
                self._fault_count += 1

    # -------------------------------------------------------------- routing
    def _route(
        self, verb: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(raw_path)
        path = parts.path
        if path.startswith("/api/"):
            return self._api_request(path[5:], parts.query, headers, body)
        if path.startswith("/responses/") and verb == "POST":
            return self._response_request(path.rsplit("/", 1)[-1], body)
        if path.startswith("/upload/") and verb == "POST":
            return self._upload_request(path.rsplit("/", 1)[-1], body)
        if path.startswith("/archives/") and path.count("/") == 3:
            _, _, channel, packed = path.split("/", 3)
            msg = self.permalink_message(channel, packed.lstrip("p"))
            if msg is None:
                return _json_reply(404, {"ok": False, "error": "message_not_found"})
            return _json_reply(200, {"ok": True, "message": msg})
        return _text_reply(404, "not_found")

    def _parse_args(self, query: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        if not body:
            return args
        if "json" in ctype:
            data = json.loads(body.decode("utf-8"))
            if not isinstance(data, dict):
                raise ApiError("invalid_json", "the JSON body must be an object")
            args.update(data)
        elif "multipart" in ctype:
            raise ApiError("invalid_form_data", "multipart bodies are not supported")
        else:
            args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        return args

    def _api_request(
        self, method: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        token: str | None = None
        args: dict[str, Any] = {}
        took_effect = False
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip() or None
        pending = _Pending()
        status, extra_headers = 200, {}
        with self._lock:
            late = self._latency.get(method, 0.0)
        if late:
            time.sleep(late)
        try:
            try:
                args = self._parse_args(query, headers, body)
            except (ValueError, UnicodeDecodeError) as exc:
                raise ApiError("invalid_json", str(exc)) from exc
            token = token or (str(args.pop("token")) if args.get("token") else None)
            args.pop("token", None)
            if token is None:
                raise ApiError("not_authed")
            if token != self.bot_token:
                raise ApiError("invalid_auth")
            if self.rate_limits:
                channel = args.get("channel") if method == "chat.postMessage" else None
                retry_after = self.limiter.acquire(token, method, str(channel or ""))
                if retry_after:
                    status, extra_headers = 429, {"Retry-After": str(retry_after)}
                    raise ApiError("ratelimited")
            fault = self._fault_for(method)
            if fault is not None and not self._fault_after_effect:
                status = fault
                if fault == 429:
                    extra_headers = {"Retry-After": "1"}
                raise ApiError(FAULT_ERRORS.get(fault, "fatal_error"))
            try:
                result = self.dispatch(method, args, pending)
            except ApiError:
                if fault is not None:
                    self._unspend_fault()  # a refused call is not one of the uncertain ones
                raise
            if fault is not None and result["ok"]:
                took_effect, status = True, fault
                raise ApiError(FAULT_ERRORS.get(fault, "fatal_error"))
        except ApiError as err:
            result = {"ok": False, "error": err.code}
            if err.details:
                if err.with_errors:
                    result["errors"] = err.details
                result["response_metadata"] = {"messages": [f"[ERROR] {d}" for d in err.details]}
        self._record_call(
            Call(
                method=method,
                args=_decode_json_args(args),
                ok=bool(result["ok"]),
                error=result.get("error"),
                status=status,
                at=time.time(),
                token=token,
                took_effect=took_effect,
            )
        )
        self._deliver(pending)
        if status == DROP:
            return DROP, {}, b""
        return _json_reply(status, result, **extra_headers)

    def _pseudo_call(
        self,
        method: str,
        args: dict[str, Any],
        status: int,
        error: str | None,
        *,
        took_effect: bool = False,
    ) -> None:
        self._record_call(
            Call(method, args, status == 200, error, status, time.time(), None, took_effect)
        )

    def _response_request(self, key: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        try:
            data = json.loads(body.decode("utf-8")) if body else {}
        except (ValueError, UnicodeDecodeError):
            # Some clients send the JSON as a form field named payload.
            form = dict(parse_qsl(body.decode("utf-8", "replace")))
            try:
                data = json.loads(form.get("payload", ""))
            except ValueError:
                data = None
        if not isinstance(data, dict):
            self._pseudo_call(RESPONSE_URL, {"key": key}, 400, "invalid_payload")
            return _text_reply(400, "invalid_payload")
        fault = self._fault_for(RESPONSE_URL)
        if fault is not None and not self._fault_after_effect:
            self._pseudo_call(RESPONSE_URL, data, fault, FAULT_ERRORS.get(fault, "fatal_error"))
            return _text_reply(fault, FAULT_ERRORS.get(fault, "fatal_error"))
        pending = _Pending()
        status, text = self.handle_response_url(key, data, pending)
        if fault is not None and status == 200:
            self._pseudo_call(
                RESPONSE_URL, data, fault, FAULT_ERRORS.get(fault, "fatal_error"), took_effect=True
            )
            self._deliver(pending)
            return _text_reply(fault, FAULT_ERRORS.get(fault, "fatal_error"))
        self._pseudo_call(RESPONSE_URL, data, status, None if status == 200 else text)
        self._deliver(pending)
        return _text_reply(status, text)

    def _upload_request(self, file_id: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        args = {"file_id": file_id, "length": len(body)}
        fault = self._fault_for(UPLOAD)
        if fault is not None:
            self._pseudo_call(UPLOAD, args, fault, FAULT_ERRORS.get(fault, "fatal_error"))
            return _text_reply(fault, FAULT_ERRORS.get(fault, "fatal_error"))
        status, text = self.handle_upload(file_id, body)
        self._pseudo_call(UPLOAD, args, status, None if status == 200 else text)
        return _text_reply(status, text)


__all__ = ["DROP", "Call", "LocalSlack"]
