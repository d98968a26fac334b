"""`cxbot run` and `cxbot serve`: start the bot (CONTRACT.md, 'Command line')."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import typer

from bot.commands import common

if TYPE_CHECKING:
    from bot.settings import Settings

PORT = typer.Option(None, "--port", min=1, max=65535, help="HTTP port (default: $PORT or 3000).")
HOST = typer.Option("0.0.0.0", "--host", help="Interface to listen on.")
WORKERS = typer.Option(1, "--workers", min=1, max=64, help="Worker processes.")
THREADS = typer.Option(16, "--threads", min=1, max=512, help="Threads per worker.")
ACCESS_LOG = typer.Option(False, "--access-log", help="Log every request.")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    app.command("run")(run_command)


def serve_command(
    port: int | None = PORT,
    host: str = HOST,
    workers: int = WORKERS,
    threads: int = THREADS,
    access_log: bool = ACCESS_LOG,
) -> None:
    """HTTP mode on a production server: /slack/events, /webhooks/responses, /healthz."""
    cfg = common.settings()
    _require(cfg.slack_signing_secret, "SLACK_SIGNING_SECRET", "to verify Slack's requests")
    if not cfg.oauth_enabled:  # with installs, each workspace brings its own token
        _require(cfg.slack_bot_token, "SLACK_BOT_TOKEN", "to call Slack")
    _serve(cfg, port=port, host=host, workers=workers, threads=threads, access_log=access_log)


def run_command(port: int | None = PORT, host: str = HOST) -> None:
    """Start the bot: Socket Mode with SLACK_APP_TOKEN, HTTP with SLACK_SIGNING_SECRET,
    otherwise the sandbox."""
    cfg = common.settings()
    if cfg.slack_app_token:
        _require(cfg.slack_bot_token, "SLACK_BOT_TOKEN", "for Socket Mode beside SLACK_APP_TOKEN")
        _socket_mode(cfg)
    elif cfg.slack_signing_secret:
        if not cfg.oauth_enabled:
            _require(cfg.slack_bot_token, "SLACK_BOT_TOKEN", "for HTTP mode")
        _serve(cfg, port=port, host=host, workers=1, threads=16, access_log=False)
    else:
        try:
            from bot.sandbox import main as sandbox_main
        except ImportError:
            common.fail("no Slack tokens are set and the sandbox is not part of this build")
        sandbox_main(cfg)


def _require(value: str | None, name: str, why: str) -> None:
    if not value:
        common.fail(f"{name} is not set (needed {why})")


def _check_slack(cfg: Settings) -> None:
    """Fail with one line now, rather than with a worker traceback later."""
    from slack_sdk.errors import SlackApiError

    if not cfg.slack_bot_token:
        return  # OAuth mode: tokens arrive with each workspace's install

    from bot.clients import web_client

    try:
        web_client(cfg).auth_test()
    except SlackApiError as exc:
        common.fail(f"SLACK_BOT_TOKEN: Slack refused the token ({exc.response.get('error')})")
    except Exception as exc:
        common.fail(f"SLACK_API_URL: cannot reach Slack at {cfg.slack_api_url}: {exc}")


def _serve(
    cfg: Settings, *, port: int | None, host: str, workers: int, threads: int, access_log: bool
) -> None:
    engine = common.engine(cfg)  # applies migrations once, before the workers start
    engine.dispose()
    _check_slack(cfg)
    typer.echo(f"cxbot serving on http://{host}:{port or cfg.port} (Ctrl-C stops)", err=True)
    args = ["--host", host, "--workers", str(workers), "--threads", str(threads)]
    if port:
        args += ["--port", str(port)]
    if access_log:
        args.append("--access-log")
    sys.stdout.flush()
    sys.stderr.flush()
    # Same process id (signals from a process manager still reach the server), fresh
    # interpreter: see bot.server.main.
    os.execv(sys.executable, [sys.executable, "-m", "bot.server", *args])


def _socket_mode(cfg: Settings) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import create_app
    from bot.background import start_background, stop_background
    from bot.services import Services
    from core.analyzer import make_analyzer

    engine = common.engine(cfg)
    _check_slack(cfg)
    services = Services(
        settings=cfg,
        engine=engine,
        analyzer=make_analyzer(cfg.openai_api_key, cfg.openai_base_url, cfg.openai_model),
    )
    bolt = create_app(cfg, services)
    start_background(services)
    typer.echo("cxbot connected in Socket Mode (Ctrl-C stops)", err=True)
    try:
        SocketModeHandler(bolt, cfg.slack_app_token).start()
    except KeyboardInterrupt:
        pass
    finally:
        stop_background(services)
