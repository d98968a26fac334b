"""Redaction, language detection and themes (core/text.py)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.text import (
    content_words,
    cpr_ok,
    detect_language,
    fodselsnummer_ok,
    luhn_ok,
    personnummer_ok,
    redact,
    themes,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "insights_labelled.jsonl"


# --------------------------------------------------------------------------- helpers


def make_fnr(day: int, month: int, yy: int, individual: int) -> str | None:
    """A Norwegian fødselsnummer with correct check digits, or None if none exists."""
    base = f"{day:02d}{month:02d}{yy:02d}{individual:03d}"
    d = [int(c) for c in base]
    k1 = 11 - sum(w * x for w, x in zip((3, 7, 6, 1, 8, 9, 4, 5, 2), d, strict=True)) % 11
    k1 = 0 if k1 == 11 else k1
    if k1 == 10:
        return None
    d.append(k1)
    k2 = 11 - sum(w * x for w, x in zip((5, 4, 3, 2, 7, 6, 5, 4, 3, 2), d, strict=True)) % 11
    k2 = 0 if k2 == 11 else k2
    if k2 == 10:
        return None
    return f"{base}{k1}{k2}"


def luhn_complete(prefix: str) -> str:
    """`prefix` plus the digit that makes it pass Luhn."""
    for last in "0123456789":
        if luhn_ok(prefix + last):
            return prefix + last
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- checks


def test_check_digit_helpers() -> None:
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    assert fodselsnummer_ok("15038545660")
    assert not fodselsnummer_ok("15038545661")  # wrong second check digit
    assert cpr_ok("1503851234")
    assert not cpr_ok("3202851234")  # 32 February
    assert personnummer_ok("8112289874")
    assert personnummer_ok("198112289874")
    assert not personnummer_ok("8112289875")
    assert personnummer_ok(luhn_complete("811288987"))  # samordningsnummer: day + 60


# --------------------------------------------------------------------------- redaction


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Write to ola.nordmann@example.no today", "Write to [EMAIL] today"),
        ("kontakt: Kari_B+cx@firma.co.uk.", "kontakt: [EMAIL]."),
        ("Ring +47 912 34 567 i dag", "Ring [PHONE] i dag"),
        ("Ring +4791234567", "Ring [PHONE]"),
        ("Ring 0047 91234567", "Ring [PHONE]"),
        ("Ring +45 12 34 56 78", "Ring [PHONE]"),
        ("Ring +46 70 123 45 67", "Ring [PHONE]"),
        ("Ring meg på 91234567.", "Ring meg på [PHONE]."),
        ("Nummeret er 912 34 567", "Nummeret er [PHONE]"),
        ("Ring på 22 33 44 55", "Ring på [PHONE]"),
        ("Hun har 2345 6789", "Hun har [PHONE]"),
        ("tlf 12345678", "tlf [PHONE]"),
        ("Ring 070-123 45 67 eller 08-123 456 78", "Ring [PHONE] eller [PHONE]"),
        ("Ring 0701234567", "Ring [PHONE]"),
        ("Kort 4111 1111 1111 1111 ble brukt", "Kort [CARD] ble brukt"),
        ("card 5555-5555-5555-4444", "card [CARD]"),
        ("Amex 378282246310005", "Amex [CARD]"),
        ("Fnr 15038545660", "Fnr [NATIONAL_ID]"),
        ("Fnr 150385 45660", "Fnr [NATIONAL_ID]"),
        ("CPR 150385-1234", "CPR [NATIONAL_ID]"),
        ("cpr-nr: 1503851234", "cpr-nr: [NATIONAL_ID]"),
        ("Personnummer 811228-9874", "Personnummer [NATIONAL_ID]"),
        ("Personnummer 19811228-9874", "Personnummer [NATIONAL_ID]"),
        ("Personnummer 198112289874", "Personnummer [NATIONAL_ID]"),
        ("Pnr 8112289874", "Pnr [NATIONAL_ID]"),
    ],
)
def test_redacts_personal_data(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Beløpet var 1 299 kr, ikke 12 500 kroner.",
        "Hun betalte 45000000 kr for lokalet",
        "Prisen er 12345678 NOK",
        "Kunden har vært med siden 2019 2020",
        "Ordre 42345678 kom aldri",
        "Ordrenummer: 42345678",
        "order #42345678",
        "Faktura 24681357 er feil",
        "Kundenummer 52345678",
        "Sak 73456789 er lukket",
        "Levert 2026-11-20 kl 14:03",
        "Levert 20.11.2026",
        "NPS 42,5 % og 1 234 svar",
        "Kortet 4111 1111 1111 1112 er ugyldig",  # fails Luhn
        "Nummer 15038545661",  # fails the fødselsnummer check
        "Ref 3202851234",  # 32 February: no CPR, no personnummer
        "Artikkel 1503851234",  # a bare 10-digit date-like number without 'CPR'
        "Serienummer 1234567890123",
        "Postnummer 0150 Oslo, 8 varer",
    ],
)
def test_keeps_ordinary_numbers(text: str) -> None:
    assert redact(text) == text


def test_redacts_many_kinds_in_one_text() -> None:
    text = (
        "Kari (kari@example.no, +47 912 34 567) betalte med 4111-1111-1111-1111, "
        "fnr 15038545660, ordre 42345678, 1 299 kr."
    )
    assert redact(text) == (
        "Kari ([EMAIL], [PHONE]) betalte med [CARD], fnr [NATIONAL_ID], ordre 42345678, 1 299 kr."
    )


def test_redact_empty_and_plain() -> None:
    assert redact("") == ""
    assert redact("Ingen personopplysninger her.") == "Ingen personopplysninger her."


_BIRTHDAYS = st.dates(min_value=date(1930, 1, 1), max_value=date(2020, 12, 31))


@settings(max_examples=200, deadline=None)
@given(birthday=_BIRTHDAYS, individual=st.integers(0, 999), grouped=st.booleans())
def test_every_valid_fodselsnummer_is_redacted(
    birthday: date, individual: int, grouped: bool
) -> None:
    fnr = make_fnr(birthday.day, birthday.month, birthday.year % 100, individual)
    if fnr is None:
        return
    shown = f"{fnr[:6]} {fnr[6:]}" if grouped else fnr
    assert redact(f"Kundens fnr er {shown}.") == "Kundens fnr er [NATIONAL_ID]."


@settings(max_examples=200, deadline=None)
@given(birthday=_BIRTHDAYS, serial=st.integers(0, 999), long_form=st.booleans())
def test_every_valid_personnummer_is_redacted(birthday: date, serial: int, long_form: bool) -> None:
    short = luhn_complete(birthday.strftime("%y%m%d") + f"{serial:03d}")
    shown = f"{birthday.year // 100}{short[:6]}-{short[6:]}" if long_form else short
    assert redact(f"Pnr {shown} ok") == "Pnr [NATIONAL_ID] ok"


@settings(max_examples=200, deadline=None)
@given(
    birthday=st.dates(min_value=date(1930, 1, 1), max_value=date(2020, 12, 31)),
    serial=st.integers(0, 9999),
)
def test_every_cpr_with_dash_is_redacted(birthday: date, serial: int) -> None:
    cpr = birthday.strftime("%d%m%y") + f"-{serial:04d}"
    assert redact(f"CPR: {cpr}") == "CPR: [NATIONAL_ID]"


@settings(max_examples=200, deadline=None)
@given(
    body=st.text(alphabet="0123456789", min_size=12, max_size=15),
    sep=st.sampled_from(["", " ", "-"]),
)
def test_every_luhn_valid_card_is_redacted(body: str, sep: str) -> None:
    number = luhn_complete("4" + body)
    shown = sep.join(number[i : i + 4] for i in range(0, len(number), 4))
    assert redact(f"kort {shown} brukt") == "kort [CARD] brukt"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_redact_is_idempotent_and_total(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200).map(lambda s: re.sub(r"\d", "", s)))
def test_text_without_digits_or_at_sign_is_unchanged(text: str) -> None:
    if "@" in text:
        return
    assert redact(text) == text


@settings(max_examples=200, deadline=None)
@given(amount=st.integers(1, 99_999_999), unit=st.sampled_from(["kr", "NOK", "SEK", "DKK"]))
def test_amounts_with_a_currency_are_kept(amount: int, unit: str) -> None:
    text = f"Det kostet {amount} {unit}."
    assert redact(text) == text


@settings(max_examples=100, deadline=None)
@given(day=st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)))
def test_dates_are_kept(day: date) -> None:
    text = f"Levert {day.isoformat()} og {day.strftime('%d.%m.%Y')}, uke {day.isocalendar()[1]}."
    assert redact(text) == text


# --------------------------------------------------------------------------- language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("The parcel did not arrive and nobody told me why.", "en"),
        ("Pakken kom ikke, og ingen sa fra hvorfor.", "nb"),
        ("Pakken kom ikke, og ingen fortalte mig hvorfor.", "da"),
        ("Paketet kom inte och ingen berättade varför.", "sv"),
        ("Kunden er kjempefornøyd med informasjonen.", "nb"),
        ("Højttaleren virker ikke efter opdateringen.", "da"),
        ("", "en"),
        ("OK", "en"),
        ("12345", "en"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_detect_language_on_the_labelled_set() -> None:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    correct = sum(detect_language(r["text"]) == r["lang"] for r in rows)
    assert correct / len(rows) >= 0.9


# --------------------------------------------------------------------------- themes


def test_themes_are_the_named_themes_counted_once_per_text() -> None:
    texts = [
        "Late delivery again, the late delivery spoilt the weekend",
        "Late delivery and the box was damaged",
        "The app crashed during checkout",
        "Checkout crashed twice",
        "Pakken kom tre dager for sent",
    ]
    got = themes(texts, top=3)
    assert got[0] == ("late delivery", 3)
    assert ("web shop and app errors", 2) in got
    assert themes(texts, top=3) == got  # deterministic


def test_themes_ignore_placeholders() -> None:
    texts = [
        "Kunden fikk ikke svar på kari@example.no, ventet en time i telefonkø",
        "Lang telefonkø, ring 91234567",
    ]
    assert themes(texts) == [("slow customer service", 2)]


def test_themes_edge_cases() -> None:
    assert themes([]) == []
    assert themes(["", "   "]) == []
    assert themes(["one theme"], top=0) == []
    assert content_words("The customer says the blender lid cracked") == [
        "blender",
        "lid",
        "cracked",
    ]
