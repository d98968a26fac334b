"""Metric goals (`/cx goal`): reading the command, checking a goal, and its progress.

A goal is a target for one of NPS, CSAT, CES or CSI by a deadline: the end of a quarter
(`2027-Q2`), a month (`2027-06`) or a day (`2027-06-30`) in the workspace's timezone. Its
progress compares the metric's value now (the last complete month) with a straight line
from the value when the goal was set (the baseline) to the target at the deadline: on
track when the value is at or above the line. Every metric here is better when higher,
CES included: its scale is "it was easy", 7 = very easy (DOMAIN.md, "Metrics").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core import metrics
from core.periods import period_containing

METRICS: tuple[str, ...] = ("nps", "csat", "ces", "csi")
# What each metric can be (DOMAIN.md): a target outside is refused.
RANGES: dict[str, tuple[int, int]] = {
    "nps": (-100, 100),
    "csat": (0, 100),
    "ces": (1, 7),
    "csi": (0, 100),
}
REMOVE = "remove"


def N_(msgid: str) -> str:
    """Marks a message for the catalog; the bot shows it in the reader's language."""
    return msgid


USAGE = N_(
    "Set a goal with `/cx goal METRIC TARGET by DEADLINE`, e.g. `/cx goal nps 40 by 2027-Q2`; "
    "remove one with `/cx goal remove METRIC`. The metrics are nps, csat, ces and csi."
)
UNKNOWN_METRIC = N_("“{value}” is not a metric a goal can be set for: use nps, csat, ces or csi.")
BAD_TARGET = N_(
    "“{value}” is not a number. Give the target as a number, e.g. `/cx goal nps 40 by 2027-Q2`."
)
OUT_OF_RANGE = N_("A goal for {metric} must be between {low} and {high}, not {value}.")
BAD_DEADLINE = N_(
    "“{value}” is not a deadline. Give a quarter (2027-Q2), a month (2027-06) or a day "
    "(2027-06-30); the goal is due at the end of it."
)
PAST_DEADLINE = N_("The deadline {value} has already passed. Give one in the future.")

_NUMBER = re.compile(r"[+-]?\d{1,4}(?:[.,]\d{1,3})?")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])", re.IGNORECASE)
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


class GoalError(ValueError):
    """A goal command that cannot be carried out: `msgid` (English, with `{placeholders}`
    filled from `values`) says why; `numbers` name the values to write the reader's way."""

    def __init__(self, msgid: str, *, numbers: tuple[str, ...] = (), **values: Any) -> None:
        super().__init__(msgid.format(**values))
        self.msgid = msgid
        self.values = values
        self.numbers = numbers


# --------------------------------------------------------------------------- the command


@dataclass(frozen=True)
class Deadline:
    """The end of a quarter, month or day: `label` as written back (`2027-Q2`), its last
    local day."""

    label: str
    last_day: date

    def at(self, tz: ZoneInfo) -> datetime:
        """The instant it is due: the local midnight after its last day, in UTC."""
        return datetime.combine(self.last_day + timedelta(days=1), time(0), tzinfo=tz).astimezone(
            UTC
        )


@dataclass(frozen=True)
class SetGoal:
    metric: str
    target: float
    deadline: Deadline


@dataclass(frozen=True)
class RemoveGoal:
    metric: str


@dataclass(frozen=True)
class ListGoals:
    pass


Command = SetGoal | RemoveGoal | ListGoals


def parse_command(text: str) -> Command:
    """`""` lists, `remove METRIC` removes, `METRIC TARGET [by] DEADLINE` sets."""
    words = text.split()
    if not words:
        return ListGoals()
    if words[0].lower() == REMOVE:
        if len(words) != 2:
            raise GoalError(USAGE)
        return RemoveGoal(parse_metric(words[1]))
    deadline = words[3:] if words[2:3] and words[2].lower() == "by" else words[2:]
    if not deadline:
        raise GoalError(USAGE)
    metric = parse_metric(words[0])
    return SetGoal(metric, parse_target(metric, words[1]), parse_deadline(" ".join(deadline)))


def parse_metric(word: str) -> str:
    metric = word.strip().lower()
    if metric not in METRICS:
        raise GoalError(UNKNOWN_METRIC, value=word)
    return metric


def parse_target(metric: str, word: str) -> float:
    """A number in the metric's range: `40`, `-10`, `5.5` or `5,5` (a decimal comma)."""
    typed = word.strip().replace("\u2212", "-")
    if typed.endswith("%"):
        typed = typed[:-1]
    if not _NUMBER.fullmatch(typed):
        raise GoalError(BAD_TARGET, value=word)
    value = float(typed.replace(",", "."))
    low, high = RANGES[metric]
    if not low <= value <= high:
        raise GoalError(
            OUT_OF_RANGE,
            numbers=("low", "high"),
            metric=metric.upper(),
            low=low,
            high=high,
            value=word,
        )
    return value


def parse_deadline(word: str) -> Deadline:
    """`2027-Q2`, `2027-06` or `2027-06-30`; anything else (and a day that does not exist)
    is refused, never read as some other date."""
    typed = word.strip()
    try:
        if found := _QUARTER.fullmatch(typed):
            year, quarter = int(found[1]), int(found[2])
            end = period_containing("quarter", date(year, quarter * 3, 1)).end
            return Deadline(f"{year}-Q{quarter}", end)
        if found := _MONTH.fullmatch(typed):
            end = period_containing("month", date(int(found[1]), int(found[2]), 1)).end
            return Deadline(typed, end)
        if found := _DAY.fullmatch(typed):
            day = date(int(found[1]), int(found[2]), int(found[3]))
            return Deadline(typed, day)
    except ValueError:
        pass
    raise GoalError(BAD_DEADLINE, value=word)


def due_at(deadline: Deadline, tz: ZoneInfo, now: datetime) -> datetime:
    """When `deadline` is due in `tz`; refused when that is not after `now`."""
    try:
        at = deadline.at(tz)
    except OverflowError:  # the last day of year 9999
        raise GoalError(BAD_DEADLINE, value=deadline.label) from None
    if at <= now:
        raise GoalError(PAST_DEADLINE, value=deadline.label)
    return at


# --------------------------------------------------------------------------- progress


@dataclass(frozen=True)
class Goal:
    """A workspace's goal for one metric, as stored."""

    metric: str
    target: float
    baseline: float | None  # the metric when the goal was set (None: no answers then)
    set_at: datetime
    deadline_at: datetime
    deadline_label: str
    set_by: str


@dataclass(frozen=True)
class Progress:
    """Where a goal stands at `now`: `current` is the metric of the month `period`."""

    goal: Goal
    period: str
    current: float | None
    gap: float | None  # target - current: what is still to go (0 or less: reached)
    time_left: timedelta  # zero once the deadline has passed
    expected: float | None  # where the straight line from baseline to target is now
    on_track: bool | None  # None without a current value or a baseline
    reached: bool | None


def values_of(
    found: metrics.MetricSet, csi_weights: tuple[float, float, float]
) -> dict[str, float | None]:
    """The value of each goal metric in a summary of answers (`core.metrics`)."""
    return {
        "nps": found.nps.score,
        "csat": found.csat.score,
        "ces": found.ces.score,
        "csi": metrics.csi(found.nps.score, found.csat.score, found.ces.score, csi_weights),
    }


def expected_at(goal: Goal, now: datetime) -> float | None:
    """The straight line from the baseline at `set_at` to the target at the deadline."""
    if goal.baseline is None:
        return None
    total = (goal.deadline_at - goal.set_at).total_seconds()
    share = 1.0 if total <= 0 else (now - goal.set_at).total_seconds() / total
    share = min(1.0, max(0.0, share))
    return goal.baseline + (goal.target - goal.baseline) * share


def progress(goal: Goal, current: float | None, period: str, now: datetime) -> Progress:
    """`goal`'s progress at `now`, with the metric at `current` in the month `period`."""
    if current is not None and math.isnan(current):
        current = None
    expected = expected_at(goal, now)
    return Progress(
        goal=goal,
        period=period,
        current=current,
        gap=goal.target - current if current is not None else None,
        time_left=max(timedelta(0), goal.deadline_at - now),
        expected=expected,
        on_track=current >= expected if current is not None and expected is not None else None,
        reached=current >= goal.target if current is not None else None,
    )


def ordered(goals: list[Goal]) -> list[Goal]:
    """Goals in the metrics' order (NPS, CSAT, CES, CSI)."""
    return sorted(goals, key=lambda g: METRICS.index(g.metric))
