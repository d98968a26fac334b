"""The sandbox's local Slack keeps its history across restarts; people write and react."""

from __future__ import annotations

import json
from pathlib import Path

from bot.localslack import LocalSlack
from bot.sandbox import state_path


def test_history_survives_a_restart_through_json() -> None:
    first = LocalSlack.demo()
    said = first.post_as("U0BJORN", "C0ALERTS", "I will call the customer")
    assert first.react_as("U0ADA", "C0ALERTS", said["ts"], "eyes")
    assert not first.react_as("U0ADA", "C0ALERTS", said["ts"], "eyes")  # once per person
    dm = first.open_dm("U0KARI")
    state = json.loads(json.dumps(first.state()))

    second = LocalSlack.demo()
    second.restore(state)
    kept = second.messages("C0ALERTS")
    assert [m["text"] for m in kept] == ["I will call the customer"]
    assert kept[0]["user"] == "U0BJORN"
    assert kept[0]["reactions"] == [{"name": "eyes", "users": ["U0ADA"], "count": 1}]
    assert any(c["id"] == dm for c in second.channels())
    # New messages come after the old ones, as Slack's ts always grows.
    later = second.post_as("U0ADA", "C0ALERTS", "done")
    assert float(later["ts"]) > float(said["ts"])


def test_an_unknown_state_version_is_ignored() -> None:
    slack = LocalSlack.demo()
    slack.restore({"version": 999, "messages": [{"channel": "C0X", "ts": "1.0"}]})
    assert slack.messages() == []


def test_the_state_file_sits_beside_a_sqlite_database(tmp_path: Path) -> None:
    assert state_path(f"sqlite:///{tmp_path}/cxbot.db") == tmp_path / "cxbot.db.sandbox.json"
    assert state_path("sqlite://") is None
    assert state_path("sqlite:///:memory:") is None
    pg = state_path("postgresql+psycopg://u@localhost/cx")
    assert pg is not None and pg.name == "cxbot.sandbox.json"
