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
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.metrics import DUCK_SQL, TEAM, YEAR, load_sqlite  # noqa: E402

HELP_TARGET = 0.3
DUCKDB_RATIO_TARGET = 3.0


def duckdb_file(sqlite_path: Path) -> Path:
    """A DuckDB copy of the raw answers, made once next to the SQLite file."""
    import duckdb

    path = sqlite_path.with_suffix(".duckdb")
    if path.exists():
        return path
    print(f"duckdb: copying the answers into {path} (once) ...", flush=True)
    with sqlite3.connect(sqlite_path) as db:
        import pandas as pd

        frame = pd.read_sql_query(
            "SELECT team_id, local_day, metric, segment, touchpoint, score FROM response", db
        )
    frame["local_day"] = pd.to_datetime(frame["local_day"]).dt.date
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    con = duckdb.connect(str(partial))
    con.register("answers", frame)
    con.execute("CREATE TABLE response AS SELECT * FROM answers")
    con.close()
    partial.rename(path)
    return path


def timed(argv: list[str], *, env: dict[str, str], cwd: Path, repeat: int) -> tuple[float, float]:
    """(median, best) seconds of `argv` run as a process `repeat` times (one warm-up first)."""
    runs = []
    for i in range(repeat + 1):
        began = time.perf_counter()
        done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
        took = time.perf_counter() - began
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr.decode()[-2000:]}")
        if i:  # the first run fills the page cache
            runs.append(took)
    return statistics.median(runs), min(runs)


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

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CXBOT_", "OPENAI_"))}
    env["DATABASE_URL"] = f"sqlite:///{sqlite_path}"
    # `python -m bot.cli` from the tree is what the `cxbot` script runs, for any checkout.
    cxbot = [sys.executable, "-m", "bot.cli"]
    metrics_args = ["metrics", "--period", "year", "--date", f"{YEAR}-06-30", "--by", "segment"]
    metrics_args += ["--team", TEAM]
    duck_code = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "rows = con.execute(sys.argv[2]).fetchall(); print(len(rows))"
    )
    rows: list[tuple[str, list[str]]] = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        (
            "duckdb process (same aggregate)",
            [sys.executable, "-c", duck_code, str(duck_path), DUCK_SQL],
        ),
        ("cxbot --help", [*cxbot, "--help"]),
        ("cxbot --version", [*cxbot, "--version"]),
        ("cxbot metrics (table)", [*cxbot, *metrics_args]),
        ("cxbot metrics --format json", [*cxbot, *metrics_args, "--format", "json"]),
    ]
    results: dict[str, tuple[float, float]] = {}
    for name, argv in rows:
        if name == "cxbot --version" and not _has_version(cxbot, env, args.tree):
            continue
        results[name] = timed(argv, env=env, cwd=args.tree, repeat=args.repeat)
        print(f"  {name}: median {results[name][0]:.3f} s", flush=True)

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
    ratio = max(results[n][0] for n in results if n.startswith("cxbot metrics")) / duck
    print(
        f"target cxbot metrics within {DUCKDB_RATIO_TARGET:g}x of the DuckDB process: "
        f"{'met' if ratio <= DUCKDB_RATIO_TARGET else 'MISSED'} ({ratio:.1f}x)"
    )
    if shutil.which("nproc"):
        load = os.getloadavg()[0]
        print(f"(load average {load:.1f} on {os.cpu_count()} cores while measuring)")


def _has_version(cxbot: list[str], env: dict[str, str], tree: Path) -> bool:
    done = subprocess.run([*cxbot, "--version"], env=env, cwd=tree, capture_output=True)
    return done.returncode == 0


if __name__ == "__main__":
    main()
