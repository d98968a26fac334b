"""The workspace settings admins may change (`cxbot config`, `/cx config`): names, defaults, checks.

Values are kept as text; `validate` returns the normalised text to store, and the
`parse_*` helpers turn stored text into what the features use. A default of None
means "not set": a channel nobody picked, or a value that falls back to the
process setting (CXBOT_TIMEZONE, CXBOT_LOCALE).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core import sla

LOCALES = ("en", "nb", "da", "sv")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ROUTE_PREFIX = "alerts.route."
# The process settings a workspace setting falls back to when it is not stored.
ENVIRONMENT = {"timezone": "CXBOT_TIMEZONE", "locale": "CXBOT_LOCALE"}


def N_(msgid: str) -> str:
    """Marks a description or expected form for the message catalog (`/cx config` shows
    them in the reader's language; the command line keeps the English)."""
    return msgid


class ConfigError(ValueError):
    """A key or value that cannot be stored; the message says what is expected."""


class UnknownKeyError(ConfigError):
    def __init__(self, key: str, suggestions: list[str]) -> None:
        hint = f" (did you mean {', '.join(suggestions)}?)" if suggestions else ""
        super().__init__(f"unknown setting {key!r}{hint}; `cxbot config show` lists them all")
        self.key = key
        self.suggestions = suggestions


class BadValueError(ConfigError):
    def __init__(self, key: str, value: str, expected: str) -> None:
        super().__init__(f"{key}: expected {expected}, got {value!r}")
        self.key = key
        self.value = value
        self.expected = expected


@dataclass(frozen=True)
class ConfigKey:
    name: str
    description: str
    expected: str  # what a valid value looks like, for error messages
    default: str | None
    check: Callable[[str], str]  # returns the normalised value or raises ValueError
    secret: bool = False  # never shown back (`cxbot config show` says only that it is set)


# --------------------------------------------------------------------------- value checks

# Slack sends `<#C0123ABCD|general>` when someone picks a channel in a slash command.
_CHANNEL_MENTION = re.compile(r"^<#([A-Z0-9]+)(?:\|[^>]*)?>$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,20}$")


def _channel(value: str) -> str:
    value = value.strip()
    mention = _CHANNEL_MENTION.match(value)
    if mention:
        value = mention.group(1)
    if not _CHANNEL_ID.match(value):
        raise ValueError
    return value


_SCHEDULE = re.compile(r"^([a-z]{3})[a-z]*\s+(\d{1,2}):(\d{2})$")


def parse_schedule(value: str) -> tuple[int, int, int]:
    """`mon 08:00` -> (weekday 0-6 with Monday 0, hour, minute)."""
    match = _SCHEDULE.match(value.strip().lower())
    if not match or match.group(1) not in WEEKDAYS:
        raise ValueError(f"expected a weekday and a time like 'mon 08:00', got {value!r}")
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise ValueError(f"expected a time between 00:00 and 23:59, got {value!r}")
    return WEEKDAYS.index(match.group(1)), hour, minute


def _schedule(value: str) -> str:
    day, hour, minute = parse_schedule(value)
    return f"{WEEKDAYS[day]} {hour:02d}:{minute:02d}"


def parse_promises(value: str | None) -> list[str]:
    """`Answer within a day; Keep it simple` -> the promises, blanks dropped."""
    if not value:
        return []
    return [p.strip() for p in value.split(";") if p.strip()]


def _promises(value: str) -> str:
    promises = parse_promises(value)
    if not promises or any(len(p) > 200 for p in promises):
        raise ValueError
    return "; ".join(promises)


# The analyzer's own categories (core.analyzer.CATEGORIES): what the issue names.
DEFAULT_CATEGORIES = (
    "product",
    "service",
    "price",
    "delivery",
    "communication",
    "usability",
    "other",
)


def parse_categories(value: str | None) -> tuple[str, ...]:
    """`Product, Price,price` -> ("product", "price"): lower case, blanks and repeats dropped;
    nothing set -> the default categories."""
    if not value:
        return DEFAULT_CATEGORIES
    seen: dict[str, None] = {}
    for item in value.replace(";", ",").split(","):
        name = " ".join(item.split()).lower()
        if name:
            seen.setdefault(name, None)
    return tuple(seen) or DEFAULT_CATEGORIES


def _categories(value: str) -> str:
    if not value.replace(";", ",").replace(",", "").strip():
        raise ValueError
    names = parse_categories(value)
    if len(names) > 20 or any(len(n) > 40 for n in names):
        raise ValueError
    return ",".join(names)


def _locale(value: str) -> str:
    value = value.strip().lower()
    if value not in LOCALES:
        raise ValueError
    return value


def _timezone(value: str) -> str:
    value = value.strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError from exc
    return value


def _currency(value: str) -> str:
    from babel.numbers import list_currencies

    # ISO 4217 as CLDR knows it, so every code accepted here can also be formatted.
    value = value.strip().upper()
    if len(value) != 3 or value not in list_currencies():
        raise ValueError
    return value


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


def _int_between(low: int, high: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        number = int(value.strip())
        if not low <= number <= high:
            raise ValueError
        return str(number)

    return check


def parse_on_off(value: str | None, default: bool = False) -> bool:
    """`on`/`off` (also yes/no, true/false, 1/0) -> bool; None -> `default`."""
    if value is None:
        return default
    word = value.strip().lower()
    if word in ("on", "yes", "true", "1"):
        return True
    if word in ("off", "no", "false", "0"):
        return False
    raise ValueError(f"expected on or off, got {value!r}")


def _on_off(value: str) -> str:
    return "on" if parse_on_off(value) else "off"


def parse_weights(value: str) -> tuple[float, float, float]:
    """`1, 1, 2` -> CSI weights of NPS, CSAT and CES."""
    parts = [p.strip() for p in value.replace(";", ",").split(",")]
    if len(parts) != 3:
        raise ValueError(f"expected three weights like '1,1,1', got {value!r}")
    weights = tuple(float(p) for p in parts)
    if any(w < 0 or w != w for w in weights) or sum(weights) <= 0:
        raise ValueError(f"weights must be 0 or more and not all 0, got {value!r}")
    return weights[0], weights[1], weights[2]


def _weights(value: str) -> str:
    return ",".join(f"{w:g}" for w in parse_weights(value))


def _years(value: str) -> str:
    years = float(value.strip())
    if not 0 < years <= 100:
        raise ValueError
    return f"{years:g}"


def _reminders(value: str) -> str:
    return sla.format_reminders(sla.parse_reminders(value))


def _business_hours(value: str) -> str:
    return sla.normalise_business_hours(value)


def _secret(value: str) -> str:
    # Long enough that it cannot be guessed; no spaces, which a shell or a form would
    # silently trim or split.
    value = value.strip()
    if len(value) < 16 or len(value) > 256 or not value.isprintable() or " " in value:
        raise ValueError
    return value


def _smtp_url(value: str) -> str:
    from core.mail import parse_smtp_url

    value = value.strip()
    parse_smtp_url(value)
    return value


def _mail_from(value: str) -> str:
    from core.mail import normalise_address

    value = " ".join(value.split())
    if normalise_address(value) is None or len(value) > 300:
        raise ValueError
    return value


def _mail_domain(value: str) -> str:
    from core.mail import is_domain

    value = value.strip().lower().rstrip(".")
    if not is_domain(value):
        raise ValueError
    return value


def _public_url(value: str) -> str:
    from urllib.parse import urlsplit

    value = value.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query:
        raise ValueError
    return value


def is_secret(key: str) -> bool:
    """Whether the value of `key` must not be shown (see `mask`)."""
    try:
        return lookup(key).secret
    except ConfigError:
        return False


def is_channel(key: str) -> bool:
    """Whether `key` holds a channel ID (so it can be shown as a link to the channel)."""
    try:
        return lookup(key).check is _channel
    except ConfigError:
        return False


def mask(key: str, value: str | None) -> str | None:
    """What may be shown of a stored value: a secret only says that it is set."""
    if value is None or not is_secret(key):
        return value
    return "(set, hidden)"


_CHANNEL_EXPECTED = N_("a channel ID like C0123ABCD (channel details in Slack show it)")


def _ch(name: str, description: str) -> ConfigKey:
    return ConfigKey(name, description, _CHANNEL_EXPECTED, None, _channel)


KEYS: dict[str, ConfigKey] = {
    k.name: k
    for k in (
        _ch("alerts.channel", N_("where detractor alerts are posted")),
        _ch("alerts.escalation_channel", N_("where overdue detractor alerts are escalated")),
        ConfigKey(
            "alerts.sla_hours",
            N_("hours to follow up a detractor before the alert is overdue"),
            N_("a whole number of hours from 1 to 720"),
            "24",
            _int_between(1, 720),
        ),
        ConfigKey(
            "alerts.reminders",
            N_("when to remind about an unresolved alert, as fractions of the follow-up target"),
            N_("fractions like '0.5,0.75', or 'none'"),
            "0.5,0.75",
            _reminders,
        ),
        ConfigKey(
            "alerts.business_hours",
            N_("count the follow-up target in working hours only (unset: calendar hours)"),
            sla.BUSINESS_EXPECTED,
            None,
            _business_hours,
        ),
        ConfigKey(
            "alerts.storm_size",
            N_("more detractors than this from one import are grouped in one thread"),
            N_("a whole number from 1 to 1000"),
            "10",
            _int_between(1, 1000),
        ),
        ConfigKey(
            "alerts.history_days",
            N_("answers older than this many days when stored raise no alert message"),
            N_("a whole number of days from 0 to 3650"),
            "7",
            _int_between(0, 3650),
        ),
        _ch("digest.channel", N_("where the weekly digest is posted")),
        _ch("digest.monthly.channel", N_("where the monthly report is posted")),
        _ch("digest.quarterly.channel", N_("where the quarterly report is posted")),
        _ch("digest.yearly.channel", N_("where the yearly report is posted")),
        ConfigKey(
            "digest.schedule",
            N_("when the weekly digest goes out (workspace timezone)"),
            N_("a weekday and a time like 'mon 08:00'"),
            "mon 08:00",
            _schedule,
        ),
        ConfigKey("digest.enabled", N_("post the weekly digest"), N_("on or off"), "on", _on_off),
        # Written out, not generated, so that each description is a message id of its own.
        ConfigKey(
            "digest.monthly.enabled",
            N_("post the monthly report (to digest.monthly.channel, else digest.channel)"),
            N_("on or off"),
            "on",
            _on_off,
        ),
        ConfigKey(
            "digest.quarterly.enabled",
            N_("post the quarterly report (to digest.quarterly.channel, else digest.channel)"),
            N_("on or off"),
            "on",
            _on_off,
        ),
        ConfigKey(
            "digest.yearly.enabled",
            N_("post the yearly report (to digest.yearly.channel, else digest.channel)"),
            N_("on or off"),
            "on",
            _on_off,
        ),
        _ch("insights.channel", N_("where new customer insights are shared")),
        ConfigKey(
            "insights.categories",
            N_("the categories insights are sorted into, separated by ','"),
            N_("category names separated by ',' (at most 20, each at most 40 characters)"),
            ",".join(DEFAULT_CATEGORIES),
            _categories,
        ),
        _ch("shoutouts.channel", N_("where shout-outs are posted")),
        ConfigKey(
            "shoutouts.daily_limit",
            N_("shout-outs one person may give per day (0 = no limit)"),
            N_("a whole number from 0 to 1000"),
            "10",
            _int_between(0, 1000),
        ),
        ConfigKey(
            "shoutouts.pair_weekly_limit",
            N_("times one person may praise the same colleague in 7 days (0 = no limit)"),
            N_("a whole number from 0 to 100"),
            "3",
            _int_between(0, 100),
        ),
        ConfigKey(
            "shoutouts.customer_praise",
            N_("post a 'the customer said' shout-out when a promoter names an employee"),
            N_("on or off"),
            "on",
            _on_off,
        ),
        ConfigKey(
            "promises",
            N_("the customer promises, separated by ';'"),
            N_("promises separated by ';', each at most 200 characters"),
            None,
            _promises,
        ),
        ConfigKey(
            "locale",
            N_("the workspace's default language (else CXBOT_LOCALE)"),
            N_("one of en, nb, da, sv"),
            None,
            _locale,
        ),
        ConfigKey(
            "currency",
            N_(
                "the currency of customers' revenue, so CLV is shown as money (else a plain number)"
            ),
            N_("an ISO 4217 currency code like NOK, DKK, SEK, EUR or USD"),
            None,
            _currency,
        ),
        ConfigKey(
            "timezone",
            N_("the workspace's timezone for periods and schedules (else CXBOT_TIMEZONE)"),
            N_("an IANA timezone name like Europe/Oslo"),
            None,
            _timezone,
        ),
        ConfigKey(
            "webhook.secret",
            N_(
                "this workspace's own HMAC key for POST /webhooks/responses; when set, "
                "CXBOT_WEBHOOK_SECRET no longer opens it for this workspace"
            ),
            N_("at least 16 characters without spaces"),
            None,
            _secret,
            secret=True,
        ),
        ConfigKey(
            "webhook.typeform_secret",
            N_("the secret set on this workspace's Typeform webhook (POST /webhooks/typeform)"),
            N_("at least 16 characters without spaces"),
            None,
            _secret,
            secret=True,
        ),
        ConfigKey(
            "webhook.delighted_secret",
            N_(
                "the Delighted project's API key, which signs its webhooks "
                "(POST /webhooks/delighted)"
            ),
            N_("at least 16 characters without spaces"),
            None,
            _secret,
            secret=True,
        ),
        ConfigKey(
            "webhook.formbricks_secret",
            N_(
                "the signing secret (whsec_...) of this workspace's Formbricks webhook "
                "(POST /webhooks/formbricks)"
            ),
            N_("at least 16 characters without spaces"),
            None,
            _secret,
            secret=True,
        ),
        ConfigKey(
            "mail.smtp",
            N_("the SMTP server that sends mail to customers (STARTTLS when offered)"),
            N_("a URL like smtp://user:password@host:587, or smtps://... for TLS from the start"),
            None,
            _smtp_url,
            secret=True,
        ),
        ConfigKey(
            "mail.from",
            N_("the sender of mail to customers"),
            N_("an address, or a name and an address like Acme Care <care@acme.example>"),
            None,
            _mail_from,
        ),
        ConfigKey(
            "mail.reply_domain",
            N_(
                "the domain whose reply+... addresses bring customers' replies back (cxbot mail-in)"
            ),
            N_("a domain name like replies.acme.example"),
            None,
            _mail_domain,
        ),
        ConfigKey(
            "mail.public_url",
            N_("where customers reach cxbot serve for the rating and unsubscribe pages"),
            N_("an https:// address like https://cx.acme.example"),
            None,
            _public_url,
        ),
        ConfigKey(
            "mail.inbound_secret",
            N_("the password of POST /webhooks/email in the provider's webhook URL (basic auth)"),
            N_("at least 16 characters without spaces"),
            None,
            _secret,
            secret=True,
        ),
        ConfigKey(
            "thresholds.nps",
            N_("NPS scores at or below this raise a detractor alert"),
            N_("a whole number from 0 to 10"),
            "6",
            _int_between(0, 10),
        ),
        ConfigKey(
            "thresholds.csat",
            N_("CSAT scores at or below this raise a detractor alert"),
            N_("a whole number from 1 to 5"),
            "2",
            _int_between(1, 5),
        ),
        ConfigKey(
            "thresholds.ces",
            N_("CES scores at or below this raise a detractor alert"),
            N_("a whole number from 1 to 7"),
            "3",
            _int_between(1, 7),
        ),
        ConfigKey(
            "survey.cooldown_days",
            N_("days before the same customer is surveyed again"),
            N_("a whole number of days from 0 to 365"),
            "14",
            _int_between(0, 365),
        ),
        ConfigKey(
            "pulse.cooldown_days",
            N_("days between two different pulse surveys asking the same person"),
            N_("a whole number of days from 0 to 90"),
            "7",
            _int_between(0, 90),
        ),
        ConfigKey(
            "metrics.csi_weights",
            N_("weights of NPS, CSAT and CES in the satisfaction index"),
            N_("three weights like '1,1,1' (0 or more, not all 0)"),
            "1,1,1",
            _weights,
        ),
        ConfigKey(
            "metrics.churn_months",
            N_("months of customer history the churn rate covers"),
            N_("a whole number of months from 1 to 36"),
            "12",
            _int_between(1, 36),
        ),
        ConfigKey(
            "metrics.expected_years",
            N_("expected customer relationship in years for CLV (else 1 / annual churn)"),
            N_("a number of years above 0 and at most 100"),
            None,
            _years,
        ),
        ConfigKey(
            "retention.responses_days",
            N_("answers older than this many days are erased, with their alerts (unset: kept)"),
            N_("a whole number of days from 30 to 36500"),
            None,
            _int_between(30, 36500),
        ),
        ConfigKey(
            "retention.insights_days",
            N_("insights older than this many days are erased (unset: kept)"),
            N_("a whole number of days from 30 to 36500"),
            None,
            _int_between(30, 36500),
        ),
        ConfigKey(
            "retention.shoutouts_days",
            N_("shout-outs older than this many days are erased, with their seconds (unset: kept)"),
            N_("a whole number of days from 30 to 36500"),
            None,
            _int_between(30, 36500),
        ),
        ConfigKey(
            "retention.surveys_days",
            N_(
                "pulse answers are erased this many days after their round closed; the results "
                "stay (unset: kept)"
            ),
            N_("a whole number of days from 30 to 36500"),
            None,
            _int_between(30, 36500),
        ),
        ConfigKey(
            "retention.outbox_days",
            N_("what sent messages said is dropped from the database after this many days"),
            N_("a whole number of days from 1 to 3650"),
            "90",
            _int_between(1, 3650),
        ),
    )
}

_ROUTE = ConfigKey(
    ROUTE_PREFIX + "<segment>",
    N_("where detractor alerts of that customer segment are posted"),
    _CHANNEL_EXPECTED,
    None,
    _channel,
)


def lookup(key: str) -> ConfigKey:
    """The definition of `key` (case-insensitive); UnknownKeyError lists close matches."""
    name = key.strip().lower()
    if name in KEYS:
        return KEYS[name]
    if name.startswith(ROUTE_PREFIX) and len(name) > len(ROUTE_PREFIX):
        return _ROUTE
    raise UnknownKeyError(key, suggest(key))


def normalise_key(key: str) -> str:
    """The stored spelling: lower case, except a route keeps its segment as typed."""
    stripped = key.strip()
    if stripped.lower().startswith(ROUTE_PREFIX):
        segment = stripped[len(ROUTE_PREFIX) :].strip()
        if not segment:
            raise UnknownKeyError(key, [_ROUTE.name])
        return ROUTE_PREFIX + segment
    lookup(stripped)
    return stripped.lower()


def suggest(key: str, n: int = 3) -> list[str]:
    """Known keys that look like `key` (typos, wrong separators)."""
    names = [*KEYS, _ROUTE.name]
    return difflib.get_close_matches(key.strip().lower(), names, n=n, cutoff=0.6)


def validate(key: str, value: str) -> tuple[str, str]:
    """(stored key, stored value) for a setting, or ConfigError saying what is wrong."""
    name = normalise_key(key)
    spec = lookup(name)
    try:
        return name, spec.check(value)
    except ValueError:
        # Even a refused secret is not echoed: error messages end up in logs and chats.
        shown = "(hidden)" if spec.secret else value
        raise BadValueError(name, shown, spec.expected) from None


def defaults() -> dict[str, str | None]:
    return {name: spec.default for name, spec in KEYS.items()}


def effective(stored: Mapping[str, str]) -> dict[str, str | None]:
    """Every known key with its stored value, else its default; stored routes included."""
    values = defaults()
    values.update({k: v for k, v in stored.items() if k in KEYS or k.startswith(ROUTE_PREFIX)})
    return values


@dataclass(frozen=True)
class Shown:
    """One setting as `config show` lists it: `value` is what may be shown (secrets
    masked, None when not stored), `default` the key's own default."""

    key: str
    value: str | None
    default: str | None
    spec: ConfigKey


def listing(stored: Mapping[str, str]) -> list[Shown]:
    """Every known key, then the stored routes: what `cxbot config show` and `/cx config`
    both list, so that the two never disagree about a value or what is hidden."""
    routes = sorted(k for k in stored if k.startswith(ROUTE_PREFIX))
    return [
        Shown(
            key, mask(key, stored.get(key)), KEYS[key].default if key in KEYS else None, lookup(key)
        )
        for key in [*KEYS, *routes]
    ]
