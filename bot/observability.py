"""What operators see: JSON log lines carrying a request id, and Prometheus metrics.

- `JsonFormatter` writes one JSON object per log record, with the id of the HTTP request
  being served (`request_id`, from the proxy's `X-Request-Id` or made up here) so every
  line a request caused can be found together. `configure_logging` puts it on the
  process's console handlers.
- `METRICS` counts HTTP requests by route, method and status, their latency (a
  histogram), and Slack Web API errors by method and error; `GET /metrics` (bot/web.py)
  adds gauges read at scrape time (the outbox backlog, how long its oldest due message
  has waited, whether this process leads the scheduler) in Prometheus' text exposition
  format.
- `ObservedClient` is the WebClient that counts Slack's errors; `observe_slack_errors`
  gives Bolt's per-request clients the same.

Counts are per process: with `--workers N` each scrape sees the worker that answered it.
Run one worker per instance (the default) and scrape each instance.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy.engine import Engine

from storage.outbox import oldest_due_age

log = logging.getLogger("cxbot.observability")

request_id_var: ContextVar[str | None] = ContextVar("cxbot_request_id", default=None)

REQUEST_ID_HEADER = "X-Request-Id"
# Seconds; Slack wants an ack within 3, the targets are well below 0.5.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


# --------------------------------------------------------------------------- logs


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def clean_request_id(value: str | None) -> str:
    """The proxy's id when it looks like one (bounded, printable), else a new one."""
    if value:
        value = value.strip()
        if 0 < len(value) <= 128 and all(c.isalnum() or c in "-_.:" for c in value):
            return value
    return new_request_id()


@contextmanager
def request_context(request_id: str) -> Iterator[str]:
    """Log records made inside the block (on this thread) carry `request_id`."""
    token = request_id_var.set(request_id)
    try:
        yield request_id
    finally:
        request_id_var.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, process, request id,
    anything passed in `extra=`, and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
            "thread": record.threadName,
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            data["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in data and not key.startswith("_"):
                data[key] = value if isinstance(value, (str, int, float, bool)) else repr(value)
        if record.exc_info:
            data["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(log_format: str = "json", level: int = logging.INFO) -> None:
    """Format this process's console log lines as JSON (or text); idempotent.

    Only plain console handlers are changed, so handlers others installed (a test runner's
    capture, gunicorn's own) keep their formats.
    """
    root = logging.getLogger()
    consoles = [h for h in root.handlers if type(h) is logging.StreamHandler]
    if not consoles:
        handler = logging.StreamHandler(sys.stderr)
        root.addHandler(handler)
        consoles = [handler]
    formatter: logging.Formatter = (
        JsonFormatter()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    )
    for handler in consoles:
        handler.setFormatter(formatter)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)


# --------------------------------------------------------------------------- metrics


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return ""
    return "{" + ",".join(f'{n}="{_label(v)}"' for n, v in zip(names, values, strict=True)) + "}"


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class Metrics:
    """The process's counters and latency histogram; thread-safe."""

    def __init__(self, buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        self.buckets = tuple(buckets)
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = {}
        self._latency: dict[str, list[float]] = {}  # route -> bucket counts + [sum, count]
        self._slack_errors: dict[tuple[str, str], int] = {}
        self.started = time.time()

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            key = (route, method, str(status))
            self._requests[key] = self._requests.get(key, 0) + 1
            row = self._latency.setdefault(route, [0.0] * (len(self.buckets) + 2))
            for i, bound in enumerate(self.buckets):
                if seconds <= bound:
                    row[i] += 1
            row[-2] += seconds
            row[-1] += 1

    def slack_error(self, method: str, error: str) -> None:
        with self._lock:
            key = (method, error)
            self._slack_errors[key] = self._slack_errors.get(key, 0) + 1

    def requests(self) -> dict[tuple[str, str, str], int]:
        with self._lock:
            return dict(self._requests)

    def slack_errors(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._slack_errors)

    def render(self, gauges: Sequence[tuple[str, str, float | None]] = ()) -> str:
        """Prometheus text exposition; `gauges` are (name, help, value) read at scrape time
        (a None value is left out: e.g. the backlog when the database does not answer)."""
        with self._lock:
            requests = sorted(self._requests.items())
            latency = sorted((k, list(v)) for k, v in self._latency.items())
            errors = sorted(self._slack_errors.items())
        out: list[str] = [
            "# HELP cxbot_http_requests_total HTTP requests served, by route, method and status.",
            "# TYPE cxbot_http_requests_total counter",
        ]
        names = ("route", "method", "status")
        out += [f"cxbot_http_requests_total{_labels(names, k)} {n}" for k, n in requests]
        out += [
            "# HELP cxbot_http_request_duration_seconds Time to answer an HTTP request.",
            "# TYPE cxbot_http_request_duration_seconds histogram",
        ]
        for route, row in latency:
            for bound, n in zip(self.buckets, row, strict=False):
                labels = _labels(("route", "le"), (route, _number(bound)))
                out.append(f"cxbot_http_request_duration_seconds_bucket{labels} {_number(n)}")
            labels = _labels(("route", "le"), (route, "+Inf"))
            out.append(f"cxbot_http_request_duration_seconds_bucket{labels} {_number(row[-1])}")
            route_label = _labels(("route",), (route,))
            out.append(f"cxbot_http_request_duration_seconds_sum{route_label} {row[-2]!r}")
            out.append(f"cxbot_http_request_duration_seconds_count{route_label} {_number(row[-1])}")
        out += [
            "# HELP cxbot_slack_api_errors_total Slack Web API calls that failed, by method "
            "and error.",
            "# TYPE cxbot_slack_api_errors_total counter",
        ]
        out += [
            f"cxbot_slack_api_errors_total{_labels(('method', 'error'), k)} {n}" for k, n in errors
        ]
        for name, help_text, value in gauges:
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
            if value is not None:
                out.append(f"{name} {_number(value)}")
        out += [
            "# HELP cxbot_process_start_time_seconds When this process started (Unix time).",
            "# TYPE cxbot_process_start_time_seconds gauge",
            f"cxbot_process_start_time_seconds {self.started!r}",
        ]
        return "\n".join(out) + "\n"


METRICS = Metrics()

Gauge = tuple[str, str, float | None]
OUTBOX_WAIT_GAUGE = "cxbot_outbox_oldest_due_seconds"


def outbox_wait_seconds(engine: Engine, *, now: datetime) -> float:
    """How long the longest-waiting due outbox message has waited (0 when none is due)."""
    return oldest_due_age(engine, now=now) or 0.0


def outbox_wait_gauge(engine: Engine, now: datetime) -> Gauge:
    """The `/metrics` gauge of `outbox_wait_seconds`; no sample when the database does not
    answer (`cxbot_database_up` says so), rather than a 0 that looks healthy."""
    try:
        value: float | None = outbox_wait_seconds(engine, now=now)
    except Exception as exc:
        log.warning("metrics: no outbox wait, the database does not answer: %s", exc)
        value = None
    return (
        OUTBOX_WAIT_GAUGE,
        "Seconds the oldest due outbox message has waited to be sent (0: none waiting; "
        "messages held by Slack's Retry-After or a schedule are not due).",
        value,
    )


# --------------------------------------------------------------------------- Slack errors


def _record_slack_failure(method: str, exc: BaseException, metrics: Metrics) -> None:
    if isinstance(exc, SlackApiError):
        response = exc.response
        error = response.get("error") if isinstance(response.data, dict) else None
        metrics.slack_error(method, str(error or f"http_{response.status_code}"))
    else:
        metrics.slack_error(method, type(exc).__name__)


class ObservedClient(WebClient):
    """A WebClient that counts every failed call in `METRICS` (then raises as before)."""

    metrics: Metrics = METRICS

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        try:
            return super().api_call(api_method, **kwargs)
        except Exception as exc:
            _record_slack_failure(api_method, exc, self.metrics)
            raise


def observed_copy(client: WebClient) -> ObservedClient:
    """The same client (token, URL, retries), counting its errors."""
    return ObservedClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        headers=client.headers,
        team_id=getattr(client, "team_id", None),
        logger=client.logger,
        retry_handlers=list(client.retry_handlers) if client.retry_handlers else None,
    )


def observe_slack_errors(app: Any) -> None:
    """Bolt builds a plain WebClient per request: swap in a counting one (same token)."""

    @app.middleware
    def count_slack_errors(context: Any, next: Callable[[], Any]) -> Any:
        client = context.get("client")
        if client is not None and not isinstance(client, ObservedClient):
            context["client"] = observed_copy(client)
        return next()


def route_label(path: str, known: Sequence[str]) -> str:
    """A bounded label for a path: the route itself when known, else `other`."""
    path = path.rstrip("/") or "/"
    return path if path in known else "other"


def instance_name() -> str:
    return f"{os.uname().nodename}:{os.getpid()}"
