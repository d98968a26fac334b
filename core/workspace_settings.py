"""The settings admins may change per workspace (`cxbot config`, `/cx config`), as one model.

Each field is one setting: its alias is the key it is stored under, its type the kind of
value (`core.setting_values`: how the text is read, checked and written back, and what it
looks like), its default what applies while it is unset, its description what it does.
A default of None means "not set": a channel nobody picked, or a value that falls back to
a process setting (CXBOT_TIMEZONE, CXBOT_LOCALE). Key-level checks and listings are
derived from these fields in `core.config_keys`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core import report, sla
from core.metrics import DETRACTOR_THRESHOLDS
from core.setting_values import (
    N_,
    BusinessHours,
    Categories,
    Channel,
    Currency,
    FallsBackTo,
    Form,
    Locale,
    MailDomain,
    MailFrom,
    OnOff,
    Promises,
    PublicUrl,
    Reminders,
    Schedule,
    Secret,
    SmtpUrl,
    Timezone,
    WeeklyTime,
    Weights,
    WholeNumber,
    Years,
    zone,
)

# A family of keys, one per customer segment (touchpoint:<name>, metric:<metric> too);
# SEGMENT stands for the rest of such a key where the family is named.
ROUTE_PREFIX = "alerts.route."
SEGMENT = "<segment>"
# The categories insights are sorted into, the analyzer's too unless a workspace sets its own.
DEFAULT_CATEGORIES = (
    "product",
    "service",
    "price",
    "delivery",
    "communication",
    "usability",
    "other",
)
# The four erasure settings take the same days; the outbox's own has other bounds.
RetentionDays = Annotated[
    WholeNumber, Field(ge=30, le=36500), Form(N_("a whole number of days from 30 to 36500"))
]


class WorkspaceSettings(BaseModel):
    """A workspace's settings, typed; unset ones hold their defaults."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    alerts_channel: Channel | None = Field(
        None, alias="alerts.channel", description=N_("where detractor alerts are posted")
    )
    alerts_escalation_channel: Channel | None = Field(
        None,
        alias="alerts.escalation_channel",
        description=N_("where overdue detractor alerts are escalated"),
    )
    alerts_sla_hours: Annotated[
        WholeNumber, Field(ge=1, le=720), Form(N_("a whole number of hours from 1 to 720"))
    ] = Field(
        int(sla.DEFAULT_HOURS),
        alias="alerts.sla_hours",
        description=N_("hours to follow up a detractor before the alert is overdue"),
    )
    alerts_reminders: Reminders = Field(
        sla.DEFAULT_REMINDERS,
        alias="alerts.reminders",
        description=N_(
            "when to remind about an unresolved alert, as fractions of the follow-up target"
        ),
    )
    alerts_business_hours: BusinessHours | None = Field(
        None,
        alias="alerts.business_hours",
        description=N_("count the follow-up target in working hours only (unset: calendar hours)"),
    )
    alerts_storm_size: Annotated[
        WholeNumber, Field(ge=1, le=1000), Form(N_("a whole number from 1 to 1000"))
    ] = Field(
        10,
        alias="alerts.storm_size",
        description=N_("more detractors than this from one import are grouped in one thread"),
    )
    alerts_history_days: Annotated[
        WholeNumber, Field(ge=0, le=3650), Form(N_("a whole number of days from 0 to 3650"))
    ] = Field(
        7,
        alias="alerts.history_days",
        description=N_("answers older than this many days when stored raise no alert message"),
    )
    digest_channel: Channel | None = Field(
        None, alias="digest.channel", description=N_("where the weekly digest is posted")
    )
    digest_monthly_channel: Channel | None = Field(
        None, alias="digest.monthly.channel", description=N_("where the monthly report is posted")
    )
    digest_quarterly_channel: Channel | None = Field(
        None,
        alias="digest.quarterly.channel",
        description=N_("where the quarterly report is posted"),
    )
    digest_yearly_channel: Channel | None = Field(
        None, alias="digest.yearly.channel", description=N_("where the yearly report is posted")
    )
    digest_schedule: WeeklyTime = Field(
        Schedule(0, 8, 0),
        alias="digest.schedule",
        description=N_("when the weekly digest goes out (workspace timezone)"),
    )
    digest_enabled: OnOff = Field(
        True, alias="digest.enabled", description=N_("post the weekly digest")
    )
    # Written out, not generated, so that each description is a message id of its own.
    digest_monthly_enabled: OnOff = Field(
        True,
        alias="digest.monthly.enabled",
        description=N_("post the monthly report (to digest.monthly.channel, else digest.channel)"),
    )
    digest_quarterly_enabled: OnOff = Field(
        True,
        alias="digest.quarterly.enabled",
        description=N_(
            "post the quarterly report (to digest.quarterly.channel, else digest.channel)"
        ),
    )
    digest_yearly_enabled: OnOff = Field(
        True,
        alias="digest.yearly.enabled",
        description=N_("post the yearly report (to digest.yearly.channel, else digest.channel)"),
    )
    insights_channel: Channel | None = Field(
        None, alias="insights.channel", description=N_("where new customer insights are shared")
    )
    insights_categories: Categories = Field(
        DEFAULT_CATEGORIES,
        alias="insights.categories",
        description=N_("the categories insights are sorted into, separated by ','"),
    )
    shoutouts_channel: Channel | None = Field(
        None, alias="shoutouts.channel", description=N_("where shout-outs are posted")
    )
    shoutouts_daily_limit: Annotated[
        WholeNumber, Field(ge=0, le=1000), Form(N_("a whole number from 0 to 1000"))
    ] = Field(
        10,
        alias="shoutouts.daily_limit",
        description=N_("shout-outs one person may give per day (0 = no limit)"),
    )
    shoutouts_pair_weekly_limit: Annotated[
        WholeNumber, Field(ge=0, le=100), Form(N_("a whole number from 0 to 100"))
    ] = Field(
        3,
        alias="shoutouts.pair_weekly_limit",
        description=N_("times one person may praise the same colleague in 7 days (0 = no limit)"),
    )
    shoutouts_customer_praise: OnOff = Field(
        True,
        alias="shoutouts.customer_praise",
        description=N_("post a 'the customer said' shout-out when a promoter names an employee"),
    )
    # No promises is how "not set" reads.
    promises: Promises = Field(
        (), alias="promises", description=N_("the customer promises, separated by ';'")
    )
    locale: Annotated[Locale | None, FallsBackTo("CXBOT_LOCALE")] = Field(
        None,
        alias="locale",
        description=N_("the workspace's default language (else CXBOT_LOCALE)"),
    )
    currency: Currency | None = Field(
        None,
        alias="currency",
        description=N_(
            "the currency of customers' revenue, so CLV is shown as money (else a plain number)"
        ),
    )
    timezone: Annotated[Timezone | None, FallsBackTo("CXBOT_TIMEZONE")] = Field(
        None,
        alias="timezone",
        description=N_("the workspace's timezone for periods and schedules (else CXBOT_TIMEZONE)"),
    )
    webhook_secret: Secret | None = Field(
        None,
        alias="webhook.secret",
        description=N_(
            "this workspace's own HMAC key for POST /webhooks/responses; when set, "
            "CXBOT_WEBHOOK_SECRET no longer opens it for this workspace"
        ),
    )
    webhook_typeform_secret: Secret | None = Field(
        None,
        alias="webhook.typeform_secret",
        description=N_(
            "the secret set on this workspace's Typeform webhook (POST /webhooks/typeform)"
        ),
    )
    webhook_delighted_secret: Secret | None = Field(
        None,
        alias="webhook.delighted_secret",
        description=N_(
            "the Delighted project's API key, which signs its webhooks (POST /webhooks/delighted)"
        ),
    )
    webhook_formbricks_secret: Secret | None = Field(
        None,
        alias="webhook.formbricks_secret",
        description=N_(
            "the signing secret (whsec_...) of this workspace's Formbricks webhook "
            "(POST /webhooks/formbricks)"
        ),
    )
    mail_smtp: SmtpUrl | None = Field(
        None,
        alias="mail.smtp",
        description=N_("the SMTP server that sends mail to customers (STARTTLS when offered)"),
    )
    mail_from: MailFrom | None = Field(
        None, alias="mail.from", description=N_("the sender of mail to customers")
    )
    mail_reply_domain: MailDomain | None = Field(
        None,
        alias="mail.reply_domain",
        description=N_(
            "the domain whose reply+... addresses bring customers' replies back (cxbot mail-in)"
        ),
    )
    mail_public_url: PublicUrl | None = Field(
        None,
        alias="mail.public_url",
        description=N_("where customers reach cxbot serve for the rating and unsubscribe pages"),
    )
    mail_inbound_secret: Secret | None = Field(
        None,
        alias="mail.inbound_secret",
        description=N_(
            "the password of POST /webhooks/email in the provider's webhook URL (basic auth)"
        ),
    )
    thresholds_nps: Annotated[
        WholeNumber, Field(ge=0, le=10), Form(N_("a whole number from 0 to 10"))
    ] = Field(
        DETRACTOR_THRESHOLDS["nps"],
        alias="thresholds.nps",
        description=N_("NPS scores at or below this raise a detractor alert"),
    )
    thresholds_csat: Annotated[
        WholeNumber, Field(ge=1, le=5), Form(N_("a whole number from 1 to 5"))
    ] = Field(
        DETRACTOR_THRESHOLDS["csat"],
        alias="thresholds.csat",
        description=N_("CSAT scores at or below this raise a detractor alert"),
    )
    thresholds_ces: Annotated[
        WholeNumber, Field(ge=1, le=7), Form(N_("a whole number from 1 to 7"))
    ] = Field(
        DETRACTOR_THRESHOLDS["ces"],
        alias="thresholds.ces",
        description=N_("CES scores at or below this raise a detractor alert"),
    )
    pulse_cooldown_days: Annotated[
        WholeNumber, Field(ge=0, le=90), Form(N_("a whole number of days from 0 to 90"))
    ] = Field(
        7,
        alias="pulse.cooldown_days",
        description=N_("days between two different pulse surveys asking the same person"),
    )
    metrics_csi_weights: Weights = Field(
        report.CSI_WEIGHTS,
        alias="metrics.csi_weights",
        description=N_("weights of NPS, CSAT and CES in the satisfaction index"),
    )
    metrics_churn_months: Annotated[
        WholeNumber, Field(ge=1, le=36), Form(N_("a whole number of months from 1 to 36"))
    ] = Field(
        report.CHURN_MONTHS,
        alias="metrics.churn_months",
        description=N_("months of customer history the churn rate covers"),
    )
    metrics_expected_years: Years | None = Field(
        None,
        alias="metrics.expected_years",
        description=N_("expected customer relationship in years for CLV (else 1 / annual churn)"),
    )
    retention_responses_days: RetentionDays | None = Field(
        None,
        alias="retention.responses_days",
        description=N_(
            "answers older than this many days are erased, with their alerts (unset: kept)"
        ),
    )
    retention_insights_days: RetentionDays | None = Field(
        None,
        alias="retention.insights_days",
        description=N_("insights older than this many days are erased (unset: kept)"),
    )
    retention_shoutouts_days: RetentionDays | None = Field(
        None,
        alias="retention.shoutouts_days",
        description=N_(
            "shout-outs older than this many days are erased, with their seconds (unset: kept)"
        ),
    )
    retention_surveys_days: RetentionDays | None = Field(
        None,
        alias="retention.surveys_days",
        description=N_(
            "pulse answers are erased this many days after their round closed; the results "
            "stay (unset: kept)"
        ),
    )
    retention_outbox_days: Annotated[
        WholeNumber, Field(ge=1, le=3650), Form(N_("a whole number of days from 1 to 3650"))
    ] = Field(
        90,
        alias="retention.outbox_days",
        description=N_("what sent messages said is dropped from the database after this many days"),
    )
    # Segment (as typed) -> channel; stored as one key per segment, ROUTE_PREFIX + segment.
    alert_routes: dict[str, Channel] = Field(
        default_factory=dict,
        alias=ROUTE_PREFIX + SEGMENT,
        description=N_("where detractor alerts of that customer segment are posted"),
    )

    @classmethod
    def from_stored(cls, stored: Mapping[str, str]) -> WorkspaceSettings:
        """The settings a workspace's stored text says; unknown keys are ignored.

        `config set` checked every value, so one that fails now is from before a check
        was added or names what this system lacks (a timezone): it counts as not set.
        """
        data: dict[str, Any] = {}
        routes: dict[str, str] = {}
        for key, text in stored.items():
            if key.startswith(ROUTE_PREFIX):
                routes[key.removeprefix(ROUTE_PREFIX)] = text
            else:
                data[key] = text
        if routes:
            data[ROUTE_PREFIX + SEGMENT] = routes
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors():
                _drop(data, error["loc"])
        return cls.model_validate(data)

    def as_stored(self) -> dict[str, str | None]:
        """Every setting as the text it is stored as (routes as one key per segment);
        None where nothing is set (no promises reads as not set)."""
        flat: dict[str, str | None] = {}
        for key, value in self.model_dump(mode="json", by_alias=True).items():
            if isinstance(value, dict):
                flat.update({ROUTE_PREFIX + segment: text for segment, text in value.items()})
            else:
                flat[key] = value or None
        return flat

    @property
    def thresholds(self) -> dict[str, int]:
        """Detractor thresholds by metric: a score at or below raises an alert."""
        return {
            "nps": self.thresholds_nps,
            "csat": self.thresholds_csat,
            "ces": self.thresholds_ces,
        }

    def zone(self, default: str) -> ZoneInfo:
        """The workspace's timezone, else `default` (CXBOT_TIMEZONE)."""
        return zone(self.timezone, default)

    def report_channels(self) -> dict[str, str]:
        """Cadence (week, month, quarter, year) -> channel, for each report that is on and
        has somewhere to go: the reports other than the weekly one fall back to the
        digest's channel."""
        reports = {
            "week": (self.digest_enabled, self.digest_channel),
            "month": (self.digest_monthly_enabled, self.digest_monthly_channel),
            "quarter": (self.digest_quarterly_enabled, self.digest_quarterly_channel),
            "year": (self.digest_yearly_enabled, self.digest_yearly_channel),
        }
        return {
            cadence: channel
            for cadence, (on, own) in reports.items()
            if on and (channel := own or self.digest_channel)
        }


def _drop(data: dict[str, Any], loc: tuple[int | str, ...]) -> None:
    """Leave out the stored value an error is about (a single route, not all of them)."""
    if not loc or loc[0] not in data:
        return
    if len(loc) > 1 and isinstance(data[loc[0]], dict):
        data[loc[0]].pop(loc[1], None)
    else:
        del data[loc[0]]
