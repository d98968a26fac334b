"""Block Kit as readable terminal text (the sandbox prints what the bot posts with this).

Buttons are numbered (`[1] Claim`) so a person at the terminal can press them, and a
modal's inputs are numbered (`(1) Customer`) so they can be filled in. Slack's mrkdwn is
simplified: `*bold*` loses its stars, `<@U123>` becomes `@name`, links show their label
and address.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

RULE = "─" * 48
EMOJI = {
    "warning": "⚠",
    "rotating_light": "🚨",
    "tada": "🎉",
    "star": "⭐",
    "star2": "🌟",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔",
    "x": "✖",
    "bulb": "💡",
    "mega": "📣",
    "loudspeaker": "📢",
    "bar_chart": "📊",
    "chart_with_upwards_trend": "📈",
    "chart_with_downwards_trend": "📉",
    "arrow_up": "↑",
    "arrow_down": "↓",
    "arrow_right": "→",
    "+1": "👍",
    "thumbsup": "👍",
    "clap": "👏",
    "raised_hands": "🙌",
    "speech_balloon": "💬",
    "bell": "🔔",
    "hourglass": "⌛",
    "telephone_receiver": "📞",
    "memo": "📝",
}


@dataclass(frozen=True)
class Button:
    number: int
    action_id: str
    block_id: str
    text: str
    value: str | None
    url: str | None
    type: str = "button"


@dataclass(frozen=True)
class Input:
    number: int
    block_id: str
    action_id: str
    type: str  # the element type: plain_text_input, static_select, users_select, ...
    label: str
    optional: bool
    options: tuple[tuple[str, str], ...] = ()  # (value, text) of select-like elements
    multiline: bool = False
    initial: str | None = None


@dataclass
class Rendered:
    text: str
    buttons: list[Button] = field(default_factory=list)
    inputs: list[Input] = field(default_factory=list)


class Names:
    """How ids read at the terminal: users as @name, channels as #name."""

    def __init__(
        self, users: Mapping[str, str] | None = None, channels: Mapping[str, str] | None = None
    ) -> None:
        self.users = dict(users or {})
        self.channels = dict(channels or {})

    def user(self, user_id: str) -> str:
        return "@" + self.users.get(user_id, user_id)

    def channel(self, channel_id: str) -> str:
        name = self.channels.get(channel_id)
        if name is None and channel_id.startswith("D"):
            return "DM"
        return "#" + (name or channel_id)


_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")


def mrkdwn_to_text(text: str, names: Names | None = None) -> str:
    """Slack mrkdwn as plain text for a terminal."""
    names = names or Names()

    def link(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("@"):
            return "@" + label if label else names.user(target[1:])
        if target.startswith("#"):
            return "#" + label if label else names.channel(target[1:])
        if target.startswith("!subteam^"):
            return label or "@group"
        if target.startswith("!date^"):
            return label or ""
        if target.startswith("!"):
            return "@" + target[1:]
        if label and label != target:
            return f"{label} ({target})"
        return target

    text = _LINK.sub(link, text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    text = _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)
    text = "\n".join(
        "│ " + line[4:].lstrip() if line.startswith("&gt;") else line for line in text.split("\n")
    )
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text_of(obj: Any, names: Names) -> str:
    if isinstance(obj, str):
        return obj
    if not isinstance(obj, Mapping):
        return ""
    raw = str(obj.get("text") or "")
    return mrkdwn_to_text(raw, names) if obj.get("type") == "mrkdwn" else raw


def render_message(
    message: Mapping[str, Any], names: Names | None = None, *, first_button: int = 1
) -> Rendered:
    """A posted message: its blocks when it has them, else its text."""
    names = names or Names()
    blocks = message.get("blocks") or []
    if blocks:
        return render_blocks(blocks, names, first_button=first_button)
    return Rendered(mrkdwn_to_text(str(message.get("text") or ""), names))


def render_view(
    view: Mapping[str, Any], names: Names | None = None, *, first_button: int = 1
) -> Rendered:
    """A modal or Home view: title, blocks, numbered inputs and the submit label."""
    names = names or Names()
    rendered = render_blocks(view.get("blocks") or [], names, first_button=first_button)
    title = _text_of(view.get("title"), names)
    lines = []
    if title:
        lines += [f"┌ {title}", ""]
    lines.append(rendered.text)
    if view.get("type") == "modal" and rendered.inputs:
        submit = _text_of(view.get("submit"), names) or "Submit"
        lines += ["", f"[:submit field=value ...] {submit}"]
    rendered.text = "\n".join(lines)
    return rendered


def render_blocks(
    blocks: list[Mapping[str, Any]], names: Names | None = None, *, first_button: int = 1
) -> Rendered:
    names = names or Names()
    out = Rendered("")
    lines: list[str] = []
    counter = [first_button]

    def button(element: Mapping[str, Any], block_id: str) -> str:
        number = counter[0]
        counter[0] += 1
        label = _text_of(element.get("text"), names) or element.get("action_id", "")
        out.buttons.append(
            Button(
                number=number,
                action_id=str(element.get("action_id") or ""),
                block_id=block_id,
                text=label,
                value=element.get("value"),
                url=element.get("url"),
                type=str(element.get("type") or "button"),
            )
        )
        return f"[{number}] {label}"

    for index, block in enumerate(blocks):
        kind = block.get("type")
        block_id = str(block.get("block_id") or f"b{index}")
        if kind == "header":
            title = _text_of(block.get("text"), names)
            lines += [title.upper(), "═" * min(len(title), 48)]
        elif kind == "section":
            if block.get("text"):
                lines.append(_text_of(block.get("text"), names))
            fields = [_text_of(f, names) for f in block.get("fields") or []]
            for item in fields:
                lines += ["  " + part for part in item.split("\n")]
            accessory = block.get("accessory") or {}
            if accessory.get("type") == "button":
                lines.append("  " + button(accessory, block_id))
            elif accessory:
                lines.append("  " + _element_summary(accessory, names))
        elif kind == "context":
            parts = []
            for element in block.get("elements") or []:
                if element.get("type") == "image":
                    parts.append(f"[{element.get('alt_text', 'image')}]")
                else:
                    parts.append(_text_of(element, names))
            lines.append("  " + " · ".join(p for p in parts if p))
        elif kind == "divider":
            lines.append(RULE)
        elif kind == "actions":
            parts = []
            for element in block.get("elements") or []:
                if element.get("type") == "button":
                    parts.append(button(element, block_id))
                else:
                    parts.append(_element_summary(element, names))
            lines.append("  ".join(parts))
        elif kind == "image":
            title = _text_of(block.get("title"), names)
            lines.append(f"[image: {title or block.get('alt_text', '')}]")
        elif kind == "input":
            lines.append(_input(block, block_id, out, names))
        elif kind == "rich_text":
            lines.append(_rich_text(block, names))
        else:
            lines.append(f"[{kind}]")
    out.text = "\n".join(line.rstrip() for line in lines)
    return out


def _element_summary(element: Mapping[str, Any], names: Names) -> str:
    placeholder = _text_of(element.get("placeholder"), names)
    return f"<{element.get('type', 'element')}{': ' + placeholder if placeholder else ''}>"


def _options(element: Mapping[str, Any], names: Names) -> tuple[tuple[str, str], ...]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    return tuple((str(o.get("value")), _text_of(o.get("text"), names)) for o in options)


def _input(block: Mapping[str, Any], block_id: str, out: Rendered, names: Names) -> str:
    element = block.get("element") or {}
    number = len(out.inputs) + 1
    initial = element.get("initial_value")
    if initial is None and element.get("initial_option"):
        initial = element["initial_option"].get("value")
    item = Input(
        number=number,
        block_id=block_id,
        action_id=str(element.get("action_id") or block_id),
        type=str(element.get("type") or "plain_text_input"),
        label=_text_of(block.get("label"), names),
        optional=bool(block.get("optional")),
        options=_options(element, names),
        multiline=bool(element.get("multiline")),
        initial=initial,
    )
    out.inputs.append(item)
    head = f"({number}) {item.label} [{item.block_id}]"
    if item.optional:
        head += " (optional)"
    lines = [head]
    if item.options:
        lines.append("    " + ", ".join(f"{value}={text}" for value, text in item.options))
    elif item.type != "plain_text_input":
        lines.append(f"    <{item.type}>")
    if initial:
        lines.append(f"    = {initial}")
    hint = _text_of(block.get("hint"), names)
    if hint:
        lines.append("    " + hint)
    return "\n".join(lines)


def _rich_text(block: Mapping[str, Any], names: Names) -> str:
    parts: list[str] = []

    def walk(elements: list[Mapping[str, Any]]) -> None:
        for element in elements:
            kind = element.get("type")
            if kind == "text":
                parts.append(str(element.get("text", "")))
            elif kind == "user":
                parts.append(names.user(str(element.get("user_id", ""))))
            elif kind == "channel":
                parts.append(names.channel(str(element.get("channel_id", ""))))
            elif kind == "link":
                parts.append(str(element.get("text") or element.get("url", "")))
            elif kind == "emoji":
                parts.append(EMOJI.get(str(element.get("name")), f":{element.get('name')}:"))
            elif "elements" in element:
                walk(element["elements"])
                if kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
                    parts.append("\n")

    walk(block.get("elements") or [])
    return "".join(parts).rstrip("\n")


def indent(text: str, prefix: str = "    ") -> str:
    return textwrap.indent(text, prefix, lambda _line: True)
