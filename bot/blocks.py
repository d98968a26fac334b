"""Block Kit builders the features' blocks modules share: a mrkdwn section, a context line,
a section of fields, a header and a divider, and the `Block` type they all are."""

from __future__ import annotations

from collections.abc import Iterable

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

__all__ = ["Block", "context", "divider", "fields", "header", "markdown", "section"]


def markdown(text: str) -> MarkdownTextObject:
    """A mrkdwn text object."""
    return MarkdownTextObject(text=text)


def section(text: str) -> SectionBlock:
    """A section of one mrkdwn text."""
    return SectionBlock(text=markdown(text))


def context(text: str) -> ContextBlock:
    """A context block of one mrkdwn text."""
    return ContextBlock(elements=[markdown(text)])


def fields(texts: Iterable[str]) -> SectionBlock:
    """A section of mrkdwn fields, one per text."""
    return SectionBlock(fields=[markdown(text) for text in texts])


def header(text: str) -> HeaderBlock:
    """A header block (plain text)."""
    return HeaderBlock(text=text)


def divider() -> DividerBlock:
    """A divider."""
    return DividerBlock()
