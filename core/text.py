"""Text handling that needs no model: personal-data redaction, language guess, words.

`redact` runs before any text leaves the process (the language model) and wherever
insight text is shown outside its workspace. It prefers to miss an ordinary number
over eating one (amounts, years, order numbers stay), but every pattern that carries
a check digit (cards, Norwegian and Swedish national IDs) is checked, so a match is
rarely a false alarm.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path

from core.locales import LOCALES

LEXICON_DIR = Path(__file__).resolve().parent / "lexicons"

EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
CARD = "[CARD]"
NATIONAL_ID = "[NATIONAL_ID]"
PLACEHOLDERS = (EMAIL, PHONE, CARD, NATIONAL_ID)
_PLACEHOLDER_RE = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS))

# Letters only (any script), with an inner apostrophe or hyphen ("didn't", "e-post").
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")


def words(text: str) -> list[str]:
    """Lower-cased words of `text`, without digits and punctuation."""
    return [w.replace("’", "'") for w in _WORD.findall(text.lower())]


@cache
def load_lexicon(name: str) -> dict:
    """A JSON word list from core/lexicons (cached; the files are read once)."""
    with (LEXICON_DIR / name).open(encoding="utf-8") as fh:
        data = json.load(fh)
    data.pop("_about", None)
    return data


# A typed word names a synonym group by its start only from this length: "pris" must not
# pull in "prison", while "invoices" and "fakturaen" still find their group.
_SYNONYM_PREFIX = 5


@cache
def _synonym_groups() -> tuple[tuple[str, ...], ...]:
    return tuple(
        tuple(dict.fromkeys(m.casefold() for m in members))
        for members in load_lexicon("synonyms.json").values()
    )


def search_words(word: str) -> tuple[str, ...]:
    """`word` and what it means in the other languages (core/lexicons/synonyms.json), so a
    search in one language finds insights written in another: "invoice" -> faktura,
    regning, räkning... The typed word comes first; an unknown word stands alone."""
    typed = word.casefold().strip()
    if not typed:
        return ()
    found = [typed]
    for group in _synonym_groups():
        if any(typed == m or (len(m) >= _SYNONYM_PREFIX and typed.startswith(m)) for m in group):
            found.extend(m for m in group if m not in found)
    return tuple(found)


@cache
def stopwords(language: str | None = None) -> frozenset[str]:
    """Function words of one language, or of all four when `language` is None."""
    table = load_lexicon("stopwords.json")
    if language is None:
        return frozenset(w for lang in LOCALES for w in table[lang])
    return frozenset(table[language])


# --------------------------------------------------------------------------- checks


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _valid_day(day: int, month: int, year: int) -> bool:
    if not 1 <= month <= 12:
        return False
    return 1 <= day <= calendar.monthrange(year, month)[1]


def _century_guess(yy: int) -> int:
    # Only used for leap years; 2000 and 1900 differ only on 29 February 1900.
    return 2000 + yy if yy <= 30 else 1900 + yy


def fodselsnummer_ok(digits: str) -> bool:
    """Norwegian national ID: 11 digits, ddmmyy (+40 on the day for D-numbers, +40/+80 on
    the month for H-numbers and synthetic test numbers) and two mod-11 check digits."""
    if len(digits) != 11:
        return False
    d = [int(c) for c in digits]
    k1 = 11 - sum(w * x for w, x in zip((3, 7, 6, 1, 8, 9, 4, 5, 2), d[:9], strict=True)) % 11
    k1 = 0 if k1 == 11 else k1
    k2 = 11 - sum(w * x for w, x in zip((5, 4, 3, 2, 7, 6, 5, 4, 3, 2), d[:10], strict=True)) % 11
    k2 = 0 if k2 == 11 else k2
    if k1 == 10 or k2 == 10 or k1 != d[9] or k2 != d[10]:
        return False
    day, month, yy = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    if day > 40:
        day -= 40
    if month > 80:
        month -= 80
    elif month > 40:
        month -= 40
    return _valid_day(day, month, _century_guess(yy))


def cpr_ok(digits: str) -> bool:
    """Danish CPR: ddmmyy + 4 digits. Since 2007 CPR numbers have no check digit, so
    only the date is checked."""
    if len(digits) != 10:
        return False
    day, month, yy = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    return _valid_day(day, month, _century_guess(yy))


def personnummer_ok(digits: str) -> bool:
    """Swedish personnummer (yymmddnnnc or yyyymmddnnnc): a valid date (+60 on the day
    for samordningsnummer) and a Luhn check over the last ten digits."""
    if len(digits) == 12:
        year = int(digits[:4])
        digits = digits[2:]
    elif len(digits) == 10:
        year = _century_guess(int(digits[:2]))
    else:
        return False
    month, day = int(digits[2:4]), int(digits[4:6])
    if day > 60:
        day -= 60
    return _valid_day(day, month, year) and luhn_ok(digits)


# --------------------------------------------------------------------------- redaction

_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")
# yyyymmdd-nnnn, yyyymmdd nnnn or yyyymmddnnnn (Swedish, 12 digits).
_SE12_RE = re.compile(r"(?<![\d+])(?:19|20)\d{6}[-+ ]?\d{4}(?![\d])")
# Norwegian fødselsnummer, written whole or as ddmmyy nnnnn, ddmmyy-nnnnn, dd.mm.yy nnnnn.
_FNR_RE = re.compile(r"(?<![\d+.])\d{2}(\.?)\d{2}\1\d{2}[ .-]?\d{5}(?![\d])")
# ddmmyy-nnnn, ddmmyy nnnn (CPR) or yymmdd-nnnn (personnummer; '+' marks someone over 100).
_ID10_SEP_RE = re.compile(r"(?<![\d+])\d{6}[-+ ]\d{4}(?![\d])")
# A number that is named as a personal ID is one, whatever its check digit: a typo in it
# (or a made-up one) is still nothing the model needs, and a real one may fail a check
# the rules here do not know (new-style numbers, other countries).
_ID_NAMES = (
    r"f(?:ø|o|oe)dsels?(?:nummer|nr\.?)|f\.?\s?nr\.?|fnr\.?|d-nummer|personnummer|personnr\.?"
    r"|pers\.?\s?nr\.?|person\s?nr\.?|samordningsnummer|personbeteckning"
    r"|cpr(?:-?nr\.?|-?nummer)?|ssn|social\s+security\s+(?:number|no\.?)"
    r"|personal\s+(?:id(?:entity)?\s+)?(?:number|no\.?|id)|national\s+id(?:\s+(?:number|no\.?))?"
    r"|personal\s+code|id-?nummer"
)
_NAMED_ID_RE = re.compile(
    r"(?<![\w])(?P<lead>(?:" + _ID_NAMES + r")"
    r"(?:\s*(?:is|er|är|lyder|=|:|#|nr\.?|no\.?|-|–)\s*){0,3}\s*)"
    r"(?P<number>\d(?:[ .\-/]?\d){5,13})(?![\d])",
    re.IGNORECASE,
)
_ID10_RE = re.compile(r"(?<![\d+])\d{10}(?![\d])")
# 13-19 digits, optionally grouped with single spaces or dashes.
_CARD_RE = re.compile(r"(?<![\d+])\d(?:[ -]?\d){12,18}(?![\d])")
# +47 / +45 / +46 (or 0047...) and other international numbers.
_INTL_PHONE_RE = re.compile(
    r"(?<![\w+])(?:\+|00)\d{1,3}[ -]?\(?\d{1,4}\)?(?:[ -]?\d){4,10}(?![\d])"
)
# Swedish numbers with the trunk 0: 070-123 45 67, 08-123 456 78, 031-12 34 56.
_SE_PHONE_RE = re.compile(r"(?<![\w+])0\d{1,3}[- ]\d{2,3}(?:[ -]?\d{2,3}){1,3}(?![\d])")
_SE_PHONE_PLAIN_RE = re.compile(r"(?<![\w+])0[1-9]\d{7,8}(?![\d])")
# Norwegian and Danish 8-digit numbers: 91234567, 912 34 567, 12 34 56 78, 1234 5678.
_NORDIC8_RE = re.compile(
    r"(?<![\w+.,/-])(?<!\d[ -])"
    r"(?:[1-9]\d{7}|[1-9]\d \d{2} \d{2} \d{2}|[1-9]\d{2} \d{2} \d{3}|[1-9]\d{3} \d{4})"
    r"(?![\w]|[.,/-]\d|[ -]\d)"
)
# Words that make an 8-digit number an order, invoice or account number, not a phone.
_NOT_PHONE_BEFORE = re.compile(
    r"(?:#|\bnr\.?|\bno\.|\bnumber|\bnummer|\border\w*|\bordre\w*|\bbestilling\w*|\bbeställning\w*"
    r"|\binvoice\w*|\bfaktura\w*|\bkunde\w*|\bkund\w*|\bcustomer|\bref\w*|\bcase|\bsak\w*|\bärende\w*"
    r"|\bticket\w*|\bkonto\w*|\baccount\w*|\bkr\.?|\bnok|\bsek|\bdkk|\beur|\busd|[€$£])\W{0,3}$",
    re.IGNORECASE,
)
_PHONE_BEFORE = re.compile(
    r"(?:\btlf|\btelefon\w*|\bphone|\bmobil\w*|\bring\w*|\bcall\w*|\bnumber|\bnummer|\bsms)\W{0,12}$",
    re.IGNORECASE,
)
_MONEY_AFTER = re.compile(
    r"^\s?(?:kr\b|kroner|kronor|nok\b|sek\b|dkk\b|eur\b|usd\b|,-|\.-|€|\$)", re.I
)
_CPR_CONTEXT = re.compile(r"\bcpr(?:-?nr\.?|-?nummer)?\W{0,6}$", re.IGNORECASE)


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def _se12(m: re.Match[str]) -> str:
    return NATIONAL_ID if personnummer_ok(_digits(m.group())) else m.group()


def _fnr(m: re.Match[str]) -> str:
    digits = _digits(m.group())
    return NATIONAL_ID if fodselsnummer_ok(digits) or _stdnum_fnr(digits) else m.group()


def _stdnum_fnr(digits: str) -> bool:
    # python-stdnum follows the registry's rules as they change (D-numbers among them);
    # the check above also knows the synthetic test numbers (+80 on the month).
    from stdnum.no import fodselsnummer

    return bool(fodselsnummer.is_valid(digits))


def _id10_sep(m: re.Match[str]) -> str:
    d = _digits(m.group())
    if cpr_ok(d) or personnummer_ok(d):
        return NATIONAL_ID
    return m.group()


def _id10(m: re.Match[str]) -> str:
    d = m.group()
    before = m.string[max(0, m.start() - 20) : m.start()]
    if d.startswith("0") and (_PHONE_BEFORE.search(before) or not personnummer_ok(d)):
        return m.group()  # a Swedish phone number; the phone rules handle it
    # A bare 10-digit CPR is only recognised when it is named: too many order numbers
    # look like a date followed by four digits.
    if personnummer_ok(d) or (cpr_ok(d) and _CPR_CONTEXT.search(before)):
        return NATIONAL_ID
    return m.group()


def _card(m: re.Match[str]) -> str:
    return CARD if luhn_ok(_digits(m.group())) else m.group()


def _nordic8(m: re.Match[str]) -> str:
    text = m.string
    before = text[max(0, m.start() - 30) : m.start()]
    after = text[m.end() : m.end() + 8]
    if _PHONE_BEFORE.search(before):
        return PHONE
    # Norwegian and Danish subscriber numbers never start with 1.
    if m.group().startswith("1") or _NOT_PHONE_BEFORE.search(before) or _MONEY_AFTER.search(after):
        return m.group()
    parts = m.group().split(" ")
    if len(parts) == 2 and all(p[:2] in ("19", "20") for p in parts):
        return m.group()  # "2019 2020": two years
    return PHONE


def redact(text: str) -> str:
    """`text` with e-mail addresses, phone numbers, payment card numbers and Nordic
    national ID numbers replaced by [EMAIL], [PHONE], [CARD] and [NATIONAL_ID]."""
    if not text:
        return text
    out = _EMAIL_RE.sub(EMAIL, text)
    # Named numbers first, then national IDs before cards and phones: they are the most
    # specific patterns.
    out = _NAMED_ID_RE.sub(lambda m: m.group("lead") + NATIONAL_ID, out)
    out = _SE12_RE.sub(_se12, out)
    out = _FNR_RE.sub(_fnr, out)
    out = _ID10_SEP_RE.sub(_id10_sep, out)
    out = _ID10_RE.sub(_id10, out)
    out = _CARD_RE.sub(_card, out)
    out = _INTL_PHONE_RE.sub(PHONE, out)
    out = _SE_PHONE_RE.sub(
        lambda m: PHONE if 8 <= len(_digits(m.group())) <= 10 else m.group(), out
    )
    out = _SE_PHONE_PLAIN_RE.sub(PHONE, out)
    out = _NORDIC8_RE.sub(_nordic8, out)
    return out


# --------------------------------------------------------------------------- language


@lru_cache(maxsize=1)
def _stopword_weights() -> dict[str, dict[str, float]]:
    # A word used by k of the languages is worth 1/k to each: "ikke" says "nb or da",
    # "inte" says "sv".
    table = {lang: stopwords(lang) for lang in LOCALES}
    weights: dict[str, dict[str, float]] = {}
    for lang, ws in table.items():
        for w in ws:
            k = sum(1 for other in table.values() if w in other)
            weights.setdefault(w, {})[lang] = 1.0 / k
    return weights


# Spelling that tells Danish from Norwegian (and both from Swedish) where the function
# words are shared: informasjon/information, høy/høj, kjempe, sjåfør, ventet/ventede.
_SPELLING_HINTS = (
    (re.compile(r"sjon"), "nb", 0.75),
    (re.compile(r"øy"), "nb", 0.75),
    (re.compile(r"^(?:kj|skj|sj)"), "nb", 0.5),
    (re.compile(r"(?:het|ene)$"), "nb", 0.25),
    (re.compile(r"øj|ej$|ej[^e]"), "da", 0.75),
    (re.compile(r"(?:hed|heden|erne|ede)$"), "da", 0.5),
    (re.compile(r"(?:arna|orna|heten)$"), "sv", 0.5),
)


def language_scores(text: str) -> dict[str, float]:
    """How strongly `text` looks like each language (higher is likelier)."""
    scores = dict.fromkeys(LOCALES, 0.0)
    weights = _stopword_weights()
    for w in words(text):
        for lang, weight in weights.get(w, {}).items():
            scores[lang] += weight
        if len(w) > 3:
            for pattern, lang, weight in _SPELLING_HINTS:
                if pattern.search(w):
                    scores[lang] += weight
    lowered = text.lower()
    nordic_letters = min(sum(lowered.count(c) for c in "æø"), 4)
    swedish_letters = min(sum(lowered.count(c) for c in "äö"), 4)
    any_nordic = min(lowered.count("å"), 4)
    scores["nb"] += 0.5 * nordic_letters + 0.25 * any_nordic
    scores["da"] += 0.5 * nordic_letters + 0.25 * any_nordic
    scores["sv"] += 0.75 * swedish_letters + 0.25 * any_nordic
    return scores


def detect_language(text: str) -> str:
    """en, nb, da or sv, judged by function words and spelling; en when nothing tells."""
    scores = language_scores(text)
    best = max(LOCALES, key=lambda lang: scores[lang])
    return best if scores[best] >= 0.5 else "en"


# --------------------------------------------------------------------------- themes


def content_words(text: str) -> list[str]:
    """Words that carry meaning: no function words, nothing shorter than three letters."""
    stop = stopwords()
    return [w for w in words(text) if len(w) >= 3 and w not in stop]


def themes(texts: Sequence[str], top: int = 5) -> list[tuple[str, int]]:
    """The named themes of `texts` (`core.themes.theme_counts`): (English theme name,
    how many texts name it), most named first."""
    from core.themes import theme_counts  # core.themes builds on this module

    return theme_counts(texts, top=top)
