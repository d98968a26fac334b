"""Reading a JSON file: an array of objects, JSON lines, or objects one after another.

Read in pieces, so a file larger than memory imports; an item that cannot be read
rejects itself, except in an array, where nothing after it can be trusted.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

from core.ingest import records
from core.ingest.columns import Spec
from core.ingest.decoding import Text
from core.ingest.objects import TOO_DEEP_REASON, add_object, as_text
from core.ingest.records import Chunk, FileError, Rejected

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


_JSON = json.JSONDecoder()
_SURROGATE = re.compile("[\udc80-\udcff]")
_READ = 1 << 16


def _json_items(text: Text) -> Iterator[tuple[int, Any, str | None, int]]:
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


def json_chunks(text: Text, spec: Spec, chunk_rows: int) -> Iterator[Chunk]:
    """The file's items in chunks of up to `chunk_rows`, each with the line it starts on."""
    chunk = Chunk()
    size = 0  # characters of JSON in `chunk`
    for line, item, problem, length in _json_items(text):
        if problem is not None:
            chunk.rejected.append(Rejected(line, problem, {"item": as_text(item)}))
        else:
            add_object(chunk, line, item, spec)
            size += length
        if len(chunk) >= chunk_rows or size >= records.CHUNK_BYTES:
            yield chunk
            chunk = Chunk()
            size = 0
    if len(chunk) or chunk.rejected:
        yield chunk
