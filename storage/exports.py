"""`cxbot export`: a team's records as CSV or JSON, streamed chunk by chunk.

Rows are read with `yield_per` (a server-side cursor on PostgreSQL), so a table of
millions of answers is written without ever being held in memory at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

from sqlalchemy import Select, and_, select
from sqlalchemy.engine import Connection, Engine

from core.csvsafe import SafeWriter
from core.text import redact
from storage.models import (
    Alert,
    Customer,
    Insight,
    Response,
    Shoutout,
    ShoutoutReceiver,
    Survey,
    SurveyAnswer,
    SurveyRound,
)

EXPORT_KINDS = ("responses", "customers", "insights", "shoutouts", "alerts", "surveys")
FORMATS = ("csv", "json")
CHUNK_ROWS = 2_000

_R = Response.__table__  # type: ignore[attr-defined]
_C = Customer.__table__  # type: ignore[attr-defined]
_I = Insight.__table__  # type: ignore[attr-defined]
_S = Shoutout.__table__  # type: ignore[attr-defined]
_SR = ShoutoutReceiver.__table__  # type: ignore[attr-defined]
_A = Alert.__table__  # type: ignore[attr-defined]
_SV = Survey.__table__  # type: ignore[attr-defined]
_RD = SurveyRound.__table__  # type: ignore[attr-defined]
_SA = SurveyAnswer.__table__  # type: ignore[attr-defined]


# Contact details: personal data, exported only when asked for (`--personal-data`).
PERSONAL = ("customer_email", "customer_name")
# What people wrote can hold addresses, phone numbers and ID numbers: masked like everywhere
# else unless `--personal-data` asks for the words as written.
FREE_TEXT = ("comment", "text", "value")


def _query(kind: str, team_id: str, personal_data: bool = False) -> Select[Any]:
    if kind == "responses":
        hidden = {"batch_id"} | (set() if personal_data else set(PERSONAL))
        cols = [c for c in _R.c if c.name not in hidden]  # batch ids mean nothing outside
        return select(*cols).where(_R.c.team_id == team_id).order_by(_R.c.id)
    if kind == "customers":
        cols = [c for c in _C.c if c.name not in ("id", "team_id")]
        return select(*cols).where(_C.c.team_id == team_id).order_by(_C.c.customer_id)
    if kind == "insights":
        return select(*_I.c).where(_I.c.team_id == team_id).order_by(_I.c.id)
    if kind == "shoutouts":
        return select(*_S.c).where(_S.c.team_id == team_id).order_by(_S.c.id)
    if kind == "alerts":
        # The answer that raised the alert, so the export reads on its own.
        answer = [
            _R.c.customer_id,
            _R.c.metric,
            _R.c.score,
            _R.c.segment,
            _R.c.touchpoint,
            _R.c.responded_at,
        ]
        if personal_data:
            answer += [c for c in _R.c if c.name in PERSONAL]
        return (
            select(*_A.c, *answer)
            .join(_R, and_(_R.c.id == _A.c.response_id, _R.c.team_id == team_id))
            .where(_A.c.team_id == team_id)
            .order_by(_A.c.id)
        )
    if kind == "surveys":
        # Survey answers carry no person: no slot, and no answer id either, whose
        # order could be matched against who was asked when. Sorted by content.
        return (
            select(
                _SV.c.id.label("survey_id"),
                _SV.c.name.label("survey"),
                _SV.c.anonymous,
                _RD.c.id.label("round_id"),
                _RD.c.opened_at.label("round_opened_at"),
                _RD.c.closed_at.label("round_closed_at"),
                _SA.c.question_id,
                _SA.c.score,
                _SA.c.value,
            )
            .join(_RD, and_(_RD.c.id == _SA.c.round_id, _RD.c.team_id == team_id))
            .join(_SV, and_(_SV.c.id == _RD.c.survey_id, _SV.c.team_id == team_id))
            .where(_SA.c.team_id == team_id)
            .order_by(_RD.c.id, _SA.c.question_id, _SA.c.score, _SA.c.value)
        )
    raise ValueError(f"export kind must be one of {', '.join(EXPORT_KINDS)}, not {kind!r}")


def columns(kind: str, personal_data: bool = False) -> list[str]:
    """The column names of an export, in order."""
    names = [c.name for c in _query(kind, "", personal_data).selected_columns]
    if kind == "shoutouts":
        names.insert(names.index("giver") + 1, "receivers")
    return names


def _receivers(conn: Connection, team_id: str, ids: list[int]) -> dict[int, list[str]]:
    query = (
        select(_SR.c.shoutout_id, _SR.c.user_id)
        .where(_SR.c.team_id == team_id, _SR.c.shoutout_id.in_(ids))
        .order_by(_SR.c.shoutout_id, _SR.c.user_id)
    )
    found: dict[int, list[str]] = {}
    for shoutout_id, user_id in conn.execute(query):
        found.setdefault(shoutout_id, []).append(user_id)
    return found


def iter_rows(
    engine: Engine,
    *,
    team_id: str,
    kind: str,
    chunk_rows: int = CHUNK_ROWS,
    personal_data: bool = False,
    mask: Callable[[str], str] = redact,
) -> Iterator[list[dict[str, Any]]]:
    """The team's records of `kind`, `chunk_rows` at a time, as dicts in `columns(kind)` order;
    free text passed through `mask` unless `personal_data`."""
    query = _query(kind, team_id, personal_data)
    names = columns(kind, personal_data)
    masked = [] if personal_data else [n for n in names if n in FREE_TEXT]
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=chunk_rows).execute(query)
        for chunk in result.partitions():
            rows = [dict(r._mapping) for r in chunk]
            if kind == "shoutouts":
                # A separate connection: the first one is busy streaming.
                with engine.connect() as side:
                    receivers = _receivers(side, team_id, [r["id"] for r in rows])
                for row in rows:
                    row["receivers"] = " ".join(receivers.get(row["id"], []))
            out = [{name: row[name] for name in names} for row in rows]
            for row in out:
                for name in masked:
                    if isinstance(row[name], str):
                        row[name] = mask(row[name])
            yield out


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(value)
    return str(_plain(value))


def write_export(
    engine: Engine,
    *,
    team_id: str,
    kind: str,
    fmt: str,
    out: TextIO,
    chunk_rows: int = CHUNK_ROWS,
    personal_data: bool = False,
    mask: Callable[[str], str] = redact,
) -> int:
    """Write the export to `out` as CSV (with a header) or a JSON array; returns rows written.
    `personal_data` adds the customers' e-mail addresses and names and keeps free text as
    written; without it free text goes through `mask`."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    names = columns(kind, personal_data)
    how: dict[str, Any] = {"chunk_rows": chunk_rows, "personal_data": personal_data, "mask": mask}
    written = 0
    if fmt == "csv":
        writer = SafeWriter(out, lineterminator="\n")
        writer.writerow(names)
        for chunk in iter_rows(engine, team_id=team_id, kind=kind, **how):
            writer.writerows([_cell(row[n]) for n in names] for row in chunk)
            written += len(chunk)
        return written
    out.write("[")
    for chunk in iter_rows(engine, team_id=team_id, kind=kind, **how):
        for row in chunk:
            out.write(",\n" if written else "\n")
            out.write(json.dumps({k: _plain(v) for k, v in row.items()}, ensure_ascii=False))
            written += 1
    out.write("\n]\n" if written else "]\n")
    return written
