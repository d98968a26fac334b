"""Rows as read from a file, before their values are checked, and what is refused."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Rejected:
    """A row that was not imported: where it is in the file, why, and what it said."""

    line: int
    reason: str
    raw: dict[str, str]


# A NUL is not text in any encoding a survey tool writes, and PostgreSQL refuses it.
NUL_REASON = "the row contains a NUL character"


class FileError(ValueError):
    """The whole file is unusable (unreadable, empty, no header, required columns missing)."""


@dataclass
class Chunk:
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


# A chunk also ends once its rows hold this much text: with long comments a fixed number of
# rows could take gigabytes, and a file larger than memory must still import.
CHUNK_BYTES = 32 << 20
