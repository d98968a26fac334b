"""The digest and the one-page reports, from the database to the channel.

- `build` gathers a period's inputs (storage) and makes the report (`core.digest`);
- `render` writes it for a reader: the checked paragraph (the language model's when one
  is configured and its numbers check out, else the offline template), Block Kit and the
  chart;
- `enqueue` queues the message and the chart in one transaction under keys per cadence,
  channel and period (`digest:week:C0123:2026-W47` and `...:chart`), so a report goes
  out once however many times, processes or restarts try;
- `run_schedule` is the minute sweep: for each workspace and enabled cadence, the latest
  period whose scheduled time has passed is queued unless its key already is. A run
  missed while the bot was down goes out when it is back, marked late; one missed by
  more than `CATCH_UP` is stale news and skipped.
- `send_chart` is the outbox sender of the chart (`send:digest_chart`): an upload is
  three calls (files.getUploadURLExternal, the bytes, files.completeUploadExternal),
  which `files_upload_v2` makes after the message it belongs to is in the channel.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot import outbox as dispatch
from bot.i18n import Translator, translator
from bot.reporting import compute_metrics
from bot.services import Services
from bot.text import model_text
from bot.views import digest as views
from core.digest import Digest, build_digest, digest_facts
from core.narrative import check_narrative, offline_narrative
from core.periods import Period, PeriodKind, last_complete, parse_kind
from storage import digest_queries, settings_store
from storage import outbox as queue
from storage.workspaces import known_teams

log = logging.getLogger(__name__)

# The settings that say where each cadence goes and whether it is on.
CHANNEL_KEYS: dict[str, str] = {
    "week": "digest.channel",
    "month": "digest.monthly.channel",
    "quarter": "digest.quarterly.channel",
    "year": "digest.yearly.channel",
}
ENABLED_KEYS: dict[str, str] = {
    "week": "digest.enabled",
    "month": "digest.monthly.enabled",
    "quarter": "digest.quarterly.enabled",
    "year": "digest.yearly.enabled",
}
# Posted more than this after its scheduled time, a report says it is late.
LATE_AFTER = timedelta(hours=1)
# A missed report is still worth posting this long after its time; later it is stale.
CATCH_UP: dict[str, timedelta] = {
    "week": timedelta(days=3),
    "month": timedelta(days=7),
    "quarter": timedelta(days=7),
    "year": timedelta(days=7),
}
CHART_SENDER = "digest_chart"
KEY_PREFIX = "digest:"


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
    return build_digest(
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
    from bot.views.chart import render_chart

    paragraph, source = narrative(services.analyzer, d, t)
    blocks = views.digest_blocks(
        d, t, narrative=paragraph, due=due, tz=tz, note=note, currency=currency
    )
    title = views.chart_title(d, t)
    png = (
        render_chart(d.series, title=title, locale_labels=views.chart_labels(t), number=t.number)
        if chart
        else None
    )
    return Rendered(
        text=views.digest_fallback(d, t, paragraph),
        blocks=[b.to_dict() for b in blocks],
        narrative=paragraph,
        narrative_source=source,
        chart=png,
        chart_title=title,
        filename=f"cxbot-{d.cadence}-{d.period.label()}.png",
    )


# --------------------------------------------------------------------------- queueing


def message_key(cadence: str, channel: str, period: Period) -> str:
    return f"{KEY_PREFIX}{cadence}:{channel}:{period.label()}"


def chart_key(cadence: str, channel: str, period: Period) -> str:
    return message_key(cadence, channel, period) + ":chart"


def enqueue(
    engine: Engine,
    *,
    team_id: str,
    channel: str,
    d: Digest,
    rendered: Rendered,
    now: datetime | None = None,
) -> bool:
    """Queue the message and its chart in one transaction, due at `now` (the bot's clock);
    False when this report was already queued for this channel and period (nothing is
    added then)."""
    key = message_key(d.cadence, channel, d.period)
    with engine.begin() as conn:
        added = queue.enqueue(
            conn,
            team_id=team_id,
            key=key,
            method="chat.postMessage",
            payload={
                "channel": channel,
                "text": rendered.text,
                "blocks": rendered.blocks,
                "unfurl_links": False,
            },
            not_before=now,
        )
        if added and rendered.chart is not None:
            queue.enqueue(
                conn,
                team_id=team_id,
                key=chart_key(d.cadence, channel, d.period),
                method=f"send:{CHART_SENDER}",
                payload={
                    "channel": channel,
                    "after": key,
                    "filename": rendered.filename,
                    "title": rendered.chart_title,
                    "png": base64.b64encode(rendered.chart).decode("ascii"),
                },
                not_before=now,
            )
    return added


def send_chart(
    client: WebClient,
    services: Services,
    team_id: str,
    key: str,
    payload: Mapping[str, Any],
    maybe_sent: bool,
) -> tuple[str | None, str | None]:
    """Outbox sender `send:digest_chart`: upload the chart once the message is posted."""
    engine = services.engine
    channel = str(payload["channel"])
    after = payload.get("after")
    if after:
        status = queue.statuses(engine, team_id=team_id, keys=[str(after)]).get(str(after))
        if status in (queue.PENDING, queue.SENDING):
            raise dispatch.NotReady(f"{after} is not posted yet")
        if status != queue.SENT:
            # A chart without its report explains nothing.
            raise RuntimeError(f"{after} was not posted ({status}); its chart is not sent alone")
    filename = str(payload["filename"])
    if maybe_sent:
        found = _find_file(client, channel, filename)
        if found is not None:
            return found
    client.files_upload_v2(
        channel=channel,
        file=base64.b64decode(str(payload["png"])),
        filename=filename,
        title=str(payload.get("title") or filename),
        alt_txt=str(payload.get("title") or filename),
        request_file_info=False,
    )
    return channel, None


def _find_file(client: WebClient, channel: str, filename: str) -> tuple[str, str] | None:
    """Where an earlier attempt already shared `filename` in `channel`, if it did."""
    history = client.conversations_history(channel=channel, limit=200)
    messages: list[dict[str, Any]] = history.get("messages", [])
    for message in messages:
        for f in message.get("files") or []:
            if filename in (f.get("name"), f.get("filename")):
                return channel, str(message.get("ts"))
    return None


# --------------------------------------------------------------------------- the schedule


def due_at(period: Period, schedule: tuple[int, int, int], tz: ZoneInfo) -> datetime:
    """When the report of `period` goes out: the schedule's weekday and time, on the first
    such day after the period ends (Monday 08:00 after an ISO week; the first Monday of
    a month for the month before it)."""
    weekday, hour, minute = schedule
    day = period.end + timedelta(days=1)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def latest_due(
    cadence: str, now: datetime, tz: ZoneInfo, schedule: tuple[int, int, int]
) -> tuple[Period, datetime]:
    """The latest `cadence` period whose report time has come at `now`, and that time."""
    period = last_complete(parse_kind(cadence), now, tz)
    due = due_at(period, schedule, tz)
    while due > now:
        period = period.previous()
        due = due_at(period, schedule, tz)
    return period, due


def _channel_set_after(engine: Engine, team_id: str, cadence: str, due: datetime) -> bool:
    """Whether the setting that sends `cadence` somewhere was changed after `due`."""
    keys = [CHANNEL_KEYS[cadence], CHANNEL_KEYS["week"], ENABLED_KEYS[cadence]]
    changed = settings_store.set_since(engine, team_id=team_id, keys=keys)
    return any(at > due for at in changed.values())


def run_schedule(services: Services) -> list[str]:
    """Queue every report whose time has come and that is not queued yet; the keys queued.

    Safe to run any number of times, in any number of processes: the outbox key of a
    report (cadence, channel, period) is unique, so it is queued once.
    """
    engine, now = services.engine, services.clock()
    queued: list[str] = []
    for team_id in known_teams(engine):
        try:
            ws = workspace(services, team_id)
        except ValueError:
            log.exception("digest: the settings of %s cannot be read", team_id)
            continue
        for cadence, channel in ws.channels.items():
            period, due = latest_due(cadence, now, ws.tz, ws.schedule)
            if now - due > CATCH_UP[cadence]:
                continue
            key = message_key(cadence, channel, period)
            if queue.statuses(engine, team_id=team_id, keys=[key]):
                continue
            late = now - due > LATE_AFTER
            if late and _channel_set_after(engine, team_id, cadence, due):
                # Not missed while the bot was down: nobody had asked for it yet. The
                # next report comes on time; `/cx digest` shows this one.
                continue
            try:
                d = build(services, team_id, cadence, period, late=late, place=ws)
                rendered = render(
                    services, d, translator(ws.locale), tz=ws.tz, due=due, currency=ws.currency
                )
                if enqueue(
                    engine, team_id=team_id, channel=channel, d=d, rendered=rendered, now=now
                ):
                    queued.append(key)
                    log.info("digest: queued %s%s", key, " (late)" if d.late else "")
            except Exception:
                # One workspace's trouble must not keep the others' reports back.
                log.exception("digest: building %s failed", key)
    if queued:
        dispatch.wake(services)
    return queued
