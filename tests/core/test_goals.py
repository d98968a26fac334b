"""The rules of metric goals: the command's words, deadlines, ranges, progress and pace."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core import goals, metrics
from core.goals import Deadline, Goal, GoalError

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def refusal(text: str) -> GoalError:
    with pytest.raises(GoalError) as caught:
        goals.parse_command(text)
    return caught.value


def test_the_command_lists_removes_and_sets() -> None:
    assert goals.parse_command("") == goals.ListGoals()
    assert goals.parse_command("  remove  CSAT ") == goals.RemoveGoal("csat")
    quarter = Deadline("2027-Q2", date(2027, 6, 30))
    assert goals.parse_command("nps 40 by 2027-Q2") == goals.SetGoal("nps", 40.0, quarter)
    assert goals.parse_command("NPS -10 2027-q2") == goals.SetGoal("nps", -10.0, quarter)
    day = Deadline("2027-06-15", date(2027, 6, 15))
    assert goals.parse_command("ces 5,5 by 2027-06-15") == goals.SetGoal("ces", 5.5, day)
    assert goals.parse_command("csat 85% by 2027-02").target == 85.0
    assert goals.parse_command("nps \u221210 by 2027-02").target == -10.0  # a typographic minus


@pytest.mark.parametrize(
    ("typed", "last_day"),
    [
        ("2027-Q1", date(2027, 3, 31)),
        ("2027-Q4", date(2027, 12, 31)),
        ("2028-02", date(2028, 2, 29)),  # a leap year
        ("2027-02", date(2027, 2, 28)),
        ("2027-06-30", date(2027, 6, 30)),
    ],
)
def test_a_deadline_is_the_end_of_its_period(typed: str, last_day: date) -> None:
    deadline = goals.parse_deadline(typed)
    assert deadline.last_day == last_day
    # Due at the local midnight after the last day: 22:00 or 23:00 UTC in Oslo.
    due = deadline.at(OSLO)
    assert due.astimezone(OSLO) == datetime.combine(
        last_day + timedelta(days=1), datetime.min.time(), tzinfo=OSLO
    )


@pytest.mark.parametrize(
    "typed",
    ["2027-02-30", "2027-13", "2027-Q5", "27-Q2", "2027/06", "Q2 2027", "next year", "30.06.2027"],
)
def test_anything_but_the_three_forms_is_refused_never_guessed(typed: str) -> None:
    error = refusal(f"nps 40 by {typed}")
    assert error.msgid == goals.BAD_DEADLINE
    assert error.values == {"value": typed}


def test_a_deadline_in_the_past_or_now_is_refused() -> None:
    this_month = goals.parse_deadline("2026-11")
    assert goals.due_at(this_month, OSLO, NOW) == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    for typed in ("2026-10", "2026-Q3", "2026-11-22"):
        with pytest.raises(GoalError) as caught:
            goals.due_at(goals.parse_deadline(typed), OSLO, NOW)
        assert caught.value.msgid == goals.PAST_DEADLINE
    # The last day's end is the workspace's: 23:30 UTC on the 22nd is the 23rd in Oslo.
    late = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    with pytest.raises(GoalError):
        goals.due_at(goals.parse_deadline("2026-11-22"), OSLO, late)


@pytest.mark.parametrize(
    ("metric", "inside", "outside"),
    [("nps", ["-100", "100", "0"], ["-101", "100.5"]), ("csat", ["0", "100"], ["-1", "101"]),
     ("ces", ["1", "7", "5.25"], ["0", "7.1"]), ("csi", ["0", "100"], ["-0.5", "101"])],
)  # fmt: skip
def test_targets_are_checked_against_the_metrics_range(
    metric: str, inside: list[str], outside: list[str]
) -> None:
    low, high = goals.RANGES[metric]
    for typed in inside:
        assert low <= goals.parse_target(metric, typed) <= high
    for typed in outside:
        with pytest.raises(GoalError) as caught:
            goals.parse_target(metric, typed)
        assert caught.value.msgid == goals.OUT_OF_RANGE
        assert caught.value.values["low"] == low and caught.value.values["high"] == high


def test_unknown_metrics_bad_numbers_and_missing_words_are_refused() -> None:
    assert refusal("enps 40 by 2027-Q2").msgid == goals.UNKNOWN_METRIC
    assert refusal("remove churn").msgid == goals.UNKNOWN_METRIC
    for text in ("nps forty by 2027-Q2", "nps 1e2 by 2027-Q2", "nps nan by 2027-Q2"):
        assert refusal(text).msgid == goals.BAD_TARGET
    for text in ("nps", "nps 40", "nps 40 by", "remove", "remove nps csat"):
        assert refusal(text).msgid == goals.USAGE


def _goal(metric: str, target: float, baseline: float | None) -> Goal:
    return Goal(
        metric=metric,
        target=target,
        baseline=baseline,
        set_at=datetime(2026, 1, 1, tzinfo=UTC),
        deadline_at=datetime(2027, 1, 1, tzinfo=UTC),
        deadline_label="2026-Q4",
        set_by="U0ADA",
    )


def test_progress_follows_a_straight_line_from_baseline_to_target() -> None:
    goal = _goal("nps", 40, 20)
    halfway = goal.set_at + (goal.deadline_at - goal.set_at) / 2
    ahead = goals.progress(goal, 31.0, "2026-06", halfway)
    assert ahead.expected == pytest.approx(30.0)
    assert ahead.gap == pytest.approx(9.0)
    assert ahead.time_left == goal.deadline_at - halfway
    assert (ahead.on_track, ahead.reached) == (True, False)
    behind = goals.progress(goal, 29.0, "2026-06", halfway)
    assert (behind.on_track, behind.reached) == (False, False)
    # At set time the line starts at the baseline; after the deadline it is the target.
    assert goals.progress(goal, 20.0, "2025-12", goal.set_at).on_track is True
    late = goals.progress(goal, 39.0, "2027-01", goal.deadline_at + timedelta(days=40))
    assert (late.expected, late.time_left, late.on_track) == (40.0, timedelta(0), False)
    assert goals.progress(goal, 41.0, "2027-01", goal.deadline_at).reached is True


def test_ces_is_better_higher_like_the_others() -> None:
    # DOMAIN.md: CES answers "it was easy", 7 = very easy; a rising CES is progress.
    goal = _goal("ces", 6.0, 5.0)
    halfway = goal.set_at + (goal.deadline_at - goal.set_at) / 2
    assert goals.progress(goal, 5.6, "2026-06", halfway).on_track is True
    assert goals.progress(goal, 5.4, "2026-06", halfway).on_track is False


def test_without_answers_the_pace_is_unknown() -> None:
    no_baseline = goals.progress(_goal("csat", 80, None), 75.0, "2026-06", NOW)
    assert (no_baseline.expected, no_baseline.on_track, no_baseline.gap) == (None, None, 5.0)
    no_current = goals.progress(_goal("csat", 80, 70), None, "2026-06", NOW)
    assert (no_current.on_track, no_current.reached, no_current.gap) == (None, None, None)


def test_values_are_the_metrics_own_functions() -> None:
    rows = [("nps", 10, 6), ("nps", 8, 2), ("nps", 3, 2), ("csat", 5, 3), ("csat", 2, 1),
            ("ces", 6, 2), ("ces", 4, 2)]  # fmt: skip
    summary = metrics.summarize_rows(rows)
    values = goals.values_of(summary, (1.0, 1.0, 1.0))
    assert values["nps"] == pytest.approx(40.0)
    assert values["csat"] == pytest.approx(75.0)
    assert values["ces"] == pytest.approx(5.0)
    assert values["csi"] == metrics.csi(40.0, 75.0, 5.0)
    assert goals.values_of(metrics.summarize_rows([]), (1.0, 1.0, 1.0)) == dict.fromkeys(
        goals.METRICS
    )
