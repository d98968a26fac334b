"""The bot's four languages: English (the source), Norwegian bokmål, Danish and Swedish.

    from bot.i18n import translator
    _ = translator(locale).gettext
    _("{n} answers this week", n=42)

English texts are the message ids. Translations live in
`locales/{nb,da,sv}/LC_MESSAGES/<feature>.po`, one file per feature; all files of a
language are merged when first used. `python -m bot.i18n` lists what is untranslated.
"""

from __future__ import annotations

from bot.i18n.catalog import reload
from bot.i18n.slack_locale import (
    cached_user_locale,
    forget_user_locale,
    locale_from_slack,
    user_locale,
    user_timezone,
)
from bot.i18n.translator import MISSING, N_, Translator, translator
from core.locales import LOCALES

__all__ = [
    "LOCALES",
    "MISSING",
    "N_",
    "Translator",
    "cached_user_locale",
    "forget_user_locale",
    "locale_from_slack",
    "reload",
    "translator",
    "user_locale",
    "user_timezone",
]
