"""Message catalogs: every `.po` file of a locale merged into one `Translations` object.

Each feature keeps its strings in its own file (`locales/nb/LC_MESSAGES/insights.po`,
`alerts.po`, ...) so several people can add strings without touching the same file.
The files are compiled in memory on first use, so there is no build step.
"""

from __future__ import annotations

import functools
import io
import logging
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).with_name("locales")
SOURCE_LOCALE = "en"


def po_files(locale: str) -> list[Path]:
    """The catalog files of a locale, in a stable order (later files win a conflict)."""
    return sorted((LOCALES_DIR / locale / "LC_MESSAGES").glob("*.po"))


def read_catalog(path: Path, locale: str) -> Catalog:
    with path.open("rb") as fp:
        return read_po(fp, locale=locale)


def merged_catalog(locale: str) -> Catalog:
    """All translated, non-fuzzy messages of a locale's files in one catalog."""
    combined = Catalog(locale=locale, fuzzy=False)
    seen: dict[object, tuple[Path, object]] = {}
    for path in po_files(locale):
        for message in read_catalog(path, locale):
            if not message.id or message.fuzzy or not _translated(message.string):
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            if key in seen and seen[key][1] != message.string:
                # Two features translated the same English text differently; keep going
                # with the later file but make the clash visible.
                log.warning(
                    "msgid %r is translated differently in %s and %s",
                    key,
                    seen[key][0].name,
                    path.name,
                )
            seen[key] = (path, message.string)
            combined[message.id] = message
    return combined


def _translated(value: object) -> bool:
    if isinstance(value, str):
        return bool(value)
    if isinstance(value, tuple | list):
        return all(bool(v) for v in value)
    return False


@functools.lru_cache(maxsize=16)
def translations(locale: str) -> Translations:
    """The compiled catalog of a locale, built once per process (English: empty)."""
    return _compile(locale)


def _compile(locale: str) -> Translations:
    if locale == SOURCE_LOCALE:
        return Translations()
    buf = io.BytesIO()
    write_mo(buf, merged_catalog(locale))
    buf.seek(0)
    return Translations(fp=buf)


def reload() -> None:
    """Forget the compiled catalogs (after editing a `.po` file in a running process)."""
    translations.cache_clear()
