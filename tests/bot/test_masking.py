"""One rule for personal data: masked wherever anyone but the company's export sees it
(App Home, insight lists and cards, shout-outs and their DMs, the digest, alert cards and
their escalation DMs), as written only in `cxbot export --personal-data`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.handlers.alerts import blocks as alert_views
from bot.handlers.digest.compose import build, render
from bot.i18n import translator
from bot.localslack import LocalSlack
from bot.services import Services
from core.periods import period_containing
from storage import alerts as alert_store
from storage import settings_store
from storage.models import Alert, Insight, Response
from tests.bot.slackkit import SlackKit
from tests.bot.test_alerts import alert_posts, flat
from tests.bot.test_home import open_home
from tests.bot.test_insights import record
from tests.bot.test_insights import shared as shared
from tests.bot.test_insights import team as team

pytestmark = pytest.mark.real_time

TEAM = "T0CXLOCAL"
EMAIL = "kari.nordmann@example.no"
PHONE = "+47 912 34 567"
FNR = "01017010170"
SAID = f"Kari ({EMAIL}, {PHONE}, fnr {FNR}) was charged twice"
SECRETS = (EMAIL, "912 34 567", FNR)


def masked(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret
    assert "[EMAIL]" in text and "[PHONE]" in text and "[NATIONAL_ID]" in text


def detractor(session: Session, *, owner: str | None = "U0ADA") -> Alert:
    now = datetime.now(UTC)
    row = Response(team_id=TEAM, response_key="r-1", responded_at=now, local_day=now.date(),
                   metric="nps", score=2, customer_id="ACME-7", comment=SAID,
                   batch_id="b1")  # fmt: skip
    session.add(row)
    session.flush()
    alert = Alert(team_id=TEAM, response_id=row.id, owner=owner, status="claimed",
                  due_at=now + timedelta(hours=4), channel="C0ALERTS", ts="1.000001")  # fmt: skip
    session.add(alert)
    session.commit()
    session.refresh(alert)
    return alert


def test_alert_card_in_the_channel_is_masked(
    slack: SlackKit, localslack: LocalSlack, services: Services
) -> None:
    settings_store.set(services.engine, team_id=TEAM, key="alerts.channel", value="C0ALERTS")
    answer = {"responded_at": services.clock().isoformat(), "metric": "nps", "score": 2,
              "customer_id": "ACME-7", "comment": SAID, "response_id": "ext-1"}  # fmt: skip
    assert slack.webhook(answer).status == 202
    (post,) = localslack.wait_for(lambda: alert_posts(localslack, "C0ALERTS"), timeout=5)
    masked(flat(post) + post.get("text", ""))
    assert "charged twice" in flat(post)


def test_escalation_dm_is_masked(services: Services) -> None:
    with Session(services.engine) as s:
        alert_id = detractor(s).id
    assert alert_id is not None
    card = alert_store.get_card(services.engine, team_id=TEAM, alert_id=alert_id)
    assert card is not None
    fallback, blocks = alert_views.escalation_message(card, translator("en"), ZoneInfo("UTC"))
    masked(fallback + json.dumps(blocks, ensure_ascii=False))


def test_app_home_masks_alert_comments_and_shoutouts(
    slack: SlackKit, localslack: LocalSlack, services: Services
) -> None:
    with Session(services.engine) as s:
        detractor(s)
    r = slack.command("/shoutout", f"<@U0BJORN> called Kari back on {PHONE}", user="U0ADA")
    assert r.status == 200
    localslack.wait_for(lambda: localslack.messages("U0BJORN"), timeout=5)
    home = json.dumps(open_home(slack, localslack, "U0ADA")["blocks"], ensure_ascii=False)
    masked(home)
    assert "From <@U0ADA> to <@U0BJORN>" in home and "called Kari back on [PHONE]" in home


def test_shoutout_post_and_dm_are_masked(
    slack: SlackKit, localslack: LocalSlack, services: Services
) -> None:
    settings_store.set(services.engine, team_id=TEAM, key="shoutouts.channel", value="C0SHOUT")
    said = f"<@U0BJORN> calmed Kari down ({EMAIL}, {PHONE}, {FNR})"
    assert slack.command("/shoutout", said, user="U0ADA").status == 200
    (dm,) = localslack.wait_for(lambda: localslack.messages("U0BJORN"), timeout=5)
    (post,) = localslack.wait_for(lambda: localslack.messages("C0SHOUT"), timeout=5)
    for message in (dm, post):
        shown = message.get("text", "") + json.dumps(message.get("blocks"), ensure_ascii=False)
        masked(shown)
        assert "calmed Kari down" in shown
    assert "<@U0BJORN>" in json.dumps(post["blocks"])  # the mention survives the masking


def test_insight_list_and_digest_are_masked(
    slack: SlackKit, services: Services, team: str, shared: str
) -> None:
    record(services, team, SAID, "U0ADA")
    r = slack.command("/insight", "list", user="U0ADA")
    listed = slack.wait_reply(r, where=lambda x: x["kind"] in ("ephemeral", "response"))
    masked(json.dumps(listed, ensure_ascii=False))

    week = period_containing("week", services.clock().date())
    d = build(services, team, "week", week)
    rendered = render(services, d, translator("en"), chart=False)
    masked(rendered.text + json.dumps(rendered.blocks, ensure_ascii=False))


# --------------------------------------------------------------------------- export


@pytest.fixture
def cli(sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Result]:
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "CXBOT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    return lambda *args: CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_export_masks_free_text_unless_personal_data(
    cli: Callable[..., Result], sqlite_url: str
) -> None:
    from storage.db import make_engine

    engine = make_engine(sqlite_url)
    try:
        with Session(engine) as s:
            s.add(Insight(team_id="T1", reporter="U0ADA", text=f"<@U0KARI> says {SAID}"))
            s.commit()
            detractor_team = Response(team_id="T1", response_key="r", metric="nps", score=2,
                                      responded_at=datetime.now(UTC),
                                      local_day=datetime.now(UTC).date(), comment=SAID,
                                      batch_id="b1")  # fmt: skip
            s.add(detractor_team)
            s.commit()
    finally:
        engine.dispose()

    plain = cli("export", "insights", "--team", "T1")
    assert plain.exit_code == 0, plain.output
    (row,) = csv.DictReader(io.StringIO(plain.stdout))
    masked(row["text"])
    assert row["text"].startswith("<@U0KARI> says Kari")  # the reference is kept
    (answer,) = json.loads(cli("export", "responses", "--format", "json", "--team", "T1").stdout)
    masked(answer["comment"])

    full = cli("export", "insights", "--team", "T1", "--personal-data")
    (row,) = csv.DictReader(io.StringIO(full.stdout))
    assert row["text"] == f"<@U0KARI> says {SAID}"
    raw = cli("export", "responses", "--format", "json", "--team", "T1", "--personal-data")
    assert json.loads(raw.stdout)[0]["comment"] == SAID
