"""A new user's first ten minutes in `cxbot sandbox`, in English and in Norwegian.

A fresh data directory, so the sandbox seeds its demo year and wires the workspace;
then what a newcomer does: help, metrics, an insight, a shout-out, a pulse five
people answer, and a detractor alert raised, claimed, noted and resolved. Every step
asserts on what the terminal shows.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pexpect
import pytest

from tests.e2e.test_sandbox import CXBOT, sandbox_env

PROMPT = r"\w+ in #[\w-]+> "
PULSE_TITLE = r"(CUSTOMER-FOCUS CULTURE PULSE|PULS PÅ KUNDEFOKUS|PULS PÅ KUNDFOKUS)"


def start_sandbox(workdir: Path, database: str) -> pexpect.spawn:
    """`cxbot sandbox` in `workdir` on `database`, in a terminal wide enough for its lines."""
    return pexpect.spawn(
        str(CXBOT),
        ["sandbox"],
        cwd=str(workdir),
        env=sandbox_env(database),
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 200),
    )


class Walk:
    """One person at the sandbox's terminal."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child

    def do(self, line: str, *expected: str) -> str:
        """Type `line`; each of `expected` (regular expressions) must show, in order.
        Returns what was shown up to the last of them."""
        self.child.sendline(line)
        shown = []
        for pattern in expected:
            self.child.expect(pattern)
            shown.append(self.child.before + self.child.after)
        self.child.expect(PROMPT)
        return "".join(shown)

    def number(self, line: str, head: str, *more: str) -> str:
        """Type `line` and return the number (M) of the message whose head matches."""
        self.child.sendline(line)
        self.child.expect(rf"\((\d+)\) {head}")
        found = self.child.match.group(1)
        for pattern in more:
            self.child.expect(pattern)
        self.child.expect(PROMPT)
        return str(found)


def alert_round(walk: Walk, user: str, words: dict[str, str]) -> None:
    """A detractor alert raised, claimed, noted and resolved by `user`."""
    walk.do(f":user {user}", f"you are now @{user}")
    alert = walk.number(
        ":demo alert The invoice was wrong again",
        r"#cx-alerts  cxbot:\s+🚨 NPS 2 from sandbox-",
        r"\[1\] Claim",
    )
    claimed = walk.number(
        f":press {alert} 1", r"#cx-alerts  cxbot \(edited\):", rf"Claimed by @{user}"
    )
    walk.do(f":press {claimed} 1", r"form for @" + user, words["note_form"])
    walk.do(
        ":submit note='Called her, a credit note is on its way'",
        r"\(form sent\)",
        r"\(in thread\)  cxbot:",
        "Called her, a credit note is on its way",
    )
    walk.do(f":press {claimed} 2", r"form for @" + user, words["resolve_form"])
    walk.do(
        ":submit outcome=called view_changed=yes",
        r"\(form sent\)",
        r"#cx-alerts  cxbot \(edited\):",
        words["resolved"],
    )


@pytest.mark.skipif(not CXBOT.exists(), reason="the cxbot console script is not installed")
def test_the_first_ten_minutes_in_english_and_norwegian(tmp_path: Path) -> None:
    started = time.monotonic()
    database = f"sqlite:///{tmp_path}/cxbot.db"
    child = start_sandbox(tmp_path, database)
    transcript = io.StringIO()
    child.logfile_read = transcript
    walk = Walk(child)
    try:
        child.expect("Demo data ready")
        child.expect(PROMPT)

        # Help and the numbers.
        walk.do(
            "/cx help",
            "WHAT CXBOT CAN DO",
            r"/insight list",
            re.escape("/cx alerts [open|mine|overdue]"),
        )
        walk.do("/cx metrics", r"NPS", r"answers")

        # An insight is saved and shared in its channel, not "kept but not shared".
        walk.do(
            "/insight The invoice was wrong again",
            r"share it in #cx-insights",
            r"#cx-insights  cxbot:\s+💡 Customer insight #\d+",
        )
        # A shout-out lands in #shoutouts.
        walk.do(
            "/shoutout @bjorn called back an unhappy customer within the hour",
            r"#shoutouts  cxbot:[^\n]*\n[^\n]*@ada",
            r"called back an unhappy customer within the hour",
        )

        # A pulse is ready: five people answer it, and the results show.
        walk.do("/pulse list", r"1 · Customer-focus culture pulse")
        walk.do("/pulse send 1", r"going out to 8 people")
        for user in ("ada", "bjorn", "freja", "grace", "kari"):
            walk.do(f":user {user}", f"you are now @{user}")
            dm = walk.number(":read", rf"DM @{user}  cxbot:\s+{PULSE_TITLE}")
            for button in (4, 9, 14, 19):
                walk.do(f":press {dm} {button}", r"\(edited\)", "✅")
        walk.do(":user ada", "you are now @ada")
        walk.do(
            "/pulse close 1",
            r"is closed",
            r"CUSTOMER-FOCUS CULTURE PULSE: RESULTS",
            r"5 of 8 answered",
            r"Mean 4\.0 of 5",
        )

        # A detractor alert, start to end, in English ...
        alert_round(
            walk,
            "ada",
            {"note_form": r"Add a note", "resolve_form": r"Resolve alert", "resolved": r"Resolved"},
        )

        # ... and in Norwegian: Bjørn reads Slack in Norwegian.
        walk.do(":user bjorn", "you are now @bjorn")
        walk.do(
            "/cx help",
            "DETTE KAN CXBOT GJØRE",
            r"/insight list",
            re.escape("/cx alerts [open|mine|overdue]"),
        )
        walk.do("/cx metrics", r"NPS", r"svar")
        walk.do(
            "/insight Fakturaen var feil igjen",
            r"deler den i #cx-insights",
            r"#cx-insights  cxbot:\s+💡",
        )
        alert_round(
            walk,
            "bjorn",
            {
                "note_form": r"Legg til (et )?notat",
                "resolve_form": r"Løs varsel",
                "resolved": r"Resolved",
            },
        )

        child.sendline(":quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    shown = transcript.getvalue()
    assert "Traceback" not in shown
    assert "kept but not shared" not in shown
    assert child.exitstatus == 0, child.before

    # A restart keeps the channels' history: an alert posted before it is claimed after.
    assert "C0ALERTS" in (tmp_path / "cxbot.db.sandbox.json").read_text(encoding="utf-8")
    again = start_sandbox(tmp_path, database)
    try:
        again.expect(PROMPT)
        walk = Walk(again)
        unclaimed = r"#cx-alerts  cxbot:\s+🚨[^\n]*\n(?:[^(\n][^\n]*\n){0,3}[^\n]*Unclaimed"
        old = walk.number(":read #cx-alerts", unclaimed)
        walk.do(f":press {old} 1", r"Claimed by @ada")
        again.sendline(":quit")
        again.expect(pexpect.EOF)
    finally:
        again.close()
    assert time.monotonic() - started < 90
