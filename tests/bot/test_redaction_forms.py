"""Every way of writing a Nordic personal ID number, and every number named as one, is
redacted before anything reaches the language model (what tests/openai_server.py
receives is what would leave the process)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from stdnum.no import fodselsnummer
from stdnum.se import personnummer

from tests.bot.conftest import model_analyzer
from tests.openai_server import OpenAIServer, answer

PRICE = {"category": "price", "sentiment": "negative", "impact": 2}

# Valid numbers (python-stdnum agrees), each written the ways people write them.
FNR = "01017010170"
FNR_D = "45038500140"  # a D-number (+40 on the day)
PNR = "199001011239"
assert fodselsnummer.is_valid(FNR) and fodselsnummer.is_valid(FNR_D)
assert personnummer.is_valid(PNR)

FORMS = [
    # Norwegian fødselsnummer
    "01017010170",
    "010170 10170",
    "010170-10170",
    "010170.10170",
    "01.01.70 10170",
    "01.01.70-10170",
    "01.01.7010170",
    "450385 00140",
    "45.03.85 00140",
    # Swedish personnummer
    "19900101-1239",
    "19900101 1239",
    "199001011239",
    "900101-1239",
    "900101 1239",
    "900101+1239",
    # Danish CPR
    "010170-1234",
    "010170 1234",
    # Named, whatever the check digit
    "fnr 01017012345",
    "Fnr: 010170 12345",
    "f.nr. 01017012345",
    "fødselsnummer 01017012345",
    "fødselsnr 010170-12345",
    "Foedselsnummer er 01017012345",
    "personnummer 19900101-1230",
    "personnr 900101 1230",
    "pers.nr 9001011230",
    "CPR 3213701234",
    "CPR-nr. 321370-1234",
    "cpr-nummer: 3213701234",
    "SSN 123-45-6789",
    "ssn: 123456789",
    "social security number 123 45 6789",
    "personal number 19900101-1230",
    "Personal ID number: 01017012345",
    "national ID 01017012345",
    "my personnummer is 900101-1230",
    "samordningsnummer 900161-1230",
]


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as srv:
        yield srv


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def number_of(form: str) -> str:
    return digits(re.sub(r"^\D*", "", form))


def test_at_least_thirty_forms() -> None:
    assert len(FORMS) >= 30


def test_no_form_of_a_personal_id_reaches_the_model(server: OpenAIServer) -> None:
    server.script(*[answer(PRICE) for _ in FORMS])
    analyzer = model_analyzer(server.url, timeout=3.0)
    for form in FORMS:
        analyzer.analyze(f"Kunden skrev {form} i skjemaet, og fakturaen var feil.")
    assert len(server.requests) == len(FORMS)
    leaked = []
    for form, request in zip(FORMS, server.requests, strict=True):
        sent = request.message("user")
        number = number_of(form)
        # Neither the number as written nor any run of six or more of its digits.
        if form in sent or number in digits(sent) or "[NATIONAL_ID]" not in sent:
            leaked.append((form, sent))
        assert "fakturaen var feil" in sent
    assert leaked == []


@pytest.mark.parametrize(
    "text",
    [
        "ordre 12345678 kom ikke",
        "faktura 2026-11-20 på 1 234 kr",
        "we waited 45 minutes, 3 times",
        "invoice 20261120",
    ],
)
def test_ordinary_numbers_are_kept(server: OpenAIServer, text: str) -> None:
    from core.text import redact

    assert redact(text) == text
