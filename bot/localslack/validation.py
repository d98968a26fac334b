"""Checks Slack applies to what an app posts: text length, Block Kit, views.

Block Kit is checked element by element with the limits of Slack's reference pages
(https://api.slack.com/reference/block-kit/blocks, .../block-elements,
.../composition-objects, https://api.slack.com/reference/surfaces/views). The same
limits are in slack_sdk's models (slackapi/python-slack-sdk slack_sdk/models/blocks/
blocks.py, block_elements.py, basic_components.py and slack_sdk/models/views), which
check one object at a time and only when serialising, so they cannot be relied on to
see a nested element, a duplicate id or a limit they leave out (radio and checkbox
options, field length). `slack_sdk` still parses every block, which is how an unknown
block type is caught, and checks the block types this module does not walk.

Refusals look like Slack's: messages answer `invalid_blocks` with `errors` and
`response_metadata.messages` ("[ERROR] must be less than 76 characters
[json-pointer:/blocks/0/elements/0/text/text]"); views answer `invalid_arguments` with
`response_metadata.messages` only, pointers starting at /view.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from slack_sdk.models.blocks import Block

MAX_TEXT = 40_000
MAX_MESSAGE_BLOCKS = 50  # https://api.slack.com/reference/block-kit/blocks
MAX_VIEW_BLOCKS = 100  # https://api.slack.com/reference/surfaces/views
MAX_VIEW_BYTES = 250_000  # Slack refuses views this large with view_too_large
MAX_TITLE = 24  # modal title, submit and close: https://api.slack.com/reference/surfaces/views
MAX_PRIVATE_METADATA = 3_000
MAX_CALLBACK_ID = 255

# https://api.slack.com/reference/block-kit/blocks
MAX_BLOCK_ID = 255
MAX_SECTION_TEXT = 3_000  # #section
MAX_SECTION_FIELDS = 10  # #section
MAX_FIELD_TEXT = 2_000  # #section
MAX_HEADER_TEXT = 150  # #header
MAX_CONTEXT_ELEMENTS = 10  # #context
MAX_ACTIONS_ELEMENTS = 25  # #actions
MAX_INPUT_LABEL = 2_000  # #input
MAX_INPUT_HINT = 2_000  # #input

# https://api.slack.com/reference/block-kit/block-elements
MAX_ACTION_ID = 255
MAX_BUTTON_TEXT = 75  # #button
MAX_BUTTON_VALUE = 2_000  # #button
MAX_BUTTON_URL = 3_000  # #button
MAX_PLACEHOLDER = 150  # every element with a placeholder
MAX_SELECT_OPTIONS = 100  # #static_select, #multi_select
MAX_OVERFLOW_OPTIONS = 5  # #overflow
MAX_CHOICE_OPTIONS = 10  # #radio, #checkboxes
MAX_INPUT_LENGTH = 3_000  # #input (plain_text_input max_length)

# https://api.slack.com/reference/block-kit/composition-objects#option
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTION_DESCRIPTION = 75

SELECTS = ("static_select", "multi_static_select")
CHOICES = ("radio_buttons", "checkboxes")
WALKED_BLOCKS = ("section", "header", "context", "actions", "input")


class ApiError(Exception):
    """A Slack API error: answered as HTTP 200 with ``{"ok": false, "error": code}``.

    `details` become `response_metadata.messages` (each prefixed "[ERROR] "), and also
    `errors` unless `with_errors` is False (views.* answer only the messages)."""

    def __init__(self, code: str, *details: str, with_errors: bool = True, **extra: Any) -> None:
        super().__init__(code if not details else f"{code}: {'; '.join(details)}")
        self.code = code
        self.details = list(details)
        self.with_errors = with_errors
        self.extra = extra


def parse_json_arg(value: Any, *, error: str) -> Any:
    """A structured argument arrives as JSON text in form bodies and as JSON in JSON bodies."""
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ApiError(error, f"not valid JSON: {exc}") from exc
    return value


class _Checker:
    """Collects problems as Slack words them: "<what> [json-pointer:<where>]"."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, message: str, where: str) -> None:
        self.problems.append(f"{message} [json-pointer:{where}]")

    def length(self, value: Any, limit: int, where: str) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.add(f"must be less than {limit + 1} characters", where)

    def text(
        self,
        obj: Any,
        where: str,
        *,
        limit: int | None = None,
        plain_only: bool = False,
    ) -> None:
        """A text object: https://api.slack.com/reference/block-kit/composition-objects#text
        (`text`: at least 1 character); `plain_only` where the reference says plain_text."""
        if not isinstance(obj, dict):
            self.add("must provide an object", where)
            return
        kinds = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if obj.get("type") not in kinds:
            self.add(f"must be a valid enum value ({' or '.join(kinds)})", f"{where}/type")
        value = obj.get("text")
        if not isinstance(value, str) or not value:
            self.add("must be more than 0 characters", f"{where}/text")
        elif limit is not None:
            self.length(value, limit, f"{where}/text")

    def options(
        self, options: Any, where: str, *, limit: int, plain_only: bool
    ) -> list[dict[str, Any]]:
        """Option objects: https://api.slack.com/reference/block-kit/composition-objects#option
        (text 75, value 150, description 75; plain_text in selects and overflow menus)."""
        if not isinstance(options, list):
            self.add("must provide an array", where)
            return []
        if not options:
            self.add("must provide at least 1 items", where)
        if len(options) > limit:
            self.add(f"no more than {limit} items allowed", where)
        good = []
        for i, option in enumerate(options):
            at = f"{where}/{i}"
            if not isinstance(option, dict):
                self.add("must provide an object", at)
                continue
            good.append(option)
            self.text(
                option.get("text"), f"{at}/text", limit=MAX_OPTION_TEXT, plain_only=plain_only
            )
            value = option.get("value")
            if not isinstance(value, str) or not value:
                self.add("must be more than 0 characters", f"{at}/value")
            else:
                self.length(value, MAX_OPTION_VALUE, f"{at}/value")
            if option.get("description") is not None:
                self.text(
                    option["description"],
                    f"{at}/description",
                    limit=MAX_OPTION_DESCRIPTION,
                    plain_only=plain_only,
                )
        return good

    def initial(self, element: dict[str, Any], options: list[dict[str, Any]], where: str) -> None:
        """`initial_option(s)` must match one of the options exactly
        (block-elements#static_select, #radio, #checkboxes)."""
        values = {str(o.get("value")) for o in options}
        chosen_one = element.get("initial_option")
        if isinstance(chosen_one, dict) and str(chosen_one.get("value")) not in values:
            self.add("must match one of the options", f"{where}/initial_option")
        for i, chosen in enumerate(element.get("initial_options") or []):
            if not isinstance(chosen, dict) or str(chosen.get("value")) not in values:
                self.add("must match one of the options", f"{where}/initial_options/{i}")

    def element(self, element: Any, where: str) -> None:
        """An interactive element: https://api.slack.com/reference/block-kit/block-elements."""
        if not isinstance(element, dict):
            self.add("must provide an object", where)
            return
        kind = element.get("type")
        self.length(element.get("action_id"), MAX_ACTION_ID, f"{where}/action_id")
        if element.get("placeholder") is not None:
            self.text(
                element["placeholder"],
                f"{where}/placeholder",
                limit=MAX_PLACEHOLDER,
                plain_only=True,
            )
        if kind == "button":  # block-elements#button
            self.text(element.get("text"), f"{where}/text", limit=MAX_BUTTON_TEXT, plain_only=True)
            self.length(element.get("value"), MAX_BUTTON_VALUE, f"{where}/value")
            self.length(element.get("url"), MAX_BUTTON_URL, f"{where}/url")
        elif kind in SELECTS:  # block-elements#static_select, #static_multi_select
            if "option_groups" in element:
                groups = element.get("option_groups") or []
                options = []
                for g, group in enumerate(groups if isinstance(groups, list) else []):
                    at = f"{where}/option_groups/{g}"
                    options += self.options(
                        (group or {}).get("options"),
                        f"{at}/options",
                        limit=MAX_SELECT_OPTIONS,
                        plain_only=True,
                    )
            else:
                options = self.options(
                    element.get("options"),
                    f"{where}/options",
                    limit=MAX_SELECT_OPTIONS,
                    plain_only=True,
                )
            self.initial(element, options, where)
        elif kind == "overflow":  # block-elements#overflow
            self.options(
                element.get("options"),
                f"{where}/options",
                limit=MAX_OVERFLOW_OPTIONS,
                plain_only=True,
            )
        elif kind in CHOICES:  # block-elements#radio, #checkboxes
            options = self.options(
                element.get("options"),
                f"{where}/options",
                limit=MAX_CHOICE_OPTIONS,
                plain_only=False,
            )
            self.initial(element, options, where)
        elif kind == "plain_text_input":  # block-elements#input
            for key in ("min_length", "max_length"):
                value = element.get(key)
                if value is not None and (not isinstance(value, int) or value > MAX_INPUT_LENGTH):
                    self.add(f"must be less than {MAX_INPUT_LENGTH + 1}", f"{where}/{key}")

    def unique_action_ids(self, elements: Iterable[Any], where: str) -> None:
        """An action_id is unique among the action_ids of its block (block-elements,
        `action_id` of every interactive element)."""
        seen: set[str] = set()
        for i, element in enumerate(elements):
            action_id = element.get("action_id") if isinstance(element, dict) else None
            if action_id is None:
                continue
            if action_id in seen:
                self.add(f"duplicate action_id {action_id!r}", f"{where}/{i}/action_id")
            seen.add(action_id)

    def block(self, block: dict[str, Any], where: str) -> None:
        """The block types Slack's blocks reference gives limits for that matter here."""
        kind = block.get("type")
        if kind == "section":  # blocks#section
            if block.get("text") is None and not block.get("fields"):
                self.add("must provide text or fields", where)
            if block.get("text") is not None:
                self.text(block["text"], f"{where}/text", limit=MAX_SECTION_TEXT)
            fields = block.get("fields")
            if fields is not None:
                if not isinstance(fields, list):
                    self.add("must provide an array", f"{where}/fields")
                    fields = []
                if len(fields) > MAX_SECTION_FIELDS:
                    self.add(f"no more than {MAX_SECTION_FIELDS} items allowed", f"{where}/fields")
                for i, field in enumerate(fields):
                    self.text(field, f"{where}/fields/{i}", limit=MAX_FIELD_TEXT)
            if block.get("accessory") is not None:
                self.element(block["accessory"], f"{where}/accessory")
        elif kind == "header":  # blocks#header: plain_text only, 150
            self.text(block.get("text"), f"{where}/text", limit=MAX_HEADER_TEXT, plain_only=True)
        elif kind == "context":  # blocks#context: at most 10 elements
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                self.add("must provide at least 1 items", f"{where}/elements")
                return
            if len(elements) > MAX_CONTEXT_ELEMENTS:
                self.add(f"no more than {MAX_CONTEXT_ELEMENTS} items allowed", f"{where}/elements")
            for i, element in enumerate(elements):
                if isinstance(element, dict) and element.get("type") in ("plain_text", "mrkdwn"):
                    self.text(element, f"{where}/elements/{i}")
        elif kind == "actions":  # blocks#actions: at most 25 elements
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                self.add("must provide at least 1 items", f"{where}/elements")
                return
            if len(elements) > MAX_ACTIONS_ELEMENTS:
                self.add(f"no more than {MAX_ACTIONS_ELEMENTS} items allowed", f"{where}/elements")
            for i, element in enumerate(elements):
                self.element(element, f"{where}/elements/{i}")
            self.unique_action_ids(elements, f"{where}/elements")
        elif kind == "input":  # blocks#input
            self.text(block.get("label"), f"{where}/label", limit=MAX_INPUT_LABEL, plain_only=True)
            if block.get("hint") is not None:
                self.text(block["hint"], f"{where}/hint", limit=MAX_INPUT_HINT, plain_only=True)
            self.element(block.get("element"), f"{where}/element")


def block_problems(raw: Any, *, limit: int, root: str = "/blocks") -> list[str]:
    """Everything Slack would refuse in a list of blocks, as "<what> [json-pointer:...]"."""
    blocks = raw
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        return [f"must provide an array of objects [json-pointer:{root}]"]
    check = _Checker()
    if len(blocks) > limit:
        check.add(f"no more than {limit} items allowed", root)
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"{root}/{i}"
        try:
            parsed = Block.parse(block)
        except Exception as exc:  # the SDK raises several kinds on malformed input
            check.add(str(exc), where)
            continue
        if parsed is None:
            check.add(f"unsupported type: {block.get('type')}", f"{where}/type")
            continue
        if block.get("type") in WALKED_BLOCKS:
            check.block(block, where)
        else:
            try:
                parsed.validate_json()
            except Exception as exc:
                check.add(str(exc), where)
        block_id = block.get("block_id")
        if block_id is not None:
            check.length(block_id, MAX_BLOCK_ID, f"{where}/block_id")
            # https://api.slack.com/reference/block-kit/blocks: a block_id is unique within
            # its message or view.
            if block_id in seen_ids:
                check.add(f"duplicate block_id {block_id!r}", f"{where}/block_id")
            seen_ids.add(block_id)
    return check.problems


def check_blocks(raw: Any, *, limit: int) -> list[dict[str, Any]]:
    """Validates a message's blocks and returns them as plain dicts (or raises ApiError)."""
    blocks = parse_json_arg(raw, error="invalid_blocks_format")
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        raise ApiError("invalid_blocks_format", "blocks must be a JSON array of objects")
    problems = block_problems(blocks, limit=limit)
    if problems:
        raise ApiError("invalid_blocks", *problems)
    return blocks


def check_message_content(
    text: Any, blocks: Any, attachments: Any = None
) -> tuple[str, list[dict[str, Any]] | None]:
    """The rules shared by chat.postMessage, chat.update, chat.postEphemeral and response URLs."""
    text = "" if text is None else str(text)
    parsed_blocks = check_blocks(blocks, limit=MAX_MESSAGE_BLOCKS) if blocks else None
    if not text and not parsed_blocks and not attachments:
        raise ApiError("no_text")
    if len(text) > MAX_TEXT:
        raise ApiError("msg_too_long", f"text has {len(text)} characters, at most {MAX_TEXT}")
    return text, parsed_blocks


def check_view(raw: Any, *, kinds: tuple[str, ...]) -> dict[str, Any]:
    """Validates a modal or Home tab view (https://api.slack.com/reference/surfaces/views)
    and returns it as a dict; refusals are views.*'s `invalid_arguments`."""
    view = parse_json_arg(raw, error="invalid_arguments")
    if not isinstance(view, dict):
        raise ApiError("invalid_arguments", "must provide an object [json-pointer:/view]")
    if len(json.dumps(view)) > MAX_VIEW_BYTES:
        raise ApiError("view_too_large")
    kind = view.get("type")
    if kind not in kinds:
        raise ApiError(
            "invalid_arguments",
            f"must be a valid enum value ({' or '.join(kinds)}) [json-pointer:/view/type]",
            with_errors=False,
        )
    check = _Checker()
    if kind == "modal":
        if not view.get("title"):
            check.add("missing required field: title", "/view")
        for key in ("title", "submit", "close"):
            if view.get(key) is not None:
                check.text(view[key], f"/view/{key}", limit=MAX_TITLE, plain_only=True)
    check.length(
        str(view.get("private_metadata") or ""), MAX_PRIVATE_METADATA, "/view/private_metadata"
    )
    check.length(str(view.get("callback_id") or ""), MAX_CALLBACK_ID, "/view/callback_id")
    blocks = view.get("blocks", [])
    check.problems += block_problems(blocks, limit=MAX_VIEW_BLOCKS, root="/view/blocks")
    if kind == "modal" and not view.get("submit") and isinstance(blocks, list):
        for i, block in enumerate(blocks):
            if isinstance(block, dict) and block.get("type") == "input":
                check.add(
                    "must define `submit` to use an `input` block in modals", f"/view/blocks/{i}"
                )
                break
    if check.problems:
        raise ApiError("invalid_arguments", *check.problems, with_errors=False)
    view["blocks"] = blocks
    return view
