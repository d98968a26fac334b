"""A bot process for tests/storage/test_anonymity.py: answers an anonymous round through
the storage calls the Slack handlers make, closes it, and then stays alive with its
engine (and pooled connections) open until the test kills it with SIGKILL.

    python -m tests.storage.anonymity_child DATABASE_URL ORDER.json

Prints `KEY <hex>` once the round is open (an attacker who read the database while the
round was open has it), then `CLOSED <round id>`.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from core.surveys import parse_definition
from storage import surveys as store
from storage.db import make_engine

TEAM = "T0ANON"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DEFINITION = parse_definition(
    {
        "name": "Anonymous pulse",
        "audience": "C0ANON001",
        "anonymous": True,
        "questions": [
            {"id": "enps", "type": "nps", "text": "Recommend working here?"},
            {"id": "reason", "type": "text", "text": "Why?", "optional": True},
        ],
        "close_after_hours": 72,
    }
)


def _payload(round_id: int, locale: str) -> dict[str, Any]:
    return {"text": f"pulse {round_id}", "blocks": []}


def run(url: str, answers: list[dict[str, Any]], *, close: bool = True) -> None:
    """Open a round for the people in `answers`, answer in that order (a first score, then
    the real one: an answer change), and close it."""
    engine = make_engine(url)
    sid = store.create_survey(
        engine, team_id=TEAM, definition=DEFINITION, created_by="U0ANONADM", now=NOW
    )
    survey = store.get_survey(engine, team_id=TEAM, survey_id=sid)
    assert survey is not None
    people = sorted(a["user"] for a in answers)
    opened = store.open_round(
        engine,
        team_id=TEAM,
        survey=survey,
        members=[store.Member(u) for u in people],
        now=NOW,
        payload_for=_payload,
    )
    assert opened is not None
    round_id = opened.round.id
    with engine.connect() as conn:
        key = conn.execute(
            text("SELECT key FROM surveyroundkey WHERE round_id = :r"), {"r": round_id}
        ).scalar_one()
    print(f"KEY {bytes(key).hex()}", flush=True)
    for i, a in enumerate(answers):
        at = NOW + timedelta(minutes=5 * (i + 1))
        kw: dict[str, Any] = {"team_id": TEAM, "round_id": round_id, "user_id": a["user"]}
        store.record_answer(engine, question_id="enps", score=(a["score"] + 5) % 11, now=at, **kw)
        store.record_answer(engine, question_id="reason", value=a["reason"], now=at, **kw)
        store.record_answer(engine, question_id="enps", score=a["score"], now=at, **kw)
    if close:
        store.close_round(
            engine,
            team_id=TEAM,
            round_id=round_id,
            now=NOW + timedelta(hours=72),
            results_channel="C0ANONRES",
        )
        print(f"CLOSED {round_id}", flush=True)
    else:
        print(f"OPEN {round_id}", flush=True)


def main() -> None:
    url, order_file = sys.argv[1], sys.argv[2]
    with open(order_file) as f:
        spec = json.load(f)
    run(url, spec["answers"], close=spec.get("close", True))
    while True:  # alive, engine open, until SIGKILL
        time.sleep(60)


if __name__ == "__main__":
    main()
