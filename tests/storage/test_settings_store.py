"""Workspace settings in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from core.config_keys import BadValueError, UnknownKeyError
from storage import settings_store as store


def test_set_get_overwrite_unset(engine: Engine) -> None:
    assert store.get(engine, team_id="T1", key="alerts.channel") is None
    assert store.set(engine, team_id="T1", key="alerts.channel", value="<#C0123ABCD|cx>") == (
        "alerts.channel",
        "C0123ABCD",
    )
    assert store.get(engine, team_id="T1", key="alerts.channel") == "C0123ABCD"
    store.set(engine, team_id="T1", key="ALERTS.CHANNEL", value="C0999ZZZZ")
    assert store.get(engine, team_id="T1", key="alerts.channel") == "C0999ZZZZ"
    store.set(engine, team_id="T1", key="digest.schedule", value="tue 9:30")
    assert store.get_settings(engine, team_id="T1") == {
        "alerts.channel": "C0999ZZZZ",
        "digest.schedule": "tue 09:30",
    }
    assert store.unset(engine, team_id="T1", key="alerts.channel") is True
    assert store.unset(engine, team_id="T1", key="alerts.channel") is False
    assert store.get_settings(engine, team_id="T1") == {"digest.schedule": "tue 09:30"}


def test_teams_are_kept_apart(engine: Engine) -> None:
    store.set(engine, team_id="T1", key="timezone", value="Europe/Oslo")
    store.set(engine, team_id="T2", key="timezone", value="Europe/Stockholm")
    store.set(engine, team_id="T2", key="alerts.route.Retail", value="C0123ABCD")
    assert store.get_settings(engine, team_id="T1") == {"timezone": "Europe/Oslo"}
    assert store.get(engine, team_id="T2", key="timezone") == "Europe/Stockholm"
    assert store.get(engine, team_id="T2", key="alerts.route.Retail") == "C0123ABCD"
    store.unset(engine, team_id="T1", key="timezone")
    assert store.get(engine, team_id="T2", key="timezone") == "Europe/Stockholm"


def test_invalid_settings_are_not_stored(engine: Engine) -> None:
    with pytest.raises(UnknownKeyError, match=r"alerts\.channel"):
        store.set(engine, team_id="T1", key="alert.channel", value="C0123ABCD")
    with pytest.raises(BadValueError, match="from 0 to 10"):
        store.set(engine, team_id="T1", key="thresholds.nps", value="12")
    assert store.get_settings(engine, team_id="T1") == {}
