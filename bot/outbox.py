"""Reliable delivery of everything the bot must post.

Features queue Web API calls with `storage.outbox.enqueue` inside their own
transaction; the `Dispatcher` sends them. Delivery is at-least-once towards
Slack and exactly-once as seen in the channel: every `chat.postMessage` carries
its outbox key in Slack message metadata, and a message whose earlier attempt
may have reached Slack (the process died before recording the answer) is first
looked up in the channel's history by that key before it is sent again.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.feature import Sent
from bot.services import Services
from bot.text import fit
from storage import outbox as store

log = logging.getLogger(__name__)

METADATA_EVENT = "cxbot_outbox"

# Errors that no retry will cure: the message is parked as failed and logged.
PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "invalid_arguments",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "user_not_found",
        "cannot_dm_bot",
        "message_not_found",
        "cant_update_message",
        "restricted_action",
        "missing_scope",
    }
)

# Refusals of a message's layout, not of the message: it is sent again as its text.
LAYOUT_REFUSED = frozenset({"invalid_blocks", "invalid_blocks_format"})
# chat.postMessage truncates text past 40,000 characters; 4,000 is what it advises
# (https://api.slack.com/methods/chat.postMessage#truncating).
TEXT_LIMIT = 4000
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


class _CannotCheck(Exception):
    """Slack could not say (now) whether an earlier attempt already posted a message."""

    def __init__(self, error: str, wait: float | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.wait = wait  # Retry-After of a rate limit; None: back off as after a failure


class NotReady(Exception):
    """A renderer's input is not there yet (e.g. the message to update is still queued)."""


class Undeliverable(Exception):
    """A sender's message that can never go (its service refused it for good): parked as
    failed with the reason, no traceback, never retried."""


class TryLater(Exception):
    """A sender's own service (a mail server, not Slack) failed for now: the message is
    retried with its back-off, and Slack is not taken to be unreachable."""


def with_metadata(key: str, payload: dict[str, Any]) -> dict[str, Any]:
    if "metadata" in payload:
        return payload
    return {**payload, "metadata": {"event_type": METADATA_EVENT, "event_payload": {"key": key}}}


# A message that keeps failing for passing reasons (Slack unreachable, 5xx) is given up only
# after this long as well as `max_attempts`: an alert must outlive an hour-long outage.
GIVE_UP_AFTER = timedelta(hours=24)
# What a failed attempt's error starts with when Slack could not be reached at all: those
# messages are sent again at once when Slack answers again, not after their back-off.
UNREACHABLE = "unreachable: "
# At most this often: while Slack is only partly reachable, waking every backed-off
# message after each success would retry the whole queue without any back-off.
WAKE_EVERY = timedelta(seconds=30)
# Pages of 200 messages searched for an earlier attempt's message (a busy channel after an
# outage); beyond that, posting again is the lesser evil than losing the message.
HISTORY_PAGES = 25


def _never_connected(exc: BaseException) -> bool:
    """Whether the request cannot have reached Slack: the connection was refused or the
    host not found (urllib wraps these in URLError's `reason`)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        each = todo.pop()
        if each is None or id(each) in seen:
            continue
        seen.add(id(each))
        if isinstance(each, ConnectionRefusedError | socket.gaierror):
            return True
        reason = getattr(each, "reason", None)
        todo += [
            reason if isinstance(reason, BaseException) else None,
            each.__cause__,
            each.__context__,
        ]
    return False


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; the column holds UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def wake(services: Services) -> None:
    """Tell this process's dispatcher that something was queued; it polls anyway, this only
    saves the wait."""
    dispatcher = services.dispatcher
    if dispatcher is not None:
        dispatcher.notify()


def start_dispatcher(services: Services) -> Callable[[], None] | None:
    """Background starter (bot.features): send the outbox in this process."""
    if not services.settings.can_call_slack:
        return None
    # Sending shares the server's process: it yields to requests still awaiting their ack.
    dispatcher = Dispatcher(services, before_round=services.ack_first.wait_turn)
    services.dispatcher = dispatcher
    dispatcher.start()

    def stop() -> None:
        dispatcher.stop()
        services.dispatcher = None

    return stop


class Dispatcher:
    """Sends due outbox messages; safe to run in several processes at once."""

    def __init__(
        self,
        services: Services,
        client_for: Callable[[str], WebClient] | None = None,
        *,
        batch: int = 50,
        idle_wait: float = 0.5,
        max_attempts: int = 12,
        give_up_after: timedelta = GIVE_UP_AFTER,
        before_round: Callable[[], None] | None = None,
    ) -> None:
        self.services = services
        self.engine = services.engine
        # team id -> a WebClient with that workspace's token
        self.client_for = client_for or services.slack.for_dispatch
        self.clock = services.clock
        self.parts = services.registry
        self.batch = batch
        self.idle_wait = idle_wait
        self.max_attempts = max_attempts
        self.give_up_after = give_up_after
        self.before_round = before_round
        # Set when Slack could not be reached; the next message that gets through wakes
        # the others that are backing off for the same reason.
        self._unreachable = False
        self._woken_at: datetime | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        # Until when history checks wait (after Slack rate-limited one).
        self._checks_paused_until: datetime | None = None
        # (team, user) -> the D... id of the bot's DM with that user (conversations.open).
        self._dm_channels: dict[tuple[str, str], str] = {}
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ running

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def notify(self) -> None:
        """Something was queued: send it now rather than at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.before_round is not None:
                    self.before_round()
                sent = self.run_once()
            except Exception:
                log.exception("outbox: dispatch round failed")
                sent = 0
            if not sent:
                self._wake.wait(self.idle_wait)
                self._wake.clear()

    # ------------------------------------------------------------------ one round

    def run_once(self) -> int:
        """Send what is due now; returns how many messages were handled."""
        claimed = store.claim_due(self.engine, now=self.clock(), limit=self.batch)
        for message in claimed:
            self._deliver(message)
        return len(claimed)

    def drain(self, timeout: float = 30.0) -> None:
        """Send until nothing is due (tests and one-shot commands)."""
        deadline = self.clock() + timedelta(seconds=timeout)
        while self.run_once():
            if self.clock() > deadline:
                break

    def _deliver(self, message: store.Claimed) -> None:
        try:
            client = self.client_for(message.team_id)
        except Exception as exc:
            # A workspace whose token cannot be had now (a failed rotation, a lock timeout)
            # waits on its own; the round goes on with the other messages.
            log.exception("outbox: no client for %s", message.team_id)
            self._retry(
                message,
                f"no client: {type(exc).__name__}: {exc}",
                None,
                maybe_sent=message.maybe_sent,
                transient=True,
            )
            return
        method, payload = message.method, message.payload
        if method.startswith("send:"):
            self._send_with(client, message)
            return
        if method.startswith("render:"):
            render = self.parts.renderers.get(method.removeprefix("render:"))
            if render is None:
                store.mark_failed(self.engine, message.id, error=f"no renderer for {method}")
                return
            try:
                method, payload = render(self.services, message.team_id, payload)
            except NotReady as exc:
                self._retry(message, f"not ready: {exc}", 1.0, maybe_sent=False, count=False)
                return
            except Exception as exc:
                # A renderer that cannot build its call never will: park it, keep the round going.
                log.exception("outbox: rendering %s failed", message.key)
                store.mark_failed(self.engine, message.id, error=f"render failed: {exc}")
                return
        if method == "chat.postMessage":
            payload = with_metadata(message.key, payload)
            if message.maybe_sent:
                now = self.clock()
                if self._checks_paused_until is not None and now < self._checks_paused_until:
                    # Slack rate-limited the history check: wait it out for every message
                    # rather than spend one refused call per message.
                    wait = (self._checks_paused_until - now).total_seconds()
                    self._retry(message, "history check paused", wait, maybe_sent=True, count=False)
                    return
                try:
                    found = self._find_posted(
                        client,
                        message.key,
                        str(payload.get("channel", "")),
                        str(payload.get("thread_ts") or ""),
                        since=message.created_at,
                        team_id=message.team_id,
                    )
                except _CannotCheck as exc:
                    # Posting blind could double the message: ask again later instead.
                    if exc.wait is not None:
                        self._checks_paused_until = now + timedelta(seconds=exc.wait)
                    self._retry(
                        message,
                        exc.error,
                        exc.wait,
                        maybe_sent=True,
                        count=exc.wait is None,
                        transient=True,
                    )
                    return
                if found is not None:
                    self._sent(message, *found)
                    return
        try:
            response = client.api_call(method, json=payload)
        except SlackApiError as exc:
            if not self._sent_as_text(client, message, method, payload, exc):
                self._failed_call(message, exc)
            return
        except OSError as exc:  # connection errors after the client's own retries
            self._unreachable = True
            # A refused connection carried nothing: no history check before the next try
            # (after an outage, hundreds of them would page through the channel each).
            self._retry(
                message,
                f"{UNREACHABLE}{type(exc).__name__}: {exc}",
                None,
                maybe_sent=message.maybe_sent or not _never_connected(exc),
                transient=True,
            )
            return
        except Exception as exc:  # anything else the client raised: it may have got through
            self._retry(message, f"{type(exc).__name__}: {exc}", None, maybe_sent=True)
            return
        data = response.data if isinstance(response.data, dict) else {}
        channel = data.get("channel") or payload.get("channel")
        ts = data.get("ts") or (data.get("message") or {}).get("ts")
        self._learn_dm(message.team_id, payload.get("channel"), channel)
        self._sent(message, channel, ts)

    def _learn_dm(self, team_id: str, asked: Any, answered: Any) -> None:
        # A post to a user id is answered with the D... channel it landed in: kept, so a
        # later uncertain send to that person needs no conversations.open to be checked.
        if (
            isinstance(asked, str)
            and isinstance(answered, str)
            and answered.startswith("D")
            and _USER_ID.fullmatch(asked)
        ):
            self._dm_channels[(team_id, asked)] = answered

    def _dm_channel(self, client: WebClient, team_id: str, user: str) -> str:
        """The bot's DM channel with `user`.

        Slack takes a user id as a chat.postMessage channel, but conversations.history
        answers channel_not_found for one (https://api.slack.com/methods/conversations.history):
        the check for a message already sent can only read the D... channel that
        conversations.open returns (https://api.slack.com/methods/conversations.open).
        """
        key = (team_id, user)
        channel = self._dm_channels.get(key)
        if channel is None:
            response = client.conversations_open(users=user, return_im=False)
            channel = str((response.get("channel") or {})["id"])
            self._dm_channels[key] = channel
        return channel

    def _sent_as_text(
        self,
        client: WebClient,
        message: store.Claimed,
        method: str,
        payload: dict[str, Any],
        exc: SlackApiError,
    ) -> bool:
        """A message whose blocks Slack refused, sent again as its text alone.

        A layout Slack will never take must not cost the message itself: its readers get
        the notification text (every renderer writes one) instead of nothing.
        """
        error = str(exc.response.get("error") or "")
        if (
            error not in LAYOUT_REFUSED
            or method not in ("chat.postMessage", "chat.update")
            or not payload.get("blocks")
            or not str(payload.get("text") or "").strip()
        ):
            return False
        log.error(
            "outbox: Slack refused the blocks of %s (%s); sending its text", message.key, error
        )
        plain = {k: v for k, v in payload.items() if k != "blocks"}
        plain["text"] = fit(str(payload["text"]), TEXT_LIMIT)
        try:
            response = client.api_call(method, json=plain)
        except SlackApiError as again:
            self._failed_call(message, again)
            return True
        except OSError as again:
            self._unreachable = True
            self._retry(
                message,
                f"{UNREACHABLE}{type(again).__name__}: {again}",
                None,
                maybe_sent=True,
                transient=True,
            )
            return True
        data = response.data if isinstance(response.data, dict) else {}
        channel = data.get("channel") or payload.get("channel")
        ts = data.get("ts") or (data.get("message") or {}).get("ts")
        self._sent(message, channel, ts)
        return True

    def _send_with(self, client: WebClient, message: store.Claimed) -> None:
        send = self.parts.senders.get(message.method.removeprefix("send:"))
        if send is None:
            store.mark_failed(self.engine, message.id, error=f"no sender for {message.method}")
            return
        try:
            channel, ts = send(
                client,
                self.services,
                message.team_id,
                message.key,
                message.payload,
                message.maybe_sent,
            )
        except NotReady as exc:
            self._retry(message, f"not ready: {exc}", 1.0, maybe_sent=False, count=False)
            return
        except Undeliverable as exc:
            log.error("outbox: %s cannot be sent: %s", message.key, exc)
            store.mark_failed(self.engine, message.id, error=f"undeliverable: {exc}")
            return
        except TryLater as exc:
            self._retry(message, f"try later: {exc}", None, maybe_sent=True, transient=True)
            return
        except SlackApiError as exc:
            self._failed_call(message, exc)
            return
        except OSError as exc:  # connection trouble mid-way: it may have got through
            self._unreachable = True
            self._retry(
                message,
                f"{UNREACHABLE}{type(exc).__name__}: {exc}",
                None,
                maybe_sent=True,
                transient=True,
            )
            return
        except Exception as exc:
            log.exception("outbox: sending %s failed", message.key)
            store.mark_failed(self.engine, message.id, error=f"send failed: {exc}")
            return
        self._sent(message, channel, ts)

    def _find_posted(
        self,
        client: WebClient,
        key: str,
        channel: str,
        thread_ts: str = "",
        *,
        since: datetime | None = None,
        team_id: str = "",
    ) -> tuple[str, str] | None:
        """The (channel, ts) of a message already posted under `key`, if any.

        With `since` (when the message was queued) every page of the channel's history
        from then on is searched: after an outage, hundreds of other messages may have
        been posted on top of the one looked for.
        """
        if not channel:
            return None
        if _USER_ID.fullmatch(channel):
            try:
                channel = self._dm_channel(client, team_id, channel)
            except SlackApiError as exc:
                if exc.response.status_code == 429 or exc.response.status_code >= 500:
                    raise _CannotCheck(f"cannot open the DM: {exc.response.get('error')}") from exc
                return None  # no DM can be had: nothing was posted there either
            except OSError as exc:
                self._unreachable = True
                raise _CannotCheck(
                    f"{UNREACHABLE}cannot open the DM: {type(exc).__name__}: {exc}"
                ) from exc
        if thread_ts:
            pages = self._history_pages(client, channel, thread_ts, None)
        else:
            pages = self._history_pages(client, channel, "", since)
        for history in pages:
            found = self._match(history, key, channel)
            if found is not None:
                return found
        return None

    def _history_pages(
        self, client: WebClient, channel: str, thread_ts: str, since: datetime | None
    ) -> Iterator[Any]:
        cursor: str | None = None
        for _ in range(HISTORY_PAGES if since is not None and not thread_ts else 1):
            try:
                if thread_ts:
                    # A reply is not in the channel's history, only in its thread.
                    history = client.conversations_replies(
                        channel=channel, ts=thread_ts, limit=1000, include_all_metadata=True
                    )
                else:
                    extra: dict[str, Any] = {}
                    if since is not None:
                        # A minute of slack for clocks that disagree.
                        extra["oldest"] = f"{since.timestamp() - 60:.6f}"
                    if cursor:
                        extra["cursor"] = cursor
                    history = client.conversations_history(
                        channel=channel, limit=200, include_all_metadata=True, **extra
                    )
            except SlackApiError as exc:
                status = exc.response.status_code
                if status == 429:
                    after = exc.response.headers.get("Retry-After") or exc.response.headers.get(
                        "retry-after"
                    )
                    raise _CannotCheck("ratelimited while checking", float(after or 1.0)) from exc
                if status >= 500:
                    error = exc.response.get("error") or status
                    raise _CannotCheck(f"cannot check: {error}") from exc
                return  # the check is refused for good: sending again beats losing it
            except OSError as exc:  # connection trouble: the answer may come next time
                self._unreachable = True
                raise _CannotCheck(
                    f"{UNREACHABLE}cannot check: {type(exc).__name__}: {exc}"
                ) from exc
            except Exception as exc:
                raise _CannotCheck(f"cannot check: {type(exc).__name__}: {exc}") from exc
            yield history
            cursor = (history.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return

    @staticmethod
    def _match(history: Any, key: str, channel: str) -> tuple[str, str] | None:
        messages: list[dict[str, Any]] = history.get("messages", [])
        for item in messages:
            meta = item.get("metadata") or {}
            if (
                meta.get("event_type") == METADATA_EVENT
                and (meta.get("event_payload") or {}).get("key") == key
            ):
                return str(history.get("channel") or channel), str(item["ts"])
        return None

    def _sent(self, message: store.Claimed, channel: str | None, ts: str | None) -> None:
        hooks = [
            hook for prefix, hook in self.parts.sent_hooks.items() if message.key.startswith(prefix)
        ]
        now = self.clock()
        marked = False
        try:
            # One transaction for both: a round trip or three fewer per message.
            with self.engine.begin() as conn:
                store.mark_sent(conn, message.id, now=now, channel=channel, ts=ts)
                marked = True
                sent = Sent(message.team_id, message.key, channel, ts, now)
                for hook in hooks:
                    hook(conn, sent)
        except Exception:
            if not marked:
                raise
            log.exception("outbox: after-send hook for %s failed", message.key)
            # The hook's failure must not undo the sending: Slack has the message.
            store.mark_sent(self.engine, message.id, now=now, channel=channel, ts=ts)
        self._wake_after_outage(now)

    def _wake_after_outage(self, now: datetime) -> None:
        """Slack answers again: what backed off while it was away goes now, not after
        back-offs that grew to minutes during the outage."""
        if not self._unreachable:
            return
        if self._woken_at is not None and now - self._woken_at < WAKE_EVERY:
            return
        self._unreachable = False
        self._woken_at = now
        try:
            woken = store.wake_unreachable(self.engine, prefix=UNREACHABLE, now=now)
        except Exception:
            log.exception("outbox: waking the messages that waited for Slack failed")
            return
        if woken:
            log.info("outbox: Slack answers again; %d waiting messages are due now", woken)

    def _failed_call(self, message: store.Claimed, exc: SlackApiError) -> None:
        status = exc.response.status_code
        error = str(exc.response.get("error") or status)
        if status == 429:
            retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get(
                "retry-after"
            )
            wait = float(retry_after) if retry_after else 1.0
            self._retry(message, f"ratelimited ({wait:g}s)", wait, count=False, maybe_sent=False)
        elif error in PERMANENT:
            log.error("outbox: %s failed for good: %s", message.key, error)
            store.mark_failed(self.engine, message.id, error=error)
        else:
            # A 5xx may come after Slack stored the message; a 4xx-style error did not post.
            self._retry(message, error, None, maybe_sent=status >= 500, transient=status >= 500)

    def _retry(
        self,
        message: store.Claimed,
        error: str,
        wait: float | None,
        *,
        maybe_sent: bool,
        count: bool = True,
        transient: bool = False,
    ) -> None:
        """Try `message` again after `wait` seconds (None: a back-off that grows with its
        attempts). Given up after `max_attempts`, and for `transient` failures (Slack
        unreachable or failing on its side) only once the message is `give_up_after` old."""
        if (
            count
            and message.attempts >= self.max_attempts
            and (
                not transient
                or message.created_at is None
                or self.clock() - _aware(message.created_at) >= self.give_up_after
            )
        ):
            log.error(
                "outbox: giving up on %s after %d attempts: %s",
                message.key,
                message.attempts,
                error,
            )
            store.mark_failed(self.engine, message.id, error=error)
            return
        if wait is None:
            wait = min(2.0 ** (message.attempts - 1), 300.0)
        store.mark_retry(
            self.engine,
            message.id,
            at=self.clock() + timedelta(seconds=wait),
            error=error,
            maybe_sent=maybe_sent,
            counts=count,
        )
