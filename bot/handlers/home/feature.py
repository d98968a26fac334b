"""The App Home's registry entry."""

from __future__ import annotations

from bot.feature import Feature
from bot.handlers.home.listeners import register

FEATURE = Feature(name="home", listeners=register)
