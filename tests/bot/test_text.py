"""bot.text: Slack's encoding read once on the way in, escaped once on the way out.

The encoding follows https://api.slack.com/reference/surfaces/formatting#escaping (only &, <
and > are entities) and #linking-urls / #mentioning-users (references in angle brackets);
slash-command text arrives that way (https://api.slack.com/interactivity/slash-commands).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.text import chunks, clean, fit, from_slack, literal_parts, mrkdwn, plain, shown

# As Slack sends "Tom & Jerry <3 see Docs (link) and @ada" typed with a link and a mention.
ENCODED = "Tom &amp; Jerry &lt;3 see <https://docs.example.com/a?b=1&amp;c=2|Docs> and <@U0ADA|ada>"

# What hostile text looks like once it is in the stored form (typed into a modal, a
# customer's comment, a model's answer): none of it may act on the way out.
INJECTIONS = [
    "<!channel> everyone look",
    "<!here>",
    "<!everyone>",
    "<@U0GRACE> you are mentioned",
    "<https://evil.example|click here>",
    "<!subteam^S0CXTEAM|@cx-team>",
    "<#C0GENERAL|general>",
    "<mailto:ceo@example.com|ceo>",
]


def test_encoded_text_is_stored_as_meant() -> None:
    stored = from_slack(ENCODED)
    assert stored == (
        "Tom & Jerry <3 see <https://docs.example.com/a?b=1&c=2|Docs> and <@U0ADA|ada>"
    )
    # Typed brackets are characters, not references: shown as typed, never as markup.
    assert mrkdwn(stored).startswith("Tom &amp; Jerry &lt;3 see ")


def test_one_link_one_mention_one_ampersand_on_the_way_out() -> None:
    out = mrkdwn(from_slack(ENCODED))
    assert out.count("<@U0ADA>") == 1
    assert out.count("<https://docs.example.com/a?b=1&amp;c=2>") == 1
    assert "&amp;amp;" not in out and "&amp;lt;" not in out
    assert out.count("Tom &amp; Jerry") == 1
    assert plain(from_slack(ENCODED)) == (
        "Tom & Jerry <3 see Docs (https://docs.example.com/a?b=1&c=2) and @ada"
    )


def test_a_label_never_hides_where_a_link_goes() -> None:
    out = mrkdwn("<https://evil.example|click here>")
    assert out == "click here (<https://evil.example>)"


@pytest.mark.parametrize("text", INJECTIONS)
def test_outside_text_keeps_no_reference(text: str) -> None:
    out = mrkdwn(text, people=False)
    assert "<" not in out and ">" not in out.replace("&gt;", "")


@pytest.mark.parametrize("text", INJECTIONS)
def test_a_colleagues_text_never_broadcasts(text: str) -> None:
    out = mrkdwn(text)
    assert not re.search(r"<!(here|channel|everyone|subteam)", out)
    # A link is shown with its address; a label alone never.
    for link in re.findall(r"<(https?://[^>|]+)\|", out):
        pytest.fail(f"labelled link {link} in {out!r}")


def test_broadcasts_from_slack_are_words() -> None:
    assert mrkdwn(from_slack("<!here> look")) == "@here look"
    assert mrkdwn(from_slack("<!subteam^S0CXTEAM|@cx-team> thanks")) == "@cx-team thanks"


def test_dates_and_mail_links_read_as_text() -> None:
    assert from_slack("<!date^1392734382^{date}|Feb 18, 2014>") == "Feb 18, 2014"
    assert from_slack("<mailto:kari@example.no|kari@example.no>") == "kari@example.no"


def test_clean_keeps_the_text_around_what_cannot_be_stored() -> None:
    assert clean("a\x00b\ud800c") == "ab\ufffdc"
    assert from_slack("x&amp;\ud800") == "x&\ufffd"


def test_shown_cuts_after_escaping_and_never_inside_an_entity() -> None:
    text = "&<>" * 1000
    out = shown(text, 3000)
    assert len(out) <= 3000 and out.endswith("…")
    assert not re.search(r"&[a-z]{0,3}…$", out)
    assert mrkdwn(text).startswith(out[:-1])


def test_shown_never_cuts_a_reference() -> None:
    text = "x" * 20 + " <@U0ADA|ada> tail"
    out = shown(text, 25)
    assert "<@U0" not in out or "<@U0ADA>" in out
    assert len(out) <= 25


def test_chunks_hold_the_whole_note() -> None:
    note = ("&<>" * 500 + "\n") * 2
    parts = chunks(note, 3000)
    assert all(len(p) <= 3000 for p in parts)
    joined = "".join(parts).replace("\n", "")
    assert joined == mrkdwn(note.strip()).replace("\n", "")


def test_fit_keeps_entities_and_references_whole() -> None:
    assert fit("ab &amp; cd", 6) == "ab…"
    assert fit("ab <@U0ADA> cd", 8) == "ab…"


def test_masking_does_not_break_a_reference() -> None:
    out = literal_parts("call <@U01234567> on 41234567", lambda s: re.sub(r"\d{8}", "[PHONE]", s))
    assert out == "call <@U01234567> on [PHONE]"


@given(st.text(max_size=300))
def test_escaping_anything_outside_leaves_no_markup(text: str) -> None:
    out = mrkdwn(clean(text), people=False)
    assert "<" not in out and ">" not in out


@given(st.text(max_size=300), st.integers(min_value=5, max_value=400))
def test_shown_is_within_its_limit(text: str, limit: int) -> None:
    assert len(shown(text, limit)) <= limit
