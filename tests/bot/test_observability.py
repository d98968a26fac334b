"""Operations: JSON logs with request ids, /metrics in Prometheus text, /healthz with the
outbox backlog and a 503 when the database does not answer."""

from __future__ import annotations

import http.client
import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from slack_bolt import App
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Engine

from bot import observability
from bot.clients import web_client
from bot.localslack import LocalSlack
from bot.priority import AckFirst, ListenerExecutor
from bot.services import Services
from bot.settings import Settings, SettingsError
from bot.web import WebApp
from storage import outbox
from storage.db import make_engine
from tests.bot.conftest import RunningServer, make_settings, serve_wsgi
from tests.bot.slackkit import SlackKit, get
from tests.conftest import FakeClock


@contextmanager
def json_log(logger_name: str) -> Iterator[io.StringIO]:
    """What `logger_name` logs while inside, as JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(observability.JsonFormatter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def request(
    url: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, str, dict[str, str]]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode(), {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def sample(metrics: str, name: str, **labels: str) -> float | None:
    """The value of one sample of the exposition text (None when absent)."""
    for line in metrics.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head == name and not labels:
            return float(value)
        if head.startswith(name + "{"):
            found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', head))
            if found == labels:
                return float(value)
    return None


def test_json_formatter_carries_the_request_id_and_extras() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(observability.JsonFormatter())
    logger = logging.getLogger("cxbot.test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        with observability.request_context("req-123"):
            logger.info("stored %d answers", 3, extra={"team": "T0A"})
        try:
            raise ValueError("broken")
        except ValueError:
            logger.exception("it failed")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "stored 3 answers"
    assert first["request_id"] == "req-123"
    assert first["team"] == "T0A"
    assert first["level"] == "INFO" and first["logger"] == "cxbot.test.json"
    assert first["time"].endswith("+00:00")
    assert "request_id" not in second  # outside the request
    assert "ValueError: broken" in second["exception"]


def test_request_ids_are_kept_or_made() -> None:
    assert observability.clean_request_id("abc-123") == "abc-123"
    made = observability.clean_request_id("bad id\nwith newline")
    assert re.fullmatch(r"[0-9a-f]{16}", made)
    assert observability.clean_request_id("x" * 500) != "x" * 500


def test_metrics_render_prometheus_text() -> None:
    m = observability.Metrics(buckets=(0.1, 1.0))
    m.observe_request("/healthz", "GET", 200, 0.05)
    m.observe_request("/healthz", "GET", 200, 0.5)
    m.observe_request("/healthz", "GET", 503, 2.0)
    m.slack_error("chat.postMessage", 'chan"nel')
    text = m.render([("cxbot_outbox_backlog", "queued", 7), ("cxbot_missing", "absent", None)])
    assert "# TYPE cxbot_http_requests_total counter" in text
    assert (
        sample(text, "cxbot_http_requests_total", route="/healthz", method="GET", status="200") == 2
    )
    assert (
        sample(text, "cxbot_http_request_duration_seconds_bucket", route="/healthz", le="0.1") == 1
    )
    assert (
        sample(text, "cxbot_http_request_duration_seconds_bucket", route="/healthz", le="1.0") == 2
    )
    assert (
        sample(text, "cxbot_http_request_duration_seconds_bucket", route="/healthz", le="+Inf") == 3
    )
    assert sample(text, "cxbot_http_request_duration_seconds_count", route="/healthz") == 3
    assert sample(
        text, "cxbot_http_request_duration_seconds_sum", route="/healthz"
    ) == pytest.approx(2.55)
    assert 'error="chan\\"nel"' in text  # label values are escaped
    assert sample(text, "cxbot_outbox_backlog") == 7
    assert "# TYPE cxbot_missing gauge" in text and sample(text, "cxbot_missing") is None
    assert text.endswith("\n")


def test_server_reports_requests_backlog_and_slack_errors(
    server: RunningServer, slack: SlackKit, bot_settings: Settings, localslack: LocalSlack
) -> None:
    assert server.services is not None
    metrics = observability.Metrics()
    app = server.app
    app.metrics = metrics  # this test's own counts, not the process-wide ones
    status, _, headers = request(server.url, "/healthz", {"X-Request-Id": "lb-42"})
    assert status == 200 and headers["x-request-id"] == "lb-42"
    status, _, headers = request(server.url, "/nowhere")
    assert status == 404 and re.fullmatch(r"[0-9a-f]{16}", headers["x-request-id"])
    assert slack.command("/cx", "help").status == 200

    with server.services.engine.begin() as conn:
        for n in range(3):
            outbox.enqueue(
                conn,
                team_id="T0CXLOCAL",
                key=f"test:{n}",
                method="chat.postMessage",
                payload={"channel": "C0NOPE", "text": "x"},
                not_before=server.services.clock() + timedelta(days=1),
            )
    with pytest.raises(SlackApiError):
        web_client(bot_settings).chat_postMessage(channel="C0NOPE", text="hello")

    status, text, headers = request(server.url, "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    assert (
        sample(text, "cxbot_http_requests_total", route="/healthz", method="GET", status="200") == 1
    )
    assert sample(text, "cxbot_http_requests_total", route="other", method="GET", status="404") == 1
    assert (
        sample(
            text, "cxbot_http_requests_total", route="/slack/events", method="POST", status="200"
        )
        == 1
    )
    assert sample(text, "cxbot_http_request_duration_seconds_count", route="/slack/events") == 1
    assert sample(text, "cxbot_outbox_backlog") == 3
    assert sample(text, "cxbot_database_up") == 1
    # The process-wide Slack error counter saw the refused post.
    whole = observability.METRICS.render()
    assert (
        sample(
            whole,
            "cxbot_slack_api_errors_total",
            method="chat.postMessage",
            error="channel_not_found",
        )
        or 0
    ) >= 1

    status, body = get(server.url + "/healthz")
    # Queued for tomorrow: a backlog, but nothing is due, so nothing is late.
    assert sample(text, "cxbot_outbox_oldest_due_seconds") == 0
    assert status == 200 and json.loads(body) == {
        "status": "ok",
        "outbox_backlog": 3,
        "outbox_oldest_due_seconds": 0,
        "outbox": "moving",
    }


def test_healthz_fails_and_logs_with_the_request_id_when_the_database_is_down(
    bolt_app: App, bot_settings: Settings, sqlite_engine: Engine
) -> None:
    dead = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    services = Services(settings=bot_settings, engine=dead)
    app = WebApp(services, bolt_app, metrics=observability.Metrics())
    try:
        with json_log("cxbot.web") as stream, serve_wsgi(app) as running:
            status, body, headers = request(running.url, "/healthz", {"X-Request-Id": "probe-7"})
            m_status, metrics_text, _ = request(running.url, "/metrics")
    finally:
        dead.dispose()
    assert status == 503 and json.loads(body)["status"] == "unavailable"
    assert headers["x-request-id"] == "probe-7"
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    health = [line for line in lines if "health check" in line["message"]]
    assert health and health[0]["request_id"] == "probe-7" and health[0]["level"] == "WARNING"
    assert m_status == 200
    assert sample(metrics_text, "cxbot_database_up") == 0
    assert sample(metrics_text, "cxbot_outbox_backlog") is None
    assert sample(metrics_text, "cxbot_outbox_oldest_due_seconds") is None


def test_configure_logging_only_touches_console_handlers() -> None:
    root = logging.getLogger()
    console = logging.StreamHandler(io.StringIO())
    other = logging.FileHandler("/dev/null")
    root.addHandler(console)
    root.addHandler(other)
    try:
        observability.configure_logging("json")
        assert isinstance(console.formatter, observability.JsonFormatter)
        assert not isinstance(other.formatter, observability.JsonFormatter)
        observability.configure_logging("text")
        assert not isinstance(console.formatter, observability.JsonFormatter)
    finally:
        root.removeHandler(console)
        root.removeHandler(other)
        other.close()


def test_healthz_is_degraded_while_a_due_message_waits_too_long(
    services: Services, bolt_app: App, localslack: LocalSlack, clock: FakeClock
) -> None:
    settings = make_settings(
        localslack, str(services.engine.url), cxbot_health_max_backlog_seconds=120
    )
    # No dispatcher runs here: this is the stuck instance a monitor must notice.
    stuck = Services(settings=settings, engine=services.engine, clock=clock)
    engine = services.engine
    with engine.begin() as conn:
        for key, at in (
            ("test:due", clock() - timedelta(seconds=100)),
            ("test:limited", clock() - timedelta(hours=2)),
            ("test:tomorrow", clock() + timedelta(days=1)),
        ):
            outbox.enqueue(
                conn,
                team_id="T0CXLOCAL",
                key=key,
                method="chat.postMessage",
                payload={"channel": "C0GENERAL", "text": key},
                not_before=at,
            )
    # Slack answered the oldest with 429 and Retry-After: it waits for Slack, and is not due.
    limited = outbox.claim_due(engine, now=clock(), limit=1)
    assert [m.key for m in limited] == ["test:limited"]
    outbox.mark_retry(
        engine,
        limited[0].id,
        at=clock() + timedelta(minutes=10),
        error="ratelimited (600s)",
        maybe_sent=False,
        counts=False,
    )
    app = WebApp(stuck, bolt_app, metrics=observability.Metrics())
    with json_log("cxbot.web") as stream, serve_wsgi(app) as running:
        status, body, _ = request(running.url, "/healthz")
        assert status == 200, body
        assert json.loads(body) == {
            "status": "ok",
            "outbox_backlog": 3,
            "outbox_oldest_due_seconds": 100,
            "outbox": "moving",
        }

        clock.advance(seconds=30)
        status, body, _ = request(running.url, "/healthz", {"X-Request-Id": "lb-9"})
        _, metrics_text, _ = request(running.url, "/metrics")
        # The instance can still serve (a load balancer keeps it); the body says why
        # the system is unwell, and the strict check fails for status-only monitors.
        assert status == 200
        strict, strict_body, _ = request(running.url, "/healthz?strict=1")
        assert strict == 503 and json.loads(strict_body)["status"] == "degraded"
        reply = json.loads(body)
        assert reply["status"] == "ok" and reply["outbox"] == "stuck"
        assert reply["outbox_oldest_due_seconds"] == 130 and reply["outbox_backlog"] == 3
        assert "waited 130 s" in reply["message"]
        assert "CXBOT_HEALTH_MAX_BACKLOG_SECONDS=120" in reply["message"]
        assert sample(metrics_text, "cxbot_outbox_oldest_due_seconds") == 130
        assert sample(metrics_text, "cxbot_database_up") == 1

        # A dispatcher sends it: healthy again, though the rate-limited one still waits.
        due = outbox.claim_due(engine, now=clock(), limit=10)
        assert [m.key for m in due] == ["test:due"]
        outbox.mark_sent(engine, due[0].id, now=clock(), channel="C0GENERAL", ts="1.1")
        status, body, _ = request(running.url, "/healthz")
        assert status == 200 and json.loads(body)["outbox_oldest_due_seconds"] == 0
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    degraded = [line for line in lines if "waited 130 s" in line["message"]]
    assert degraded and degraded[0]["request_id"] == "lb-9"


def test_the_health_limit_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, localslack: LocalSlack, sqlite_url: str
) -> None:
    assert make_settings(localslack, sqlite_url).cxbot_health_max_backlog_seconds == 300
    monkeypatch.setenv("CXBOT_HEALTH_MAX_BACKLOG_SECONDS", "45")
    assert make_settings(localslack, sqlite_url).cxbot_health_max_backlog_seconds == 45
    monkeypatch.setenv("CXBOT_HEALTH_MAX_BACKLOG_SECONDS", "0")
    with pytest.raises(SettingsError, match=r"^CXBOT_HEALTH_MAX_BACKLOG_SECONDS: "):
        make_settings(localslack, sqlite_url)


def _json_lines(logger_name: str) -> tuple[logging.Logger, logging.Handler, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(observability.JsonFormatter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, handler, stream


def test_listener_pool_runs_work_in_the_request_context() -> None:
    logger, handler, stream = _json_lines("cxbot.test.pool")
    priority = AckFirst(max_wait=0.5, quiet=0.0)
    pool = ListenerExecutor(2, priority)
    try:
        with observability.request_context("req-pool"), priority.request():
            # Before the ack: the listener itself; after it: work that waits for other acks.
            before = pool.submit(logger.info, "before the ack")
            priority.acked()
            assert priority.deferrable()
            after = pool.submit(logger.info, "after the ack")
        before.result(5)
        after.result(5)
        outside = pool.submit(logger.info, "no request")
        outside.result(5)
    finally:
        pool.shutdown(wait=True)
        logger.removeHandler(handler)
    lines = {line["message"]: line for line in map(json.loads, stream.getvalue().splitlines())}
    assert lines["before the ack"]["request_id"] == "req-pool"
    assert lines["after the ack"]["request_id"] == "req-pool"
    assert lines["before the ack"]["thread"].startswith("cxbot-listener")
    assert "request_id" not in lines["no request"]


def test_a_listeners_log_lines_carry_the_request_id(
    server: RunningServer, slack: SlackKit, bolt_app: App
) -> None:
    logger, handler, stream = _json_lines("cxbot.test.listener")

    @bolt_app.command("/probe")
    def probe(ack: Any, command: dict[str, Any]) -> None:
        ack()
        logger.info("probe listener ran", extra={"text": command["text"]})

    try:
        r = slack.command("/probe", "one", headers={"X-Request-Id": "probe-req-1"})
        echoed = {k.lower(): v for k, v in r.headers.items()}
        assert r.status == 200 and echoed["x-request-id"] == "probe-req-1"
        r = slack.command("/probe", "two", headers={"X-Request-Id": "probe-req-2"})
        assert r.status == 200

        def both() -> list[dict[str, Any]]:
            found = [json.loads(line) for line in stream.getvalue().splitlines()]
            return found if len(found) == 2 else []

        lines = slack.localslack.wait_for(both)
    finally:
        logger.removeHandler(handler)
    assert {(line["text"], line["request_id"]) for line in lines} == {
        ("one", "probe-req-1"),
        ("two", "probe-req-2"),
    }
    assert all(line["thread"] != "MainThread" for line in lines)


def test_alert_sla_states_are_counted_at_scrape_time(engine: Engine) -> None:
    from sqlalchemy import update

    from storage import alerts, settings_store
    from storage.models import Alert
    from tests.storage.alerts_kit import store_answers

    team = "T0SLA"
    raised = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    settings_store.set(engine, team_id=team, key="alerts.channel", value="C0ALERTS")
    batch = store_answers(engine, team, [(raised.date(), "nps", s) for s in (0, 1, 2)])
    with engine.begin() as conn:
        assert alerts.raise_for_batch(conn, team_id=team, batch_id=batch, now=raised) == 3
        table = Alert.__table__  # type: ignore[attr-defined]
        first = conn.execute(table.select().order_by(table.c.id)).first()
        assert first is not None
        conn.execute(update(table).where(table.c.id == first.id).values(status="claimed"))
    metrics = observability.Metrics()
    # Before the 24-hour target: all on time; after it: all overdue.
    for now, sla in (
        (raised + timedelta(hours=1), "on_time"),
        (raised + timedelta(days=2), "overdue"),
    ):
        text = metrics.render([observability.alert_sla_gauge(engine, now)])
        assert "# TYPE cxbot_alerts_open gauge" in text
        assert sample(text, "cxbot_alerts_open", sla=sla, status="open") == 2
        assert sample(text, "cxbot_alerts_open", sla=sla, status="claimed") == 1
        other = "overdue" if sla == "on_time" else "on_time"
        assert sample(text, "cxbot_alerts_open", sla=other, status="open") == 0
    dead = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    try:
        name, _, value = observability.alert_sla_gauge(dead, raised)
    finally:
        dead.dispose()
    assert name == "cxbot_alerts_open" and value is None


def test_json_lines_keep_non_json_extras_readable() -> None:
    record = logging.LogRecord("cxbot.x", logging.INFO, __file__, 1, "at %s", ("noon",), None)
    record.when = datetime(2026, 5, 17, 12, tzinfo=UTC)
    record.team = "T0A"
    line = json.loads(observability.JsonFormatter().format(record))
    assert list(line)[:2] == ["time", "level"]
    assert line["message"] == "at noon" and line["team"] == "T0A"
    assert line["when"].startswith("2026-05-17")


def test_the_grafana_dashboard_queries_metrics_the_server_exposes(server: RunningServer) -> None:
    from pathlib import Path

    dashboard = json.loads(
        (Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json").read_text()
    )
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bcxbot_[a-z_]+", target["expr"])
    }
    metrics = observability.Metrics()
    server.app.metrics = metrics
    metrics.slack_error("chat.postMessage", "ratelimited")  # a labelled counter shows once used
    request(server.url, "/healthz")
    status, text, _ = request(server.url, "/metrics")
    exposed = {
        line.split("{", 1)[0].split(" ", 1)[0] for line in text.splitlines() if line[:1] != "#"
    }
    assert status == 200 and len(queried) >= 8
    assert queried <= exposed, f"not exposed: {sorted(queried - exposed)}"
