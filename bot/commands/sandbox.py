"""`cxbot sandbox`: try the whole bot in a terminal, with no Slack account."""

from __future__ import annotations

import typer

from bot.commands import common


def register(app: typer.Typer) -> None:
    app.command("sandbox")(sandbox_command)


def sandbox_command() -> None:
    """The whole bot on this machine: type slash commands and press buttons in a terminal,
    backed by a local Slack-compatible server and the real database."""
    from bot.sandbox import main

    main(common.settings())
