"""Customer insights as Block Kit: the channel message with its four buttons, the status
DM to the reporter, the form, the confirmation, lists and search results.

Pure functions of an `InsightCard` (storage.insights) and a translator. Insight text is
shown shortened (the whole text stays in the database) and with personal data masked:
the channel and the lists are read by many, the details are for whoever follows up.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import tzinfo
from typing import Any, Final

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    InputBlock,
    PlainTextInputElement,
    PlainTextObject,
)
from slack_sdk.models.views import View

from bot.blocks import Block, context, section
from bot.i18n import N_, Translator
from bot.text import escape, literal_parts, mention, plain, quote, shown
from core.text import redact
from storage.insights import DONE, NEW, NOT_RELEVANT, PLANNED, InsightCard

VOTE_ACTION = "insight_vote"
PLAN_ACTION = "insight_plan"
DONE_ACTION = "insight_done"
NOT_RELEVANT_ACTION = "insight_not_relevant"
STATUS_ACTIONS: Final = {PLAN_ACTION: PLANNED, DONE_ACTION: DONE, NOT_RELEVANT_ACTION: NOT_RELEVANT}
MODAL = "insight_modal"
TEXT_BLOCK, CUSTOMER_BLOCK, SEGMENT_BLOCK, TOUCHPOINT_BLOCK = (
    "text",
    "customer",
    "segment",
    "touchpoint",
)
INPUT = "value"

MAX_MESSAGE_BLOCKS = 50  # Slack's limit for a message; slack_sdk does not count blocks
SNIPPET = 600  # characters of an insight in its channel message (a section holds 3,000)
LIST_SNIPPET = 200
DM_SNIPPET = 300
TEXT_INPUT_MAX = 3000  # Slack's limit for a plain-text input

CATEGORY_LABELS: Final = {
    "product": N_("Product"),
    "service": N_("Service"),
    "price": N_("Price"),
    "delivery": N_("Delivery"),
    "communication": N_("Communication"),
    "usability": N_("Usability"),
    "other": N_("Other"),
}
SENTIMENT_LABELS: Final = {
    "negative": (":slightly_frowning_face:", N_("negative")),
    "neutral": (":neutral_face:", N_("neutral")),
    "positive": (":slightly_smiling_face:", N_("positive")),
}
STATUS_LABELS: Final = {
    NEW: N_("New"),
    PLANNED: N_("Planned"),
    DONE: N_("Done"),
    NOT_RELEVANT: N_("Not relevant"),
}
STATUS_ICONS: Final = {
    NEW: ":new:",
    PLANNED: ":spiral_calendar_pad:",
    DONE: ":white_check_mark:",
    NOT_RELEVANT: ":heavy_minus_sign:",
}
STATUS_DMS: Final = {
    PLANNED: N_(
        "{user} has planned work on the customer insight you shared. Thank you for passing it on!"
    ),
    DONE: N_(
        "{user} marked the customer insight you shared as done. It made a difference: thank you!"
    ),
    NOT_RELEVANT: N_(
        "{user} marked the customer insight you shared as not relevant for now. "
        "Thank you all the same: keep them coming."
    ),
    NEW: N_("{user} reopened the customer insight you shared."),
}


# --------------------------------------------------------------------------- helpers


def shown_text(text: str, limit: int) -> str:
    """What others see of an insight: personal data masked, shortened, safe as mrkdwn."""
    return shown(literal_parts(text, redact), limit)


def category_label(category: str | None, t: Translator) -> str:
    if not category:
        return t.gettext("not categorised yet")
    label = CATEGORY_LABELS.get(category)
    return t.gettext(label) if label else escape(category[:1].upper() + category[1:])


def status_label(status: str, t: Translator) -> str:
    label = STATUS_LABELS.get(status)
    return t.gettext(label) if label else escape(status)


def _plain(text: str) -> str:
    """Notification text: the mrkdwn stars dropped."""
    return text.replace("*", "")


def _facts(card: InsightCard, t: Translator) -> list[str]:
    _ = t.gettext
    facts = []
    if card.customer:
        facts.append(_("Customer: {customer}", customer=escape(card.customer)))
    if card.segment:
        facts.append(_("Segment: {segment}", segment=escape(card.segment)))
    if card.touchpoint:
        facts.append(_("Touchpoint: {touchpoint}", touchpoint=escape(card.touchpoint)))
    return facts


def headline(card: InsightCard, t: Translator) -> str:
    """ "*Customer insight #12* · Delivery · :slightly_frowning_face: negative · priority 4" """
    _ = t.gettext
    parts = [
        "*" + _("Customer insight #{id}", id=card.id) + "*",
        category_label(card.category, t),
    ]
    if card.sentiment in SENTIMENT_LABELS:
        icon, word = SENTIMENT_LABELS[card.sentiment]
        parts.append(f"{icon} {_(word)}")
    if card.priority is not None:
        parts.append(_("priority {priority}", priority=t.number(card.priority, 0)))
    return " · ".join(parts)


def status_line(card: InsightCard, t: Translator) -> str:
    _ = t.gettext
    line = f"{STATUS_ICONS.get(card.status, '')} {status_label(card.status, t)}".strip()
    if card.status != NEW and card.status_by:
        line += " · " + _("by {user}", user=mention(card.status_by))
    if card.votes:
        line += " · " + t.ngettext(
            "{count} colleague heard this too",
            "{count} colleagues heard this too",
            card.votes,
            count=t.number(card.votes, 0),
        )
    return line


# --------------------------------------------------------------------------- the message


def insight_message(
    card: InsightCard, t: Translator, *, heard: str | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) of the insight in the insights channel: always the current
    state, so an update is the same call as the first post."""
    _ = t.gettext
    blocks: list[Block] = [
        section(":bulb: " + headline(card, t)),
        section(quote(shown_text(card.text, SNIPPET))),
    ]
    if len(card.text.strip()) > SNIPPET:
        blocks.append(
            context(
                ":scissors: "
                + _(
                    "Shortened here; the whole text ({count} characters) is kept.",
                    count=t.number(len(card.text.strip()), 0),
                )
            )
        )
    facts = _facts(card, t)
    who = _("Recorded by {user}", user=mention(card.reporter))
    if card.source == "shortcut":
        author = mention(card.message_author) or _("someone")
        if card.permalink:
            who += " · " + _(
                "from <{link}|a message> by {author}", link=card.permalink, author=author
            )
        else:
            who += " · " + _("from a message by {author}", author=author)
    facts.append(who)
    blocks.append(context(" · ".join(facts)))
    if card.duplicate_of:
        blocks.append(
            context(":link: " + _("Says the same as insight #{id}.", id=card.duplicate_of))
        )
    if heard:
        # `heard` is the product's own sentence (bot.handlers.themes.blocks.linked_line).
        blocks.append(context(":busts_in_silhouette: " + heard))
    blocks.append(section(status_line(card, t)))
    blocks.append(ActionsBlock(block_id=f"insight:{card.id}", elements=buttons(card, t)))
    text = _(
        "Customer insight #{id} ({category}): {text}",
        id=card.id,
        category=category_label(card.category, t),
        text=shown(literal_parts(card.text, redact), 150, oneline=True),
    )
    return text, [b.to_dict() for b in blocks[:MAX_MESSAGE_BLOCKS]]


def buttons(card: InsightCard, t: Translator) -> list[ButtonElement]:
    """+1 always; each status button except the one the insight is in."""
    _ = t.gettext
    value = str(card.id)
    elements = [ButtonElement(text=_("+1, I heard this too"), action_id=VOTE_ACTION, value=value)]
    if card.status != PLANNED:
        elements.append(
            ButtonElement(text=_("Plan it"), action_id=PLAN_ACTION, value=value, style="primary")
        )
    if card.status != DONE:
        elements.append(ButtonElement(text=_("Done"), action_id=DONE_ACTION, value=value))
    if card.status != NOT_RELEVANT:
        elements.append(
            ButtonElement(text=_("Not relevant"), action_id=NOT_RELEVANT_ACTION, value=value)
        )
    return elements


def status_dm(
    card: InsightCard, status: str, by: str, t: Translator
) -> tuple[str, list[dict[str, Any]]]:
    """The reporter's DM when their insight's status changes: feedback on feedback."""
    _ = t.gettext
    msgid = STATUS_DMS.get(status, STATUS_DMS[NEW])
    lines = [f"{STATUS_ICONS.get(status, '')} " + _(msgid, user=mention(by))]
    lines.append(quote(shown_text(card.text, DM_SNIPPET)))
    if card.channel:
        lines.append(_("It is in {channel}.", channel=f"<#{card.channel}>"))
    body = "\n".join(lines)
    return _plain(body), [section(body).to_dict()]


# --------------------------------------------------------------------------- replies


def confirmation(insight_id: int, channel: str | None, created: bool, t: Translator) -> str:
    _ = t.gettext
    if not created:
        return _("This was already saved as customer insight #{id}.", id=insight_id)
    text = ":white_check_mark: " + _(
        "Thanks! Your customer insight is saved (#{id}).", id=insight_id
    )
    if channel:
        return (
            text
            + " "
            + _("I will categorise it and share it in {channel}.", channel=f"<#{channel}>")
        )
    return (
        text
        + " "
        + _(
            "No insights channel is set up yet, so it is kept but not shared. "
            "An admin can choose one with `/cx config` (insights.channel)."
        )
    )


def usage(t: Translator, categories: Sequence[str]) -> str:
    _ = t.gettext
    names = ", ".join(f"`{c}`" for c in categories)
    return "\n".join(
        [
            "*" + _("Customer insights") + "*",
            _("`/insight what the customer said`: record an insight"),
            _("`/insight`: open a form with customer, segment and touchpoint"),
            _("`/insight list`: open insights, the highest priority first"),
            _("`/insight list mine`: the insights you recorded, with their status"),
            _(
                "`/insight list <category>`: open insights in one category ({categories})",
                categories=names,
            ),
            _("`/insight search <words>`: insights that mention all the words"),
        ]
    )


def insight_list(
    cards: Sequence[InsightCard],
    total: int,
    title: str,
    empty: str,
    t: Translator,
    tz: tzinfo,
    *,
    more: str | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """A list of insights as (fallback text, blocks): `title`, `empty` and `more` (which
    page this is and how to see the next) are translated."""
    _ = t.gettext
    blocks: list[Block] = [section(f"*{title}* ({t.number(total, 0)})")]
    if not cards:
        blocks.append(context(empty))
    for card in cards:
        line = " · ".join(
            [
                f"*#{card.id}*",
                category_label(card.category, t),
                status_label(card.status, t),
            ]
            + (
                [_("priority {priority}", priority=t.number(card.priority, 0))]
                if card.priority is not None
                else []
            )
        )
        if card.channel and card.ts:
            line += f" · <#{card.channel}>"
        blocks.append(section(line + "\n" + quote(shown_text(card.text, LIST_SNIPPET))))
        facts = _facts(card, t)
        facts.append(t.date(card.created_at, tz=tz))
        facts.append(_("by {user}", user=mention(card.reporter)))
        if card.votes:
            facts.append(
                t.ngettext("{count} +1", "{count} +1s", card.votes, count=t.number(card.votes, 0))
            )
        if card.duplicate_of:
            facts.append(_("same as #{id}", id=card.duplicate_of))
        blocks.append(context(" · ".join(facts)))
    if more:
        blocks.append(context(more))
    elif total > len(cards):
        blocks.append(context(_("and {count} more", count=t.number(total - len(cards), 0))))
    return f"{_plain(title)}: {total}", [b.to_dict() for b in blocks[:MAX_MESSAGE_BLOCKS]]


# --------------------------------------------------------------------------- the form


def insight_modal(t: Translator, *, channel: str | None, text: str = "") -> dict[str, Any]:
    """The form `/insight` opens without text; `private_metadata` keeps the channel the
    command came from, for the confirmation."""
    _ = t.gettext

    def field(block: str, label: str, hint: str | None = None) -> InputBlock:
        return InputBlock(
            block_id=block,
            label=label,
            optional=True,
            element=PlainTextInputElement(action_id=INPUT, max_length=200, placeholder=hint),
        )

    view = View(
        type="modal",
        callback_id=MODAL,
        private_metadata=json.dumps({"channel": channel}),
        title=PlainTextObject(text=_("Customer insight")[:24]),
        submit=PlainTextObject(text=_("Save")[:24]),
        close=PlainTextObject(text=_("Cancel")[:24]),
        blocks=[
            InputBlock(
                block_id=TEXT_BLOCK,
                label=_("What did the customer say?"),
                element=PlainTextInputElement(
                    action_id=INPUT,
                    multiline=True,
                    max_length=TEXT_INPUT_MAX,
                    initial_value=plain(text)[:TEXT_INPUT_MAX] or None,
                    placeholder=_("In the customer's own words, as far as you can"),
                ),
            ),
            field(CUSTOMER_BLOCK, _("Customer"), _("Name or customer number")),
            field(SEGMENT_BLOCK, _("Segment"), _("e.g. Private, Business")),
            field(TOUCHPOINT_BLOCK, _("Touchpoint"), _("e.g. Checkout, Support, Delivery")),
        ],
    )
    return view.to_dict()


def modal_channel(private_metadata: str | None) -> str | None:
    try:
        data = json.loads(private_metadata or "{}")
    except ValueError:
        return None
    channel = data.get("channel") if isinstance(data, dict) else None
    return str(channel) if channel else None
