"""Workspace settings in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from core.config_keys import BadValueError, UnknownKeyError
from storage import settings_store as store
from storage.db import make_engine


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


def test_a_change_through_any_engine_of_this_process_is_seen_at_once(
    engine: Engine, db_url: str
) -> None:
    store.set(engine, team_id="T1", key="alerts.channel", value="C0AAAAAA1")
    assert store.get_settings(engine, team_id="T1")["alerts.channel"] == "C0AAAAAA1"
    # Another engine on the same database, as `cxbot config set` in this process has.
    other = make_engine(db_url)
    try:
        store.set(other, team_id="T1", key="alerts.channel", value="C0BBBBBB2")
        assert store.get_settings(engine, team_id="T1")["alerts.channel"] == "C0BBBBBB2"
        store.unset(other, team_id="T1", key="alerts.channel")
        assert "alerts.channel" not in store.get_settings(engine, team_id="T1")
    finally:
        other.dispose()


def test_a_change_from_another_process_is_seen_within_the_freshness_window(
    engine: Engine,
) -> None:
    store.set(engine, team_id="T1", key="alerts.channel", value="C0AAAAAA1")
    assert store.get_settings(engine, team_id="T1")["alerts.channel"] == "C0AAAAAA1"
    # Written behind this process's back, as another instance would.
    with engine.begin() as conn:
        conn.execute(text("UPDATE workspacesetting SET value = 'C0BBBBBB2' WHERE team_id = 'T1'"))
    seen = store.get_settings(engine, team_id="T1")["alerts.channel"]
    assert seen in ("C0AAAAAA1", "C0BBBBBB2")  # the copy may still be fresh
    time.sleep(store.FRESH_SECONDS + 0.05)
    assert store.get_settings(engine, team_id="T1")["alerts.channel"] == "C0BBBBBB2"
    # Inside a transaction the database is always read: what it wrote included.
    with engine.begin() as conn:
        conn.execute(text("UPDATE workspacesetting SET value = 'C0CCCCCC3' WHERE team_id = 'T1'"))
        assert store.get_settings(conn, team_id="T1")["alerts.channel"] == "C0CCCCCC3"


def test_a_copy_handed_out_cannot_change_the_cached_one(engine: Engine) -> None:
    store.set(engine, team_id="T1", key="alerts.channel", value="C0AAAAAA1")
    first = store.get_settings(engine, team_id="T1")
    first["alerts.channel"] = "changed by a caller"
    assert store.get_settings(engine, team_id="T1")["alerts.channel"] == "C0AAAAAA1"
