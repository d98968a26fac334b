"""Customer insights in Slack: `/insight [text]`, its form, the message shortcut "Save as
customer insight", the four buttons on an insight's message, `/insight list` and
`/insight search`.

An insight is stored before anything else happens and the user is told at once; the
analysis and the channel post follow after the ack (analysis.analyze_later).
"""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.forms import confirm, reader, tell, text_value
from bot.handlers.insights import blocks, status
from bot.handlers.insights.analysis import analyze_later
from bot.i18n import N_, Translator, user_timezone
from bot.services import Services
from bot.text import echo
from storage import insights as store

log = logging.getLogger(__name__)

SHORTCUT = "save_insight"

EMPTY_TEXT = N_("Write what the customer said.")
NOT_YOURS = N_(
    "Only the colleague who recorded this insight, whoever took it on, or an admin can "
    "change its status. You can press +1 to say you heard it too."
)
NO_MESSAGE_TEXT = N_("That message has no text to save as a customer insight.")
GONE = N_("That insight no longer exists.")
OWN_VOTE = N_(
    "You recorded this insight yourself, so it already counts. "
    "+1 is for colleagues who heard the same."
)
ALREADY_VOTED = N_("You have already said you heard this too.")
BAD_LIST = N_(
    "“{value}” is not a list of insights. Use open, mine or a category ({categories}), "
    "e.g. `/insight list mine`."
)
PAGE_SIZE = 10  # insights per list message
MORE_HINT = N_("Showing {first}–{last} of {total}. For the next ones: `{command}`.")
PAGE_SHOWN = N_("Showing {first}–{last} of {total}.")
SEARCH_EMPTY = N_("Tell me what to look for, e.g. `/insight search delivery late`.")
OPEN_TITLE = N_("Open customer insights")
OPEN_EMPTY = N_("No open insights. Record what you hear from customers with `/insight`.")
MINE_TITLE = N_("Customer insights you recorded")
MINE_EMPTY = N_("You have not recorded any customer insights yet.")
CATEGORY_TITLE = N_("Open customer insights: {category}")
CATEGORY_EMPTY = N_("No open insights in this category.")
SEARCH_TITLE = N_("Customer insights mentioning “{words}”")
SEARCH_NONE = N_("No insight mentions all of these words.")


def register(app: App, services: Services) -> None:
    @app.command("/insight")
    def insight_command_callback(
        ack: Ack,
        command: dict[str, Any],
        respond: Respond,
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        user, team = str(context.user_id or ""), str(context.team_id or "")
        t = reader(context, services.settings.cxbot_locale)
        verb, arg = parse_command(str(command.get("text") or ""))
        if verb == "form":
            channel = str(command.get("channel_id") or "")
            client.views_open(
                trigger_id=command["trigger_id"], view=blocks.insight_modal(t, channel=channel)
            )
        elif verb == "help":
            config = store.load_config(services.engine, team_id=team)
            tell(respond, blocks.usage(t, config.categories))
        elif verb in ("list", "search"):
            tz = ZoneInfo(user_timezone(client, user, services.settings.cxbot_timezone))
            if verb == "list":
                text, shown = _list(services, t, tz, team=team, user=user, arg=arg)
            else:
                text, shown = _search(services, t, tz, team=team, words=arg)
            respond(text=text, blocks=shown, response_type="ephemeral", replace_original=False)
        else:
            new = store.NewInsight(reporter=user, text=arg, source="command")
            tell(respond, _save(services, team, new, t))

    @app.view(blocks.MODAL)
    def insight_form_callback(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        t = reader(context, services.settings.cxbot_locale)
        user, team = str(context.user_id or ""), str(context.team_id or "")
        text = text_value(view, blocks.TEXT_BLOCK, blocks.INPUT)
        if not text.strip():
            ack(response_action="errors", errors={blocks.TEXT_BLOCK: t.gettext(EMPTY_TEXT)})
            return
        new = store.NewInsight(
            reporter=user,
            text=text,
            customer=text_value(view, blocks.CUSTOMER_BLOCK, blocks.INPUT) or None,
            segment=text_value(view, blocks.SEGMENT_BLOCK, blocks.INPUT) or None,
            touchpoint=text_value(view, blocks.TOUCHPOINT_BLOCK, blocks.INPUT) or None,
            source="modal",
            request_key=f"view:{view.get('id')}",
        )
        notice = _save(services, team, new, t)
        ack()
        _notify(client, user, blocks.modal_channel(view.get("private_metadata")), notice)

    @app.shortcut(SHORTCUT)
    def save_insight_callback(
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()
        t = reader(context, services.settings.cxbot_locale)
        user, team = str(context.user_id or ""), str(context.team_id or "")
        message = body.get("message") or {}
        channel = str((body.get("channel") or {}).get("id") or "") or None
        ts = str(message.get("ts") or body.get("message_ts") or "") or None
        text = str(message.get("text") or "")
        if not text.strip():
            tell(respond, t.gettext(NO_MESSAGE_TEXT))
            return
        new = store.NewInsight(
            reporter=user,
            text=text,
            source="shortcut",
            permalink=permalink(client, channel, ts),
            message_author=str(message.get("user") or "")[:32] or None,
            request_key=f"message:{channel}:{ts}:{user}",
        )
        tell(respond, _save(services, team, new, t))

    @app.action(blocks.VOTE_ACTION)
    def vote_callback(
        ack: Ack, body: dict[str, Any], context: BoltContext, respond: Respond
    ) -> None:
        ack()
        t = reader(context, services.settings.cxbot_locale)
        result = status.vote(
            services,
            team_id=str(context.team_id or ""),
            insight_id=_pressed(body),
            user_id=str(context.user_id or ""),
        )
        if result.outcome == "gone":
            tell(respond, t.gettext(GONE))
        elif result.outcome == "own":
            tell(respond, t.gettext(OWN_VOTE))
        elif result.outcome == "repeat":
            tell(respond, t.gettext(ALREADY_VOTED))

    def status_callback(
        ack: Ack,
        body: dict[str, Any],
        context: BoltContext,
        client: WebClient,
        respond: Respond,
    ) -> None:
        ack()
        t = reader(context, services.settings.cxbot_locale)
        action_id = str(((body.get("actions") or [{}])[0]).get("action_id") or "")
        result = status.change_status(
            services,
            client,
            team_id=str(context.team_id or ""),
            insight_id=_pressed(body),
            status=blocks.STATUS_ACTIONS[action_id],
            user_id=str(context.user_id or ""),
        )
        if result is None:
            tell(respond, t.gettext(NOT_YOURS))
        elif result.card is None:
            tell(respond, t.gettext(GONE))
        # Already in that status: a double click, nothing to say.

    for action_id in blocks.STATUS_ACTIONS:
        app.action(action_id)(status_callback)


# --------------------------------------------------------------------------- commands


def parse_command(text: str) -> tuple[str, str]:
    """What `/insight TEXT` asks for: ("form", ""), ("help", ""), ("list", kind),
    ("search", words) or ("record", text).

    Command words are English in every language. `list` takes at most one word and a
    page number, so an insight that happens to start with "list" ("list prices went up
    again") is recorded.
    """
    stripped = text.strip()
    if not stripped:
        return "form", ""
    words = stripped.split()
    first = words[0].lower()
    if first == "help" and len(words) == 1:
        return "help", ""
    if first == "list" and len(words) <= 2:
        return "list", words[1] if len(words) == 2 else ""
    if first == "list" and len(words) == 3 and words[2].isascii() and words[2].isdigit():
        return "list", f"{words[1]} {words[2]}"  # a page: `/insight list open 2`
    if first == "search":
        return "search", stripped[len(words[0]) :].strip()
    return "record", stripped


def _list(
    services: Services, t: Translator, tz: ZoneInfo, *, team: str, user: str, arg: str
) -> tuple[str, list[Any]]:
    """`/insight list [open|mine|CATEGORY] [PAGE]`: (text, blocks) of one page."""
    config = store.load_config(services.engine, team_id=team)
    words = arg.strip().lower().split()
    page = 1
    if words and words[-1].isascii() and words[-1].isdigit() and len(words[-1]) <= 6:
        page = max(int(words.pop()), 1)
    word = " ".join(words)
    category: str | None = None
    if word in ("", "open"):
        kind: store.ListKind = "open"
        title, empty = t.gettext(OPEN_TITLE), t.gettext(OPEN_EMPTY)
    elif word == "mine":
        kind = "mine"
        title, empty = t.gettext(MINE_TITLE), t.gettext(MINE_EMPTY)
    else:
        category = _category(word, config.categories, t)
        kind = "category"
        label = blocks.category_label(category, t)
        title, empty = t.gettext(CATEGORY_TITLE, category=label), t.gettext(CATEGORY_EMPTY)
    cards, total = store.list_insights(
        services.engine,
        team_id=team,
        kind=kind,
        user_id=user,
        category=category,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    more = None
    if cards and (total > page * PAGE_SIZE or page > 1):
        first = (page - 1) * PAGE_SIZE + 1
        last = first + len(cards) - 1
        hint = MORE_HINT if total > last else PAGE_SHOWN
        more = t.gettext(
            hint,
            first=t.number(first, 0),
            last=t.number(last, 0),
            total=t.number(total, 0),
            command=f"/insight list {word or 'open'} {page + 1}",
        )
    return blocks.insight_list(cards, total, title, empty, t, tz, more=more)


def _category(word: str, categories: tuple[str, ...], t: Translator) -> str:
    """A configured category by its name or its label in the reader's language."""
    for category in categories:
        if word in (category, blocks.category_label(category, t).lower()):
            return category
    names = ", ".join(f"`{c}`" for c in categories)
    raise UserError(BAD_LIST, value=echo(word), categories=names)


def _search(
    services: Services, t: Translator, tz: ZoneInfo, *, team: str, words: str
) -> tuple[str, list[Any]]:
    """`/insight search WORDS`: (text, blocks) of the insights mentioning every word."""
    terms = words.split()
    if not terms:
        raise UserError(SEARCH_EMPTY)
    cards, total = store.search(services.engine, team_id=team, words=terms)
    title = t.gettext(SEARCH_TITLE, words=echo(" ".join(terms)))
    return blocks.insight_list(cards, total, title, t.gettext(SEARCH_NONE), t, tz)


# --------------------------------------------------------------------------- helpers


def _save(services: Services, team: str, new: store.NewInsight, t: Translator) -> str:
    """Store the insight and queue its analysis (a repeat of the same request stores
    nothing); the confirmation for the reporter."""
    recorded = store.record(services.engine, team_id=team, insight=new, now=services.clock())
    if recorded.created:
        analyze_later(services, team_id=team, insight_id=recorded.insight_id)
    channel = store.load_config(services.engine, team_id=team).channel
    return blocks.confirmation(recorded.insight_id, channel, recorded.created, t)


def _pressed(body: dict[str, Any]) -> int:
    """The insight whose button was pressed."""
    value = ((body.get("actions") or [{}])[0]).get("value")
    try:
        return int(str(value))
    except (TypeError, ValueError):
        raise UserError(GONE) from None


def permalink(client: WebClient, channel: str | None, ts: str | None) -> str | None:
    """The saved message's permalink; None when Slack cannot give one (the insight is
    stored all the same)."""
    if not channel or not ts:
        return None
    try:
        link = client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
    except SlackApiError as exc:
        log.info("no permalink for a saved message: %s", exc.response.get("error"))
        return None
    return str(link) if link else None


def _notify(client: WebClient, user: str, channel: str | None, text: str) -> None:
    """An ephemeral note in the channel the form was opened from, else a DM."""
    try:
        confirm(client, user, channel, text)
    except SlackApiError:
        log.warning("could not confirm a saved insight to its reporter", exc_info=True)
