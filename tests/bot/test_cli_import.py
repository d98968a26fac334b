"""`cxbot import responses|customers`, in-process and as a process that gets interrupted."""

from __future__ import annotations

import csv
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import IO

import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.commands.common import LOCAL_TEAM
from bot.commands.readahead import read_ahead
from core.ingest import Rejected
from storage import settings_store
from storage.db import make_engine

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
runner = CliRunner()


def cli_runner(url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Result]:
    """Runs `cxbot ...` against the database at `url` with no Slack token (offline
    workspace), in `tmp_path`."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CXBOT_TIMEZONE", "Europe/Oslo")
    monkeypatch.setenv("DATABASE_URL", url)

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Result]:
    """`cxbot ...` against the test database (SQLite, and PostgreSQL where it runs)."""
    return cli_runner(db_url, monkeypatch, tmp_path)


@pytest.fixture
def db(db_url: str) -> Engine:
    return make_engine(db_url)


def count(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one() or 0)


def copy_to(tmp_path: Path, name: str) -> Path:
    source = DATA / name
    target = tmp_path / name
    target.write_bytes(source.read_bytes())
    return target


def test_import_sample_then_again(cli: Callable[..., Result], db: Engine, tmp_path: Path) -> None:
    path = copy_to(tmp_path, "responses_sample.csv")
    first = cli("import", "responses", str(path))
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == ["accepted: 12", "duplicates: 0", "rejected: 0"]
    assert count(db, "SELECT count(*) FROM response WHERE team_id = :t", t=LOCAL_TEAM) == 12
    again = cli("import", "responses", str(path))
    assert again.exit_code == 0
    assert again.stdout.splitlines() == ["accepted: 0", "duplicates: 12", "rejected: 0"]
    assert not (tmp_path / "responses_sample.csv.rejected.csv").exists()
    assert count(db, "SELECT sum(n) FROM responsedaily WHERE team_id = :t", t=LOCAL_TEAM) == 12


def test_rejected_rows_go_to_the_rejects_file(
    cli: Callable[..., Result], db: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "answers.csv"
    path.write_bytes((DATA / "malformed" / "scores_out_of_range.csv").read_bytes())
    result = cli("import", "responses", str(path))
    assert result.exit_code == 0
    assert "accepted: 4" in result.stdout
    rejects = tmp_path / "answers.csv.rejected.csv"
    assert f"rejected: 5 (written to {rejects})" in result.stdout
    assert "line 4: score 11 is outside 0-10 for nps" in result.stderr
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["line"], r["reason"]) for r in rows] == [
        ("4", "score 11 is outside 0-10 for nps"),
        ("5", "score -1 is outside 0-10 for nps"),
        ("6", "score 0 is outside 1-5 for csat"),
        ("8", "score 6 is outside 1-5 for csat"),
        ("10", "score 8 is outside 1-7 for ces"),
    ]
    assert rows[0]["score"] == "11" and rows[0]["metric"] == "nps"


def test_rejects_option_and_json_input(cli: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    path.write_bytes((DATA / "malformed" / "answers.json").read_bytes())
    out = tmp_path / "out" / "bad.csv"
    out.parent.mkdir()
    result = cli("import", "responses", str(path), "--rejects", str(out))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[:2] == ["accepted: 2", "duplicates: 0"]
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["line", "reason", "responded_at", "metric", "score", "other"]
    assert rows[1][:2] == ["3", "score 7 is outside 1-5 for csat"]
    assert rows[2][:2] == ["5", "the item is not a JSON object"]
    assert rows[2][-1] == '{"item": "not an object"}'


def test_team_option(cli: Callable[..., Result], db: Engine, tmp_path: Path) -> None:
    path = copy_to(tmp_path, "responses_sample.csv")
    assert cli("import", "responses", str(path), "--team", "T0ACME").exit_code == 0
    assert count(db, "SELECT count(*) FROM response WHERE team_id = 'T0ACME'") == 12
    assert count(db, "SELECT count(*) FROM response WHERE team_id <> 'T0ACME'") == 0


def test_workspace_timezone_setting_decides_the_day(
    cli: Callable[..., Result], db: Engine, tmp_path: Path
) -> None:
    settings_store.set(db, team_id="T0NY", key="timezone", value="America/New_York")
    path = tmp_path / "late.csv"
    path.write_text("responded_at,metric,score\n2026-11-21T02:00:00Z,nps,9\n", encoding="utf-8")
    assert cli("import", "responses", str(path), "--team", "T0NY").exit_code == 0
    assert cli("import", "responses", str(path), "--team", "T0OSLO").exit_code == 0
    with db.connect() as conn:
        days: dict[str, object] = {
            str(team): day
            for team, day in conn.execute(text("SELECT team_id, local_day FROM response"))
        }
    as_date = {team: date.fromisoformat(str(day)[:10]) for team, day in days.items()}
    assert as_date == {"T0NY": date(2026, 11, 20), "T0OSLO": date(2026, 11, 21)}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing_columns.csv", "missing_columns.csv: line 1: required columns metric, score"),
        ("empty.csv", "empty.csv: the file is empty"),
        ("pipe_separated.csv", "the header is separated by '|'"),
        ("duplicate_headers.csv", "both mean score"),
    ],
)
def test_unusable_files_exit_1(
    cli: Callable[..., Result], db: Engine, tmp_path: Path, name: str, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes((DATA / "malformed" / name).read_bytes())
    result = cli("import", "responses", str(path))
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output
    assert count(db, "SELECT count(*) FROM response") == 0


def test_missing_file_and_usage(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli("import", "responses", str(tmp_path / "nope.csv"))
    assert result.exit_code == 1
    assert "nope.csv: cannot read the file" in result.stderr
    assert cli("import", "responses", str(tmp_path)).exit_code == 1
    assert cli("import", "responses").exit_code == 2
    assert cli("import", "answers", "x.csv").exit_code == 2


def test_import_customers_then_again(
    cli: Callable[..., Result], db: Engine, tmp_path: Path
) -> None:
    path = copy_to(tmp_path, "customers_sample.csv")
    first = cli("import", "customers", str(path))
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [
        "accepted: 6 (6 new, 0 updated)",
        "duplicates: 0 (already up to date)",
        "rejected: 0",
    ]
    again = cli("import", "customers", str(path))
    assert again.stdout.splitlines()[:2] == [
        "accepted: 0 (0 new, 0 updated)",
        "duplicates: 6 (already up to date)",
    ]
    assert count(db, "SELECT count(*) FROM customer") == 6


def test_import_customers_with_rejects(cli: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "kunder.csv"
    path.write_bytes((DATA / "malformed" / "decimal_comma_revenue.csv").read_bytes())
    result = cli("import", "customers", str(path))
    assert result.exit_code == 0
    assert "accepted: 4 (4 new, 0 updated)" in result.stdout
    assert "rejected: 3" in result.stdout
    assert "line 6: annual_revenue -5 is negative" in result.stderr
    assert (tmp_path / "kunder.csv.rejected.csv").exists()


# --------------------------------------------------------------------------- interrupted


def _write_answers(path: Path, rows: int) -> int:
    """A file of `rows` answers of which every 50th is invalid; returns the valid count."""
    valid = 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write("response_id,responded_at,metric,score,segment,touchpoint,comment\n")
        for i in range(rows):
            bad = i % 50 == 49
            valid += not bad
            score = 11 if bad else i % 11
            day = 1 + i % 28
            handle.write(
                f"R{i},2026-10-{day:02d}T12:00:00+02:00,nps,{score},"
                f"S{i % 3},T{i % 4},Kommentar nummer {i}\n"
            )
    return valid


def _cxbot(db_url: str, cwd: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update(DATABASE_URL=db_url, CXBOT_TIMEZONE="Europe/Oslo", PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.parametrize("read_ahead", ["inline", "helper process"])
def test_interrupted_import_keeps_whole_chunks_and_resumes(
    db_url: str, db: Engine, tmp_path: Path, read_ahead: str
) -> None:
    path = tmp_path / "big.csv"
    valid = _write_answers(path, 20_000)
    chunk = 200
    args = ["import", "responses", str(path), "--chunk-rows", str(chunk)]
    if read_ahead == "helper process":
        args += ["--read-ahead-bytes", "0"]
    process = _cxbot(db_url, tmp_path, *args)
    deadline = time.monotonic() + 60
    stored = 0
    # Interrupt once a few chunks are in, well before the end.
    while stored < 3 * (chunk - 4) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
        stored = count(db, "SELECT count(*) FROM response")
    assert process.poll() is None, "the import finished before it could be interrupted"
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted: run the same command again" in err
    assert "Traceback" not in err
    partial = count(db, "SELECT count(*) FROM response")
    # whole chunks only: each chunk of 200 rows holds 196 valid ones
    assert 0 < partial < valid
    assert partial % (chunk - chunk // 50) == 0
    assert count(db, "SELECT sum(n) FROM responsedaily") == partial
    # The rejected rows of every stored chunk are in the report, the last one's too.
    with (tmp_path / "big.csv.rejected.csv").open(encoding="utf-8-sig", newline="") as f:
        reported = len(list(csv.DictReader(f)))
    assert reported == partial // (chunk - chunk // 50) * (chunk // 50)

    rerun = _cxbot(db_url, tmp_path, "import", "responses", str(path), "--chunk-rows", "5000")
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert f"accepted: {valid - partial}" in out
    assert f"duplicates: {partial}" in out
    assert count(db, "SELECT count(*) FROM response") == valid
    assert count(db, "SELECT sum(n) FROM responsedaily") == valid
    grouped = count(
        db,
        "SELECT count(*) FROM (SELECT local_day, segment, touchpoint, score FROM response "
        "GROUP BY local_day, segment, touchpoint, score) AS g",
    )
    assert count(db, "SELECT count(*) FROM responsedaily") == grouped


# --------------------------------------------------------------------------- read ahead


def test_a_helper_process_reads_ahead_with_the_same_result(
    cli: Callable[..., Result], db: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "answers.csv"
    valid = _write_answers(path, 1_000)
    result = cli("import", "responses", str(path), "--chunk-rows", "300", "--read-ahead-bytes", "0")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == [f"accepted: {valid}", "duplicates: 0"]
    assert f"rejected: {1_000 - valid}" in result.stdout
    assert "line 51: score 11 is outside 0-10 for nps" in result.stderr
    with (tmp_path / "answers.csv.rejected.csv").open(encoding="utf-8-sig", newline="") as f:
        lines = [row["line"] for row in csv.DictReader(f)]
    assert lines == [str(i + 2) for i in range(1_000) if i % 50 == 49]
    assert count(db, "SELECT count(*) FROM response") == valid
    assert count(db, "SELECT sum(n) FROM responsedaily") == valid
    again = cli("import", "responses", str(path), "--read-ahead-bytes", "0")
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[:2] == ["accepted: 0", f"duplicates: {valid}"]


def test_a_later_chunk_that_cannot_be_read_keeps_the_chunks_before_it(
    cli: Callable[..., Result], db: Engine, tmp_path: Path
) -> None:
    # A JSON array that breaks off: the helper has sent two whole chunks before it finds out.
    items = [
        f'{{"responded_at": "2026-10-{1 + i % 28:02d}", "metric": "nps", "score": {i % 11}}}'
        for i in range(250)
    ]
    path = tmp_path / "answers.json"
    path.write_text("[\n" + ",\n".join(items) + ",\n", encoding="utf-8")
    result = cli("import", "responses", str(path), "--chunk-rows", "100", "--read-ahead-bytes", "0")
    assert result.exit_code == 1
    assert "the JSON array is never closed" in result.stderr
    assert result.stdout.splitlines()[:2] == ["stored before stopping:", "accepted: 200"]
    assert count(db, "SELECT count(*) FROM response") == 200
    assert count(db, "SELECT sum(n) FROM responsedaily") == 200


def _two_chunks_then_a_bug(handle: IO[bytes]) -> Iterator[tuple[pd.DataFrame, list[Rejected]]]:
    handle.read(1)
    yield pd.DataFrame({"n": [1]}), []
    yield pd.DataFrame({"n": [2]}), [Rejected(3, "why", {"a": "b"})]
    raise ZeroDivisionError("a bug in the reader")


def _endless(handle: IO[bytes]) -> Iterator[tuple[pd.DataFrame, list[Rejected]]]:
    while True:
        yield pd.DataFrame({"n": list(range(1_000))}), []


def test_read_ahead_passes_chunks_in_order_then_the_helpers_error(tmp_path: Path) -> None:
    path = tmp_path / "any.csv"
    path.write_bytes(b"abc")
    seen = []
    bug = pytest.raises(RuntimeError, match="ZeroDivisionError: a bug in the reader")
    with bug, read_ahead(_two_chunks_then_a_bug, path) as chunks:
        for frame, rejected, position in chunks:
            seen.append((frame["n"].tolist(), [r.line for r in rejected], position))
    assert seen == [([1], [], 1), ([2], [3], 1)]


def test_read_ahead_stops_the_helper_when_the_command_stops_early(tmp_path: Path) -> None:
    path = tmp_path / "any.csv"
    path.write_bytes(b"abc")
    with read_ahead(_endless, path) as chunks:
        first = next(chunks)
        helpers = multiprocessing.active_children()
        assert [p.name for p in helpers] == ["cxbot-import-reader"]
    assert len(first[0]) == 1_000
    assert not helpers[0].is_alive()
