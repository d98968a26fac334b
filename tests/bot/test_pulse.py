"""Pulse surveys end to end on localslack: the real Bolt app, signed requests, the outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.handlers.pulse.audience import resolve_audience
from bot.handlers.pulse.rounds import start_round
from bot.handlers.pulse.sweeps import run_rounds, schedule_sweep
from bot.localslack import LocalSlack
from bot.services import Services
from storage import surveys as store
from storage.models import Alert, Response
from tests.bot.slackkit import SlackKit, static_select, text_input
from tests.conftest import FakeClock

CHANNEL = "C0PULSE40"
RESULTS = "C0RESULTS"
ADMIN = "U0ADA"  # a workspace admin in the demo workspace
PEOPLE = [f"U0PP{i:03d}" for i in range(40)]
LOCALES = ("en-US", "nb-NO", "da-DK", "sv-SE")


def dm(user: str) -> str:
    return "D" + user[1:]


def open_modal(localslack: LocalSlack, callback_id: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        return next(
            (v for v in localslack.open_views() if v.get("callback_id") == callback_id), None
        )

    found = localslack.wait_for(find)
    assert found is not None
    return found


@pytest.fixture
def team(localslack: LocalSlack) -> list[str]:
    for i, user in enumerate(PEOPLE):
        localslack.add_user(user, f"person{i}", locale=LOCALES[i % 4])
    localslack.add_user("U0PPBOT", "helperbot", is_bot=True)
    localslack.add_user("U0PPGONE", "left", deleted=True)
    localslack.add_channel(CHANNEL, "pulse-40", members=[*PEOPLE, "U0PPBOT", "U0PPGONE"])
    localslack.add_channel(RESULTS, "pulse-results", members=[ADMIN])
    return PEOPLE


def _create_and_send(slack: SlackKit, localslack: LocalSlack, template: str = "enps") -> None:
    r = slack.command("/pulse", "", user=ADMIN)
    assert r.status == 200
    modal = open_modal(localslack, "pulse_create_modal")
    assert modal["title"]["text"] == "New pulse survey"
    values = {
        "template": {"value": static_select(template)},
        "name": {"value": text_input(None)},
        "channel": {"value": {"type": "conversations_select", "selected_conversation": CHANNEL}},
        "users": {"value": {"type": "multi_users_select", "selected_users": []}},
        "question": {"value": text_input(None)},
        "qtype": {"value": static_select(None)},
        "repeat": {"value": static_select("once")},
        "weekday": {"value": static_select("tue")},
        "time": {"value": text_input("10:00")},
        "anonymous": {"value": {"type": "radio_buttons", "selected_option": {"value": "yes"}}},
        "results": {"value": {"type": "conversations_select", "selected_conversation": RESULTS}},
        "send_now": {"value": {"type": "radio_buttons", "selected_option": {"value": "yes"}}},
    }
    sub = slack.view_submission("pulse_create_modal", values, user=ADMIN)
    assert sub.status == 200 and not sub.text.strip().startswith('{"response_action"')


def _survey_dm(localslack: LocalSlack, user: str) -> dict[str, Any]:
    messages = localslack.wait_for(lambda: localslack.messages(dm(user)), timeout=10)
    return messages[0]


def _press(slack: SlackKit, msg: dict[str, Any], user: str, question: str, score: int) -> None:
    for block in msg["blocks"]:
        if block.get("type") == "actions" and block["block_id"].endswith(f":{question}"):
            button = next(e for e in block["elements"] if e["value"].endswith(f":{score}"))
            r = slack.block_action(
                button["action_id"],
                button["value"],
                user=user,
                message=msg,
                block_id=block["block_id"],
            )
            assert r.status == 200
            return
    raise AssertionError(f"no buttons for {question} in the DM")


def _round(services: Services) -> store.RoundInfo:
    surveys = store.list_surveys(services.engine, team_id="T0CXLOCAL")
    assert len(surveys) == 1
    info = store.open_round_of(services.engine, team_id="T0CXLOCAL", survey_id=surveys[0].id)
    assert info is not None
    return info


def _run_to(services: Services, clock: FakeClock, at: Any) -> dict[str, int]:
    clock.now = at
    return run_rounds(services)


@pytest.mark.parametrize("answers", [5, 4])
def test_round_end_to_end(
    answers: int,
    slack: SlackKit,
    localslack: LocalSlack,
    services: Services,
    clock: FakeClock,
    team: list[str],
) -> None:
    _create_and_send(slack, localslack)
    # One DM per person in the channel; the bot, a bot user and a deactivated person get none.
    localslack.wait_for(lambda: all(localslack.messages(dm(u)) for u in PEOPLE), timeout=15)
    assert not localslack.messages("DPPBOT") and not localslack.messages("DPPGONE")
    # Exactly one survey DM each, even when a send under load was uncertain and checked.
    assert all(len(localslack.messages(dm(u))) == 1 for u in PEOPLE)
    info = _round(services)
    assert info.audience_size == 40 and not info.customer_facing
    nb_dm = _survey_dm(localslack, PEOPLE[1])
    assert "Hvor sannsynlig" in str(nb_dm["blocks"])  # rendered in the reader's language

    answerers = PEOPLE[:answers]
    for i, user in enumerate(answerers):
        _press(slack, _survey_dm(localslack, user), user, "enps", 9 if i % 2 else 3)

    def recorded() -> bool:
        part = store.participation(services.engine, team_id="T0CXLOCAL", round_id=info.id)
        return part.answered == answers

    localslack.wait_for(recorded, timeout=10)
    # A second click changes the answer; it never adds one.
    _press(slack, _survey_dm(localslack, PEOPLE[0]), PEOPLE[0], "enps", 10)
    mine = store.my_answers(
        services.engine, team_id="T0CXLOCAL", round_id=info.id, user_id=PEOPLE[0]
    )
    localslack.wait_for(
        lambda: (
            store.my_answers(
                services.engine, team_id="T0CXLOCAL", round_id=info.id, user_id=PEOPLE[0]
            ).get("enps")
            == 10
        ),
        timeout=10,
    )
    assert set(mine) == {"enps"}

    # Reminder: only to those who have not answered.
    done = _run_to(services, clock, info.opened_at + timedelta(hours=24, minutes=1))
    assert done["reminded"] == 40 - answers
    non_answerers = PEOPLE[answers:]
    localslack.wait_for(
        lambda: all(len(localslack.messages(dm(u))) == 2 for u in non_answerers), timeout=15
    )
    assert all(len(localslack.messages(dm(u))) == 1 for u in answerers)
    reminder = localslack.messages(dm(PEOPLE[36]))[1]  # an English reader
    assert "Reminder" in reminder["blocks"][0]["text"]["text"]
    assert _run_to(services, clock, clock.now + timedelta(hours=1))["reminded"] == 0

    # Closing posts the results to the results channel.
    done = _run_to(services, clock, info.closes_at)
    assert done["closed"] == 1
    posted = localslack.wait_for(lambda: localslack.messages(RESULTS), timeout=10)[0]
    text = str(posted["blocks"])
    assert f"{answers} of 40 answered" in text
    if answers < 5:
        assert "not enough answers" in posted["text"].lower()
        assert "Score" not in text
    else:
        assert "Score" in text and "results" in posted["text"]
    # A click after the close changes nothing.
    _press(slack, _survey_dm(localslack, PEOPLE[-1]), PEOPLE[-1], "enps", 0)
    closed = store.get_round(services.engine, team_id="T0CXLOCAL", round_id=info.id)
    assert closed is not None and closed.results is not None and closed.results.answered == answers


def test_non_admin_cannot_create_and_commands_answer(
    slack: SlackKit, localslack: LocalSlack, team: list[str]
) -> None:
    r = slack.command("/pulse", "create", user="U0BJORN")
    # Bjørn reads Norwegian.
    assert "Bare administratorer kan opprette" in slack.wait_reply(r).get("text", "")
    r = slack.command("/pulse", "list", user="U0BJORN")
    assert "Ingen pulsundersøkelser" in slack.wait_reply(r).get("text", "")
    r = slack.command("/pulse", "send 99", user=ADMIN)
    assert "no pulse survey 99" in slack.wait_reply(r).get("text", "").lower()


def test_free_text_answer_through_the_modal(
    slack: SlackKit, localslack: LocalSlack, services: Services, team: list[str]
) -> None:
    _create_and_send(slack, localslack)
    user = PEOPLE[0]  # English
    msg = _survey_dm(localslack, user)
    button = next(
        e
        for b in msg["blocks"]
        if b.get("type") == "actions"
        for e in b["elements"]
        if e["action_id"] == "pulse_text"
    )
    r = slack.block_action("pulse_text", button["value"], user=user, message=msg, block_id="x")
    assert r.status == 200
    modal = open_modal(localslack, "pulse_text_modal")
    empty = slack.view_submission(
        "pulse_text_modal",
        {"answer": {"text": text_input("  ")}},
        modal["private_metadata"],
        user=user,
    )
    assert empty.json()["response_action"] == "errors"
    ok = slack.view_submission(
        "pulse_text_modal",
        {"answer": {"text": text_input("Faster delivery")}},
        modal["private_metadata"],
        user=user,
    )
    assert ok.status == 200
    info = _round(services)
    localslack.wait_for(
        lambda: (
            store.my_answers(services.engine, team_id="T0CXLOCAL", round_id=info.id, user_id=user)
            == {"reason": "Faster delivery"}
        ),
        timeout=10,
    )


def test_customer_channel_round_feeds_metrics_and_alerts(
    slack: SlackKit, localslack: LocalSlack, services: Services, clock: FakeClock
) -> None:
    from core.surveys import parse_definition

    localslack.add_user("U0CUSTA", "ann", locale="en-GB")
    localslack.add_user("U0CUSTB", "bob", locale="en-GB")
    localslack.add_channel(
        "C0EXTACME", "ext-acme", members=["U0CUSTA", "U0CUSTB"], is_ext_shared=True
    )
    definition = parse_definition(
        {
            "name": "How are we doing?",
            "audience": "C0EXTACME",
            "anonymous": False,
            "questions": [{"id": "nps", "type": "nps", "text": "Would you recommend us?"}],
            "min_answers_to_show": 3,
        }
    )
    sid = store.create_survey(
        services.engine, team_id="T0CXLOCAL", definition=definition, created_by=ADMIN, now=clock()
    )
    survey = store.get_survey(services.engine, team_id="T0CXLOCAL", survey_id=sid)
    assert survey is not None
    opened = start_round(services, team_id="T0CXLOCAL", survey=survey)
    assert opened is not None and opened.round.customer_facing and opened.asked == 2
    for user, score in (("U0CUSTA", 2), ("U0CUSTB", 10)):
        _press(slack, _survey_dm(localslack, user), user, "nps", score)
    localslack.wait_for(
        lambda: (
            store.participation(
                services.engine, team_id="T0CXLOCAL", round_id=opened.round.id
            ).answered
            == 2
        ),
        timeout=10,
    )
    clock.now = opened.round.closes_at
    assert run_rounds(services)["closed"] == 1
    with services.engine.connect() as conn:
        rows = conn.execute(select(Response.score, Response.source)).all()  # type: ignore[call-overload]
        alerts = conn.execute(select(Alert.id)).all()  # type: ignore[call-overload]
    assert sorted(rows) == [(2, "pulse"), (10, "pulse")]
    assert len(alerts) == 1
    # Customer results are not posted into the customer's channel: they go to the creator.
    assert not localslack.messages("C0EXTACME")
    localslack.wait_for(lambda: localslack.messages(dm(ADMIN)), timeout=10)


def test_usergroup_audience_pages_and_schedule_sweep(
    localslack: LocalSlack,
    services: Services,
    clock: FakeClock,
    team: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from core.surveys import parse_definition

    localslack.add_usergroup("S0PULSEGRP", "pulse-group", [*PEOPLE[:10], "U0PPGONE"])
    definition = parse_definition(
        {
            "name": "Weekly",
            "audience": "S0PULSEGRP",
            "questions": [{"id": "q", "type": "likert", "text": "I know our customers"}],
            "schedule": {"repeat": "weekly", "weekday": "mon", "time": "09:00", "timezone": "UTC"},
            "close_after_hours": 48,
        }
    )
    sid = store.create_survey(
        services.engine, team_id="T0CXLOCAL", definition=definition, created_by=ADMIN, now=clock()
    )
    # 2026-11-23 is a Monday; the fake clock starts at 08:00 UTC.
    schedule_sweep(services)
    assert store.open_round_of(services.engine, team_id="T0CXLOCAL", survey_id=sid) is None
    clock.now = clock.now.replace(hour=9, minute=1)
    schedule_sweep(services)
    schedule_sweep(services)  # a second tick opens nothing more
    info = store.open_round_of(services.engine, team_id="T0CXLOCAL", survey_id=sid)
    assert info is not None and info.audience_size == 10
    # Large channels read members and the directory page by page.
    big = [f"U0BIG{i:03d}" for i in range(250)]
    for u in big:
        localslack.add_user(u, u.lower())
    localslack.add_channel("C0BIGCHAN", "big", members=big)
    from slack_sdk import WebClient

    client = WebClient(token=localslack.bot_token, base_url=localslack.base_url)
    monkeypatch.setattr("bot.handlers.pulse.audience.MEMBERS_PAGE", 100)  # pages of 100 member ids
    audience = resolve_audience(
        client, parse_definition({**definition.to_json(), "audience": "C0BIGCHAN"})
    )
    assert len(audience.members) == 250
    calls = [c for c in localslack.calls if c.method in ("conversations.members", "users.list")]
    methods = [c.method for c in calls]
    # 250 members take three pages of 100, the directory (300+ people) two pages of 200.
    assert methods.count("conversations.members") == 3 and methods.count("users.list") >= 2


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, sqlite_url: str, localslack: LocalSlack
) -> Callable[..., Any]:
    """`cxbot` as run from a shell with one bot token, in a folder without a stray .env:
    cli("pulse", "send", "1") gives the typer Result."""
    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "CXBOT_TIMEZONE", "CXBOT_ADMINS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", localslack.bot_token)
    monkeypatch.setenv("SLACK_API_URL", localslack.base_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def _pulse_file(tmp_path: Any, name: str) -> Any:
    """A valid one-question pulse file for the CLI."""
    good = tmp_path / "pulse.yml"
    good.write_text(
        f"name: {name}\naudience: {CHANNEL}\nanonymous: true\n"
        "questions:\n"
        '  - {id: impact, type: likert, text: "I know how my work affects our customers"}\n'
        f"results_channel: {RESULTS}\n",
        encoding="utf-8",
    )
    return good


def test_cli_create_send_close(
    localslack: LocalSlack,
    team: list[str],
    cli: Callable[..., Any],
    tmp_path: Any,
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\naudience: general\nquestions: []\n", encoding="utf-8")
    result = cli("pulse", "create", str(bad))
    assert result.exit_code == 1
    assert f"{bad}: audience:" in result.output and f"{bad}: questions:" in result.output
    assert cli("pulse", "create", str(tmp_path / "missing.yml")).exit_code == 1

    good = _pulse_file(tmp_path, "Customer focus pulse")
    created = cli("pulse", "create", str(good))
    assert created.exit_code == 0, created.output
    survey_id = created.stdout.strip().splitlines()[0]
    assert survey_id.isdigit()

    sent = cli("pulse", "send", survey_id)
    assert sent.exit_code == 0, sent.output
    assert "asking 40 people" in sent.stdout and "sent 40 DMs" in sent.stdout
    assert all(len(localslack.messages(dm(u))) == 1 for u in PEOPLE)
    again = cli("pulse", "send", survey_id)
    assert again.exit_code == 1 and "already has an open round" in again.output

    closed = cli("pulse", "close", survey_id)
    assert closed.exit_code == 0, closed.output
    assert "0 of 40 answered; not enough answers" in closed.stdout
    posted = localslack.messages(RESULTS)
    assert posted and "not enough answers" in posted[0]["text"]
    assert cli("pulse", "close", "999").exit_code == 1


def test_cli_close_does_not_wait_forever_for_an_unreachable_slack(
    localslack: LocalSlack,
    team: list[str],
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    import socket
    import time

    from bot.commands import common

    good = _pulse_file(tmp_path, "Pulse")
    survey_id = cli("pulse", "create", str(good)).stdout.strip().splitlines()[0]
    assert cli("pulse", "send", survey_id).exit_code == 0
    # Slack goes away before the round is closed.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/api/"
    monkeypatch.setenv("SLACK_API_URL", dead)
    monkeypatch.setattr(common, "STALL_SECONDS", 1.0)
    began = time.monotonic()
    closed = cli("pulse", "close", survey_id)
    assert closed.exit_code == 0, closed.output
    assert "the results are still queued" in closed.stdout
    assert time.monotonic() - began < 15
    assert localslack.messages(RESULTS) == []


def test_free_text_reaches_the_results_as_named_themes_that_cannot_act() -> None:
    """The results show what people wrote only as themes: the product's names for what
    they wrote, and an older stored result's words, shown as words."""
    from datetime import UTC, datetime

    from bot.handlers.pulse import blocks
    from bot.i18n import translator
    from core.surveys import RoundResults, compute_results, parse_definition
    from core.themes import theme_counts

    definition = parse_definition(
        {
            "name": "Ideas",
            "audience": "C0PULSE01",
            "anonymous": True,
            "questions": [{"id": "idea", "type": "text", "text": "One thing to do better"}],
        }
    )
    written = [
        {
            "idea": f"<!channel> the parcel came {n} days late, ask <@U0BOSS> <https://evil.example|why>"
        }
        for n in range(3, 9)
    ]
    results = compute_results(definition, written, asked=6, themes=theme_counts)
    assert results.questions[0].themes == [("late delivery", 6)]
    stored = RoundResults.from_json(results.to_json())
    stored.questions[0].themes.append(("<!channel> <@U0BOSS> *now*", 2))
    t = translator("en")
    message = blocks.results_message(
        definition, stored, t, opened_at=datetime(2026, 11, 23, tzinfo=UTC), tz=UTC
    )
    raw = str(message)
    assert "late delivery (6)" in raw
    assert "<!channel>" not in raw and "<@U0BOSS>" not in raw and "evil.example" not in raw
    assert "&lt;!channel&gt; &lt;@U0BOSS&gt; *now* (2)" in raw


def test_send_numbers_the_round_within_its_survey(
    slack: SlackKit, localslack: LocalSlack, services: Services, clock: FakeClock
) -> None:
    """Round ids run across surveys; /pulse send says which round of this survey it is,
    as /pulse close does, with the survey's name shown literally."""
    from core.surveys import parse_definition

    for letter in "AB":
        people = [f"U0S{letter}{i}" for i in range(3)]
        for user in people:
            localslack.add_user(user, f"s{letter.lower()}{user[-1]}")
        localslack.add_channel(f"C0SEND{letter}", f"send-{letter.lower()}", members=people)
    ids = [
        store.create_survey(
            services.engine,
            team_id="T0CXLOCAL",
            definition=parse_definition(
                {
                    "name": name,
                    "audience": f"C0SEND{letter}",
                    "anonymous": False,
                    "questions": [{"id": "enps", "type": "nps", "text": "Recommend us?"}],
                }
            ),
            created_by=ADMIN,
            now=clock.now,
        )
        for letter, name in (("A", "First"), ("B", "Second & <b>"))
    ]
    first = slack.wait_reply(slack.command("/pulse", f"send {ids[0]}", user=ADMIN))
    assert "Round 1 of “First” is going out to 3 people." in first.get("text", "")
    second = slack.wait_reply(slack.command("/pulse", f"send {ids[1]}", user=ADMIN))
    assert "Round 1 of “Second &amp; &lt;b&gt;” is going out to 3 people." in second.get("text", "")
