"""Customer insights' analysis, after the ack:

- the analyzer: built from the settings when the services have none (trained on first use)
  (the offline model trains in about a second, which must never happen inside an ack);
- the after-ack analysis on a pool of its own: category, sentiment, priority and
  near-duplicates, written with the channel post queued in the same transaction
  (storage.insights.apply_analysis).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from bot.outbox import wake
from bot.services import Services
from core.analyzer import Analysis, Analyzer, OfflineAnalyzer, make_analyzer, priority, similar
from core.text import detect_language
from storage import insights as store

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from core.periods import Period
    from core.themes import ThemeReport

log = logging.getLogger(__name__)

# Model calls wait on the network for seconds; a small pool of their own keeps them from
# occupying the threads that serve Slack's requests, and bounds the load on the model.
ANALYSIS_THREADS = 4
# How many months' theme counts the cards keep (see posting.customers_line).
MONTHS_CACHED = 32


def _themes_of(engine: Engine, team_id: str, month: Period, _window: int) -> ThemeReport:
    from bot.handlers.themes.report import themes_of

    return themes_of(engine, team_id, month)


class InsightsState:
    """This process's insights work: the analysis pool, the lock that builds the analyzer
    once, and the month theme counts the cards reuse."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(ANALYSIS_THREADS, thread_name_prefix="cxbot-insights")
        self.analyzer_lock = threading.Lock()
        # (engine, team, month, time window) -> the month's themes, for a few minutes.
        self.month_themes = functools.lru_cache(maxsize=MONTHS_CACHED)(_themes_of)

    def close(self) -> None:
        # Queued analyses finish; one cut short would wait for the retry sweep.
        self.pool.shutdown(wait=True)


# --------------------------------------------------------------------------- the analyzer


def analyzer_for(services: Services) -> Analyzer:
    """The services' analyzer; built from the settings the first time when none was given."""
    if services.analyzer is None:
        with services.state(InsightsState).analyzer_lock:
            if services.analyzer is None:
                cfg = services.settings
                services.analyzer = make_analyzer(
                    cfg.openai_api_key, cfg.openai_base_url, cfg.openai_model
                )
    analyzer: Analyzer = services.analyzer
    return analyzer


def warm(analyzer: Analyzer) -> None:
    """Train the offline model and load the word lists now, not on the first insight.

    The model-backed analyzer is warmed through its fall-back; the model is not called.
    """
    offline = (
        analyzer if isinstance(analyzer, OfflineAnalyzer) else getattr(analyzer, "fallback", None)
    )
    if isinstance(offline, OfflineAnalyzer):
        offline.analyze("The delivery was late and nobody answered the phone.")
    similar("delivery late", [(0, "the delivery came late")])


def start(services: Services) -> None:
    """Background starter (bot.features).

    The offline model is not trained here: analysis runs after the ack, so the first
    insight's one-off 1-2 s of training delays only its channel post, while training at
    start would keep scikit-learn (~75 MB) in every idle server.
    """
    analyzer_for(services)


# --------------------------------------------------------------------------- analysis


def analyze_later(services: Services, *, team_id: str, insight_id: int) -> Future[bool]:
    """Analyse and share the insight on the analysis pool; the caller has already replied."""
    pool = services.state(InsightsState).pool
    return pool.submit(_analyze_after_acks, services, team_id, insight_id, time.monotonic())


def _analyze_after_acks(
    services: Services, team_id: str, insight_id: int, handed_over: float
) -> bool:
    # Analysis is CPU work in the server's own process: during a burst of commands it
    # waits until the pending acks are out (bot.priority), since only those have a deadline.
    services.ack_first.wait_turn(handed_over)
    return analyze_logged(services, team_id, insight_id)


def analyze_logged(services: Services, team_id: str, insight_id: int) -> bool:
    """`analyze_now`, with a failure logged (the insight is stored; the sweep tries again)."""
    try:
        return analyze_now(services, team_id=team_id, insight_id=insight_id)
    except Exception:
        log.exception("analysing insight %s failed", insight_id)
        return False


def analyze_now(services: Services, *, team_id: str, insight_id: int) -> bool:
    """Categorise, weigh and link the insight, and queue its post; False when it was
    analysed before (by another thread or instance) or does not exist."""
    engine = services.engine
    card = store.get_card(engine, team_id=team_id, insight_id=insight_id)
    if card is None or card.analysed:
        return False
    config = store.load_config(engine, team_id=team_id)
    analysis = _analyse(services, card.text, config.categories)
    window = store.analysis_window(engine, team_id=team_id, insight_id=insight_id)
    matches = similar(card.text, window)
    result = store.apply_analysis(
        engine,
        team_id=team_id,
        insight_id=insight_id,
        category=analysis.category,
        sentiment=analysis.sentiment,
        impact=analysis.impact,
        priority=priority(analysis, len(matches)),
        similar_ids=[insight for insight, _score in matches],
        now=services.clock(),
    )
    if result.changed:
        wake(services)
    return result.changed


def _analyse(services: Services, text: str, categories: Sequence[str]) -> Analysis:
    # The model-backed analyzer already falls back to the offline one; this guards against
    # a fault in the analyzer itself, so an insight is always categorised in the end.
    try:
        return analyzer_for(services).analyze(text, categories=categories)
    except Exception:
        log.exception("the analyzer failed; using the offline analyzer")
    try:
        return OfflineAnalyzer().analyze(text, categories=categories)
    except Exception:
        log.exception("the offline analyzer failed; the insight goes to the last category")
        return Analysis(categories[-1], "neutral", 1, detect_language(text), "offline")
