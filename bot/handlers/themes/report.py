"""Comment themes of a workspace's period, from the database: for `/cx themes`, the App
Home and the insight cards (the digest reads the same inputs with its other figures and
hands them to the same `core.themes.analyse_period`).

Offline first: `core.themes` names the themes. With a language model configured,
each theme with enough comments also gets a short summary from its redacted comments,
kept only when every number in it is one of the theme's computed numbers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from bot.handlers.metrics.report import workspace_tz
from bot.services import Services
from bot.text import model_text
from core.periods import Period, PeriodKind, last_complete, period_containing
from core.themes import QUOTES_FROM, ThemeReport, analyse_period, check_summary, summary_facts
from storage import digest_queries

log = logging.getLogger(__name__)

SUMMARIES = 5  # themes summarised per request: the ones shown


@dataclass(frozen=True)
class PeriodThemes:
    period: Period
    report: ThemeReport


def period_themes(
    services: Services, team_id: str, kind: PeriodKind, *, current: bool = False
) -> PeriodThemes:
    """The themes of the last complete `kind` period (or the running one, `current`)
    compared with the period before."""
    tz = workspace_tz(services.engine, team_id=team_id, default=services.settings.cxbot_timezone)
    now = services.clock()
    if current:
        period = period_containing(kind, now.astimezone(tz).date())
    else:
        period = last_complete(kind, now, tz)
    return PeriodThemes(period, themes_of(services.engine, team_id, period))


def themes_of(engine: Engine, team_id: str, period: Period) -> ThemeReport:
    """The themes of `period`'s comments against the period before's."""
    previous = period.previous()
    counts = digest_queries.answer_counts(engine, team_id=team_id, periods=[previous, period])
    now, scale_now = digest_queries.theme_comments(engine, team_id=team_id, period=period)
    before, scale_before = digest_queries.theme_comments(engine, team_id=team_id, period=previous)
    return analyse_period(counts[period], counts[previous], now, before, (scale_now, scale_before))


def with_summaries(analyzer: Any, report: ThemeReport, locale: str) -> ThemeReport:
    """The report with the model's checked summaries; unchanged without a model or when
    every summary fails its check (the offline result stands)."""
    summarize = getattr(analyzer, "summarize_theme", None)
    if summarize is None:
        return report
    summaries: dict[str, str] = {}
    for stat in report.top(SUMMARIES):
        if stat.count < QUOTES_FROM or not stat.examples:
            continue
        facts = summary_facts(stat)
        try:
            text = summarize(facts, list(stat.examples), locale=locale)
        except Exception:
            log.exception("themes: the summary model failed; offline result kept")
            continue
        text = model_text(text) if text else text
        if text and check_summary(text, facts):
            summaries[stat.key] = text.strip()
        elif text:
            log.warning("themes: a model summary has numbers not in the facts; left out")
    return report.with_summaries(summaries, "model") if summaries else report
