"""Customer insights in Slack: `/insight [text]`, its form, the message shortcut "Save as
customer insight", the four buttons on an insight's message, `/insight list` and
`/insight search`.

An insight is stored before anything else happens and the user is told at once; the
analysis and the channel post follow after the ack (bot.insights.analyze_later).
"""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import insights as glue
from bot.errors import UserError
from bot.feature import Feature, Sweep
from bot.forms import tell, text_value
from bot.i18n import N_, Translator, translator, user_timezone
from bot.services import Services
from bot.text import echo
from bot.views import insights as views
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
        user, team, channel = _who(command, context)
        t = _t(context)
        verb, arg = parse_command(str(command.get("text") or ""))
        if verb == "form":
            client.views_open(
                trigger_id=command["trigger_id"], view=views.insight_modal(t, channel=channel)
            )
        elif verb == "help":
            config = store.load_config(services.engine, team_id=team)
            tell(respond, views.usage(t, config.categories))
        elif verb == "list":
            _list(services, respond, client, t, team=team, user=user, arg=arg)
        elif verb == "search":
            _search(services, respond, client, t, team=team, user=user, words=arg)
        else:
            recorded = store.record(
                services.engine,
                team_id=team,
                insight=store.NewInsight(reporter=user, text=arg, source="command"),
                now=services.clock(),
            )
            channel_to_share = store.load_config(services.engine, team_id=team).channel
            tell(respond, views.confirmation(recorded.insight_id, channel_to_share, True, t))
            glue.analyze_later(services, team_id=team, insight_id=recorded.insight_id)

    @app.view(views.MODAL)
    def insight_form_callback(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        t = _t(context)
        user = str((body.get("user") or {}).get("id") or "")
        team = str(context.team_id or (body.get("team") or {}).get("id") or "")
        text = text_value(view, views.TEXT_BLOCK, views.INPUT)
        if not text.strip():
            ack(response_action="errors", errors={views.TEXT_BLOCK: t.gettext(EMPTY_TEXT)})
            return
        recorded = store.record(
            services.engine,
            team_id=team,
            insight=store.NewInsight(
                reporter=user,
                text=text,
                customer=text_value(view, views.CUSTOMER_BLOCK, views.INPUT) or None,
                segment=text_value(view, views.SEGMENT_BLOCK, views.INPUT) or None,
                touchpoint=text_value(view, views.TOUCHPOINT_BLOCK, views.INPUT) or None,
                source="modal",
                request_key=f"view:{view.get('id')}",
            ),
            now=services.clock(),
        )
        ack()
        channel_to_share = store.load_config(services.engine, team_id=team).channel
        notice = views.confirmation(recorded.insight_id, channel_to_share, recorded.created, t)
        _notify(client, user, views.modal_channel(view.get("private_metadata")), notice)
        if recorded.created:
            glue.analyze_later(services, team_id=team, insight_id=recorded.insight_id)

    @app.shortcut(SHORTCUT)
    def save_insight_callback(
        ack: Ack,
        body: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()
        t = _t(context)
        user = str((body.get("user") or {}).get("id") or "")
        team = str(context.team_id or (body.get("team") or {}).get("id") or "")
        message = body.get("message") or {}
        channel = str((body.get("channel") or {}).get("id") or "") or None
        ts = str(message.get("ts") or body.get("message_ts") or "") or None
        text = str(message.get("text") or "")
        if not text.strip():
            tell(respond, t.gettext(NO_MESSAGE_TEXT))
            return
        recorded = store.record(
            services.engine,
            team_id=team,
            insight=store.NewInsight(
                reporter=user,
                text=text,
                source="shortcut",
                permalink=glue.permalink(client, channel, ts),
                message_author=str(message.get("user") or "")[:32] or None,
                request_key=f"message:{channel}:{ts}:{user}",
            ),
            now=services.clock(),
        )
        channel_to_share = store.load_config(services.engine, team_id=team).channel
        tell(
            respond,
            views.confirmation(recorded.insight_id, channel_to_share, recorded.created, t),
        )
        if recorded.created:
            glue.analyze_later(services, team_id=team, insight_id=recorded.insight_id)

    @app.action(views.VOTE_ACTION)
    def vote_callback(
        ack: Ack, body: dict[str, Any], context: BoltContext, respond: Respond
    ) -> None:
        ack()
        user, team, insight_id, t = _action(body, context)
        result = glue.vote(services, team_id=team, insight_id=insight_id, user_id=user)
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
        user, team, insight_id, t = _action(body, context)
        action_id = str(((body.get("actions") or [{}])[0]).get("action_id") or "")
        result = glue.change_status(
            services,
            client,
            team_id=team,
            insight_id=insight_id,
            status=views.STATUS_ACTIONS[action_id],
            user_id=user,
        )
        if result is None:
            tell(respond, t.gettext(NOT_YOURS))
        elif result.card is None:
            tell(respond, t.gettext(GONE))
        # Already in that status: a double click, nothing to say.

    for action_id in views.STATUS_ACTIONS:
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
    services: Services,
    respond: Respond,
    client: WebClient,
    t: Translator,
    *,
    team: str,
    user: str,
    arg: str,
) -> None:
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
        label = views.category_label(category, t)
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
    text, blocks = views.insight_list(
        cards, total, title, empty, t, _tz(services, client, user), more=more
    )
    respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


def _category(word: str, categories: tuple[str, ...], t: Translator) -> str:
    """A configured category by its name or its label in the reader's language."""
    for category in categories:
        if word in (category, views.category_label(category, t).lower()):
            return category
    names = ", ".join(f"`{c}`" for c in categories)
    raise UserError(BAD_LIST, value=_shown(word), categories=names)


def _search(
    services: Services,
    respond: Respond,
    client: WebClient,
    t: Translator,
    *,
    team: str,
    user: str,
    words: str,
) -> None:
    terms = words.split()
    if not terms:
        raise UserError(SEARCH_EMPTY)
    cards, total = store.search(services.engine, team_id=team, words=terms)
    title = t.gettext(SEARCH_TITLE, words=_shown(" ".join(terms)))
    text, blocks = views.insight_list(
        cards, total, title, t.gettext(SEARCH_NONE), t, _tz(services, client, user)
    )
    respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


# --------------------------------------------------------------------------- helpers


def _who(command: dict[str, Any], context: BoltContext) -> tuple[str, str, str]:
    user = str(command.get("user_id") or "")
    team = str(context.team_id or command.get("team_id") or "")
    return user, team, str(command.get("channel_id") or "")


def _action(body: dict[str, Any], context: BoltContext) -> tuple[str, str, int, Translator]:
    user = str((body.get("user") or {}).get("id") or "")
    team = str(context.team_id or (body.get("team") or {}).get("id") or "")
    value = ((body.get("actions") or [{}])[0]).get("value")
    try:
        insight_id = int(str(value))
    except (TypeError, ValueError):
        raise UserError(GONE) from None
    return user, team, insight_id, _t(context)


def _t(context: BoltContext) -> Translator:
    return translator(str(context.get("locale") or "en"))


def _tz(services: Services, client: WebClient, user: str) -> ZoneInfo:
    return ZoneInfo(user_timezone(client, user, services.settings.cxbot_timezone))


def _shown(text: str) -> str:
    return echo(text, 60)


def _notify(client: WebClient, user: str, channel: str | None, text: str) -> None:
    """An ephemeral note in the channel the form was opened from, else a DM."""
    try:
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
            return
    except SlackApiError as exc:
        log.info("cannot confirm in %s (%s); sending a DM", channel, exc.response.get("error"))
    try:
        client.chat_postMessage(channel=user, text=text)
    except SlackApiError:
        log.warning("could not confirm a saved insight to its reporter", exc_info=True)


FEATURE = Feature(
    name="insights",
    listeners=register,
    sweeps=(Sweep("insights.analyze", glue.analysis_sweep, 60),),
    renderers={glue.RENDERER: glue.render_insight},
    sent_hooks={glue.store.KEY_PREFIX: glue.after_send},
    starters=(glue.start,),
)
