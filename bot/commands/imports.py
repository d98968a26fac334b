"""`cxbot import responses|customers FILE`: survey answers and customer records from CSV or JSON.

Each chunk of the file is stored in its own transaction, so an interrupted import
keeps what it stored and running it again adds only the rest. FILE `-` reads standard
input (copied to a temporary file first: chunks and the read-ahead helper need to seek).
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import typer

from bot.commands import common

if TYPE_CHECKING:
    import pandas as pd

    from bot.commands.readahead import Chunk, ChunkReader
    from core.ingest import Rejected

import_app = typer.Typer(help="Import survey answers or customer records.", no_args_is_help=True)

# How many reasons are shown on the terminal; the rejects file has them all.
_SHOWN_REJECTS = 5
# Rows per transaction: bigger chunks rewrite the indexes' pages less often, and
# 200,000 rows keep the command and its reading process together well under 1 GB.
CHUNK_ROWS = 200_000
# Files at least this large are parsed in a helper process while chunks are stored
# (bot.commands.readahead); starting one costs about as much as parsing 8 MB.
READ_AHEAD_BYTES = 16 << 20

STDIN = "-"
FileArg = typer.Argument(
    ...,
    metavar="FILE",
    help="A CSV (comma, semicolon or tab) or JSON file; - reads standard input.",
    show_default=False,
)
TeamOpt = typer.Option(None, "--team", help="Workspace (team id) when several are installed.")
# For tests and tuning: how many rows go into one transaction.
ChunkOpt = typer.Option(CHUNK_ROWS, "--chunk-rows", min=1, hidden=True)
# For tests and tuning: from what file size (bytes) a helper process parses ahead.
ReadAheadOpt = typer.Option(READ_AHEAD_BYTES, "--read-ahead-bytes", min=0, hidden=True)
RejectsOpt = typer.Option(
    None,
    "--rejects",
    help="Where to write rejected rows (default: <FILE>.rejected.csv next to the file, "
    "stdin.rejected.csv here for standard input).",
)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")


class RejectsFile:
    """Rejected rows as CSV (line, reason, then the row's own fields), created on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.first: list[Rejected] = []
        self._handle: IO[str] | None = None
        self._writer: Any = None
        self._fields: list[str] = []

    def add(self, rejected: Sequence[Rejected]) -> None:
        for item in rejected:
            if len(self.first) < _SHOWN_REJECTS:
                self.first.append(item)
            self._write(item)
            self.count += 1

    def _write(self, item: Rejected) -> None:
        if self._writer is None:
            from core.csvsafe import SafeWriter

            try:
                # utf-8-sig so that spreadsheet programs show æ, ø and å correctly.
                self._handle = open(self.path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
            except OSError as exc:
                common.fail(f"--rejects: cannot write {self.path}: {exc.strerror or exc}")
            self._fields = [k for k in item.raw if k not in ("line", "reason")]
            self._writer = SafeWriter(self._handle)
            self._writer.writerow(["line", "reason", *self._fields, "other"])
        other = {k: v for k, v in item.raw.items() if k not in self._fields}
        self._writer.writerow(
            [
                item.line,
                item.reason,
                *(item.raw.get(k, "") for k in self._fields),
                json.dumps(other, ensure_ascii=False) if other else "",
            ]
        )

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


@contextmanager
def _readable(file: Path) -> Iterator[Path]:
    """`file` itself, or for `-` a temporary copy of standard input (removed afterwards)."""
    if str(file) != STDIN:
        yield file
        return
    if sys.stdin is None or sys.stdin.isatty():
        common.fail("FILE: - reads standard input, but nothing is piped in", common.EXIT_USAGE)
    with tempfile.TemporaryDirectory(prefix="cxbot-stdin-") as folder:
        copy = Path(folder) / "stdin"
        with copy.open("wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
        yield copy


def _run(
    file: Path,
    rejects: Path | None,
    read: ChunkReader,
    store: Callable[[pd.DataFrame], None],
    summary: Callable[[], dict[str, Any]],
    read_ahead_bytes: int = READ_AHEAD_BYTES,
    fmt: str = common.TEXT,
    inspect: Callable[[Path], None] | None = None,
) -> None:
    """Read `file` (`-`: standard input) chunk by chunk, store each, report; shared by both
    kinds of import.

    `read` must pickle (see bot.commands.readahead): a large file is parsed in a
    helper process. `inspect` sees the readable file first (the layout, a dry run).
    """
    common.output_format(fmt)  # a bad --format fails before anything is stored
    if str(file) == STDIN:
        rejects = rejects or Path("stdin.rejected.csv")
    else:
        rejects = rejects or file.with_name(file.name + ".rejected.csv")
    with _readable(file) as path:
        if inspect is not None:
            inspect(path)
        _run_file(path, file, rejects, read, store, summary, read_ahead_bytes, fmt)


def _run_file(
    file: Path,
    shown: Path,
    rejects: Path,
    read: ChunkReader,
    store: Callable[[pd.DataFrame], None],
    summary: Callable[[], dict[str, Any]],
    read_ahead_bytes: int,
    fmt: str,
) -> None:
    from bot.commands.readahead import IMPORT_GC_THRESHOLD, read_ahead, read_inline
    from core.ingest import FileError

    if file.is_dir():
        common.fail(f"{file}: is a directory, not a file")
    try:
        handle = open(file, "rb")  # noqa: SIM115 - closed below
        size = file.stat().st_size
    except OSError as exc:
        common.fail(f"{shown}: cannot read the file: {exc.strerror or exc}")
    out = RejectsFile(rejects)
    done = chunks_stored = 0
    chunks: AbstractContextManager[Iterator[Chunk]]
    if size >= read_ahead_bytes:
        chunks = read_ahead(read, file)
    else:
        chunks = nullcontext(read_inline(read, handle))
    # Everything loaded so far lives as long as the process: keeping it out of the
    # collector's full passes saves seconds on a million rows.
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(*IMPORT_GC_THRESHOLD)
    try:
        with (
            handle,
            chunks as read_chunks,
            common.progress(f"Importing {shown.name}", total=size) as advance,
        ):
            for frame, rejected, position in read_chunks:
                with _interrupt_after_chunk() as interrupted:
                    store(frame)
                    chunks_stored += 1
                    out.add(rejected)
                    advance(position - done)
                    done = position
                if interrupted:
                    raise KeyboardInterrupt
    except FileError as exc:
        if chunks_stored:
            _report(summary(), out, fmt, stored_so_far=True)
        common.fail(f"{shown}: {exc}")
    except KeyboardInterrupt:
        _report(summary(), out, fmt, stored_so_far=True)
        typer.echo("interrupted: run the same command again to import the rest", err=True)
        raise typer.Exit(130) from None
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        out.close()
    _report(summary(), out, fmt)


@contextmanager
def _interrupt_after_chunk() -> Iterator[list[int]]:
    """Ctrl-C while a chunk is written stops the import once that chunk is stored: the
    list it yields is non-empty then, and the caller stops after its bookkeeping.

    A KeyboardInterrupt raised inside the PostgreSQL driver's pipeline leaves the
    connection unusable, so its rollback fails too and the command ends in a
    traceback; a chunk takes seconds at most, so it is let finish instead. A second
    Ctrl-C stops at once (the chunk's transaction is rolled back or lost with the
    connection; either way it is not half-stored).
    """
    asked: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield asked
        return

    def later(signum: int, _frame: object) -> None:
        if asked:
            raise KeyboardInterrupt
        os.write(2, b"\nstopping once the current chunk is stored (Ctrl-C again: now)...\n")
        asked.append(signum)

    previous = signal.signal(signal.SIGINT, later)
    try:
        yield asked
    finally:
        signal.signal(signal.SIGINT, previous)


def _report(
    counts: dict[str, Any], out: RejectsFile, fmt: str, *, stored_so_far: bool = False
) -> None:
    lines = list(counts.pop("lines"))
    if stored_so_far:
        lines.insert(0, "stored before stopping:")
    if out.count:
        lines.append(f"rejected: {out.count} (written to {out.path})")
    else:
        lines.append("rejected: 0")
    data = {
        **counts,
        "rejected": out.count,
        "rejects_file": str(out.path) if out.count else None,
        "complete": not stored_so_far,
    }
    common.summary(fmt, data, lines)
    if out.count and not common.quiet():
        for item in out.first:
            typer.echo(f"  line {item.line}: {item.reason}", err=True)
        if out.count > len(out.first):
            typer.echo(f"  ... and {out.count - len(out.first)} more", err=True)
    if (
        out.count
        and not stored_so_far
        and not counts.get("accepted")
        and not counts.get("duplicates")
    ):
        # Nothing of the file could be used: bad input, whatever the reasons (CONTRACT.md).
        typer.echo(f"error: every row of the file was rejected (see {out.path})", err=True)
        raise typer.Exit(common.EXIT_BAD_INPUT)


SourceOpt = typer.Option(
    None, "--source", help="Read the file as this layout (see `cxbot import formats`)."
)
MapOpt = typer.Option(
    None,
    "--map",
    help='Which column is what, e.g. score="How likely...",metric=nps,responded_at="Submit '
    'Date",segment=Plan; repeat for each scored question.',
)
MapFileOpt = typer.Option(
    None, "--map-file", help="The same as --map in a YAML file (README: Data files)."
)
DryRunOpt = typer.Option(
    False, "--dry-run", help="Show the layout, each column's use and the first rows; store nothing."
)
DayFirstOpt = typer.Option(False, "--dayfirst", help="Dates like 05/11/2026 are 5 November.")
MonthFirstOpt = typer.Option(False, "--monthfirst", help="Dates like 05/11/2026 are 11 May.")
TimezoneOpt = typer.Option(
    None, "--timezone", help="Time zone of times the file gives without one (e.g. Europe/Oslo)."
)


def _layout_options(
    source: str | None,
    maps: list[str] | None,
    map_file: Path | None,
    dayfirst: bool,
    monthfirst: bool,
    timezone: str | None,
) -> Any:
    """core.layouts.Options from the command line; a usage error says which option."""
    from core import layouts

    if dayfirst and monthfirst:
        common.fail("--dayfirst and --monthfirst: choose one", common.EXIT_USAGE)
    parsed: list[dict[str, Any]] = []
    if map_file is not None:
        import yaml

        try:
            content = yaml.safe_load(map_file.read_text(encoding="utf-8-sig"))
        except OSError as exc:
            common.fail(f"--map-file: cannot read {map_file}: {exc.strerror or exc}", 2)
        except UnicodeDecodeError:
            common.fail(f"--map-file: {map_file} is not UTF-8 text", common.EXIT_USAGE)
        except yaml.YAMLError as exc:
            common.fail(f"--map-file: {map_file} is not YAML: {exc}", common.EXIT_USAGE)
        if not isinstance(content, dict):
            common.fail(f"--map-file: {map_file} is not a mapping of KEY: COLUMN", 2)
        parsed.append(content)
    try:
        parsed += [layouts.parse_map(m) for m in maps or []]
        order = layouts.DAYFIRST if dayfirst else layouts.MONTHFIRST if monthfirst else None
        return layouts.options_from(parsed, source=source, date_order=order, timezone=timezone)
    except ValueError as exc:
        common.fail(str(exc), common.EXIT_USAGE)


def _show_dry_run(described: dict[str, Any], fmt: str) -> None:
    if common.output_format(fmt) == common.JSON:
        typer.echo(json.dumps(described, ensure_ascii=False, default=str))
        return
    typer.echo(f"layout: {described['layout']} ({described['tool']})")
    typer.echo("columns:")
    width = min(max((len(c["column"]) for c in described["columns"]), default=0), 40)
    for c in described["columns"]:
        name = c["column"] if len(c["column"]) <= 40 else c["column"][:37] + "..."
        typer.echo(f"  {name:<{width}}  -> {c['becomes']}")
    typer.echo("first answers as they would be stored:")
    for row in described["rows"]:
        shown = {k: v for k, v in row.items() if v not in (None, "")}
        typer.echo("  " + json.dumps(shown, ensure_ascii=False))
    typer.echo(
        f"would store: {described['answers']} answers; rejected: {described['rejected']} "
        "(dry run: nothing stored)"
    )
    for item in described["first_rejected"]:
        typer.echo(f"  line {item['line']}: {item['reason']}", err=True)


@import_app.command("formats")
def import_formats(fmt: str = common.FORMAT, quiet: bool = common.QUIET) -> None:
    """The layouts `import responses` recognises (and --source takes)."""
    from core.layouts import formats

    listed = formats()
    lines = [
        f"{f['name']:<13} {f['tool']}: {f['reads']}\n{'':<14}source: {f['source']}" for f in listed
    ]
    common.summary(fmt, {"formats": listed}, lines)


@import_app.command("responses")
def import_responses(
    file: Path = FileArg,
    team: str | None = TeamOpt,
    rejects: Path | None = RejectsOpt,
    source: str | None = SourceOpt,
    maps: list[str] | None = MapOpt,
    map_file: Path | None = MapFileOpt,
    dry_run: bool = DryRunOpt,
    dayfirst: bool = DayFirstOpt,
    monthfirst: bool = MonthFirstOpt,
    timezone: str | None = TimezoneOpt,
    chunk_rows: int = ChunkOpt,
    read_ahead_bytes: int = ReadAheadOpt,
    fmt: str = common.FORMAT,
    quiet: bool = common.QUIET,
) -> None:
    """Import survey answers (responded_at, metric, score, ..., or another tool's export,
    recognised from its header); duplicates are skipped."""
    from bot.handlers.metrics.report import workspace_tz
    from core.ingest import FileError
    from core.layouts import CXBOT, describe, detect, read_answers
    from storage.answers_in import store_answers

    options = _layout_options(source, maps, map_file, dayfirst, monthfirst, timezone)
    cfg = common.settings()
    eng = common.engine(cfg)
    team_id = common.resolve_team(cfg, eng, team)
    tz = workspace_tz(eng, team_id=team_id, default=cfg.cxbot_timezone)
    totals: dict[str, Any] = {"accepted": 0, "duplicates": 0}
    found: list[str] = []

    def inspect(path: Path) -> None:
        try:
            if dry_run:
                _show_dry_run(describe(path, tz, options=options), fmt)
                raise typer.Exit(0)
            with path.open("rb") as handle:
                layout = detect(handle.read(1 << 16), options)
        except FileError as exc:
            common.fail(f"{file}: {exc}")
        except OSError:
            return  # _run_file says why the file cannot be read
        if layout is not CXBOT:
            found.append(layout.name)

    def store(frame: pd.DataFrame) -> None:
        result = store_answers(eng, team_id=team_id, frame=frame)
        totals["accepted"] += result.inserted
        totals["duplicates"] += result.duplicates

    def summary() -> dict[str, Any]:
        lines = [f"accepted: {totals['accepted']}", f"duplicates: {totals['duplicates']}"]
        if found:
            # Only another tool's layout is named: the product's own summary stays as it was.
            lines.insert(0, f"layout: {found[0]}")
            return {"layout": found[0], **totals, "lines": lines}
        return {**totals, "lines": lines}

    read = partial(read_answers, tz=tz, chunk_rows=chunk_rows, options=options)
    _run(file, rejects, read, store, summary, read_ahead_bytes, fmt, inspect)


@import_app.command("customers")
def import_customers(
    file: Path = FileArg,
    team: str | None = TeamOpt,
    rejects: Path | None = RejectsOpt,
    chunk_rows: int = ChunkOpt,
    read_ahead_bytes: int = ReadAheadOpt,
    fmt: str = common.FORMAT,
    quiet: bool = common.QUIET,
) -> None:
    """Import customer records (customer_id, started_at, ended_at, ...); known ones are updated."""
    from core.ingest import read_customers
    from storage.customers import upsert_customers

    cfg = common.settings()
    eng = common.engine(cfg)
    team_id = common.resolve_team(cfg, eng, team)
    totals = {"inserted": 0, "updated": 0, "unchanged": 0}

    def store(frame: pd.DataFrame) -> None:
        result = upsert_customers(eng, team_id=team_id, frame=frame)
        totals["inserted"] += result.inserted
        totals["updated"] += result.updated
        totals["unchanged"] += result.unchanged

    def summary() -> dict[str, Any]:
        accepted = totals["inserted"] + totals["updated"]
        lines = [
            f"accepted: {accepted} ({totals['inserted']} new, {totals['updated']} updated)",
            f"duplicates: {totals['unchanged']} (already up to date)",
        ]
        return {"accepted": accepted, **totals, "duplicates": totals["unchanged"], "lines": lines}

    read = partial(read_customers, chunk_rows=chunk_rows)
    _run(file, rejects, read, store, summary, read_ahead_bytes, fmt)
