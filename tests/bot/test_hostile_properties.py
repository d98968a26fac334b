"""Properties of the two ways answers come in from outside, with arbitrary input beside
valid answers: the webhook (any JSON) and `cxbot import responses` (any CSV text). Never
a 500, never a traceback, and every valid answer stored."""

from __future__ import annotations

import csv
import io
import itertools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import Result

from bot.services import Services
from storage.db import make_engine
from storage.models import Response
from tests.bot.slackkit import SlackKit
from tests.bot.test_cli_import import cli  # noqa: F401 - the fixture

_ids = itertools.count()
# Every character, lone surrogates (category Cs) and NUL included.
ANY_TEXT = st.text(st.characters(blacklist_categories=()), max_size=12)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=8,
)
FIELDS = ["responded_at", "metric", "score", "comment", "segment", "response_id"]
# An item that looks like an answer, each field anything.
ANSWER_LIKE = st.fixed_dictionaries({}, optional={f: JSON_VALUES for f in FIELDS})


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: hundreds of in-process CLI runs would hold PostgreSQL connections
    (the PostgreSQL cases are in tests/bot/test_hostile_input.py)."""
    return sqlite_url


SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def valid_answer() -> dict[str, Any]:
    n = next(_ids)
    return {
        "responded_at": "2026-11-20T14:03:00+01:00",
        "metric": "nps",
        "score": n % 11,
        "comment": f"fine {n}",
        "response_id": f"valid-{n}",
    }


def stored(engine: Any, keys: list[str]) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Response.response_key).where(Response.response_key.in_(keys))  # type: ignore[attr-defined]
        ).scalars()
        return set(rows)


@SETTINGS
@given(
    junk=st.lists(JSON_VALUES | ANSWER_LIKE, max_size=5),
    valid=st.integers(min_value=0, max_value=3),
    order=st.randoms(use_true_random=False),
)
def test_webhook_never_fails_and_keeps_every_valid_answer(
    slack: SlackKit,
    services: Services,
    caplog: pytest.LogCaptureFixture,
    junk: list[Any],
    valid: int,
    order: Any,
) -> None:
    answers = [valid_answer() for _ in range(valid)]
    items = junk + answers
    order.shuffle(items)
    caplog.clear()
    r = slack.webhook(items)
    assert r.status in (202, 400), r.text
    assert not [rec for rec in caplog.records if rec.exc_info or rec.levelno >= logging.ERROR]
    keys = ["id:" + a["response_id"] for a in answers]
    assert stored(services.engine, keys) == set(keys)


CSV_JUNK = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=30
) | st.lists(st.sampled_from(['"', ",", "x", "2026-11-20", "nps", "9", " "]), max_size=8).map(
    "".join
)


def csv_line(values: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue()


@SETTINGS
@given(junk=st.lists(CSV_JUNK, max_size=5), valid=st.integers(min_value=0, max_value=3))
def test_csv_import_never_fails_and_keeps_every_valid_row(
    cli: Callable[..., Result],  # noqa: F811
    db_url: str,
    tmp_path: Path,
    junk: list[str],
    valid: int,
) -> None:
    answers = [valid_answer() for _ in range(valid)]
    lines = [csv_line([str(a[f]) for f in FIELDS[:4]] + ["", a["response_id"]]) for a in answers]
    body = [line + "\n" for line in junk]
    # Junk between the valid rows, where it can do the most harm.
    mixed = [x for pair in itertools.zip_longest(body, lines) for x in pair if x is not None]
    path = tmp_path / f"answers-{next(_ids)}.csv"
    path.write_text(",".join(FIELDS) + "\n" + "".join(mixed), encoding="utf-8")
    result = cli("import", "responses", str(path))
    # Every row rejected is bad input (CONTRACT.md: exit 1); otherwise the import succeeds.
    all_rejected = not answers and "rejected: 0" not in result.stdout
    assert result.exit_code == (1 if all_rejected else 0), result.output
    assert "Traceback" not in result.output
    engine = make_engine(db_url)
    try:
        keys = ["id:" + a["response_id"] for a in answers]
        assert stored(engine, keys) == set(keys), result.output
    finally:
        engine.dispose()
