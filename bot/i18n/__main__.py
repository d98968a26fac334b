"""`python -m bot.i18n [FEATURE]`: list the texts that still need a translation.

With FEATURE, the missing entries are also appended (untranslated) to
`locales/<lang>/LC_MESSAGES/FEATURE.po` of each language, ready to be filled in.
"""

from __future__ import annotations

import sys

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from bot.i18n.catalog import LOCALES_DIR, read_catalog
from bot.i18n.extract import untranslated
from core.locales import LOCALES


def main(argv: list[str]) -> int:
    feature = argv[0] if argv else None
    total = 0
    for locale in LOCALES:
        if locale == "en":
            continue
        missing = untranslated(locale)
        total += len(missing)
        for msgid, where in sorted(missing.items(), key=lambda kv: str(kv[0])):
            print(f"{locale}\t{msgid!r}\t{where[0]}")
        if feature and missing:
            _append(locale, feature, missing)
    print(f"{total} missing translation(s)", file=sys.stderr)
    return 1 if total else 0


def _append(locale: str, feature: str, missing: dict) -> None:
    path = LOCALES_DIR / locale / "LC_MESSAGES" / f"{feature}.po"
    catalog = read_catalog(path, locale) if path.exists() else Catalog(locale=locale)
    for msgid, where in missing.items():
        if msgid not in catalog:
            string = "" if isinstance(msgid, str) else ("", "")
            catalog.add(msgid, string, locations=[(w.rsplit(":", 1)[0], 0) for w in where[:1]])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fp:
        write_po(fp, catalog, width=100, omit_header=False, include_lineno=False)
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
