"""`cxbot`: the command line (CONTRACT.md, 'Command line')."""

from __future__ import annotations

import typer

from bot.commands import common

app = typer.Typer(
    name="cxbot",
    help="A Slack bot that makes a company customer-centric.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (also done automatically at start)."""
    from storage.db import current_revision

    cfg = common.settings()
    eng = common.engine(cfg)
    typer.echo(f"database at revision {current_revision(eng)}")


def _register() -> None:
    # Each feature keeps its commands in its own module under bot/commands.
    from bot.commands import demo, digest, forget, imports, pulse, reporting, runtime, sandbox

    for module in (imports, reporting, demo, runtime, sandbox, digest, pulse, forget):
        module.register(app)


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
