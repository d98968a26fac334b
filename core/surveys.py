"""Pulse surveys: definitions, built-in templates, schedules, anonymity rules and results.

Pure: no Slack, no database. The bot and storage layers call these to validate what an
admin wrote (`parse_definition`), to decide when a round is due (`due_occurrence`), and
to turn a closed round's answers into results that never single anyone out
(`compute_results`).

Anonymity (issue 6): results are shown only when at least `min_answers_to_show` people
answered (default 5, never below 3). A breakdown (answers grouped by a choice question,
e.g. "Which team are you in?") is a partition of the answers: every group shown has at
least that many people, and so has what is left over. A leftover of 1..k-1 would let a
reader subtract the shown groups from the total and learn the answers of those few, so
the smallest shown groups are merged into "Other" until the leftover is safe; when fewer
than two groups remain the breakdown is not shown at all.
"""

from __future__ import annotations

import calendar
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall_time
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from core import metrics

QuestionType = Literal["nps", "csat", "ces", "likert", "choice", "text"]
Repeat = Literal["once", "weekly", "every_other_week", "monthly"]

QUESTION_TYPES: tuple[str, ...] = ("nps", "csat", "ces", "likert", "choice", "text")
REPEATS: tuple[str, ...] = ("once", "weekly", "every_other_week", "monthly")
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SCALES: dict[str, tuple[int, int]] = {
    "nps": (0, 10),
    "csat": (1, 5),
    "ces": (1, 7),
    "likert": (1, 5),
}

DEFAULT_MIN_ANSWERS = 5
MIN_ANSWERS_FLOOR = 3  # the issue: configurable, never below 3
MAX_QUESTIONS = 10
MAX_OPTIONS = 10
# How long after its time a scheduled round may still be opened (the bot was down).
SCHEDULE_GRACE = timedelta(hours=12)
# A round may not outlive the gap to the next one of the same survey.
REPEAT_HOURS = {"weekly": 7 * 24, "every_other_week": 14 * 24, "monthly": 28 * 24}
LIKERT_FAVOURABLE_MIN = 4  # "agree" and "strongly agree"
OTHER = "__other__"
NO_ANSWER = "__none__"

_QUESTION_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_CHANNEL = re.compile(r"^[CG][A-Z0-9]{6,20}$")
_USERGROUP = re.compile(r"^S[A-Z0-9]{6,20}$")
_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def N_(msgid: str) -> str:
    """Marks a built-in text for the bot's catalog (the bot translates it when shown)."""
    return msgid


class DefinitionError(ValueError):
    """A survey definition that cannot be used; each problem names where it is."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# --------------------------------------------------------------------------- definitions


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    type: QuestionType
    text: str = Field(min_length=1, max_length=300)
    optional: bool = False
    options: tuple[str, ...] | None = None
    # A choice question whose answers group the other questions' results ("your team").
    breakdown: bool = False

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _QUESTION_ID.match(value):
            raise ValueError("use 1-40 letters, digits, '_' or '-'")
        return value

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    @model_validator(mode="after")
    def _options(self) -> Question:
        if self.type == "choice":
            opts = [o.strip() for o in self.options or ()]
            if not 2 <= len(opts) <= MAX_OPTIONS:
                raise ValueError(f"a choice question needs 2 to {MAX_OPTIONS} options")
            if any(not o or len(o) > 75 for o in opts):
                raise ValueError("each option needs 1 to 75 characters")
            if len(set(opts)) != len(opts):
                raise ValueError("options must differ")
            object.__setattr__(self, "options", tuple(opts))
        elif self.options is not None:
            raise ValueError(f"options only belong to choice questions, not {self.type}")
        if self.breakdown and self.type != "choice":
            raise ValueError("only a choice question can break down the results")
        return self

    @property
    def scale(self) -> tuple[int, int] | None:
        return SCALES.get(self.type)

    def valid_score(self, score: int) -> bool:
        if self.type == "choice":
            return 0 <= score < len(self.options or ())
        low_high = self.scale
        return low_high is not None and low_high[0] <= score <= low_high[1]


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    repeat: Repeat = "once"
    weekday: str | None = None
    day: int | None = Field(default=None, ge=1, le=28)  # monthly: this day of the month
    time: str = "10:00"
    timezone: str | None = None  # None: the workspace's timezone
    start: date | None = None  # no round before this local day

    @field_validator("weekday")
    @classmethod
    def _weekday(cls, value: str | None) -> str | None:
        if value is None:
            return None
        short = value.strip().lower()[:3]
        if short not in WEEKDAYS:
            raise ValueError(f"expected one of {', '.join(WEEKDAYS)}, got {value!r}")
        return short

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        match = _TIME.match(str(value).strip())
        if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            raise ValueError(f"expected a time like 10:00, got {value!r}")
        return f"{int(match.group(1)):02d}:{match.group(2)}"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r} (use a name like Europe/Oslo)") from exc
        return value.strip()

    @model_validator(mode="after")
    def _needs_day(self) -> Schedule:
        if self.repeat in ("weekly", "every_other_week") and self.weekday is None:
            raise ValueError(f"repeat {self.repeat} needs a weekday (mon..sun)")
        if self.repeat == "monthly" and self.weekday is None and self.day is None:
            raise ValueError(
                "repeat monthly needs a day (1-28) or a weekday (its first in the month)"
            )
        return self

    @property
    def automatic(self) -> bool:
        """Whether rounds open by themselves (else only `send` opens one)."""
        return self.repeat != "once" or self.weekday is not None or self.start is not None

    def clock(self) -> wall_time:
        hour, minute = self.time.split(":")
        return wall_time(int(hour), int(minute))


Audience = str | list[str]


class SurveyDefinition(BaseModel):
    """A pulse survey as written in YAML/JSON (CONTRACT.md) or built by the /pulse modal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    audience: str | tuple[str, ...]
    anonymous: bool = True
    questions: tuple[Question, ...]
    schedule: Schedule = Schedule()
    reminder_after_hours: float | None = Field(default=24, ge=0)
    close_after_hours: float = Field(default=72, gt=0, le=28 * 24)
    min_answers_to_show: int = Field(default=DEFAULT_MIN_ANSWERS, le=10_000)
    results_channel: str | None = None
    template: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("audience", mode="before")
    @classmethod
    def _audience(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            if len(parts) > 1 or (parts and _USER.match(parts[0])):
                value = parts
            else:
                value = parts[0] if parts else ""
        if isinstance(value, str):
            mention = re.match(r"^<(?:#|!subteam\^)([A-Z0-9]+)(?:\|[^>]*)?>$", value)
            if mention:
                value = mention.group(1)
            if not (_CHANNEL.match(value) or _USERGROUP.match(value)):
                raise ValueError(
                    "expected a channel ID (C...), a user group ID (S...) or a list of "
                    f"user IDs (U...), got {value!r}"
                )
            return value
        if isinstance(value, list | tuple):
            users = [str(v).strip() for v in value]
            bad = [u for u in users if not _USER.match(u)]
            if bad or not users:
                raise ValueError(
                    f"a list of user IDs like U0123ABCD is expected, got {bad or value!r}"
                )
            return tuple(dict.fromkeys(users))
        raise ValueError("expected a channel ID, a user group ID or a list of user IDs")

    @field_validator("questions")
    @classmethod
    def _questions(cls, value: tuple[Question, ...]) -> tuple[Question, ...]:
        if not 1 <= len(value) <= MAX_QUESTIONS:
            raise ValueError(f"a survey needs 1 to {MAX_QUESTIONS} questions")
        ids = [q.id for q in value]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"question ids must differ: {', '.join(dupes)}")
        if all(q.optional for q in value):
            raise ValueError("at least one question must not be optional")
        if sum(q.breakdown for q in value) > 1:
            raise ValueError("at most one question can break down the results")
        return value

    @field_validator("min_answers_to_show")
    @classmethod
    def _min_answers(cls, value: int) -> int:
        if value < MIN_ANSWERS_FLOOR:
            raise ValueError(
                f"must be at least {MIN_ANSWERS_FLOOR}: fewer answers could single someone out"
            )
        return value

    @field_validator("results_channel")
    @classmethod
    def _results_channel(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        mention = re.match(r"^<#([A-Z0-9]+)(?:\|[^>]*)?>$", value)
        value = mention.group(1) if mention else value
        if not _CHANNEL.match(value):
            raise ValueError(f"expected a channel ID like C0123ABCD, got {value!r}")
        return value

    @model_validator(mode="after")
    def _timing(self) -> SurveyDefinition:
        longest = REPEAT_HOURS.get(self.schedule.repeat)
        if longest is not None and self.close_after_hours > longest:
            raise ValueError(
                f"close_after_hours ({self.close_after_hours:g}) must not exceed the "
                f"{longest} hours between {self.schedule.repeat} rounds"
            )
        reminder = self.reminder_after_hours
        if reminder and reminder >= self.close_after_hours:
            raise ValueError("reminder_after_hours must come before close_after_hours")
        return self

    # ------------------------------------------------------------------ views of it

    @property
    def audience_kind(self) -> Literal["channel", "usergroup", "users"]:
        if isinstance(self.audience, tuple):
            return "users"
        return "usergroup" if self.audience.startswith("S") else "channel"

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    @property
    def breakdown_question(self) -> Question | None:
        return next((q for q in self.questions if q.breakdown), None)

    @property
    def reminder_delay(self) -> timedelta | None:
        hours = self.reminder_after_hours
        return timedelta(hours=hours) if hours else None

    @property
    def close_delay(self) -> timedelta:
        return timedelta(hours=self.close_after_hours)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for storage; `parse_definition` reads it back."""
        data: dict[str, Any] = self.model_dump(mode="json", exclude_none=True)
        if isinstance(self.audience, tuple):
            data["audience"] = list(self.audience)
        return data


def _where(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "tuple[", "str")):
            continue  # pydantic's union branch names say nothing to a reader
        else:
            out += ("." if out else "") + str(part)
    return out or "definition"


def parse_definition(data: Any) -> SurveyDefinition:
    """A validated definition, or DefinitionError listing each problem with where it is."""
    if not isinstance(data, Mapping):
        raise DefinitionError(["the definition must be a mapping with name, audience, questions"])
    raw = dict(data)
    template = raw.get("template")
    if template is not None:
        if template not in TEMPLATES:
            raise DefinitionError(
                [f"template: unknown template {template!r} ({', '.join(TEMPLATES)})"]
            )
        base = template_definition(str(template))
        raw = {**base, **raw}
    try:
        return SurveyDefinition.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{_where(err['loc'])}: {msg}")
        raise DefinitionError(problems) from None


def load_definition(text: str, *, source: str = "definition") -> SurveyDefinition:
    """Parse YAML or JSON text (JSON is YAML); errors name `source` and the line when known."""
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise DefinitionError([f"{source}: line {exc.lineno}: not valid JSON: {exc.msg}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DefinitionError([f"{source}: {where}not valid YAML: {problem}"]) from None
    return parse_definition(data)


# --------------------------------------------------------------------------- templates

TEMPLATES: dict[str, str] = {
    "enps": N_("eNPS"),
    "culture": N_("Customer-focus culture pulse"),
    "meeting": N_("Post-meeting NPS"),
}

_TEMPLATE_QUESTIONS: dict[str, list[dict[str, Any]]] = {
    "enps": [
        {
            "id": "enps",
            "type": "nps",
            "text": N_("How likely are you to recommend working here to a friend?"),
        },
        {
            "id": "reason",
            "type": "text",
            "text": N_("What is the main reason for your score?"),
            "optional": True,
        },
    ],
    "culture": [
        {"id": "impact", "type": "likert", "text": N_("I know how my work affects our customers")},
        {"id": "voice", "type": "likert", "text": N_("I regularly hear what customers tell us")},
        {
            "id": "act",
            "type": "likert",
            "text": N_("When a customer has a problem, I know what to do"),
        },
        {
            "id": "recognised",
            "type": "likert",
            "text": N_("Going the extra mile for a customer is recognised here"),
        },
        {
            "id": "idea",
            "type": "text",
            "text": N_("One thing we could do better for customers"),
            "optional": True,
        },
    ],
    "meeting": [
        {
            "id": "meeting",
            "type": "nps",
            "text": N_("How likely are you to recommend this meeting to a colleague?"),
        },
        {
            "id": "better",
            "type": "text",
            "text": N_("What would have made it better?"),
            "optional": True,
        },
    ],
}

_TEMPLATE_DEFAULTS: dict[str, dict[str, Any]] = {
    "enps": {"schedule": {"repeat": "monthly", "weekday": "tue", "time": "10:00"}},
    # Seed 003: collect feedback at least every other week.
    "culture": {"schedule": {"repeat": "every_other_week", "weekday": "tue", "time": "10:00"}},
    "meeting": {"schedule": {"repeat": "once"}, "reminder_after_hours": 4, "close_after_hours": 24},
}


def template_definition(name: str) -> dict[str, Any]:
    """The raw definition of a built-in template, without an audience."""
    if name not in TEMPLATES:
        raise KeyError(name)
    return {
        "name": TEMPLATES[name],
        "anonymous": True,
        "questions": [dict(q) for q in _TEMPLATE_QUESTIONS[name]],
        "template": name,
        **{k: (dict(v) if isinstance(v, dict) else v) for k, v in _TEMPLATE_DEFAULTS[name].items()},
    }


# --------------------------------------------------------------------------- schedules


def _zone(schedule: Schedule, default_tz: str) -> ZoneInfo:
    return ZoneInfo(schedule.timezone or default_tz)


def _slot(day: date, schedule: Schedule, tz: ZoneInfo) -> datetime:
    """The UTC instant of `day` at the schedule's wall-clock time in `tz`.

    A time that does not exist on that day (the spring DST gap) falls forward by the gap,
    as Slack reminders and calendars do.
    """
    local = datetime.combine(day, schedule.clock(), tzinfo=tz)
    return local.astimezone(UTC)


def _first_on_or_after(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _monthly_day(day: date, schedule: Schedule) -> bool:
    if schedule.day is not None:
        return day.day == min(schedule.day, calendar.monthrange(day.year, day.month)[1])
    return day.weekday() == WEEKDAYS.index(schedule.weekday or "mon") and day.day <= 7


def _rhythm_day(day: date, schedule: Schedule) -> bool:
    """Whether a round may fall on `day` at all, ignoring the every-other-week parity."""
    if schedule.repeat == "monthly":
        return _monthly_day(day, schedule)
    if schedule.weekday is None:
        return True  # once, with only a start day
    return day.weekday() == WEEKDAYS.index(schedule.weekday)


def _matches(day: date, schedule: Schedule, first: date) -> bool:
    if day < first:
        return False
    if schedule.repeat == "once":
        return day == first
    if schedule.repeat == "every_other_week":
        return _rhythm_day(day, schedule) and (day - first).days % 14 == 0
    return _rhythm_day(day, schedule)


def _first_day(schedule: Schedule, anchor: datetime, tz: ZoneInfo) -> date:
    """The first local day with a round: the first rhythm day on or after the anchor (or
    `start`) whose time has not passed at the anchor. Every-other-week counts from it."""
    day = anchor.astimezone(tz).date()
    if schedule.start is not None and schedule.start > day:
        day = schedule.start
    for _ in range(70):
        if _rhythm_day(day, schedule) and _slot(day, schedule, tz) >= anchor:
            return day
        day += timedelta(days=1)
    raise ValueError("the schedule has no day in the next ten weeks")


def occurrences(
    schedule: Schedule, *, anchor: datetime, start: datetime, end: datetime, default_tz: str = "UTC"
) -> Iterator[datetime]:
    """Round times (UTC) in [start, end] of a schedule whose rhythm began at `anchor`
    (the survey's creation): weekly rhythms count their weeks from the first slot on or
    after it."""
    if not schedule.automatic:
        return
    tz = _zone(schedule, default_tz)
    first = _first_day(schedule, anchor, tz)
    day = max(first, start.astimezone(tz).date() - timedelta(days=1))
    last = end.astimezone(tz).date() + timedelta(days=1)
    while day <= last:
        if _matches(day, schedule, first):
            slot = _slot(day, schedule, tz)
            if start <= slot <= end and slot >= anchor:
                yield slot
        if schedule.repeat == "once" and day >= first:
            return
        day += timedelta(days=1)


def due_occurrence(
    schedule: Schedule,
    *,
    anchor: datetime,
    now: datetime,
    default_tz: str = "UTC",
    grace: timedelta = SCHEDULE_GRACE,
) -> datetime | None:
    """The latest round time at or before `now` that is at most `grace` old, if any."""
    found = list(
        occurrences(schedule, anchor=anchor, start=now - grace, end=now, default_tz=default_tz)
    )
    return found[-1] if found else None


def next_occurrence(
    schedule: Schedule, *, anchor: datetime, after: datetime, default_tz: str = "UTC"
) -> datetime | None:
    """The first round time strictly after `after` (looks two months ahead)."""
    for slot in occurrences(
        schedule, anchor=anchor, start=after, end=after + timedelta(days=62), default_tz=default_tz
    ):
        if slot > after:
            return slot
    return None


# --------------------------------------------------------------------------- anonymity


def effective_min_answers(value: int | None) -> int:
    """The threshold to apply: the survey's, never below the floor."""
    return max(MIN_ANSWERS_FLOOR, value if value is not None else DEFAULT_MIN_ANSWERS)


@dataclass(frozen=True)
class SafePartition:
    """Groups that may be shown, and the merged rest ("Other"): 0 or at least k people."""

    groups: tuple[tuple[str, int], ...]
    other: int

    @property
    def shown(self) -> bool:
        return bool(self.groups)


def safe_partition(cells: Mapping[str, int], k: int) -> SafePartition:
    """Which groups of a partition of answers may be shown with at least `k` per view.

    `cells` maps each group (including "no answer") to its number of people; together
    they are the whole. Every shown group has >= k people, and the merged rest has 0 or
    >= k, so no view, nor the difference of two views, covers fewer than k people. When
    fewer than two groups would remain, nothing is shown (SafePartition with no groups).
    """
    k = max(1, k)
    total = sum(n for n in cells.values() if n > 0)
    shown = {label: n for label, n in cells.items() if n >= k}
    other = total - sum(shown.values())
    while 0 < other < k and shown:
        smallest = min(shown, key=lambda label: (shown[label], label))
        other += shown.pop(smallest)
    groups = len(shown) + (1 if other else 0)
    if groups < 2 or total < k:
        return SafePartition((), 0)
    ordered = tuple(sorted(shown.items(), key=lambda kv: (-kv[1], kv[0])))
    return SafePartition(ordered, other)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class GroupScore:
    label: str  # an option of the breakdown question, or OTHER
    n: int
    score: float | None


@dataclass(frozen=True)
class QuestionResult:
    id: str
    type: str
    text: str
    n: int
    shown: bool
    score: float | None = None  # nps/enps score, csat %, ces/likert mean
    favourable: float | None = None  # likert: % agreeing (4-5)
    ci95: tuple[float, float] | None = None
    small_sample: bool = False
    distribution: dict[str, int] = field(default_factory=dict)  # score/option -> count
    themes: list[tuple[str, int]] = field(default_factory=list)
    breakdown: list[GroupScore] = field(default_factory=list)


@dataclass(frozen=True)
class RoundResults:
    asked: int
    answered: int
    min_answers: int
    shown: bool
    questions: list[QuestionResult]

    @property
    def response_rate(self) -> float | None:
        return 100.0 * self.answered / self.asked if self.asked else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RoundResults:
        questions = []
        for q in data.get("questions", []):
            q = dict(q)
            q["breakdown"] = [GroupScore(**g) for g in q.get("breakdown", [])]
            q["themes"] = [tuple(t) for t in q.get("themes", [])]
            q["ci95"] = tuple(q["ci95"]) if q.get("ci95") else None
            questions.append(QuestionResult(**q))
        return cls(
            asked=int(data["asked"]),
            answered=int(data["answered"]),
            min_answers=int(data["min_answers"]),
            shown=bool(data["shown"]),
            questions=questions,
        )

    def question(self, question_id: str) -> QuestionResult | None:
        return next((q for q in self.questions if q.id == question_id), None)


Respondent = Mapping[str, int | str]  # question id -> score (scales, choice index) or text


def _score_of(question: Question, scores: Sequence[int]) -> dict[str, Any]:
    counts = Counter(scores)
    if question.type == "nps":
        r = metrics.enps(counts)
        return {"score": r.score, "ci95": r.ci95, "small_sample": r.small_sample}
    if question.type == "csat":
        c = metrics.csat(counts)
        return {"score": c.score, "small_sample": c.small_sample}
    if question.type == "ces":
        e = metrics.ces(counts)
        return {"score": e.score, "small_sample": e.small_sample}
    if question.type == "likert":
        n = len(scores)
        if not n:
            return {"score": None}
        agree = sum(1 for s in scores if s >= LIKERT_FAVOURABLE_MIN)
        return {
            "score": sum(scores) / n,
            "favourable": 100.0 * agree / n,
            "small_sample": metrics._is_small(n),
        }
    return {}


def _distribution(question: Question, scores: Sequence[int]) -> dict[str, int]:
    counts = Counter(scores)
    if question.type == "choice":
        return {opt: counts.get(i, 0) for i, opt in enumerate(question.options or ())}
    low, high = question.scale or (0, -1)
    return {str(s): counts.get(s, 0) for s in range(low, high + 1)}


def compute_results(
    definition: SurveyDefinition,
    respondents: Sequence[Respondent],
    *,
    asked: int,
    themes: Callable[[Sequence[str]], list[tuple[str, int]]] | None = None,
) -> RoundResults:
    """Results of one round that are safe to show (see the module docstring).

    `respondents` holds each answering person's answers (scores as ints, choices as the
    option's index, text as str) with nothing that names them.
    """
    k = effective_min_answers(definition.min_answers_to_show)
    answered = sum(1 for r in respondents if r)
    round_shown = answered >= k
    group_q = definition.breakdown_question
    out: list[QuestionResult] = []
    for q in definition.questions:
        given = [r for r in respondents if q.id in r]
        n = len(given)
        shown = round_shown and n >= k
        if not shown:
            out.append(QuestionResult(q.id, q.type, q.text, n, False))
            continue
        if q.type == "text":
            texts = [str(r[q.id]) for r in given if str(r[q.id]).strip()]
            found = themes(texts) if themes is not None else []
            # A theme named by one person only could quote them.
            safe = [(term, c) for term, c in found if c >= 2]
            out.append(QuestionResult(q.id, q.type, q.text, n, True, themes=safe))
            continue
        scores = [int(r[q.id]) for r in given]
        stats = _score_of(q, scores)
        breakdown: list[GroupScore] = []
        if group_q is not None and q.id != group_q.id and q.type != "choice":
            breakdown = _breakdown(q, group_q, given, k)
        out.append(
            QuestionResult(
                q.id,
                q.type,
                q.text,
                n,
                True,
                score=stats.get("score"),
                favourable=stats.get("favourable"),
                ci95=stats.get("ci95"),
                small_sample=bool(stats.get("small_sample", False)),
                distribution=_distribution(q, scores),
                breakdown=breakdown,
            )
        )
    return RoundResults(
        asked=asked, answered=answered, min_answers=k, shown=round_shown, questions=out
    )


def _breakdown(
    question: Question, group_q: Question, given: Sequence[Respondent], k: int
) -> list[GroupScore]:
    options = group_q.options or ()
    by_group: dict[str, list[int]] = {}
    for r in given:
        choice = r.get(group_q.id)
        label = (
            options[int(choice)]
            if isinstance(choice, int) and 0 <= choice < len(options)
            else NO_ANSWER
        )
        by_group.setdefault(label, []).append(int(r[question.id]))
    part = safe_partition({g: len(s) for g, s in by_group.items()}, k)
    if not part.shown:
        return []
    rows: list[GroupScore] = []
    kept = {g for g, _ in part.groups}
    for label, n in part.groups:
        rows.append(GroupScore(label, n, _score_of(question, by_group[label]).get("score")))
    if part.other:
        rest = [s for g, scores in by_group.items() if g not in kept for s in scores]
        rows.append(GroupScore(OTHER, part.other, _score_of(question, rest).get("score")))
    return rows


def headline(results: RoundResults, definition: SurveyDefinition) -> dict[str, float | None]:
    """The numbers the digest carries: eNPS and the mean culture (Likert) score."""
    enps_q = next((q for q in results.questions if q.type == "nps" and q.shown), None)
    likert = [
        q for q in results.questions if q.type == "likert" and q.shown and q.score is not None
    ]
    return {
        "enps": enps_q.score if enps_q else None,
        "culture": (sum(q.score or 0.0 for q in likert) / len(likert)) if likert else None,
    }
