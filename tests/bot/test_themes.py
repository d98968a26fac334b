"""`/cx themes` through the real app and local Slack: named themes with trend, NPS,
effect and quotes, in the reader's language; the period argument; the App Home list."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from core.ingest import validate_response_objects
from storage.responses import insert_responses

TEAM = "T0CXLOCAL"
LATE = (
    "The parcel arrived {n} days late.",
    "Pakken kom {n} dager for sent.",
    "Pakken kom {n} dage for sent.",
    "Paketet kom {n} dagar för sent.",
)


def store(engine: Any, rows: list[tuple[str, int, str | None]]) -> None:
    objects = [
        {"responded_at": f"{day}T12:00:00+01:00", "metric": "nps", "score": score,
         "response_id": f"t{i}", "comment": comment}
        for i, (day, score, comment) in enumerate(rows)
    ]  # fmt: skip
    frame, rejected = validate_response_objects(objects, ZoneInfo("Europe/Oslo"))
    assert not rejected
    insert_responses(engine, team_id=TEAM, frame=frame)


def two_weeks() -> list[tuple[str, int, str | None]]:
    """Week 46 calm, week 47 (the last complete week at the test clock) a delivery dip:
    twelve detractors on late parcels in four languages, a customer's e-mail in one."""
    rows: list[tuple[str, int, str | None]] = [("2026-11-10", 10, "Friendly and helpful support")]
    rows += [("2026-11-11", 10, None)] * 20 + [("2026-11-12", 3, None)] * 4
    rows += [("2026-11-18", 2, LATE[i % 4].format(n=3 + i % 5)) for i in range(11)]
    rows += [("2026-11-18", 1, "Package delayed again, write to ola@example.no")]
    rows += [("2026-11-19", 10, "Friendly and helpful support, thanks")] * 2
    rows += [("2026-11-19", 10, None)] * 12
    return rows


def reply(slack: Any, result: Any) -> str:
    assert result.status == 200
    found = slack.wait_reply(result, where=lambda r: r["kind"] in ("ephemeral", "ack"))
    return json.dumps(
        {"text": found.get("text"), "blocks": found.get("blocks")}, ensure_ascii=False
    )


def test_themes_names_late_delivery_with_trend_nps_effect_and_redacted_quotes(
    slack: Any, services: Any
) -> None:
    store(services.engine, two_weeks())
    text = reply(slack, slack.command("/cx", "themes"))
    assert "What customers talked about this week" in text
    assert "*late delivery*" in text and "12 comments (↑ 0 → 12)" in text
    assert "NPS \u2212100 among them" in text
    assert "points of the NPS change" in text
    assert "In the comments: mostly *late delivery*" in text
    # Quotes from five comments on, personal data masked.
    assert "> “" in text and "ola@example.no" not in text
    # Two comments on friendly support: counted, never quoted.
    assert "*friendly customer service*" in text
    assert "Quotes are shown only from 5 comments" in text
    assert "dager" not in text.split("late delivery")[0]  # named, not a word list


def test_themes_in_the_readers_language_and_other_periods(slack: Any, services: Any) -> None:
    store(services.engine, two_weeks())
    danish = reply(slack, slack.command("/cx", "themes", user="U0FREJA"))
    assert "*forsinket levering*" in danish
    month = reply(slack, slack.command("/cx", "themes month"))
    assert "What customers talked about this month" in month
    swedish = reply(slack, slack.command("/cx", "themes kvartal", user="U0SVEA"))
    assert "Vad kunderna pratade om det här kvartalet" in swedish


def test_themes_of_a_quiet_period_and_a_bad_period(slack: Any, services: Any) -> None:
    text = reply(slack, slack.command("/cx", "themes"))
    assert "No comment named a theme in this period." in text
    bad = reply(slack, slack.command("/cx", "themes fortnight"))
    assert "is not a period" in bad


def test_help_lists_themes(slack: Any) -> None:
    text = reply(slack, slack.command("/cx", "help"))
    assert "/cx themes [week|month|quarter]" in text


HOSTILE = (
    "The parcel arrived {n} days late <!channel> <@U0BOSS> see "
    "<https://evil.example/t|tracking> & <b>bold</b>"
)


def test_a_quote_mentions_no_one_and_links_nowhere(slack: Any, services: Any) -> None:
    """Customers' words reach the channel as words: a broadcast, a mention, a labelled link
    and markup in a comment are shown, none of them acts."""
    rows: list[tuple[str, int, str | None]] = [("2026-11-11", 10, None)] * 5
    rows += [("2026-11-18", 2, HOSTILE.format(n=3 + i)) for i in range(6)]
    store(services.engine, rows)
    text = reply(slack, slack.command("/cx", "themes"))
    assert "*late delivery*" in text and "> “" in text
    assert "<!channel>" not in text and "<!" not in text
    assert "<@U0BOSS>" not in text and "@U0BOSS" in text
    assert "<https://evil.example" not in text and "tracking (https://evil.example/t)" in text
    assert "&amp; &lt;b&gt;bold&lt;/b&gt;" in text
