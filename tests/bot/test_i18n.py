"""The four languages: every text in the code translated, placeholders kept, values formatted."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient

from bot.i18n import (
    LOCALES,
    MISSING,
    N_,
    forget_user_locale,
    locale_from_slack,
    translator,
    user_locale,
    user_timezone,
)
from bot.i18n.catalog import merged_catalog, po_files
from bot.i18n.extract import code_messages
from bot.i18n.translator import placeholders
from bot.localslack import LocalSlack

NBSP = "\u00a0"
TRANSLATED = [loc for loc in LOCALES if loc != "en"]


@pytest.fixture(scope="module")
def messages() -> dict:
    found = code_messages()
    assert len(found) > 50, "the extractor found suspiciously few texts"
    return found


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_text_in_the_code_is_translated(locale: str, messages: dict) -> None:
    catalog = merged_catalog(locale)
    missing = []
    for msgid, where in messages.items():
        key = msgid if isinstance(msgid, str) else msgid[0]
        message = catalog.get(key)
        strings = () if message is None else message.string
        strings = (strings,) if isinstance(strings, str) else tuple(strings)
        if not strings or not all(s.strip() for s in strings):
            missing.append(f"{where[0]}: {msgid!r}")
    assert not missing, f"untranslated in {locale} (run `python -m bot.i18n`):\n" + "\n".join(
        missing
    )


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_their_placeholders(locale: str) -> None:
    broken = []
    for message in merged_catalog(locale):
        if not message.id:
            continue
        if isinstance(message.id, str):
            if placeholders(message.string) != placeholders(message.id):
                broken.append(f"{message.id!r} -> {message.string!r}")
        else:
            allowed = set().union(*(placeholders(s) for s in message.id))
            for form in message.string:
                # Every form fills only what English offers; the plural forms fill all of it.
                if not placeholders(form) <= allowed:
                    broken.append(f"{message.id!r} -> {form!r}")
            if placeholders(message.string[-1]) != placeholders(message.id[1]):
                broken.append(f"{message.id!r} plural -> {message.string[-1]!r}")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_language_has_the_same_feature_files(locale: str) -> None:
    names = {p.name for p in po_files(locale)}
    assert "core.po" in names
    assert names == {p.name for p in po_files("nb")}


def test_gettext_translates_then_fills_in() -> None:
    assert translator("en").gettext("previous {value}", value="19.0") == "previous 19.0"
    assert translator("nb").gettext("previous {value}", value="19,0") == "forrige 19,0"
    assert translator("da").gettext("Refresh") == "Opdatér"
    assert translator("sv").gettext("Customer metrics") == "Kundnyckeltal"


def test_unknown_text_falls_back_to_english() -> None:
    assert translator("sv").gettext("Not in any catalog {x}", x=1) == "Not in any catalog 1"


def test_ngettext_picks_the_plural_and_offers_n() -> None:
    nb = translator("nb")
    assert nb.ngettext("{count} answer", "{count} answers", 1, count="1") == "1 svar"
    en = translator("en")
    assert en.ngettext("{count} answer", "{count} answers", 1, count="1") == "1 answer"
    assert en.ngettext("{count} answer", "{count} answers", 3, count="3") == "3 answers"
    assert en.ngettext("{n} day", "{n} days", 2) == "2 days"


def test_translator_accepts_slack_codes_and_unknown_languages() -> None:
    assert translator("nb-NO").locale == "nb"
    assert translator("sv_SE").locale == "sv"
    assert translator("de-DE").locale == "en"
    assert translator("nb") is translator("nb")


def test_n_marks_without_translating() -> None:
    assert N_("week") == "week"


@pytest.mark.parametrize(
    ("locale", "number", "percent", "negative"),
    [
        ("en", "42.5", "42.5%", "-1,234.5"),
        ("nb", "42,5", f"42,5{NBSP}%", f"-1{NBSP}234,5"),
        ("da", "42,5", f"42,5{NBSP}%", "-1.234,5"),
        ("sv", "42,5", f"42,5{NBSP}%", f"-1{NBSP}234,5"),
    ],
)
def test_numbers_and_percentages_follow_the_locale(
    locale: str, number: str, percent: str, negative: str
) -> None:
    t = translator(locale)
    assert t.number(42.5) == number
    assert t.percent(42.5) == percent
    assert t.number(-1234.5) == negative.replace("-", "\u2212")  # one minus in every language
    assert t.number(Decimal("5.41"), 2) == ("5.41" if locale == "en" else "5,41")
    assert t.number(1234, 0).replace(NBSP, " ") in ("1,234", "1 234", "1.234")
    assert t.number(None) == MISSING
    assert t.percent(None) == MISSING
    assert t.number(float("nan")) == MISSING


def test_percent_digits_and_rounding() -> None:
    assert translator("en").percent(81.25, 0) == "81%"
    assert translator("nb").percent(0.05, 2) == f"0,05{NBSP}%"
    # 0.425 is not exact in binary; formatting goes through the decimal text instead.
    assert translator("da").percent(42.5, 1) == f"42,5{NBSP}%"
    assert translator("sv").percent(99.95, 1) == f"100,0{NBSP}%"


def test_signed_changes() -> None:
    nb = translator("nb")
    assert nb.signed(3.21) == "+3,2"
    assert nb.signed(-1) == "\u22121,0"
    assert nb.signed(0.04) == "0,0"
    assert nb.signed(-0.04) == "0,0"
    assert translator("en").signed(4.5, 2) == "+4.50"
    assert nb.signed(None) == MISSING


def test_dates_follow_the_locale() -> None:
    day = date(2026, 11, 16)
    assert translator("en").date(day) == "Nov 16, 2026"
    assert translator("nb").date(day) == "16. nov. 2026"
    assert translator("da").date(day) == "16. nov. 2026"
    assert translator("sv").date(day) == "16 nov. 2026"
    assert translator("nb").date(day, "short") == "16.11.2026"
    assert translator("sv").date(day, "short") == "2026-11-16"


def test_datetimes_are_shown_in_the_readers_timezone() -> None:
    late = datetime(2026, 11, 16, 23, 30, tzinfo=UTC)
    oslo = ZoneInfo("Europe/Oslo")
    assert translator("nb").date(late, tz=oslo) == "17. nov. 2026"
    assert translator("nb").date(late) == "16. nov. 2026"
    assert translator("nb").timestamp(late, oslo) == "17. nov. 2026 00:30"
    assert translator("en").timestamp(late, oslo).endswith("12:30\u202fAM") or translator(
        "en"
    ).timestamp(late, oslo).endswith("12:30 AM")


def test_money_durations_and_lists() -> None:
    assert translator("en").money(Decimal("9000")) == "9,000"
    assert translator("nb").money(Decimal("9000")) == f"9{NBSP}000"
    assert translator("da").money(Decimal("1234.5")) == "1.234,50"
    assert translator("nb").money(Decimal("9000"), "NOK") == f"9{NBSP}000,00{NBSP}kr"
    assert translator("sv").money(None) == MISSING
    assert translator("da").duration(timedelta(hours=3)) == "3 timer"
    assert translator("sv").join(["a", "b", "c"]) == "a, b och c"


@pytest.mark.parametrize(
    ("slack", "ours"),
    [
        ("nb-NO", "nb"),
        ("no-NO", "nb"),
        ("nn-NO", "nb"),
        ("da-DK", "da"),
        ("sv-SE", "sv"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("de-DE", "da"),
        ("", "da"),
        (None, "da"),
    ],
)
def test_locale_from_slack(slack: str | None, ours: str) -> None:
    assert locale_from_slack(slack, default="da") == ours


def test_user_locale_asks_slack_once_and_caches() -> None:
    with LocalSlack.demo(rate_limits=False) as slack:
        forget_user_locale()
        client = WebClient(token=slack.bot_token, base_url=slack.base_url)
        assert user_locale(client, "U0BJORN", "en") == "nb"
        assert user_locale(client, "U0FREJA", "en") == "da"
        assert user_locale(client, "U0SVEA", "en") == "sv"
        assert user_locale(client, "U0ADA", "nb") == "en"
        assert user_timezone(client, "U0BJORN", "UTC") == "Europe/Oslo"
        before = len(slack.calls_to("users.info"))
        threads = [
            threading.Thread(target=user_locale, args=(client, "U0BJORN", "en")) for _ in range(20)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(slack.calls_to("users.info")) == before  # all from the cache
        # Once forgotten, the next lookup sees the user's new language.
        slack.add_user("U0BJORN", "bjorn", locale="sv-SE")
        assert user_locale(client, "U0BJORN", "en") == "nb"
        forget_user_locale("U0BJORN")
        assert user_locale(client, "U0BJORN", "en") == "sv"


def test_user_locale_never_raises() -> None:
    with LocalSlack.demo(rate_limits=False) as slack:
        forget_user_locale()
        bad_token = WebClient(token="xoxb-wrong", base_url=slack.base_url)
        assert user_locale(bad_token, "U0BJORN", "da") == "da"
        client = WebClient(token=slack.bot_token, base_url=slack.base_url)
        assert user_locale(client, "U0NOBODY", "sv") == "sv"
        assert user_locale(client, "", "sv") == "sv"
    unreachable = WebClient(token="xoxb-x", base_url="http://127.0.0.1:9/api/", timeout=1)
    assert user_locale(unreachable, "U0BJORN", "nb") == "nb"
    assert user_timezone(unreachable, "U0BJORN", "UTC") == "UTC"


def test_every_language_has_a_catalog_and_every_catalog_a_language() -> None:
    from bot.i18n.catalog import LOCALES_DIR

    folders = {p.name for p in LOCALES_DIR.iterdir() if (p / "LC_MESSAGES").is_dir()}
    assert folders == set(TRANSLATED)
    assert all(po_files(locale) for locale in TRANSLATED)
