"""The one way the bot builds a Slack Web API client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.observability import ObservedClient
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.services import Services

# Slack asks clients to back off on 429 for Retry-After seconds; a few rounds cover a burst
# (a digest fan-out) without letting one caller hang for minutes.
RATE_LIMIT_RETRIES = 3
SERVER_ERROR_RETRIES = 2
CONNECTION_RETRIES = 2
TIMEOUT_SECONDS = 15


def make_client(settings: Settings, token: str | None = None) -> WebClient:
    """A WebClient for `settings.slack_api_url` that retries rate limits and server faults
    (and counts Slack's errors for /metrics).

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


class NotInstalledError(LookupError):
    """The workspace has not installed the app (OAuth mode): there is no token for it."""

    def __init__(self, team_id: str) -> None:
        super().__init__(
            f"workspace {team_id} has not installed the app (install it at /slack/install)"
        )
        self.team_id = team_id


def team_client(services: Services, team_id: str) -> WebClient:
    """A client for work outside a Slack request (commands, sweeps) in `team_id`.

    With installs (OAuth mode) each workspace has its own token, refreshed before it
    expires; otherwise the one SLACK_BOT_TOKEN serves the one workspace. The client
    retries rate limits like `make_client`: audience look-ups page through users.list.
    NotInstalledError when the workspace has no installation.
    """
    settings = services.settings
    if not settings.oauth_enabled:
        return make_client(settings)
    from bot.oauth import setup  # bot.oauth imports this module

    token = setup(services).tokens.token(team_id)
    if token is None:
        raise NotInstalledError(team_id)
    # A client of its own (not TeamTokens' shared one, whose token the dispatcher swaps).
    return make_client(settings, token)
