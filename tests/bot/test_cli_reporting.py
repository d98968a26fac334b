"""`cxbot metrics`, `cxbot export` and `cxbot config`, run in-process on real databases."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from bot.cli import app
from core.periods import last_complete
from storage.db import session_scope
from storage.models import (
    Insight,
    Shoutout,
    ShoutoutReceiver,
    Survey,
    SurveyAnswer,
    SurveyRound,
)
from tests.storage.answers_kit import add_alert, add_answers, add_customers

runner = CliRunner()
WEEK = (date(2026, 11, 16), date(2026, 11, 22))


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Result]:
    """Runs `cxbot ...` against the test database with no Slack token (offline workspace)."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "CXBOT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", db_url)

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    from storage.db import make_engine

    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _known_week(db: Engine, team: str = "T1") -> None:
    mon, sun = WEEK
    add_answers(
        db,
        team,
        [(mon, "nps", 10, "retail", "web")] * 0
        + [(mon + timedelta(days=i % 7), "nps", 10, "retail", "web") for i in range(6)]
        + [(mon, "nps", 8, "business", "phone"), (sun, "nps", 8, None, "phone")]
        + [(sun, "nps", 3, "business", None), (sun, "nps", 3, "business", None)]
        + [(mon, "csat", 5), (mon, "csat", 4), (mon, "csat", 4), (mon, "csat", 2)]
        + [(sun, "ces", 7), (sun, "ces", 6), (sun, "ces", 5)]
        # the week before: NPS 0 from one promoter and one detractor
        + [(mon - timedelta(days=1), "nps", 9), (mon - timedelta(days=7), "nps", 0)],
        key_prefix=f"{team}-",
    )
    add_customers(
        db,
        team,
        [
            {"started_at": date(2020, 1, 1), "annual_revenue": 1000, "acquisition_cost": 1000}
            for _ in range(18)
        ]
        + [
            {
                "started_at": date(2020, 1, 1),
                "ended_at": date(2026, 5, 1),
                "annual_revenue": 1000,
                "acquisition_cost": 1000,
            }
            for _ in range(2)
        ],
    )
    # One alert this week, resolved in 2 h, first response after 1 h.
    add_alert(
        db,
        team,
        created_at=datetime(2026, 11, 18, 9, 0, tzinfo=UTC),
        first_response_after=timedelta(hours=1),
        resolved_after=timedelta(hours=2),
        day=date(2026, 1, 1),
    )


def test_metrics_json_known_week(cli, db: Engine) -> None:
    _known_week(db)
    result = cli("metrics", "--period", "week", "--date", "2026-11-18", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["period"] == {"start": "2026-11-16", "end": "2026-11-22"}
    nps = report["nps"]
    # 6 promoters, 2 passives, 2 detractors of 10.
    assert (nps["score"], nps["n"], nps["promoters"], nps["passives"], nps["detractors"]) == (
        40.0,
        10,
        6,
        2,
        2,
    )
    assert nps["previous"] == 0.0 and nps["change"] == "stable"
    assert nps["ci95"][0] < 40.0 < nps["ci95"][1]
    assert report["csat"] == {"score": 75.0, "n": 4, "previous": None, "change": "stable"}
    assert report["ces"] == {"score": 6.0, "n": 3, "previous": None, "change": "stable"}
    # (70 + 75 + 83.33) / 3; previous only NPS 0 -> 50.
    assert report["csi"] == {"score": 76.1, "previous": 50.0}
    # 2 lost of (20 + 18) / 2 = 19 -> 10.5 %; CLV 1,000 x 9.5 years - 1,000.
    assert report["churn"] == {"rate": 10.5, "lost": 2, "average_customers": 19.0}
    assert report["retention"] == {"rate": 89.5}
    assert report["clv"] == {"average": 8500.0}
    assert report["detractor_followup"] == {
        "alerts": 1,
        "handled_within_24h": 1,
        "open_overdue": 0,
        "median_hours_to_first_response": 1.0,
    }
    assert "breakdown" not in report


def test_metrics_by_segment_and_team_scoping(cli, db: Engine) -> None:
    _known_week(db, "T1")
    add_answers(db, "T2", [(WEEK[0], "nps", 0, "retail")] * 1, key_prefix="t2-")
    result = cli(
        "metrics", "--date", "2026-11-18", "--by", "segment", "--format", "json", "--team", "T1"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["nps"]["n"] == 10
    assert report["breakdown"] == [
        {"key": "(none)", "nps": 0.0, "csat": 75.0, "ces": 6.0, "n": 8},
        {"key": "retail", "nps": 100.0, "csat": None, "ces": None, "n": 6},
        {"key": "business", "nps": -66.7, "csat": None, "ces": None, "n": 3},
    ]
    other = json.loads(
        cli("metrics", "--date", "2026-11-18", "--format", "json", "--team", "T2").stdout
    )
    assert other["nps"]["n"] == 1 and other["nps"]["score"] == -100.0
    assert other["churn"]["lost"] == 0 and other["detractor_followup"]["alerts"] == 0
    # Two workspaces and no --team: which one is meant is a usage error.
    ambiguous = cli("metrics", "--format", "json")
    assert ambiguous.exit_code == 2 and "--team" in ambiguous.stderr


def test_metrics_empty_database(cli) -> None:
    result = cli("metrics", "--period", "month", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for metric in ("nps", "csat", "ces"):
        assert report[metric]["score"] is None and report[metric]["n"] == 0
    assert report["csi"] == {"score": None, "previous": None}
    assert report["churn"]["rate"] is None and report["clv"]["average"] is None
    assert report["detractor_followup"]["alerts"] == 0
    # Default: the last complete month in the (default UTC) timezone.
    expected = last_complete("month", datetime.now(UTC), ZoneInfo("UTC"))
    assert report["period"] == {
        "start": expected.start.isoformat(),
        "end": expected.end.isoformat(),
    }


def test_metrics_default_period_uses_workspace_timezone(cli) -> None:
    assert cli("config", "set", "timezone", "Pacific/Kiritimati").exit_code == 0
    report = json.loads(cli("metrics", "--format", "json").stdout)
    expected = last_complete("week", datetime.now(UTC), ZoneInfo("Pacific/Kiritimati"))
    assert report["period"]["start"] == expected.start.isoformat()


def test_metrics_table(cli, db: Engine) -> None:
    _known_week(db)
    result = cli("metrics", "--date", "2026-11-18", "--by", "touchpoint")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "2026-11-16 to 2026-11-22" in out
    for label in ("NPS", "CSAT", "CES", "CSI", "Churn", "Retention", "CLV", "Detractor alerts"):
        assert label in out
    assert "40.0*" in out and "75.0%*" in out and "6.00*" in out  # small samples marked
    assert "stable" in out and "8,500.00" in out
    assert "Breakdown" in out and "web" in out and "phone" in out
    assert "small sample: fewer than 30 answers" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "18.11.2026"], "--date: expected a date like 2026-11-20"),
        (["--date", "2026-02-30"], "--date"),
        (["--period", "fortnight"], "--period: period must be one of week, month"),
        (["--by", "customer"], "--by: expected one of segment, touchpoint"),
        (["--format", "xml"], "--format: expected one of table, json"),
    ],
)
def test_metrics_bad_options_are_usage_errors(cli, args: list[str], message: str) -> None:
    result = cli("metrics", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def _fill_other_kinds(db: Engine, team: str) -> None:
    add_customers(
        db,
        team,
        [
            {
                "customer_id": f"{team}-K1",
                "started_at": date(2024, 1, 2),
                "annual_revenue": "1234.50",
                "acquisition_cost": 200,
            }
        ],
    )
    add_alert(db, team, created_at=datetime(2026, 11, 18, 9, 0, tzinfo=UTC))
    with session_scope(db) as s:
        s.add(Insight(team_id=team, reporter="U1", text=f'{team}: onboarding, "too" slow\nhelp'))
        shout = Shoutout(team_id=team, giver="U1", text="Called the customer back", promise="Fast")
        s.add(shout)
        s.flush()
        assert shout.id is not None
        s.add_all(
            [ShoutoutReceiver(shoutout_id=shout.id, user_id=u, team_id=team) for u in ("U3", "U2")]
        )
        survey = Survey(team_id=team, name="Pulse", definition={"questions": []})
        s.add(survey)
        s.flush()
        assert survey.id is not None
        rnd = SurveyRound(
            team_id=team, survey_id=survey.id, closes_at=datetime(2026, 11, 20, tzinfo=UTC)
        )
        s.add(rnd)
        s.flush()
        assert rnd.id is not None
        s.add_all(
            [
                SurveyAnswer(
                    team_id=team, round_id=rnd.id, question_id="enps", slot="U-SECRET", score=9
                ),
                SurveyAnswer(
                    team_id=team,
                    round_id=rnd.id,
                    question_id="idea",
                    slot="U-SECRET",
                    value="More demos",
                ),
            ]
        )


def test_export_each_kind_csv_and_json(cli, db: Engine, tmp_path: Path) -> None:
    add_answers(db, "T1", [(WEEK[0], "nps", 9, "retail", "web")], key_prefix="exp")
    _fill_other_kinds(db, "T1")
    _fill_other_kinds(db, "T2")
    expected_rows = {
        "responses": 2,
        "customers": 1,
        "insights": 1,
        "shoutouts": 1,
        "alerts": 1,
        "surveys": 2,
    }
    for kind, count in expected_rows.items():
        result = cli("export", kind, "--team", "T1")
        assert result.exit_code == 0, result.output
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert len(rows) == count, kind
        assert f"exported {count} {kind}" in result.stderr
        assert all(r.get("team_id", "T1") == "T1" for r in rows), kind
        out = tmp_path / f"{kind}.json"
        result = cli("export", kind, "--format", "json", "--out", str(out), "--team", "T1")
        assert result.exit_code == 0, result.output
        data = json.loads(out.read_text(encoding="utf-8"))
        assert len(data) == count and list(data[0]) == list(rows[0]), kind

    responses = list(csv.DictReader(io.StringIO(cli("export", "responses", "--team", "T1").stdout)))
    assert "batch_id" not in responses[0]
    assert {r["metric"] for r in responses} == {"nps"} and responses[0]["segment"] == "retail"
    customers = json.loads((tmp_path / "customers.json").read_text())
    assert customers[0]["customer_id"] == "T1-K1" and customers[0]["annual_revenue"] == 1234.5
    assert customers[0]["started_at"] == "2024-01-02"
    insights = list(csv.DictReader(io.StringIO(cli("export", "insights", "--team", "T1").stdout)))
    assert insights[0]["text"] == 'T1: onboarding, "too" slow\nhelp'  # quoted, newline kept
    shoutouts = json.loads((tmp_path / "shoutouts.json").read_text())
    assert shoutouts[0]["receivers"] == "U2 U3"
    alerts = json.loads((tmp_path / "alerts.json").read_text())
    assert alerts[0]["metric"] == "nps" and alerts[0]["score"] == 2
    assert alerts[0]["created_at"].startswith("2026-11-18T09:00:00")
    surveys = (tmp_path / "surveys.json").read_text()
    assert "U-SECRET" not in surveys and "slot" not in surveys
    assert {(a["question_id"], a["score"], a["value"]) for a in json.loads(surveys)} == {
        ("enps", 9, None),
        ("idea", None, "More demos"),
    }


def test_export_empty_and_bad_input(cli, tmp_path: Path) -> None:
    result = cli("export", "insights", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    result = cli("export", "insights")
    assert result.stdout.strip().startswith("id,team_id,reporter,text")
    bad_kind = cli("export", "people")
    assert bad_kind.exit_code == 2 and "KIND: expected one of responses" in bad_kind.stderr
    bad_format = cli("export", "responses", "--format", "xlsx")
    assert bad_format.exit_code == 2 and "csv, json" in bad_format.stderr
    nowhere = cli("export", "responses", "--out", str(tmp_path / "missing" / "x.csv"))
    assert nowhere.exit_code == 1 and "--out: cannot write" in nowhere.stderr
    assert not (tmp_path / "missing").exists()


def test_config_set_show_unset(cli) -> None:
    result = cli("config", "set", "alerts.channel", "<#C0123ABCD|cx-alerts>")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "alerts.channel = C0123ABCD"
    assert cli("config", "set", "alerts.route.Retail", "C0999ZZZZ").exit_code == 0
    assert cli("config", "set", "digest.schedule", "Friday 9:00").stdout.strip() == (
        "digest.schedule = fri 09:00"
    )
    show = cli("config", "show")
    assert show.exit_code == 0
    lines = {
        line.split("│")[1].strip(): line
        for line in show.stdout.splitlines()
        if line.count("│") >= 4 and line.split("│")[1].strip()
    }
    assert "C0123ABCD" in lines["alerts.channel"]
    assert "C0999ZZZZ" in lines["alerts.route.Retail"]
    assert "fri 09:00" in lines["digest.schedule"] and "mon 08:00" in lines["digest.schedule"]
    assert "24" in lines["alerts.sla_hours"]  # default shown, nothing stored
    assert "CXBOT_TIMEZONE (UTC)" in lines["timezone"]
    assert cli("config", "unset", "alerts.channel").stdout.strip() == "alerts.channel unset"
    assert "C0123ABCD" not in cli("config", "show").stdout


def test_config_unknown_key_and_bad_value(cli) -> None:
    unknown = cli("config", "set", "alert.chanel", "C0123ABCD")
    assert unknown.exit_code == 1
    assert "unknown setting 'alert.chanel'" in unknown.stderr
    assert "alerts.channel" in unknown.stderr
    bad = cli("config", "set", "thresholds.nps", "eleven")
    assert bad.exit_code == 1
    assert "thresholds.nps: expected a whole number from 0 to 10, got 'eleven'" in bad.stderr
    bad_tz = cli("config", "set", "timezone", "Oslo")
    assert bad_tz.exit_code == 1 and "IANA timezone" in bad_tz.stderr
    assert "Traceback" not in bad.output + unknown.output
    assert cli("config", "set", "thresholds.nps").exit_code == 2  # missing VALUE


def test_config_never_shows_a_secret(cli) -> None:
    key = "webhook-key-of-this-workspace-42"
    result = cli("config", "set", "webhook.secret", key)
    assert result.exit_code == 0, result.output
    assert key not in result.output and "(set, hidden)" in result.stdout
    show = cli("config", "show")
    assert key not in show.stdout
    line = next(x for x in show.stdout.splitlines() if "webhook.secret" in x)
    assert "(set, hidden)" in line
    # A refused value is not echoed either (it may be most of a real key).
    bad = cli("config", "set", "webhook.secret", "short secret")
    assert bad.exit_code == 1 and "short secret" not in bad.output
    assert "webhook.secret: expected at least 16 characters" in bad.stderr
    assert cli("config", "unset", "webhook.secret").stdout.strip() == "webhook.secret unset"
    assert "(set, hidden)" not in cli("config", "show").stdout


def test_money_round_trip_in_csv(cli, db: Engine) -> None:
    add_customers(
        db,
        "T1",
        [
            {
                "customer_id": "K",
                "started_at": date(2025, 1, 1),
                "annual_revenue": Decimal("1000.10"),
            }
        ],
    )
    rows = list(csv.DictReader(io.StringIO(cli("export", "customers").stdout)))
    assert Decimal(rows[0]["annual_revenue"]) == Decimal("1000.10")
    assert rows[0]["ended_at"] == "" and rows[0]["acquisition_cost"] == ""
