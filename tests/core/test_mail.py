"""core.mail: settings, tokens and signed links, drafts in four languages, the composed
mail's headers, inbound parsing (quoted history, attachments, Postmark) and the digest's
follow-up figures."""

from __future__ import annotations

import pytest

from core import mail as m


def test_smtp_urls() -> None:
    assert m.parse_smtp_url("smtp://u%40x:p%3Ass@mail.example:2525") == m.SmtpTarget(
        "mail.example", 2525, False, "u@x", "p:ss"
    )
    assert m.parse_smtp_url("smtps://mail.example").port == 465
    assert m.parse_smtp_url("smtp://mail.example").port == 587
    for bad in ("http://mail.example", "smtp://", "smtp://h:99999"):
        with pytest.raises(ValueError):
            m.parse_smtp_url(bad)


def test_tokens_and_signed_links() -> None:
    token = m.new_token()
    assert len(token) == 32 and token == token.lower()
    address = m.reply_address(token, "Replies.Example")
    assert m.token_of(f"Support <{address}>") == token
    assert m.token_of("reply+short@replies.example") is None
    assert m.token_of("someone@replies.example") is None
    key = m.new_key()
    link = m.sign(41, key, "rate")
    assert m.verify(link, key, "rate") and m.signed_id(link) == 41
    assert not m.verify(link, key, "unsubscribe")  # a rating link unsubscribes nobody
    assert not m.verify(link.replace("41.", "42."), key, "rate")
    assert not m.verify(link, m.new_key(), "rate")


def test_language_and_drafts() -> None:
    assert m.customer_locale(None, "Jeg ventet i en time og ingen ringte meg tilbake") == "nb"
    assert m.customer_locale("sv-SE", "anything") == "sv"
    assert m.customer_locale(None, None) == "en"
    for locale, greeting in (("en", "Hi Kari,"), ("nb", "Hei Kari,"), ("da", "Hej Kari,"),
                             ("sv", "Hej Kari,")):  # fmt: skip
        text = m.draft(locale, name="Kari", comment="x" * 400, sender="Ada")
        assert text.startswith(greeting) and text.endswith("Ada") and "…" in text
    assert m.draft("en", name=None, comment=None, sender="").startswith("Hi,")


def test_compose_threads_and_unsubscribes() -> None:
    msg = m.compose(
        m.Outgoing(
            mail_id=7, to="kari@kunde.example", sender="Acme <care@acme.example>",
            reply_to="reply+abc@r.example", subject="Om tilbakemeldingen din", body="Hei Kari",
            locale="nb", message_id="<cxbot.1@r.example>", in_reply_to="<their@kunde.example>",
            rating_url="https://cx.example/mail/rate?t=7.x",
            unsubscribe_url="https://cx.example/mail/unsubscribe?t=7.y",
        )
    )  # fmt: skip
    assert msg["In-Reply-To"] == "<their@kunde.example>"
    assert msg["References"] == "<their@kunde.example>"
    assert msg["List-Unsubscribe"] == "<https://cx.example/mail/unsubscribe?t=7.y>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = msg.get_content()
    assert "Hvordan opplever du det nå?" in body and "rate?t=7.x&score=5" in body


def test_quoted_history_is_stripped() -> None:
    reply = (
        "Takk, det hjalp!\n\nHilsen Kari\n\n"
        "Den man. 23. nov. 2026 kl. 10:00 skrev Acme <care@acme.example>:\n> Hei Kari\n"
    )
    assert m.strip_quoted(reply) == "Takk, det hjalp!\n\nHilsen Kari"
    outlook = "Fine now.\r\n\r\n-----Original Message-----\r\nFrom: Acme\r\nold text"
    assert m.strip_quoted(outlook) == "Fine now."
    gmail = "Yes.\n\nOn Mon, 23 Nov 2026 at 10:00, Acme <care@acme.example>\nwrote:\n> hi"
    assert m.strip_quoted(gmail) == "Yes."
    assert m.strip_quoted("ok\n-- \nKari Nordmann\n+47 99") == "ok"


def test_parse_message_lists_attachments() -> None:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = "Kari <kari@kunde.example>"
    msg["To"] = "reply+" + "a" * 32 + "@r.example"
    msg["Message-ID"] = "<1@kunde.example>"
    msg.set_content("Svar\n\n> gammelt")
    msg.add_attachment(b"12345", maintype="image", subtype="png", filename="bilde.png")
    found = m.parse_message(msg.as_bytes())
    assert found.text == "Svar" and found.tokens() == ["a" * 32]
    assert found.attachments == (m.Attachment("bilde.png", "image/png", 5),)


def test_postmark() -> None:
    found = m.from_postmark(
        {
            "FromFull": {"Email": "kari@kunde.example"},
            "ToFull": [{"Email": "reply+" + "b" * 32 + "@r.example"}],
            "TextBody": "Hei\n\nOn Mon wrote:\n> x",
            "Headers": [{"Name": "Message-ID", "Value": "<2@kunde.example>"}],
            "MessageID": "pm-1",
            "Attachments": [{"Name": "a.pdf", "ContentType": "application/pdf",
                             "ContentLength": 10, "Content": "eA=="}],
        }
    )  # fmt: skip
    assert found.text == "Hei" and found.message_id == "<2@kunde.example>"
    assert found.tokens() == ["b" * 32] and found.attachments[0].size == 10


def test_loop_figures() -> None:
    rows = [
        m.LoopRow(mailed=False, replied=False, rating=None),  # never contacted
        m.LoopRow(mailed=True, replied=False, rating=None),  # reached, silent
        m.LoopRow(mailed=True, replied=True, rating=2),  # replied, still unhappy
        m.LoopRow(mailed=True, replied=True, rating=5),  # recovered
        m.LoopRow(mailed=True, replied=False, rating=4),  # rated without writing: recovered
    ]
    assert m.loop_figures(rows) == {"reached": 4, "replied": 2, "rated": 3, "recovered": 2}
    assert m.loop_figures([]) == {"reached": 0, "replied": 0, "rated": 0, "recovered": 0}
    assert m.loop_figures(rows, recovered_at=5)["recovered"] == 1


def _postmark_inbound(**changes: object) -> dict[str, object]:
    """An inbound webhook body with every field Postmark documents, in its shapes: `To` and
    `Cc` as header strings with display names, the *Full lists with their MailboxHash, the
    mail's own headers as Name/Value pairs beside Postmark's spam headers, attachments with
    ContentID, and StrippedTextReply "" where Postmark could not strip (it strips English
    replies only). Shape: https://postmarkapp.com/developer/webhooks/inbound-webhook and
    https://postmarkapp.com/developer/user-guide/inbound/parse-an-email (values ours)."""
    token = "c" * 32
    reply_to = f"reply+{token}@replies.acme.example"
    body: dict[str, object] = {
        "FromName": "Kari Nordmann",
        "MessageStream": "inbound",
        "From": "kari@kunde.example",
        "FromFull": {"Email": "kari@kunde.example", "Name": "Kari Nordmann", "MailboxHash": ""},
        "To": f'"Acme Care" <{reply_to}>',
        "ToFull": [{"Email": reply_to, "Name": "Acme Care", "MailboxHash": token}],
        "Cc": '"Ola Nordmann" <ola@kunde.example>, <per@kunde.example>',
        "CcFull": [
            {"Email": "ola@kunde.example", "Name": "Ola Nordmann", "MailboxHash": ""},
            {"Email": "per@kunde.example", "Name": "", "MailboxHash": ""},
        ],
        "Bcc": "",
        "BccFull": [],
        "OriginalRecipient": reply_to,
        "Subject": "Re: About your feedback",
        "MessageID": "2f8c3a1e-5b6d-4e7f-9a0b-1c2d3e4f5a6b",
        "ReplyTo": "",
        "MailboxHash": token,
        "Date": "Mon, 23 Nov 2026 10:04:11 +0100",
        "TextBody": "Thanks, it works now.\r\n\r\nOn Mon, 23 Nov 2026 at 09:00, Acme Care "
        f"<{reply_to}> wrote:\r\n> Hi Kari,\r\n",
        "HtmlBody": "<html><head><style>p{margin:0}</style></head><body><p>Thanks, it works "
        "now.</p><blockquote><p>Hi Kari,</p></blockquote></body></html>",
        "StrippedTextReply": "Thanks, it works now.",
        "Tag": "",
        "Headers": [
            {"Name": "Return-Path", "Value": "<kari@kunde.example>"},
            {"Name": "Received", "Value": "by mx.kunde.example with SMTP id x1"},
            {"Name": "Received", "Value": "by mail.kunde.example with HTTP id x2"},
            {"Name": "X-Spam-Checker-Version", "Value": "SpamAssassin 3.4.6 on inbound"},
            {"Name": "X-Spam-Status", "Value": "No"},
            {"Name": "X-Spam-Score", "Value": "-0.1"},
            {"Name": "X-Spam-Tests", "Value": "DKIM_SIGNED,DKIM_VALID,SPF_PASS"},
            {"Name": "Received-SPF", "Value": "pass (kunde.example: 192.0.2.7 is authorized)"},
            {"Name": "MIME-Version", "Value": "1.0"},
            {"Name": "Message-ID", "Value": "<CAK7x9Q@mail.kunde.example>"},
            {"Name": "In-Reply-To", "Value": "<cxbot.0a1b2c@replies.acme.example>"},
            {"Name": "References", "Value": "<cxbot.0a1b2c@replies.acme.example>"},
        ],
        "Attachments": [
            {"Name": "receipt.pdf", "Content": "JVBERi0xLjQ=", "ContentType": "application/pdf",
             "ContentLength": 4096, "ContentID": ""},
            {"Name": "image001.png", "Content": "iVBORw0KGgo=", "ContentType": "image/png",
             "ContentLength": 512, "ContentID": "image001.png@01DB3D6A.5C4E2F10"},
        ],
    }  # fmt: skip
    body.update(changes)
    return body


def test_postmark_inbound_as_documented() -> None:
    found = m.from_postmark(_postmark_inbound())
    assert found.sender == "kari@kunde.example"
    assert found.tokens() == ["c" * 32]
    assert found.text == "Thanks, it works now."
    # The mail's own Message-ID threads it and tells a retry apart, not Postmark's MessageID.
    assert found.message_id == "<CAK7x9Q@mail.kunde.example>"
    assert found.in_reply_to == "<cxbot.0a1b2c@replies.acme.example>"
    assert found.subject == "Re: About your feedback"
    assert found.attachments == (
        m.Attachment("receipt.pdf", "application/pdf", 4096),
        m.Attachment("image001.png", "image/png", 512),
    )


def test_postmark_inbound_that_postmark_could_not_strip() -> None:
    # A Norwegian reply: StrippedTextReply is "", the quoted history is ours to strip.
    norwegian = m.from_postmark(
        _postmark_inbound(
            StrippedTextReply="",
            TextBody="Takk, nå virker det.\n\nDen man. 23. nov. 2026 kl. 09:00 skrev Acme Care "
            "<care@acme.example>:\n> Hei Kari,\n",
        )
    )
    assert norwegian.text == "Takk, nå virker det."
    # An HTML-only mail: its words, without the style sheet or the quoted <blockquote>.
    html_only = m.from_postmark(_postmark_inbound(StrippedTextReply="", TextBody=""))
    assert html_only.text == "Thanks, it works now."
    # Sent to the reply address as Bcc only: Postmark lists it in BccFull alone.
    bcc = "reply+" + "d" * 32 + "@replies.acme.example"
    blind = m.from_postmark(
        _postmark_inbound(
            To="ola@kunde.example",
            ToFull=[{"Email": "ola@kunde.example", "Name": "", "MailboxHash": ""}],
            Bcc=bcc,
            BccFull=[{"Email": bcc, "Name": "", "MailboxHash": "d" * 32}],
            OriginalRecipient=bcc,
        )
    )
    assert blind.tokens() == ["d" * 32]


def test_html_text_takes_hostile_markup_in_one_pass() -> None:
    assert m.html_text(
        "<html><head><title>x</title></head><body><style>p{}</style><div>Fine &amp; "
        "<b>well</b></div><p>Kari</p><blockquote>old</blockquote></body></html>"
    ).split() == ["Fine", "&", "well", "Kari"]
    # A megabyte of tags that never close (anyone can mail a reply address): each pattern
    # once over it, where one scan to the end per tag would outlast the test's timeout.
    for junk in ("<script>", "<p", "<", "<style <head "):
        found = m.html_text("Still here " + junk * (1_000_000 // len(junk)))
        assert found.startswith("Still here")


def test_parse_message_reads_headers_the_parser_trips_on() -> None:
    # The standard library's header parser raises on these; a mail that cannot be read is
    # refused for good or retried for days, so the addresses and ids are read as they came.
    token = "e" * 32
    raw = (
        f'From: "Kari <kari@kunde.example>\r\nTo: <@, reply+{token}@r.example\r\n'
        "Message-ID: <<1@kunde.example>\r\nIn-Reply-To: <a@[\r\n"
        "Subject: =?utf-8?q?Takk_for_svaret?=\r\n\r\nDet ordnet seg.\r\n"
    ).encode()
    found = m.parse_message(raw)
    assert found.tokens() == [token] and found.text == "Det ordnet seg."
    assert "kari@kunde.example" in found.sender and found.subject == "Takk for svaret"
    assert found.message_id == "<<1@kunde.example>"
