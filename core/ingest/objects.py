"""Answers and customers given as objects (a JSON file's items, a webhook's body) as rows.

An object's field names are header names (core.ingest.columns); its values become the
text a CSV cell would hold, so both kinds of file are checked alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, cast

from core.ingest.columns import Spec, normalise_name
from core.ingest.records import NUL_REASON, Chunk, Rejected


def as_text(value: Any) -> str:
    """A JSON value as the text a CSV cell would hold (nested values as JSON)."""
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


def has_lone_surrogate(values: Iterable[str]) -> bool:
    """Whether any of `values` holds half of a surrogate pair."""
    search = _LONE_SURROGATE.search
    return any(search(v) for v in values)


def _shown_text(value: str) -> str:
    return _LONE_SURROGATE.sub("\ufffd", value)


def add_object(chunk: Chunk, line: int, item: Any, spec: Spec) -> None:
    """`item` as a row of `chunk` in the product's columns, or a Rejected saying why not."""
    if not isinstance(item, dict):
        chunk.rejected.append(
            Rejected(line, "the item is not a JSON object", {"item": as_text(item)})
        )
        return
    try:
        raw = {str(k): as_text(v) for k, v in item.items()}
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
        chunk.rejected.append(Rejected(line, NUL_REASON, raw))
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
