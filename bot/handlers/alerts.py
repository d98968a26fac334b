"""Detractor alerts in Slack: Claim / Add note / Resolve on the alert message, and
`/cx alerts [open|mine|overdue]`.

Each listener acks, makes one storage call (which queues the message update in the
same transaction), wakes the outbox and, where the user needs to know why nothing
happened, answers ephemerally. Repeated clicks and submissions change nothing twice:
storage only moves an alert forward from the state the click expects.
"""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import alerts as glue
from bot.alerts import may_resolve, wake
from bot.errors import UserError
from bot.feature import Feature, Subcommand, Sweep
from bot.forms import selected_value, tell, text_value
from bot.handlers.cx.call import CxCall
from bot.i18n import N_, Translator, translator, user_timezone
from bot.services import Services
from bot.views import alerts as views
from storage import alerts as store

log = logging.getLogger(__name__)

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
    @app.action(views.CLAIM_ACTION)
    def claim_callback(
        ack: Ack, body: dict[str, Any], context: BoltContext, respond: Respond
    ) -> None:
        ack()
        user, team, alert_id, t = _action(body, context)
        change = store.claim(
            services.engine, team_id=team, alert_id=alert_id, user_id=user, now=services.clock()
        )
        if change.changed:
            wake(services)
            return
        card = change.card
        if card is None:
            tell(respond, t.gettext(GONE))
        elif card.status == store.RESOLVED:
            tell(respond, t.gettext(ALREADY_RESOLVED))
        elif card.owner and card.owner != user:
            tell(respond, t.gettext(CLAIMED_BY_OTHER, user=views.mention(card.owner)))
        # Claimed by this very user already: a double click, nothing to say.

    @app.action(views.NOTE_ACTION)
    def note_button_callback(
        ack: Ack,
        body: dict[str, Any],
        context: BoltContext,
        client: WebClient,
        respond: Respond,
    ) -> None:
        ack()
        _user, team, alert_id, t = _action(body, context)
        card = store.get_card(services.engine, team_id=team, alert_id=alert_id)
        if card is None:
            tell(respond, t.gettext(GONE))
            return
        client.views_open(trigger_id=body["trigger_id"], view=views.note_modal(card, t))

    @app.action(views.RESOLVE_ACTION)
    def resolve_button_callback(
        ack: Ack,
        body: dict[str, Any],
        context: BoltContext,
        client: WebClient,
        respond: Respond,
    ) -> None:
        ack()
        user, team, alert_id, t = _action(body, context)
        card = store.get_card(services.engine, team_id=team, alert_id=alert_id)
        if card is None:
            tell(respond, t.gettext(GONE))
        elif card.status == store.RESOLVED:
            tell(respond, t.gettext(ALREADY_RESOLVED))
        elif not may_resolve(services, client, card, user):
            tell(respond, t.gettext(NOT_YOURS, user=views.mention(card.owner)))
        else:
            client.views_open(trigger_id=body["trigger_id"], view=views.resolve_modal(card, t))

    @app.view(views.NOTE_MODAL)
    def note_submit_callback(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
    ) -> None:
        user, team, alert_id, t = _submission(body, view, context)
        text = text_value(view, views.NOTE_BLOCK, views.NOTE_INPUT)
        if not text.strip():
            ack(response_action="errors", errors={views.NOTE_BLOCK: t.gettext(NOTE_EMPTY)})
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

    @app.view(views.RESOLVE_MODAL)
    def resolve_submit_callback(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        context: BoltContext,
        client: WebClient,
    ) -> None:
        user, team, alert_id, t = _submission(body, view, context)
        outcome = selected_value(view, views.OUTCOME_BLOCK, views.OUTCOME_INPUT)
        if outcome not in store.OUTCOMES:
            ack(response_action="errors", errors={views.OUTCOME_BLOCK: t.gettext(PICK_OUTCOME)})
            return
        # Checked again on submit: someone else may have claimed it while the form was open.
        current = store.get_card(services.engine, team_id=team, alert_id=alert_id)
        if current is not None and not may_resolve(services, client, current, user):
            errors = {views.OUTCOME_BLOCK: t.gettext(NOT_YOURS_FORM)}
            ack(response_action="errors", errors=errors)
            return
        change = store.resolve(
            services.engine,
            team_id=team,
            alert_id=alert_id,
            user_id=user,
            outcome=outcome,
            view_changed=views.parse_view_changed(
                selected_value(view, views.VIEW_BLOCK, views.VIEW_INPUT)
            ),
            note=text_value(view, views.NOTE_BLOCK, views.NOTE_INPUT) or None,
            now=services.clock(),
            request_key=f"{view.get('id')}:{alert_id}",
        )
        card = change.card
        if card is None:
            raise UserError(GONE)
        if not change.changed and card.resolved_by != user:
            ack(
                response_action="errors",
                errors={views.OUTCOME_BLOCK: t.gettext(ALREADY_RESOLVED)},
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
    text, blocks = views.alert_list(cards, total, kind, call.t, tz, now)
    call.respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


def parse_kind(args: str) -> store.ListKind:
    """`open` (the default), `mine` or `overdue`: command words, the same in every language."""
    word = (args.split() or ["open"])[0].strip().lower()
    if word in store.LIST_KINDS:
        return word  # type: ignore[return-value]
    shown = "".join(ch for ch in word if ch.isprintable() and ch not in "`<>&*_~")[:30]
    raise UserError(BAD_KIND, value=shown)


# --------------------------------------------------------------------------- helpers


def _action(body: dict[str, Any], context: BoltContext) -> tuple[str, str, int, Translator]:
    user = str((body.get("user") or {}).get("id") or "")
    team = str(context.team_id or (body.get("team") or {}).get("id") or "")
    action = (body.get("actions") or [{}])[0]
    return user, team, _alert_id(action.get("value")), _t(context)


def _submission(
    body: dict[str, Any], view: dict[str, Any], context: BoltContext
) -> tuple[str, str, int, Translator]:
    user = str((body.get("user") or {}).get("id") or "")
    team = str(context.team_id or (body.get("team") or {}).get("id") or "")
    return user, team, _alert_id(view.get("private_metadata")), _t(context)


def _alert_id(value: Any) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        raise UserError(GONE) from None


def _t(context: BoltContext) -> Translator:
    return translator(str(context.get("locale") or "en"))


FEATURE = Feature(
    name="alerts",
    listeners=register,
    subcommands=(
        Subcommand(
            "alerts",
            alerts_subcommand,
            N_("/cx alerts [open|mine|overdue]"),
            N_("Open detractor alerts, who owns them and which are overdue."),
        ),
    ),
    sweeps=(Sweep("alerts", glue.alert_clock_sweep, 60),),
    renderers={glue.RENDERER: glue.render_alert},
    sent_hooks={"alert:": glue.after_post},
    answers_stored=(glue.answers_stored,),
)
