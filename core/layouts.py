"""Other survey tools' exports, recognised from their header and read as the product's answers.

Pure: nothing here touches a database. A layout only says which column is what
(`Plan`); the rows it gives are checked by `core.ingest` exactly like the product's
own format, so validation, rejects with their line, dedupe and counts stay one way.
The product's own format goes straight to `core.ingest.read_responses` (its fast,
chunked path); another tool's export is read whole: such files are survey exports,
thousands of rows, and deciding a date column's day/month order needs all of it.

Each layout names the public documentation or code it was built from (`Layout.source`;
tests/data/imports/README.md has the fixtures built from them).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from core import ingest
from core.ingest import FileError, Rejected
from core.webhook_adapters import METRIC_NAMES, field_key, metric_from_name, metric_from_text

# --------------------------------------------------------------------------- the layouts


@dataclass(frozen=True)
class Layout:
    name: str  # what --source takes
    tool: str
    reads: str
    source: str  # where the layout was found (public docs or code)


CXBOT = Layout(
    "cxbot",
    "cxbot",
    "CSV or JSON with responded_at, metric, score, ... (README: Data files)",
    "/work/shared/CONTRACT.md, Data files",
)
QUALTRICS = Layout(
    "qualtrics",
    "Qualtrics",
    "CSV export: column ids, question text and ImportId rows (its timeZone honoured); "
    "RecordedDate, ResponseId, Q*_NPS_GROUP marks the NPS question",
    "https://search.r-project.org/CRAN/refmans/kutils/html/importQualtrics.html (three "
    "header rows: name, question, ImportId); ImportId row with timeZone as in public "
    "Qualtrics exports read by the qualtRics package "
    "(https://search.r-project.org/CRAN/refmans/qualtRics/html/readSurvey.html)",
)
SURVEYMONKEY = Layout(
    "surveymonkey",
    "SurveyMonkey",
    "CSV export: question row and answer-option row; Respondent ID, Collector ID, "
    "Start Date, End Date; condensed and expanded (one column per option) answers",
    "SurveyMonkey's CSV export as public parsers read it: metadata columns Respondent ID, "
    "Collector ID, Start Date, End Date, IP Address, Email Address, First Name, Last Name, "
    "Custom Data 1, then two header rows (question, answer option); ids as in "
    "https://developer.surveymonkey.com/api/v3/#survey-responses",
)
TYPEFORM = Layout(
    "typeform",
    "Typeform",
    "CSV export: #, one column per question, hidden fields, Start Date (UTC), "
    "Submit Date (UTC), Network ID (times in UTC)",
    "Typeform's CSV export columns as public code reads them (#, Response Type, Start Date "
    "(UTC), Stage Date (UTC), Submit Date (UTC), Network ID, Tags); submitted_at in UTC per "
    "https://developer.typeform.com/responses/reference/retrieve-responses/",
)
GOOGLE_FORMS = Layout(
    "google_forms",
    "Google Forms / Sheets",
    "CSV of the responses sheet: Timestamp (in the sheet's locale: 11/05/2026 10:15:00 "
    "month-first in the US, day-first elsewhere, told apart from the data), a column "
    "per question",
    "https://developers.google.com/sheets/api/guides/formats (dates rendered in the "
    "spreadsheet's locale); https://developers.google.com/forms/api/reference/rest/v1/"
    "forms.responses (one response, one timestamp, answers per question)",
)
FORMBRICKS = Layout(
    "formbricks",
    "Formbricks",
    "CSV export: No., Response ID, Timestamp (with its zone), Finished, Survey ID, "
    "User ID, Tags, meta, '1. <question>' columns, hidden fields, person.<attribute>",
    "github:formbricks/formbricks apps/web/lib/response/service.ts (export headers), "
    "apps/web/lib/response/utils.ts (getResponsesJson), apps/web/lib/utils/datetime.ts "
    "(getFormattedDateTimeString: '2026-01-01 20:00:00 UTC')",
)
DELIGHTED = Layout(
    "delighted",
    "Delighted",
    "API JSON (list survey responses, {data: [...]} or a plain list): created_at epoch, "
    "survey_type, score, comment, person object, person_properties",
    "https://app.delighted.com/docs/api/listing-survey-responses; schemas "
    "github:api-evangelist/delighted json-schema/survey-response.json and person.json",
)
ASKNICELY = Layout(
    "asknicely",
    "AskNicely",
    "API JSON (Get Responses, {data: [...]}): answer, question_type (NPS, CSAT, 5STAR), "
    "comment, responded/sent epoch, email, segment, custom fields (*_c)",
    "https://demo.asknice.ly/help/apidocs/responses",
)
ASKNICELY_CSV = Layout(
    "asknicely_csv",
    "AskNicely",
    "CSV (Get Responses with format csv): one response a row, the API's fields as "
    "columns: response_id, answer, question_type (NPS, CSAT, 5STAR), comment, "
    "responded/sent epoch seconds, email, segment, custom fields (*_c)",
    "https://demo.asknice.ly/help/apidocs/responses (the format argument: 'csv to get "
    "data in csv format'); https://demo.asknice.ly/help/apidocs/auth (custom fields in "
    "snake_case suffixed _c)",
)
MEDALLIA_AGENT_CONNECT = Layout(
    "medallia_agent_connect",
    "Medallia Agent Connect (formerly Stella Connect)",
    "CSV of Settings > Export Responses: request_id, response_received_at (UTC), "
    "star_rating (1-5: CSAT), comments, channel, request_sent_to, employee_email, ... "
    "(Medallia Experience Cloud exports are per program: use --map)",
    "https://docs.medallia.com/en/agent-connect/reports-and-dashboards/export-data/"
    "feedback-exports-field-descriptions-and-request-delivery-status (the export's fields); "
    "https://docs.medallia.com/en/agent-connect/user-guide/introducing-agent-connect/"
    "customer-feedback/exporting-data (a CSV file); times as date-time in the Data API: "
    "github:api-evangelist/stellaconnect openapi/stellaconnect-data-api-openapi.yml",
)
LAYOUTS: tuple[Layout, ...] = (
    CXBOT,
    QUALTRICS,
    SURVEYMONKEY,
    TYPEFORM,
    GOOGLE_FORMS,
    FORMBRICKS,
    DELIGHTED,
    ASKNICELY,
    ASKNICELY_CSV,
    MEDALLIA_AGENT_CONNECT,
)
BY_NAME = {layout.name: layout for layout in LAYOUTS}
# For --map without a layout of its own: one header row, the columns as mapped.
CUSTOM = Layout("custom", "any", "a CSV or JSON file whose columns --map names", "--map")


# --------------------------------------------------------------------------- options


FIELDS = ("responded_at", "response_id", "customer_id", "segment", "touchpoint", "employee")
QUESTION_KEYS = ("score", "metric", "comment")
DAYFIRST, MONTHFIRST = "dayfirst", "monthfirst"


@dataclass(frozen=True)
class Question:
    """A question as --map names it: the score column, its metric, its comment column."""

    score: str
    metric: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Options:
    """How to read a file beyond what its header says (all picklable: the read may run in
    a helper process)."""

    source: str | None = None
    fields: tuple[tuple[str, str], ...] = ()  # (product column, header)
    questions: tuple[Question, ...] = ()
    date_order: str | None = None
    timezone: str | None = None

    @property
    def mapped(self) -> bool:
        return bool(self.fields or self.questions)


def parse_map(text: str) -> dict[str, str]:
    """`score="How likely...",metric=nps,segment=Plan` as {key: value}.

    A value may hold commas: a comma only separates where a known key and `=` follow.
    """
    keys = "|".join(FIELDS + QUESTION_KEYS)
    parts = re.split(rf",(?=\s*(?:{keys})\s*=)", text.strip())
    out: dict[str, str] = {}
    for part in parts:
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in FIELDS + QUESTION_KEYS:
            known = ", ".join(FIELDS + QUESTION_KEYS)
            raise ValueError(f"--map: {part.strip()!r} is not KEY=COLUMN (keys: {known})")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if key in out:
            raise ValueError(f"--map: {key} is given twice in {text!r}")
        out[key] = value
    return out


def options_from(
    maps: Sequence[Mapping[str, Any]],
    *,
    source: str | None = None,
    date_order: str | None = None,
    timezone: str | None = None,
) -> Options:
    """Options from --map strings (parsed) and a mapping file's content, merged in order.

    A mapping file may hold the flat keys of --map, `questions: [{score, metric,
    comment}, ...]`, and `source`, `date_order` (dayfirst / monthfirst), `timezone`.
    """
    fields: dict[str, str] = {}
    questions: list[Question] = []
    for item in maps:
        if not isinstance(item, Mapping):
            raise ValueError("a mapping is KEY: COLUMN pairs")
        unknown = (
            set(item)
            - set(FIELDS + QUESTION_KEYS)
            - {
                "questions",
                "source",
                "date_order",
                "timezone",
            }
        )
        if unknown:
            raise ValueError(f"mapping: unknown key {sorted(unknown)[0]!r}")
        for key in (*FIELDS, *QUESTION_KEYS, "source", "date_order", "timezone"):
            if isinstance(item.get(key), list | dict):
                raise ValueError(f"mapping: {key} is one column name or word, not a list")
        for key in FIELDS:
            if item.get(key):
                fields[key] = str(item[key])
        if not isinstance(item.get("questions") or [], list):
            raise ValueError("mapping: questions is a list of {score: COLUMN, ...}")
        listed = list(item.get("questions") or [])
        if item.get("score"):
            listed.insert(0, {k: item.get(k) for k in QUESTION_KEYS})
        elif item.get("metric") or item.get("comment"):
            raise ValueError("mapping: metric and comment belong to a score (score=COLUMN)")
        for q in listed:
            if not isinstance(q, Mapping) or not q.get("score"):
                raise ValueError("mapping: each question needs score: COLUMN")
            if any(isinstance(q.get(k), list | dict) for k in QUESTION_KEYS):
                raise ValueError("mapping: a question's score, metric and comment are one each")
            metric = str(q["metric"]).strip().lower() if q.get("metric") else None
            if metric is not None and metric not in ("nps", "csat", "ces"):
                raise ValueError(f"mapping: metric {metric!r} is not nps, csat or ces")
            comment = str(q["comment"]) if q.get("comment") else None
            questions.append(Question(str(q["score"]), metric, comment))
        source = source or (str(item["source"]) if item.get("source") else None)
        date_order = date_order or (str(item["date_order"]) if item.get("date_order") else None)
        timezone = timezone or (str(item["timezone"]) if item.get("timezone") else None)
    if source is not None and source not in BY_NAME:
        raise ValueError(f"unknown source {source!r} (known: {', '.join(BY_NAME)})")
    if date_order is not None and date_order not in (DAYFIRST, MONTHFIRST):
        raise ValueError(f"date_order {date_order!r} is not dayfirst or monthfirst")
    if timezone is not None:
        _zone(timezone, "timezone")
    return Options(source, tuple(fields.items()), tuple(questions), date_order, timezone)


def _zone(name: str, what: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{what} {name!r} is not a time zone (like Europe/Oslo or UTC)") from None


# --------------------------------------------------------------------------- a file as a table


@dataclass
class _Table:
    """A file's columns: names, question texts (labels), extra header rows and data rows."""

    kind: str  # csv or json
    names: list[str]
    labels: list[str]
    extra: list[list[str]] = field(default_factory=list)
    rows: list[tuple[int, list[str]]] = field(default_factory=list)

    def column(self, i: int) -> list[str]:
        return [row[i] if i < len(row) else "" for _, row in self.rows]


_HEAD_BYTES = 1 << 16


def _csv_head(text: str, n: int = 4) -> list[list[str]]:
    first = text.split("\n", 1)[0]
    try:
        delimiter = ingest.sniff_delimiter(first)
    except FileError:
        return []
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            if row and any(c.strip() for c in row):
                rows.append(row)
            if len(rows) >= n:
                break
    except csv.Error:
        pass
    if rows:
        rows[0][0] = rows[0][0].lstrip("\ufeff")
    return rows


def _first_json_items(text: str) -> list[Any]:
    """The first objects of a JSON head (an array, an envelope, or JSON lines)."""
    body = text.lstrip("\ufeff \t\r\n")
    decoder = json.JSONDecoder()
    if body.startswith("["):
        pos = 1
        items: list[Any] = []
        while len(items) < 3:
            while pos < len(body) and body[pos] in " \t\r\n,":
                pos += 1
            try:
                item, pos = decoder.raw_decode(body, pos)
            except (json.JSONDecodeError, RecursionError):
                break  # core.ingest refuses such an item with its reason
            items.append(item)
        return items
    try:
        item, _ = decoder.raw_decode(body)
    except RecursionError:
        return []
    except json.JSONDecodeError:
        # An envelope cut off by the head: its items start after `"data": [`.
        m = re.match(r'\{\s*(?:"[^"]*"\s*:\s*[^\[{]*?,\s*)*"(data|responses)"\s*:\s*\[', body)
        if m is None:
            return []
        return [{"__envelope__": "asknicely" if '"question_type"' in body else "delighted"}]
    if isinstance(item, dict):
        for key in ("data", "responses"):
            if isinstance(item.get(key), list):
                return list(item[key][:3])
    return [item]


def detect(head: bytes, options: Options | None = None) -> Layout:
    """The layout of a file starting with `head` (--source wins; --map alone: custom)."""
    options = options or Options()
    if options.source:
        return BY_NAME[options.source]
    text = ingest.decode_bytes(head[:_HEAD_BYTES], complete=len(head) < _HEAD_BYTES)
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("[", "{"):
        found = _detect_json(_first_json_items(text))
    else:
        found = _detect_csv(_csv_head(text))
    if found is None:
        return CUSTOM if options.mapped else CXBOT
    return found


def _detect_csv(rows: list[list[str]]) -> Layout | None:
    if not rows:
        return None
    names = [n.strip() for n in rows[0]]
    keys = {field_key(n) for n in names}
    if (
        len(rows) >= 3
        and "responseid" in keys
        and any(c.strip().startswith('{"ImportId"') for c in rows[2])
    ):
        return QUALTRICS
    if {"respondentid", "collectorid"} <= keys:
        return SURVEYMONKEY
    if names[:1] == ["#"] and "submitdateutc" in keys:
        return TYPEFORM
    if {"responseid", "surveyid", "timestamp"} <= keys:
        return FORMBRICKS
    if {"responseid", "answer"} <= keys and {"questiontype", "responded"} & keys:
        return ASKNICELY_CSV
    if {"requestid", "responsereceivedat", "starrating"} <= keys:
        return MEDALLIA_AGENT_CONNECT
    table = ingest.response_header_map(names)
    if all(c in table for c in ingest.RESPONSE_REQUIRED):
        return CXBOT
    if field_key(names[0]) in _GOOGLE_TIMESTAMPS:
        return GOOGLE_FORMS
    return None


# Google Forms names its first column in the form owner's language.
_GOOGLE_TIMESTAMPS = {"timestamp", "tidsmerke", "tidsstempel", "tidsstämpel", "tidsstampel"}


def _detect_json(items: list[Any]) -> Layout | None:
    objects = [i for i in items if isinstance(i, dict)]
    if not objects:
        return None
    first = objects[0]
    if "__envelope__" in first:
        return BY_NAME[first["__envelope__"]]
    keys = {field_key(str(k)) for k in first}
    if "surveytype" in keys or ("person" in keys and "score" in keys):
        return DELIGHTED
    if "answer" in keys and ({"questiontype", "responded", "responseid"} & keys):
        return ASKNICELY
    return None


def _read_table(data: bytes, layout: Layout) -> _Table:
    text = ingest.decode_bytes(data, complete=True)
    if text.lstrip("\ufeff \t\r\n")[:1] in ("[", "{"):
        return _json_table(text)
    return _csv_table(text, layout)


def _csv_table(text: str, layout: Layout) -> _Table:
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ingest.sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for row in reader:
            if any(c.strip() for c in row):
                records.append((line, row))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise FileError(f"line {line}: {exc}") from None
    if not records:
        raise FileError("the file is empty")
    names = [n.strip() for n in records[0][1]]
    extra_rows = {QUALTRICS.name: 2, SURVEYMONKEY.name: 1}.get(layout.name, 0)
    extra = [r for _, r in records[1 : 1 + extra_rows]]
    if len(extra) < extra_rows:
        raise FileError(f"a {layout.tool} export has {extra_rows + 1} header rows")
    labels = list(names)
    if layout is QUALTRICS:
        labels = [t.strip() or n for n, t in zip(names, _pad(extra[0], len(names)), strict=True)]
    table = _Table("csv", names, labels, extra, records[1 + extra_rows :])
    if layout is SURVEYMONKEY:
        table = _surveymonkey_columns(table)
    return table


def _pad(row: Sequence[str], n: int) -> list[str]:
    return list(row[:n]) + [""] * (n - len(row))


def _json_table(text: str) -> _Table:
    items = _json_items(text)
    names: dict[str, None] = {}
    flat: list[tuple[int, dict[str, str]]] = []
    for line, item in items:
        values = _flatten(item) if isinstance(item, dict) else {"item": _text(item)}
        for k in values:
            names.setdefault(k, None)
        flat.append((line, values))
    order = list(names)
    rows = [(line, [values.get(k, "") for k in order]) for line, values in flat]
    return _Table("json", order, list(order), [], rows)


def _json_items(text: str) -> list[tuple[int, Any]]:
    """(line, item) of a JSON array, an envelope's list, one object, or JSON lines."""
    body = text.lstrip("\ufeff")
    decoder = json.JSONDecoder()
    try:
        whole = json.loads(body)
    except json.JSONDecodeError:
        whole = None
    except RecursionError:
        raise FileError("the JSON is nested too deeply to read") from None
    if whole is None:  # JSON lines or objects one after another
        out: list[tuple[int, Any]] = []
        pos = 0
        while True:
            while pos < len(body) and body[pos] in " \t\r\n":
                pos += 1
            if pos >= len(body):
                return out
            try:
                item, end = decoder.raw_decode(body, pos)
            except json.JSONDecodeError as exc:
                raise FileError(
                    f"line {body.count(chr(10), 0, exc.pos) + 1}: not valid JSON ({exc.msg})"
                ) from None
            out.append((body.count("\n", 0, pos) + 1, item))
            pos = end
    if isinstance(whole, dict):
        for key in ("data", "responses"):
            if isinstance(whole.get(key), list):
                return _positions(body, whole[key], key)
        return [(1, whole)]
    if isinstance(whole, list):
        return _positions(body, whole, None)
    raise FileError("the JSON is neither a list of answers nor an object holding one")


def _positions(body: str, items: list[Any], key: str | None) -> list[tuple[int, Any]]:
    """Each item with the line it starts on, found by decoding the array again in place."""
    start = 0
    if key is not None:
        m = re.search(rf'"{re.escape(key)}"\s*:\s*\[', body)
        start = m.end() if m else 0
    else:
        start = body.index("[") + 1
    decoder = json.JSONDecoder()
    out: list[tuple[int, Any]] = []
    pos, line, counted = start, 1, 0
    for item in items:
        while pos < len(body) and body[pos] in " \t\r\n,":
            pos += 1
        line += body.count("\n", counted, pos)
        counted = pos
        with suppress(json.JSONDecodeError):
            _, pos = decoder.raw_decode(body, pos)
        out.append((line, item))
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return "; ".join(_text(v) for v in value)
    return json.dumps(value, ensure_ascii=False)


def _flatten(item: Mapping[str, Any]) -> dict[str, str]:
    """An object's scalar fields, nested objects as `parent.child` (two levels)."""
    out: dict[str, str] = {}
    for key, value in item.items():
        if isinstance(value, dict):
            for sub, inner in value.items():
                if isinstance(inner, dict):
                    for k, v in inner.items():
                        out[f"{key}.{sub}.{k}"] = _text(v)
                else:
                    out[f"{key}.{sub}"] = _text(inner)
        else:
            out[str(key)] = _text(value)
    return out


def _surveymonkey_columns(table: _Table) -> _Table:
    """SurveyMonkey's question row names a question once over all its columns; the answer
    row names each column's option. A question whose options are all numbers (an NPS or
    rating question exported expanded) becomes one column holding the chosen number."""
    names = table.names
    options = _pad(table.extra[0], len(names))
    groups: list[tuple[str, list[int]]] = []
    for i, name in enumerate(names):
        if name:
            groups.append((name, [i]))
        elif groups:
            groups[-1][1].append(i)
        else:
            groups.append((f"column {i + 1}", [i]))
    new_names: list[str] = []
    sources: list[list[int]] = []
    for title, cols in groups:
        labels = [options[c].strip() for c in cols]
        numeric = len(cols) > 1 and all(re.fullmatch(r"\d{1,2}", label) for label in labels)
        if numeric:
            new_names.append(title)
            sources.append(cols)
            continue
        for c, label in zip(cols, labels, strict=True):
            if len(cols) == 1 or not label or label.lower() in ("response", "open-ended response"):
                new_names.append(title if len(cols) == 1 else f"{title} - {label or c + 1}")
            else:
                new_names.append(f"{title} - {label}")
            sources.append([c])

    def collapse(row: list[str]) -> list[str]:
        row = _pad(row, len(names))
        out = []
        for cols in sources:
            if len(cols) == 1:
                out.append(row[cols[0]])
            else:
                chosen = [options[c].strip() for c in cols if row[c].strip()]
                out.append(chosen[0] if len(chosen) == 1 else ";".join(chosen))
        return out

    rows = [(line, collapse(row)) for line, row in table.rows]
    return _Table(table.kind, new_names, list(new_names), table.extra, rows)


# --------------------------------------------------------------------------- the plan


@dataclass
class _Q:
    col: int
    metric: str | None  # fixed, or None when `metric_col` gives it per row
    metric_col: int | None = None
    comments: list[int] = field(default_factory=list)
    why: str = ""
    key: str = ""


@dataclass
class Plan:
    """What each column of a file becomes."""

    layout: Layout
    when: int | None = None
    when_zone: str | None = None  # "UTC", an IANA zone, or None: the workspace's
    when_note: str = ""  # how the layout writes its times, for the dry run
    date_order: str | None = None  # the layout's own, where it has one
    ids: int | None = None
    fields: dict[str, int] = field(default_factory=dict)
    # Where a row leaves a field empty, the first of these columns that has it.
    fallbacks: dict[str, list[int]] = field(default_factory=dict)
    questions: list[_Q] = field(default_factory=list)
    notes: dict[int, str] = field(default_factory=dict)  # column -> what it became
    # The comment column may hold a flag (Yes / No) rather than the text: not a comment.
    comment_flags: bool = False


# Columns a layout writes for its own bookkeeping: never a question or a comment.
_META = {
    QUALTRICS.name: {
        "startdate", "enddate", "status", "ipaddress", "progress", "durationinseconds",
        "finished", "recordeddate", "responseid", "recipientlastname", "recipientfirstname",
        "recipientemail", "externalreference", "externaldatareference", "locationlatitude",
        "locationlongitude", "distributionchannel", "userlanguage", "qrecaptchascore",
    },
    SURVEYMONKEY.name: {
        "respondentid", "collectorid", "startdate", "enddate", "ipaddress", "emailaddress",
        "firstname", "lastname", "customdata1",
    },
    TYPEFORM.name: {
        "#", "responsetype", "startdateutc", "stagedateutc", "submitdateutc", "networkid",
        "tags", "ending", "score",
    },
    FORMBRICKS.name: {
        "no", "responseid", "timestamp", "finished", "quotas", "surveyid",
        "formbricksidinternal", "userid", "tags", "verifiedemail", "url", "source", "action",
        "country", "useragentbrowser", "useragentos", "useragentdevice",
    },
    GOOGLE_FORMS.name: {"timestamp", "tidsmerke", "tidsstempel", "tidsstämpel", "score"},
}  # fmt: skip

# Other columns carrying an answer's fields, by normalised name (hidden fields, custom
# data, person attributes). The product's own aliases come first (core.ingest).
_EXTRA = {
    "customer_id": ("customerid", "kundeid", "kundid", "kundenummer", "accountid", "clientid"),
    "segment": ("segment", "plan", "tier", "customersegment", "kundesegment", "kundsegment"),
    "touchpoint": ("touchpoint", "kontaktpunkt", "channel", "kanal"),
    "employee": ("employee", "agent", "employeeemail", "agentemail", "ansatt", "medarbejder"),
}
# Where no customer id is given, the respondent's e-mail (or user id) identifies them.
_CUSTOMER_FALLBACK = (
    "externalreference", "externaldatareference", "userid", "emailaddress", "email",
    "recipientemail", "epostadresse", "epost", "mejladress",
)  # fmt: skip
_COMMENT_CUES = re.compile(
    r"\b(why|reason|comment|feedback|tell us|anything else|improve|better|explain|"
    r"hvorfor|begrunn\w*|kommentar\w*|fortell|forbedre|uddyb\w*|fortæl|"
    r"bedre|varför|motivera|berätta|förbättra|bättre)\b",
    re.IGNORECASE,
)


def _suffix_key(name: str) -> str:
    """A field name without the tool's decoration: `person.plan`, `properties.Plan`,
    `segment_c` (AskNicely custom fields) all become `plan` / `segment`."""
    name = re.sub(r"^(person|properties|person_properties|contact|hidden)\.", "", name)
    return field_key(re.sub(r"_c$", "", name))


def _plan(table: _Table, layout: Layout, options: Options) -> Plan:
    plan = Plan(layout)
    keys = [field_key(n) for n in table.names]
    meta = _META.get(layout.name, set())

    def find(*wanted: str) -> int | None:
        for w in wanted:
            if w in keys:
                return keys.index(w)
        return None

    if layout is QUALTRICS:
        plan.when = find("recordeddate", "enddate", "startdate")
        plan.ids = find("responseid")
        if plan.when is not None:
            plan.when_zone = _qualtrics_zone(table, plan.when)
    elif layout is SURVEYMONKEY:
        plan.when = find("enddate", "startdate")
        plan.ids = find("respondentid")
    elif layout is TYPEFORM:
        plan.when = find("submitdateutc")
        plan.when_zone = "UTC"
        plan.ids = table.names.index("#") if "#" in table.names else None
    elif layout is GOOGLE_FORMS:
        plan.when = 0
    elif layout is FORMBRICKS:
        plan.when = find("timestamp")
        plan.ids = find("responseid")
        plan.when_note = "each value carries its zone (UTC, GMT+8)"
    elif layout is DELIGHTED:
        plan.when = find("createdat")
        plan.when_zone = "UTC"
        plan.when_note = "epoch seconds or milliseconds"
        plan.ids = find("id")
    elif layout in (ASKNICELY, ASKNICELY_CSV):
        plan.when = find("responded", "sent", "created")
        plan.when_zone = "UTC"
        plan.when_note = "epoch seconds"
        plan.ids = find("responseid")
    elif layout is MEDALLIA_AGENT_CONNECT:
        plan.when = find("responsereceivedat")
        plan.when_zone = "UTC"
        plan.when_note = "UTC timestamps, per the export's docs"
        plan.ids = find("requestid")
        _plan_agent_connect(plan, keys)
    elif layout in (CXBOT, CUSTOM):
        own = ingest.response_header_map(table.names)
        plan.when = own.get("responded_at")
        plan.ids = own.get("response_id")
        plan.date_order = DAYFIRST  # the product's own 20.11.2026
        for name in ("customer_id", "segment", "touchpoint", "employee"):
            if name in own:
                plan.fields[name] = own[name]
        if "score" in own:
            metric_col = own.get("metric")
            comments = [own["comment"]] if "comment" in own else []
            plan.questions.append(_Q(own["score"], None, metric_col, comments, "score column"))

    taken = {c for c in (plan.when, plan.ids) if c is not None}
    if layout in (DELIGHTED, ASKNICELY, ASKNICELY_CSV):
        _plan_api(plan, table, keys)
    # The answer's other fields, by name: the product's aliases, then the tools' words.
    own_names = ingest.response_header_map(table.names)
    for name in ("customer_id", "segment", "touchpoint", "employee"):
        if name in plan.fields:
            continue
        pos = own_names.get(name)
        if pos is None or pos in taken:
            pos = next(
                (
                    i
                    for i, n in enumerate(table.names)
                    if _suffix_key(n) in _EXTRA[name] and i not in taken
                ),
                None,
            )
        if pos is not None:
            plan.fields[name] = pos
    if "customer_id" not in plan.fields:
        for wanted in _CUSTOMER_FALLBACK:
            pos = next((i for i, n in enumerate(table.names) if _suffix_key(n) == wanted), None)
            if pos is not None:
                plan.fields["customer_id"] = pos
                break
    taken |= set(plan.fields.values())
    for q in plan.questions:
        taken |= {q.col, *q.comments, *([q.metric_col] if q.metric_col is not None else [])}

    if layout not in _OWN_QUESTIONS:
        _plan_questions(plan, table, keys, meta, taken)
    _apply_options(plan, table, options)
    _check_plan(plan, table)
    return plan


def _plan_agent_connect(plan: Plan, keys: list[str]) -> None:
    """Medallia Agent Connect: the 1-5 star rating is the scored question (CSAT), with
    `comments`; the respondent's e-mail (`request_sent_to`) identifies the customer."""
    if "starrating" in keys:
        comments = [keys.index("comments")] if "comments" in keys else []
        why = "csat (star_rating: the 1-5 star response, per the export's docs)"
        plan.questions.append(_Q(keys.index("starrating"), "csat", None, comments, why))
        plan.comment_flags = True
    if "requestsentto" in keys:
        plan.fields["customer_id"] = keys.index("requestsentto")


def _qualtrics_zone(table: _Table, col: int) -> str | None:
    cell = _pad(table.extra[1], len(table.names))[col].strip()
    try:
        spec = json.loads(cell)
    except json.JSONDecodeError:
        return None
    zone = spec.get("timeZone") if isinstance(spec, dict) else None
    if zone:
        try:
            _zone(str(zone), "the export's timeZone")
        except ValueError as exc:
            raise FileError(f"line 3: {exc}") from None
        return str(zone)
    return None


def _plan_api(plan: Plan, table: _Table, keys: list[str]) -> None:
    """Delighted and AskNicely: one answer per object, its metric in a field of its own."""

    def at(*wanted: str) -> int | None:
        return next((keys.index(w) for w in wanted if w in keys), None)

    if plan.layout is DELIGHTED:
        score, metric, comment = at("score"), at("surveytype"), at("comment")
        person = [at("personemail"), at("personid"), at("person")]
    else:
        score, metric, comment = at("answer"), at("questiontype"), at("comment")
        person = [at("email"), at("personid"), at("contactid")]
    if score is not None:
        plan.questions.append(
            _Q(score, None if metric is not None else "nps", metric, [comment] if comment else [])
        )
    custom = next(
        (
            i
            for i, n in enumerate(table.names)
            if _suffix_key(n) in _EXTRA["customer_id"] and not n.startswith("person.id")
        ),
        None,
    )
    found = [p for p in [custom, *person] if p is not None]
    if found:
        plan.fields["customer_id"] = found[0]
        plan.fallbacks["customer_id"] = found[1:]


# Layouts whose questions come from the layout itself, not from the columns' wording.
_OWN_QUESTIONS = (CXBOT, CUSTOM, DELIGHTED, ASKNICELY, ASKNICELY_CSV, MEDALLIA_AGENT_CONNECT)
_FLAG = re.compile(r"(?i)(yes|no|true|false|ja|nei|nej|[01])")


def _score_text(value: str) -> str:
    """A score as written: `9`, or the number of a labelled option (`10 - Extremely likely`)."""
    value = value.strip()
    m = _LABELLED.fullmatch(value)
    return m.group(1) if m else value


_LABELLED = re.compile(r"(\d{1,2})(?:\s*[-–:=(]\s*\D.*)?", re.DOTALL)
_QUESTION_NUMBER = re.compile(r"^\s*(?:q?\d+[.):]\s*)")


def _plan_questions(
    plan: Plan, table: _Table, keys: list[str], meta: set[str], taken: set[int]
) -> None:
    """Which columns are scored questions (their metric from the layout, or from their
    wording with the scale seen), which are the comments that go with them."""
    nps_groups = set()
    if plan.layout is QUALTRICS:
        for n in table.names:
            m = re.fullmatch(r"(.+)_NPS_GROUP", n)
            if m:
                nps_groups.add(m.group(1))
    texts: list[int] = []
    for i, name in enumerate(table.names):
        if i in taken or keys[i] in meta or not name:
            continue
        if plan.layout is QUALTRICS and (name.endswith("_NPS_GROUP") or "_DO" in name):
            plan.notes[i] = "ignored (Qualtrics bookkeeping)"
            continue
        if plan.layout is FORMBRICKS and name.endswith(" - Option ID"):
            plan.notes[i] = "ignored (option ids)"
            continue
        values = [v.strip() for v in table.column(i) if v.strip()]
        scores = [_score_text(v) for v in values]
        whole = [int(s) for s in scores if s.isdigit()]
        label = _QUESTION_NUMBER.sub("", table.labels[i])
        if values and len(whole) == len(values):
            low, high = min(whole), max(whole)
            if plan.layout is QUALTRICS and name in nps_groups:
                metric: str | None = "nps"
                why = f"nps ({name}_NPS_GROUP beside it)"
            else:
                metric = metric_from_text(label) or metric_from_name(name)
                why = f"{metric} (its wording; {low}-{high} seen)" if metric else ""
                if metric is None:
                    metric = _scale_metric(label, low, high)
                    why = f"{metric} (scale {low}-{high} with its wording)" if metric else ""
            if metric is None:
                plan.notes[i] = (
                    f"ignored (numbers {low}-{high}, but its wording names no metric: "
                    "use --map score=COLUMN,metric=...)"
                )
                continue
            plan.questions.append(_Q(i, metric, None, [], why))
        elif values or _COMMENT_CUES.search(label):
            long = bool(values) and sum(map(len, values)) / len(values) >= 15
            if _COMMENT_CUES.search(label) or long:
                texts.append(i)
            else:
                plan.notes[i] = "ignored (not a score nor a comment)"
        else:
            plan.notes[i] = "ignored (empty)"
    # A comment belongs to the question before it (the reason for that score); comments
    # before any question go with the first.
    for t in texts:
        before = [q for q in plan.questions if q.col < t]
        target = before[-1] if before else (plan.questions[0] if plan.questions else None)
        if target is None:
            plan.notes[t] = "ignored (a comment, but the file has no scored question)"
        else:
            target.comments.append(t)


def _scale_metric(label: str, low: int, high: int) -> str | None:
    """Wording that names a rating but not which one: the scale seen decides."""
    if not re.search(r"\b(rate|rating|score|vurder\w*|betyg\w*|karakter)\b", label, re.I):
        return None
    if low >= 0 and high > 7:
        return "nps"
    if low >= 1 and high in (6, 7):
        return "ces"
    if low >= 1 and high <= 5:
        return "csat"
    return None


def _match(table: _Table, wanted: str, what: str) -> int:
    """The column --map names: exactly (any case), else the one whose name starts so
    (`How likely...` for a long question)."""
    probe = wanted.strip().rstrip(".…").strip().lower()
    exact = [i for i, n in enumerate(table.names) if n.strip().lower() == wanted.strip().lower()]
    exact += [
        i
        for i, n in enumerate(table.labels)
        if n.strip().lower() == wanted.strip().lower() and i not in exact
    ]
    if len(exact) == 1:
        return exact[0]
    starts = [
        i
        for i, (n, label) in enumerate(zip(table.names, table.labels, strict=True))
        if n.lower().startswith(probe) or label.lower().startswith(probe)
    ]
    if len(starts) == 1:
        return starts[0]
    if not starts:
        shown = ", ".join(repr(n) for n in table.names[:20])
        raise FileError(f"--map {what}={wanted!r}: no such column (columns: {shown})")
    shown = ", ".join(repr(table.names[i]) for i in starts[:5])
    raise FileError(f"--map {what}={wanted!r} matches several columns ({shown}): be more exact")


def _apply_options(plan: Plan, table: _Table, options: Options) -> None:
    for name, wanted in options.fields:
        pos = _match(table, wanted, name)
        if name == "responded_at":
            plan.when = pos
        elif name == "response_id":
            plan.ids = pos
        else:
            plan.fields[name] = pos
    if options.questions:
        mapped: list[_Q] = []
        for q in options.questions:
            col = _match(table, q.score, "score")
            comments = [_match(table, q.comment, "comment")] if q.comment else []
            metric, metric_col = q.metric, None
            if metric is None:
                found = next((x for x in plan.questions if x.col == col), None)
                if found is not None:
                    metric, metric_col = found.metric, found.metric_col
                    comments = comments or found.comments
                else:
                    label = table.labels[col]
                    metric = metric_from_text(label) or metric_from_name(table.names[col])
                    if metric is None:
                        raise FileError(
                            f"--map score={q.score!r}: which metric? add metric=nps, csat or ces"
                        )
            mapped.append(_Q(col, metric, metric_col, comments, f"{metric} (--map)"))
        # A question --map names replaces what the header suggested about that column;
        # the others stay unless --map named every question (then only those count).
        plan.questions = mapped
    if options.date_order:
        plan.date_order = options.date_order


def _check_plan(plan: Plan, table: _Table) -> None:
    if plan.when is None:
        raise FileError(
            f"line 1: no column says when each answer was given ({plan.layout.tool}): "
            "name it with --map responded_at=COLUMN"
        )
    if not plan.questions:
        raise FileError(
            "line 1: no column holds a score cxbot can tell the metric of: name it with "
            '--map score="COLUMN",metric=nps (or csat, ces)'
        )
    metrics = [q.metric or "" for q in plan.questions]
    for q in plan.questions:
        q.key = q.metric if q.metric and metrics.count(q.metric) == 1 else f"q{q.col + 1}"


# --------------------------------------------------------------------------- dates


_ISO = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[ T](\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?\s*"
    r"(Z|[+-]\d{2}(?::?\d{2})?|UTC|GMT(?:[+-]\d{1,2}(?::\d{2})?)?)?",
    re.IGNORECASE,
)
_DMY = re.compile(
    r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?"
)
_EPOCH = re.compile(r"\d{9,14}(?:\.\d+)?")


def _offset(marker: str) -> str:
    """`Z`, `+01`, `UTC`, `GMT+8`, `GMT+5:30` as an ISO offset."""
    marker = marker.upper()
    if marker in ("Z", "UTC", "GMT"):
        return "+00:00"
    if marker.startswith("GMT"):
        marker = marker[3:]
    sign, rest = marker[0], marker[1:]
    hours, _, minutes = rest.partition(":")
    if len(hours) == 4 and not minutes:
        hours, minutes = hours[:2], hours[2:]
    return f"{sign}{int(hours):02d}:{int(minutes or 0):02d}"


def moments(
    values: Sequence[str],
    *,
    zone: str | None,
    order: str | None,
    column: str = "responded_at",
) -> list[str]:
    """Timestamps as ISO 8601 the product reads: with an offset where the value, or `zone`,
    says which; naive (the workspace's time zone) otherwise.

    Epoch seconds and milliseconds are UTC. Day/month order of 05/11/2026-style dates is
    decided over the whole column: a day above 12 in either place decides; `order`
    (dayfirst / monthfirst) is used where the data does not decide and must not
    contradict it. A column that stays ambiguous raises FileError with the choice.
    """
    tz = ZoneInfo(zone) if zone else None
    out: list[str] = []
    pending: list[tuple[int, re.Match[str]]] = []
    for v in values:
        v = v.strip()
        if not v:
            out.append("")
            continue
        if _EPOCH.fullmatch(v):
            number = float(v)
            seconds = number / 1000 if len(v.split(".")[0]) >= 12 else number
            try:
                out.append(datetime.fromtimestamp(seconds, UTC).isoformat())
            except (OverflowError, OSError, ValueError):
                out.append(v)
            continue
        m = _ISO.fullmatch(v)
        if m:
            day, time, marker = m.groups()
            naive = f"{day}T{time}" if time else day
            if marker:
                out.append(f"{naive}{'' if time else 'T00:00'}{_offset(marker)}")
            else:
                out.append(_localise(naive, tz))
            continue
        m = _DMY.fullmatch(v)
        if m and min(int(m.group(1)), int(m.group(2))) <= 12:
            pending.append((len(out), m))
            out.append(v)
            continue
        out.append(v)  # left for core.ingest to refuse with its reason
    if not pending:
        return out
    first_big = next((m.group(0) for _, m in pending if int(m.group(1)) > 12), None)
    second_big = next((m.group(0) for _, m in pending if int(m.group(2)) > 12), None)
    if first_big and second_big:
        raise FileError(
            f"{column}: the dates mix day-first ({first_big}) and month-first "
            f"({second_big}): one column has one order; correct the file"
        )
    decided = DAYFIRST if first_big else MONTHFIRST if second_big else None
    if decided and order and decided != order:
        example = first_big or second_big
        raise FileError(
            f"{column}: {example} can only be {decided.replace('first', '-first')}, "
            f"but --{order} was given"
        )
    chosen = decided or order
    if chosen is None:
        example = next(
            (m.group(0) for _, m in pending if m.group(1) != m.group(2)), pending[0][1].group(0)
        )
        if all(m.group(1) == m.group(2) for _, m in pending):
            chosen = DAYFIRST  # 05/05/2026 reads the same either way
        else:
            raise FileError(
                f"{column}: dates like {example} could be day-first or month-first, and no "
                "day above 12 decides it: run again with --dayfirst or --monthfirst"
            )
    for at, m in pending:
        d1, d2, year, hour, minute, second, ampm = m.groups()
        day, month = (d1, d2) if chosen == DAYFIRST else (d2, d1)
        try:
            h = int(hour or 0)
            if ampm:
                h = h % 12 + (12 if ampm.lower() == "pm" else 0)
            moment = datetime(
                int(year), int(month), int(day), h, int(minute or 0), int(second or 0)
            )
        except ValueError:
            out[at] = f"{m.group(0)} (not a {chosen.replace('first', '-first')} date)"
            continue
        naive = moment.isoformat() if hour else moment.date().isoformat()
        out[at] = _localise(naive, tz)
    return out


def _localise(naive: str, tz: ZoneInfo | None) -> str:
    if tz is None:
        return naive
    try:
        moment = datetime.fromisoformat(naive)
    except ValueError:
        return naive
    return moment.replace(tzinfo=tz).isoformat()


# --------------------------------------------------------------------------- answers


def _answers(
    table: _Table, plan: Plan, options: Options
) -> Iterator[tuple[int, dict[str, str], dict[str, str], str | None]]:
    """(line, answer in the product's columns, row as read, reason) per answer, or with
    an empty answer and a reason for a row that gives none."""
    zone = options.timezone or plan.when_zone
    when = moments(
        table.column(plan.when) if plan.when is not None else [""] * len(table.rows),
        zone=zone,
        order=options.date_order or plan.date_order,
        column=table.names[plan.when] if plan.when is not None else "responded_at",
    )
    names = [n or f"column {i + 1}" for i, n in enumerate(table.names)]
    for (line, row), moment in zip(table.rows, when, strict=True):
        row = _pad(row, len(names))
        raw = dict(zip(names, row, strict=True))
        base = {name: row[pos] for name, pos in plan.fields.items()}
        for name, cols in plan.fallbacks.items():
            if not base.get(name, "").strip():
                base[name] = next((row[c] for c in cols if row[c].strip()), "")
        rid = row[plan.ids].strip() if plan.ids is not None else ""
        given = [q for q in plan.questions if row[q.col].strip()]
        if not given:
            shown = ", ".join(repr(_short(names[q.col])) for q in plan.questions)
            yield line, {}, raw, f"the row answers none of the scored questions ({shown})"
            continue
        for n, q in enumerate(given):
            metric = q.metric or ""
            if q.metric_col is not None:
                metric = row[q.metric_col].strip()
                metric = METRIC_NAMES.get(metric.lower(), metric)
            answer = {
                **base,
                "responded_at": moment,
                "metric": metric,
                "score": _score_text(row[q.col]),
                "comment": "\n".join(
                    row[c]
                    for c in q.comments
                    if row[c].strip()
                    and not (plan.comment_flags and _FLAG.fullmatch(row[c].strip()))
                ),
            }
            if rid:
                # The tool's own id for the first answer (as the webhooks store it, so
                # the export and the webhook meet as duplicates), with the question after.
                answer["response_id"] = rid if n == 0 else f"{rid}:{q.key}"
            yield line, answer, raw, None


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _read_all(source: Path | IO[bytes]) -> bytes:
    if isinstance(source, str | Path):
        try:
            return Path(source).read_bytes()
        except OSError as exc:
            raise FileError(f"cannot read {source}: {exc.strerror or exc}") from None
    return source.read()


def _head(source: Path | IO[bytes]) -> bytes:
    if isinstance(source, str | Path):
        with open(source, "rb") as handle:
            return handle.read(_HEAD_BYTES)
    head = source.read(_HEAD_BYTES)
    source.seek(0)
    return head


def _fast(layout: Layout, options: Options) -> bool:
    """Whether the product's own reader takes the file as it is."""
    return layout is CXBOT and not options.mapped and not options.timezone


def read_answers(
    source: Path | IO[bytes],
    tz: ZoneInfo,
    chunk_rows: int = 50_000,
    *,
    now: datetime | None = None,
    options: Options | None = None,
) -> Iterator[tuple[pd.DataFrame, list[Rejected]]]:
    """Survey answers from any known layout, chunk by chunk, as `core.ingest.read_responses`
    gives them (the product's own format is read by it unchanged)."""
    options = options or Options()
    layout = detect(_head(source), options)
    if _fast(layout, options):
        yield from ingest.read_responses(source, tz, chunk_rows, now=now)
        return
    _, items = _prepare(_read_all(source), layout, options)
    yield from _checked(items, tz, chunk_rows, now)


def _prepare(
    data: bytes, layout: Layout, options: Options
) -> tuple[Plan, list[tuple[int, dict[str, str], dict[str, str], str | None]]]:
    if not data.strip():
        raise FileError("the file is empty")
    table = _read_table(data, layout)
    plan = _plan(table, layout, options)
    return plan, list(_answers(table, plan, options))


def _checked(
    items: Sequence[tuple[int, dict[str, str], dict[str, str], str | None]],
    tz: ZoneInfo,
    chunk_rows: int,
    now: datetime | None,
) -> Iterator[tuple[pd.DataFrame, list[Rejected]]]:
    for start in range(0, max(len(items), 1), chunk_rows):
        part = items[start : start + chunk_rows]
        refused = [Rejected(line, reason, raw) for line, _, raw, reason in part if reason]
        rows = [(line, answer, raw) for line, answer, raw, reason in part if not reason]
        frame, rejected = ingest.check_answers(rows, tz, now=now)
        yield frame, sorted(rejected + refused, key=lambda r: r.line)


# --------------------------------------------------------------------------- dry run


def describe(
    source: Path | IO[bytes],
    tz: ZoneInfo,
    *,
    now: datetime | None = None,
    options: Options | None = None,
    first: int = 5,
) -> dict[str, Any]:
    """What an import would do, storing nothing: the layout, what each column became, the
    first answers as they would be stored, and the counts."""
    options = options or Options()
    data = _read_all(source)
    layout = detect(data[:_HEAD_BYTES], options)
    columns: list[dict[str, str]] = []
    if _fast(layout, options):
        text = ingest.decode_bytes(data[:_HEAD_BYTES], complete=len(data) <= _HEAD_BYTES)
        if text.lstrip("\ufeff \t\r\n")[:1] in ("[", "{"):
            names = sorted(
                {str(k) for i in _first_json_items(text) if isinstance(i, dict) for k in i}
            )
        else:
            head = _csv_head(text, 1)
            names = head[0] if head else []
        own = ingest.response_header_map(names)
        by_pos = {pos: name for name, pos in own.items()}
        columns = [
            {"column": n, "becomes": by_pos.get(i, "ignored (not a column cxbot uses)")}
            for i, n in enumerate(names)
        ]
        chunks = ingest.read_responses(io.BytesIO(data), tz, now=now)
    else:
        plan, items = _prepare(data, layout, options)
        table_names = _plan_names(data, layout, options)
        columns = _column_notes(plan, table_names, options)
        chunks = _checked(items, tz, 50_000, now)
    frames: list[pd.DataFrame] = []
    answers = rejected = 0
    reasons: list[dict[str, Any]] = []
    for frame, refused in chunks:
        answers += len(frame)
        rejected += len(refused)
        if sum(map(len, frames)) < first:
            frames.append(frame.head(first))
        reasons.extend(
            {"line": r.line, "reason": r.reason} for r in refused[: first - len(reasons)]
        )
    shown = pd.concat(frames).head(first) if frames else pd.DataFrame()
    rows = [
        {
            "responded_at": pd.Timestamp(r["responded_at"]).isoformat(),
            "local_day": str(r["local_day"]),
            "metric": r["metric"],
            "score": int(r["score"]),
            "customer_id": r["customer_id"],
            "segment": r["segment"],
            "touchpoint": r["touchpoint"],
            "comment": r["comment"],
            "response_id": r["response_key"],
        }
        for r in shown.to_dict("records")
    ]
    return {
        "layout": layout.name,
        "tool": layout.tool,
        "source": layout.source,
        "columns": columns,
        "rows": rows,
        "answers": answers,
        "rejected": rejected,
        "first_rejected": reasons,
        "stored": False,
    }


def _plan_names(data: bytes, layout: Layout, options: Options) -> list[str]:
    return _read_table(data, layout).names


def _column_notes(plan: Plan, names: list[str], options: Options) -> list[dict[str, str]]:
    zone = options.timezone or plan.when_zone
    notes: dict[int, str] = dict(plan.notes)
    if plan.when is not None:
        order = options.date_order or plan.date_order
        how = f"time zone {zone}" if zone else "the workspace's time zone"
        if options.timezone:
            how += " (--timezone)"
        if plan.when_note:
            how = f"{plan.when_note}; else {how}"
        notes[plan.when] = f"responded_at ({how}{', ' + order if order else ''})"
    if plan.ids is not None:
        notes[plan.ids] = "response_id"
    for name, pos in plan.fields.items():
        notes[pos] = name
    for q in plan.questions:
        metric = (
            f"metric from column {names[q.metric_col]!r}" if q.metric_col is not None else q.why
        )
        notes[q.col] = f"score ({metric})"
        if q.metric_col is not None:
            notes[q.metric_col] = "metric"
        for c in q.comments:
            notes[c] = f"comment of {_short(names[q.col])!r}"
    return [
        {"column": n or f"column {i + 1}", "becomes": notes.get(i, "ignored")}
        for i, n in enumerate(names)
    ]


def formats() -> list[dict[str, str]]:
    """The layouts `--source` takes: name, tool, what it reads, where it was found."""
    return [{"name": x.name, "tool": x.tool, "reads": x.reads, "source": x.source} for x in LAYOUTS]


__all__ = [
    "LAYOUTS",
    "Layout",
    "Options",
    "Plan",
    "Question",
    "describe",
    "detect",
    "formats",
    "moments",
    "options_from",
    "parse_map",
    "read_answers",
]
