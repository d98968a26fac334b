"""`cxbot import responses` on other tools' exports, end to end through the real CLI.

Each fixture in tests/data/imports/ is laid out as its tool exports (the source of each
layout is in tests/data/imports/README.md and in core/layouts.py beside the layout).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import Result

from storage.db import make_engine
from tests.bot.test_cli_import import cli_runner

ROOT = Path(__file__).resolve().parents[2]
IMPORTS = ROOT / "tests" / "data" / "imports"


@pytest.fixture
def cli(sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Result]:
    return cli_runner(sqlite_url, monkeypatch, tmp_path)


@pytest.fixture
def db(sqlite_url: str) -> Engine:
    return make_engine(sqlite_url)


def copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    target.write_bytes((IMPORTS / name).read_bytes())
    return target


def stored(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT response_key, responded_at, local_day, metric, score, customer_id, "
                "segment, touchpoint, comment FROM response ORDER BY responded_at, metric"
            )
        )
        return [dict(r._mapping) for r in rows]


def metrics(rows: list[dict[str, object]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[str(r["metric"])] = out.get(str(r["metric"]), 0) + 1
    return out


def moment(value: object) -> datetime:
    return datetime.fromisoformat(str(value).replace(" ", "T")[:19])


def day(value: object) -> date:
    return date.fromisoformat(str(value)[:10])


# (fixture, layout, rows in the file, answers stored, answers per metric)
CASES = [
    ("qualtrics.csv", "qualtrics", 4, 7, {"nps": 4, "csat": 3}),
    ("surveymonkey.csv", "surveymonkey", 3, 6, {"nps": 3, "csat": 3}),
    ("typeform.csv", "typeform", 3, 5, {"nps": 3, "csat": 2}),
    ("google_forms_us.csv", "google_forms", 3, 6, {"nps": 3, "csat": 3}),
    ("google_forms_nb.csv", "google_forms", 2, 4, {"nps": 2, "csat": 2}),
    ("formbricks.csv", "formbricks", 3, 5, {"nps": 3, "csat": 2}),
    ("delighted.json", "delighted", 3, 3, {"nps": 1, "csat": 1, "ces": 1}),
    ("asknicely.json", "asknicely", 3, 3, {"nps": 2, "csat": 1}),
    ("asknicely.csv", "asknicely_csv", 4, 4, {"nps": 2, "csat": 2}),
    ("medallia_agent_connect.csv", "medallia_agent_connect", 4, 4, {"csat": 4}),
]


@pytest.mark.parametrize(("name", "layout", "rows", "answers", "by_metric"), CASES)
def test_each_layout_imports_end_to_end(
    cli: Callable[..., Result],
    db: Engine,
    tmp_path: Path,
    name: str,
    layout: str,
    rows: int,
    answers: int,
    by_metric: dict[str, int],
) -> None:
    path = copy(tmp_path, name)
    result = cli("import", "responses", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"layout: {layout}",
        f"accepted: {answers}",
        "duplicates: 0",
        "rejected: 0",
    ]
    got = stored(db)
    assert len(got) == answers
    assert metrics(got) == by_metric
    # Answers with the tool's id: one response (row) each, the first answer keyed by it.
    ids = {str(r["response_key"]).split(":")[1] for r in got if str(r["response_key"])[:3] == "id:"}
    assert len(ids) in (0, rows)
    again = cli("import", "responses", str(path), "--format", "json")
    assert again.exit_code == 0
    summary = json.loads(again.stdout)
    assert summary["layout"] == layout
    assert (summary["accepted"], summary["duplicates"], summary["rejected"]) == (0, answers, 0)


def test_one_row_with_an_nps_and_a_csat_question_gives_two_answers(
    cli: Callable[..., Result], db: Engine, tmp_path: Path
) -> None:
    assert cli("import", "responses", str(copy(tmp_path, "qualtrics.csv"))).exit_code == 0
    first = [r for r in stored(db) if str(r["response_key"]).startswith("id:R_1a2B3c4D5e6F7g8")]
    assert sorted((r["metric"], r["score"]) for r in first) == [("csat", 5), ("nps", 9)]
    # The comment (the reason for the score) goes with the NPS answer it follows, once.
    assert [r["comment"] for r in first if r["metric"] == "nps"] == [
        "Rask levering, og supporten svarte med en gang"
    ]
    assert [r["comment"] for r in first if r["metric"] == "csat"] == [None]
    assert {r["customer_id"] for r in first} == {"C-1001"}
    assert {r["segment"] for r in first} == {"Pro"}


def test_qualtrics_times_are_in_the_exports_time_zone(
    cli: Callable[..., Result], db: Engine, tmp_path: Path
) -> None:
    assert cli("import", "responses", str(copy(tmp_path, "qualtrics.csv"))).exit_code == 0
    row = next(r for r in stored(db) if r["response_key"] == "id:R_3c4D5e6F7g8H9i0")
    # 16:22:48 in America/Denver (MST, UTC-7) is 23:22:48 UTC, already the 8th in Oslo.
    assert moment(row["responded_at"]) == datetime(2026, 11, 7, 23, 22, 48)
    assert day(row["local_day"]) == date(2026, 11, 8)


def test_typeform_submit_date_utc_is_stored_in_utc(
    cli: Callable[..., Result], db: Engine, tmp_path: Path
) -> None:
    assert cli("import", "responses", str(copy(tmp_path, "typeform.csv"))).exit_code == 0
    row = next(r for r in stored(db) if r["response_key"] == "id:odwdp4nzj1xg6m9l36odwdp4nzlv2gcw")
    # Submit Date (UTC) 2026-11-20 23:30:00, not read in the workspace's Oslo time.
    assert moment(row["responded_at"]) == datetime(2026, 11, 20, 23, 30)
    assert day(row["local_day"]) == date(2026, 11, 21)
    assert (row["segment"], row["touchpoint"]) == ("pro", "support")
    assert row["comment"] == "Kjempefin service fra supporten"


def test_us_google_forms_is_read_month_first_when_the_data_decides(
    cli: Callable[..., Result], db: Engine, tmp_path: Path
) -> None:
    assert cli("import", "responses", str(copy(tmp_path, "google_forms_us.csv"))).exit_code == 0
    days = sorted({day(r["local_day"]) for r in stored(db)})
    # 11/16/2026 can only be month-first, so 11/05/2026 is 5 November, not 11 May.
    assert days == [date(2026, 11, 3), date(2026, 11, 5), date(2026, 11, 16)]


def test_ambiguous_dates_are_refused_with_the_choice(
    cli: Callable[..., Result], db: Engine, tmp_path: Path
) -> None:
    path = copy(tmp_path, "google_forms_ambiguous.csv")
    refused = cli("import", "responses", str(path))
    assert refused.exit_code == 1
    assert "could be day-first or month-first" in refused.stderr
    assert "--dayfirst or --monthfirst" in refused.stderr
    assert stored(db) == []
    chosen = cli("import", "responses", str(path), "--monthfirst")
    assert chosen.exit_code == 0, chosen.output
    assert sorted({day(r["local_day"]) for r in stored(db)}) == [
        date(2026, 10, 3),
        date(2026, 11, 5),
    ]


def test_an_order_the_data_contradicts_is_refused(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    result = cli("import", "responses", str(copy(tmp_path, "google_forms_us.csv")), "--dayfirst")
    assert result.exit_code == 1
    assert "11/16/2026 14:02:11 can only be month-first" in result.stderr


def test_epoch_seconds_and_milliseconds_are_utc(
    cli: Callable[..., Result], db: Engine, tmp_path: Path
) -> None:
    assert cli("import", "responses", str(copy(tmp_path, "delighted.json"))).exit_code == 0
    by_key = {r["response_key"]: r for r in stored(db)}
    assert moment(by_key["id:1"]["responded_at"]) == datetime(2025, 11, 5, 10, 15)
    assert moment(by_key["id:3"]["responded_at"]) == datetime(2025, 11, 7, 10, 15)  # ms
    # person_properties give customer, segment and touchpoint; without a customer id
    # property the person's e-mail identifies them.
    assert (by_key["id:1"]["customer_id"], by_key["id:1"]["segment"]) == ("C-1001", "Pro")
    assert by_key["id:1"]["touchpoint"] == "Delivery"
    assert by_key["id:3"]["customer_id"] == "ola@example.no"


def test_asknicely_csv_reads_the_apis_fields_with_epoch_seconds_as_utc(
    cli: Callable[..., Result], db: Engine, tmp_path: Path
) -> None:
    assert cli("import", "responses", str(copy(tmp_path, "asknicely.csv"))).exit_code == 0
    by_key = {r["response_key"]: r for r in stored(db)}
    # responded 1795217400 is 2026-11-20 23:30:00 UTC, already the 21st in Oslo.
    late = by_key["id:64"]
    assert moment(late["responded_at"]) == datetime(2026, 11, 20, 23, 30)
    assert day(late["local_day"]) == date(2026, 11, 21)
    # question_type decides the metric (5STAR is a 1-5 satisfaction scale).
    assert [(by_key[f"id:{n}"]["metric"], by_key[f"id:{n}"]["score"]) for n in range(61, 65)] == [
        ("nps", 9),
        ("nps", 2),
        ("csat", 4),
        ("csat", 5),
    ]
    assert late["comment"] == 'Five stars: quick, friendly "real" people'
    first = by_key["id:61"]
    assert (first["customer_id"], first["segment"], first["touchpoint"]) == (
        "kari@example.no",
        "Enterprise",
        "Delivery",  # the custom field touchpoint_c
    )
    assert first["comment"] == "Rask levering, og supporten svarte med en gang"


def test_medallia_agent_connect_times_are_utc_and_a_comments_flag_is_no_comment(
    cli: Callable[..., Result], db: Engine, tmp_path: Path
) -> None:
    path = copy(tmp_path, "medallia_agent_connect.csv")
    assert cli("import", "responses", str(path)).exit_code == 0
    rows = {str(r["response_key"])[-3:]: r for r in stored(db)}
    # response_received_at is UTC (the export's docs): 23:30 is the 21st in Oslo.
    assert moment(rows["504"]["responded_at"]) == datetime(2026, 11, 20, 23, 30)
    assert day(rows["504"]["local_day"]) == date(2026, 11, 21)
    assert moment(rows["501"]["responded_at"]) == datetime(2026, 11, 5, 9, 15)
    assert [(r["metric"], r["score"]) for r in rows.values()] == [
        ("csat", 5),
        ("csat", 2),
        ("csat", 4),
        ("csat", 1),
    ]
    assert rows["501"]["comment"] == "Bjørn løste saken på første forsøk, tusen takk"
    assert rows["503"]["comment"] is None  # "No": the response had no comment
    assert (rows["502"]["customer_id"], rows["502"]["touchpoint"]) == ("john@example.com", "phone")


def test_medallia_agent_connect_ambiguous_dates_are_refused(
    cli: Callable[..., Result], db: Engine, tmp_path: Path
) -> None:
    # The same export re-saved by a spreadsheet with day/month dates none of which
    # decides the order: refused with the choice, never guessed.
    lines = (IMPORTS / "medallia_agent_connect.csv").read_text().splitlines()
    swaps = {"2026-11-05 09:15:00": "05/11/2026 09:15", "2026-11-12 14:20:05": "12/11/2026 14:20"}
    rows = [lines[0]]
    for line in lines[1:3]:
        for iso, local in swaps.items():
            line = line.replace(iso, local)
        rows.append(line)
    path = tmp_path / "agent_connect_local.csv"
    path.write_text("\n".join(rows) + "\n")
    refused = cli("import", "responses", str(path))
    assert refused.exit_code == 1
    assert "could be day-first or month-first" in refused.stderr
    assert stored(db) == []
    chosen = cli("import", "responses", str(path), "--dayfirst")
    assert chosen.exit_code == 0, chosen.output
    assert sorted(moment(r["responded_at"]) for r in stored(db)) == [
        datetime(2026, 11, 5, 9, 15),  # UTC, as the layout's timestamps are
        datetime(2026, 11, 12, 14, 20),
    ]


def test_timezone_option_overrides_the_layouts_zone(
    cli: Callable[..., Result], db: Engine, tmp_path: Path
) -> None:
    path = copy(tmp_path, "typeform.csv")
    assert cli("import", "responses", str(path), "--timezone", "Europe/Oslo").exit_code == 0
    row = next(r for r in stored(db) if r["response_key"] == "id:odwdp4nzj1xg6m9l36odwdp4nzlv2gcw")
    assert moment(row["responded_at"]) == datetime(2026, 11, 20, 22, 30)


def test_a_date_that_is_neither_order_is_that_rows_reason(
    cli: Callable[..., Result], db: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "forms.csv"
    path.write_text(
        "Timestamp,How likely are you to recommend us?\n"
        "16/11/2026 10:00:00,9\n"
        "31/31/2026 10:00:00,7\n",
        encoding="utf-8",
    )
    result = cli("import", "responses", str(path))
    assert result.exit_code == 0, result.output
    assert "line 3: responded_at 31/31/2026 10:00:00 is not a date" in result.stderr
    assert "mix day-first" not in result.output
    assert [day(r["local_day"]) for r in stored(db)] == [date(2026, 11, 16)]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"score: [How likely, Why]\n", "score is one column name"),
        (b"questions: 5\n", "questions is a list"),
        (b"questions: [{score: {a: 1}}]\n", "one each"),
        (b"\xff\xfe\x00score", "not UTF-8"),
    ],
)
def test_a_map_file_of_the_wrong_shape_is_a_usage_error(
    cli: Callable[..., Result], tmp_path: Path, content: bytes, reason: str
) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_bytes(content)
    result = cli(
        "import", "responses", str(copy(tmp_path, "custom.csv")), "--map-file", str(mapping)
    )
    assert result.exit_code == 2, result.output
    assert reason in result.stderr


def test_map_and_map_file_read_a_custom_file(
    cli: Callable[..., Result], db: Engine, tmp_path: Path
) -> None:
    path = copy(tmp_path, "custom.csv")
    plain = cli("import", "responses", str(path))
    assert plain.exit_code == 1  # no layout and none of the product's columns
    mapped = cli(
        "import",
        "responses",
        str(path),
        "--map",
        'score="How likely...",metric=nps,responded_at=Submitted,segment=Plan,'
        "comment=Kommentar,customer_id=Kunde",
    )
    assert mapped.exit_code == 0, mapped.output
    assert mapped.stdout.splitlines()[:2] == ["layout: custom", "accepted: 2"]
    rows = stored(db)
    assert [(r["metric"], r["score"], r["segment"], r["customer_id"]) for r in rows] == [
        ("nps", 9, "Pro", "C-1"),
        ("nps", 5, "Basic", "C-2"),
    ]
    assert rows[1]["comment"] == "Fakturaen var feil"
    again = cli("import", "responses", str(path), "--map-file", str(copy(tmp_path, "mapping.yaml")))
    assert again.exit_code == 0, again.output
    assert "duplicates: 2" in again.stdout


def test_dry_run_shows_the_layout_and_stores_nothing(
    cli: Callable[..., Result], db: Engine, tmp_path: Path
) -> None:
    path = copy(tmp_path, "typeform.csv")
    shown = cli("import", "responses", str(path), "--dry-run")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines()[0] == "layout: typeform (Typeform)"
    assert "Submit Date (UTC)" in shown.stdout and "responded_at (time zone UTC)" in shown.stdout
    assert "would store: 5 answers; rejected: 0 (dry run: nothing stored)" in shown.stdout
    as_json = json.loads(
        cli("import", "responses", str(path), "--dry-run", "--format", "json").stdout
    )
    assert as_json["layout"] == "typeform" and as_json["stored"] is False
    becomes = {c["column"]: c["becomes"] for c in as_json["columns"]}
    assert becomes["#"] == "response_id"
    assert becomes["plan"] == "segment"
    assert becomes["What's the main reason for your score?"].startswith("comment of")
    assert as_json["rows"][0]["responded_at"] == "2026-11-20T23:30:00+00:00"
    assert stored(db) == []
    assert not (tmp_path / "typeform.csv.rejected.csv").exists()


def test_source_forces_a_layout_and_formats_lists_them(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    listed = json.loads(cli("import", "formats", "--format", "json").stdout)["formats"]
    names = [f["name"] for f in listed]
    assert names[:1] == ["cxbot"]
    assert {
        "qualtrics",
        "surveymonkey",
        "typeform",
        "google_forms",
        "formbricks",
        "asknicely_csv",
        "medallia_agent_connect",
    } <= set(names)
    assert all(f["source"] for f in listed)
    text_listing = cli("import", "formats")
    assert text_listing.exit_code == 0 and "typeform" in text_listing.stdout
    path = copy(tmp_path, "google_forms_us.csv")
    forced = cli("import", "responses", str(path), "--source", "google_forms", "--dry-run")
    assert forced.exit_code == 0 and forced.stdout.startswith("layout: google_forms")
    unknown = cli("import", "responses", str(path), "--source", "nope")
    assert unknown.exit_code == 2
    assert "unknown source 'nope'" in unknown.stderr


def test_every_row_rejected_is_bad_input(cli: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("responded_at,metric,score\n2026-11-20,nps,11\n2026-11-20,csat,0\n")
    result = cli("import", "responses", str(path), "--format", "json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert (summary["accepted"], summary["rejected"]) == (0, 2)
    assert "every row of the file was rejected" in result.stderr


@pytest.mark.postgres
def test_a_layout_on_postgresql(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run = cli_runner(pg_url, monkeypatch, tmp_path)
    result = run("import", "responses", str(copy(tmp_path, "surveymonkey.csv")))
    assert result.exit_code == 0, result.output
    assert "accepted: 6" in result.stdout
    eng = make_engine(pg_url)
    try:
        rows = stored(eng)
    finally:
        eng.dispose()
    assert metrics(rows) == {"nps": 3, "csat": 3}
    # The expanded NPS question (one column per option) gives the chosen number.
    assert sorted(int(str(r["score"])) for r in rows if r["metric"] == "nps") == [2, 8, 9]
    assert sorted({day(r["local_day"]) for r in rows}) == [
        date(2026, 11, 5),
        date(2026, 11, 16),
        date(2026, 11, 17),
    ]
