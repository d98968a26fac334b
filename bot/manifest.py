"""manifest.yml, the one source of the app's Slack scopes and event subscriptions.

The install flow asks for the manifest's bot scopes (bot/oauth.py), and the app checks at
start that every subscribed event has a listener (bot/app.py); tests/fidelity checks the
other direction, that every scope and event is used. Read once per process: the file
ships with the code, next to the packages.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

PATH = Path(__file__).resolve().parents[1] / "manifest.yml"


@cache
def load() -> dict[str, Any]:
    """The parsed manifest (the same object every time: do not change it)."""
    data = yaml.safe_load(PATH.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{PATH} is not a Slack app manifest")
    return data


def bot_scopes() -> tuple[str, ...]:
    """The bot token scopes, as listed under oauth_config.scopes.bot."""
    scopes = ((load().get("oauth_config") or {}).get("scopes") or {}).get("bot") or []
    return tuple(str(s) for s in scopes)


def bot_events() -> tuple[str, ...]:
    """The subscribed bot events as the manifest names them (`message.im`, ...)."""
    subscriptions = (load().get("settings") or {}).get("event_subscriptions") or {}
    return tuple(str(e) for e in subscriptions.get("bot_events") or [])


def bot_event_types() -> set[str]:
    """The event `type`s those subscriptions deliver: `message.im` arrives as `message`."""
    return {name.split(".", 1)[0] for name in bot_events()}
