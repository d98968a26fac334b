"""Reply to customer: the button on an alert, its form, and the submission.

The form opens only for members who may act on the alert
(bot.handlers.alerts.access.may_resolve): it is the one place the customer's address and
name are shown. The submission re-checks that, and storage refuses an address that
unsubscribed, whatever the form said.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.errors import UserError
from bot.forms import actor, pressed_id, reader, selected_value, tell, text_value
from bot.handlers.alerts import blocks as alert_views
from bot.handlers.alerts.access import may_resolve
from bot.handlers.mail import blocks
from bot.handlers.mail.posting import missing_settings
from bot.i18n import N_, Translator
from bot.outbox import wake
from bot.services import Services
from bot.text import mention
from core import mail as core_mail
from storage import alerts as alert_store
from storage import mail as store
from storage.settings_store import load

log = logging.getLogger(__name__)

NOT_SET_UP = N_("Mail to customers is not set up yet: an admin sets {keys} with `/cx config set`.")
NOT_YOURS = N_("{user} has claimed this alert: only they or an admin can write to the customer.")
NOT_YOURS_FORM = N_("Someone else claimed this alert while the form was open.")
EMPTY = N_("Write a message, or cancel.")


def register(app: App, services: Services) -> None:
    @app.action(blocks.MAIL_ACTION)
    def mail_button_callback(
        ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        ack()
        user, team, alert_id, t = _who(body, context, (body.get("actions") or [{}])[0].get("value"))
        card = alert_store.get_card(services.engine, team_id=team, alert_id=alert_id)
        found = store.contact(services.engine, team_id=team, alert_id=alert_id)
        if card is None or found is None:
            return tell(respond, t.gettext(blocks.REFUSALS["gone"]))
        if not found.email:
            return tell(respond, t.gettext(blocks.REFUSALS["no_email"]))
        if found.opted_out_at is not None:
            return tell(respond, t.gettext(blocks.REFUSALS["opted_out"]))
        missing = missing_settings(load(services.engine, team_id=team))
        if missing:
            keys = ", ".join(f"`{k}`" for k in missing)
            return tell(respond, t.gettext(NOT_SET_UP, keys=keys))
        if not may_resolve(services, client, card, user):
            return tell(respond, t.gettext(NOT_YOURS, user=mention(card.owner)))
        locale = core_mail.customer_locale(found.language, found.comment)
        client.views_open(trigger_id=body["trigger_id"], view=_form(card, found, locale, user, t))

    @app.action(blocks.LANG_INPUT)
    def mail_language_callback(
        ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        """Another language picked in the form: the draft is written again in it."""
        ack()
        view = body.get("view") or {}
        if view.get("callback_id") != blocks.MAIL_MODAL:
            return
        user, team, alert_id, t = _who(body, context, view.get("private_metadata"))
        card = alert_store.get_card(services.engine, team_id=team, alert_id=alert_id)
        found = store.contact(services.engine, team_id=team, alert_id=alert_id)
        if card is None or found is None or not found.email:
            return
        picked = selected_value(view, blocks.LANG_BLOCK, blocks.LANG_INPUT) or "en"
        client.views_update(
            view_id=view["id"],
            hash=view.get("hash"),
            view=_form(card, found, picked, user, t),
        )

    @app.view(blocks.MAIL_MODAL)
    def mail_submit_callback(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        context: BoltContext,
        client: WebClient,
    ) -> None:
        user, team, alert_id, t = _who(body, context, view.get("private_metadata"))
        body_block, text = _drafted(view, blocks.BODY_BLOCK, blocks.BODY_INPUT)
        if not text.strip():
            ack(response_action="errors", errors={body_block: t.gettext(EMPTY)})
            return
        card = alert_store.get_card(services.engine, team_id=team, alert_id=alert_id)
        if card is None:
            raise UserError(blocks.REFUSALS["gone"])
        if not may_resolve(services, client, card, user):
            ack(response_action="errors", errors={body_block: t.gettext(NOT_YOURS_FORM)})
            return
        locale = selected_value(view, blocks.LANG_BLOCK, blocks.LANG_INPUT) or "en"
        rate = bool(
            (((view.get("state") or {}).get("values") or {}).get(blocks.RATE_BLOCK) or {})
            .get(blocks.RATE_INPUT, {})
            .get("selected_options")
        )
        queued = store.queue_reply(
            services.engine,
            team_id=team,
            alert_id=alert_id,
            user_id=user,
            subject=_drafted(view, blocks.SUBJECT_BLOCK, blocks.SUBJECT_INPUT)[1],
            body=text,
            locale=locale if locale in core_mail.LOCALES else "en",
            reply_domain=load(services.engine, team_id=team).mail_reply_domain or "cxbot.invalid",
            now=services.clock(),
            request_key=f"{view.get('id')}:{alert_id}",
            ask_rating=rate,
        )
        if queued.mail_id is None:
            reason = blocks.REFUSALS.get(queued.refused or "gone", blocks.REFUSALS["gone"])
            ack(response_action="errors", errors={body_block: t.gettext(reason)})
            return
        ack()
        wake(services)


def _form(
    card: alert_store.AlertCard, found: store.Contact, locale: str, user: str, t: Translator
) -> dict[str, Any]:
    words = core_mail.texts(locale)
    return blocks.mail_modal(
        alert_id=card.id,
        headline=alert_views.headline(card, t),
        address=found.email or "",
        name=found.name,
        locale=locale,
        subject=words["subject"],
        body=core_mail.draft(locale, name=found.name, comment=found.comment, sender=""),
        t=t,
    )


def _who(
    body: dict[str, Any], context: BoltContext, value: Any
) -> tuple[str, str, int, Translator]:
    user, team = actor(body, context)
    return user, team, pressed_id(value, blocks.REFUSALS["gone"]), reader(context, "en")


def _drafted(view: dict[str, Any], block: str, action: str) -> tuple[str, str]:
    """(block id, text) of a drafted input of the submitted form, in whichever language it
    was last drafted (blocks.drafted)."""
    values = (view.get("state") or {}).get("values") or {}
    for block_id in values:
        if block_id == block or block_id.startswith(block + "."):
            return block_id, text_value(view, block_id, action)
    return block, ""
