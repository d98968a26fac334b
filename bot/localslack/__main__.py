"""`python -m bot.localslack [--port N]`: serves the demo workspace until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from bot.localslack.server import LocalSlack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.localslack", description=__doc__)
    parser.add_argument("--port", type=int, default=3999, help="TCP port (0 = any free port)")
    parser.add_argument("--no-rate-limits", action="store_true", help="never answer 429")
    parser.add_argument("--rate-scale", type=float, default=1.0, help="2.0 allows twice as many")
    opts = parser.parse_args(argv)
    if opts.rate_scale <= 0:
        parser.error("--rate-scale must be positive")
    slack = LocalSlack.demo(
        port=opts.port, rate_limits=not opts.no_rate_limits, rate_scale=opts.rate_scale
    )
    try:
        slack.start()
    except OSError as exc:
        print(f"error: cannot listen on 127.0.0.1:{opts.port}: {exc.strerror}", file=sys.stderr)
        return 1
    print(slack.base_url, flush=True)
    print(f"bot token: {slack.bot_token}  team: {slack.team_id}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        slack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
