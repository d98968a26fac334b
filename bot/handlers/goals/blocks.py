"""What goals look like: `/cx goal`'s replies, and `goal_lines` / `goals_section`, which the
digest, the App Home and `cxbot metrics` show with one call each."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta, tzinfo

from bot.blocks import Block, context, header, section
from bot.i18n import N_, Translator
from core.goals import Goal, Progress

TITLE = N_("Goals")
NO_GOALS = N_("No goals yet. An admin sets one with `/cx goal nps 40 by 2027-Q2`.")
HOW_TO = N_(
    "Admins set a goal with `/cx goal METRIC TARGET by DEADLINE` (setting it again replaces "
    "it) and remove one with `/cx goal remove METRIC`. On track means at or above the "
    "straight line from the value when the goal was set to the target at its deadline."
)
LINE = N_("*{metric}* {target} by {deadline}: now {current} ({period}), {baseline} when set.")
TO_GO = N_("{gap} to go, {left} left.")
REACHED = N_("Target reached.")
MISSED = N_("The deadline has passed.")
NO_ANSWERS = N_("No answers in {period}.")
ON_TRACK = N_("On track: {expected} expected by now.")
BEHIND = N_("Behind: {expected} expected by now.")
NO_BASELINE = N_("No pace to compare with: there were no answers when it was set.")
SET_DONE = N_("Goal set for {metric}: {target} by {deadline}, the end of {day}.")
REPLACED = N_("It replaces the goal of {target} by {deadline}.")
REMOVED = N_("The {metric} goal is removed.")
NOT_FOUND = N_("There is no {metric} goal to remove.")

# As `cxbot metrics` shows them: CES with two decimals, the others with one.
DIGITS = {"ces": 2}


def target(number: float, t: Translator) -> str:
    """A target as it was typed: `40`, `5.5` (`5,5`), never more decimals than given."""
    decimals = f"{number:.3f}".rstrip("0").split(".")[1]
    return t.number(number, len(decimals))


def named(g: Goal, t: Translator) -> dict[str, str]:
    """The placeholders naming a goal: `{metric}`, `{target}`, `{deadline}`."""
    return {"metric": g.metric.upper(), "target": target(g.target, t), "deadline": g.deadline_label}


def goal_line(p: Progress, t: Translator) -> str:
    """One goal: target, deadline, now, baseline, what is left, and the pace."""
    digits = DIGITS.get(p.goal.metric, 1)
    current, baseline = t.number(p.current, digits), t.number(p.goal.baseline, digits)
    parts = [
        t.gettext(LINE, **named(p.goal, t), current=current, period=p.period, baseline=baseline)
    ]
    if p.current is None:
        parts.append(t.gettext(NO_ANSWERS, period=p.period))
    elif p.reached:
        parts.append(t.gettext(REACHED))
    elif p.time_left <= timedelta(0):
        parts.append(t.gettext(MISSED))
    else:
        left = t.duration(p.time_left)
        parts.append(t.gettext(TO_GO, gap=t.number(p.gap, digits), left=left))
        if p.expected is None:
            parts.append(t.gettext(NO_BASELINE))
        else:
            expected = t.number(p.expected, digits)
            parts.append(t.gettext(ON_TRACK if p.on_track else BEHIND, expected=expected))
    return " ".join(parts)


def goal_lines(progress_list: Sequence[Progress], t: Translator) -> list[str]:
    """One mrkdwn line per goal (`workspace_goals`), for any screen; empty without goals."""
    return [goal_line(p, t) for p in progress_list]


def goals_section(progress_list: Sequence[Progress], t: Translator) -> list[Block]:
    """The goals as one section for a message or the App Home; nothing without goals."""
    if not progress_list:
        return []
    text = "\n".join([f"*{t.gettext(TITLE)}*", *goal_lines(progress_list, t)])
    return [section(text)]


def list_blocks(progress_list: Sequence[Progress], t: Translator) -> list[Block]:
    """`/cx goal`: every goal with its progress, and how goals are set."""
    _ = t.gettext
    lines = goal_lines(progress_list, t) or [_(NO_GOALS)]
    return [
        header(_(TITLE)),
        *(section(line) for line in lines),
        context(_(HOW_TO)),
    ]


def set_text(p: Progress, replaced: Goal | None, t: Translator, tz: tzinfo) -> str:
    """The answer to setting a goal: what was set (and replaced), and where it stands."""
    last_day = (p.goal.deadline_at - timedelta(microseconds=1)).astimezone(tz)
    lines = [t.gettext(SET_DONE, **named(p.goal, t), day=t.date(last_day))]
    if replaced is not None:
        lines.append(t.gettext(REPLACED, **named(replaced, t)))
    lines.append(goal_line(p, t))
    return "\n".join(lines)


def text_blocks(text: str) -> list[Block]:
    return [section(text)]
