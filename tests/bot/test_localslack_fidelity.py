"""localslack behaves as Slack does, rule by rule; each test names the page or SDK fixture
it follows. When localslack and Slack disagree, Slack is right.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest
import yaml
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.localslack import DROP, LocalSlack
from bot.localslack.formatting import MANIFEST, should_escape
from tests.bot.conftest import serve_wsgi
from tests.bot.slackkit import SlackKit
from tests.bot.test_localslack import bare_slack  # noqa: F401  (the `slack` fixture)

PARTNER = "W0PIA"
PARTNER_TEAM = "T0ACME"
PARTNER_ORG = "E0ACME"


@pytest.fixture
def client(slack: LocalSlack) -> WebClient:
    # No retry handlers: each call is exactly one request, so what a test injects is seen.
    return WebClient(base_url=slack.base_url, token=slack.bot_token, retry_handlers=[])


def api_error(fn: Any, **kw: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        fn(**kw)
    return info.value


class Recorder:
    """An app endpoint that answers 200 and keeps what Slack (the kit) sent it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        with self._lock:
            self.bodies.append(environ["wsgi.input"].read(length))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.bodies[-1].decode()).items()}

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.form()["payload"])
        return data


@pytest.fixture
def app_side(slack: LocalSlack) -> Iterator[tuple[SlackKit, Recorder]]:
    recorder = Recorder()
    with serve_wsgi(recorder) as running:
        yield SlackKit(running.url, "secret", slack), recorder


# ------------------------------------------------------------ 1. DMs and user ids
@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("conversations_history", {}),
        ("conversations_replies", {"ts": "1.000001"}),
        ("conversations_info", {}),
        ("conversations_members", {}),
    ],
)
def test_conversations_methods_refuse_a_user_id(
    slack: LocalSlack, client: WebClient, method: str, extra: dict[str, str]
) -> None:
    # https://api.slack.com/methods/conversations.history (and .replies, .info, .members):
    # `channel` is a conversation ID; a user ID is none, so Slack answers channel_not_found.
    client.chat_postMessage(channel="U0SVEA", text="Hej")
    err = api_error(getattr(client, method), channel="U0SVEA", **extra)
    assert err.response["error"] == "channel_not_found"
    slack.add_external_user(PARTNER, "pia", team_id=PARTNER_TEAM)
    err = api_error(getattr(client, method), channel=PARTNER, **extra)  # W ids alike
    assert err.response["error"] == "channel_not_found"


def test_conversations_open_gives_one_stable_d_id(slack: LocalSlack, client: WebClient) -> None:
    # https://api.slack.com/methods/conversations.open: opening a DM that exists returns it,
    # so every call for the same user gives the same D id, which also resumes it as `channel`.
    first = client.conversations_open(users="U0SVEA")["channel"]["id"]
    again = client.conversations_open(users="U0SVEA")["channel"]["id"]
    assert first == again == slack.open_dm("U0SVEA") and first.startswith("D")
    assert client.conversations_open(channel=first)["channel"]["id"] == first
    assert api_error(client.conversations_open, channel="U0SVEA").response["error"] == (
        "channel_not_found"
    )


def test_posting_to_a_user_id_lands_in_the_d_channel_and_its_history(
    slack: LocalSlack, client: WebClient
) -> None:
    # https://api.slack.com/methods/chat.postMessage#channels: a user ID as `channel` posts
    # to the app's DM with them; the answer's `channel` is the DM's D id.
    sent = client.chat_postMessage(channel="U0SVEA", text="Hej Svea")
    dm = client.conversations_open(users="U0SVEA")["channel"]["id"]
    assert sent["channel"] == dm
    also = client.chat_postMessage(channel=dm, text="igen")  # the D id works too
    assert also["channel"] == dm
    history = client.conversations_history(channel=dm)["messages"]
    assert [m["text"] for m in history] == ["igen", "Hej Svea"]
    assert client.conversations_info(channel=dm)["channel"]["user"] == "U0SVEA"
    assert set(client.conversations_members(channel=dm)["members"]) == {"U0SVEA", "U0CXBOT"}
    # Readers (tests, the sandbox) may name the person: messages(user) reads their DM.
    assert [m["text"] for m in slack.messages("U0SVEA")] == ["Hej Svea", "igen"]
    assert slack.messages("U0SVEA") == slack.messages(dm)


def test_chat_update_and_reactions_need_the_d_id(slack: LocalSlack, client: WebClient) -> None:
    # https://api.slack.com/methods/chat.update: for direct messages `channel` is the DM id
    # (D...), not the user id (U... or W...).
    sent = client.chat_postMessage(channel="U0SVEA", text="draft")
    update = client.chat_update
    assert api_error(update, channel="U0SVEA", ts=sent["ts"], text="x").response["error"] == (
        "channel_not_found"
    )
    assert update(channel=sent["channel"], ts=sent["ts"], text="final")["ok"]
    # https://api.slack.com/methods/reactions.add: `channel` is the message's channel ID.
    react = client.reactions_add
    err = api_error(react, channel="U0SVEA", timestamp=sent["ts"], name="eyes")
    assert err.response["error"] == "channel_not_found"
    assert react(channel=sent["channel"], timestamp=sent["ts"], name="eyes")["ok"]


# ------------------------------------------------------- 2. text Slack sends the app
def test_manifest_says_which_commands_escape() -> None:
    # manifest.yml slash_commands.should_escape decides what the kit sends for each command;
    # Slack's default is false (https://api.slack.com/reference/manifests#features).
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    commands = manifest["features"]["slash_commands"]
    assert commands
    for entry in commands:
        assert should_escape(entry["command"]) is bool(entry.get("should_escape", False))
    assert should_escape("/no-such-command") is False


def test_an_escaping_command_gets_mentions_channels_and_links_as_tokens(
    slack: LocalSlack, app_side: tuple[SlackKit, Recorder]
) -> None:
    # https://api.slack.com/interactivity/slash-commands ("Escape channels, users, and
    # links sent to your app": "wrap URLs in angle brackets", "translate channel or user
    # mentions into their correlated IDs", public channels with their name, private ones
    # without) and https://api.slack.com/reference/surfaces/formatting#escaping
    # (&, <, > as entities).
    kit, app = app_side
    typed = "thanks @kari & @grace for <fixing> https://x.example/a?b=1&c=2 in #general @here"
    kit.command("/shoutout", typed, user="U0ADA", should_escape=True)
    assert app.form()["text"] == (
        "thanks <@U0KARI|kari> &amp; <@U0GRACE|grace> for &lt;fixing&gt; "
        "<https://x.example/a?b=1&amp;c=2> in <#C0GENERAL|general> <!here>"
    )
    # What the composer inserts for a picked mention or a labelled link is kept, with the
    # name Slack adds to escaped mentions; user groups become subteam tokens.
    kit.command(
        "/shoutout", "<@U0KARI> <https://x.example|the ticket> @cx-team", should_escape=True
    )
    assert app.form()["text"] == (
        "<@U0KARI> <https://x.example|the ticket> <!subteam^S0CXTEAM|@cx-team>"
    )
    slack.add_channel("C0SECRET", "secret", members=["U0ADA"], is_private=True)
    kit.command("/shoutout", "#secret and <#C0GENERAL>", should_escape=True)
    assert app.form()["text"] == "<#C0SECRET|> and <#C0GENERAL|general>"


def test_a_plain_command_gets_entities_but_no_tokens(
    slack: LocalSlack, app_side: tuple[SlackKit, Recorder]
) -> None:
    # https://api.slack.com/interactivity/slash-commands: "If disabled, the payload will
    # repeat the plain text" (`@crushermd ... #d-social`), URLs unwrapped; &, <, > are
    # always entities (https://api.slack.com/reference/surfaces/formatting#escaping).
    kit, app = app_side
    typed = "A & B <@U0KARI> #general https://x.example <!here> 1 < 2"
    kit.command("/insight", typed, should_escape=False)
    assert app.form()["text"] == "A &amp; B @kari #general https://x.example @here 1 &lt; 2"
    kit.command("/insight", "see <https://x.example|the ticket>", should_escape=False)
    assert app.form()["text"] == "see <https://x.example|the ticket>"


def test_encoded_text_is_not_encoded_twice(slack: LocalSlack) -> None:
    # Slack encodes once (https://api.slack.com/reference/surfaces/formatting#escaping);
    # a test that writes Slack's encoding gets exactly that.
    delivered = "A &amp; B &lt;x&gt; <@U0KARI|kari> <https://x.example?a=1&amp;b=2|link>"
    assert slack.command_text(delivered, should_escape=True) == delivered
    assert slack.stored_text(delivered) == delivered
    once = slack.command_text("a & b @kari https://x.example", should_escape=True)
    assert slack.command_text(once, should_escape=True) == once


def test_a_message_shortcut_carries_the_stored_message_text(
    slack: LocalSlack, client: WebClient, app_side: tuple[SlackKit, Recorder]
) -> None:
    # A message's `text` is what Slack stores: entities, tokens, URLs wrapped by Slack's
    # server (https://api.slack.com/docs/formatting "URL detection is performed by the
    # server"); a message_action sends that message (slackapi/bolt-python
    # tests/scenario_tests/test_shortcut.py, message_shortcut body: "message": {"text"...}).
    kit, app = app_side
    said = "Kunden sa <nope> & ringte <@U0KARI> https://x.example"
    kit.message_shortcut("save_insight", {"ts": "1.000001", "text": said, "user": "U0KARI"})
    assert app.payload()["message"]["text"] == (
        "Kunden sa &lt;nope&gt; &amp; ringte <@U0KARI> <https://x.example>"
    )
    ts = client.chat_postMessage(channel="C0GENERAL", text="Q&amp;A <https://x.example|doc>")["ts"]
    kit.message_shortcut("save_insight", {"ts": ts, "user": "U0CXBOT"}, channel="C0GENERAL")
    assert app.payload()["message"]["text"] == "Q&amp;A <https://x.example|doc>"


# ----------------------------------------------------------------- 3. Block Kit
def button(**kw: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": "go",
        "text": {"type": "plain_text", "text": "Go"},
        **kw,
    }


def option(i: int, text: str | None = None, value: str | None = None) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text or f"o{i}"}, "value": value or f"v{i}"}


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def section(text: str = "hi", **kw: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **kw}


def select(options: list[dict[str, Any]], kind: str = "static_select", **kw: Any) -> dict:
    return {"type": kind, "action_id": "pick", "options": options, **kw}


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


# (case, a valid block at the limit, the block past it, where Slack points)
BLOCK_RULES = [
    # https://api.slack.com/reference/block-kit/block-elements#button: text 75 characters;
    # slack_sdk/models/blocks/block_elements.py ButtonElement.text_max_length = 75.
    (
        "button text 75",
        actions(button(text=plain("x" * 75))),
        actions(button(text=plain("x" * 76))),
        "/elements/0/text/text",
    ),
    # block-elements#button: action_id 255 (BlockElement action_id_max_length = 255).
    (
        "action_id 255",
        actions(button(action_id="a" * 255)),
        actions(button(action_id="a" * 256)),
        "/elements/0/action_id",
    ),
    # block-elements#button: value 2,000 (ButtonElement.value_max_length).
    (
        "button value 2000",
        actions(button(value="v" * 2000)),
        actions(button(value="v" * 2001)),
        "/elements/0/value",
    ),
    # block-elements#button: url 3,000 (ButtonElement.url_max_length).
    (
        "button url 3000",
        actions(button(url="https://x.example/" + "u" * 2982)),
        actions(button(url="https://x.example/" + "u" * 2983)),
        "/elements/0/url",
    ),
    # https://api.slack.com/reference/block-kit/block-elements#button: text is plain_text.
    (
        "button text plain_text",
        actions(button()),
        actions(button(text={"type": "mrkdwn", "text": "Go"})),
        "/elements/0/text/type",
    ),
    # https://api.slack.com/reference/block-kit/composition-objects#option: text 75, value 150
    # (slack_sdk/models/blocks/basic_components.py Option label_max_length / value_max_length).
    (
        "option text 75",
        actions(select([option(0, text="t" * 75)])),
        actions(select([option(0, text="t" * 76)])),
        "/elements/0/options/0/text/text",
    ),
    (
        "option value 150",
        actions(select([option(0, value="v" * 150)])),
        actions(select([option(0, value="v" * 151)])),
        "/elements/0/options/0/value",
    ),
    # block-elements#static_select: at most 100 options (StaticSelectElement.options_max_length).
    (
        "100 options",
        actions(select([option(i) for i in range(100)])),
        actions(select([option(i) for i in range(101)])),
        "/elements/0/options",
    ),
    # block-elements#overflow: 2 to 5 options (OverflowMenuElement.options_max_length = 5).
    (
        "5 overflow options",
        actions(select([option(i) for i in range(5)], kind="overflow")),
        actions(select([option(i) for i in range(6)], kind="overflow")),
        "/elements/0/options",
    ),
    # block-elements#radio and #checkboxes: at most 10 options.
    (
        "10 radio options",
        actions(select([option(i) for i in range(10)], kind="radio_buttons")),
        actions(select([option(i) for i in range(11)], kind="radio_buttons")),
        "/elements/0/options",
    ),
    (
        "10 checkbox options",
        actions(select([option(i) for i in range(10)], kind="checkboxes")),
        actions(select([option(i) for i in range(11)], kind="checkboxes")),
        "/elements/0/options",
    ),
    # block-elements#static_select: initial_option must be one of the options exactly.
    (
        "initial_option among the options",
        actions(select([option(0), option(1)], initial_option=option(1))),
        actions(select([option(0), option(1)], initial_option=option(2))),
        "/elements/0/initial_option",
    ),
    # block-elements: placeholder plain_text, 150 characters (placeholder_max_length = 150).
    (
        "placeholder 150",
        actions(select([option(0)], placeholder=plain("p" * 150))),
        actions(select([option(0)], placeholder=plain("p" * 151))),
        "/elements/0/placeholder/text",
    ),
    # https://api.slack.com/reference/block-kit/block-elements: an action_id is unique among
    # the action_ids in its block.
    (
        "duplicate action_id",
        actions(button(), button(action_id="other")),
        actions(button(), button()),
        "/elements/1/action_id",
    ),
    # https://api.slack.com/reference/block-kit/composition-objects#text: text at least 1 char.
    ("empty text", section("x"), section(""), "/text/text"),
    # https://api.slack.com/reference/block-kit/blocks#section: text 3,000 characters.
    ("section text 3000", section("x" * 3000), section("x" * 3001), "/text/text"),
    # blocks#section: fields at most 10 items, each at most 2000 characters
    # (slack_sdk/models/blocks/blocks.py SectionBlock.fields_max_length = 10).
    (
        "10 fields",
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 10},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11},
        "/fields",
    ),
    (
        "field text 2000",
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2000}]},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]},
        "/fields/0/text",
    ),
    # https://api.slack.com/reference/block-kit/blocks#header: text is plain_text, 150.
    (
        "header plain_text",
        {"type": "header", "text": plain("Weekly digest")},
        {"type": "header", "text": {"type": "mrkdwn", "text": "*Weekly*"}},
        "/text/type",
    ),
    (
        "header 150",
        {"type": "header", "text": plain("h" * 150)},
        {"type": "header", "text": plain("h" * 151)},
        "/text/text",
    ),
    # https://api.slack.com/reference/block-kit/blocks#context: at most 10 elements
    # (slack_sdk/models/blocks/blocks.py ContextBlock.elements_max_length = 10).
    (
        "context 10 elements",
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 10},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11},
        "/elements",
    ),
]


@pytest.mark.parametrize(
    ("valid", "invalid", "where"),
    [pytest.param(v, i, w, id=case) for case, v, i, w in BLOCK_RULES],
)
def test_message_blocks_are_checked_down_to_the_elements(
    client: WebClient, valid: dict[str, Any], invalid: dict[str, Any], where: str
) -> None:
    assert client.chat_postMessage(channel="C0GENERAL", text="t", blocks=[valid])["ok"]
    err = api_error(client.chat_postMessage, channel="C0GENERAL", text="t", blocks=[invalid])
    body = err.response.data
    # Slack's shape: invalid_blocks, `errors`, and response_metadata.messages "[ERROR] ..."
    # with a JSON pointer (the same error as in https://api.slack.com/methods/chat.postMessage
    # #errors: invalid_blocks "The blocks is invalid for the request").
    assert isinstance(body, dict) and body["error"] == "invalid_blocks"
    pointer = f"[json-pointer:/blocks/0{where}]"
    assert any(e.endswith(pointer) for e in body["errors"]), body["errors"]
    messages = body["response_metadata"]["messages"]
    assert any(m.startswith("[ERROR] ") and m.endswith(pointer) for m in messages)


@pytest.mark.parametrize(
    ("valid", "invalid", "where"),
    [pytest.param(v, i, w, id=case) for case, v, i, w in BLOCK_RULES[:4]],
)
def test_the_same_checks_on_update_ephemeral_and_response_urls(
    slack: LocalSlack, client: WebClient, valid: dict, invalid: dict, where: str
) -> None:
    # https://api.slack.com/methods/chat.update, .../chat.postEphemeral and response URLs
    # (https://api.slack.com/interactivity/handling#message_responses) take the same blocks.
    ts = client.chat_postMessage(channel="C0GENERAL", text="t", blocks=[valid])["ts"]
    err = api_error(client.chat_update, channel="C0GENERAL", ts=ts, text="t", blocks=[invalid])
    assert err.response["error"] == "invalid_blocks"
    eph = client.chat_postEphemeral
    err = api_error(eph, channel="C0GENERAL", user="U0ADA", text="t", blocks=[invalid])
    assert err.response["error"] == "invalid_blocks"
    hook = WebhookClient(slack.response_url("C0GENERAL", "U0ADA")).send(text="t", blocks=[invalid])
    assert (hook.status_code, hook.body) == (400, "invalid_blocks")


def test_fifty_blocks_a_message_and_unique_block_ids(client: WebClient) -> None:
    # https://api.slack.com/reference/block-kit/blocks: at most 50 blocks in a message, and
    # a block_id is unique within its message.
    post = client.chat_postMessage
    assert post(channel="C0GENERAL", text="t", blocks=[section()] * 50)["ok"]
    err = api_error(post, channel="C0GENERAL", text="t", blocks=[section()] * 51)
    assert "no more than 50 items allowed [json-pointer:/blocks]" in err.response["errors"]
    twice = [section(block_id="a"), section(block_id="a")]
    err = api_error(post, channel="C0GENERAL", text="t", blocks=twice)
    assert any(e.endswith("[json-pointer:/blocks/1/block_id]") for e in err.response["errors"])


def modal(blocks: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return {"type": "modal", "title": plain("Insight"), "blocks": blocks, **kw}


def text_input(**element: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": "text",
        "label": plain("What did they say?"),
        "element": {"type": "plain_text_input", "action_id": "value", **element},
    }


def test_views_refuse_with_invalid_arguments_and_pointers_into_the_view(
    slack: LocalSlack, client: WebClient
) -> None:
    # views.open/update/push/publish answer invalid_arguments with only
    # response_metadata.messages, e.g. "[ERROR] must be less than 25 characters
    # [json-pointer:/view/title/text]" (https://api.slack.com/methods/views.open#errors;
    # title, submit and close: plain_text, max 24 characters,
    # https://api.slack.com/reference/surfaces/views; slack_sdk/models/views View limits).
    def refused(view: dict[str, Any]) -> list[str]:
        err = api_error(client.views_open, trigger_id=slack.new_trigger_id(), view=view)
        body = err.response.data
        assert isinstance(body, dict) and body["error"] == "invalid_arguments"
        assert "errors" not in body
        return list(body["response_metadata"]["messages"])

    submit = plain("Save")
    assert client.views_open(
        trigger_id=slack.new_trigger_id(), view=modal([section()], title=plain("t" * 24))
    )["ok"]
    assert refused(modal([section()], title=plain("t" * 25))) == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]
    mrkdwn_title = modal([section()], title={"type": "mrkdwn", "text": "*x*"})
    assert any(m.endswith("[json-pointer:/view/title/type]") for m in refused(mrkdwn_title))
    for key in ("submit", "close"):
        long = modal([text_input()], **{"submit": submit, key: plain("s" * 25)})
        assert any(m.endswith(f"[json-pointer:/view/{key}/text]") for m in refused(long))
    # Up to 100 blocks in a view (https://api.slack.com/reference/block-kit/blocks).
    assert any(m.endswith("[json-pointer:/view/blocks]") for m in refused(modal([section()] * 101)))
    # An element inside a view is checked like one in a message.
    assert any(
        m.endswith("[json-pointer:/view/blocks/0/elements/0/text/text]")
        for m in refused(modal([actions(button(text=plain("x" * 76)))]))
    )
    # block-elements#input: plain_text_input max_length "maximum 3000".
    form = modal([text_input(max_length=3000)], submit=submit)
    assert client.views_open(trigger_id=slack.new_trigger_id(), view=form)["ok"]
    too_long = modal([text_input(max_length=3001)], submit=submit)
    assert any(
        m.endswith("[json-pointer:/view/blocks/0/element/max_length]") for m in refused(too_long)
    )
    # "must define `submit` to use an `input` block in modals" (Slack's own wording).
    assert any("submit" in m for m in refused(modal([text_input()])))
    home = {"type": "home", "blocks": [section("")]}
    err = api_error(client.views_publish, user_id="U0ADA", view=home)
    assert err.response["error"] == "invalid_arguments"


# ------------------------------------------------------------- 4. Slack Connect
def partner(slack: LocalSlack) -> None:
    slack.add_external_user(
        PARTNER,
        "pia",
        real_name="Pia Partner",
        team_id=PARTNER_TEAM,
        team_domain="acme",
        enterprise_id=PARTNER_ORG,
        enterprise_name="Acme Org",
    )
    slack.set_member("C0CUSTOMER", PARTNER)


def test_a_partner_member_keeps_their_own_team(slack: LocalSlack, client: WebClient) -> None:
    # https://api.slack.com/types/user: team_id is the member's own team; a Slack Connect
    # channel lists every organisation in it (https://api.slack.com/types/conversation:
    # conversation_host_id, shared_team_ids).
    partner(slack)
    assert client.users_info(user=PARTNER)["user"]["team_id"] == PARTNER_TEAM
    info = client.conversations_info(channel="C0CUSTOMER")["channel"]
    assert info["is_ext_shared"] is True and info["conversation_host_id"] == slack.team_id
    assert info["shared_team_ids"] == [slack.team_id, PARTNER_TEAM]
    assert PARTNER in client.conversations_members(channel="C0CUSTOMER")["members"]


def test_a_partners_press_carries_their_team_and_the_installing_app(
    slack: LocalSlack, client: WebClient, app_side: tuple[SlackKit, Recorder]
) -> None:
    # slackapi/bolt-python tests/scenario_tests/test_view_submission.py
    # (connect_channel_payload): team.id and user.team_id are the partner's, `enterprise`
    # their org; the app (api_app_id) and view.app_installed_team_id are the installing
    # workspace's. slack_bolt/request/internals.py extract_team_id prefers
    # view.app_installed_team_id for that reason; a button press in a message has no view.
    partner(slack)
    kit, app = app_side
    ts = client.chat_postMessage(channel="C0CUSTOMER", text="card", blocks=[actions(button())])
    (msg,) = slack.messages("C0CUSTOMER")
    kit.block_action("go", "1", user=PARTNER, message=msg)
    press = app.payload()
    assert press["team"] == {
        "id": PARTNER_TEAM,
        "domain": "acme",
        "enterprise_id": PARTNER_ORG,
        "enterprise_name": "Acme Org",
    }
    assert press["user"] == {
        "id": PARTNER,
        "username": "pia",
        "name": "pia",
        "team_id": PARTNER_TEAM,
    }
    assert press["enterprise"] == {"id": PARTNER_ORG, "name": "Acme Org"}
    assert press["api_app_id"] == kit.api_app_id and press["is_enterprise_install"] is False
    assert press["channel"]["id"] == "C0CUSTOMER" and press["message"]["ts"] == ts["ts"]
    assert press["message"]["team"] == slack.team_id  # the bot's message, the bot's team

    kit.view_submission("insight_modal", {}, user=PARTNER)
    submitted = app.payload()
    assert submitted["team"]["id"] == submitted["user"]["team_id"] == PARTNER_TEAM
    assert submitted["view"]["team_id"] == PARTNER_TEAM
    assert submitted["view"]["app_installed_team_id"] == slack.team_id

    # The workspace's own members are unchanged.
    kit.block_action("go", "1", user="U0ADA", message=msg)
    assert app.payload()["team"]["id"] == app.payload()["user"]["team_id"] == slack.team_id


def test_a_modal_opened_for_a_partner_names_both_teams(
    slack: LocalSlack, client: WebClient
) -> None:
    # slackapi/bolt-python tests/scenario_tests/test_view_submission.py (connect_channel_payload
    # "view": team_id the partner's, app_installed_team_id the installing workspace's).
    partner(slack)
    view = client.views_open(trigger_id=slack.new_trigger_id(PARTNER), view=modal([section()]))
    assert view["view"]["team_id"] == PARTNER_TEAM
    assert view["view"]["app_installed_team_id"] == slack.team_id
    mine = client.views_open(trigger_id=slack.new_trigger_id("U0ADA"), view=modal([section()]))
    assert mine["view"]["team_id"] == mine["view"]["app_installed_team_id"] == slack.team_id


# ------------------------------------------------------------ 5. uncertain sends
def test_an_uncertain_send_is_stored_and_answered_500(slack: LocalSlack, client: WebClient) -> None:
    # https://api.slack.com/methods/chat.postMessage#errors: fatal_error / internal_error,
    # "it's possible some aspect of the operation succeeded before the error was raised".
    slack.uncertain_sends(2, statuses=(500,))
    for i in range(2):
        err = api_error(client.chat_postMessage, channel="U0SVEA", text=f"maybe {i}")
        assert err.response.status_code == 500
    assert client.chat_postMessage(channel="U0SVEA", text="sure")["ok"]
    dm = client.conversations_open(users="U0SVEA")["channel"]["id"]
    history = client.conversations_history(channel=dm)["messages"]
    assert [m["text"] for m in history] == ["sure", "maybe 1", "maybe 0"]
    calls = slack.calls_to("chat.postMessage")
    assert [(c.status, c.took_effect) for c in calls] == [(500, True), (500, True), (200, False)]


def test_an_uncertain_send_can_drop_the_connection(slack: LocalSlack, client: WebClient) -> None:
    # A connection that closes before an answer: the request was read and the message
    # stored, the client gets no status line at all.
    slack.uncertain_sends(1, statuses=(DROP,))
    with pytest.raises(ConnectionError):  # http.client.RemoteDisconnected
        client.chat_postMessage(channel="C0GENERAL", text="gone?")
    assert [m["text"] for m in slack.messages("C0GENERAL")] == ["gone?"]
    assert slack.calls_to("chat.postMessage")[0].took_effect
    # slack_sdk's default WebClient retries a dropped connection once
    # (slackapi/python-slack-sdk slack_sdk/http_retry/builtin_handlers.py
    # ConnectionErrorRetryHandler), so an app using it posts the message twice.
    slack.uncertain_sends(1, statuses=(DROP,))
    default = WebClient(base_url=slack.base_url, token=slack.bot_token)
    assert default.chat_postMessage(channel="C0SHOUT", text="twice")["ok"]
    assert [m["text"] for m in slack.messages("C0SHOUT")] == ["twice", "twice"]


def test_a_seeded_share_of_sends_is_uncertain_and_every_message_is_stored() -> None:
    def run() -> list[int]:
        with LocalSlack.demo(rate_limits=False, seed=3) as slack:
            slack.uncertain_sends(rate=0.2, statuses=(500,))
            client = WebClient(base_url=slack.base_url, token=slack.bot_token, retry_handlers=[])
            statuses = []
            for i in range(100):
                try:
                    statuses.append(
                        client.chat_postMessage(channel="C0GENERAL", text=str(i)).status_code
                    )
                except SlackApiError as err:
                    statuses.append(err.response.status_code)
            assert len(slack.messages("C0GENERAL")) == 100
            assert sum(c.took_effect for c in slack.calls) == statuses.count(500)
            return statuses

    first = run()
    assert 8 <= first.count(500) <= 35  # 20 expected
    assert run() == first  # the same seed, the same sends uncertain


def test_uncertain_sends_touch_only_what_they_name(slack: LocalSlack, client: WebClient) -> None:
    slack.uncertain_sends(1)
    assert client.users_info(user="U0ADA")["ok"]  # not chat.postMessage
    # A refused post is not one of the uncertain ones: the next good one is.
    assert (
        api_error(client.chat_postMessage, channel="C0MISSING", text="x").response["error"]
        == "channel_not_found"
    )
    with pytest.raises((SlackApiError, ConnectionError)):  # a 500, or no answer at all
        client.chat_postMessage(channel="C0GENERAL", text="uncertain")
    assert client.chat_postMessage(channel="C0GENERAL", text="fine")["ok"]
    slack.uncertain_sends(0)
    assert client.chat_postMessage(channel="C0GENERAL", text="also fine")["ok"]
