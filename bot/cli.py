"""`cxbot`: the command line (CONTRACT.md, 'Command line').

Start-up is kept to Typer alone: `cxbot --help` and `cxbot --version` import no
database, data-frame or feature module, and each command imports what it uses when
it runs (benchmarks/startup.py measures it).
"""

from __future__ import annotations

import typer

from bot.commands import common

app = typer.Typer(
    name="cxbot",
    help="A Slack bot that makes a company customer-centric.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    # Plain help, as git and pip print it: Rich's boxes cost more to import than the rest of
    # `cxbot --help` takes (benchmarks/startup.py).
    rich_markup_mode=None,
)
db_app = typer.Typer(help="The database.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(db_app, name="db")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cxbot {common.version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True, help="Print the version."
    ),
    quiet: bool = common.QUIET,
) -> None:
    """A Slack bot that makes a company customer-centric."""
    # One process may run several commands (tests, CliRunner): each starts loud.
    common.QUIETLY.set(quiet)


@db_app.command("upgrade")
def db_upgrade(fmt: str = common.FORMAT, quiet: bool = common.QUIET) -> None:
    """Apply database migrations (also done automatically at start)."""
    from storage.db import current_revision

    cfg = common.settings()
    eng = common.engine(cfg)
    revision = current_revision(eng)
    common.summary(fmt, {"revision": revision}, [f"database at revision {revision}"])


def _register() -> None:
    # The commands of a feature live in its package (bot/handlers/<feature>/cli.py), those
    # of the bot as a whole under bot/commands; all of them import only Typer at the top,
    # so `cxbot --help` imports no feature (docs/architecture.md).
    from bot.commands import demo, forget, imports, runtime, sandbox
    from bot.handlers.digest import cli as digest
    from bot.handlers.mail import cli as mail
    from bot.handlers.metrics import cli as metrics
    from bot.handlers.pulse import cli as pulse

    for module in (imports, metrics, demo, runtime, sandbox, digest, pulse, forget, mail):
        module.register(app)


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
