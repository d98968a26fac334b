"""A bot process reduced to its outbox: runs a Dispatcher until it is killed.

    python -m tests.bot.outbox_worker DATABASE_URL SLACK_API_URL TOKEN EPOCH SPEED

Its clock runs SPEED times faster than real time from EPOCH (a Unix time shared by
every worker of a test), so retry back-offs and leases of minutes pass in seconds
while all workers agree on what time it is.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient

from bot.outbox import Dispatcher
from bot.services import Services
from bot.settings import load_settings
from storage.db import make_engine


def main(argv: list[str]) -> int:
    database_url, api_url, token, epoch_text, speed_text = argv
    epoch, speed = float(epoch_text), float(speed_text)
    start = datetime.fromtimestamp(epoch, UTC)

    def clock() -> datetime:
        return start + timedelta(seconds=(time.time() - epoch) * speed)

    client = WebClient(token=token, base_url=api_url, timeout=5, retry_handlers=[])
    settings = load_settings(_env_file=None, database_url=database_url, slack_api_url=api_url)
    services = Services(settings, make_engine(database_url), clock)
    dispatcher = Dispatcher(services, lambda _team: client, batch=20, idle_wait=0.05)
    dispatcher.start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
