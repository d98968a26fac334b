"""Shout-outs through the real bot on localslack: signed `/shoutout` commands, the form,
reactions and webhook answers in; the channel post, the receivers' DMs and the giver's
replies (in the giver's language) out, and nothing posted when a rule refuses."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.handlers.shoutouts import blocks, posting
from bot.localslack import LocalSlack
from bot.services import Services
from core.shoutouts import ShoutoutRow, leaderboard
from storage import outbox, settings_store
from storage import shoutouts as store
from storage.models import OutboxMessage, Shoutout
from tests.bot.conftest import configure_team
from tests.bot.slackkit import SlackKit, multi_users_select, static_select, text_input

pytestmark = pytest.mark.real_time

TEAM = "T0CXLOCAL"
PROMISES = "Answer within a day; Keep it simple; Fix it right the first time"


@pytest.fixture
def configured(services: Services) -> Services:
    return configure_team(
        services,
        TEAM,
        {
            "shoutouts.channel": "C0SHOUT",
            "promises": PROMISES,
            "shoutouts.daily_limit": "3",
            "shoutouts.pair_weekly_limit": "2",
        },
    )


def key_of(message: dict[str, Any]) -> str:
    return str(((message.get("metadata") or {}).get("event_payload") or {}).get("key") or "")


def shout_posts(slack: LocalSlack) -> list[dict[str, Any]]:
    return [m for m in slack.messages("C0SHOUT") if key_of(m).endswith(":post")]


def flat(message: dict[str, Any]) -> str:
    return message.get("text", "") + json.dumps(message.get("blocks") or [], ensure_ascii=False)


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `check` (a database fact: localslack's wait_for only wakes on Slack calls)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{check} still false after {timeout}s")
        time.sleep(0.02)


def settle(services: Services, slack: LocalSlack) -> None:
    """Wait until the outbox has sent everything queued so far."""
    eventually(lambda: outbox.backlog(services.engine) == 0, timeout=10)


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Shoutout)).scalar_one())


def queued(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(OutboxMessage)).scalar_one())


def dm_to(slack: LocalSlack, user: str) -> dict[str, Any]:
    """The first message in the bot's DM with `user` (localslack's DM ids are D + id)."""

    def first() -> dict[str, Any] | None:
        messages = slack.messages("D" + user[1:])
        return messages[0] if messages else None

    found = slack.wait_for(first, timeout=5)
    assert found is not None
    return found


def reply_text(slack: SlackKit, r: Any) -> str:
    return str(slack.wait_reply(r, where=lambda x: x["kind"] in ("ack", "response"))["text"])


# --------------------------------------------------------------------------- end to end


def test_several_receivers_promise_tag_and_a_dm_each(
    slack: SlackKit, localslack: LocalSlack, configured: Services
) -> None:
    r = slack.command(
        "/shoutout",
        "<@U0BJORN|bjorn> <@U0FREJA> @svea called the customer back within the hour "
        "& kept &lt;every&gt; promise #answer-within-a-day",
        user="U0ADA",
    )
    assert r.status == 200 and r.elapsed < 3
    receipt = reply_text(slack, r)
    assert "<#C0SHOUT>" in receipt
    assert "Tagged with our promise “Answer within a day”." in receipt
    assert "You can give 2 more shout-outs today." in receipt

    post = localslack.wait_for(lambda: shout_posts(localslack), timeout=5)[0]
    text = flat(post)
    for who in ("<@U0ADA>", "<@U0BJORN>", "<@U0FREJA>", "<@U0SVEA>"):
        assert who in text
    assert "Answer within a day" in text
    assert "&amp; kept &lt;every&gt; promise" in text  # the typed text, escaped once

    dms = {user: dm_to(localslack, user) for user in ("U0BJORN", "U0FREJA", "U0SVEA")}
    assert "ga deg skryt" in flat(dms["U0BJORN"])  # Norwegian for Bjørn
    assert "gav dig ros" in flat(dms["U0FREJA"])  # Danish for Freja
    assert "gav dig beröm" in flat(dms["U0SVEA"])  # Swedish for Svea
    assert "Svar innen" not in flat(dms["U0BJORN"])  # promises are shown as configured

    settle(configured, localslack)
    [row] = store.week_rows(
        configured.engine,
        team_id=TEAM,
        start=datetime.now(UTC) - timedelta(days=1),
        end=datetime.now(UTC) + timedelta(days=1),
    )
    assert row.receivers == ("U0BJORN", "U0FREJA", "U0SVEA")
    assert row.promise == "Answer within a day"
    detail = store.get(configured.engine, team_id=TEAM, shoutout_id=row.id)
    assert detail is not None and (detail.channel, detail.ts) == ("C0SHOUT", post["ts"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@U0BJORN|bjorn> jeg er best", "Du kan ikke gi skryt til deg selv"),
        ("<@U0OTHERBOT|otherbot> svarte raskt", "er en bot"),
        ("<@U0GONE|former> hjalp kunden", "er ikke lenger medlem"),
        ("<@U0NOBODY|nobody> hjalp kunden", "finner ingen som heter"),
        ("@nobody hjalp kunden", "finner ingen som heter «@nobody»"),
        # Typed brackets arrive encoded and are read as typed: a mention gone wrong.
        ("&lt;@U0ADA hjalp kunden", "er ikke en omtale jeg kan lese"),
        ("<@U0ADA hjalp kunden", "er ikke en omtale jeg kan lese"),
        ("@ada hjalp kunden #finnes-ikke", "er ikke et av våre kundeløfter"),
        ("takk til alle", "Begynn med kollegaen"),
        ("<!subteam^S0CXTEAM|@cx-team> takk", "ikke til grupper"),
    ],
)
def test_refusals_in_the_givers_language_and_nothing_posted(
    slack: SlackKit, localslack: LocalSlack, configured: Services, text: str, expected: str
) -> None:
    r = slack.command("/shoutout", text, user="U0BJORN")  # Bjørn reads Norwegian
    assert r.status == 200 and r.elapsed < 3
    assert expected in reply_text(slack, r)
    assert stored(configured.engine) == 0
    assert queued(configured.engine) == 0
    assert localslack.messages("C0SHOUT") == []


def test_limits_count_down_warn_and_refuse(
    slack: SlackKit, localslack: LocalSlack, configured: Services
) -> None:
    replies = []
    for receiver in ("U0ADA", "U0FREJA", "U0SVEA", "U0KARI"):
        r = slack.command("/shoutout", f"<@{receiver}> ringte kunden tilbake", user="U0BJORN")
        replies.append(reply_text(slack, r))
    assert "Du kan gi skryt 2 ganger til i dag." in replies[0]
    assert "Obs: du kan gi skryt én gang til i dag." in replies[1]
    assert "Det var siste skryt du kan gi i dag." in replies[2]
    assert "Du har nådd dagens grense for skryt (3)" in replies[3]
    settle(configured, localslack)
    assert len(shout_posts(localslack)) == 3
    assert stored(configured.engine) == 3


def test_the_same_pair_is_limited_per_week(
    slack: SlackKit, localslack: LocalSlack, configured: Services
) -> None:
    settings_store.set(configured.engine, team_id=TEAM, key="shoutouts.daily_limit", value="0")
    texts = [
        reply_text(slack, slack.command("/shoutout", f"<@U0KARI> takk {i}", user="U0GRACE"))
        for i in range(3)
    ]
    assert "Thanks!" in texts[0] and "Thanks!" in texts[1]
    assert "You have praised <@U0KARI> as often as allowed in 7 days (limit 2)" in texts[2]
    assert "more shout-out" not in texts[0]  # no daily limit, no count
    assert stored(configured.engine) == 2


def test_a_plain_name_is_found_in_the_directory(
    slack: SlackKit, localslack: LocalSlack, configured: Services
) -> None:
    r = slack.command("/shoutout", "@Bjørn @kari.nordmann fixed it right away", user="U0ADA")
    receipt = reply_text(slack, r)
    assert "<@U0BJORN>" in receipt and "<@U0KARI>" in receipt
    # No tag: the promise the text is most like.
    assert "“Fix it right the first time”, which fits what you wrote" in receipt
    assert localslack.calls_to("users.list")
    settle(configured, localslack)
    assert store.directory(configured.engine, team_id=TEAM)


def test_without_a_channel_only_dms(
    slack: SlackKit, localslack: LocalSlack, services: Services
) -> None:
    r = slack.command("/shoutout", "<@U0GRACE> great demo for the customer", user="U0ADA")
    assert "No shout-out channel is set up yet" in reply_text(slack, r)
    localslack.wait_for(lambda: localslack.messages("D0GRACE"), timeout=5)
    settle(services, localslack)
    assert localslack.messages("C0SHOUT") == []


# --------------------------------------------------------------------------- the form


def open_form(localslack: LocalSlack) -> dict[str, Any]:
    def form() -> dict[str, Any] | None:
        found = [
            v for v in localslack.open_views() if v.get("callback_id") == blocks.SHOUTOUT_MODAL
        ]
        return found[0] if found else None

    opened = localslack.wait_for(form, timeout=5)
    assert opened is not None
    return opened


def form_values(users: list[str], text: str, promise: str | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {
        blocks.RECEIVERS_BLOCK: {blocks.RECEIVERS_INPUT: multi_users_select(users)},
        blocks.TEXT_BLOCK: {blocks.TEXT_INPUT: text_input(text)},
    }
    if promise:
        values[blocks.PROMISE_BLOCK] = {blocks.PROMISE_INPUT: static_select(promise)}
    return values


def test_the_form_opens_without_text_and_posts(
    slack: SlackKit, localslack: LocalSlack, configured: Services
) -> None:
    r = slack.command("/shoutout", "<@U0OLLE|olle>", user="U0ADA")
    assert r.status == 200
    form = open_form(localslack)
    users_block = next(b for b in form["blocks"] if b["block_id"] == blocks.RECEIVERS_BLOCK)
    assert users_block["element"]["initial_users"] == ["U0OLLE"]
    promise_block = next(b for b in form["blocks"] if b["block_id"] == blocks.PROMISE_BLOCK)
    assert [o["value"] for o in promise_block["element"]["options"]] == [
        "answer-within-a-day",
        "keep-it-simple",
        "fix-it-right-the-first-time",
    ]
    submit = slack.view_submission(
        blocks.SHOUTOUT_MODAL,
        form_values(["U0OLLE", "U0MADS"], "Made <returns> easy", "keep-it-simple"),
        private_metadata=form.get("private_metadata", ""),
        view_id="V0FORM1",
    )
    assert submit.status == 200 and submit.text == ""
    post = localslack.wait_for(lambda: shout_posts(localslack), timeout=5)[0]
    assert "Keep it simple" in flat(post) and "&lt;returns&gt;" in flat(post)
    note = localslack.wait_for(lambda: localslack.ephemerals("U0ADA"), timeout=5)[0]
    assert note["channel"] == "C0GENERAL" and "Tagged with our promise" in note["text"]
    # The same submission again (a double click) records nothing new.
    again = slack.view_submission(
        blocks.SHOUTOUT_MODAL,
        form_values(["U0OLLE", "U0MADS"], "Made <returns> easy", "keep-it-simple"),
        view_id="V0FORM1",
    )
    assert again.status == 200
    assert stored(configured.engine) == 1


def test_the_form_shows_refusals_under_the_field(
    slack: SlackKit, localslack: LocalSlack, configured: Services
) -> None:
    empty = slack.view_submission(blocks.SHOUTOUT_MODAL, form_values([], "  "), user="U0FREJA")
    assert empty.json()["response_action"] == "errors"
    assert set(empty.json()["errors"]) == {blocks.RECEIVERS_BLOCK, blocks.TEXT_BLOCK}
    mine = slack.view_submission(
        blocks.SHOUTOUT_MODAL, form_values(["U0FREJA"], "me, me, me"), user="U0FREJA"
    )
    assert mine.json() == {
        "response_action": "errors",
        "errors": {blocks.RECEIVERS_BLOCK: "Du kan ikke give dig selv ros. "
                   "Ros en kollega, der hjalp en kunde!"},
    }  # fmt: skip
    assert stored(configured.engine) == 0
    assert localslack.messages("C0SHOUT") == []


# --------------------------------------------------------------------------- seconds


def test_reactions_on_the_post_count_as_seconds(
    slack: SlackKit, localslack: LocalSlack, configured: Services
) -> None:
    slack.command("/shoutout", "<@U0KARI> solved it #keep-it-simple", user="U0ADA")
    post = localslack.wait_for(lambda: shout_posts(localslack), timeout=5)[0]
    settle(configured, localslack)

    def reaction(user: str, emoji: str = "clap", kind: str = "reaction_added") -> None:
        event = {"type": kind, "user": user, "reaction": emoji, "item_user": "U0CXBOT",
                 "item": {"type": "message", "channel": "C0SHOUT", "ts": post["ts"]}}  # fmt: skip
        assert slack.event(event).status == 200

    def seconds() -> int:
        start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
        rows = store.week_rows(configured.engine, team_id=TEAM, start=start, end=end)
        return rows[0].seconds

    reaction("U0BJORN")
    reaction("U0BJORN")  # the same reaction, delivered again under a new event id
    reaction("U0FREJA", "tada")
    reaction("U0KARI")  # the receiver saying thanks
    eventually(lambda: seconds() == 2)
    reaction("U0FREJA", "tada", "reaction_removed")
    eventually(lambda: seconds() == 1)
    # A reaction on any other message is acknowledged and changes nothing.
    other = {"type": "reaction_added", "user": "U0SVEA", "reaction": "clap",
             "item": {"type": "message", "channel": "C0GENERAL", "ts": "1.000001"}}  # fmt: skip
    assert slack.event(other).status == 200
    assert seconds() == 1


# --------------------------------------------------------------------------- customer praise


def answer(**kw: Any) -> dict[str, Any]:
    return {"responded_at": datetime.now(UTC).isoformat(), "metric": "nps", **kw}


def test_a_promoter_naming_an_employee_posts_one_customer_praise(
    slack: SlackKit, localslack: LocalSlack, configured: Services
) -> None:
    promoter = answer(
        score=10,
        response_id="r-1",
        employee="bjorn@example.com",
        comment="Bjørn sorted out my invoice in five minutes",
        touchpoint="Support",
    )
    detractor = answer(score=2, response_id="r-2", employee="U0KARI", comment="Kari never called")
    assert slack.webhook([promoter, detractor]).status == 202
    # The directory was empty: the e-mail is matched after a refresh in the background.
    post = localslack.wait_for(lambda: shout_posts(localslack), timeout=10)[0]
    assert "The customer said" in flat(post) and "<@U0BJORN>" in flat(post)
    assert "NPS 10/10" in flat(post) and "Support" in flat(post)
    dm = localslack.wait_for(lambda: localslack.messages("D0BJORN"), timeout=5)[0]
    assert "En kunde roste deg" in flat(dm)
    # The same answer again, and a name in a promoter's comment (directory now known).
    assert slack.webhook(promoter).status == 202
    named = answer(score=9, response_id="r-3", comment="Takk til Kari Nordmann!")
    assert slack.webhook(named).status == 202
    localslack.wait_for(lambda: len(shout_posts(localslack)) == 2, timeout=5)
    settle(configured, localslack)
    assert len(shout_posts(localslack)) == 2
    assert "<@U0KARI>" in flat(shout_posts(localslack)[1])
    assert localslack.messages("D0KARI")  # the praise DM, not an alert about the detractor


def test_praise_can_be_switched_off(
    slack: SlackKit, localslack: LocalSlack, configured: Services
) -> None:
    settings_store.set(
        configured.engine, team_id=TEAM, key="shoutouts.customer_praise", value="off"
    )
    assert slack.webhook(answer(score=10, employee="U0BJORN", comment="Great")).status == 202
    settle(configured, localslack)
    assert localslack.messages("C0SHOUT") == [] and stored(configured.engine) == 0


# --------------------------------------------------------------------------- rendering


def test_render_in_each_language(configured: Services) -> None:
    given = store.give(
        configured.engine,
        team_id=TEAM,
        shout=store.NewShoutout(
            "U0ADA", ("U0BJORN",), "Ringte *kunden* <@U0KARI>", "Keep it simple"
        ),
        limits=store.Limits(0, 0),
        day_start=datetime.now(UTC),
        now=datetime.now(UTC),
        delivery=store.Delivery("C0SHOUT"),
    )
    assert given.shoutout_id is not None
    payload = {"shoutout_id": given.shoutout_id, "kind": "post", "channel": "C0SHOUT"}
    for locale, words in (("en", "gave a shout-out to"), ("nb", "ga skryt til"),
                          ("da", "gav ros til"), ("sv", "gav beröm till")):  # fmt: skip
        method, call = posting.render_shoutout(configured, TEAM, {**payload, "locale": locale})
        assert method == "chat.postMessage" and call["channel"] == "C0SHOUT"
        assert words in flat(call)
        assert "<@U0KARI>" in flat(call)  # a colleague named in the text stays a mention
    with pytest.raises(posting.Gone):
        posting.render_shoutout(configured, TEAM, {**payload, "shoutout_id": 999_999})


def test_leaderboard_from_stored_rows(configured: Services) -> None:
    now = datetime.now(UTC)
    for giver, receivers, promise in [
        ("U0ADA", ("U0BJORN",), "Keep it simple"),
        ("U0KARI", ("U0BJORN", "U0ADA"), "Keep it simple"),
        ("U0BJORN", ("U0KARI",), None),
    ]:
        store.give(configured.engine, team_id=TEAM,
                   shout=store.NewShoutout(giver, receivers, "x", promise),
                   limits=store.Limits(0, 0), day_start=now, now=now,
                   delivery=store.Delivery(None))  # fmt: skip
    rows: list[ShoutoutRow] = store.week_rows(
        configured.engine, team_id=TEAM, start=now - timedelta(days=7), end=now + timedelta(1)
    )
    promises = [p.strip() for p in PROMISES.split(";")]
    board = leaderboard(rows, promises)
    assert board.top_receivers[0].user_id == "U0BJORN" and board.top_receivers[0].shoutouts == 2
    assert board.promises_most[0].promise == "Keep it simple"
    assert board.promises_least[0].count == 0


def test_a_form_for_ten_receivers_is_acked_in_time_when_users_info_is_slow(
    slack: SlackKit, localslack: LocalSlack, configured: Services
) -> None:
    # Slack allows 3 s for the answer to a view_submission
    # (https://api.slack.com/surfaces/modals#interactions); the receivers are checked
    # before it, so the refusal can stand under the field.
    extra = [f"U0TEAM{n}" for n in range(3)]
    for user in extra:
        localslack.add_user(user, user.lower())
    receivers = ["U0BJORN", "U0FREJA", "U0SVEA", "U0GRACE", "U0KARI", "U0MADS", "U0OLLE", *extra]
    assert len(receivers) == 10
    # Warm the giver's locale first: the ack is what is timed, not the first lookup.
    slack.command("/cx", "help", user="U0ADA")
    localslack.set_latency(0.3, ["users.info"])
    try:
        submit = slack.view_submission(
            blocks.SHOUTOUT_MODAL,
            form_values(receivers, "Stayed late to fix the order"),
            user="U0ADA",
            view_id="V0TEN",
        )
    finally:
        localslack.set_latency(0, ["users.info"])
    assert submit.status == 200 and submit.text == ""
    assert submit.elapsed < 1.0, submit.elapsed
    post = localslack.wait_for(lambda: shout_posts(localslack), timeout=5)[0]
    assert all(f"<@{u}>" in flat(post) for u in receivers)
