"""The container files say what README "Container" says: the image's command, port,
health check, user and variables, and the compose file's services and variables.

No Docker daemon is needed: the files are read as text and YAML (CI lints the
Dockerfile with hadolint); the settings they pass are loaded as `cxbot serve` would.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
SERVERS = ("cxbot-1", "cxbot-2")


def container_section() -> str:
    return README.split("\n## Container\n", 1)[1].split("\n## ", 1)[0]


def documented(row: str) -> str:
    """The cell after `| row |` in the section's table."""
    found = re.search(rf"^\| {re.escape(row)} \| (.+) \|$", container_section(), re.MULTILINE)
    assert found, f"README Container: no '{row}' row"
    return found.group(1)


def codes(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def final_stage() -> str:
    return DOCKERFILE.rsplit("\nFROM ", 1)[1]


def instruction(name: str) -> str:
    """The last `name` instruction of the final stage, continuation lines joined."""
    joined = final_stage().replace("\\\n", " ")
    found = re.findall(rf"^{name} (.+)$", joined, re.MULTILINE)
    assert found, f"Dockerfile: no {name}"
    return str(found[-1])


def image_env() -> dict[str, str]:
    return dict(shlex.split(pair)[0].split("=", 1) for pair in shlex.split(instruction("ENV")))


def test_the_image_runs_the_documented_command_on_the_documented_port() -> None:
    command = json.loads(instruction("CMD"))
    assert codes(documented("command")) == [" ".join(command)]
    assert command[:2] == ["cxbot", "serve"]
    port = codes(documented("port"))[0]
    assert instruction("EXPOSE").split() == [port]
    assert image_env()["PORT"] == port
    for server in SERVERS:
        assert [p.split(":")[-1] for p in COMPOSE["services"][server]["ports"]] == [port]


def test_the_image_is_slim_non_root_and_checks_its_health() -> None:
    assert re.match(r"python:3\.\d+-slim\b", final_stage())
    user = instruction("USER").split(":")[0]
    assert user.isdigit() and user != "0"
    assert f"uid {user}" in documented("user")
    health = instruction("HEALTHCHECK")
    assert "/healthz" in health and "GET /healthz" in documented("health check")
    assert "--require-hashes -r requirements.lock" in DOCKERFILE


def test_the_image_variables_are_the_documented_ones() -> None:
    env = image_env()
    env.pop("PATH")
    env.pop("PYTHONUNBUFFERED")
    env.pop("PYTHONDONTWRITEBYTECODE")
    assert sorted(codes(documented("variables set in the image"))) == sorted(
        f"{k}={v}" for k, v in env.items()
    )


def test_compose_passes_the_documented_variables_and_each_is_a_setting() -> None:
    shared = COMPOSE["x-cxbot"]["environment"]
    assert sorted(codes(documented("variables compose passes on"))) == sorted(shared)
    fields = {name.upper() for name in Settings.model_fields}
    assert set(shared) <= fields, sorted(set(shared) - fields)
    configuration = README.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    for name in shared:
        assert f"`{name}`" in configuration, f"{name} is not in README Configuration"


def test_compose_migrates_once_then_starts_two_servers_on_postgres() -> None:
    services = COMPOSE["services"]
    assert services["migrate"]["command"] == ["cxbot", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    for server in SERVERS:
        depends = services[server]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert services[server].get("command") is None  # the image's: cxbot serve
    assert services["postgres"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert "pgdata" in COMPOSE["volumes"]
    assert COMPOSE["x-cxbot"]["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")


def interpolated(value: str, given: dict[str, str]) -> str:
    """Compose's `${NAME:-default}`, as `docker compose` fills it in."""
    return re.sub(
        r"\$\{(\w+):-([^}]*)\}", lambda m: given.get(m.group(1)) or m.group(2), str(value)
    )


def test_the_settings_compose_passes_load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    given = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "0123456789abcdef"}
    for name, value in COMPOSE["x-cxbot"]["environment"].items():
        monkeypatch.setenv(name, interpolated(value, given))
    for name, value in image_env().items():
        if name != "PATH":
            monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://cxbot:cxbot@postgres:5432/cxbot"
    assert settings.port == 3000 and not settings.oauth_enabled
    assert settings.openai_api_key is None  # an empty variable is no key: the offline analyzer
