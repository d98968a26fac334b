"""Text as Slack hands it to an app: entity-encoded, with mentions and links as tokens.

One function, `encode`, for every piece of text localslack (or the test kit) sends to the
app in a person's name, in the three ways Slack sends it:

- `COMMAND_ESCAPED`: a slash command whose manifest entry has `should_escape: true`
  ("Escape channels, users, and links sent to your app"). Slack "will wrap URLs in angle
  brackets and it will translate channel or user mentions into their correlated IDs.
  Private channels will only include the channel ID ... while public channels will display
  the channel ID and name" (https://api.slack.com/interactivity/slash-commands, "Creating
  a Slash Command"). So a typed `@kari` arrives as `<@U0KARI|kari>` (the id with the
  name, as Slack sends it in practice; a mention written as `<@U0KARI>` is kept as such,
  the page's own example form), `#general` as `<#C0GENERAL|general>`, a private channel as
  `<#C0SECRET|>`, `https://x` as `<https://x>`, `@here` as `<!here>` and a user group as
  `<!subteam^S0TEAM|@team>` (https://api.slack.com/reference/surfaces/formatting
  #mentioning-users, #mentioning-groups, #special-mentions, #linking-urls).
- `COMMAND_PLAIN`: `should_escape: false` (Slack's default): "If disabled, the payload
  will repeat the plain text" (same page): mentions and channels arrive as the person
  sees them (`@kari`, `#general`, `@here`) and URLs unwrapped; a link the composer made
  with a label keeps Slack's `<url|label>` form (the page says nothing more on it).
- `MESSAGE`: a message's `text` as Slack stores it and returns it (a message shortcut's
  `message.text`, conversations.history): tokens as given, URLs wrapped by Slack's server
  ("URL detection is performed by the server", https://api.slack.com/docs/formatting).

In every case `&`, `<` and `>` that are not part of a token arrive as `&amp;`, `&lt;`,
`&gt;` ("All text in Slack uses the same system of escaping",
https://api.slack.com/reference/surfaces/formatting#escaping). Text that is already
encoded stays as it is (`&amp;` is not encoded again, a token is kept), so test authors may
write either what a person typed or what Slack delivers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

COMMAND_ESCAPED = "command_escaped"
COMMAND_PLAIN = "command_plain"
MESSAGE = "message"
MODES = (COMMAND_ESCAPED, COMMAND_PLAIN, MESSAGE)

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"

# A Slack token: <@U..>, <#C..>, <!here>, <!subteam^S..>, <https://..>, <mailto:..>,
# each optionally with |label. Anything else in angle brackets is text to be encoded.
_TOKEN = re.compile(
    r"<(@[UW][A-Z0-9]+|#C[A-Z0-9]+|![a-z]+(?:\^[^|<>]*)?|(?:https?|mailto):[^|<>\s]+)(?:\|([^<>]*))?>"
)
_ENTITY = re.compile(r"&(?:amp|lt|gt);")
_TYPED = re.compile(
    r"(?P<url>https?://[^\s<>|]+)"
    r"|(?<![\w@#&/])@(?P<user>[\w.\-]+)"
    r"|(?<![\w@#&/])#(?P<channel>[\w\-]+)"
)
_SPECIAL = ("here", "channel", "everyone")
_URL_TRAILERS = ".,;:!?)'\""


@dataclass
class Directory:
    """Who and what names resolve to, as the workspace knows them at sending time."""

    users: dict[str, str] = field(default_factory=dict)  # id -> name
    channels: dict[str, str] = field(default_factory=dict)  # id -> name
    private_channels: set[str] = field(default_factory=set)  # ids
    groups: dict[str, str] = field(default_factory=dict)  # id -> handle
    user_names: dict[str, str] = field(default_factory=dict)  # lower name -> id
    channel_names: dict[str, str] = field(default_factory=dict)  # lower name -> id
    group_handles: dict[str, str] = field(default_factory=dict)  # lower handle -> id


def escape_text(text: str) -> str:
    """`&`, `<`, `>` as entities, leaving entities that are already there alone."""
    out = []
    pos = 0
    for match in _ENTITY.finditer(text):
        out.append(_escape_all(text[pos : match.start()]))
        out.append(match.group(0))
        pos = match.end()
    out.append(_escape_all(text[pos:]))
    return "".join(out)


def _escape_all(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _lookup(names: dict[str, str], name: str) -> tuple[str, str] | None:
    """(id, the name as matched); trailing punctuation is not part of a name."""
    candidate = name
    while candidate:
        found = names.get(candidate.lower())
        if found:
            return found, candidate
        if candidate[-1] not in ".-":
            return None
        candidate = candidate[:-1]
    return None


def _channel_label(cid: str, directory: Directory) -> str:
    """Slack names public channels in escaped command text and leaves private ones blank."""
    return "" if cid in directory.private_channels else directory.channels[cid]


def _typed(segment: str, directory: Directory, mode: str) -> str:
    """A stretch of text outside tokens, with what Slack turns into tokens in `mode`."""
    out = []
    pos = 0
    for match in _TYPED.finditer(segment):
        out.append(escape_text(segment[pos : match.start()]))
        pos = match.end()
        raw = match.group(0)
        if match.group("url"):
            url = raw.rstrip(_URL_TRAILERS)
            rest = raw[len(url) :]
            wrapped = mode in (COMMAND_ESCAPED, MESSAGE)
            out.append(f"<{escape_text(url)}>" if wrapped else escape_text(url))
            out.append(escape_text(rest))
            continue
        if mode != COMMAND_ESCAPED:
            out.append(escape_text(raw))
            continue
        if match.group("user"):
            name = match.group("user")
            if name.lower() in _SPECIAL:
                out.append(f"<!{name.lower()}>")
                continue
            user = _lookup(directory.user_names, name)
            if user is not None:
                uid, matched = user
                out.append(f"<@{uid}|{directory.users[uid]}>{escape_text(name[len(matched) :])}")
                continue
            group = _lookup(directory.group_handles, name)
            if group is not None:
                gid, matched = group
                handle = directory.groups[gid]
                out.append(f"<!subteam^{gid}|@{handle}>{escape_text(name[len(matched) :])}")
                continue
        else:
            name = match.group("channel")
            channel = _lookup(directory.channel_names, name)
            if channel is not None:
                cid, matched = channel
                out.append(f"<#{cid}|{_channel_label(cid, directory)}>")
                out.append(escape_text(name[len(matched) :]))
                continue
        out.append(escape_text(raw))
    out.append(escape_text(segment[pos:]))
    return "".join(out)


def _token(body: str, label: str | None, directory: Directory, mode: str) -> str:
    """A token the caller wrote (what the composer inserts when a person picks a mention)."""
    kind = body[0]
    if mode == COMMAND_PLAIN:
        if kind == "@":
            return "@" + (directory.users.get(body[1:]) or label or body[1:])
        if kind == "#":
            return "#" + (directory.channels.get(body[1:]) or label or body[1:])
        if kind == "!":
            name, _, ref = body[1:].partition("^")
            if name in _SPECIAL:
                return "@" + name
            if name == "subteam":
                return label or "@" + directory.groups.get(ref, ref)
            return escape_text(label) if label is not None else f"<{body}>"
        if label is None:
            return escape_text(body)
        return f"<{escape_text(body)}|{escape_text(label)}>"
    if mode == COMMAND_ESCAPED and label is None and kind == "#" and body[1:] in directory.channels:
        label = _channel_label(body[1:], directory)
    if label is None:
        return f"<{escape_text(body)}>"
    return f"<{escape_text(body)}|{escape_text(label)}>"


def encode(text: str, directory: Directory, mode: str) -> str:
    """`text` (typed by a person, or already as Slack delivers it) as Slack sends it in
    `mode` (see the module docstring). Idempotent: encoding twice changes nothing more."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    out = []
    pos = 0
    for match in _TOKEN.finditer(text):
        out.append(_typed(text[pos : match.start()], directory, mode))
        out.append(_token(match.group(1), match.group(2), directory, mode))
        pos = match.end()
    out.append(_typed(text[pos:], directory, mode))
    return "".join(out)


@lru_cache(maxsize=1)
def _manifest_escapes() -> dict[str, bool]:
    import yaml

    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8")) or {}
    commands = (manifest.get("features") or {}).get("slash_commands") or []
    return {str(c["command"]): bool(c.get("should_escape", False)) for c in commands}


def should_escape(command: str) -> bool:
    """The command's `should_escape` in manifest.yml; false when absent, Slack's default
    (https://api.slack.com/reference/manifests#features, slash_commands.should_escape)."""
    return _manifest_escapes().get(command, False)
