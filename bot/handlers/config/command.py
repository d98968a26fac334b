"""`/cx config [show | set KEY VALUE | unset KEY]`: the workspace settings, for admins.

The same settings as `cxbot config`, checked and stored by the same functions
(`storage.settings_store.set` / `unset`, listed by `core.config_keys.listing`), so a value
set in Slack reads back exactly as one set on the command line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.admins import is_admin
from bot.handlers.cx.call import CxCall
from bot.i18n import N_, Translator
from bot.services import Services
from bot.text import echo, escape
from core import config_keys
from storage import settings_store

ADMINS_ONLY = N_(
    "Only admins can see and change cxbot's settings: the workspace's admins and owners, "
    "and the people named in CXBOT_ADMINS. Ask one of them to make the change."
)
ADMINS_NAMED = N_("Named in CXBOT_ADMINS: {people}.")
HOW_TO = N_(
    "Use `/cx config` to see the settings, `/cx config set KEY VALUE` to change one and "
    "`/cx config unset KEY` to bring back its default."
)
SHOW_TITLE = N_("Settings of this workspace")
SHOW_FOOTER = N_(
    "Change one with `/cx config set KEY VALUE`, bring back its default with "
    "`/cx config unset KEY`. The command line has the same: `cxbot config show`."
)
NOT_SET = N_("not set")
DEFAULT_VALUE = N_("{value} (default)")
FROM_ENVIRONMENT = N_("not set: {variable} applies ({value})")
# The command line's mask (config_keys.mask), in the reader's language.
HIDDEN = N_("(set, hidden)")
UNKNOWN_KEY = N_("“{key}” is not a setting.")
DID_YOU_MEAN = N_("Did you mean {keys}?")
VALID_KEYS = N_("The settings are: {keys}")
BAD_VALUE = N_("`{key}` was not changed: expected {expected}, got “{value}”.")
BAD_SECRET = N_("`{key}` was not changed: expected {expected}. The value you gave is not shown.")
NEEDS_KEY = N_("Which setting? For example `/cx config {verb} alerts.channel`.")
NEEDS_VALUE = N_("`/cx config set {key}` needs a value: {expected}.")
SET_DONE = N_("`{key}` is now {value}.")
SET_SECRET = N_("`{key}` is set; its value stays hidden.")
UNSET_DONE = N_("`{key}` is unset, so its default applies again.")
UNSET_NOTHING = N_("`{key}` was not set.")
NO_SUCH_CHANNEL = N_(
    "`{key}` was not changed: cxbot sees no channel called #{name}. Give the channel's ID "
    "(channel details in Slack show it), or add cxbot to the channel if it is private."
)

SECTION_LIMIT = 3000  # Slack's limit for a section's text
MAX_BLOCKS = 50  # Slack's limit for a message; slack_sdk does not check it
VALUE_LIMIT = 500  # a long list of promises is cut in the overview, kept whole when stored
ECHO_LIMIT = 100  # what was typed, shown back in a refusal

# /cx has `should_escape: true` (manifest.yml): a channel Slack resolved arrives as
# `<#C0123ABCD|cx-alerts>` and config_keys takes its ID. A bare `#cx-alerts` is one Slack
# left as typed (a channel the person cannot see, text pasted as is): looked up by name.
_CHANNEL_NAME = re.compile(r"^#([^\s#<>|,]{1,80})$")
_LIST_PAGES = 20  # conversations.list pages of 1,000 looked through for a name


# The help entry ("/cx config [...]", its summary) is /cx's own.
def config_subcommand(call: CxCall) -> None:
    if not is_admin(call.services, call.client, call.user_id):
        _refuse(call)
        return
    # The text was read from Slack's encoding before any listener (bot.text.from_slack).
    words = call.args.split(maxsplit=2)
    verb = words[0].lower() if words else "show"
    if verb == "show" and len(words) <= 1:
        _show(call)
    elif verb == "set":
        _set(call, words[1:])
    elif verb == "unset" and len(words) <= 2:
        _unset(call, words[1:])
    else:
        _reply(call, call.t.gettext(HOW_TO))


def channel_id(client: WebClient, name: str) -> str | None:
    """The ID of the channel called `name` that the bot can see (public channels, and
    private ones it is in), or None; Slack refusing (a missing scope, a rate limit) is None
    too, so the person is asked for the ID instead."""
    wanted = name.lower()
    cursor: str | None = None
    try:
        for _page in range(_LIST_PAGES):
            page = client.conversations_list(
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                cursor=cursor,
            )
            for channel in page.get("channels") or []:
                if str(channel.get("name") or "").lower() == wanted:
                    return str(channel["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
    except SlackApiError:
        return None
    return None


# --------------------------------------------------------------------------- the verbs


def _refuse(call: CxCall) -> None:
    t = call.t
    text = t.gettext(ADMINS_ONLY)
    named = sorted(call.services.settings.admins)
    if named:
        text += " " + t.gettext(ADMINS_NAMED, people=t.join(f"<@{u}>" for u in named))
    _reply(call, text)


def _show(call: CxCall) -> None:
    t = call.t
    stored = settings_store.get_settings(call.services.engine, team_id=call.team_id)
    entries = [_entry(row, t, call.services) for row in config_keys.listing(stored)]
    sections = _sections(entries)
    title = t.gettext(SHOW_TITLE)
    # Room for the header and the two context lines.
    room = MAX_BLOCKS - 3
    shown, rest = sections[:room], sections[room:]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        *({"type": "section", "text": _mrkdwn(text)} for text, _count in shown),
        _context(t.gettext(SHOW_FOOTER)),
    ]
    if rest:
        more = sum(count for _text, count in rest)
        line = t.ngettext(
            "{n} more setting is not shown here: `cxbot config show` lists them all.",
            "{n} more settings are not shown here: `cxbot config show` lists them all.",
            more,
        )
        blocks.append(_context(line))
    _reply(call, title, blocks)


def _set(call: CxCall, words: list[str]) -> None:
    t = call.t
    if not words:
        _reply(call, t.gettext(NEEDS_KEY, verb="set"))
        return
    key = words[0]
    try:
        spec = config_keys.lookup(key)
        if len(words) < 2 or not words[1].strip():
            _reply(call, t.gettext(NEEDS_VALUE, key=escape(key), expected=t.gettext(spec.expected)))
            return
        value = words[1]
        named = _CHANNEL_NAME.match(value.strip()) if config_keys.is_channel(key) else None
        if named:
            found = channel_id(call.client, named.group(1))
            if found is None:
                text = t.gettext(
                    NO_SUCH_CHANNEL, key=escape(key.strip()), name=echo(named.group(1), ECHO_LIMIT)
                )
                _reply(call, text)
                return
            value = found
        name, stored = settings_store.set(
            call.services.engine, team_id=call.team_id, key=key, value=value
        )
    except config_keys.ConfigError as exc:
        _refuse_value(call, exc)
        return
    if spec.secret:
        _reply(call, t.gettext(SET_SECRET, key=escape(name)))
    else:
        _reply(call, t.gettext(SET_DONE, key=escape(name), value=_value(name, stored, t)))


def _unset(call: CxCall, words: list[str]) -> None:
    t = call.t
    if not words:
        _reply(call, t.gettext(NEEDS_KEY, verb="unset"))
        return
    try:
        name = config_keys.normalise_key(words[0])
        removed = settings_store.unset(call.services.engine, team_id=call.team_id, key=name)
    except config_keys.ConfigError as exc:
        _refuse_value(call, exc)
        return
    _reply(call, t.gettext(UNSET_DONE if removed else UNSET_NOTHING, key=escape(name)))


def _refuse_value(call: CxCall, exc: config_keys.ConfigError) -> None:
    t = call.t
    if isinstance(exc, config_keys.BadValueError):
        expected = t.gettext(exc.expected)
        if config_keys.is_secret(exc.key):
            text = t.gettext(BAD_SECRET, key=escape(exc.key), expected=expected)
        else:
            text = t.gettext(
                BAD_VALUE, key=escape(exc.key), expected=expected, value=echo(exc.value, ECHO_LIMIT)
            )
        _reply(call, text)
        return
    key = exc.key if isinstance(exc, config_keys.UnknownKeyError) else ""
    suggestions = exc.suggestions if isinstance(exc, config_keys.UnknownKeyError) else []
    text = t.gettext(UNKNOWN_KEY, key=echo(key, ECHO_LIMIT))
    if suggestions:
        text += " " + t.gettext(DID_YOU_MEAN, keys=t.join(f"`{s}`" for s in suggestions))
    names = [*config_keys.KEYS, config_keys.ROUTE_PREFIX + "<segment>"]
    listed = t.gettext(VALID_KEYS, keys=", ".join(f"`{escape(n)}`" for n in names))
    blocks = [{"type": "section", "text": _mrkdwn(text)}]
    blocks += [{"type": "section", "text": _mrkdwn(part)} for part, _n in _sections([listed])]
    _reply(call, text, blocks)


# --------------------------------------------------------------------------- rendering


def _entry(row: config_keys.Shown, t: Translator, services: Services) -> str:
    if row.value is not None:
        shown = _value(row.key, row.value, t)
    elif row.default is not None:
        shown = t.gettext(DEFAULT_VALUE, value=_code(row.default))
    elif row.key in config_keys.ENVIRONMENT:
        variable = config_keys.ENVIRONMENT[row.key]
        value = getattr(services.settings, variable.lower())
        shown = t.gettext(FROM_ENVIRONMENT, variable=variable, value=_code(str(value)))
    else:
        shown = t.gettext(NOT_SET)
    return f"*{escape(row.key)}*  {shown}\n{t.gettext(row.spec.description)}"


def _value(key: str, value: str, t: Translator) -> str:
    """A stored value for mrkdwn: a channel also as a link, a secret never."""
    if config_keys.is_secret(key):
        return t.gettext(HIDDEN)
    if config_keys.is_channel(key):
        return f"{_code(value)} (<#{value}>)"
    return _code(value)


def _code(value: str) -> str:
    if len(value) > VALUE_LIMIT:
        value = value[:VALUE_LIMIT] + "…"
    # A backtick would end the code span early; the look-alike keeps the text readable.
    return "`" + escape(value).replace("`", "ˋ") + "`"


def _sections(entries: Iterable[str]) -> list[tuple[str, int]]:
    """Entries packed into section texts of at most SECTION_LIMIT characters, each with
    how many entries it holds."""
    sections: list[tuple[str, int]] = []
    lines: list[str] = []
    size = 0
    for entry in entries:
        entry = entry[:SECTION_LIMIT]
        if lines and size + 1 + len(entry) > SECTION_LIMIT:
            sections.append(("\n".join(lines), len(lines)))
            lines, size = [], 0
        size += len(entry) + (1 if lines else 0)
        lines.append(entry)
    if lines:
        sections.append(("\n".join(lines), len(lines)))
    return sections


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _reply(call: CxCall, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
    call.respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
