"""Which language (and timezone) a Slack user reads in: looked up once, then cached.

Both come from one `users.info` call (with `include_locale`), kept for ten minutes.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.i18n.translator import locale_code

log = logging.getLogger(__name__)

TTL_SECONDS = 600.0
# After a failed lookup the default is used for a short while instead of asking again
# on every request (a rate-limited Slack would otherwise be hammered).
FAILURE_TTL_SECONDS = 60.0
MAX_ENTRIES = 20_000

_lock = threading.Lock()
# (api base url, user id) -> ((Slack locale, tz name), expiry on the monotonic clock);
# either part is None when Slack did not say.
_cache: dict[tuple[str, str], tuple[tuple[str | None, str | None], float]] = {}


def locale_from_slack(slack_locale: str | None, default: str = "en") -> str:
    """ "nb-NO"/"no-NO"/"nn-NO" -> nb, "da-DK" -> da, "sv-SE" -> sv, "en-*" -> en, else default."""
    return locale_code(slack_locale, default)


def user_locale(client: Any, user_id: str, default: str) -> str:
    """The user's language from their Slack locale; never raises (errors give `default`)."""
    slack_locale, _tz = _facts(client, user_id)
    return locale_from_slack(slack_locale, default)


def cached_user_locale(client: Any, user_id: str, default: str) -> str | None:
    """The user's language if a fresh lookup is cached, else None; never calls Slack."""
    key = (str(getattr(client, "base_url", "")), user_id)
    with _lock:
        hit = _cache.get(key)
    if hit is None or hit[1] <= time.monotonic():
        return None
    return locale_from_slack(hit[0][0], default)


def user_timezone(client: Any, user_id: str, default: str) -> str:
    """The user's IANA timezone from Slack ("Europe/Oslo"); never raises."""
    _locale, tz = _facts(client, user_id)
    if not tz:
        return default
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return default
    return tz


def forget_user_locale(user_id: str | None = None) -> None:
    """Drop cached lookups (one user's, or all) so the next one asks Slack again."""
    with _lock:
        if user_id is None:
            _cache.clear()
            return
        for key in [k for k in _cache if k[1] == user_id]:
            del _cache[key]


def _facts(client: Any, user_id: str) -> tuple[str | None, str | None]:
    if not user_id:
        return None, None
    key = (str(getattr(client, "base_url", "")), user_id)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
    if hit is not None and hit[1] > now:
        return hit[0]
    facts: tuple[str | None, str | None]
    try:
        response = client.users_info(user=user_id, include_locale=True)
        user = response.get("user") or {}
        facts, ttl = (user.get("locale"), user.get("tz")), TTL_SECONDS
    except Exception as exc:
        log.info("users.info for %s failed (%s); using the defaults", user_id, exc)
        facts, ttl = (None, None), FAILURE_TTL_SECONDS
    with _lock:
        if len(_cache) >= MAX_ENTRIES:
            _evict(now)
        _cache[key] = (facts, now + ttl)
    return facts


def _evict(now: float) -> None:
    for key in [k for k, (_, expiry) in _cache.items() if expiry <= now]:
        del _cache[key]
    # Still full: drop the oldest half (dicts keep insertion order).
    if len(_cache) >= MAX_ENTRIES:
        for key in list(_cache)[: MAX_ENTRIES // 2]:
            del _cache[key]
