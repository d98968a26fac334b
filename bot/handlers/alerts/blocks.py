"""Detractor alerts as Block Kit: the channel message, its modals, reminders, lists.

Pure functions of an `AlertCard` (storage.alerts) and a translator; the message
always shows the alert's current state, so an update is the same call as the
first post.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from types import MappingProxyType
from typing import Any, Final

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks import Block, context, section
from bot.i18n import N_, Translator
from bot.text import chunks, escape, literal_parts, mention, quote, shown
from core.alerts import CLAIMED, OPEN, OUTCOMES, RESOLVED
from core.text import redact
from storage.alerts import AlertCard
from storage.mail import Summary

CLAIM_ACTION = "alert_claim"
NOTE_ACTION = "alert_note"
RESOLVE_ACTION = "alert_resolve"
NOTE_MODAL = "alert_note_modal"
RESOLVE_MODAL = "alert_resolve_modal"
NOTE_BLOCK, NOTE_INPUT = "note", "text"
OUTCOME_BLOCK, OUTCOME_INPUT = "outcome", "value"
VIEW_BLOCK, VIEW_INPUT = "view_changed", "value"
MAX_MESSAGE_BLOCKS = 50  # Slack's limit for a message; slack_sdk does not count blocks
SNIPPET = 600
SECTION_LIMIT = 3000  # https://api.slack.com/reference/block-kit/blocks#section
FALLBACK_LIMIT = 300

OUTCOME_LABELS: Final = MappingProxyType(
    {
        "called": N_("Called the customer"),
        "fixed": N_("Fixed the problem"),
        "compensated": N_("Compensated the customer"),
        "could_not_reach": N_("Could not reach the customer"),
    }
)
VIEW_CHANGED: Final = MappingProxyType(
    {"yes": N_("Yes, for the better"), "no": N_("No"), "unknown": N_("Don't know")}
)
VIEW_CHANGED_VALUES: Final = MappingProxyType({"yes": True, "no": False})
METRIC_NAMES: Final = MappingProxyType({"nps": "NPS", "csat": "CSAT", "ces": "CES"})
LIST_TITLES: Final = MappingProxyType(
    {
        "open": N_("Open detractor alerts"),
        "mine": N_("Detractor alerts you own"),
        "overdue": N_("Overdue detractor alerts"),
    }
)
LIST_EMPTY: Final = MappingProxyType(
    {
        "open": N_("No open detractor alerts. Every unhappy customer has been followed up."),
        "mine": N_("You own no open detractor alerts."),
        "overdue": N_("No alert is overdue."),
    }
)


def headline(card: AlertCard, t: Translator) -> str:
    """ "NPS 3 from customer 4711 (Retail · Checkout)": the one line every view starts with."""
    _ = t.gettext
    score = _score(card.metric, card.score)
    who = escape(card.customer_id) if card.customer_id else _("an unknown customer")
    where = " · ".join(escape(p) for p in (card.segment, card.touchpoint) if p)
    text = _("*{score}* from {customer}", score=score, customer=who)
    return f"{text} ({where})" if where else text


def status_line(
    card: AlertCard, t: Translator, tz: tzinfo, now: datetime, *, zone: bool = True
) -> str:
    """`zone`: name the timezone (the channel's readers may be anywhere; a list is shown
    in its reader's own)."""
    _ = t.gettext
    due = t.timestamp(card.due_at, tz, zone=zone)
    if card.status == RESOLVED and card.resolved_at is not None:
        label = OUTCOME_LABELS.get(card.outcome or "")
        outcome = _(label) if label else "–"
        line = ":white_check_mark: " + _(
            "Resolved by {user} on {when}: {outcome}",
            user=mention(card.resolved_by),
            when=t.timestamp(card.resolved_at, tz, zone=zone),
            outcome=outcome,
        )
        if card.view_changed is True:
            line += " · " + _("the customer's view changed")
        elif card.view_changed is False:
            line += " · " + _("the customer's view did not change")
        return line
    if card.status == CLAIMED and card.owner:
        line = ":telephone_receiver: " + _(
            "Claimed by {user} · due {when}", user=mention(card.owner), when=due
        )
    else:
        line = ":bell: " + _("Unclaimed · due {when}", when=due)
    if card.overdue(now):
        line += " · :warning: " + _("overdue")
    return line


def alert_message(
    card: AlertCard, t: Translator, tz: tzinfo, now: datetime, mail: Summary | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) of the alert message in the channel; `mail`: its mail
    thread with the customer (a reply button when there is an address)."""
    from bot.handlers.mail import blocks as mail_views

    _ = t.gettext
    blocks: list[Block] = [section(":rotating_light: " + headline(card, t))]
    if card.comment:
        # A customer's words: shown, never acting (no mention, no link).
        quoted = quote(shown(literal_parts(card.comment, redact), SNIPPET, people=False))
        blocks.append(section(quoted))
    facts = [_("Answered {when}", when=t.moment(card.responded_at, tz, zone=True))]
    if card.employee:
        facts.append(_("concerns {employee}", employee=mention(card.employee)))
    blocks.append(context(" · ".join(facts)))
    if card.earlier:
        items = [
            f"{_score(e.metric, e.score)} ({t.date(e.responded_at, tz=tz)})" for e in card.earlier
        ]
        blocks.append(context(_("Earlier answers: {answers}", answers=", ".join(items))))
    status = status_line(card, t, tz, now)
    if card.notes:
        status += " · " + t.ngettext(
            "{n} note in the thread", "{n} notes in the thread", card.notes
        )
    for bit in mail_views.status_bits(mail, t):
        status += " · " + bit
    blocks.append(section(status))
    buttons: list[ButtonElement] = []
    value = str(card.id)
    if card.status == OPEN:
        buttons.append(
            ButtonElement(text=_("Claim"), action_id=CLAIM_ACTION, value=value, style="primary")
        )
    buttons.append(ButtonElement(text=_("Add note"), action_id=NOTE_ACTION, value=value))
    if card.status != RESOLVED:
        buttons.append(ButtonElement(text=_("Resolve"), action_id=RESOLVE_ACTION, value=value))
    if mail is not None and mail.has_email:
        buttons.append(
            ButtonElement(
                text=mail_views.button_label(t), action_id=mail_views.MAIL_ACTION, value=value
            )
        )
    blocks.append(ActionsBlock(block_id=f"alert:{card.id}", elements=buttons))
    text = _("Detractor alert: {headline}", headline=_plain(headline(card, t)))
    return text, [b.to_dict() for b in blocks[:MAX_MESSAGE_BLOCKS]]


def note_message(author: str, text: str, t: Translator) -> tuple[str, list[dict[str, Any]]]:
    """A note as a reply in the alert's thread."""
    head = t.gettext("Note from {user}:", user=mention(author))
    # The whole note, in as many sections as it needs once escaped: nothing is cut off.
    parts = chunks(text, SECTION_LIMIT) or [""]
    first = head + "\n" + parts[0]
    sections = [head, *parts] if len(first) > SECTION_LIMIT else [first, *parts[1:]]
    blocks = [section(s).to_dict() for s in sections if s]
    fallback = _plain(head) + " " + shown(text, FALLBACK_LIMIT, oneline=True)
    return fallback, blocks[:MAX_MESSAGE_BLOCKS]


def reminder_message(
    card: AlertCard, t: Translator, tz: tzinfo, *, to_owner: bool
) -> tuple[str, list[dict[str, Any]]]:
    _ = t.gettext
    when = t.timestamp(card.due_at, tz, zone=True)
    if to_owner:
        text = ":hourglass: " + _(
            "Reminder: you claimed this detractor alert and it is due {when}.", when=when
        )
        if card.channel:
            text += " " + _("It is in {channel}.", channel=f"<#{card.channel}>")
    else:
        text = ":hourglass: " + _(
            "Nobody has claimed this detractor alert yet. It is due {when}.", when=when
        )
    body = f"{text}\n{headline(card, t)}"
    return _plain(body), [section(body).to_dict()]


def escalation_message(
    card: AlertCard, t: Translator, tz: tzinfo
) -> tuple[str, list[dict[str, Any]]]:
    _ = t.gettext
    owner = mention(card.owner) if card.owner else _("nobody")
    text = ":warning: " + _(
        "A detractor alert passed its follow-up target unresolved (due {when}). Owner: {owner}.",
        when=t.timestamp(card.due_at, tz, zone=True),
        owner=owner,
    )
    lines = [text, headline(card, t)]
    if card.comment:
        comment = literal_parts(card.comment, redact)
        lines.append("> " + shown(comment, 300, people=False, oneline=True))
    if card.channel:
        lines.append(_("The alert is in {channel}.", channel=f"<#{card.channel}>"))
    body = "\n".join(lines)
    return _plain(body), [section(body).to_dict()]


def storm_message(
    count: int, by_metric: Mapping[str, int], t: Translator
) -> tuple[str, list[dict[str, Any]]]:
    """The summary at the top of a thread holding a burst of alerts."""
    _ = t.gettext
    parts = ", ".join(
        f"{METRIC_NAMES.get(m, m.upper())} {t.number(n, 0)}" for m, n in by_metric.items()
    )
    text = ":rotating_light: " + t.ngettext(
        "{count} detractor answer arrived at once",
        "{count} detractor answers arrived at once",
        count,
        count=t.number(count, 0),
    )
    if parts:
        text += f" ({parts})"
    text += ". " + _("Each one is in this thread, with its own buttons.")
    return _plain(text), [section(text).to_dict()]


def note_modal(card: AlertCard, t: Translator) -> dict[str, Any]:
    _ = t.gettext
    note = _note_input(t, optional=False, placeholder=_("What did you do or learn?"))
    return _alert_modal(card, t, NOTE_MODAL, _("Add a note"), _("Save"), [note])


def resolve_modal(card: AlertCard, t: Translator) -> dict[str, Any]:
    _ = t.gettext
    outcomes = [Option(value=o, label=_(OUTCOME_LABELS[o])) for o in OUTCOMES]
    views = [Option(value=k, label=_(label)) for k, label in VIEW_CHANGED.items()]
    inputs: list[Block] = [
        InputBlock(
            block_id=OUTCOME_BLOCK,
            label=_("What did you do?"),
            element=StaticSelectElement(action_id=OUTCOME_INPUT, options=outcomes),
        ),
        InputBlock(
            block_id=VIEW_BLOCK,
            label=_("Did the customer's view change?"),
            element=StaticSelectElement(action_id=VIEW_INPUT, options=views),
        ),
        _note_input(t, optional=True),
    ]
    return _alert_modal(card, t, RESOLVE_MODAL, _("Resolve alert"), _("Resolve"), inputs)


def _alert_modal(
    card: AlertCard, t: Translator, callback_id: str, title: str, submit: str, inputs: list[Block]
) -> dict[str, Any]:
    """A form about one alert: its headline above `inputs`; the alert id rides along."""
    view = View(
        type="modal",
        callback_id=callback_id,
        private_metadata=str(card.id),
        title=PlainTextObject(text=title[:24]),
        submit=PlainTextObject(text=submit[:24]),
        close=PlainTextObject(text=t.gettext("Cancel")[:24]),
        blocks=[section(headline(card, t)), *inputs],
    )
    return view.to_dict()


def _note_input(t: Translator, *, optional: bool, placeholder: str | None = None) -> InputBlock:
    return InputBlock(
        block_id=NOTE_BLOCK,
        label=t.gettext("Note"),
        optional=optional or None,
        element=PlainTextInputElement(
            action_id=NOTE_INPUT, multiline=True, max_length=3000, placeholder=placeholder
        ),
    )


def parse_view_changed(value: str | None) -> bool | None:
    return VIEW_CHANGED_VALUES.get(value or "")


def alert_list(
    cards: Sequence[AlertCard],
    total: int,
    kind: str,
    t: Translator,
    tz: tzinfo,
    now: datetime,
) -> tuple[str, list[dict[str, Any]]]:
    """`/cx alerts` as (fallback text, blocks), the most urgent first."""
    _ = t.gettext
    title = _(LIST_TITLES.get(kind, LIST_TITLES["open"]))
    blocks: list[Block] = [section(f"*{title}* ({t.number(total, 0)})")]
    if not cards:
        blocks.append(context(_(LIST_EMPTY.get(kind, LIST_EMPTY["open"]))))
    for card in cards:
        line = headline(card, t)
        if card.channel:
            line += f" · <#{card.channel}>"
        blocks.append(section(line))
        blocks.append(context(status_line(card, t, tz, now, zone=False)))
    if total > len(cards):
        blocks.append(context(_("and {count} more", count=t.number(total - len(cards), 0))))
    blocks.append(context(_("Type `/cx alerts open`, `/cx alerts mine` or `/cx alerts overdue`.")))
    fallback = f"{title}: {total}"
    return fallback, [b.to_dict() for b in blocks[:MAX_MESSAGE_BLOCKS]]


def _score(metric: str, score: int) -> str:
    return f"{METRIC_NAMES.get(metric, metric.upper())} {score}"


def _plain(text: str) -> str:
    """Notification text: the mrkdwn stars dropped."""
    return text.replace("*", "")
