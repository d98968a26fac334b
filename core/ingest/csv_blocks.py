"""Reading a CSV file's lines in blocks, and a plain block's rows in C (pandas' parser).

The record-by-record reader (core.ingest.csv_reader) takes lines from the same
`RawLines`, so a block that is not plain is handed back and read exactly instead.
"""

from __future__ import annotations

import codecs
import io
import itertools
import re
from collections.abc import Sequence
from typing import IO

import pandas as pd

from core.ingest import records


class RawLines:
    """The stream's lines as bytes, with a block that could not be read fast handed back.

    Both readers of a CSV file take lines from here: the block reader in whole
    blocks, the exact record reader one line at a time.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._back: list[bytes] = []  # handed-back lines, last one first

    def __iter__(self) -> RawLines:
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
            max_bytes = records.CHUNK_BYTES
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


class Rows(Sequence[tuple[str, ...]]):
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


class BlockReader:
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
