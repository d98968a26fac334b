"""Reading and checking answer and customer files (core.ingest), including the malformed corpus."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ingest import (
    RESPONSE_COLUMNS,
    FileError,
    Rejected,
    csv_blocks,
    moments,
    parse_money,
    read_customers,
    read_responses,
    records,
    validate_response_objects,
)

DATA = Path(__file__).resolve().parent.parent / "data"
MALFORMED = DATA / "malformed"
OSLO = ZoneInfo("Europe/Oslo")


def responses(source: Path | bytes | str, chunk_rows: int = 50_000, tz: ZoneInfo = OSLO):
    """All valid rows as one frame, and all rejects."""
    if isinstance(source, str):
        source = source.encode("utf-8")
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    frames, rejected = [], []
    for frame, rej in read_responses(stream, tz, chunk_rows=chunk_rows):
        assert list(frame.columns) == RESPONSE_COLUMNS
        frames.append(frame)
        rejected.extend(rej)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return frame, rejected


def customers(source: Path | bytes | str, chunk_rows: int = 50_000):
    if isinstance(source, str):
        source = source.encode("utf-8")
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    frames, rejected = [], []
    for frame, rej in read_customers(stream, chunk_rows=chunk_rows):
        frames.append(frame)
        rejected.extend(rej)
    return pd.concat(frames, ignore_index=True), rejected


def reasons(rejected: list[Rejected]) -> list[tuple[int, str]]:
    return [(r.line, r.reason) for r in rejected]


# --------------------------------------------------------------------------- good files


def test_sample_file_reads_every_row_with_the_right_types() -> None:
    frame, rejected = responses(DATA / "responses_sample.csv")
    assert rejected == []
    assert len(frame) == 12
    first = frame.iloc[0]
    assert first["responded_at"] == datetime(2026, 11, 16, 8, 12, tzinfo=UTC)
    assert first["local_day"] == date(2026, 11, 16)
    assert isinstance(first["local_day"], date)
    assert first["metric"] == "nps"
    assert first["score"] == 9
    assert first["customer_id"] == "C1001"
    assert first["segment"] == "Private"
    assert first["touchpoint"] == "Delivery"
    assert first["response_key"] == "id:R-1"
    assert str(frame["responded_at"].dt.tz) == "UTC"
    assert frame["score"].dtype == "int64"
    assert set(frame["metric"]) == {"nps", "csat", "ces"}
    # comments in four languages survive as written
    assert "Leveransen var försenad" in " ".join(frame["comment"].dropna())


def test_naive_times_and_dates_are_in_the_workspace_timezone() -> None:
    text = (
        "responded_at,metric,score\n"
        "2026-11-20,nps,9\n"  # local midnight
        "2026-11-20T23:30,nps,9\n"  # naive local time after UTC midnight
        "2026-11-20T23:30:00Z,nps,9\n"
        "2026-11-20T23:30:00+01:00,nps,9\n"
        "20.11.2026,nps,9\n"
        "20/11/2026 07:05,nps,9\n"
        "2026-07-01 12:00:00.250,nps,9\n"
    )
    frame, rejected = responses(text)
    assert rejected == []
    got = list(zip(frame["responded_at"].dt.to_pydatetime(), frame["local_day"], strict=True))
    assert got == [
        (datetime(2026, 11, 19, 23, 0, tzinfo=UTC), date(2026, 11, 20)),
        (datetime(2026, 11, 20, 22, 30, tzinfo=UTC), date(2026, 11, 20)),
        (datetime(2026, 11, 20, 23, 30, tzinfo=UTC), date(2026, 11, 21)),
        (datetime(2026, 11, 20, 22, 30, tzinfo=UTC), date(2026, 11, 20)),
        (datetime(2026, 11, 19, 23, 0, tzinfo=UTC), date(2026, 11, 20)),
        (datetime(2026, 11, 20, 6, 5, tzinfo=UTC), date(2026, 11, 20)),
        (datetime(2026, 7, 1, 10, 0, 0, 250000, tzinfo=UTC), date(2026, 7, 1)),
    ]


def test_the_timezone_decides_the_local_day() -> None:
    text = "responded_at,metric,score\n2026-11-20T23:30:00Z,nps,9\n"
    oslo, _ = responses(text, tz=OSLO)
    new_york, _ = responses(text, tz=ZoneInfo("America/New_York"))
    assert oslo["local_day"].iloc[0] == date(2026, 11, 21)
    assert new_york["local_day"].iloc[0] == date(2026, 11, 20)


def test_daylight_saving_gaps_and_overlaps_do_not_reject() -> None:
    text = (
        "responded_at,metric,score\n"
        "2026-03-29T02:30,nps,9\n"  # does not exist in Oslo: moved forward
        "2026-10-25T02:30,nps,9\n"  # happens twice: the first (summer time) one
    )
    frame, rejected = responses(text)
    assert rejected == []
    assert frame["responded_at"].iloc[0] == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert frame["responded_at"].iloc[1] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_header_aliases_in_four_languages() -> None:
    text = (
        "Dato;Spørgsmål;Karakter;Kunde;Segment;Berøringspunkt;Kommentar;Medarbejder;ID\n"
        "20.11.2026;nps;10;K1;Privat;Levering;Hurtig levering;U0FREJA;X1\n"
    )
    frame, rejected = responses(text)
    assert rejected == []
    row = frame.iloc[0]
    assert (row["customer_id"], row["segment"], row["touchpoint"]) == ("K1", "Privat", "Levering")
    assert (row["comment"], row["employee"], row["response_key"]) == (
        "Hurtig levering",
        "U0FREJA",
        "id:X1",
    )
    swedish = "Datum,Fråga,Betyg,Kund,Beröringspunkt\n2026-11-20,CSAT,4,K2,Webbshop\n"
    frame, rejected = responses(swedish)
    assert rejected == [] and frame.iloc[0]["touchpoint"] == "Webbshop"


def test_unknown_columns_are_ignored_and_kept_in_the_reject_report() -> None:
    text = "responded_at,metric,score,internal note\n2026-11-20,nps,42,call back\n"
    frame, rejected = responses(text)
    assert frame.empty
    assert rejected[0].raw == {
        "responded_at": "2026-11-20",
        "metric": "nps",
        "score": "42",
        "internal note": "call back",
    }


def test_response_key_identical_rows_hash_the_same_and_ids_win() -> None:
    text = (
        "responded_at,metric,score,comment,response_id\n"
        "2026-11-20,nps,9,Good,\n"
        "20.11.2026,NPS,9,Good,\n"  # the same answer written differently
        "2026-11-20,nps,9,Good!,\n"
        "2026-11-20,nps,9,Good, r-7 \n"
    )
    frame, _ = responses(text)
    keys = frame["response_key"].tolist()
    assert keys[0] == keys[1]
    assert keys[0].startswith("h:") and len(keys[0]) == 2 + 64
    assert keys[2] != keys[0]
    assert keys[3] == "id:r-7"


def test_response_keys_do_not_change_between_versions() -> None:
    """A re-import finds earlier imports' answers only while the hash stays the same."""
    text = (
        "responded_at;metric;score;customer_id;segment;touchpoint;comment;employee\n"
        "2026-11-20T14:03:00.25+01:00;NPS;9;C1;SMB;Support; Takk! ;U1\n"
        "20.11.2026;ces;3;;;;;\n"
    )
    frame, _ = responses(text)
    assert frame["response_key"].tolist() == [
        "h:feb258e6be99979c697caa72c9ccc53a0a34f1d1401f5f1af8cc30d6e8375607",
        "h:ce10a9a83c85fcbe057ffa65f0dab44f0c909c2d010f7c817e970a0c77ff0acb",
    ]


def test_optional_values_are_none_and_comments_kept_as_written() -> None:
    text = 'responded_at,metric,score,segment,comment\n2026-11-20,nps,9,  ,"  Fint, takk  "\n'
    frame, _ = responses(text)
    assert frame.iloc[0]["segment"] is None
    assert frame.iloc[0]["customer_id"] is None
    assert frame.iloc[0]["comment"] == "  Fint, takk  "


def test_chunks_keep_line_numbers_across_boundaries() -> None:
    lines = ["responded_at,metric,score"]
    for i in range(25):
        lines.append(f"2026-11-{1 + i:02d},nps,{11 if i % 7 == 3 else i % 11}")
    chunks = list(read_responses(io.BytesIO("\n".join(lines).encode()), OSLO, chunk_rows=4))
    assert len(chunks) > 4
    rejected = [r for _, rej in chunks for r in rej]
    assert [r.line for r in rejected] == [5, 12, 19, 26]
    assert all(r.reason == "score 11 is outside 0-10 for nps" for r in rejected)
    assert sum(len(f) for f, _ in chunks) == 21


def test_several_reasons_for_one_row_are_all_given() -> None:
    _, rejected = responses("responded_at,metric,score\nyesterday,happiness,ten\n")
    assert reasons(rejected) == [
        (
            2,
            "responded_at yesterday is not a date (use 2026-11-20, 2026-11-20T14:03:00+01:00 "
            "or 20.11.2026); metric happiness is not nps, csat or ces; score ten is not a number",
        )
    ]


def test_impossible_dates_and_long_values_are_rejected() -> None:
    long_segment = "S" * 201
    text = (
        "responded_at,metric,score,segment\n"
        "2026-02-30,nps,9,\n"
        "31.04.2026,nps,9,\n"
        f"2026-11-20,nps,9,{long_segment}\n"
        "2026-11,nps,9,\n"
    )
    frame, rejected = responses(text)
    assert frame.empty
    assert [r.line for r in rejected] == [2, 3, 4, 5]
    assert rejected[0].reason.startswith("responded_at 2026-02-30 is not a date")
    assert rejected[1].reason.startswith("responded_at 31.04.2026 is not a date")
    assert rejected[2].reason == "segment is longer than 200 characters"
    assert rejected[3].reason.startswith("responded_at 2026-11 is not a date")


# --------------------------------------------------------------------------- JSON


def test_json_array_file() -> None:
    frame, rejected = responses(MALFORMED / "answers.json")
    assert reasons(rejected) == [
        (3, "score 7 is outside 1-5 for csat"),
        (5, "the item is not a JSON object"),
    ]
    assert frame["response_key"].iloc[0] == "id:A1"
    assert frame["responded_at"].iloc[0] == datetime(2026, 11, 20, 13, 3, tzinfo=UTC)
    assert (frame["metric"].iloc[1], frame["score"].iloc[1]) == ("ces", 6)
    assert frame["comment"].iloc[1] == "Enkelt å bruke"


def test_json_lines_with_a_broken_line() -> None:
    frame, rejected = responses(MALFORMED / "answers.jsonl")
    assert [r.line for r in rejected] == [2, 3]
    assert rejected[0].reason.startswith("not valid JSON")
    assert rejected[1].reason == "score 5.5 is not a whole number"
    assert frame["score"].tolist() == [10, 2]
    assert frame["customer_id"].tolist() == [None, "C9"]


def test_json_array_that_breaks_off_is_a_file_error() -> None:
    body = '[{"responded_at": "2026-11-20", "metric": "nps", "score": 9},\n{"metric": nps}]'
    with pytest.raises(FileError, match=r"line 2: not valid JSON"):
        responses(body)
    with pytest.raises(FileError, match="never closed"):
        responses('[{"responded_at": "2026-11-20", "metric": "nps", "score": 9}')


def test_json_values_of_other_types() -> None:
    items = [
        {"responded_at": "2026-11-20", "metric": "nps", "score": 9.0, "customer_id": 42},
        {"responded_at": "2026-11-20", "metric": "nps", "score": True},
        {"responded_at": None, "metric": "nps", "score": 3},
        {"responded_at": "2026-11-20", "date": "2026-11-21", "metric": "nps", "score": 3},
    ]
    body = "[\n" + ",\n".join(json.dumps(i) for i in items) + "\n]"
    frame, rejected = responses(body)
    assert frame["customer_id"].tolist() == ["42"]
    assert reasons(rejected) == [
        (3, "score true is not a number"),
        (4, "responded_at is missing"),
        (5, "fields responded_at and date both give responded_at"),
    ]


def test_validate_response_objects_numbers_items_from_one() -> None:
    frame, rejected = validate_response_objects(
        [
            {"responded_at": "2026-11-20T10:00:00+01:00", "metric": "nps", "score": 2},
            {"metric": "nps", "score": 2},
            "text",  # type: ignore[list-item]
            {"responded_at": "2026-11-20", "metric": "csat", "score": 6, "comment": "Nei"},
        ],
        OSLO,
    )
    assert len(frame) == 1 and frame["score"].iloc[0] == 2
    assert reasons(rejected) == [
        (2, "responded_at is missing"),
        (3, "the item is not a JSON object"),
        (4, "score 6 is outside 1-5 for csat"),
    ]
    assert rejected[2].raw["comment"] == "Nei"


def test_validate_response_objects_empty_list() -> None:
    frame, rejected = validate_response_objects([], OSLO)
    assert list(frame.columns) == RESPONSE_COLUMNS and frame.empty and rejected == []


# --------------------------------------------------------------------------- the corpus


def test_corpus_tab_separated_is_read() -> None:
    frame, rejected = responses(MALFORMED / "tab_separated.tsv")
    assert reasons(rejected) == [(3, "score 12 is outside 0-10 for nps")]
    assert frame["comment"].tolist() == ["Great, fast delivery", None]


def test_corpus_pipe_separated_is_a_clear_file_error() -> None:
    with pytest.raises(FileError, match=r"line 1: the header is separated by '\|'"):
        responses(MALFORMED / "pipe_separated.csv")


def test_corpus_byte_order_mark() -> None:
    frame, rejected = responses(MALFORMED / "bom_utf8.csv")
    assert reasons(rejected) == [(3, "score x is not a number")]
    assert "Responded_At" in rejected[0].raw  # the BOM is not part of the first name
    assert frame["comment"].tolist() == [
        "Kjempefornøyd med kundeservice på Østlandet",
        "Très bien",
    ]


def test_corpus_decimal_commas_in_scores_are_rejected() -> None:
    frame, rejected = responses(MALFORMED / "decimal_comma_scores.csv")
    assert reasons(rejected) == [
        (3, "score 7,5 is not a whole number"),
        (4, "score 6.0 is not a whole number"),
    ]
    assert frame["customer_id"].tolist() == ["K1", "K4"]
    assert frame["local_day"].tolist() == [date(2026, 11, 20), date(2026, 11, 21)]


def test_corpus_decimal_commas_in_revenue_are_accepted() -> None:
    frame, rejected = customers(MALFORMED / "decimal_comma_revenue.csv")
    assert reasons(rejected) == [
        (5, "annual_revenue 1,000 is ambiguous (thousands or decimals?): write 1000 or 1,00"),
        (6, "annual_revenue -5 is negative"),
        (7, "ended_at 2023-12-31 is before started_at 2024-03-01"),
    ]
    assert frame["customer_id"].tolist() == ["K1", "K2", "K3", "K7"]
    assert frame["annual_revenue"].tolist() == [
        Decimal("1000.50"),
        Decimal("1000.50"),
        Decimal("1000.50"),
        Decimal("12500000.00"),
    ]
    assert frame["acquisition_cost"].tolist() == [
        Decimal("250.00"),
        Decimal("99.90"),
        Decimal("100.00"),
        Decimal("10000.00"),
    ]
    assert frame["started_at"].iloc[0] == date(2024, 2, 1)
    assert frame["ended_at"].tolist() == [None, date(2025, 1, 31), None, None]


def test_corpus_scores_out_of_range() -> None:
    frame, rejected = responses(MALFORMED / "scores_out_of_range.csv")
    assert reasons(rejected) == [
        (4, "score 11 is outside 0-10 for nps"),
        (5, "score -1 is outside 0-10 for nps"),
        (6, "score 0 is outside 1-5 for csat"),
        (8, "score 6 is outside 1-5 for csat"),
        (10, "score 8 is outside 1-7 for ces"),
    ]
    assert list(zip(frame["metric"], frame["score"], strict=True)) == [
        ("nps", 0),
        ("nps", 10),
        ("csat", 5),
        ("ces", 7),
    ]


def test_corpus_text_scores() -> None:
    frame, rejected = responses(MALFORMED / "text_scores.csv")
    assert reasons(rejected) == [
        (2, "score seven is not a number"),
        (3, "score is missing"),
        (5, "score ni is not a number"),
        (6, "metric promoter is not nps, csat or ces"),
    ]
    assert frame["score"].tolist() == [9]


def test_corpus_missing_columns() -> None:
    with pytest.raises(FileError) as err:
        responses(MALFORMED / "missing_columns.csv")
    assert str(err.value) == (
        "line 1: required columns metric, score missing (found: date, comment)"
    )


@pytest.mark.parametrize("name", ["empty.csv", "blank_lines_only.csv"])
def test_corpus_empty_file(name: str) -> None:
    with pytest.raises(FileError, match="the file is empty"):
        responses(MALFORMED / name)


def test_a_line_of_several_megabytes(tmp_path: Path) -> None:
    comment = "Lang tekst, med komma og «sitat». " * 150_000  # about 5 MB
    path = tmp_path / "long.csv"
    path.write_text(
        "responded_at,metric,score,comment\n"
        "2026-11-20,nps,9,short\n"
        f'2026-11-20,nps,8,"{comment}"\n'
        "2026-11-20,nps,77,after\n",
        encoding="utf-8",
    )
    assert path.stat().st_size > 5_000_000
    frame, rejected = responses(path)
    assert reasons(rejected) == [(4, "score 77 is outside 0-10 for nps")]
    assert frame["comment"].tolist() == ["short", comment]


def test_a_json_line_of_several_megabytes(tmp_path: Path) -> None:
    comment = "x" * 4_000_000
    path = tmp_path / "long.jsonl"
    rows = [
        {"responded_at": "2026-11-20", "metric": "nps", "score": 9, "comment": comment},
        {"responded_at": "2026-11-20", "metric": "nps", "score": 12},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    frame, rejected = responses(path)
    assert len(frame["comment"].iloc[0]) == 4_000_000
    assert reasons(rejected) == [(2, "score 12 is outside 0-10 for nps")]


def test_corpus_cp1252_file_is_decoded() -> None:
    frame, rejected = responses(MALFORMED / "cp1252.csv")
    assert reasons(rejected) == [(4, "score 99 is outside 0-10 for nps")]
    assert rejected[0].raw["comment"] == "Ærlig talt"
    assert frame["comment"].tolist() == [
        "Leveringen var dårlig, pakken kom for sent",
        "Søt og hjælpsom kundeservice – tak!",
    ]


def test_corpus_one_invalid_utf8_byte_rejects_only_its_row() -> None:
    frame, rejected = responses(MALFORMED / "invalid_utf8_byte.csv")
    assert reasons(rejected) == [(3, "the row contains bytes that are not valid utf-8 text")]
    assert frame["comment"].tolist() == ["Veldig fornøyd", "Smidig og enkelt – bra jobba"]


def test_legacy_encoding_after_a_long_ascii_start(tmp_path: Path) -> None:
    # The first megabyte is plain ASCII: the encoding is settled by the first other line.
    path = tmp_path / "late.csv"
    ascii_rows = "".join(f"2026-11-20,nps,9,row {i}\n" for i in range(60_000))
    path.write_bytes(
        b"responded_at,metric,score,comment\n"
        + ascii_rows.encode()
        + "2026-11-21,nps,3,Pakken kom for sent og var dårlig\n".encode("cp1252")
    )
    frame, rejected = responses(path)
    assert rejected == []
    assert frame["comment"].iloc[-1] == "Pakken kom for sent og var dårlig"


def test_utf16_with_byte_order_mark() -> None:
    text = "responded_at\tmetric\tscore\tcomment\r\n2026-11-20\tnps\t9\tGod service på Ørsta\r\n"
    frame, rejected = responses(b"\xff\xfe" + text.encode("utf-16-le"))
    assert rejected == []
    assert frame["comment"].tolist() == ["God service på Ørsta"]


def test_corpus_quoted_newlines_keep_physical_line_numbers() -> None:
    frame, rejected = responses(MALFORMED / "quoted_newlines.csv")
    assert reasons(rejected) == [(5, "score 15 is outside 0-10 for nps")]
    assert rejected[0].raw["comment"] == "Bad score\nspanning lines"
    assert frame["comment"].tolist() == [
        "Line one\nline two, with a comma\nline three",
        'He said "slow"',
    ]


def test_a_quote_that_never_closes_is_reported_where_it_starts() -> None:
    rows = "".join(f"2026-11-20,nps,9,row {i}\n" for i in range(12_000))
    text = 'responded_at,metric,score,comment\n2026-11-20,nps,9,"unclosed\n' + rows
    with pytest.raises(FileError, match=r"line 2: a quoted value starting here is never closed"):
        responses(text)
    short = 'responded_at,metric,score,comment\n2026-11-20,nps,9,ok\n2026-11-20,nps,"9\n1,2,3,4\n'
    frame, rejected = responses(short)
    assert len(frame) == 1
    # Line 4 is a row of its own (with a bad date): the quote opened on line 3 is broken.
    assert [r.line for r in rejected] == [3, 4]
    assert "a quote opened on line 3 is not closed" in rejected[0].reason
    assert "responded_at 1 is not a date" in rejected[1].reason


def test_corpus_duplicate_header_names() -> None:
    with pytest.raises(FileError) as err:
        responses(MALFORMED / "duplicate_headers.csv")
    assert str(err.value) == (
        "line 1: columns 3 ('score') and 4 ('rating') both mean score; keep one of them"
    )


def test_corpus_trailing_empty_lines_are_ignored() -> None:
    frame, rejected = responses(MALFORMED / "trailing_empty_lines.csv")
    assert rejected == []
    assert frame["score"].tolist() == [9, 3]


def test_rows_with_the_wrong_number_of_values() -> None:
    text = "responded_at,metric,score\n2026-11-20,nps\n2026-11-20,nps,9,extra\n2026-11-20,nps,8,,\n"
    frame, rejected = responses(text)
    assert reasons(rejected) == [
        (2, "the row has 2 values but the header has 3 columns"),
        (3, "the row has 4 values but the header has 3 columns"),
    ]
    assert frame["score"].tolist() == [8]  # trailing separators are harmless


def test_extra_values_are_kept_in_the_reject_report() -> None:
    _, rejected = responses("responded_at,metric,score\n2026-11-20,nps,9,oops\n")
    assert rejected[0].raw == {
        "responded_at": "2026-11-20",
        "metric": "nps",
        "score": "9",
        "column 4": "oops",
    }


def test_excel_separator_line() -> None:
    frame, rejected = responses(
        "sep=;\nresponded_at;metric;score\n2026-11-20;nps;9\n2026-11-20;nps;x\n"
    )
    assert frame["score"].tolist() == [9]
    assert reasons(rejected) == [(4, "score x is not a number")]


def test_nul_characters_reject_the_row() -> None:
    frame, rejected = responses(b"responded_at,metric,score,comment\n2026-11-20,nps,9,a\x00b\n")
    assert frame.empty
    assert reasons(rejected) == [(2, "the row contains a NUL character")]


def test_spreadsheets_are_refused_with_a_hint() -> None:
    with pytest.raises(FileError, match="save it as CSV"):
        responses(b"PK\x03\x04" + b"\x00" * 200)


def test_a_missing_file_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(FileError, match="cannot read"):
        list(read_responses(tmp_path / "nope.csv", OSLO))


# --------------------------------------------------------------------------- customers


def test_customer_sample_file() -> None:
    frame, rejected = customers(DATA / "customers_sample.csv")
    assert rejected == []
    assert list(frame.columns) == [
        "customer_id",
        "name",
        "started_at",
        "ended_at",
        "segment",
        "annual_revenue",
        "acquisition_cost",
    ]
    assert len(frame) == 6
    assert frame["annual_revenue"].iloc[0] == Decimal("1000.00")
    assert frame["ended_at"].iloc[2] == date(2026, 3, 31)


def test_customer_columns_missing_from_the_file_are_left_out() -> None:
    frame, _ = customers("customer_id,started_at\nC1,2024-01-01\n")
    assert list(frame.columns) == ["customer_id", "started_at"]


def test_customer_rules() -> None:
    text = (
        "customer_id,started_at,ended_at\n"
        ",2024-01-01,\n"
        "C1,,\n"
        "C2,first of May,\n"
        "C3,2024-01-01,soon\n"
        "C4,2024-01-01T10:00:00+01:00,2024-06-30\n"
        "C4,2024-01-01,\n"
    )
    frame, rejected = customers(text)
    assert reasons(rejected) == [
        (2, "customer_id is missing"),
        (3, "started_at is missing"),
        (4, "started_at first of May is not a date (use 2026-11-20 or 20.11.2026)"),
        (5, "ended_at soon is not a date (use 2026-11-20 or 20.11.2026)"),
        (7, "customer_id C4 already appears on line 6"),
    ]
    assert frame["started_at"].tolist() == [date(2024, 1, 1)]


def test_customer_duplicates_across_chunks() -> None:
    text = "customer_id,started_at\n" + "".join(f"C{i % 5},2024-01-01\n" for i in range(8))
    frame, rejected = customers(text, chunk_rows=3)
    assert len(frame) == 5
    assert [r.line for r in rejected] == [7, 8, 9]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1000", Decimal("1000.00")),
        ("1 000,50", Decimal("1000.50")),
        ("1.000,50", Decimal("1000.50")),
        ("1,000.50", Decimal("1000.50")),
        ("1000,5", Decimal("1000.50")),
        ("0,125", Decimal("0.13")),
        ("1.234.567", Decimal("1234567.00")),
        ("1'234.50", Decimal("1234.50")),
        ("kr 1 000,-", Decimal("1000.00")),
        ("1 000 NOK", Decimal("1000.00")),
        ("€1,000.50", Decimal("1000.50")),
        ("+12", Decimal("12.00")),
        ("1\u00a0000,50", Decimal("1000.50")),
    ],
)
def test_money_accepted(text: str, expected: Decimal) -> None:
    assert parse_money(text, "annual_revenue") == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1,000", "annual_revenue 1,000 is ambiguous"),
        ("1.000", "annual_revenue 1.000 is ambiguous"),
        ("-1", "annual_revenue -1 is negative"),
        ("ten", "annual_revenue ten is not an amount"),
        ("1.000.00", "annual_revenue 1.000.00 is not an amount"),
        ("1,00,000.5", "annual_revenue 1,00,000.5 is not an amount"),
        ("1e9", "annual_revenue 1e9 is not an amount"),
        ("999999999999999", "annual_revenue 999999999999999 is too large"),
    ],
)
def test_money_refused(text: str, reason: str) -> None:
    result = parse_money(text, "annual_revenue")
    assert isinstance(result, str) and result.startswith(reason)


# --------------------------------------------------------------------------- properties


_comments = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(min_value=-2, max_value=12), _comments),
        min_size=1,
        max_size=25,
    ),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_any_written_csv_reads_back_with_its_line_numbers(
    rows: list[tuple[int, str]], delimiter: str
) -> None:
    """Whatever the comments hold (quotes, separators, newlines, any script), valid rows
    come back as written and each invalid one is reported at its physical line."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["responded_at", "metric", "score", "comment"])
    expected_lines = []
    line = 2
    for score, comment in rows:
        start = out.tell()
        writer.writerow(["2026-11-20", "nps", score, comment])
        if not 0 <= score <= 10:
            expected_lines.append(line)
        line += out.getvalue()[start:].count("\n")
    frame, rejected = responses(out.getvalue())
    assert [r.line for r in rejected] == expected_lines
    assert all(r.reason.startswith(f"score {r.raw['score']} is outside 0-10") for r in rejected)
    valid = [(s, c) for s, c in rows if 0 <= s <= 10]
    assert frame["score"].tolist() == [s for s, _ in valid]
    assert frame["comment"].tolist() == [c if c.strip() else None for _, c in valid]


# --------------------------------------------------------------------------- block reading
# Plain CSV blocks are read by pandas' parser; anything else record by record. The two
# must give the same chunks, rows, values, rejects and line numbers.


def _chunked(source: bytes, chunk_rows: int, *, blocks: bool) -> tuple[list[Any], str | None]:
    """The chunks read, and the FileError that stopped the reading, if one did."""
    chunks: list[Any] = []
    with pytest.MonkeyPatch.context() as patch:
        if not blocks:
            patch.setattr(csv_blocks.BlockReader, "read", lambda self, lines, encoding: None)
        try:
            for chunk in read_responses(io.BytesIO(source), OSLO, chunk_rows=chunk_rows):
                chunks.append(chunk)
        except FileError as exc:
            return chunks, str(exc)
    return chunks, None


def _assert_same_reading(source: bytes, chunk_rows: int) -> None:
    fast, fast_error = _chunked(source, chunk_rows, blocks=True)
    exact, exact_error = _chunked(source, chunk_rows, blocks=False)
    assert fast_error == exact_error
    assert len(fast) == len(exact)
    for (frame, rejected), (want_frame, want_rejected) in zip(fast, exact, strict=True):
        pd.testing.assert_frame_equal(frame, want_frame)
        assert rejected == want_rejected


def test_plain_blocks_are_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    read = []
    original = csv_blocks.BlockReader.read

    def counting(self: csv_blocks.BlockReader, lines: list[bytes], encoding: str):
        result = original(self, lines, encoding)
        read.append(result is not None)
        return result

    monkeypatch.setattr(csv_blocks.BlockReader, "read", counting)
    rows = "".join(f'R{i};2026-11-{1 + i % 28:02d};nps;{i % 11};"a; ""b"""\n' for i in range(50))
    frame, rejected = responses("id;date;metric;score;comment\n" + rows, chunk_rows=20)
    assert read == [True, True, True]
    assert rejected == []
    assert len(frame) == 50
    assert frame["comment"].iloc[0] == 'a; "b"'


_ODD = [
    "",
    " ",
    "\u00a0",
    "x",
    "Ærlig talt",
    "2026-11-20",
    '"',
    '""',
    '"quoted"',
    'a"b',
    '"a"b',
    "a;b",
    '"a;b"',
    "a,b",
    "\t",
    "line\nbreak",
    '"line\nbreak"',
    "cr\rhere",
    "x\r",
    "\x00",
    "\ufeffbom",
    "#hash",
    "NaN",
    "9",
    "11",
    "nps",
    "csat",
]


@settings(max_examples=150, deadline=None)
@given(
    cells=st.lists(
        st.lists(st.sampled_from(_ODD) | st.text(max_size=6), min_size=3, max_size=6),
        min_size=1,
        max_size=30,
    ),
    delimiter=st.sampled_from([",", ";", "\t"]),
    chunk_rows=st.integers(min_value=1, max_value=12),
    crlf=st.booleans(),
    encoding=st.sampled_from(["utf-8", "cp1252"]),
)
def test_block_and_record_reading_agree_on_anything(
    cells: list[list[str]], delimiter: str, chunk_rows: int, crlf: bool, encoding: str
) -> None:
    """Raw lines, not written by a CSV writer: stray quotes, separators and line breaks
    inside values, ragged rows, blank rows, NULs, bytes the encoding cannot read."""
    end = "\r\n" if crlf else "\n"
    lines = [delimiter.join(["responded_at", "metric", "score", "comment"])]
    for row in cells:
        lines.append(delimiter.join(row))
    good = f"2026-11-20{delimiter}nps{delimiter}9{delimiter}fine"
    # Plain rows around the odd ones, so that some blocks are plain and some are not.
    text = end.join([lines[0], *[x for line in lines[1:] for x in (good, line, good)]]) + end
    _assert_same_reading(text.encode(encoding, "replace"), chunk_rows)


@pytest.mark.parametrize(
    "path", sorted(p for p in MALFORMED.iterdir() if p.suffix in (".csv", ".tsv")), ids=str
)
@pytest.mark.parametrize("chunk_rows", [1, 2, 5, 1000])
def test_block_and_record_reading_agree_on_the_malformed_corpus(
    path: Path, chunk_rows: int
) -> None:
    _assert_same_reading(path.read_bytes(), chunk_rows)


def test_block_reading_keeps_a_file_with_a_late_legacy_byte_exact() -> None:
    """ASCII for a whole block, then a cp1252 byte: the encoding is settled where the
    record reader settles it, and the rows before it are read as blocks."""
    rows = ["responded_at;metric;score;comment"]
    rows += [f"2026-11-20;nps;{i % 11};ok" for i in range(30)]
    rows += ["2026-11-20;nps;9;bl\xe5b\xe6r"]
    rows += [f"2026-11-21;nps;{i % 11};ok" for i in range(30)]
    source = ("\n".join(rows) + "\n").encode("cp1252")
    _assert_same_reading(source, 10)
    frame, rejected = responses(source, chunk_rows=10)
    assert rejected == []
    assert frame["comment"].iloc[30] == "blåbær"


_MOMENTISH = st.sampled_from(
    ["2026-11-20", "2026-11-20T10:00", "2026-11-20T10:00Z", "2026-11-20 10:00:00+01:00",
     "2026-11-20z", "2026-11-2", "20.11.2026", "2026-11-20T10:00:00-0500", ""]
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(values=st.lists(_MOMENTISH | st.text(max_size=14), min_size=100, max_size=160))
def test_timestamp_kinds_by_matrix_match_the_kinds_one_by_one(values: list[str]) -> None:
    want = [moments._moment_kind(v) for v in values]
    assert moments._moment_kinds(values).tolist() == want


@pytest.mark.parametrize("shape", ["plain csv", "csv read line by line", "json lines"])
def test_long_rows_end_a_chunk_early(monkeypatch: pytest.MonkeyPatch, shape: str) -> None:
    """A chunk is bounded by its text as well as its rows: with long comments, a fixed number
    of rows could hold gigabytes."""
    monkeypatch.setattr(records, "CHUNK_BYTES", 20_000)
    comment = "the parcel came late again " * 40  # about 1 KB a row
    rows = 100
    if shape == "json lines":
        body = "\n".join(
            json.dumps(
                {
                    "response_id": f"R{i}",
                    "responded_at": "2026-10-01",
                    "metric": "nps",
                    "score": i % 11,
                    "comment": comment,
                }
            )
            for i in range(rows)
        )
    else:
        lines = ["response_id,responded_at,metric,score,comment"]
        lines += [f"R{i},2026-10-01,nps,{i % 11},{comment}" for i in range(rows)]
        if shape == "csv read line by line":
            lines[1] = 'R0,2026-10-01,nps,0,"a comment ""quoted"" across\ntwo lines"'
        body = "\n".join(lines) + "\n"
    chunks = list(read_responses(io.BytesIO(body.encode()), OSLO, chunk_rows=1_000))
    sizes = [len(frame) + len(rejected) for frame, rejected in chunks]
    assert sum(sizes) == rows  # nothing lost at the seams
    assert len(chunks) >= 4 and max(sizes) <= 25
    keys = [k for frame, _ in chunks for k in frame["response_key"]]
    assert keys == [f"id:R{i}" for i in range(rows)]
