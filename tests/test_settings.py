"""Settings: defaults, validation, and one clear line naming a bad variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings

ENV_VARS = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "DATABASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "CXBOT_WEBHOOK_SECRET",
    "CXBOT_TIMEZONE",
    "CXBOT_LOCALE",
    "CXBOT_ADMINS",
    "PORT",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_SCOPES",
    "SLACK_REDIRECT_URI",
    "CXBOT_LEADER_RETRY_SECONDS",
    "CXBOT_LOG_FORMAT",
    "CXBOT_HEALTH_MAX_BACKLOG_SECONDS",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout


def test_defaults_match_the_contract() -> None:
    s = load_settings()
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.database_url == "sqlite:///cxbot.db"
    assert s.cxbot_timezone == "UTC"
    assert s.cxbot_locale == "en"
    assert s.port == 3000
    assert s.mode == "sandbox"
    assert s.admins == frozenset()


def test_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    assert load_settings().mode == "http"
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    assert load_settings().mode == "socket"


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CXBOT_TIMEZONE=Europe/Oslo\nCXBOT_LOCALE=nb\nOPENAI_API_KEY=\n")
    s = load_settings()
    assert s.cxbot_timezone == "Europe/Oslo"
    assert s.cxbot_locale == "nb"
    assert s.openai_api_key is None  # blank means unset
    assert str(s.tz) == "Europe/Oslo"


def test_postgres_url_uses_psycopg3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db:5432/cx")
    assert load_settings().database_url == "postgresql+psycopg://u@db:5432/cx"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("CXBOT_TIMEZONE", "Mars/Base", "CXBOT_TIMEZONE: unknown timezone 'Mars/Base'"),
        ("CXBOT_LOCALE", "fr", "CXBOT_LOCALE: must be one of en, nb, da, sv"),
        ("SLACK_BOT_TOKEN", "xoxp-user", "SLACK_BOT_TOKEN: must be a bot token"),
        ("SLACK_APP_TOKEN", "abc", "SLACK_APP_TOKEN: must be an app-level token"),
        ("PORT", "99999", "PORT:"),
        ("PORT", "eighty", "PORT:"),
        ("DATABASE_URL", "cxbot.db", "DATABASE_URL: must be a SQLAlchemy URL"),
        ("SLACK_API_URL", "slack.com", "SLACK_API_URL: must be an http(s) URL"),
        ("CXBOT_ADMINS", "U123,bob", "CXBOT_ADMINS: 'bob' is not a Slack user ID"),
    ],
)
def test_bad_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    message = str(err.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_cli_reports_a_bad_setting_without_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "CXBOT_TIMEZONE": "Nowhere/Land", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"],
        cwd=tmp_path,
        env=env | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "error: CXBOT_TIMEZONE: unknown timezone 'Nowhere/Land' "
        "(use an IANA name such as Europe/Oslo)"
    )
    assert "Traceback" not in proc.stderr


def test_settings_is_the_single_source() -> None:
    assert set(Settings.model_fields) == {n.lower() for n in ENV_VARS}
