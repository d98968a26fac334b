"""Renderers: metrics, help and Home as valid Block Kit; Block Kit back to terminal text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import Block

from bot.handlers.cx.blocks import SLASH_COMMANDS, HelpEntry, help_blocks
from bot.handlers.home.blocks import MAX_BLOCKS, fit_blocks, home_view
from bot.handlers.metrics.blocks import change_text, metric_lines, metrics_blocks, period_title
from bot.i18n import LOCALES, translator
from bot.views.text import Names, mrkdwn_to_text, render_blocks, render_message, render_view
from storage.home_queries import HomeAlert, HomeInsight, HomeShoutout
from tests.bot.slackkit import assert_contains

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
OSLO = ZoneInfo("Europe/Oslo")


def report(**over: Any) -> dict[str, Any]:
    """The CONTRACT.md example report."""
    data: dict[str, Any] = {
        "period": {"start": "2026-11-16", "end": "2026-11-22"},
        "nps": {
            "score": 23.5,
            "n": 400,
            "promoters": 180,
            "passives": 134,
            "detractors": 86,
            "ci95": [16.4, 30.6],
            "previous": 19.0,
            "change": "stable",
        },
        "csat": {"score": 81.2, "n": 25, "previous": 80.0, "change": "stable"},
        "ces": {"score": 5.41, "n": 120, "previous": 5.1, "change": "rise"},
        "csi": {"score": 71.8, "previous": 70.2},
        "churn": {"rate": 10.0, "lost": 50, "average_customers": 500.0},
        "retention": {"rate": 90.0},
        "clv": {"average": 9000.0},
        "detractor_followup": {
            "alerts": 12,
            "handled_within_24h": 10,
            "open_overdue": 1,
            "median_hours_to_first_response": 3.2,
        },
    }
    data.update(over)
    return data


def empty_report() -> dict[str, Any]:
    return report(
        nps={"score": None, "n": 0, "promoters": 0, "passives": 0, "detractors": 0,
             "ci95": None, "previous": None, "change": "stable"},
        csat={"score": None, "n": 0, "previous": None, "change": "stable"},
        ces={"score": None, "n": 0, "previous": None, "change": "stable"},
        csi={"score": None, "previous": None},
        churn={"rate": None, "lost": 0, "average_customers": 0.0},
        retention={"rate": None},
        clv={"average": None},
        detractor_followup={"alerts": 0, "handled_within_24h": 0, "open_overdue": 0,
                            "median_hours_to_first_response": None},
    )  # fmt: skip


def assert_valid(blocks: list[dict[str, Any]], limit: int) -> None:
    """What localslack and Slack check: each block parses and validates; the count fits."""
    assert 0 < len(blocks) <= limit
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()


def all_text(blocks: list[Any]) -> str:
    return json.dumps(
        [b if isinstance(b, dict) else b.to_dict() for b in blocks], ensure_ascii=False
    )


# ------------------------------------------------------------------ metrics


def test_metrics_message_shows_value_interval_n_change_and_warning() -> None:
    blocks = [b.to_dict() for b in metrics_blocks(report(), "week", translator("en"))]
    assert_valid(blocks, 50)
    text = all_text(blocks)
    assert_contains(
        text,
        "*NPS*  23.5",
        "95 % interval 16.4 to 30.6",
        "400 answers",
        "→ stable (+4.5)",
        "*CES*  5.41 of 7   ↑ rising (+0.31)",
        "*CSAT*  81.2%",
    )
    # 25 CSAT answers: under 30, so a warning; NPS with 400 gets none.
    assert text.count("Small sample") == 1
    assert "Churn 10.0% · Retention 90.0% · Average CLV 9,000" in text
    assert "Week 47, 2026 (Nov 16, 2026 – Nov 22, 2026)" in text


def test_metrics_message_in_norwegian() -> None:
    text = all_text(metrics_blocks(report(), "week", translator("nb")))
    assert_contains(
        text,
        "Kundenøkkeltall",
        "*NPS*  23,5",
        "95 % intervall 16,4 til 30,6",
        "↑ stigende (+0,31)",
        "81,2\u00a0%",
        "Lite utvalg",
        "Uke 47, 2026",
    )


def test_metrics_without_data_says_so_and_shows_no_numbers() -> None:
    lines = metric_lines(empty_report(), translator("da"))
    assert [line.value for line in lines] == ["ingen svar"] * 4
    assert all(line.change == "" and line.warning == "" for line in lines)
    blocks = [b.to_dict() for b in metrics_blocks(empty_report(), "month", translator("da"))]
    assert_valid(blocks, 50)
    text = all_text(blocks)
    assert "0 svar" in text
    assert "Kritikeradvarsler" not in text  # no alerts, no follow-up line
    assert "–" in text  # churn, retention and CLV unknown


def test_falling_change_uses_the_minus_sign_and_arrow() -> None:
    assert change_text("fall", -6.0, translator("sv")) == "↓ fallande (\u22126,0)"
    assert change_text("stable", None, translator("en")) == "→ stable"
    assert change_text(None, 3.0, translator("en")) == ""


@pytest.mark.parametrize(
    ("kind", "start", "end", "expected"),
    [
        ("month", "2026-10-01", "2026-10-31", "Oktober 2026 (1. okt. 2026–31. okt. 2026)"),
        ("quarter", "2026-07-01", "2026-09-30", "3. kvartal 2026"),
        ("year", "2025-01-01", "2025-12-31", "2025 ("),
    ],
)
def test_period_titles(kind: str, start: str, end: str, expected: str) -> None:
    from datetime import date

    title = period_title(kind, date.fromisoformat(start), date.fromisoformat(end), translator("nb"))
    assert title.startswith(expected)


# ------------------------------------------------------------------ help


@pytest.mark.parametrize("locale", LOCALES)
def test_help_lists_every_entry_in_the_users_language(locale: str) -> None:
    entries = [*SLASH_COMMANDS, HelpEntry("/cx help", "Show this list.")]
    blocks = [b.to_dict() for b in help_blocks(entries, translator(locale), notice="hint")]
    assert_valid(blocks, 50)
    text = all_text(blocks)
    for command in ("/insight", "/shoutout", "/pulse", "/cx help"):
        assert command in text
    assert blocks[0]["text"]["text"] == "hint"
    expected = {"en": "What cxbot can do", "nb": "Dette kan cxbot gjøre", "da": "Det kan cxbot",
                "sv": "Det här kan cxbot göra"}  # fmt: skip
    assert expected[locale] in text


# ------------------------------------------------------------------ home


def test_home_view_with_everything() -> None:
    insights = [
        HomeInsight(1, "Customers <want> faster delivery & tracking", "ACME", "delivery", "planned",
                    NOW - timedelta(days=2)),
    ]  # fmt: skip
    shoutouts = [
        HomeShoutout(7, "U0ADA", ("U0BJORN", "U0SVEA"), "Called the customer back at once",
                     "We keep our promises", NOW - timedelta(days=1)),
        HomeShoutout(8, None, ("U0ADA",), "Ada was wonderful", None, NOW),
    ]  # fmt: skip
    alerts = [
        HomeAlert(3, "nps", 2, "C-17", "Private", "Late again", "claimed",
                  NOW - timedelta(hours=1), "C0ALERTS", "1.0"),
    ]  # fmt: skip
    view = home_view(t=translator("en"), tz=OSLO, now=NOW, report=report(), insights=insights,
                     shoutouts=shoutouts, alerts=alerts)  # fmt: skip
    assert view["type"] == "home"
    assert_valid(view["blocks"], 100)
    text = all_text(view["blocks"])
    assert "Your customer dashboard" in text
    assert "*NPS*\\n23.5  → stable (+4.5)" in text
    assert "Customers &lt;want&gt; faster delivery &amp; tracking" in text  # user text escaped
    assert_contains(
        text,
        "planned",
        "From <@U0ADA> to <@U0BJORN> and <@U0SVEA>",
        "From a customer to <@U0ADA>",
        "promise: We keep our promises",
        "*NPS 2* from C-17 (Private)",
    )
    assert "overdue since Nov 23, 2026 8:00" in text.replace("\u202f", " ")
    assert "/cx help" in text
    assert any(
        el.get("action_id") == "home_refresh"
        for b in view["blocks"]
        if b["type"] == "actions"
        for el in b["elements"]
    )


def test_home_view_empty_in_swedish() -> None:
    view = home_view(t=translator("sv"), tz=OSLO, now=NOW, report=empty_report(), insights=[],
                     shoutouts=[], alerts=[])  # fmt: skip
    assert_valid(view["blocks"], 100)
    text = all_text(view["blocks"])
    assert_contains(
        text,
        "Din kundöversikt",
        "Inga svar den veckan",
        "Du har inte antecknat några insikter än",
        "Inget beröm än",
    )


def test_home_view_never_exceeds_100_blocks() -> None:
    many_alerts = [
        HomeAlert(i, "csat", 1, f"C-{i}", None, "x" * 500, "open", NOW + timedelta(hours=i), None,
                  None)
        for i in range(60)
    ]  # fmt: skip
    many_insights = [HomeInsight(i, "y" * 4000, None, None, "new", NOW) for i in range(40)]
    view = home_view(t=translator("nb"), tz=OSLO, now=NOW, report=report(),
                     insights=many_insights, shoutouts=[], alerts=many_alerts)  # fmt: skip
    assert_valid(view["blocks"], MAX_BLOCKS)
    assert "og 45 til" in all_text(view["blocks"])


def test_fit_blocks_cuts_and_says_so() -> None:
    from slack_sdk.models.blocks import DividerBlock

    blocks = fit_blocks([DividerBlock() for _ in range(150)], translator("da"))
    assert len(blocks) == 100
    assert "Flere elementer vises ikke her." in all_text(blocks[-1:])


# ------------------------------------------------------------------ terminal text


NAMES = Names({"U0ADA": "ada", "U0BJORN": "bjorn"}, {"C0ALERTS": "cx-alerts"})


@pytest.mark.parametrize(
    ("mrkdwn", "plain"),
    [
        ("*NPS* 23.5", "NPS 23.5"),
        ("_small_ sample", "small sample"),
        ("hi <@U0ADA> and <@U0XYZ|xyz>", "hi @ada and @xyz"),
        ("see <#C0ALERTS> or <#C0ZZZ|other>", "see #cx-alerts or #other"),
        ("<https://example.com|the report> now", "the report (https://example.com) now"),
        ("<https://example.com>", "https://example.com"),
        ("<!here> look", "@here look"),
        (":warning: careful :unknown_emoji:", "⚠ careful :unknown_emoji:"),
        ("&gt; quoted &amp; &lt;tag&gt;", "│ quoted & <tag>"),
        ("snake_case_name stays", "snake_case_name stays"),
        ("2*3*4 stays", "2*3*4 stays"),
    ],
)
def test_mrkdwn_to_text(mrkdwn: str, plain: str) -> None:
    assert mrkdwn_to_text(mrkdwn, NAMES) == plain


def test_render_blocks_numbers_buttons_in_order() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Detractor alert"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*NPS 2* from <@U0BJORN>"},
         "accessory": {"type": "button", "action_id": "open", "text": {"type": "plain_text",
                       "text": "Open"}}},
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "due _soon_"}]},
        {"type": "actions", "block_id": "acts", "elements": [
            {"type": "button", "action_id": "claim", "value": "3",
             "text": {"type": "plain_text", "text": "Claim"}},
            {"type": "button", "action_id": "resolve", "value": "3",
             "text": {"type": "plain_text", "text": "Resolve"}},
            {"type": "static_select", "action_id": "pick",
             "placeholder": {"type": "plain_text", "text": "Outcome"}}]},
    ]  # fmt: skip
    rendered = render_blocks(blocks, NAMES)
    assert rendered.text.splitlines()[0] == "DETRACTOR ALERT"
    assert "NPS 2 from @bjorn" in rendered.text
    assert "  [1] Open" in rendered.text
    assert "[2] Claim  [3] Resolve  <static_select: Outcome>" in rendered.text
    assert "  due soon" in rendered.text
    assert [(b.number, b.action_id, b.value) for b in rendered.buttons] == [
        (1, "open", None),
        (2, "claim", "3"),
        (3, "resolve", "3"),
    ]
    assert rendered.buttons[1].block_id == "acts"


def test_render_message_without_blocks_uses_text() -> None:
    assert render_message({"text": "*hi* <@U0ADA>"}, NAMES).text == "hi @ada"


def test_render_modal_numbers_inputs() -> None:
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "New insight"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {"type": "input", "block_id": "text", "label": {"type": "plain_text", "text": "What"},
             "element": {"type": "plain_text_input", "action_id": "value", "multiline": True}},
            {"type": "input", "block_id": "segment", "optional": True,
             "label": {"type": "plain_text", "text": "Segment"},
             "element": {"type": "static_select", "action_id": "pick", "options": [
                 {"text": {"type": "plain_text", "text": "Private"}, "value": "private"},
                 {"text": {"type": "plain_text", "text": "SMB"}, "value": "smb"}]}},
        ],
    }  # fmt: skip
    rendered = render_view(view, NAMES)
    assert rendered.text.startswith("┌ New insight")
    assert "(1) What [text]" in rendered.text
    assert "(2) Segment [segment] (optional)" in rendered.text
    assert "private=Private, smb=SMB" in rendered.text
    assert "Save" in rendered.text
    assert [(i.block_id, i.action_id, i.type) for i in rendered.inputs] == [
        ("text", "value", "plain_text_input"),
        ("segment", "pick", "static_select"),
    ]


def test_home_view_reads_as_text() -> None:
    view = home_view(t=translator("en"), tz=OSLO, now=NOW, report=report(), insights=[],
                     shoutouts=[], alerts=[])  # fmt: skip
    rendered = render_view(view, NAMES)
    assert "YOUR CUSTOMER DASHBOARD" in rendered.text
    assert "NPS" in rendered.text and "23.5" in rendered.text
    assert [b.action_id for b in rendered.buttons] == ["home_refresh"]
