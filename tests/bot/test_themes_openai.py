"""`/cx themes` with a language model (the fake OpenAI server): a theme's summary is
shown only when its numbers are the computed ones; otherwise the offline result stands.
The model reads the theme's comments redacted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.services import Services
from bot.settings import Settings
from tests.bot.conftest import model_analyzer, open_services
from tests.bot.test_themes import reply, store, two_weeks
from tests.conftest import FakeClock
from tests.openai_server import OpenAIServer, answer, status


@pytest.fixture
def model() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server


@pytest.fixture
def services(bot_settings: Settings, clock: FakeClock, model: OpenAIServer) -> Iterator[Services]:
    with open_services(bot_settings, clock, model_analyzer(model.url)) as opened:
        yield opened


def test_a_summary_whose_numbers_check_out_is_shown(
    slack: Any, services: Services, model: OpenAIServer
) -> None:
    store(services.engine, two_weeks())
    model.script(answer("12 customers say their parcels came days late; NPS -100 among them."))
    text = reply(slack, slack.command("/cx", "themes"))
    assert "_12 customers say their parcels came days late; NPS -100 among them._" in text
    assert "Summaries by the language model, checked against the counts." in text
    sent = model.requests[0].message("user")
    assert "Pakken kom" in sent and "ola@example.no" not in sent and "[EMAIL]" in sent


@pytest.mark.parametrize(
    "behaviour",
    [answer("73 % of customers were furious for 3 weeks."), status(500)],
    ids=["invented numbers", "server error"],
)
def test_otherwise_the_offline_result_stands(
    slack: Any, services: Services, model: OpenAIServer, behaviour: Any
) -> None:
    store(services.engine, two_weeks())
    model.script(behaviour)
    text = reply(slack, slack.command("/cx", "themes"))
    assert "*late delivery*" in text and "12 comments" in text
    assert "furious" not in text and "Summaries by the language model" not in text


def test_a_summary_mentions_no_one_and_links_nowhere(
    slack: Any, services: Services, model: OpenAIServer
) -> None:
    """A model that was talked into pinging or linking (a comment can ask it to) still
    reaches the channel as plain words."""
    store(services.engine, two_weeks())
    model.script(
        answer(
            "12 customers say parcels came late <!here> <@U0BOSS>, see "
            "<https://evil.example|the fix> or www.evil.example; NPS -100 among them."
        )
    )
    text = reply(slack, slack.command("/cx", "themes"))
    assert "Summaries by the language model, checked against the counts." in text
    assert "_12 customers say parcels came late" in text
    assert "<!here>" not in text and "@here" not in text
    assert "U0BOSS" not in text and "evil.example" not in text
