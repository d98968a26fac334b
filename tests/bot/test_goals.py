"""`/cx goal`: metric goals through the real app, local Slack and database: set, list with
progress computed from stored answers, replace, remove, and the refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.i18n import translator
from bot.localslack import LocalSlack
from bot.settings import Settings
from core.goals import expected_at
from storage import goals as stored
from tests.bot.conftest import make_settings
from tests.bot.test_cx import TEAM, reply_text, store_answers
from tests.conftest import FakeClock

ADMIN = "U0ADA"  # a workspace admin, English
LISTED_ADMIN = "U0KARI"  # Norwegian, named in CXBOT_ADMINS here
NORWEGIAN = "U0BJORN"  # Norwegian, not an admin

# October 2026, the last complete month at the test clock's 2026-11-23: NPS 40.
OCTOBER = [("2026-10-14", "nps", 10)] * 6 + [("2026-10-15", "nps", 8)] * 2
OCTOBER += [("2026-10-16", "nps", 2)] * 2


@pytest.fixture
def bot_settings(localslack: LocalSlack, sqlite_url: str) -> Settings:
    return make_settings(localslack, sqlite_url, cxbot_admins=LISTED_ADMIN)


def goal(slack: Any, text: str, user: str = ADMIN) -> str:
    """`/cx goal TEXT` as `user`: the private reply, never an error id or a channel post."""
    result = slack.command("/cx", f"goal {text}".strip(), user=user)
    assert result.status == 200
    reply = slack.wait_reply(result, where=lambda r: r["kind"] in ("ephemeral", "ack"))
    assert not [r for r in slack.replies(result) if r["kind"] == "message"]
    text = reply_text(reply)
    assert "error id" not in text and "Traceback" not in text
    return text


def test_an_admin_sets_a_goal_and_everyone_sees_its_progress(slack: Any, services: Any) -> None:
    store_answers(services.engine, OCTOBER)
    text = goal(slack, "nps 50 by 2027-Q2")
    assert "Goal set for NPS: 50 by 2027-Q2, the end of Jun 30, 2027." in text
    assert "now 40.0 (2026-10), 40.0 when set." in text
    assert "10.0 to go" in text and "On track: 40.0 expected by now." in text
    (kept,) = stored.goals(services.engine, team_id=TEAM)
    assert (kept.metric, kept.target, kept.baseline, kept.set_by) == ("nps", 50.0, 40.0, ADMIN)
    assert kept.set_at == services.clock()
    assert kept.deadline_at == datetime(2027, 6, 30, 22, 0, tzinfo=UTC)  # Oslo's midnight

    listed = goal(slack, "", user=NORWEGIAN)
    assert "Mål" in listed
    assert "*NPS* 50 innen 2027-Q2: nå 40,0 (2026-10), 40,0 da målet ble satt." in listed
    assert "10,0 igjen" in listed and "I rute: 40,0 var ventet nå." in listed


def test_progress_follows_the_answers_and_setting_again_replaces(
    slack: Any, services: Any, clock: FakeClock
) -> None:
    store_answers(services.engine, OCTOBER)
    goal(slack, "nps 50 by 2027-Q2")
    set_at = clock.now
    # Into December: November (5 promoters, 5 detractors, NPS 0) is the last complete month.
    clock.advance(days=12)
    november = [("2026-11-10", "nps", 9)] * 5 + [("2026-11-11", "nps", 0)] * 5
    store_answers(services.engine, OCTOBER + november)  # October's ids again: duplicates
    (kept,) = stored.goals(services.engine, team_id=TEAM)
    line = expected_at(kept, clock.now)
    assert line is not None and kept.baseline is not None and kept.baseline < line < 50
    text = goal(slack, "")
    assert "now 0.0 (2026-11), 40.0 when set." in text
    assert "50.0 to go" in text
    assert f"Behind: {translator('en').number(line, 1)} expected by now." in text

    again = goal(slack, "nps 10 by 2027-06")
    assert "Goal set for NPS: 10 by 2027-06, the end of Jun 30, 2027." in again
    assert "It replaces the goal of 50 by 2027-Q2." in again
    (kept,) = stored.goals(services.engine, team_id=TEAM)
    assert (kept.target, kept.baseline, kept.deadline_label) == (10.0, 0.0, "2027-06")
    assert kept.set_at > set_at


def test_goals_for_each_metric_and_removal(slack: Any, services: Any) -> None:
    store_answers(services.engine, OCTOBER)
    assert "No goals yet." in goal(slack, "", user="U0GRACE")
    assert "Goal set for CES: 5.5 by 2027-06-30" in goal(slack, "ces 5.5 by 2027-06-30")
    assert "No answers in 2026-10." in goal(slack, "csat 80 by 2027-Q1")
    assert "Goal set for CSI: 75" in goal(slack, "csi 75 by 2027-Q4")
    listed = goal(slack, "")
    assert listed.index("*CSAT*") < listed.index("*CES*") < listed.index("*CSI*")
    assert "The CES goal is removed." in goal(slack, "remove ces")
    assert "There is no CES goal to remove." in goal(slack, "remove CES")
    assert [g.metric for g in stored.goals(services.engine, team_id=TEAM)] == ["csat", "csi"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("enps 40 by 2027-Q2", "«enps» er ikke et nøkkeltall det kan settes mål for"),
        ("nps 140 by 2027-Q2", "Et mål for NPS må være mellom \u2212100 og 100, ikke 140."),
        ("ces 0,5 by 2027-Q2", "Et mål for CES må være mellom 1 og 7, ikke 0,5."),
        ("nps førti by 2027-Q2", "«førti» er ikke et tall."),
        ("nps 40 by neste år", "«neste år» er ikke en frist. Gi et kvartal (2027-Q2)"),
        ("nps 40 by 2027-02-30", "«2027-02-30» er ikke en frist."),
        ("nps 40 by 2026-10", "Fristen 2026-10 er allerede passert."),
        ("nps 40 by 2026-11-22", "Fristen 2026-11-22 er allerede passert."),
        ("nps 40", "Sett et mål med `/cx goal NØKKELTALL MÅL by FRIST`"),
        ("nps <!channel> by 2027-Q2", "«&lt;!channel&gt;» er ikke et tall."),
    ],
)
def test_refusals_are_plain_words_in_the_readers_language(
    slack: Any, services: Any, text: str, said: str
) -> None:
    assert said in goal(slack, text, user=LISTED_ADMIN)
    assert stored.goals(services.engine, team_id=TEAM) == []


def test_only_admins_set_and_remove_goals(slack: Any, services: Any) -> None:
    goal(slack, "nps 40 by 2027-Q2")
    for text in ("nps 60 by 2027-Q2", "remove nps"):
        reply = goal(slack, text, user=NORWEGIAN)
        assert "Bare administratorer kan sette og fjerne mål" in reply
    assert [g.target for g in stored.goals(services.engine, team_id=TEAM)] == [40.0]
    assert "*NPS* 40 innen 2027-Q2" in goal(slack, "", user=NORWEGIAN)


def test_help_lists_the_goal_subcommand(slack: Any) -> None:
    result = slack.command("/cx", "help", user="U0SVEA")
    reply = slack.wait_reply(result, where=lambda r: r["kind"] in ("ephemeral", "ack"))
    assert "/cx goal [NYCKELTAL MÅL by SLUTDATUM | remove NYCKELTAL]" in reply_text(reply)


def test_goals_show_in_the_digest_the_app_home_and_cxbot_metrics(
    slack: Any, services: Any, localslack: LocalSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from bot.cli import app as cli_app
    from tests.bot.test_home import open_home

    store_answers(services.engine, OCTOBER)
    goal(slack, "nps 50 by 2027-Q2")
    line = "NPS* 50 by 2027-Q2: now 40.0 (2026-10), 40.0 when set."

    preview = slack.command("/cx", "digest month", user=ADMIN)
    shown = reply_text(slack.wait_reply(preview, where=lambda r: r["kind"] == "ephemeral"))
    assert "*Goals*" in shown and line in shown

    home = json.dumps(open_home(slack, localslack, ADMIN), ensure_ascii=False)
    assert "*Goals*" in home and line in home

    monkeypatch.setenv("DATABASE_URL", services.settings.database_url)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    table = CliRunner().invoke(cli_app, ["metrics", "--team", TEAM], catch_exceptions=False)
    assert table.exit_code == 0, table.output
    assert "NPS 50 by 2027-Q2: now" in table.output  # at the wall clock's last month
    as_json = CliRunner().invoke(
        cli_app, ["metrics", "--team", TEAM, "--format", "json"], catch_exceptions=False
    )
    (listed,) = json.loads(as_json.output)["goals"]
    assert (listed["metric"], listed["target"], listed["baseline"]) == ("nps", 50.0, 40.0)
