"""Mail with the customer as Block Kit: the reply form and what the alert's thread shows.

The customer's words (their reply, the mail a member wrote) are shown through
`bot.text.shown(..., people=False)`: never a live mention or link. Their address and
name appear only in the form, which opens only for members who may act on the alert.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from types import MappingProxyType
from typing import Any, Final

from slack_sdk.models.blocks import (
    InputBlock,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.blocks.block_elements import CheckboxesElement
from slack_sdk.models.views import View

from bot.blocks import Block, context, section
from bot.i18n import N_, Translator
from bot.text import escape, mention, quote, shown
from storage.mail import Summary

MAIL_ACTION: Final = "alert_mail"
MAIL_MODAL: Final = "alert_mail_modal"
LANG_BLOCK, LANG_INPUT = "mail_language", "mail_language_pick"
SUBJECT_BLOCK, SUBJECT_INPUT = "mail_subject", "text"
BODY_BLOCK, BODY_INPUT = "mail_body", "text"
RATE_BLOCK, RATE_INPUT = "mail_rate", "value"
SECTION_LIMIT: Final = 3000
SHOWN_LIMIT: Final = 2800

LANGUAGE_NAMES: Final = MappingProxyType(
    {"en": "English", "nb": "Norsk bokmål", "da": "Dansk", "sv": "Svenska"}
)
REFUSALS: Final = MappingProxyType(
    {
        "no_email": N_("We have no e-mail address for this customer."),
        "opted_out": N_(
            "This customer unsubscribed from our e-mails, so they cannot be mailed again."
        ),
        "gone": N_("That alert no longer exists."),
    }
)


def drafted(block: str, locale: str) -> str:
    """The id of a drafted input's block in `locale`. Slack keeps what an input holds across
    views.update while its block_id and action_id stay the same
    (https://api.slack.com/reference/block-kit/views, "Preserving input entry in views"):
    a draft in another language needs blocks of its own, or the old draft stays."""
    return f"{block}.{locale}"


def button_label(t: Translator) -> str:
    return t.gettext("Reply to customer")


def status_bits(mail: Summary | None, t: Translator) -> list[str]:
    """What the alert message's status line adds about the mail thread."""
    if mail is None:
        return []
    _ = t.gettext
    bits = []
    if mail.sent:
        bits.append(":email: " + t.ngettext("{n} mail sent", "{n} mails sent", mail.sent))
    if mail.replies:
        bits.append(":incoming_envelope: " + _("customer replied"))
    if mail.rating is not None:
        bits.append(_("follow-up rating {score}/5", score=mail.rating))
    if mail.opted_out:
        bits.append(_("unsubscribed from e-mail"))
    return bits


def mail_modal(
    *,
    alert_id: int,
    headline: str,
    address: str,
    name: str | None,
    locale: str,
    subject: str,
    body: str,
    t: Translator,
) -> dict[str, Any]:
    _ = t.gettext
    locale = locale if locale in LANGUAGE_NAMES else "en"
    languages = [Option(value=k, label=v) for k, v in LANGUAGE_NAMES.items()]
    initial = next(o for o in languages if o.value == locale)
    who = escape(address) if not name else f"{escape(name)} &lt;{escape(address)}&gt;"
    rate = Option(value="yes", label=_("Ask “How do you feel about it now?”"))
    view = View(
        type="modal",
        callback_id=MAIL_MODAL,
        private_metadata=str(alert_id),
        title=PlainTextObject(text=_("Reply to customer")[:24]),
        submit=PlainTextObject(text=_("Send")[:24]),
        close=PlainTextObject(text=_("Cancel")[:24]),
        blocks=[
            section(headline),
            context(_("To: {who}", who=who)),
            InputBlock(
                block_id=LANG_BLOCK,
                label=_("Language"),
                dispatch_action=True,
                element=StaticSelectElement(
                    action_id=LANG_INPUT, options=languages, initial_option=initial
                ),
            ),
            InputBlock(
                block_id=drafted(SUBJECT_BLOCK, locale),
                label=_("Subject"),
                element=PlainTextInputElement(
                    action_id=SUBJECT_INPUT, initial_value=subject[:150], max_length=150
                ),
            ),
            InputBlock(
                block_id=drafted(BODY_BLOCK, locale),
                label=_("Message"),
                element=PlainTextInputElement(
                    action_id=BODY_INPUT, multiline=True, initial_value=body[:3000], max_length=3000
                ),
            ),
            InputBlock(
                block_id=RATE_BLOCK,
                label=_("Follow-up"),
                optional=True,
                element=CheckboxesElement(
                    action_id=RATE_INPUT, options=[rate], initial_options=[rate]
                ),
            ),
        ],
    )
    return view.to_dict()


def _section(text: str) -> dict[str, Any]:
    return section(text[:SECTION_LIMIT]).to_dict()


def sent_message(
    user: str | None, body: str, when: datetime, t: Translator, tz: tzinfo
) -> tuple[str, list[dict[str, Any]]]:
    """ "X wrote to the customer at ...", with what the mail said."""
    head = ":email: " + t.gettext(
        "{user} wrote to the customer {when}:",
        user=mention(user) if user else t.gettext("Someone"),
        when=t.timestamp(when, tz),
    )
    blocks: list[Block | dict[str, Any]] = [
        _section(head + "\n" + quote(shown(body, SHOWN_LIMIT, people=False)))
    ]
    return _plain(head), [b if isinstance(b, dict) else b.to_dict() for b in blocks]


def reply_message(
    body: str, attachments: list[dict[str, Any]] | None, when: datetime, t: Translator, tz: tzinfo
) -> tuple[str, list[dict[str, Any]]]:
    """The customer's reply in the thread: their words shown, never acting."""
    head = ":incoming_envelope: " + t.gettext(
        "The customer replied {when}:", when=t.timestamp(when, tz)
    )
    text = body.strip() or t.gettext("(no text)")
    blocks = [_section(head + "\n" + quote(shown(text, SHOWN_LIMIT, people=False)))]
    if attachments:
        names = ", ".join(
            f"{shown(str(a.get('name') or ''), 80, people=False, oneline=True)} "
            f"({t.number(max(1, round(int(a.get('size') or 0) / 1024)), 0)} kB)"
            for a in attachments[:20]
        )
        blocks.append(
            context(
                t.gettext("Attachments (listed, not kept): {names}", names=names)[:SECTION_LIMIT]
            ).to_dict()
        )
    return _plain(head) + " " + shown(text, 200, people=False, oneline=True), blocks


def reply_dm(
    channel: str | None, ts: str | None, t: Translator
) -> tuple[str, list[dict[str, Any]]]:
    text = ":incoming_envelope: " + t.gettext("A customer replied to a detractor alert you own.")
    if channel:
        text += " " + t.gettext("It is in {channel}.", channel=f"<#{channel}>")
    return _plain(text), [_section(text)]


def rated_message(
    score: int, when: datetime, t: Translator, tz: tzinfo
) -> tuple[str, list[dict[str, Any]]]:
    text = ":star: " + t.gettext(
        "The customer rated how they feel now: {score}/5 ({when})",
        score=score,
        when=t.timestamp(when, tz),
    )
    return _plain(text), [_section(text)]


def _plain(text: str) -> str:
    return text.replace("*", "")
