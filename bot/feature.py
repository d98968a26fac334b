"""What a feature contributes to the bot, declared in one typed object.

Each feature package under `bot.handlers` builds one `Feature`; `bot.features` lists them
all, and the app, the scheduler, the outbox, the background starters and `/cx` read the
one `Registry` made from that list. Nothing registers itself when imported, and nothing
is looked up by a "module:function" string.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from slack_bolt import App
    from slack_sdk import WebClient
    from sqlalchemy.engine import Connection

    from bot.handlers.cx.call import CxCall
    from bot.services import Services

Listeners = Callable[["App", "Services"], None]
# `fn(services, team_id, payload) -> (method, payload)`: a message whose final form is only
# known at send time (queued with method "render:<name>"); raise outbox.NotReady to wait.
Renderer = Callable[["Services", str, dict[str, Any]], tuple[str, dict[str, Any]]]
# `fn(client, services, team_id, key, payload, maybe_sent) -> (channel, ts)`: a delivery that
# takes more than one call (queued with method "send:<name>"); `maybe_sent` says an earlier
# attempt may have got through, so the sender looks before sending again.
Sender = Callable[
    ["WebClient", "Services", str, str, dict[str, Any], bool], tuple[str | None, str | None]
]


@dataclass(frozen=True)
class Sent:
    """A message the outbox has just sent: its workspace and key, where it landed, when."""

    team_id: str
    key: str
    channel: str | None
    ts: str | None
    at: datetime


# `fn(conn, sent)` after a message whose key starts with the hook's prefix was sent, in
# the transaction that marks it sent (features record the `ts` they need for updates).
SentHook = Callable[["Connection", Sent], None]
# Starts background work in this process; returns what stops it (or None).
Starter = Callable[["Services"], Callable[[], None] | None]


class AnswersStored(Protocol):
    """Called after answers were stored from outside an import (a webhook)."""

    def __call__(self, services: Services, *, team_id: str, response_ids: list[int]) -> None: ...


@dataclass(frozen=True)
class Subcommand:
    """`/cx NAME`: how it is typed and what it does (English msgids, for `/cx help`)."""

    name: str
    run: Callable[[CxCall], None]
    usage: str
    summary: str


@dataclass(frozen=True)
class Sweep:
    """Periodic work run by the scheduler in the leading instance; idempotent (bot/jobs.py)."""

    name: str
    run: Callable[[Services], None]
    every_seconds: int


@dataclass(frozen=True)
class Feature:
    """Everything one feature adds; every field but `name` is optional."""

    name: str
    listeners: Listeners | None = None
    subcommands: tuple[Subcommand, ...] = ()
    sweeps: tuple[Sweep, ...] = ()
    renderers: Mapping[str, Renderer] = field(default_factory=dict)
    senders: Mapping[str, Sender] = field(default_factory=dict)
    sent_hooks: Mapping[str, SentHook] = field(default_factory=dict)
    starters: tuple[Starter, ...] = ()
    answers_stored: tuple[AnswersStored, ...] = ()


class Registry:
    """The features' contributions, merged once; a name taken twice is an error at start."""

    def __init__(self, features: Iterable[Feature]) -> None:
        self.features: tuple[Feature, ...] = tuple(features)
        self.subcommands = _merged(
            "subcommand", ((s.name, s) for f in self.features for s in f.subcommands)
        )
        self.sweeps = _merged("sweep", ((s.name, s) for f in self.features for s in f.sweeps))
        self.renderers = _merged(
            "renderer", (i for f in self.features for i in f.renderers.items())
        )
        self.senders = _merged("sender", (i for f in self.features for i in f.senders.items()))
        self.sent_hooks = _merged(
            "sent hook", (i for f in self.features for i in f.sent_hooks.items())
        )
        self.starters: tuple[Starter, ...] = tuple(s for f in self.features for s in f.starters)
        self.answers_stored: tuple[AnswersStored, ...] = tuple(
            h for f in self.features for h in f.answers_stored
        )

    def with_features(self, *extra: Feature) -> Registry:
        """This registry and `extra` (tests and plug-ins add a feature this way)."""
        return Registry((*self.features, *extra))


def _merged(kind: str, items: Iterable[tuple[str, Any]]) -> Mapping[str, Any]:
    merged: dict[str, Any] = {}
    for name, value in items:
        if name in merged:
            raise ValueError(f"two features declare the {kind} {name!r}")
        merged[name] = value
    return MappingProxyType(merged)
