"""The member directory: who the receivers are, read from Slack.

Slack user ids are checked with users.info; plain `@name`s and the e-mails and names in
imported answers are matched against the member directory (users.list, kept in the
database for an hour and refreshed by the hourly sweep). This process's directory work
(one refresh at a time, who is being read) is its `DirectoryState`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services import Services
from core.shoutouts import MAX_RECEIVERS, Person
from storage import shoutouts as store

log = logging.getLogger(__name__)

DIRECTORY_MAX_AGE = timedelta(hours=1)
# A name nobody matches may belong to someone who just joined: ask Slack again, at most
# this often.
DIRECTORY_RETRY_AGE = timedelta(minutes=5)


class DirectoryState:
    """This process's member-directory work: one refresh at a time, who is being read,
    when each workspace was seen fresh or last tried, and the one praise worker."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # Teams whose directory is being read: a DM to someone whose language is not known
        # yet waits for it rather than going out in the default language.
        self.reading: set[str] = set()
        self.refreshed: dict[str, datetime] = {}
        self.attempts: dict[str, datetime] = {}
        self.worker = ThreadPoolExecutor(1, thread_name_prefix="cxbot-praise")

    def close(self) -> None:
        # A refresh already asked for finishes: its answers are praised, not dropped.
        self.worker.shutdown(wait=True)


def person_from_slack(user: dict[str, Any]) -> Person:
    profile = user.get("profile") or {}
    return Person(
        user_id=str(user.get("id") or ""),
        name=str(user.get("name") or ""),
        real_name=str(user.get("real_name") or profile.get("real_name") or ""),
        display_name=str(profile.get("display_name") or ""),
        email=profile.get("email"),
        is_bot=bool(user.get("is_bot")) or bool(profile.get("bot_id")),
        deleted=bool(user.get("deleted")),
        locale=user.get("locale"),
    )


def lookup_person(client: WebClient, user_id: str) -> Person | None:
    """users.info as a Person; None when Slack knows no such user."""
    try:
        response = client.users_info(user=user_id, include_locale=True)
    except SlackApiError as exc:
        if exc.response.get("error") in ("user_not_found", "users_not_found"):
            return None
        raise
    return person_from_slack(response.get("user") or {})


def lookup_people(client: WebClient, user_ids: Sequence[str]) -> dict[str, Person | None]:
    """users.info for each id, all at once.

    A form is refused under its field only before the ack, within Slack's 3 seconds:
    asked one after another, ten receivers at 300 ms a call would take 3 s alone.
    """
    unique = list(dict.fromkeys(user_ids))
    if len(unique) <= 1:
        return {u: lookup_person(client, u) for u in unique}
    with ThreadPoolExecutor(max_workers=min(len(unique), MAX_RECEIVERS)) as pool:
        return dict(zip(unique, pool.map(lambda u: lookup_person(client, u), unique), strict=True))


def fetch_directory(client: WebClient) -> list[Person]:
    """Every member of the workspace (users.list, page by page)."""
    people: list[Person] = []
    cursor: str | None = None
    while True:
        response = client.users_list(limit=200, cursor=cursor, include_locale=True)
        people += [person_from_slack(u) for u in response.get("members") or []]
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return people


def ensure_directory(
    services: Services,
    client: WebClient,
    team_id: str,
    *,
    max_age: timedelta = DIRECTORY_MAX_AGE,
) -> tuple[list[Person], bool]:
    """The member directory, asked from Slack again when older than `max_age`;
    (people, whether it was refreshed now)."""
    now = services.clock()
    engine = services.engine
    refreshed_at = store.directory_refreshed_at(engine, team_id=team_id)
    if refreshed_at is not None and now - refreshed_at < max_age:
        return store.directory(engine, team_id=team_id), False
    with services.state(DirectoryState).lock:
        refreshed_at = store.directory_refreshed_at(engine, team_id=team_id)
        if refreshed_at is not None and now - refreshed_at < max_age:
            return store.directory(engine, team_id=team_id), False
        people = fetch_directory(client)
        store.replace_directory(engine, team_id=team_id, people=people, now=now)
    return people, True


def directory_sweep(services: Services) -> None:
    """Keep the member directory fresh, so imports match employees' e-mails and names:
    every installed workspace's (OAuth mode), else the one workspace's."""
    settings = services.settings
    if not settings.can_call_slack:
        return
    teams: list[str]
    if settings.oauth_enabled:
        teams = services.slack.installed_teams()
    else:
        team_id = services.slack.default_team()
        teams = [team_id] if team_id else []
    for team_id in teams:
        try:
            ensure_directory(services, services.slack.for_team(team_id), team_id)
        except Exception:
            # One workspace's trouble (an uninstall, a revoked token) must not keep the
            # others' directories stale; the next sweep tries again.
            log.exception("refreshing the member directory of %s failed", team_id)
