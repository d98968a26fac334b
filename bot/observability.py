"""What operators see: JSON log lines carrying a request id, and Prometheus metrics.

- `JsonFormatter` (python-json-logger) writes one JSON object per log record, with the
  id of the HTTP request being served (`request_id`, from the proxy's `X-Request-Id` or
  made up here) so every line a request caused can be found together.
  `configure_logging` puts it on the process's console handlers.
- `METRICS` (prometheus_client) counts HTTP requests by route, method and status, their
  latency (a histogram), Slack Web API errors by method and error code, and which
  process leads the scheduler. `GET /metrics` (bot/web.py) adds gauges read from the
  database at scrape time: the outbox backlog, how long its oldest due message has
  waited, and the open detractor alerts by status and SLA state.
- `ObservedClient` is the WebClient that counts Slack's errors; `observe_slack_errors`
  gives Bolt's per-request clients the same.

With several gunicorn workers the counts are shared through prometheus_client's
multiprocess mode: `cxbot serve` points PROMETHEUS_MULTIPROC_DIR at a fresh folder
(or empties the one it is given) before the workers start, each worker writes its
samples there, and whichever worker answers a scrape reads them all, so one scrape
sees the whole instance (bot/server.py drops a stopped worker's live gauges).
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy.engine import Engine

from storage import metrics_queries
from storage.outbox import oldest_due_age

log = logging.getLogger("cxbot.observability")

request_id_var: ContextVar[str | None] = ContextVar("cxbot_request_id", default=None)

REQUEST_ID_HEADER = "X-Request-Id"
# Seconds; Slack wants an ack within 3, the targets are well below 0.5.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The classic text format: what every Prometheus and Grafana Agent version reads.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# A `_created` series beside every counter doubles the scrape for nothing a dashboard uses.
disable_created_metrics()

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


class JsonFormatter(_LibraryJsonFormatter):
    """One JSON object per record: time (UTC), level, logger, message, process, thread,
    request id, anything passed in `extra=`, and the traceback of an exception."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s %(process)d %(threadName)s",
            rename_fields={
                "levelname": "level",
                "name": "logger",
                "threadName": "thread",
                "exc_info": "exception",
            },
            json_ensure_ascii=False,
            json_default=str,
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        # The time first, so a line reads left to right as when, how bad, who, what.
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(
            timespec="milliseconds"
        )
        super().add_fields(log_data, record, message_dict)
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            log_data["request_id"] = request_id


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

# A scrape-time gauge: (name, help, value); a mapping value gives one sample per label set,
# a None value no sample (e.g. the backlog when the database does not answer).
Labels = tuple[tuple[str, str], ...]
Gauge_ = tuple[str, str, float | Mapping[Labels, float] | None]


def multiprocess_dir() -> Path | None:
    folder = os.environ.get(MULTIPROC_ENV)
    return Path(folder) if folder else None


def worker_gone(pid: int) -> None:
    """gunicorn's child_exit: a stopped worker's live gauges (leader, workers) leave the sum."""
    if multiprocess_dir() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


class _Scraped:
    """A collector of gauges whose values were read for this one scrape."""

    def __init__(self, gauges: Sequence[Gauge_]) -> None:
        self.gauges = gauges

    def collect(self) -> Iterator[Metric]:
        for name, help_text, value in self.gauges:
            if isinstance(value, Mapping):
                names = [k for k, _ in next(iter(value))] if value else []
                family = GaugeMetricFamily(name, help_text, labels=names)
                for labels, number in sorted(value.items()):
                    family.add_metric([v for _, v in labels], number)
            else:
                family = GaugeMetricFamily(name, help_text)
                if value is not None:
                    family.add_metric([], value)
            yield family


class Metrics:
    """The process's counters, latency histogram and live gauges, on prometheus_client.

    `multiprocess` (default: whether PROMETHEUS_MULTIPROC_DIR is set) makes `render` read
    every worker's samples from the shared folder rather than this process's own.
    """

    def __init__(
        self, buckets: Sequence[float] = LATENCY_BUCKETS, *, multiprocess: bool | None = None
    ) -> None:
        self.buckets = tuple(buckets)
        self.multiprocess = multiprocess_dir() is not None if multiprocess is None else multiprocess
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "cxbot_http_requests",
            "HTTP requests served, by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "cxbot_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["route"],
            buckets=self.buckets,
            registry=self.registry,
        )
        self._slack_errors = Counter(
            "cxbot_slack_api_errors",
            "Slack Web API calls that failed, by method and error code.",
            ["method", "error"],
            registry=self.registry,
        )
        # "live" modes: a worker that stopped no longer counts (see worker_gone).
        self.leader = Gauge(
            "cxbot_scheduler_leader",
            "1 when a process of this instance runs the scheduled sweeps.",
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self._workers = Gauge(
            "cxbot_workers",
            "Server processes of this instance that are running.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self._started = Gauge(
            "cxbot_process_start_time_seconds",
            "When the oldest running process of this instance started (Unix time).",
            registry=self.registry,
            multiprocess_mode="livemin",
        )
        self.started = time.time()
        self._workers.set(1)
        self._started.set(self.started)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self._requests.labels(route, method, str(status)).inc()
        self._latency.labels(route).observe(seconds)

    def slack_error(self, method: str, error: str) -> None:
        self._slack_errors.labels(method, error).inc()

    def set_leader(self, leads: bool) -> None:
        self.leader.set(1 if leads else 0)

    def render(self, gauges: Sequence[Gauge_] = ()) -> str:
        """Prometheus text exposition: every worker's samples (multiprocess) or this
        process's, then `gauges` read at scrape time."""
        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            text = generate_latest(registry)
        else:
            text = generate_latest(self.registry)
        scraped = CollectorRegistry(auto_describe=False)
        scraped.register(_Scraped(gauges))
        return (text + generate_latest(scraped)).decode()


METRICS = Metrics()

OUTBOX_WAIT_GAUGE = "cxbot_outbox_oldest_due_seconds"


def outbox_wait_seconds(engine: Engine, *, now: datetime) -> float:
    """How long the longest-waiting due outbox message has waited (0 when none is due)."""
    return oldest_due_age(engine, now=now) or 0.0


def outbox_wait_gauge(engine: Engine, now: datetime) -> Gauge_:
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


def alert_sla_gauge(engine: Engine, now: datetime) -> Gauge_:
    """Unresolved detractor alerts across workspaces by status and SLA state (overdue: past
    their follow-up target at `now`); no samples when the database does not answer."""
    value: dict[Labels, float] | None
    try:
        found = metrics_queries.open_alert_states(engine, now=now)
    except Exception as exc:
        log.warning("metrics: no alert states, the database does not answer: %s", exc)
        value = None
    else:
        value = {
            (("status", status), ("sla", sla)): float(found.get((status, sla), 0))
            for status in metrics_queries.UNRESOLVED_ALERTS
            for sla in metrics_queries.SLA_STATES
        }
    return (
        "cxbot_alerts_open",
        "Detractor alerts not yet resolved, by status (open, claimed) and SLA state "
        "(on_time, overdue: past the follow-up target).",
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
