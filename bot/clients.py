"""The one place the bot makes a Slack Web API client, for each of the three uses.

- `for_request()`: the Bolt app's client; Bolt swaps in each request's token.
- `for_team(team_id)`: work outside a request (commands, sweeps) in one workspace; it
  retries rate limits and server faults itself (audience look-ups page users.list).
- `for_dispatch(team_id)`: the outbox dispatcher's; it retries nothing, because the
  dispatcher reschedules a rate-limited message and goes on with the others, where a
  client sleeping through Retry-After would hold up the whole queue behind one message.

With installs (OAuth mode, bot.oauth) each workspace has its own, rotating token;
otherwise SLACK_BOT_TOKEN serves the one workspace. Every client counts Slack's errors for
/metrics (bot.observability.ObservedClient).
"""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy.engine import Engine

from bot.oauth import OAuth
from bot.observability import ObservedClient
from bot.settings import Settings
from storage.workspaces import known_teams

log = logging.getLogger("cxbot.clients")

# Slack asks clients to back off on 429 for Retry-After seconds; a few rounds cover a burst
# (a digest fan-out) without letting one caller hang for minutes.
RATE_LIMIT_RETRIES = 3
SERVER_ERROR_RETRIES = 2
CONNECTION_RETRIES = 2
TIMEOUT_SECONDS = 15


def web_client(settings: Settings, token: str | None = None) -> WebClient:
    """A client for `settings.slack_api_url` that retries rate limits and server faults.

    slack_sdk's default only retries connection errors; rate limits and 5xx need their own
    handlers (the rate-limit one honours Retry-After).
    """
    return ObservedClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=TIMEOUT_SECONDS,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            ServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
        ],
    )


def dispatch_client(settings: Settings, token: str | None = None) -> WebClient:
    """A client that leaves rate limits and server errors to the outbox dispatcher."""
    return ObservedClient(
        token=token or settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=TIMEOUT_SECONDS,
        retry_handlers=[],
    )


class NotInstalledError(LookupError):
    """The workspace has not installed the app (OAuth mode): there is no token for it."""

    def __init__(self, team_id: str) -> None:
        super().__init__(
            f"workspace {team_id} has not installed the app (install it at /slack/install)"
        )
        self.team_id = team_id


class SlackClients:
    """This process's Slack clients and installs; one per `Services`."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self._lock = threading.Lock()
        self._request: WebClient | None = None
        self._oauth: OAuth | None = None
        self._dispatch: dict[str, WebClient] = {}
        self._team: str | None = None

    def for_request(self) -> WebClient:
        """The Bolt app's client (one per process)."""
        with self._lock:
            if self._request is None:
                self._request = web_client(self.settings)
            return self._request

    def for_team(self, team_id: str) -> WebClient:
        """A new retrying client with `team_id`'s token; NotInstalledError without one.

        A client of its own: the dispatcher's are re-tokened as tokens rotate."""
        if not self.settings.oauth_enabled:
            return web_client(self.settings)
        token = self.oauth.tokens.token(team_id)
        if token is None:
            raise NotInstalledError(team_id)
        return web_client(self.settings, token)

    def for_dispatch(self, team_id: str) -> WebClient:
        """The dispatcher's client for `team_id` (one per workspace, given a current token)."""
        token = self.oauth.tokens.token(team_id) if self.settings.oauth_enabled else None
        with self._lock:
            client = self._dispatch.get(team_id)
            if client is None:
                client = self._dispatch[team_id] = dispatch_client(self.settings)
            if token is not None:
                client.token = token
            return client

    @property
    def oauth(self) -> OAuth:
        """The install flow's stores (OAuth mode), made once with their tables."""
        with self._lock:
            if self._oauth is None:
                self._oauth = OAuth(self.settings, self.engine, web_client(self.settings))
                self._oauth.create_tables()
            return self._oauth

    def installed_teams(self) -> list[str]:
        """The workspaces that installed the app, sorted (OAuth mode only)."""
        return self.oauth.installed_teams()

    def refresh_tokens(self) -> None:
        """Refresh rotating tokens ahead of time (OAuth mode; nothing otherwise)."""
        if self.settings.oauth_enabled:
            self.oauth.tokens.refresh_all()

    def default_team(self) -> str | None:
        """The workspace meant when a request does not say (webhooks, background work).

        One bot token: its workspace, from auth.test once, then kept. Installs: the one
        installed workspace, None when there are several (the caller must ask which),
        looked up every time since a workspace may be installed at any moment. Without
        Slack: the one workspace the database knows.
        """
        if self.settings.oauth_enabled:
            teams = self.installed_teams()
            return teams[0] if len(teams) == 1 else None
        if self._team is None:
            self._team = self._resolve()
        return self._team

    def _resolve(self) -> str | None:
        if self.settings.slack_bot_token:
            try:
                return str(self.for_request().auth_test()["team_id"])
            except Exception as exc:
                log.warning("auth.test failed, the workspace is not known yet: %s", exc)
                return None
        teams = known_teams(self.engine)
        return teams[0] if len(teams) == 1 else None
