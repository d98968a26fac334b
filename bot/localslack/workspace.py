"""The workspace a LocalSlack serves: people, channels, and everything the app did.

All state sits behind one re-entrant lock so the HTTP threads and the test
thread see a consistent picture. Every new record bumps a version counter on a
Condition, which is what `wait_for` waits on, and is handed to subscribers
after the lock is released.
"""

from __future__ import annotations

import copy
import logging
import pickle
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.localslack import formatting
from bot.localslack.validation import ApiError

log = logging.getLogger(__name__)

T = TypeVar("T")

KINDS = ("message", "update", "ephemeral", "response", "home", "modal", "file", "reaction")

RESPONSE_URL_TTL = 30 * 60.0  # Slack: a response URL works for 30 minutes ...
RESPONSE_URL_USES = 5  # ... and at most 5 times
STATE_VERSION = 1  # of what `Workspace.state` returns


@dataclass(frozen=True)
class Call:
    """One request the app made, as the server saw and answered it."""

    method: str
    args: dict[str, Any]
    ok: bool
    error: str | None
    status: int
    at: float  # time.time() when the answer was sent
    token: str | None
    # An uncertain call (set_faults(after_effect=True)): it did what it asked for, but
    # the answer was a failure or no answer at all.
    took_effect: bool = False


@dataclass
class _Trigger:
    user: str
    expires: float
    used: bool = False


@dataclass
class _ResponseUrl:
    channel: str
    user: str
    message_ts: str | None
    expires: float
    uses: int = 0


@dataclass
class _Pending:
    """Events to hand to subscribers once the state lock is released."""

    items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def snapshot(obj: T) -> T:
    """A deep copy for readers (pickle is several times faster than copy.deepcopy here)."""
    copied: T = pickle.loads(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))
    return copied


def dm_id(user: str) -> str:
    """The id of the bot's DM with `user`: stable, so tests and the sandbox can name it."""
    return "D" + user.lstrip("UW")


def _tz_facts(tz: str) -> tuple[str, int]:
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {tz!r}") from exc
    now = datetime.now(zone)
    offset = now.utcoffset()
    return now.tzname() or tz, int(offset.total_seconds()) if offset else 0


class Workspace:
    """State and read accessors; the HTTP layer lives in `bot.localslack.server`."""

    def __init__(
        self,
        *,
        team_id: str = "T0CXLOCAL",
        team_name: str = "Local workspace",
        bot_token: str = "xoxb-local-token",
        bot_user_id: str = "U0CXBOT",
        trigger_ttl: float = 3.0,
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.bot_token = bot_token
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + bot_user_id.lstrip("UW")
        self.app_id = "A" + bot_user_id.lstrip("UW")
        self.trigger_ttl = trigger_ttl
        self.url = "http://127.0.0.1:0"  # set when the server starts

        self._lock = threading.RLock()
        self._changed = threading.Condition(threading.Lock())
        self._version = 0
        self._subscribers: list[Callable[[str, dict[str, Any]], None]] = []

        self._users: dict[str, dict[str, Any]] = {}
        self._partner_teams: dict[str, dict[str, Any]] = {}  # Slack Connect organisations
        self._channels: dict[str, dict[str, Any]] = {}
        self._members: dict[str, list[str]] = {}
        self._usergroups: dict[str, dict[str, Any]] = {}
        self._messages: list[dict[str, Any]] = []
        self._by_ts: dict[tuple[str, str], dict[str, Any]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._responses: list[dict[str, Any]] = []
        self._home: dict[str, dict[str, Any]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._closed_views: set[str] = set()
        self._files: dict[str, dict[str, Any]] = {}
        self._reactions: list[dict[str, Any]] = []
        self._triggers: dict[str, _Trigger] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._last_ts_us = 0
        self._seq = 0
        self.calls: list[Call] = []

        self.add_user(
            bot_user_id, "cxbot", real_name="CX Bot", is_bot=True, locale="en-US", tz="UTC"
        )

    # ------------------------------------------------------------------ setup
    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        locale: str = "en-US",
        tz: str = "Europe/Oslo",
        is_bot: bool = False,
        deleted: bool = False,
        is_admin: bool = False,
        email: str | None = None,
    ) -> dict[str, Any]:
        """Adds (or replaces) a member of the workspace; returns the user as users.info shows it."""
        tz_label, tz_offset = _tz_facts(tz)
        real = real_name or name
        profile: dict[str, Any] = {
            "real_name": real,
            "real_name_normalized": real,
            "display_name": name,
            "display_name_normalized": name,
            "image_48": f"https://avatars.localslack.invalid/{user_id}.png",
            "team": self.team_id,
        }
        if email:
            profile["email"] = email
        if is_bot:
            profile["bot_id"] = "B" + user_id.lstrip("UW")
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": deleted,
            "real_name": real,
            "tz": tz,
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "is_admin": is_admin,
            "is_owner": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "updated": int(time.time()),
            "profile": profile,
            "locale": locale,
        }
        with self._lock:
            self._users[user_id] = user
        return self._public_user(user, include_locale=True)

    def add_external_user(
        self,
        user_id: str,
        name: str,
        *,
        team_id: str,
        team_domain: str | None = None,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        """Adds a member of a partner organisation, reachable through Slack Connect channels
        (add_channel(..., is_ext_shared=True, members=[...])). Their users.info names their
        own team (https://api.slack.com/types/user: `team_id`), and what they press or
        submit carries it (see interaction_identity). Other keywords as for add_user."""
        if team_id == self.team_id:
            raise ValueError("a partner's team_id must differ from the workspace's")
        self.add_user(user_id, name, **kw)
        with self._lock:
            user = self._users[user_id]
            user["team_id"] = team_id
            user["profile"]["team"] = team_id
            if enterprise_id:
                user["enterprise_user"] = {"id": user_id, "enterprise_id": enterprise_id}
            self._partner_teams[team_id] = {
                "id": team_id,
                "domain": team_domain or team_id.lower(),
                "enterprise_id": enterprise_id,
                "enterprise_name": enterprise_name,
            }
            return self._public_user(user, include_locale=True)

    def interaction_identity(self, user: str) -> dict[str, Any]:
        """The `team`, `user`, `enterprise` and `is_enterprise_install` fields of an
        interaction payload (block_actions, view_submission, shortcuts) sent for `user`.

        A partner organisation's member brings their own team: `team.id` and
        `user.team_id` are theirs, `enterprise` is their org, while the app
        (`api_app_id`) and the installation (`view.app_installed_team_id`) stay this
        workspace's (slackapi/bolt-python tests/scenario_tests/test_view_submission.py,
        `connect_channel_payload`; slack_bolt/request/internals.py extract_team_id reads
        `view.app_installed_team_id` first for that reason)."""
        with self._lock:
            known = self._users.get(user)
            name = str(known["name"]) if known else user.lower()
            team_id = str(known["team_id"]) if known else self.team_id
            partner = self._partner_teams.get(team_id)
        if partner is None:
            return {
                "team": {"id": self.team_id, "domain": self._domain()},
                "user": {"id": user, "username": name, "name": name, "team_id": self.team_id},
                "enterprise": None,
                "is_enterprise_install": False,
            }
        team: dict[str, Any] = {"id": team_id, "domain": partner["domain"]}
        enterprise = None
        if partner["enterprise_id"]:
            team["enterprise_id"] = partner["enterprise_id"]
            team["enterprise_name"] = partner["enterprise_name"]
            enterprise = {"id": partner["enterprise_id"], "name": partner["enterprise_name"]}
        return {
            "team": team,
            "user": {"id": user, "username": name, "name": name, "team_id": team_id},
            "enterprise": enterprise,
            "is_enterprise_install": False,
        }

    def team_of(self, user: str) -> str:
        """The team a user belongs to: this workspace's, or their partner organisation's."""
        with self._lock:
            known = self._users.get(user)
            return str(known["team_id"]) if known else self.team_id

    def _domain(self) -> str:
        return "".join(ch for ch in self.team_name.lower() if ch.isalnum()) or "local"

    # ------------------------------------------------------- text Slack sends
    def directory(self) -> formatting.Directory:
        """Names as mentions resolve them right now (for bot.localslack.formatting)."""
        found = formatting.Directory()
        with self._lock:
            for uid, user in self._users.items():
                if user["deleted"]:
                    continue
                found.users[uid] = str(user["name"])
                for name in (user["name"], user["profile"].get("display_name")):
                    if name:
                        found.user_names.setdefault(str(name).lower(), uid)
            for cid, chan in self._channels.items():
                if chan.get("name") and not chan.get("is_im") and not chan.get("is_mpim"):
                    found.channels[cid] = str(chan["name"])
                    if chan.get("is_private"):
                        found.private_channels.add(cid)
                    found.channel_names.setdefault(str(chan["name"]).lower(), cid)
            for gid, group in self._usergroups.items():
                found.groups[gid] = str(group["handle"])
                found.group_handles.setdefault(str(group["handle"]).lower(), gid)
        return found

    def command_text(self, text: str, *, should_escape: bool) -> str:
        """A slash command's `text` as Slack sends it (bot.localslack.formatting)."""
        mode = formatting.COMMAND_ESCAPED if should_escape else formatting.COMMAND_PLAIN
        return formatting.encode(text, self.directory(), mode)

    def stored_text(self, text: str) -> str:
        """A person's message text as Slack stores and returns it (a message shortcut's
        `message.text`; bot.localslack.formatting)."""
        return formatting.encode(text, self.directory(), formatting.MESSAGE)

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        members: Iterable[str] = (),
        bot_member: bool = True,
        is_ext_shared: bool = False,
        is_private: bool = False,
    ) -> dict[str, Any]:
        """Adds (or replaces) a channel; the bot joins it unless bot_member is False."""
        member_list = list(dict.fromkeys(members))
        with self._lock:
            for uid in member_list:
                if uid not in self._users:
                    raise ValueError(f"add_channel({channel_id!r}): unknown member {uid!r}")
            if bot_member and self.bot_user_id not in member_list:
                member_list.append(self.bot_user_id)
            self._channels[channel_id] = {
                "id": channel_id,
                "name": name.lstrip("#"),
                "name_normalized": name.lstrip("#").lower(),
                "is_channel": not is_private,
                "is_group": is_private,
                "is_im": False,
                "is_mpim": False,
                "is_private": is_private,
                "is_archived": False,
                "is_general": name.lstrip("#") == "general",
                "is_shared": is_ext_shared,
                "is_ext_shared": is_ext_shared,
                "is_org_shared": False,
                "created": int(time.time()),
                "creator": member_list[0] if member_list else self.bot_user_id,
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0},
            }
            self._members[channel_id] = member_list
            return self._public_channel(channel_id)

    def add_usergroup(self, group_id: str, handle: str, users: Iterable[str]) -> dict[str, Any]:
        """Adds (or replaces) a user group (`@handle`)."""
        user_list = list(dict.fromkeys(users))
        with self._lock:
            for uid in user_list:
                if uid not in self._users:
                    raise ValueError(f"add_usergroup({group_id!r}): unknown user {uid!r}")
            group = {
                "id": group_id,
                "team_id": self.team_id,
                "handle": handle.lstrip("@"),
                "name": handle.lstrip("@"),
                "is_usergroup": True,
                "date_delete": 0,
                "users": user_list,
                "user_count": len(user_list),
            }
            self._usergroups[group_id] = group
            return copy.deepcopy(group)

    def open_dm(self, user: str) -> str:
        """The DM channel id between the bot and `user` (what conversations.open returns)."""
        with self._lock:
            target = self._users.get(user)
            if target is None:
                raise ApiError("user_not_found")
            if target["deleted"]:
                raise ApiError("user_disabled")
            channel = dm_id(user)
            if channel not in self._channels:
                self._channels[channel] = {
                    "id": channel,
                    "created": int(time.time()),
                    "is_im": True,
                    "is_org_shared": False,
                    "user": user,
                    "is_user_deleted": False,
                    "priority": 0,
                }
                self._members[channel] = [user, self.bot_user_id]
            return channel

    def set_member(self, channel: str, user: str, member: bool = True) -> None:
        """Adds a user to (or removes one from) a channel, e.g. the bot joining or leaving."""
        with self._lock:
            if channel not in self._members:
                raise ValueError(f"unknown channel {channel!r}")
            members = self._members[channel]
            if member and user not in members:
                members.append(user)
            elif not member and user in members:
                members.remove(user)

    def new_trigger_id(self, user: str = "U0ADA") -> str:
        """A trigger id as an interaction would carry; valid for `trigger_ttl` seconds, once."""
        with self._lock:
            self._seq += 1
            trigger = f"{self._seq}.{self.team_id[1:]}.{secrets.token_hex(12)}"
            self._triggers[trigger] = _Trigger(user, time.monotonic() + self.trigger_ttl)
            return trigger

    def response_url(
        self, channel: str = "C0GENERAL", user: str = "U0ADA", *, message_ts: str | None = None
    ) -> str:
        """A fresh response URL as an interaction would carry. With `message_ts` (of a message
        or an ephemeral message) it belongs to that message, so replace/delete_original act on it.
        """
        with self._lock:
            key = secrets.token_urlsafe(18)
            self._response_urls[key] = _ResponseUrl(
                channel, user, message_ts, time.monotonic() + RESPONSE_URL_TTL
            )
        return f"{self.url}/responses/{self.team_id}/{key}"

    def close_view(self, view_id: str) -> None:
        """Marks a modal as closed (the user submitted or dismissed it)."""
        with self._lock:
            self._closed_views.add(view_id)

    # ------------------------------------------------------- keeping and person-made
    def state(self) -> dict[str, Any]:
        """What the sandbox keeps across restarts (JSON-safe): people, channels, messages,
        reactions and Home tabs. Calls, triggers and response URLs are per run."""
        with self._lock:
            return snapshot(
                {
                    "version": STATE_VERSION,
                    "users": self._users,
                    "channels": self._channels,
                    "members": self._members,
                    "usergroups": self._usergroups,
                    "messages": self._messages,
                    "reactions": self._reactions,
                    "home": self._home,
                    "last_ts_us": self._last_ts_us,
                }
            )

    def restore(self, state: dict[str, Any]) -> None:
        """Take back what `state()` returned (an unknown version is ignored)."""
        if state.get("version") != STATE_VERSION:
            return
        with self._lock:
            self._users.update(state.get("users") or {})
            self._channels.update(state.get("channels") or {})
            self._members.update(state.get("members") or {})
            self._usergroups.update(state.get("usergroups") or {})
            self._messages = list(state.get("messages") or [])
            self._by_ts = {(str(m["channel"]), str(m["ts"])): m for m in self._messages}
            self._reactions = list(state.get("reactions") or [])
            self._home = dict(state.get("home") or {})
            self._last_ts_us = max(self._last_ts_us, int(state.get("last_ts_us") or 0))
        self._bump()

    def post_as(self, user: str, channel: str, text: str) -> dict[str, Any]:
        """A message a person wrote (the sandbox's `:say`), stored as Slack stores it."""
        ts = self._next_ts()
        msg: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "ts": ts,
            "text": self.stored_text(text),
            "blocks": [],
            "user": user,
            "team": self.team_id,
            "thread_ts": None,
            "metadata": None,
            "attachments": [],
            "files": [],
            "reactions": [],
            "updated": False,
            "via": "person",
            "_deleted": False,
        }
        with self._lock:
            self._messages.append(msg)
            self._by_ts[(channel, ts)] = msg
        self._bump()
        return self._message_view(msg)

    def react_as(self, user: str, channel: str, ts: str, name: str) -> bool:
        """A person's reaction on a message; False when the message is unknown or the
        person had already reacted so."""
        with self._lock:
            msg = self._by_ts.get((channel, ts))
            if msg is None or msg["_deleted"]:
                return False
            for reaction in msg["reactions"]:
                if reaction["name"] == name:
                    if user in reaction["users"]:
                        return False
                    reaction["users"].append(user)
                    reaction["count"] += 1
                    break
            else:
                msg["reactions"].append({"name": name, "users": [user], "count": 1})
            self._reactions.append({"channel": channel, "ts": ts, "name": name, "user": user})
        self._bump()
        return True

    # --------------------------------------------------------------- reading
    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages posted and not deleted, oldest first, with later updates applied.

        A user id reads that user's DM with the bot (its D channel): a reader's shortcut,
        not something the Web API allows (conversations.history refuses user ids)."""
        with self._lock:
            if channel and channel[0] in "UW" and channel in self._users:
                channel = dm_id(channel)
            return snapshot(
                [
                    {k: v for k, v in m.items() if not k.startswith("_")}
                    for m in self._messages
                    if not m["_deleted"] and (channel is None or m["channel"] == channel)
                ]
            )

    def ephemerals(self, user: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return snapshot(
                [
                    e
                    for e in self._ephemerals
                    if not e.get("deleted") and (user is None or e["user"] == user)
                ]
            )

    def responses(self) -> list[dict[str, Any]]:
        with self._lock:
            return snapshot(self._responses)

    def home_views(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return snapshot(self._home)

    def open_views(self) -> list[dict[str, Any]]:
        with self._lock:
            return snapshot([v for vid, v in self._views.items() if vid not in self._closed_views])

    def files(self) -> list[dict[str, Any]]:
        with self._lock:
            return snapshot(
                [
                    {k: v for k, v in f.items() if not k.startswith("_")}
                    for f in self._files.values()
                    if f["_completed"]
                ]
            )

    def reactions(self) -> list[dict[str, Any]]:
        with self._lock:
            return snapshot(self._reactions)

    def users(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._public_user(u, include_locale=True) for u in self._users.values()]

    def channels(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._public_channel(cid) for cid in self._channels]

    def user_locale(self, user: str) -> str:
        with self._lock:
            return str(self._users[user]["locale"])

    # --------------------------------------------------- waiting, subscribing
    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """The first truthy value of `predicate()`, re-checked whenever something is recorded."""
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                seen = self._version
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(self._timeout_message(predicate, timeout))
            with self._changed:
                self._changed.wait_for(lambda: self._version != seen, remaining)  # noqa: B023

    def _timeout_message(self, predicate: Callable[[], Any], timeout: float) -> str:
        name = getattr(predicate, "__qualname__", repr(predicate))
        with self._lock:
            recent = ", ".join(
                f"{c.method}->{'ok' if c.ok else c.error or c.status}" for c in self.calls[-8:]
            )
            summary = (
                f"{len(self.calls)} calls (last: {recent or 'none'}), "
                f"{sum(not m['_deleted'] for m in self._messages)} messages, "
                f"{len(self._ephemerals)} ephemerals, {len(self._responses)} responses, "
                f"{len(self._views)} modals, {len(self._home)} home views"
            )
        return f"wait_for({name}) still falsy after {timeout:g}s; so far: {summary}"

    def subscribe(self, callback: Callable[[str, dict[str, Any]], None]) -> None:
        """Calls `callback(kind, item)` for everything recorded from now on (kinds: KINDS)."""
        with self._lock:
            self._subscribers.append(callback)

    def _bump(self) -> None:
        with self._changed:
            self._version += 1
            self._changed.notify_all()

    def _deliver(self, pending: _Pending) -> None:
        """Runs outside the state lock, so callbacks may read the workspace."""
        self._bump()
        if not pending.items:
            return
        with self._lock:
            subscribers = list(self._subscribers)
        for kind, item in pending.items:
            for callback in subscribers:
                try:
                    callback(kind, item)
                except Exception:
                    log.exception("localslack subscriber failed on %s", kind)

    def _record_call(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
        self._bump()

    # ---------------------------------------------------------- internals
    def _next_ts(self) -> str:
        # Integer microseconds: unique and increasing, which Slack's ts also are per channel.
        with self._lock:
            now_us = time.time_ns() // 1000
            self._last_ts_us = max(now_us, self._last_ts_us + 1)
            us = self._last_ts_us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        with self._lock:
            self._seq += 1
            return f"{prefix}0{self._seq:04d}{secrets.token_hex(3).upper()}"

    def _public_user(self, user: dict[str, Any], *, include_locale: bool) -> dict[str, Any]:
        out = copy.deepcopy(user)
        if not include_locale:
            out.pop("locale", None)
        return out

    def _public_channel(self, channel_id: str, *, num_members: bool = False) -> dict[str, Any]:
        out = copy.deepcopy(self._channels[channel_id])
        if out.get("is_ext_shared"):
            # https://api.slack.com/types/conversation: a Slack Connect channel names its
            # host and every organisation in it.
            teams = {str(self._users[u]["team_id"]) for u in self._members[channel_id]}
            out["conversation_host_id"] = self.team_id
            out["shared_team_ids"] = [self.team_id, *sorted(teams - {self.team_id})]
        if not out.get("is_im"):
            out["is_member"] = self.bot_user_id in self._members[channel_id]
            if num_members:
                out["num_members"] = len(self._members[channel_id])
        return out

    def _message_view(self, msg: dict[str, Any]) -> dict[str, Any]:
        return snapshot({k: v for k, v in msg.items() if not k.startswith("_")})
