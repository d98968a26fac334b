"""`cxbot serve`: the WSGI app of bot/web.py on gunicorn.

gthread workers (one process, many threads by default: SQLite, the default database,
wants one writer process). With `--workers N` the workers share their metrics through
PROMETHEUS_MULTIPROC_DIR (bot/observability.py): set before any worker starts, emptied
of an earlier run's samples, and a stopped worker's live gauges dropped.

SIGTERM and SIGINT both stop gracefully: the listening socket closes, requests in
flight finish (up to `graceful_timeout`), then the worker stops its background work
and exits.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.workers.gthread import ThreadWorker

from bot.priority import AckFirst
from bot.settings import Settings

log = logging.getLogger("cxbot.server")

DEFAULT_THREADS = 16
GRACEFUL_TIMEOUT = 30


class GracefulThreadWorker(ThreadWorker):
    """A gthread worker for which Ctrl-C (SIGINT) means "finish what you are doing"."""

    def init_signals(self) -> None:
        super().init_signals()
        import signal

        # gunicorn's default quits at once on SIGINT, cutting requests off mid-way.
        signal.signal(signal.SIGINT, self.handle_exit)

    def enqueue_req(self, conn: Any) -> None:
        # Requests waiting for a thread still owe their acks (AckFirst.queued).
        priority = self._priority()
        if priority is not None:
            priority.queued()
        try:
            super().enqueue_req(conn)
        except BaseException:
            if priority is not None:
                priority.answered()
            raise

    def handle(self, conn: Any) -> Any:
        try:
            return super().handle(conn)
        finally:
            priority = self._priority()
            if priority is not None:
                priority.answered()

    def _priority(self) -> AckFirst | None:
        services = getattr(self.wsgi, "services", None)
        return services.ack_first if services is not None else None


class GracefulArbiter(Arbiter):
    def handle_int(self) -> None:
        self.handle_term()


def _child_exit(_server: Any, worker: Any) -> None:
    from bot.observability import worker_gone

    worker_gone(worker.pid)


# The master imports no feature, client or metrics module: prometheus_client must first see
# PROMETHEUS_MULTIPROC_DIR (shared_metrics_dir), so the workers import them once forked.
def _post_worker_init(worker: Any) -> None:
    from bot.background import start_background

    services = getattr(worker.wsgi, "services", None)
    if services is not None:
        start_background(services)


def _worker_exit(_server: Any, worker: Any) -> None:
    close = getattr(getattr(worker, "wsgi", None), "close", None)
    if close is not None:
        close()  # requests already acknowledged are handled before the worker goes
    services = getattr(getattr(worker, "wsgi", None), "services", None)
    if services is not None:
        from bot.background import stop_background

        stop_background(services)


class Server(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Runs in each worker after the fork: database pools and threads belong to it.
        from bot.web import build_web_app

        return build_web_app(self.settings)

    def run(self) -> None:
        GracefulArbiter(self).run()


def gunicorn_options(
    *,
    host: str,
    port: int,
    workers: int = 1,
    threads: int = DEFAULT_THREADS,
    graceful_timeout: int = GRACEFUL_TIMEOUT,
    access_log: bool = False,
) -> dict[str, Any]:
    """The gunicorn configuration of `cxbot serve` (benchmarks reuse it for a bare app)."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "bot.server.GracefulThreadWorker",
        "graceful_timeout": graceful_timeout,
        "timeout": 60,
        "keepalive": 5,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "cxbot",
        "preload_app": False,
        "post_worker_init": _post_worker_init,
        "child_exit": _child_exit,
        "worker_exit": _worker_exit,
    }


def serve(
    settings: Settings,
    *,
    host: str = "0.0.0.0",
    port: int | None = None,
    workers: int = 1,
    threads: int = DEFAULT_THREADS,
    graceful_timeout: int = GRACEFUL_TIMEOUT,
    access_log: bool = False,
) -> None:
    """Serve until SIGTERM / SIGINT; blocks."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
    )
    options = gunicorn_options(
        host=host,
        port=port or settings.port,
        workers=workers,
        threads=threads,
        graceful_timeout=graceful_timeout,
        access_log=access_log,
    )
    Server(settings, options).run()


def shared_metrics_dir() -> Path:
    """PROMETHEUS_MULTIPROC_DIR for this server's workers: the operator's folder, else a new
    one; emptied either way. Must run before prometheus_client is imported (it reads the
    variable once), which is why `cxbot serve` execs this module in a fresh interpreter."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        folder = tempfile.mkdtemp(prefix="cxbot-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)
    return path


def main(argv: list[str] | None = None) -> None:
    """`python -m bot.server`: what `cxbot serve` execs once it has checked the settings.

    Running the server in a fresh interpreter keeps the gunicorn master small: it does not
    carry every import of the command line, and the workers it forks do not inherit them.
    """
    import argparse

    from bot.settings import SettingsError, load_settings

    shared_metrics_dir()

    parser = argparse.ArgumentParser(prog="cxbot serve")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--access-log", action="store_true")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise SystemExit(f"error: {exc}") from None
    serve(
        settings,
        host=args.host,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        access_log=args.access_log,
    )


if __name__ == "__main__":
    main()
