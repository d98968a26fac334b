"""Detractor alerts' rules: routing, storms, notes and who may resolve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import alerts
from core.workspace_settings import WorkspaceSettings

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_an_answer_goes_to_its_segment_then_touchpoint_then_metric_then_the_channel() -> None:
    settings = WorkspaceSettings.from_stored(
        {
            "alerts.channel": "C0GENERAL",
            "alerts.route.Retail": "C0RETAIL",
            "alerts.route.touchpoint:Checkout": "C0CHECKOUT",
            "alerts.route.metric:ces": "C0EFFORT",
        }
    )
    cfg = alerts.config_from(settings)
    route = cfg.route
    assert route(segment=" retail ", touchpoint="Checkout", metric="ces") == "C0RETAIL"
    assert route(segment="B2B", touchpoint="checkout", metric="ces") == "C0CHECKOUT"
    assert route(segment=None, touchpoint=None, metric="ces") == "C0EFFORT"
    assert route(segment=None, touchpoint=None, metric="nps") == "C0GENERAL"


def test_a_channel_with_more_alerts_than_the_storm_size_gets_one_summary() -> None:
    channels = ["C1", "C1", "C1", "C2", None, None, None]
    groups = alerts.storm_groups(channels, batch_id="b1", storm_size=2)
    assert groups == {"C1": "alertstorm:b1:C1"}
    assert alerts.storm_channel(groups["C1"]) == "C1"
    assert alerts.storm_counts(["nps", "csat", "nps"]) == {"csat": 1, "nps": 2}


def test_notes_outcomes_and_lists() -> None:
    assert alerts.note_text("  hi  ") == "hi"
    assert len(alerts.note_text("x" * 5000)) == alerts.NOTE_MAX
    alerts.check_outcome("fixed")
    with pytest.raises(ValueError, match="outcome"):
        alerts.check_outcome("ignored")
    with pytest.raises(ValueError, match="kind"):
        alerts.check_list_kind("closed")
    assert alerts.is_overdue(alerts.OPEN, NOW, NOW)
    assert not alerts.is_overdue(alerts.RESOLVED, NOW - timedelta(days=1), NOW)


def test_anyone_resolves_an_unclaimed_alert_and_only_its_owner_a_claimed_one() -> None:
    assert alerts.resolvable_without_admin(None, "U1")
    assert alerts.resolvable_without_admin("U1", "U1")
    assert not alerts.resolvable_without_admin("U1", "U2")
