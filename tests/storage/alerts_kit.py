"""Answers stored without raising their alerts, so alert tests raise them at a moment they
choose (`storage.alerts.raise_for_batch(..., now=...)`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy.engine import Engine

from storage import rollup
from storage.models import Response

# (day, metric, score) or (day, metric, score, segment, touchpoint[, customer_id])
Answer = tuple[Any, ...]


def store_answers(
    engine: Engine, team_id: str, answers: Iterable[Answer], *, key_prefix: str = ""
) -> str:
    """Insert answers (answered at noon UTC of their day) as one batch; returns the batch id."""
    batch = uuid.uuid4().hex
    rows = []
    for i, answer in enumerate(answers):
        day = answer[0]
        rows.append(
            {
                "team_id": team_id,
                "response_key": f"id:{key_prefix}{batch}:{i}",
                "responded_at": datetime.combine(day, time(12), tzinfo=UTC),
                "local_day": day,
                "metric": answer[1],
                "score": answer[2],
                "segment": answer[3] if len(answer) > 3 else None,
                "touchpoint": answer[4] if len(answer) > 4 else None,
                "customer_id": answer[5] if len(answer) > 5 else None,
                "source": "import",
                "batch_id": batch,
                "created_at": datetime.now(UTC),
            }
        )
    with engine.begin() as conn:
        if rows:
            conn.execute(Response.__table__.insert(), rows)  # type: ignore[attr-defined]
        rollup.add_batch(conn, team_id=team_id, batch_id=batch)
    return batch
