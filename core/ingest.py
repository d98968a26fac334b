"""Reading survey answers and customer records from CSV and JSON files, and checking them.

Pure: nothing here touches a database. Files are read in chunks so that a file
larger than memory imports, and every row keeps its physical line number (the
header is line 1) so a rejected row can be found in the file again.

What is read:
- CSV separated by commas, semicolons or tabs (sniffed from the header line); UTF-8
  with or without a byte-order mark, UTF-16 with one, and older single-byte
  encodings (cp1252 and relatives) recognised per file. In a UTF-8 file a line
  whose bytes are not valid UTF-8 rejects its row instead of the whole file.
- JSON: an array of objects, JSON lines, or objects one after another.

Header names are case-insensitive and may use the aliases in `RESPONSE_ALIASES`
and `CUSTOMER_ALIASES` (English, Norwegian, Danish and Swedish spellings).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, Protocol, cast
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from charset_normalizer import from_bytes

from core.mail import is_address
from core.metrics import SCORE_RANGES

RESPONSE_COLUMNS = [
    "response_key",
    "responded_at",
    "local_day",
    "metric",
    "score",
    "customer_id",
    "segment",
    "touchpoint",
    "comment",
    "employee",
]
# A customer frame holds the required columns plus the optional ones the file had:
# storage leaves a column the file did not mention as it was.
CUSTOMER_COLUMNS = [
    "customer_id",
    "name",
    "started_at",
    "ended_at",
    "segment",
    "annual_revenue",
    "acquisition_cost",
]
# Optional contact details of the customer (personal data: storage.mail). A frame carries
# them only when its source had them, so frames built without them keep RESPONSE_COLUMNS.
CONTACT_COLUMNS = ["customer_email", "customer_name"]
RESPONSE_REQUIRED = ("responded_at", "metric", "score")
CUSTOMER_REQUIRED = ("customer_id", "started_at")

# Width of the short text columns in storage; longer values would fail on PostgreSQL.
MAX_TEXT = 200
ID_PREFIX = "id:"
HASH_PREFIX = "h:"

RESPONSE_ALIASES: dict[str, tuple[str, ...]] = {
    "responded_at": (
        "responded_at", "date", "timestamp", "created_at", "time", "datetime", "answered_at",
        "submitted_at", "dato", "datum", "tidspunkt", "tidpunkt", "tid", "svartid",
    ),
    "metric": (
        "metric", "type", "question", "survey", "metrikk", "metrik", "måling", "måltall",
        "spørsmål", "spørgsmål", "fråga", "mått", "undersøkelse", "undersøgelse",
    ),
    "score": (
        "score", "rating", "value", "answer", "karakter", "poeng", "point", "poäng", "verdi",
        "værdi", "värde", "betyg", "svar", "vurdering", "bedømmelse",
    ),
    "response_id": ("response_id", "id", "answer_id", "svar_id", "svarid"),
    "customer_id": (
        "customer_id", "customer", "customer_no", "customer_number", "kunde", "kunde_id",
        "kundeid", "kundenummer", "kundenr", "kund", "kund_id", "kundid", "kundnummer", "kundnr",
    ),
    "segment": ("segment", "customer_segment", "kundesegment", "kundsegment"),
    "touchpoint": (
        "touchpoint", "touch_point", "kontaktpunkt", "berøringspunkt", "beröringspunkt",
        "kontaktpunkter",
    ),
    "comment": (
        "comment", "comments", "feedback", "text", "kommentar", "kommentarer", "tekst",
        "fritekst", "fritext", "begrunnelse", "begrundelse", "motivering",
    ),
    "employee": (
        "employee", "agent", "ansatt", "medarbeider", "medarbejder", "medarbetare", "ansat",
        "anställd", "saksbehandler", "handläggare",
    ),
    "customer_email": (
        "customer_email", "email", "e_mail", "epost", "e_post", "kunde_epost", "kund_epost",
        "kunde_e_mail", "kund_e_post", "mejl",
    ),
    "customer_name": ("customer_name", "kundenavn", "kundenavn_fullt", "kundnamn"),
}  # fmt: skip

CUSTOMER_ALIASES: dict[str, tuple[str, ...]] = {
    "customer_id": RESPONSE_ALIASES["customer_id"] + ("id",),
    "name": ("name", "customer_name", "navn", "namn", "kundenavn", "kundnamn"),
    "started_at": (
        "started_at", "start", "start_date", "started", "since", "customer_since", "created_at",
        "startdato", "startdatum", "kunde_siden", "kunde_fra", "kund_sedan", "fra", "från",
    ),
    "ended_at": (
        "ended_at", "end", "end_date", "ended", "churned_at", "cancelled_at", "canceled_at",
        "sluttdato", "slutdato", "slutdatum", "opphørt", "ophørt", "avslutad", "til", "till",
    ),
    "segment": RESPONSE_ALIASES["segment"],
    "annual_revenue": (
        "annual_revenue", "revenue", "yearly_revenue", "omsetning", "årlig_omsetning",
        "årsomsetning", "omsætning", "årlig_omsætning", "omsättning", "årlig_omsättning",
        "årsomsättning",
    ),
    "acquisition_cost": (
        "acquisition_cost", "cac", "customer_acquisition_cost", "anskaffelseskostnad",
        "anskaffelsesomkostning", "anskaffelsesomkostninger", "anskaffningskostnad",
        "förvärvskostnad", "kundeanskaffelseskostnad",
    ),
}  # fmt: skip

_SAMPLE_BYTES = 1 << 20
# A quoted value that never closes would otherwise swallow the rest of the file.
_MAX_RECORD_LINES = 10_000
_MAX_FIELD = 256 << 20
# Single-byte encodings a Scandinavian export is likely to use; guessing freely among
# all of them on a short sample picks Central European code pages that turn ø into ř.
_LEGACY_ENCODINGS = ["cp1252", "iso8859_15", "mac_roman"]
_LEGACY_DEFAULT = "cp1252"

csv.field_size_limit(max(csv.field_size_limit(), _MAX_FIELD))


@dataclass(frozen=True)
class Rejected:
    """A row that was not imported: where it is in the file, why, and what it said."""

    line: int
    reason: str
    raw: dict[str, str]


class FileError(ValueError):
    """The whole file is unusable (unreadable, empty, no header, required columns missing)."""


# --------------------------------------------------------------------------- header names


def normalise_name(name: str) -> str:
    """A header name as compared with the aliases: trimmed, lower case, `_` between words."""
    name = unicodedata.normalize("NFC", name).replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s\-./#]+", "_", name).strip("_")


def _alias_table(aliases: Mapping[str, Sequence[str]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, names in aliases.items():
        for name in names:
            table.setdefault(normalise_name(name), canonical)
    return table


_RESPONSE_TABLE = _alias_table(RESPONSE_ALIASES)
_CUSTOMER_TABLE = _alias_table(CUSTOMER_ALIASES)


@dataclass(frozen=True)
class _Spec:
    kind: str  # "answers" or "customers", for messages
    table: dict[str, str]
    required: tuple[str, ...]


_RESPONSES = _Spec("answers", _RESPONSE_TABLE, RESPONSE_REQUIRED)
_CUSTOMERS = _Spec("customers", _CUSTOMER_TABLE, CUSTOMER_REQUIRED)


# --------------------------------------------------------------------------- bytes to text


class _Readable(Protocol):
    def read(self, n: int, /) -> bytes: ...


class _Prefixed(io.RawIOBase):
    """The bytes already read for sniffing, followed by the rest of the stream."""

    def __init__(self, prefix: bytes, rest: _Readable) -> None:
        self._prefix = memoryview(prefix)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if len(self._prefix):
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass
class _LineState:
    """What the line decoder learnt while reading, shared with the record readers."""

    encoding: str
    # False while every line so far was ASCII: the encoding is still a guess.
    settled: bool
    count: int = 0
    record_start: int = 1
    bad: set[int] = field(default_factory=set)
    nul: set[int] = field(default_factory=set)
    # The raw lines of the record being read (the exact reader only).
    recording: list[bytes] = field(default_factory=list)

    def trouble(self, first: int, last: int) -> str | None:
        """Why lines first..last cannot be trusted, if they cannot."""
        if self.bad and any(n in self.bad for n in range(first, last + 1)):
            return f"the row contains bytes that are not valid {self.encoding} text"
        if self.nul and any(n in self.nul for n in range(first, last + 1)):
            return "the row contains a NUL character"
        return None


def _legacy_encoding(sample: bytes) -> str:
    best = from_bytes(sample, cp_isolation=_LEGACY_ENCODINGS).best()
    return best.encoding if best is not None else _LEGACY_DEFAULT


def _sniff_encoding(sample: bytes, complete: bool) -> tuple[str, bool]:
    """(encoding, settled) for a file starting with `sample` (BOM already removed)."""
    lines = sample.split(b"\n")
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last piece may end inside a multi-byte character
    good = bad = 0
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good += 1
        except UnicodeDecodeError:
            bad += 1
    if good:
        return "utf-8", True
    if bad:
        return _legacy_encoding(sample), True
    return "utf-8", False


class _DecodedLines:
    """The lines of `raw` as text, counted in `state`.

    An iterator, not a generator: a line handed back to `raw` after the end of the file
    was reached is still read (see `unclosed_quote`).
    """

    def __init__(self, raw: Iterator[bytes], state: _LineState) -> None:
        self._raw = raw
        self._state = state

    def __iter__(self) -> _DecodedLines:
        return self

    def __next__(self) -> str:
        state = self._state
        line = next(self._raw)
        state.count += 1
        state.recording.append(line)
        if state.count - state.record_start > _MAX_RECORD_LINES:
            raise FileError(
                f"line {state.record_start}: a quoted value starting here is never closed"
            )
        if b"\x00" in line:
            state.nul.add(state.count)
        try:
            text = line.decode(state.encoding)
        except UnicodeDecodeError:
            if not state.settled:
                # Only ASCII so far, and this is not UTF-8: an older single-byte encoding.
                state.encoding, state.settled = _legacy_encoding(line), True
                try:
                    return line.decode(state.encoding)
                except UnicodeDecodeError:
                    pass
            state.bad.add(state.count)
            text = line.decode(state.encoding, "replace")
        else:
            if not state.settled and not line.isascii():
                state.settled = True
        return text


@dataclass
class _Text:
    kind: str  # "csv" or "json"
    stream: IO[bytes]
    encoding: str
    settled: bool


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def _open_text(stream: IO[bytes]) -> _Text:
    sample = stream.read(_SAMPLE_BYTES)
    complete = len(sample) < _SAMPLE_BYTES
    encoding, settled = "", False
    for bom, name in _BOMS:
        if sample.startswith(bom):
            sample, encoding, settled = sample[len(bom) :], name, True
            break
    if not sample.strip():
        raise FileError("the file is empty")
    if sample.startswith(b"PK\x03\x04"):
        raise FileError("this is a spreadsheet or archive, not CSV: save it as CSV (UTF-8) first")
    if not encoding.startswith("utf-16"):
        if sample.count(b"\x00") > len(sample) // 10:
            raise FileError("the file is not text (it is full of NUL bytes): save it as CSV")
        if not encoding:
            encoding, settled = _sniff_encoding(sample, complete)
    head = sample[:64].decode(encoding, "ignore").lstrip()
    kind = "json" if head[:1] in ("[", "{") else "csv"
    if encoding.startswith("utf-16"):
        # Reading line by line needs an ASCII-compatible encoding: re-encode as UTF-8.
        text = io.TextIOWrapper(
            io.BufferedReader(_Prefixed(sample, stream)), encoding=encoding, errors="replace"
        )
        reencoded = _Prefixed(b"", _Utf8(text))
        return _Text(kind, io.BufferedReader(reencoded), "utf-8", True)
    return _Text(kind, io.BufferedReader(_Prefixed(sample, stream)), encoding, settled)


class _Utf8:
    """A text stream read back as UTF-8 bytes."""

    def __init__(self, text: IO[str]) -> None:
        self._text = text
        self._pending = b""

    def read(self, n: int) -> bytes:
        while len(self._pending) < n:
            piece = self._text.read(max(n, 8192))
            if not piece:
                break
            self._pending += piece.encode("utf-8")
        out, self._pending = self._pending[:n], self._pending[n:]
        return out


@contextmanager
def _binary(source: Path | str | IO[bytes]) -> Iterator[IO[bytes]]:
    if isinstance(source, str | Path):
        try:
            handle = open(source, "rb")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            raise FileError(f"cannot read {source}: {exc.strerror or exc}") from None
        with handle:
            yield handle
    else:
        yield source


# --------------------------------------------------------------------------- records


@dataclass
class _Chunk:
    """Up to chunk_rows rows in canonical columns, before checking their values.

    `sources` keeps each row as read (a CSV row's values, a JSON object) and
    `as_raw` turns one into the field -> value dict a Rejected carries: built
    only for the rows that are rejected.
    """

    lines: list[int] = field(default_factory=list)
    columns: dict[str, list[str]] = field(default_factory=dict)
    sources: Sequence[Any] = field(default_factory=list)
    as_raw: Callable[[Any], dict[str, str]] = dict
    rejected: list[Rejected] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lines)

    def raw(self, i: int) -> dict[str, str]:
        return self.as_raw(self.sources[i])


def _sniff_delimiter(header: str) -> str:
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


def _map_header(names: Sequence[str], spec: _Spec, line: int) -> dict[str, int]:
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


# A chunk also ends once its rows hold this much text: with long comments a fixed number of
# rows could take gigabytes, and a file larger than memory must still import.
CHUNK_BYTES = 32 << 20


class _RawLines:
    """The stream's lines as bytes, with a block that could not be read fast handed back.

    Both readers of a CSV file take lines from here: the block reader in whole
    blocks, the exact record reader one line at a time.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._back: list[bytes] = []  # handed-back lines, last one first

    def __iter__(self) -> _RawLines:
        return self

    def __next__(self) -> bytes:
        if self._back:
            return self._back.pop()
        line = self._stream.readline()
        if not line:
            raise StopIteration
        return line

    def block(self, n: int, max_bytes: int | None = None) -> list[bytes]:
        """Up to n lines, and no more than the first line past max_bytes (CHUNK_BYTES)."""
        if max_bytes is None:
            max_bytes = CHUNK_BYTES
        if self._back:
            taken = self._back[::-1][:n]
            del self._back[len(self._back) - len(taken) :]
        else:
            taken = []
        size = sum(map(len, taken))
        if len(taken) < n and size < max_bytes:
            # readlines stops at the first line that passes the hint, in C.
            taken += self._stream.readlines(max_bytes - size)
        if len(taken) > n:
            self.hand_back(taken[n:])
            del taken[n:]
        elif size >= max_bytes:
            budget = 0
            for i, line in enumerate(taken):
                budget += len(line)
                if budget >= max_bytes:
                    self.hand_back(taken[i + 1 :])
                    del taken[i + 1 :]
                    break
        return taken

    def hand_back(self, lines: list[bytes]) -> None:
        self._back.extend(reversed(lines))


class _Rows(Sequence[tuple[str, ...]]):
    """A block's rows as read (every column of the file), made on demand."""

    def __init__(self, columns: Sequence[Sequence[str]]) -> None:
        self._columns = columns

    def __getitem__(self, i: int) -> tuple[str, ...]:  # type: ignore[override]
        # Only single rows are asked for (for the rejected ones).
        return tuple(column[i] for column in self._columns)

    def __len__(self) -> int:
        return len(self._columns[0]) if self._columns else 0


# A field as the csv module reads it on one line: unquoted without quotes, or quoted
# whole with doubled quotes inside. Lines made of these read the same in pandas' parser.
_UNQUOTED = rb'[^"%s\r\n]*'
_QUOTED = rb'"(?:[^"\r\n]|"")*"'


class _BlockReader:
    """Reads a block of lines in C (pandas' parser) when the block is plain CSV.

    Plain means: valid text in the file's encoding, no NUL, every line one record of
    exactly the header's width, quotes only around whole fields on one line, no
    blank rows. Then the block's rows, values and line numbers are exactly what the
    record-by-record reader would give; any other block goes to that reader instead.
    """

    def __init__(self, delimiter: str, width: int, blank_probe: int) -> None:
        self.width = width
        self.blank_probe = blank_probe
        self.usable = len(delimiter) == 1 and delimiter.isascii() and delimiter not in '"\r\n'
        self._sep = delimiter
        self._delimiter = delimiter.encode("ascii") if self.usable else b""
        field = b"(?:" + _UNQUOTED % re.escape(self._delimiter) + b"|" + _QUOTED + b")"
        self._line = re.compile(
            field + b"(?:" + re.escape(self._delimiter) + field + b"){%d}\r?" % (width - 1)
        )

    def read(self, lines: list[bytes], encoding: str) -> list[list[str]] | None:
        """Every column of the block, or None when the block is not plain."""
        n = len(lines)
        data = b"".join(lines)
        if b"\x00" in data or data.startswith(codecs.BOM_UTF8):
            return None  # pandas would drop a byte-order mark at the start of its input
        counts = list(map(bytes.count, lines, itertools.repeat(self._delimiter)))
        if counts.count(self.width - 1) != n:
            # Only a line with quotes may have a delimiter inside a value.
            odd = (line for line, c in zip(lines, counts, strict=True) if c != self.width - 1)
            if any(b'"' not in line for line in odd):
                return None
        if b'"' in data and not self._quotes_plain(data):
            return None
        try:
            frame = pd.read_csv(
                io.BytesIO(data),
                sep=self._sep,
                header=None,
                names=range(self.width),
                index_col=False,
                dtype=object,
                na_filter=False,
                skip_blank_lines=False,
                encoding=encoding,
                engine="c",
            )
        except ValueError:  # pandas' ParserError and UnicodeDecodeError among them
            return None
        if frame.shape != (n, self.width):
            return None  # a lone carriage return ends a line for pandas only
        columns = [frame[i].to_numpy().tolist() for i in range(self.width)]
        probe = columns[self.blank_probe]
        for i in [i for i, v in enumerate(probe) if not v or v.isspace()]:
            if all(not c[i] or c[i].isspace() for c in columns):
                return None  # a blank row is skipped by the record reader
        return columns

    def plain_line(self, line: bytes) -> bool:
        """Whether one line (without its line break) is a record of plain fields."""
        return self._line.fullmatch(line) is not None

    def _quotes_plain(self, data: bytes) -> bool:
        """Whether every line with a quote is one record of plain fields."""
        fullmatch = self._line.fullmatch
        at = data.find(b'"')
        while at >= 0:
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            end = len(data) if end < 0 else end
            if fullmatch(data, start, end) is None:
                return False
            at = data.find(b'"', end)
        return True


class _Then:
    """`first`, then what `rest` gives, each time it is asked (see `_DecodedLines`)."""

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
    state: _LineState, record_like: Callable[[bytes], bool]
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


def _csv_chunks(text: _Text, spec: _Spec, chunk_rows: int) -> Iterator[_Chunk]:
    state = _LineState(text.encoding, text.settled)
    raw = _RawLines(text.stream)
    lines = _DecodedLines(raw, state)
    first = ""
    for first in lines:
        if first.strip():
            break
    if not first.strip():
        raise FileError("the file is empty")
    header_line = state.count
    declared = re.fullmatch(r"\ufeff?sep=(.)\s*", first)
    if declared:
        # Excel's "sep=;" line names the separator; the header follows it.
        delimiter = declared.group(1)
        first = ""
        for first in lines:
            if first.strip():
                break
        if not first.strip():
            raise FileError("the file has no header line")
        header_line = state.count
    else:
        delimiter = _sniff_delimiter(first)
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
    blocks = _BlockReader(delimiter, width, where[spec.required[0]])

    def as_raw(row: Sequence[str]) -> dict[str, str]:
        extra = [f"column {i + 1}" for i in range(width, len(row))]
        return dict(zip([*names, *extra], row, strict=False))

    def finish(lines: list[int], rows: list[tuple[str, ...]], rejected: list[Rejected]) -> _Chunk:
        # Transposing in one C call beats appending to every column row by row.
        transposed = list(zip(*rows, strict=True)) if rows else [()] * width
        columns = {c: list(transposed[pos]) for c, pos in positions}
        return _Chunk(lines, columns, rows, as_raw, rejected)

    def fast() -> _Chunk | None:
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
        return _Chunk(list(range(start, state.count + 1)), columns, _Rows(read), as_raw)

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
        if len(rows) >= chunk_rows or size >= CHUNK_BYTES:
            yield finish(lines_, rows, rejected)
            lines_, rows, rejected = [], [], []
            size = 0
            try_fast = blocks.usable
    if rows or rejected:
        yield finish(lines_, rows, rejected)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


# A JSON escape like "\ud800" decodes to half of a surrogate pair: no encoding can write
# it, so storage (and any report that shows it) would fail on it later.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
LONE_SURROGATE_REASON = (
    "the item contains an unpaired surrogate escape (like \\ud800), which is not text"
)
# Python's parser gives up near 1,000 levels (RecursionError); no answer is nested at all.
TOO_DEEP_REASON = "the item is nested too deeply to read (arrays or objects inside each other)"
_JSON_TOKEN = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]')
_JSON_SCALAR = re.compile(r'"(?:[^"\\]++|\\.)*+"|[^,\]}\s]+')


def json_value_end(text: str, pos: int) -> int | None:
    """Where the JSON value starting at `pos` ends (its brackets closed), or None when
    `text` ends first. Only strings and brackets are looked at, so no nesting is too
    deep for it; a scalar value ends at the next delimiter."""
    if pos >= len(text) or text[pos] not in "[{":
        stop = _JSON_SCALAR.match(text, pos)
        return stop.end() if stop else None
    depth = 0
    for token in _JSON_TOKEN.finditer(text, pos):
        kind = token.group()
        if kind in "[{":
            depth += 1
        elif kind in "]}":
            depth -= 1
            if depth == 0:
                return token.end()
    return None


def json_array_items(text: str) -> list[str] | None:
    """The texts of a JSON array's items, split without parsing them (so an item nested
    too deeply for the parser is still told apart from the rest); None when `text` is
    not one array."""
    body = text.strip()
    if not body.startswith("["):
        return None
    items: list[str] = []
    pos = 1
    separator = re.compile(r"\s*(,|\])\s*")
    first = re.compile(r"\s*").match(body, pos)
    pos = first.end() if first else pos
    if body.startswith("]", pos):
        return [] if not body[pos + 1 :].strip() else None
    while True:
        end = json_value_end(body, pos)
        if end is None:
            return None
        items.append(body[pos:end])
        sep = separator.match(body, end)
        if sep is None:
            return None
        pos = sep.end()
        if sep.group(1) == "]":
            return items if pos == len(body) else None


def has_lone_surrogate(values: Iterable[str]) -> bool:
    search = _LONE_SURROGATE.search
    return any(search(v) for v in values)


def _shown_text(value: str) -> str:
    return _LONE_SURROGATE.sub("\ufffd", value)


def _add_object(chunk: _Chunk, line: int, item: Any, spec: _Spec) -> None:
    if not isinstance(item, dict):
        chunk.rejected.append(
            Rejected(line, "the item is not a JSON object", {"item": _as_text(item)})
        )
        return
    try:
        raw = {str(k): _as_text(v) for k, v in item.items()}
    except RecursionError:
        chunk.rejected.append(Rejected(line, TOO_DEEP_REASON, {"item": "(not shown)"}))
        return
    if has_lone_surrogate(raw) or has_lone_surrogate(raw.values()):
        shown = {_shown_text(k): _shown_text(v) for k, v in raw.items()}
        chunk.rejected.append(Rejected(line, LONE_SURROGATE_REASON, shown))
        return
    mapped: dict[str, str] = {}
    origin: dict[str, str] = {}
    for key, value in raw.items():
        canonical = spec.table.get(normalise_name(key))
        if canonical is None:
            continue
        if canonical in mapped:
            reason = f"fields {origin[canonical]} and {key} both give {canonical}"
            chunk.rejected.append(Rejected(line, reason, raw))
            return
        mapped[canonical], origin[canonical] = value, key
    if any("\x00" in v for v in mapped.values()):
        chunk.rejected.append(Rejected(line, "the row contains a NUL character", raw))
        return
    n = len(chunk)
    for canonical in mapped:
        if canonical not in chunk.columns:
            # A column first seen in this object: the objects before it had it empty.
            chunk.columns[canonical] = [""] * n
    for canonical, column in chunk.columns.items():
        column.append(mapped.get(canonical, ""))
    chunk.lines.append(line)
    cast(list[Any], chunk.sources).append(raw)  # an object chunk's sources are a list


_JSON = json.JSONDecoder()
_SURROGATE = re.compile("[\udc80-\udcff]")
_READ = 1 << 16


def _json_items(text: _Text) -> Iterator[tuple[int, Any, str | None, int]]:
    """(line, item, None) per item, or (line, its text, reason) for an unreadable item."""
    stream = io.TextIOWrapper(text.stream, encoding=text.encoding, errors="surrogateescape")
    buf = stream.read(_READ)
    eof = not buf
    pos = 0
    line, counted = 1, 0  # the line of buf[counted]

    def line_at(p: int) -> int:
        nonlocal line, counted
        line += buf.count("\n", counted, p)
        counted = p
        return line

    def more() -> bool:
        nonlocal buf, pos, counted, eof
        if eof:
            return False
        # Growing reads keep a multi-megabyte item from being parsed again per 64 KiB.
        piece = stream.read(max(_READ, len(buf) - pos))
        if not piece:
            eof = True
            return False
        if pos > _READ:  # drop what was already read
            line_at(pos)
            buf, counted, pos = buf[pos:], 0, 0
        buf += piece
        return True

    def skip(chars: str) -> str:
        """The next character that is not one of `chars`, or '' at the end."""
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in chars:
                pos += 1
            if pos < len(buf):
                return buf[pos]
            if not more():
                return ""

    in_array = skip(" \t\r\n\ufeff") == "["
    if in_array:
        pos += 1
    separators = " \t\r\n," if in_array else " \t\r\n"
    while True:
        nxt = skip(separators)
        if nxt == "":
            if in_array:
                raise FileError(f"line {line_at(pos)}: the JSON array is never closed with ]")
            return
        if in_array and nxt == "]":
            pos += 1
            if skip(" \t\r\n"):
                raise FileError(f"line {line_at(pos)}: text after the end of the JSON array")
            return
        while True:
            try:
                item, end = _JSON.raw_decode(buf, pos)
                break
            except RecursionError:
                # Skipped by its brackets alone: the items after it are still read.
                stop = json_value_end(buf, pos)
                while stop is None and more():
                    stop = json_value_end(buf, pos)
                start = line_at(pos)
                yield start, "(not shown)", TOO_DEEP_REASON, 0
                pos = len(buf) if stop is None else stop
                item = None
                end = -1
                break
            except json.JSONDecodeError as exc:
                at_end = exc.msg.startswith("Unterminated string") or not buf[exc.pos :].strip()
                if at_end and more():
                    continue
                start = line_at(pos)
                if in_array:
                    error_line = start + buf.count("\n", pos, max(exc.pos, pos))
                    raise FileError(f"line {error_line}: not valid JSON ({exc.msg})") from None
                # JSON lines: give up on the item's first line only and go on with
                # the next one, which is where the next item starts in JSON lines.
                stop = buf.find("\n", pos)
                while stop < 0 and more():
                    stop = buf.find("\n", pos)
                stop = len(buf) if stop < 0 else stop
                yield start, buf[pos:stop].strip()[:1000], f"not valid JSON ({exc.msg})", 0
                pos = stop
                item = None
                end = -1
                break
        if end < 0:
            continue
        first = line_at(pos)
        if _SURROGATE.search(buf, pos, end):
            shown = buf[pos:end].encode("utf-8", "replace").decode("utf-8")[:1000]
            problem = f"the item contains bytes that are not valid {text.encoding} text"
            yield first, shown, problem, 0
        else:
            yield first, item, None, end - pos
        pos = end


def _json_chunks(text: _Text, spec: _Spec, chunk_rows: int) -> Iterator[_Chunk]:
    chunk = _Chunk()
    size = 0  # characters of JSON in `chunk`
    for line, item, problem, length in _json_items(text):
        if problem is not None:
            chunk.rejected.append(Rejected(line, problem, {"item": _as_text(item)}))
        else:
            _add_object(chunk, line, item, spec)
            size += length
        if len(chunk) >= chunk_rows or size >= CHUNK_BYTES:
            yield chunk
            chunk = _Chunk()
            size = 0
    if len(chunk) or chunk.rejected:
        yield chunk


def _chunks(source: Path | str | IO[bytes], spec: _Spec, chunk_rows: int) -> Iterator[_Chunk]:
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    with _binary(source) as stream:
        try:
            text = _open_text(stream)
        except OSError as exc:
            raise FileError(f"cannot read the file: {exc}") from None
        if text.kind == "json":
            yield from _json_chunks(text, spec, chunk_rows)
        else:
            yield from _csv_chunks(text, spec, chunk_rows)


# --------------------------------------------------------------------------- checking values


class _Problems:
    """Reasons per row, collected check by check (vectorised masks, messages for bad rows only)."""

    def __init__(self, n: int) -> None:
        self.by_row: dict[int, list[str]] = {}
        self.n = n

    def add(self, mask: Any, message: str | Callable[[int], str]) -> None:
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            text = message if isinstance(message, str) else message(int(i))
            self.by_row.setdefault(int(i), []).append(text)

    def valid(self) -> np.ndarray:
        ok = np.ones(self.n, dtype=bool)
        if self.by_row:
            ok[list(self.by_row)] = False
        return ok

    def rejected(self, chunk: _Chunk) -> list[Rejected]:
        return [
            Rejected(chunk.lines[i], "; ".join(reasons), chunk.raw(i))
            for i, reasons in sorted(self.by_row.items())
        ]


def _stripped(chunk: _Chunk, name: str) -> list[str]:
    values = chunk.columns.get(name)
    return [v.strip() for v in values] if values is not None else [""] * len(chunk)


def _distinct(chunk: _Chunk, name: str) -> tuple[np.ndarray, list[str]]:
    """(code per row, distinct values) of a text column ("" for every row when absent).

    Most columns of an export repeat a handful of values (metric, score, segment,
    touchpoint): checking each distinct value once and spreading the result with
    `_spread` replaces a Python step per row by a numpy take.
    """
    values = chunk.columns.get(name)
    if values is None:
        return np.zeros(len(chunk), dtype=np.intp), [""]
    codes, distinct = pd.factorize(np.asarray(values, dtype=object))
    return codes, distinct.tolist()


def _spread(per_value: Sequence[Any], codes: np.ndarray, dtype: Any = object) -> np.ndarray:
    """Per-row values from per-distinct-value ones (see `_distinct`)."""
    table = np.empty(len(per_value), dtype=dtype)
    table[:] = per_value  # element-wise, so that strings stay whole objects
    return table[codes]


def _shown(value: str, limit: int = 40) -> str:
    value = value.strip()
    return value if len(value) <= limit else value[: limit - 3] + "..."


_OFFSET = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)"
_DAY_FIRST = re.compile(r"(\d{1,2})[./](\d{1,2})[./](\d{4})(?: (\d{1,2}):(\d{2}(?::\d{2})?))?")
DATE_HINT = "use 2026-11-20, 2026-11-20T14:03:00+01:00 or 20.11.2026"

_EMPTY, _AWARE, _NAIVE, _DAY = 0, 1, 2, 3


def _moment_kind(value: str) -> int:
    """Which parser a timestamp needs; the parsers themselves reject malformed values."""
    if len(value) >= 10 and value[4] == "-" and value[7] == "-":
        tail = value[10:]
        if tail[-1:] in ("Z", "z") or "+" in tail or "-" in tail:
            return _AWARE
        return _NAIVE
    return _DAY if value else _EMPTY


# Longer timestamps are classified one by one: a fixed-width array of them would be big.
_KIND_WIDTH = 64


def _moment_kinds(values: Sequence[str]) -> np.ndarray:
    """`_moment_kind` of every value (int8), on a character matrix instead of per value."""
    n = len(values)
    lengths = np.fromiter(map(len, values), np.intp, n)
    if n < 100 or lengths.max(initial=0) > _KIND_WIDTH:
        return np.fromiter(map(_moment_kind, values), np.int8, n)
    width = max(int(lengths.max()), 11)
    # Code points, one row per value, zero-padded on the right.
    chars = np.asarray(values, dtype=f"<U{width}").view(np.uint32).reshape(n, width)
    dated = (lengths >= 10) & (chars[:, 4] == ord("-")) & (chars[:, 7] == ord("-"))
    tail = chars[:, 10:]
    signed = ((tail == ord("+")) | (tail == ord("-"))).any(axis=1)
    last = chars[np.arange(n), np.maximum(lengths - 1, 0)]
    zulu = (lengths > 10) & ((last == ord("Z")) | (last == ord("z")))
    kinds = np.where(lengths > 0, _DAY, _EMPTY)
    kinds[dated] = np.where(zulu | signed, _AWARE, _NAIVE)[dated]
    return kinds.astype(np.int8)


def _day_first_as_iso(value: str) -> str:
    m = _DAY_FIRST.fullmatch(value)
    if m is None:
        return ""
    day, month, year, hour, rest = m.groups()
    iso = f"{year}-{int(month):02d}-{int(day):02d}"
    return iso + f"T{int(hour):02d}:{rest}" if hour else iso


def _iso(values: Sequence[str], **kw: Any) -> Any:
    # ISO8601 also takes forms like "2026" or "20261120"; the dash check in
    # _moment_kind keeps only full dates.
    return pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601", errors="coerce", **kw)


def _naive_moments(values: Sequence[str]) -> pd.Series:
    """Wall-clock times (naive datetime64) for ISO and day-first strings; NaT where unreadable."""
    kinds = np.fromiter(map(_moment_kind, values), np.int8, len(values))
    text = [
        _day_first_as_iso(v) if k == _DAY else (v if k == _NAIVE else "")
        for v, k in zip(values, kinds, strict=True)
    ]
    text = [t if _moment_kind(t) == _NAIVE else "" for t in text]
    return pd.Series(_iso(text).to_numpy(), dtype="datetime64[us]")


def _naive_utc(aware: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    # An index, not the Series' .dt accessor: the same conversion without a new Series
    # per step, which is most of the cost for a webhook's single answer.
    return pd.DatetimeIndex(aware).tz_convert(None).to_numpy().astype("datetime64[us]")


# Answers before this cannot be real (no survey tool is older), and years like 0001 or
# 9999 break time zone conversion and date arithmetic everywhere downstream.
EARLIEST_ANSWER = datetime(1990, 1, 1, tzinfo=UTC)
# How far ahead of now an answer may be dated: clocks and time zones differ.
FUTURE_SLACK = timedelta(days=1)


def answer_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The earliest and latest moment an answer given at `now` (default: the clock) may
    carry."""
    return EARLIEST_ANSWER, (now or datetime.now(UTC)) + FUTURE_SLACK


def _as_us(moment: datetime) -> np.datetime64:
    return np.datetime64(moment.astimezone(UTC).replace(tzinfo=None), "us")


def _parse_moments(
    values: Sequence[str], tz: ZoneInfo, bounds: tuple[datetime, datetime] | None = None
) -> tuple[pd.Series, pd.Series, np.ndarray, np.ndarray]:
    """(UTC instants, local days, ok, outside bounds) for answer timestamps.

    Values with an offset are exact; dates and naive times are wall-clock time in `tz`.
    A naive time that a DST change makes ambiguous is taken as the first (summer-time)
    one, and one that does not exist (spring forward) is moved to the next valid time.
    The values must be stripped of surrounding spaces.
    """
    n = len(values)
    kinds = _moment_kinds(values)
    earliest, latest = (_as_us(b) for b in (bounds or answer_bounds()))
    # Wall-clock times are compared with a margin of two days (every offset is within
    # it) before they are localised: far years make the conversion itself fail.
    margin = np.timedelta64(2, "D")
    # Plain numpy datetime64 (naive UTC) until the end: a tz-aware Series' to_numpy()
    # makes one Timestamp object per row.
    moments = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    aware = kinds == _AWARE
    if aware.any():
        picked = [v for v, a in zip(values, aware, strict=True) if a]
        moments[aware] = _naive_utc(_iso(picked, utc=True))
    local = ~aware & (kinds != _EMPTY)
    if local.any():
        picked = [v for v, a in zip(values, local, strict=True) if a]
        naive = _naive_moments(picked).to_numpy()
        far = (naive < earliest - margin) | (naive > latest + margin)
        if far.any():
            naive = naive.copy()
            naive[far] = np.datetime64(earliest - margin)  # refused below, as outside
        wall = pd.DatetimeIndex(naive)
        localised = wall.tz_localize(
            tz, ambiguous=np.ones(len(wall), dtype=bool), nonexistent="shift_forward"
        )
        moments[local] = _naive_utc(localised)
    ok = ~np.isnat(moments)
    outside = ok & ((moments < earliest) | (moments > latest))
    if outside.any():
        moments[outside] = np.datetime64("NaT")
    instants = pd.DatetimeIndex(moments).tz_localize("UTC")
    utc = pd.Series(instants)
    # numpy's day array turns into datetime.date objects far faster than .dt.date.
    wall = instants.tz_convert(tz).tz_localize(None).to_numpy().astype("datetime64[D]")
    # One datetime.date (None for NaT) per distinct day, shared by the rows of that day.
    codes, distinct = pd.factorize(wall.view(np.int64))
    days = pd.Series(_spread(distinct.view("datetime64[D]").astype(object), codes), dtype=object)
    return utc, days, ok & ~outside, outside


def _optional_text(
    chunk: _Chunk,
    name: str,
    problems: _Problems,
    *,
    strip: bool = True,
    limit: int | None = MAX_TEXT,
) -> pd.Series:
    """An optional text column as objects: None where empty, stripped unless told not to."""
    if name not in chunk.columns:
        return pd.Series([None] * len(chunk), dtype=object)
    codes, raw = _distinct(chunk, name)
    if strip:
        values: list[str | None] = [v.strip() or None for v in raw]
    else:
        values = [v if v.strip() else None for v in raw]
    if limit is not None:
        too_long = [v is not None and len(v) > limit for v in values]
        if any(too_long):
            reason = f"{name} is longer than {limit} characters"
            problems.add(_spread(too_long, codes, bool), reason)
    return pd.Series(_spread(values, codes), dtype=object)


def _hash_keys(parts: Sequence[Sequence[str]]) -> list[str]:
    """'h:' + sha256 of the row's normalised fields, so an identical row is a duplicate."""
    sha = hashlib.sha256
    return [
        HASH_PREFIX + sha("\x1f".join(fields).encode("utf-8", "surrogatepass")).hexdigest()
        for fields in zip(*parts, strict=True)
    ]


def _empty_responses() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in RESPONSE_COLUMNS})
    frame["responded_at"] = pd.Series([], dtype="datetime64[us, UTC]")
    frame["score"] = pd.Series([], dtype="int64")
    return frame


def _check_responses(
    chunk: _Chunk, tz: ZoneInfo, now: datetime | None = None
) -> tuple[pd.DataFrame, list[Rejected]]:
    n = len(chunk)
    if n == 0:
        return _empty_responses(), sorted(chunk.rejected, key=lambda r: r.line)
    problems = _Problems(n)

    when = _stripped(chunk, "responded_at")
    when_missing = np.array([not v for v in when], dtype=bool)
    problems.add(when_missing, "responded_at is missing")
    earliest, latest = answer_bounds(now)
    utc, days, when_ok, outside = _parse_moments(when, tz, (earliest, latest))
    problems.add(
        ~when_ok & ~when_missing & ~outside,
        lambda i: f"responded_at {_shown(when[i])} is not a date ({DATE_HINT})",
    )
    problems.add(
        outside,
        lambda i: (
            f"responded_at {_shown(when[i])} is outside the dates an answer can "
            f"have ({earliest:%Y-%m-%d} to {latest:%Y-%m-%d %H:%M} UTC)"
        ),
    )

    # Metric and score: checked once per distinct value (see _distinct), spread to rows.
    metric_codes, metric_values = _distinct(chunk, "metric")
    raw_metrics = [v.strip() for v in metric_values]
    metrics = [v.lower() for v in raw_metrics]
    metric = _spread(metrics, metric_codes)
    known = _spread([m in SCORE_RANGES for m in metrics], metric_codes, bool)
    metric_missing = _spread([not m for m in metrics], metric_codes, bool)
    problems.add(metric_missing, "metric is missing")
    problems.add(
        ~known & ~metric_missing,
        lambda i: f"metric {_shown(raw_metrics[metric_codes[i]])} is not nps, csat or ces",
    )

    score_codes, score_values = _distinct(chunk, "score")
    score_texts = [v.strip() for v in score_values]
    digits = [v[1:] if v[:1] in ("+", "-") else v for v in score_texts]
    wholes = [d.isascii() and d.isdigit() and len(d) < 10 for d in digits]
    whole = _spread(wholes, score_codes, bool)
    score = _spread(
        [int(v) if w else -(10**9) for v, w in zip(score_texts, wholes, strict=True)],
        score_codes,
        np.int64,
    )

    def score_text(i: int) -> str:
        return score_texts[score_codes[i]]

    problems.add(_spread([not v for v in score_texts], score_codes, bool), "score is missing")
    if not all(wholes):
        fraction = _spread(
            [_FRACTION.fullmatch(v) is not None for v in score_texts], score_codes, bool
        )
        problems.add(~whole & fraction, lambda i: f"score {score_text(i)} is not a whole number")
        problems.add(
            ~whole & ~fraction & _spread([bool(v) for v in score_texts], score_codes, bool),
            lambda i: f"score {_shown(score_text(i))} is not a number",
        )
    ranges = [SCORE_RANGES.get(m, (0, 0)) for m in metrics]
    low = _spread([r[0] for r in ranges], metric_codes, np.int64)
    high = _spread([r[1] for r in ranges], metric_codes, np.int64)
    outside = whole & known & ((score < low) | (score > high))

    def out_of_range(i: int) -> str:
        lo, hi = SCORE_RANGES[metric[i]]
        return f"score {score_text(i)} is outside {lo}-{hi} for {metric[i]}"

    problems.add(outside, out_of_range)

    response_id = _optional_text(chunk, "response_id", problems, limit=MAX_TEXT - len(ID_PREFIX))
    customer = _optional_text(chunk, "customer_id", problems)
    segment = _optional_text(chunk, "segment", problems)
    touchpoint = _optional_text(chunk, "touchpoint", problems)
    employee = _optional_text(chunk, "employee", problems)
    comment = _optional_text(chunk, "comment", problems, strip=False, limit=None)
    email = _optional_text(chunk, "customer_email", problems, limit=320)
    name = _optional_text(chunk, "customer_name", problems)
    bad_email = [v is not None and not is_address(v) for v in email.tolist()]
    problems.add(
        bad_email, lambda i: f"customer_email {_shown(email.iat[i])} is not an e-mail address"
    )

    ok = problems.valid()
    every = bool(ok.all())

    def kept(column: pd.Series) -> pd.Series:
        return column if every else column[ok]

    frame = pd.DataFrame(
        {
            "responded_at": kept(utc),
            "local_day": kept(days),
            "metric": kept(pd.Series(metric, dtype=object)),
            "score": kept(pd.Series(score, dtype="int64")),
            "customer_id": kept(customer),
            "segment": kept(segment),
            "touchpoint": kept(touchpoint),
            "comment": kept(comment),
            "employee": kept(employee),
        }
    )
    if any(c in chunk.columns for c in CONTACT_COLUMNS):
        frame["customer_email"], frame["customer_name"] = kept(email), kept(name)
    frame.insert(0, "response_key", response_keys(frame, kept(response_id)))
    frame = frame.reset_index(drop=True)
    return frame, sorted(chunk.rejected + problems.rejected(chunk), key=lambda r: r.line)


_FRACTION = re.compile(r"[+-]?\d*[.,]\d+")


def response_keys(frame: pd.DataFrame, response_id: pd.Series | None = None) -> list[str]:
    """Each row's `response_key`: 'id:' + the source's id, else 'h:' + a hash of the row.

    The hash covers metric, score, responded_at (UTC, ISO 8601 with microseconds),
    customer_id, segment, touchpoint, comment and employee, joined by U+001F.
    """
    n = len(frame)
    ids = response_id.tolist() if response_id is not None else [None] * n
    missing = np.fromiter((i is None for i in ids), bool, n)
    keys = np.empty(n, dtype=object)
    keys[~missing] = [ID_PREFIX + str(i) for i in ids if i is not None]
    if missing.any():
        sub = frame[missing]
        moments = pd.to_datetime(sub["responded_at"], utc=True).dt.tz_localize(None)
        # timezone="UTC" writes the trailing Z.
        iso = np.datetime_as_string(
            moments.to_numpy().astype("datetime64[us]"), unit="us", timezone="UTC"
        )

        def text(column: str) -> list[str]:
            values = sub[column]
            listed = values.tolist()
            # The usual columns (text with None for empty, whole numbers) as plain
            # lists: the same strings as the general conversion below, far faster.
            if values.dtype == object and set(map(type, listed)) <= {str, type(None)}:
                return ["" if v is None else v for v in listed]
            if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu":
                shown = {v: str(v) for v in set(listed)}  # a score has a dozen values
                return [shown[v] for v in listed]
            return values.astype(object).fillna("").astype(str).tolist()

        keys[missing] = _hash_keys(
            [
                text("metric"),
                text("score"),
                iso.tolist(),
                text("customer_id"),
                text("segment"),
                text("touchpoint"),
                text("comment"),
                text("employee"),
            ]
        )
    return cast(list[str], keys.tolist())


# --------------------------------------------------------------------------- customers


_CURRENCY = re.compile(
    r"^(?:kr\.?|nok|dkk|sek|eur|usd|€|\$)\s*|\s*(?:kr\.?|nok|dkk|sek|eur|usd|€)$"
)
_GROUPING = re.compile(r"[\s\u00a0\u202f']")
_MAX_MONEY = Decimal("1e14")  # Numeric(16, 2)
_CENT = Decimal("0.01")


def parse_money(text: str, name: str) -> Decimal | str:
    """An amount as Decimal (to the cent), or the reason it is not one.

    Accepts 1000, 1 000,50, 1.000,50, 1,000.50, 1000,- ; refuses 1,000 and 1.000, which
    mean a thousand in one country and one in another.
    """
    shown = _shown(text)
    value = _CURRENCY.sub("", text.strip().lower())
    value = _GROUPING.sub("", value)
    if value.endswith((",-", ".-")):
        value = value[:-2]
    sign = ""
    if value[:1] in "+-" and value:
        sign, value = value[0], value[1:]
    bad = f"{name} {shown} is not an amount"
    if not value or not re.fullmatch(r"[\d.,]+", value) or not value[0].isdigit():
        return bad
    whole, fraction = value, ""
    if "," in value and "." in value:
        decimal_mark = "," if value.rfind(",") > value.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        whole, fraction = value.rsplit(decimal_mark, 1)
        if decimal_mark in whole or not _grouped(whole, thousands):
            return bad
        whole = whole.replace(thousands, "")
    elif "," in value or "." in value:
        mark = "," if "," in value else "."
        parts = value.split(mark)
        if len(parts) > 2:
            if not _grouped(value, mark):
                return bad
            whole = value.replace(mark, "")
        else:
            whole, fraction = parts
            if len(fraction) == 3 and 0 < len(whole) <= 3 and whole != "0":
                return (
                    f"{name} {shown} is ambiguous (thousands or decimals?): "
                    f"write {whole}{fraction} or {whole},{fraction[:2]}"
                )
    if not whole.isdigit() or (fraction and not fraction.isdigit()):
        return bad
    try:
        amount = Decimal(f"{sign}{whole}.{fraction or '0'}")
    except InvalidOperation:
        return bad
    if amount < 0:
        return f"{name} {shown} is negative"
    if amount >= _MAX_MONEY:
        return f"{name} {shown} is too large"
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def _grouped(number: str, mark: str) -> bool:
    groups = number.split(mark)
    return 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])


_TRAILING_OFFSET = re.compile(_OFFSET + "$")


def _parse_dates(values: Sequence[str]) -> tuple[list[date | None], np.ndarray]:
    """Calendar dates as written (a time or offset after the date is ignored)."""
    text = [
        _TRAILING_OFFSET.sub("", v) if _moment_kind(v) == _AWARE else v
        for v in (v.strip() for v in values)
    ]
    moments = _naive_moments(text)
    ok = moments.notna().to_numpy()
    days = [ts.date() if good else None for ts, good in zip(moments, ok, strict=True)]
    return days, ok


DAY_HINT = "use 2026-11-20 or 20.11.2026"


def _check_customers(chunk: _Chunk, seen: dict[str, int]) -> tuple[pd.DataFrame, list[Rejected]]:
    n = len(chunk)
    if n == 0:
        empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in CUSTOMER_REQUIRED})
        return empty, sorted(chunk.rejected, key=lambda r: r.line)
    problems = _Problems(n)
    customer = _optional_text(chunk, "customer_id", problems)
    problems.add(customer.isna().to_numpy(), "customer_id is missing")

    raw_start = _stripped(chunk, "started_at")
    start_missing = np.array([not v for v in raw_start], dtype=bool)
    problems.add(start_missing, "started_at is missing")
    started, start_ok = _parse_dates(raw_start)
    problems.add(
        ~start_ok & ~start_missing,
        lambda i: f"started_at {_shown(raw_start[i])} is not a date ({DAY_HINT})",
    )

    columns: dict[str, Any] = {"customer_id": customer, "started_at": started}
    if "ended_at" in chunk.columns:
        raw_end = _stripped(chunk, "ended_at")
        end_blank = np.array([not v for v in raw_end], dtype=bool)
        ended, end_ok = _parse_dates(raw_end)
        problems.add(
            ~end_ok & ~end_blank,
            lambda i: f"ended_at {_shown(raw_end[i])} is not a date ({DAY_HINT})",
        )
        before = [
            s is not None and e is not None and e < s for s, e in zip(started, ended, strict=True)
        ]
        problems.add(
            before,
            lambda i: f"ended_at {ended[i]} is before started_at {started[i]}",
        )
        columns["ended_at"] = ended
    for name in ("name", "segment"):
        if name in chunk.columns:
            columns[name] = _optional_text(chunk, name, problems)
    for name in ("annual_revenue", "acquisition_cost"):
        if name not in chunk.columns:
            continue
        amounts: list[Decimal | None] = []
        for i, text in enumerate(chunk.columns[name]):
            if not text.strip():
                amounts.append(None)
                continue
            parsed = parse_money(text, name)
            if isinstance(parsed, str):
                problems.by_row.setdefault(i, []).append(parsed)
                amounts.append(None)
            else:
                amounts.append(parsed)
        columns[name] = amounts

    # A customer twice in one file: the first valid row counts, later ones are refused.
    for row in np.flatnonzero(problems.valid()).tolist():
        cid = customer.iat[row]
        if cid in seen:
            reason = f"customer_id {_shown(cid)} already appears on line {seen[cid]}"
            problems.by_row.setdefault(row, []).append(reason)
        else:
            seen[cid] = chunk.lines[row]
    ok = problems.valid()
    frame = pd.DataFrame(
        {name: pd.Series(values, dtype=object)[ok] for name, values in columns.items()},
        columns=[c for c in CUSTOMER_COLUMNS if c in columns],
    ).reset_index(drop=True)
    return frame, sorted(chunk.rejected + problems.rejected(chunk), key=lambda r: r.line)


# --------------------------------------------------------------------------- for core.layouts


def sniff_delimiter(header: str) -> str:
    """The separator of a CSV whose first line is `header` (comma, semicolon or tab)."""
    return _sniff_delimiter(header)


def decode_bytes(data: bytes, *, complete: bool = True) -> str:
    """Bytes of a file as text, its encoding recognised as the readers here recognise it
    (byte-order marks, UTF-8, older single-byte encodings); bytes that are not text in it
    become U+FFFD. `complete` is False for the head of a longer file."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(name, "replace")
    encoding, _ = _sniff_encoding(data, complete)
    return data.decode(encoding, "replace")


def response_header_map(names: Sequence[str]) -> dict[str, int]:
    """The product's columns a header names (by the aliases), first occurrence each."""
    where: dict[str, int] = {}
    for pos, name in enumerate(names):
        canonical = _RESPONSE_TABLE.get(normalise_name(name))
        if canonical is not None:
            where.setdefault(canonical, pos)
    return where


_ANSWER_FIELDS = (
    *RESPONSE_REQUIRED, "response_id", "customer_id", "segment", "touchpoint", "comment",
    "employee",
)  # fmt: skip


def check_answers(
    rows: Sequence[tuple[int, Mapping[str, str], Mapping[str, str]]],
    tz: ZoneInfo,
    *,
    now: datetime | None = None,
) -> tuple[pd.DataFrame, list[Rejected]]:
    """Answers already in the product's columns (another tool's export as core.layouts
    reads it), checked like a file's rows: (valid rows, rejected rows).

    Each row is (line in the file, the answer's values, the row as read for a rejected
    row's record).
    """
    chunk = _Chunk()
    chunk.columns = {name: [] for name in _ANSWER_FIELDS}
    for line, values, _ in rows:
        chunk.lines.append(line)
        for name, column in chunk.columns.items():
            column.append(values.get(name) or "")
    chunk.sources = [dict(raw) for _, _, raw in rows]
    if any("\x00" in v for column in chunk.columns.values() for v in column):
        keep = [
            i for i in range(len(chunk)) if not any("\x00" in c[i] for c in chunk.columns.values())
        ]
        for i in sorted(set(range(len(chunk))) - set(keep)):
            chunk.rejected.append(
                Rejected(chunk.lines[i], "the row contains a NUL character", chunk.raw(i))
            )
        chunk.lines = [chunk.lines[i] for i in keep]
        chunk.columns = {k: [c[i] for i in keep] for k, c in chunk.columns.items()}
        chunk.sources = [chunk.sources[i] for i in keep]
    return _check_responses(chunk, tz, now)


# --------------------------------------------------------------------------- public API


def read_responses(
    source: Path | IO[bytes],
    tz: ZoneInfo,
    chunk_rows: int = 50_000,
    *,
    now: datetime | None = None,
) -> Iterator[tuple[pd.DataFrame, list[Rejected]]]:
    """Survey answers from a CSV or JSON file, chunk by chunk: (valid rows, rejected rows).

    The frame has exactly RESPONSE_COLUMNS. Raises FileError (at the first chunk, or
    later for a JSON array that breaks off) when the file as a whole cannot be used.
    Answers dated outside `answer_bounds(now)` are rejected.
    """
    for chunk in _chunks(source, _RESPONSES, chunk_rows):
        yield _check_responses(chunk, tz, now)


def read_customers(
    source: Path | IO[bytes], chunk_rows: int = 50_000
) -> Iterator[tuple[pd.DataFrame, list[Rejected]]]:
    """Customer records from a CSV or JSON file, chunk by chunk: (valid rows, rejected rows).

    The frame holds customer_id and started_at and those of name, ended_at, segment,
    annual_revenue and acquisition_cost that the file has (dates as datetime.date,
    amounts as Decimal, None for empty values).
    """
    seen: dict[str, int] = {}
    for chunk in _chunks(source, _CUSTOMERS, chunk_rows):
        yield _check_customers(chunk, seen)


def validate_response_objects(
    objects: list[dict[str, Any]], tz: ZoneInfo, *, now: datetime | None = None
) -> tuple[pd.DataFrame, list[Rejected]]:
    """Answers given as objects (a webhook body): (valid rows, rejected rows).

    A Rejected's `line` is the object's 1-based position in the list. An answer whose
    response_id an earlier object of the list already gave with a different answer is
    rejected (the same answer twice is left to storage, which counts a duplicate).
    """
    chunk = _Chunk()
    for index, item in enumerate(objects, start=1):
        _add_object(chunk, index, item, _RESPONSES)
    frame, rejected = _check_responses(chunk, tz, now)
    if len(frame) < 2:
        return frame, rejected
    rejected_lines = {r.line for r in rejected}
    lines = [line for line in chunk.lines if line not in rejected_lines]
    keys = frame["response_key"]
    repeated = keys.duplicated(keep=False) & keys.str.startswith(ID_PREFIX)
    if not repeated.any():
        return frame, rejected
    first: dict[str, tuple[int, tuple[Any, ...]]] = {}
    drop: list[int] = []
    compared = [c for c in RESPONSE_COLUMNS if c != "response_key"]
    for i in np.flatnonzero(repeated.to_numpy()):
        key = str(keys.iat[i])
        values = tuple(frame[c].iat[i] for c in compared)
        if key not in first:
            first[key] = (lines[i], values)
        elif first[key][1] != values:
            reason = (
                f"response_id {_shown(key[len(ID_PREFIX) :])} is given earlier in the same "
                "body with a different answer"
            )
            rejected.append(Rejected(lines[i], reason, chunk.raw(chunk.lines.index(lines[i]))))
            drop.append(int(i))
    if drop:
        frame = frame.drop(index=drop).reset_index(drop=True)
        rejected.sort(key=lambda r: r.line)
    return frame, rejected
