"""A small OpenAI-compatible HTTP server for the tests.

The real `openai` client talks HTTP to it: nothing in the SDK is replaced. Tests script
what each request gets (an answer, a slow answer, a malformed answer, an HTTP error) and
read back every request body the server received, so they can check what would have
left the process (redaction, prompts, schema).

    with OpenAIServer() as server:
        server.script(answer({"category": "price", ...}), status(500))
        client = openai.OpenAI(base_url=server.url, api_key="test")
        ...
        server.requests[0].body["messages"]
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Behaviour:
    """What the server does with one request."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    content: str | None = None  # assistant content; the body is built from the request


def answer(content: dict[str, Any] | str, *, delay: float = 0.0) -> Behaviour:
    """A chat completion whose assistant message is `content` (a dict is sent as JSON)."""
    text = content if isinstance(content, str) else json.dumps(content)
    return Behaviour(content=text, delay=delay)


def slow(content: dict[str, Any] | str, seconds: float) -> Behaviour:
    return answer(content, delay=seconds)


def malformed(kind: str = "content") -> Behaviour:
    """A broken answer: `content` (prose instead of JSON), `body` (not JSON at all),
    `no_choices` (a completion with an empty choice list)."""
    if kind == "content":
        return Behaviour(content="Sure! I think this one is about the price, mostly.")
    if kind == "body":
        return Behaviour(
            body=b"<html>upstream hiccup</html>", headers={"Content-Type": "application/json"}
        )
    if kind == "no_choices":
        return Behaviour(
            body=json.dumps(
                {
                    "id": "chatcmpl-x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "test",
                    "choices": [],
                }
            ).encode()
        )
    raise ValueError(f"unknown malformed kind {kind!r}")


def status(code: int, *, retry_after_ms: int | None = None, message: str = "") -> Behaviour:
    """An HTTP error in the OpenAI error shape. `retry_after_ms` sets the header the SDK
    honours, which keeps retry tests fast."""
    headers = {"Content-Type": "application/json"}
    if retry_after_ms is not None:
        headers["retry-after-ms"] = str(retry_after_ms)
    body = json.dumps(
        {
            "error": {
                "message": message or f"scripted HTTP {code}",
                "type": "server_error",
                "code": None,
            }
        }
    ).encode()
    return Behaviour(status=code, body=body, headers=headers)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text when it was not JSON
    at: float

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    def message(self, role: str) -> str:
        """The content of the first message with `role` ("" when there is none)."""
        for m in self.messages:
            if m.get("role") == role:
                return str(m.get("content", ""))
        return ""


Responder = Callable[[RecordedRequest], Behaviour]


def _unscripted(_: RecordedRequest) -> Behaviour:
    # A test that forgot to script an answer should fail loudly, not hang.
    return status(500, message="no scripted behaviour left")


class OpenAIServer:
    """Threaded HTTP server on 127.0.0.1 and a free port, serving POST /v1/chat/completions.

    Scripted behaviours are used in order, one per request; when the script is empty the
    `default` responder decides (HTTP 500 unless given).
    """

    def __init__(self, default: Responder | None = None) -> None:
        self.default: Responder = default or _unscripted
        self.requests: list[RecordedRequest] = []
        self._script: deque[Behaviour] = deque()
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> OpenAIServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                server._handle(self)

            def do_GET(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers that are sleeping on a slow answer
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL for `openai.OpenAI(base_url=...)` (ends in /v1)."""
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    # ------------------------------------------------------------------ scripting

    def script(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._script.extend(behaviours)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: len(self.requests) >= count, timeout=timeout)

    def bodies(self) -> list[str]:
        """Every request body as raw text, for 'this never left the process' checks."""
        with self._lock:
            return [json.dumps(r.body, ensure_ascii=False) for r in self.requests]

    # ------------------------------------------------------------------ serving

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        request = RecordedRequest(
            method=handler.command,
            path=handler.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
            at=time.monotonic(),
        )
        if handler.command != "POST" or handler.path.rstrip("/") != "/v1/chat/completions":
            self._send(handler, status(404, message=f"no route {handler.command} {handler.path}"))
            return
        with self._lock:
            behaviour = self._script.popleft() if self._script else None
            self.requests.append(request)
            self._lock.notify_all()
        if behaviour is None:
            behaviour = self.default(request)
        if behaviour.delay and self._stopping.wait(behaviour.delay):
            return
        self._send(handler, behaviour, request)

    def _completion(self, content: str, request: RecordedRequest | None) -> bytes:
        model = (
            request.body.get("model", "test")
            if request and isinstance(request.body, dict)
            else "test"
        )
        return json.dumps(
            {
                "id": f"chatcmpl-test-{next(self._ids)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            }
        ).encode()

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        behaviour: Behaviour,
        request: RecordedRequest | None = None,
    ) -> None:
        body = (
            self._completion(behaviour.content, request)
            if behaviour.content is not None
            else behaviour.body
        )
        try:
            handler.send_response(behaviour.status)
            headers = {"Content-Type": "application/json", **behaviour.headers}
            for k, v in headers.items():
                handler.send_header(k, v)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its time-out), which is what a slow-answer test wants
