"""The kinds of value a workspace setting holds, as `Annotated` types.

A setting is kept as text. Each kind says how that text is read and checked (a
validator, run both on what an admin types and on what was stored earlier), the
normalised text it is stored as (a serializer), and what a valid value looks like
(`Form`, for error messages and `/cx config`). `core.workspace_settings` puts them
together as fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, PlainSerializer

from core import sla
from core.locales import LOCALES, LocaleCode

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def N_(msgid: str) -> str:
    """Marks a description or expected form for the message catalog (`/cx config` shows
    them in the reader's language; the command line keeps the English)."""
    return msgid


@dataclass(frozen=True)
class Form:
    """How a setting's value looks to people: what to type (`expected`, an English msgid),
    whether it is a secret (never shown back) or a channel (shown as a link)."""

    expected: str
    secret: bool = False
    channel: bool = False


@dataclass(frozen=True)
class FallsBackTo:
    """The process setting (an environment variable) that applies while this one is unset."""

    variable: str


def _reads(parse: Callable[[str], Any]) -> BeforeValidator:
    # Settings arrive as text only; anything else is a programming error, refused like a
    # bad value rather than half-checked.
    def read(value: object) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {type(value).__name__}")
        return parse(value)

    return BeforeValidator(read)


# --------------------------------------------------------------------------- channels

# Slack sends `<#C0123ABCD|general>` when someone picks a channel in a slash command.
_CHANNEL_MENTION = re.compile(r"^<#([A-Z0-9]+)(?:\|[^>]*)?>$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,20}$")
CHANNEL_EXPECTED = N_("a channel ID like C0123ABCD (channel details in Slack show it)")


def _channel(value: str) -> str:
    value = value.strip()
    mention = _CHANNEL_MENTION.match(value)
    if mention:
        value = mention.group(1)
    if not _CHANNEL_ID.match(value):
        raise ValueError(f"not a channel ID: {value!r}")
    return value


Channel = Annotated[str, _reads(_channel), Form(CHANNEL_EXPECTED, channel=True)]


# --------------------------------------------------------------------------- numbers


def _whole(value: str) -> int:
    return int(value.strip())


def _number(value: str) -> float:
    return float(value.strip())


def _g(number: float) -> str:
    return f"{number:g}"


# Bounds and the expected form are the field's own: `Annotated[WholeNumber, Field(ge=..)]`.
WholeNumber = Annotated[int, _reads(_whole), PlainSerializer(str)]
Years = Annotated[
    float,
    _reads(_number),
    Field(gt=0, le=100),
    PlainSerializer(_g),
    Form(N_("a number of years above 0 and at most 100")),
]


def parse_weights(value: str) -> tuple[float, float, float]:
    """`1, 1, 2` -> CSI weights of NPS, CSAT and CES."""
    parts = [p.strip() for p in value.replace(";", ",").split(",")]
    if len(parts) != 3:
        raise ValueError(f"expected three weights like '1,1,1', got {value!r}")
    weights = tuple(float(p) for p in parts)
    if any(w < 0 or w != w for w in weights) or sum(weights) <= 0:
        raise ValueError(f"weights must be 0 or more and not all 0, got {value!r}")
    return weights[0], weights[1], weights[2]


def _weights_text(weights: tuple[float, ...]) -> str:
    return ",".join(_g(w) for w in weights)


Weights = Annotated[
    tuple[float, float, float],
    _reads(parse_weights),
    PlainSerializer(_weights_text),
    Form(N_("three weights like '1,1,1' (0 or more, not all 0)")),
]


# --------------------------------------------------------------------------- switches, times


def parse_on_off(value: str) -> bool:
    """`on`/`off` (also yes/no, true/false, 1/0) -> bool."""
    word = value.strip().lower()
    if word in ("on", "yes", "true", "1"):
        return True
    if word in ("off", "no", "false", "0"):
        return False
    raise ValueError(f"expected on or off, got {value!r}")


def _on_off_text(on: bool) -> str:
    return "on" if on else "off"


OnOff = Annotated[bool, _reads(parse_on_off), PlainSerializer(_on_off_text), Form(N_("on or off"))]


class Schedule(NamedTuple):
    """A weekly time: weekday 0-6 with Monday 0, hour, minute."""

    weekday: int
    hour: int
    minute: int


_SCHEDULE = re.compile(r"^([a-z]{3})[a-z]*\s+(\d{1,2}):(\d{2})$")


def parse_schedule(value: str) -> Schedule:
    """`mon 08:00` -> (weekday 0-6 with Monday 0, hour, minute)."""
    match = _SCHEDULE.match(value.strip().lower())
    if not match or match.group(1) not in WEEKDAYS:
        raise ValueError(f"expected a weekday and a time like 'mon 08:00', got {value!r}")
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise ValueError(f"expected a time between 00:00 and 23:59, got {value!r}")
    return Schedule(WEEKDAYS.index(match.group(1)), hour, minute)


def _schedule_text(at: tuple[int, int, int]) -> str:
    day, hour, minute = at
    return f"{WEEKDAYS[day]} {hour:02d}:{minute:02d}"


WeeklyTime = Annotated[
    Schedule,
    _reads(parse_schedule),
    PlainSerializer(_schedule_text),
    Form(N_("a weekday and a time like 'mon 08:00'")),
]

Reminders = Annotated[
    tuple[float, ...],
    _reads(sla.parse_reminders),
    PlainSerializer(sla.format_reminders),
    Form(N_("fractions like '0.5,0.75', or 'none'")),
]

# Kept as text: the hours are read in the workspace's timezone when they are used.
BusinessHours = Annotated[str, _reads(sla.normalise_business_hours), Form(sla.BUSINESS_EXPECTED)]


def _timezone(value: str) -> str:
    value = value.strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {value!r}") from exc
    return value


Timezone = Annotated[str, _reads(_timezone), Form(N_("an IANA timezone name like Europe/Oslo"))]


def zone(stored: str | None, default: str) -> ZoneInfo:
    """The timezone a stored `timezone` setting names, else `default` (CXBOT_TIMEZONE).

    `config set` checks timezones, so a bad stored value is one from before that check
    or from a system that lacks the zone: it falls back to the default too.
    """
    if stored:
        try:
            return ZoneInfo(stored.strip())
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(default)


# --------------------------------------------------------------------------- lists of words


def parse_promises(value: str | None) -> list[str]:
    """`Answer within a day; Keep it simple` -> the promises, blanks dropped."""
    if not value:
        return []
    return [p.strip() for p in value.split(";") if p.strip()]


def _promises(value: str) -> tuple[str, ...]:
    promises = parse_promises(value)
    if not promises or any(len(p) > 200 for p in promises):
        raise ValueError("expected promises of at most 200 characters")
    return tuple(promises)


def _joined(separator: str) -> Callable[[tuple[str, ...]], str]:
    return separator.join


Promises = Annotated[
    tuple[str, ...],
    _reads(_promises),
    PlainSerializer(_joined("; ")),
    Form(N_("promises separated by ';', each at most 200 characters")),
]


def _categories(value: str) -> tuple[str, ...]:
    """`Product, Price,price` -> ("product", "price"): lower case, blanks and repeats dropped."""
    seen: dict[str, None] = {}
    for item in value.replace(";", ",").split(","):
        name = " ".join(item.split()).lower()
        if name:
            seen.setdefault(name, None)
    names = tuple(seen)
    if not names or len(names) > 20 or any(len(n) > 40 for n in names):
        raise ValueError("expected 1 to 20 categories of at most 40 characters")
    return names


Categories = Annotated[
    tuple[str, ...],
    _reads(_categories),
    PlainSerializer(_joined(",")),
    Form(N_("category names separated by ',' (at most 20, each at most 40 characters)")),
]


# --------------------------------------------------------------------------- language, money


def _locale(value: str) -> str:
    value = value.strip().lower()
    if value not in LOCALES:
        raise ValueError(f"not one of {', '.join(LOCALES)}: {value!r}")
    return value


Locale = Annotated[LocaleCode, _reads(_locale), Form(N_("one of en, nb, da, sv"))]


def _currency(value: str) -> str:
    from babel.numbers import list_currencies

    # ISO 4217 as CLDR knows it, so every code accepted here can also be formatted.
    value = value.strip().upper()
    if len(value) != 3 or value not in list_currencies():
        raise ValueError(f"not a currency code: {value!r}")
    return value


Currency = Annotated[
    str,
    _reads(_currency),
    Form(N_("an ISO 4217 currency code like NOK, DKK, SEK, EUR or USD")),
]


# --------------------------------------------------------------------------- secrets, mail


def _secret(value: str) -> str:
    # Long enough that it cannot be guessed; no spaces, which a shell or a form would
    # silently trim or split.
    value = value.strip()
    if len(value) < 16 or len(value) > 256 or not value.isprintable() or " " in value:
        raise ValueError("not a usable secret")
    return value


Secret = Annotated[
    str, _reads(_secret), Form(N_("at least 16 characters without spaces"), secret=True)
]


def _smtp_url(value: str) -> str:
    from core.mail import parse_smtp_url

    value = value.strip()
    parse_smtp_url(value)
    return value


SmtpUrl = Annotated[
    str,
    _reads(_smtp_url),
    Form(
        N_("a URL like smtp://user:password@host:587, or smtps://... for TLS from the start"),
        secret=True,
    ),
]


def _mail_from(value: str) -> str:
    from core.mail import normalise_address

    value = " ".join(value.split())
    if normalise_address(value) is None or len(value) > 300:
        raise ValueError("not a mail address")
    return value


MailFrom = Annotated[
    str,
    _reads(_mail_from),
    Form(N_("an address, or a name and an address like Acme Care <care@acme.example>")),
]


def _mail_domain(value: str) -> str:
    from core.mail import is_domain

    value = value.strip().lower().rstrip(".")
    if not is_domain(value):
        raise ValueError("not a domain name")
    return value


MailDomain = Annotated[
    str, _reads(_mail_domain), Form(N_("a domain name like replies.acme.example"))
]


def _public_url(value: str) -> str:
    from urllib.parse import urlsplit

    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query:
        raise ValueError("not an http(s) address")
    return value


PublicUrl = Annotated[
    str, _reads(_public_url), Form(N_("an https:// address like https://cx.acme.example"))
]
