"""Two workspaces installed through Slack's OAuth flow into one deployment (PostgreSQL):
nothing one workspace sees, whether a command, a view, an alert, an export or a digest,
shows anything of the other. And their tokens rotate before they expire."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from bot.app import create_app
from bot.localslack import LocalSlack
from bot.oauth import OAUTH, OAuth
from bot.runtime_hooks import start_background, stop_background
from bot.services import Services
from bot.settings import load_settings
from bot.web import WebApp
from core.analyzer import make_analyzer
from storage import settings_store
from storage.db import make_engine
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


def test_installed_workspaces_see_only_their_own_data(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    d = deployment
    oauth: OAuth = d.services.extras[OAUTH]
    assert oauth.installed_teams() == [ALPHA, BETA]
    today = datetime.now(UTC).date().isoformat()
    for team, (mark, segment, customer) in MARKS.items():
        for channel_key in ("alerts.channel", "insights.channel", "digest.channel"):
            channel = {"alerts.channel": "C0ALERTS", "insights.channel": "C0INSIGHT"}.get(
                channel_key, "C0DIGEST"
            )
            settings_store.set(d.services.engine, team_id=team, key=channel_key, value=channel)
        answers = [
            {
                "responded_at": today,
                "metric": "nps",
                "score": score,
                "response_id": f"{team}-{n}",
                "customer_id": customer,
                "segment": segment,
                "comment": f"{mark} answer {n}",
            }
            for n, score in enumerate((1, 2, 10, 10) if team == ALPHA else (0, 9, 9))
        ]
        r = d.kits[team].webhook(answers, team=team)
        assert r.status == 202, r.text
    # Two workspaces hold data now: the webhook must be told which one.
    assert (
        d.kits[ALPHA].webhook([{"responded_at": today, "metric": "nps", "score": 5}]).status == 400
    )

    for team, (mark, _, customer) in MARKS.items():
        kit = d.kits[team]
        assert (
            kit.command("/insight", f"{mark} insight: {customer} wants invoices by e-mail").status
            == 200
        )
        for args in ("metrics", "digest", "alerts", "help"):
            r = kit.command("/cx", args)
            assert r.status == 200
            kit.wait_reply(r, timeout=15)
        kit.event({"type": "app_home_opened", "user": "U0ADA", "channel": "D0HOME", "tab": "home"})

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

    # The command line, with --team: exports, metrics and the digest of one workspace.
    monkeypatch.setenv("DATABASE_URL", d.database_url)
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
        "SLACK_SIGNING_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    from bot.cli import app

    runner = CliRunner()
    for team, other in ((ALPHA, BETA), (BETA, ALPHA)):
        outputs: dict[str, str] = {}
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
        assert MARKS[team][0] in outputs["export responses"]
        assert MARKS[team][0] in outputs["export insights"]
        metrics = json.loads(outputs["metrics --team"])
        assert metrics["nps"]["n"] == (4 if team == ALPHA else 3)
        for output in outputs.values():
            for foreign in MARKS[other]:
                assert foreign not in output


def test_tokens_rotate_before_they_expire(deployment: Deployment) -> None:
    d = deployment
    oauth: OAuth = d.services.extras[OAUTH]
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
    installation = oauth.installations.find_installation(enterprise_id=None, team_id=ALPHA)
    assert installation is not None and installation.bot_token_expires_at is not None
    assert installation.bot_token_expires_at > time.time() + 11 * 3600
    assert oauth.tokens.token(BETA) not in (first, second)
    # Requests and background sends use the new token.
    r = d.kits[ALPHA].command("/cx", "help")
    d.kits[ALPHA].wait_reply(r, timeout=10)
    assert d.slacks[ALPHA].calls  # forwarded with the workspace's own token
    assert d.multi.grants.count(("refresh", ALPHA)) == 1
