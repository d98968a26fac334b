"""Survey answers checked and made a frame of RESPONSE_COLUMNS: from a file, from objects
(a webhook's body) or from another tool's export (core.layouts).

Every answer gets its `response_key` here (`response_keys`), so the same answer from
any of these is a duplicate in storage.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any, cast
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from core.ingest.checks import Problems, brief, distinct, optional_text, spread, stripped
from core.ingest.columns import (
    CONTACT_COLUMNS,
    HASH_PREFIX,
    ID_PREFIX,
    MAX_TEXT,
    RESPONSE_COLUMNS,
    RESPONSE_REQUIRED,
    RESPONSES,
)
from core.ingest.files import read_chunks
from core.ingest.moments import DATE_HINT, answer_bounds, parse_moments
from core.ingest.objects import add_object
from core.ingest.records import NUL_REASON, Chunk, Rejected
from core.mail import is_address
from core.metrics import SCORE_RANGES

_FRACTION = re.compile(r"[+-]?\d*[.,]\d+")


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


def check_responses(
    chunk: Chunk, tz: ZoneInfo, now: datetime | None = None
) -> tuple[pd.DataFrame, list[Rejected]]:
    """A chunk's answers checked: (valid rows in RESPONSE_COLUMNS, rejected rows)."""
    n = len(chunk)
    if n == 0:
        return _empty_responses(), sorted(chunk.rejected, key=lambda r: r.line)
    problems = Problems(n)

    when = stripped(chunk, "responded_at")
    when_missing = np.array([not v for v in when], dtype=bool)
    problems.add(when_missing, "responded_at is missing")
    earliest, latest = answer_bounds(now)
    utc, days, when_ok, outside = parse_moments(when, tz, (earliest, latest))
    problems.add(
        ~when_ok & ~when_missing & ~outside,
        lambda i: f"responded_at {brief(when[i])} is not a date ({DATE_HINT})",
    )
    problems.add(
        outside,
        lambda i: (
            f"responded_at {brief(when[i])} is outside the dates an answer can "
            f"have ({earliest:%Y-%m-%d} to {latest:%Y-%m-%d %H:%M} UTC)"
        ),
    )

    # Metric and score: checked once per distinct value (checks.distinct), spread to rows.
    metric_codes, metric_values = distinct(chunk, "metric")
    raw_metrics = [v.strip() for v in metric_values]
    metrics = [v.lower() for v in raw_metrics]
    metric = spread(metrics, metric_codes)
    known = spread([m in SCORE_RANGES for m in metrics], metric_codes, bool)
    metric_missing = spread([not m for m in metrics], metric_codes, bool)
    problems.add(metric_missing, "metric is missing")
    problems.add(
        ~known & ~metric_missing,
        lambda i: f"metric {brief(raw_metrics[metric_codes[i]])} is not nps, csat or ces",
    )

    score_codes, score_values = distinct(chunk, "score")
    score_texts = [v.strip() for v in score_values]
    digits = [v[1:] if v[:1] in ("+", "-") else v for v in score_texts]
    wholes = [d.isascii() and d.isdigit() and len(d) < 10 for d in digits]
    whole = spread(wholes, score_codes, bool)
    score = spread(
        [int(v) if w else -(10**9) for v, w in zip(score_texts, wholes, strict=True)],
        score_codes,
        np.int64,
    )

    def score_text(i: int) -> str:
        return score_texts[score_codes[i]]

    problems.add(spread([not v for v in score_texts], score_codes, bool), "score is missing")
    if not all(wholes):
        fraction = spread(
            [_FRACTION.fullmatch(v) is not None for v in score_texts], score_codes, bool
        )
        problems.add(~whole & fraction, lambda i: f"score {score_text(i)} is not a whole number")
        problems.add(
            ~whole & ~fraction & spread([bool(v) for v in score_texts], score_codes, bool),
            lambda i: f"score {brief(score_text(i))} is not a number",
        )
    ranges = [SCORE_RANGES.get(m, (0, 0)) for m in metrics]
    low = spread([r[0] for r in ranges], metric_codes, np.int64)
    high = spread([r[1] for r in ranges], metric_codes, np.int64)
    outside = whole & known & ((score < low) | (score > high))

    def out_of_range(i: int) -> str:
        lo, hi = SCORE_RANGES[metric[i]]
        return f"score {score_text(i)} is outside {lo}-{hi} for {metric[i]}"

    problems.add(outside, out_of_range)

    response_id = optional_text(chunk, "response_id", problems, limit=MAX_TEXT - len(ID_PREFIX))
    customer = optional_text(chunk, "customer_id", problems)
    segment = optional_text(chunk, "segment", problems)
    touchpoint = optional_text(chunk, "touchpoint", problems)
    employee = optional_text(chunk, "employee", problems)
    comment = optional_text(chunk, "comment", problems, strip=False, limit=None)
    email = optional_text(chunk, "customer_email", problems, limit=320)
    name = optional_text(chunk, "customer_name", problems)
    bad_email = [v is not None and not is_address(v) for v in email.tolist()]
    problems.add(
        bad_email, lambda i: f"customer_email {brief(email.iat[i])} is not an e-mail address"
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
    chunk = Chunk()
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
            chunk.rejected.append(Rejected(chunk.lines[i], NUL_REASON, chunk.raw(i)))
        chunk.lines = [chunk.lines[i] for i in keep]
        chunk.columns = {k: [c[i] for i in keep] for k, c in chunk.columns.items()}
        chunk.sources = [chunk.sources[i] for i in keep]
    return check_responses(chunk, tz, now)


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
    for chunk in read_chunks(source, RESPONSES, chunk_rows):
        yield check_responses(chunk, tz, now)


def validate_response_objects(
    objects: list[dict[str, Any]], tz: ZoneInfo, *, now: datetime | None = None
) -> tuple[pd.DataFrame, list[Rejected]]:
    """Answers given as objects (a webhook body): (valid rows, rejected rows).

    A Rejected's `line` is the object's 1-based position in the list. An answer whose
    response_id an earlier object of the list already gave with a different answer is
    rejected (the same answer twice is left to storage, which counts a duplicate).
    """
    chunk = Chunk()
    for index, item in enumerate(objects, start=1):
        add_object(chunk, index, item, RESPONSES)
    frame, rejected = check_responses(chunk, tz, now)
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
                f"response_id {brief(key[len(ID_PREFIX) :])} is given earlier in the same "
                "body with a different answer"
            )
            rejected.append(Rejected(lines[i], reason, chunk.raw(chunk.lines.index(lines[i]))))
            drop.append(int(i))
    if drop:
        frame = frame.drop(index=drop).reset_index(drop=True)
        rejected.sort(key=lambda r: r.line)
    return frame, rejected
