"""Why a number moved: shift-share decomposition by segment or touchpoint (comment themes:
core.themes).

NPS, CSAT and CES are each a mean over answers (NPS of +100/0/-100 per answer, CSAT
of 100/0, CES of the score), so a metric is the share-weighted mean of its groups:
M = sum_g w_g * s_g with w_g = n_g / N. Between two periods

    M1 - M0 = sum_g wbar_g * (s1_g - s0_g)          rate: groups' own scores moved
            + sum_g (sbar_g - Mbar) * (w1_g - w0_g)  mix: answers shifted between groups

with midpoint weights wbar = (w0 + w1) / 2 and scores sbar = (s0 + s1) / 2. The
symmetric form sums exactly to the change; nothing is left as an "interaction".

The mix term is measured against Mbar = (M0 + M1) / 2. Shares sum to 1 in both
periods, so this subtracts zero from the total, but it makes each group's own mix
term readable: a group that gains share pushes the metric up only if it scores above
the average, and a low-scoring group that grows shows as a negative contribution.

A group present in one period only (a new touchpoint, a segment nobody from answered
this time) has no score change to speak of: its whole effect is mix, with its one
known score as sbar and its rate term 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from core import metrics as m

# The few groups named as the reason: enough to explain this share of the change...
MAIN_SHARE = 0.8
# ...but never more than this many, so the digest names reasons rather than lists.
MAIN_MAX = 3


@dataclass(frozen=True)
class Contribution:
    """One group's part of a change, in the metric's own points (rate + mix = total)."""

    key: str
    rate: float
    mix: float
    total: float
    n_now: int
    n_before: int
    score_now: float | None
    score_before: float | None


@dataclass(frozen=True)
class Decomposition:
    """A metric's change between two periods split over the groups of column ``by``."""

    metric: str
    by: str
    change: float | None  # None when either period has no answers for the metric
    rate_total: float
    mix_total: float
    contributions: list[Contribution]  # sorted by |total|, largest first
    main: list[Contribution]  # the few that explain most of the change
    mix_driven: bool  # the change comes mainly from the mix of answers, not from scores


def _groups(metric: str, frame: pd.DataFrame, by: str) -> dict[str, tuple[int, float | None]]:
    """Answers and score per group for ``metric`` (groups without answers left out)."""
    result: dict[str, tuple[int, float | None]] = {}
    for row in m.breakdown(frame, by):
        scored = getattr(row, metric)
        if scored.n > 0:
            result[row.key] = (scored.n, scored.score)
    return result


def _overall(metric: str, frame: pd.DataFrame) -> float | None:
    score: float | None = getattr(m.summarize(frame), metric).score
    return score


def decompose(metric: str, now: pd.DataFrame, before: pd.DataFrame, by: str) -> Decomposition:
    """Split the change of ``metric`` from ``before`` to ``now`` over the groups of ``by``.

    Frames have columns ``metric``, ``score``, ``n`` and ``by`` (answer counts as the
    storage layer returns them). Scores come from ``core.metrics``, so every group's
    score is the metric's own definition.
    """
    if metric not in m.METRICS:
        raise ValueError(f"metric must be one of {', '.join(m.METRICS)}, not {metric!r}")
    groups_now = _groups(metric, now, by)
    groups_before = _groups(metric, before, by)
    keys = sorted(set(groups_now) | set(groups_before))
    m1, m0 = _overall(metric, now), _overall(metric, before)

    if m1 is None or m0 is None:
        # Nothing to compare with: list who answered, explain nothing.
        empty = [
            Contribution(
                k,
                0.0,
                0.0,
                0.0,
                groups_now.get(k, (0, None))[0],
                groups_before.get(k, (0, None))[0],
                groups_now.get(k, (0, None))[1],
                groups_before.get(k, (0, None))[1],
            )
            for k in keys
        ]
        empty.sort(key=lambda c: (-(c.n_now + c.n_before), c.key))
        return Decomposition(metric, by, None, 0.0, 0.0, empty, [], False)

    n1 = sum(n for n, _ in groups_now.values())
    n0 = sum(n for n, _ in groups_before.values())
    reference = (m0 + m1) / 2
    contributions: list[Contribution] = []
    for key in keys:
        c1, s1 = groups_now.get(key, (0, None))
        c0, s0 = groups_before.get(key, (0, None))
        w1, w0 = c1 / n1, c0 / n0
        if s1 is not None and s0 is not None:
            rate = (w0 + w1) / 2 * (s1 - s0)
            mix = ((s0 + s1) / 2 - reference) * (w1 - w0)
        else:
            # Present on one side only: all of it is the shift in who answered.
            known = s1 if s1 is not None else s0
            assert known is not None  # every listed group has answers on some side
            rate = 0.0
            mix = (known - reference) * (w1 - w0)
        contributions.append(Contribution(key, rate, mix, rate + mix, c1, c0, s1, s0))

    contributions.sort(key=lambda c: (-abs(c.total), c.key))
    change = m1 - m0
    rate_total = math.fsum(c.rate for c in contributions)
    mix_total = math.fsum(c.mix for c in contributions)
    return Decomposition(
        metric=metric,
        by=by,
        change=change,
        rate_total=rate_total,
        mix_total=mix_total,
        contributions=contributions,
        main=_main(contributions, change),
        mix_driven=change != 0 and abs(mix_total) > abs(rate_total),
    )


def _main(contributions: list[Contribution], change: float) -> list[Contribution]:
    """The groups that pushed in the direction of the change, largest first, until they
    explain MAIN_SHARE of it (at most MAIN_MAX)."""
    if change == 0:
        return []
    # Tiny float residues must not be named as reasons.
    noise = 1e-9 * max(1.0, abs(change))
    main: list[Contribution] = []
    explained = 0.0
    for c in contributions:
        if c.total * change <= 0 or abs(c.total) <= noise:
            continue
        main.append(c)
        explained += abs(c.total)
        if explained >= MAIN_SHARE * abs(change) or len(main) == MAIN_MAX:
            break
    return main
