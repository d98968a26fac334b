"""`cxbot mail-in`: the SMTP server that brings customers' replies into their alerts' threads."""

from __future__ import annotations

import signal
import threading

import typer

from bot.commands import common


def register(app: typer.Typer) -> None:
    app.command("mail-in")(mail_in_command)


def mail_in_command(
    port: int = typer.Option(2525, "--port", min=1, max=65535, help="SMTP port to listen on."),
    host: str = typer.Option("0.0.0.0", "--host", help="Interface to listen on."),
    quiet: bool = common.QUIET,
) -> None:
    """Receive mail for reply+<token>@<mail.reply_domain> (point the domain's MX here, or
    forward port 25 to --port) and post each reply in its alert's thread."""
    from bot.handlers.mail.inbound import MailIn

    cfg = common.settings()
    eng = common.engine(cfg)
    server = MailIn(eng, host=host, port=port)
    try:
        server.start()
    except OSError as exc:
        common.fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    common.say(f"mail-in: taking replies on {host}:{port}")
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    try:
        done.wait()
    finally:
        server.stop()
        common.say("mail-in: stopped")
