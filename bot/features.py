"""Every feature of the bot, in one list: the app adds their listeners, the scheduler ticks
their sweeps, the outbox calls their renderers, senders and after-send hooks, and
`bot.background` starts their background work, all in this order.

A new feature is a package under `bot.handlers` whose `feature.py` builds a
`bot.feature.Feature`, and one line here. `cxbot`'s commands are listed in `bot.cli`
instead: `cxbot --help` must not import the features (docs/architecture.md).
"""

from __future__ import annotations

from bot import leader, outbox, retention
from bot.feature import Feature, Sweep
from bot.handlers.alerts.feature import FEATURE as ALERTS
from bot.handlers.config.feature import FEATURE as CONFIG
from bot.handlers.cx.feature import FEATURE as CX
from bot.handlers.digest.feature import FEATURE as DIGEST
from bot.handlers.goals.feature import FEATURE as GOALS
from bot.handlers.home.feature import FEATURE as HOME
from bot.handlers.insights.feature import FEATURE as INSIGHTS
from bot.handlers.mail.feature import FEATURE as MAIL
from bot.handlers.metrics.feature import FEATURE as METRICS
from bot.handlers.pulse.feature import FEATURE as PULSE
from bot.handlers.shoutouts.feature import FEATURE as SHOUTOUTS
from bot.handlers.themes.feature import FEATURE as THEMES
from bot.services import Services


def _refresh_tokens(services: Services) -> None:
    services.slack.refresh_tokens()


# What the bot itself runs beside the features; last, so the dispatcher starts after the
# features are ready and stops before them, and the scheduler last of all.
UPKEEP = Feature(
    name="upkeep",
    sweeps=(
        Sweep("tokens", _refresh_tokens, 600),
        Sweep("retention", retention.retention_sweep, 3600),
    ),
    starters=(outbox.start_dispatcher, leader.start),
)

FEATURES: tuple[Feature, ...] = (
    CX,
    METRICS,
    DIGEST,
    CONFIG,
    ALERTS,
    GOALS,
    THEMES,
    INSIGHTS,
    SHOUTOUTS,
    PULSE,
    MAIL,
    HOME,
    UPKEEP,
)
