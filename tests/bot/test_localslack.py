"""LocalSlack answers the real slack_sdk clients like Slack does, and records what it saw."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot.localslack import LocalSlack
from bot.localslack.ratelimit import RateLimiter

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}


def section(i: int) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": f"block {i}"}}


def modal(blocks: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Insight"},
        "blocks": [SECTION] if blocks is None else blocks,
        **extra,
    }


@pytest.fixture(name="slack")
def bare_slack() -> Iterator[LocalSlack]:
    """A started LocalSlack.demo without rate limits, and no bot in front of it."""
    with LocalSlack.demo(rate_limits=False) as ls:
        yield ls


@pytest.fixture
def client(slack: LocalSlack) -> WebClient:
    return WebClient(base_url=slack.base_url, token=slack.bot_token)


def api_error(fn: Any, **kw: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        fn(**kw)
    return str(info.value.response["error"])


def raw_post(url: str, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


# ---------------------------------------------------------------------- auth
def test_auth_test_names_the_workspace_and_bot(slack: LocalSlack, client: WebClient) -> None:
    data = client.auth_test().data
    assert isinstance(data, dict)
    assert data["ok"] is True
    assert data["team_id"] == "T0CXLOCAL"
    assert data["user_id"] == slack.bot_user_id == "U0CXBOT"
    assert slack.base_url == slack.url + "/api/"
    assert slack.url.startswith("http://127.0.0.1:")


def test_missing_and_wrong_tokens_are_refused(slack: LocalSlack) -> None:
    assert api_error(WebClient(base_url=slack.base_url).auth_test) == "not_authed"
    wrong = WebClient(base_url=slack.base_url, token="xoxb-wrong")
    assert api_error(wrong.chat_postMessage, channel="C0GENERAL", text="x") == "invalid_auth"
    refused = slack.calls_to("chat.postMessage")
    assert len(refused) == 1
    assert (refused[0].ok, refused[0].error, refused[0].status) == (False, "invalid_auth", 200)
    assert refused[0].token == "xoxb-wrong"
    assert slack.messages() == []


def test_token_in_a_form_body_and_blocks_as_json_text(slack: LocalSlack) -> None:
    form = urllib.parse.urlencode(
        {"token": slack.bot_token, "channel": "C0GENERAL", "blocks": json.dumps([SECTION])}
    ).encode()
    status, data = raw_post(
        slack.base_url + "chat.postMessage", form, "application/x-www-form-urlencoded"
    )
    assert status == 200 and data["ok"] is True
    (msg,) = slack.messages("C0GENERAL")
    assert msg["blocks"] == [SECTION]
    assert slack.calls[-1].args["blocks"] == [SECTION]  # decoded for the reader
    assert "token" not in slack.calls[-1].args


def test_json_body_with_token_field(slack: LocalSlack) -> None:
    body = json.dumps({"token": slack.bot_token, "channel": "C0SHOUT", "text": "json"}).encode()
    status, data = raw_post(slack.base_url + "chat.postMessage", body, "application/json")
    assert status == 200 and data["ok"] is True and data["channel"] == "C0SHOUT"


def test_unknown_method(client: WebClient) -> None:
    assert api_error(client.api_call, api_method="chat.nope") == "unknown_method"


# ------------------------------------------------------------------ messages
def test_post_message_records_blocks_thread_and_metadata(
    slack: LocalSlack, client: WebClient
) -> None:
    first = client.chat_postMessage(channel="C0ALERTS", text="alert", blocks=[SECTION])
    meta = {"event_type": "cx_alert", "event_payload": {"alert_id": 7}}
    reply = client.chat_postMessage(
        channel="C0ALERTS", text="note", thread_ts=first["ts"], metadata=meta
    )
    msgs = slack.messages("C0ALERTS")
    assert [m["text"] for m in msgs] == ["alert", "note"]
    assert msgs[0]["blocks"] == [SECTION] and msgs[0]["user"] == "U0CXBOT"
    assert msgs[1]["thread_ts"] == first["ts"] and msgs[1]["metadata"] == meta
    assert float(reply["ts"]) > float(first["ts"])
    assert first["message"]["text"] == "alert"


def test_posting_to_a_user_id_lands_in_the_dm(slack: LocalSlack, client: WebClient) -> None:
    resp = client.chat_postMessage(channel="U0SVEA", text="Hej")
    dm = slack.open_dm("U0SVEA")
    assert resp["channel"] == dm and dm.startswith("D")
    assert client.conversations_open(users="U0SVEA")["channel"]["id"] == dm
    assert [m["text"] for m in slack.messages(dm)] == ["Hej"]


def test_channel_errors(slack: LocalSlack, client: WebClient) -> None:
    slack.add_channel("C0NOBOT", "no-bot", members=["U0ADA"], bot_member=False)
    slack.add_channel("C0SECRET", "secret", members=["U0ADA"], bot_member=False, is_private=True)
    post = client.chat_postMessage
    assert api_error(post, channel="C0MISSING", text="x") == "channel_not_found"
    assert api_error(post, channel="C0NOBOT", text="x") == "not_in_channel"
    assert api_error(post, channel="C0SECRET", text="x") == "channel_not_found"
    assert api_error(post, channel="U0GONE", text="x") == "user_disabled"
    assert api_error(post, channel="U0OTHERBOT", text="x") == "cannot_dm_bot"
    # A DM always works, and a channel can be named.
    assert post(channel="U0ADA", text="dm")["ok"]
    assert post(channel="#cx-digest", text="by name")["channel"] == "C0DIGEST"


def test_text_and_block_errors(client: WebClient) -> None:
    post = client.chat_postMessage
    assert api_error(post, channel="C0GENERAL") == "no_text"
    assert api_error(post, channel="C0GENERAL", text="x" * 40_001) == "msg_too_long"
    assert post(channel="C0GENERAL", text="x" * 40_000)["ok"]
    too_long_section = {"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3001}}
    assert api_error(post, channel="C0GENERAL", blocks=[too_long_section]) == "invalid_blocks"
    assert api_error(post, channel="C0GENERAL", blocks=[{"type": "bogus"}]) == "invalid_blocks"
    fifty_one = [section(i) for i in range(51)]
    assert api_error(post, channel="C0GENERAL", blocks=fifty_one) == "invalid_blocks"
    assert post(channel="C0GENERAL", blocks=fifty_one[:50])["ok"]
    dup = [{**SECTION, "block_id": "a"}, {**SECTION, "block_id": "a"}]
    assert api_error(post, channel="C0GENERAL", blocks=dup) == "invalid_blocks"


def test_invalid_blocks_explain_where(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="C0GENERAL", blocks=[SECTION, {"type": "section"}])
    assert any("/blocks/1" in e for e in info.value.response["errors"])


def test_ephemeral_needs_a_member(slack: LocalSlack, client: WebClient) -> None:
    resp = client.chat_postEphemeral(channel="C0GENERAL", user="U0BJORN", text="only you")
    (eph,) = slack.ephemerals("U0BJORN")
    assert eph["text"] == "only you" and eph["message_ts"] == resp["message_ts"]
    assert slack.messages("C0GENERAL") == []
    post = client.chat_postEphemeral
    assert api_error(post, channel="C0GENERAL", user="U0NOBODY", text="x") == "user_not_found"
    assert api_error(post, channel="C0CUSTOMER", user="U0SVEA", text="x") == "user_not_in_channel"


def test_update_follows_slacks_rules_for_left_out_fields(
    slack: LocalSlack, client: WebClient
) -> None:
    ts = client.chat_postMessage(channel="C0ALERTS", text="open", blocks=[SECTION])["ts"]
    client.chat_update(channel="C0ALERTS", ts=ts, blocks=[section(2)])
    (msg,) = slack.messages("C0ALERTS")
    assert msg["text"] == "open" and msg["blocks"] == [section(2)] and msg["updated"] is True
    # Text without blocks drops the old blocks, as Slack does.
    client.chat_update(channel="C0ALERTS", ts=ts, text="claimed")
    (msg,) = slack.messages("C0ALERTS")
    assert msg["text"] == "claimed" and msg["blocks"] == []
    assert api_error(client.chat_update, channel="C0ALERTS", ts="1.000001", text="x") == (
        "message_not_found"
    )
    assert api_error(client.chat_update, channel="C0ALERTS", ts=ts) == "no_text"


def test_delete_permalink_and_reactions(slack: LocalSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C0SHOUT", text="kudos")["ts"]
    link = client.chat_getPermalink(channel="C0SHOUT", message_ts=ts)["permalink"]
    with urllib.request.urlopen(link, timeout=5) as resp:
        assert json.loads(resp.read())["message"]["text"] == "kudos"
    client.reactions_add(channel="C0SHOUT", timestamp=ts, name="tada")
    assert api_error(client.reactions_add, channel="C0SHOUT", timestamp=ts, name="tada") == (
        "already_reacted"
    )
    assert slack.reactions() == [
        {"channel": "C0SHOUT", "ts": ts, "name": "tada", "user": "U0CXBOT"}
    ]
    assert slack.messages("C0SHOUT")[0]["reactions"][0]["count"] == 1
    client.chat_delete(channel="C0SHOUT", ts=ts)
    assert slack.messages("C0SHOUT") == []
    assert api_error(client.chat_delete, channel="C0SHOUT", ts=ts) == "message_not_found"


# -------------------------------------------------------- conversations, users
def test_history_newest_first_with_metadata_on_request(
    slack: LocalSlack, client: WebClient
) -> None:
    meta = {"event_type": "outbox", "event_payload": {"key": "digest-2026-W47"}}
    for i in range(5):
        client.chat_postMessage(channel="C0DIGEST", text=f"m{i}", metadata=meta)
    parent = slack.messages("C0DIGEST")[0]["ts"]
    client.chat_postMessage(channel="C0DIGEST", text="reply", thread_ts=parent)
    page1 = client.conversations_history(channel="C0DIGEST", limit=3, include_all_metadata=True)
    assert [m["text"] for m in page1["messages"]] == ["m4", "m3", "m2"]
    assert page1["has_more"] is True and page1["messages"][0]["metadata"] == meta
    cursor = page1["response_metadata"]["next_cursor"]
    page2 = client.conversations_history(channel="C0DIGEST", limit=3, cursor=cursor)
    assert [m["text"] for m in page2["messages"]] == ["m1", "m0"]
    assert "metadata" not in page2["messages"][0]
    assert page2["response_metadata"]["next_cursor"] == ""
    assert page2["messages"][1]["reply_count"] == 1
    replies = client.conversations_replies(channel="C0DIGEST", ts=parent)["messages"]
    assert [m["text"] for m in replies] == ["m0", "reply"]
    assert api_error(client.conversations_history, channel="C0DIGEST", cursor="%%%") == (
        "invalid_cursor"
    )


def test_members_pagination_and_info(slack: LocalSlack, client: WebClient) -> None:
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        resp = client.conversations_members(channel="C0GENERAL", limit=3, cursor=cursor)
        seen += resp["members"]
        pages += 1
        cursor = resp["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 9  # 8 people and the bot
    info = client.conversations_info(channel="C0CUSTOMER", include_num_members=True)["channel"]
    assert info["is_ext_shared"] is True and info["num_members"] == 4 and info["is_member"]
    assert api_error(client.conversations_info, channel="C0NONE") == "channel_not_found"


def test_users_info_list_and_groups(slack: LocalSlack, client: WebClient) -> None:
    bjorn = client.users_info(user="U0BJORN", include_locale=True)["user"]
    assert bjorn["locale"] == "nb-NO" and bjorn["tz"] == "Europe/Oslo"
    assert "locale" not in client.users_info(user="U0BJORN")["user"]
    assert client.users_info(user="U0GONE")["user"]["deleted"] is True
    assert client.users_info(user="U0ADA")["user"]["is_admin"] is True
    assert api_error(client.users_info, user="U0NOBODY") == "user_not_found"
    everyone = client.users_list()["members"]
    assert len(everyone) == 11  # 8 people, a deactivated one, two bots
    ids: list[str] = []
    cursor = None
    while True:
        resp = client.users_list(limit=4, cursor=cursor)
        ids += [m["id"] for m in resp["members"]]
        cursor = resp["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert ids == [m["id"] for m in everyone]
    assert client.users_lookupByEmail(email="Freja@example.com")["user"]["id"] == "U0FREJA"
    team = client.usergroups_users_list(usergroup="S0CXTEAM")["users"]
    assert team == ["U0ADA", "U0BJORN", "U0FREJA", "U0SVEA"]
    assert api_error(client.usergroups_users_list, usergroup="S0NONE") == "no_such_subteam"


# ---------------------------------------------------------------------- views
def test_views_open_needs_a_fresh_trigger(slack: LocalSlack, client: WebClient) -> None:
    trigger = slack.new_trigger_id("U0FREJA")
    view = client.views_open(trigger_id=trigger, view=modal(callback_id="insight"))["view"]
    (opened,) = slack.open_views()
    assert opened["view_id"] == view["id"] and opened["user"] == "U0FREJA"
    assert opened["callback_id"] == "insight"
    assert api_error(client.views_open, trigger_id=trigger, view=modal()) == (
        "exchanged_trigger_id"
    )
    assert api_error(client.views_open, trigger_id="1.2.3", view=modal()) == "invalid_trigger_id"
    with LocalSlack(trigger_ttl=0.05) as hasty:
        stale = hasty.new_trigger_id()
        time.sleep(0.1)
        late = WebClient(base_url=hasty.base_url, token=hasty.bot_token).views_open
        assert api_error(late, trigger_id=stale, view=modal()) == "expired_trigger_id"
    # views.* refuse bad blocks with invalid_arguments, not invalid_blocks (see
    # test_localslack_fidelity.py for the source).
    too_many = modal([section(i) for i in range(101)])
    assert api_error(client.views_open, trigger_id=slack.new_trigger_id(), view=too_many) == (
        "invalid_arguments"
    )
    text_input = {
        "type": "input",
        "block_id": "text",
        "label": {"type": "plain_text", "text": "Insight"},
        "element": {"type": "plain_text_input", "action_id": "value"},
    }
    no_submit = modal([text_input])
    assert api_error(client.views_open, trigger_id=slack.new_trigger_id(), view=no_submit) == (
        "invalid_arguments"
    )
    form = modal([text_input], submit={"type": "plain_text", "text": "Save"})
    assert client.views_open(trigger_id=slack.new_trigger_id(), view=form)["ok"]
    untitled = {"type": "modal", "blocks": []}
    assert api_error(client.views_open, trigger_id=slack.new_trigger_id(), view=untitled) == (
        "invalid_arguments"
    )


def test_views_update_by_id_or_external_id(slack: LocalSlack, client: WebClient) -> None:
    view = client.views_open(trigger_id=slack.new_trigger_id(), view=modal(external_id="pulse-1"))[
        "view"
    ]
    client.views_update(view_id=view["id"], view=modal([section(1)]), hash=view["hash"])
    client.views_update(external_id="pulse-1", view=modal([section(2)], external_id="pulse-1"))
    (current,) = slack.open_views()
    assert current["id"] == view["id"] and current["blocks"] == [section(2)]
    assert api_error(client.views_update, view_id=view["id"], view=modal(), hash="old") == (
        "hash_conflict"
    )
    assert api_error(client.views_update, view_id="V0NOPE", view=modal()) == "not_found"
    slack.close_view(view["id"])
    assert slack.open_views() == []


def test_views_publish_home(slack: LocalSlack, client: WebClient) -> None:
    home = {"type": "home", "blocks": [SECTION]}
    first = client.views_publish(user_id="U0SVEA", view=home)["view"]
    second = client.views_publish(user_id="U0SVEA", view={"type": "home", "blocks": []})["view"]
    assert first["id"] == second["id"]
    assert slack.home_views()["U0SVEA"]["blocks"] == []
    assert api_error(client.views_publish, user_id="U0NOBODY", view=home) == "user_not_found"
    assert api_error(client.views_publish, user_id="U0SVEA", view=modal()) == "invalid_arguments"
    many = {"type": "home", "blocks": [section(i) for i in range(101)]}
    assert api_error(client.views_publish, user_id="U0SVEA", view=many) == "invalid_arguments"


# ---------------------------------------------------------------------- files
def test_files_upload_v2(slack: LocalSlack, client: WebClient) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    resp = client.files_upload_v2(
        channel="C0DIGEST",
        content=png,
        filename="nps.png",
        title="NPS trend",
        initial_comment="Weekly digest",
    )
    (stored,) = slack.files()
    assert resp["file"]["id"] == stored["id"]
    assert stored["bytes"] == png and stored["title"] == "NPS trend"
    assert stored["channels"] == ["C0DIGEST"] and stored["mimetype"] == "image/png"
    (msg,) = slack.messages("C0DIGEST")
    assert msg["text"] == "Weekly digest" and msg["files"][0]["id"] == stored["id"]
    bad = client.files_completeUploadExternal
    assert api_error(bad, files=[{"id": "F0NOPE", "title": "x"}]) == "file_not_found"
    assert api_error(client.files_getUploadURLExternal, filename="a.png", length=0) == (
        "invalid_arguments"
    )


# -------------------------------------------------------------- response URLs
def test_response_urls(slack: LocalSlack, client: WebClient) -> None:
    url = slack.response_url("C0GENERAL", "U0BJORN")
    assert WebhookClient(url).send(text="just you").status_code == 200
    assert slack.ephemerals("U0BJORN")[-1]["text"] == "just you"
    WebhookClient(url).send(text="everyone", response_type="in_channel")
    assert slack.messages("C0GENERAL")[-1]["text"] == "everyone"
    assert [r["text"] for r in slack.responses()] == ["just you", "everyone"]
    assert slack.responses()[1]["response_type"] == "in_channel"

    ts = client.chat_postMessage(channel="C0ALERTS", text="alert", blocks=[SECTION])["ts"]
    on_msg = slack.response_url("C0ALERTS", "U0ADA", message_ts=ts)
    WebhookClient(on_msg).send(text="claimed by Ada", replace_original=True)
    (msg,) = slack.messages("C0ALERTS")
    assert msg["text"] == "claimed by Ada" and msg["updated"] is True
    WebhookClient(on_msg).send(delete_original=True)
    assert slack.messages("C0ALERTS") == []

    bad = WebhookClient(url).send(blocks=[{"type": "bogus"}])
    assert (bad.status_code, bad.body) == (400, "invalid_blocks")
    # A refused body is not a use; Slack allows five uses of one URL.
    assert [WebhookClient(url).send(text="x").body for _ in range(4)] == [
        "ok",
        "ok",
        "ok",
        "used_url",
    ]
    assert WebhookClient(slack.url + "/responses/T/unknown").send(text="x").status_code == 404
    assert slack.calls_to("response_url")[-1].status == 404


def test_a_commands_response_url_replaces_what_it_posted(slack: LocalSlack) -> None:
    url = slack.response_url("C0INSIGHT", "U0FREJA")
    WebhookClient(url).send(text="Working on it…")
    WebhookClient(url).send(text="Saved your insight", replace_original=True)
    (eph,) = slack.ephemerals("U0FREJA")
    assert eph["text"] == "Saved your insight" and eph["updated"] is True
    WebhookClient(url).send(delete_original=True)
    assert slack.ephemerals("U0FREJA") == []

    shared = slack.response_url("C0INSIGHT", "U0FREJA")
    WebhookClient(shared).send(text="draft", response_type="in_channel")
    WebhookClient(shared).send(text="final", response_type="in_channel", replace_original=True)
    assert [m["text"] for m in slack.messages("C0INSIGHT")] == ["final"]


# -------------------------------------------------------- rate limits, faults
def test_rate_limit_429_then_retry_handler_succeeds() -> None:
    with LocalSlack.demo() as slack:
        plain = WebClient(base_url=slack.base_url, token=slack.bot_token)
        for i in range(3):  # the burst allowance
            plain.chat_postMessage(channel="C0GENERAL", text=f"burst {i}")
        with pytest.raises(SlackApiError) as info:
            plain.chat_postMessage(channel="C0GENERAL", text="too fast")
        assert info.value.response.status_code == 429
        assert info.value.response["error"] == "ratelimited"
        assert int(info.value.response.headers["Retry-After"][0]) >= 1
        # Another channel has its own allowance.
        assert plain.chat_postMessage(channel="C0SHOUT", text="elsewhere")["ok"]

        patient = WebClient(
            base_url=slack.base_url,
            token=slack.bot_token,
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
        )
        started = time.monotonic()
        assert patient.chat_postMessage(channel="C0GENERAL", text="later")["ok"]
        assert time.monotonic() - started >= 0.9
        statuses = [c.status for c in slack.calls_to("chat.postMessage")]
        assert statuses.count(429) == 2 and statuses[-1] == 200


def test_tiers_scale() -> None:
    def allowed(slack: LocalSlack) -> int:
        client = WebClient(base_url=slack.base_url, token=slack.bot_token)
        for n in range(200):
            try:
                client.users_list(limit=1)
            except SlackApiError as err:
                assert err.response.status_code == 429
                return n
        return 200

    with LocalSlack.demo() as slack:
        assert allowed(slack) == 20  # Tier 2: 20 a minute
    with LocalSlack.demo(rate_scale=2.0) as slack:
        assert allowed(slack) == 40
    with LocalSlack.demo(rate_limits=False) as slack:
        assert allowed(slack) == 200


def test_fault_injection_share(slack: LocalSlack, client: WebClient) -> None:
    slack.set_faults(0.2, statuses=(429, 500), methods=["auth.test"])
    failures: dict[int, int] = {}
    for _ in range(500):
        try:
            client.auth_test()
        except SlackApiError as err:
            status = err.response.status_code
            failures[status] = failures.get(status, 0) + 1
    assert 60 <= sum(failures.values()) <= 140  # 100 expected, sd about 9
    assert set(failures) == {429, 500}
    assert client.users_info(user="U0ADA")["ok"]  # not a named method
    slack.set_faults(0.0)
    assert all(client.auth_test()["ok"] for _ in range(20))


def test_faults_are_reproducible_with_a_seed() -> None:
    def pattern() -> list[bool]:
        with LocalSlack.demo(rate_limits=False, seed=7) as slack:
            slack.set_faults(0.5, statuses=(500,))
            client = WebClient(base_url=slack.base_url, token=slack.bot_token)
            out = []
            for _ in range(30):
                try:
                    out.append(bool(client.auth_test()["ok"]))
                except SlackApiError:
                    out.append(False)
            return out

    assert pattern() == pattern()


def test_rate_limiter_refills_evenly() -> None:
    now = [100.0]
    limiter = RateLimiter(scale=1.0, clock=lambda: now[0])
    assert [limiter.acquire("t", "users.list") for _ in range(20)] == [0] * 20
    assert limiter.acquire("t", "users.list") == 3  # 20 a minute: one every 3 s
    assert limiter.acquire("other-token", "users.list") == 0
    now[0] += 3.0
    assert limiter.acquire("t", "users.list") == 0
    assert limiter.acquire("t", "conversations.history") == 0  # each method its own bucket
    for _ in range(3):
        assert limiter.acquire("t", "chat.postMessage", "C1") == 0
    assert limiter.acquire("t", "chat.postMessage", "C1") == 1
    assert limiter.acquire("t", "chat.postMessage", "C2") == 0
    half = RateLimiter(scale=0.5, clock=lambda: now[0])
    assert [half.acquire("t", "users.list") for _ in range(11)] == [0] * 10 + [6]
    assert [half.acquire("t", "some.method") for _ in range(26)][-2:] == [
        0,
        3,
    ]  # Tier 3: 25 a minute
    with pytest.raises(ValueError):
        RateLimiter(scale=0)


# ------------------------------------------------------- waiting, subscribing
def test_wait_for_wakes_on_a_new_record(slack: LocalSlack, client: WebClient) -> None:
    def later() -> None:
        time.sleep(0.2)
        client.chat_postMessage(channel="C0INSIGHT", text="insight")

    threading.Thread(target=later).start()
    started = time.monotonic()
    msgs = slack.wait_for(lambda: slack.messages("C0INSIGHT"), timeout=3)
    assert msgs[0]["text"] == "insight"
    assert time.monotonic() - started < 1.0


def test_wait_for_timeout_says_what_happened(slack: LocalSlack, client: WebClient) -> None:
    client.auth_test()
    with pytest.raises(TimeoutError, match=r"auth.test->ok"):
        slack.wait_for(lambda: slack.messages("C0ESCAL"), timeout=0.2)


def test_subscribe_sees_every_kind(slack: LocalSlack, client: WebClient) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    slack.subscribe(lambda kind, item: seen.append((kind, item)))
    ts = client.chat_postMessage(channel="C0GENERAL", text="a")["ts"]
    client.chat_update(channel="C0GENERAL", ts=ts, text="b")
    client.chat_postEphemeral(channel="C0GENERAL", user="U0ADA", text="c")
    client.reactions_add(channel="C0GENERAL", timestamp=ts, name="eyes")
    client.views_publish(user_id="U0ADA", view={"type": "home", "blocks": [SECTION]})
    client.views_open(trigger_id=slack.new_trigger_id(), view=modal())
    client.files_upload_v2(channel="C0GENERAL", content=b"x", filename="a.txt")
    WebhookClient(slack.response_url()).send(text="d")
    kinds = [k for k, _ in seen]
    for kind in ("message", "update", "ephemeral", "reaction", "home", "modal", "file", "response"):
        assert kind in kinds, kind
    assert seen[0][1]["text"] == "a" and seen[1][0] == "update" and seen[1][1]["text"] == "b"
    assert seen[1][1]["ts"] == ts


# ---------------------------------------------------------------- concurrency
def test_two_hundred_concurrent_calls(slack: LocalSlack) -> None:
    client = WebClient(base_url=slack.base_url, token=slack.bot_token)
    channels = ["C0GENERAL", "C0ALERTS", "C0DIGEST", "C0SHOUT"]
    people = ["U0ADA", "U0BJORN", "U0FREJA", "U0SVEA"]
    seen: list[str] = []
    slack.subscribe(lambda kind, item: seen.append(kind))

    def call(i: int) -> str:
        kind = i % 4
        if kind == 0:
            return str(client.chat_postMessage(channel=channels[i % 16 // 4], text=f"n{i}")["ts"])
        if kind == 1:
            return str(client.users_info(user=people[i % 16 // 4])["user"]["id"])
        if kind == 2:
            home = {"type": "home", "blocks": [section(i)]}
            return str(client.views_publish(user_id=people[i % 16 // 4], view=home)["view"]["id"])
        return str(WebhookClient(slack.response_url()).send(text=f"r{i}").body)

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(call, range(200)))
    stamps = results[0::4]
    assert len(set(stamps)) == 50 and len(slack.messages()) == 50
    assert sorted(m["text"] for m in slack.messages()) == sorted(f"n{i}" for i in range(0, 200, 4))
    assert set(results[1::4]) == set(people)
    assert len(slack.home_views()) == 4 and set(results[3::4]) == {"ok"}
    assert len(slack.responses()) == 50 and len(slack.ephemerals("U0ADA")) == 50
    assert len(slack.calls) == 200 and all(c.ok for c in slack.calls)
    assert seen.count("message") == 50 and seen.count("home") == 50


# ------------------------------------------------------------- integration
def test_bolt_app_accepts_the_server() -> None:
    from slack_bolt import App

    with LocalSlack.demo() as slack:
        app = App(
            signing_secret="secret",
            client=WebClient(base_url=slack.base_url, token=slack.bot_token),
        )
        assert app.client.auth_test()["team_id"] == slack.team_id
        assert slack.calls_to("auth.test")


def test_module_runs_a_standalone_demo_workspace() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.localslack", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api/")
        client = WebClient(base_url=base_url, token="xoxb-local-token")
        assert client.users_info(user="U0SVEA", include_locale=True)["user"]["locale"] == "sv-SE"
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
