"""How fast the weekly digest is built and rendered over 5 million stored answers.

Run by hand (never from the test suite):

    .venv/bin/python benchmarks/digest.py                  # SQLite
    .venv/bin/python benchmarks/digest.py --postgres       # and PostgreSQL
    .venv/bin/python benchmarks/digest.py --rows 500000    # a smaller run

Reuses the data of benchmarks/metrics.py (a year of answers with comments, customers and
alerts; the SQLite file under ./bench-data/ and the PostgreSQL database `cxbot_bench`,
loaded on first use). Times what the scheduled job does for one report: gather the inputs
(counts by segment and touchpoint for the 13 periods of the chart, comment themes of two
periods, insights, shout-outs), the metrics report, the decomposition, the paragraph, the
Block Kit and the chart PNG. One cold run on a fresh engine, then best of 3.
Target: the weekly digest under 5 s including the chart.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import metrics as data  # noqa: E402
from bot.handlers.digest.compose import build, render  # noqa: E402
from bot.i18n import translator  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from core.periods import PeriodKind, period_containing  # noqa: E402
from storage.db import make_engine  # noqa: E402

TARGET_SECONDS = 5.0
TZ = ZoneInfo("UTC")  # the benchmark's answers are bucketed by UTC day


def one_report(services: Services, kind: PeriodKind, day: date) -> dict[str, Any]:
    """Build and render one report the way the digest sweep (`run_schedule`) does; the
    phases' times."""
    times: dict[str, Any] = {}
    began = time.perf_counter()
    report = build(services, data.TEAM, kind, period_containing(kind, day))
    times["build"] = time.perf_counter() - began
    began = time.perf_counter()
    rendered = render(services, report, translator("en"), tz=TZ)
    times["render"] = time.perf_counter() - began
    times["total"] = times["build"] + times["render"]
    times["blocks"] = len(rendered.blocks)
    times["chart_bytes"] = len(rendered.chart or b"")
    times["answers"] = report.answers
    times["nps"] = report.metric("nps").value
    return times


def timed(fn: Callable[[], dict[str, Any]], repeat: int = 3) -> tuple[dict[str, Any], float]:
    cold = fn()
    best = min(fn()["total"] for _ in range(repeat))
    return cold, best


def add_missing_columns(url: str) -> None:
    """A kept benchmark database predates columns added to the models since (the single
    initial migration is regenerated while nothing is released): add them, empty."""
    from sqlalchemy import inspect
    from sqlmodel import SQLModel

    engine = make_engine(url)
    try:
        found = inspect(engine)
        with engine.begin() as conn:
            for table in SQLModel.metadata.sorted_tables:
                if not found.has_table(table.name):
                    continue
                have = {c["name"] for c in found.get_columns(table.name)}
                for column in table.columns:
                    if column.name not in have:
                        kind = column.type.compile(dialect=conn.dialect)
                        conn.exec_driver_sql(
                            f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'
                        )
                        print(f"added {table.name}.{column.name} to the kept database")
    finally:
        engine.dispose()


def services_for(url: str, now: datetime) -> Services:
    settings = load_settings(_env_file=None, database_url=url, cxbot_timezone="UTC")
    return Services(settings=settings, engine=make_engine(url), clock=lambda: now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench-data")
    parser.add_argument("--postgres", action="store_true", help="also time PostgreSQL")
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)

    path = args.data_dir / f"metrics-{args.rows}.db"
    data.load_sqlite(path, args.rows).dispose()
    urls = {"SQLite": f"sqlite:///{path}"}
    if args.postgres:
        pg = data.load_postgres(args.rows)
        urls["PostgreSQL"] = pg.url.render_as_string(hide_password=False)
        pg.dispose()

    for url in urls.values():
        add_missing_columns(url)

    # A week late in the benchmark's year, with the year's answers before it.
    day = date(data.YEAR, 11, 18)
    now = datetime(data.YEAR, 11, 24, 8, 0, tzinfo=UTC)
    results = []
    for name, url in urls.items():
        for kind in ("week", "month", "year"):
            services = services_for(url, now)  # a fresh engine: the cold run is cold
            cold, best = timed(lambda s=services, k=kind: one_report(s, k, day))  # type: ignore[misc]
            services.engine.dispose()
            results.append((name, kind, cold, best))
            print(
                f"{name} {kind}: cold {cold['total']:.3f} s (build {cold['build']:.3f}, "
                f"render {cold['render']:.3f}), best {best:.3f} s; {cold['answers']:,} answers, "
                f"{cold['blocks']} blocks, chart {cold['chart_bytes'] / 1024:.0f} KiB"
            )

    print()
    print(f"{args.rows:,} stored answers; seconds to build and render one report with its chart")
    print(f"{'':24} {'cold':>8} {'best':>8}")
    for name, kind, cold, best in results:
        print(f"{name + ' ' + kind:24} {cold['total']:8.3f} {best:8.3f}")
    weekly = [cold["total"] for name, kind, cold, _ in results if kind == "week"]
    verdict = "met" if max(weekly) < TARGET_SECONDS else "MISSED"
    print(
        f"\ntarget: weekly digest under {TARGET_SECONDS:g} s (cold): {verdict} "
        f"(worst {max(weekly):.3f} s)"
    )


if __name__ == "__main__":
    main()
