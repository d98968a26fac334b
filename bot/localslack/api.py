"""The Web API methods LocalSlack answers, with Slack's arguments, results and errors."""

from __future__ import annotations

import base64
import binascii
import copy
import mimetypes
import secrets
import time
from collections.abc import Callable
from typing import Any

from bot.localslack.validation import (
    ApiError,
    check_message_content,
    check_view,
    parse_json_arg,
)
from bot.localslack.workspace import (
    RESPONSE_URL_USES,
    Workspace,
    _Pending,
)

Handler = Callable[["SlackApi", "Args", _Pending], dict[str, Any]]
METHODS: dict[str, Handler] = {}

# Structured arguments that form bodies carry as JSON text; decoded for the call log.
JSON_ARGS = ("blocks", "attachments", "view", "metadata", "files")


def method(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        METHODS[name] = fn
        return fn

    return register


class Args:
    """Typed access to a request's arguments (form values are strings, JSON values are not)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def get(self, name: str) -> Any:
        value = self.data.get(name)
        return None if value == "" else value

    def opt(self, name: str, *, required: str | None = None) -> str | None:
        """A string argument; when missing, raises ApiError(required) if given."""
        value = self.get(name)
        if value is None:
            if required:
                raise ApiError(required, f"missing argument {name!r}")
            return None
        return str(value)

    def need(self, name: str, error: str = "invalid_arguments") -> str:
        value = self.opt(name, required=error)
        assert value is not None
        return value

    def flag(self, name: str) -> bool:
        value = self.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes")
        return bool(value)

    def number(self, name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
        value = self.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except (TypeError, ValueError) as exc:
            raise ApiError("invalid_arguments", f"{name} must be an integer") from exc
        if number < low or (high is not None and number > high):
            raise ApiError("invalid_limit", f"{name} must be between {low} and {high}")
        return number


def encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, number = base64.b64decode(cursor, validate=True).decode().partition(":")
        if kind != "offset":
            raise ValueError(kind)
        return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ApiError("invalid_cursor") from exc


def paginate(items: list[Any], args: Args, *, default: int, high: int | None) -> tuple[list, str]:
    """One page of `items` and the cursor for the next ("" when this is the last)."""
    start = decode_cursor(args.opt("cursor"))
    limit = args.number("limit", default, high=high)
    if limit == 0:
        limit = len(items) - start
    page = items[start : start + limit]
    end = start + len(page)
    return page, encode_cursor(end) if end < len(items) else ""


def permalink_path(channel: str, ts: str) -> str:
    return f"/archives/{channel}/p{ts.replace('.', '')}"


class SlackApi(Workspace):
    """Workspace state plus the Web API methods that read and change it."""

    def dispatch(self, name: str, args: dict[str, Any], pending: _Pending) -> dict[str, Any]:
        handler = METHODS.get(name)
        if handler is None:
            raise ApiError("unknown_method")
        with self._lock:
            result = handler(self, Args(args), pending)
        return {"ok": True, **result}

    # ------------------------------------------------------------ helpers
    def _channel(self, channel_arg: str | None, *, user_means_dm: bool = False) -> str:
        """Resolves an id or `#name` to a channel the bot may read; raises otherwise.

        A user id is a channel only where Slack says so (`user_means_dm`: chat.postMessage,
        https://api.slack.com/methods/chat.postMessage#channels: a user ID posts to the
        app's DM with that user); everywhere else it is not a conversation and Slack answers
        channel_not_found (https://api.slack.com/methods/conversations.history#errors,
        .../conversations.replies, .../conversations.info, .../conversations.members; and
        https://api.slack.com/methods/chat.update: for direct messages the channel is the DM
        id, starting with D, not a user id). The DM's own id comes from
        conversations.open (https://api.slack.com/methods/conversations.open).
        """
        if not channel_arg:
            raise ApiError("channel_not_found", "missing argument 'channel'")
        if channel_arg[0] in "UW" and channel_arg in self._users:
            if not user_means_dm:
                raise ApiError("channel_not_found")
            target = self._users[channel_arg]
            if target["is_bot"]:
                raise ApiError("cannot_dm_bot")
            return self.open_dm(channel_arg)
        cid = channel_arg
        if cid not in self._channels:
            wanted = channel_arg.lstrip("#").lower()
            found = [k for k, c in self._channels.items() if c.get("name_normalized") == wanted]
            if not found:
                raise ApiError("channel_not_found")
            cid = found[0]
        chan = self._channels[cid]
        if chan.get("is_private") and self.bot_user_id not in self._members[cid]:
            raise ApiError("channel_not_found")
        return cid

    def _writable_channel(self, channel_arg: str | None, *, user_means_dm: bool = False) -> str:
        cid = self._channel(channel_arg, user_means_dm=user_means_dm)
        chan = self._channels[cid]
        if chan.get("is_im"):
            if self._users[chan["user"]]["deleted"]:
                raise ApiError("user_disabled")
            return cid
        if chan.get("is_archived"):
            raise ApiError("is_archived")
        if self.bot_user_id not in self._members[cid]:
            raise ApiError("not_in_channel")
        return cid

    def _user(self, user_id: str | None) -> dict[str, Any]:
        if not user_id or user_id not in self._users:
            raise ApiError("user_not_found")
        return self._users[user_id]

    def _find_message(self, channel: str, ts: str | None) -> dict[str, Any]:
        msg = self._by_ts.get((channel, ts or ""))
        if msg is None or msg["_deleted"]:
            raise ApiError("message_not_found")
        return msg

    def _metadata(self, raw: Any) -> dict[str, Any] | None:
        if raw is None or raw == "":
            return None
        meta = parse_json_arg(raw, error="invalid_metadata_format")
        if (
            not isinstance(meta, dict)
            or not isinstance(meta.get("event_type"), str)
            or not isinstance(meta.get("event_payload", {}), dict)
        ):
            raise ApiError(
                "invalid_metadata_format", "metadata needs event_type and an event_payload object"
            )
        return {"event_type": meta["event_type"], "event_payload": meta.get("event_payload", {})}

    def _post(
        self,
        pending: _Pending,
        channel: str,
        *,
        text: str,
        blocks: list[dict[str, Any]] | None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
        attachments: Any = None,
        files: list[dict[str, Any]] | None = None,
        via: str = "api",
    ) -> dict[str, Any]:
        ts = self._next_ts()
        msg: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "ts": ts,
            "text": text,
            "blocks": blocks or [],
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "thread_ts": thread_ts,
            "metadata": metadata,
            "attachments": attachments or [],
            "files": files or [],
            "reactions": [],
            "updated": False,
            "via": via,
            "_deleted": False,
        }
        if thread_ts:
            parent = self._by_ts.get((channel, thread_ts))
            if parent is not None:
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = ts
        self._messages.append(msg)
        self._by_ts[(channel, ts)] = msg
        pending.items.append(("message", self._message_view(msg)))
        return msg

    def _api_message(self, msg: dict[str, Any], *, with_metadata: bool = True) -> dict[str, Any]:
        """A message as the Web API returns it: empty fields left out like Slack does."""
        out = self._message_view(msg)
        for key in ("blocks", "attachments", "files", "reactions"):
            if not out.get(key):
                out.pop(key, None)
        for key in ("thread_ts", "metadata"):
            if out.get(key) is None:
                out.pop(key, None)
        if not with_metadata:
            out.pop("metadata", None)
        out.pop("channel", None)
        out.pop("updated", None)
        out.pop("via", None)
        return out

    def _new_view(self, view: dict[str, Any], *, user: str) -> dict[str, Any]:
        view_id = self._new_id("V")
        return {
            "id": view_id,
            "view_id": view_id,
            # The viewer's team (a partner's, in Slack Connect) and the installation's:
            # slackapi/bolt-python tests/scenario_tests/test_view_submission.py
            # (connect_channel_payload: view.team_id and view.app_installed_team_id).
            "team_id": self.team_of(user),
            "app_installed_team_id": self.team_id,
            "user": user,
            "type": view["type"],
            "title": view.get("title"),
            "submit": view.get("submit"),
            "close": view.get("close"),
            "blocks": view["blocks"],
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
        }

    def _take_trigger(self, trigger_id: str | None) -> str:
        trigger = self._triggers.get(trigger_id or "")
        if trigger is None:
            raise ApiError("invalid_trigger_id")
        if trigger.used:
            raise ApiError("exchanged_trigger_id")
        if time.monotonic() > trigger.expires:
            raise ApiError("expired_trigger_id")
        trigger.used = True
        return trigger.user

    def _view_by_ref(self, args: Args) -> dict[str, Any]:
        view_id, external_id = args.opt("view_id"), args.opt("external_id")
        if not view_id and not external_id:
            raise ApiError("invalid_arguments", "view_id or external_id is required")
        candidates = list(self._views.values()) + list(self._home.values())
        for view in candidates:
            if (view_id and view["id"] == view_id) or (
                external_id and view.get("external_id") == external_id
            ):
                return view
        raise ApiError("not_found")

    # -------------------------------------------------- response URLs / uploads
    def handle_response_url(
        self, key: str, body: dict[str, Any], pending: _Pending
    ) -> tuple[int, str]:
        """A POST to a response URL: (HTTP status, plain-text body) like Slack's hooks."""
        with self._lock:
            ref = self._response_urls.get(key)
            if ref is None:
                return 404, "invalid_url"
            if time.monotonic() > ref.expires:
                return 404, "expired_url"
            if ref.uses >= RESPONSE_URL_USES:
                return 404, "used_url"
            delete = Args(body).flag("delete_original")
            replace = Args(body).flag("replace_original")
            text, blocks = "", None
            if not delete:
                try:
                    text, blocks = check_message_content(
                        body.get("text"), body.get("blocks"), body.get("attachments")
                    )
                except ApiError as err:
                    return 400, err.code
            ref.uses += 1
            record = copy.deepcopy(body)
            record.setdefault("channel", ref.channel)
            record.setdefault("user", ref.user)
            record.setdefault("message_ts", ref.message_ts)
            self._responses.append(record)
            pending.items.append(("response", copy.deepcopy(record)))

            original = self._by_ts.get((ref.channel, ref.message_ts or ""))
            original_eph = next(
                (e for e in self._ephemerals if e["message_ts"] == ref.message_ts), None
            )
            if delete:
                if original is not None and not original["_deleted"]:
                    original["_deleted"] = True
                    pending.items.append(
                        ("update", {**self._message_view(original), "deleted": True})
                    )
                elif original_eph is not None:
                    original_eph["deleted"] = True
                return 200, "ok"
            if replace and original is not None and not original["_deleted"]:
                original.update(text=text, blocks=blocks or [], updated=True)
                pending.items.append(("update", self._message_view(original)))
                return 200, "ok"
            if replace and original_eph is not None:
                original_eph.update(text=text, blocks=blocks or [], updated=True)
                pending.items.append(("ephemeral", copy.deepcopy(original_eph)))
                return 200, "ok"
            if body.get("response_type") == "in_channel":
                posted = self._post(
                    pending,
                    ref.channel,
                    text=text,
                    blocks=blocks,
                    thread_ts=body.get("thread_ts"),
                    via="response_url",
                )["ts"]
            else:
                posted = self._add_ephemeral(pending, ref.channel, ref.user, text, blocks, None)[
                    "message_ts"
                ]
            # A URL not tied to a message (a slash command's) acts on what it posted first,
            # so "Working on it..." can later be replaced or deleted, as in Slack.
            if ref.message_ts is None:
                ref.message_ts = posted
            return 200, "ok"

    def _add_ephemeral(
        self,
        pending: _Pending,
        channel: str,
        user: str,
        text: str,
        blocks: list[dict[str, Any]] | None,
        thread_ts: str | None,
    ) -> dict[str, Any]:
        ts = self._next_ts()
        eph = {
            "type": "message",
            "is_ephemeral": True,
            "channel": channel,
            "user": user,
            "message_ts": ts,
            "ts": ts,  # so an ephemeral can stand in for a message in interaction payloads
            "text": text,
            "blocks": blocks or [],
            "thread_ts": thread_ts,
            "updated": False,
        }
        self._ephemerals.append(eph)
        pending.items.append(("ephemeral", copy.deepcopy(eph)))
        return eph

    def handle_upload(self, file_id: str, data: bytes) -> tuple[int, str]:
        with self._lock:
            entry = self._files.get(file_id)
            if entry is None:
                return 404, "file_not_found"
            entry["bytes"] = data
            entry["size"] = len(data)
            entry["_uploaded"] = True
        return 200, f"OK - {len(data)}"

    def permalink_message(self, channel: str, packed_ts: str) -> dict[str, Any] | None:
        if len(packed_ts) < 7 or not packed_ts.isdigit():
            return None
        ts = f"{packed_ts[:-6]}.{packed_ts[-6:]}"
        with self._lock:
            msg = self._by_ts.get((channel, ts))
            return None if msg is None or msg["_deleted"] else self._message_view(msg)


# ------------------------------------------------------------------ auth, team
@method("auth.test")
def auth_test(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    return {
        "url": f"{api.url}/",
        "team": api.team_name,
        "user": api._users[api.bot_user_id]["name"],
        "team_id": api.team_id,
        "user_id": api.bot_user_id,
        "bot_id": api.bot_id,
        "app_id": api.app_id,
        "is_enterprise_install": False,
    }


@method("bots.info")
def bots_info(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    bot = args.opt("bot")
    if bot and bot != api.bot_id:
        raise ApiError("bot_not_found")
    return {
        "bot": {
            "id": api.bot_id,
            "deleted": False,
            "name": api._users[api.bot_user_id]["name"],
            "app_id": api.app_id,
            "user_id": api.bot_user_id,
            "updated": int(time.time()),
            "icons": {},
        }
    }


@method("team.info")
def team_info(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    team = args.opt("team")
    if team and team != api.team_id:
        raise ApiError("team_not_found")
    return {"team": {"id": api.team_id, "name": api.team_name, "domain": api._domain(), "icon": {}}}


# ------------------------------------------------------------------------ chat
@method("chat.postMessage")
def chat_post_message(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    # The answer's `channel` is the DM's D id when a user id was passed, as Slack's is.
    channel = api._writable_channel(args.opt("channel"), user_means_dm=True)
    text, blocks = check_message_content(
        args.get("text"), args.get("blocks"), args.get("attachments")
    )
    attachments = parse_json_arg(args.get("attachments"), error="invalid_attachments")
    msg = api._post(
        pending,
        channel,
        text=text,
        blocks=blocks,
        thread_ts=args.opt("thread_ts"),
        metadata=api._metadata(args.get("metadata")),
        attachments=attachments,
    )
    return {"channel": channel, "ts": msg["ts"], "message": api._api_message(msg)}


@method("chat.postEphemeral")
def chat_post_ephemeral(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    channel = api._writable_channel(args.opt("channel"))
    user = api._user(args.opt("user"))
    if user["id"] not in api._members[channel]:
        raise ApiError("user_not_in_channel")
    text, blocks = check_message_content(
        args.get("text"), args.get("blocks"), args.get("attachments")
    )
    eph = api._add_ephemeral(pending, channel, user["id"], text, blocks, args.opt("thread_ts"))
    return {"message_ts": eph["message_ts"]}


@method("chat.update")
def chat_update(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    channel = api._channel(args.opt("channel"))
    msg = api._find_message(channel, args.opt("ts"))
    if msg["user"] != api.bot_user_id:
        raise ApiError("cant_update_message")
    raw_text, raw_blocks = args.get("text"), args.get("blocks")
    if raw_text is None and raw_blocks is None and args.get("attachments") is None:
        raise ApiError("no_text")
    # Slack's rule: text left out keeps the old text; blocks left out are kept only when
    # text is left out too, so a text-only update drops the old blocks.
    text = raw_text if raw_text is not None else msg["text"]
    if raw_blocks is not None:
        blocks_in = raw_blocks
    else:
        blocks_in = (msg["blocks"] or None) if raw_text is None else None
    text, blocks = check_message_content(text, blocks_in, args.get("attachments"))
    msg["text"] = text
    msg["blocks"] = blocks or []
    meta = api._metadata(args.get("metadata"))
    if meta is not None:
        msg["metadata"] = meta
    msg["updated"] = True
    msg["edited"] = {"user": api.bot_user_id, "ts": api._next_ts()}
    pending.items.append(("update", api._message_view(msg)))
    return {
        "channel": channel,
        "ts": msg["ts"],
        "text": text,
        "message": api._api_message(msg),
    }


@method("chat.delete")
def chat_delete(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    channel = api._channel(args.opt("channel"))
    msg = api._find_message(channel, args.opt("ts"))
    if msg["user"] != api.bot_user_id:
        raise ApiError("cant_delete_message")
    msg["_deleted"] = True
    pending.items.append(("update", {**api._message_view(msg), "deleted": True}))
    return {"channel": channel, "ts": msg["ts"]}


@method("chat.getPermalink")
def chat_get_permalink(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    channel = api._channel(args.opt("channel"))
    msg = api._find_message(channel, args.opt("message_ts"))
    return {"channel": channel, "permalink": api.url + permalink_path(channel, msg["ts"])}


# --------------------------------------------------------------- conversations
@method("conversations.open")
def conversations_open(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    channel_arg, users_arg = args.opt("channel"), args.opt("users")
    if channel_arg:
        cid = api._channel(channel_arg)
        return {"channel": api._public_channel(cid)}
    if not users_arg:
        raise ApiError("users_list_not_supplied")
    users = [u.strip() for u in users_arg.split(",") if u.strip()]
    if len(users) > 8:
        raise ApiError("too_many_users")
    for uid in users:
        target = api._user(uid)
        if target["is_bot"] and uid != api.bot_user_id:
            raise ApiError("cannot_dm_bot")
    others = [u for u in users if u != api.bot_user_id]
    if len(others) == 1:
        cid = api.open_dm(others[0])
    else:
        cid = "G" + "".join(sorted(u.lstrip("UW") for u in others))[:20]
        if cid not in api._channels:
            api._channels[cid] = {
                "id": cid,
                "name": "mpdm-" + "--".join(api._users[u]["name"] for u in others),
                "name_normalized": "",
                "is_im": False,
                "is_mpim": True,
                "is_private": True,
                "is_channel": False,
                "is_group": False,
                "is_archived": False,
                "created": int(time.time()),
            }
            api._members[cid] = [*others, api.bot_user_id]
    if args.flag("return_im"):
        return {"channel": api._public_channel(cid)}
    return {"channel": {"id": cid}}


@method("conversations.info")
def conversations_info(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    cid = api._channel(args.opt("channel"))
    return {"channel": api._public_channel(cid, num_members=args.flag("include_num_members"))}


@method("conversations.members")
def conversations_members(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    cid = api._channel(args.opt("channel"))
    page, cursor = paginate(list(api._members[cid]), args, default=100, high=1000)
    return {"members": page, "response_metadata": {"next_cursor": cursor}}


@method("conversations.list")
def conversations_list(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    types = set((args.opt("types") or "public_channel").split(","))
    wanted = []
    for cid, chan in api._channels.items():
        kind = (
            "im"
            if chan.get("is_im")
            else "mpim"
            if chan.get("is_mpim")
            else "private_channel"
            if chan.get("is_private")
            else "public_channel"
        )
        if kind not in types:
            continue
        if kind != "public_channel" and api.bot_user_id not in api._members[cid]:
            continue
        if args.flag("exclude_archived") and chan.get("is_archived"):
            continue
        wanted.append(api._public_channel(cid))
    page, cursor = paginate(wanted, args, default=100, high=1000)
    return {"channels": page, "response_metadata": {"next_cursor": cursor}}


def _readable_channel(api: SlackApi, channel_arg: str | None) -> str:
    cid = api._channel(channel_arg)
    if not api._channels[cid].get("is_im") and api.bot_user_id not in api._members[cid]:
        raise ApiError("not_in_channel")
    return cid


@method("conversations.history")
def conversations_history(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    cid = _readable_channel(api, args.opt("channel"))
    oldest = float(args.opt("oldest") or 0)
    latest = float(args.opt("latest") or "inf")
    inclusive = args.flag("inclusive")

    def in_range(ts: str) -> bool:
        value = float(ts)
        if inclusive:
            return oldest <= value <= latest
        return oldest < value < latest

    top = [
        m
        for m in reversed(api._messages)
        if m["channel"] == cid
        and not m["_deleted"]
        and (not m["thread_ts"] or m["thread_ts"] == m["ts"])
        and in_range(m["ts"])
    ]
    page, cursor = paginate(top, args, default=100, high=999)
    with_meta = args.flag("include_all_metadata")
    return {
        "messages": [api._api_message(m, with_metadata=with_meta) for m in page],
        "has_more": bool(cursor),
        "pin_count": 0,
        "response_metadata": {"next_cursor": cursor},
    }


@method("conversations.replies")
def conversations_replies(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    cid = _readable_channel(api, args.opt("channel"))
    ts = args.need("ts", "thread_not_found")
    if (cid, ts) not in api._by_ts:
        raise ApiError("thread_not_found")
    thread = [
        m
        for m in api._messages
        if m["channel"] == cid and not m["_deleted"] and (m["ts"] == ts or m["thread_ts"] == ts)
    ]
    page, cursor = paginate(thread, args, default=100, high=1000)
    with_meta = args.flag("include_all_metadata")
    return {
        "messages": [api._api_message(m, with_metadata=with_meta) for m in page],
        "has_more": bool(cursor),
        "response_metadata": {"next_cursor": cursor},
    }


# ----------------------------------------------------------------------- users
@method("users.info")
def users_info(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    user = api._user(args.opt("user"))
    return {"user": api._public_user(user, include_locale=args.flag("include_locale"))}


@method("users.list")
def users_list(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    # Slack: no limit means the whole list; pages of at most 200 are recommended.
    include_locale = args.flag("include_locale")
    members = [api._public_user(u, include_locale=include_locale) for u in api._users.values()]
    page, cursor = paginate(members, args, default=0, high=None)
    return {
        "members": page,
        "cache_ts": int(time.time()),
        "response_metadata": {"next_cursor": cursor},
    }


@method("users.lookupByEmail")
def users_lookup_by_email(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    email = (args.need("email", "users_not_found")).lower()
    for user in api._users.values():
        if str(user["profile"].get("email", "")).lower() == email:
            return {"user": api._public_user(user, include_locale=False)}
    raise ApiError("users_not_found")


@method("usergroups.users.list")
def usergroups_users_list(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    group = api._usergroups.get(args.opt("usergroup") or "")
    if group is None:
        raise ApiError("no_such_subteam")
    return {"users": list(group["users"])}


@method("usergroups.list")
def usergroups_list(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    groups = []
    for group in api._usergroups.values():
        out = copy.deepcopy(group)
        if not args.flag("include_users"):
            out.pop("users")
        groups.append(out)
    return {"usergroups": groups}


# ----------------------------------------------------------------------- views
@method("views.open")
def views_open(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    view_in = check_view(args.get("view"), kinds=("modal",))
    user = api._take_trigger(args.opt("trigger_id"))
    view = api._new_view(view_in, user=user)
    api._views[view["id"]] = view
    pending.items.append(("modal", copy.deepcopy(view)))
    return {"view": copy.deepcopy(view)}


@method("views.push")
def views_push(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    view_in = check_view(args.get("view"), kinds=("modal",))
    user = api._take_trigger(args.opt("trigger_id"))
    stack = [
        v for vid, v in api._views.items() if v["user"] == user and vid not in api._closed_views
    ]
    if len(stack) >= 3:
        raise ApiError("push_limit_reached")
    view = api._new_view(view_in, user=user)
    if stack:
        view["root_view_id"] = stack[0]["root_view_id"]
        view["previous_view_id"] = stack[-1]["id"]
    api._views[view["id"]] = view
    pending.items.append(("modal", copy.deepcopy(view)))
    return {"view": copy.deepcopy(view)}


@method("views.update")
def views_update(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    current = api._view_by_ref(args)
    view_in = check_view(args.get("view"), kinds=(current["type"],))
    expected = args.opt("hash")
    if expected and expected != current["hash"]:
        raise ApiError("hash_conflict")
    fresh = api._new_view(view_in, user=current["user"])
    for key in ("id", "view_id", "root_view_id", "previous_view_id", "state"):
        fresh[key] = current[key]
    fresh["external_id"] = fresh["external_id"] or current.get("external_id", "")
    current.clear()
    current.update(fresh)
    kind = "home" if fresh["type"] == "home" else "modal"
    pending.items.append((kind, copy.deepcopy(fresh)))
    return {"view": copy.deepcopy(fresh)}


@method("views.publish")
def views_publish(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    user = api._user(args.opt("user_id"))
    view_in = check_view(args.get("view"), kinds=("home",))
    previous = api._home.get(user["id"])
    expected = args.opt("hash")
    if expected and previous is not None and expected != previous["hash"]:
        raise ApiError("hash_conflict")
    view = api._new_view(view_in, user=user["id"])
    if previous is not None:
        view["id"] = view["view_id"] = view["root_view_id"] = previous["id"]
    api._home[user["id"]] = view
    pending.items.append(("home", copy.deepcopy(view)))
    return {"view": copy.deepcopy(view)}


# ----------------------------------------------------------------------- files
@method("files.getUploadURLExternal")
def files_get_upload_url(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    filename = args.need("filename")
    length = args.number("length", -1, low=-1)
    if length < 1:
        raise ApiError("invalid_arguments", "length must be a positive integer")
    file_id = api._new_id("F")
    api._files[file_id] = {
        "id": file_id,
        "filename": filename,
        "title": filename,
        "mimetype": mimetypes.guess_type(filename)[0] or "application/octet-stream",
        "length": length,
        "size": 0,
        "bytes": b"",
        "channels": [],
        "initial_comment": None,
        "thread_ts": None,
        "alt_txt": args.opt("alt_txt"),
        "_uploaded": False,
        "_completed": False,
    }
    return {"upload_url": f"{api.url}/upload/{file_id}", "file_id": file_id}


@method("files.completeUploadExternal")
def files_complete_upload(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    listed = parse_json_arg(args.get("files"), error="invalid_arguments")
    if not isinstance(listed, list) or not listed or not all(isinstance(f, dict) for f in listed):
        raise ApiError("invalid_arguments", "files must be a JSON array of {id, title}")
    entries = []
    for item in listed:
        entry = api._files.get(str(item.get("id")))
        if entry is None or not entry["_uploaded"]:
            raise ApiError("file_not_found", f"file {item.get('id')!r} was not uploaded")
        if entry["_completed"]:
            raise ApiError("file_already_completed")
        entries.append((entry, item))
    channel_ids = [c for c in (args.opt("channels") or "").split(",") if c]
    if args.opt("channel_id"):
        channel_ids.insert(0, str(args.opt("channel_id")))
    channels = [api._writable_channel(c) for c in channel_ids]
    thread_ts, comment = args.opt("thread_ts"), args.opt("initial_comment")
    for entry, item in entries:
        entry["title"] = item.get("title") or entry["filename"]
        entry["channels"] = channels
        entry["initial_comment"] = comment
        entry["thread_ts"] = thread_ts
        entry["_completed"] = True
    public = [
        {k: v for k, v in e.items() if not k.startswith("_") and k != "bytes"} for e, _ in entries
    ]
    for entry, _ in entries:
        pending.items.append(("file", {k: v for k, v in entry.items() if not k.startswith("_")}))
    for cid in channels:
        api._post(
            pending,
            cid,
            text=comment or "",
            blocks=None,
            thread_ts=thread_ts,
            files=copy.deepcopy(public),
        )
    return {"files": public}


# ------------------------------------------------------------------- reactions
@method("reactions.add")
def reactions_add(api: SlackApi, args: Args, pending: _Pending) -> dict[str, Any]:
    cid = api._channel(args.opt("channel"))
    name = args.need("name", "invalid_name").strip(":")
    msg = api._find_message(cid, args.opt("timestamp"))
    for reaction in msg["reactions"]:
        if reaction["name"] == name:
            if api.bot_user_id in reaction["users"]:
                raise ApiError("already_reacted")
            reaction["users"].append(api.bot_user_id)
            reaction["count"] += 1
            break
    else:
        msg["reactions"].append({"name": name, "users": [api.bot_user_id], "count": 1})
    item = {"channel": cid, "ts": msg["ts"], "name": name, "user": api.bot_user_id}
    api._reactions.append(item)
    pending.items.append(("reaction", dict(item)))
    return {}
