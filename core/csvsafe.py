"""CSV that a spreadsheet opens without running anything (CSV injection).

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to
Excel, LibreOffice and Google Sheets (`=HYPERLINK(...)`, `=cmd|' /C calc'!A0`). As OWASP's
CSV Injection page recommends, such a text cell is written with a single quote in front,
which makes it text, and inside double quotes. Numbers are numbers, not text: they are
written as they are, a negative one included, and so is text that is only a number.

Every CSV the product writes goes through `SafeWriter` (exports, rejected-rows reports).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, TextIO

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Text that a spreadsheet reads as a plain number: it cannot act.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")


def is_formula(value: object) -> bool:
    """Whether `value` is text a spreadsheet would run as a formula."""
    return (
        isinstance(value, str)
        and value.startswith(FORMULA_START)
        and _NUMBER.fullmatch(value) is None
    )


def neutralised(value: str) -> str:
    """A formula cell's text as a spreadsheet shows it but does not run it."""
    return "'" + value


class SafeWriter:
    """csv.writer's writerow/writerows, with formula cells neutralised and quoted."""

    def __init__(self, out: TextIO, *, lineterminator: str = "\r\n") -> None:
        self._out = out
        self._line = lineterminator
        self._writer = csv.writer(out, lineterminator=lineterminator)

    def writerow(self, row: Iterable[Any]) -> None:
        cells = list(row)
        if any(map(is_formula, cells)):
            self._out.write(",".join(map(self._field, cells)) + self._line)
        else:
            self._writer.writerow(cells)

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)

    @staticmethod
    def _field(value: Any) -> str:
        if is_formula(value):
            return '"' + neutralised(value).replace('"', '""') + '"'
        text = "" if value is None else str(value)
        if any(c in text for c in ',"\r\n'):
            return '"' + text.replace('"', '""') + '"'
        return text
