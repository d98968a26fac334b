"""Many workspaces from one deployment: Slack's OAuth install flow and per-workspace tokens.

On when SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set (bot/settings.py). Then:

- `GET /slack/install` starts an install (Bolt's install page, a state kept in the
  database so the redirect may land on any instance), `GET /slack/oauth_redirect`
  finishes it: the workspace's bot token goes into slack_sdk's SQLAlchemy installation
  store (tables `slack_installations`, `slack_bots`, beside ours; created at start under
  a database lock so instances starting together do not race).
- Bolt finds each request's token in that store (`InstallationStoreAuthorize`).
- Background work (the outbox dispatcher, commands) gets a workspace's client from
  bot.clients, with a token from `TeamTokens`. With token rotation on, bot tokens expire after 12
  hours: `TeamTokens` refreshes a token `REFRESH_MINUTES` before it expires, under a
  per-workspace lock so two instances never spend the same refresh token, and the
  scheduler's `tokens` sweep refreshes every installation ahead of time so that Bolt's
  own request-time refresh (at 2 hours) never has to run.

Without those settings the bot serves the one workspace of SLACK_BOT_TOKEN, as before
(Socket Mode stays single-workspace).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.manifest import bot_scopes
from bot.settings import Settings
from storage.locks import acquire

log = logging.getLogger("cxbot.oauth")

# Refresh a rotating token this long before it expires (Bolt's own check is at 120).
REFRESH_MINUTES = 180
STATE_SECONDS = 600


class OAuth:
    """The installation and state stores of one process, and the token source."""

    def __init__(self, settings: Settings, engine: Engine, client: WebClient) -> None:
        if not settings.oauth_enabled:
            raise ValueError("SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are needed for installs")
        assert settings.slack_client_id and settings.slack_client_secret
        self.settings = settings
        self.engine = engine
        self.client = client
        self.installations = SQLAlchemyInstallationStore(
            client_id=settings.slack_client_id, engine=engine, logger=log
        )
        self.states = SQLAlchemyOAuthStateStore(
            expiration_seconds=STATE_SECONDS, engine=engine, logger=log
        )
        self.tokens = TeamTokens(self)

    def create_tables(self) -> None:
        """Create the stores' tables once, whichever instance comes first."""
        with acquire(self.engine, "cxbot:oauth-tables", timeout=120):
            self.installations.create_tables()
            self.states.create_tables()

    def scopes(self) -> list[str]:
        if self.settings.slack_scopes:
            return self.settings.slack_scopes.split(",")
        return list(bot_scopes())

    def bolt_kwargs(self) -> dict[str, Any]:
        """What `slack_bolt.App` takes to run the install flow and authorize each request.

        The Authorize is built here (not by OAuthSettings) so that its token refresh talks
        to SLACK_API_URL through our client, like every other call.
        """
        assert self.settings.slack_client_id and self.settings.slack_client_secret
        settings = OAuthSettings(
            client_id=self.settings.slack_client_id,
            client_secret=self.settings.slack_client_secret,
            scopes=self.scopes(),
            user_scopes=[],
            redirect_uri=self.settings.slack_redirect_uri,
            installation_store=self.installations,
            state_store=self.states,
            state_expiration_seconds=STATE_SECONDS,
            logger=log,
        )
        authorize = InstallationStoreAuthorize(
            logger=log,
            installation_store=self.installations,
            client_id=self.settings.slack_client_id,
            client_secret=self.settings.slack_client_secret,
            token_rotation_expiration_minutes=120,
            cache_enabled=False,
            client=self.client,
        )
        return {
            "oauth_settings": settings,
            "authorize": authorize,
            "installation_store": self.installations,
        }

    def installed_teams(self) -> list[str]:
        """Workspaces with a bot installed (newest installation per team)."""
        bots = self.installations.bots
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(bots.c.team_id)
                .where(
                    bots.c.client_id == self.settings.slack_client_id, bots.c.team_id.is_not(None)
                )
                .distinct()
            ).scalars()
            return sorted(str(t) for t in rows)


class TeamTokens:
    """A workspace's bot token for work outside a Slack request, refreshed before expiry."""

    def __init__(self, oauth: OAuth) -> None:
        self.oauth = oauth
        assert oauth.settings.slack_client_id and oauth.settings.slack_client_secret
        self.rotator = TokenRotator(
            client_id=oauth.settings.slack_client_id,
            client_secret=oauth.settings.slack_client_secret,
            client=oauth.client,
        )

    def token(self, team_id: str, *, minutes: int = REFRESH_MINUTES) -> str | None:
        """The bot token of `team_id` (None when not installed), refreshed when it expires
        within `minutes`."""
        installation = self._find(team_id)
        if installation is None:
            return None
        if not self._expiring(installation, minutes):
            return installation.bot_token
        # Under a lock shared by all instances, and looked up again inside it: whoever
        # came first has refreshed already, and a refresh token is spent only once.
        with acquire(self.oauth.engine, f"cxbot:token:{team_id}", timeout=30):
            installation = self._find(team_id)
            if installation is None:
                return None
            if self._expiring(installation, minutes):
                rotated = self.rotator.perform_token_rotation(
                    installation=installation, minutes_before_expiration=minutes
                )
                if rotated is not None:
                    self.oauth.installations.save(rotated)
                    log.info("refreshed the bot token of %s", team_id)
                    installation = rotated
            return installation.bot_token

    def refresh_all(self) -> int:
        """Refresh every installed workspace's token that expires soon; returns how many
        workspaces were looked at."""
        teams = self.oauth.installed_teams()
        for team_id in teams:
            try:
                self.token(team_id)
            except Exception:
                log.exception("refreshing the token of %s failed", team_id)
        return len(teams)

    def _find(self, team_id: str) -> Installation | None:
        return self.oauth.installations.find_installation(enterprise_id=None, team_id=team_id)

    @staticmethod
    def _expiring(installation: Installation, minutes: int) -> bool:
        expires = installation.bot_token_expires_at
        return expires is not None and expires <= time.time() + minutes * 60
