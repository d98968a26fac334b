"""Process settings: one pydantic-settings class read from the environment and `.env`.

Workspace-level settings that admins change at run time (channels, schedules,
promises) live in the database instead; see `storage.settings_store`.
"""

from __future__ import annotations

from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.locales import LOCALES


class SettingsError(Exception):
    """A missing or malformed setting; the message is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///cxbot.db"
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    openai_model: str | None = None
    cxbot_webhook_secret: str | None = None
    cxbot_timezone: str = "UTC"
    cxbot_locale: str = "en"
    cxbot_admins: str | None = None
    port: int = Field(default=3000, ge=1, le=65535)

    # Many workspaces from one deployment (Slack's OAuth install flow). With both
    # SLACK_CLIENT_ID and SLACK_CLIENT_SECRET set, workspaces install the app at
    # /slack/install, and each one's bot token (refreshed before its 12-hour expiry when
    # the app has token rotation on) is kept in the database; SLACK_BOT_TOKEN is then not
    # needed. Without them the bot serves the single workspace of SLACK_BOT_TOKEN.
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    # Bot scopes requested at install, comma-separated (default: those of manifest.yml).
    slack_scopes: str | None = None
    # Where Slack sends the installer back; default: /slack/oauth_redirect on the host
    # the install started from (set it when a proxy rewrites the host).
    slack_redirect_uri: str | None = None

    # Operations. Followers try to take over the scheduler this often (seconds); a dead
    # leader is replaced within about one interval.
    cxbot_leader_retry_seconds: float = Field(default=15.0, gt=0, le=300)
    # `json`: one JSON object per log line, with the request id (for log collectors);
    # `text`: human-readable lines.
    cxbot_log_format: str = "json"
    # /healthz reports the outbox "stuck" (and `?strict=1` answers 503) when a due outbox
    # message has waited longer than this (seconds): the instances stopped sending, which a
    # monitor must see. Messages waiting on Slack's Retry-After or a scheduled time are not due.
    cxbot_health_max_backlog_seconds: float = Field(default=300.0, gt=0, le=86400)
    # Data retention in days for answers, alerts and insights is a workspace setting
    # (`cxbot config set retention.responses_days 730`); see core/workspace_settings.py.

    @field_validator(
        "slack_bot_token",
        "slack_app_token",
        "slack_signing_secret",
        "openai_api_key",
        "openai_base_url",
        "openai_model",
        "cxbot_webhook_secret",
        "cxbot_admins",
        "slack_client_id",
        "slack_client_secret",
        "slack_scopes",
        "slack_redirect_uri",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `FOO=` in a .env file means "not set", not "set to the empty string".
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = value.strip()
        if "://" not in value:
            raise ValueError("must be a SQLAlchemy URL such as sqlite:///cxbot.db")
        # Plain `postgresql://` would pick psycopg2, which is not installed; psycopg 3 is.
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("cxbot_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown timezone {value!r} (use an IANA name such as Europe/Oslo)"
            ) from exc
        return value.strip()

    @field_validator("cxbot_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in LOCALES:
            raise ValueError(f"must be one of {', '.join(LOCALES)}, not {value!r}")
        return value

    @field_validator("cxbot_admins")
    @classmethod
    def _admins(cls, value: str | None) -> str | None:
        if value is None:
            return None
        for item in value.split(","):
            item = item.strip()
            if item and not (item[0] in "UW" and item[1:].isalnum()):
                raise ValueError(f"{item!r} is not a Slack user ID (like U0123ABCD)")
        return value

    @field_validator("cxbot_log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("json", "text"):
            raise ValueError(f"must be json or text, not {value!r}")
        return value

    @field_validator("slack_scopes")
    @classmethod
    def _scopes(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scopes = [s.strip() for s in value.split(",") if s.strip()]
        for scope in scopes:
            if not all(c.isalnum() or c in ":._" for c in scope):
                raise ValueError(f"{scope!r} is not a Slack scope (like chat:write)")
        return ",".join(scopes) or None

    @property
    def oauth_enabled(self) -> bool:
        """Several workspaces install the app (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def can_call_slack(self) -> bool:
        """There is a token to call Slack with: the single bot token, or installations."""
        return bool(self.slack_bot_token) or self.oauth_enabled

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.cxbot_timezone)

    @property
    def admins(self) -> frozenset[str]:
        if not self.cxbot_admins:
            return frozenset()
        return frozenset(a.strip() for a in self.cxbot_admins.split(",") if a.strip())

    @property
    def mode(self) -> str:
        """What `cxbot run` starts: socket, http or sandbox (CONTRACT.md)."""
        if self.slack_app_token and self.slack_bot_token:
            return "socket"
        if self.slack_signing_secret and (self.slack_bot_token or self.oauth_enabled):
            return "http"
        return "sandbox"


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning a validation failure into one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "setting"
        msg = err["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{name}: {msg}") from None
