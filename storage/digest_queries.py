"""What the digest reads besides the metrics report: counts by segment and touchpoint for the
period, the one before and the chart's twelve, the comments for the themes, insights,
shout-outs, pulse.

Everything heavy is counted in the database (`responsedaily` / `responsemonthly`); the
comments for the themes (`core.themes`) are read as a bounded, evenly spread sample with
their metric and score, so a week with a hundred thousand answers costs the same as one
with five thousand.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Engine

from core.digest import SERIES_PERIODS
from core.periods import Period, periods_back
from core.themes import Comment
from storage import metrics_queries
from storage.models import Insight, InsightVote, Response

_R = Response.__table__  # type: ignore[attr-defined]
_I = Insight.__table__  # type: ignore[attr-defined]
_IV = InsightVote.__table__  # type: ignore[attr-defined]

DRIVER_COLUMNS = ["segment", "touchpoint"]
# Comments read per period for the themes: plenty for the top themes. Both periods are
# capped alike, so when the cap binds the counts compare "per this many comments".
COMMENT_SAMPLE = 2000
INSIGHT_LIMIT = 500
INSIGHT_TEXT = 280  # characters kept of an insight's text (the view shortens further)
NO_RATE = None  # customer survey invitations are not recorded, so no response rate


@dataclass(frozen=True)
class DigestInputs:
    """Everything `core.digest.build_digest` needs from storage except the metrics report."""

    # The chart's periods and the one before the oldest; the period and the one before
    # it with segment and touchpoint columns, the older ones with metric, score, n only.
    counts: dict[Period, pd.DataFrame]
    comments_now: list[Comment]
    comments_before: list[Comment]
    insights: list[dict[str, Any]]
    shoutouts: dict[str, Any]
    pulse: list[dict[str, Any]]
    response_rate: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    # Commented answers each sampled comment stands for, now and before (1: all read).
    comment_scale: tuple[float, float] = (1.0, 1.0)


# --------------------------------------------------------------------------- answers


def answer_counts(
    engine: Engine, *, team_id: str, periods: Sequence[Period]
) -> dict[Period, pd.DataFrame]:
    """Answers per metric, score, segment and touchpoint for each period, in one query.

    Columns: metric, score, segment, touchpoint, n (unknown segment or touchpoint is '',
    as in the counts tables). Periods must not overlap; every one gets a frame, empty
    when it had no answers.
    """
    ordered = sorted(set(periods), key=lambda p: (p.start, p.end))
    for before, after in itertools.pairwise(ordered):
        if after.start <= before.end:
            raise ValueError(f"periods {before.label()} and {after.label()} overlap")
    columns = ["metric", "score", *DRIVER_COLUMNS, "n"]
    if not ordered:
        return {}
    # The counts tables' own reader: whole months from the monthly table, the rest daily.
    rows = metrics_queries._counts(
        engine, team_id, [(p.start, p.end) for p in ordered], DRIVER_COLUMNS
    )
    frame = pd.DataFrame([tuple(r[1:]) for r in rows], columns=columns)
    for name in ("score", "n"):
        frame[name] = frame[name].astype("int64")
    buckets = pd.Series([r[0] for r in rows], dtype="int64").to_numpy()
    return {p: frame[buckets == i].reset_index(drop=True) for i, p in enumerate(ordered)}


def chart_periods(period: Period) -> list[Period]:
    """The chart's periods ending with `period`, plus the one before the oldest (its change)."""
    shown = periods_back(period, SERIES_PERIODS)
    return [shown[0].previous(), *shown]


# --------------------------------------------------------------------------- comments


def period_comments(
    engine: Engine, *, team_id: str, period: Period, limit: int = COMMENT_SAMPLE
) -> list[str]:
    """Up to `limit` comments of answers given in `period`, spread over its days."""
    return [c.text for c in theme_comments(engine, team_id=team_id, period=period, limit=limit)[0]]


def theme_comments(
    engine: Engine, *, team_id: str, period: Period, limit: int = COMMENT_SAMPLE
) -> tuple[list[Comment], float]:
    """Up to `limit` commented answers of `period` (text, metric, score), spread over its
    days, and how many commented answers each stands for (1.0 when all were read).

    Each day gives at most its share of `limit`, read through the (team, day) index, so
    a year of millions of answers costs a few hundred short index reads instead of a
    scan; a quiet day's unused share is not handed on (the sample is then a little
    smaller than `limit`, never biased to the period's start). Only when a day had more
    than its share are the period's commented answers counted, for the scale.
    """
    if limit <= 0:
        return [], 1.0
    per_day = math.ceil(limit / period.days)
    has_comment = and_(_R.c.team_id == team_id, _R.c.comment.is_not(None), _R.c.comment != "")
    comments: list[Comment] = []
    capped = False
    with engine.connect() as conn:
        day = period.start
        while day <= period.end and len(comments) < limit:
            query = (
                select(_R.c.comment, _R.c.metric, _R.c.score)
                .where(has_comment, _R.c.local_day == day)
                .limit(per_day)
            )
            rows = conn.execute(query).all()
            capped = capped or len(rows) >= per_day
            comments += [Comment(str(r[0]), str(r[1]).lower(), int(r[2])) for r in rows]
            day += timedelta(days=1)
        comments = comments[:limit]
        if not capped or not comments:
            return comments, 1.0
        total = conn.execute(
            select(func.count())
            .select_from(_R)
            .where(has_comment, _R.c.local_day >= period.start, _R.c.local_day <= period.end)
        ).scalar_one()
    return comments, max(1.0, int(total) / len(comments))


# --------------------------------------------------------------------------- insights


def period_insights(
    engine: Engine,
    *,
    team_id: str,
    start_utc: datetime,
    end_utc: datetime,
    limit: int = INSIGHT_LIMIT,
) -> list[dict[str, Any]]:
    """Insights recorded in [start_utc, end_utc), and older ones planned or done in it.

    Duplicates are left out (their original counts); highest priority first, then most
    "+1" votes, then newest. Each: id, text (shortened), status, category, segment,
    touchpoint, votes, priority, permalink, created_at, new (recorded in the window).
    """
    votes = (
        select(_IV.c.insight_id, func.count().label("votes"))
        .where(_IV.c.team_id == team_id)
        .group_by(_IV.c.insight_id)
        .subquery()
    )
    created_in = and_(_I.c.created_at >= start_utc, _I.c.created_at < end_utc)
    moved_in = and_(
        _I.c.updated_at >= start_utc,
        _I.c.updated_at < end_utc,
        _I.c.status.in_(("planned", "done")),
    )
    vote_count = func.coalesce(votes.c.votes, 0)
    query = (
        select(
            _I.c.id,
            _I.c.text,
            _I.c.status,
            _I.c.category,
            _I.c.segment,
            _I.c.touchpoint,
            _I.c.priority,
            _I.c.permalink,
            _I.c.created_at,
            vote_count.label("votes"),
        )
        .select_from(_I.outerjoin(votes, votes.c.insight_id == _I.c.id))
        .where(_I.c.team_id == team_id, _I.c.duplicate_of.is_(None), or_(created_in, moved_in))
        .order_by(
            _I.c.priority.is_(None),  # NULLS LAST on both backends
            _I.c.priority.desc(),
            vote_count.desc(),
            _I.c.created_at.desc(),
            _I.c.id.desc(),
        )
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        {
            "id": int(r.id),
            "text": _shorten(str(r.text), INSIGHT_TEXT),
            "status": r.status,
            "category": r.category,
            "segment": r.segment,
            "touchpoint": r.touchpoint,
            "priority": None if r.priority is None else float(r.priority),
            "votes": int(r.votes),
            "permalink": r.permalink,
            "created_at": r.created_at,
            "new": start_utc <= r.created_at < end_utc,
        }
        for r in rows
    ]


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


# --------------------------------------------------------------------------- shout-outs, pulse


def shoutout_summary(
    engine: Engine,
    *,
    team_id: str,
    start_utc: datetime,
    end_utc: datetime,
    promises: Sequence[str],
) -> dict[str, Any]:
    """The window's shout-outs as `core.shoutouts.leaderboard` counts them.

    Keys: count, from_customers, givers, seconds, top_promise, top_promise_count,
    top_receivers (user ids, most praised first), promises_unlived (configured promises
    nobody was praised for). Empty when the shout-outs feature is not installed.
    """
    try:
        from core.shoutouts import leaderboard
        from storage.shoutouts import week_rows
    except ImportError:
        return {}
    rows = week_rows(engine, team_id=team_id, start=start_utc, end=end_utc)
    board = leaderboard(rows, list(promises), top=3)
    most = board.promises_most[0] if board.promises_most else None
    return {
        "count": board.total,
        "from_customers": board.from_customers,
        "givers": board.givers,
        "seconds": board.seconds,
        "top_promise": most.promise if most else None,
        "top_promise_count": most.count if most else 0,
        "top_receivers": [r.user_id for r in board.top_receivers],
        "promises_unlived": [p.promise for p in board.promises_least if p.count == 0],
    }


def pulse_summaries(
    engine: Engine, *, team_id: str, start_utc: datetime, end_utc: datetime
) -> list[dict[str, Any]]:
    """Pulse rounds closed in the window (`storage.surveys.round_results`), flat: name,
    enps, culture (mean Likert score), answers, asked, response_rate and enough (results
    shown: the anonymity threshold was met). Empty while the pulse feature is missing."""
    try:
        surveys = importlib.import_module("storage.surveys")
    except ImportError:
        return []
    results = getattr(surveys, "round_results", None)
    if results is None:
        return []
    return [
        _pulse(_plain(item))
        for item in results(engine, team_id=team_id, start=start_utc, end=end_utc)
    ]


def _pulse(item: Mapping[str, Any]) -> dict[str, Any]:
    round_results = item.get("results")
    figures = _plain(round_results) if round_results is not None else {}
    head = item.get("headline") or {}
    asked, answered = figures.get("asked"), figures.get("answered")
    rate = getattr(round_results, "response_rate", None)
    if rate is None and asked:
        rate = 100.0 * (answered or 0) / asked
    return {
        "name": item.get("survey_name") or item.get("name"),
        "enps": head.get("enps"),
        "culture": head.get("culture"),
        "answers": answered,
        "asked": asked,
        "response_rate": rate,
        "enough": figures.get("shown"),
    }


def _plain(item: Any) -> dict[str, Any]:
    if isinstance(item, Mapping):
        return dict(item)
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
    return dict(vars(item))


# --------------------------------------------------------------------------- all of it


def gather(
    engine: Engine,
    *,
    team_id: str,
    period: Period,
    tz: ZoneInfo,
    promises: Sequence[str] = (),
) -> DigestInputs:
    """The digest's inputs for `period` (the previous period is `period.previous()`)."""
    import time

    timings: dict[str, float] = {}

    def timed(name: str, began: float) -> None:
        timings[name] = time.perf_counter() - began

    began = time.perf_counter()
    shown = chart_periods(period)
    # Only the two compared periods need segment and touchpoint (the drivers); the
    # chart's older ones are read as plain counts, a much smaller GROUP BY.
    counts = answer_counts(engine, team_id=team_id, periods=shown[-2:])
    counts.update(metrics_queries.series_counts(engine, team_id=team_id, periods=shown[:-2]))
    timed("counts", began)

    began = time.perf_counter()
    comments_now, scale_now = theme_comments(engine, team_id=team_id, period=period)
    comments_before, scale_before = theme_comments(
        engine, team_id=team_id, period=period.previous()
    )
    timed("themes", began)

    began = time.perf_counter()
    start_utc, end_utc = period.utc_bounds(tz)
    insights = period_insights(engine, team_id=team_id, start_utc=start_utc, end_utc=end_utc)
    shoutouts = shoutout_summary(
        engine, team_id=team_id, start_utc=start_utc, end_utc=end_utc, promises=promises
    )
    pulse = pulse_summaries(engine, team_id=team_id, start_utc=start_utc, end_utc=end_utc)
    timed("feedback", began)
    return DigestInputs(
        counts=counts,
        comments_now=comments_now,
        comments_before=comments_before,
        insights=insights,
        shoutouts=shoutouts,
        pulse=pulse,
        response_rate=NO_RATE,
        timings=timings,
        comment_scale=(scale_now, scale_before),
    )
