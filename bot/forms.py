"""What a submitted modal holds, and the private answer a listener gives the person.

Slack sends a view's inputs as `view.state.values[block_id][action_id]`
(https://api.slack.com/reference/interaction-payloads/views#view_submission): a text
input's `value`, a select's `selected_option.value`.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Respond


def _element(view: dict[str, Any], block: str, action: str) -> dict[str, Any]:
    values = (view.get("state") or {}).get("values") or {}
    element = (values.get(block) or {}).get(action)
    return element if isinstance(element, dict) else {}


def text_value(view: dict[str, Any], block: str, action: str) -> str:
    """A text input's value ("" when left empty)."""
    return str(_element(view, block, action).get("value") or "")


def selected_value(view: dict[str, Any], block: str, action: str) -> str | None:
    """A select's chosen option value, or None."""
    option = _element(view, block, action).get("selected_option") or {}
    value = option.get("value") if isinstance(option, dict) else None
    return str(value) if value else None


def tell(respond: Respond, text: str) -> None:
    """A reply only the person sees, beside the message they acted on."""
    respond(text=text, response_type="ephemeral", replace_original=False)
