"""The command line's conventions: a start-up that loads no feature, --version, -h, `-` for
standard input, shell completion, --quiet and --format json on commands with a summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import String
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.commands.common import LOCAL_TEAM, version
from bot.handlers.metrics import cli as metrics_cli
from core.metrics import SMALL_SAMPLE
from storage import light
from storage.models import Alert, Customer, ResponseDaily, ResponseMonthly, WorkspaceSetting

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "responses_sample.csv"
# What `cxbot --help` must not load: each takes longer to import than the help takes to print.
HEAVY = ("pandas", "numpy", "sqlalchemy", "alembic", "sqlmodel", "matplotlib", "sklearn", "scipy")
runner = CliRunner()


def loaded_modules(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a `cxbot ARGS` process imported (from Python's -X importtime)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def top_level(modules: set[str]) -> set[str]:
    return {m.split(".", 1)[0] for m in modules}


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Result]:
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CXBOT_TIMEZONE", "Europe/Oslo")
    monkeypatch.setenv("DATABASE_URL", db_url)

    def run(*args: str, input: bytes | str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return run


def test_help_and_version_load_no_heavy_module() -> None:
    for args in (["--help"], ["--version"], ["metrics", "--help"], ["import", "-h"]):
        heavy = top_level(loaded_modules(*args)) & set(HEAVY)
        assert not heavy, f"cxbot {' '.join(args)} imported {sorted(heavy)}"


def test_metrics_on_a_current_database_loads_no_migration_model_or_data_frame(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cx.db'}"}
    env.pop("SLACK_BOT_TOKEN", None)
    loaded_modules("db", "upgrade", env=env)  # the first start migrates
    loaded = loaded_modules("metrics", "--format", "json", env=env)
    heavy = {"alembic", "sqlmodel", "pandas", "numpy", "matplotlib", "sklearn", "openai"}
    assert not top_level(loaded) & heavy
    assert "storage.models" not in loaded


def test_light_tables_match_the_models() -> None:
    pairs = [
        (light.response_daily, ResponseDaily),
        (light.response_monthly, ResponseMonthly),
        (light.customer, Customer),
        (light.alert, Alert),
        (light.workspace_setting, WorkspaceSetting),
    ]
    for lite, model in pairs:
        full = model.__table__  # type: ignore[attr-defined]
        assert lite.name == full.name
        for col in lite.c:
            assert col.name in full.c, f"{full.name}.{col.name}"
            expected = full.c[col.name].type
            # SQLModel's str columns: a String that picks its own length.
            expected = String() if type(expected).__name__ == "AutoString" else expected
            assert isinstance(expected, type(col.type)), f"{full.name}.{col.name}"
    assert metrics_cli.SMALL_SAMPLE == SMALL_SAMPLE


def test_version_and_short_help() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"cxbot {version()}"
    assert runner.invoke(app, ["-V"]).stdout == result.stdout
    for args in (["-h"], ["import", "-h"], ["import", "responses", "-h"], ["config", "set", "-h"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        assert "Usage:" in result.stdout


def test_shell_completion_is_offered() -> None:
    assert "--install-completion" in runner.invoke(app, ["--help"]).stdout
    script = Path(sys.executable).with_name("cxbot")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
    done = subprocess.run(
        [*command, "--show-completion", "bash"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SHELL": "/bin/bash"},
    )
    assert done.returncode == 0, done.stderr
    assert "_CXBOT_COMPLETE" in done.stdout


def test_import_from_standard_input(cli, tmp_path: Path) -> None:
    data = SAMPLE.read_bytes()
    result = cli("import", "responses", "-", "--format", "json", input=data)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["accepted"] > 0 and summary["duplicates"] == 0 and summary["complete"]
    if summary["rejected"]:
        assert (tmp_path / "stdin.rejected.csv").exists()
    again = cli("import", "responses", "-", "--format", "json", input=data)
    assert json.loads(again.stdout)["duplicates"] == summary["accepted"]
    customers = "customer_id,started_at\nC1001,2024-01-01\nC1002,2025-03-01\n"
    result = cli("import", "customers", "-", "--format", "json", input=customers)
    assert json.loads(result.stdout)["inserted"] == 2


def test_quiet_prints_nothing_but_errors(cli, tmp_path: Path) -> None:
    csv_file = tmp_path / "answers.csv"
    csv_file.write_bytes(SAMPLE.read_bytes())
    result = cli("import", "responses", str(csv_file), "--quiet")
    assert result.exit_code == 0 and result.stdout == ""
    result = cli("-q", "config", "set", "alerts.channel", "C0ALERTS")
    assert result.exit_code == 0 and result.stdout == ""
    loud = cli("config", "unset", "alerts.channel")  # the next command is loud again
    assert loud.stdout.strip() == "alerts.channel unset"
    failed = cli("-q", "import", "responses", str(tmp_path / "missing.csv"))
    assert failed.exit_code == 1 and "missing.csv" in failed.stderr


def test_format_json_on_summaries(cli) -> None:
    upgraded = json.loads(cli("db", "upgrade", "--format", "json").stdout)
    assert upgraded["revision"]
    stored = json.loads(
        cli("config", "set", "alerts.channel", "C0ALERTS", "--format", "json").stdout
    )
    assert stored == {"key": "alerts.channel", "value": "C0ALERTS"}
    shown = json.loads(cli("config", "show", "--format", "json").stdout)
    assert shown["team_id"] == LOCAL_TEAM
    assert {"key": "alerts.channel", "value": "C0ALERTS"}.items() <= next(
        s for s in shown["settings"] if s["key"] == "alerts.channel"
    ).items()
    removed = json.loads(cli("config", "unset", "alerts.channel", "--format", "json").stdout)
    assert removed == {"key": "alerts.channel", "removed": True}
    forgot = cli("forget", "customer", "C404", "--yes", "--format", "json")
    assert json.loads(forgot.stdout)["erased"]["responses"] == 0
    bad = cli("db", "upgrade", "--format", "yaml")
    assert bad.exit_code == 2 and "--format" in bad.stderr


def test_a_bad_format_stops_the_command_before_it_does_anything(cli) -> None:
    refused = cli("config", "set", "alerts.sla_hours", "48", "--format", "xml")
    assert refused.exit_code == 2 and "--format" in refused.stderr
    cli("config", "set", "alerts.channel", "C0ALERTS")
    assert cli("config", "unset", "alerts.channel", "--format", "xml").exit_code == 2
    shown = json.loads(cli("config", "show", "--format", "json").stdout)
    values = {s["key"]: s["value"] for s in shown["settings"]}
    assert values["alerts.sla_hours"] is None and values["alerts.channel"] == "C0ALERTS"
    assert cli("demo-data", "--format", "xml").exit_code == 2
    assert json.loads(cli("metrics", "--format", "json").stdout)["nps"]["n"] == 0


def test_empty_standard_input_is_an_empty_file(cli) -> None:
    result = cli("import", "responses", "-")  # CliRunner's empty input is not a terminal
    assert result.exit_code == 1 and "-: the file is empty" in result.stderr
