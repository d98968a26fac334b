"""CLV in the workspace's currency: the `currency` setting (ISO 4217, checked like every
setting) formats CLV as money in `/cx metrics` and the digest; unset, a plain number."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from core.config_keys import BadValueError, validate
from storage import settings_store
from tests.bot.slackkit import SlackKit
from tests.bot.test_cx import TEAM, ephemeral_reply, last_week_answers, store_answers
from tests.storage.answers_kit import add_customers

NBSP = "\u00a0"


def customers(engine: object) -> None:
    # 20 customers of 1,000 a year, 2 lost in the year: CLV 8,500 (see test_cli_reporting).
    rows = [{"started_at": date(2020, 1, 1), "annual_revenue": 1000, "acquisition_cost": 1000}]
    lost = [{**rows[0], "ended_at": date(2026, 5, 1)}]
    add_customers(engine, TEAM, rows * 18 + lost * 2)  # type: ignore[arg-type]


def test_currency_is_an_iso_4217_code() -> None:
    assert validate("currency", " nok ")[1] == "NOK"
    for bad in ("kroner", "XXY", "NO", "€"):
        with pytest.raises(BadValueError):
            validate("currency", bad)


def test_cli_config_sets_and_refuses_a_currency(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["config", "set", "currency", "sek"]).exit_code == 0
    shown = runner.invoke(app, ["config", "show"]).stdout
    assert "currency" in shown and "SEK" in shown
    refused = runner.invoke(app, ["config", "set", "currency", "kronor"])
    assert refused.exit_code != 0 and "ISO 4217" in refused.output


def test_clv_with_and_without_a_currency(slack: SlackKit, services: object) -> None:
    engine = services.engine  # type: ignore[attr-defined]
    store_answers(engine, last_week_answers())
    customers(engine)
    plain = ephemeral_reply(slack, slack.command("/cx", "metrics"))
    assert "Average CLV 8,500 (last 12 months)" in plain

    settings_store.set(engine, team_id=TEAM, key="currency", value="NOK")
    metrics = ephemeral_reply(slack, slack.command("/cx", "metrics"))
    assert "Average CLV NOK8,500.00" in metrics

    r = slack.command("/cx", "digest week")
    digest = str(slack.wait_reply(r, timeout=10))
    assert "NOK8,500.00" in digest

    norsk = ephemeral_reply(slack, slack.command("/cx", "metrics", user="U0BJORN"))
    assert f"8{NBSP}500,00{NBSP}kr" in norsk


def test_cli_metrics_table_shows_clv_as_money(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from storage.db import make_engine

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "CXBOT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    engine = make_engine(sqlite_url)
    try:
        customers(engine)
    finally:
        engine.dispose()
    runner = CliRunner()
    plain = runner.invoke(app, ["metrics", "--team", TEAM, "--date", "2026-11-18"])
    assert plain.exit_code == 0, plain.output
    assert "8,500.00" in plain.stdout and "€" not in plain.stdout
    assert runner.invoke(app, ["config", "set", "currency", "EUR", "--team", TEAM]).exit_code == 0
    money = runner.invoke(app, ["metrics", "--team", TEAM, "--date", "2026-11-18"])
    assert "€8,500.00" in money.stdout
