"""Checks Slack applies to what an app posts: text length, Block Kit, views.

`slack_sdk.models` checks each block's own limits but not how many blocks a
surface holds, nor duplicate `block_id`s, so those are checked here too.
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import Block

MAX_TEXT = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_VIEW_BYTES = 250_000  # Slack refuses views this large with view_too_large
MAX_TITLE = 24
MAX_PRIVATE_METADATA = 3_000
MAX_CALLBACK_ID = 255


class ApiError(Exception):
    """A Slack API error: answered as HTTP 200 with ``{"ok": false, "error": code}``."""

    def __init__(self, code: str, *details: str, **extra: Any) -> None:
        super().__init__(code if not details else f"{code}: {'; '.join(details)}")
        self.code = code
        self.details = list(details)
        self.extra = extra


def parse_json_arg(value: Any, *, error: str) -> Any:
    """A structured argument arrives as JSON text in form bodies and as JSON in JSON bodies."""
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ApiError(error, f"not valid JSON: {exc}") from exc
    return value


def check_blocks(raw: Any, *, limit: int) -> list[dict[str, Any]]:
    """Validates a list of blocks and returns it as plain dicts (or raises ApiError)."""
    blocks = parse_json_arg(raw, error="invalid_blocks_format")
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        raise ApiError("invalid_blocks_format", "blocks must be a JSON array of objects")
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"no more than {limit} items allowed [json-pointer:/blocks]")
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{i}]"
        try:
            parsed = Block.parse(block)
        except Exception as exc:  # the SDK raises several kinds on malformed input
            problems.append(f"{exc} {where}")
            continue
        if parsed is None:
            problems.append(f"unknown block type {block.get('type')!r} {where}")
            continue
        try:
            parsed.validate_json()
        except Exception as exc:
            problems.append(f"{exc} {where}")
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen_ids:
                problems.append(f"duplicate block_id {block_id!r} {where}")
            seen_ids.add(block_id)
    if problems:
        raise ApiError("invalid_blocks", *problems)
    return blocks


def check_message_content(
    text: Any, blocks: Any, attachments: Any = None
) -> tuple[str, list[dict[str, Any]] | None]:
    """The rules shared by chat.postMessage, chat.update, chat.postEphemeral."""
    text = "" if text is None else str(text)
    parsed_blocks = check_blocks(blocks, limit=MAX_MESSAGE_BLOCKS) if blocks else None
    if not text and not parsed_blocks and not attachments:
        raise ApiError("no_text")
    if len(text) > MAX_TEXT:
        raise ApiError("msg_too_long", f"text has {len(text)} characters, at most {MAX_TEXT}")
    return text, parsed_blocks


def _plain_text_len(obj: Any) -> int:
    if isinstance(obj, dict):
        return len(str(obj.get("text", "")))
    return len(str(obj))


def check_view(raw: Any, *, kinds: tuple[str, ...]) -> dict[str, Any]:
    """Validates a modal or Home tab view and returns it as a dict."""
    view = parse_json_arg(raw, error="invalid_arguments")
    if not isinstance(view, dict):
        raise ApiError("invalid_arguments", "view must be a JSON object")
    if len(json.dumps(view)) > MAX_VIEW_BYTES:
        raise ApiError("view_too_large")
    kind = view.get("type")
    if kind not in kinds:
        raise ApiError("invalid_arguments", f"view type must be one of {', '.join(kinds)}")
    problems: list[str] = []
    if kind == "modal":
        if not view.get("title"):
            problems.append("title is required for a modal [json-pointer:/view/title]")
        for key in ("title", "submit", "close"):
            if view.get(key) and _plain_text_len(view[key]) > MAX_TITLE:
                problems.append(f"{key} must be at most {MAX_TITLE} characters")
    if len(str(view.get("private_metadata") or "")) > MAX_PRIVATE_METADATA:
        problems.append(f"private_metadata must be at most {MAX_PRIVATE_METADATA} characters")
    if len(str(view.get("callback_id") or "")) > MAX_CALLBACK_ID:
        problems.append(f"callback_id must be at most {MAX_CALLBACK_ID} characters")
    blocks = check_blocks(view.get("blocks", []), limit=MAX_VIEW_BLOCKS)
    if kind == "modal" and not view.get("submit") and any(b["type"] == "input" for b in blocks):
        problems.append("submit is required when a modal has input blocks")
    if problems:
        raise ApiError("invalid_arguments", *problems)
    view["blocks"] = blocks
    return view
