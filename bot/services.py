"""The few long-lived things every part of the bot needs, built once and passed around."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from bot.settings import Settings

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    clock: Clock = system_clock
    # The language-model analyzer (core.analyzer); None until the insights feature wires it.
    analyzer: Any = None
    extras: dict[str, Any] = field(default_factory=dict)
