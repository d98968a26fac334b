"""The Bolt runtime over real HTTP: signatures, event retries, context, errors, ack timing."""

from __future__ import annotations

import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.app import create_app
from bot.clients import web_client
from bot.errors import UserError
from bot.localslack import LocalSlack
from bot.services import Services
from storage.events import claim
from storage.models import ProcessedEvent
from tests.bot.conftest import SIGNING_SECRET, make_settings, serve_wsgi
from tests.bot.slackkit import SlackKit, SlowSlack

ROOT = Path(__file__).resolve().parents[2]
ERROR_ID = re.compile(r"\(error id ([0-9a-f]{8})\)")
FEIL_ID = re.compile(r"\(feil-ID ([0-9a-f]{8})\)")


def manifest() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8")))


def manifest_commands() -> list[str]:
    return [c["command"] for c in manifest()["features"]["slash_commands"]]


# ---------------------------------------------------------------------- signatures


def test_unsigned_request_is_refused(slack: SlackKit) -> None:
    r = slack.send("command=%2Fcx&text=help", signed=False)
    assert r.status == 401


def test_wrong_signature_is_refused(slack: SlackKit) -> None:
    r = slack.send(
        "command=%2Fcx&text=help",
        signed=False,
        headers={
            "X-Slack-Request-Timestamp": str(int(time.time())),
            "X-Slack-Signature": "v0=" + "0" * 64,
        },
    )
    assert r.status == 401
    # Signed with another secret: also refused.
    other = SlackKit(slack.server_url, "not-the-secret", slack.localslack)
    assert other.command("/cx", "help").status == 401


def test_signature_older_than_five_minutes_is_refused(slack: SlackKit) -> None:
    stale = int(time.time()) - 5 * 60 - 30
    assert slack.command("/cx", "help", ts=stale).status == 401
    # A body altered after signing does not pass either.
    body = "command=%2Fcx&text=help"
    headers = slack.sign(body)
    r = slack.send(body + "x", signed=False, headers=headers)
    assert r.status == 401


def test_good_signature_is_answered(slack: SlackKit) -> None:
    r = slack.command("/cx", "help")
    assert r.status == 200
    reply = slack.wait_reply(r)
    assert "/insight" in reply["text"]


# ---------------------------------------------------------------------- events


def test_event_retry_is_processed_once(slack: SlackKit, bolt_app: App, services: Services) -> None:
    seen: list[str] = []
    done = threading.Event()

    @bolt_app.event("reaction_added")
    def count_reactions(event: dict[str, Any]) -> None:
        seen.append(event["reaction"])
        done.set()

    event = {"type": "reaction_added", "user": "U0ADA", "reaction": "tada", "item": {}}
    first = slack.event(event, event_id="Ev0RETRY01")
    assert first.status == 200
    assert done.wait(5)
    retry = slack.event(event, event_id="Ev0RETRY01", retry_num=1)
    assert retry.status == 200
    # A later, different event is processed: so the retry had its chance and was dropped.
    done.clear()
    assert slack.event({**event, "reaction": "heart"}, event_id="Ev0RETRY02").status == 200
    assert done.wait(5)
    time.sleep(0.1)
    assert seen == ["tada", "heart"]
    with services.engine.connect() as conn:
        column = ProcessedEvent.__table__.c.event_id  # type: ignore[attr-defined]
        ids = conn.execute(select(column).order_by(column))
        assert [row[0] for row in ids] == ["Ev0RETRY01", "Ev0RETRY02"]


def test_retry_of_a_delivery_still_running_is_dropped(slack: SlackKit, bolt_app: App) -> None:
    started, release = threading.Event(), threading.Event()
    runs: list[int] = []

    @bolt_app.event("reaction_added")
    def slow_listener(event: dict[str, Any]) -> None:
        runs.append(1)
        started.set()
        release.wait(5)

    event = {"type": "reaction_added", "user": "U0ADA", "reaction": "hourglass", "item": {}}
    assert slack.event(event, event_id="Ev0SLOW0001").status == 200
    assert started.wait(5)
    for n in (1, 2, 3):
        r = slack.event(event, event_id="Ev0SLOW0001", retry_num=n)
        assert r.status == 200
        assert r.elapsed < 1.0
    release.set()
    time.sleep(0.1)
    assert runs == [1]


def test_unhandled_event_is_acknowledged(slack: SlackKit) -> None:
    # A 404 would make Slack retry, and in the end switch event delivery off.
    r = slack.event({"type": "member_left_channel", "user": "U0ADA", "channel": "C0GENERAL"})
    assert r.status == 200


def test_claiming_an_event_is_atomic(engine: Engine) -> None:
    assert claim(engine, team_id="T1", event_id="Ev1") is True
    assert claim(engine, team_id="T1", event_id="Ev1") is False
    # Many racing deliveries of one event: exactly one wins.
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: claim(engine, team_id="T1", event_id="Ev2"), range(16)))
    assert results.count(True) == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ProcessedEvent)).scalar() == 2


# ---------------------------------------------------------------------- context


def test_context_has_services_team_and_locale(
    slack: SlackKit, bolt_app: App, services: Services
) -> None:
    seen: dict[str, Any] = {}
    ran = threading.Event()

    @bolt_app.command("/probe")
    def probe(ack: Ack, context: BoltContext) -> None:
        ack()
        seen.update(services=context["services"], team=context["team_id"], locale=context["locale"])
        ran.set()

    assert slack.command("/probe", user="U0BJORN").status == 200
    assert ran.wait(5)
    assert seen == {"services": services, "team": "T0CXLOCAL", "locale": "nb"}
    ran.clear()
    assert slack.command("/probe", user="U0SVEA").status == 200
    assert ran.wait(5)
    assert seen["locale"] == "sv"


def test_every_feature_package_is_in_the_registry() -> None:
    import pkgutil

    import bot.handlers
    from bot.features import FEATURES

    packages = {m.name for m in pkgutil.iter_modules(bot.handlers.__path__)}
    assert "cx" in packages
    assert packages <= {feature.name for feature in FEATURES}


def test_unknown_command_gets_an_answer_not_dispatch_failed(slack: SlackKit) -> None:
    r = slack.command("/nothing-here", "x", user="U0BJORN")
    assert r.status == 200
    # Acknowledged at once; the answer follows through the response URL.
    reply = slack.wait_reply(r)
    assert reply["kind"] == "response"
    assert reply["response_type"] == "ephemeral"
    assert reply["text"] == (
        "/nothing-here er ikke tilgjengelig ennå. Skriv /cx help for å se hva du kan gjøre."
    )
    assert slack.block_action("no_such_button", "1").status == 200
    assert slack.view_submission("no_such_modal", {}).status == 200
    assert slack.shortcut("no_such_shortcut").status == 200


def test_client_retries_rate_limits_and_server_errors(bot_settings: Any) -> None:
    client = web_client(bot_settings)
    kinds = {type(h) for h in client.retry_handlers}
    assert {
        RateLimitErrorRetryHandler,
        ServerErrorRetryHandler,
        ConnectionErrorRetryHandler,
    } <= kinds
    assert client.base_url == bot_settings.slack_api_url


def test_client_gets_through_injected_faults(bot_settings: Any, localslack: LocalSlack) -> None:
    localslack.set_faults(0.5, statuses=(500,), methods=["auth.test"])
    client = web_client(bot_settings)
    for _ in range(3):
        assert client.auth_test()["team_id"] == "T0CXLOCAL"


# ---------------------------------------------------------------------- errors


def _boom() -> None:
    raise RuntimeError("database on fire")


def test_unexpected_error_before_ack_shows_an_error_id(
    slack: SlackKit, bolt_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    @bolt_app.command("/boom")
    def boom(ack: Ack) -> None:
        _boom()

    with caplog.at_level(logging.ERROR, logger="cxbot.errors"):
        r = slack.command("/boom", "secret text")
        assert r.status == 200
        reply = slack.wait_ephemeral(r)
    match = ERROR_ID.search(reply["text"])
    assert match, reply
    logged = [rec for rec in caplog.records if match.group(1) in rec.getMessage()]
    assert logged and logged[0].exc_info is not None
    assert "database on fire" in str(logged[0].exc_info[1])
    assert "secret text" not in logged[0].getMessage()  # what the user typed stays out


def test_unexpected_error_after_ack_reaches_the_user_in_their_language(
    slack: SlackKit, bolt_app: App
) -> None:
    @bolt_app.command("/boom")
    def boom(ack: Ack) -> None:
        ack()
        _boom()

    r = slack.command("/boom", user="U0BJORN")
    assert r.status == 200
    reply = slack.wait_ephemeral(r)
    assert FEIL_ID.search(reply["text"]), reply["text"]
    assert reply["text"].startswith("Noe gikk galt hos oss")


def test_user_error_is_shown_as_is_without_log_noise(
    slack: SlackKit, bolt_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    @bolt_app.command("/picky")
    def picky(ack: Ack) -> None:
        raise UserError(
            "{command} is not available yet. Type /cx help to see what you can do.",
            command="/picky",
        )

    with caplog.at_level(logging.WARNING):
        r = slack.command("/picky", user="U0FREJA")
        assert r.status == 200
        reply = slack.wait_ephemeral(r)
    assert reply["text"] == (
        "/picky er ikke tilgængelig endnu. Skriv /cx help for at se, hvad du kan gøre."
    )
    assert not [rec for rec in caplog.records if rec.levelno >= logging.WARNING]


def test_button_error_is_answered_through_the_response_url(slack: SlackKit, bolt_app: App) -> None:
    @bolt_app.action("explode")
    def explode(ack: Ack, respond: Respond) -> None:
        ack()
        _boom()

    r = slack.block_action("explode", "1", user="U0SVEA")
    assert r.status == 200
    reply = slack.wait_ephemeral(r)
    assert reply["text"].startswith("Något gick fel hos oss (fel-id ")


def test_commands_and_buttons_are_acked_before_their_listener_runs(
    slack: SlackKit, bolt_app: App
) -> None:
    release = threading.Event()

    @bolt_app.command("/slowpoke")
    def slowpoke(ack: Ack) -> None:
        release.wait(5)  # a listener stuck before its ack() (a busy pool looks the same)
        ack(text="finally")

    @bolt_app.action("slow_button")
    def slow_button(ack: Ack) -> None:
        release.wait(5)
        ack()

    r = slack.command("/slowpoke")
    b = slack.block_action("slow_button", "1")
    assert (r.status, b.status) == (200, 200)
    assert r.elapsed < 1.0 and b.elapsed < 1.0
    release.set()
    # The text the listener gave its ack() still reaches the user.
    assert slack.wait_ephemeral(r)["text"] == "finally"


def test_commands_and_buttons_are_acked_before_bolt_runs(
    slack: SlackKit, bolt_app: App, server: Any
) -> None:
    """The HTTP answer does not wait for Bolt's middleware (a slow locale lookup, a busy
    database) or its listener pool: a signed command or button is answered at once and
    handled afterwards, in full."""
    release = threading.Event()
    handled: list[str] = []

    @bolt_app.middleware
    def stuck(body: dict[str, Any], next: Any) -> Any:
        release.wait(5)
        return next()

    @bolt_app.command("/later")
    def later(ack: Ack) -> None:
        handled.append("command")
        ack(text="handled")

    @bolt_app.action("later_button")
    def later_button(ack: Ack) -> None:
        handled.append("button")
        ack()

    r = slack.command("/later")
    b = slack.block_action("later_button", "1")
    assert (r.status, b.status) == (200, 200)
    assert r.elapsed < 1.0 and b.elapsed < 1.0
    assert handled == []
    release.set()
    assert slack.wait_ephemeral(r)["text"] == "handled"
    slack.localslack.wait_for(lambda: len(handled) == 2)


def test_stopping_finishes_what_was_acknowledged(
    slack: SlackKit, bolt_app: App, server: Any
) -> None:
    release = threading.Event()

    @bolt_app.command("/late")
    def late(ack: Ack) -> None:
        release.wait(1)
        ack(text="still answered")

    r = slack.command("/late")
    assert r.status == 200
    release.set()
    server.app.close()  # what the server does on SIGTERM, before the worker exits
    # Nothing left to wait for: the reply is there when close() returns.
    replies = slack.replies(r)
    assert [x["text"] for x in replies if x["kind"] == "ephemeral"] == ["still answered"]


def test_modal_errors_keep_the_form(slack: SlackKit, bolt_app: App) -> None:
    @bolt_app.view("form_bad_input")
    def bad_input(ack: Ack) -> None:
        raise UserError("Something went wrong", block_id="customer")

    @bolt_app.view("form_crash")
    def crash(ack: Ack) -> None:
        _boom()

    r = slack.view_submission("form_bad_input", {})
    assert r.json() == {"response_action": "errors", "errors": {"customer": "Something went wrong"}}
    r = slack.view_submission("form_crash", {})
    body = r.json()
    # Pushed on top of the form, which keeps what was typed into it.
    assert body["response_action"] == "push"
    assert ERROR_ID.search(body["view"]["blocks"][0]["text"]["text"])


def test_event_listener_error_is_acked_and_logged(
    slack: SlackKit, bolt_app: App, caplog: pytest.LogCaptureFixture, localslack: LocalSlack
) -> None:
    @bolt_app.event("member_joined_channel")
    def joined(event: dict[str, Any]) -> None:
        _boom()

    with caplog.at_level(logging.ERROR, logger="cxbot.errors"):
        r = slack.event({"type": "member_joined_channel", "user": "U0ADA", "channel": "C0GENERAL"})
        assert r.status == 200
        eph = localslack.wait_for(lambda: localslack.ephemerals("U0ADA"))
    assert ERROR_ID.search(eph[0]["text"])
    assert any("event member_joined_channel" in rec.getMessage() for rec in caplog.records)


# ---------------------------------------------------------------------- ack timing


def test_every_command_and_button_is_acked_in_time_when_slack_is_slow(
    localslack: LocalSlack, sqlite_url: str, clock: Any
) -> None:
    # Any Web API call before the ack would make it take at least `delay`.
    delay = 1.5
    with SlowSlack(localslack.url, delay) as slow:
        settings = make_settings(localslack, sqlite_url, slack_api_url=slow.base_url)
        from storage.db import make_engine

        engine = make_engine(sqlite_url)
        services = Services(settings=settings, engine=engine, clock=clock)
        app = create_app(settings, services)
        from bot.web import WebApp

        with serve_wsgi(WebApp(services, app)) as server:
            kit = SlackKit(server.url, SIGNING_SECRET, localslack)
            results = [kit.command(c, "help", user="U0BJORN") for c in manifest_commands()]
            results.append(kit.block_action("any_button", "1"))
            for r in results:
                assert r.status == 200
                assert r.elapsed < delay, (r.sent, r.elapsed)
            # /cx help answers through the response URL once Slack is back.
            cx = results[manifest_commands().index("/cx")]
            help_text = kit.wait_reply(cx, timeout=10, where=lambda x: "/insight" in x["text"])
            assert help_text["kind"] in ("response", "ephemeral")
        engine.dispose()


# ---------------------------------------------------------------------- manifest


def test_manifest_describes_the_app() -> None:
    data = manifest()
    assert data["display_information"]["name"] == "cxbot"
    features = data["features"]
    assert features["bot_user"]["display_name"] == "cxbot"
    commands = {c["command"]: c for c in features["slash_commands"]}
    assert set(commands) == {"/insight", "/shoutout", "/pulse", "/cx"}
    for c in commands.values():
        # Every command gets mentions, channels and links as Slack's references
        # (<@U123|name>, <#C123|name>, <https://...>), decoded once by bot.text.
        assert c["should_escape"] is True
        assert c["url"] == "https://YOUR-HOST/slack/events"
        assert c["description"] and "usage_hint" in c
    shortcut = features["shortcuts"][0]
    assert (shortcut["type"], shortcut["callback_id"]) == ("message", "save_insight")
    assert features["app_home"]["home_tab_enabled"] is True
    settings = data["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_home_opened",
        "reaction_added",
        "reaction_removed",
        "message.im",
    }
    scopes = set(data["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "users:read", "files:write", "channels:history"} <= scopes
    assert "chat:write.public" not in scopes


# ---------------------------------------------------------------------- command line


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["serve"],
            {},
            "error: SLACK_SIGNING_SECRET is not set (needed to verify Slack's requests)",
        ),
        (
            ["serve"],
            {"SLACK_SIGNING_SECRET": "s"},
            "error: SLACK_BOT_TOKEN is not set (needed to call Slack)",
        ),
        (
            ["run"],
            {"SLACK_SIGNING_SECRET": "s"},
            "error: SLACK_BOT_TOKEN is not set (needed for HTTP mode)",
        ),
        (
            ["run"],
            {"SLACK_APP_TOKEN": "xapp-1"},
            "error: SLACK_BOT_TOKEN is not set (needed for Socket Mode beside SLACK_APP_TOKEN)",
        ),
        (["serve"], {"SLACK_BOT_TOKEN": "nope"}, "error: SLACK_BOT_TOKEN: must be a bot token"),
        (["serve", "--port", "0"], {}, "Invalid value for '--port'"),
    ],
)
def test_cli_start_errors_are_one_clear_line(
    args: list[str],
    env: dict[str, str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    sqlite_url: str,
) -> None:
    from typer.testing import CliRunner

    from bot.cli import app as cli

    monkeypatch.chdir(tmp_path)  # no .env from the working directory
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, args, env={"DATABASE_URL": sqlite_url, **env})
    assert result.exit_code in (1, 2)
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_serve_with_a_refused_token(
    localslack: LocalSlack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str
) -> None:
    from typer.testing import CliRunner

    from bot.cli import app as cli

    monkeypatch.chdir(tmp_path)
    env = {
        "DATABASE_URL": sqlite_url,
        "SLACK_API_URL": localslack.base_url,
        "SLACK_BOT_TOKEN": "xoxb-wrong",
        "SLACK_SIGNING_SECRET": "s",
    }
    result = CliRunner().invoke(cli, ["serve"], env=env)
    assert result.exit_code == 1
    assert "error: SLACK_BOT_TOKEN: Slack refused the token (invalid_auth)" in result.output


def test_locale_lookup_that_finished_at_once_does_not_hang(localslack: LocalSlack) -> None:
    """A users.info answer that is in before the lookup registers its clean-up (a fast
    Slack, a busy request thread) must not deadlock the request."""
    from concurrent.futures import Executor, Future

    from slack_sdk import WebClient

    from bot.middleware import LocaleLookup

    class Inline(Executor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
            future: Future[Any] = Future()
            future.set_result(fn(*args, **kwargs))
            return future

    client = WebClient(token=localslack.bot_token, base_url=localslack.base_url)
    lookup = LocaleLookup(Inline())
    answers: list[str] = []
    worker = threading.Thread(target=lambda: answers.append(lookup.get(client, "U0BJORN", "en")))
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "the locale lookup hung"
    assert answers == ["nb"]


def test_workspace_locale_is_the_default_for_unsupported_slack_locales(
    slack: SlackKit, bolt_app: App, services: Services, localslack: LocalSlack
) -> None:
    from storage import settings_store

    localslack.add_user("U0JEAN", "jean", locale="fr-FR")
    settings_store.set(services.engine, team_id="T0CXLOCAL", key="locale", value="da")
    seen: dict[str, Any] = {}
    ran = threading.Event()

    @bolt_app.command("/probe")
    def probe(ack: Ack, context: BoltContext) -> None:
        ack()
        seen["locale"] = context["locale"]
        ran.set()

    assert slack.command("/probe", user="U0JEAN").status == 200
    assert ran.wait(5)
    assert seen["locale"] == "da"
    ran.clear()
    assert slack.command("/probe", user="U0BJORN").status == 200
    assert ran.wait(5)
    assert seen["locale"] == "nb"  # the user's own Slack language wins


def test_replies_wait_for_pending_acks_but_not_forever() -> None:
    from bot.priority import AckFirst

    gate = AckFirst(max_wait=0.6, quiet=0.05)
    assert not gate.deferrable()  # outside a request nothing waits
    gate.acked()  # and this is a no-op there
    started = threading.Event()
    finished: list[float] = []

    def reply() -> None:
        start = time.monotonic()
        gate.wait_turn()
        finished.append(time.monotonic() - start)

    def other_request() -> None:
        with gate.request():
            started.set()
            time.sleep(0.3)  # an ack still being worked out

    with gate.request():
        gate.acked()
        assert gate.deferrable()
    t = threading.Thread(target=other_request)
    t.start()
    started.wait(1)
    reply()
    t.join()
    assert 0.3 <= finished[0] < 0.6  # waited for the other ack, plus the quiet gap

    def busy_forever() -> None:
        with gate.request():
            time.sleep(1.0)

    t = threading.Thread(target=busy_forever)
    t.start()
    time.sleep(0.05)
    reply()
    t.join()
    assert 0.55 <= finished[1] < 0.9  # gave up waiting after max_wait


def test_work_that_queued_for_a_thread_does_not_wait_again() -> None:
    """Under a steady load no quiet gap comes; work counts its wait from its hand-over, so
    work that already sat in its pool's queue runs at once instead of waiting again."""
    from bot.priority import AckFirst

    gate = AckFirst(max_wait=0.4, quiet=0.05)
    release = threading.Event()

    def busy() -> None:
        with gate.request():
            release.wait(5)

    t = threading.Thread(target=busy)
    t.start()
    time.sleep(0.05)
    try:
        start = time.monotonic()
        gate.wait_turn(since=start - 0.5)  # handed over half a second ago
        assert time.monotonic() - start < 0.05
        start = time.monotonic()
        gate.wait_turn(since=start - 0.2)  # the rest of its max_wait
        assert 0.15 <= time.monotonic() - start < 0.35
    finally:
        release.set()
        t.join()
