"""Render the documentation's example digest from the demo data, the way the bot posts it.

    .venv/bin/python benchmarks/render_digest_docs.py            # writes docs/digest-*.{png,txt}
    .venv/bin/python benchmarks/render_digest_docs.py --week 2026-W34 --locale nb

Seeds the demo year (`cxbot demo-data`, fixed `now` so the output is reproducible) into
a throw-away SQLite file, points `digest.channel` at a local Slack's #cx-digest, moves
the clock to the Monday morning after the chosen week and runs the scheduled job and the
outbox, exactly as a running bot would. What lands in the channel is written out: the
message as the terminal sandbox shows it (`docs/digest-<week>.txt`), the Block Kit JSON
(`docs/digest-<week>.json`) and the uploaded chart (`docs/digest-<week>.png`).
The default week is the first week of the demo's delivery problem.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.clients import dispatch_client  # noqa: E402
from bot.demo import seed  # noqa: E402
from bot.handlers.digest.compose import workspace  # noqa: E402
from bot.handlers.digest.sweeps import due_at, run_schedule  # noqa: E402
from bot.localslack import LocalSlack  # noqa: E402
from bot.outbox import Dispatcher  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.views.text import Names, indent, render_message  # noqa: E402
from core.periods import period_containing  # noqa: E402
from storage import settings_store  # noqa: E402
from storage.db import make_engine, upgrade  # noqa: E402

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # the demo year ends the week before
TZ = "Europe/Oslo"
CHANNEL = "C0DIGEST"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--week", help="ISO week like 2026-W30 (default: the demo's dip)")
    parser.add_argument("--locale", default="en", choices=["en", "nb", "da", "sv"])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, LocalSlack.demo(rate_limits=False) as slack:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        engine = make_engine(url)
        upgrade(engine)
        team = slack.team_id
        story = seed(engine, team_id=team, tz=ZoneInfo(TZ), now=NOW)
        if args.week:
            year, week = args.week.split("-W")
            day = date.fromisocalendar(int(year), int(week), 1)
        else:
            day = story.dip_start
        period = period_containing("week", day)
        for key, value in (
            ("digest.channel", CHANNEL),
            ("locale", args.locale),
            ("digest.monthly.enabled", "off"),
            ("digest.quarterly.enabled", "off"),
            ("digest.yearly.enabled", "off"),
        ):
            settings_store.set(engine, team_id=team, key=key, value=value)

        settings = load_settings(
            _env_file=None,
            database_url=url,
            cxbot_timezone=TZ,
            slack_bot_token=slack.bot_token,
            slack_api_url=slack.base_url,
            openai_api_key=None,
        )
        place = workspace(Services(settings=settings, engine=engine), team)
        due = due_at(period, place.schedule, place.tz)
        at = due.astimezone(UTC) + timedelta(seconds=30)
        services = Services(settings=settings, engine=engine, clock=lambda: at)
        queued = run_schedule(services)
        client = dispatch_client(settings)
        Dispatcher(services, lambda _team: client).drain()
        engine.dispose()

        names = Names(
            {u["id"]: u["name"] for u in slack.users()},
            {c["id"]: c["name"] for c in slack.channels()},
        )
        messages = slack.messages(CHANNEL)
        (report,) = [m for m in messages if m.get("blocks")]
        (chart,) = slack.files()
        shown = [
            f"{names.channel(CHANNEL)}  cxbot:",
            indent(render_message(report, names).text),
            f"cxbot uploaded {chart['title']} ({chart['size']} bytes)",
        ]
        stem = f"digest-{period.label()}" + ("" if args.locale == "en" else f"-{args.locale}")
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{stem}.txt").write_text("\n".join(shown) + "\n", encoding="utf-8")
        (args.out / f"{stem}.json").write_text(
            json.dumps(
                {"text": report["text"], "blocks": report["blocks"]}, indent=2, ensure_ascii=False
            )
            + "\n",
            encoding="utf-8",
        )
        (args.out / f"{stem}.png").write_bytes(chart["bytes"])
        print(f"queued {', '.join(queued)}; wrote {args.out / stem}.txt, .json and .png")


if __name__ == "__main__":
    main()
