"""Answers arriving from outside the product, stored one way: `cxbot import responses`,
the webhooks (`/webhooks/responses` and the survey tools' own) and a customer-facing
pulse round's answers.

One batch per call and one transaction (storage.responses.insert_responses): answers the
workspace already has are counted as duplicates, detractor alerts and praise are queued
with the answers. Answers given as objects are checked by core.ingest in the workspace's
time zone. The ids of the new answers are read back only for a caller that hands them
on (the bot sends the queued alerts and praise at once for them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from core.ingest import Rejected, validate_response_objects
from core.workspace_settings import WorkspaceSettings
from storage.responses import batch_response_ids, insert_responses
from storage.settings_store import load


@dataclass(frozen=True)
class Stored:
    """What storing one batch of answers did."""

    inserted: int
    duplicates: int
    # The new answers' ids, oldest first; empty unless asked for (an import's batch is
    # large, and nothing reads them).
    ids: list[int] = field(default_factory=list)


def store_answers(
    engine: Engine,
    *,
    team_id: str,
    frame: pd.DataFrame,
    source: str = "import",
    settings: WorkspaceSettings | None = None,
    with_ids: bool = False,
) -> Stored:
    """Store checked answers (a frame of core.ingest.RESPONSE_COLUMNS) as one batch.

    `settings`: the workspace's stored settings when the caller has read them already.
    `with_ids`: also give the ids of the answers this call inserted.
    """
    result = insert_responses(
        engine, team_id=team_id, frame=frame, source=source, settings=settings
    )
    ids: list[int] = []
    if with_ids and result.inserted:
        # A few answers' insert returns their ids; a larger batch is read back.
        if result.ids is not None:
            ids = list(result.ids)
        else:
            ids = batch_response_ids(
                engine, team_id=team_id, batch_id=result.batch_id, after_id=result.after_id
            )
    return Stored(result.inserted, result.duplicates, ids)


def store_answer_objects(
    engine: Engine,
    *,
    team_id: str,
    objects: list[dict[str, Any]],
    default_timezone: str,
    now: datetime,
    source: str,
) -> tuple[Stored, list[Rejected]]:
    """Answers given as objects (a webhook's body) checked and stored, with the new ids:
    (what was stored, the objects rejected, by their 1-based position in `objects`).

    A time without an offset is in the workspace's `timezone`, else `default_timezone`
    (CXBOT_TIMEZONE); `now` bounds how far ahead an answer may be dated.
    """
    # Read once: the time zone here, the alert and praise settings for the insert.
    settings = load(engine, team_id=team_id)
    tz = settings.zone(default_timezone)
    frame, rejected = validate_response_objects(objects, tz, now=now)
    if frame.empty:
        return Stored(0, 0), rejected
    stored = store_answers(
        engine, team_id=team_id, frame=frame, source=source, settings=settings, with_ids=True
    )
    return stored, rejected
