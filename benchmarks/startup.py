"""How long `cxbot` takes as a whole process, beside a bare interpreter and a DuckDB process.

Run by hand (never from the test suite):

    .venv/bin/python benchmarks/startup.py               # the 5M-answer database of metrics.py
    .venv/bin/python benchmarks/startup.py --rows 500000
    .venv/bin/python benchmarks/startup.py --tree /tmp/old-checkout   # another checkout's code

Each command is started `--repeat` times (default 7) as a fresh process, with the
median and best wall-clock time printed. The database is the SQLite file that
benchmarks/metrics.py loads (built here when missing); the DuckDB process answers
the same aggregate (answers per period, metric, segment and score) from a DuckDB
file holding the same raw answers, the way an analyst at a terminal would.
Targets: `cxbot --help` under 0.3 s; `cxbot metrics --period year --by segment`
within 3x of the DuckDB process.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.metrics import (  # noqa: E402
    DUCK_SQL,
    DUCKDB_PROCESS,
    METRICS_ARGS,
    cxbot_command,
    duckdb_file,
    load_sqlite,
    process_env,
    time_process,
)

HELP_TARGET = 0.3
DUCKDB_RATIO_TARGET = 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench-data")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--tree", type=Path, default=ROOT, help="checkout whose code `cxbot` runs (default: this)"
    )
    args = parser.parse_args()

    args.data_dir.mkdir(parents=True, exist_ok=True)
    sqlite_path = args.data_dir / f"metrics-{args.rows}.db"
    load_sqlite(sqlite_path, args.rows).dispose()
    duck_path = duckdb_file(sqlite_path)
    env = process_env(f"sqlite:///{sqlite_path}")

    rows: list[tuple[str, list[str]]] = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        (
            "duckdb process (same aggregate)",
            [sys.executable, "-c", DUCKDB_PROCESS, str(duck_path), DUCK_SQL],
        ),
        ("cxbot --help", cxbot_command("--help")),
        ("cxbot --version", cxbot_command("--version")),
        ("cxbot metrics (table)", cxbot_command(*METRICS_ARGS)),
        ("cxbot metrics --format json", cxbot_command(*METRICS_ARGS, "--format", "json")),
    ]
    results: dict[str, tuple[float, float]] = {}
    for name, argv in rows:
        try:
            median, best, _ = time_process(argv, env=env, cwd=args.tree, repeat=args.repeat)
        except SystemExit as exc:  # an older checkout without --version, say
            print(f"  {name}: skipped ({str(exc).splitlines()[0]})")
            continue
        results[name] = (median, best)
        print(f"  {name}: median {median:.3f} s", flush=True)

    duck = results["duckdb process (same aggregate)"][0]
    print()
    print(f"{args.rows:,} answers, code of {args.tree}, {args.repeat} runs each (seconds)")
    print(f"{'process':36} {'median':>8} {'best':>8} {'vs duckdb':>10}")
    for name, (median, best) in results.items():
        print(f"{name:36} {median:8.3f} {best:8.3f} {median / duck:9.1f}x")
    print()
    helped = results["cxbot --help"][0]
    print(
        f"target cxbot --help under {HELP_TARGET} s: "
        f"{'met' if helped < HELP_TARGET else 'MISSED'} ({helped:.3f} s)"
    )
    ratio = max((results[n][0] for n in results if n.startswith("cxbot metrics")), default=0)
    ratio /= duck
    print(
        f"target cxbot metrics within {DUCKDB_RATIO_TARGET:g}x of the DuckDB process: "
        f"{'met' if ratio <= DUCKDB_RATIO_TARGET else 'MISSED'} ({ratio:.1f}x)"
    )
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores while measuring)")


if __name__ == "__main__":
    main()
