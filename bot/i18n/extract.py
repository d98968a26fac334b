"""Find the English texts the code marks for translation, and which are untranslated."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from babel.messages.extract import extract_from_dir

from bot.i18n.catalog import merged_catalog

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None,
    "gettext": None,
    "N_": None,
    "ngettext": (1, 2),
}
Msgid = str | tuple[str, ...]


def code_messages(dirs: Iterable[str] = ("bot", "core")) -> dict[Msgid, list[str]]:
    """Every msgid marked in the code under `dirs`, with the places it is used."""
    found: dict[Msgid, list[str]] = {}
    for name in dirs:
        base = ROOT / name
        if not base.is_dir():
            continue
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(base), method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.setdefault(message, []).append(f"{name}/{filename}:{lineno}")
    return found


def untranslated(locale: str, dirs: Iterable[str] = ("bot", "core")) -> dict[Msgid, list[str]]:
    """Msgids used in the code that have no translation in `locale`."""
    catalog = merged_catalog(locale)
    missing: dict[Msgid, list[str]] = {}
    for msgid, where in code_messages(dirs).items():
        key = msgid if isinstance(msgid, str) else msgid[0]
        message = catalog.get(key)
        if message is None or not message.string:
            missing[msgid] = where
    return missing
