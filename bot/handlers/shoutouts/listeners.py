"""`/shoutout`, its form, and reactions on shout-outs (seconds).

`/shoutout @person [@more] what they did [#promise]` records and posts at once; without
text the form opens (with any mentioned colleagues already picked). Every refusal reaches
the giver as an ephemeral message in their language, and nothing is posted.
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.errors import UserError
from bot.forms import actor, confirm, reader, selected_value, tell, text_value
from bot.handlers.shoutouts import blocks, giving
from bot.i18n import translator
from bot.services import Services
from core.shoutouts import Mention
from storage import shoutouts as store


def register(app: App, services: Services) -> None:

    @app.command("/shoutout")
    def shoutout_callback(
        ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext
    ) -> None:
        ack()
        t = reader(context, services.settings.cxbot_locale)
        team_id = str(context.team_id or command.get("team_id") or "")
        giver = str(command.get("user_id") or "")
        raw = str(command.get("text") or "").strip()
        parsed = giving.parse(raw) if raw else None
        people = (
            giving.resolve_receivers(
                services, client, team_id=team_id, giver=giver, mentions=parsed.mentions
            )
            if parsed
            else []
        )
        if parsed is None or not parsed.text:
            config = store.load_config(services.engine, team_id=team_id)
            client.views_open(
                trigger_id=str(command.get("trigger_id") or ""),
                view=blocks.shoutout_modal(
                    t,
                    config.promises,
                    users=[p.user_id for p in people],
                    channel_id=str(command.get("channel_id") or "") or None,
                ),
            )
            return
        given = giving.give(
            services,
            team_id=team_id,
            giver=giver,
            people=people,
            text=parsed.text,
            tag=parsed.tag,
            source="command",
            request_key=str(command.get("trigger_id") or "") or None,
        )
        tell(respond, blocks.receipt(t, given))

    @app.view(blocks.SHOUTOUT_MODAL)
    def shoutout_modal_callback(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        locale = str(context.get("locale") or services.settings.cxbot_locale)
        t = translator(locale)
        giver, team_id = actor(body, context)
        form = read_form(view)
        errors = {}
        if not form["users"]:
            errors[blocks.RECEIVERS_BLOCK] = t.gettext(giving.NO_RECEIVER)
        if not form["text"]:
            errors[blocks.TEXT_BLOCK] = t.gettext(giving.NO_TEXT)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        # Checked before the ack: a refusal is shown under the field it concerns.
        try:
            people = giving.resolve_receivers(
                services,
                client,
                team_id=team_id,
                giver=giver,
                mentions=[Mention(f"<@{u}>", user_id=u) for u in form["users"]],
                block_id=blocks.RECEIVERS_BLOCK,
            )
            given = giving.give(
                services,
                team_id=team_id,
                giver=giver,
                people=people,
                text=form["text"],
                tag=form["promise"],
                source="modal",
                request_key=str(view.get("id") or "") or None,
                limit_block=blocks.RECEIVERS_BLOCK,
                promise_block=blocks.PROMISE_BLOCK,
            )
        except UserError as err:
            ack(
                response_action="errors",
                errors={err.block_id or blocks.RECEIVERS_BLOCK: err.text(locale)},
            )
            return
        ack()
        confirm(client, giver, form["channel"], blocks.receipt(t, given))

    def on_shoutout(event: dict[str, Any], context: BoltContext) -> bool:
        item = event.get("item") or {}
        if item.get("type") != "message" or not item.get("channel") or not item.get("ts"):
            return False
        return store.is_posted(
            services.engine,
            team_id=str(context.team_id or ""),
            channel=str(item["channel"]),
            ts=str(item["ts"]),
        )

    def count_second(event: dict[str, Any], context: BoltContext, *, added: bool) -> None:
        user = str(event.get("user") or "")
        if not user or user == context.bot_user_id:
            return
        item = event.get("item") or {}
        store.second(
            services.engine,
            team_id=str(context.team_id or ""),
            channel=str(item["channel"]),
            ts=str(item["ts"]),
            user_id=user,
            reaction=str(event.get("reaction") or ""),
            now=services.clock(),
            added=added,
        )

    @app.event("reaction_added", matchers=[on_shoutout])
    def reaction_added_callback(event: dict[str, Any], context: BoltContext) -> None:
        count_second(event, context, added=True)

    @app.event("reaction_removed", matchers=[on_shoutout])
    def reaction_removed_callback(event: dict[str, Any], context: BoltContext) -> None:
        count_second(event, context, added=False)


def read_form(view: dict[str, Any]) -> dict[str, Any]:
    """The shout-out form's values: users, text, promise tag (slug) and the command's channel."""
    values = (view.get("state") or {}).get("values") or {}
    users = (values.get(blocks.RECEIVERS_BLOCK) or {}).get(blocks.RECEIVERS_INPUT) or {}
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = {}
    return {
        "users": [str(u) for u in users.get("selected_users") or []],
        "text": text_value(view, blocks.TEXT_BLOCK, blocks.TEXT_INPUT).strip(),
        "promise": selected_value(view, blocks.PROMISE_BLOCK, blocks.PROMISE_INPUT),
        "channel": meta.get("channel") if isinstance(meta, dict) else None,
    }
