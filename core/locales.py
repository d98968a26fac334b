"""The languages cxbot speaks: its Slack messages (bot/i18n/locales holds a catalog for
each but English, the source), its mail to customers, its settings and its text analysis
(stop words, stemmers and lexicons). One list, so a new language is added in one place."""

from __future__ import annotations

from typing import Final, Literal, get_args

LocaleCode = Literal["en", "nb", "da", "sv"]
LOCALES: Final[tuple[str, ...]] = get_args(LocaleCode)
