"""Customer insights, the parts around a Slack request:

- the analyzer: built from the settings when the services have none (trained on first use)
  (the offline model trains in about a second, which must never happen inside an ack);
- the after-ack analysis: category, sentiment, priority and near-duplicates, written with
  the channel post queued in the same transaction (storage.insights.apply_analysis);
- votes and status changes, with the reporter's language looked up for the DM;
- the outbox renderer `render:insight` and the hook recording where the post landed;
- the sweep that analyses insights whose analysis was cut short (a restart).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Connection, Engine

from bot import outbox as dispatch
from bot.admins import is_admin
from bot.feature import Sent
from bot.handlers.metrics.report import workspace_tz
from bot.i18n import Translator, translator, user_locale
from bot.outbox import wake
from bot.services import Services
from bot.views import insights as views
from core.analyzer import (
    Analysis,
    Analyzer,
    OfflineAnalyzer,
    make_analyzer,
    priority,
    similar,
)
from core.text import detect_language

if TYPE_CHECKING:
    from core.periods import Period
    from core.themes import ThemeReport
from storage import insights as store

log = logging.getLogger(__name__)

RENDERER = store.RENDER_METHOD.removeprefix("render:")
# Model calls wait on the network for seconds; a small pool of their own keeps them from
# occupying the threads that serve Slack's requests, and bounds the load on the model.
ANALYSIS_THREADS = 4
# An insight still unanalysed this long after it was recorded lost its analysis (the
# process stopped): the sweep does it.
STALE_AFTER = timedelta(minutes=2)

_executor = ThreadPoolExecutor(ANALYSIS_THREADS, thread_name_prefix="cxbot-insights")
_analyzer_lock = threading.Lock()


@dataclass
class _Defaults:
    locale: str = "en"
    timezone: str = "UTC"


_defaults = _Defaults()


# --------------------------------------------------------------------------- the analyzer


def analyzer_for(services: Services) -> Analyzer:
    """The services' analyzer; built from the settings the first time when none was given."""
    if services.analyzer is None:
        with _analyzer_lock:
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
    _defaults.locale = services.settings.cxbot_locale
    _defaults.timezone = services.settings.cxbot_timezone
    analyzer_for(services)


# --------------------------------------------------------------------------- analysis


def analyze_later(services: Services, *, team_id: str, insight_id: int) -> Future[bool]:
    """Analyse and share the insight on the analysis pool; the caller has already replied."""
    return _executor.submit(_analyze_after_acks, services, team_id, insight_id, time.monotonic())


def _analyze_after_acks(
    services: Services, team_id: str, insight_id: int, handed_over: float
) -> bool:
    # Analysis is CPU work in the server's own process: during a burst of commands it
    # waits until the pending acks are out (bot.priority), since only those have a deadline.
    services.ack_first.wait_turn(handed_over)
    return _analyze_logged(services, team_id, insight_id)


def _analyze_logged(services: Services, team_id: str, insight_id: int) -> bool:
    try:
        return analyze_now(services, team_id=team_id, insight_id=insight_id)
    except Exception:
        # The insight is stored; the sweep tries again later.
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


def analysis_sweep(services: Services) -> None:
    """The scheduled catch-up: see `run_pending`."""
    run_pending(services)


def run_pending(services: Services) -> int:
    """Analyse the insights whose after-ack analysis never finished; returns how many."""
    done = 0
    before = services.clock() - STALE_AFTER
    for team_id, insight_id in store.pending_analysis(services.engine, before=before):
        if _analyze_logged(services, team_id, insight_id):
            done += 1
    return done


# --------------------------------------------------------------------------- buttons


def vote(services: Services, *, team_id: str, insight_id: int, user_id: str) -> store.Voted:
    result = store.vote(
        services.engine,
        team_id=team_id,
        insight_id=insight_id,
        user_id=user_id,
        now=services.clock(),
    )
    if result.changed:
        wake(services)
    return result


def may_change_status(
    services: Services, client: WebClient, card: store.InsightCard, user_id: str
) -> bool:
    """Who decides what happens to an insight: the colleague who recorded it, whoever last
    took it on (set its status), or an admin. Anyone else can +1 it."""
    if user_id in (card.reporter, card.status_by):
        return True
    return is_admin(services, client, user_id)


def change_status(
    services: Services,
    client: WebClient,
    *,
    team_id: str,
    insight_id: int,
    status: str,
    user_id: str,
) -> store.StatusChange | None:
    """Set the status; the reporter's DM is written in the reporter's language. None when
    `user_id` may not change it (see may_change_status)."""
    engine = services.engine
    card = store.get_card(engine, team_id=team_id, insight_id=insight_id)
    if card is None:
        return store.StatusChange(False, None)
    if card.status != status and not may_change_status(services, client, card, user_id):
        return None
    locale = None
    if card.reporter != user_id and card.status != status:
        default = store.load_config(engine, team_id=team_id).locale or _defaults.locale
        locale = user_locale(client, card.reporter, default)
    result = store.set_status(
        engine,
        team_id=team_id,
        insight_id=insight_id,
        status=status,
        user_id=user_id,
        now=services.clock(),
        reporter_locale=locale,
    )
    if result.changed:
        wake(services)
    return result


def permalink(client: WebClient, channel: str | None, ts: str | None) -> str | None:
    """The saved message's permalink; None when Slack cannot give one (the insight is
    stored all the same)."""
    if not channel or not ts:
        return None
    try:
        link = client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
    except SlackApiError as exc:
        log.info("no permalink for a saved message: %s", exc.response.get("error"))
        return None
    return str(link) if link else None


# --------------------------------------------------------------------------- delivery


class Gone(Exception):
    """The insight, or the message a queued call refers to, does not exist."""


def render_insight(
    services: Services, team_id: str, payload: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """`render:insight` -> (method, payload): the channel post, its update, or a status DM,
    built from the insight's state now."""
    engine = services.engine
    insight_id = int(payload["insight_id"])
    card = store.get_card(engine, team_id=team_id, insight_id=insight_id)
    if card is None:
        raise Gone(f"insight {insight_id} does not exist")
    config = store.load_config(engine, team_id=team_id)
    channel_t = translator(config.locale or _defaults.locale)
    action = str(payload.get("action") or "")
    if action in ("post", "update"):
        heard = customers_line(engine, team_id, card, channel_t)
    if action == "post":
        text, blocks = views.insight_message(card, channel_t, heard=heard)
        return "chat.postMessage", {
            "channel": str(payload["channel"]),
            "text": text,
            "blocks": blocks,
            "unfurl_links": False,
        }
    if action == "update":
        state, where = store.post_location(engine, team_id=team_id, insight_id=insight_id)
        if state == "pending":
            raise dispatch.NotReady(f"insight {insight_id} not posted yet")
        if where is None:
            raise Gone(f"insight {insight_id} was never posted")
        text, blocks = views.insight_message(card, channel_t, heard=heard)
        return "chat.update", {"channel": where[0], "ts": where[1], "text": text, "blocks": blocks}
    if action == "dm":
        t = translator(str(payload.get("locale") or config.locale or _defaults.locale))
        text, blocks = views.status_dm(card, str(payload["status"]), str(payload["by"]), t)
        return "chat.postMessage", {"channel": card.reporter, "text": text, "blocks": blocks}
    raise Gone(f"unknown insight action {action!r}")


def customers_line(
    engine: Engine, team_id: str, card: store.InsightCard, t: Translator
) -> str | None:
    """ "12 customers said this this month (late delivery)": the customers' comments of the
    insight's month on the themes it names, or None when none does."""
    from bot.views.themes import linked_line
    from core.periods import period_containing
    from core.themes import linked

    tz = workspace_tz(engine, team_id=team_id, default=_defaults.timezone)
    month = period_containing("month", card.created_at.astimezone(tz).date())
    try:
        report = _month_themes(engine, team_id, month, int(time.time() // THEMES_FRESH_SECONDS))
    except Exception:
        # The card matters more than the count: post it without the line.
        log.exception("insights: counting the customers on insight %s's themes failed", card.id)
        return None
    return linked_line(linked(card.text, report), "month", t)


# How long one month's theme counts serve the cards: every vote or status change renders
# the card again, and reading a busy month's comments takes a second or more.
THEMES_FRESH_SECONDS = 600


@functools.lru_cache(maxsize=32)
def _month_themes(engine: Engine, team_id: str, month: Period, _window: int) -> ThemeReport:
    from bot.themes import themes_of

    return themes_of(engine, team_id, month)


def after_send(conn: Connection, sent: Sent) -> None:
    """Remember where `insight:{id}:post` landed, for updates and links."""
    parts = sent.key.split(":")
    if len(parts) == 3 and parts[2] == "post" and parts[1].isdigit():
        store.record_post(
            conn, team_id=sent.team_id, insight_id=int(parts[1]), channel=sent.channel, ts=sent.ts
        )
