"""The long-lived things every part of the bot needs, built once per process and passed
around: settings, the database, the clock, the Slack clients, the feature registry, and
the background parts that a stopping server must drain. Every field is named and typed;
a feature's own process state is an object of its own class (`state`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from sqlalchemy.engine import Engine

from bot.clients import SlackClients
from bot.feature import Registry
from bot.priority import AckFirst
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.leader import Leader
    from bot.outbox import Dispatcher
    from bot.priority import ListenerExecutor

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
State = TypeVar("State")


@runtime_checkable
class Closing(Protocol):
    """A feature state that owns threads (a pool): `close` lets them finish and stop."""

    def close(self) -> None: ...


def system_clock() -> datetime:
    return datetime.now(UTC)


def every_feature() -> Registry:
    # Imported here, not at the top: every feature module imports this one.
    from bot.features import FEATURES

    return Registry(FEATURES)


@dataclass(eq=False)
class Services:
    settings: Settings
    engine: Engine
    clock: Clock = system_clock
    # The language-model analyzer (core.analyzer); None until the insights feature wires it.
    analyzer: Any = None
    registry: Registry = field(default_factory=every_feature)
    # Requests still awaiting their ack go before background sends (bot.priority).
    ack_first: AckFirst = field(default_factory=AckFirst)
    slack: SlackClients = field(init=False)
    # Set by whoever starts them: the listeners' pool (create_app), this process's outbox
    # dispatcher and scheduler leader (bot.background); a stopping server drains them.
    listeners: ListenerExecutor | None = None
    dispatcher: Dispatcher | None = None
    leader: Leader | None = None
    stops: list[Callable[[], None]] = field(default_factory=list)
    _states: dict[type, Any] = field(default_factory=dict, init=False, repr=False)
    _states_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.slack = SlackClients(self.settings, self.engine)

    def state(self, kind: type[State]) -> State:
        """This process's one `kind()` (a feature's caches, pools and throttles), made on
        first use: state lives with the services, never in a module."""
        with self._states_lock:
            found = self._states.get(kind)
            if found is None:
                found = self._states[kind] = kind()
            return found

    def close_states(self) -> None:
        """Close the feature states made so far (their pools finish the work already
        queued), newest first; a later `state()` makes a fresh one. Called when the
        background work stops, so no thread of a stopped bot still calls Slack."""
        with self._states_lock:
            made = list(self._states.values())
            self._states.clear()
        for state in reversed(made):
            if isinstance(state, Closing):
                try:
                    state.close()
                except Exception:
                    # One state's failure must not leave the others' threads running.
                    log.exception("closing %s failed", type(state).__name__)
