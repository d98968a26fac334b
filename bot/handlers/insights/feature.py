"""Customer insights' registry entry."""

from __future__ import annotations

from bot.feature import Feature, Sweep
from bot.handlers.insights import analysis, listeners, posting, sweeps
from storage import insights as store

FEATURE = Feature(
    name="insights",
    listeners=listeners.register,
    sweeps=(Sweep("insights.analyze", sweeps.analysis_sweep, 60),),
    renderers={posting.RENDERER: posting.render_insight},
    sent_hooks={store.KEY_PREFIX: posting.after_send},
    starters=(analysis.start,),
)
