"""Customer insights end to end with the offline analyzer: signed requests in, localslack
recording what the bot posted, the real database in between."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.handlers.insights import blocks as insight_blocks
from bot.handlers.insights.analysis import analyze_now, start
from bot.handlers.insights.listeners import parse_command
from bot.handlers.insights.status import vote
from bot.handlers.insights.sweeps import run_pending
from bot.localslack import LocalSlack
from bot.outbox import wake
from bot.services import Services
from core.analyzer import Analysis, OfflineAnalyzer
from storage import insights as store
from storage.forget import forget_customer
from storage.models import OutboxMessage
from storage.settings_store import set as set_setting
from tests.bot.slackkit import SlackKit, text_input

T = TypeVar("T")
CHANNEL = "C0INSIGHT"
LATE = "The parcel arrived a week late and nobody told us"


@pytest.fixture
def team(localslack: LocalSlack) -> str:
    return str(localslack.team_id)


@pytest.fixture
def shared(services: Services, team: str) -> str:
    """The insights channel is configured."""
    set_setting(services.engine, team_id=team, key="insights.channel", value=CHANNEL)
    return CHANNEL


def first_open(services: Services, team: str) -> Any:
    """The newest open insight, once it is stored."""
    return eventually(lambda: store.list_insights(services.engine, team_id=team, kind="open")[0])[0]


def eventually(check: Callable[[], T | None], timeout: float = 5.0) -> T:
    """The first truthy value of `check()` (the database has no change notifications)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{getattr(check, '__name__', check)} still falsy after {timeout}s")
        time.sleep(0.02)


def posts(localslack: LocalSlack) -> list[dict[str, Any]]:
    return localslack.messages(CHANNEL)


def post_of(localslack: LocalSlack, insight_id: int) -> dict[str, Any]:
    def find() -> dict[str, Any]:
        for msg in posts(localslack):
            ids = [b.get("block_id") for b in msg.get("blocks") or []]
            if f"insight:{insight_id}" in ids:
                return msg
        return {}

    return localslack.wait_for(find)


def mrkdwn(message: dict[str, Any]) -> str:
    """Every text of a message's blocks, joined."""
    parts: list[str] = []
    for block in message.get("blocks") or []:
        if block.get("text"):
            parts.append(block["text"]["text"])
        for element in block.get("elements") or []:
            text = element.get("text")
            parts.append(text["text"] if isinstance(text, dict) else str(text or ""))
    return "\n".join(parts)


def action_ids(message: dict[str, Any]) -> list[str]:
    return [
        e["action_id"]
        for b in message.get("blocks") or []
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def dms(localslack: LocalSlack, user: str) -> list[dict[str, Any]]:
    dm = localslack.open_dm(user)
    return localslack.messages(dm)


def card(services: Services, team: str, insight_id: int) -> store.InsightCard:
    found = store.get_card(services.engine, team_id=team, insight_id=insight_id)
    assert found is not None
    return found


def only_insight(services: Services, team: str) -> store.InsightCard:
    cards, total = store.list_insights(services.engine, team_id=team, kind="open")
    assert total == 1
    return cards[0]


class GatedAnalyzer:
    """The offline analyzer, held back until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.inner = OfflineAnalyzer()

    def analyze(self, text: str, *, categories: Sequence[str] = ()) -> Analysis:
        assert self.gate.wait(5)
        return self.inner.analyze(text, categories=categories)

    def narrate(self, facts: Any, *, locale: str) -> str | None:
        return None


class BrokenAnalyzer:
    def analyze(self, text: str, *, categories: Sequence[str] = ()) -> Analysis:
        raise RuntimeError("analyzer bug")

    def narrate(self, facts: Any, *, locale: str) -> str | None:
        return None


# --------------------------------------------------------------------------- recording


def test_inline_insight_is_stored_at_once_then_analysed_and_shared(
    slack: SlackKit, services: Services, localslack: LocalSlack, team: str, shared: str
) -> None:
    gated = GatedAnalyzer()
    services.analyzer = gated
    r = slack.command("/insight", LATE, user="U0BJORN")
    assert r.status == 200 and r.elapsed < 3.0
    reply = slack.wait_ephemeral(r)
    insight = only_insight(services, team)
    assert reply["text"] == (
        f":white_check_mark: Takk! Kundeinnsikten din er lagret (#{insight.id}). "
        f"Jeg kategoriserer den og deler den i <#{CHANNEL}>."
    )
    # Stored and confirmed while the analysis is still waiting.
    assert (insight.text, insight.reporter, insight.source) == (LATE, "U0BJORN", "command")
    assert insight.category is None and posts(localslack) == []

    gated.gate.set()
    post = post_of(localslack, insight.id)
    analysed = card(services, team, insight.id)
    assert (analysed.category, analysed.sentiment, analysed.impact, analysed.priority) == (
        "delivery",
        "negative",
        2,
        2.0,
    )
    text = mrkdwn(post)
    assert f"*Customer insight #{insight.id}* · Delivery" in text
    assert f"> {LATE}" in text and "Recorded by <@U0BJORN>" in text
    assert action_ids(post) == [
        insight_blocks.VOTE_ACTION,
        insight_blocks.PLAN_ACTION,
        insight_blocks.DONE_ACTION,
        insight_blocks.NOT_RELEVANT_ACTION,
    ]
    # The outbox told the insight where its message is.
    located = eventually(lambda: card(services, team, insight.id).ts)
    assert located == post["ts"]


def test_without_a_channel_the_insight_is_kept_and_the_user_told(
    slack: SlackKit, services: Services, localslack: LocalSlack, team: str
) -> None:
    r = slack.command("/insight", "Customers ask for an English invoice", user="U0ADA")
    reply = slack.wait_ephemeral(r)
    assert "No insights channel is set up yet" in reply["text"]
    insight_id = only_insight(services, team).id
    eventually(lambda: card(services, team, insight_id).analysed)
    assert posts(localslack) == []


def test_empty_text_opens_the_form_and_submitting_it_stores_the_insight(
    slack: SlackKit, services: Services, localslack: LocalSlack, team: str, shared: str
) -> None:
    r = slack.command("/insight", "   ", user="U0SVEA")
    modal = slack.wait_reply(r, where=lambda x: x["kind"] == "modal")
    assert modal["callback_id"] == insight_blocks.MODAL
    assert modal["title"]["text"] == "Kundinsikt"
    assert [b["block_id"] for b in modal["blocks"]] == ["text", "customer", "segment", "touchpoint"]
    assert store.list_insights(services.engine, team_id=team, kind="open")[1] == 0

    empty = slack.view_submission(
        insight_blocks.MODAL, {"text": {"value": text_input("  ")}}, user="U0SVEA"
    )
    assert empty.json() == {"response_action": "errors", "errors": {"text": "Skriv vad kunden sa."}}

    values = {
        "text": {"value": text_input("Kassan krånglade, kunden gav upp köpet")},
        "customer": {"value": text_input("ACME AB")},
        "segment": {"value": text_input("Företag")},
        "touchpoint": {"value": text_input("Kassa")},
    }
    sub = slack.view_submission(
        insight_blocks.MODAL, values, modal["private_metadata"], user="U0SVEA", view_id=modal["id"]
    )
    assert sub.status == 200 and sub.text == ""
    note = localslack.wait_for(lambda: localslack.ephemerals("U0SVEA"))
    insight = only_insight(services, team)
    assert note[-1]["channel"] == "C0GENERAL"
    assert note[-1]["text"].startswith(
        f":white_check_mark: Tack! Din kundinsikt är sparad (#{insight.id})."
    )
    assert (insight.customer, insight.segment, insight.touchpoint, insight.source) == (
        "ACME AB",
        "Företag",
        "Kassa",
        "modal",
    )
    post = post_of(localslack, insight.id)
    assert "Customer: ACME AB · Segment: Företag · Touchpoint: Kassa" in mrkdwn(post)

    # The same form delivered again records nothing new.
    slack.view_submission(
        insight_blocks.MODAL, values, modal["private_metadata"], user="U0SVEA", view_id=modal["id"]
    )
    again = localslack.wait_for(lambda: localslack.ephemerals("U0SVEA")[1:])
    assert again[-1]["text"] == f"Detta är redan sparat som kundinsikt #{insight.id}."
    assert store.list_insights(services.engine, team_id=team, kind="open")[1] == 1


def test_message_shortcut_saves_the_message_with_its_link_and_author(
    slack: SlackKit,
    services: Services,
    localslack: LocalSlack,
    team: str,
    shared: str,
) -> None:
    client = WebClient(token=localslack.bot_token, base_url=localslack.base_url)
    said = "Kunden sier at appen logger dem ut hele tiden"
    ts = client.chat_postMessage(channel="C0GENERAL", text=said)["ts"]
    message = {"ts": ts, "text": said, "user": "U0KARI"}

    r = slack.message_shortcut("save_insight", message, user="U0ADA", channel="C0GENERAL")
    assert r.status == 200 and r.elapsed < 3.0
    reply = slack.wait_ephemeral(r)
    insight = only_insight(services, team)
    assert reply["text"].startswith(
        f":white_check_mark: Thanks! Your customer insight is saved (#{insight.id})."
    )
    link = f"{localslack.url}/archives/C0GENERAL/p{ts.replace('.', '')}"
    assert (insight.text, insight.source, insight.message_author, insight.permalink) == (
        said,
        "shortcut",
        "U0KARI",
        link,
    )
    post = post_of(localslack, insight.id)
    assert f"Recorded by <@U0ADA> · from <{link}|a message> by <@U0KARI>" in mrkdwn(post)

    again = slack.message_shortcut("save_insight", message, user="U0ADA", channel="C0GENERAL")
    assert "already saved as customer insight" in slack.wait_ephemeral(again)["text"]

    # A message Slack gives no link for is saved all the same.
    lost = slack.message_shortcut(
        "save_insight", {"ts": "1.000001", "text": "Old message", "user": "U0KARI"}, user="U0ADA"
    )
    slack.wait_ephemeral(lost)
    cards, total = store.list_insights(services.engine, team_id=team, kind="mine", user_id="U0ADA")
    assert total == 2 and cards[0].text == "Old message" and cards[0].permalink is None

    empty = slack.message_shortcut(
        "save_insight", {"ts": ts, "text": "", "user": "U0KARI"}, user="U0FREJA"
    )
    assert slack.wait_ephemeral(empty)["text"] == (
        "Den besked har ingen tekst, der kan gemmes som kundeindsigt."
    )


# --------------------------------------------------------------------------- buttons


def test_buttons_update_the_message_and_tell_the_reporter(
    slack: SlackKit, services: Services, localslack: LocalSlack, team: str, shared: str
) -> None:
    slack.command("/insight", LATE, user="U0BJORN")
    insight_id = first_open(services, team).id
    post = post_of(localslack, insight_id)
    value = str(insight_id)

    def press(action: str, user: str) -> Any:
        r = slack.block_action(action, value, user=user, message=post, channel=CHANNEL)
        assert r.status == 200 and r.elapsed < 3.0
        return r

    def current() -> dict[str, Any]:
        return post_of(localslack, insight_id)

    press(insight_blocks.VOTE_ACTION, "U0ADA")
    localslack.wait_for(lambda: "1 colleague heard this too" in mrkdwn(current()))
    assert card(services, team, insight_id).priority == 4.0  # impact 2, said twice

    repeat = press(insight_blocks.VOTE_ACTION, "U0ADA")
    assert slack.wait_ephemeral(repeat)["text"] == ("You have already said you heard this too.")
    own = press(insight_blocks.VOTE_ACTION, "U0BJORN")
    assert slack.wait_ephemeral(own)["text"].startswith("Du registrerte denne innsikten selv")
    assert card(services, team, insight_id).votes == 1

    press(insight_blocks.PLAN_ACTION, "U0ADA")
    press(insight_blocks.PLAN_ACTION, "U0ADA")  # a double click
    localslack.wait_for(lambda: ":spiral_calendar_pad: Planned · by <@U0ADA>" in mrkdwn(current()))
    assert insight_blocks.PLAN_ACTION not in action_ids(current())
    dm = localslack.wait_for(lambda: dms(localslack, "U0BJORN"))
    assert dm[0]["text"].startswith(
        ":spiral_calendar_pad: <@U0ADA> har planlagt arbeid med kundeinnsikten du delte."
    )
    assert f"> {LATE}" in dm[0]["text"] and f"<#{CHANNEL}>" in dm[0]["text"]

    # Whoever took it on moves it on (tests/bot/test_authorization.py has who may not).
    press(insight_blocks.DONE_ACTION, "U0ADA")
    localslack.wait_for(lambda: len(dms(localslack, "U0BJORN")) == 2)
    localslack.wait_for(lambda: ":white_check_mark: Done · by <@U0ADA>" in mrkdwn(current()))
    texts = [m["text"] for m in dms(localslack, "U0BJORN")]
    assert "har markert kundeinnsikten du delte som utført" in texts[1]

    # The reporter's own change updates the message but sends no DM to themselves.
    press(insight_blocks.NOT_RELEVANT_ACTION, "U0BJORN")
    localslack.wait_for(lambda: "Not relevant · by <@U0BJORN>" in mrkdwn(current()))
    assert len(dms(localslack, "U0BJORN")) == 2
    assert card(services, team, insight_id).status == "not_relevant"
    # Every change was one chat.update of the one message.
    assert len(posts(localslack)) == 1

    gone = slack.block_action(
        insight_blocks.DONE_ACTION, "999", user="U0ADA", message=post, channel=CHANNEL
    )
    assert slack.wait_ephemeral(gone)["text"] == ("That insight no longer exists.")


def test_a_near_duplicate_is_linked_and_raises_the_original(
    slack: SlackKit, services: Services, localslack: LocalSlack, team: str, shared: str
) -> None:
    slack.command("/insight", LATE, user="U0ADA")
    first = first_open(services, team)
    post_of(localslack, first.id)
    slack.command(
        "/insight", "The parcel arrived eight days late, nobody told us anything", user="U0GRACE"
    )
    second_id = first.id + 1
    second_post = post_of(localslack, second_id)
    assert f"Says the same as insight #{first.id}." in mrkdwn(second_post)
    second = card(services, team, second_id)
    assert (second.duplicate_of, second.priority) == (first.id, 4.0)
    localslack.wait_for(lambda: "priority 4" in mrkdwn(post_of(localslack, first.id)))


# --------------------------------------------------------------------------- long and personal


def test_long_text_is_kept_whole_and_shown_shortened(
    slack: SlackKit, services: Services, localslack: LocalSlack, team: str, shared: str
) -> None:
    long_text = "The customer explained at length why the delivery failed. " * 60
    assert len(long_text.strip()) > 3000
    slack.command("/insight", long_text, user="U0ADA")
    insight = first_open(services, team)
    assert insight.text == long_text.strip()
    post = post_of(localslack, insight.id)
    quoted = post["blocks"][1]["text"]["text"]
    assert quoted.endswith("…") and len(quoted) <= insight_blocks.SNIPPET + 5
    count = f"{len(long_text.strip()):,}"
    assert f":scissors: Shortened here; the whole text ({count} characters) is kept." in mrkdwn(
        post
    )
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in post["blocks"])


def test_personal_data_is_stored_as_typed_and_masked_when_shared(
    slack: SlackKit, services: Services, localslack: LocalSlack, team: str, shared: str
) -> None:
    said = (
        "Kari (kari.nordmann@example.no, +47 912 34 567) was charged twice on 4111 1111 1111 1111"
    )
    slack.command("/insight", said, user="U0ADA")
    insight = first_open(services, team)
    assert insight.text == said
    shown = mrkdwn(post_of(localslack, insight.id))
    for secret in ("kari.nordmann@example.no", "912 34 567", "4111 1111 1111 1111"):
        assert secret not in shown
    assert "[EMAIL]" in shown and "[PHONE]" in shown and "[CARD]" in shown


# --------------------------------------------------------------------------- lists and search


def record(services: Services, team: str, text: str, reporter: str, **kw: Any) -> int:
    insight_id = store.record(
        services.engine,
        team_id=team,
        insight=store.NewInsight(reporter=reporter, text=text, **kw),
        now=services.clock(),
    ).insight_id
    assert analyze_now(services, team_id=team, insight_id=insight_id)
    return insight_id


def test_list_and_search(slack: SlackKit, services: Services, team: str) -> None:
    late = record(services, team, LATE, "U0ADA", customer="ACME")
    price = record(services, team, "The price went up 20% without warning", "U0BJORN")
    usability = record(
        services, team, "Checkout page is confusing, could not find the pay button", "U0ADA"
    )
    store.vote(
        services.engine, team_id=team, insight_id=price, user_id="U0SVEA", now=services.clock()
    )
    store.set_status(
        services.engine,
        team_id=team,
        insight_id=usability,
        status="done",
        user_id="U0SVEA",
        now=services.clock(),
    )

    def reply(text: str, user: str = "U0ADA") -> dict[str, Any]:
        r = slack.command("/insight", text, user=user)
        assert r.status == 200
        return slack.wait_reply(r, where=lambda x: x["kind"] in ("ephemeral", "response"))

    listed = reply("list")
    assert listed["text"] == "Open customer insights: 2"
    body = mrkdwn(listed)
    assert body.index(f"*#{price}*") < body.index(f"*#{late}*")  # priority 4 before 2
    assert f"*#{usability}*" not in body and "1 +1" in body

    mine = mrkdwn(reply("list mine"))
    assert f"*#{usability}* · Usability · Done" in mine and f"*#{late}*" in mine
    assert f"*#{price}*" not in mine

    norwegian = reply("list levering", user="U0BJORN")
    assert norwegian["text"] == "Åpne kundeinnsikter: Levering: 1"
    assert f"*#{late}* · Levering · Ny" in mrkdwn(norwegian)
    assert reply("list price")["text"] == "Open customer insights: Price: 1"

    bad = reply("list nonsense")
    assert bad["text"].startswith("“nonsense” is not a list of insights.")

    found = reply("search PARCEL acme")
    assert found["text"] == "Customer insights mentioning “PARCEL acme”: 1"
    assert f"*#{late}*" in mrkdwn(found)
    assert mrkdwn(reply("search refund"))  # shows the title and the empty note
    assert "No insight mentions all of these words." in mrkdwn(reply("search refund"))
    assert (
        reply("search")["text"] == "Tell me what to look for, e.g. `/insight search delivery late`."
    )
    assert "`/insight search <words>`" in reply("help")["text"]

    # "list" followed by a sentence is an insight, not a list.
    recorded = reply("list prices went up again for the third time")
    assert recorded["text"].startswith(":white_check_mark: Thanks!")


def test_lists_page_through_every_insight(slack: SlackKit, services: Services, team: str) -> None:
    ids = [record(services, team, f"The parcel {n} came late again", "U0ADA") for n in range(23)]

    def reply(text: str, user: str = "U0ADA") -> dict[str, Any]:
        r = slack.command("/insight", text, user=user)
        return slack.wait_reply(r, where=lambda x: x["kind"] in ("ephemeral", "response"))

    first = mrkdwn(reply("list"))
    assert "Showing 1–10 of 23. For the next ones: `/insight list open 2`." in first
    third = mrkdwn(reply("list open 3"))
    assert "Showing 21–23 of 23." in third and "next ones" not in third
    shown = {i for i in ids if f"*#{i}*" in first + mrkdwn(reply("list open 2")) + third}
    assert shown == set(ids)  # every one of them, each on one page
    assert reply("list open 2", user="U0BJORN")["blocks"]  # a reader of another language
    assert "Viser 11–20 av 23. De neste: `/insight list open 3`." in mrkdwn(
        reply("list open 2", user="U0BJORN")
    )


def test_parse_command() -> None:
    assert parse_command("  ") == ("form", "")
    assert parse_command("help") == ("help", "")
    assert parse_command("List") == ("list", "")
    assert parse_command("list mine") == ("list", "mine")
    assert parse_command("search  late parcel ") == ("search", "late parcel")
    assert parse_command("help me, the app crashes") == ("record", "help me, the app crashes")
    assert parse_command("list prices are too high") == ("record", "list prices are too high")


def test_home_shows_the_reporters_insights_with_their_status(
    slack: SlackKit, services: Services, localslack: LocalSlack, team: str
) -> None:
    insight_id = record(services, team, LATE, "U0BJORN")
    store.set_status(
        services.engine,
        team_id=team,
        insight_id=insight_id,
        status="planned",
        user_id="U0ADA",
        now=services.clock(),
    )
    slack.event({"type": "app_home_opened", "user": "U0BJORN", "tab": "home"})
    home = localslack.wait_for(lambda: localslack.home_views().get("U0BJORN") or {})
    text = mrkdwn(home)
    assert LATE in text and "planlagt" in text and "Levering" in text


# --------------------------------------------------------------------------- nothing lost


def test_sweep_analyses_insights_whose_analysis_was_cut_short(
    services: Services, localslack: LocalSlack, team: str, shared: str, clock: Any, slack: SlackKit
) -> None:
    insight_id = store.record(
        services.engine,
        team_id=team,
        insight=store.NewInsight(reporter="U0ADA", text=LATE),
        now=clock(),
    ).insight_id
    assert run_pending(services) == 0  # too recent: its own analysis may still be running
    clock.advance(minutes=3)
    assert run_pending(services) == 1
    assert run_pending(services) == 0
    assert card(services, team, insight_id).category == "delivery"
    post_of(localslack, insight_id)


def test_a_failing_analyzer_still_categorises(
    slack: SlackKit, services: Services, localslack: LocalSlack, team: str, shared: str
) -> None:
    services.analyzer = BrokenAnalyzer()
    slack.command("/insight", LATE, user="U0ADA")
    insight = first_open(services, team)
    eventually(lambda: card(services, team, insight.id).analysed)
    assert card(services, team, insight.id).category == "delivery"
    post_of(localslack, insight.id)


def test_the_services_analyzer_is_built_at_start(services: Services) -> None:
    assert isinstance(services.analyzer, OfflineAnalyzer)
    services.analyzer = None
    start(services)
    assert isinstance(services.analyzer, OfflineAnalyzer)


# --------------------------------------------------------------------------- erasure


def test_forgetting_a_customer_takes_the_name_off_the_posted_card(
    slack: SlackKit, services: Services, localslack: LocalSlack, team: str, shared: str
) -> None:
    engine = services.engine
    acme = record(services, team, LATE, "U0ADA", customer="ACME AB", segment="Retail")
    other = record(
        services, team, "The price went up 20% without warning", "U0BJORN", customer="Globex"
    )
    wake(services)
    posted = post_of(localslack, acme)
    assert "Customer: ACME AB · Segment: Retail" in mrkdwn(posted)
    post_of(localslack, other)
    # A +1 first: the card has had an update of its own before the erasure.
    vote(services, team_id=team, insight_id=acme, user_id="U0SVEA")
    localslack.wait_for(lambda: "1 colleague heard this too" in mrkdwn(post_of(localslack, acme)))

    erased = forget_customer(engine, team_id=team, customer_id="acme ab", now=services.clock())
    assert (erased.insights_cleared, erased.insight_cards) == (1, 1)
    wake(services)

    def without_name() -> dict[str, Any]:
        message = post_of(localslack, acme)
        return message if "ACME" not in json.dumps(message).upper() else {}

    card_now = localslack.wait_for(without_name)
    assert card_now["ts"] == posted["ts"]  # the same message, updated in place
    text = mrkdwn(card_now)
    assert "Customer:" not in text and "Segment: Retail" in text
    assert "1 colleague heard this too" in text  # the rest of the card is as it was
    assert "ACME" not in card_now["text"].upper()
    assert "Customer: Globex" in mrkdwn(post_of(localslack, other))  # another customer's
    assert len(posts(localslack)) == 2

    # What the outbox keeps of the card's messages names the customer nowhere either.
    table = OutboxMessage.__table__  # type: ignore[attr-defined]

    def all_sent() -> list[Any]:
        with engine.connect() as conn:
            rows = conn.execute(
                select(table.c.key, table.c.payload, table.c.status).where(
                    table.c.team_id == team, table.c.key.like(f"insight:{acme}:%")
                )
            ).all()
        return list(rows) if all(r.status == "sent" for r in rows) else []

    rows = eventually(all_sent)
    assert {r.key for r in rows} >= {f"insight:{acme}:post", f"insight:{acme}:update:2"}
    assert not [r.key for r in rows if "ACME" in json.dumps(r.payload).upper()]
    assert card(services, team, acme).customer is None


def test_the_card_says_how_many_customers_said_the_same_this_month(
    slack: SlackKit, services: Services, localslack: LocalSlack, team: str, shared: str
) -> None:
    when = services.clock().isoformat()
    comments = [
        "The delivery was late again",
        "Pakken kom tre dager for sent",
        "Leveransen var forsinket",
        "Great service, thanks",
    ]
    body = [
        {
            "responded_at": when,
            "metric": "nps",
            "score": 4,
            "response_id": f"late-{n}",
            "comment": c,
        }
        for n, c in enumerate(comments)
    ]
    assert slack.webhook(body).status == 202
    r = slack.command("/insight", LATE, user="U0BJORN")
    assert r.status == 200
    insight = first_open(services, team)
    text = mrkdwn(post_of(localslack, insight.id))
    assert "3 customers said this this month (late delivery)." in text
