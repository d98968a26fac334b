"""`cxbot serve` as a real process: a signed webhook with a detractor answer reaches the
routed channel through the outbox dispatcher the server starts, and a Claim updates it."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.handlers.alerts.blocks import CLAIM_ACTION
from bot.localslack import LocalSlack
from storage import settings_store
from storage.db import make_engine
from tests.bot.slackkit import SlackKit
from tests.e2e import test_serve as serve_kit
from tests.e2e.test_serve import SIGNING_SECRET, WEBHOOK_SECRET, Served

pytestmark = pytest.mark.slow

# The real `cxbot serve` process and its local Slack, as the serve tests start them.
served = serve_kit.served


def test_detractor_webhook_to_claimed_alert(
    served: Served, localslack: LocalSlack, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/cxbot.db")  # the server's database
    team = localslack.team_id
    settings_store.set(engine, team_id=team, key="alerts.channel", value="C0GENERAL")
    settings_store.set(engine, team_id=team, key="alerts.route.Retail", value="C0ALERTS")
    engine.dispose()
    kit = SlackKit(served.url, SIGNING_SECRET, localslack, webhook_secret=WEBHOOK_SECRET)
    answer = {
        "responded_at": datetime.now(UTC).isoformat(),
        "metric": "csat",
        "score": 1,
        "segment": "Retail",
        "customer_id": "ACME-1",
        "comment": "The parcel never came",
        "response_id": "e2e-1",
    }
    started = time.monotonic()
    assert kit.webhook(answer).status == 202
    (message,) = localslack.wait_for(lambda: localslack.messages("C0ALERTS"), timeout=5)
    assert time.monotonic() - started < 5
    blocks = json.dumps(message["blocks"])
    assert "CSAT 1" in blocks and "ACME-1" in blocks and "The parcel never came" in blocks
    key = message["metadata"]["event_payload"]["key"]
    alert_id = key.split(":")[1]
    result = kit.block_action(
        CLAIM_ACTION, alert_id, user="U0FREJA", message={**message, "channel": "C0ALERTS"}
    )
    assert result.status == 200
    localslack.wait_for(
        lambda: "<@U0FREJA>" in json.dumps(localslack.messages("C0ALERTS")[0]["blocks"]),
        timeout=5,
    )
    assert len(localslack.calls_to("chat.update")) == 1
