"""Import speed: `cxbot import responses` on a generated file against a bare executemany.

Run by hand:  .venv/bin/python benchmarks/ingest.py [--rows 1000000] [--database-url URL]

Generates a responses CSV (in a temporary directory), imports it with the real
command in a subprocess into a fresh database, and reports wall time, rows per
second, CPU time and peak memory (the command's max RSS from its resource
usage, or the sampled sum with any child processes if larger). Then it inserts the very rows
the import stored with a bare DBAPI executemany into an equivalent table with
the same unique index, and prints both rates and their ratio.
Targets: 1 M rows under 30 s, under 1 GB peak memory, within 3x of the bare insert.
With --comment-bytes every row carries a long comment: a chunk ends at 32 MB of text as
well as at its row count, so memory stays flat however wide the rows.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

# numpy, pandas and the database drivers are imported where they are used: this
# process must stay small, because a child's max RSS includes its parent's at spawn.

ROOT = Path(__file__).resolve().parent.parent
TEAM = "TBENCH"
COLUMNS = (
    "team_id, response_key, responded_at, local_day, metric, score, customer_id, segment, "
    "touchpoint, comment, employee, source, batch_id, created_at"
)
COMMENTS = [
    "Leveringen kom to dager for sent",
    "Very friendly support, solved it at once",
    "Fakturaen var feil igjen",
    "Appen er nem at bruge",
    "Leveransen var försenad, men kundtjänst hjälpte mig",
    'He said "great service", then left; twice',
]


def generate(path: Path, rows: int, seed: int = 7, comment_bytes: int = 0) -> None:
    """A realistic export: mixed metrics, Oslo offsets, half the rows with a source id;
    with `comment_bytes`, every row has a comment about that long."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    start = np.datetime64("2025-11-24T00:00:00")
    seconds = rng.integers(0, 365 * 86400, rows)
    moments = (start + seconds.astype("timedelta64[s]")).astype(str)
    metric = rng.choice(["nps", "csat", "ces"], rows, p=[0.7, 0.2, 0.1])
    high = np.where(metric == "nps", 11, np.where(metric == "csat", 5, 7))
    low = np.where(metric == "nps", 0, 1)
    score = low + (rng.random(rows) * (high - low + (metric == "nps"))).astype(int)
    score = np.minimum(score, np.where(metric == "nps", 10, high))
    comment = np.where(rng.random(rows) < 0.4, rng.choice(COMMENTS, rows), "")
    if comment_bytes:
        # Distinct texts, as real comments are (no string the parser could share).
        base = " ".join(COMMENTS)
        long = (base * (comment_bytes // len(base) + 1))[: comment_bytes - 10]
        comment = np.char.add(long, np.arange(rows).astype(str))
    ids = np.where(rng.random(rows) < 0.5, np.char.add("R", np.arange(rows).astype(str)), "")
    frame = pd.DataFrame(
        {
            "response_id": ids,
            "responded_at": np.char.add(moments, "+01:00"),
            "metric": np.char.upper(metric.astype(str)),
            "score": score,
            "customer_id": np.char.add("C", rng.integers(1, 50_000, rows).astype(str)),
            "segment": rng.choice(["Private", "SMB", "Enterprise", "Public sector"], rows),
            "touchpoint": rng.choice(["Delivery", "Support", "Onboarding", "Billing"], rows),
            "comment": comment,
            "employee": np.where(rng.random(rows) < 0.2, "U0BJORN", ""),
        }
    )
    frame.to_csv(path, index=False, sep=";")


def run_import(path: Path, database_url: str) -> tuple[float, float, int, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "CXBOT_TIMEZONE": "Europe/Oslo"}
    for key in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        env.pop(key, None)
    cli = [sys.executable, "-m", "bot.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        child = subprocess.Popen(
            [*cli, "import", "responses", str(path), "--team", TEAM],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=err,
        )
        # Sampled too, in case the import ever runs helper processes: their memory
        # would add to its own.
        peak_sum_kb = 0
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            peak_sum_kb = max(peak_sum_kb, _tree_rss_kb(child.pid))
            time.sleep(0.1)
        # wait4 gives this child's own resource usage (RUSAGE_CHILDREN would also
        # count the generator and `db upgrade`); this process stays small, so the
        # max RSS is the child's own.
        elapsed = time.perf_counter() - began
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            sys.exit(f"import failed ({child.returncode}): {err.read()}")
        output = out.read()
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, max(usage.ru_maxrss, peak_sum_kb), output  # KiB on Linux


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and its children now (Linux /proc), in KiB."""
    total = 0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for each in [str(pid), *children]:
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def _pg_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def stored_rows(database_url: str) -> tuple[list[tuple[object, ...]], int]:
    """The rows the import stored, as the driver returns them, and the rollup's total."""
    rows_sql = f"SELECT {COLUMNS} FROM response WHERE team_id = '{TEAM}'"
    total_sql = f"SELECT coalesce(sum(n), 0) FROM responsedaily WHERE team_id = '{TEAM}'"
    if database_url.startswith("sqlite"):
        db = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        rows = db.execute(rows_sql).fetchall()
        counted = db.execute(total_sql).fetchone()[0]
        db.close()
    else:
        import psycopg

        with psycopg.connect(_pg_dsn(database_url)) as pg:
            rows = pg.execute(rows_sql).fetchall()
            counted = pg.execute(total_sql).fetchone()[0]  # type: ignore[index]
    return [tuple(r) for r in rows], int(counted)


BARE_TABLE = """CREATE TABLE bare_response (
    id {pk}, team_id VARCHAR(32) NOT NULL, response_key VARCHAR(200) NOT NULL,
    responded_at {ts} NOT NULL, local_day DATE NOT NULL, metric VARCHAR(8) NOT NULL,
    score INTEGER NOT NULL, customer_id VARCHAR(200), segment VARCHAR(200),
    touchpoint VARCHAR(200), comment TEXT, employee VARCHAR(200), source VARCHAR(16) NOT NULL,
    batch_id VARCHAR(40) NOT NULL, created_at {ts} NOT NULL,
    CONSTRAINT uq_bare UNIQUE (team_id, response_key))"""


def bare_sqlite(directory: Path, rows: list[tuple[object, ...]], chunk: int) -> tuple[float, float]:
    db = sqlite3.connect(directory / "bare.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(BARE_TABLE.format(pk="INTEGER PRIMARY KEY", ts="DATETIME"))
    sql = f"INSERT INTO bare_response ({COLUMNS}) VALUES ({', '.join('?' * 14)})"
    began, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(rows), chunk):
        with db:
            db.executemany(sql, rows[start : start + chunk])
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    db.close()
    return elapsed, cpu


def bare_postgres(
    database_url: str, rows: list[tuple[object, ...]], chunk: int
) -> tuple[float, float]:
    import psycopg

    with psycopg.connect(_pg_dsn(database_url)) as db:
        db.execute("DROP TABLE IF EXISTS bare_response")
        db.execute(BARE_TABLE.format(pk="SERIAL PRIMARY KEY", ts="TIMESTAMPTZ"))
        db.commit()
        sql = f"INSERT INTO bare_response ({COLUMNS}) VALUES ({', '.join(['%s'] * 14)})"
        began, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(rows), chunk):
            with db.cursor() as cur:
                cur.executemany(sql, rows[start : start + chunk])
            db.commit()
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
        db.execute("DROP TABLE bare_response")
        db.commit()
    return elapsed, cpu


def fresh_postgres(url: str) -> tuple[str, str]:
    """A new database on the server of `url` (dropped at the end), and its name."""
    import psycopg

    name = f"cxbot_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_pg_dsn(url), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name, name


def drop_postgres(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_pg_dsn(url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server URL (a scratch database is created there); default SQLite",
    )
    # The import's own transaction size (bot.commands.imports.CHUNK_ROWS).
    parser.add_argument("--chunk", type=int, default=200_000, help="rows per bare transaction")
    parser.add_argument(
        "--comment-bytes",
        type=int,
        default=0,
        help="give every row a comment this long (memory with wide rows; e.g. 3000)",
    )
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(args.generate, args.rows, comment_bytes=args.comment_bytes)
        return

    with tempfile.TemporaryDirectory(prefix="cxbot-bench-") as tmp:
        directory = Path(tmp)
        source = directory / "responses.csv"
        began = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--generate",
                str(source),
                "--rows",
                str(args.rows),
                "--comment-bytes",
                str(args.comment_bytes),
            ],
            check=True,
        )
        size_mb = source.stat().st_size / 1e6
        took = time.perf_counter() - began
        print(f"generated {args.rows:,} rows ({size_mb:.0f} MB) in {took:.1f} s")

        scratch = None
        if args.database_url:
            url = args.database_url.replace("postgresql://", "postgresql+psycopg://", 1)
            database_url, scratch = fresh_postgres(url)
        else:
            database_url = f"sqlite:///{directory / 'cxbot.db'}"
        try:
            elapsed, cpu, peak_kb, output = run_import(source, database_url)
            rows, counted = stored_rows(database_url)
            if database_url.startswith("sqlite"):
                bare, bare_cpu = bare_sqlite(directory, rows, args.chunk)
            else:
                bare, bare_cpu = bare_postgres(database_url, rows, args.chunk)
        finally:
            if scratch:
                drop_postgres(url, scratch)

    print(output.strip())
    match = "match" if counted == len(rows) else "MISMATCH"
    print(f"stored rows: {len(rows):,}; rollup total: {counted:,} ({match})")
    rate, bare_rate = args.rows / elapsed, len(rows) / bare
    print(
        f"cxbot import:  {elapsed:6.2f} s  {rate:10,.0f} rows/s  "
        f"(cpu {cpu:.2f} s)  peak RSS {peak_kb / 1024:,.0f} MB"
    )
    print(f"bare insert:   {bare:6.2f} s  {bare_rate:10,.0f} rows/s  (cpu {bare_cpu:.2f} s)")
    print(f"ratio (import time / bare time): {elapsed / bare:.2f}x wall, {cpu / bare_cpu:.2f}x cpu")
    # On PostgreSQL the bare insert's work happens in the server, so cpu says little there.
    memory = f"memory {'ok' if peak_kb < 1024 * 1024 else 'MISSED'}"
    if args.comment_bytes:
        print(f"targets: {memory} (the time and ratio targets are for the default rows)")
    else:
        print(
            "targets: "
            f"time {'ok' if elapsed < 30 * args.rows / 1e6 else 'MISSED'}, {memory}, "
            f"ratio {'ok' if elapsed / bare <= 3 else 'MISSED'}"
        )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
