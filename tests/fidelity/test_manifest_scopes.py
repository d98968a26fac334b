"""manifest.yml and the code agree: every scope asked for is needed, every Web API method
the code calls has its scope, every subscribed event has a listener and back.

The scope of each method and event is the one Slack's reference page lists
(https://api.slack.com/methods/<method>, https://api.slack.com/events/<event>). Where a
page lists one scope per conversation type, the table keeps those of the conversations
the bot works in (public and private channels, its own DMs; never group DMs).
"""

from __future__ import annotations

import re
from pathlib import Path

from slack_bolt import App
from slack_sdk import WebClient

from bot import manifest
from bot.localslack import LocalSlack
from bot.oauth import OAuth
from storage.db import make_engine
from tests.bot.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
# Where the bot's own calls are; localslack answers calls, it makes none.
SOURCES = ("bot", "core", "storage")
NOT_THE_BOTS = ("bot/localslack/",)

METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.delete": ("chat:write",),
    "chat.getPermalink": (),
    "chat.postEphemeral": ("chat:write",),
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    # digest (channels), outbox duplicate checks (channels, threads, and DMs on D...)
    "conversations.history": ("channels:history", "groups:history", "im:history"),
    "conversations.replies": ("channels:history", "groups:history", "im:history"),
    # pulse audiences: a public or private channel
    "conversations.info": ("channels:read", "groups:read"),
    "conversations.members": ("channels:read", "groups:read"),
    # /cx config finds a channel by name among public and private channels
    "conversations.list": ("channels:read", "groups:read"),
    # the outbox's DMs: the D... channel of a user (im:write; channels:manage etc. are for
    # other conversation types)
    "conversations.open": ("im:write",),
    # files_upload_v2 = files.getUploadURLExternal + files.completeUploadExternal
    "files.upload_v2": ("files:write",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "reactions.add": ("reactions:write",),
    "reactions.get": ("reactions:read",),
    "team.info": ("team:read",),
    "usergroups.list": ("usergroups:read",),
    "usergroups.users.list": ("usergroups:read",),
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),
    "views.open": (),
    "views.publish": (),
    "views.push": (),
    "views.update": (),
}
EVENT_SCOPES: dict[str, tuple[str, ...]] = {
    "app_home_opened": (),
    "app_mention": ("app_mentions:read",),
    "member_joined_channel": ("channels:read", "groups:read"),
    "message.channels": ("channels:history",),
    "message.groups": ("groups:history",),
    "message.im": ("im:history",),
    "reaction_added": ("reactions:read",),
    "reaction_removed": ("reactions:read",),
}
# Slash commands and shortcuts (https://api.slack.com/scopes/commands).
FEATURE_SCOPES = ("commands",)
# Scopes that unlock fields rather than methods: users.list and users.info return
# `profile.email` only with users:read.email (https://api.slack.com/methods/users.list),
# and shout-outs match employees by e-mail. The pattern is what the code must still read.
FIELD_SCOPES: dict[str, str] = {"users:read.email": r"""profile\.get\(\s*["']email["']"""}

FAMILIES = (
    "apps|auth|bots|chat|conversations|dnd|emoji|files|pins|reactions|reminders|search"
    "|team|usergroups|users|views"
)
CALL = re.compile(rf"\bclient\.((?:{FAMILIES})_[A-Za-z0-9_]+)")
LITERAL = re.compile(rf"""["']((?:{FAMILIES})\.[A-Za-z0-9.]+)["']""")


def sources() -> dict[str, str]:
    found: dict[str, str] = {}
    for top in SOURCES:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if not rel.startswith(NOT_THE_BOTS):
                found[rel] = path.read_text(encoding="utf-8")
    return found


def method_name(attribute: str) -> str:
    """slack_sdk's method name for a WebClient attribute (`usergroups_users_list` ->
    `usergroups.users.list`; `files_upload_v2` keeps its own name)."""
    if attribute == "files_upload_v2":
        return "files.upload_v2"
    return attribute.replace("_", ".")


def called_methods() -> dict[str, list[str]]:
    """Web API method -> the files that call it (WebClient methods, and method names
    written out for api_call and the outbox)."""
    calls: dict[str, list[str]] = {}
    for rel, text in sources().items():
        names = {method_name(m) for m in CALL.findall(text)}
        names |= {m for m in LITERAL.findall(text) if not m.endswith((".py", ".po"))}
        for name in names:
            calls.setdefault(name, []).append(rel)
    return calls


def needed_scopes() -> dict[str, list[str]]:
    """scope -> why the code needs it."""
    why: dict[str, list[str]] = {}
    for method, files in called_methods().items():
        for scope in METHOD_SCOPES.get(method, ()):
            why.setdefault(scope, []).append(f"{method} ({', '.join(files)})")
    for event in manifest.bot_events():
        for scope in EVENT_SCOPES.get(event, ()):
            why.setdefault(scope, []).append(f"event {event}")
    features = manifest.load().get("features") or {}
    if features.get("slash_commands") or features.get("shortcuts"):
        for scope in FEATURE_SCOPES:
            why.setdefault(scope, []).append("slash commands and shortcuts")
    code = "\n".join(sources().values())
    for scope, pattern in FIELD_SCOPES.items():
        if re.search(pattern, code):
            why.setdefault(scope, []).append(f"reads {pattern}")
    return why


def test_every_method_the_code_calls_is_in_the_scope_table() -> None:
    unknown = {m: f for m, f in called_methods().items() if m not in METHOD_SCOPES}
    assert unknown == {}, f"add these methods' scopes from their Slack pages: {unknown}"


def test_every_method_the_code_calls_has_its_scope_in_the_manifest() -> None:
    granted = set(manifest.bot_scopes())
    missing = {s: why for s, why in needed_scopes().items() if s not in granted}
    assert missing == {}, f"manifest.yml lacks scopes the code needs: {missing}"


def test_the_manifest_asks_for_no_scope_the_code_does_not_need() -> None:
    needed = needed_scopes()
    unused = [s for s in manifest.bot_scopes() if s not in needed]
    assert unused == [], f"manifest.yml asks for scopes nothing uses: {unused}"


def test_every_subscribed_event_has_a_listener_and_back(bolt_app: App) -> None:
    listened: set[str] = bolt_app.event_types  # type: ignore[attr-defined]
    assert manifest.bot_event_types() - listened == set(), "subscribed, nobody listens"
    # Bolt's own token revocation listeners (OAuth mode) need no subscription here.
    assert listened - manifest.bot_event_types() == set(), "listened to, never delivered"
    for event in manifest.bot_events():
        assert event in EVENT_SCOPES, f"add {event}'s scopes from its Slack page"


def test_installs_ask_for_the_manifests_scopes(localslack: LocalSlack, sqlite_url: str) -> None:
    settings = make_settings(
        localslack, sqlite_url, slack_client_id="111.222", slack_client_secret="install-secret"
    )
    engine = make_engine(sqlite_url)
    try:
        oauth = OAuth(settings, engine, WebClient(base_url=localslack.base_url))
        assert oauth.scopes() == list(manifest.load()["oauth_config"]["scopes"]["bot"])
    finally:
        engine.dispose()
