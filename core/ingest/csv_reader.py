"""Reading a CSV file: its separator and header, then its records in chunks.

Separated by commas, semicolons or tabs (sniffed from the header line, or named by
Excel's `sep=` line). Plain blocks are read whole (core.ingest.csv_blocks); the rest
record by record, so a quote left open is found and its row alone rejected.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator, Sequence

from core.ingest import records
from core.ingest.columns import Spec, normalise_name
from core.ingest.csv_blocks import BlockReader, RawLines, Rows
from core.ingest.decoding import DecodedLines, LineState, Text
from core.ingest.records import Chunk, FileError, Rejected

_MAX_FIELD = 256 << 20
csv.field_size_limit(max(csv.field_size_limit(), _MAX_FIELD))


def sniff_delimiter(header: str) -> str:
    """The separator of a CSV whose first line is `header` (comma, semicolon or tab)."""
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        for other, name in (("|", "'|'"), (":", "':'")):
            if other in header:
                raise FileError(
                    f"line 1: the header is separated by {name}; "
                    "separate columns with commas, semicolons or tabs"
                )
    return best


def _map_header(names: Sequence[str], spec: Spec, line: int) -> dict[str, int]:
    """Canonical column -> position; a clear error for duplicates and missing columns."""
    where: dict[str, int] = {}
    for pos, name in enumerate(names):
        canonical = spec.table.get(normalise_name(name))
        if canonical is None:
            continue  # columns the product does not use are ignored
        if canonical in where:
            first = names[where[canonical]].strip()
            raise FileError(
                f"line {line}: columns {pos_name(where[canonical], first)} and "
                f"{pos_name(pos, name.strip())} both mean {canonical}; keep one of them"
            )
        where[canonical] = pos
    missing = [c for c in spec.required if c not in where]
    if missing:
        found = ", ".join(n.strip() for n in names if n.strip()) or "none"
        raise FileError(
            f"line {line}: required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} missing (found: {found})"
        )
    return where


def pos_name(pos: int, name: str) -> str:
    return f"{pos + 1} ({name!r})"


class _Then:
    """`first`, then what `rest` gives, each time it is asked (see `DecodedLines`)."""

    def __init__(self, first: str, rest: Iterator[str]) -> None:
        self._first: str | None = first
        self._rest = rest

    def __iter__(self) -> _Then:
        return self

    def __next__(self) -> str:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        return next(self._rest)


def unclosed_quote(
    state: LineState, record_like: Callable[[bytes], bool]
) -> tuple[str, bool] | None:
    """Why a record read over several lines (`state.recording`) is a quote left open,
    and whether the lines after its first are to be read again; None when it is a
    value that really spans lines.

    A quoted value may hold line breaks, so a quote that is never closed swallows the
    rows after it into one value: a line inside the value that is a whole row on its
    own, or a record that only ends with the file, gives it away.
    """
    lines = state.recording
    first = state.record_start
    swallowed = next((n for n, line in enumerate(lines[1:], 1) if record_like(line)), None)
    if swallowed is not None:
        reason = (
            f"a quote opened on line {first} is not closed on that line, so line "
            f"{first + swallowed} and the lines after it were read into this row's value: "
            "this row is rejected (close the quote) and the lines after it read on their own"
        )
        return reason, True
    if b'"' not in lines[-1]:
        reason = (
            f"a quote opened on line {first} is never closed: lines {first}-"
            f"{first + len(lines) - 1} (to the end of the file) were read as one value"
        )
        return reason, False
    return None


def _next_filled(lines: Iterator[str]) -> str:
    """The next line that is not blank, or "" when the lines end first."""
    for line in lines:
        if line.strip():
            return line
    return ""


def csv_chunks(text: Text, spec: Spec, chunk_rows: int) -> Iterator[Chunk]:
    """The file's rows in chunks of up to `chunk_rows`, with their physical line numbers."""
    state = LineState(text.encoding, text.settled)
    raw = RawLines(text.stream)
    lines = DecodedLines(raw, state)
    first = _next_filled(lines)
    if not first:
        raise FileError("the file is empty")
    header_line = state.count
    declared = re.fullmatch(r"\ufeff?sep=(.)\s*", first)
    if declared:
        # Excel's "sep=;" line names the separator; the header follows it.
        delimiter = declared.group(1)
        first = _next_filled(lines)
        if not first:
            raise FileError("the file has no header line")
        header_line = state.count
    else:
        delimiter = sniff_delimiter(first)
    state.record_start = header_line

    reader = csv.reader(_Then(first, lines), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise FileError(f"line {header_line}: the header cannot be read: {exc}") from None
    header[0] = header[0].lstrip("\ufeff")
    where = _map_header(header, spec, header_line)
    width = len(header)
    names = [n.strip() or f"column {i + 1}" for i, n in enumerate(header)]
    positions = list(where.items())
    blocks = BlockReader(delimiter, width, where[spec.required[0]])

    def as_raw(row: Sequence[str]) -> dict[str, str]:
        extra = [f"column {i + 1}" for i in range(width, len(row))]
        return dict(zip([*names, *extra], row, strict=False))

    def finish(lines: list[int], rows: list[tuple[str, ...]], rejected: list[Rejected]) -> Chunk:
        # Transposing in one C call beats appending to every column row by row.
        transposed = list(zip(*rows, strict=True)) if rows else [()] * width
        columns = {c: list(transposed[pos]) for c, pos in positions}
        return Chunk(lines, columns, rows, as_raw, rejected)

    def fast() -> Chunk | None:
        """The next chunk_rows lines read as one block, or None (at the end, or not plain)."""
        block = raw.block(chunk_rows)
        if not block:
            return None
        read = blocks.read(block, state.encoding)
        if read is None:
            raw.hand_back(block)
            return None
        start = state.count + 1
        state.count += len(block)
        if not state.settled and not all(map(bytes.isascii, block)):
            state.settled = True  # the block decoded as UTF-8, as the line reader would
        columns = {c: read[pos] for c, pos in positions}
        return Chunk(list(range(start, state.count + 1)), columns, Rows(read), as_raw)

    required = [where[c] for c in spec.required]

    def record_like(line: bytes) -> bool:
        """Whether a line is a whole row on its own, with every required value."""
        text = line.decode(state.encoding, "replace").rstrip("\r\n")
        if blocks.usable and blocks.plain_line(line.rstrip(b"\r\n")) is False:
            return False
        try:
            cells = next(csv.reader([text], delimiter=delimiter))
        except (csv.Error, StopIteration):
            return False
        return len(cells) == width and all(cells[i].strip() for i in required)

    lines_: list[int] = []
    rows: list[tuple[str, ...]] = []
    rejected: list[Rejected] = []
    size = 0  # characters in `rows`
    end = state.count
    # Whether to read the next chunk as one block; after a block that was not plain, its
    # chunk is read record by record.
    try_fast = blocks.usable
    while True:
        if try_fast:
            chunk = fast()
            if chunk is not None:
                yield chunk
                end = state.count
                continue
            try_fast = False
        start = end + 1
        state.record_start = start
        state.recording.clear()
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise FileError(f"line {start}: {exc}") from None
        end = state.count
        if end > start:
            broken = unclosed_quote(state, record_like)
            if broken is not None:
                reason, again = broken
                rejected.append(Rejected(start, reason, as_raw(row)))
                if again:
                    # The lines the open quote swallowed are read again, as rows of their own.
                    raw.hand_back(state.recording[1:])
                    state.count = end = start
                else:
                    end = state.count
                continue
        joined = "".join(row)
        if not joined or joined.isspace():
            continue  # blank lines and rows of empty cells carry nothing
        trouble = state.trouble(start, end) if (state.bad or state.nul) else None
        if trouble is None and len(row) != width:
            if len(row) > width and not "".join(row[width:]).strip():
                row = row[:width]  # trailing separators
            else:
                trouble = f"the row has {len(row)} values but the header has {width} columns"
                if end > start:
                    trouble += f" (lines {start}-{end} were read as one row: check the quotes)"
        if trouble is not None:
            rejected.append(Rejected(start, trouble, as_raw(row)))
            continue
        lines_.append(start)
        rows.append(tuple(row))  # tuples of str leave the GC's watch: lists would not
        size += len(joined)
        if len(rows) >= chunk_rows or size >= records.CHUNK_BYTES:
            yield finish(lines_, rows, rejected)
            lines_, rows, rejected = [], [], []
            size = 0
            try_fast = blocks.usable
    if rows or rejected:
        yield finish(lines_, rows, rejected)
