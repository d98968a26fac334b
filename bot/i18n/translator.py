"""Translate and format for one reader's language.

`gettext` looks the English text up in the catalog, then fills `{placeholders}` with
`str.format`. Numbers, percentages, dates and money follow the locale's CLDR rules
(Babel): `42,5 %` in Norwegian, Danish and Swedish, `42.5%` in English. The space
before `%` and the thousands separator in nb/sv are no-break spaces (U+00A0), as CLDR
prescribes, so a value never wraps across two lines.
"""

from __future__ import annotations

import logging
import math
import string
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from functools import cache, lru_cache

from babel import Locale
from babel.dates import format_date, format_time, format_timedelta
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal, format_percent

from bot.i18n.catalog import translations
from core.locales import LOCALES

log = logging.getLogger(__name__)

MISSING = "–"  # shown for a value that does not exist (no answers yet), in every language
MINUS = "\u2212"  # typographic minus for signed changes, so "−1,0" lines up with "+1,0"


class Translator:
    """Everything a reader in one language sees: translated text and formatted values."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.babel_locale = Locale.parse(locale)

    def __repr__(self) -> str:
        return f"Translator({self.locale!r})"

    # ------------------------------------------------------------------ text

    def gettext(self, msgid: str, **kwargs: object) -> str:
        return _fill(translations(self.locale).gettext(msgid), msgid, kwargs)

    def ngettext(self, singular: str, plural: str, n: int, **kwargs: object) -> str:
        """Plural-aware lookup; `{n}` is available to the text without passing it."""
        kwargs.setdefault("n", n)
        text = translations(self.locale).ngettext(singular, plural, n)
        return _fill(text, singular if n == 1 else plural, kwargs)

    # ------------------------------------------------------------------ values

    def number(self, value: float | int | Decimal | None, digits: int = 1) -> str:
        if _missing(value):
            return MISSING
        assert value is not None
        text = format_decimal(value, format=_number_pattern(digits), locale=self.babel_locale)
        return _minus(text, value)

    def percent(self, value: float | None, digits: int = 1) -> str:
        """`value` is already in percent (42.5 -> "42,5 %")."""
        if _missing(value):
            return MISSING
        assert value is not None
        pattern = self.babel_locale.percent_formats[None].pattern.replace(
            "#,##0", _number_pattern(digits), 1
        )
        text = format_percent(Decimal(str(value)) / 100, format=pattern, locale=self.babel_locale)
        return _minus(text, value)

    def signed(self, value: float | None, digits: int = 1) -> str:
        """A change with its sign: "+3,2", "−1,0"; zero (after rounding) has none."""
        if _missing(value):
            return MISSING
        assert value is not None
        rounded = round(float(value), digits)
        body = self.number(abs(rounded), digits)
        if rounded > 0:
            return "+" + body
        if rounded < 0:
            return MINUS + body
        return body

    def date(self, value: date | datetime, format: str = "medium", tz: tzinfo | None = None) -> str:
        """A calendar day ("16. nov. 2026"); an aware datetime is first moved into `tz`."""
        if isinstance(value, datetime):
            if tz is not None and value.tzinfo is not None:
                value = value.astimezone(tz)
            value = value.date()
        return format_date(value, format=format, locale=self.babel_locale)

    def timestamp(self, value: datetime, tz: tzinfo | None = None, *, zone: bool = False) -> str:
        """A moment in `tz`: date and short time ("16. nov. 2026 14:03"); with `zone` the
        zone's abbreviation too ("14:03 CET"), for readers whose timezone may be another
        (a channel, a DM sent in the workspace's time)."""
        if tz is not None and value.tzinfo is not None:
            value = value.astimezone(tz)
        day = format_date(value.date(), format="medium", locale=self.babel_locale)
        clock = format_time(value.time(), format="short", locale=self.babel_locale)
        label = value.tzname() if zone and value.tzinfo is not None else None
        return f"{day} {clock} {label}" if label else f"{day} {clock}"

    def moment(self, value: datetime, tz: tzinfo | None = None, *, zone: bool = False) -> str:
        """Like `timestamp`, but a moment at midnight exactly is a date given without a time
        of day (an import's "2026-11-20"): shown as the date, never "12:00 AM"."""
        local = value.astimezone(tz) if tz is not None and value.tzinfo is not None else value
        if local.time() == time(0, 0):
            return self.date(local)
        return self.timestamp(value, tz, zone=zone)

    def duration(self, value: timedelta, format: str = "long") -> str:
        """A rounded length of time ("3 hours", "3 timer")."""
        return format_timedelta(value, format=format, locale=self.babel_locale)  # type: ignore[arg-type]

    def money(self, value: Decimal | None, currency: str | None = None) -> str:
        """An amount; without a currency code only the number (the data's currency is
        the workspace's business, not the reader's)."""
        if _missing(value):
            return MISSING
        assert value is not None
        if currency:
            return _minus(format_currency(value, currency, locale=self.babel_locale), value)
        pattern = "#,##0" if Decimal(value) == Decimal(value).to_integral_value() else "#,##0.00"
        return _minus(format_decimal(value, format=pattern, locale=self.babel_locale), value)

    def join(self, items: Iterable[str]) -> str:
        """A list in prose: "a, b and c" / "a, b og c"."""
        return format_list(list(items), locale=self.babel_locale)


def _minus(text: str, value: float | int | Decimal) -> str:
    # CLDR gives English and Danish "-" and Norwegian and Swedish "−": every reader gets the
    # one minus of `signed`, so "−7,0" and "−17,6" never sit side by side in two styles.
    if not value < 0:
        return text
    if not any(ch in "123456789" for ch in text):
        return text.replace("-", "", 1).replace(MINUS, "", 1)  # rounded to zero: no sign
    return text.replace("-", MINUS, 1)


def translator(locale: str) -> Translator:
    """The translator of a language; accepts our codes and Slack's ("nb-NO"), else English."""
    return _translator(locale if locale in LOCALES else locale_code(locale))


@cache
def _translator(locale: str) -> Translator:
    return Translator(locale)


def locale_code(value: str | None, default: str = "en") -> str:
    """Our language code for a Slack locale: "nb-NO"/"no-NO"/"nn-NO" -> nb, "da-DK" -> da,
    "sv-SE" -> sv, "en-*" -> en, anything else -> `default`."""
    if not value:
        return default
    language = value.replace("_", "-").split("-", 1)[0].strip().lower()
    if language in ("nb", "no", "nn"):
        return "nb"
    if language in LOCALES:
        return language
    return default


def N_(msgid: str) -> str:
    """Marks a string for the catalog without translating it now (translate it when shown)."""
    return msgid


def placeholders(text: str) -> set[str]:
    """The `{names}` a text fills in (used to check that translations keep them)."""
    names: set[str] = set()
    for _literal, field, _spec, _conv in string.Formatter().parse(text):
        if field is not None:
            names.add(field.split(".", 1)[0].split("[", 1)[0])
    return names


def _fill(text: str, source: str, kwargs: Mapping[str, object]) -> str:
    if not kwargs:
        return text
    try:
        return text.format(**kwargs)
    except (KeyError, IndexError, ValueError) as exc:
        # A broken translation must not break the reply: fall back to the English text.
        log.warning("translation %r cannot be filled (%s); using the English text", text, exc)
        return source.format(**kwargs)


def _missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value) or math.isinf(value)
    if isinstance(value, Decimal):
        return not value.is_finite()
    return False


@lru_cache(maxsize=16)
def _number_pattern(digits: int) -> str:
    return "#,##0" + ("." + "0" * digits if digits > 0 else "")
