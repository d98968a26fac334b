"""`cxbot sandbox` driven through a pseudo-terminal, as a person would use it."""

from __future__ import annotations

import io
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pexpect
import pytest

from core.ingest import validate_response_objects
from core.periods import last_complete
from storage.db import make_engine
from storage.responses import insert_responses

ROOT = Path(__file__).resolve().parents[2]
CXBOT = Path(sys.executable).with_name("cxbot")
PROMPT = r"in #general> "
TEAM = "T0CXLOCAL"  # the sandbox workspace's team id


def seed_last_week(database_url: str) -> None:
    """40 NPS answers in the last complete week (so the sandbox skips its demo data):
    20 promoters, 10 passives, 10 detractors -> NPS 25.0."""
    tz = ZoneInfo("UTC")
    week = last_complete("week", datetime.now(UTC), tz)
    day = week.start + timedelta(days=2)
    scores = [10] * 20 + [8] * 10 + [3] * 10
    objects = [
        {"responded_at": f"{day.isoformat()}T12:00:00Z", "metric": "nps", "score": s,
         "response_id": f"e2e-{i}"}
        for i, s in enumerate(scores)
    ]  # fmt: skip
    frame, rejected = validate_response_objects(objects, tz)
    assert not rejected
    engine = make_engine(database_url)
    insert_responses(engine, team_id=TEAM, frame=frame)
    engine.dispose()


def sandbox_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CXBOT_"))}
    env.update(DATABASE_URL=database_url, CXBOT_TIMEZONE="UTC", TERM="dumb", PYTHONUNBUFFERED="1")
    return env


@pytest.mark.skipif(not CXBOT.exists(), reason="the cxbot console script is not installed")
def test_sandbox_help_home_buttons_and_quit(sqlite_url: str, tmp_path: Path) -> None:
    seed_last_week(sqlite_url)
    child = pexpect.spawn(
        str(CXBOT),
        ["sandbox"],
        cwd=str(tmp_path),  # no .env of the developer's is read
        env=sandbox_env(sqlite_url),
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 160),
    )
    transcript = io.StringIO()
    child.logfile_read = transcript
    try:
        child.expect("Leave with :quit or Ctrl-D")
        child.expect(PROMPT)

        child.sendline("/cx help")
        child.expect("cxbot \\(only you can see this\\)")
        child.expect("WHAT CXBOT CAN DO")
        child.expect("/insight \\[text\\]")
        child.expect("/cx metrics")
        child.expect(PROMPT)

        child.sendline(":home")
        child.expect("YOUR CUSTOMER DASHBOARD")
        child.expect("Last complete week")
        child.expect("NPS")
        child.expect("25\\.0")
        child.expect("40 answers")
        child.expect("\\[1\\] Refresh")
        child.expect(PROMPT)

        child.sendline(":lang da")
        child.expect(PROMPT)
        child.sendline(":press 1")
        child.expect("DIT KUNDEDASHBOARD")
        child.expect("40 svar")
        child.expect(PROMPT)

        # Mistakes are explained, never a traceback.
        child.sendline(":press 9")
        child.expect("no button \\[9\\]")
        child.sendline(":frobnicate")
        child.expect("unknown sandbox command :frobnicate")
        child.sendline(":user nobody")
        child.expect("no such active person")
        child.sendline(":user bjorn")
        child.expect("you are now @bjorn")
        child.sendline("/cx nonsense")
        child.expect("`/cx nonsense` er ikke en kommando")
        child.expect("bjorn " + PROMPT)

        child.sendline(":quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert "Traceback" not in transcript.getvalue()
    assert child.exitstatus == 0, child.before


def test_form_answers_become_slacks_state_values() -> None:
    from bot.sandbox import _find_input, state_values
    from bot.views.text import Input

    inputs = [
        Input(1, "text", "value", "plain_text_input", "What", False),
        Input(2, "segment", "pick", "static_select", "Segment", True,
              options=(("private", "Private"), ("smb", "SMB"))),
        Input(3, "who", "users", "multi_users_select", "Who", True),
        Input(4, "note", "value", "plain_text_input", "Note", True, initial="kept"),
    ]  # fmt: skip
    assert _find_input(inputs, "2") is inputs[1]
    assert _find_input(inputs, "who") is inputs[2]
    assert _find_input(inputs, "value") is inputs[0]  # first match by action id
    assert _find_input(inputs, "nope") is None
    values = state_values(inputs, {"text": "Late parcels", "segment": "smb", "who": "U1, U2"})
    assert values == {
        "text": {"value": {"type": "plain_text_input", "value": "Late parcels"}},
        "segment": {
            "pick": {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": "SMB"}, "value": "smb"},
            }
        },
        "who": {"users": {"type": "multi_users_select", "selected_users": ["U1", "U2"]}},
        "note": {"value": {"type": "plain_text_input", "value": "kept"}},
    }
