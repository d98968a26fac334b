"""The README documents what the product has: commands, settings, slash commands."""

from __future__ import annotations

from pathlib import Path

import typer.main
import yaml

from bot.cli import app
from core.config_keys import KEYS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_has_the_two_commands_on_its_first_screen() -> None:
    first_screen = "\n".join(README.splitlines()[:25])
    assert "scripts/start" in first_screen
    assert "scripts/test" in first_screen
    assert (ROOT / "scripts" / "start").stat().st_mode & 0o111
    assert (ROOT / "scripts" / "test").stat().st_mode & 0o111


def test_every_workspace_setting_is_documented() -> None:
    missing = [name for name in KEYS if f"`{name}`" not in README]
    assert missing == []


def test_every_cli_command_is_documented() -> None:
    group = typer.main.get_group(app)
    missing = []
    for name, command in group.commands.items():
        subcommands = getattr(command, "commands", None)
        names = [f"cxbot {name} {sub}" for sub in subcommands] if subcommands else [f"cxbot {name}"]
        missing += [n for n in names if n not in README]
    assert missing == []


def test_every_slash_command_in_the_manifest_is_documented() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert {"/insight", "/shoutout", "/pulse", "/cx"} <= set(commands)
    assert [c for c in commands if f"`{c}" not in README] == []


def test_linked_docs_exist() -> None:
    for target in ("docs/digest-2026-W30.txt", "docs/digest-2026-W30.png", "manifest.yml"):
        assert target in README
        assert (ROOT / target).exists(), target
