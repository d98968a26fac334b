"""Pulse survey rules: definitions, templates, schedules, anonymity, results."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.surveys import (
    MIN_ANSWERS_FLOOR,
    NO_ANSWER,
    OTHER,
    TEMPLATES,
    DefinitionError,
    Schedule,
    compute_results,
    due_occurrence,
    headline,
    load_definition,
    next_occurrence,
    occurrences,
    parse_definition,
    safe_partition,
    template_definition,
)
from core.text import themes

OSLO = ZoneInfo("Europe/Oslo")

CONTRACT_EXAMPLE = """
name: Customer focus pulse
audience: C0123ABCD            # a channel ID, a user group ID, or a list of user IDs
anonymous: true
questions:
  - {id: enps, type: nps, text: "How likely are you to recommend working here?"}
  - {id: impact, type: likert, text: "I know how my work affects our customers"}
  - {id: idea, type: text, text: "One thing we could do better for customers", optional: true}
schedule: {repeat: every_other_week, weekday: tue, time: "10:00", timezone: Europe/Oslo}
reminder_after_hours: 24
close_after_hours: 72
min_answers_to_show: 5
results_channel: C0456EFGH
"""


def _def(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "Pulse",
        "audience": "C0123ABCD",
        "questions": [{"id": "enps", "type": "nps", "text": "Recommend us?"}],
    }
    base.update(over)
    return base


# --------------------------------------------------------------------------- definitions


def test_contract_example_parses() -> None:
    d = load_definition(CONTRACT_EXAMPLE, source="pulse.yml")
    assert d.name == "Customer focus pulse"
    assert d.audience == "C0123ABCD" and d.audience_kind == "channel"
    assert [q.type for q in d.questions] == ["nps", "likert", "text"]
    assert d.questions[2].optional is True
    assert d.schedule.repeat == "every_other_week" and d.schedule.weekday == "tue"
    assert d.schedule.timezone == "Europe/Oslo"
    assert d.reminder_delay == timedelta(hours=24) and d.close_delay == timedelta(hours=72)
    assert d.results_channel == "C0456EFGH"
    # What is stored reads back the same.
    assert parse_definition(d.to_json()) == d


def test_json_and_audiences() -> None:
    d = load_definition(
        '{"name": "x", "audience": ["U0AAA1", "U0BBB2", "U0AAA1"], '
        '"questions": [{"id": "q", "type": "csat", "text": "Happy?"}]}'
    )
    assert d.audience == ("U0AAA1", "U0BBB2") and d.audience_kind == "users"
    assert parse_definition(_def(audience="S0CXTEAM1")).audience_kind == "usergroup"
    assert parse_definition(_def(audience="<#C0123ABCD|general>")).audience == "C0123ABCD"


@pytest.mark.parametrize(
    ("over", "where"),
    [
        ({"audience": "general"}, "audience:"),
        ({"questions": []}, "questions:"),
        ({"questions": [{"id": "a", "type": "stars", "text": "x"}]}, "questions[0].type:"),
        ({"questions": [{"id": "a", "type": "choice", "text": "x"}]}, "questions[0]:"),
        ({"questions": [{"id": "a b", "type": "nps", "text": "x"}]}, "questions[0].id:"),
        (
            {
                "questions": [
                    {"id": "a", "type": "nps", "text": "x"},
                    {"id": "a", "type": "csat", "text": "y"},
                ]
            },
            "questions:",
        ),
        ({"min_answers_to_show": 2}, "min_answers_to_show:"),
        ({"schedule": {"repeat": "weekly"}}, "schedule:"),
        ({"schedule": {"repeat": "weekly", "weekday": "tue", "time": "25:00"}}, "schedule.time:"),
        ({"schedule": {"repeat": "once", "timezone": "Mars/Olympus"}}, "schedule.timezone:"),
        (
            {"schedule": {"repeat": "weekly", "weekday": "mon"}, "close_after_hours": 200},
            "definition:",
        ),
        ({"reminder_after_hours": 80, "close_after_hours": 72}, "definition:"),
        ({"colour": "blue"}, "colour:"),
    ],
)
def test_bad_definitions_say_where(over: dict[str, object], where: str) -> None:
    with pytest.raises(DefinitionError) as err:
        parse_definition(_def(**over))
    assert any(p.startswith(where) for p in err.value.problems), err.value.problems


def test_min_answers_never_below_floor() -> None:
    assert MIN_ANSWERS_FLOOR == 3
    assert parse_definition(_def(min_answers_to_show=3)).min_answers_to_show == 3
    assert parse_definition(_def()).min_answers_to_show == 5


def test_yaml_error_names_the_line() -> None:
    with pytest.raises(DefinitionError) as err:
        load_definition("name: x\nquestions: [\n", source="bad.yml")
    assert err.value.problems[0].startswith("bad.yml: line")


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_templates_are_valid(name: str) -> None:
    d = parse_definition({"template": name, "audience": "C0123ABCD"})
    assert d.template == name and d.anonymous
    assert any(q.type in ("nps", "likert") for q in d.questions)
    raw = template_definition(name)
    assert "audience" not in raw


def test_culture_template_asks_the_issue_question() -> None:
    d = parse_definition({"template": "culture", "audience": "S0CXTEAM1"})
    texts = [q.text for q in d.questions]
    assert "I know how my work affects our customers" in texts
    # Seed 003: at least every other week.
    assert d.schedule.repeat == "every_other_week"


# --------------------------------------------------------------------------- schedules


def test_weekly_keeps_local_time_across_dst() -> None:
    s = Schedule(repeat="weekly", weekday="tue", time="10:00", timezone="Europe/Oslo")
    anchor = datetime(2027, 3, 15, tzinfo=UTC)
    found = list(occurrences(s, anchor=anchor, start=anchor, end=anchor + timedelta(days=21)))
    assert [f.astimezone(OSLO).strftime("%a %H:%M") for f in found] == ["Tue 10:00"] * 3
    # 10:00 Oslo is 09:00 UTC in winter and 08:00 UTC in summer (DST from 28 March 2027).
    assert [f.hour for f in found] == [9, 9, 8]


def test_every_other_week_counts_from_the_first_round() -> None:
    s = Schedule(repeat="every_other_week", weekday="mon", time="09:00")
    anchor = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday, after 09:00
    found = list(occurrences(s, anchor=anchor, start=anchor, end=anchor + timedelta(days=60)))
    assert found[0] == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert all((b - a) == timedelta(days=14) for a, b in pairwise(found))


def test_monthly_first_weekday_and_fixed_day() -> None:
    first_tue = Schedule(repeat="monthly", weekday="tue", time="08:00")
    anchor = datetime(2026, 11, 23, tzinfo=UTC)
    nxt = next_occurrence(first_tue, anchor=anchor, after=anchor)
    assert nxt == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    day15 = Schedule(repeat="monthly", day=15, time="08:00")
    assert next_occurrence(day15, anchor=anchor, after=anchor) == datetime(
        2026, 12, 15, 8, 0, tzinfo=UTC
    )


def test_once_is_manual_unless_given_a_day() -> None:
    manual = Schedule(repeat="once")
    anchor = datetime(2026, 11, 23, tzinfo=UTC)
    assert not manual.automatic
    assert next_occurrence(manual, anchor=anchor, after=anchor) is None
    dated = Schedule(repeat="once", start=date(2026, 12, 3), time="12:00", timezone="Europe/Oslo")
    found = list(occurrences(dated, anchor=anchor, start=anchor, end=anchor + timedelta(days=60)))
    assert found == [datetime(2026, 12, 3, 11, 0, tzinfo=UTC)]


def test_due_occurrence_respects_grace() -> None:
    s = Schedule(repeat="weekly", weekday="mon", time="08:00")
    anchor = datetime(2026, 11, 1, tzinfo=UTC)
    slot = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert due_occurrence(s, anchor=anchor, now=slot - timedelta(minutes=1)) is None
    assert due_occurrence(s, anchor=anchor, now=slot) == slot
    assert due_occurrence(s, anchor=anchor, now=slot + timedelta(hours=3)) == slot
    assert due_occurrence(s, anchor=anchor, now=slot + timedelta(hours=13)) is None
    # Not before the survey existed.
    assert (
        due_occurrence(s, anchor=slot + timedelta(minutes=1), now=slot + timedelta(hours=1)) is None
    )


# --------------------------------------------------------------------------- anonymity


@settings(max_examples=300, deadline=None)
@given(
    cells=st.dictionaries(st.sampled_from("ABCDEFG"), st.integers(0, 12), max_size=7),
    k=st.integers(3, 7),
)
def test_safe_partition_never_leaves_a_small_view(cells: dict[str, int], k: int) -> None:
    part = safe_partition(cells, k)
    total = sum(cells.values())
    if not part.shown:
        return
    sizes = [n for _, n in part.groups]
    assert all(n >= k for n in sizes)
    assert part.other == 0 or part.other >= k
    # Shown groups and "Other" still add up to everyone: the difference of the whole and
    # any union of shown views is a union of views that are each >= k.
    assert sum(sizes) + part.other == total
    assert len(sizes) + (1 if part.other else 0) >= 2


def test_differencing_case_merges_the_next_smallest_group() -> None:
    # Team A 6, team B 5, team C 2: hiding C alone would let total - A - B reveal C.
    part = safe_partition({"A": 6, "B": 5, "C": 2}, 5)
    assert part.groups == (("A", 6),) and part.other == 7
    # Two groups where one is too small: nothing can be shown.
    assert not safe_partition({"A": 9, "B": 2}, 5).shown
    assert not safe_partition({"A": 4}, 5).shown


def _resp(score: int, team: int | None = None, text: str | None = None) -> dict[str, int | str]:
    r: dict[str, int | str] = {"enps": score}
    if team is not None:
        r["team"] = team
    if text is not None:
        r["idea"] = text
    return r


DEF = parse_definition(
    {
        "name": "eNPS",
        "audience": "C0123ABCD",
        "questions": [
            {"id": "enps", "type": "nps", "text": "Recommend?"},
            {
                "id": "team",
                "type": "choice",
                "text": "Team?",
                "options": ["Sales", "Support", "Tech"],
                "breakdown": True,
                "optional": True,
            },
            {"id": "idea", "type": "text", "text": "Idea?", "optional": True},
        ],
    }
)


def test_four_answers_show_nothing_five_show() -> None:
    four = compute_results(DEF, [_resp(s) for s in (10, 9, 3, 7)], asked=40)
    assert not four.shown and four.answered == 4
    assert all(not q.shown and q.distribution == {} and q.score is None for q in four.questions)
    five = compute_results(DEF, [_resp(s) for s in (10, 9, 3, 7, 8)], asked=40)
    assert five.shown
    enps = five.question("enps")
    assert enps is not None and enps.shown
    assert enps.score == pytest.approx(100 * (2 - 1) / 5)
    assert enps.distribution["10"] == 1 and sum(enps.distribution.values()) == 5
    assert five.response_rate == pytest.approx(12.5)


def test_breakdown_hides_the_small_group_and_its_complement() -> None:
    answers = (
        [_resp(9, team=0) for _ in range(6)]
        + [_resp(5, team=1) for _ in range(5)]
        + [_resp(0, team=2), _resp(1, team=2)]
    )
    result = compute_results(DEF, answers, asked=20)
    enps = result.question("enps")
    assert enps is not None
    labels = {g.label: g.n for g in enps.breakdown}
    assert labels == {"Sales": 6, OTHER: 7}
    # A person who skipped the team question is a group of their own ("no group").
    answers2 = (
        [_resp(9, team=0) for _ in range(5)] + [_resp(3, team=1) for _ in range(5)] + [_resp(0)]
    )
    groups = {
        g.label
        for g in (compute_results(DEF, answers2, asked=11).question("enps") or enps).breakdown
    }
    assert NO_ANSWER not in groups and OTHER in groups


def test_text_answers_give_themes_named_by_two_or_more() -> None:
    answers = [
        _resp(9, text="Our deliveries are late too often"),
        _resp(8, text="delivery is slow"),
        _resp(7, text="Fix the invoice errors, customers are charged twice"),
        _resp(10, text="The web shop crashes at checkout"),
        _resp(6, text="unique wish about parking"),
    ]
    result = compute_results(DEF, answers, asked=5, themes=themes)
    idea = result.question("idea")
    assert idea is not None and idea.shown
    terms = dict(idea.themes)
    assert terms == {"late delivery": 2}  # the same named themes as customers' comments


def test_results_round_trip_and_headline() -> None:
    culture = parse_definition({"template": "culture", "audience": "C0123ABCD"})
    answers = [{"impact": s, "voice": 4, "act": 5, "recognised": 2} for s in (5, 4, 4, 3, 2)]
    result = compute_results(culture, answers, asked=8)
    impact = result.question("impact")
    assert impact is not None and impact.score == pytest.approx(3.6)
    assert impact.favourable == pytest.approx(60.0)
    again = type(result).from_json(result.to_json())
    assert again == result
    numbers = headline(result, culture)
    assert numbers["enps"] is None
    assert numbers["culture"] == pytest.approx((3.6 + 4 + 5 + 2) / 4)
