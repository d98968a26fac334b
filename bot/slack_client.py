"""The one way the bot builds a Slack Web API client."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.observability import ObservedClient
from bot.settings import Settings

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
