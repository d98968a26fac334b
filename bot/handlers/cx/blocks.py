"""The `/cx help` message: every command a user can type, in their language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.i18n import N_, Translator


@dataclass(frozen=True)
class HelpEntry:
    """One command: how to type it and what it does (both English msgids)."""

    usage: str
    summary: str


# The commands other than /cx (CONTRACT.md "Slack surface"); /cx's own subcommands
# come from its registry so that only the ones that work are listed.
SLASH_COMMANDS: tuple[HelpEntry, ...] = (
    HelpEntry(
        N_("/insight [text]"),
        N_("Record what you heard from a customer. Without text, a form opens."),
    ),
    HelpEntry(
        N_("/insight list [open|mine|CATEGORY] [PAGE]"),
        N_("The open customer insights (or yours, or one category's), ten per page."),
    ),
    HelpEntry(
        N_("/insight search WORDS"),
        N_("Find insights by what they say, in any of our languages."),
    ),
    HelpEntry(
        N_("/shoutout @person [text]"),
        N_("Praise a colleague who did something good for a customer."),
    ),
    HelpEntry(
        N_("/pulse"),
        N_("Pulse surveys: admins create and schedule them, everyone answers."),
    ),
)


def help_blocks(
    entries: Sequence[HelpEntry], t: Translator, *, notice: str | None = None
) -> list[Block]:
    """The help list; `notice` (already translated) goes first, e.g. a "did you mean" hint."""
    _ = t.gettext
    blocks: list[Block] = []
    if notice:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=notice)))
    blocks.append(HeaderBlock(text=_("What cxbot can do")))
    lines = [f"`{_(entry.usage)}`\n{_(entry.summary)}" for entry in entries]
    # One section per few commands keeps each text far below Slack's 3,000 characters.
    for start in range(0, len(lines), 4):
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text="\n\n".join(lines[start : start + 4])))
        )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=_(
                        "Open cxbot's Home tab for your own dashboard. "
                        "cxbot speaks English, Norwegian, Danish and Swedish: "
                        "it follows your Slack language."
                    )
                )
            ]
        )
    )
    return blocks


def help_fallback(entries: Sequence[HelpEntry], t: Translator) -> str:
    """Plain-text version of the list (notifications, clients without blocks)."""
    return "\n".join(f"{t.gettext(e.usage)}: {t.gettext(e.summary)}" for e in entries)
