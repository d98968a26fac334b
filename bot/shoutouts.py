"""Shout-outs, the parts between a Slack request and the rules.

- who the receivers are: Slack user ids checked with users.info, plain `@name`s matched
  against the member directory (users.list, kept in the database for an hour);
- giving one: receivers, promise and limits checked, refusals raised as `UserError` (the
  giver reads them in their language), the rest stored by `storage.shoutouts.give`;
- the outbox renderer `render:shoutout` (the channel post and each receiver's DM, written
  at send time in the reader's language) and the after-send hook recording the post's ts;
- customer praise after the webhook stored answers, the hourly directory refresh.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import Connection

from bot import outbox as dispatch
from bot.errors import UserError
from bot.feature import Sent
from bot.handlers.metrics.report import workspace_tz
from bot.i18n import N_, translator
from bot.outbox import wake
from bot.services import Services
from bot.text import echo
from bot.views import shoutouts as views
from core.shoutouts import (
    MAX_RECEIVERS,
    MAX_TEXT,
    Allowance,
    Mention,
    ParsedCommand,
    ParseError,
    Person,
    match_promise,
    parse_command,
    promise_tag,
    receiver_problem,
    resolve_name,
    suggest_promise,
)
from storage import shoutouts as store

log = logging.getLogger(__name__)

RENDERER = store.RENDER_METHOD.removeprefix("render:")
DIRECTORY_MAX_AGE = timedelta(hours=1)
# A name nobody matches may belong to someone who just joined: ask Slack again, at most
# this often.
DIRECTORY_RETRY_AGE = timedelta(minutes=5)

UNKNOWN_USER = N_(
    "I can't find anyone called “{name}” in this workspace. "
    "Type @ and pick the colleague from the list."
)
AMBIGUOUS_USER = N_(
    "“{name}” could be several people ({names}). Type @ and pick the colleague from the list."
)
SELF = N_("You can't give a shout-out to yourself. Praise a colleague who helped a customer!")
BOT = N_("{user} is a bot. Shout-outs are for colleagues.")
DEACTIVATED = N_("{user} is no longer a member of this workspace.")
UNKNOWN_PROMISE = N_(
    "“#{tag}” is not one of our customer promises. Use one of {tags}, or leave the tag out."
)
DAILY_LIMIT = N_(
    "You have reached today's shout-out limit ({limit}). Nothing was posted; try again tomorrow."
)
PAIR_LIMIT = N_(
    "You have praised {user} as often as allowed in 7 days (limit {limit}). Nothing was "
    "posted; why not recognise another colleague this time?"
)
NO_MENTION = N_(
    "Start with the colleague you want to praise, e.g. "
    "`/shoutout @kari called the customer back within the hour #answer-within-a-day`."
)
MALFORMED = N_(
    "“{token}” is not a mention I can read. Type @ and pick the colleague from the list."
)
GROUP = N_(
    "Shout-outs go to people, not to groups or channels (“{token}”). Mention each colleague."
)
TOO_LONG = N_(
    "That is {n} characters; a shout-out holds at most {max}. Keep it short and specific."
)
TOO_MANY = N_("A shout-out can name at most {max} colleagues.")
NO_RECEIVER = N_("Pick at least one colleague.")
NO_TEXT = N_("Tell what they did for the customer.")


@dataclass(frozen=True)
class Given:
    """A shout-out that was recorded (or had been, for a repeated request)."""

    shoutout_id: int
    receivers: tuple[str, ...]
    promise: str | None
    suggested: bool  # the promise was suggested from the text, not chosen
    channel: str | None  # where it is posted; None: DMs only
    allowance: Allowance
    promises: tuple[str, ...]
    # A `#tag` typed while no promises are set: not kept as a promise, and the giver is told.
    untagged: str | None = None


# --------------------------------------------------------------------------- reading


def parse(text: str) -> ParsedCommand:
    """The command text read by core.shoutouts.parse_command; mistakes raise UserError.

    The text was read from Slack's encoding on the way in (bot.text.from_slack).
    """
    try:
        parsed = parse_command(text)
    except ParseError as exc:
        if exc.problem == "no_mention":
            raise UserError(NO_MENTION) from None
        if exc.problem == "group_mention":
            raise UserError(GROUP, token=_shown(exc.token)) from None
        if exc.problem == "too_long":
            raise UserError(TOO_LONG, n=exc.token, max=MAX_TEXT, numbers=("n", "max")) from None
        if exc.problem == "too_many":
            raise UserError(TOO_MANY, max=MAX_RECEIVERS) from None
        raise UserError(MALFORMED, token=_shown(exc.token)) from None
    return ParsedCommand(parsed.mentions, parsed.text, parsed.tag)


# --------------------------------------------------------------------------- people


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


def resolve_receivers(
    services: Services,
    client: WebClient,
    *,
    team_id: str,
    giver: str,
    mentions: Sequence[Mention],
    block_id: str | None = None,
) -> list[Person]:
    """The people the mentions name, checked: refusals raise UserError."""
    named = lookup_people(client, [m.user_id for m in mentions if m.user_id])
    people: list[Person] = []
    matched: list[str] = []
    directory: list[Person] | None = None
    for mention in mentions:
        if mention.user_id:
            person = named[mention.user_id]
            if person is None:
                raise UserError(UNKNOWN_USER, block_id=block_id, name=_shown(mention.raw))
        else:
            name = mention.name or ""
            if directory is None:
                directory, _fresh = ensure_directory(services, client, team_id)
            matches = resolve_name(name, directory)
            if not matches:
                directory, fresh = ensure_directory(
                    services, client, team_id, max_age=DIRECTORY_RETRY_AGE
                )
                matches = resolve_name(name, directory) if fresh else []
            if not matches:
                raise UserError(UNKNOWN_USER, block_id=block_id, name="@" + _shown(name))
            if len(matches) > 1:
                names = ", ".join(f"<@{p.user_id}>" for p in matches[:5])
                raise UserError(
                    AMBIGUOUS_USER, block_id=block_id, name="@" + _shown(name), names=names
                )
            person = matches[0]
            matched.append(person.user_id)
        people.append(person)
    if matched:
        # The directory may be an hour old: ask Slack whether these are still active.
        current = lookup_people(client, matched)
        people = [current.get(p.user_id) or p for p in people]
    check_receivers(giver, people, block_id=block_id)
    return list({p.user_id: p for p in people}.values())


def check_receivers(giver: str, people: Sequence[Person], *, block_id: str | None = None) -> None:
    for person in people:
        problem = receiver_problem(giver, person)
        if problem == "self":
            raise UserError(SELF, block_id=block_id)
        if problem == "bot":
            raise UserError(BOT, block_id=block_id, user=_name_of(person))
        if problem == "deactivated":
            raise UserError(DEACTIVATED, block_id=block_id, user=_name_of(person))


def _name_of(person: Person) -> str:
    # A deactivated member's or a bot's mention may not render: show the name as well.
    label = person.real_name or person.display_name or person.name
    return f"<@{person.user_id}> ({label})" if label else f"<@{person.user_id}>"


def _shown(text: str) -> str:
    return echo(text, 60)


# --------------------------------------------------------------------------- giving


def choose_promise(
    tag: str | None, text: str, promises: Sequence[str], *, block_id: str | None = None
) -> tuple[str | None, bool]:
    """(promise, suggested): the tagged promise, or the one the text is most like."""
    if tag:
        if not promises:
            return None, False
        promise = match_promise(tag, promises)
        if promise is None:
            tags = ", ".join(f"`{promise_tag(p)}`" for p in promises)
            raise UserError(UNKNOWN_PROMISE, block_id=block_id, tag=_shown(tag), tags=tags)
        return promise, False
    suggestion = suggest_promise(text, promises)
    return suggestion, suggestion is not None


def give(
    services: Services,
    *,
    team_id: str,
    giver: str,
    people: Sequence[Person],
    text: str,
    tag: str | None,
    source: str,
    request_key: str | None,
    limit_block: str | None = None,
    promise_block: str | None = None,
) -> Given:
    """Store a checked shout-out and queue its messages; limits and tags refuse with UserError."""
    engine = services.engine
    config = store.load_config(engine, team_id=team_id)
    promise, suggested = choose_promise(tag, text, config.promises, block_id=promise_block)
    now = services.clock()
    tz = workspace_tz(engine, team_id=team_id, default=services.settings.cxbot_timezone)
    local_midnight = datetime.combine(now.astimezone(tz).date(), time(0), tz)
    receivers = tuple(p.user_id for p in people)
    result = store.give(
        engine,
        team_id=team_id,
        shout=store.NewShoutout(
            giver=giver,
            receivers=receivers,
            text=text,
            promise=promise,
            source=source,
            request_key=request_key,
        ),
        limits=config.limits,
        day_start=local_midnight.astimezone(UTC),
        now=now,
        delivery=store.Delivery(
            channel=config.channel,
            channel_locale=config.locale,
            dm_locales={p.user_id: p.locale for p in people},
        ),
    )
    allowance = result.allowance
    if result.shoutout_id is None:
        if allowance.reason == "pair":
            raise UserError(
                PAIR_LIMIT,
                block_id=limit_block,
                user=f"<@{allowance.pair_user}>",
                limit=allowance.limit,
            )
        raise UserError(DAILY_LIMIT, block_id=limit_block, limit=allowance.limit)
    wake(services)
    return Given(
        shoutout_id=result.shoutout_id,
        receivers=receivers,
        promise=promise,
        suggested=suggested,
        channel=config.channel,
        allowance=allowance,
        promises=config.promises,
        untagged=tag if tag and not config.promises else None,
    )


# --------------------------------------------------------------------------- delivery


class Gone(Exception):
    """The shout-out a queued message refers to does not exist."""


def render_shoutout(
    services: Services, team_id: str, payload: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """`render:shoutout` -> chat.postMessage of the channel post or a receiver's DM."""
    engine = services.engine
    shout = store.get(engine, team_id=team_id, shoutout_id=int(payload["shoutout_id"]))
    if shout is None:
        raise Gone(f"shout-out {payload['shoutout_id']} does not exist")
    locale = payload.get("locale")
    if payload.get("kind") == "dm" and not locale:
        # Queued before the directory knew the receiver (an answer naming a Slack id).
        if team_id in services.state(DirectoryState).reading:
            raise dispatch.NotReady("the member directory is being read")
        locale = store.member_locale(engine, team_id=team_id, user_id=str(payload["user"]))
    t = translator(str(locale or services.settings.cxbot_locale))
    if payload.get("kind") == "dm":
        user = str(payload["user"])
        text, blocks = views.dm_message(shout, t)
        return "chat.postMessage", {"channel": user, "text": text, "blocks": blocks}
    text, blocks = views.channel_message(shout, t)
    return "chat.postMessage", {
        "channel": str(payload["channel"]),
        "text": text,
        "blocks": blocks,
        "unfurl_links": False,
    }


def after_send(conn: Connection, sent: Sent) -> None:
    """Remember where a shout-out was posted, so reactions on it count as seconds."""
    parts = sent.key.split(":")
    if len(parts) == 3 and parts[2] == "post":
        store.record_post(
            conn, team_id=sent.team_id, shoutout_id=int(parts[1]), channel=sent.channel, ts=sent.ts
        )


# --------------------------------------------------------------------------- customer praise


def answers_stored(services: Services, *, team_id: str, response_ids: list[int]) -> None:
    """bot.features (answers_stored): praise was queued with the answers; send it now.

    When the member directory is stale, answers naming someone by e-mail or name may have
    found nobody: refresh it in the background and try those answers again (a repeat is
    a no-op per answer).
    """
    try:
        _refresh_for_praise(services, team_id, response_ids)
    finally:
        # After a refresh is marked pending, so no DM is rendered before it can wait for it.
        wake(services)


def _refresh_for_praise(services: Services, team_id: str, response_ids: list[int]) -> None:
    # A refresh time only moves forward: while the one seen last is recent enough, the
    # directory is fresh without asking the database on every webhook.
    state = services.state(DirectoryState)
    seen = state.refreshed
    refreshed_at = seen.get(team_id)
    if refreshed_at is None or services.clock() - refreshed_at >= DIRECTORY_MAX_AGE:
        refreshed_at = store.directory_refreshed_at(services.engine, team_id=team_id)
        if refreshed_at is not None:
            seen[team_id] = refreshed_at
    if refreshed_at is not None and services.clock() - refreshed_at < DIRECTORY_MAX_AGE:
        return
    if not services.settings.can_call_slack:
        return
    now = services.clock()
    with state.lock:
        # Kept with the services (one per running bot), not in the module: two bots in
        # one process (tests, the sandbox) must not silence each other's refreshes.
        attempts = state.attempts
        last = attempts.get(team_id)
        if last is not None and now - last < DIRECTORY_RETRY_AGE:
            return  # a refresh just ran or failed: do not ask Slack on every webhook
        attempts[team_id] = now
        state.reading.add(team_id)
    state.worker.submit(_praise_again, services, team_id, list(response_ids))


def _praise_again(services: Services, team_id: str, response_ids: list[int]) -> None:
    try:
        client = services.slack.for_team(team_id)
        _people, refreshed = ensure_directory(services, client, team_id)
        if refreshed and store.praise_for_responses(
            services.engine, team_id=team_id, response_ids=response_ids, now=services.clock()
        ):
            wake(services)
    except Exception:
        log.exception("customer praise after the webhook failed for %d answers", len(response_ids))
    finally:
        state = services.state(DirectoryState)
        with state.lock:
            state.reading.discard(team_id)


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
