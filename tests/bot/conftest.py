"""The bot test kit: a local Slack, settings pointing at it, the real Bolt app and HTTP server.

    def test_help(slack, localslack):            # slack: a SlackKit aimed at `server`
        r = slack.command("/cx", "help")
        assert r.status == 200
        reply = slack.wait_reply(r)

Fixtures: `localslack` (a started LocalSlack.demo without rate limits), `bot_settings`,
`services` (FakeClock `clock`), `bolt_app`, `server` (the real WSGI app on a free port:
`.url`, `.app`, `.services`), `slack` (SlackKit). See tests/bot/slackkit.py for requests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import App

from bot.i18n import forget_user_locale
from bot.localslack import LocalSlack
from bot.services import Services
from bot.settings import Settings, load_settings
from core.analyzer import OfflineAnalyzer, OpenAIAnalyzer, make_analyzer
from storage import outbox, settings_store
from storage.db import make_engine
from tests.bot.slackkit import SlackKit
from tests.conftest import FakeClock, TickingClock

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
WEBHOOK_SECRET = "test-webhook-secret-0123456789abcdef"


def make_settings(localslack: LocalSlack, database_url: str, **overrides: Any) -> Settings:
    """Settings for a bot talking to `localslack`; nothing is read from the environment or
    a .env file (a developer's real tokens must not leak into tests)."""
    values: dict[str, Any] = {
        "slack_api_url": localslack.base_url,
        "slack_bot_token": localslack.bot_token,
        "slack_app_token": None,
        "slack_signing_secret": SIGNING_SECRET,
        "cxbot_webhook_secret": WEBHOOK_SECRET,
        "database_url": database_url,
        "cxbot_timezone": "Europe/Oslo",
        "cxbot_locale": "en",
        "cxbot_admins": None,
        "openai_api_key": None,
        "openai_base_url": None,
        "openai_model": None,
        "_env_file": None,
    }
    values.update(overrides)
    return load_settings(**values)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


@dataclass
class RunningServer:
    url: str
    app: Any
    services: Services | None


@contextmanager
def serve_wsgi(app: Any) -> Iterator[RunningServer]:
    """Serve a WSGI app on 127.0.0.1 (a free port) in a background thread."""
    httpd = make_server(
        "127.0.0.1", 0, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        host, port = httpd.server_address[:2]
        yield RunningServer(f"http://{host!s}:{port}", app, getattr(app, "services", None))
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "real_time: the services clock moves with real time (a TickingClock)"
    )


@pytest.fixture
def clock(clock: FakeClock, request: pytest.FixtureRequest) -> FakeClock:
    # A module whose background outbox dispatcher runs on the services clock opts in with
    # `pytestmark = pytest.mark.real_time`: its clock must keep moving.
    return TickingClock() if request.node.get_closest_marker("real_time") else clock


@pytest.fixture
def localslack() -> Iterator[LocalSlack]:
    # Each test's LocalSlack is new: locales cached from an earlier one must not leak in.
    forget_user_locale()
    slack = LocalSlack.demo(rate_limits=False).start()
    try:
        yield slack
    finally:
        slack.stop()


@pytest.fixture
def bot_settings(localslack: LocalSlack, sqlite_url: str) -> Settings:
    return make_settings(localslack, sqlite_url)


def model_analyzer(url: str, *, timeout: float = 6.0, max_retries: int = 0) -> OpenAIAnalyzer:
    """An OpenAIAnalyzer aimed at a test model server (tests/openai_server.py), falling back
    to the offline one, as make_analyzer builds it but with a tighter time-out."""
    return OpenAIAnalyzer(
        api_key="sk-test",
        base_url=url,
        model="test-model",
        timeout=timeout,
        max_retries=max_retries,
        fallback=OfflineAnalyzer(),
    )


@contextmanager
def open_services(settings: Settings, clock: FakeClock, analyzer: Any = None) -> Iterator[Services]:
    """Services on `settings`' database; the analyzer is the one the settings make unless given."""
    engine = make_engine(settings.database_url)
    try:
        if analyzer is None:
            analyzer = make_analyzer(
                settings.openai_api_key, settings.openai_base_url, settings.openai_model
            )
        services = Services(settings=settings, engine=engine, clock=clock, analyzer=analyzer)
        try:
            yield services
        finally:
            # No pool of this test's bot may still call Slack in the next test.
            services.close_states()
    finally:
        engine.dispose()


@pytest.fixture
def services(bot_settings: Settings, clock: FakeClock) -> Iterator[Services]:
    with open_services(bot_settings, clock) as opened:
        yield opened


@pytest.fixture
def bolt_app(bot_settings: Settings, services: Services) -> App:
    from bot.app import create_app

    return create_app(bot_settings, services)


@pytest.fixture
def server(services: Services, bolt_app: App) -> Iterator[RunningServer]:
    from bot.background import start_background, stop_background
    from bot.web import WebApp

    start_background(services)
    try:
        with serve_wsgi(WebApp(services, bolt_app)) as running:
            yield running
    finally:
        stop_background(services)


@pytest.fixture
def slack(server: RunningServer, localslack: LocalSlack) -> SlackKit:
    return SlackKit(server.url, SIGNING_SECRET, localslack, webhook_secret=WEBHOOK_SECRET)


def configure_team(services: Services, team_id: str, values: dict[str, str]) -> Services:
    """Store workspace settings, as /cx config would."""
    for key, value in values.items():
        settings_store.set(services.engine, team_id=team_id, key=key, value=value)
    return services


def enqueue_post(engine: Any, team: str, clock: FakeClock, key: str, **given: str) -> None:
    """Queue one message due now: chat.postMessage to C0ALERTS with the key as its text,
    unless `given` says otherwise (channel=, text=, method=)."""
    method = given.pop("method", "chat.postMessage")
    payload = {"channel": "C0ALERTS", "text": key, **given}
    with engine.begin() as conn:
        outbox.enqueue(
            conn, team_id=team, key=key, method=method, payload=payload, not_before=clock()
        )


def enqueue_posts(engine: Any, team: str, clock: FakeClock, keys: list[str]) -> None:
    """Queue one due chat.postMessage to C0ALERTS per key, its text the key."""
    for key in keys:
        enqueue_post(engine, team, clock, key)
