"""Who a pulse round asks.

Audience resolution pages through every Slack list (`conversations.members`,
`users.list`; `usergroups.users.list` returns a group whole) and skips bots, the bot
itself and deactivated people. Small audiences are looked up person by person with
`users.info` (Tier 4); large ones read the directory with `users.list` pages of 200
(Tier 2 but 200 people a call), which for thousands of people is the fewer calls. Member
ids come 1,000 a page: every call saved is a retry (and its wait) saved when Slack is busy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.i18n.translator import locale_code
from core.surveys import SurveyDefinition
from storage import surveys as store

USERS_INFO_MAX = 50  # up to this many people, users.info each; beyond, users.list pages
PAGE = 200  # users.list: Slack recommends pages of at most 200
MEMBERS_PAGE = 1000  # conversations.members returns bare ids: fewer, larger pages
SKIPPED_IDS = frozenset({"USLACKBOT"})


class AudienceError(Exception):
    """The audience cannot be read (unknown channel, bot not in it, ...); says which."""


@dataclass(frozen=True)
class Audience:
    members: list[store.Member]
    customer_facing: bool
    skipped: int  # bots and deactivated people left out


def _pages(call: Any, key: str, *, page: int = PAGE, **kwargs: Any) -> Iterator[Any]:
    cursor = None
    while True:
        response = (
            call(**kwargs, limit=page, cursor=cursor) if cursor else call(**kwargs, limit=page)
        )
        yield from response.get(key) or []
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return


def _usable(user: dict[str, Any], bot_user_id: str | None) -> bool:
    return not (
        user.get("is_bot")
        or user.get("deleted")
        or user.get("is_app_user")
        or user.get("id") in SKIPPED_IDS
        or user.get("id") == bot_user_id
    )


def resolve_audience(
    client: WebClient, definition: SurveyDefinition, *, default_locale: str = "en"
) -> Audience:
    """The people a round asks, with their language; raises AudienceError with Slack's reason."""
    customer_facing = False
    try:
        bot_user_id = str(client.auth_test().get("user_id") or "") or None
        if definition.audience_kind == "channel":
            channel = str(definition.audience)
            info = client.conversations_info(channel=channel).get("channel") or {}
            customer_facing = bool(info.get("is_ext_shared"))
            ids = list(
                _pages(client.conversations_members, "members", page=MEMBERS_PAGE, channel=channel)
            )
        elif definition.audience_kind == "usergroup":
            group = client.usergroups_users_list(usergroup=str(definition.audience))
            ids = list(group.get("users") or [])
        else:
            ids = list(definition.audience)
        ids = list(dict.fromkeys(i for i in ids if i and i != bot_user_id and i not in SKIPPED_IDS))
        people = _people(client, ids)
    except SlackApiError as exc:
        reason = exc.response.get("error") or exc.response.status_code
        raise AudienceError(f"{definition.audience}: Slack said {reason}") from None
    members = [
        store.Member(u["id"], locale_code(u.get("locale"), default_locale))
        for u in people
        if _usable(u, bot_user_id)
    ]
    return Audience(members, customer_facing, len(ids) - len(members))


def _people(client: WebClient, ids: list[str]) -> list[dict[str, Any]]:
    if len(ids) <= USERS_INFO_MAX:
        found = []
        for user_id in ids:
            try:
                found.append(client.users_info(user=user_id, include_locale=True)["user"])
            except SlackApiError as exc:
                if exc.response.get("error") != "user_not_found":
                    raise
        return found
    wanted = set(ids)
    directory = {
        u["id"]: u
        for u in _pages(client.users_list, "members", include_locale=True)
        if u.get("id") in wanted
    }
    return [directory[i] for i in ids if i in directory]
