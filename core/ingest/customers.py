"""Customer records checked and made a frame: ids, dates as `datetime.date`, amounts as
`Decimal`; a customer given twice in one file counts once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from core.ingest.checks import Problems, brief, optional_text, stripped
from core.ingest.columns import CUSTOMER_COLUMNS, CUSTOMER_REQUIRED, CUSTOMERS
from core.ingest.files import read_chunks
from core.ingest.moments import DAY_HINT, parse_dates
from core.ingest.records import Chunk, Rejected

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
    shown = brief(text)
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


def check_customers(chunk: Chunk, seen: dict[str, int]) -> tuple[pd.DataFrame, list[Rejected]]:
    """A chunk's customer records checked: (valid rows, rejected rows). `seen` holds the
    customer ids of the chunks before and the line each was first given on."""
    n = len(chunk)
    if n == 0:
        empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in CUSTOMER_REQUIRED})
        return empty, sorted(chunk.rejected, key=lambda r: r.line)
    problems = Problems(n)
    customer = optional_text(chunk, "customer_id", problems)
    problems.add(customer.isna().to_numpy(), "customer_id is missing")

    raw_start = stripped(chunk, "started_at")
    start_missing = np.array([not v for v in raw_start], dtype=bool)
    problems.add(start_missing, "started_at is missing")
    started, start_ok = parse_dates(raw_start)
    problems.add(
        ~start_ok & ~start_missing,
        lambda i: f"started_at {brief(raw_start[i])} is not a date ({DAY_HINT})",
    )

    columns: dict[str, Any] = {"customer_id": customer, "started_at": started}
    if "ended_at" in chunk.columns:
        raw_end = stripped(chunk, "ended_at")
        end_blank = np.array([not v for v in raw_end], dtype=bool)
        ended, end_ok = parse_dates(raw_end)
        problems.add(
            ~end_ok & ~end_blank,
            lambda i: f"ended_at {brief(raw_end[i])} is not a date ({DAY_HINT})",
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
            columns[name] = optional_text(chunk, name, problems)
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
            reason = f"customer_id {brief(cid)} already appears on line {seen[cid]}"
            problems.by_row.setdefault(row, []).append(reason)
        else:
            seen[cid] = chunk.lines[row]
    ok = problems.valid()
    frame = pd.DataFrame(
        {name: pd.Series(values, dtype=object)[ok] for name, values in columns.items()},
        columns=[c for c in CUSTOMER_COLUMNS if c in columns],
    ).reset_index(drop=True)
    return frame, sorted(chunk.rejected + problems.rejected(chunk), key=lambda r: r.line)


def read_customers(
    source: Path | IO[bytes], chunk_rows: int = 50_000
) -> Iterator[tuple[pd.DataFrame, list[Rejected]]]:
    """Customer records from a CSV or JSON file, chunk by chunk: (valid rows, rejected rows).

    The frame holds customer_id and started_at and those of name, ended_at, segment,
    annual_revenue and acquisition_cost that the file has (dates as datetime.date,
    amounts as Decimal, None for empty values).
    """
    seen: dict[str, int] = {}
    for chunk in read_chunks(source, CUSTOMERS, chunk_rows):
        yield check_customers(chunk, seen)
