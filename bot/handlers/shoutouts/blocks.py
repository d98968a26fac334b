"""Shout-outs as Block Kit: the channel post, the receiver's DM, the form, the giver's receipt.

Pure functions of a `ShoutoutDetail` (storage.shoutouts), or of the `Given` the receipt
tells, and a translator. Stored text is
in bot.text's stored form; a colleague's keeps its mentions, a customer's none.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from slack_sdk.models.blocks import (
    ContextBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks import Block, context, section
from bot.i18n import N_, Translator
from bot.text import echo, escape, fit, literal_parts, mrkdwn, quote, shown
from core.metrics import SCORE_RANGES
from core.shoutouts import MAX_RECEIVERS, MAX_TEXT, promise_tag, slug
from core.text import redact
from storage.shoutouts import ShoutoutDetail

if TYPE_CHECKING:
    from bot.handlers.shoutouts.giving import Given

SHOUTOUT_MODAL = "shoutout_modal"
RECEIVERS_BLOCK, RECEIVERS_INPUT = "receivers", "users"
TEXT_BLOCK, TEXT_INPUT = "text", "text"
PROMISE_BLOCK, PROMISE_INPUT = "promise", "promise"
QUOTE_LIMIT = 2500  # of a customer's comment; Slack's section text holds 3,000
METRIC_NAMES: Final = MappingProxyType({"nps": "NPS", "csat": "CSAT", "ces": "CES"})

HEADLINE = N_(":tada: {giver} gave a shout-out to {receivers}")
CUSTOMER_HEADLINE = N_(":speech_balloon: *The customer said* about {receivers}")
CUSTOMER_NO_COMMENT = N_("A customer gave {score} and named {receivers}.")
PROMISE_LINE = N_("Customer promise: *{promise}*")
SECOND_HINT = N_("React to second it")
DM_HEADLINE = N_(":tada: {giver} gave you a shout-out")
DM_CUSTOMER_HEADLINE = N_(":speech_balloon: A customer praised you")
DM_FALLBACK = N_("{giver} gave you a shout-out: {text}")
DM_CUSTOMER_FALLBACK = N_("A customer praised you: {text}")
FALLBACK = N_("{giver} gave a shout-out to {receivers}: {text}")
CUSTOMER_FALLBACK = N_("The customer said about {receivers}: {text}")

MODAL_TITLE = N_("Shout-out")
MODAL_SUBMIT = N_("Send")
MODAL_CLOSE = N_("Cancel")
RECEIVERS_LABEL = N_("Who acted for the customer?")
TEXT_LABEL = N_("What did they do?")
TEXT_HINT = N_("Be specific: what happened, and what it meant for the customer.")
PROMISE_LABEL = N_("Which customer promise did they keep?")
PROMISE_PLACEHOLDER = N_("Pick a promise")

SENT_DM_ONLY = N_(
    "Thanks! {receivers} will get your shout-out by direct message. No shout-out channel is "
    "set up yet: an admin can choose one with `/cx config` (shoutouts.channel)."
)
UNTAGGED = N_(
    "“#{tag}” is not tagged: no customer promises are set up yet. An admin can add them "
    "with `/cx config` (promises)."
)
TAGGED = N_("Tagged with our promise “{promise}”.")
SUGGESTED = N_(
    "Tagged with our promise “{promise}”, which fits what you wrote. To choose another, "
    "end with a tag such as `{tag}`."
)
TAG_TIP = N_("Tip: end with a tag such as `{tag}` to show which customer promise was kept.")
LEFT_ONE = N_("Heads up: you have one shout-out left today.")
LEFT_NONE = N_("That was your last shout-out for today.")


def mentions(users: Sequence[str], t: Translator) -> str:
    return t.join(f"<@{u}>" for u in users) or "–"


def _quoted(shout: ShoutoutDetail) -> str:
    # A colleague's words keep their mentions; a customer's can mention no one.
    return quote(shown(literal_parts(shout.text, redact), QUOTE_LIMIT, people=bool(shout.giver)))


def _said(shout: ShoutoutDetail) -> str:
    return mrkdwn(literal_parts(shout.text, redact), people=bool(shout.giver))


def score_label(metric: str | None, score: int | None) -> str:
    if metric not in SCORE_RANGES or score is None:
        return ""
    return f"{METRIC_NAMES[metric]} {score}/{SCORE_RANGES[metric][1]}"


def _context(parts: Sequence[str]) -> ContextBlock:
    return context(" · ".join(p for p in parts if p))


def _blocks(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]


def channel_message(shout: ShoutoutDetail, t: Translator) -> tuple[str, list[dict[str, Any]]]:
    """The post in the shout-outs channel: who praised whom for what, and the promise."""
    _ = t.gettext
    receivers = mentions(shout.receivers, t)
    blocks: list[Block] = []
    if shout.giver:
        blocks.append(section(_(HEADLINE, giver=f"<@{shout.giver}>", receivers=receivers)))
        if shout.text.strip():
            blocks.append(section(_quoted(shout)))
        fallback = _(FALLBACK, giver=f"<@{shout.giver}>", receivers=receivers, text=_said(shout))
    else:
        blocks.append(section(_(CUSTOMER_HEADLINE, receivers=receivers)))
        score = score_label(shout.metric, shout.score)
        if shout.text.strip():
            blocks.append(section(_quoted(shout)))
        else:
            blocks.append(section(_(CUSTOMER_NO_COMMENT, score=score, receivers=receivers)))
        fallback = _(CUSTOMER_FALLBACK, receivers=receivers, text=_said(shout) or score)
    details = []
    if not shout.giver:
        details.append(score_label(shout.metric, shout.score))
        if shout.touchpoint:
            details.append(escape(shout.touchpoint))
    if shout.promise:
        details.append(_(PROMISE_LINE, promise=escape(shout.promise)))
    details.append(_(SECOND_HINT) + " :clap:")
    blocks.append(_context(details))
    return _short(fallback), _blocks(blocks)


def dm_message(shout: ShoutoutDetail, t: Translator) -> tuple[str, list[dict[str, Any]]]:
    """What each receiver reads in their DM with the bot."""
    _ = t.gettext
    blocks: list[Block] = []
    if shout.giver:
        blocks.append(section(_(DM_HEADLINE, giver=f"<@{shout.giver}>")))
        fallback = _(DM_FALLBACK, giver=f"<@{shout.giver}>", text=_said(shout))
    else:
        blocks.append(section(_(DM_CUSTOMER_HEADLINE)))
        fallback = _(
            DM_CUSTOMER_FALLBACK, text=_said(shout) or score_label(shout.metric, shout.score)
        )
    if shout.text.strip():
        blocks.append(section(_quoted(shout)))
    details = [] if shout.giver else [score_label(shout.metric, shout.score)]
    if shout.promise:
        details.append(_(PROMISE_LINE, promise=escape(shout.promise)))
    if any(details):
        blocks.append(_context(details))
    return _short(fallback), _blocks(blocks)


def _short(text: str, limit: int = 300) -> str:
    # The notification text: a preview, not the whole story.
    return fit(" ".join(text.split()), limit)


def shoutout_modal(
    t: Translator,
    promises: Sequence[str],
    *,
    users: Sequence[str] = (),
    text: str = "",
    channel_id: str | None = None,
) -> dict[str, Any]:
    """The form `/shoutout` opens without text: colleagues, what they did, the promise."""
    _ = t.gettext
    blocks: list[Block] = [
        InputBlock(
            block_id=RECEIVERS_BLOCK,
            label=_(RECEIVERS_LABEL),
            element=UserMultiSelectElement(
                action_id=RECEIVERS_INPUT,
                initial_users=list(users) or None,
                max_selected_items=MAX_RECEIVERS,
            ),
        ),
        InputBlock(
            block_id=TEXT_BLOCK,
            label=_(TEXT_LABEL),
            hint=_(TEXT_HINT),
            element=PlainTextInputElement(
                action_id=TEXT_INPUT,
                multiline=True,
                max_length=MAX_TEXT,
                initial_value=text or None,
            ),
        ),
    ]
    options = promise_options(promises)
    if options:
        blocks.append(
            InputBlock(
                block_id=PROMISE_BLOCK,
                label=_(PROMISE_LABEL),
                optional=True,
                element=StaticSelectElement(
                    action_id=PROMISE_INPUT,
                    placeholder=_(PROMISE_PLACEHOLDER),
                    options=options,
                ),
            )
        )
    view = View(
        type="modal",
        callback_id=SHOUTOUT_MODAL,
        title=PlainTextObject(text=_(MODAL_TITLE)[:24]),
        submit=PlainTextObject(text=_(MODAL_SUBMIT)[:24]),
        close=PlainTextObject(text=_(MODAL_CLOSE)[:24]),
        private_metadata=json.dumps({"channel": channel_id}) if channel_id else None,
        blocks=blocks,
    )
    return view.to_dict()


def promise_options(promises: Sequence[str]) -> list[Option]:
    """One option per promise (Slack allows 100); the value is the promise's slug."""
    seen: dict[str, str] = {}
    for promise in promises:
        seen.setdefault(slug(promise)[:150], promise)
    return [
        Option(value=value, text=label[:75]) for value, label in list(seen.items())[:100] if value
    ]


def receipt(t: Translator, given: Given) -> str:
    """What the giver reads after a shout-out was recorded: where it goes, the promise,
    and how many they have left today (warned before the last), and a typed `#tag` that
    named no promise because none are set."""
    _ = t.gettext
    receivers, channel, promise = given.receivers, given.channel, given.promise
    promises, untagged = given.promises, given.untagged
    names = mentions(receivers, t)
    lines = [
        t.ngettext(
            "Thanks! Your shout-out to {receivers} is on its way to {channel}, "
            "and they get a direct message too.",
            "Thanks! Your shout-out to {receivers} is on its way to {channel}, "
            "and each of them gets a direct message.",
            len(receivers),
            receivers=names,
            channel=f"<#{channel}>",
        )
        if channel
        else _(SENT_DM_ONLY, receivers=names)
    ]
    if untagged:
        lines.append(_(UNTAGGED, tag=echo(untagged)))
    if promise and given.suggested:
        other = next((p for p in promises if p != promise), promise)
        lines.append(_(SUGGESTED, promise=escape(promise), tag=promise_tag(other)))
    elif promise:
        lines.append(_(TAGGED, promise=escape(promise)))
    elif promises:
        lines.append(_(TAG_TIP, tag=promise_tag(promises[0])))
    remaining = given.allowance.remaining
    if remaining is not None:
        if remaining <= 0:
            lines.append(_(LEFT_NONE))
        elif remaining == 1:
            lines.append(_(LEFT_ONE))
        else:
            lines.append(
                t.ngettext(
                    "You can give {n} more shout-out today.",
                    "You can give {n} more shout-outs today.",
                    remaining,
                )
            )
    return "\n".join(lines)
