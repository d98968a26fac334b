"""Detractor alerts, the rules: a workspace's alert settings, which channel an answer's
alert goes to, when a burst of alerts becomes a storm with one summary, how an alert moves
from open to claimed to resolved, and who may resolve it.

Pure: `storage.alerts` keeps the alerts and asks these rules for every decision.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Final, Literal

from core import sla
from core.metrics import is_detractor
from core.workspace_settings import WorkspaceSettings

OPEN: Final = "open"
CLAIMED: Final = "claimed"
RESOLVED: Final = "resolved"
# Claim takes an open alert only; resolve takes any alert not yet resolved.
CLAIMABLE: Final = (OPEN,)
OUTCOMES: Final = ("called", "fixed", "compensated", "could_not_reach")
LIST_KINDS: Final = ("open", "mine", "overdue")
NOTE_MAX: Final = 3000  # characters of a note kept (a Slack section holds 3,000)
STORM_PREFIX: Final = "alertstorm:"

ListKind = Literal["open", "mine", "overdue"]


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class AlertConfig:
    """A workspace's alert settings (`config_from`, defaults filled in)."""

    thresholds: Mapping[str, int]
    channel: str | None
    escalation_channel: str | None
    # Lower-cased route names: "<segment>", "touchpoint:<name>", "metric:<metric>".
    routes: Mapping[str, str]
    storm_size: int
    history_days: int
    policy: sla.SlaPolicy
    locale: str | None
    timezone: str | None

    def route(self, *, segment: str | None, touchpoint: str | None, metric: str) -> str | None:
        """The channel for an answer: its segment's route, its touchpoint's, its metric's,
        else `alerts.channel` (None: nowhere to post)."""
        for name in (
            segment,
            f"touchpoint:{touchpoint}" if touchpoint else None,
            f"metric:{metric}",
        ):
            if name and name.strip().lower() in self.routes:
                return self.routes[name.strip().lower()]
        return self.channel


def config_from(settings: WorkspaceSettings) -> AlertConfig:
    """The alert settings of a workspace's typed settings."""
    business_text = settings.alerts_business_hours
    policy = sla.SlaPolicy(
        hours=float(settings.alerts_sla_hours),
        reminders=settings.alerts_reminders,
        business=(
            sla.parse_business_hours(business_text, settings.timezone or "UTC")
            if business_text
            else None
        ),
    )
    return AlertConfig(
        thresholds=MappingProxyType(dict(settings.thresholds)),
        channel=settings.alerts_channel,
        escalation_channel=settings.alerts_escalation_channel,
        routes=MappingProxyType(
            {segment.strip().lower(): channel for segment, channel in settings.alert_routes.items()}
        ),
        storm_size=settings.alerts_storm_size,
        history_days=settings.alerts_history_days,
        policy=policy,
        locale=settings.locale,
        timezone=settings.timezone,
    )


def any_detractor(cfg: AlertConfig, metrics: Sequence[str], scores: Sequence[int]) -> bool:
    """Whether any of these answers is a detractor under the team's thresholds: when none
    is, there is no alert to look for."""
    pairs = zip(metrics, scores, strict=True)
    return any(is_detractor(metric, int(score), cfg.thresholds) for metric, score in pairs)


# --------------------------------------------------------------------------- storms


def storm_key(batch_id: str, channel: str) -> str:
    """The outbox key of the summary whose thread holds a burst of alerts."""
    return f"{STORM_PREFIX}{batch_id}:{channel}"


def storm_channel(key: str) -> str:
    """The channel a storm's key names."""
    return key.rsplit(":", 1)[1]


def storm_groups(
    channels: Iterable[str | None], *, batch_id: str, storm_size: int
) -> dict[str, str]:
    """{channel: storm key} for each channel receiving more than `storm_size` alerts of one
    batch: those alerts go in one summary's thread."""
    per_channel = Counter(c for c in channels if c)
    return {
        channel: storm_key(batch_id, channel)
        for channel, n in per_channel.items()
        if n > storm_size
    }


def storm_counts(metrics: Iterable[str]) -> dict[str, int]:
    """How many alerts of a group came from each metric (for the summary message)."""
    return dict(sorted(Counter(metrics).items()))


# --------------------------------------------------------------------------- transitions


def is_overdue(status: str, due_at: datetime, now: datetime) -> bool:
    return status != RESOLVED and now >= due_at


def check_outcome(outcome: str) -> None:
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")


def check_list_kind(kind: str) -> None:
    if kind not in LIST_KINDS:
        raise ValueError(f"kind must be one of {', '.join(LIST_KINDS)}, not {kind!r}")


def note_text(text: str) -> str:
    """A note as kept: trimmed, at most `NOTE_MAX` characters ("" is no note)."""
    return text.strip()[:NOTE_MAX]


def resolvable_without_admin(owner: str | None, user_id: str) -> bool:
    """Anyone may resolve an alert nobody has claimed; a claimed one, its owner (or an
    admin, which only Slack can tell). Notes stay open to all."""
    return not owner or owner == user_id
