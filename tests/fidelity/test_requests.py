"""Slack's real request shapes, replayed signed against the running app.

Every payload follows a fixture of slackapi/bolt-python's scenario tests (named in each
test's docstring, with the path inside that repository) or a page of Slack's docs; the ids
are cxbot's local ones. Each test asserts what the app did: the HTTP answer, what reached
the local Slack, what the database holds.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import select

from bot.handlers.insights import blocks as insight_blocks
from bot.localslack import LocalSlack
from bot.services import Services
from storage import insights as store
from storage.models import ProcessedEvent
from tests.bot.slackkit import SlackKit
from tests.fidelity import payloads as p

ACK_SECONDS = 3.0  # Slack's limit for every answer


def only_insight(services: Services, team: str = p.TEAM) -> store.InsightCard:
    cards, total = store.list_insights(services.engine, team_id=team, kind="open")
    assert total == 1, f"{total} insights in {team}"
    return cards[0]


def record_insight(slack: SlackKit, services: Services, text: str, user: str) -> int:
    r = p.send_form(slack, p.slash_command(slack, "/insight", text, user=user))
    assert r.status == 200
    slack.wait_reply(r, where=lambda x: x["kind"] == "ephemeral")
    return only_insight(services).id


# ---------------------------------------------------------------------- slash commands


def test_slash_command_with_enterprise_ids_records_the_insight(
    slack: SlackKit, services: Services
) -> None:
    """slackapi/bolt-python tests/scenario_tests/test_slash_command.py (`slash_command_body`:
    the form fields with `enterprise_id` / `enterprise_name` of an Enterprise Grid org)."""
    fields = p.slash_command(slack, "/insight", "The invoice came twice", user="U0GRACE")
    r = p.send_form(slack, fields)
    assert r.status == 200 and r.elapsed < ACK_SECONDS
    assert r.text == ""  # acked at once; the answer goes to the response URL
    reply = slack.wait_reply(r, where=lambda x: x["kind"] == "ephemeral")
    insight = only_insight(services)
    assert f"#{insight.id}" in reply["text"]
    assert (insight.text, insight.reporter, insight.source) == (
        "The invoice came twice",
        "U0GRACE",
        "command",
    )


def test_slash_command_text_is_stored_as_typed(slack: SlackKit, services: Services) -> None:
    """https://api.slack.com/interactivity/slash-commands ("How do commands work": with
    should_escape false, `text` arrives with `&`, `<`, `>` encoded and links in angle
    brackets) and https://api.slack.com/reference/surfaces/formatting#escaping."""
    typed = "Invoice & receipt differ <urgent>"
    fields = p.slash_command(
        slack, "/insight", "Invoice &amp; receipt differ &lt;urgent&gt;", user="U0GRACE"
    )
    r = p.send_form(slack, fields)
    assert r.status == 200
    slack.wait_reply(r, where=lambda x: x["kind"] == "ephemeral")
    assert only_insight(services).text == typed


# ---------------------------------------------------------------------- block actions


def test_press_in_an_ephemeral_message_is_answered(
    slack: SlackKit, services: Services, localslack: LocalSlack
) -> None:
    """slackapi/bolt-python tests/scenario_tests/test_block_actions.py (`body`: a press whose
    `container` is `{"type": "message", "is_ephemeral": true}` and which carries no
    `message`): an insight's vote button pressed where only the presser sees it. An
    ephemeral message has no ts chat.update can reach; answers go to the response URL."""
    insight_id = record_insight(slack, services, "Customers want an English invoice", "U0BJORN")
    ephemeral_ts = p.ts()
    updates_before = len(localslack.calls_to("chat.update"))
    action = {
        "type": "button",
        "action_id": insight_blocks.VOTE_ACTION,
        "block_id": f"insight:{insight_id}",
        "text": {"type": "plain_text", "text": "+1, I heard this too", "emoji": True},
        "value": str(insight_id),
    }
    presses = []
    for _ in range(2):
        body = p.block_actions(
            slack,
            action,
            user="U0GRACE",
            channel="C0GENERAL",
            message_ts=ephemeral_ts,
            ephemeral=True,
        )
        r = p.send_payload(slack, body)
        assert r.status == 200 and r.elapsed < ACK_SECONDS and r.text == ""
        presses.append(r)
    localslack.wait_for(
        lambda: (
            (card := store.get_card(services.engine, team_id=p.TEAM, insight_id=insight_id))
            is not None
            and card.votes == 1
        )
    )
    # The second press is told, through its response URL, that it was counted already.
    again = slack.wait_reply(presses[1], where=lambda x: x["kind"] == "response")
    assert again["response_type"] == "ephemeral" and again.get("replace_original") is not True
    assert "already" in again["text"]
    touched = [
        c
        for c in localslack.calls_to("chat.update")[updates_before:]
        if c.args.get("ts") == ephemeral_ts
    ]
    assert touched == []


def test_press_by_a_slack_connect_partner_counts_in_the_installing_workspace(
    slack: SlackKit, services: Services, localslack: LocalSlack
) -> None:
    """slackapi/bolt-python tests/scenario_tests/test_view_submission.py
    (`connect_channel_payload`: in a Slack Connect channel the presser's `team.id` and
    `user.team_id` are the partner's) applied to tests/scenario_tests/test_block_actions.py's
    `body`; https://api.slack.com/apis/channels-between-orgs ("the team_id ... is the
    team of the user"). The insight lives in cxbot's workspace, where the vote must land."""
    insight_id = record_insight(slack, services, "Acme needs invoices in euros", "U0BJORN")
    body = p.block_actions(
        slack,
        {
            "type": "button",
            "action_id": insight_blocks.VOTE_ACTION,
            "block_id": f"insight:{insight_id}",
            "text": {"type": "plain_text", "text": "+1", "emoji": True},
            "value": str(insight_id),
        },
        user=p.PARTNER_USER,
        channel="C0CUSTOMER",
        message_ts=p.ts(),
        ephemeral=False,
        message={"type": "message", "ts": p.ts(), "text": "insight", "blocks": []},
        team=p.PARTNER_TEAM,
        enterprise=p.PARTNER_ENTERPRISE,
    )
    r = p.send_payload(slack, body)
    assert r.status == 200 and r.elapsed < ACK_SECONDS
    localslack.wait_for(
        lambda: (
            (card := store.get_card(services.engine, team_id=p.TEAM, insight_id=insight_id))
            is not None
            and card.votes == 1
        )
    )
    gone = [x for x in slack.replies(r) if "no longer exists" in str(x.get("text"))]
    assert gone == []


# ---------------------------------------------------------------------- view submissions


def insight_values(text: str) -> dict[str, Any]:
    value = {"type": "plain_text_input", "value": text}
    empty = {"type": "plain_text_input", "value": None}
    return {
        insight_blocks.TEXT_BLOCK: {insight_blocks.INPUT: value},
        insight_blocks.CUSTOMER_BLOCK: {insight_blocks.INPUT: empty},
        insight_blocks.SEGMENT_BLOCK: {insight_blocks.INPUT: empty},
        insight_blocks.TOUCHPOINT_BLOCK: {insight_blocks.INPUT: empty},
    }


def test_view_submission_stores_what_the_form_held(
    slack: SlackKit, services: Services, localslack: LocalSlack
) -> None:
    """slackapi/bolt-python tests/scenario_tests/test_view_submission.py (`body`: a modal
    with `app_installed_team_id`, enterprise ids, `response_urls`)."""
    body = p.view_submission(
        slack, insight_blocks.MODAL, insight_values("Support hours are too short"), user="U0SVEA"
    )
    r = p.send_payload(slack, body)
    assert r.status == 200 and r.elapsed < ACK_SECONDS
    assert r.text == ""  # a plain ack closes the modal
    insight = only_insight(services)
    assert (insight.text, insight.reporter, insight.source) == (
        "Support hours are too short",
        "U0SVEA",
        "modal",
    )
    localslack.wait_for(lambda: localslack.messages(localslack.open_dm("U0SVEA")))


def test_view_submission_from_slack_connect_is_kept_in_the_installing_workspace(
    slack: SlackKit, services: Services
) -> None:
    """slackapi/bolt-python tests/scenario_tests/test_view_submission.py
    (`connect_channel_payload`: `team.id`, `user.team_id` and `view.team_id` are the
    partner's, `view.app_installed_team_id` is the workspace that installed the app)."""
    body = p.view_submission(
        slack,
        insight_blocks.MODAL,
        insight_values("Partner says onboarding took too long"),
        user=p.PARTNER_USER,
        team=p.PARTNER_TEAM,
        enterprise=p.PARTNER_ENTERPRISE,
    )
    r = p.send_payload(slack, body)
    assert r.status == 200 and r.elapsed < ACK_SECONDS and r.text == ""
    insight = only_insight(services, p.TEAM)
    assert (insight.text, insight.reporter) == (
        "Partner says onboarding took too long",
        p.PARTNER_USER,
    )
    assert store.list_insights(services.engine, team_id=p.PARTNER_TEAM, kind="open")[1] == 0


# ---------------------------------------------------------------------- shortcuts


def test_message_shortcut_saves_the_message_as_its_author_wrote_it(
    slack: SlackKit, services: Services
) -> None:
    """slackapi/bolt-python tests/scenario_tests/test_shortcut.py (`message_shortcut_body`:
    `type: message_action`, the message with Slack-encoded `text` and rich_text blocks,
    a user object without `team_id`)."""
    body = p.message_action(
        slack,
        "save_insight",
        user="U0ADA",
        channel="C0GENERAL",
        author="U0BJORN",
        text="<@U0GRACE> the customer says price &amp; delivery both matter",
    )
    r = p.send_payload(slack, body)
    assert r.status == 200 and r.elapsed < ACK_SECONDS and r.text == ""
    reply = slack.wait_reply(r, where=lambda x: x["kind"] == "ephemeral")
    insight = only_insight(services)
    assert f"#{insight.id}" in reply["text"]
    assert (insight.reporter, insight.source) == ("U0ADA", "shortcut")
    assert "price & delivery" in insight.text and "&amp;" not in insight.text
    assert "<@U0GRACE>" in insight.text  # a mention stays a mention


# ---------------------------------------------------------------------- events


def test_app_home_opened_with_authorizations_publishes_the_home(
    slack: SlackKit, localslack: LocalSlack
) -> None:
    """slackapi/bolt-python tests/scenario_tests/test_events_org_apps.py
    (`test_app_home_opened`: `authorizations`, `enterprise_id`, the event's `tab` and `D`
    channel); https://api.slack.com/events/app_home_opened."""
    dm = localslack.open_dm("U0FREJA")
    messages_tab = p.event_callback(
        {"type": "app_home_opened", "user": "U0FREJA", "channel": dm, "tab": "messages"}
    )
    r = p.send_event(slack, messages_tab)
    assert r.status == 200 and r.elapsed < ACK_SECONDS
    home_tab = p.event_callback(
        {"type": "app_home_opened", "user": "U0FREJA", "channel": dm, "tab": "home"}
    )
    r = p.send_event(slack, home_tab)
    assert r.status == 200 and r.elapsed < ACK_SECONDS
    view = localslack.wait_for(lambda: localslack.home_views().get("U0FREJA"))
    assert view["type"] == "home"
    # Only the Home tab draws: the Messages tab's event published nothing.
    assert len(localslack.calls_to("views.publish")) == 1


def test_url_verification_answers_the_challenge(slack: SlackKit) -> None:
    """slackapi/bolt-python tests/scenario_tests/test_events_url_verification.py
    (`event_body`); https://api.slack.com/events/url_verification."""
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    body = {"token": "verification_token", "challenge": challenge, "type": "url_verification"}
    r = slack.send(json.dumps(body), content_type="application/json")
    assert r.status == 200
    assert r.json() == {"challenge": challenge}


def test_ssl_check_is_answered_empty_and_does_nothing(
    slack: SlackKit, localslack: LocalSlack
) -> None:
    """slackapi/bolt-python tests/scenario_tests/test_ssl_check.py (`token=random&ssl_check=1`);
    https://api.slack.com/interactivity/slash-commands#ssl."""
    calls = len(localslack.calls)
    r = slack.send("token=random&ssl_check=1", content_type=p.FORM)
    assert r.status == 200 and r.text == ""
    time.sleep(0.2)
    assert [c.method for c in localslack.calls[calls:]] == []


def test_a_retry_of_a_handled_event_is_not_handled_again(
    slack: SlackKit, localslack: LocalSlack, services: Services
) -> None:
    """https://api.slack.com/apis/events-api#retries (`X-Slack-Retry-Num`,
    `X-Slack-Retry-Reason: http_timeout`, the same `event_id`), on the delivery shape of
    slackapi/bolt-python tests/scenario_tests/test_events_org_apps.py."""
    body = p.event_callback(
        {"type": "app_home_opened", "user": "U0OLLE", "channel": "D0OLLE", "tab": "home"}
    )
    assert p.send_event(slack, body).status == 200
    localslack.wait_for(lambda: localslack.home_views().get("U0OLLE"))
    column = ProcessedEvent.__table__.c  # type: ignore[attr-defined]

    def handled() -> Any:
        with services.engine.connect() as conn:
            return conn.execute(
                select(column.handled_at).where(column.event_id == body["event_id"])
            ).scalar()

    localslack.wait_for(handled)
    for n, reason in ((1, "http_timeout"), (2, "http_error")):
        retry = p.send_event(slack, body, retry=n, reason=reason)
        assert retry.status == 200 and retry.text == "" and retry.elapsed < ACK_SECONDS
    time.sleep(0.3)
    assert len(localslack.calls_to("views.publish")) == 1


@pytest.mark.parametrize("subtype", [None, "message_changed"])
def test_enterprise_message_events_in_channels_are_acknowledged_quietly(
    slack: SlackKit, localslack: LocalSlack, subtype: str | None
) -> None:
    """slackapi/bolt-python tests/scenario_tests/test_message_bot.py (a `message` event in a
    channel with Grid `authorizations`): cxbot subscribes to DMs only, and a channel
    message that still arrives (e.g. through another app config) gets an empty 200."""
    event: dict[str, Any] = {
        "type": "message",
        "user": "U0ADA",
        "text": "Hi there! Thanks for sharing the info!",
        "ts": p.ts(),
        "channel": "C0GENERAL",
        "channel_type": "channel",
        "team": p.TEAM,
    }
    if subtype:
        event["subtype"] = subtype
    calls = len(localslack.calls)
    r = p.send_event(slack, p.event_callback(event))
    assert r.status == 200 and r.text == ""
    time.sleep(0.3)
    assert [c.method for c in localslack.calls[calls:] if c.method.startswith("chat.")] == []
