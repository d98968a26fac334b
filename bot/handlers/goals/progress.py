"""Every goal's progress, computed from the stored answers: the one call the digest, the
App Home, `cxbot metrics` and `/cx goal` make. Imports no Slack and no SQLModel classes,
so the command line stays quick."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from core import goals, metrics
from core.periods import Period, last_complete
from storage import goals as stored
from storage import metrics_queries, settings_store

if TYPE_CHECKING:
    from bot.services import Services


def workspace_goals(
    services_or_engine: Services | Engine, team_id: str, tz: ZoneInfo, now: datetime
) -> list[goals.Progress]:
    """The workspace's goals with their progress at `now` (empty without goals)."""
    engine: Engine = services_or_engine.engine  # an Engine's `.engine` is itself
    found = stored.goals(engine, team_id=team_id)
    if not found:
        return []
    month, values = current_values(engine, team_id, tz, now)
    return [goals.progress(g, values[g.metric], month.label(), now) for g in found]


def current_values(
    engine: Engine, team_id: str, tz: ZoneInfo, now: datetime
) -> tuple[Period, dict[str, float | None]]:
    """NPS, CSAT, CES and CSI of the last complete month at `now`, as `cxbot metrics
    --period month` computes them (the same counts, summary and CSI weights)."""
    month = last_complete("month", now, tz)
    rows = metrics_queries.series_count_rows(engine, team_id=team_id, periods=[month])[month]
    weights = settings_store.load(engine, team_id=team_id).metrics_csi_weights
    return month, goals.values_of(metrics.summarize_rows(rows), weights)


def goals_json(progress_list: list[goals.Progress]) -> list[dict[str, Any]]:
    """The progress as JSON values (`cxbot metrics --format json`): times in ISO 8601, the
    time left in seconds."""
    out = []
    for p in progress_list:
        item = asdict(p)
        goal = item.pop("goal")
        for key in ("set_at", "deadline_at"):
            goal[key] = goal[key].isoformat()
        item["time_left"] = p.time_left.total_seconds()
        out.append({**goal, **item})
    return out
