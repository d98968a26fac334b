"""What the digest hands the outbox.

- `enqueue` queues the message and the chart in one transaction under keys per cadence,
  channel and period (`digest:week:C0123:2026-W47` and `...:chart`), so a report goes
  out once however many times, processes or restarts try;
- `send_chart` is the outbox sender of the chart (`send:digest_chart`): an upload is
  three calls (files.getUploadURLExternal, the bytes, files.completeUploadExternal),
  which `files_upload_v2` makes after the message it belongs to is in the channel.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot import outbox
from bot.handlers.digest.compose import Rendered
from bot.services import Services
from core.digest import Digest
from core.periods import Period
from storage import outbox as queue

CHART_SENDER = "digest_chart"
KEY_PREFIX = "digest:"


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
            raise outbox.NotReady(f"{after} is not posted yet")
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
