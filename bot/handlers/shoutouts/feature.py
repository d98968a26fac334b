"""Shout-outs' registry entry: `/shoutout` and reactions, the hourly directory sweep, the
`render:shoutout` renderer and its after-send hook, customer praise after a webhook."""

from __future__ import annotations

from bot.feature import Feature, Sweep
from bot.handlers.shoutouts import directory, listeners, posting
from storage import shoutouts as store

FEATURE = Feature(
    name="shoutouts",
    listeners=listeners.register,
    sweeps=(Sweep("shoutouts.directory", directory.directory_sweep, 3600),),
    renderers={posting.RENDERER: posting.render_shoutout},
    sent_hooks={store.KEY_PREFIX: posting.after_send},
    answers_stored=(posting.answers_stored,),
)
