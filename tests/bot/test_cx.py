"""`/cx`: help, metrics, the subcommand registry, through the real app and local Slack."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.errors import UserError
from bot.feature import Feature, Registry, Subcommand
from bot.features import FEATURES
from bot.handlers.cx.call import CxCall, available_entries, parse_period
from bot.services import Services
from core.ingest import validate_response_objects
from storage.responses import insert_responses
from tests.bot.slackkit import assert_contains

TEAM = "T0CXLOCAL"


@pytest.fixture
def no_digest(services: Services) -> None:
    """A bot without the digest feature: the registry is what /cx offers."""
    services.registry = Registry(f for f in FEATURES if f.name != "digest")


def store_answers(engine: Any, days_scores: list[tuple[str, str, int]]) -> None:
    objects = [
        {"responded_at": f"{day}T12:00:00+01:00", "metric": metric, "score": score,
         "response_id": f"r{i}", "segment": "Private"}
        for i, (day, metric, score) in enumerate(days_scores)
    ]  # fmt: skip
    frame, rejected = validate_response_objects(objects, ZoneInfo("Europe/Oslo"))
    assert not rejected
    insert_responses(engine, team_id=TEAM, frame=frame)


def last_week_answers() -> list[tuple[str, str, int]]:
    """Week 47 of 2026 (the last complete week at the test clock's 2026-11-23):
    20 promoters, 10 passives, 10 detractors -> NPS 25.0; 10 CSAT answers, 8 satisfied."""
    answers = [("2026-11-18", "nps", 10)] * 20
    answers += [("2026-11-19", "nps", 8)] * 10 + [("2026-11-20", "nps", 3)] * 10
    answers += [("2026-11-17", "csat", 5)] * 8 + [("2026-11-17", "csat", 2)] * 2
    return answers


def reply_text(reply: dict[str, Any]) -> str:
    return json.dumps(
        {"text": reply.get("text"), "blocks": reply.get("blocks")}, ensure_ascii=False
    )


def ephemeral_reply(slack: Any, result: Any) -> str:
    assert result.status == 200
    reply = slack.wait_reply(result, where=lambda r: r["kind"] in ("ephemeral", "ack"))
    return reply_text(reply)


def test_help_lists_the_slack_surface(slack: Any, no_digest: None) -> None:
    result = slack.command("/cx", "help")
    text = ephemeral_reply(slack, result)
    for command in ("/insight", "/shoutout", "/pulse", "/cx help", "/cx metrics"):
        assert command in text
    assert "/cx digest" not in text  # only subcommands that work are listed
    assert "What cxbot can do" in text
    for usage in ("/insight list [open|mine|CATEGORY] [PAGE]", "/insight search WORDS"):
        assert usage in text


def test_help_names_the_lists_and_translates_the_period_words(slack: Any) -> None:
    from bot.i18n import translator

    declared = Registry(FEATURES).subcommands
    assert declared["alerts"].usage == "/cx alerts [open|mine|overdue]"
    norwegian = translator("nb")
    assert norwegian.gettext(declared["digest"].usage) == "/cx digest [uke|måned|kvartal|år]"
    assert translator("sv").gettext(declared["digest"].usage).endswith("[vecka|månad|kvartal|år]")


def test_cx_alone_is_help_in_the_users_language(slack: Any) -> None:
    text = ephemeral_reply(slack, slack.command("/cx", "", user="U0FREJA"))
    assert "Det kan cxbot" in text
    assert "Notér, hvad du hørte fra en kunde" in text


def test_unknown_subcommand_suggests_the_closest(slack: Any) -> None:
    text = ephemeral_reply(slack, slack.command("/cx", "metrcs week", user="U0SVEA"))
    assert "`/cx metrcs` är inget kommando. Menade du `/cx metrics`?" in text
    assert "Det här kan cxbot göra" in text  # the help follows the hint


def test_unknown_subcommand_echo_is_defused(slack: Any) -> None:
    text = ephemeral_reply(slack, slack.command("/cx", "<!channel>*zz*`"))
    assert "<!channel>" not in text
    assert "is not a command" in text


def test_subcommand_of_a_feature_not_deployed_is_not_a_command(slack: Any, no_digest: None) -> None:
    text = ephemeral_reply(slack, slack.command("/cx", "digest"))
    assert "`/cx digest` is not a command." in text


def test_registered_subcommand_is_called_and_listed(slack: Any, services: Services) -> None:
    calls: list[CxCall] = []

    def ping(call: CxCall) -> None:
        calls.append(call)
        call.respond(text=f"pong {call.args} ({call.locale})", response_type="ephemeral")

    pinging = Feature(
        "ping", subcommands=(Subcommand("ping", ping, "/cx ping", "Show this list."),)
    )
    services.registry = services.registry.with_features(pinging)
    text = ephemeral_reply(slack, slack.command("/cx", "PING  a b ", user="U0BJORN"))
    assert "pong a b (nb)" in text
    assert calls[0].team_id == TEAM and calls[0].user_id == "U0BJORN"
    assert "/cx ping" in ephemeral_reply(slack, slack.command("/cx", "help"))


def test_declared_subcommands_are_listed_and_a_name_is_taken_once() -> None:
    registry = Registry(FEATURES)
    usages = [entry.usage for entry in available_entries(registry.subcommands)]
    assert "/cx alerts [open|mine|overdue]" in usages
    assert "/cx help" in usages and "/insight [text]" in usages

    def alerts(call: CxCall) -> None:
        return None

    again = Feature("again", subcommands=(Subcommand("alerts", alerts, "/cx alerts", "x"),))
    with pytest.raises(ValueError, match="two features declare the subcommand 'alerts'"):
        registry.with_features(again)


def test_metrics_of_the_last_complete_week(slack: Any, services: Any) -> None:
    store_answers(services.engine, last_week_answers())
    text = ephemeral_reply(slack, slack.command("/cx", "metrics"))
    assert_contains(
        text,
        "Customer metrics",
        "Week 47, 2026",
        "*NPS*  25.0",
        "40 answers",
        "*CSAT*  80.0%",
        "10 answers",
    )
    assert "Small sample" in text  # CSAT has 10 answers
    assert "*CES*  no answers" in text


def test_metrics_month_in_norwegian_words(slack: Any, services: Any) -> None:
    store_answers(services.engine, last_week_answers())
    text = ephemeral_reply(slack, slack.command("/cx", "metrics måned", user="U0BJORN"))
    assert "Kundenøkkeltall" in text
    assert "Oktober 2026" in text  # the last complete month at 2026-11-23
    assert "ingen svar" in text  # nothing was answered in October


def test_metrics_with_a_bad_period_explains(slack: Any) -> None:
    text = ephemeral_reply(slack, slack.command("/cx", "metrics fortnight"))
    assert "“fortnight” is not a period. Use week, month, quarter or year" in text


def test_parse_period_in_each_language() -> None:
    from bot.i18n import translator

    assert parse_period("", translator("en")) == "week"
    assert parse_period("Quarter", translator("en")) == "quarter"
    assert parse_period("uge", translator("da")) == "week"
    assert parse_period("månad", translator("sv")) == "month"
    assert parse_period("year", translator("nb")) == "year"
    with pytest.raises(UserError):
        parse_period("uke", translator("sv"))
