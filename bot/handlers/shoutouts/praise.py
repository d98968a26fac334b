"""Customer praise: answers that name an employee become shout-outs from the customer.

The praise is queued with the answers (storage); when the member directory was stale, an
answer naming someone by e-mail or name may have found nobody, so the directory is read
again in the background and those answers tried again (a repeat is a no-op per answer).
"""

from __future__ import annotations

import logging

from bot.handlers.shoutouts.directory import (
    DIRECTORY_MAX_AGE,
    DIRECTORY_RETRY_AGE,
    DirectoryState,
    ensure_directory,
)
from bot.outbox import wake
from bot.services import Services
from storage import shoutouts as store

log = logging.getLogger(__name__)


def refresh_for_praise(services: Services, team_id: str, response_ids: list[int]) -> None:
    """Read the directory again in the background when it is stale, then praise again."""
    # A refresh time only moves forward: while the one seen last is recent enough, the
    # directory is fresh without asking the database on every webhook.
    state = services.state(DirectoryState)
    seen = state.refreshed
    refreshed_at = seen.get(team_id)
    if refreshed_at is None or services.clock() - refreshed_at >= DIRECTORY_MAX_AGE:
        refreshed_at = store.directory_refreshed_at(services.engine, team_id=team_id)
        if refreshed_at is not None:
            seen[team_id] = refreshed_at
    if refreshed_at is not None and services.clock() - refreshed_at < DIRECTORY_MAX_AGE:
        return
    if not services.settings.can_call_slack:
        return
    now = services.clock()
    with state.lock:
        # Kept with the services (one per running bot), not in the module: two bots in
        # one process (tests, the sandbox) must not silence each other's refreshes.
        attempts = state.attempts
        last = attempts.get(team_id)
        if last is not None and now - last < DIRECTORY_RETRY_AGE:
            return  # a refresh just ran or failed: do not ask Slack on every webhook
        attempts[team_id] = now
        state.reading.add(team_id)
    state.worker.submit(_praise_again, services, team_id, list(response_ids))


def _praise_again(services: Services, team_id: str, response_ids: list[int]) -> None:
    try:
        client = services.slack.for_team(team_id)
        _people, refreshed = ensure_directory(services, client, team_id)
        if refreshed and store.praise_for_responses(
            services.engine, team_id=team_id, response_ids=response_ids, now=services.clock()
        ):
            wake(services)
    except Exception:
        log.exception("customer praise after the webhook failed for %d answers", len(response_ids))
    finally:
        state = services.state(DirectoryState)
        with state.lock:
            state.reading.discard(team_id)
