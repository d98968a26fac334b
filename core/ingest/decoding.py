"""A file's bytes as text: the encoding recognised per file, decoded line by line.

UTF-8 with or without a byte-order mark, UTF-16 with one, and older single-byte
encodings (cp1252 and relatives). In a UTF-8 file a line whose bytes are not valid
UTF-8 rejects its row instead of the whole file (`LineState.trouble`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from charset_normalizer import from_bytes

from core.ingest.records import NUL_REASON, FileError

_SAMPLE_BYTES = 1 << 20
# A quoted value that never closes would otherwise swallow the rest of the file.
_MAX_RECORD_LINES = 10_000
# Single-byte encodings a Scandinavian export is likely to use; guessing freely among
# all of them on a short sample picks Central European code pages that turn ø into ř.
_LEGACY_ENCODINGS = ["cp1252", "iso8859_15", "mac_roman"]
_LEGACY_DEFAULT = "cp1252"


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
class LineState:
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
            return NUL_REASON
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


class DecodedLines:
    """The lines of `raw` as text, counted in `state`.

    An iterator, not a generator: a line handed back to `raw` after the end of the file
    was reached is still read (see core.ingest.csv_reader.unclosed_quote).
    """

    def __init__(self, raw: Iterator[bytes], state: LineState) -> None:
        self._raw = raw
        self._state = state

    def __iter__(self) -> DecodedLines:
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
class Text:
    """A file opened for reading: what it holds, its bytes, and the encoding found so far."""

    kind: str  # "csv" or "json"
    stream: IO[bytes]
    encoding: str
    settled: bool


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def open_text(stream: IO[bytes]) -> Text:
    """The stream with its kind (CSV or JSON) and encoding recognised from its start."""
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
        return Text(kind, io.BufferedReader(reencoded), "utf-8", True)
    return Text(kind, io.BufferedReader(_Prefixed(sample, stream)), encoding, settled)


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
def binary(source: Path | str | IO[bytes]) -> Iterator[IO[bytes]]:
    """The file at `source` opened (and closed afterwards), or the stream itself."""
    if isinstance(source, str | Path):
        try:
            handle = open(source, "rb")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            raise FileError(f"cannot read {source}: {exc.strerror or exc}") from None
        with handle:
            yield handle
    else:
        yield source


def decode_bytes(data: bytes, *, complete: bool = True) -> str:
    """Bytes of a file as text, its encoding recognised as the readers here recognise it
    (byte-order marks, UTF-8, older single-byte encodings); bytes that are not text in it
    become U+FFFD. `complete` is False for the head of a longer file."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(name, "replace")
    encoding, _ = _sniff_encoding(data, complete)
    return data.decode(encoding, "replace")
