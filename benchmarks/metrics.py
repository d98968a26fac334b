"""How fast `cxbot metrics --period year --by segment` is over 5 million stored answers.

Run by hand (never from the test suite):

    .venv/bin/python benchmarks/metrics.py                 # SQLite and PostgreSQL
    .venv/bin/python benchmarks/metrics.py --rows 500000   # a smaller run
    .venv/bin/python benchmarks/metrics.py --skip-postgres

Loads a year of answers (3 metrics, 6 segments, 6 touchpoints, some answers without
either) in bulk: executemany on SQLite with the indexes built afterwards, COPY on
PostgreSQL; then `storage.rollup.rebuild` fills the counts table. The SQLite file is
kept under ./bench-data/ and the PostgreSQL database `cxbot_bench` is kept too, so
reruns skip the load. Then times `bot.handlers.metrics.report.compute_metrics` (what the CLI calls)
once cold and best of 3, beside DuckDB computing the same counts (per metric, segment
and score, this year and the year before) straight from the same raw answers.
Then, side by side, the whole processes a person at a terminal waits for: `cxbot metrics
--period year --by segment --format json` started fresh, and a Python process that opens
a DuckDB file of the same raw answers and runs the same aggregate (median of 5 runs each).
Targets: under 2 s, and the whole `cxbot metrics` process within 3x of the DuckDB process.
"""

from __future__ import annotations

import argparse
import io
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.handlers.metrics.report import compute_metrics  # noqa: E402
from storage import rollup  # noqa: E402
from storage.db import make_engine, upgrade  # noqa: E402

TEAM = "TBENCH0001"
YEAR = 2025
SEGMENTS = ["retail", "business", "enterprise", "public", "partner", "student"]
TOUCHPOINTS = ["web", "phone", "email", "store", "chat", "app"]
COMMENTS = [
    "Fast and friendly help",
    "Waited too long on the phone",
    "Rask og hyggelig hjelp",
    "Ventede alt for længe",
    "Bra service, men dyrt",
]
CHUNK = 250_000
COLUMNS = [
    "team_id",
    "response_key",
    "responded_at",
    "local_day",
    "metric",
    "score",
    "customer_id",
    "segment",
    "touchpoint",
    "comment",
    "source",
    "batch_id",
    "created_at",
]
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_DB = "cxbot_bench"


# --------------------------------------------------------------------------- data


def _scores(rng: np.random.Generator, metric: np.ndarray) -> np.ndarray:
    """Skewed like real answers: mostly satisfied, a tail of unhappy customers."""
    out = np.empty(len(metric), dtype=np.int64)
    weights = {
        0: ([0.03, 0.01, 0.01, 0.02, 0.02, 0.05, 0.06, 0.10, 0.20, 0.22, 0.28], 0),
        1: ([0.05, 0.07, 0.13, 0.35, 0.40], 1),
        2: ([0.03, 0.04, 0.07, 0.12, 0.22, 0.28, 0.24], 1),
    }
    for code, (p, low) in weights.items():
        mask = metric == code
        out[mask] = rng.choice(len(p), size=int(mask.sum()), p=p) + low
    return out


def chunks(rows: int, seed: int = 7) -> Iterator[pd.DataFrame]:
    """The answers, CHUNK rows at a time, in the column order of COLUMNS."""
    rng = np.random.default_rng(seed)
    start = np.datetime64(f"{YEAR}-01-01T00:00:00", "s")
    seconds_in_year = 365 * 24 * 3600
    created = datetime(YEAR + 1, 1, 2, tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    for offset in range(0, rows, CHUNK):
        n = min(CHUNK, rows - offset)
        at = start + rng.integers(0, seconds_in_year, n).astype("timedelta64[s]")
        metric = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
        seg = rng.integers(0, len(SEGMENTS) + 1, n)  # the extra value: no segment
        tp = rng.integers(0, len(TOUCHPOINTS) + 1, n)
        has_comment = rng.random(n) < 0.1
        frame = pd.DataFrame(
            {
                "team_id": TEAM,
                "response_key": [f"id:{i}" for i in range(offset, offset + n)],
                "responded_at": pd.Series(at).dt.strftime("%Y-%m-%d %H:%M:%S.000000"),
                "local_day": pd.Series(at).dt.strftime("%Y-%m-%d"),
                "metric": np.array(["nps", "csat", "ces"])[metric],
                "score": _scores(rng, metric),
                "customer_id": [f"C{c:06d}" for c in rng.integers(0, 200_000, n)],
                "segment": pd.Series(np.array([*SEGMENTS, None], dtype=object)[seg]),
                "touchpoint": pd.Series(np.array([*TOUCHPOINTS, None], dtype=object)[tp]),
                "comment": pd.Series(
                    np.where(has_comment, np.array(COMMENTS, dtype=object)[seg % 5], None)  # type: ignore[call-overload]
                ),
                "source": "import",
                "batch_id": f"bench{offset // CHUNK:06d}",
                "created_at": created,
            }
        )
        yield frame[COLUMNS]


def customers(n: int = 20_000, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    started = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 2900, n), "D")
    ends = started + pd.to_timedelta(rng.integers(30, 4000, n), "D")
    ended = pd.Series(ends.strftime("%Y-%m-%d")).where(ends < pd.Timestamp("2026-01-01"), None)
    return pd.DataFrame(
        {
            "team_id": TEAM,
            "customer_id": [f"C{i:06d}" for i in range(n)],
            "started_at": started.strftime("%Y-%m-%d"),
            "ended_at": ended,
            "segment": np.array(SEGMENTS, dtype=object)[rng.integers(0, 6, n)],
            "annual_revenue": np.round(rng.gamma(2.0, 6000.0, n), 2),
            "acquisition_cost": np.round(rng.gamma(2.0, 800.0, n), 2),
            "updated_at": "2026-01-01 00:00:00.000000",
        }
    )


def _alert_rows(rows: int) -> list[tuple[Any, ...]]:
    """One alert per 250 answers, resolved after a few hours or still open."""
    out = []
    for k, response_id in enumerate(range(1, rows + 1, 250)):
        created = datetime(YEAR, 1, 1, tzinfo=UTC) + timedelta(minutes=105 * k)
        resolved = created + timedelta(hours=(k % 40)) if k % 7 else None
        fmt = "%Y-%m-%d %H:%M:%S.%f"
        out.append(
            (
                TEAM,
                response_id,
                "resolved" if resolved else "open",
                True,
                (created + timedelta(hours=24)).strftime(fmt),
                (created + timedelta(hours=1 + k % 5)).strftime(fmt),
                resolved.strftime(fmt) if resolved else None,
                0,
                created.strftime(fmt),
            )
        )
    return out


ALERT_COLUMNS = (
    "team_id, response_id, status, posted, due_at, first_response_at, resolved_at,"
    " reminders_sent, created_at"
)


# --------------------------------------------------------------------------- loading


def _loaded(engine: Engine, rows: int) -> bool:
    """True when the answers are there; rebuilds the counts if they do not add up."""
    try:
        with engine.connect() as conn:
            count = conn.execute(
                text("SELECT count(*) FROM response WHERE team_id = :t"), {"t": TEAM}
            ).scalar_one()
    except Exception:
        return False
    if count != rows:
        return False
    # Brings a kept database up to the current schema (a counts table may be new).
    upgrade(engine)
    SQLModel.metadata.create_all(engine)
    with engine.connect() as conn:
        counted = [
            conn.execute(
                text(f"SELECT coalesce(sum(n), 0) FROM {table} WHERE team_id = :t"), {"t": TEAM}
            ).scalar_one()
            for table in ("responsedaily", "responsemonthly")
        ]
    if counted != [rows, rows]:
        print(f"counts tables out of date ({counted}): rebuilt in {_rebuild(engine):.1f} s")
    return True


def _rebuild(engine: Engine) -> float:
    began = time.perf_counter()
    with engine.begin() as conn:
        rollup.rebuild(conn, team_id=TEAM)
    return time.perf_counter() - began


def load_sqlite(path: Path, rows: int) -> Engine:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    if _loaded(engine, rows):
        print(f"sqlite: reusing {path}")
        return engine
    engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    began = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    # Indexes are dropped for the load and built once at the end: far faster than
    # keeping four b-trees sorted row by row. Same definitions as the migration.
    indexes = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'response'"
        " AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        db.execute(f'DROP INDEX "{name}"')
    insert = f"INSERT INTO response ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    done = 0
    for frame in chunks(rows):
        db.executemany(insert, frame.itertuples(index=False, name=None))
        done += len(frame)
        print(f"\rsqlite: {done:,} answers", end="", flush=True)
    for _, sql in indexes:
        db.execute(sql)
    # The UNIQUE constraint's own index stays (it has no sql to recreate); check it held.
    cust = customers()
    db.executemany(
        f"INSERT INTO customer ({', '.join(cust.columns)})"
        f" VALUES ({', '.join('?' * cust.shape[1])})",
        cust.itertuples(index=False, name=None),
    )
    db.executemany(
        f"INSERT INTO alert ({ALERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _alert_rows(rows),
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()
    print(f"\nsqlite: loaded {rows:,} answers in {time.perf_counter() - began:.1f} s")
    engine = make_engine(url)
    print(f"sqlite: rollup rebuilt in {_rebuild(engine):.1f} s")
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return engine


def load_postgres(rows: int) -> Engine:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": PG_DB}
        ).first()
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DB
    if exists:
        engine = make_engine(url, pool_size=2)
        if _loaded(engine, rows):
            print(f"postgres: reusing database {PG_DB}")
            admin.dispose()
            return engine
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{PG_DB}" WITH (FORCE)'))
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{PG_DB}"'))
    admin.dispose()
    engine = make_engine(url, pool_size=2)
    upgrade(engine)
    began = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        done = 0
        for frame in chunks(rows):
            buf = io.StringIO()
            frame.to_csv(buf, index=False, header=False)
            with cur.copy(
                f"COPY response ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv)"
            ) as copy:
                copy.write(buf.getvalue())
            done += len(frame)
            print(f"\rpostgres: {done:,} answers", end="", flush=True)
        cust = customers()
        buf = io.StringIO()
        cust.to_csv(buf, index=False, header=False)
        with cur.copy(
            f"COPY customer ({', '.join(cust.columns)}) FROM STDIN WITH (FORMAT csv)"
        ) as copy:
            copy.write(buf.getvalue())
        cur.executemany(
            f"INSERT INTO alert ({ALERT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (*r[:4], *(f"{v}+00" if v else None for v in r[4:7]), r[7], f"{r[8]}+00")
                for r in _alert_rows(rows)
            ],
        )
        raw.commit()
    finally:
        raw.close()
    print(f"\npostgres: loaded {rows:,} answers in {time.perf_counter() - began:.1f} s")
    print(f"postgres: rollup rebuilt in {_rebuild(engine):.1f} s")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    return engine


# --------------------------------------------------------------------------- timing


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, float, Any]:
    """(cold seconds, best of `repeat` warm seconds, last result)."""
    began = time.perf_counter()
    result = fn()
    cold = time.perf_counter() - began
    warm = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        warm.append(time.perf_counter() - began)
    return cold, min(warm), result


def run_metrics(engine: Engine) -> dict[str, Any]:
    return compute_metrics(
        engine,
        team_id=TEAM,
        kind="year",
        day=date(YEAR, 6, 30),
        tz=ZoneInfo("UTC"),
        now=datetime(YEAR + 1, 1, 10, tzinfo=UTC),
        by="segment",
    )


METRICS_ARGS = ["metrics", "--period", "year", "--date", f"{YEAR}-06-30", "--by", "segment"]
METRICS_ARGS += ["--team", TEAM]
DUCKDB_PROCESS = (
    "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
    "rows = con.execute(sys.argv[2]).fetchall(); print(len(rows))"
)


def cxbot_command(*args: str) -> list[str]:
    # What the `cxbot` script runs, for whichever checkout is the working directory.
    return [sys.executable, "-m", "bot.cli", *args]


def process_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CXBOT_", "OPENAI_"))}
    env["DATABASE_URL"] = url
    return env


def time_process(
    argv: list[str], *, env: dict[str, str], cwd: Path = ROOT, repeat: int = 5
) -> tuple[float, float, str]:
    """(median, best, last stdout) of `argv` started `repeat` times as a fresh process,
    after one run that fills the page cache."""
    runs = []
    out = ""
    for i in range(repeat + 1):
        began = time.perf_counter()
        done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
        took = time.perf_counter() - began
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv[:4])} ... failed:\n{done.stderr[-2000:]}")
        out = done.stdout
        if i:
            runs.append(took)
    return statistics.median(runs), min(runs), out


def duckdb_file(sqlite_path: Path) -> Path:
    """A DuckDB file of the raw answers, made once next to the SQLite file."""
    import duckdb

    path = sqlite_path.with_suffix(".duckdb")
    if path.exists():
        return path
    print(f"duckdb: copying the answers into {path} (once) ...", flush=True)
    frame = duckdb_frame(sqlite_path)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    con = duckdb.connect(str(partial))
    con.register("answers", frame)
    con.execute("CREATE TABLE response AS SELECT * FROM answers")
    con.close()
    partial.rename(path)
    return path


def run_cli(url: str, expected: dict[str, Any]) -> tuple[float, float]:
    """`cxbot metrics --period year --by segment --format json` as a whole process."""
    import json

    median, best, out = time_process(
        cxbot_command(*METRICS_ARGS, "--format", "json"), env=process_env(url)
    )
    assert json.loads(out)["nps"] == expected["nps"]
    return median, best


def run_duckdb_process(duck_path: Path) -> tuple[float, float]:
    median, best, out = time_process(
        [sys.executable, "-c", DUCKDB_PROCESS, str(duck_path), DUCK_SQL], env=dict(os.environ)
    )
    assert int(out) > 0
    return median, best


DUCK_SQL = f"""
    SELECT CASE WHEN local_day >= DATE '{YEAR}-01-01' THEN 'year' ELSE 'previous' END AS period,
           metric, coalesce(segment, '') AS segment, score, count(*) AS n
    FROM response
    WHERE team_id = '{TEAM}' AND local_day BETWEEN DATE '{YEAR - 1}-01-01' AND DATE '{YEAR}-12-31'
    GROUP BY ALL
"""


def duckdb_frame(sqlite_path: Path) -> pd.DataFrame:
    # DuckDB's sqlite extension needs a download; read the same rows through sqlite3.
    with sqlite3.connect(sqlite_path) as db:
        frame = pd.read_sql_query(
            "SELECT team_id, local_day, metric, segment, touchpoint, score FROM response", db
        )
    frame["local_day"] = pd.to_datetime(frame["local_day"]).dt.date
    return frame


def run_duckdb(frame: pd.DataFrame) -> tuple[float, float, pd.DataFrame]:
    import duckdb

    con = duckdb.connect()
    con.register("answers", frame)
    con.execute("CREATE TABLE response AS SELECT * FROM answers")
    con.unregister("answers")
    return timed(lambda: con.execute(DUCK_SQL).df())


def check_same(report: dict[str, Any], duck: pd.DataFrame) -> None:
    """The metrics must count exactly what DuckDB counts."""
    year = duck[duck["period"] == "year"]
    for metric in ("nps", "csat", "ces"):
        expected = int(year.loc[year["metric"] == metric, "n"].sum())
        got = report[metric]["n"]
        assert got == expected, f"{metric}: metrics counted {got}, DuckDB {expected}"
    by_segment = year.groupby("segment")["n"].sum()
    for row in report["breakdown"]:
        key = "" if row["key"] == "(none)" else row["key"]
        assert row["n"] == int(by_segment[key]), f"segment {row['key']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench-data")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()

    args.data_dir.mkdir(parents=True, exist_ok=True)
    path = args.data_dir / f"metrics-{args.rows}.db"
    results: list[tuple[str, float, float]] = []

    sqlite_engine = load_sqlite(path, args.rows)
    with sqlite_engine.connect() as conn:
        rollup_rows = conn.execute(text("SELECT count(*) FROM responsedaily")).scalar_one()
    print(f"responsedaily: {rollup_rows:,} rows for {args.rows:,} answers")
    sqlite_engine.dispose()
    sqlite_engine = make_engine(f"sqlite:///{path}")  # a fresh engine: the cold run is cold
    cold, best, report = timed(lambda: run_metrics(sqlite_engine))
    results.append(("cxbot metrics on SQLite", cold, best))

    if not args.skip_postgres:
        pg_engine = load_postgres(args.rows)
        pg_engine.dispose()
        pg_engine = make_engine(str(pg_engine.url.render_as_string(hide_password=False)))
        cold, best, pg_report = timed(lambda: run_metrics(pg_engine))
        assert pg_report == report, "SQLite and PostgreSQL disagree"
        results.append(("cxbot metrics on PostgreSQL", cold, best))

    print("duckdb: loading the raw answers (not timed) ...")
    cold, best, duck = run_duckdb(duckdb_frame(path))
    check_same(report, duck)
    results.append(("DuckDB on the raw answers", cold, best))

    duck_best = results[-1][2]
    cli_median, cli_best = run_cli(f"sqlite:///{path}", report)
    duck_median, duck_process_best = run_duckdb_process(duckdb_file(path))
    print()
    print(f"{args.rows:,} answers, year {YEAR} by segment (seconds; best of 3 after one cold run)")
    print(f"{'':32} {'cold':>8} {'best':>8} {'vs DuckDB':>10}")
    for name, cold, best in results:
        print(f"{name:32} {cold:8.3f} {best:8.3f} {best / duck_best:9.1f}x")
    ours = [best for name, _, best in results if name.startswith("cxbot")]
    print()
    print("Whole processes, as typed at a terminal (median and best of 5 fresh starts):")
    print(f"{'':46} {'median':>8} {'best':>8} {'vs DuckDB':>10}")
    for name, median, best in (
        ("cxbot metrics --period year --by segment", cli_median, cli_best),
        ("python + DuckDB file, the same aggregate", duck_median, duck_process_best),
    ):
        print(f"{name:46} {median:8.3f} {best:8.3f} {median / duck_median:9.1f}x")
    process_ratio = cli_median / duck_median
    print(
        f"target whole process within 3x of the DuckDB process: "
        f"{'met' if process_ratio <= 3 else 'MISSED'} ({process_ratio:.1f}x)"
    )
    print()
    print(f"target under 2 s: {'met' if max(ours) < 2 else 'MISSED'} (worst {max(ours):.3f} s)")
    worst_ratio = max(ours) / duck_best
    print(
        f"target within 3x of DuckDB: {'met' if worst_ratio <= 3 else 'MISSED'} "
        f"(worst {worst_ratio:.1f}x)"
    )
    print(
        f"NPS {report['nps']['score']} (n {report['nps']['n']:,}), "
        f"CSAT {report['csat']['score']}, CES {report['ces']['score']}, "
        f"median of breakdown n {statistics.median(r['n'] for r in report['breakdown']):,}"
    )


if __name__ == "__main__":
    main()
