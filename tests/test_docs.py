"""The README documents what the product has: commands, settings, slash commands.

`python -m tests.test_docs` writes the README's settings table from the settings model.
"""

from __future__ import annotations

from pathlib import Path

import typer.main
import yaml

from bot.cli import app
from core.config_keys import FAMILIES, KEYS, ConfigKey

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SETTINGS_HEADER = "| key | what | value | default |"


def test_readme_has_the_two_commands_on_its_first_screen() -> None:
    first_screen = "\n".join(README.splitlines()[:25])
    assert "scripts/start" in first_screen
    assert "scripts/test" in first_screen
    assert (ROOT / "scripts" / "start").stat().st_mode & 0o111
    assert (ROOT / "scripts" / "test").stat().st_mode & 0o111


def test_every_workspace_setting_is_documented() -> None:
    missing = [name for name in KEYS if f"`{name}`" not in README]
    assert missing == []


def _cell(text: str) -> str:
    # `<care@acme.example>` would be read as a link, a `|` as the end of the cell.
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _row(spec: ConfigKey) -> str:
    if spec.default is not None:
        default = f"`{spec.default}`"
    elif spec.environment:
        default = f"as `{spec.environment}`"
    else:
        default = "— (never shown)" if spec.secret else "—"
    cells = [f"`{spec.name}`", _cell(spec.description), _cell(spec.expected), default]
    return "| " + " | ".join(cells) + " |"


def settings_table() -> list[str]:
    """The README's table of workspace settings, as the settings model has them."""
    rows = [_row(spec) for spec in [*KEYS.values(), *FAMILIES.values()]]
    return [SETTINGS_HEADER, "|---|---|---|---|", *rows]


def readme_settings_table(readme: str) -> tuple[int, int]:
    """Where the settings table is in the README: its first line and the line after it."""
    lines = readme.splitlines()
    start = lines.index(SETTINGS_HEADER)
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return start, end


def test_the_readme_settings_table_is_the_settings_model() -> None:
    start, end = readme_settings_table(README)
    # On a difference: `python -m tests.test_docs` writes the table anew.
    assert README.splitlines()[start:end] == settings_table()


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


if __name__ == "__main__":
    start, end = readme_settings_table(README)
    lines = README.splitlines()
    lines[start:end] = settings_table()
    (ROOT / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
