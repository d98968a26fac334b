"""Two workspaces installed through Slack's OAuth flow into one deployment (PostgreSQL):
nothing one workspace sees, whether a command, a view, an alert, an export, a digest or a
pulse survey, shows anything of the other, and the bot reaches each with its own token.
Without a workspace named, only a single installed one is assumed. And their tokens
rotate before they expire."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from bot.app import create_app
from bot.background import start_background, stop_background
from bot.handlers.digest.sweeps import run_schedule
from bot.handlers.pulse.sweeps import schedule_sweep
from bot.handlers.shoutouts import directory
from bot.localslack import LocalSlack
from bot.oauth import OAuth
from bot.services import Services
from bot.settings import load_settings
from bot.web import WebApp
from core.analyzer import make_analyzer
from core.setting_values import WEEKDAYS
from core.surveys import parse_definition
from storage import settings_store
from storage import shoutouts as shoutout_store
from storage import surveys as survey_store
from storage.db import make_engine
from storage.models import Response
from tests.bot.conftest import serve_wsgi
from tests.bot.multislack import MultiSlack
from tests.bot.slackkit import SlackKit

pytestmark = pytest.mark.slow

SIGNING = "tenants-signing-secret"
WEBHOOK = "tenants-webhook-secret"
CLIENT_ID, CLIENT_SECRET = "1111.2222", "tenants-client-secret"
ALPHA, BETA = "T0ALPHA", "T0BETA"
# What only one workspace's data holds.
MARKS = {
    ALPHA: ("ALPHA-MARK", "alpha-seg", "alpha-customer"),
    BETA: ("BETA-MARK", "beta-seg", "beta-customer"),
}
# The employee each workspace's customers praise (the demo people are in both).
EMPLOYEES = {ALPHA: ("U0BJORN", "bjorn@example.com"), BETA: ("U0KARI", "kari@example.com")}
CHANNELS = {
    "alerts.channel": "C0ALERTS",
    "insights.channel": "C0INSIGHT",
    "digest.channel": "C0DIGEST",
    "shoutouts.channel": "C0SHOUT",
}


@dataclass
class Deployment:
    url: str
    services: Services
    multi: MultiSlack
    slacks: dict[str, LocalSlack]
    kits: dict[str, SlackKit]
    database_url: str


def http(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode(), {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def install(url: str, multi: MultiSlack, team_id: str) -> None:
    """The installer's browser: the install page, Slack's consent, the redirect back."""
    status, page, headers = http(url + "/slack/install")
    assert status == 200, page
    state = re.search(r"state=([0-9a-f-]{36})", page)
    assert state, page
    cookie = headers["set-cookie"].split(";", 1)[0]
    query = urlencode({"code": multi.code_for(team_id), "state": state.group(1)})
    status, page, _ = http(f"{url}/slack/oauth_redirect?{query}", {"Cookie": cookie})
    assert status == 200, page


@pytest.fixture
def deployment(pg_url: str) -> Iterator[Deployment]:
    slacks = {
        team: LocalSlack.demo(
            team_id=team,
            team_name=f"{team} Inc",
            bot_token=f"xoxb-{team.lower()}",
            rate_limits=False,
        ).start()
        for team in (ALPHA, BETA)
    }
    multi = MultiSlack(
        list(slacks.values()), client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    ).start()
    settings = load_settings(
        _env_file=None,
        slack_api_url=multi.base_url,
        slack_bot_token=None,
        slack_app_token=None,
        slack_signing_secret=SIGNING,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        cxbot_webhook_secret=WEBHOOK,
        database_url=pg_url,
        cxbot_timezone="Europe/Oslo",
        cxbot_leader_retry_seconds=0.5,
    )
    engine = make_engine(pg_url, pool_size=5)
    with engine.begin() as conn:
        for table in ("slack_bots", "slack_installations", "slack_oauth_states"):
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
    services = Services(settings=settings, engine=engine, analyzer=make_analyzer(None, None, None))
    web = WebApp(services, create_app(settings, services))
    start_background(services)
    try:
        with serve_wsgi(web) as running:
            for team in (ALPHA, BETA):
                install(running.url, multi, team)
            kits = {
                team: SlackKit(running.url, SIGNING, slacks[team], webhook_secret=WEBHOOK)
                for team in (ALPHA, BETA)
            }
            yield Deployment(running.url, services, multi, slacks, kits, pg_url)
    finally:
        stop_background(services)
        multi.stop()
        for slack in slacks.values():
            slack.stop()
        engine.dispose()


def everything_seen(slack: LocalSlack) -> str:
    """All a workspace's people could see of the bot, as one text."""
    seen: list[Any] = [
        slack.messages(),
        slack.ephemerals(),
        slack.responses(),
        slack.home_views(),
        slack.open_views(),
    ]
    return json.dumps(seen, ensure_ascii=False)


def key_of(message: dict[str, Any]) -> str:
    """The outbox key a message was sent under (its metadata)."""
    return str(((message.get("metadata") or {}).get("event_payload") or {}).get("key") or "")


def flat(message: dict[str, Any]) -> str:
    return str(message.get("text", "")) + json.dumps(
        message.get("blocks") or [], ensure_ascii=False
    )


def has_modal(slack: LocalSlack, callback_id: str) -> bool:
    return any(v.get("callback_id") == callback_id for v in slack.open_views())


def at_least(slack: LocalSlack, channel: str, n: int) -> list[dict[str, Any]] | None:
    """The channel's messages once there are `n` (for `wait_for`)."""
    messages = slack.messages(channel)
    return messages if len(messages) >= n else None


def says(words: str) -> Callable[[dict[str, Any]], bool]:
    """A reply that shows `words` (for `SlackKit.wait_reply`)."""

    def check(reply: dict[str, Any]) -> bool:
        return words in flat(reply)

    return check


def cli_env(monkeypatch: pytest.MonkeyPatch, d: Deployment, tmp_path: Path, *, oauth: bool) -> None:
    """The command line's environment: the deployment's database; with `oauth`, the app's
    client id and secret (no bot token: each workspace's own comes from its install)."""
    monkeypatch.setenv("DATABASE_URL", d.database_url)
    monkeypatch.setenv("SLACK_API_URL", d.multi.base_url)
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
        "SLACK_SIGNING_SECRET",
        "CXBOT_TIMEZONE",
    ):
        monkeypatch.delenv(name, raising=False)
    if oauth:
        monkeypatch.setenv("SLACK_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("SLACK_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.chdir(tmp_path)  # no stray .env


def responses_of(d: Deployment, team: str) -> set[str]:
    with d.services.engine.connect() as conn:
        rows = conn.execute(
            select(Response.response_key).where(Response.team_id == team)  # type: ignore[call-overload]
        ).scalars()
        return {str(r).removeprefix("id:") for r in rows}  # keys of rows with an id


def test_installed_workspaces_see_only_their_own_data(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    d = deployment
    oauth: OAuth = d.services.slack.oauth
    assert oauth.installed_teams() == [ALPHA, BETA]
    today = datetime.now(UTC).date().isoformat()
    for team, (mark, segment, customer) in MARKS.items():
        for channel_key, channel in CHANNELS.items():
            settings_store.set(d.services.engine, team_id=team, key=channel_key, value=channel)
        scores = (1, 2, 10, 10) if team == ALPHA else (0, 9, 9)
        answers = [
            {
                "responded_at": today,
                "metric": "nps",
                "score": score,
                "response_id": f"{team}-{n}",
                "customer_id": customer,
                "segment": segment,
                "comment": f"{mark} answer {n}",
                # The last promoter praises an employee by e-mail: matched through the
                # workspace's member directory, read with the workspace's own token.
                **({"employee": EMPLOYEES[team][1]} if n == len(scores) - 1 else {}),
            }
            for n, score in enumerate(scores)
        ]
        r = d.kits[team].webhook(answers, team=team)
        assert r.status == 202, r.text
    # Two workspaces are installed: the webhook must be told which one.
    assert (
        d.kits[ALPHA].webhook([{"responded_at": today, "metric": "nps", "score": 5}]).status == 400
    )

    for team, (mark, _, customer) in MARKS.items():
        kit = d.kits[team]
        employee = EMPLOYEES[team][0]
        assert (
            kit.command("/insight", f"{mark} insight: {customer} wants invoices by e-mail").status
            == 200
        )
        r = kit.command("/shoutout", f"<@{employee}> {mark} shout-out: called the customer back")
        assert r.status == 200
        for args in ("metrics", "digest", "alerts", "help"):
            r = kit.command("/cx", args)
            assert r.status == 200
            kit.wait_reply(r, timeout=15)
        kit.event({"type": "app_home_opened", "user": "U0ADA", "channel": "D0HOME", "tab": "home"})
        # The insight form opens in the workspace's own Slack.
        assert kit.command("/insight", "").status == 200
        d.slacks[team].wait_for(partial(has_modal, d.slacks[team], "insight_modal"), timeout=10)

    # The shout-outs (given and customer praise) reach each workspace's own channel.
    for team in (ALPHA, BETA):
        slack, employee = d.slacks[team], EMPLOYEES[team][0]
        posts = slack.wait_for(partial(at_least, slack, "C0SHOUT", 2), timeout=20)
        shown = [flat(m) for m in posts or []]
        assert any("The customer said" in t and f"<@{employee}>" in t for t in shown), shown
        assert any(f"{MARKS[team][0]} shout-out" in t for t in shown), shown

    # Listing and searching insights find the workspace's own only.
    for team, (mark, _, _) in MARKS.items():
        kit = d.kits[team]
        # (Replies are told apart by what they say: late ones of /cx arrive meanwhile.)
        kit.wait_reply(kit.command("/insight", "list"), timeout=15, where=says(mark))
        found = kit.command("/insight", f"search {mark}")
        assert "wants invoices" in flat(kit.wait_reply(found, timeout=15, where=says(f"“{mark}”")))
        # Both workspaces' insights mention invoices: a search shows this one's only.
        searched = kit.command("/insight", "search invoices")
        shared = kit.wait_reply(searched, timeout=15, where=says("“invoices”"))
        assert mark in flat(shared), shared
        assert MARKS[BETA if team == ALPHA else ALPHA][0] not in flat(shared)

    # Alerts (one per detractor) reach each workspace's own channel, through each one's token.
    d.slacks[ALPHA].wait_for(lambda: len(d.slacks[ALPHA].messages("C0ALERTS")) >= 2, timeout=20)
    d.slacks[BETA].wait_for(lambda: len(d.slacks[BETA].messages("C0ALERTS")) >= 1, timeout=20)
    d.slacks[ALPHA].wait_for(lambda: "U0ADA" in d.slacks[ALPHA].home_views(), timeout=10)
    d.slacks[BETA].wait_for(lambda: "U0ADA" in d.slacks[BETA].home_views(), timeout=10)
    time.sleep(1.0)  # let late work (insight posts, analysis) land too

    for team, other in ((ALPHA, BETA), (BETA, ALPHA)):
        seen = everything_seen(d.slacks[team])
        assert MARKS[team][0] in seen  # the workspace does see its own data
        for foreign in MARKS[other]:
            assert foreign not in seen, f"{team} sees {foreign!r}"
        # Web API calls (response URLs carry no token) all came in with this workspace's.
        tokens = {c.token for c in d.slacks[team].calls if c.token is not None}
        assert tokens == {d.slacks[team].bot_token}
        # ... and left the bot with a token issued to this workspace, never the other's.
        assert d.multi.tokens_used(team) and not (
            d.multi.tokens_used(team) & d.multi.tokens_used(other)
        )

    # The command line, with --team: exports, metrics and the digest of one workspace.
    cli_env(monkeypatch, d, tmp_path, oauth=False)
    from bot.cli import app

    runner = CliRunner()
    for team, other in ((ALPHA, BETA), (BETA, ALPHA)):
        outputs: dict[str, str] = {}
        stdouts: dict[str, str] = {}
        commands: list[list[str]] = [
            *(
                ["export", kind, "--team", team, "--format", "json"]
                for kind in ("responses", "customers", "insights", "shoutouts", "alerts", "surveys")
            ),
            ["metrics", "--team", team, "--format", "json", "--date", today],
            ["digest", "--team", team, "--date", today],
        ]
        for cli_args in commands:
            result = runner.invoke(app, cli_args)
            assert result.exit_code == 0, (cli_args, result.output)
            outputs[" ".join(cli_args[:2])] = result.output
            stdouts[" ".join(cli_args[:2])] = result.stdout
        assert MARKS[team][0] in outputs["export responses"]
        assert MARKS[team][0] in outputs["export insights"]
        shoutouts = json.loads(stdouts["export shoutouts"])
        assert len(shoutouts) == 2  # the one given and the customer's praise
        assert MARKS[team][0] in outputs["export shoutouts"]
        assert EMPLOYEES[team][0] in outputs["export shoutouts"]
        metrics = json.loads(outputs["metrics --team"])
        assert metrics["nps"]["n"] == (4 if team == ALPHA else 3)
        for output in outputs.values():
            for foreign in MARKS[other]:
                assert foreign not in output


def test_digests_reach_each_workspace_with_its_own_data_and_token(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    d = deployment
    engine = d.services.engine
    answered = {ALPHA: 5, BETA: 3}
    for team, (mark, segment, customer) in MARKS.items():
        settings_store.set(engine, team_id=team, key="digest.channel", value="C0DIGEST")
        answers = [
            {
                "responded_at": "2026-11-18T12:00:00+01:00",
                "metric": "nps",
                "score": 10 if n % 2 else 8,
                "response_id": f"{team}-week-{n}",
                "customer_id": customer,
                "segment": segment,
                "comment": f"{mark} week answer {n}",
            }
            for n in range(answered[team])
        ]
        assert d.kits[team].webhook(answers, team=team).status == 202
    # The scheduler's digest sweep on the Monday after that week, after the default
    # schedule (mon 08:00, CXBOT_TIMEZONE Europe/Oslo).
    monday = datetime(2026, 11, 23, 8, 30, tzinfo=ZoneInfo("Europe/Oslo"))
    # The deployment's own services (its installs and dispatcher) on Monday's clock.
    at_monday = dataclasses.replace(d.services, engine=engine, clock=lambda: monday)
    week_key = "digest:week:C0DIGEST:2026-W47"
    assert run_schedule(at_monday).count(week_key) == 2  # one per workspace

    def posted(slack: LocalSlack, key: str) -> list[dict[str, Any]]:
        return [m for m in slack.messages("C0DIGEST") if key_of(m) == key]

    for team, other in ((ALPHA, BETA), (BETA, ALPHA)):
        slack = d.slacks[team]
        slack.wait_for(partial(posted, slack, week_key), timeout=30)
        (report,) = posted(slack, week_key)
        text_shown = flat(report)
        assert f"{answered[team]} answers" in text_shown, text_shown
        assert f"{answered[other]} answers" not in text_shown
        for foreign in MARKS[other]:
            assert foreign not in text_shown
        # Sent with a token of this workspace's installation.
        assert d.multi.tokens_used(team, "chat.postMessage")
        assert not d.multi.tokens_used(team) & d.multi.tokens_used(other)

    # `cxbot digest --post --team` with the app's client id and secret (no bot token).
    cli_env(monkeypatch, d, tmp_path, oauth=True)
    from bot.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app, ["digest", "--post", "--team", ALPHA, "--period", "month", "--date", "2026-11-18"]
    )
    assert result.exit_code == 0, result.output
    month_key = "digest:month:C0DIGEST:2026-11"
    assert f"{month_key}: sent" in result.output
    (monthly,) = posted(d.slacks[ALPHA], month_key)
    assert f"{answered[ALPHA]} answers" in flat(monthly)
    assert all(m not in flat(monthly) for m in MARKS[BETA])
    assert posted(d.slacks[BETA], month_key) == []
    # A workspace that never installed the app cannot be posted to.
    refused = runner.invoke(app, ["digest", "--post", "--team", "T0NOWHERE"])
    assert refused.exit_code == 1
    assert "T0NOWHERE has not installed the app" in refused.output


def test_a_pulse_round_reaches_only_its_own_workspace(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    d = deployment
    engine = d.services.engine
    alpha, beta = d.slacks[ALPHA], d.slacks[BETA]
    # The same channel id in both workspaces, with different people in it.
    alpha.add_user("U0ALPHAONLY", "alphaonly", real_name="Only In Alpha")
    alpha.add_channel("C0PULSE", "pulse", members=["U0ADA", "U0BJORN", "U0ALPHAONLY"])
    beta.add_channel("C0PULSE", "pulse", members=["U0KARI", "U0MADS"])
    members = {ALPHA: ["U0ADA", "U0BJORN", "U0ALPHAONLY"], BETA: ["U0KARI", "U0MADS"]}
    # The hourly directory sweep reads every installed workspace's people, each its own.
    directory.directory_sweep(d.services)
    directories = {
        team: {p.user_id for p in shoutout_store.directory(engine, team_id=team)}
        for team in (ALPHA, BETA)
    }
    assert "U0ALPHAONLY" in directories[ALPHA] and "U0ALPHAONLY" not in directories[BETA]
    assert "U0KARI" in directories[BETA]

    def dms(slack: LocalSlack) -> list[dict[str, Any]]:
        return [
            m for c in slack.channels() if c["id"].startswith("D") for m in slack.messages(c["id"])
        ]

    # A weekly round due this very minute (UTC), in ALPHA only.
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    definition = parse_definition(
        {
            "name": f"{MARKS[ALPHA][0]} pulse",
            "audience": "C0PULSE",
            "questions": [{"id": "q", "type": "likert", "text": "I know our customers"}],
            "schedule": {
                "repeat": "weekly",
                "weekday": WEEKDAYS[now.weekday()],
                "time": f"{now:%H:%M}",
                "timezone": "UTC",
            },
            "close_after_hours": 48,
        }
    )
    survey_id = survey_store.create_survey(
        engine,
        team_id=ALPHA,
        definition=definition,
        created_by="U0ADA",
        now=now - timedelta(days=8),
    )
    schedule_sweep(d.services)
    opened = survey_store.open_round_of(engine, team_id=ALPHA, survey_id=survey_id)
    assert opened is not None and opened.audience_size == 3
    for user in members[ALPHA]:
        alpha.wait_for(partial(alpha.messages, "D" + user[1:]), timeout=20)
    assert "conversations.members" in {c.method for c in alpha.calls}
    assert "conversations.members" not in {c.method for c in beta.calls}
    assert all(MARKS[ALPHA][0] not in flat(m) for m in dms(beta))
    assert dms(beta) == []

    # BETA's own round from the command line (client id and secret, no bot token).
    cli_env(monkeypatch, d, tmp_path, oauth=True)
    from bot.cli import app

    runner = CliRunner()
    definition_file = tmp_path / "pulse.yml"
    definition_file.write_text(
        f"name: {MARKS[BETA][0]} pulse\naudience: C0PULSE\n"
        "questions:\n  - {id: q, type: likert, text: I know our customers}\n"
        "results_channel: C0GENERAL\n",
        encoding="utf-8",
    )
    created = runner.invoke(app, ["pulse", "create", str(definition_file), "--team", BETA])
    assert created.exit_code == 0, created.output
    beta_survey = created.stdout.strip().splitlines()[0]
    sent = runner.invoke(app, ["pulse", "send", beta_survey, "--team", BETA])
    assert sent.exit_code == 0, sent.output
    assert "asking 2 people" in sent.stdout and "sent 2 DMs" in sent.stdout
    assert all(beta.messages("D" + u[1:]) for u in members[BETA])
    closed = runner.invoke(app, ["pulse", "close", beta_survey, "--team", BETA])
    assert closed.exit_code == 0, closed.output
    assert "results posted to C0GENERAL" in closed.stdout
    assert any(MARKS[BETA][0] in flat(m) for m in beta.messages("C0GENERAL"))
    # Nothing of BETA's survey reached ALPHA.
    assert all(MARKS[BETA][0] not in flat(m) for m in alpha.messages())
    assert not any(alpha.messages("D" + u[1:]) for u in members[BETA])


def test_without_a_team_only_a_single_installed_workspace_is_assumed(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    d = deployment
    oauth: OAuth = d.services.slack.oauth
    today = datetime.now(UTC).date().isoformat()

    def answer(response_id: str) -> dict[str, Any]:
        return {"responded_at": today, "metric": "nps", "score": 8, "response_id": response_id}

    # ALPHA has data, BETA is installed and has none yet: neither is the default.
    assert d.kits[ALPHA].webhook([answer("a-1")], team=ALPHA).status == 202
    r = d.kits[ALPHA].webhook([answer("x-1")])
    assert r.status == 400 and r.json()["error"] == "bad_team", r.text
    assert "?team=" in r.json()["message"]
    cli_env(monkeypatch, d, tmp_path, oauth=True)
    from bot.cli import app

    runner = CliRunner()
    rows = tmp_path / "answers.csv"
    rows.write_text(f"response_id,responded_at,metric,score\ncli-1,{today},nps,9\n", "utf-8")
    ambiguous = runner.invoke(app, ["import", "responses", str(rows)])
    assert ambiguous.exit_code == 2, ambiguous.output
    assert ALPHA in ambiguous.output and BETA in ambiguous.output
    assert "pick one with --team" in ambiguous.output
    assert responses_of(d, ALPHA) == {"a-1"} and responses_of(d, BETA) == set()

    # BETA's own webhook key: the shared key, which ALPHA's survey tool holds, no longer
    # opens BETA; BETA's key opens BETA only.
    beta_key = "beta-only-webhook-key-0123"
    settings_store.set(d.services.engine, team_id=BETA, key="webhook.secret", value=beta_key)
    assert d.kits[ALPHA].webhook([answer("x-2")], team=BETA).status == 401
    assert d.kits[BETA].webhook([answer("b-1")], beta_key, team=BETA).status == 202
    assert d.kits[BETA].webhook([answer("x-3")], beta_key, team=ALPHA).status == 401
    assert d.kits[ALPHA].webhook([answer("a-2")], team=ALPHA).status == 202
    assert responses_of(d, BETA) == {"b-1"} and responses_of(d, ALPHA) == {"a-1", "a-2"}
    shown = runner.invoke(app, ["config", "show", "--team", BETA])
    assert shown.exit_code == 0, shown.output
    assert "webhook.secret" in shown.output and beta_key not in shown.output

    # ALPHA uninstalls: BETA, the one installed, is meant, ALPHA's data notwithstanding.
    oauth.installations.delete_all(enterprise_id=None, team_id=ALPHA)
    assert oauth.installed_teams() == [BETA]
    assert d.kits[BETA].webhook([answer("b-2")], beta_key).status == 202
    imported = runner.invoke(app, ["import", "responses", str(rows)])
    assert imported.exit_code == 0, imported.output
    assert responses_of(d, BETA) == {"b-1", "b-2", "cli-1"}
    assert responses_of(d, ALPHA) == {"a-1", "a-2"}


def test_tokens_rotate_before_they_expire(deployment: Deployment) -> None:
    d = deployment
    oauth: OAuth = d.services.slack.oauth
    first = oauth.tokens.token(ALPHA)
    assert first is not None and first in d.multi.valid_tokens(ALPHA)
    assert oauth.tokens.token(ALPHA) == first  # 12 hours left: nothing to do
    # Eleven hours later: the token has one left, under the 3-hour margin.
    soon = int(time.time()) + 3600
    with d.services.engine.begin() as conn:
        for table in ("slack_bots", "slack_installations"):
            conn.execute(
                text(f"UPDATE {table} SET bot_token_expires_at = :at WHERE team_id = :t"),
                {"at": datetime.fromtimestamp(soon, UTC).replace(tzinfo=None), "t": ALPHA},
            )
    second = oauth.tokens.token(ALPHA)
    assert second is not None and second != first
    assert d.multi.grants.count(("refresh", ALPHA)) == 1
    assert oauth.tokens.token(ALPHA) == second  # refreshed once, then kept
    # Slack's side: the refreshed token replaced the old one, which no longer works.
    assert d.multi.valid_tokens(ALPHA) == [second]
    installation = oauth.installations.find_installation(enterprise_id=None, team_id=ALPHA)
    assert installation is not None and installation.bot_token_expires_at is not None
    assert installation.bot_token_expires_at > time.time() + 11 * 3600
    assert oauth.tokens.token(BETA) not in (first, second)
    # Requests use the new token...
    r = d.kits[ALPHA].command("/cx", "help")
    d.kits[ALPHA].wait_reply(r, timeout=10)
    # ... and so does background work: an alert, sent by the outbox dispatcher.
    settings_store.set(d.services.engine, team_id=ALPHA, key="alerts.channel", value="C0ALERTS")
    today = datetime.now(UTC).date().isoformat()
    detractor = {"responded_at": today, "metric": "nps", "score": 1, "response_id": "rot-1"}
    since = len(d.multi.used)
    assert d.kits[ALPHA].webhook([detractor], team=ALPHA).status == 202
    d.slacks[ALPHA].wait_for(lambda: d.slacks[ALPHA].messages("C0ALERTS"), timeout=20)
    sent_with = {token for team, token, _ in d.multi.used[since:] if team == ALPHA}
    assert sent_with == {second}
    assert d.multi.grants.count(("refresh", ALPHA)) == 1
