"""Text that did not come from the product: read once on the way in, escaped once on the way out.

Slack sends what people type entity-encoded: `&`, `<` and `>` arrive as `&amp;`, `&lt;` and
`&gt;`, and the references Slack resolved arrive in angle brackets (`<@U123|name>`,
`<#C123|general>`, `<https://x|label>`, `<!here>`); see
https://api.slack.com/reference/surfaces/formatting#escaping and
https://api.slack.com/interactivity/slash-commands#creating_commands (escaping). Modal values
arrive as typed, with no encoding at all.

The stored form is the text as the person meant it: plain characters, in which only
Slack's own reference syntax survives in angle brackets. `from_slack` makes it from a
slash command's or a message's text, `clean` from a modal value; every renderer turns it
back into mrkdwn with `mrkdwn` / `shown` (or into plain text with `plain`), and nothing
else escapes.

On the way out nothing in such text may act: broadcasts (`<!here>`, `<!channel>`,
`<!everyone>`, user groups) are shown as words, a link shows where it goes (a label can
not hide the address), and text from outside the company (customers, imports, models)
keeps no live mention or link at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

ELLIPSIS = "…"

# A reference as Slack writes it; what lies between the brackets never holds < or >.
_REFERENCE = re.compile(r"<([^<>\n]{1,3000})>")
_USER = re.compile(r"@([UW][A-Z0-9]{2,})(?:\|([^|]*))?")
_CHANNEL = re.compile(r"#([CG][A-Z0-9]{2,})(?:\|([^|]*))?")
_BROADCAST = re.compile(r"!(here|channel|everyone)(?:\|([^|]*))?")
_SUBTEAM = re.compile(r"!subteam\^([A-Z0-9]{2,})(?:\|([^|]*))?")
# https://api.slack.com/reference/surfaces/formatting#date-formatting: the fallback is what
# a reader without Slack's formatting sees.
_DATE = re.compile(r"!date\^[^|]*\|(.*)")
_LINK = re.compile(r"((?:https?|mailto):[^\s|]+)(?:\|(.*))?", re.IGNORECASE)
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(text: str) -> str:
    """Typed text made storable: NULs dropped, lone surrogates replaced by U+FFFD.

    PostgreSQL text holds no NUL and no encoder takes a lone surrogate; neither carries
    meaning, and dropping the whole text for them would lose what the person wrote.
    """
    if "\x00" in text:
        text = text.replace("\x00", "")
    return _SURROGATE.sub("\ufffd", text)


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _label(value: str | None) -> str:
    # A label is kept only where it cannot break the stored reference it sits in.
    return "" if value is None else re.sub(r"[<>|]", "", _unescape(value))


def _stored_reference(inner: str) -> str:
    """One reference of Slack-encoded text in the stored form."""
    if m := _USER.fullmatch(inner):
        label = _label(m.group(2))
        return f"<@{m.group(1)}|{label}>" if label else f"<@{m.group(1)}>"
    if m := _CHANNEL.fullmatch(inner):
        label = _label(m.group(2))
        return f"<#{m.group(1)}|{label}>" if label else f"<#{m.group(1)}>"
    if m := _BROADCAST.fullmatch(inner):
        return f"<!{m.group(1)}>"
    if m := _SUBTEAM.fullmatch(inner):
        label = _label(m.group(2))
        return f"<!subteam^{m.group(1)}|{label}>" if label else f"<!subteam^{m.group(1)}>"
    if m := _DATE.fullmatch(inner):
        return _unescape(m.group(1))
    if m := _LINK.fullmatch(inner):
        url, label = _unescape(m.group(1)), _label(m.group(2))
        if url.lower().startswith("mailto:"):
            return label or url[len("mailto:") :]
        return f"<{url}|{label}>" if label and label != url else f"<{url}>"
    # Not a reference Slack writes: the brackets were typed.
    return "<" + _unescape(inner) + ">"


def from_slack(text: str) -> str:
    """Slack-formatted text (a slash command's, a message's) as the person meant it."""
    out: list[str] = []
    pos = 0
    for m in _REFERENCE.finditer(text):
        out.append(_unescape(text[pos : m.start()]))
        out.append(_stored_reference(m.group(1)))
        pos = m.end()
    out.append(_unescape(text[pos:]))
    return clean("".join(out))


# --------------------------------------------------------------------------- the way out


@dataclass(frozen=True)
class _Piece:
    shown: str  # mrkdwn
    plain: str  # what a reader of plain text sees
    whole: bool = True  # a reference: never cut


def escape(text: str) -> str:
    """Plain text for mrkdwn: `&`, `<` and `>` as entities, so nothing in it is markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _reference_piece(inner: str, *, live: bool) -> _Piece | None:
    """How a stored reference is shown; None where it is not one (shown as typed)."""
    if m := _USER.fullmatch(inner):
        name = m.group(2) or m.group(1)
        return _Piece(f"<@{m.group(1)}>" if live else escape("@" + name), "@" + name)
    if m := _CHANNEL.fullmatch(inner):
        name = m.group(2) or m.group(1)
        return _Piece(f"<#{m.group(1)}>" if live else escape("#" + name), "#" + name)
    if m := _BROADCAST.fullmatch(inner):
        # Never live: a colleague's text must not ping a whole channel in the bot's name.
        return _Piece("@" + m.group(1), "@" + m.group(1))
    if m := _SUBTEAM.fullmatch(inner):
        name = m.group(2) or "@" + m.group(1)
        return _Piece(escape(name), name)
    if m := _LINK.fullmatch(inner):
        url, label = m.group(1), m.group(2) or ""
        bare = re.sub(r"^[a-z]+://", "", url, flags=re.IGNORECASE).rstrip("/")
        plain = url if not label or label in (url, bare) else f"{label} ({url})"
        if not live:
            return _Piece(escape(plain), plain)
        link = "<" + url.replace("&", "&amp;") + ">"
        # The address stays visible: a label alone could send a reader anywhere.
        shown = link if not label or label in (url, bare) else f"{escape(label)} ({link})"
        return _Piece(shown, plain)
    return None


def _pieces(text: str, *, live: bool) -> list[_Piece]:
    pieces: list[_Piece] = []
    pos = 0
    for m in _REFERENCE.finditer(text):
        piece = _reference_piece(m.group(1), live=live)
        if piece is None:
            continue
        if m.start() > pos:
            literal = text[pos : m.start()]
            pieces.append(_Piece(escape(literal), literal, whole=False))
        pieces.append(piece)
        pos = m.end()
    if pos < len(text):
        pieces.append(_Piece(escape(text[pos:]), text[pos:], whole=False))
    return pieces


def mrkdwn(text: str, *, people: bool = True) -> str:
    """Stored text as mrkdwn.

    With `people` (text a colleague wrote in Slack) mentions of colleagues and channels stay
    mentions and links stay links; without it (a customer's comment, an import, a model)
    they are shown as words, so text from outside can mention no one.
    """
    return "".join(p.shown for p in _pieces(text, live=people))


def plain(text: str) -> str:
    """Stored text as a reader of plain text sees it (exports, plain_text objects, prompts)."""
    return "".join(p.plain for p in _pieces(text, live=False))


def _cut(escaped: str, room: int) -> str:
    """`escaped` cut to at most `room` characters without splitting an entity."""
    head = escaped[:room]
    amp = head.rfind("&", max(0, len(head) - 4))
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    return head


def fit(escaped: str, limit: int) -> str:
    """mrkdwn already escaped, cut to `limit` characters without splitting an entity or a
    reference."""
    if len(escaped) <= limit:
        return escaped
    head = _cut(escaped, max(0, limit - len(ELLIPSIS)))
    bracket = head.rfind("<")
    if bracket != -1 and ">" not in head[bracket:]:
        head = head[:bracket]
    return head.rstrip() + ELLIPSIS


def shown(text: str, limit: int, *, people: bool = True, oneline: bool = False) -> str:
    """Stored text as mrkdwn of at most `limit` characters, cut after escaping.

    Cutting the stored text first and escaping after could grow it past Slack's limits
    (every `&` becomes five characters), and a reference is never cut in half.
    """
    body = " ".join(text.split()) if oneline else text.strip()
    pieces = _pieces(body, live=people)
    full = "".join(p.shown for p in pieces)
    if len(full) <= limit:
        return full
    room = max(0, limit - len(ELLIPSIS))
    out: list[str] = []
    used = 0
    for piece in pieces:
        if used + len(piece.shown) <= room:
            out.append(piece.shown)
            used += len(piece.shown)
            continue
        if piece.whole:
            break
        out.append(_cut(piece.shown, room - used))
        break
    return "".join(out).rstrip() + ELLIPSIS


def quote(escaped: str) -> str:
    """mrkdwn shown as a block quote, line by line."""
    return "\n".join("> " + line if line.strip() else ">" for line in escaped.splitlines()) or "> "


def mention(user: str | None) -> str:
    """A Slack user id as a mention; anything else (an e-mail, a name) as plain text."""
    if not user:
        return ""
    if re.fullmatch(r"[UW][A-Z0-9]{2,}", user):
        return f"<@{user}>"
    return escape(user)


def literal_parts(text: str, change: Callable[[str], str]) -> str:
    """`change` applied to the stored text around its references, never inside one.

    Masking personal data must not turn `<@U01234567>` into a broken reference.
    """
    out: list[str] = []
    pos = 0
    for m in _REFERENCE.finditer(text):
        if _reference_piece(m.group(1), live=True) is None:
            continue
        out.append(change(text[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(change(text[pos:]))
    return "".join(out)


def chunks(text: str, limit: int, *, people: bool = True) -> list[str]:
    """Stored text as mrkdwn in pieces of at most `limit` characters each, nothing left out.

    For text that must be shown whole (a note in an alert's thread) where one section's
    3,000 characters cannot hold it once escaped. Cuts fall between lines where they can.
    """
    out: list[str] = []
    current = ""
    for piece in _pieces(text.strip(), live=people):
        rest = piece.shown
        while rest:
            room = limit - len(current)
            if len(rest) <= room:
                current += rest
                break
            if (piece.whole and len(rest) <= limit) or room <= 0:
                head = ""  # a reference moves whole to the next chunk
            else:
                head = _cut(rest, room)
                newline = head.rfind("\n")
                if newline > 0 and not current:
                    head = head[: newline + 1]
            if head:
                current += head
                rest = rest[len(head) :]
            if current:
                out.append(current.rstrip("\n") or current)
                current = ""
            elif not head:
                out.append(rest[:limit])  # longer than a chunk on its own: cannot happen
                rest = rest[limit:]
    if current.strip():
        out.append(current.rstrip("\n"))
    return out


_MODEL_REFERENCE = re.compile(r"<[!@#][^<>]*>|<(?:https?|mailto):[^<>]*>", re.IGNORECASE)
_BARE_LINK = re.compile(r"(?:https?://|www\.)[^\s<>]+", re.IGNORECASE)


def model_text(text: str) -> str:
    """A model's paragraph with every reference and link taken out.

    The model writes from our facts: it has no business mentioning anyone or linking
    anywhere, and a name in the data could have asked it to.
    """
    text = _MODEL_REFERENCE.sub("", text)
    text = _BARE_LINK.sub("", text)
    lines = (" ".join(line.split()) for line in clean(text).splitlines())
    return "\n".join(line for line in lines if line)


def echo(typed: str, limit: int = 60) -> str:
    """What a person typed, echoed back in a reply: one short line, shown literally."""
    line = "".join(ch for ch in typed if ch.isprintable() and ch not in "`*_~")
    return escape(line[:limit]) + (ELLIPSIS if len(line) > limit else "")
