"""Who may close what: a claimed alert is resolved by its owner or an admin; an insight's
status is changed by its reporter, whoever took it on, or an admin. Everyone else is told
why, in their language, and nothing changes.

U0ADA is the workspace admin in localslack's demo (users.info is_admin); U0BJORN, U0KARI
and U0SVEA are members.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.handlers.alerts import blocks as alert_views
from bot.handlers.insights import blocks as insight_blocks
from bot.localslack import LocalSlack
from bot.services import Services
from storage import alerts as alert_store
from storage import insights as insight_store
from storage import settings_store
from tests.bot.slackkit import SlackKit, static_select
from tests.bot.test_alerts import alert_posts, key_of
from tests.bot.test_insights import eventually, post_of

pytestmark = pytest.mark.real_time

TEAM = "T0CXLOCAL"


@pytest.fixture
def configured(services: Services) -> Services:
    settings_store.set(services.engine, team_id=TEAM, key="alerts.channel", value="C0ALERTS")
    settings_store.set(services.engine, team_id=TEAM, key="insights.channel", value="C0INSIGHT")
    return services


def reply_text(slack: SlackKit, result: Any) -> str:
    return str(
        slack.wait_reply(result, where=lambda r: r["kind"] in ("response", "ephemeral"))["text"]
    )


def test_only_the_owner_or_an_admin_resolves_a_claimed_alert(
    slack: SlackKit, localslack: LocalSlack, configured: Services
) -> None:
    now = configured.clock().isoformat()
    answer = {"responded_at": now, "metric": "nps", "score": 2, "response_id": "auth-1"}
    assert slack.webhook(answer).status == 202
    post = localslack.wait_for(lambda: alert_posts(localslack, "C0ALERTS"), timeout=10)[0]
    alert_id = int(key_of(post).split(":")[1])
    message = {**post, "channel": "C0ALERTS"}
    slack.block_action(alert_views.CLAIM_ACTION, str(alert_id), user="U0BJORN", message=message)
    eventually(
        lambda: (
            (alert_store.get_card(configured.engine, team_id=TEAM, alert_id=alert_id) or None).owner
            == "U0BJORN"
        )
    )

    # Kari may not resolve Bjørn's alert: told so in Norwegian, and no form opens.
    refused = slack.block_action(
        alert_views.RESOLVE_ACTION, str(alert_id), user="U0KARI", message=message
    )
    text = reply_text(slack, refused)
    assert "<@U0BJORN>" in text and "bare de eller en administrator" in text
    assert not any(
        v.get("callback_id") == alert_views.RESOLVE_MODAL for v in localslack.open_views()
    )
    # A resolve form submitted anyway (opened before Bjørn claimed) is refused in the form.
    values = {alert_views.OUTCOME_BLOCK: {alert_views.OUTCOME_INPUT: static_select("called")}}
    forced = slack.view_submission(alert_views.RESOLVE_MODAL, values, str(alert_id), user="U0KARI")
    assert forced.json()["response_action"] == "errors"
    card = alert_store.get_card(configured.engine, team_id=TEAM, alert_id=alert_id)
    assert card is not None and card.status == "claimed"

    # The admin may.
    slack.block_action(alert_views.RESOLVE_ACTION, str(alert_id), user="U0ADA", message=message)
    modal = localslack.wait_for(
        lambda: next(
            (
                v
                for v in localslack.open_views()
                if v.get("callback_id") == alert_views.RESOLVE_MODAL
            ),
            None,
        )
    )
    done = slack.view_submission(
        alert_views.RESOLVE_MODAL, values, str(alert_id), user="U0ADA", view_id=modal["id"]
    )
    assert done.status == 200 and done.text in ("", "null")
    resolved = alert_store.get_card(configured.engine, team_id=TEAM, alert_id=alert_id)
    assert (
        resolved is not None and resolved.status == "resolved" and resolved.resolved_by == "U0ADA"
    )


def test_an_insights_status_is_changed_by_its_reporter_whoever_took_it_on_or_an_admin(
    slack: SlackKit, localslack: LocalSlack, configured: Services
) -> None:
    assert slack.command("/insight", "The invoice was wrong again", user="U0BJORN").status == 200
    cards = eventually(
        lambda: insight_store.list_insights(configured.engine, team_id=TEAM, kind="open")[0]
    )
    insight_id = cards[0].id
    post = post_of(localslack, insight_id)

    def status() -> str:
        card = insight_store.get_card(configured.engine, team_id=TEAM, insight_id=insight_id)
        assert card is not None
        return card.status

    def press(action: str, user: str) -> Any:
        result = slack.block_action(action, str(insight_id), user=user, message=post)
        assert result.status == 200
        return result

    # Svea is neither the reporter nor an admin: refused in Swedish.
    text = reply_text(slack, press(insight_blocks.DONE_ACTION, "U0SVEA"))
    assert "Bara kollegan som registrerade" in text
    assert status() == "new"
    # The admin takes it on; then she may move it on, and so may the reporter.
    press(insight_blocks.PLAN_ACTION, "U0ADA")
    eventually(lambda: status() == "planned")
    press(insight_blocks.DONE_ACTION, "U0BJORN")
    eventually(lambda: status() == "done")
    # +1 stays open to everyone but the reporter.
    press(insight_blocks.VOTE_ACTION, "U0SVEA")
    eventually(
        lambda: (
            (
                insight_store.get_card(configured.engine, team_id=TEAM, insight_id=insight_id)
                or None
            ).votes
            == 1
        )
    )
