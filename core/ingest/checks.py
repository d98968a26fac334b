"""What checking a chunk's values shares: reasons collected per row, and columns worked
on per distinct value instead of per row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.ingest.columns import MAX_TEXT
from core.ingest.records import Chunk, Rejected


class Problems:
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

    def rejected(self, chunk: Chunk) -> list[Rejected]:
        return [
            Rejected(chunk.lines[i], "; ".join(reasons), chunk.raw(i))
            for i, reasons in sorted(self.by_row.items())
        ]


def stripped(chunk: Chunk, name: str) -> list[str]:
    """A column's values without surrounding spaces ("" for every row when absent)."""
    values = chunk.columns.get(name)
    return [v.strip() for v in values] if values is not None else [""] * len(chunk)


def distinct(chunk: Chunk, name: str) -> tuple[np.ndarray, list[str]]:
    """(code per row, distinct values) of a text column ("" for every row when absent).

    Most columns of an export repeat a handful of values (metric, score, segment,
    touchpoint): checking each distinct value once and spreading the result with
    `spread` replaces a Python step per row by a numpy take.
    """
    values = chunk.columns.get(name)
    if values is None:
        return np.zeros(len(chunk), dtype=np.intp), [""]
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    return codes, uniques.tolist()


def spread(per_value: Sequence[Any], codes: np.ndarray, dtype: Any = object) -> np.ndarray:
    """Per-row values from per-distinct-value ones (see `distinct`)."""
    table = np.empty(len(per_value), dtype=dtype)
    table[:] = per_value  # element-wise, so that strings stay whole objects
    return table[codes]


def brief(value: str, limit: int = 40) -> str:
    """A value as a reason quotes it: stripped, and cut short when long."""
    value = value.strip()
    return value if len(value) <= limit else value[: limit - 3] + "..."


def optional_text(
    chunk: Chunk,
    name: str,
    problems: Problems,
    *,
    strip: bool = True,
    limit: int | None = MAX_TEXT,
) -> pd.Series:
    """An optional text column as objects: None where empty, stripped unless told not to."""
    if name not in chunk.columns:
        return pd.Series([None] * len(chunk), dtype=object)
    codes, raw = distinct(chunk, name)
    if strip:
        values: list[str | None] = [v.strip() or None for v in raw]
    else:
        values = [v if v.strip() else None for v in raw]
    if limit is not None:
        too_long = [v is not None and len(v) > limit for v in values]
        if any(too_long):
            reason = f"{name} is longer than {limit} characters"
            problems.add(spread(too_long, codes, bool), reason)
    return pd.Series(spread(values, codes), dtype=object)
