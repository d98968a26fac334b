"""Metric goals kept per workspace and metric, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from bot.handlers.goals.progress import current_values, workspace_goals
from core.goals import Goal
from storage import goals as stored
from storage.models import Goal as GoalRow
from tests.storage.answers_kit import add_answers

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _goal(metric: str, target: float, baseline: float | None = 10.0) -> Goal:
    return Goal(
        metric=metric,
        target=target,
        baseline=baseline,
        set_at=datetime(2026, 11, 1, 9, 30, tzinfo=UTC),
        deadline_at=datetime(2027, 6, 30, 22, 0, tzinfo=UTC),
        deadline_label="2027-Q2",
        set_by="U0ADA",
    )


def test_the_plain_table_is_the_models_table() -> None:
    model = GoalRow.__table__  # type: ignore[attr-defined]
    assert [c.name for c in stored.GOAL.columns] == [c.name for c in model.columns]
    assert stored.GOAL.name == model.name


def test_goals_are_set_replaced_listed_in_order_and_removed(engine: Engine) -> None:
    stored.set_goal(engine, team_id="T1", goal=_goal("ces", 6.0, None))
    stored.set_goal(engine, team_id="T1", goal=_goal("nps", 30.0))
    stored.set_goal(engine, team_id="T2", goal=_goal("nps", -5.0))
    replacement = _goal("nps", 40.5, 12.25)
    stored.set_goal(engine, team_id="T1", goal=replacement)

    found = stored.goals(engine, team_id="T1")
    assert [g.metric for g in found] == ["nps", "ces"]
    assert found[0] == replacement  # every field back as stored, times in UTC
    assert found[1].baseline is None
    assert [g.target for g in stored.goals(engine, team_id="T2")] == [-5.0]

    assert stored.remove_goal(engine, team_id="T1", metric="nps") is True
    assert stored.remove_goal(engine, team_id="T1", metric="nps") is False
    assert [g.metric for g in stored.goals(engine, team_id="T1")] == ["ces"]
    assert [g.metric for g in stored.goals(engine, team_id="T2")] == ["nps"]


def test_progress_is_computed_from_the_last_complete_months_answers(engine: Engine) -> None:
    october = date(2026, 10, 14)
    answers = [(october, "nps", 10)] * 6 + [(october, "nps", 8)] * 2 + [(october, "nps", 2)] * 2
    answers += [(october, "csat", 5)] * 3 + [(october, "csat", 1)]
    answers += [(date(2026, 11, 20), "nps", 0)] * 5  # this month: not complete yet
    answers += [(date(2026, 9, 30), "nps", 0)] * 5  # the month before
    add_answers(engine, "T1", answers)
    month, values = current_values(engine, "T1", OSLO, NOW)
    assert month.label() == "2026-10"
    assert values["nps"] == pytest.approx(40.0)
    assert values["csat"] == pytest.approx(75.0)
    assert values["ces"] is None
    assert values["csi"] == pytest.approx((70.0 + 75.0) / 2)

    assert workspace_goals(engine, "T1", OSLO, NOW) == []
    stored.set_goal(engine, team_id="T1", goal=_goal("nps", 50.0, 30.0))
    stored.set_goal(engine, team_id="T1", goal=_goal("ces", 6.0))
    nps, ces = workspace_goals(engine, "T1", OSLO, NOW)
    assert (nps.period, nps.current, nps.gap, nps.on_track) == ("2026-10", 40.0, 10.0, True)
    assert (ces.current, ces.on_track, ces.reached) == (None, None, None)
