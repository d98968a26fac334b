"""Giving a shout-out: the command read, the receivers and the promise checked, the
limits kept, and the rest stored by `storage.shoutouts.give` with its messages queued.
Refusals are raised as `UserError` (the giver reads them in their language).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time

from slack_sdk import WebClient

from bot.errors import UserError
from bot.handlers.metrics.report import workspace_tz
from bot.handlers.shoutouts.directory import DIRECTORY_RETRY_AGE, ensure_directory, lookup_people
from bot.i18n import N_
from bot.outbox import wake
from bot.services import Services
from bot.text import echo
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
            raise UserError(GROUP, token=echo(exc.token)) from None
        if exc.problem == "too_long":
            raise UserError(TOO_LONG, n=exc.token, max=MAX_TEXT, numbers=("n", "max")) from None
        if exc.problem == "too_many":
            raise UserError(TOO_MANY, max=MAX_RECEIVERS) from None
        raise UserError(MALFORMED, token=echo(exc.token)) from None
    return ParsedCommand(parsed.mentions, parsed.text, parsed.tag)


# --------------------------------------------------------------------------- people


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
                raise UserError(UNKNOWN_USER, block_id=block_id, name=echo(mention.raw))
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
                raise UserError(UNKNOWN_USER, block_id=block_id, name="@" + echo(name))
            if len(matches) > 1:
                names = ", ".join(f"<@{p.user_id}>" for p in matches[:5])
                raise UserError(
                    AMBIGUOUS_USER, block_id=block_id, name="@" + echo(name), names=names
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
            raise UserError(UNKNOWN_PROMISE, block_id=block_id, tag=echo(tag), tags=tags)
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
