"""Workspace settings by key, as `cxbot config` and `/cx config` name them: look-up with
suggestions, the check of a value, what may be shown. All of it is read off the fields
of `core.workspace_settings.WorkspaceSettings`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from core.setting_values import FallsBackTo, Form
from core.workspace_settings import ROUTE_PREFIX as ROUTE_PREFIX
from core.workspace_settings import SEGMENT, WorkspaceSettings


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
    """One setting as people name it: `name` is its key (a family's ends in <segment>),
    `field` the WorkspaceSettings attribute, `default` the stored text of its default
    (None: not set), `environment` the process setting that applies while it is unset."""

    name: str
    field: str
    description: str
    expected: str  # what a valid value looks like, for error messages
    default: str | None
    secret: bool = False  # never shown back (`cxbot config show` says only that it is set)
    channel: bool = False  # a channel ID, shown as a link to the channel
    environment: str | None = None

    @property
    def prefix(self) -> str | None:
        """What every key of a family starts with; None for a single key."""
        return self.name.removesuffix(SEGMENT) if self.name.endswith(SEGMENT) else None


def _markers(info: FieldInfo) -> Iterator[object]:
    # Pydantic keeps the field's own Annotated metadata on the FieldInfo; a kind's sits
    # inside the annotation (under `| None` or a dict's values).
    yield from info.metadata

    def inside(annotation: Any) -> Iterator[object]:
        yield from getattr(annotation, "__metadata__", ())
        for arg in get_args(annotation):
            yield from inside(arg)

    yield from inside(info.annotation)


def _key(field: str, info: FieldInfo, default: str | None) -> ConfigKey:
    markers = list(_markers(info))
    form = next(m for m in markers if isinstance(m, Form))
    fallback = next((m.variable for m in markers if isinstance(m, FallsBackTo)), None)
    return ConfigKey(
        name=str(info.alias),
        field=field,
        description=str(info.description),
        expected=form.expected,
        default=default,
        secret=form.secret,
        channel=form.channel,
        environment=fallback,
    )


def _keys() -> list[ConfigKey]:
    defaults = WorkspaceSettings().as_stored()
    return [
        _key(field, info, defaults.get(str(info.alias)))
        for field, info in WorkspaceSettings.model_fields.items()
    ]


_ALL = _keys()
KEYS: dict[str, ConfigKey] = {k.name: k for k in _ALL if k.prefix is None}
FAMILIES: dict[str, ConfigKey] = {k.prefix: k for k in _ALL if k.prefix is not None}
# The process settings a workspace setting falls back to when it is not stored.
ENVIRONMENT = {k.name: k.environment for k in KEYS.values() if k.environment}


def _family(name: str) -> ConfigKey | None:
    return next((k for prefix, k in FAMILIES.items() if name.startswith(prefix)), None)


def lookup(key: str) -> ConfigKey:
    """The definition of `key` (case-insensitive); UnknownKeyError lists close matches."""
    name = key.strip().lower()
    if name in KEYS:
        return KEYS[name]
    family = _family(name)
    if family is not None and family.prefix is not None and len(name) > len(family.prefix):
        return family
    raise UnknownKeyError(key, suggest(key))


def normalise_key(key: str) -> str:
    """The stored spelling: lower case, except a family key keeps its segment as typed."""
    stripped = key.strip()
    family = _family(stripped.lower())
    if family is not None and family.prefix is not None:
        segment = stripped[len(family.prefix) :].strip()
        if not segment:
            raise UnknownKeyError(key, [family.name])
        return family.prefix + segment
    lookup(stripped)
    return stripped.lower()


def suggest(key: str, n: int = 3) -> list[str]:
    """Known keys that look like `key` (typos, wrong separators)."""
    names = [k.name for k in _ALL]
    return difflib.get_close_matches(key.strip().lower(), names, n=n, cutoff=0.6)


def validate(key: str, value: str) -> tuple[str, str]:
    """(stored key, stored value) for a setting, or ConfigError saying what is wrong."""
    name = normalise_key(key)
    spec = lookup(name)
    segment = name.removeprefix(spec.prefix) if spec.prefix else None
    data: dict[str, Any] = {spec.name: value if segment is None else {segment: value}}
    try:
        typed = WorkspaceSettings.model_validate(data)
    except ValidationError:
        # Even a refused secret is not echoed: error messages end up in logs and chats.
        shown = "(hidden)" if spec.secret else value
        raise BadValueError(name, shown, spec.expected) from None
    # Every value that passes its check has a text (none is empty).
    return name, str(typed.as_stored()[name])


def is_secret(key: str) -> bool:
    """Whether the value of `key` must not be shown (see `mask`)."""
    try:
        return lookup(key).secret
    except ConfigError:
        return False


def is_channel(key: str) -> bool:
    """Whether `key` holds a channel ID (so it can be shown as a link to the channel)."""
    try:
        return lookup(key).channel
    except ConfigError:
        return False


def mask(key: str, value: str | None) -> str | None:
    """What may be shown of a stored value: a secret only says that it is set."""
    if value is None or not is_secret(key):
        return value
    return "(set, hidden)"


@dataclass(frozen=True)
class Shown:
    """One setting as `config show` lists it: `value` is what may be shown (secrets
    masked, None when not stored), `default` the key's own default."""

    key: str
    value: str | None
    default: str | None
    spec: ConfigKey


def listing(stored: Mapping[str, str]) -> list[Shown]:
    """Every known key, then the stored keys of families (routes): what `cxbot config show`
    and `/cx config` both list, so that the two never disagree about a value or what is
    hidden."""
    members = sorted(k for k in stored if _family(k) is not None)
    return [
        Shown(
            key, mask(key, stored.get(key)), KEYS[key].default if key in KEYS else None, lookup(key)
        )
        for key in [*KEYS, *members]
    ]
