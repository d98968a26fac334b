"""Detractor alerts in Slack: Claim / Add note / Resolve on the alert message, and
`/cx alerts [open|mine|overdue]`.

Each listener acks, makes one storage call (which queues the message update in the
same transaction), wakes the outbox and, where the user needs to know why nothing
happened, answers ephemerally. Repeated clicks and submissions change nothing twice:
storage only moves an alert forward from the state the click expects.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.errors import UserError
from bot.forms import actor, pressed_id, reader, selected_value, tell, text_value
from bot.handlers.alerts import blocks
from bot.handlers.alerts.access import may_resolve
from bot.handlers.cx.call import CxCall, shown
from bot.i18n import N_, Translator, user_timezone
from bot.outbox import wake
from bot.services import Services
from bot.text import mention
from core import alerts as rules
from storage import alerts as store

GONE = N_("That alert no longer exists.")
CLAIMED_BY_OTHER = N_("{user} has already claimed this alert.")
ALREADY_RESOLVED = N_("This alert is already resolved.")
NOT_YOURS = N_(
    "{user} has claimed this alert: only they or an admin can resolve it. "
    "Add a note with what you know, or ask them."
)
# A form's error is plain text: no mention can show there.
NOT_YOURS_FORM = N_(
    "Someone else claimed this alert while the form was open: only they or an admin can "
    "resolve it now."
)
NOTE_EMPTY = N_("Write a note, or cancel.")
PICK_OUTCOME = N_("Pick what you did.")
BAD_KIND = N_(
    "“{value}” is not a list of alerts. Use open, mine or overdue, e.g. `/cx alerts mine`."
)


def register(app: App, services: Services) -> None:
    @app.action(blocks.CLAIM_ACTION)
    def claim_callback(
        ack: Ack, body: dict[str, Any], context: BoltContext, respond: Respond
    ) -> None:
        ack()
        user, team, alert_id, t = _clicked(body, context)
        change = store.claim(
            services.engine, team_id=team, alert_id=alert_id, user_id=user, now=services.clock()
        )
        if change.changed:
            wake(services)
            return
        card = change.card
        if card is None:
            tell(respond, t.gettext(GONE))
        elif card.status == rules.RESOLVED:
            tell(respond, t.gettext(ALREADY_RESOLVED))
        elif card.owner and card.owner != user:
            tell(respond, t.gettext(CLAIMED_BY_OTHER, user=mention(card.owner)))
        # Claimed by this very user already: a double click, nothing to say.

    @app.action(blocks.NOTE_ACTION)
    @app.action(blocks.RESOLVE_ACTION)
    def form_button_callback(
        ack: Ack,
        body: dict[str, Any],
        context: BoltContext,
        client: WebClient,
        respond: Respond,
    ) -> None:
        """Add note (open to all) or Resolve (see `may_resolve`): the form, or why not."""
        ack()
        user, team, alert_id, t = _clicked(body, context)
        resolving = (body.get("actions") or [{}])[0].get("action_id") == blocks.RESOLVE_ACTION
        card = store.get_card(services.engine, team_id=team, alert_id=alert_id)
        if card is None:
            tell(respond, t.gettext(GONE))
        elif not resolving:
            client.views_open(trigger_id=body["trigger_id"], view=blocks.note_modal(card, t))
        elif card.status == rules.RESOLVED:
            tell(respond, t.gettext(ALREADY_RESOLVED))
        elif not may_resolve(services, client, card, user):
            tell(respond, t.gettext(NOT_YOURS, user=mention(card.owner)))
        else:
            client.views_open(trigger_id=body["trigger_id"], view=blocks.resolve_modal(card, t))

    @app.view(blocks.NOTE_MODAL)
    def note_submit_callback(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
    ) -> None:
        user, team, alert_id, t = _clicked(body, context)
        text = text_value(view, blocks.NOTE_BLOCK, blocks.NOTE_INPUT)
        if not text.strip():
            ack(response_action="errors", errors={blocks.NOTE_BLOCK: t.gettext(NOTE_EMPTY)})
            return
        change = store.add_note(
            services.engine,
            team_id=team,
            alert_id=alert_id,
            user_id=user,
            text=text,
            now=services.clock(),
            request_key=f"{view.get('id')}:{alert_id}",
        )
        if change.card is None:
            raise UserError(GONE)
        ack()
        if change.changed:
            wake(services)

    @app.view(blocks.RESOLVE_MODAL)
    def resolve_submit_callback(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        context: BoltContext,
        client: WebClient,
    ) -> None:
        user, team, alert_id, t = _clicked(body, context)
        outcome = selected_value(view, blocks.OUTCOME_BLOCK, blocks.OUTCOME_INPUT)
        if outcome not in rules.OUTCOMES:
            ack(response_action="errors", errors={blocks.OUTCOME_BLOCK: t.gettext(PICK_OUTCOME)})
            return
        # Checked again on submit: someone else may have claimed it while the form was open.
        current = store.get_card(services.engine, team_id=team, alert_id=alert_id)
        if current is not None and not may_resolve(services, client, current, user):
            errors = {blocks.OUTCOME_BLOCK: t.gettext(NOT_YOURS_FORM)}
            ack(response_action="errors", errors=errors)
            return
        change = store.resolve(
            services.engine,
            team_id=team,
            alert_id=alert_id,
            user_id=user,
            outcome=outcome,
            view_changed=blocks.parse_view_changed(
                selected_value(view, blocks.VIEW_BLOCK, blocks.VIEW_INPUT)
            ),
            note=text_value(view, blocks.NOTE_BLOCK, blocks.NOTE_INPUT) or None,
            now=services.clock(),
            request_key=f"{view.get('id')}:{alert_id}",
        )
        card = change.card
        if card is None:
            raise UserError(GONE)
        if not change.changed and card.resolved_by != user:
            ack(
                response_action="errors",
                errors={blocks.OUTCOME_BLOCK: t.gettext(ALREADY_RESOLVED)},
            )
            return
        ack()
        if change.changed:
            wake(services)


# The help entry ("/cx alerts", its summary) is /cx's own; the reply lists the three lists.
def alerts_subcommand(call: CxCall) -> None:
    kind = parse_kind(call.args)
    services = call.services
    default_tz = str(services.settings.cxbot_timezone)
    tz = ZoneInfo(user_timezone(call.client, call.user_id, default_tz))
    now = services.clock()
    cards, total = store.list_alerts(
        services.engine, team_id=call.team_id, kind=kind, user_id=call.user_id, now=now
    )
    text, shown_list = blocks.alert_list(cards, total, kind, call.t, tz, now)
    call.respond(text=text, blocks=shown_list, response_type="ephemeral", replace_original=False)


def parse_kind(args: str) -> rules.ListKind:
    """`open` (the default), `mine` or `overdue`: command words, the same in every language."""
    word = (args.split() or ["open"])[0].strip().lower()
    if word in rules.LIST_KINDS:
        return word  # type: ignore[return-value]
    raise UserError(BAD_KIND, value=shown(word))


def _clicked(body: dict[str, Any], context: BoltContext) -> tuple[str, str, int, Translator]:
    """(user, workspace, alert id, translator) of a click or a submission: the alert id is
    the button's value, or the modal's private metadata."""
    if body.get("type") == "view_submission":
        value = (body.get("view") or {}).get("private_metadata")
    else:
        value = ((body.get("actions") or [{}])[0]).get("value")
    user, team = actor(body, context)
    return user, team, pressed_id(value, GONE), reader(context, "en")
