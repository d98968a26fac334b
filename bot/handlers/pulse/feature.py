"""Pulse surveys' registry entry."""

from __future__ import annotations

from bot.feature import Feature, Sweep
from bot.handlers.pulse import listeners, posting, sweeps
from storage.surveys import RESULTS_RENDERER

FEATURE = Feature(
    name="pulse",
    listeners=listeners.register,
    sweeps=(
        Sweep("pulse_schedule", sweeps.schedule_sweep, 60),
        Sweep("pulse_rounds", sweeps.rounds_sweep, 60),
    ),
    renderers={RESULTS_RENDERER: posting.render_results},
)
