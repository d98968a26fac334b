"""Customer insights with the language model: the real `openai` client against the local
OpenAI-compatible server in tests/openai_server.py, which records every request body, so
these tests see exactly what left the process.

Slow, malformed and failing answers never cost the user their ack or their insight: the
analysis runs after the reply, and the offline analyzer takes over when the model fails.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.localslack import LocalSlack
from bot.services import Services
from bot.settings import Settings
from core.analyzer import OpenAIAnalyzer
from storage import insights as store
from storage.settings_store import set as set_setting
from tests.bot.conftest import model_analyzer, open_services
from tests.bot.slackkit import SlackKit, text_input
from tests.bot.test_insights import CHANNEL, LATE, eventually, mrkdwn, post_of
from tests.conftest import FakeClock
from tests.openai_server import OpenAIServer, answer, malformed, slow, status

PRICE = {"category": "price", "sentiment": "negative", "impact": 3}

# Personal data, each kind in a valid form (check digits included).
EMAIL = "kari.nordmann@example.no"
PHONE = "+47 912 34 567"
CARD = "4111 1111 1111 1111"
FNR = "15038545660"  # Norwegian fødselsnummer
CPR = "150385-1234"  # Danish CPR
PNR = "19811228-9874"  # Swedish personnummer
PII_TEXT = (
    f"Kunden ({EMAIL}, tlf {PHONE}) er sur over fakturaen. Kortet {CARD} ble trukket to "
    f"ganger. Fnr {FNR}, CPR {CPR}, personnummer {PNR}."
)
RAW_VALUES = (EMAIL, PHONE, CARD, FNR, CPR, PNR)


@pytest.fixture
def model() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server


@pytest.fixture
def bot_settings(localslack: LocalSlack, sqlite_url: str, model: OpenAIServer) -> Settings:
    from tests.bot.conftest import make_settings

    return make_settings(
        localslack,
        sqlite_url,
        openai_api_key="sk-test",
        openai_base_url=model.url,
        openai_model="test-model",
    )


@pytest.fixture
def services(bot_settings: Settings, clock: FakeClock, model: OpenAIServer) -> Iterator[Services]:
    # As make_analyzer builds it from these settings, with a tighter time-out and one retry
    # so the failure tests stay fast.
    analyzer = model_analyzer(model.url, max_retries=1)
    with open_services(bot_settings, clock, analyzer) as opened:
        yield opened


@pytest.fixture
def team(localslack: LocalSlack, services: Services) -> str:
    team_id = str(localslack.team_id)
    set_setting(services.engine, team_id=team_id, key="insights.channel", value=CHANNEL)
    return team_id


def newest(services: Services, team: str) -> store.InsightCard:
    def find() -> store.InsightCard | None:
        cards, _ = store.list_insights(services.engine, team_id=team, kind="mine", user_id="U0ADA")
        return cards[0] if cards else None

    return eventually(find)


def analysed(
    services: Services, team: str, insight_id: int, timeout: float = 8.0
) -> store.InsightCard:
    def check() -> store.InsightCard | None:
        card = store.get_card(services.engine, team_id=team, insight_id=insight_id)
        return card if card is not None and card.analysed else None

    return eventually(check, timeout)


def test_model_settings_build_the_model_analyzer(bot_settings: Settings) -> None:
    from core.analyzer import make_analyzer

    analyzer = make_analyzer(
        bot_settings.openai_api_key, bot_settings.openai_base_url, bot_settings.openai_model
    )
    assert isinstance(analyzer, OpenAIAnalyzer) and analyzer.model == "test-model"


def test_model_answer_is_used(
    slack: SlackKit, services: Services, localslack: LocalSlack, model: OpenAIServer, team: str
) -> None:
    model.script(answer(PRICE))
    slack.command("/insight", "They pay far too much for the yearly plan", user="U0ADA")
    card = analysed(services, team, newest(services, team).id)
    assert (card.category, card.sentiment, card.impact, card.priority) == (
        "price",
        "negative",
        3,
        3.0,
    )
    assert "Price" in mrkdwn(post_of(localslack, card.id))
    assert len(model.requests) == 1
    body = model.requests[0].body
    assert body["model"] == "test-model"
    assert (
        body["response_format"]["json_schema"]["schema"]["properties"]["category"]["enum"][0]
        == "product"
    )


def test_slow_model_answer_does_not_delay_the_ack(
    slack: SlackKit, services: Services, localslack: LocalSlack, model: OpenAIServer, team: str
) -> None:
    model.script(slow(PRICE, 3.2))
    started = time.monotonic()
    r = slack.command("/insight", "They pay far too much for the yearly plan", user="U0ADA")
    assert r.status == 200 and r.elapsed < 3.0
    reply = slack.wait_ephemeral(r)
    assert reply["text"].startswith(":white_check_mark: Thanks!")
    assert time.monotonic() - started < 3.0  # confirmed while the model is still thinking
    insight = newest(services, team)
    assert insight.category is None
    card = analysed(services, team, insight.id)
    assert (card.category, card.impact) == ("price", 3)  # the slow answer, still used
    post_of(localslack, card.id)


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param([malformed("content")], id="prose instead of JSON"),
        pytest.param([malformed("body")], id="not JSON at all"),
        pytest.param(
            [answer({"category": "weather", "sentiment": "negative", "impact": 2})],
            id="unknown category",
        ),
        pytest.param(
            [status(500, retry_after_ms=10), status(500, retry_after_ms=10)], id="HTTP 500"
        ),
    ],
)
def test_failing_model_falls_back_to_the_offline_analyzer(
    slack: SlackKit,
    services: Services,
    localslack: LocalSlack,
    model: OpenAIServer,
    team: str,
    failure: list[Any],
) -> None:
    model.script(*failure)
    r = slack.command("/insight", LATE, user="U0ADA")
    assert r.status == 200 and r.elapsed < 3.0
    card = analysed(services, team, newest(services, team).id)
    # Nothing lost: stored as typed, analysed offline, shared.
    assert (card.text, card.category, card.sentiment) == (LATE, "delivery", "negative")
    assert "Delivery" in mrkdwn(post_of(localslack, card.id))
    assert len(model.requests) == len(failure)  # the 500 was retried once, then given up


def test_personal_data_never_reaches_the_model(
    slack: SlackKit, services: Services, localslack: LocalSlack, model: OpenAIServer, team: str
) -> None:
    model.default = lambda _request: answer(PRICE)
    # Inline, through the form, and from a saved message.
    slack.command("/insight", PII_TEXT, user="U0ADA")
    values = {
        "text": {"value": text_input(PII_TEXT + " (form)")},
        "customer": {"value": text_input("Kari")},
    }
    slack.view_submission("insight_modal", values, user="U0ADA", view_id="V0PII")
    client = WebClient(token=localslack.bot_token, base_url=localslack.base_url)
    ts = client.chat_postMessage(channel="C0GENERAL", text="saved")["ts"]
    slack.message_shortcut(
        "save_insight", {"ts": ts, "text": PII_TEXT + " (message)", "user": "U0KARI"}, user="U0ADA"
    )

    def three() -> list[store.InsightCard] | None:
        cards, total = store.list_insights(
            services.engine, team_id=team, kind="mine", user_id="U0ADA"
        )
        return cards if total == 3 and all(c.analysed for c in cards) else None

    cards = eventually(three, 8.0)
    assert model.wait_for_requests(3)
    assert len(model.requests) == 3
    # Stored as typed, for the company's own use.
    assert sorted(c.text for c in cards) == sorted(
        [PII_TEXT, PII_TEXT + " (form)", PII_TEXT + " (message)"]
    )
    assert all(c.category == "price" for c in cards)  # the model's answers were used
    # Redacted in every call, as the model server received it.
    for body in model.bodies():
        for raw in RAW_VALUES:
            assert raw not in body
            assert raw.replace(" ", "") not in body
        for placeholder in ("[EMAIL]", "[PHONE]", "[CARD]", "[NATIONAL_ID]"):
            assert placeholder in body
    assert any("fakturaen" in request.message("user") for request in model.requests)
