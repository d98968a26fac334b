"""A workspace's report, from the database to a reader's words.

- `workspace` reads the settings the digest uses;
- `build` gathers a period's inputs (storage) and makes the report (`core.digest`);
- `render` writes it for a reader: the checked paragraph (the language model's when one
  is configured and its numbers check out, else the offline template), Block Kit and the
  chart.

Queueing and the chart's upload are `posting`, the schedule `sweeps`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo

from bot.handlers.digest.blocks import chart_labels, chart_title, digest_blocks, digest_fallback
from bot.handlers.goals.progress import workspace_goals
from bot.handlers.metrics.report import compute_metrics
from bot.i18n import Translator
from bot.services import Services
from bot.text import model_text
from core.digest import Digest, build_digest, digest_facts
from core.narrative import check_narrative, offline_narrative
from core.periods import Period, PeriodKind, last_complete, parse_kind
from storage import digest_queries, settings_store

log = logging.getLogger(__name__)

# The settings that say where each cadence goes and whether it is on.
CHANNEL_KEYS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "week": "digest.channel",
        "month": "digest.monthly.channel",
        "quarter": "digest.quarterly.channel",
        "year": "digest.yearly.channel",
    }
)
ENABLED_KEYS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "week": "digest.enabled",
        "month": "digest.monthly.enabled",
        "quarter": "digest.quarterly.enabled",
        "year": "digest.yearly.enabled",
    }
)


# --------------------------------------------------------------------------- the reader


@dataclass(frozen=True)
class Workspace:
    """A workspace's settings as the digest uses them."""

    team_id: str
    locale: str
    tz: ZoneInfo
    schedule: tuple[int, int, int]  # weekday (Monday 0), hour, minute
    promises: list[str]
    csi_weights: tuple[float, float, float]
    channels: dict[str, str]  # cadence -> channel, only for enabled cadences with a channel
    currency: str | None = None  # of CLV; None shows a plain number


def workspace(services: Services, team_id: str) -> Workspace:
    stored = settings_store.load(services.engine, team_id=team_id)
    settings = services.settings
    return Workspace(
        team_id=team_id,
        locale=stored.locale or settings.cxbot_locale,
        tz=stored.zone(settings.cxbot_timezone),
        schedule=stored.digest_schedule,
        promises=list(stored.promises),
        csi_weights=stored.metrics_csi_weights,
        channels=stored.report_channels(),
        currency=stored.currency,
    )


# --------------------------------------------------------------------------- building


def build(
    services: Services,
    team_id: str,
    cadence: str,
    period: Period | None = None,
    *,
    late: bool = False,
    place: Workspace | None = None,
) -> Digest:
    """The report of `period` (default: the last complete `cadence` period) for `team_id`."""
    kind: PeriodKind = parse_kind(cadence)
    ws = place or workspace(services, team_id)
    now = services.clock()
    if period is None:
        period = last_complete(kind, now, ws.tz)
    elif period.kind != kind:
        raise ValueError(f"{period.label()} is a {period.kind}, not a {kind}")
    previous = period.previous()
    inputs = digest_queries.gather(
        services.engine, team_id=team_id, period=period, tz=ws.tz, promises=ws.promises
    )
    report = compute_metrics(
        services.engine, team_id=team_id, kind=kind, day=period.start, tz=ws.tz, now=now
    )
    digest = build_digest(
        cadence=kind,
        period=period,
        previous=previous,
        counts_now=inputs.counts[period],
        counts_before=inputs.counts[previous],
        series_counts=inputs.counts,
        metrics_report=report,
        comments_now=inputs.comments_now,
        comments_before=inputs.comments_before,
        comment_scale=inputs.comment_scale,
        insights=inputs.insights,
        shoutouts=inputs.shoutouts,
        pulse=inputs.pulse,
        response_rate=inputs.response_rate,
        late=late,
        csi_weights=ws.csi_weights,
        loop=_loop(services, team_id, period, ws.tz),
    )
    return replace(digest, goals=tuple(workspace_goals(services, team_id, ws.tz, now)))


def _loop(services: Services, team_id: str, period: Period, tz: Any) -> dict[str, int]:
    """How far mail with the period's detractors went (reached, replied, recovered)."""
    from core.mail import loop_figures
    from storage.mail import loop_rows

    start_utc, end_utc = period.utc_bounds(tz)
    return loop_figures(
        loop_rows(services.engine, team_id=team_id, start_utc=start_utc, end_utc=end_utc)
    )


def narrative(analyzer: Any, d: Digest, t: Translator) -> tuple[str, str]:
    """(paragraph, "model" or "offline"). The model gets the facts only (numbers and the
    company's own labels); its paragraph is used only when every number in it is a fact."""
    facts = digest_facts(d)
    if analyzer is not None:
        try:
            text = analyzer.narrate(facts, locale=t.locale)
        except Exception:
            log.exception("digest: the narrative model failed; using the offline text")
            text = None
        # Whatever the model wrote may not act in Slack: no references, no links (the
        # paragraph is escaped again when it is rendered).
        text = model_text(text) if text else text
        if text and check_narrative(text, facts):
            return text.strip(), "model"
        if text:
            log.warning("digest: the model's paragraph has numbers not in the facts; offline")
    return offline_narrative(
        facts, t.gettext, number=t.number, join=t.join, percent=t.percent
    ), "offline"


@dataclass(frozen=True)
class Rendered:
    """A report ready to post: the message and its chart."""

    text: str  # notification / fallback text
    blocks: list[dict[str, Any]]
    narrative: str
    narrative_source: str  # model or offline
    chart: bytes | None
    chart_title: str
    filename: str


def render(
    services: Services,
    d: Digest,
    t: Translator,
    *,
    tz: ZoneInfo | None = None,
    due: datetime | None = None,
    note: str | None = None,
    chart: bool = True,
    currency: str | None = None,
) -> Rendered:
    # matplotlib (~30 MB) is loaded when a chart is first drawn, not at start.
    from bot.handlers.digest.chart import render_chart

    paragraph, source = narrative(services.analyzer, d, t)
    shown = digest_blocks(d, t, narrative=paragraph, due=due, tz=tz, note=note, currency=currency)
    title = chart_title(d, t)
    png = (
        render_chart(d.series, title=title, locale_labels=chart_labels(t), number=t.number)
        if chart
        else None
    )
    return Rendered(
        text=digest_fallback(d, t, paragraph),
        blocks=[b.to_dict() for b in shown],
        narrative=paragraph,
        narrative_source=source,
        chart=png,
        chart_title=title,
        filename=f"cxbot-{d.cadence}-{d.period.label()}.png",
    )
