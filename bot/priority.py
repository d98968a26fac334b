"""Acks before replies: work that runs after an ack waits while other requests wait for theirs.

Everything runs in one Python process, so a burst of commands shares one interpreter lock:
if the replies of the first requests (rendering, posting to Slack) ran at once, the last
requests of the burst would be acknowledged late. Slack's 3-second limit applies to the ack,
not to the reply, so reply work gives way until no request has waited for its ack for
`quiet` seconds, and for at most `max_wait` seconds. A lone command's reply is thus about
10 ms later than it could be; the ack of the 200th command of a burst is much earlier.
Measured (benchmarks/ack.py, benchmarks/load.py): a quiet gap of 10 ms keeps a burst's acks
as fast as a gap of 50 ms did, and under a steady 200 requests a second across three
instances the gaps between requests are long enough for replies to follow within tens of
milliseconds, where a 50 ms gap was never seen and every reply waited out `max_wait`.

`max_wait` counts from when the work was handed over, not from when a thread took it up:
under a steady load there is rarely a quiet gap, and work that had already queued for its
threads would otherwise wait the whole `max_wait` again on each, so that a pool of N
threads would finish no more than N pieces of work a second, however idle the CPU.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

WAITING, ACKED = "waiting", "acked"


class AckFirst:
    def __init__(self, max_wait: float = 0.5, quiet: float = 0.01) -> None:
        self.max_wait = max_wait
        # A burst arrives over several server threads with small gaps between requests:
        # replies wait for a gap of `quiet` seconds, not just for a moment without requests.
        self.quiet = quiet
        self._waiting = 0  # requests being handled that have not been acknowledged yet
        self._queued = 0  # connections the server has taken in and not yet answered
        self._last = 0.0  # when a request last arrived or was acknowledged (monotonic)
        self._cond = threading.Condition()
        self._local = threading.local()

    @contextmanager
    def request(self) -> Iterator[None]:
        """Around the handling of one request on its server thread."""
        self._local.state = WAITING
        with self._cond:
            self._waiting += 1
            self._last = time.monotonic()
        try:
            yield
        finally:
            if self._local.state == WAITING:
                self._leave()
            self._local.state = None

    def acked(self) -> None:
        """The current request's ack is decided; what it starts from now on may wait."""
        if getattr(self._local, "state", None) != WAITING:
            return  # not inside request() (Socket Mode, a test calling dispatch directly)
        self._local.state = ACKED
        self._leave()

    def queued(self) -> None:
        """The server took in a connection's request and queued it for a thread: a burst
        larger than the thread pool waits there, unseen by `request()`, its acks owed."""
        with self._cond:
            self._queued += 1
            self._last = time.monotonic()

    def answered(self) -> None:
        """The server is done with a request counted by `queued`."""
        with self._cond:
            self._queued -= 1
            self._last = time.monotonic()
            if self._queued == 0 and self._waiting == 0:
                self._cond.notify_all()

    def deferrable(self) -> bool:
        return getattr(self._local, "state", None) == ACKED

    def wait_turn(self, since: float | None = None) -> None:
        """Wait until no ack is owed (for `quiet` seconds), or until `max_wait` seconds
        after `since` (a time.monotonic() of when the work was handed over; default: now)."""
        deadline = (time.monotonic() if since is None else since) + self.max_wait
        with self._cond:
            while True:
                now = time.monotonic()
                if now >= deadline:
                    return
                if self._waiting == 0 and self._queued == 0:
                    idle_for = now - self._last
                    if idle_for >= self.quiet:
                        return
                    self._cond.wait(min(self.quiet - idle_for, deadline - now))
                else:
                    self._cond.wait(deadline - now)

    def _leave(self) -> None:
        with self._cond:
            self._waiting -= 1
            self._last = time.monotonic()
            if self._waiting == 0 and self._queued == 0:
                self._cond.notify_all()


class ListenerExecutor(ThreadPoolExecutor):
    """Bolt's listener pool: listeners of already-acknowledged requests start after the acks
    still pending (see AckFirst)."""

    def __init__(self, max_workers: int, priority: AckFirst) -> None:
        super().__init__(max_workers, thread_name_prefix="cxbot-listener")
        self.priority = priority

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        # A pool thread does not inherit the submitting thread's context variables: the
        # listener runs in a copy of the request's context, so its log lines carry the
        # request id (bot.observability.request_id_var) like the request's own.
        context = contextvars.copy_context()
        if not self.priority.deferrable():
            return super().submit(context.run, fn, *args, **kwargs)
        priority = self.priority
        handed_over = time.monotonic()

        def after_acks() -> Any:
            priority.wait_turn(handed_over)
            return fn(*args, **kwargs)

        return super().submit(context.run, after_acks)
